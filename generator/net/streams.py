"""TCP (and TLS) streams for httpcore on plain asyncio, without the anyio layer.

Why: httpcore's own asyncio support goes through anyio, whose cancel scopes,
typed-attribute lookups and stream wrappers cost about a third of the CPU of
a small request on the machines Tidings runs on; the link checker makes
hundreds of requests a second from one event loop, so that overhead decided
how many could be kept in flight. This module is the smallest stream httpcore
needs — read, write, close, start TLS, a few extra-info keys — over an
asyncio protocol with a byte buffer, flow control in both directions, and
httpcore's own error types (so httpx maps them as usual).

:func:`open_tcp` connects to one address; deciding *which* addresses may be
contacted is :class:`generator.net.client.GuardedBackend`'s job.
"""

from __future__ import annotations

import asyncio
import ssl
import typing
from collections.abc import Iterable

import httpcore

__all__ = ["AsyncioStream", "open_tcp"]

HIGH_WATER = 256 * 1024  # stop reading from the socket while this much is buffered and unread
CHUNK = 64 * 1024  # bytes received from the socket at a time


class _Protocol(asyncio.BufferedProtocol):
    """Buffers what the transport delivers; wakes the one reader or writer waiting.

    A buffered protocol: the transport receives into our one chunk buffer
    instead of allocating a fresh 256 KB bytes object for every read.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.chunk = memoryview(bytearray(CHUNK))
        self.buffer = bytearray()
        self.eof = False
        self.error: BaseException | None = None
        self.reading_paused = False
        self.readable: asyncio.Future[None] | None = None
        self.writable: asyncio.Future[None] | None = None  # set while the transport asks us to stop writing

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = typing.cast(asyncio.Transport, transport)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.chunk

    def buffer_updated(self, nbytes: int) -> None:
        self.buffer += self.chunk[:nbytes]
        if len(self.buffer) > HIGH_WATER and not self.reading_paused and self.transport is not None:
            self.transport.pause_reading()
            self.reading_paused = True
        self._wake_reader()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake_reader()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        if exc is not None:
            self.error = exc
        self._wake_reader()
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)

    def pause_writing(self) -> None:
        if self.writable is None or self.writable.done():
            self.writable = self.loop.create_future()

    def resume_writing(self) -> None:
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)

    def _wake_reader(self) -> None:
        if self.readable is not None and not self.readable.done():
            self.readable.set_result(None)


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection as httpcore wants it; TLS is started on the same object."""

    def __init__(self, protocol: _Protocol) -> None:
        self.protocol = protocol

    @property
    def transport(self) -> asyncio.Transport:
        assert self.protocol.transport is not None
        return self.protocol.transport

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        p = self.protocol
        if not p.buffer and not p.eof:
            try:
                async with asyncio.timeout(timeout):
                    while not p.buffer and not p.eof:
                        p.readable = p.loop.create_future()
                        await p.readable
            except TimeoutError:
                raise httpcore.ReadTimeout(f"no data within {timeout:g} s") from None
            finally:
                p.readable = None
        if p.buffer:
            data = bytes(p.buffer[:max_bytes])
            del p.buffer[:max_bytes]
            if p.reading_paused and len(p.buffer) <= HIGH_WATER // 2 and not self.transport.is_closing():
                p.reading_paused = False
                self.transport.resume_reading()
            return data
        if p.error is not None:
            raise httpcore.ReadError(str(p.error) or type(p.error).__name__)
        return b""  # the peer closed the connection

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        p = self.protocol
        if p.error is not None or self.transport.is_closing():
            raise httpcore.WriteError(str(p.error or "connection closed"))
        self.transport.write(buffer)
        if p.writable is not None and not p.writable.done():
            try:
                async with asyncio.timeout(timeout):
                    await p.writable
            except TimeoutError:
                raise httpcore.WriteTimeout(f"could not send within {timeout:g} s") from None
            if p.error is not None:
                raise httpcore.WriteError(str(p.error))

    async def aclose(self) -> None:
        if self.protocol.transport is not None:
            self.protocol.transport.close()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        p = self.protocol
        try:
            async with asyncio.timeout(timeout):
                tls = await p.loop.start_tls(self.transport, p, ssl_context, server_hostname=server_hostname)
        except TimeoutError:
            self.transport.abort()
            raise httpcore.ConnectTimeout(f"TLS handshake took longer than {timeout:g} s") from None
        except (OSError, ssl.SSLError) as exc:
            self.transport.abort()
            raise httpcore.ConnectError(str(exc)) from exc
        except BaseException:  # cancelled mid-handshake: the socket goes too
            self.transport.abort()
            raise
        assert tls is not None
        p.transport = tls
        return self

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "is_readable":  # httpcore asks this of idle connections: readable means closed by the peer
            p = self.protocol
            return p.eof or bool(p.buffer) or self.transport.is_closing()
        key = {"ssl_object": "ssl_object", "server_addr": "peername", "client_addr": "sockname", "socket": "socket"}.get(info)
        return self.transport.get_extra_info(key) if key else None


async def open_tcp(
    ip: str,
    port: int,
    *,
    timeout: float | None = None,
    local_address: str | None = None,
    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
) -> AsyncioStream:
    """Connect to ``ip``:``port``; httpcore's ConnectError/ConnectTimeout on failure."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            _, protocol = await loop.create_connection(
                lambda: _Protocol(loop), ip, port, local_addr=(local_address, 0) if local_address else None
            )
    except TimeoutError:
        raise httpcore.ConnectTimeout(f"connecting to {ip}:{port} took longer than {timeout:g} s") from None
    except OSError as exc:
        raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
    stream = AsyncioStream(protocol)
    sock = stream.transport.get_extra_info("socket")
    for option in socket_options or ():
        sock.setsockopt(*option)
    return stream
