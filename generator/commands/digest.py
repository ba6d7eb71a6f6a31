"""``tidings digest``: freeze a week's (or month's) fetched links into content/digests/."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone

from ..config import load_site
from ..content.digests import read_digest
from ..errors import ContentError
from ..ingest.digest import last_complete_week, parse_period, digest_text
from ..ingest.state import open_fetch_store
from ..write import write_atomic


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("digest", help="freeze a period's fetched links into a digest file the build renders")
    p.add_argument("period", nargs="?", help="an ISO week like 2025-W41 or a month like 2025-10 (default: last complete week)")
    p.add_argument("--force", action="store_true", help="replace an existing digest file for the period")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    site = load_site(args.root)
    zone = site.config.zone
    now = datetime.now(timezone.utc)
    try:
        period = parse_period(args.period) if args.period else last_complete_week(now.astimezone(zone).date())
    except ValueError as exc:
        print(f"tidings digest: {exc}", file=sys.stderr)
        return 2
    rel = f"{site.config.fetch.digests_dir.rstrip('/')}/{period.slug}.yaml"
    path = site.path(rel)
    if path.exists() and not args.force:
        print(f"tidings digest: {rel} already exists (it may hold your edits); use --force to replace it", file=sys.stderr)
        return 1
    store = open_fetch_store(site)
    try:
        since, until = period.bounds(zone)
        entries = store.entries(since=since, until=until, states=("new", "picked"))
        names = store.source_names()
    finally:
        store.store.close()
    if not entries:
        print(f"tidings digest: no entries between {period.start} and {period.end}; nothing written", file=sys.stderr)
        return 1
    text = digest_text(period, list(reversed(entries)), names, now)
    try:
        read_digest(rel, text.encode("utf-8"), zone)  # what we write must be what the build accepts
    except ContentError as exc:  # pragma: no cover - would be a bug in digest_text
        raise ContentError(exc.problems) from None
    write_atomic(path, text.encode("utf-8"))
    print(f"wrote {rel} with {len(entries)} links ({period.title})")
    return 0
