"""Check URLs over HTTP, politely, and say in one line what became of each.

Input is a list of URLs (this module never sees an issue); output is one
:class:`~generator.linkstatus.LinkStatus` per URL. How a URL is checked:

1. HEAD, or GET straight away when a ``#fragment`` must be found on the page.
2. Redirects are followed one hop at a time (each hop waits for its own
   host's turn), recorded, and loops detected.
3. Timeouts, dropped connections and 5xx are retried with doubling waits;
   429 (and 503 with ``Retry-After``) makes the whole host wait as long as it
   asked, up to ``max_retry_after``; a host that times out or rate-limits goes
   to the slow lane (one request at a time) — the other hosts carry on.
4. A HEAD that ends in anything but 2xx is asked again with GET (many servers
   refuse or mishandle HEAD). GET bodies are streamed and capped; from HTML
   ones we keep the anchors (for the fragment) and the page's title,
   description, canonical URL and image. Callers may ask for GET up front
   for URLs whose metadata they want (the link index).

Work is organised in lanes: one small group of workers per host, so tasks
number hosts × per-host limit, not URLs, and a waiting host costs nothing.
At most ``8 × concurrency`` hosts are worked on at once, each with its own
small connection pool (kept alive between its requests, closed when its
lane ends), so open sockets stay bounded however many hosts there are.
"""

from __future__ import annotations

import asyncio
import dataclasses
import http
import re
import time
from collections import deque
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import httpx

from ..config import CheckConfig
from ..linkstatus import (
    BLOCKED,
    BROKEN,
    EXCLUDED,
    MISSING_FRAGMENT,
    OK,
    RATE_LIMITED,
    REDIRECTED,
    TRANSIENT,
    LinkStatus,
)
from .client import (
    AddressRefused,
    ClientSettings,
    NameNotResolved,
    Politeness,
    Resolver,
    host_key,
)
from .hosts import HostClients
from .pageinfo import (
    bot_protection_sign,
    decode_body,
    has_anchor,
    page_anchors,
    page_meta,
)

__all__ = ["MAX_REDIRECTS", "LinkChecker", "check_links", "parse_retry_after", "settings_from"]

MAX_REDIRECTS = 10
META_BYTES = 256 * 1024  # enough for any page's <head>
ACTIVE_HOSTS_PER_SLOT = 8  # hosts worked on at once, per global request slot
DRAIN_BYTES = 16 * 1024  # unread bodies up to this size are read to keep the connection alive
_REDIRECT = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_MAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")

Progress = Callable[[int, int, LinkStatus], None]


def settings_from(config: CheckConfig, user_agent: str) -> ClientSettings:
    return ClientSettings(
        user_agent=config.user_agent or user_agent,
        read_timeout=config.timeout,
        total_timeout=config.timeout,
        connect_timeout=config.connect_timeout,
        accept="text/html,application/xhtml+xml,*/*;q=0.8",
        concurrency=config.concurrency,
        per_host=config.per_host,
        host_interval=config.host_interval,
        allow_private=config.allow_private,
        headers=tuple((host, tuple(values.items())) for host, values in config.headers.items()),
    )


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else time.time()
    return max(0.0, when.timestamp() - current)


@dataclass(slots=True)
class _Answer:
    """One request's result: a status and headers, or an error name."""

    code: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    text: str = ""  # decoded body, when read
    truncated: bool = False
    error: str = ""  # dns | private | refused | tls | timeout | dropped | invalid
    detail: str = ""
    attempts: int = 1
    retry_after: float | None = None

    @property
    def html(self) -> bool:
        return "html" in self.headers.get("content-type", "").lower()


@dataclass(slots=True)
class _Outcome:
    answer: _Answer
    hops: list[tuple[int, str]]
    final: str
    problem: str = ""  # loop | too-many | scheme
    attempts: int = 0


