"""Connections per host: each host's idle HTTP/1.1 connections, kept for its next request.

Why not httpx's client and httpcore's connection pool: those are built for
many tasks sharing connections to any origin, with locks, events, a request
queue and a scan of every pooled connection per request. Here
:class:`~generator.net.client.Politeness` already lets at most a few requests
run per host at a time, so a host needs only a stack of idle connections:
take one (or connect), send, put it back when the response is closed. On the
link-check benchmark that is 40 % less CPU per request than the pool, which
decided how many requests one event loop keeps in flight.

HTTP itself is still httpcore's (h11 underneath): its HTTP/1.1 connection
object speaks the protocol, keeps the connection alive or closes it, and
notices a connection the server dropped. Responses come back as
:class:`httpx.Response` objects — decompression and httpx's error types
included — so callers read them as usual and must close them.

Connections are made by :class:`~generator.net.client.GuardedBackend`, so the
address rules hold for every connection, redirects included.
"""

from __future__ import annotations

import re
import ssl
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpcore
import httpx

from .client import ClientSettings, GuardedBackend, Resolver, headers_for, host_key

__all__ = ["HostClient", "HostClients"]

KEEPALIVE_SECONDS = 10.0

# httpcore's errors as httpx's (the same names; httpx's own mapping is private)
_ERRORS: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.TimeoutException, httpx.TimeoutException),
)


# A URL of these characters only goes to httpcore as it is; any other is normalised by httpx.URL first
# (IDNA host names, percent-encoding), as the httpx client would.
_PLAIN_URL = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+")


def _core_url(url: str) -> httpcore.URL:
    if _PLAIN_URL.fullmatch(url):
        return httpcore.URL(url)
    parsed = httpx.URL(url)
    return httpcore.URL(scheme=parsed.raw_scheme, host=parsed.raw_host, port=parsed.port, target=parsed.raw_path)


def _as_httpx(exc: Exception) -> Exception:
    for theirs, ours in _ERRORS:
        if isinstance(exc, theirs):
            return ours(str(exc) or type(exc).__name__)
    return exc


