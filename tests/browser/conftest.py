"""Real-browser fixtures: the example site built once, served on 127.0.0.1 like Netlify would.

The server applies the headers of the repository's ``netlify.toml`` (so the
Content-Security-Policy is exercised by every page load), follows the
build's ``_redirects`` and answers unknown paths with ``404.html`` and status
404. Chromium is Debian's, driven by Playwright; it is never downloaded. If it
is missing the tests fail and say how to install it: nothing is skipped.
"""

from __future__ import annotations

import functools
import http.server
import re
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest

from generator.build import BuildOptions, build, load_content
from generator.config import Site, load_site
from generator.content.archive import Archive, build_archive

REPO = Path(__file__).resolve().parents[2]
FIXTURE_SITE = REPO / "tests" / "fixtures" / "site"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = REPO / "test-output" / "screenshots"


def example_root() -> Path:
    """The repository's own newsletter when it has issues, else the small fixture site."""
    issues = REPO / "content" / "issues"
    if (REPO / "tidings.yaml").is_file() and issues.is_dir() and any(issues.glob("*.md")):
        return REPO
    return FIXTURE_SITE


@dataclass
class BuiltSite:
    site: Site
    archive: Archive
    public: Path


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> BuiltSite:
    site = load_site(example_root())
    public = tmp_path_factory.mktemp("browser") / "public"
    build(site, BuildOptions(output_dir=public, durable=False))
    content = load_content(site)
    from datetime import datetime

    archive = build_archive(content.issues, include_drafts=False, now=datetime.now().astimezone())
    return BuiltSite(site, archive, public)


# ---------------------------------------------------------------- the server


def netlify_rules(path: Path = REPO / "netlify.toml") -> list[tuple[re.Pattern[str], dict[str, str]]]:
    """[[headers]] of netlify.toml as (path regex, headers); later rules win, as on Netlify."""
    config = tomllib.loads(path.read_text(encoding="utf-8"))
    rules = []
    for rule in config.get("headers", []):
        pattern = "^" + ".*".join(re.escape(part) for part in rule["for"].split("*")) + "$"
        rules.append((re.compile(pattern), dict(rule["values"])))
    return rules


def read_redirects(public: Path) -> dict[str, tuple[str, int]]:
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
        local = Path(self.translate_path(path))
        if not local.exists() and not path.endswith("/index.html"):
            body = (Path(self.directory) / "404.html").read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()


@pytest.fixture(scope="session")
def server(built_site: BuiltSite) -> Iterator[str]:
    """The built site at http://127.0.0.1:PORT, stopped when the session ends."""
    handler = type("Handler", (_Handler,), {"rules": netlify_rules(), "redirects": read_redirects(built_site.public)})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(built_site.public)))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


# ---------------------------------------------------------------- the browser


def require_chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's browser with 'apt-get install -y chromium' (the browser tests never download one)", pytrace=False)
    return CHROMIUM


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    path = require_chromium()
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(path), headless=True, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@dataclass
class Watch:
    """What went wrong while a page was open: console errors, failed and refused requests."""

    errors: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)  # substrings of errors a test expects

    def problems(self) -> list[str]:
        return [e for e in self.errors if not any(a in e for a in self.allowed)]


def watch(page: Any, origin: str) -> Watch:
    seen = Watch()
    page.on("console", lambda m: seen.errors.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: seen.errors.append(f"page error: {e}"))
    # ERR_ABORTED is a request cut short by the next navigation (a test clicking on), not a failure
    page.on("requestfailed", lambda r: seen.errors.append(f"request failed: {r.url} ({r.failure})") if r.failure != "net::ERR_ABORTED" else None)

    def on_response(response: Any) -> None:
        if response.status >= 400 and response.url.startswith(origin):
            seen.errors.append(f"HTTP {response.status}: {response.url}")

    page.on("response", on_response)
    # Requests beyond 127.0.0.1 are refused, so a test can never reach the network.
    page.route(re.compile(r"^(?!http://127\.0\.0\.1[:/]).*"), lambda route: (seen.errors.append(f"off-site request: {route.request.url}"), route.abort()))
    return seen


@pytest.fixture
def context_factory(browser: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def make(**options: Any) -> Any:
        ctx = browser.new_context(**options)
        contexts.append(ctx)
        return ctx

    try:
        yield make
    finally:
        for ctx in contexts:
            ctx.close()


@pytest.fixture
def page(context_factory: Any, server: str) -> Iterator[Any]:
    """A desktop page; the test fails if the page logged an error or a request failed."""
    ctx = context_factory(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    seen = watch(page, server)
    page.watch = seen  # type: ignore[attr-defined]
    yield page
    problems = seen.problems()
    assert not problems, "browser reported problems:\n" + "\n".join(problems)


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    return target
