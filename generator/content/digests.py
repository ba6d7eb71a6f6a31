"""Link digests: the frozen, committed lists of fetched links that the build renders.

``tidings digest`` writes one YAML file per period under ``content/digests/``;
the build reads those files and nothing else (it never fetches). The files are
text the editor can review and edit in a pull request, but what they hold came
from feeds, so it is treated as untrusted at every build: titles, sources and
excerpts become escaped :class:`~generator.sanitize.SafeHtml`, and every URL
must be an absolute http(s) URL or the build stops with the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from ..errors import ContentError, Problem, SourcePos
from ..sanitize import SafeHtml, safe_href, text_html
from ..schema import load_validated, option
from ..urls import host_of, slugify

__all__ = ["DigestEntryData", "DigestData", "DigestLink", "Digest", "read_digest", "load_digests", "DIGEST_SUFFIXES"]

DIGEST_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestEntryData:
    title: str = option(doc="The entry's title (plain text).")
    url: str = option(doc="The entry's canonical URL (http or https).")
    source: str = option("", doc="The name of the source it came from.")
    date: str = option("", doc="When it was published (ISO 8601), or first seen.")
    section: str = option("", doc="The suggested section.")
    tags: tuple[str, ...] = option((), doc="Tags.")
    excerpt: str = option("", doc="A short plain-text excerpt.")


@dataclass(frozen=True, slots=True, kw_only=True)
class DigestData:
    title: str = option(doc="The digest's title.")
    start: str = option(doc="First day of the period (YYYY-MM-DD).")
    end: str = option(doc="Last day of the period (YYYY-MM-DD).")
    summary: str = option("", doc="An optional sentence shown under the title.")
    entries: tuple[DigestEntryData, ...] = option((), doc="The links.")


@dataclass(frozen=True, slots=True)
class DigestLink:
    """One link of a digest, template-ready: every text field is SafeHtml."""

    title: SafeHtml
    href: str  # checked absolute http(s) URL (Jinja escapes it in attributes)
    host: str
    source: SafeHtml
    date: datetime | None
    section: str
    tags: tuple[str, ...]
    excerpt: SafeHtml
    line: int = 0  # where its url is written in the digest file (for the link checker)


@dataclass(frozen=True, slots=True)
class Digest:
    slug: str
    title: SafeHtml
    summary: SafeHtml
    start: date
    end: date
    entries: tuple[DigestLink, ...]
    source_path: str

    @property
    def date(self) -> datetime:
        """The end of the period (for ordering and feeds)."""
        return datetime.combine(self.end, time(23, 59), tzinfo=timezone.utc)

    def sections(self) -> list[tuple[str, list[DigestLink]]]:
        """Entries grouped by section, in order of first appearance."""
        groups: dict[str, list[DigestLink]] = {}
        for entry in self.entries:
            groups.setdefault(entry.section, []).append(entry)
        return list(groups.items())


def read_digest(rel: str, data: bytes, zone: ZoneInfo | None = None) -> Digest:
    """Parse and check one digest file; raise ContentError listing every problem."""
    parsed, node = load_validated(DigestData, data, rel, ContentError)
    problems: list[Problem] = []
    top = node.value
    start = _day(parsed.start, rel, top["start"][1].line, problems)
    end = _day(parsed.end, rel, top["end"][1].line, problems)
    if start and end and end < start:
        problems.append(Problem(SourcePos(rel, top["end"][1].line), "'end' is before 'start'"))
    entry_nodes = top["entries"][1].value if "entries" in top else []
    links: list[DigestLink] = []
    for raw, entry_node in zip(parsed.entries, entry_nodes or []):
        fields = entry_node.value

        def line(key: str) -> int:
            found: int = fields[key][0] if key in fields else entry_node.line
            return found

        href = safe_href(raw.url)
        if href is None:
            problems.append(Problem(SourcePos(rel, line("url")), f"entry url must be an absolute http(s) URL, not {raw.url!r}"))
            continue
        when = None
        if raw.date:
            try:
                when = datetime.fromisoformat(raw.date)
                when = when if when.tzinfo else when.replace(tzinfo=zone or timezone.utc)
            except ValueError:
                problems.append(Problem(SourcePos(rel, line("date")), f"entry date {raw.date!r} is not an ISO 8601 date"))
        links.append(
            DigestLink(
                title=text_html(raw.title or href), href=href, host=host_of(href), source=text_html(raw.source),
                date=when, section=raw.section, tags=tuple(slugify(t) for t in raw.tags if slugify(t)),
                excerpt=text_html(raw.excerpt), line=line("url"),
            )
        )
    if problems or start is None or end is None:
        raise ContentError(problems)
    slug = slugify(Path(rel).stem)
    return Digest(slug, text_html(parsed.title), text_html(parsed.summary), start, end, tuple(links), rel)


def _day(value: str, rel: str, line: int, problems: list[Problem]) -> date | None:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        problems.append(Problem(SourcePos(rel, line), f"{value!r} is not a date (YYYY-MM-DD)"))
        return None


def load_digests(root: Path, folder: str, zone: ZoneInfo | None = None) -> tuple[Digest, ...]:
    """Every digest under ``root/folder``, newest period first; all problems at once."""
    base = root / folder
    if not base.is_dir():
        return ()
    digests: list[Digest] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for path in sorted(p for p in base.iterdir() if p.suffix in DIGEST_SUFFIXES and p.is_file() and not p.name.startswith(".")):
        rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()
        try:
            digest = read_digest(rel, path.read_bytes(), zone)
        except ContentError as exc:
            problems.extend(exc.problems)
            continue
        if digest.slug in seen:
            problems.append(Problem(SourcePos(rel), f"digest URL /digests/{digest.slug}/ is already used by {seen[digest.slug]}"))
            continue
        seen[digest.slug] = rel
        digests.append(digest)
    if problems:
        raise ContentError(problems)
    return tuple(sorted(digests, key=lambda d: (d.end, d.slug), reverse=True))
