"""``tidings fetch``: every subscription fetched concurrently, politely, and recorded.

Per source, in order:

1. skipped (and reported) when disabled, retired by a 410, or waiting out a
   Retry-After or an error backoff;
2. read from disk (local sources) or requested with the stored validators
   (If-None-Match / If-Modified-Since);
3. a 304, or a body whose SHA-256 matches the last one, costs no parsing;
4. otherwise parsed into entries as soon as its body is in (in worker
   processes when there are many sources, so parsing one feed never holds up
   the requests of the others), which the store deduplicates;
5. the outcome, validators and new entries committed in one transaction, by
   one writer thread: the event loop never waits on SQLite, the writes stay
   in order, and each committed source survives a crash of the run.

One source failing never stops the others; every source gets a row in the
final report, so a failing feed is never dropped silently.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ..ingest.entries import Parsed, ParseError, parse_entries
from ..ingest.subscriptions import SourceSpec
from ..ingest.state import FetchStore, SourceState
from ..ingest.subscriptions import Subscription
from ..config import Site
from ..workers import die_with_parent
from .client import BodyTooLarge, ClientSettings, NetError, Politeness, request, retry_after, user_agent
from .hosts import HostClients

__all__ = ["SourceReport", "fetch_sources", "run_fetch", "backoff", "client_settings", "FEED_ACCEPT"]

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
)
BACKOFF_BASE = timedelta(minutes=5)
BACKOFF_MAX = timedelta(hours=24)
PARSE_POOL_THRESHOLD = 16  # below this many sources, parsing inline is cheaper than starting workers


@dataclass(frozen=True, slots=True)
class SourceReport:
    """One row of the run's table."""

    key: str
    name: str
    status: str  # new | unchanged | not-modified | error | gone | waiting | retired | disabled
    new: int = 0
    error: str = ""
    notice: str = ""  # e.g. a permanent move the editor should copy into feeds.yaml
    warnings: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.status in ("error", "gone", "waiting", "retired")


def client_settings(site: "Site") -> ClientSettings:
    """Client settings from tidings.yaml's ``fetch`` section."""
    f = site.config.fetch
    return ClientSettings(
        user_agent=user_agent(site.config.base_url), concurrency=f.concurrency, per_host=f.per_host,
        connect_timeout=f.connect_timeout, read_timeout=f.read_timeout, total_timeout=f.total_timeout,
        max_body_bytes=f.max_body_bytes, allow_private=f.allow_private,
    )


def backoff(errors: int) -> timedelta:
    """Wait after the ``errors``-th error in a row: 5 min, 10, 20… up to a day."""
    wait: timedelta = min(BACKOFF_BASE * (2 ** max(0, errors - 1)), BACKOFF_MAX)
    return wait


def run_fetch(subs: list[Subscription], store: FetchStore, settings: ClientSettings, *, force: bool = False, now: datetime | None = None, excerpt_chars: int = 400) -> list[SourceReport]:
    """Fetch every subscription; reports in the order of feeds.yaml."""
    workers = min(os.cpu_count() or 1, 4)
    if len(subs) < PARSE_POOL_THRESHOLD or workers < 2 or os.name != "posix":
        return asyncio.run(fetch_sources(subs, store, settings, force=force, now=now, excerpt_chars=excerpt_chars))
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"), initializer=die_with_parent) as pool:
        pool.submit(os.getpid).result()  # the workers are forked now, before the event loop and its sockets exist
        return asyncio.run(fetch_sources(subs, store, settings, force=force, now=now, excerpt_chars=excerpt_chars, parse_pool=pool))


class _Writer:
    """The store's one writer: calls run in order on a thread of their own."""

    def __init__(self, store: FetchStore) -> None:
        self.store = store
        self.thread = ThreadPoolExecutor(1, thread_name_prefix="tidings-store")

    async def record(self, key: str, **fields: object) -> int:
        call: Callable[[], int] = functools.partial(self.store.record, key, **fields)  # type: ignore[arg-type]
        return await asyncio.get_running_loop().run_in_executor(self.thread, call)


async def fetch_sources(subs: list[Subscription], store: FetchStore, settings: ClientSettings, *, force: bool = False, now: datetime | None = None, excerpt_chars: int = 400, parse_pool: Executor | None = None) -> list[SourceReport]:
    politeness = Politeness(settings.concurrency, settings.per_host)
    states = {sub.key: store.source_state(sub.key, sub.name, sub.location) for sub in subs}  # read before any writing starts
    writer = _Writer(store)
    try:
        async with HostClients(settings, max_hosts=max(64, settings.concurrency * 2)) as clients:

            async def one(sub: Subscription) -> SourceReport:
                try:
                    return await _fetch_one(sub, states[sub.key], writer, settings, clients, politeness, force, now, excerpt_chars, parse_pool)
                except Exception as exc:  # a bug or an odd failure stays with its source
                    return SourceReport(sub.key, sub.name, "error", error=f"unexpected {type(exc).__name__}: {exc}")

            return list(await asyncio.gather(*(one(s) for s in subs)))
    finally:
        writer.thread.shutdown(wait=True)  # every queued write is committed before the run returns


