"""A real HTTP server on 127.0.0.1 for fetch tests: routes are small functions.

Every handler that waits (slow or never-answering responses) waits on the
server's ``closing`` event with a bounded timeout, so stopping the server
always ends them.
"""

from __future__ import annotations

import gzip
import threading
from collections import Counter
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator

Handler = Callable[["Request"], None]


class Request(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        owner = self.server.owner
        path = self.path.split("?", 1)[0]
        owner.hits[path] += 1
        owner.seen.append((path, dict(self.headers.items())))
        handler = owner.routes.get(path)
        if handler is None:
            self.send(404, b"not found", {"Content-Type": "text/plain"})
            return
        try:
            handler(self)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        headers = dict(headers or {})
        headers.setdefault("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if body:
            self.wfile.write(body)

    @property
    def closing(self) -> threading.Event:
        return self.server.owner.closing


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: "FeedServer"


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.hits: Counter[str] = Counter()
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.closing = threading.Event()
        self._server = _Server(("127.0.0.1", 0), Request)
        self._server.owner = self
        self.port = self._server.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, handler: Handler) -> str:
        self.routes[path] = handler
        return self.url(path)

    def static(self, path: str, body: bytes, content_type: str = "application/rss+xml", status: int = 200, headers: dict[str, str] | None = None) -> str:
        extra = {"Content-Type": content_type, **(headers or {})}
        return self.route(path, lambda r: r.send(status, body, extra))

    def feed_with_validators(self, path: str, body: bytes, etag: str = '"v1"', modified: str = "Mon, 06 Oct 2025 08:00:00 GMT") -> str:
        def handler(r: Request) -> None:
            if r.headers.get("If-None-Match") == etag or r.headers.get("If-Modified-Since") == modified:
                r.send(304, b"", {"ETag": etag, "Content-Length": "0"})
            else:
                r.send(200, body, {"Content-Type": "application/rss+xml", "ETag": etag, "Last-Modified": modified})

        return self.route(path, handler)

    def gzipped(self, path: str, body: bytes, content_type: str = "application/rss+xml") -> str:
        data = gzip.compress(body)
        return self.route(path, lambda r: r.send(200, data, {"Content-Type": content_type, "Content-Encoding": "gzip"}))

    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self.closing.set()
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def running() -> Iterator[FeedServer]:
    server = FeedServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def rss(items: list[dict[str, str]], title: str = "Test feed", link: str = "https://feed.example/") -> bytes:
    """A small RSS 2.0 document; item values are inserted as given (already XML-escaped)."""
    parts = [f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title><link>{link}</link>']
    for item in items:
        parts.append("<item>" + "".join(f"<{k}>{v}</{k}>" for k, v in item.items()) + "</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def write_site(root: Path, sources: list[dict[str, object]], **fetch: object) -> Path:
    """A newsletter folder with tidings.yaml (fetch settings for tests) and feeds/feeds.yaml."""
    import yaml

    settings = {"allow_private": True, "connect_timeout": 2.0, "read_timeout": 2.0, "total_timeout": 5.0, **fetch}
    root.mkdir(parents=True, exist_ok=True)
    config = {"title": "Test Weekly", "base_url": "https://test.example/", "fetch": settings}
    (root / "tidings.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    (root / "feeds").mkdir(exist_ok=True)
    (root / "feeds" / "feeds.yaml").write_text(yaml.safe_dump({"sources": sources}, sort_keys=False), encoding="utf-8")
    return root
