"""End to end: build the bundled example newsletter and read the pages back like a reader would."""

from __future__ import annotations

import os
import re
import shutil
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest

from generator.build import BuildOptions, build, load_content
from generator.buildstate import OutputRecord
from generator.config import load_site
from generator.errors import BuildError, ContentError
from generator.render import paths

from .conftest import REPO


class PageParser(HTMLParser):
    """Collects what the tests look at: ids, links, headings, meta tags, text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.rels: dict[str, str] = {}
        self.meta: dict[str, str] = {}
        self.headings: list[int] = []
        self.canonical = ""
        self.text: list[str] = []
        self.h1: list[str] = []
        self._in_h1 = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "href" in a:
            self.hrefs.append(a["href"])
            if "rel" in a:
                self.rels[a["rel"]] = a["href"]
        if tag == "link" and a.get("rel") == "canonical":
            self.canonical = a["href"]
        if tag == "meta" and ("property" in a or "name" in a):
            self.meta[a.get("property") or a["name"]] = a.get("content", "")
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
            self._in_h1 = tag == "h1"
            if self._in_h1:
                self.h1.append("")

    def handle_endtag(self, tag):
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data):
        self.text.append(data)
        if self._in_h1:
            self.h1[-1] += data


def read_page(public: Path, site_path: str) -> PageParser:
    parser = PageParser()
    parser.feed((public / paths.output_file(site_path)).read_text(encoding="utf-8"))
    return parser


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """The example newsletter built once into a temporary output folder."""
    out = tmp_path_factory.mktemp("example") / "public"
    site = load_site(REPO)
    report = build(site, BuildOptions(output_dir=out))
    content = load_content(site)
    return site, out, report, content


def test_example_builds_published_issues_only(example):
    site, public, report, content = example
    published = sorted(i.number for i in content.issues if not i.draft)
    drafts = [i.number for i in content.issues if i.draft]
    assert len(published) >= 8 and drafts, "the example has at least 8 issues and a draft"
    assert report.issues == len(published)
    for number in published:
        assert (public / f"issues/{number}/index.html").is_file()
    for number in drafts:
        assert not (public / f"issues/{number}").exists()


def test_issue_pages_show_every_item_and_link_with_working_navigation(example):
    site, public, _, content = example
    published = sorted((i for i in content.issues if not i.draft), key=lambda i: i.date)
    for position, issue in enumerate(published):
        page = read_page(public, paths.issue_path(issue))
        assert page.h1 == [issue.title]
        assert page.headings[0] == 1 and all(b - a <= 1 for a, b in zip(page.headings, page.headings[1:])), "headings in order"
        for section in issue.iter_sections():
            assert section.slug in page.ids
        for item in issue.iter_items():
            assert item.anchor in page.ids
            for link in item.links:
                assert link.url in page.hrefs, f"{link.url} missing from issue {issue.number}"
        older = published[position - 1] if position else None
        newer = published[position + 1] if position + 1 < len(published) else None
        assert page.rels.get("prev") == (paths.issue_path(older) if older else None)
        assert page.rels.get("next") == (paths.issue_path(newer) if newer else None)
        assert page.canonical == f"https://shipshape.example/issues/{issue.slug}/"
        assert page.meta["og:title"] == issue.title and page.meta["og:type"] == "article"


def test_home_shows_the_latest_issue_in_full_and_recent_ones(example):
    site, public, _, content = example
    published = sorted((i for i in content.issues if not i.draft), key=lambda i: i.date, reverse=True)
    latest = published[0]
    home = read_page(public, "/")
    assert home.h1 == [latest.title]
    assert all(item.anchor in home.ids for item in latest.iter_items())
    for older in published[1 : 1 + site.config.recent_issues]:
        assert paths.issue_path(older) in home.hrefs


def test_archive_years_months_and_every_issue(example):
    site, public, _, content = example
    published = [i for i in content.issues if not i.draft]
    archive = read_page(public, "/archive/")
    years = {i.date.year for i in published}
    for year in years:
        assert paths.year_path(year) in archive.hrefs
        year_page = read_page(public, paths.year_path(year))
        for issue in (i for i in published if i.date.year == year):
            assert f"m-{year}-{issue.date.month:02d}" in year_page.ids
            assert paths.issue_path(issue) in year_page.hrefs
            assert f"{paths.year_path(year)}#m-{year}-{issue.date.month:02d}" in archive.hrefs


def test_section_pages_link_index_and_tags(example):
    site, public, _, content = example
    published = [i for i in content.issues if not i.draft]
    tools = [(i, item) for i in published for item in i.iter_items() if item.kind == "tools"]
    page = read_page(public, paths.kind_path("tools"))
    for issue, item in tools:
        assert paths.item_path(issue, item) in page.hrefs
    links = read_page(public, paths.links_path())
    seen: dict[str, set[str]] = {}
    for issue in published:
        for item in issue.iter_items():
            for link in item.links:
                if link.key.startswith("http"):
                    seen.setdefault(link.key, set()).add(paths.item_path(issue, item))
    repeated = [key for key, refs in seen.items() if len(refs) > 1]
    assert repeated, "the example features some links in more than one issue"
    for key in repeated:
        for ref in seen[key]:
            assert ref in links.hrefs
    tags = read_page(public, paths.tags_path())
    some_tag = published[0].tags[0]
    tag_page_path = next(h for h in tags.hrefs if h.startswith("/tags/") and h != "/tags/")
    assert (public / paths.output_file(tag_page_path)).is_file()
    assert any(some_tag in t for t in tags.text)


def test_pages_404_sitemap_robots_and_meta_everywhere(example):
    site, public, _, content = example
    about = read_page(public, "/about/")
    assert about.h1 == ["About"]
    assert read_page(public, "/404.html").h1 == ["Page not found"]
    sitemap = (public / "sitemap.xml").read_text()
    for issue in (i for i in content.issues if not i.draft):
        assert f"<loc>https://shipshape.example/issues/{issue.slug}/</loc>" in sitemap
    assert "Sitemap: https://shipshape.example/sitemap.xml" in (public / "robots.txt").read_text()
    for html in public.rglob("*.html"):
        if html.parent == public / "email":
            continue  # email editions are mail-client documents, checked in tests/render/test_email.py
        page = PageParser()
        page.feed(html.read_text())
        assert len(page.h1) == 1, html
        assert page.canonical.startswith("https://shipshape.example/"), html
        assert {"og:title", "og:url", "og:description", "description"} <= set(page.meta), html
        assert "main" in page.ids, html


def test_rebuild_keeps_unchanged_files_and_a_failed_build_leaves_the_site_alone(tmp_path):
    root = tmp_path / "site"
    shutil.copytree(REPO / "content", root / "content")
    shutil.copy(REPO / "tidings.yaml", root / "tidings.yaml")
    site = load_site(root)
    first = build(site)
    assert first.written == first.outputs
    home = root / "public" / "index.html"
    inode = os.stat(home).st_ino
    second = build(site)
    assert second.written == 0 and second.unchanged == second.outputs
    assert os.stat(home).st_ino == inode, "unchanged files are kept, not rewritten"
    before = {p: p.read_bytes() for p in (root / "public").rglob("*") if p.is_file()}
    bad = root / "content" / "issues" / "003.md"
    bad.write_text(bad.read_text().replace("date:", "date: not-a-date\nold_date:", 1))
    with pytest.raises(ContentError) as info:
        build(load_site(root))
    assert str(info.value.problems[0]).startswith("content/issues/003.md:")
    after = {p: p.read_bytes() for p in (root / "public").rglob("*") if p.is_file()}
    assert after == before
    assert not list(root.glob(".public.staging-*"))


def test_a_carried_page_whose_link_target_is_removed_fails_the_build(make_site, monkeypatch):
    """Carried pages' links are checked again only when an output of the previous build is gone."""
    root = make_site(
        {
            "content/issues/1.md": "---\ntitle: One\ndate: 2024-01-01\n---\n## News\n- [The third issue](/issues/3/)\n",
            "content/issues/2.md": "---\ntitle: Two\ndate: 2024-01-08\n---\n## News\n- [A kite](https://kite.example/)\n",
            "content/issues/3.md": "---\ntitle: Three\ndate: 2024-01-15\n---\n## News\n- [A tool](https://tool.example/)\n",
            "content/pages/about.md": "---\ntitle: About\n---\nHi.\n",
        }
    )
    build(load_site(root))
    decoded: list[str] = []
    real = OutputRecord.links

    def counting(self):
        decoded.append(self.path)
        return real.fget(self)

    monkeypatch.setattr(OutputRecord, "links", property(counting))
    issue = root / "content" / "issues" / "3.md"  # not a neighbour of issue 1
    issue.write_text(issue.read_text().replace("A tool", "A better tool"))
    edited = build(load_site(root))
    assert "issues/1/index.html" not in edited.rendered_paths and decoded == [], "nothing removed: carried links not read"
    issue.unlink()
    with pytest.raises(BuildError) as info:
        build(load_site(root))
    assert "issues/1/index.html" in decoded, "issue 1's page was carried over, and its links read"
    assert [str(p) for p in info.value.problems] == ["content/issues/1.md:6: links to /issues/3/, which this build does not produce"]