async def _fetch_one(sub: Subscription, state: SourceState, writer: _Writer, settings: ClientSettings, clients: HostClients, politeness: Politeness, force: bool, fixed_now: datetime | None, excerpt_chars: int, parse_pool: Executor | None) -> SourceReport:
    def clock() -> datetime:
        return fixed_now or datetime.now(timezone.utc)

    if not sub.spec.enabled:
        return SourceReport(sub.key, sub.name, "disabled")
    if state.retired_at:
        return SourceReport(sub.key, sub.name, "retired", error=f"gone (410) since {state.retired_at:%Y-%m-%d}; remove it or change its URL in feeds.yaml")
    if not force and state.next_attempt and state.next_attempt > clock():
        why = state.last_error or "backing off"
        return SourceReport(sub.key, sub.name, "waiting", error=f"next try after {state.next_attempt:%Y-%m-%d %H:%M} UTC ({why})")

    async def fail(status: str, error: str, *, wait_until: datetime | None = None, retired: bool = False) -> SourceReport:
        now = clock()
        until = wait_until or (None if retired or sub.is_local else now + backoff(state.error_count + 1))
        await writer.record(sub.key, now=now, status=status, error=error, next_attempt=until, retired=retired)
        return SourceReport(sub.key, sub.name, status, error=error)

    if sub.is_local:
        try:
            body = _read_local(Path(state.url), settings.max_body_bytes)
        except (OSError, BodyTooLarge) as exc:
            return await fail("error", str(exc) if isinstance(exc, BodyTooLarge) else f"cannot read {state.url}: {exc.strerror}")
        return await _parse_and_store(sub, writer, state, body, {}, state.url, clock(), validators=None, moved=None, excerpt_chars=excerpt_chars, pool=parse_pool)

    headers = {"Accept": FEED_ACCEPT if sub.spec.type == "feed" else "text/html, */*;q=0.5"}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    try:
        got = await request(clients, state.url, settings, politeness, headers=headers)
    except NetError as exc:
        return await fail("error", str(exc))
    now = clock()
    notice = f"moved permanently to {got.moved_to}; update its url in feeds.yaml" if got.moved_to else ""
    if got.status == 304:
        validators = (got.headers.get("etag") or state.etag, got.headers.get("last-modified") or state.last_modified)
        await writer.record(sub.key, now=now, status="not-modified", url=got.moved_to, validators=validators)
        return SourceReport(sub.key, sub.name, "not-modified", notice=notice)
    if got.status == 410:
        return await fail("gone", "410 Gone: the source was removed; it will not be fetched again", retired=True)
    if got.status in (429, 503):
        until = retry_after(got.headers, now) or now + backoff(state.error_count + 1)
        return await fail("error", f"HTTP {got.status}; retry after {until:%Y-%m-%d %H:%M:%S} UTC", wait_until=until)
    if got.status != 200:
        return await fail("error", f"HTTP {got.status}")
    validators = (got.headers.get("etag"), got.headers.get("last-modified"))
    return await _parse_and_store(
        sub, writer, state, got.body, got.headers, got.url, now, validators=validators, moved=got.moved_to, notice=notice,
        excerpt_chars=excerpt_chars, pool=parse_pool,
    )


def _read_local(path: Path, cap: int) -> bytes:
    with path.open("rb") as handle:
        data = handle.read(cap + 1)
    if len(data) > cap:
        raise BodyTooLarge(f"{path} is over the {cap:,}-byte cap")
    return data


async def _parse_and_store(
    sub: Subscription,
    writer: _Writer,
    state: SourceState,
    body: bytes,
    headers: dict[str, str] | object,
    url: str,
    now: datetime,
    *,
    validators: tuple[str | None, str | None] | None,
    moved: str | None,
    notice: str = "",
    excerpt_chars: int = 400,
    pool: Executor | None = None,
) -> SourceReport:
    digest = hashlib.sha256(body).hexdigest()
    if digest == state.body_sha256:
        await writer.record(sub.key, now=now, status="unchanged", url=moved, validators=validators)
        return SourceReport(sub.key, sub.name, "unchanged", notice=notice)
    base = url if not sub.is_local else Path(url).as_uri()
    items = getattr(headers, "items", None)
    plain_headers = {str(k).lower(): str(v) for k, v in items()} if items else {}
    try:
        if pool is None:
            parsed = parse_entries(body, plain_headers, url=base, spec=sub.spec, excerpt_chars=excerpt_chars)
        else:
            parsed = await asyncio.get_running_loop().run_in_executor(
                pool, _parse_in_worker, body, plain_headers, base, sub.spec, excerpt_chars
            )
    except ParseError as exc:
        until = None if sub.is_local else now + backoff(state.error_count + 1)
        await writer.record(sub.key, now=now, status="error", error=str(exc), url=moved, next_attempt=until)
        return SourceReport(sub.key, sub.name, "error", error=str(exc), notice=notice)
    new = await writer.record(
        sub.key, now=now, status="new" if parsed.entries else "unchanged", url=moved, validators=validators,
        body_sha256=digest, entries=parsed.entries, section=sub.spec.section,
    )
    return SourceReport(sub.key, sub.name, "new" if new else "unchanged", new=new, notice=notice, warnings=parsed.warnings)


def _parse_in_worker(body: bytes, headers: dict[str, str], url: str, spec: SourceSpec, excerpt_chars: int) -> Parsed:
    """parse_entries with positional arguments, for a process pool."""
    return parse_entries(body, headers, url=url, spec=spec, excerpt_chars=excerpt_chars)
