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
  editor's network. (Names are resolved and every address checked before the
  request; a name that resolves differently a moment later is not covered.)
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import AsyncIterator, Mapping
from urllib.parse import urljoin, urlsplit

import httpx

from .. import __version__

__all__ = [
    "ClientSettings",
    "Politeness",
    "Fetched",
    "NetError",
    "BlockedAddress",
    "BodyTooLarge",
    "make_client",
    "user_agent",
    "check_address",
    "is_public_address",
    "request",
    "retry_after",
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


def user_agent(base_url: str) -> str:
    return f"Tidings/{__version__} (+{base_url})"


class NetError(Exception):
    """A request that did not produce a response we can use; the message is for the report."""


class BlockedAddress(NetError):
    """The host resolves to an address we refuse to contact."""


class BodyTooLarge(NetError):
    """The response body is larger than the configured cap."""


class Politeness:
    """A global and a per-host cap on requests in flight."""

    def __init__(self, concurrency: int, per_host: int):
        self._global = asyncio.Semaphore(max(1, concurrency))
        self._per_host = max(1, per_host)
        self._hosts: dict[str, asyncio.Semaphore] = {}

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        semaphore = self._hosts.setdefault(host, asyncio.Semaphore(self._per_host))
        async with semaphore:
            async with self._global:
                yield


def make_client(settings: ClientSettings) -> httpx.AsyncClient:
    timeout = httpx.Timeout(connect=settings.connect_timeout, read=settings.read_timeout, write=settings.read_timeout, pool=None)
    limits = httpx.Limits(max_connections=max(settings.concurrency, 1) * 2, max_keepalive_connections=settings.concurrency)
    return httpx.AsyncClient(
        timeout=timeout,
        limits=limits,
        follow_redirects=False,
        trust_env=False,  # no proxies or netrc from the environment: the run is explicit
        headers={"User-Agent": settings.user_agent, "Accept": settings.accept, "Accept-Encoding": "gzip, deflate"},
    )


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
    client: httpx.AsyncClient,
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
        async with politeness.slot(host):  # time spent queueing for a slot is not the server's fault
            try:
                async with asyncio.timeout(settings.total_timeout):
                    status, response_headers, body = await _one(client, current, settings, headers or {}, method, read_body)
            except TimeoutError:
                raise NetError(f"no complete answer within {settings.total_timeout:g}s") from None
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


async def _one(
    client: httpx.AsyncClient, url: str, settings: ClientSettings, headers: Mapping[str, str], method: str, read_body: bool
) -> tuple[int, dict[str, str], bytes]:
    try:
        async with client.stream(method, url, headers=dict(headers)) as response:
            response_headers = {k.lower(): v for k, v in response.headers.items()}
            if not read_body or response.status_code in REDIRECTS or response.status_code == 304:
                return response.status_code, response_headers, b""
            declared = response_headers.get("content-length", "")
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
        when = when.replace(tzinfo=timezone.utc)
    return max(when, now)
