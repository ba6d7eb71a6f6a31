"""The built example site in Debian's Chromium: navigation, search, phones, dark mode, no JavaScript."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from generator.build import BuildOptions, build
from generator.config import load_site
from generator.render import paths
from generator.urls import host_of

from .conftest import REPO, BuiltSite, screenshot, watch
from .netlify_server import serve_like_netlify


def issue_url(issue: Any) -> str:
    return paths.issue_path(issue)


def walk_older(page: Any, rows: str) -> list[str]:
    """The text of each row of a listing, from the open page to its oldest, following "Older →".

    Each older page's "← Newer" must lead back to the page just left.
    """
    texts = page.locator(rows).all_inner_texts()
    while page.locator("a[rel=next]").count():
        here = page.url
        page.locator("a[rel=next]").click()
        page.wait_for_load_state()
        assert page.url != here
        newer = page.locator("a[rel=prev]").get_attribute("href")
        assert newer is not None and here.endswith(newer), (here, newer)
        texts += page.locator(rows).all_inner_texts()
    return texts


def test_home_shows_the_latest_issue(page: Any, server: str, built_site: BuiltSite) -> None:
    latest = built_site.archive.latest
    assert latest is not None
    response = page.goto(server + "/")
    assert response is not None and "script-src 'self'" in response.headers["content-security-policy"], "served with netlify.toml's headers"
    assert page.locator("h1").inner_text() == latest.title
    assert page.title() == built_site.site.config.title
    first = next(latest.iter_items())
    assert page.locator(f"[id='{first.anchor}']").count() == 1
    screenshot(page, "home")


def test_issue_page_lists_every_item_with_its_anchor(page: Any, server: str, built_site: BuiltSite) -> None:
    issue = built_site.archive.issues[-1]
    page.goto(server + issue_url(issue))
    assert page.locator("h1").inner_text() == issue.title
    for item in issue.iter_items():
        assert page.locator(f"[id='{item.anchor}']").count() == 1, item.anchor
    links = {a.get_attribute("href") for a in page.locator("article a").all()}
    assert {link.url for link in issue.iter_links()} <= links
    screenshot(page, "issue")


def test_archive_year_month_issue(page: Any, server: str, built_site: BuiltSite) -> None:
    by_year = built_site.archive.by_year()
    year = next(iter(by_year))
    month, issues = next(iter(by_year[year].items()))
    page.goto(server + "/archive/")
    screenshot(page, "archive")
    page.get_by_role("link", name=str(year), exact=True).click()
    page.wait_for_url(re.compile(rf"/archive/{year}/$"))
    month_name = issues[0].date.strftime("%B %Y")
    assert page.get_by_role("heading", name=month_name).is_visible()
    page.goto(server + "/archive/")
    page.get_by_role("link", name=month_name).first.click()
    page.wait_for_url(re.compile(rf"/archive/{year}/#m-{year}-{month:02d}$"))
    section = page.locator(f"section[aria-labelledby='m-{year}-{month:02d}']")
    section.get_by_role("link", name=issues[0].title, exact=True).click()
    page.wait_for_url(re.compile(re.escape(issue_url(issues[0])) + "$"))
    assert page.locator("h1").inner_text() == issues[0].title
    screenshot(page, "archive-year")


def test_section_page(page: Any, server: str, built_site: BuiltSite) -> None:
    kind, entries = max(built_site.archive.kinds.items(), key=lambda kv: len(kv[1]))
    page.goto(server + "/sections/")
    link = page.locator(f"a[href='{paths.kind_path(kind)}']")
    link.click()
    page.wait_for_url(re.compile(re.escape(paths.kind_path(kind)) + "$"))
    assert len(walk_older(page, ".entry-list > li")) == len(entries)
    page.goto(server + paths.kind_path(kind))
    first = entries[0]
    href = paths.item_path(first.issue, first.item)
    page.locator(".entry-list > li").first.locator(f"a[href='{href}']").click()
    page.wait_for_url(re.compile(re.escape(href) + "$"))
    assert page.locator(f"[id='{first.item.anchor}']").is_visible()
    screenshot(page, "section")


def test_link_index(page: Any, server: str, built_site: BuiltSite) -> None:
    links = built_site.archive.links
    page.goto(server + "/links/")
    rows = page.locator(".link-index > li")
    first = links[0]
    assert rows.first.locator("a.link-title").get_attribute("href") == first.url
    assert host_of(first.url) in rows.first.inner_text()
    screenshot(page, "links")
    assert len(walk_older(page, ".link-index > li")) == len(links)


def test_tag_page(page: Any, server: str, built_site: BuiltSite) -> None:
    slug, issues = max(built_site.archive.tags.items(), key=lambda kv: len(kv[1]))
    page.goto(server + "/tags/")
    page.locator(f"a[href='{paths.tag_path(slug)}']").click()
    page.wait_for_url(re.compile(re.escape(paths.tag_path(slug)) + "$"))
    titles = page.locator(".issue-list > li > a").all_inner_texts()
    assert titles == [i.title for i in issues][: len(titles)]
    screenshot(page, "tag")
    assert len(walk_older(page, ".issue-list > li")) == len(issues)


def test_a_long_listing_is_read_page_by_page_from_the_newest(page: Any, tmp_path: Path) -> None:
    """Eleven issues at three entries a page: following "Older →" from a section's address shows every item once,
    newest first; the first page holds the newest two (pages are filled from the oldest end)."""
    root = tmp_path / "site"
    (root / "content" / "issues").mkdir(parents=True)
    (root / "tidings.yaml").write_text("title: Paged Weekly\nbase_url: https://paged.example/\npage_size: 3\n", encoding="utf-8")
    for n in range(1, 12):
        (root / "content" / "issues" / f"{n:02}.md").write_text(
            f"---\ntitle: Paged Weekly {n}\ndate: 2024-03-{n:02} 08:00\n---\n\nNews\n====\n\n"
            f"- [Story {n}](https://story.example/{n}) is worth a read.\n",
            encoding="utf-8",
        )
    public = tmp_path / "public"
    build(load_site(root), BuildOptions(output_dir=public, durable=False, keep_state=False))
    with serve_like_netlify(public, REPO / "netlify.toml") as url:
        page.goto(url + "/sections/news/")
        assert page.locator(".entry-list > li").count() == 2  # 11 = 2 + three full pages
        assert "11 March 2024 – 10 March 2024" in page.locator("nav.pager").inner_text()
        rows = walk_older(page, ".entry-list .entry-title")
        assert rows == [f"Story {n}" for n in range(11, 0, -1)]
        assert page.url.endswith("/sections/news/page/1/")  # the oldest page is page 1, for good
        assert page.locator("nav.pager").inner_text().split() == ["←", "Newer", "3", "March", "2024", "–", "1", "March", "2024"]
        screenshot(page, "pager")


def test_not_found_page(page: Any, server: str) -> None:
    page.watch.allowed.append("404")  # type: ignore[attr-defined]
    response = page.goto(server + "/no/such/page/")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text() == "Page not found"
    page.get_by_role("link", name="Every issue, by date").click()
    page.wait_for_url(re.compile(r"/archive/$"))
    screenshot(page, "not-found")


def test_latest_redirects_to_the_newest_issue(page: Any, server: str, built_site: BuiltSite) -> None:
    assert built_site.archive.latest is not None
    page.goto(server + "/latest")
    assert page.url == server + issue_url(built_site.archive.latest)


def rare_word(built_site: BuiltSite) -> tuple[str, str]:
    """A word of a link's text that appears in exactly one item of the archive, and that item's URL."""
    texts = {}
    for issue in built_site.archive.issues:
        for item in issue.iter_items():
            texts[paths.item_path(issue, item)] = (item, re.sub(r"<[^>]+>", " ", str(item.commentary_html)).lower())
    for url, (item, text) in texts.items():
        for link in item.links:
            for word in sorted(re.findall(r"[a-z]{6,}", (link.text or "").lower()), key=len, reverse=True):
                if sum(1 for _, other in texts.values() if re.search(rf"\b{word}", other)) == 1:
                    return word, url
    raise AssertionError("no link word is unique to one item")


def test_search_box_finds_a_known_link(page: Any, server: str, built_site: BuiltSite) -> None:
    word, url = rare_word(built_site)
    page.goto(server + "/")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    box = page.get_by_role("searchbox", name="Search")
    box.fill(word)
    box.press("Enter")
    page.wait_for_url(re.compile(r"/search/\?q="))
    result = page.locator(f"#search-results a[href='{url}']")
    result.wait_for(timeout=15000)
    assert word in result.locator("xpath=..").inner_text().lower()
    assert any("/pagefind/" in r for r in requests), "the index is loaded only on the search page"
    screenshot(page, "search")
    result.click()
    page.wait_for_url(re.compile(re.escape(url) + "$"))
    anchor = url.split("#", 1)[1]
    assert page.locator(f"[id='{anchor}']").is_visible()


def test_search_merges_every_shard_of_the_index(page: Any, server: str, built_site: BuiltSite) -> None:
    """The standalone pages are a shard of their own: a word only the about page has is found through the merged bundle."""
    about = (built_site.site.root / "content" / "pages" / "about.md").read_text(encoding="utf-8").lower()
    issues = " ".join(p.read_text(encoding="utf-8").lower() for p in (built_site.site.root / "content").rglob("*.md") if p.name != "about.md")
    word = next(w for w in sorted(set(re.findall(r"[a-z]{8,}", about))) if w not in issues)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(server + "/search/?q=" + word)
    page.locator("#search-results a[href='/about/']").first.wait_for(timeout=15000)
    bundles = page.locator("#search-results").get_attribute("data-bundles").split()
    assert len(bundles) >= 2 and bundles[-1] == "/pagefind/pages/"
    for bundle in bundles:
        assert any(bundle in r for r in requests), f"{bundle} was not loaded"


def test_search_as_you_type_and_no_results(page: Any, server: str, built_site: BuiltSite) -> None:
    word, url = rare_word(built_site)
    page.goto(server + "/search/")
    status = page.locator("#search-status")
    page.get_by_label("Search every issue and link").press_sequentially(word, delay=20)
    page.locator(f"#search-results a[href='{url}']").wait_for(timeout=15000)
    assert re.search(r"\d+ issues? match", status.inner_text())
    assert page.url.endswith(f"?q={word}")
    page.get_by_label("Search every issue and link").fill("qzxqzxqzx")
    page.get_by_role("button", name="Search").click()
    page.wait_for_function("document.getElementById('search-status').textContent.startsWith('Nothing matches')")
    assert page.locator("#search-results > li").count() == 0


def test_other_pages_load_no_script(page: Any, server: str, built_site: BuiltSite) -> None:
    issue = built_site.archive.issues[0]
    for path in ("/", issue_url(issue), "/archive/", "/links/"):
        page.goto(server + path)
        assert page.locator("script").count() == 0, path


PAGE_TYPES = ["/", "issue", "/archive/", "year", "/sections/", "kind", "/links/", "/tags/", "tag", "/search/?q=the", "/no-such-page/"]


def page_path(kind: str, built_site: BuiltSite) -> str:
    archive = built_site.archive
    if kind == "issue":
        return issue_url(archive.issues[0])
    if kind == "year":
        return paths.year_path(next(iter(archive.by_year())))
    if kind == "kind":
        return paths.kind_path(next(iter(archive.kinds)))
    if kind == "tag":
        return paths.tag_path(next(iter(archive.tags)))
    return kind


def test_phone_viewport_has_no_horizontal_scroll(context_factory: Any, server: str, built_site: BuiltSite) -> None:
    ctx = context_factory(viewport={"width": 375, "height": 740}, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = ctx.new_page()
    seen = watch(page, server)
    seen.allowed.append("404")
    wide = []
    for kind in PAGE_TYPES:
        page.goto(server + page_path(kind, built_site))
        page.wait_for_load_state("load")
        scroll, client = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        if scroll > client:
            wide.append(f"{kind}: {scroll}px > {client}px")
    screenshot_phone = page_path("issue", built_site)
    page.goto(server + screenshot_phone)
    screenshot(page, "issue-phone")
    assert not wide, wide
    assert not seen.problems(), seen.problems()


def test_dark_mode(context_factory: Any, server: str, built_site: BuiltSite) -> None:
    colours = {}
    for scheme in ("light", "dark"):
        ctx = context_factory(color_scheme=scheme, viewport={"width": 1280, "height": 900})
        page = ctx.new_page()
        page.goto(server + issue_url(built_site.archive.issues[0]))
        colours[scheme] = page.evaluate("[getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]")
        if scheme == "dark":
            screenshot(page, "issue-dark")
    assert colours["light"][0] != colours["dark"][0]
    assert colours["light"][1] != colours["dark"][1]
    # dark means dark: the background's luminance is low
    r, g, b = (int(v) for v in re.findall(r"\d+", colours["dark"][0])[:3])
    assert (r + g + b) / 3 < 64


def test_pages_read_without_javascript(context_factory: Any, server: str, built_site: BuiltSite) -> None:
    ctx = context_factory(java_script_enabled=False)
    page = ctx.new_page()
    issue = built_site.archive.issues[0]
    page.goto(server + issue_url(issue))
    first = next(issue.iter_items())
    assert page.locator(f"[id='{first.anchor}']").is_visible()
    page.goto(server + "/search/?q=anything")
    status = page.locator("#search-status").inner_text()
    assert "needs JavaScript" in status
    page.locator("#search-status").get_by_role("link", name="archive").click()
    page.wait_for_url(re.compile(r"/archive/$"))


@pytest.mark.parametrize("width", [320, 768])
def test_other_widths_fit(context_factory: Any, server: str, built_site: BuiltSite, width: int) -> None:
    page = context_factory(viewport={"width": width, "height": 800}).new_page()
    page.goto(server + issue_url(built_site.archive.issues[0]))
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