def test_broken_internal_link_fails_the_build(make_site):
    root = make_site(
        {
            "content/issues/1.md": "---\ntitle: One\ndate: 2024-01-01\n---\n## News\n- [Our about page](/abuot/)\n",
            "content/pages/about.md": "---\ntitle: About\n---\nHi.\n",
        }
    )
    with pytest.raises(BuildError) as info:
        build(load_site(root))
    assert [str(p) for p in info.value.problems] == [
        "content/issues/1.md:6: links to /abuot/, which this build does not produce"
    ]
    assert not (root / "public").exists()


def test_template_error_names_template_and_line(make_site):
    root = make_site(
        {
            "tidings.yaml": "title: T\nbase_url: https://t.example/\ntheme: mine\n",
            "content/issues/1.md": "---\ntitle: One\ndate: 2024-01-01\n---\nHi\n",
            "themes/mine/templates/issue.html": '{% extends "base.html" %}\n{% block main %}\n{{ issue.no_such_field }}\n{% endblock %}\n',
        }
    )
    with pytest.raises(BuildError) as info:
        build(load_site(root))
    (problem,) = {str(p) for p in info.value.problems}
    assert problem.startswith("themes/mine/templates/issue.html:3: ")
    assert "no_such_field" in problem


def test_a_site_theme_overrides_one_template_and_inherits_the_rest(make_site):
    root = make_site(
        {
            "tidings.yaml": "title: T\nbase_url: https://t.example/news/\ntheme: mine\n",
            "content/issues/1.md": "---\ntitle: One\ndate: 2024-01-01\n---\nHi\n",
            "themes/mine/templates/404.html": '{% extends "base.html" %}{% block main %}<h1>Lost at sea</h1>{% endblock %}',
        }
    )
    build(load_site(root))
    assert "Lost at sea" in (root / "public/404.html").read_text()
    issue = (root / "public/issues/1/index.html").read_text()
    assert 'href="/news/archive/"' in issue, "links carry the base URL's path"
    assert '<link rel="canonical" href="https://t.example/news/issues/1/">' in issue


