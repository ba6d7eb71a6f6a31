"""``tidings inbox``: the editor's candidates since the last issue; pick or dismiss them by id.

Candidates are grouped by the section their source suggests, newest first,
each with its source, date, excerpt and — when the link was already in a
published issue — "already featured in #N".
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from datetime import datetime, timezone

from ..build import load_content
from ..config import Site, load_site
from ..content.archive import Archive, build_archive
from ..ingest.state import StoredEntry, open_fetch_store
from ..ingest.entries import parse_date


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("inbox", help="list fetched candidates; 'inbox pick ID…' or 'inbox dismiss ID…' to sort them")
    p.add_argument("action", nargs="?", choices=("list", "pick", "dismiss", "reset"), default="list", help="list (default), pick, dismiss, or reset to new")
    p.add_argument("ids", nargs="*", type=int, metavar="ID", help="entry ids for pick/dismiss/reset")
    p.add_argument("--since", help="entries dated on or after this date (default: the latest issue's date)")
    p.add_argument("--source", action="append", default=[], metavar="ID", help="only this source (repeatable)")
    p.add_argument("--search", default="", help="only entries whose title, excerpt or tags contain these words")
    p.add_argument("--all", action="store_true", help="include dismissed entries")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    site = load_site(args.root)
    store = open_fetch_store(site)
    try:
        if args.action != "list":
            if not args.ids:
                print(f"tidings inbox {args.action}: give at least one entry id", file=sys.stderr)
                return 2
            state = {"pick": "picked", "dismiss": "dismissed", "reset": "new"}[args.action]
            missing = store.set_state(args.ids, state, datetime.now(timezone.utc))
            if missing:
                print(f"tidings inbox: no entry with id {', '.join(map(str, missing))}; nothing changed", file=sys.stderr)
                return 1
            print(f"{state} {len(args.ids)} entr{'y' if len(args.ids) == 1 else 'ies'}")
            return 0
        archive = published_archive(site)
        since = _since(args.since, archive)
        entries = store.entries(
            since=since, sources=args.source, search=args.search,
            states=("new", "picked", "dismissed") if args.all else ("new", "picked"),
        )
        names = store.source_names()
    finally:
        store.store.close()
    featured = featured_numbers(archive)
    if args.json:
        print(json.dumps([entry_json(e, names, featured) for e in entries], indent=2, ensure_ascii=False))
    else:
        print(format_inbox(entries, names, featured, since))
    return 0


def published_archive(site: Site) -> Archive:
    content = load_content(site)
    return build_archive(content.issues, include_drafts=False, now=datetime.now().astimezone())


def featured_numbers(archive: Archive) -> dict[str, list[str]]:
    """Canonical URL → labels (#N) of the issues that featured it, newest first."""
    return {link.key: list(dict.fromkeys(issue.label for issue, _ in link.refs)) for link in archive.links}


def _since(text: str | None, archive: Archive) -> datetime | None:
    if text:
        value = parse_date(text)
        if value is None:
            raise SystemExit(f"tidings inbox: --since {text!r} is not a date (use YYYY-MM-DD)")
        return value
    return archive.latest.date if archive.latest else None


def entry_json(entry: StoredEntry, names: dict[str, str], featured: dict[str, list[str]]) -> dict[str, object]:
    return {
        "id": entry.id,
        "title": entry.title,
        "url": entry.url,
        "source": entry.source,
        "source_name": names.get(entry.source, entry.source),
        "also_in": list(entry.also_in),
        "date": entry.date.isoformat(),
        "dated_by_source": entry.published is not None,
        "section": entry.section,
        "tags": list(entry.tags),
        "excerpt": entry.excerpt,
        "state": entry.state,
        "featured_in": featured.get(entry.url, []),
    }


def format_inbox(entries: list[StoredEntry], names: dict[str, str], featured: dict[str, list[str]], since: datetime | None) -> str:
    if not entries:
        return "inbox is empty" + (f" since {since:%Y-%m-%d}" if since else "") + " (run 'tidings fetch' first?)"
    groups: dict[str, list[StoredEntry]] = {}
    for entry in entries:
        groups.setdefault(entry.section or "unsorted", []).append(entry)
    lines: list[str] = []
    for section, items in groups.items():
        lines.append(f"== {section} ({len(items)})")
        for e in items:
            mark = {"picked": "*", "dismissed": "x"}.get(e.state, " ")
            source = names.get(e.source, e.source) + (f" (also {', '.join(names.get(s, s) for s in e.also_in)})" if e.also_in else "")
            lines.append(f"{mark}[{e.id}] {e.date:%Y-%m-%d}  {e.title}")
            lines.append(f"      {source} · {e.url}")
            if e.excerpt:
                lines += textwrap.wrap(e.excerpt, 100, initial_indent="      ", subsequent_indent="      ", max_lines=3, placeholder=" …")
            if e.url in featured:
                lines.append(f"      already featured in {', '.join(featured[e.url])}")
        lines.append("")
    lines.append(f"{len(entries)} entries; pick with 'tidings inbox pick ID…', dismiss with 'tidings inbox dismiss ID…'")
    return "\n".join(lines)
