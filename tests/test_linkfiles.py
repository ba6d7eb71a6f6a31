"""The committed link files, read by the build without any network."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from generator.build import BuildOptions, build
from generator.config import load_site
from generator.errors import ConfigError, TidingsError
from generator.linkfiles import (
    DeadLink,
    PageMeta,
    dump_dead_links,
    dump_link_meta,
    read_dead_links,
    read_link_meta,
    wayback_url,
)
from generator.linkfix import replacement_for, rewrite_text
from generator.linkstatus import REDIRECTED, LinkStatus

ISSUE = """---
title: Issue 7
date: 2021-03-09
number: 7
---

## News

- [Dead tool](https://dead.example/tool) was nice, see also [alive](https://alive.example/).

## Reading

A title line

Some commentary.<br>
[Dead article](https://dead.example/article?id=1)
"""


def _site(tmp_path: Path, linkstatus: str) -> Path:
    (tmp_path / "content/issues").mkdir(parents=True)
    (tmp_path / "tidings.yaml").write_text("title: T\nbase_url: https://t.example/\n")
    (tmp_path / "content/issues/7.md").write_text(ISSUE)
    (tmp_path / "content/linkstatus.yaml").write_text(linkstatus)
    return tmp_path


def test_build_marks_dead_links_with_wayback_copy_of_issue_date(tmp_path: Path) -> None:
    text = dump_dead_links(
        {
            "https://dead.example/tool": DeadLink(since="2024-05-01", reason="HTTP 404 Not Found", failures=3),
            "https://dead.example/article?id=1": DeadLink(since="2024-05-01", reason="DNS lookup failed", failures=4),
        }
    ).decode()
    root = _site(tmp_path, text)
    meta = {"https://alive.example/": PageMeta(title="Alive", description='Fine <script>alert("x")</script><b>bold</b> & well')}
    (root / "content/linkmeta.yaml").write_bytes(dump_link_meta(meta))
    build(load_site(root), BuildOptions(workers=1, durable=False))
    links = (root / "public/links/index.html").read_text()
    assert '<p class="link-description">Fine bold &amp; well</p>' in links
    assert "<script>" not in links
    page = (root / "public/issues/7/index.html").read_text()
    assert '“Dead tool” is no longer available: <a href="https://web.archive.org/web/20210309/https://dead.example/tool">archived copy</a>.' in page
    assert '<a href="https://dead.example/article?id=1" class="link-gone">Dead article</a>' in page
    assert "https://web.archive.org/web/20210309/https://dead.example/article?id=1" in page
    assert "alive.example/\" class" not in page and "web/20210309/https://alive.example" not in page


def test_bad_linkstatus_file_fails_the_build_with_its_line(tmp_path: Path) -> None:
    root = _site(tmp_path, "https://dead.example/tool:\n  since: 2024-05-01\n  failures: many\n")
    with pytest.raises(TidingsError) as exc:
        build(load_site(root), BuildOptions(workers=1, durable=False))
    assert str(exc.value.problems[0]) == "content/linkstatus.yaml:3: 'https://dead.example/tool.failures' must be a whole number, not 'many'"


def test_files_round_trip_and_sanitise_descriptions(tmp_path: Path) -> None:
    (tmp_path / "content").mkdir()
    (tmp_path / "content/linkstatus.yaml").write_bytes(dump_dead_links({"https://x.example/a": DeadLink(since="2024-01-02", reason="r: with colon", failures=2)}))
    assert read_dead_links(tmp_path) == {"https://x.example/a": DeadLink(since="2024-01-02", reason="r: with colon", failures=2)}
    meta = {"https://x.example/": PageMeta(title="<b>T</b>", description="a <script>alert(1)</script> & b")}
    (tmp_path / "content/linkmeta.yaml").write_bytes(dump_link_meta(meta))
    assert read_link_meta(tmp_path) == meta
    (tmp_path / "content/linkstatus.yaml").write_text("not-a-url:\n  since: x\n")
    with pytest.raises(ConfigError):
        read_dead_links(tmp_path)


def test_wayback_url() -> None:
    when = datetime(2019, 7, 4, 23, 0, tzinfo=UTC)
    assert wayback_url("https://a.example/p?q=1#frag", when) == "https://web.archive.org/web/20190704/https://a.example/p?q=1"


def test_fix_replacements_keep_fragments_and_whole_urls_only() -> None:
    status = LinkStatus("https://a.example/old#x", REDIRECTED, "moved", final_url="https://a.example/new", permanent=True)
    assert replacement_for("https://a.example/old#x", status) == "https://a.example/new#x"
    temporary = LinkStatus("https://a.example/old", REDIRECTED, "moved", final_url="https://a.example/new")
    assert replacement_for("https://a.example/old", temporary) == ""
    text = "[a](https://a.example/old) <https://a.example/old> https://a.example/older https://a.example/old/sub x.https://a.example/old\n"
    new, count = rewrite_text(text, {"https://a.example/old": "https://a.example/new"})
    assert count == 2
    assert new == "[a](https://a.example/new) <https://a.example/new> https://a.example/older https://a.example/old/sub x.https://a.example/old\n"
