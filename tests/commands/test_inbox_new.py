"""The editor's workflow: inbox (featured flags, filters, pick/dismiss) and `tidings new --picks`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from generator.build import issue_settings
from generator.cli import main
from generator.commands.new import next_date
from generator.config import load_site
from generator.content.issues import read_issue

FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Ops</title><link>https://ops.example/</link>
<item><title>Old favourite</title><link>https://old.example/post?utm_medium=email</link><guid>1</guid><pubDate>Mon, 13 Oct 2025 08:00:00 GMT</pubDate><description>Seen before.</description></item>
<item><title>Brand new [tool] &lt;b&gt;*now*&lt;/b&gt;</title><link>https://new.example/tool</link><guid>2</guid><pubDate>Tue, 14 Oct 2025 08:00:00 GMT</pubDate><description>Try &lt;b&gt;this&lt;/b&gt; &amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt; [x](javascript:alert(2)) tool.</description></item>
<item><title>Before the last issue</title><link>https://older.example/</link><guid>3</guid><pubDate>Mon, 06 Oct 2025 08:00:00 GMT</pubDate></item>
</channel></rss>"""

ISSUE = """---
title: Ops Weekly 1
number: 1
date: 2025-10-12
---

News
====

- [Old favourite](https://old.example/post)
  We liked it.
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "feeds" / "samples").mkdir(parents=True)
    (root / "content" / "issues").mkdir(parents=True)
    (root / "tidings.yaml").write_text("title: Ops Weekly\nbase_url: https://ops-weekly.example/\n")
    (root / "feeds" / "samples" / "ops.rss").write_bytes(FEED)
    (root / "feeds" / "feeds.yaml").write_text("sources:\n  - name: Ops\n    url: samples/ops.rss\n    section: tools\n")
    (root / "content" / "issues" / "1.md").write_text(ISSUE)
    assert main(["-C", str(root), "fetch"]) == 0
    return root


def inbox(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[dict]:
    capsys.readouterr()
    assert main(["-C", str(root), "inbox", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_inbox_since_last_issue_with_featured_flag(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entries = inbox(site, capsys)
    assert [e["title"] for e in entries] == ["Brand new [tool] *now*", "Old favourite"]  # newest first, since 2025-10-12
    assert entries[1]["featured_in"] == ["#1"] and entries[0]["featured_in"] == []
    assert [e["title"] for e in inbox(site, capsys, "--since", "2025-01-01", "--search", "last issue")] == ["Before the last issue"]
    assert inbox(site, capsys, "--source", "nope") == []
    assert main(["-C", str(site), "inbox"]) == 0
    text = capsys.readouterr().out
    assert "== tools (2)" in text and "already featured in #1" in text and "Ops · https://old.example/post" in text


def test_pick_dismiss_and_unknown_ids(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = {e["title"]: e["id"] for e in inbox(site, capsys)}
    assert main(["-C", str(site), "inbox", "dismiss", str(ids["Old favourite"])]) == 0
    assert main(["-C", str(site), "inbox", "pick", str(ids["Brand new [tool] *now*"])]) == 0
    assert [(e["title"], e["state"]) for e in inbox(site, capsys)] == [("Brand new [tool] *now*", "picked")]
    assert main(["-C", str(site), "inbox", "pick", "999"]) == 1
    assert main(["-C", str(site), "inbox", "pick"]) == 2


def test_new_with_picks_makes_a_draft_the_reader_accepts(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ids = {e["title"]: e["id"] for e in inbox(site, capsys)}
    assert main(["-C", str(site), "new", "--picks"]) == 1  # nothing picked yet
    assert main(["-C", str(site), "inbox", "pick", str(ids["Brand new [tool] *now*"])]) == 0
    assert main(["-C", str(site), "new", "--picks"]) == 0
    path = site / "content" / "issues" / "2.md"
    issue = read_issue("content/issues/2.md", path.read_bytes(), issue_settings(load_site(site)))
    assert issue.number == 2 and issue.draft and issue.date.date() == date(2025, 10, 19)
    assert [s.title for s in issue.sections] == ["News", "Tools", "Events", "Jobs"]
    (item,) = list(issue.iter_items())
    assert item.kind == "tools" and item.links[0].url == "https://new.example/tool"
    html = item.commentary_html
    assert "<script" not in html and "<b>" not in html and 'href="javascript' not in html
    assert "Brand new [tool] *now*" in html and "[x](javascript:alert(2))" in html  # shown as text, not markup
    assert main(["-C", str(site), "new", "--picks"]) == 0  # next one is 3; 2 stays untouched
    assert (site / "content" / "issues" / "3.md").exists()


@pytest.mark.parametrize("last, cadence, expected", [
    (date(2025, 1, 31), "monthly", date(2025, 2, 28)), (date(2025, 12, 15), "monthly", date(2026, 1, 15)),
    (date(2025, 1, 1), "weekly", date(2025, 1, 8)), (date(2025, 1, 1), "fortnightly", date(2025, 1, 15)),
    (date(2025, 1, 1), "daily", date(2025, 1, 2)), (None, "weekly", date(2030, 5, 5)),
])
def test_next_date(last: date | None, cadence: str, expected: date) -> None:
    assert next_date(last, cadence, date(2030, 5, 5)) == expected


def test_new_fills_missing_titles_and_excerpts_from_page_metadata(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "site"
    (root / "feeds" / "samples").mkdir(parents=True)
    (root / "content" / "issues").mkdir(parents=True)
    (root / "tidings.yaml").write_text("title: Ops Weekly\nbase_url: https://ops-weekly.example/\n")
    (root / "content" / "issues" / "1.md").write_text(ISSUE)
    bare = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Bare</title><link>https://bare.example/</link>
<item><title>https://bare.example/post</title><link>https://bare.example/post</link><guid>b1</guid><pubDate>Tue, 14 Oct 2025 08:00:00 GMT</pubDate></item>
</channel></rss>"""
    (root / "feeds" / "samples" / "bare.rss").write_bytes(bare)
    (root / "feeds" / "feeds.yaml").write_text("sources:\n  - name: Bare\n    url: samples/bare.rss\n    section: news\n")
    # What `tidings check --all` learned about the page, committed beside the issues.
    (root / "content" / "linkmeta.yaml").write_text(
        "https://bare.example/post:\n  title: 'Queues, explained <b>simply</b>'\n  description: A patient tour of backpressure.\n"
    )
    assert main(["-C", str(root), "fetch"]) == 0
    (entry,) = inbox(root, capsys)
    assert main(["-C", str(root), "inbox", "pick", str(entry["id"])]) == 0
    assert main(["-C", str(root), "new", "--picks"]) == 0
    issue = read_issue("content/issues/2.md", (root / "content/issues/2.md").read_bytes(), issue_settings(load_site(root)))
    (item,) = list(issue.iter_items())
    assert item.title == "Queues, explained <b>simply</b>"  # the page's title, kept as text
    assert "<b>" not in item.commentary_html and "A patient tour of backpressure." in item.commentary_html
