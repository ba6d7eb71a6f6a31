"""Offline link lint: URL rules, the silencing marker, duplicates across issues."""

from __future__ import annotations

import pytest

from generator.config import DEFAULT_SECTION_KINDS
from generator.content.issues import IssueSettings, parse_issue_text
from generator.lint import (
    ERROR,
    WARNING,
    lint_issue,
    lint_source,
    lint_url,
    silenced_lines,
)

SETTINGS = IssueSettings(tuple(DEFAULT_SECTION_KINDS.items()), "UTC")


@pytest.mark.parametrize(
    ("url", "severity", "words"),
    [
        ("https://example.org/a?utm_source=x&utm_medium=y&id=1", WARNING, "tracking parameters utm_medium, utm_source"),
        ("http://example.org/", WARNING, "uses http://"),
        ("https://exa mple.org/", ERROR, "contains spaces"),
        ("https:///path", ERROR, "no host name"),
        ("https://example.org:99999/", ERROR, "malformed URL"),
        ("https://exa_mple!.org/", ERROR, "is not valid"),
        ("https://intranet/", ERROR, "has no dot"),
        ("https://localhost:8000/", WARNING, "private or local"),
        ("https://192.168.1.10/", WARNING, "private or local"),
        ("javascript:alert(1)", ERROR, "'javascript:' links are not allowed"),
        ("mailto:someone", ERROR, "malformed e-mail address"),
        ("ftp://ftp.example.org/f", WARNING, "'ftp:' link cannot be checked"),
        ("about/", WARNING, "relative link"),
    ],
)
def test_lint_url_findings(url: str, severity: str, words: str) -> None:
    findings = lint_url(url)
    assert any(s == severity and words in m for s, m in findings), findings


@pytest.mark.parametrize("url", ["https://example.org/a?id=1", "mailto:editor@example.org", "#section", "https://bücher.example/"])
def test_lint_url_accepts_good_links(url: str) -> None:
    assert lint_url(url) == []


def test_silenced_lines() -> None:
    text = "a\n- [x](https://x.example/) <!-- tidings: nocheck -->\n<!--tidings:nocheck-->\n\n- [y](https://y.example/)\n- [z](https://z.example/)\n"
    assert silenced_lines(text) == {2, 3, 5}


def test_lint_source_finds_links_markdown_drops() -> None:
    text = "- [Run](javascript:alert(1)) this\n- <a href='vbscript:x'>old</a>\n- fine: https://example.org/\n[ref]: data:text/html,hi\n"
    findings = lint_source("i.md", text, silenced={2})
    assert [(f.pos.line, f.url) for f in findings] == [(1, "javascript:alert(1"), (4, "data:text/html,hi")]
    assert all(f.severity == ERROR for f in findings)


def _issue(number: int, date: str, body: str):  # type: ignore[no-untyped-def]
    return parse_issue_text(f"content/issues/{number}.md", f"---\ntitle: Issue {number}\ndate: {date}\n---\n{body}", SETTINGS)


def test_duplicates_within_window_and_issue() -> None:
    old = _issue(1, "2024-01-01", "## News\n\n- [A](https://a.example/x) first.\n\nThanks to [B](https://b.example/) for help.\n")
    older = _issue(2, "2023-06-01", "## News\n\n- [C](https://c.example/) ancient.\n")
    new = _issue(
        3,
        "2024-01-08",
        "## News\n\n- [A again](https://a.example/x?utm_source=t) again.\n- [C](https://c.example/) back.\n"
        "- [D](https://d.example/) one.\n- [D twice](https://d.example/) two.\n\nCredits: [B](https://b.example/).\n",
    )
    findings = lint_issue(new, list(new.iter_links()), silenced=set(), history=[old, older, new], window=1)
    messages = [(f.pos.line, f.message) for f in findings]
    assert (7, "already featured in #1 (2024-01-01)") in messages
    assert not any("#2" in m for _, m in messages)  # outside the window of one issue
    assert (10, "also featured on line 9 of this issue") in messages
    assert not any("https://b.example/" == f.url and "featured" in f.message for f in findings)  # prose credits are not featured links
    silenced = lint_issue(new, list(new.iter_links()), silenced={7}, history=[old, new], window=1)
    assert not any(f.pos.line == 7 for f in silenced)
