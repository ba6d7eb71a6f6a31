"""``tidings check``: lint and test the links of an issue (or of everything) before it goes out.

Order of work: read the content; choose the scope; lint offline (always);
then, unless ``--offline``, reuse fresh successes from the store and check
the rest over the network; record results; with ``--all`` write the dead-link
and page-metadata files; with ``--fix`` rewrite permanent redirects; report.

Exit status: 0 nothing failing; 1 broken links, missing fragments, lint
errors or bad content; 2 wrong usage or a bad ``tidings.yaml``.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO
from urllib.parse import urldefrag

from ..build import Content, load_content
from ..checkreport import FORMATS, Report, format_text
from ..checkscope import Scope, select_scope
from ..config import Site, load_site
from ..content.archive import build_archive
from ..errors import ConfigError, SourcePos
from ..linkfiles import (
    DEAD_FILE,
    META_FILE,
    DeadLink,
    PageMeta,
    dump_dead_links,
    dump_link_meta,
    read_dead_links,
)
from ..linkfix import replacement_for, rewrite_file
from ..linkstatus import DEAD_CANDIDATE, EXCLUDED, LinkStatus
from ..linkstore import LinkStore, result_key
from ..lint import lint_issue, lint_source
from ..net.client import user_agent
from ..net.linkcheck import LinkChecker
from ..store import DEFAULT_STORE, Store
from ..urls import normalize_url
from ..write import read_if_same, write_atomic


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("check", help="lint and check the links of the newest issue (or one issue, or --all)")
    p.add_argument("issue", nargs="?", help="an issue number, slug or file (default: the newest issue, draft or not)")
    p.add_argument("--all", action="store_true", help="check every issue and page; record dead links in " + DEAD_FILE)
    p.add_argument("--offline", action="store_true", help="only the offline lint; no network")
    p.add_argument("--format", choices=sorted(FORMATS), default="text", help="report format (default: text)")
    p.add_argument("-o", "--output", type=Path, help="write the report to this file instead of standard output")
    p.add_argument("--fix", action="store_true", help="rewrite permanently redirected links in the Markdown")
    p.add_argument("--fresh", action="store_true", help="ignore results of earlier runs; check every link now")
    p.add_argument("-v", "--verbose", action="store_true", help="list fine links too")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.all and args.issue:
        print("tidings check: give an issue or --all, not both", file=sys.stderr)
        return 2
    try:
        site = load_site(args.root)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    started = time.monotonic()
    content = load_content(site)
    scope = select_scope(site, content, args.issue, everything=args.all)
    report = Report(scope.label, offline=args.offline)
    for issue in scope.issues:
        links = [link for link, owner in scope.links if owner is issue]
        silenced = scope.silenced_by_file.get(issue.source_path, set())
        report.findings.extend(lint_source(issue.source_path, scope.texts.get(issue.source_path, ""), silenced=silenced))
        report.findings.extend(
            lint_issue(issue, links, silenced=silenced, history=content.issues, window=site.config.check.duplicate_window)
        )
    places = _places(scope)
    if not args.offline:
        statuses, report.requests = _check_network(site, list(places), fresh=args.fresh)
        report.results = [(statuses[url], places[url]) for url in places]
        if args.all:
            report.notes += _write_link_files(site, content, statuses)
        if args.fix:
            report.notes += _fix(site, scope, statuses)
    report.results += [
        (LinkStatus(link.url, EXCLUDED, "silenced by <!-- tidings: nocheck -->"), [link.pos]) for link in scope.silenced
    ]
    report.seconds = time.monotonic() - started
    _emit(report, args)
    return report.exit_code


def _places(scope: Scope) -> dict[str, list[SourcePos]]:
    """Each URL to check (first spelling of its result key) and every place it is written."""
    by_key: dict[str, str] = {}
    places: dict[str, list[SourcePos]] = {}
    for link, _ in scope.links:
        if not link.url.strip() or link.url.startswith("#"):
            continue  # same-page anchors are the build's business
        key = result_key(link.url)
        url = by_key.setdefault(key, link.url.strip())
        places.setdefault(url, []).append(link.pos)
    return places


def _check_network(site: Site, urls: list[str], *, fresh: bool) -> tuple[dict[str, LinkStatus], int]:
    config = site.config.check
    with Store.open(site.path(DEFAULT_STORE)) as store:
        memory = LinkStore(store)
        reused = {} if fresh else memory.fresh(urls, max_age_days=config.cache_days)
        todo = [u for u in urls if u not in reused]
        wanted: set[str] = set()
        if config.metadata:  # pages we know nothing about yet are read with GET (their head only)
            pages = {u: normalize_url(urldefrag(u)[0]) for u in todo}
            known = memory.meta(list(pages.values()))
            wanted = {u for u, page in pages.items() if page not in known}
        progress = _Progress(len(todo)) if sys.stderr.isatty() and todo else None
        checker = LinkChecker(config, user_agent=user_agent(site.config.base_url), progress=progress)
        checked = checker.check(todo, metadata_for=wanted) if todo else {}
        if progress is not None:
            progress.finish()
        counted = memory.record(checked)
    requests = sum(s.attempts for s in checked.values())
    return {**reused, **counted}, requests


def _is_dead(status: LinkStatus, runs: int, days: float, now: float) -> bool:
    if status.kind not in DEAD_CANDIDATE:
        return False
    by_runs = runs > 0 and status.failures >= runs
    by_days = days > 0 and status.failing_since is not None and now - status.failing_since >= days * 86400
    return by_runs or by_days


def _write_link_files(site: Site, content: Content, statuses: dict[str, LinkStatus]) -> list[str]:
    """Rewrite content/linkstatus.yaml and content/linkmeta.yaml from this full run."""
    config = site.config.check
    now = time.time()
    previous = read_dead_links(site.root)
    dead: dict[str, DeadLink] = {}
    for url, status in statuses.items():
        key = normalize_url(urldefrag(url)[0])
        if key.startswith(("http://", "https://")) and _is_dead(status, config.dead_after_runs, config.dead_after_days, now):
            since = previous[key].since if key in previous else _day(status.failing_since or now)
            dead[key] = DeadLink(since=since, reason=status.message, failures=status.failures)
    notes = [_write(site, DEAD_FILE, dump_dead_links(dead), f"{len(dead)} dead link{'s' if len(dead) != 1 else ''}")]
    archive = build_archive(content.issues)
    featured = {entry.key for entry in archive.links}
    with Store.open(site.path(DEFAULT_STORE)) as store:
        stored = LinkStore(store).meta(featured)
    meta = {k: PageMeta(title=m.title, description=m.description, canonical=m.canonical, image=m.image) for k, m in stored.items()}
    notes.append(_write(site, META_FILE, dump_link_meta(meta), f"metadata of {len(meta)} pages"))
    return notes


def _write(site: Site, name: str, data: bytes, what: str) -> str:
    path = site.root / name
    if read_if_same(path, data):
        return f"{name}: unchanged ({what})"
    write_atomic(path, data)
    return f"{name}: written ({what}); review and commit it"


def _day(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def _fix(site: Site, scope: Scope, statuses: dict[str, LinkStatus]) -> list[str]:
    """Replace permanently redirected URLs in their files; one note per file changed."""
    by_key = {result_key(url): status for url, status in statuses.items()}
    by_file: dict[str, dict[str, str]] = {}
    for link, _ in scope.links:
        status = by_key.get(result_key(link.url))
        if status is None:
            continue
        new = replacement_for(link.url, status)
        if new:
            by_file.setdefault(link.pos.path, {})[link.url] = new
    notes = []
    for rel, replacements in sorted(by_file.items()):
        count = rewrite_file(site.root / rel, replacements)
        if count:
            notes.append(f"{rel}: --fix updated {count} permanently redirected link{'s' if count != 1 else ''}")
        else:
            notes.append(f"{rel}: --fix could not find the redirected URLs as written; update them by hand")
    return notes


def _emit(report: Report, args: argparse.Namespace) -> None:
    text = FORMATS[args.format](report) if args.format != "text" else format_text(report, verbose=args.verbose)
    if args.output:
        write_atomic(args.output.resolve(), text.encode("utf-8"))
        print(report.headline(), file=sys.stderr)
        print(f"report written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)


class _Progress:
    """A one-line progress bar on the terminal, redrawn at most ten times a second."""

    def __init__(self, total: int, stream: TextIO = sys.stderr) -> None:
        self.total = total
        self.stream = stream
        self.last = 0.0
        self.failing = 0

    def __call__(self, done: int, total: int, status: LinkStatus) -> None:
        self.failing += status.failed
        now = time.monotonic()
        if now - self.last < 0.1 and done < total:
            return
        self.last = now
        width = 30
        filled = int(width * done / max(total, 1))
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\rchecking [{bar}] {done}/{total}  failing {self.failing}  ")
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\r" + " " * 70 + "\r")
        self.stream.flush()
