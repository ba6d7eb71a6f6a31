"""Connections per host: kept alive, replaced when dropped, closed when a host is let go; TLS and gzip."""

from __future__ import annotations

import asyncio
import gzip
import ssl
from pathlib import Path

import httpx
import pytest

from generator.net.client import ClientSettings
from generator.net.hosts import HostClients

from .test_streams import certificate, read_request, serving  # noqa: F401 (certificate is a fixture)

SETTINGS = ClientSettings(user_agent="tidings-test", allow_private=True, per_host=2, connect_timeout=5, read_timeout=5)


class Counting:
    """A tiny HTTP/1.1 server: counts connections and closes each after ``keep`` requests (keep-alive promised)."""

    def __init__(self, keep: int = 100, body: bytes = b"hello", headers: str = "") -> None:
        self.keep, self.body, self.headers = keep, body, headers
        self.connections = 0
        self.open = 0
        self.requests: list[bytes] = []

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open += 1
        try:
            for _ in range(self.keep):
                head = await read_request(reader)
                self.requests.append(head)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%s\r\n" % (len(self.body), self.headers.encode()) + self.body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open -= 1
            writer.close()


async def get(clients: HostClients, url: str) -> bytes:
    client = await clients.client(url)
    response = await client.send("GET", url)
    try:
        return await response.aread()
    finally:
        await response.aclose()


def test_a_host_keeps_its_connection_and_replaces_one_the_server_dropped() -> None:
    server = Counting(keep=3)

    async def scenario() -> list[bytes]:
        async with serving(server) as port, HostClients(SETTINGS) as clients:
            bodies = []
            for n in range(5):
                bodies.append(await get(clients, f"http://127.0.0.1:{port}/{n}"))
                await asyncio.sleep(0.05)  # the server's close arrives before the next request
            return bodies

    assert asyncio.run(scenario()) == [b"hello"] * 5
    assert server.connections == 2  # three requests on the first, then a new one after the server closed it
    first = server.requests[0].decode()
    assert first.startswith("GET /0 HTTP/1.1\r\n")
    assert "Host: 127.0.0.1:" in first and "User-Agent: tidings-test" in first and "Accept-Encoding: gzip, deflate" in first


def test_extra_headers_replace_the_hosts_own_and_gzip_is_decoded() -> None:
    server = Counting(body=gzip.compress(b"<rss/>" * 100), headers="content-encoding: gzip\r\n")

    async def scenario() -> bytes:
        async with serving(server) as port, HostClients(SETTINGS) as clients:
            client = await clients.client(f"http://127.0.0.1:{port}/feed")
            response = await client.send("GET", f"http://127.0.0.1:{port}/feed", {"accept": "application/rss+xml", "If-None-Match": '"v1"'})
            try:
                return await response.aread()
            finally:
                await response.aclose()

    assert asyncio.run(scenario()) == b"<rss/>" * 100
    head = server.requests[0].decode().lower()
    assert head.count("accept:") == 1 and "accept: application/rss+xml" in head and 'if-none-match: "v1"' in head


def test_letting_go_of_hosts_closes_their_idle_connections() -> None:
    servers = [Counting() for _ in range(3)]

    async def scenario() -> list[int]:
        async with serving(servers[0]) as a, serving(servers[1]) as b, serving(servers[2]) as c, HostClients(SETTINGS, max_hosts=2) as clients:
            for port in (a, b, c):  # the third host pushes out the least recently used one
                await get(clients, f"http://127.0.0.1:{port}/")
            await asyncio.sleep(0.1)
            still_open = [s.open for s in servers]
            await clients.done_with(f"127.0.0.1:{b}")
            await asyncio.sleep(0.1)
            return still_open + [s.open for s in servers]

    assert asyncio.run(scenario()) == [0, 1, 1, 0, 0, 1]


def test_a_url_of_another_host_or_unreadable_is_refused() -> None:
    async def scenario() -> None:
        async with HostClients(SETTINGS) as clients:
            client = await clients.client("http://127.0.0.1:9/")
            with pytest.raises(httpx.InvalidURL):
                await client.send("GET", "http://127.0.0.2:9/")
            with pytest.raises(httpx.InvalidURL):
                await clients.client("http://127.0.0.1:99999/")

    asyncio.run(scenario())


def test_https_verifies_the_certificate_for_the_host_name(certificate: tuple[Path, Path]) -> None:  # noqa: F811
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    server = Counting(body=b"secret")

    async def resolve(host: str, port: int) -> list[tuple[str, int]]:
        return [("127.0.0.1", port)]

    async def scenario() -> bytes:
        async with serving(server, server_tls) as port:
            async with HostClients(SETTINGS, resolver=resolve) as clients:  # the system's CAs: our certificate is unknown
                with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                    await get(clients, f"https://localhost:{port}/")
            async with HostClients(SETTINGS, resolver=resolve) as clients:
                clients.ssl_context.load_verify_locations(cafile=str(cert))
                return await get(clients, f"https://localhost:{port}/")

    assert asyncio.run(scenario()) == b"secret"


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/ok/1?x=1#frag", "http://127.0.0.1:8080", "http://127.0.0.1:8080?q=1", "http://127.0.0.1:8080#top",
     "HTTP://127.0.0.1:8080/Up", "http://127.0.0.1:8080/caf%C3%A9 au lait", "http://127.0.0.1:8080/ünï"],
)
def test_a_hosts_own_urls_take_the_short_way_to_the_same_request_target(url: str) -> None:
    async def scenario() -> tuple[bytes, bytes]:
        async with HostClients(SETTINGS) as clients:
            client = await clients.client("http://127.0.0.1:8080/")
            short = client._target(url)
            full = httpx.URL(url)
            assert short.origin == client.origin
            return short.target, full.raw_path

    short, full = asyncio.run(scenario())
    assert short == full
