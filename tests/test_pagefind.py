"""The search index: Pagefind over the staged site, inside ``tidings build``."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from generator import pagefind
from generator.build import BuildOptions, build
from generator.config import load_site
from generator.errors import BuildError

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "site"


def copy_site(tmp_path: Path, extra_config: str = "") -> Path:
    root = tmp_path / "site"
    shutil.copytree(FIXTURE, root)
    if extra_config:
        with open(root / "tidings.yaml", "a", encoding="utf-8") as fh:
            fh.write(extra_config)
    return root


def test_build_writes_the_index_and_times_it(tmp_path: Path) -> None:
    root = copy_site(tmp_path)
    report = build(load_site(root), BuildOptions(durable=False))
    public = root / "public"
    assert "search" in report.phases
    # two shards: the issues (three, one block) and the standalone pages
    bundles = sorted(p.parent.relative_to(public).as_posix() for p in public.glob("pagefind/*/pagefind.js"))
    assert bundles == ["pagefind/issues-0001", "pagefind/pages"]
    counts = {}
    for name in bundles:
        bundle = public / name
        entry = json.loads((bundle / "pagefind-entry.json").read_text())
        counts[name] = entry["languages"]["en"]["page_count"]
        assert list((bundle / "fragment").glob("*.pf_fragment"))
        assert not list(bundle.glob("pagefind-ui*")), "the ready-made UI is not shipped"
    assert counts == {"pagefind/issues-0001": 3, "pagefind/pages": 1}
    search = (public / "search" / "index.html").read_text()
    assert 'data-bundles="/pagefind/issues-0001/ /pagefind/pages/"' in search, "the page names every shard, the newest first"
    home = (public / "index.html").read_text()
    assert 'action="/search/"' in home and 'name="q"' in home
    assert report.outputs + report.search_files == sum(1 for p in public.rglob("*") if p.is_file())


def test_only_issues_and_pages_are_indexed(tmp_path: Path) -> None:
    root = copy_site(tmp_path)
    build(load_site(root), BuildOptions(durable=False))
    issue = (root / "public" / "issues" / "3" / "index.html").read_text()
    assert "data-pagefind-body" in issue
    assert 'data-pagefind-meta="date:9 January 2026"' in issue
    for other in ("index.html", "links/index.html", "archive/index.html", "search/index.html"):
        assert "data-pagefind-body" not in (root / "public" / other).read_text(), other


def test_an_unchanged_rebuild_keeps_every_index_file(tmp_path: Path) -> None:
    root = copy_site(tmp_path)
    site = load_site(root)
    build(site, BuildOptions(durable=False))
    again = build(site, BuildOptions(durable=False))
    assert again.written == 0, "the index is deterministic, so nothing is rewritten"


def test_search_can_be_turned_off(tmp_path: Path) -> None:
    root = copy_site(tmp_path, "web:\n  search: false\n")
    report = build(load_site(root), BuildOptions(durable=False))
    public = root / "public"
    assert "search" not in report.phases
    assert not (public / "pagefind").exists() and not (public / "search").exists()
    assert 'role="search"' not in (public / "index.html").read_text()


def test_a_missing_binary_fails_the_build_and_keeps_the_old_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = copy_site(tmp_path)
    site = load_site(root)
    build(site, BuildOptions(durable=False))
    before = (root / "public" / "index.html").read_bytes()
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(tmp_path / "no-such-pagefind"))
    with pytest.raises(BuildError, match="Pagefind binary is missing"):
        build(site, BuildOptions(durable=False, full=True))  # unchanged sites stop before indexing; force a full build
    assert (root / "public" / "index.html").read_bytes() == before
    assert not list(root.glob(".public.staging-*"))


def test_the_binary_is_the_one_the_pagefind_package_would_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from pagefind.service import get_executable

    monkeypatch.delenv("PAGEFIND_BINARY_PATH", raising=False)
    expected = get_executable()
    assert expected is not None
    assert pagefind.find_binary() == Path(expected)


def test_a_failing_binary_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "pagefind"
    fake.write_text("#!/bin/sh\necho 'index exploded' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(fake))
    site_dir = tmp_path / "staged"
    site_dir.mkdir()
    with pytest.raises(BuildError, match="Pagefind failed: index exploded"):
        pagefind.index_site(site_dir)


def test_a_site_without_issues_or_pages_has_no_search_yet(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    (root / "tidings.yaml").write_text("title: Empty\nbase_url: https://empty.example/\n", encoding="utf-8")
    report = build(load_site(root), BuildOptions(durable=False))
    assert "search" not in report.phases
    assert not (root / "public" / "pagefind").exists() and not (root / "public" / "search").exists()
    assert 'role="search"' not in (root / "public" / "index.html").read_text()


def test_pagefind_reads_only_the_files_it_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    site_dir = tmp_path / "staged"
    for name, words in (("issues/1/index.html", "zeppelins"), ("odd {name}.html", "balloons"), ("links/index.html", "kites")):
        (site_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (site_dir / name).write_text(f'<html lang="en"><body><main data-pagefind-body><p>{words}</p></main></body></html>')
    bundle = pagefind.index_site(site_dir, files=["issues/1/index.html", "odd {name}.html"], bundle="pagefind/x")
    entry = json.loads(bundle["pagefind/x/pagefind-entry.json"])
    assert entry["languages"]["en"]["page_count"] == 2, "a name with braces is given as it is; the listing is left out"
    assert all(path.startswith("pagefind/x/") for path in bundle)
    assert not list(scratch.iterdir()), "the temporary folder is gone"


def test_only_the_shard_of_a_changed_page_is_indexed_again(tmp_path: Path) -> None:
    root = copy_site(tmp_path)
    site = load_site(root)
    first = build(site, BuildOptions(durable=False))
    issues_js = root / "public" / "pagefind" / "issues-0001" / "pagefind.js"
    pages_js = root / "public" / "pagefind" / "pages" / "pagefind.js"
    inodes = issues_js.stat().st_ino, pages_js.stat().st_ino
    assert first.search_files > 0 and first.search_reindexed == 2

    # Only the tag pages show this template: the index is taken over as it was, unread.
    theme = root / "themes" / "default" / "templates"
    theme.mkdir(parents=True)
    (theme / "tags.html").write_text('{% extends "base.html" %}{% block main %}<h1>All the tags</h1>{% endblock %}')
    second = build(site, BuildOptions(durable=False))
    assert second.rendered > 0 and not any(p.startswith("issues/") for p in second.rendered_paths)
    assert second.search_reindexed == 0
    assert second.search_files == first.search_files and (issues_js.stat().st_ino, pages_js.stat().st_ino) == inodes

    # An issue's text changed: its shard is indexed again, the pages' shard is carried over.
    issue = sorted((root / "content" / "issues").iterdir())[0]
    issue.write_text(issue.read_text(encoding="utf-8") + "\nA brand new sentence about zeppelins.\n", encoding="utf-8")
    third = build(site, BuildOptions(durable=False))
    assert any(p.startswith("issues/") for p in third.rendered_paths)
    assert third.search_reindexed == 1 and pages_js.stat().st_ino == inodes[1]

    # The about page's text changed: only the pages' shard is indexed again.
    about = root / "content" / "pages" / "about.md"
    about.write_text(about.read_text(encoding="utf-8") + "\nWe also write about zeppelins.\n", encoding="utf-8")
    issues_inode = issues_js.stat().st_ino
    pages_entry = (pages_js.parent / "pagefind-entry.json").read_bytes()
    fourth = build(site, BuildOptions(durable=False))
    assert fourth.rendered_paths == ["about/index.html"]
    assert fourth.search_reindexed == 1 and issues_js.stat().st_ino == issues_inode
    assert (pages_js.parent / "pagefind-entry.json").read_bytes() != pages_entry, "the pages' shard was indexed anew"


def test_shards_cover_exactly_the_indexed_pages(tmp_path: Path) -> None:
    from generator.build import make_context, producers_for
    from generator.content.archive import build_archive
    from generator.build import load_content
    from generator.render.search import search_shards

    site = load_site(copy_site(tmp_path))
    content = load_content(site)
    archive = build_archive(content.issues)
    ctx = make_context(site, archive, content.pages)
    outputs = [o for p in producers_for(site) for o in p.plan(ctx)]
    indexed = {o.path for o in outputs if o.producer == "site" and o.kind in ("issue", "content-page")}
    files = [f for shard in search_shards(archive, content.pages) for f in shard.files]
    assert sorted(files) == sorted(indexed) and len(files) == len(indexed) == 4


def test_a_render_problem_after_indexing_began_stops_pagefind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pagefind starts on the issue pages while the other outputs render; a failure there ends it, leaving nothing."""
    root = copy_site(tmp_path)
    site = load_site(root)
    build(site, BuildOptions(durable=False))
    before = (root / "public" / "index.html").read_bytes()
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    issue = sorted((root / "content" / "issues").iterdir())[0]
    issue.write_text(issue.read_text(encoding="utf-8") + "\nA sentence about airships.\n", encoding="utf-8")
    theme = root / "themes" / "default" / "templates"
    theme.mkdir(parents=True)
    (theme / "tags.html").write_text('{% extends "base.html" %}{% block main %}{{ no_such_thing() }}{% endblock %}')
    started: list[pagefind.SearchJob] = []
    real_init = pagefind.SearchJob.__init__

    def spy(self: pagefind.SearchJob, *args: object, **kwargs: object) -> None:
        real_init(self, *args, **kwargs)  # type: ignore[arg-type]
        started.append(self)

    monkeypatch.setattr(pagefind.SearchJob, "__init__", spy)
    with pytest.raises(BuildError, match="tags.html"):
        build(site, BuildOptions(durable=False))
    assert started and started[0].reindexed == 1, "the issues' shard was being indexed when the tag pages failed"
    assert not started[0].running and not list(scratch.iterdir()), "Pagefind was stopped and its folder removed"
    assert (root / "public" / "index.html").read_bytes() == before
    assert not list(root.glob(".public.staging-*"))