class _Body(httpx.AsyncByteStream):
    """A response body; closing it hands the connection back to its host (or closes it)."""

    def __init__(self, response: httpcore.Response, connection: httpcore.AsyncHTTP11Connection, owner: HostClient) -> None:
        self.response = response
        self.connection = connection
        self.owner = owner
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.response.aiter_stream():
                yield chunk
        except httpcore.TimeoutException as exc:
            raise _as_httpx(exc) from None
        except httpcore.NetworkError as exc:
            raise _as_httpx(exc) from None
        except httpcore.ProtocolError as exc:
            raise _as_httpx(exc) from None

    async def aclose(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            await self.response.aclose()  # a fully read response leaves the connection idle, else it is closed
        finally:
            await self.owner.release(self.connection)


class HostClient:
    """Requests to one host over one scheme (see the module docstring)."""

    def __init__(self, origin: httpcore.Origin, backend: GuardedBackend, ssl_context: ssl.SSLContext | None, headers: dict[str, str], settings: ClientSettings) -> None:
        self.origin = origin
        self.backend = backend
        self.ssl_context = ssl_context
        self.settings = settings
        host = origin.host.decode("ascii")
        default = 443 if origin.scheme == b"https" else 80
        name = f"[{host}]" if ":" in host else host
        self.host_header = name if origin.port in (None, default) else f"{name}:{origin.port}"
        self.prefix = f"{origin.scheme.decode('ascii')}://{self.host_header}"  # how this host's URLs usually begin
        self.headers = [(b"Host", self.host_header.encode("ascii"))] + [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        self.timeouts: dict[str, float | None] = {"connect": settings.connect_timeout, "read": settings.read_timeout, "write": settings.read_timeout, "pool": None}
        self.idle: list[httpcore.AsyncHTTP11Connection] = []
        self.max_idle = max(1, settings.per_host)
        self.closed = False  # dropped by its HostClients: connections are no longer kept

    async def send(self, method: str, url: str, headers: Mapping[str, str] | None = None) -> httpx.Response:
        """Send (``headers`` added to the host's) and return the response, body unread: the caller reads and closes it."""
        fields = self.headers
        if headers:
            extra = {k.lower() for k in headers}
            fields = [(k, v) for k, v in fields if k.decode("latin-1").lower() not in extra]
            fields += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        target = self._target(url)
        request = httpcore.Request(method, target, headers=fields, extensions={"timeout": self.timeouts})
        try:
            connection = await self._connection()
            try:
                response = await connection.handle_async_request(request)
            except BaseException:
                await connection.aclose()
                raise
        except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
            raise _as_httpx(exc) from None
        return httpx.Response(response.status, headers=response.headers, stream=_Body(response, connection, self), extensions=response.extensions)

    def _target(self, url: str) -> httpcore.URL:
        """``url`` for httpcore; one that starts as this host's own usual prefix needs no full parse."""
        rest = url[len(self.prefix) :]
        if url.startswith(self.prefix) and rest[:1] in ("/", "?", "#", "") and _PLAIN_URL.fullmatch(url):
            path = rest.partition("#")[0]
            path = path if path.startswith("/") else "/" + path
            return httpcore.URL(scheme=self.origin.scheme, host=self.origin.host, port=self.origin.port, target=path.encode("ascii"))
        try:
            target = _core_url(url)
        except (ValueError, UnicodeError, httpx.InvalidURL) as exc:
            raise httpx.InvalidURL(f"malformed URL {url!r}: {exc}") from None
        if target.origin != self.origin:
            raise httpx.InvalidURL(f"{url} is not on {self.host_header}")
        return target

    async def _connection(self) -> httpcore.AsyncHTTP11Connection:
        while self.idle:
            connection = self.idle.pop()
            if connection.is_available() and not connection.has_expired():
                return connection
            await connection.aclose()
        host = self.origin.host.decode("ascii")
        stream: Any = await self.backend.connect_tcp(host, self.origin.port or 80, timeout=self.settings.connect_timeout)
        if self.origin.scheme == b"https":
            assert self.ssl_context is not None
            stream = await stream.start_tls(self.ssl_context, server_hostname=host, timeout=self.settings.connect_timeout)
        return httpcore.AsyncHTTP11Connection(self.origin, stream, keepalive_expiry=KEEPALIVE_SECONDS)

    async def release(self, connection: httpcore.AsyncHTTP11Connection) -> None:
        if connection.is_available() and len(self.idle) < self.max_idle and not self.closed:
            self.idle.append(connection)
        else:
            await connection.aclose()

    async def aclose(self) -> None:
        """Close the idle connections; one still in use closes when its response does."""
        self.closed = True
        idle, self.idle = self.idle, []
        for connection in idle:
            await connection.aclose()


class HostClients:
    """One :class:`HostClient` per host and scheme, all sharing one TLS context and address guard.

    At most ``max_hosts`` hosts keep idle connections; those of the least
    recently used host are closed when one more is needed. Plain-HTTP hosts never load the CA bundle (that
    alone takes tens of milliseconds).
    """

    def __init__(self, settings: ClientSettings, *, resolver: Resolver | None = None, max_hosts: int = 64) -> None:
        self.settings = settings
        self.max_hosts = max_hosts
        self.backend = GuardedBackend(resolver, allow_private=settings.allow_private)
        self._ssl_context: ssl.SSLContext | None = None
        self.base_headers = {"User-Agent": settings.user_agent, "Accept": settings.accept, "Accept-Encoding": "gzip, deflate"}
        self.clients: OrderedDict[tuple[str, bool], HostClient] = OrderedDict()  # (host key, https) -> client

    @property
    def ssl_context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            context = httpx.create_ssl_context(trust_env=False)
            context.set_alpn_protocols(["http/1.1"])
            self._ssl_context = context
        return self._ssl_context

    async def client(self, url: str, host: str | None = None) -> HostClient:
        """The client for ``url``'s host and scheme; ``host`` is its :func:`host_key` when the caller has it."""
        host = host or host_key(url)
        key = (host, url[:6].lower() == "https:")
        client = self.clients.get(key)
        if client is not None:
            self.clients.move_to_end(key)
            return client
        try:
            origin = _core_url(url).origin
        except (ValueError, UnicodeError, httpx.InvalidURL) as exc:
            raise httpx.InvalidURL(f"malformed URL {url!r}: {exc}") from None
        https = origin.scheme == b"https"
        headers = {**self.base_headers, **headers_for(self.settings, host)}
        client = self.clients[key] = HostClient(origin, self.backend, self.ssl_context if https else None, headers, self.settings)
        while len(self.clients) > self.max_hosts:  # the least recently used host's idle connections go
            await self.clients.popitem(last=False)[1].aclose()
        return client

    async def done_with(self, host: str) -> None:
        """Close ``host``'s idle connections now that no more requests to it are planned."""
        for key in ((host, False), (host, True)):
            if key in self.clients:
                await self.clients.pop(key).aclose()

    async def aclose(self) -> None:
        clients = list(self.clients.values())
        self.clients.clear()
        for client in clients:
            await client.aclose()

    async def __aenter__(self) -> HostClients:  # noqa: PYI034 (a final class in practice)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
