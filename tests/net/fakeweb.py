"""A small real HTTP/1.1 server on 127.0.0.1 that plays many web hosts badly and well.

Used by the link-checker tests and by bench/bench_check.py. Hosts are told
apart by the Host header (tests map names like ``h1.test`` to this server with
a resolver) or by the loopback address they connect to (127.0.0.2, …, for the
benchmark, so other tools see distinct hosts too). The server counts every
request per host and path and the most requests ever in flight per host, so
tests can assert politeness from the server's side.

Behaviour by path (any host):
  /ok…[/...]         200 HTML page (any first segment starting with "ok") with ids "intro", "details" and <a name="legacy">
  /plain             200 text/plain
  /status/<code>     that status
  /perm/<n>          301 chain of n hops to /ok;   /temp/<n> the same with 302
  /mixed             301 to /temp/1
  /cross/<host>      301 to http://<host>/ok
  /loop/a, /loop/b   302 to each other
  /flaky/<name>      500 the first time (per host and path), then 200
  /limited/<name>    429 Retry-After: 1 the first time, then 200 (?date=1: HTTP-date form; ?after=N)
  /nohead            405 to HEAD, 200 to GET
  /slow?ms=N         answers after N ms
  /hang              never answers (until the server stops)
  /huge              200 text/html, a 50 MB body, streamed
  /bot               403 with Cloudflare challenge headers
  /forbidden         plain 403
  /999               status 999
  /__stats           JSON counters (not counted, no latency)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import formatdate
from urllib.parse import parse_qs

HUGE = 50 * 1024 * 1024
_REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            410: "Gone", 429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable", 999: "Request denied"}

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<title>Page {path} on {host}</title>
<meta name="description" content="A test page &amp; its description.">
<link rel="canonical" href="/canonical{path}">
<meta property="og:image" content="/img.png">
</head><body><h1>Hello</h1><h2 id="intro">Intro</h2><p id='details'>x</p><a name="legacy"></a></body></html>
"""


