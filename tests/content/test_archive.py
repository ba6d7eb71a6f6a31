"""The archive: ordering, drafts and future issues, duplicate numbers, indexes."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from generator.config import DEFAULT_SECTION_KINDS
from generator.content.archive import build_archive
from generator.content.issues import IssueSettings, parse_issue_text
from generator.errors import ContentError

SETTINGS = IssueSettings(tuple(DEFAULT_SECTION_KINDS.items()), "UTC")
NOW = datetime(2024, 6, 1, tzinfo=timezone.utc)


def issue(number: int, date: str, *, draft: bool = False, tags: str = "[]", body: str = "", path: str | None = None):
    text = f"---\ntitle: Issue {number}\nnumber: {number}\ndate: {date}\ndraft: {str(draft).lower()}\ntags: {tags}\n---\n{body}"
    return parse_issue_text(path or f"content/issues/{number}.md", text, SETTINGS)


def test_newest_first_neighbours_years_and_unpublished_left_out():
    issues = [
        issue(1, "2023-12-30"),
        issue(2, "2024-01-06"),
        issue(3, "2024-01-13", draft=True),
        issue(4, "2024-02-03"),
        issue(5, "2030-01-01"),
    ]
    archive = build_archive(issues, now=NOW)
    assert [i.number for i in archive.issues] == [4, 2, 1]
    assert archive.latest.number == 4
    older, newer = archive.neighbours(archive.by_number[2])
    assert (older.number, newer.number) == (1, 4)
    assert {y: {m: [i.number for i in v] for m, v in ms.items()} for y, ms in archive.by_year().items()} == {
        2024: {2: [4], 1: [2]},
        2023: {12: [1]},
    }
    with_drafts = build_archive(issues, include_drafts=True, now=NOW)
    assert [i.number for i in with_drafts.issues] == [5, 4, 3, 2, 1]


def test_duplicate_numbers_name_both_files():
    with pytest.raises(ContentError) as info:
        build_archive([issue(7, "2024-01-01", path="content/issues/a.md"), issue(7, "2024-01-08", path="content/issues/b.md")], now=NOW)
    assert [str(p) for p in info.value.problems] == ["content/issues/b.md:1: issue number 7 is already used by content/issues/a.md"]


def test_kinds_tags_and_link_index():
    body_old = "\n## Tools\n- [Tool A](https://a.example/?utm_source=x)\n\n## News\n- [Story](https://s.example)\n"
    body_new = "\n## Tools\n- [Tool A again](https://a.example/)\n- [Tool B](https://b.example)\n"
    archive = build_archive(
        [issue(1, "2024-01-01", tags="[k8s, Security]", body=body_old), issue(2, "2024-01-08", tags="[k8s]", body=body_new)], now=NOW
    )
    assert [(e.issue.number, e.item.title) for e in archive.kinds["tools"]] == [(2, "Tool A again"), (2, "Tool B"), (1, "Tool A")]
    assert {slug: [i.number for i in v] for slug, v in archive.tags.items()} == {"k8s": [2, 1], "security": [1]}
    assert archive.tag_names["security"] == "Security"
    links = {entry.key: entry for entry in archive.links}
    tool_a = links["https://a.example/"]
    assert [(i.number, anchor) for i, anchor in tool_a.refs] == [(2, "tool-a-again"), (1, "tool-a")]
    assert archive.links[0].key == "https://a.example/"  # most recently featured first


def test_issues_read_back_from_their_heads_give_the_same_indexes_without_decoding_a_body():
    from generator.content.archive import index_summary
    from generator.serialize import issue_head, issue_json, stored_issue

    texts = [
        "---\ntitle: One\ndate: 2024-01-01\nnumber: 1\ntags: [rust, web]\n---\nSee [the intro](https://intro.example/).\n\n"
        "## News\n\n- [A](https://a.example/) first.\n- [B](https://b.example/) second.\n\n## Tools\n\n- [T](https://t.example/) and [A](https://a.example/)\n",
        "---\ntitle: Two\ndate: 2024-01-08\nnumber: 2\ntags: [rust]\n---\n\n## News\n\n- [A again](https://a.example/) later.\n",
    ]
    fresh = [parse_issue_text(f"content/issues/{n}.md", text, SETTINGS) for n, text in enumerate(texts, 1)]
    stored = [stored_issue(issue_head(i, index_summary(i)), issue_json(i)) for i in fresh]
    a, b = build_archive(fresh, now=NOW), build_archive(stored, now=NOW)
    assert not any(i.body_decoded for i in stored)

    def entries(archive):
        return {kind: [(e.issue.slug, e.position, e.anchor) for e in found] for kind, found in archive.kinds.items()}

    def links(archive):
        return [(f.key, f.url, f.text, f.host, [(i.slug, anchor) for i, anchor in f.refs]) for f in archive.links]

    assert entries(a) == entries(b) and links(a) == links(b) and a.tags.keys() == b.tags.keys()
    assert not any(i.body_decoded for i in stored), "nothing above reads a body"
    assert [e.item for e in b.kinds["news"]] == [e.item for e in a.kinds["news"]]
    assert [e.item.anchor for e in b.kinds["news"]] == [e.anchor for e in b.kinds["news"]]