def test_parallel_and_serial_builds_are_identical(tmp_path):
    site = load_site(REPO)
    build(site, BuildOptions(output_dir=tmp_path / "a", workers=1))
    build(site, BuildOptions(output_dir=tmp_path / "b", workers=2))
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert files_a == files_b
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel


def _many_issues(count: int) -> dict[str, str]:
    files = {}
    for n in range(1, count + 1):
        files[f"content/issues/{n:03}.md"] = (
            f"---\ntitle: Issue {n}\ndate: 2024-01-{(n % 28) + 1:02}T0{n % 10}:00:00Z\nnumber: {n}\n---\n"
            f"Welcome to issue {n}.\n\n## News\n\nA story about topic {n}.<br>\n[https://n{n}.example/a](https://n{n}.example/a)\n\n"
            f"## Tools\n\n- [Tool {n}](https://tools.example/{n}) does one thing well.\n"
        )
    return files


def test_a_large_read_shared_with_a_second_process_gives_the_same_site(make_site, tmp_path):
    """Past the threshold, a forked process parses part of the issues and sends them back as JSON."""
    root = make_site(_many_issues(90))
    site = load_site(root)
    one = build(site, BuildOptions(output_dir=tmp_path / "one", workers=1, keep_state=False))
    two = build(site, BuildOptions(output_dir=tmp_path / "two", workers=2))
    assert one.parsed == two.parsed == 90
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "two") for p in (tmp_path / "two").rglob("*") if p.is_file())
    for rel in files:
        assert (tmp_path / "one" / rel).read_bytes() == (tmp_path / "two" / rel).read_bytes(), rel
    # The worker's JSON went into the parse cache: a full rebuild parses nothing.
    again = build(site, BuildOptions(output_dir=tmp_path / "two", workers=2, full=True))
    assert again.parsed == 0


