"""A polite, bounded HTTP client shared by every network command (fetch, link check).

What every request gets, whoever makes it:

- a descriptive User-Agent (``Tidings/<version> (+<base_url>)``) so site owners
  can see who calls and how to reach the editor;
- a global limit and a per-host limit on requests in flight (:class:`Politeness`);
- connect and read timeouts, and a wall-clock cap per request, so a server
  that dribbles one byte a second cannot hold a run hostage;
- a cap on the body size counted *after* decompression (a gzip bomb stops at
  the cap too); gzip/deflate are accepted;
- redirects followed by hand, each hop checked, so callers learn whether a move
  was permanent (301/308) and can update what they store;
- no private, loopback, link-local or otherwise internal addresses unless the
  configuration allows them: a feed URL must not become a way to probe the
  editor's network. Names are checked before the request (:func:`check_address`)
  and again where the connection is made (:class:`GuardedBackend` resolves the
  name itself and connects only to an address it checked), so a name that
  resolves differently a moment later is refused too;
- per host, a minimum interval between request starts and a "resume at" time
  (``Retry-After``); a waiting host never holds a global slot, and a host that
  timed out or rate-limited can be put in a slow lane (one request at a time).

Hosts for politeness are ``host`` or ``host:port`` (:func:`host_key`) for the
link checker, so tests and benchmarks can play many hosts on 127.0.0.1.
Connections are kept per host by :class:`generator.net.hosts.HostClients`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
import typing
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from .. import __version__
from .streams import open_tcp

if typing.TYPE_CHECKING:
    from .hosts import HostClient, HostClients

__all__ = [
    "AddressRefused",
    "BlockedAddress",
    "BodyTooLarge",
    "ClientSettings",
    "Fetched",
    "GuardedBackend",
    "NameNotResolved",
    "NetError",
    "Politeness",
    "Resolver",
    "check_address",
    "headers_for",
    "host_key",
    "is_public_address",
    "request",
    "retry_after",
    "system_resolver",
    "user_agent",
]

PERMANENT = (301, 308)
REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True, slots=True)
class ClientSettings:
    user_agent: str
    concurrency: int = 16
    per_host: int = 2
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    max_body_bytes: int = 10 * 1024 * 1024
    allow_private: bool = False
    max_redirects: int = 5
    accept: str = "*/*"
    host_interval: float = 0.0  # minimum seconds between request starts on one host
    headers: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()  # extra headers by host (and its sub-domains)


def user_agent(base_url: str) -> str:
    return f"Tidings/{__version__} (+{base_url})"


class NetError(Exception):
    """A request that did not produce a response we can use; the message is for the report."""


class BlockedAddress(NetError):
    """The host resolves to an address we refuse to contact."""


class BodyTooLarge(NetError):
    """The response body is larger than the configured cap."""


class NameNotResolved(NetError):
    """The host name has no address (DNS failure)."""


class AddressRefused(BlockedAddress):
    """Every address of the host is private, loopback or link-local, and those are not allowed."""


# (host, port) -> [(ip, port), …]; raise NameNotResolved when the name does not exist.
Resolver = Callable[[str, int], Awaitable[list[tuple[str, int]]]]


class _Gate:
    __slots__ = ("in_flight", "next_start", "peak", "resume_at", "slots", "slow", "slow_lock")

    def __init__(self, limit: int) -> None:
        self.slots = asyncio.Semaphore(limit)
        self.slow_lock = asyncio.Lock()
        self.slow = False
        self.next_start = 0.0  # monotonic time the next request may start
        self.resume_at = 0.0  # set from Retry-After / rate limiting
        self.in_flight = 0
        self.peak = 0


class _Slot:
    """One request's slot (a class, not a generator: it is entered for every request)."""

    __slots__ = ("gate", "lane", "polite")

    def __init__(self, polite: Politeness, gate: _Gate) -> None:
        self.polite = polite
        self.gate = gate
        self.lane: asyncio.Lock | None = None

    async def __aenter__(self) -> None:
        gate, polite = self.gate, self.polite
        await gate.slots.acquire()
        try:
            self.lane = gate.slow_lock if gate.slow else None
            if self.lane is not None:
                await self.lane.acquire()
            try:
                while True:
                    wait = max(gate.next_start, gate.resume_at) - polite.clock()
                    if wait > 0:
                        await asyncio.sleep(wait)
                        continue
                    await polite.global_slots.acquire()
                    if max(gate.next_start, gate.resume_at) > polite.clock():  # someone started meanwhile
                        polite.global_slots.release()
                        continue
                    break
            except BaseException:
                if self.lane is not None:
                    self.lane.release()
                raise
        except BaseException:
            gate.slots.release()
            raise
        gate.next_start = polite.clock() + polite.interval
        gate.in_flight += 1
        gate.peak = max(gate.peak, gate.in_flight)

    async def __aexit__(self, *exc: object) -> None:
        gate = self.gate
        gate.in_flight -= 1
        self.polite.global_slots.release()
        if self.lane is not None:
            self.lane.release()
        gate.slots.release()


