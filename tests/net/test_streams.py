"""The asyncio streams under httpcore: TLS, large bodies, closed idle connections, timeouts."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpcore
import pytest

from generator.net.client import GuardedBackend

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def serving(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=tls)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await asyncio.wait_for(server.wait_closed(), 5)


async def read_request(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


def pool(ssl_context: ssl.SSLContext | None = None) -> httpcore.AsyncConnectionPool:
    return httpcore.AsyncConnectionPool(ssl_context=ssl_context, network_backend=GuardedBackend(allow_private=True))


def test_large_body_arrives_whole_with_flow_control() -> None:
    body = bytes(range(256)) * (20 * 1024)  # 5 MB, far over the read buffer's high-water mark

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        writer.close()

    async def scenario() -> tuple[int, str]:
        async with serving(handler) as port, pool() as http:
            response = await http.request("GET", f"http://127.0.0.1:{port}/big", extensions={"timeout": {"read": 5}})
            return response.status, hashlib.sha256(response.content).hexdigest()

    status, digest = asyncio.run(scenario())
    assert status == 200
    assert digest == hashlib.sha256(body).hexdigest()


def test_an_idle_connection_closed_by_the_server_is_not_reused() -> None:
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")  # keep-alive promised…
        await writer.drain()
        writer.close()  # …and broken

    async def scenario() -> list[int]:
        async with serving(handler) as port, pool() as http:
            first = await http.request("GET", f"http://127.0.0.1:{port}/a")
            await asyncio.sleep(0.1)  # the close reaches the client
            second = await http.request("GET", f"http://127.0.0.1:{port}/b")
            return [first.status, second.status]

    assert asyncio.run(scenario()) == [200, 200]
    assert connections == 2


def test_read_timeout_and_refused_connection_raise_httpcore_errors() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(5)
        writer.close()

    async def scenario() -> None:
        async with serving(silent) as port, pool() as http:
            with pytest.raises(httpcore.ReadTimeout):
                await http.request("GET", f"http://127.0.0.1:{port}/", extensions={"timeout": {"read": 0.2}})
        with pytest.raises(httpcore.ConnectError):  # the server is gone now
            async with pool() as http:
                await http.request("GET", f"http://127.0.0.1:{port}/")

    asyncio.run(scenario())


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


def test_tls_is_verified_against_the_host_name(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    trusting = ssl.create_default_context(cafile=str(cert))
    untrusting = ssl.create_default_context()  # the system's CAs only: they never signed our certificate

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsecret")
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def resolve(host: str, port: int) -> list[tuple[str, int]]:
        return [("127.0.0.1", port)]  # "localhost" is asked for by name: the certificate is checked against it

    async def scenario() -> bytes:
        async with serving(handler, server_tls) as port:
            backend = GuardedBackend(resolve, allow_private=True)
            async with httpcore.AsyncConnectionPool(ssl_context=untrusting, network_backend=backend) as http:
                with pytest.raises(httpcore.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                    await http.request("GET", f"https://localhost:{port}/")
            async with httpcore.AsyncConnectionPool(ssl_context=trusting, network_backend=backend) as http:
                response = await http.request("GET", f"https://localhost:{port}/", extensions={"timeout": {"read": 5, "connect": 5}})
                return response.content

    assert asyncio.run(scenario()) == b"secret"
