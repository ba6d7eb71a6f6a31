"""Real-browser fixtures: the example site built once, served on 127.0.0.1 like Netlify would.

The server applies the headers of the repository's ``netlify.toml`` (so the
Content-Security-Policy is exercised by every page load), follows the
build's ``_redirects`` and answers unknown paths with ``404.html`` and status
404. Chromium is Debian's, driven by Playwright; it is never downloaded. If it
is missing the tests fail and say how to install it: nothing is skipped.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest

from generator.build import BuildOptions, build, load_content
from generator.config import Site, load_site
from generator.content.archive import Archive, build_archive

from .netlify_server import serve_like_netlify

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
    """The repository's own newsletter when it has issues, else the small fixture site.

    TIDINGS_EXAMPLE_ROOT points the browser tests at another newsletter folder.
    """
    if os.environ.get("TIDINGS_EXAMPLE_ROOT"):
        return Path(os.environ["TIDINGS_EXAMPLE_ROOT"])
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


@pytest.fixture(scope="session")
def server(built_site: BuiltSite) -> Iterator[str]:
    """The built site at http://127.0.0.1:PORT, stopped when the session ends."""
    with serve_like_netlify(built_site.public, REPO / "netlify.toml") as url:
        yield url


# ---------------------------------------------------------------- the browser


def require_chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's browser with 'apt-get install -y chromium' (the browser tests never download one)", pytrace=False)
    return CHROMIUM


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    # package scope: Playwright's event loop must be gone before other tests call asyncio.run()
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