def test_the_second_reader_process_compiles_the_templates_once_its_issues_are_parsed(make_site):
    """A cold build's templates are compiled into the bytecode cache by the read worker, not this process."""
    from generator import __version__
    from generator.build import _Reader, make_context
    from generator.content.archive import build_archive

    root = make_site(_many_issues(90))
    site = load_site(root)
    cache = root / ".tidings" / f"templates-{__version__}"
    serial = _Reader(site, None, None, workers=1)
    serial.read()
    serial.templates_compiled()
    assert not cache.exists() or not any(cache.iterdir()), "one process alone compiles nothing ahead"
    threads = threading.active_count()
    reader = _Reader(site, None, None, workers=2)
    content = reader.read()
    reader.templates_compiled()
    assert threading.active_count() == threads, "the executor's thread is gone before the render workers are forked"
    compiled = {p.name for p in cache.iterdir()}
    env = make_context(site, build_archive(content.issues), content.pages).env
    names = env.list_templates()
    assert len(compiled) == len(names) > 10
    # Each is this process's own template, found in the cache under its key, not compiled again.
    for name in names:
        assert env.bytecode_cache is not None
        bucket = env.bytecode_cache.get_bucket(env, name, env.loader.get_source(env, name)[1], env.loader.get_source(env, name)[0])
        assert bucket.code is not None, name


def test_problems_found_by_the_second_reader_process_are_reported(make_site):
    files = _many_issues(90)
    files["content/issues/089.md"] = "---\ntitle: Broken\ndate: not a date\n---\nText\n"  # in the worker's share
    files["content/issues/002.md"] = "---\ndate: 2024-01-01\n---\nNo title\n"  # in this process's share
    root = make_site(files)
    with pytest.raises(ContentError) as caught:
        build(load_site(root), BuildOptions(workers=2))
    where = sorted(p.pos.path for p in caught.value.problems)
    assert where == ["content/issues/002.md", "content/issues/089.md"]
    assert not (root / "public").exists()


def test_parse_cache_json_round_trips_text_and_numbers_orjson_cannot_write():
    from generator.content.issues import IssueSettings, parse_issue_text
    from generator.serialize import decode_json, issue_from_dict, issue_json, issue_to_dict

    settings = IssueSettings(section_kinds=(), timezone="UTC")
    for number in (7, 2**70):  # the second is beyond orjson's 64-bit integers: json writes it
        text = f"---\ntitle: Ünïcode “quotes” {number}\ndate: 2024-01-02\nnumber: {number}\n---\n\n## News\n\n- [A](https://a.example/) é ✓\n"
        issue = parse_issue_text("content/issues/x.md", text, settings)
        stored = issue_json(issue)
        for loaded in (decode_json(stored), decode_json(stored.encode("utf-8"))):  # as the cache reads it back
            assert loaded == issue_to_dict(issue)
            assert issue_from_dict(loaded) == issue and isinstance(issue_from_dict(loaded).number, int)


def test_an_issue_numbered_beyond_64_bits_keeps_its_page_through_the_parse_cache(make_site, tmp_path):
    files = _many_issues(3)
    files["content/issues/big.md"] = "---\ntitle: Big\ndate: 2024-02-01\nnumber: 1180591620717411303424\n---\nHello\n"
    root = make_site(files)
    build(load_site(root), BuildOptions(output_dir=tmp_path / "out", durable=False))
    # Another title: every page is rendered again, from issues the parse cache gives back.
    (root / "tidings.yaml").write_text((root / "tidings.yaml").read_text().replace("title:", "title: Renamed", 1))
    report = build(load_site(root), BuildOptions(output_dir=tmp_path / "out", durable=False))
    assert report.parsed == 0 and report.written > 4
    page = (tmp_path / "out/issues/1180591620717411303424/index.html").read_text()
    assert "Issue 1180591620717411303424" in page and "e+21" not in page

