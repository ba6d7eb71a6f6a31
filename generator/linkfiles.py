"""The committed link files: dead links and page metadata, as the build reads them.

Why files in the repository and not the SQLite store: a build must be a pure
function of the repository. ``tidings check --all`` writes what it learned
into two reviewable YAML files; the build only reads them, never the network
and never the store:

``content/linkstatus.yaml``
    Links that failed for ``check.dead_after_runs`` runs (or
    ``check.dead_after_days`` days). Issue pages mark each as no longer
    available and link to the Wayback Machine's copy from the issue's date.
``content/linkmeta.yaml``
    Title, description, canonical URL and image of featured pages, used by
    the link index. It comes from the web, so descriptions are sanitised
    (nh3, no tags at all) before they reach a page.

Both are keyed by normalised URL and written sorted, so diffs stay small.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import nh3
import yaml

from .content.archive import Archive
from .errors import ConfigError, Problem, SourcePos
from .model import Html, Link
from .schema import load_validated, option
from .urls import normalize_url

__all__ = [
    "DEAD_FILE",
    "META_FILE",
    "DeadLink",
    "LinkFiles",
    "PageMeta",
    "dump_dead_links",
    "dump_link_meta",
    "load_link_files",
    "read_dead_links",
    "read_link_meta",
    "wayback_url",
]

DEAD_FILE = "content/linkstatus.yaml"
META_FILE = "content/linkmeta.yaml"

_DEAD_HEADER = """\
# Links that stopped working, recorded by `tidings check --all`.
# The site marks each one on issue pages as no longer available and links to
# the Wayback Machine's copy from the issue's date. Review before committing;
# delete an entry to stop marking its link.
"""

_META_HEADER = """\
# What featured pages say about themselves (title, description, canonical URL,
# image), recorded by `tidings check --all`; the link index shows it.
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLink:
    """One dead link in content/linkstatus.yaml."""

    since: str = option(doc="Date (YYYY-MM-DD) the link was first seen failing.")
    reason: str = option("", doc="What the last check said, e.g. 'HTTP 404 Not Found'.")
    failures: int = option(0, doc="Consecutive failed checks so far.")


@dataclass(frozen=True, slots=True, kw_only=True)
class PageMeta:
    """One page's self-description in content/linkmeta.yaml (untrusted text)."""

    title: str = option("", doc="The page's title.")
    description: str = option("", doc="The page's description.")
    canonical: str = option("", doc="The page's canonical URL.")
    image: str = option("", doc="The page's preview image.")


def _read(root: Path, name: str, schema: Any) -> dict[str, Any]:
    try:
        data = (root / name).read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError([Problem(SourcePos(name), f"cannot read: {exc.strerror}")]) from None
    value, node = load_validated(dict[str, schema], data, name, ConfigError)
    problems = [
        Problem(SourcePos(name, node.value[key][0]), f"{key!r} is not an http(s) URL")
        for key in value
        if not key.startswith(("http://", "https://"))
    ]
    if problems:
        raise ConfigError(problems)
    return {normalize_url(k): v for k, v in value.items()}


def read_dead_links(root: Path) -> dict[str, DeadLink]:
    return _read(root, DEAD_FILE, DeadLink)


def read_link_meta(root: Path) -> dict[str, PageMeta]:
    return _read(root, META_FILE, PageMeta)


def _dump(header: str, entries: Mapping[str, Mapping[str, Any]]) -> bytes:
    if not entries:
        return (header + "{}\n").encode("utf-8")
    body = yaml.safe_dump(
        {k: dict(v) for k, v in sorted(entries.items())}, sort_keys=False, allow_unicode=True, width=10_000, default_flow_style=False
    )
    return (header + body).encode("utf-8")


def dump_dead_links(entries: Mapping[str, DeadLink]) -> bytes:
    return _dump(_DEAD_HEADER, {k: {"since": v.since, "reason": v.reason, "failures": v.failures} for k, v in entries.items()})


def dump_link_meta(entries: Mapping[str, PageMeta]) -> bytes:
    rows = {
        k: {name: value for name, value in (("title", v.title), ("description", v.description), ("canonical", v.canonical), ("image", v.image)) if value}
        for k, v in entries.items()
    }
    return _dump(_META_HEADER, {k: v for k, v in rows.items() if v})


def wayback_url(url: str, when: datetime) -> str:
    """The Wayback Machine's copy of ``url`` nearest to ``when`` (it redirects to the closest snapshot)."""
    return f"https://web.archive.org/web/{when:%Y%m%d}/{url.split('#', 1)[0]}"


@dataclass(slots=True)
class LinkFiles:
    """What the build knows about links, for templates (ctx.extra['linkstatus'])."""

    dead: dict[str, DeadLink] = field(default_factory=dict)
    meta: dict[str, PageMeta] = field(default_factory=dict)
    dates: dict[str, datetime] = field(default_factory=dict)  # issue source path -> issue date

    def fingerprint(self) -> str:
        """What incremental builds compare: both files' entries (``dates`` come from the issues)."""
        from .buildstate import value_digest

        return value_digest((self.dead, self.meta))

    def gone(self, link: Link) -> str:
        """The archived copy's URL when ``link`` is dead, else ''."""
        if link.key not in self.dead:
            return ""
        when = self.dates.get(link.pos.path)
        return wayback_url(link.url, when) if when else ""

    def gone_inline(self, links: Iterable[Link]) -> list[tuple[Link, str]]:
        """The dead links written inside a text, each with its archived copy's URL."""
        if not self.dead:
            return []
        return [(link, url) for link in links if link.inline and (url := self.gone(link))]

    def description(self, key: str) -> Html:
        """The page's description, sanitised (no tags), or ''."""
        entry = self.meta.get(key)
        return Html(nh3.clean(entry.description, tags=set())) if entry and entry.description else Html("")

    def title(self, key: str) -> Html:
        """The page's own title, sanitised (no tags), or ''."""
        entry = self.meta.get(key)
        return Html(nh3.clean(entry.title, tags=set())) if entry and entry.title else Html("")


def load_link_files(root: Path, archive: Archive) -> LinkFiles:
    """Read both files for a build; raise ConfigError naming the line of any mistake."""
    return LinkFiles(
        dead=read_dead_links(root),
        meta=read_link_meta(root),
        dates={issue.source_path: issue.date for issue in archive.issues},
    )
