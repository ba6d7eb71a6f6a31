"""``tidings new``: scaffold the next issue (number, date from the cadence, section skeleton, draft).

With ``--picks`` the entries picked in the inbox become items in their
suggested sections: title, link and the excerpt as a placeholder commentary
for the editor to rewrite. A pick without a usable title or excerpt gets the
ones its page gave ``tidings check`` (page metadata). Feed and page text is
untrusted and the issue file is trusted Markdown, so every piece of it is
escaped on the way in.
"""

from __future__ import annotations

import argparse
import calendar
import dataclasses
import re
import sys
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone

from ..build import issue_files, load_content
from ..config import Config, Site, load_site
from ..ingest.state import StoredEntry, open_fetch_store
from ..linkfiles import read_link_meta
from ..linkstore import LinkStore
from ..sanitize import safe_href
from ..store import Store
from ..urls import normalize_url
from ..write import write_atomic

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~&])")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("new", help="create the next issue file as a draft")
    p.add_argument("--picks", action="store_true", help="pre-fill the entries picked in the inbox")
    p.add_argument("--date", help="the issue date (default: the last issue's date plus the cadence)")
    p.set_defaults(run=run)


def md_text(text: str) -> str:
    """Untrusted plain text made inert in Markdown (no markup, no raw HTML, no links)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def next_date(last: date | None, cadence: str, today: date) -> date:
    if last is None:
        return today
    if cadence == "daily":
        return last + timedelta(days=1)
    if cadence == "weekly":
        return last + timedelta(days=7)
    if cadence == "fortnightly":
        return last + timedelta(days=14)
    year, month = (last.year + 1, 1) if last.month == 12 else (last.year, last.month + 1)
    return date(year, month, min(last.day, calendar.monthrange(year, month)[1]))


def with_page_metadata(picks: list[StoredEntry], pages: Mapping[str, tuple[str, str]]) -> list[StoredEntry]:
    """Fill a pick's missing title (or one that is just its URL) and empty excerpt from what its page says.

    ``pages`` maps a normalised URL to (title, description), as learned by ``tidings check``.
    """
    filled = []
    for entry in picks:
        title, description = pages.get(normalize_url(entry.url), ("", ""))
        if title and (not entry.title.strip() or entry.title.strip() in (entry.url, entry.link)):
            entry = dataclasses.replace(entry, title=title)
        if description and not entry.excerpt.strip():
            entry = dataclasses.replace(entry, excerpt=description)
        filled.append(entry)
    return filled


def page_metadata(site: Site) -> dict[str, tuple[str, str]]:
    """(title, description) by URL: the committed content/linkmeta.yaml, overlaid by the link-check store."""
    pages = {key: (meta.title, meta.description) for key, meta in read_link_meta(site.root).items()}
    store = Store.open(site.path(site.config.fetch.store))
    try:
        for key, meta in LinkStore(store).meta().items():
            if meta.title or meta.description:
                pages[key] = (meta.title, meta.description)
    finally:
        store.close()
    return pages


def issue_text(config: Config, number: int, when: date, picks: list[StoredEntry]) -> str:
    kinds = config.section_kinds
    headings = {name: spec.title or name.capitalize() for name, spec in kinds.items() if name != "sponsor"}
    by_section: dict[str, list[StoredEntry]] = {name: [] for name in headings}
    for entry in picks:
        section = entry.section if entry.section in kinds else (entry.section or "general")
        by_section.setdefault(section, []).append(entry)
        headings.setdefault(section, "Other links" if section == "general" else section.capitalize())
    lines = [
        "---",
        f"title: {config.title} #{number}",
        f"number: {number}",
        f"date: {when.isoformat()}",
        "draft: true",
        "---",
        "",
        "<!-- A sentence or two about this issue. -->",
        "",
    ]
    for section, heading in headings.items():
        lines += [heading, "=" * max(len(heading), 3), ""]
        entries = by_section.get(section, [])
        if not entries:
            lines += [f"<!-- {heading} items go here. -->", ""]
        for entry in entries:
            href = safe_href(entry.url)
            if not href:
                continue
            lines.append(f"- [{md_text(entry.title)}](<{href}>)")
            if entry.excerpt:
                lines.append(f"  {md_text(entry.excerpt)}")
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def run(args: argparse.Namespace) -> int:
    site = load_site(args.root)
    content = load_content(site)
    numbers = [i.number for i in content.issues if i.number is not None]
    number = max(numbers, default=0) + 1
    latest = max(content.issues, key=lambda i: i.date, default=None)
    today = datetime.now(timezone.utc).astimezone(site.config.zone).date()
    if args.date:
        try:
            when = date.fromisoformat(args.date)
        except ValueError:
            print(f"tidings new: --date {args.date!r} is not a date (YYYY-MM-DD)", file=sys.stderr)
            return 2
    else:
        when = next_date(latest.date.astimezone(site.config.zone).date() if latest else None, site.config.cadence, today)
    folder = site.path(site.config.issues_dir)
    path = folder / f"{number}.md"
    taken = [p for p in issue_files(site) if p.stem == str(number)]
    if path.exists() or taken:
        print(f"tidings new: {site.relative(taken[0] if taken else path)} already exists", file=sys.stderr)
        return 1
    picks: list[StoredEntry] = []
    if args.picks:
        store = open_fetch_store(site)
        try:
            picks = list(reversed(store.entries(states=("picked",))))
        finally:
            store.store.close()
        if not picks:
            print("tidings new: no picked entries; pick some with 'tidings inbox pick ID…'", file=sys.stderr)
            return 1
        picks = with_page_metadata(picks, page_metadata(site))
    write_atomic(path, issue_text(site.config, number, when, picks).encode("utf-8"))
    extra = f" with {len(picks)} picked entries" if picks else ""
    print(f"wrote {site.relative(path)} (issue #{number}, {when.isoformat()}, draft){extra}")
    return 0
