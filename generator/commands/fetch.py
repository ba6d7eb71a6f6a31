"""``tidings fetch``: read every subscription into the store, then print what happened to each."""

from __future__ import annotations

import argparse
import sys

from ..config import load_site
from ..ingest.state import open_fetch_store
from ..ingest.subscriptions import load_subscriptions
from ..net.fetch import SourceReport, client_settings, run_fetch


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("fetch", help="fetch the subscriptions in feeds/feeds.yaml into the inbox")
    p.add_argument("--strict", action="store_true", help="exit with status 1 when any source failed")
    p.add_argument("--force", action="store_true", help="also fetch sources that are waiting out a backoff or Retry-After")
    p.add_argument("--source", action="append", default=[], metavar="ID", help="fetch only this source (repeatable)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    site = load_site(args.root)
    subs = load_subscriptions(site.root, site.relative(site.path(site.config.fetch.feeds_file)))
    if args.source:
        unknown = sorted(set(args.source) - {s.key for s in subs})
        if unknown:
            print(f"tidings fetch: no source with id {', '.join(unknown)} in {site.config.fetch.feeds_file}", file=sys.stderr)
            return 2
        subs = [s for s in subs if s.key in args.source]
    if not subs:
        print(f"no sources in {site.config.fetch.feeds_file}; nothing to fetch")
        return 0
    store = open_fetch_store(site)
    try:
        reports = run_fetch(subs, store, client_settings(site), force=args.force, excerpt_chars=site.config.fetch.excerpt_chars)
    finally:
        store.store.close()
    print(format_table(reports))
    failed = [r for r in reports if r.failed]
    if failed and (args.strict or len(failed) == len(reports)):
        return 1
    return 0


def format_table(reports: list[SourceReport]) -> str:
    rows = [("source", "status", "new", "error")]
    rows += [(r.name, r.status, str(r.new), r.error) for r in reports]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}  {d}".rstrip() for a, b, c, d in rows]
    lines.insert(1, "-" * (sum(widths) + 6 + max(len(rows[0][3]), 5)))
    for r in reports:
        if r.notice:
            lines.append(f"note: {r.name}: {r.notice}")
        for warning in r.warnings:
            lines.append(f"warning: {r.name}: {warning}")
    total = sum(r.new for r in reports)
    failed = sum(1 for r in reports if r.failed)
    lines.append(f"{len(reports)} sources, {total} new entries, {failed} failed")
    return "\n".join(lines)