def test_a_page_missing_from_the_staged_site_is_a_build_error(tmp_path: Path) -> None:
    site_dir = tmp_path / "staged"
    site_dir.mkdir()
    with pytest.raises(BuildError, match=r"^search: cannot start Pagefind on .*issues/9/index.html"):
        pagefind.index_site(site_dir, files=["issues/9/index.html"], bundle="pagefind/x")


@pytest.mark.parametrize("workers, expected", [(1, ["render", "search", "render"]), (2, ["render", "render", "search"])])
def test_pagefind_starts_beside_the_rest_unless_that_takes_a_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int, expected: list[str]
) -> None:
    """After an edit Pagefind runs while the outputs it does not read are rendered; when the
    pages it reads took a pool of render workers, it waits for the rest instead (two pools and
    two Pagefind processes on two cores were slower than one after the other)."""
    import generator.build as build_module

    root = copy_site(tmp_path)
    site = load_site(root)
    build(site, BuildOptions(durable=False))
    events: list[str] = []
    real_render, real_init = build_module._render_all, pagefind.SearchJob.__init__

    def render(*args: object, **kwargs: object) -> object:
        events.append("render")
        return real_render(*args, **kwargs)  # type: ignore[arg-type]

    def start(self: pagefind.SearchJob, *args: object, **kwargs: object) -> None:
        events.append("search")
        real_init(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(build_module, "_render_all", render)
    monkeypatch.setattr(pagefind.SearchJob, "__init__", start)
    issue = sorted((root / "content" / "issues").iterdir())[0]
    issue.write_text(issue.read_text(encoding="utf-8") + "\nA sentence about gliders.\n", encoding="utf-8")
    report = build(site, BuildOptions(durable=False, workers=workers))
    assert events == expected
    assert report.search_reindexed == 1 and report.search_seconds > 0
