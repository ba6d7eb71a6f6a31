"""One polite HTTP client for every network command (fetch, check, send).

Why a module of its own: politeness and safety must not depend on which
command happens to talk to a host. Three things live here:

- :class:`Politeness` — a global limit on requests in flight, a per-host
  limit, a minimum interval between request starts on one host, and a
  per-host "resume at" time set from ``Retry-After``. A waiting host never
  holds a global slot, so one slow or rate-limited host cannot stall the
  others. A host that timed out is put in the slow lane (one request at a time).
- :class:`GuardedBackend` — resolves names itself and connects only to the
  addresses it checked, refusing private, loopback and link-local targets
  unless allowed (URLs come from untrusted feeds; checking then connecting
  separately would let DNS rebinding slip through).
- :func:`make_client` — an ``httpx.AsyncClient`` wired to both, with our
  User-Agent and timeouts and without environment proxies; and
  :class:`HostClients`, the same as one small pool per host, for commands
  that talk to hundreds of hosts (the link checker).

Hosts are identified by ``host`` or ``host:port`` (non-default ports), so
tests and benchmarks can emulate many hosts on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
import typing
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore
import httpx
from httpcore._backends.auto import AutoBackend

from .. import __version__

__all__ = [
    "AddressRefused",
    "ClientSettings",
    "GuardedBackend",
    "HostClients",
    "NameNotResolved",
    "Politeness",
    "Resolver",
    "default_user_agent",
    "host_key",
    "is_public_address",
    "make_client",
    "system_resolver",
]

# (host, port) -> [(ip, port), …]; raise NameNotResolved when the name does not exist.
Resolver = Callable[[str, int], Awaitable[list[tuple[str, int]]]]


class NameNotResolved(Exception):
    """The host name has no address (DNS failure)."""


class AddressRefused(Exception):
    """Every address of the host is private, loopback or link-local, and those are not allowed."""


@dataclass(frozen=True, slots=True)
class ClientSettings:
    user_agent: str
    timeout: float = 20.0  # per read/write operation; callers bound whole requests themselves
    connect_timeout: float = 10.0
    concurrency: int = 16
    per_host: int = 2
    host_interval: float = 0.25
    allow_private: bool = False
    headers: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()  # host -> extra headers


def default_user_agent(base_url: str) -> str:
    return f"Tidings/{__version__} link checker (+{base_url})"


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


def is_public_address(ip: str) -> bool:
    address = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


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
        self.inner = AutoBackend()

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
                return await self.inner.connect_tcp(
                    ip, target_port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(self, path: str, timeout: float | None = None, socket_options: typing.Any = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by Tidings")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with our network backend (httpx offers no public hook for one)."""

    def __init__(self, backend: GuardedBackend, limits: httpx.Limits, ssl_context: ssl.SSLContext | None = None) -> None:
        # (no super().__init__: it would build a second pool and TLS context)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


def make_client(settings: ClientSettings, *, resolver: Resolver | None = None) -> httpx.AsyncClient:
    """An AsyncClient that never follows redirects by itself (callers record each hop)."""
    limits = httpx.Limits(
        max_connections=settings.concurrency + 4,  # a few spare for connections being closed
        max_keepalive_connections=settings.concurrency,
        keepalive_expiry=10.0,
    )
    backend = GuardedBackend(resolver, allow_private=settings.allow_private)
    return _client(settings, _GuardedTransport(backend, limits))


