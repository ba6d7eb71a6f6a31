"""The search index's shards: blocks of issues, oldest first, and the standalone pages."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

from generator.config import DEFAULT_SECTION_KINDS
from generator.content.archive import build_archive
from generator.content.issues import IssueSettings, parse_issue_text
from generator.content.pages import read_page
from generator.render.search import search_shards

SETTINGS = IssueSettings(tuple(DEFAULT_SECTION_KINDS.items()), "UTC")
TEMPLATE = parse_issue_text("content/issues/1.md", "---\ntitle: Issue 1\nnumber: 1\ndate: 2020-01-01\n---\nHello.\n", SETTINGS)
START = datetime(2010, 1, 1, tzinfo=timezone.utc)  # 3,301 days later is still in the past


def issues(count: int) -> list:
    """``count`` issues, one a day, numbered from 1 (copies of one parsed issue)."""
    return [
        dataclasses.replace(TEMPLATE, number=n, slug=str(n), title=f"Issue {n}", date=START + timedelta(days=n), source_path=f"content/issues/{n}.md")
        for n in range(1, count + 1)
    ]


def test_blocks_of_fifty_oldest_first_and_the_newest_block_first() -> None:
    shards = search_shards(build_archive(issues(120)), [])
    assert [s.folder for s in shards] == ["pagefind/issues-0003-2", "pagefind/issues-0003", "pagefind/issues-0002", "pagefind/issues-0001"]
    assert shards[-1].files == tuple(f"issues/{n}/index.html" for n in range(1, 51))
    assert shards[1].files == tuple(f"issues/{n}/index.html" for n in range(101, 111))
    assert shards[0].files == tuple(f"issues/{n}/index.html" for n in range(111, 121)), "the block not yet full comes in tens"


def test_a_new_issue_changes_only_the_newest_part() -> None:
    before = {s.folder: s.files for s in search_shards(build_archive(issues(120)), [])}
    after = {s.folder: s.files for s in search_shards(build_archive(issues(121)), [])}
    assert [name for name in after if after[name] != before.get(name)] == ["pagefind/issues-0003-3"]
    assert after["pagefind/issues-0003-3"] == ("issues/121/index.html",)


def test_the_fiftieth_issue_makes_its_block_whole() -> None:
    before = {s.folder: s.files for s in search_shards(build_archive(issues(149)), [])}
    after = {s.folder: s.files for s in search_shards(build_archive(issues(150)), [])}
    assert sorted(before) == ["pagefind/issues-0001", "pagefind/issues-0002", "pagefind/issues-0003", *(f"pagefind/issues-0003-{n}" for n in range(2, 6))]
    assert sorted(after) == ["pagefind/issues-0001", "pagefind/issues-0002", "pagefind/issues-0003"]
    assert after["pagefind/issues-0003"] == tuple(f"issues/{n}/index.html" for n in range(101, 151))
    assert after["pagefind/issues-0002"] == before["pagefind/issues-0002"]


def test_past_32_blocks_the_blocks_double() -> None:
    shards = search_shards(build_archive(issues(3_301)), [])
    full = [s for s in shards if len(s.files) == 200]
    assert len(full) == 16 and [len(s.files) for s in shards[:3]] == [21, 40, 40], "the rest: parts of a fifth of 200"
    assert len(shards) == 19
    counts = [len(search_shards(build_archive(issues(n)), [])) for n in (1_599, 1_600, 1_601, 3_199)]
    assert max(counts) <= 36, counts


def test_standalone_pages_are_a_shard_of_their_own() -> None:
    page = read_page("content/pages/about.md", b"---\ntitle: About\n---\n\nWho we are.\n")
    shards = search_shards(build_archive(issues(3)), [page])
    assert [(s.folder, s.files) for s in shards] == [
        ("pagefind/issues-0001", ("issues/1/index.html", "issues/2/index.html", "issues/3/index.html")),
        ("pagefind/pages", ("about/index.html",)),
    ]
    assert [s.folder for s in search_shards(build_archive([]), [page])] == ["pagefind/pages"]