class LinkChecker:
    """Checks many URLs at once; create one per run (it owns the politeness state)."""

    def __init__(
        self,
        config: CheckConfig,
        *,
        user_agent: str,
        resolver: Resolver | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.config = config
        self.settings = settings_from(config, user_agent)
        self.resolver = resolver
        self.progress = progress
        self.excludes = [re.compile(p) for p in config.exclude]
        self.results: dict[str, LinkStatus] = {}
        self.polite: Politeness | None = None
        self.metadata_for: frozenset[str] = frozenset()
        self._host_of: dict[str, str] = {}  # URL -> host key, worked out once
        self._total = 0

    def check(self, urls: Sequence[str], *, metadata_for: Collection[str] = ()) -> dict[str, LinkStatus]:
        """Check ``urls`` (deduplicated as given) and return a status for each.

        URLs in ``metadata_for`` are fetched with GET (head of the page only) to
        learn their title and description.
        """
        return asyncio.run(self.check_async(urls, metadata_for=metadata_for))

    async def check_async(self, urls: Sequence[str], *, metadata_for: Collection[str] = ()) -> dict[str, LinkStatus]:
        lanes = self._plan(urls, metadata_for)
        if not lanes:
            return self.results
        self.polite = Politeness(self.config.concurrency, self.config.per_host, self.config.host_interval)
        active = ACTIVE_HOSTS_PER_SLOT * self.config.concurrency
        window = asyncio.Semaphore(active)
        async with HostClients(self.settings, resolver=self.resolver, max_hosts=active + 32) as clients:
            self.clients = clients
            await asyncio.gather(*(self._host(host, queue, window) for host, queue in lanes.items()))
        return self.results

    def _plan(self, urls: Sequence[str], metadata_for: Collection[str]) -> dict[str, deque[str]]:
        """Settle what needs no request; the rest in one queue per host."""
        self.metadata_for = frozenset(metadata_for)
        unique = list(dict.fromkeys(urls))
        self._total = len(unique)
        lanes: dict[str, deque[str]] = {}
        for url in unique:
            quick = self._without_request(url)
            if quick is not None:
                self._done(url, quick)
            else:
                host = self._host_of[url] = host_key(url)
                lanes.setdefault(host, deque()).append(url)
        return lanes

    async def _host(self, host: str, queue: deque[str], window: asyncio.Semaphore) -> None:
        """All URLs of one host; a bounded number of hosts is worked on at once (open connections stay few)."""
        async with window:
            try:
                await asyncio.gather(*(self._lane(queue) for _ in range(min(self.config.per_host, len(queue)))))
            finally:
                await self.clients.done_with(host)

    def _done(self, url: str, status: LinkStatus) -> None:
        self.results[url] = status
        if self.progress is not None:
            self.progress(len(self.results), self._total, status)

    async def _lane(self, queue: deque[str]) -> None:
        while queue:
            url = queue.popleft()
            self._done(url, await self._check_one(url))

    # ------------------------------------------------------------ one URL

    def _without_request(self, url: str) -> LinkStatus | None:
        """Statuses decided without the network: excluded URLs, other schemes, mail addresses."""
        for pattern in self.excludes:
            if pattern.search(url):
                return LinkStatus(url, EXCLUDED, f"not checked: matches exclude pattern {pattern.pattern!r}")
        scheme = urlsplit(url).scheme.lower() if ":" in url else ""
        if scheme == "mailto":
            address = unquote(url[7:].split("?", 1)[0]).strip()
            if all(_MAIL.match(a.strip()) for a in address.split(",")) and address:
                return LinkStatus(url, OK, "e-mail address looks valid (no mail is sent)", checked_at=time.time())
            return LinkStatus(url, BROKEN, f"malformed e-mail address {address!r}", checked_at=time.time())
        if scheme not in ("http", "https"):
            what = f"{scheme}: links" if scheme else "relative links"
            return LinkStatus(url, EXCLUDED, f"not checked: {what} are not checked over the network")
        try:
            if not urlsplit(url).hostname:
                return LinkStatus(url, BROKEN, "malformed URL: no host name", checked_at=time.time())
        except ValueError as exc:
            return LinkStatus(url, BROKEN, f"malformed URL: {exc}", checked_at=time.time())
        return None

    async def _check_one(self, url: str) -> LinkStatus:
        started = time.monotonic()
        base, fragment = urldefrag(url)
        verify = self.config.fragments and _checkable_fragment(fragment)
        if verify:
            outcome = await self._follow(base, "GET", self.config.max_body, self.config.retries)
        elif url in self.metadata_for:
            outcome = await self._follow(base, "GET", META_BYTES, self.config.retries)
        else:
            outcome = await self._follow(base, "HEAD", 0, self.config.retries)
            if self._inconclusive(outcome):
                spent = 500 <= (outcome.answer.code or 0) < 600
                first = outcome.attempts
                outcome = await self._follow(base, "GET", META_BYTES, 0 if spent else self.config.retries)
                outcome.attempts += first
        status = self._classify(url, fragment if verify else "", outcome)
        elapsed = time.monotonic() - started
        return dataclasses.replace(status, elapsed=elapsed, attempts=outcome.attempts, checked_at=time.time())

    def _accepted(self, code: int | None) -> bool:
        return code is not None and (200 <= code < 300 or code in self.config.accept)

    def _inconclusive(self, outcome: _Outcome) -> bool:
        """A HEAD answer worth asking again with GET."""
        answer = outcome.answer
        if outcome.problem or answer.error or answer.code is None:
            return False
        return not self._accepted(answer.code) and answer.code != 429

    async def _follow(self, url: str, method: str, body_limit: int, retries: int) -> _Outcome:
        hops: list[tuple[int, str]] = []
        seen = {url}
        current = url
        attempts = 0
        answer = _Answer()
        for _ in range(MAX_REDIRECTS + 1):
            answer = await self._request(method, current, body_limit, retries)
            attempts += answer.attempts
            location = answer.headers.get("location", "").strip()
            if answer.code not in _REDIRECT or not location or self._accepted(answer.code):
                return _Outcome(answer, hops, current, attempts=attempts)
            target, _ = urldefrag(urljoin(current, location))
            hops.append((answer.code, target))
            if urlsplit(target).scheme.lower() not in ("http", "https"):
                return _Outcome(answer, hops, target, "scheme", attempts)
            if target in seen:
                return _Outcome(answer, hops, target, "loop", attempts)
            seen.add(target)
            current = target
        return _Outcome(answer, hops, current, "too-many", attempts)

    async def _request(self, method: str, url: str, body_limit: int, retries: int) -> _Answer:
        """One hop, with retries for transient trouble and waits for rate limits."""
        assert self.polite is not None
        host = self._host_of.get(url) or host_key(url)
        cap = self.config.max_retry_after
        attempt = 0
        limited = 0
        while True:
            attempt += 1
            answer = await self._once(method, url, host, body_limit)
            answer.attempts = attempt
            code = answer.code or 0
            if answer.error == "timeout":
                self.polite.mark_slow(host)
            wait = parse_retry_after(answer.headers.get("retry-after"))
            if code == 429 or (code == 503 and wait is not None and not _bot(answer)):
                self.polite.mark_slow(host)
                if wait is None:
                    wait = max(1.0, self.config.retry_backoff * 2**limited)
                answer.retry_after = wait
                if wait > cap or limited >= max(1, retries):
                    return answer
                limited += 1
                self.polite.defer(host, wait)
                continue
            transient = answer.error in ("timeout", "dropped") or (500 <= code < 600 and code != 501 and not _bot(answer))
            if transient and attempt <= retries:
                await asyncio.sleep(self.config.retry_backoff * 2 ** (attempt - 1))
                continue
            return answer

    async def _once(self, method: str, url: str, host: str, body_limit: int) -> _Answer:
        assert self.polite is not None
        async with self.polite.slot(host):
            try:
                client = await self.clients.client(url, host)
                async with asyncio.timeout(self.config.timeout):
                    response = await client.send(method, url)
                    try:
                        answer = _Answer(code=response.status_code, headers={k.lower(): v for k, v in response.headers.items()})
                        readable = 200 <= response.status_code < 300 or response.status_code in (403, 503)
                        if method == "GET" and body_limit and readable and answer.html:
                            limit = body_limit if 200 <= response.status_code < 300 else min(body_limit, 64 * 1024)
                            body, answer.truncated = await _read_capped(response, limit)
                            answer.text = decode_body(body, answer.headers.get("content-type", ""))
                        else:  # finish a short body so the connection is kept for the host's next request
                            await _drain(response, DRAIN_BYTES)
                        return answer
                    finally:
                        await response.aclose()
            except (TimeoutError, httpx.TimeoutException):
                return _Answer(error="timeout", detail=f"no answer within {self.config.timeout:g} s")
            except NameNotResolved as exc:
                return _Answer(error="dns", detail=str(exc))
            except AddressRefused as exc:
                return _Answer(error="private", detail=str(exc))
            except httpx.ConnectError as exc:
                text = str(exc)
                if "CERTIFICATE" in text.upper() or "SSL" in text.upper():
                    return _Answer(error="tls", detail=text)
                return _Answer(error="refused", detail=text or "connection failed")
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
                return _Answer(error="invalid", detail=str(exc))
            except httpx.HTTPError as exc:
                return _Answer(error="dropped", detail=f"{type(exc).__name__}: {exc}".rstrip(": "))

    # ------------------------------------------------------------ classes

    def _classify(self, url: str, fragment: str, outcome: _Outcome) -> LinkStatus:
        answer = outcome.answer
        code = answer.code
        hops = tuple(outcome.hops)
        final = outcome.final if hops else ""
        tries = outcome.attempts

        def status(kind: str, message: str, **extra: object) -> LinkStatus:
            return LinkStatus(url, kind, message, code=code, final_url=final, redirects=hops, **extra)  # type: ignore[arg-type]

        if outcome.problem == "loop":
            chain = " → ".join([urldefrag(url)[0]] + [h[1] for h in hops])
            return status(BROKEN, f"redirect loop: {chain}")
        if outcome.problem == "too-many":
            return status(BROKEN, f"more than {MAX_REDIRECTS} redirects")
        if outcome.problem == "scheme":
            return status(BROKEN, f"redirects to a non-web address: {outcome.final}")
        if answer.error:
            return self._classify_error(url, answer, tries, hops, final)
        assert code is not None
        reason = _reason(code)
        if self._accepted(code):
            meta = page_meta(answer.text, outcome.final) if answer.text else None
            meta = None if meta is None or meta.empty else meta
            if fragment and answer.html and answer.text and not has_anchor(page_anchors(answer.text), fragment):
                if answer.truncated:
                    return status(OK, f"{reason}; #{fragment} not verified: page longer than {self.config.max_body} bytes", meta=meta)
                return status(MISSING_FRAGMENT, f"the page has no #{unquote(fragment)} anchor", meta=meta)
            if hops:
                permanent = all(h[0] in _PERMANENT for h in hops)
                if permanent:
                    return status(REDIRECTED, f"moved permanently to {final}", permanent=True, meta=meta)
                kinds = "/".join(sorted({str(h[0]) for h in hops}))
                return status(REDIRECTED, f"temporary redirect ({kinds}) to {final}", meta=meta)
            note = "" if 200 <= code < 300 else " (accepted by check.accept)"
            return status(OK, f"{reason}{note}", meta=meta)
        protection = bot_protection_sign(answer.headers, answer.text) if code in (403, 503) else ""
        if code == 999 or protection:
            why = protection or "bot blocking"
            return status(BLOCKED, f"{reason} from {why}; open it in a browser to be sure")
        if code in (401, 407):
            return status(BLOCKED, f"{reason}: the page needs a login")
        if code == 429:
            wait = answer.retry_after
            if wait is not None and wait > self.config.max_retry_after:
                return status(RATE_LIMITED, f"{reason}: the host asked to wait {wait:.0f} s (more than check.max_retry_after)")
            return status(RATE_LIMITED, f"{reason}, still after {tries} attempts")
        if 500 <= code < 600:
            return status(TRANSIENT, f"{reason}, still after {tries} attempt{'s' if tries != 1 else ''}")
        if code in _REDIRECT:
            return status(BROKEN, f"{reason} without a Location header")
        return status(BROKEN, reason)

    def _classify_error(self, url: str, answer: _Answer, tries: int, hops: tuple[tuple[int, str], ...], final: str) -> LinkStatus:
        def status(kind: str, message: str) -> LinkStatus:
            return LinkStatus(url, kind, message, final_url=final, redirects=hops)

        error = answer.error
        if error == "dns":
            return status(BROKEN, f"DNS lookup failed: {answer.detail}")
        if error == "private":
            return status(EXCLUDED, f"not checked: {answer.detail} resolves to a private address (see check.allow_private)")
        if error == "refused":
            return status(BROKEN, f"connection refused or failed: {answer.detail}")
        if error == "tls":
            return status(BROKEN, f"TLS error: {answer.detail}")
        if error == "invalid":
            return status(BROKEN, f"malformed URL: {answer.detail}")
        if error == "timeout":
            return status(TRANSIENT, f"timed out: {answer.detail}, still after {tries} attempt{'s' if tries != 1 else ''}")
        return status(TRANSIENT, f"connection dropped ({answer.detail}), still after {tries} attempt{'s' if tries != 1 else ''}")


def check_links(
    urls: Sequence[str],
    config: CheckConfig,
    *,
    user_agent: str,
    resolver: Resolver | None = None,
    progress: Progress | None = None,
) -> dict[str, LinkStatus]:
    """Convenience wrapper: check ``urls`` with a fresh :class:`LinkChecker`."""
    return LinkChecker(config, user_agent=user_agent, resolver=resolver, progress=progress).check(urls)


def _bot(answer: _Answer) -> bool:
    return bool(bot_protection_sign(answer.headers, answer.text))


def _checkable_fragment(fragment: str) -> bool:
    """False for fragments that are not anchors: client-side routes, text fragments, empty."""
    return bool(fragment) and not fragment.startswith(("!", "/", ":~:")) and "=" not in fragment


def _reason(code: int) -> str:
    try:
        return f"HTTP {code} {http.HTTPStatus(code).phrase}"
    except ValueError:
        return f"HTTP {code}"


async def _drain(response: httpx.Response, limit: int) -> None:
    """Read and drop up to ``limit`` bytes of a body nobody needs (as sent: no decompressing)."""
    size = 0
    async for chunk in response.stream:  # type: ignore[union-attr]
        size += len(chunk)
        if size >= limit:
            return


async def _read_capped(response: httpx.Response, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            return b"".join(chunks)[:limit], True
    return b"".join(chunks), False