def test_an_edit_decodes_only_the_bodies_of_issues_on_pages_it_renders_again(make_site, tmp_path):
    """Unchanged issues come back from the parse cache as heads; a body is decoded only when read."""
    from generator.serialize import StoredIssue

    from .conftest import MINIMAL_CONFIG

    root = make_site({**_many_issues(60), "tidings.yaml": MINIMAL_CONFIG + "page_size: 10\nsyndication: {links: 20}\n"})
    site = load_site(root)
    build(site, BuildOptions(output_dir=tmp_path / "out", workers=1))
    edited = root / "content/issues/056.md"  # the oldest: outside the feeds, which read the newest issues
    edited.write_text(edited.read_text().replace("A story about topic 56.", "A longer story about topic 56."))
    memo: dict = {}  # filled by the build with the issues it read
    report = build(site, BuildOptions(output_dir=tmp_path / "out", workers=1), memo=memo)
    assert report.parsed == 1 and 0 < report.rendered < 20
    stored = [i for i in memo.values() if isinstance(i, StoredIssue)]
    assert len(stored) == 59
    decoded = sorted(i.number for i in stored if i.body_decoded)
    # The News page that lists issue 56's item (ten to a page) is rendered again: its nine other issues are read.
    assert len(decoded) == 9 and 56 not in decoded, decoded
    # Every page is the same as a clean build's.
    clean = build(site, BuildOptions(output_dir=tmp_path / "clean", workers=1, keep_state=False))
    assert clean.written == report.outputs
    for path in (tmp_path / "clean").rglob("*"):
        if path.is_file():
            assert path.read_bytes() == (tmp_path / "out" / path.relative_to(tmp_path / "clean")).read_bytes(), path


def test_render_workers_read_stored_issues_from_their_own_connection(make_site, tmp_path):
    """After a theme change every page is rendered again, in forked workers, from issues the parse cache gave back."""
    root = make_site(_many_issues(60))
    site = load_site(root)
    build(site, BuildOptions(output_dir=tmp_path / "out", workers=2))
    template = root / "themes/default/templates/issue.html"
    template.parent.mkdir(parents=True)
    shipped = (REPO / "themes/default/templates/issue.html").read_text()
    template.write_text(shipped.replace("{% block main %}", "{% block main %}<p>Changed.</p>", 1))
    report = build(load_site(root), BuildOptions(output_dir=tmp_path / "out", workers=2))
    assert report.parsed == 0 and report.rendered >= 60
    clean = tmp_path / "clean"
    build(load_site(root), BuildOptions(output_dir=clean, workers=1, keep_state=False))
    for path in clean.rglob("*"):
        if path.is_file():
            assert path.read_bytes() == (tmp_path / "out" / path.relative_to(clean)).read_bytes(), path
    assert "<p>Changed.</p>" in (tmp_path / "out/issues/7/index.html").read_text()


def test_a_stored_body_damaged_or_dropped_is_parsed_again_unless_its_file_changed(make_site):
    import sqlite3

    from generator.build import _Reader
    from generator.buildstate import STATE_FILE, BuildState
    from generator.serialize import StoredIssue

    root = make_site(_many_issues(3))
    site = load_site(root)
    build(site, BuildOptions(workers=1))
    fresh = {i.slug: i for i in load_content(site).issues}
    state = BuildState.open(root, root / "public")
    issues = {i.slug: i for i in _Reader(site, state, None).read().issues}
    assert all(isinstance(i, StoredIssue) and not i.body_decoded for i in issues.values())
    with sqlite3.connect(root / STATE_FILE) as db:
        assert db.execute("UPDATE buildstate_parsed SET issue = '{\"sections\": 3' WHERE head LIKE '%\"slug\":\"3\"%'").rowcount == 1
    assert issues["3"].sections == fresh["3"].sections, "a damaged row: parsed again from the unchanged file"
    with sqlite3.connect(root / STATE_FILE) as db:  # as a concurrent build that saw other files would
        db.execute("DELETE FROM buildstate_parsed")
    assert issues["1"].sections == fresh["1"].sections, "parsed again from the unchanged file"
    (root / "content/issues/002.md").write_text(_many_issues(2)["content/issues/002.md"].replace("topic 2", "topic two"))
    with pytest.raises(ContentError) as caught:
        issues["2"].sections
    assert str(caught.value.problems[0]) == "content/issues/002.md: changed while this build was running; build again"
    state.close()
