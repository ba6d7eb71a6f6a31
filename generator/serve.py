"""``tidings serve``: preview on 127.0.0.1, rebuilt on every change, reloaded in the browser.

- A watcher (:mod:`generator.watch`) learns from the kernel when the config,
  content, theme or feed settings change, and polls them where it cannot.
- Each change triggers an incremental build into a private preview folder
  (drafts included), so ``public/`` is never touched by previews; parsed
  issues stay in memory between builds, so an edit parses one file and
  renders only the outputs that show it.
- Open pages hold a server-sent-events connection and reload when a build
  finishes. A failed build is shown in the browser, with every problem, in
  place of the stale page, until the next good build.
"""

from __future__ import annotations

import html
import mimetypes
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlsplit

from .build import BuildOptions, BuildReport, build, input_places
from .config import CONFIG_FILE, load_site
from .errors import TidingsError
from .model import Issue
from .watch import InputWatcher

__all__ = ["PreviewServer", "PREVIEW_DIR"]

PREVIEW_DIR = ".tidings/preview"
EVENTS_PATH = "/__tidings/events"

_RELOAD_SCRIPT = """<script>
(() => {
  const seen = %d;
  const source = new EventSource("%s");
  source.onmessage = (event) => { if (Number(event.data) !== seen) location.reload(); };
})();
</script>"""


@dataclass
class _State:
    version: int = 0
    problems: list[str] = field(default_factory=list)
    report: BuildReport | None = None
    changed: threading.Condition = field(default_factory=threading.Condition)


