"""A static server for a built site that behaves like Netlify in the ways pages can notice.

It sends the ``[[headers]]`` of ``netlify.toml`` (later rules win, as on
Netlify), follows the build's ``_redirects``, and answers unknown paths with
``404.html`` and status 404. Used by the browser tests and by
``bench/lighthouse.py``; it only ever listens on 127.0.0.1 and stops when its
``with`` block ends.
"""

from __future__ import annotations

import functools
import http.server
import re
import threading
import tomllib
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

__all__ = ["serve_like_netlify", "netlify_rules", "read_redirects"]


def netlify_rules(path: Path) -> list[tuple[re.Pattern[str], dict[str, str]]]:
    """[[headers]] of netlify.toml as (path regex, headers), in file order."""
    config = tomllib.loads(path.read_text(encoding="utf-8"))
    rules = []
    for rule in config.get("headers", []):
        pattern = "^" + ".*".join(re.escape(part) for part in rule["for"].split("*")) + "$"
        rules.append((re.compile(pattern), dict(rule["values"])))
    return rules


def read_redirects(public: Path) -> dict[str, tuple[str, int]]:
    """``_redirects`` as {from path without trailing slash: (to, status)}."""
    rules: dict[str, tuple[str, int]] = {}
    file = public / "_redirects"
    if file.is_file():
        for line in file.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) == 3 and not line.startswith("#"):
                rules[parts[0].rstrip("/") or "/"] = (parts[1], int(parts[2]))
    return rules


class _Handler(http.server.SimpleHTTPRequestHandler):
    rules: list[tuple[re.Pattern[str], dict[str, str]]] = []
    redirects: dict[str, tuple[str, int]] = {}
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript", ".svg": "image/svg+xml"}

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def end_headers(self) -> None:
        path = self.path.split("?", 1)[0]
        merged: dict[str, str] = {}
        for pattern, values in self.rules:
            if pattern.match(path):
                merged.update(values)
        for name, value in merged.items():
            self.send_header(name, value)
        super().end_headers()

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        target = self.redirects.get(path.rstrip("/") or "/")
        if target:
            self.send_response(target[1])
            self.send_header("Location", target[0])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if not Path(self.translate_path(path)).exists():
            body = (Path(self.directory) / "404.html").read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()


@contextmanager
def serve_like_netlify(public: Path, netlify_toml: Path) -> Iterator[str]:
    """Serve ``public`` at http://127.0.0.1:PORT for the duration of the block."""
    handler = type("Handler", (_Handler,), {"rules": netlify_rules(netlify_toml), "redirects": read_redirects(public)})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(public)))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)