class Politeness:
    """Global and per-host limits; see the module docstring. Create inside the event loop."""

    def __init__(self, concurrency: int, per_host: int, interval: float = 0.0, *, clock: Callable[[], float] = time.monotonic):
        self.global_slots = asyncio.Semaphore(max(1, concurrency))
        self.per_host = max(1, per_host)
        self.interval = interval
        self.clock = clock
        self.gates: dict[str, _Gate] = {}

    def _gate(self, host: str) -> _Gate:
        gate = self.gates.get(host)
        if gate is None:
            gate = self.gates[host] = _Gate(self.per_host)
        return gate

    def slot(self, host: str) -> _Slot:
        """``async with`` it to hold one request slot for ``host``; waits (without a global slot) until the host is ready."""
        return _Slot(self, self._gate(host))

    def defer(self, host: str, seconds: float) -> None:
        """Make ``host`` wait ``seconds`` before its next request (Retry-After, rate limits)."""
        gate = self._gate(host)
        gate.resume_at = max(gate.resume_at, self.clock() + seconds)

    def mark_slow(self, host: str) -> None:
        """Send ``host`` to the slow lane: from now on one request at a time."""
        self._gate(host).slow = True

    def peak(self, host: str) -> int:
        """Most requests to ``host`` ever in flight at once (for tests and benchmarks)."""
        gate = self.gates.get(host)
        return gate.peak if gate else 0


def host_key(url: str) -> str:
    """The politeness key of a URL: lower-case host, with the port when it is not the default."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return host if port in (None, default) else f"{host}:{port}"


def headers_for(settings: ClientSettings, host: str) -> dict[str, str]:
    """Configured extra headers for ``host`` (an entry for a domain covers its sub-domains)."""
    name = host.split(":", 1)[0]
    found: dict[str, str] = {}
    for domain, pairs in settings.headers:
        domain = domain.lower().lstrip(".")
        if name == domain or name.endswith("." + domain):
            found.update(pairs)
    return found


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified)


async def check_address(url: str, settings: ClientSettings) -> None:
    """Raise BlockedAddress when ``url``'s host is (or resolves to) a non-public address."""
    if settings.allow_private:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host:
        raise NetError(f"no host in {url!r}")
    try:
        addresses = [ipaddress.ip_address(host).compressed]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise NetError(f"cannot resolve {host}: {exc.strerror}") from None
        addresses = [str(info[4][0]) for info in infos]
    for address in addresses:
        if not is_public_address(address):
            raise BlockedAddress(f"{host} is a private, loopback or link-local address ({address}); set fetch.allow_private to allow it")