class PreviewServer:
    """The preview: an HTTP server, a watcher thread, and the last build's outcome."""

    def __init__(self, root: Path | str, *, host: str = "127.0.0.1", port: int = 8000, drafts: bool = True,
                 poll_interval: float = 0.1, force_polling: bool = False, log: Callable[[str], None] | None = None):
        self.root = Path(root).resolve()
        self.drafts = drafts
        self.poll_interval = poll_interval  # used where the kernel cannot tell of changes (or force_polling)
        self.force_polling = force_polling
        self.log = log or (lambda message: None)
        self.output = self.root / PREVIEW_DIR
        self.state = _State()
        self._parsed: dict[str, Issue] = {}  # parsed issues by source hash, kept between builds
        self._kept: dict[str, object] = {}  # the build's other caches, kept between builds
        self._stop = threading.Event()
        self.httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self.httpd.daemon_threads = True
        address = self.httpd.server_address
        self.host, self.port = str(address[0]), int(address[1])
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    # -- building

    def rebuild(self) -> None:
        started = time.perf_counter()
        published: list[BuildReport] = []

        def publish(report: BuildReport) -> None:  # the files are in place: open pages may reload now
            published.append(report)
            self._publish(report, [])

        try:
            site = load_site(self.root, overrides={"base_url": self.url})
            options = BuildOptions(drafts=self.drafts, output_dir=self.output, durable=False, workers=1, cleanup="thread", search=False, in_place=True)
            report = build(site, options, memo=self._parsed, kept=self._kept, committed=publish)
            self.log(f"rebuilt in {time.perf_counter() - started:.2f}s: {report.rendered} rendered, {report.written} changed")
            if not published:  # nothing to commit (nothing changed)
                self._publish(report, [])
        except TidingsError as exc:
            problems = [str(p) for p in exc.problems]
            self.log("build failed:\n  " + "\n  ".join(problems))
            self._publish(None, problems)
        except Exception as exc:  # a bug must not kill the preview; show it instead
            problems = [f"internal error: {type(exc).__name__}: {exc}"]
            self.log(problems[0])
            self._publish(None, problems)

    def _publish(self, report: BuildReport | None, problems: list[str]) -> None:
        """A new outcome: open pages reload (to the new site, or to the problems)."""
        with self.state.changed:
            self.state.version += 1
            self.state.problems = problems
            self.state.report = report
            self.state.changed.notify_all()

    def _watch(self) -> None:
        with InputWatcher(self.root, self._places(), poll_interval=self.poll_interval, force_polling=self.force_polling, log=self.log) as watcher:
            while not self._stop.is_set():
                if watcher.wait(0.2) and not self._stop.is_set():
                    self.rebuild()
                    watcher.follow(self._places())

    def _places(self) -> list[Path]:
        """What the build reads, from the config as it is now (an unreadable config: the usual places)."""
        try:
            return input_places(load_site(self.root))
        except TidingsError:
            return [p for p in (self.root / CONFIG_FILE, self.root / "themes", self.root / "content", self.root / "feeds") if p.exists()]

    # -- lifecycle

    def start(self) -> "PreviewServer":
        self.rebuild()
        for target in (self.httpd.serve_forever, self._watch):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        with self.state.changed:
            self.state.changed.notify_all()
        self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> "PreviewServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- HTTP

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "tidings-preview"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = unquote(urlsplit(self.path).path)
                if path == EVENTS_PATH:
                    server._events(self)
                    return
                server._file(self, path)

            def do_HEAD(self) -> None:
                self.do_GET()

        return Handler

    def _events(self, request: BaseHTTPRequestHandler) -> None:
        request.send_response(HTTPStatus.OK)
        request.send_header("Content-Type", "text/event-stream")
        request.send_header("Cache-Control", "no-store")
        request.end_headers()
        sent = -1
        try:
            while not self._stop.is_set():
                with self.state.changed:
                    if self.state.version == sent:
                        self.state.changed.wait(timeout=15)
                    version = self.state.version
                if version != sent:
                    request.wfile.write(f"data: {version}\n\n".encode())
                    sent = version
                else:
                    request.wfile.write(b": keep-alive\n\n")
                request.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return

    def _file(self, request: BaseHTTPRequestHandler, path: str) -> None:
        version = self.state.version
        target = (self.output / path.lstrip("/")).resolve()
        if not str(target).startswith(str(self.output.resolve())):
            request.send_error(HTTPStatus.FORBIDDEN)
            return
        if target.is_dir():
            if not path.endswith("/"):
                request.send_response(HTTPStatus.MOVED_PERMANENTLY)
                request.send_header("Location", path + "/")
                request.end_headers()
                return
            target = target / "index.html"
        is_html = target.suffix == ".html" or not target.suffix
        if self.state.problems and is_html:
            self._send(request, HTTPStatus.INTERNAL_SERVER_ERROR, "text/html; charset=utf-8", self._error_page(version))
            return
        status = HTTPStatus.OK
        if not target.is_file():
            status = HTTPStatus.NOT_FOUND
            target = self.output / "404.html"
            if not target.is_file():
                request.send_error(HTTPStatus.NOT_FOUND)
                return
        data = target.read_bytes()
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if target.suffix == ".html":
            data = data.replace(b"</body>", (_RELOAD_SCRIPT % (version, EVENTS_PATH)).encode() + b"</body>", 1)
            ctype = "text/html; charset=utf-8"
        elif ctype.startswith("text/") or target.suffix in (".xml", ".json"):
            ctype = f"{ctype}; charset=utf-8"
        self._send(request, status, ctype, data)

    def _error_page(self, version: int) -> bytes:
        items = "".join(f"<li><code>{html.escape(p)}</code></li>" for p in self.state.problems)
        page = (
            "<!doctype html><html lang=en><meta charset=utf-8><title>Build failed</title>"
            "<body style='font:16px/1.5 system-ui;max-width:50rem;margin:2rem auto;padding:0 1rem'>"
            f"<h1>The build failed</h1><p>Fix these and save; this page reloads by itself.</p><ul>{items}</ul>"
            f"{_RELOAD_SCRIPT % (version, EVENTS_PATH)}</body></html>"
        )
        return page.encode()

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, ctype: str, data: bytes) -> None:
        request.send_response(status)
        request.send_header("Content-Type", ctype)
        request.send_header("Content-Length", str(len(data)))
        request.send_header("Cache-Control", "no-store")
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(data)
