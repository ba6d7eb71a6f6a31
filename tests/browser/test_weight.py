"""Page weight: an issue page and its style sheet stay small, and no page has a render-blocking script."""

from __future__ import annotations

from html.parser import HTMLParser

from .conftest import BuiltSite

LIMIT = 60 * 1024  # bytes, uncompressed: issue HTML + every style sheet it links


class _Resources(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.styles: list[str] = []
        self.blocking: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "link" and a.get("rel") == "stylesheet" and a.get("href"):
            self.styles.append(a["href"] or "")
        if tag == "script":
            deferred = a.get("type") == "module" or "defer" in a or "async" in a
            if not deferred:
                self.blocking.append(a.get("src") or "inline script")


def resources(html: str) -> _Resources:
    parser = _Resources()
    parser.feed(html)
    return parser


def test_issue_pages_weigh_under_60_kb(built_site: BuiltSite) -> None:
    heaviest = max((built_site.public / "issues").glob("*/index.html"), key=lambda p: p.stat().st_size)
    html = heaviest.read_text(encoding="utf-8")
    found = resources(html)
    assert found.styles, "the issue page links its style sheet"
    css = sum((built_site.public / href.lstrip("/")).stat().st_size for href in found.styles)
    total = len(html.encode("utf-8")) + css
    assert total < LIMIT, f"{heaviest.parent.name}: {len(html.encode())} B HTML + {css} B CSS = {total} B"


def test_no_page_has_a_render_blocking_script(built_site: BuiltSite) -> None:
    blocking = {}
    for page in built_site.public.rglob("*.html"):
        found = resources(page.read_text(encoding="utf-8"))
        if found.blocking:
            blocking[page.relative_to(built_site.public).as_posix()] = found.blocking
    assert not blocking, blocking


def test_the_search_script_is_a_module_on_the_search_page_only(built_site: BuiltSite) -> None:
    search = (built_site.public / "search" / "index.html").read_text(encoding="utf-8")
    assert '<script type="module" src="/assets/search.' in search
    for page in (built_site.public / "issues").glob("*/index.html"):
        assert "<script" not in page.read_text(encoding="utf-8")