async def system_resolver(host: str, port: int) -> list[tuple[str, int]]:
    """The operating system's resolver (getaddrinfo), run without blocking the loop."""
    try:
        return [(str(ipaddress.ip_address(host.strip("[]"))), port)]  # an address needs no lookup
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise NameNotResolved(f"{host}: {exc.strerror or exc}") from None
    seen: list[tuple[str, int]] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        pair = (str(sockaddr[0]), int(sockaddr[1]))
        if pair not in seen:
            seen.append(pair)
    return seen


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend that resolves, checks and then connects to the checked address."""

    def __init__(self, resolver: Resolver | None = None, *, allow_private: bool = False) -> None:
        self.resolver = resolver or system_resolver
        self.allow_private = allow_private

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await self.resolver(host, port)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None
        if not addresses:
            raise NameNotResolved(host)
        if not self.allow_private:
            addresses = [(ip, p) for ip, p in addresses if is_public_address(ip)]
            if not addresses:
                raise AddressRefused(host)
        failure: Exception | None = None
        for ip, target_port in addresses:
            try:  # TLS still verifies and sends SNI for `host`: httpcore takes it from the request URL
                return await open_tcp(ip, target_port, timeout=timeout, local_address=local_address, socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: typing.Any = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by Tidings")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@dataclass(slots=True)
class Fetched:
    """A final response (after redirects), with its body read under the cap."""

    status: int
    url: str  # the URL that answered
    headers: Mapping[str, str]
    body: bytes
    moved_to: str | None = None  # set when every redirect on the way was permanent
    redirects: list[tuple[int, str]] = field(default_factory=list)  # (status, location) per hop


async def request(
    clients: HostClients,
    url: str,
    settings: ClientSettings,
    politeness: Politeness,
    *,
    headers: Mapping[str, str] | None = None,
    method: str = "GET",
    read_body: bool = True,
) -> Fetched:
    """One request with redirects, address checks, limits and caps; raise NetError on failure."""
    hops: list[tuple[int, str]] = []
    current = url
    for _ in range(settings.max_redirects + 1):
        await check_address(current, settings)
        host = (urlsplit(current).hostname or "").lower()
        async with politeness.slot(host):  # (time spent queueing for a slot is not the server's fault)
            try:
                client = await clients.client(current)
                async with asyncio.timeout(settings.total_timeout):
                    status, response_headers, body = await _one(client, current, settings, headers, method, read_body)
            except TimeoutError:
                raise NetError(f"no complete answer within {settings.total_timeout:g}s") from None
            except httpx.InvalidURL as exc:
                raise NetError(str(exc)) from None
        if status in REDIRECTS and "location" in response_headers:
            target = urljoin(current, response_headers["location"].strip())
            if urlsplit(target).scheme not in ("http", "https"):
                raise NetError(f"redirect to a non-HTTP URL: {target}")
            hops.append((status, target))
            current = target
            continue
        permanent = bool(hops) and all(s in PERMANENT for s, _ in hops)
        return Fetched(status, current, response_headers, body, current if permanent else None, hops)
    raise NetError(f"more than {settings.max_redirects} redirects")


KEEP_ALIVE_DRAIN = 16 * 1024  # an unwanted body up to this size is read anyway, so the connection can be reused


async def _one(
    client: HostClient, url: str, settings: ClientSettings, headers: Mapping[str, str] | None, method: str, read_body: bool
) -> tuple[int, dict[str, str], bytes]:
    try:
        response = await client.send(method, url, headers)
        try:
            response_headers = {k.lower(): v for k, v in response.headers.items()}
            wanted = read_body and response.status_code not in REDIRECTS and response.status_code != 304
            declared = response_headers.get("content-length", "")
            if not wanted:
                if declared.isdigit() and int(declared) <= KEEP_ALIVE_DRAIN and "content-encoding" not in response_headers:
                    await response.aread()  # (a 304 or a short redirect page: keeps the connection for the next request)
                return response.status_code, response_headers, b""
            if declared.isdigit() and int(declared) > settings.max_body_bytes and "content-encoding" not in response_headers:
                raise BodyTooLarge(f"body of {int(declared):,} bytes is over the {settings.max_body_bytes:,}-byte cap")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > settings.max_body_bytes:
                    raise BodyTooLarge(f"body is over the {settings.max_body_bytes:,}-byte cap")
                chunks.append(chunk)
            return response.status_code, response_headers, b"".join(chunks)
        finally:
            await response.aclose()
    except httpx.ConnectTimeout:
        raise NetError(f"connection timed out after {settings.connect_timeout:g}s") from None
    except httpx.ReadTimeout:
        raise NetError(f"no data for {settings.read_timeout:g}s (read timeout)") from None
    except httpx.TimeoutException as exc:
        raise NetError(f"timed out ({type(exc).__name__})") from None
    except httpx.DecodingError as exc:
        raise NetError(f"cannot decompress the body: {exc}") from None
    except httpx.HTTPError as exc:
        raise NetError(_describe(exc)) from None


def _describe(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect: {text}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"broken response: {text}"
    return text


def retry_after(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """The time a Retry-After header (seconds or HTTP date) asks us to wait until."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return now + timedelta(seconds=min(int(value), 7 * 86400))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when, now)