class FakeWeb:
    """The server state; start with :func:`running` (a thread) or :func:`serve_forever` (a process)."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.requests: Counter[tuple[str, str, str]] = Counter()  # (host, method, path)
        self.in_flight: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.total_in_flight = 0
        self.peak_total = 0  # most requests in flight at once over all hosts
        self.huge_bytes_sent = 0
        self.headers: dict[tuple[str, str], dict[str, str]] = {}  # (host, path) -> last request's headers
        self.port = 0
        self.stop_event: asyncio.Event | None = None

    # -- counters

    def count(self, host: str | None = None) -> int:
        return sum(n for (h, _, _), n in self.requests.items() if host is None or h == host)

    def hits(self, host: str, path: str, method: str | None = None) -> int:
        return sum(n for (h, m, p), n in self.requests.items() if h == host and p == path and (method is None or m == method))

    def reset(self) -> None:
        self.requests.clear()
        self.peak.clear()
        self.peak_total = 0
        self.huge_bytes_sent = 0

    def stats(self) -> dict[str, object]:
        return {"requests": self.count(), "peak": dict(self.peak), "peak_total": self.peak_total, "per_host": dict(Counter(h for (h, _, _) in self.requests.elements()))}

    # -- serving

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        local = writer.get_extra_info("sockname")[0]
        try:
            while True:
                try:  # the whole head at once: one wait per request, not one per line
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return  # the client hung up (between requests, or mid-head)
                request_line, *lines = head.decode("latin-1").split("\r\n")
                method, target, _version = request_line.split(" ", 2)
                headers: dict[str, str] = {}
                for h in lines:
                    if h:
                        name, _, value = h.partition(":")
                        headers[name.strip().lower()] = value.strip()
                if int(headers.get("content-length", "0") or 0):
                    await reader.readexactly(int(headers["content-length"]))
                host = headers.get("host", local).rsplit(":", 1)[0] if not headers.get("host", "").startswith("[") else headers["host"]
                path, _, query = target.partition("?")
                self.headers[(host, path)] = headers
                keep = await self.respond(reader, writer, method, path, query, host)
                if not keep or headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, asyncio.CancelledError):
            return  # client went away, bad request, or the server is stopping
        finally:
            with contextlib.suppress(OSError, RuntimeError):  # already closed, or the loop is stopping
                writer.close()

    async def respond(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, method: str, path: str, raw_query: str, host: str) -> bool:
        path = path.partition("#")[0]
        query = {k: v[0] for k, v in parse_qs(raw_query).items()} if raw_query else {}
        if path == "/__stats":
            body = json.dumps(self.stats()).encode()
            await self.send(writer, method, 200, {"content-type": "application/json"}, body)
            return True
        if path == "/__reset":
            self.reset()
            await self.send(writer, method, 200, {}, b"ok")
            return True
        self.requests[(host, method, path)] += 1
        self.in_flight[host] += 1
        self.peak[host] = max(self.peak[host], self.in_flight[host])
        self.total_in_flight += 1
        self.peak_total = max(self.peak_total, self.total_in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            return await self.route(reader, writer, method, path, query, host)
        finally:
            self.in_flight[host] -= 1
            self.total_in_flight -= 1

    async def route(self, reader: asyncio.StreamReader, w: asyncio.StreamWriter, method: str, path: str, q: dict[str, str], host: str) -> bool:
        html = {"content-type": "text/html; charset=utf-8"}
        seg = path.strip("/").split("/")
        first_time = self.requests[(host, "GET", path)] + self.requests[(host, "HEAD", path)] == 1
        if seg[0].startswith("ok") or path == "/":
            return await self.send(w, method, 200, html, PAGE.format(path=path, host=host).encode())
        if seg[0] == "plain":
            return await self.send(w, method, 200, {"content-type": "text/plain"}, b"plain text")
        if seg[0] == "status" and len(seg) == 2:
            return await self.send(w, method, int(seg[1]), html, b"<p>status</p>")
        if seg[0] in ("perm", "temp") and len(seg) == 2:
            n = int(seg[1])
            code = 301 if seg[0] == "perm" else 302
            location = "/ok" if n <= 1 else f"/{seg[0]}/{n - 1}"
            return await self.send(w, method, code, {"location": location}, b"")
        if seg[0] == "mixed":
            return await self.send(w, method, 301, {"location": "/temp/1"}, b"")
        if seg[0] == "cross" and len(seg) == 2:
            return await self.send(w, method, 301, {"location": f"http://{seg[1]}/ok"}, b"")
        if seg[0] == "loop":
            other = "/loop/b" if path == "/loop/a" else "/loop/a"
            return await self.send(w, method, 302, {"location": other}, b"")
        if seg[0] == "flaky":
            if first_time:
                return await self.send(w, method, 500, html, b"oops")
            return await self.send(w, method, 200, html, PAGE.format(path=path, host=host).encode())
        if seg[0] == "limited":
            if first_time:
                after = float(q.get("after", "1"))
                value = formatdate(time.time() + after, usegmt=True) if q.get("date") else f"{after:g}"
                return await self.send(w, method, 429, {"retry-after": value}, b"slow down")
            return await self.send(w, method, 200, html, PAGE.format(path=path, host=host).encode())
        if seg[0] == "nohead":
            if method == "HEAD":
                return await self.send(w, method, 405, {"allow": "GET"}, b"")
            return await self.send(w, method, 200, html, PAGE.format(path=path, host=host).encode())
        if seg[0] == "slow":
            await asyncio.sleep(int(q.get("ms", "500")) / 1000)
            return await self.send(w, method, 200, html, PAGE.format(path=path, host=host).encode())
        if seg[0] == "hang":
            assert self.stop_event is not None
            # wait for the server to stop or the client to hang up, at most a minute
            waits = [asyncio.ensure_future(self.stop_event.wait()), asyncio.ensure_future(reader.read(1))]
            _, pending = await asyncio.wait(waits, timeout=60, return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            return False
        if seg[0] == "huge":
            return await self.send_huge(w, method)
        if seg[0] == "bot":
            headers = {"cf-mitigated": "challenge", "server": "cloudflare", "cf-ray": "8f00-TEST", **html}
            return await self.send(w, method, 403, headers, b"<title>Just a moment...</title>")
        if seg[0] == "forbidden":
            return await self.send(w, method, 403, html, b"<p>no</p>")
        if seg[0] == "999":
            return await self.send(w, method, 999, html, b"")
        return await self.send(w, method, 404, html, b"<p>not here</p>")

    async def send(self, w: asyncio.StreamWriter, method: str, code: int, headers: dict[str, str], body: bytes) -> bool:
        head = [f"HTTP/1.1 {code} {_REASONS.get(code, 'Status')}", f"content-length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        w.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        if method != "HEAD":
            w.write(body)
        await w.drain()
        return True

    async def send_huge(self, w: asyncio.StreamWriter, method: str) -> bool:
        w.write(f"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {HUGE}\r\n\r\n".encode())
        if method == "HEAD":
            await w.drain()
            return True
        chunk = b"<p>" + b"x" * 65_530 + b"</p>"
        sent = 0
        w.write(b"<html><body>")
        while sent < HUGE - 12:
            piece = chunk[: min(len(chunk), HUGE - 12 - sent)]
            w.write(piece)
            sent += len(piece)
            self.huge_bytes_sent += len(piece)
            await w.drain()  # raises once the client hung up
        return True


async def _serve(web: FakeWeb, addresses: list[str], port: int, ready: threading.Event | None) -> None:
    web.stop_event = asyncio.Event()
    servers = []
    for address in addresses:
        servers.append(await asyncio.start_server(web.handle, address, port, backlog=1024))
        if not port:
            port = servers[0].sockets[0].getsockname()[1]
    web.port = port
    if ready is not None:
        ready.set()
    try:
        await web.stop_event.wait()
    finally:
        for server in servers:
            server.close()
        await asyncio.sleep(0.05)  # let hanging handlers see the stop event


@contextmanager
def running(latency: float = 0.0, addresses: tuple[str, ...] = ("127.0.0.1",)) -> Iterator[FakeWeb]:
    """Run a FakeWeb in a background thread; it stops when the block ends (even on errors)."""
    web = FakeWeb(latency)
    ready = threading.Event()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=lambda: loop.run_until_complete(_serve(web, list(addresses), 0, ready)), daemon=True)
    thread.start()
    try:
        if not ready.wait(10):
            raise RuntimeError("fake web server did not start")
        yield web
    finally:
        if web.stop_event is not None:
            loop.call_soon_threadsafe(web.stop_event.set)
        thread.join(10)
        if not thread.is_alive():
            loop.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:  # python -m tests.net.fakeweb --hosts 100 --latency 0.05
    import argparse
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=1)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=300, help="stop by itself after this long")
    args = parser.parse_args()
    web = FakeWeb(args.latency)
    addresses = [f"127.0.0.{i}" for i in range(1, args.hosts + 1)]
    port = args.port or free_port()

    async def run() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.create_task(_serve(web, addresses, port, None))
        while web.stop_event is None or not web.port:
            await asyncio.sleep(0.01)
        print(web.port, flush=True)
        stop = web.stop_event

        def watch_stdin() -> None:  # the parent closes our stdin to stop us
            sys.stdin.read()
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=watch_stdin, daemon=True).start()
        loop.call_later(args.seconds, stop.set)
        await task

    asyncio.run(run())


if __name__ == "__main__":
    main()
