"""Incremental builds: after each edit, the site equals a clean full build byte for byte,
and only the outputs whose dependencies changed were rendered (counted, as Hugo's tests do)."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import pytest

from generator.build import BuildOptions, BuildReport, build
from generator.buildstate import STATE_FILE
from generator.config import load_site
from generator.errors import BuildError

CONFIG = """\
title: Test Weekly
base_url: https://test.example/
description: A newsletter for tests.
page_size: 3
"""


def issue(n: int, *, title: str | None = None, news: str = "", tags: str = "ops") -> str:
    return f"""---
title: "{title or f'Test Weekly #{n}'}"
date: 2024-01-{n + 1:02d} 08:00
tags: [{tags}]
summary: Issue {n} in brief.
---

Hello from issue {n}.

News
====

- [Release {n} is out](https://news.example/{n}) and it is good.{news}
- [A study of {n}](https://study.example/{n}) with numbers.

Tools
=====

- [Tool {n}](https://tools.example/{n}) does one thing.
"""


FEEDS = ["atom.xml", "feed.json", "feed.xml", "links.json", "links.xml"]  # all eight issues fit in every feed


def pages(report: BuildReport) -> list[str]:
    """The rendered web pages (not feeds, email editions or the sitemap)."""
    return [p for p in report.rendered_paths if p.endswith(".html") and not p.startswith("email/")]


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def folders(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_dir())


def age(root: Path) -> None:
    """Make every file look an hour old, as files in a real repository are."""
    past = time.time() - 3600
    for path in root.rglob("*"):
        if ".tidings" not in path.parts and path.is_file():
            os.utime(path, (past, past))


@pytest.fixture
def site_root(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "content" / "issues").mkdir(parents=True)
    (root / "content" / "pages").mkdir(parents=True)
    (root / "tidings.yaml").write_text(CONFIG, encoding="utf-8")
    for n in range(1, 9):
        (root / "content" / "issues" / f"{n:03d}.md").write_text(issue(n, tags="ops, cloud" if n % 2 else "ops"), encoding="utf-8")
    (root / "content" / "pages" / "about.md").write_text("---\ntitle: About\n---\n\nAbout us.\n", encoding="utf-8")
    age(root)
    return root


class Builder:
    """Builds incrementally into public/ and, to compare, from scratch into a fresh folder."""

    def __init__(self, root: Path, tmp: Path, mode: str = "swap"):
        self.root = root
        self.tmp = tmp
        self.clean_builds = 0
        self.in_place = mode in ("in-place", "resident")
        # "resident": as the preview server, parsed issues and the other caches are kept between builds
        self.memo: dict | None = {} if mode == "resident" else None
        self.kept: dict | None = {} if mode == "resident" else None
        if self.in_place:  # as the preview server builds: no search index, changed files moved in one by one
            with open(root / "tidings.yaml", "a", encoding="utf-8") as fh:
                fh.write("web: {search: false}\n")
            age(root)

    def incremental(self) -> BuildReport:
        return build(load_site(self.root), BuildOptions(durable=False, workers=1, in_place=self.in_place), memo=self.memo, kept=self.kept)

    def assert_same_as_clean(self) -> None:
        self.clean_builds += 1
        clean = self.tmp / f"clean-{self.clean_builds}"
        build(load_site(self.root), BuildOptions(durable=False, workers=1, output_dir=clean, keep_state=False))
        built, expected = tree(self.root / "public"), tree(clean)
        assert sorted(built) == sorted(expected)
        assert [p for p in expected if built[p] != expected[p]] == []
        assert folders(self.root / "public") == folders(clean)  # none left empty by a reused spare

    def step(self) -> BuildReport:
        report = self.incremental()
        self.assert_same_as_clean()
        self.assert_state_knows_the_files()
        return report

    def assert_state_knows_the_files(self) -> None:
        """The state's scan of the issue files (written as differences) is the files as they are."""
        with sqlite3.connect(self.root / STATE_FILE) as db:
            rows = {path: (mtime, size) for path, mtime, size in db.execute("SELECT path, mtime_ns, size FROM buildstate_sources")}
        files = {f"content/issues/{p.name}": (p.stat().st_mtime_ns, p.stat().st_size) for p in (self.root / "content" / "issues").glob("*.md")}
        assert rows == files


@pytest.mark.parametrize("mode", ["swap", "in-place", "resident"])
def test_edits_rebuild_only_what_changed(site_root: Path, tmp_path: Path, mode: str) -> None:
    b = Builder(site_root, tmp_path, mode)
    in_place = mode != "swap"
    issues = site_root / "content" / "issues"

    first = b.step()
    assert first.rendered == first.outputs > 30 and first.parsed == 8
    kept = (site_root / "public" / "about" / "index.html").stat().st_ino
    folder = (site_root / "public").stat().st_ino  # a swap replaces the folder; in place keeps it

    # nothing changed: the build stops after looking at the files
    again = b.incremental()
    assert again.up_to_date and again.rendered == 0 and again.parsed == 0 and list(again.phases) == ["read"]

    # an item's text in issue 4: its page and the one section page showing the item
    (issues / "004.md").write_text(issue(4, news=" Now with more detail."), encoding="utf-8")
    r = b.step()
    assert r.parsed == 1
    assert pages(r) == ["issues/4/index.html", "sections/news/page/3/index.html"]
    assert [p for p in r.rendered_paths if p.startswith("email/")] == ["email/4.eml", "email/4.html", "email/4.txt"]
    assert [p for p in r.rendered_paths if p in FEEDS] == FEEDS
    assert len(r.rendered_paths) == 12  # + the news and tools section feeds, which show issue 4's items

    # its title: also both neighbours (prev/next titles), its year, its tag and section pages, the home page's list
    (issues / "004.md").write_text(issue(4, title="Four, renamed", news=" Now with more detail."), encoding="utf-8")
    r = b.step()
    assert pages(r) == [
        "archive/2024/index.html",
        "index.html",
        "issues/3/index.html",
        "issues/4/index.html",
        "issues/5/index.html",
        "sections/news/page/3/index.html",  # the page holding issue 4's two news items
        "sections/tools/page/2/index.html",
        "tags/ops/page/2/index.html",  # not tags/cloud: issue 4 is not tagged so
    ]
    assert len(r.rendered_paths) == 18  # + its 3 email files, 5 feeds and 2 section feeds

    # a new latest issue: the first page of each listing it is in; pages count from the oldest end, so
    # the others keep their entries (a listing that gains a page also changes the next older one's "Newer" link)
    (issues / "009.md").write_text(issue(9), encoding="utf-8")
    r = b.step()
    assert r.parsed == 1 and "issues/9/index.html" in r.rendered_paths and "issues/8/index.html" in r.rendered_paths
    assert not {"issues/7/index.html", "about/index.html", "tags/cloud/index.html", "404.html"} & set(r.rendered_paths)
    assert pages(r) == [
        "archive/2024/index.html", "archive/index.html", "index.html", "issues/8/index.html", "issues/9/index.html",
        "links/index.html", "links/page/7/index.html", "links/page/8/index.html",  # page 8 is new
        "sections/index.html", "sections/news/index.html", "sections/news/page/4/index.html", "sections/news/page/5/index.html",
        "sections/tools/index.html", "tags/index.html", "tags/ops/index.html",
    ]
    assert "_redirects" in r.rendered_paths  # /latest now leads to issue 9
    assert len(r.rendered_paths) == 27  # + sitemap, _redirects, 3 email files, 5 feeds, 2 section feeds

    # delete an issue: its page goes, its neighbours learn of each other
    (issues / "006.md").unlink()
    r = b.step()
    # its page, its 3 email files, and the newest numbered page of the link index and of the news section
    assert r.removed == 6 and r.parsed == 0
    assert {"issues/5/index.html", "issues/7/index.html"} <= set(r.rendered_paths)
    assert not {"issues/4/index.html", "issues/8/index.html", "tags/cloud/index.html"} & set(r.rendered_paths)
    # the entries newer than issue 6's move down: the pages from where they were to the first
    assert "links/page/5/index.html" not in r.rendered_paths and "links/page/6/index.html" in r.rendered_paths
    assert len(pages(r)) == 16 and len(r.rendered_paths) == 24

    # rename a file, same bytes: only its page and email edition are rendered again (their source moved); no bytes change
    (issues / "002.md").rename(issues / "two.md")
    r = b.step()
    assert r.rendered_paths == ["email/2.eml", "email/2.html", "email/2.txt", "issues/2/index.html"]
    assert r.written == 0 and r.parsed == 1
    # a page never rendered again is the same file throughout (hard-linked, or left in place)
    assert (site_root / "public" / "about" / "index.html").stat().st_ino == kept
    assert ((site_root / "public").stat().st_ino == folder) == in_place

    # a template: exactly the pages that use it
    theme = site_root / "themes" / "default" / "templates"
    theme.mkdir(parents=True)
    bundled = Path(__file__).resolve().parents[1] / "themes" / "default" / "templates" / "tag.html"
    (theme / "tag.html").write_text(bundled.read_text(encoding="utf-8").replace("<h1>", "<h1 class=tagged>"), encoding="utf-8")
    r = b.step()
    assert r.rendered_paths and all(p.startswith("tags/") and p != "tags/index.html" for p in r.rendered_paths)
    assert len(r.rendered_paths) == 4

    # the settings: everything
    (site_root / "tidings.yaml").write_text(CONFIG.replace("Test Weekly", "Test Weekly Two"), encoding="utf-8")
    r = b.step()
    assert r.rendered == r.outputs


@pytest.mark.parametrize("mode", ["swap", "in-place", "resident"])
def test_a_link_featured_in_two_issues_follows_every_edit(site_root: Path, tmp_path: Path, mode: str) -> None:
    """The link index groups a URL's places across issues; each edit to one of them shows on the page."""
    b = Builder(site_root, tmp_path, mode)
    issues = site_root / "content" / "issues"
    b.step()
    shared = "\n- [Release five, again](https://news.example/5) seen twice.\n"
    (issues / "003.md").write_text(issue(3) + shared, encoding="utf-8")
    r = b.step()  # the link now lists issues 5 and 3
    assert any(p.startswith("links/") for p in r.rendered_paths)
    (issues / "003.md").write_text(issue(3) + shared.replace("seen twice", "seen twice, really"), encoding="utf-8")
    b.step()  # the commentary only: the link index shows the same
    (issues / "005.md").write_text(issue(5).replace("[Release 5 is out]", "[Release 5, renamed]"), encoding="utf-8")
    r = b.step()  # the newest place names the link
    assert any(p.startswith("links/") for p in r.rendered_paths)
    (issues / "005.md").unlink()
    b.step()  # issue 3 is now the link's only place
    (issues / "003.md").write_text(issue(3), encoding="utf-8")
    b.step()  # and the link is gone


@pytest.mark.parametrize("mode", ["swap", "resident"])
def test_an_email_template_reaches_every_output_of_the_edition(site_root: Path, tmp_path: Path, mode: str) -> None:
    """An issue's .html, .txt and .eml share one rendered edition; each depends on both its templates."""
    b = Builder(site_root, tmp_path, mode)
    b.step()
    theme = site_root / "themes" / "default" / "templates" / "email"
    theme.mkdir(parents=True)
    bundled = Path(__file__).resolve().parents[1] / "themes" / "default" / "templates" / "email" / "issue.txt"
    (theme / "issue.txt").write_text(bundled.read_text(encoding="utf-8") + "\nThanks for reading.\n", encoding="utf-8")
    r = b.step()  # equal to a clean build: the .txt and .eml files have the new line
    assert sorted(p for p in r.rendered_paths if p.endswith(".txt")) == [f"email/{n}.txt" for n in range(1, 9)]
    assert all(f"email/{n}.eml" in r.rendered_paths for n in range(1, 9))
    assert "Thanks for reading." in (site_root / "public" / "email" / "3.txt").read_text(encoding="utf-8")


def test_the_feed_entry_template_reaches_every_feed(site_root: Path, tmp_path: Path) -> None:
    """RSS, Atom and JSON Feed share the entries of one build; each depends on the entry template."""
    b = Builder(site_root, tmp_path)
    b.step()
    theme = site_root / "themes" / "default" / "templates" / "feeds"
    theme.mkdir(parents=True)
    bundled = Path(__file__).resolve().parents[1] / "themes" / "default" / "templates" / "feeds" / "issue.html"
    (theme / "issue.html").write_text(bundled.read_text(encoding="utf-8") + "\n<p>Thanks for reading.</p>\n", encoding="utf-8")
    r = b.step()  # equal to a clean build
    assert {"atom.xml", "feed.json", "feed.xml"} <= set(r.rendered_paths)
    for name in ("atom.xml", "feed.json", "feed.xml"):
        assert "Thanks for reading." in (site_root / "public" / name).read_text(encoding="utf-8"), name


def test_untrusted_state_means_a_full_build(site_root: Path, tmp_path: Path) -> None:
    b = Builder(site_root, tmp_path)
    outputs = b.step().outputs
    state = site_root / STATE_FILE

    # another Tidings version wrote the state: discarded
    with sqlite3.connect(state) as db:
        db.execute("UPDATE buildstate_meta SET value = '0.0.1' WHERE key = 'tidings'")
    r = b.step()
    assert r.rendered == outputs and r.parsed == 8 and "Tidings 0.0.1" in r.state_note

    # garbage in place of the database: discarded, rebuilt, still correct
    for suffix in ("-wal", "-shm"):
        Path(f"{state}{suffix}").unlink(missing_ok=True)
    state.write_bytes(b"not a database at all" * 100)
    r = b.step()
    assert r.rendered == outputs and r.state_note.startswith("unreadable")

    # the output folder replaced behind the build's back: nothing is carried over from it
    public = site_root / "public"
    os.rename(public, tmp_path / "elsewhere")
    r = b.step()
    assert r.rendered == outputs and r.parsed == 0

    # a damaged output row is rendered again, not trusted
    with sqlite3.connect(state) as db:
        db.execute("UPDATE buildstate_outputs SET deps = 'not json' WHERE path = 'issues/3/index.html'")
    (site_root / "content" / "issues" / "001.md").write_text(issue(1, news=" More."), encoding="utf-8")
    r = b.step()
    assert "issues/3/index.html" in r.rendered_paths


def test_a_build_that_fails_after_claiming_the_spare_leaves_the_site_and_the_next_one_recovers(site_root: Path, tmp_path: Path) -> None:
    b = Builder(site_root, tmp_path)
    b.step()
    (site_root / "content" / "issues" / "001.md").write_text(issue(1, news=" More."), encoding="utf-8")
    b.step()
    spare = site_root / ".public.spare"
    assert spare.is_dir(), "the site before last is kept beside the site"
    before = tree(site_root / "public")
    bad = site_root / "content" / "issues" / "005.md"
    bad.write_text(issue(5, news=" See [the missing issue](/issues/999/)."), encoding="utf-8")
    with pytest.raises(BuildError, match="005.md"):  # found by the link check, after rendering into the spare
        b.incremental()
    assert tree(site_root / "public") == before
    assert not spare.exists(), "a spare changed by a failed build is not kept"
    bad.write_text(issue(5, title="Five again"), encoding="utf-8")
    r = b.step()
    assert "issues/5/index.html" in r.rendered_paths and r.rendered < r.outputs
    (site_root / "content" / "issues" / "002.md").write_text(issue(2, news=" Later."), encoding="utf-8")
    r = b.step()  # the spare again
    assert spare.is_dir() and "issues/2/index.html" in r.rendered_paths and r.rendered < r.outputs


def memo_keys(root: Path, target: Path) -> dict[str, dict[str, str]]:
    with sqlite3.connect(root / STATE_FILE) as db:
        rows = db.execute("SELECT path, deps FROM buildstate_outputs WHERE target = ?", (str(target),)).fetchall()
    return {path: {k: v for k, v in json.loads(deps).items() if k.startswith("memo:")} for path, deps in rows}


@pytest.mark.parametrize("mode", ["swap", "resident"])
def test_carried_listings_keep_their_memo_keys_up_to_date(site_root: Path, tmp_path: Path, mode: str) -> None:
    """A section page that shows the same after an edit, but lists an entry of the edited file, is
    carried over; its record must learn the new sources, or it misses its memo at every build after."""
    b = Builder(site_root, tmp_path, mode)
    b.step()
    (site_root / "content" / "issues" / "008.md").write_text(issue(8, news=" A longer story."), encoding="utf-8")
    r = b.step()
    assert "sections/tools/index.html" not in r.rendered_paths  # it lists Tool 8, which did not change
    other = tmp_path / "other"
    build(load_site(site_root), BuildOptions(durable=False, workers=1, output_dir=other))
    fresh, kept = memo_keys(site_root, other), memo_keys(site_root, site_root / "public")
    assert fresh["sections/tools/index.html"], "listings record memo keys"
    assert kept == fresh


def test_the_preview_and_the_command_line_take_turns_on_one_site(site_root: Path, tmp_path: Path) -> None:
    """An in-place build (the preview) changes the site under the spare: the next swap must not trust it."""
    with open(site_root / "tidings.yaml", "a", encoding="utf-8") as fh:
        fh.write("web: {search: false}\n")  # the preview builds in place only without a search index
    age(site_root)
    b = Builder(site_root, tmp_path)
    issues = site_root / "content" / "issues"
    b.step()
    (issues / "001.md").write_text(issue(1, news=" One."), encoding="utf-8")
    b.step()
    assert (site_root / ".public.spare").is_dir()
    b.in_place = True
    (issues / "003.md").write_text(issue(3, title="Three, previewed"), encoding="utf-8")
    (issues / "008.md").unlink()
    r = b.step()
    assert "issues/3/index.html" in r.rendered_paths and r.removed > 0
    b.in_place = False
    (issues / "004.md").write_text(issue(4, news=" Four."), encoding="utf-8")
    r = b.step()
    assert "issues/4/index.html" in r.rendered_paths and "issues/3/index.html" not in r.rendered_paths
    (issues / "005.md").write_text(issue(5, news=" Five."), encoding="utf-8")
    b.step()  # the spare again, kept by the swap before
    assert (site_root / ".public.spare").is_dir()


@pytest.mark.parametrize("mode", ["swap", "in-place", "resident"])
def test_a_failed_build_changes_nothing_and_the_next_one_recovers(site_root: Path, tmp_path: Path, mode: str) -> None:
    b = Builder(site_root, tmp_path, mode)
    b.step()
    before = tree(site_root / "public")
    bad = site_root / "content" / "issues" / "005.md"
    bad.write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    with pytest.raises(Exception):
        b.incremental()
    assert tree(site_root / "public") == before
    bad.write_text(issue(5, title="Five again"), encoding="utf-8")
    r = b.step()
    assert "issues/5/index.html" in r.rendered_paths and r.rendered < r.outputs


@pytest.mark.parametrize("mode", ["swap", "resident"])
def test_new_section_keywords_parse_every_issue_again(site_root: Path, tmp_path: Path, mode: str) -> None:
    """Issue settings (the section kinds) are part of what a parsed issue is: kept issues are not reused across them."""
    builder = Builder(site_root, tmp_path, mode)
    builder.step()
    with open(site_root / "tidings.yaml", "a", encoding="utf-8") as fh:
        fh.write("sections:\n  headlines: [news]\n  tools: [tools]\n")
    report = builder.step()
    assert report.parsed == 8
    assert (site_root / "public" / "sections" / "headlines" / "index.html").is_file()