def _client(settings: ClientSettings, transport: httpx.AsyncBaseTransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(settings.timeout, connect=settings.connect_timeout),
        headers={"User-Agent": settings.user_agent, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
        follow_redirects=False,
        trust_env=False,
    )


class HostClients:
    """One small connection pool per host, all sharing one TLS context and address guard.

    Why not one big pool: httpcore scans every pooled connection on every
    request, so a pool that keeps idle connections to hundreds of hosts costs
    more CPU than it saves; a pool per host keeps each host's connections
    alive for its next request at the cost of a scan of one or two. At most
    ``max_hosts`` pools stay open; the least recently used idle ones are closed.
    """

    def __init__(self, settings: ClientSettings, *, resolver: Resolver | None = None, max_hosts: int = 64) -> None:
        self.settings = settings
        self.max_hosts = max_hosts
        self.backend = GuardedBackend(resolver, allow_private=settings.allow_private)
        self.ssl_context = httpx.create_ssl_context(trust_env=False)
        self.limits = httpx.Limits(max_connections=settings.per_host + 2, max_keepalive_connections=settings.per_host, keepalive_expiry=10.0)
        self.clients: OrderedDict[str, httpx.AsyncClient] = OrderedDict()
        self.users: dict[str, int] = {}

    @asynccontextmanager
    async def client(self, host: str) -> AsyncIterator[httpx.AsyncClient]:
        client = self.clients.get(host)
        if client is None:
            client = self.clients[host] = _client(self.settings, _GuardedTransport(self.backend, self.limits, self.ssl_context))
        self.clients.move_to_end(host)
        self.users[host] = self.users.get(host, 0) + 1
        try:
            yield client
        finally:
            self.users[host] -= 1
            await self._trim()

    async def _trim(self) -> None:
        victims: list[httpx.AsyncClient] = []
        for host in list(self.clients):  # decide synchronously, close afterwards
            if len(self.clients) <= self.max_hosts:
                break
            if self.users.get(host, 0) == 0:
                victims.append(self.clients.pop(host))
                self.users.pop(host, None)
        for client in victims:
            await client.aclose()

    async def done_with(self, host: str) -> None:
        """Close ``host``'s pool now that no more requests to it are planned (unless in use)."""
        if host in self.clients and self.users.get(host, 0) == 0:
            self.users.pop(host, None)
            await self.clients.pop(host).aclose()

    async def aclose(self) -> None:
        clients = list(self.clients.values())
        self.clients.clear()
        for client in clients:
            await client.aclose()

    async def __aenter__(self) -> HostClients:  # noqa: PYI034 (a final class in practice)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def headers_for(settings: ClientSettings, host: str) -> dict[str, str]:
    """Configured extra headers for ``host`` (an entry for a domain covers its sub-domains)."""
    name = host.split(":", 1)[0]
    found: dict[str, str] = {}
    for domain, pairs in settings.headers:
        domain = domain.lower().lstrip(".")
        if name == domain or name.endswith("." + domain):
            found.update(pairs)
    return found


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


class Politeness:
    """Global and per-host limits; see the module docstring. Create inside the event loop."""

    def __init__(self, concurrency: int, per_host: int, interval: float, *, clock: Callable[[], float] = time.monotonic):
        self.global_slots = asyncio.Semaphore(concurrency)
        self.per_host = per_host
        self.interval = interval
        self.clock = clock
        self.gates: dict[str, _Gate] = {}

    def _gate(self, host: str) -> _Gate:
        gate = self.gates.get(host)
        if gate is None:
            gate = self.gates[host] = _Gate(self.per_host)
        return gate

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """Hold one request slot for ``host``; waits (without a global slot) until the host is ready."""
        gate = self._gate(host)
        async with gate.slots:
            lane = gate.slow_lock if gate.slow else None
            if lane is not None:
                await lane.acquire()
            try:
                while True:
                    wait = max(gate.next_start, gate.resume_at) - self.clock()
                    if wait > 0:
                        await asyncio.sleep(wait)
                        continue
                    await self.global_slots.acquire()
                    if max(gate.next_start, gate.resume_at) > self.clock():  # someone started meanwhile
                        self.global_slots.release()
                        continue
                    break
                gate.next_start = self.clock() + self.interval
                gate.in_flight += 1
                gate.peak = max(gate.peak, gate.in_flight)
                try:
                    yield
                finally:
                    gate.in_flight -= 1
                    self.global_slots.release()
            finally:
                if lane is not None:
                    lane.release()

    def defer(self, host: str, seconds: float) -> None:
        """Make ``host`` wait ``seconds`` before its next request (Retry-After, rate limits)."""
        gate = self._gate(host)
        gate.resume_at = max(gate.resume_at, self.clock() + seconds)

    def mark_slow(self, host: str) -> None:
        """Send ``host`` to the slow lane: from now on one request at a time."""
        self._gate(host).slow = True

    def is_slow(self, host: str) -> bool:
        gate = self.gates.get(host)
        return bool(gate and gate.slow)

    def peak(self, host: str) -> int:
        """Most requests to ``host`` ever in flight at once (for tests and benchmarks)."""
        gate = self.gates.get(host)
        return gate.peak if gate else 0
