"""The issue reader: headers, sections, grouping rules, links — on small fixtures and real newsletters."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from generator.config import DEFAULT_SECTION_KINDS
from generator.content.issues import IssueSettings, parse_issue_text, read_issue
from generator.errors import ContentError
from generator.model import ItemGroup, Prose

from ..conftest import seed

SETTINGS = IssueSettings(tuple(DEFAULT_SECTION_KINDS.items()), "Europe/London")


def parse(text: str, path: str = "content/issues/7.md"):
    return parse_issue_text(path, text.lstrip("\n"), SETTINGS)


def problems(text: str, path: str = "content/issues/7.md") -> list[str]:
    with pytest.raises(ContentError) as info:
        parse(text, path)
    return [str(p) for p in info.value.problems]


# -- headers


def test_yaml_front_matter_fields():
    issue = parse(
        """
---
title: Weekly notes \\#12 - spring
date: 2024-03-10 09:30
tags: [kubernetes, security]
summary: Short <b>summary</b>.
draft: true
---
Intro text.
"""
    )
    assert issue.number == 12
    assert issue.title == "Weekly notes #12 - spring"
    assert issue.date == datetime(2024, 3, 10, 9, 30, tzinfo=issue.date.tzinfo)
    assert issue.date.utcoffset() == timedelta(0)  # Europe/London in March (before DST)
    assert issue.tags == ("kubernetes", "security")
    assert issue.summary == "Short summary."
    assert issue.draft is True
    assert issue.slug == "12"


def test_number_from_front_matter_wins_over_title_and_file_name():
    issue = parse("---\ntitle: Issue 3\nnumber: 41\ndate: 2024-01-01\n---\n", path="content/issues/099.md")
    assert issue.number == 41


def test_number_from_file_name_when_title_has_none():
    issue = parse("---\ntitle: Spring special\ndate: 2024-01-01\n---\n", path="content/issues/042-spring.md")
    assert issue.number == 42


def test_no_number_gives_a_slug_from_the_file_name():
    issue = parse("---\ntitle: The State of Things 0.7\ndate: 2024-01-01\n---\n", path="content/issues/2024-01-01-state-of-things.md")
    assert issue.number is None
    assert issue.slug == "state-of-things"
    assert issue.label == "The State of Things 0.7"


def test_pelican_headers():
    issue = parse(
        """
Title: This Week in Things 7
Date: 2020-12-2
Tags: rust, weekly
Category: This Week
Status: draft

Hello.
"""
    )
    assert issue.number == 7
    assert issue.date.date().isoformat() == "2020-12-02"
    assert issue.tags == ("rust", "weekly")
    assert issue.category == "This Week"
    assert issue.draft is True
    assert issue.intro is not None and "Hello." in issue.intro.html


def test_header_problems_are_all_reported_with_lines():
    found = problems("---\ntitle: Fine\ndate: 10th of never\nnumber: -3\ndraft: maybe\n---\n")
    assert found == [
        "content/issues/7.md:3: cannot read date '10th of never'; write it as YYYY-MM-DD or YYYY-MM-DD HH:MM",
        "content/issues/7.md:4: 'number' must be a positive whole number, not -3",
        "content/issues/7.md:5: 'draft' must be true or false, not 'maybe'",
    ]


def test_missing_front_matter():
    assert problems("Just text\n\nNo header here.\n") == [
        "content/issues/7.md:1: missing front matter: start the file with '---', 'title:' and 'date:' lines"
    ]


def test_missing_title_and_date():
    assert problems("---\ntags: [a]\n---\nBody\n") == [
        "content/issues/7.md:1: missing 'title' in the header",
        "content/issues/7.md:1: missing 'date' in the header",
    ]


def test_invalid_yaml_points_at_its_line():
    found = problems("---\ntitle: A\ndate: 2024-01-01\ntags: [unclosed\n---\n")
    assert len(found) == 1 and found[0].startswith("content/issues/7.md:") and "invalid front matter" in found[0]


def test_unclosed_front_matter():
    assert problems("---\ntitle: A\n") == ["content/issues/7.md:1: front matter starts with '---' but has no closing '---'"]


def test_non_utf8_file_names_the_line():
    data = "---\ntitle: A\ndate: 2024-01-01\n---\nfine\n".encode() + b"caf\xe9\n"
    with pytest.raises(ContentError) as info:
        read_issue("content/issues/7.md", data, SETTINGS)
    assert [str(p) for p in info.value.problems] == ["content/issues/7.md:6: not valid UTF-8 text"]


def test_unknown_section_kind_is_an_error_with_its_line():
    found = problems("---\ntitle: A\ndate: 2024-01-01\n---\n\n## Hiring {kind=careers}\n\n- [x](https://x.example)\n")
    assert found == ["content/issues/7.md:6: section kind 'careers' is not in the config (known: events, jobs, news, sponsor, tools)"]


# -- sections and items

HEADER = "---\ntitle: Test 1\ndate: 2024-01-07\n---\n"


def test_sections_kinds_from_heading_keywords_and_explicit_kind():
    issue = parse(
        HEADER
        + """
## Our sponsor this week
Text.
<br>[https://s.example](https://s.example)

## Reading {kind=news}
- [A](https://a.example)

## Miscellany
- [B](https://b.example)
"""
    )
    assert [(s.kind, s.title) for s in issue.sections] == [
        ("sponsor", "Our sponsor this week"),
        ("news", "Reading"),
        ("general", "Miscellany"),
    ]
    assert issue.sections[0].items[0].sponsored is True


def test_deeper_headings_nest_and_inherit_kind():
    issue = parse(
        HEADER
        + """
# Updates
## Official
* [One](https://one.example)
### Deep
* [Two](https://two.example)
## Upcoming Events
* [Meetup](https://m.example)
# Jobs
* [Job](https://j.example)
"""
    )
    top = issue.sections
    assert [s.title for s in top] == ["Updates", "Jobs"]
    assert [(s.title, s.kind, s.level) for s in top[0].subsections] == [("Official", "news", 2), ("Upcoming Events", "events", 2)]
    assert top[0].subsections[0].subsections[0].title == "Deep"
    assert [i.kind for i in issue.iter_items()] == ["news", "news", "events", "jobs"]
    assert [i.section for i in issue.iter_items()] == ["updates", "updates", "updates", "jobs"]


def test_list_items_titles_labels_and_links():
    issue = parse(
        HEADER
        + """
## News
* [video] [series] [State machines, part 1](https://v.example/1)
* [A plain post](https://p.example/post) and [its discussion](https://d.example/t)
* 2024-01-10 | Online | [Meetup](https://m.example)
"""
    )
    items = issue.sections[0].items
    assert [i.title for i in items] == ["State machines, part 1", "A plain post", None]
    assert items[0].links[0].labels == ("video", "series")
    assert [len(i.links) for i in items] == [1, 2, 1]
    assert all(link.inline for i in items for link in i.links)
    assert items[2].display_title.startswith("2024-01-10 | Online | Meetup")
    assert items[1].pos.line == 8  # header is lines 1-4, a blank line, then "## News" on 6


def test_list_without_links_is_prose():
    issue = parse(HEADER + "\n## Notes\n- one\n- two\n")
    (block,) = issue.sections[0].blocks
    assert isinstance(block, Prose)
    assert issue.sections[0].items == ()


def test_paragraph_items_lead_in_title_trailing_text_and_two_links():
    issue = parse(
        HEADER
        + """
Sponsor
=======

[Webinar] Faster deploys

Join us to learn about deploys.
<br>[https://w.example/webinar](https://w.example/webinar)

About Acme: we make things.

News
====

First item commentary.
<br>[https://one.example/a](https://one.example/a)
<br>[https://two.example/b](https://two.example/b)


Second item, with an inline [reference](https://ref.example) inside.
<br>[https://three.example/c](https://three.example/c)

Jobs
====

Acme is hiring.

jobs@acme.io
"""
    )
    sponsor, news, jobs = issue.sections
    (webinar,) = sponsor.items
    assert webinar.title == "[Webinar] Faster deploys"
    assert "About Acme" in webinar.commentary and "About Acme" in webinar.commentary_html
    assert "<br>" not in webinar.commentary_html and "w.example/webinar" not in webinar.commentary
    first, second = news.items
    assert [(l.url, l.inline) for l in first.links] == [("https://one.example/a", False), ("https://two.example/b", False)]
    assert [l.pos.line for l in first.links] == [first.pos.line + 1, first.pos.line + 2]
    assert [(l.text, l.inline) for l in second.links] == [("reference", True), ("https://three.example/c", False)]
    (job,) = jobs.items
    assert job.commentary.startswith("Acme is hiring.")
    assert [l.url for l in job.links] == ["mailto:jobs@acme.io"]


def test_paragraph_with_only_inline_links_is_prose_and_links_still_counted():
    issue = parse(HEADER + "\n## Crate of the week\n\nThis week's crate is [foo](https://foo.example), a thing.\n")
    assert issue.sections[0].items == ()
    assert [l.url for l in issue.iter_links()] == ["https://foo.example"]


def test_bare_urls_and_addresses_become_links_but_dotted_words_do_not():
    issue = parse(HEADER + "\n## News\n\n- See https://bare.example/x and ASP.NET or Node.js, www.w3.org, or mail ops@team.dev\n")
    assert [l.url for l in issue.iter_links()] == ["https://bare.example/x", "mailto:ops@team.dev"]


def test_anchors_are_unique_and_do_not_clash_with_section_slugs():
    issue = parse(HEADER + "\n## News\n- [News](https://a.example)\n- [News](https://b.example)\n")
    anchors = [i.anchor for i in issue.iter_items()]
    assert anchors == ["news-2", "news-3"]
    assert issue.sections[0].slug == "news"


def test_more_marker_sets_the_summary():
    issue = parse(HEADER + "Welcome to the issue.\n\n<!-- more -->\n\nMore intro.\n\n## News\n- [a](https://a.example)\n")
    assert issue.summary == "Welcome to the issue."


def test_decoration_lines_are_ignored():
    issue = parse(HEADER + "\n## Tools\n\nA tool.\n<br>[https://t.example](https://t.example)\n\n\n======\n")
    assert len(issue.sections[0].items) == 1
    assert all(isinstance(b, ItemGroup) for b in issue.sections[0].blocks)


# -- the real examples


def _summary(issue):
    return [(s.kind, s.title, [len(i.links) for i in s.items]) for s in issue.sections]


def test_seed_devops_weekly_528_as_a_reader_counts_it():
    path = seed("000")
    issue = read_issue("seeds/000.txt", path.read_bytes(), SETTINGS)
    assert issue.number == 528
    assert issue.title == "DEVOPS WEEKLY ISSUE #528 - 7th February 2021"
    assert issue.date == datetime(2021, 2, 7, 8, 53, 26, tzinfo=timezone.utc)
    assert issue.intro is not None and issue.summary.startswith("The usual mix of topics this week")
    assert _summary(issue) == [
        ("sponsor", "env0 sponsors Devops Weekly", [1]),
        ("news", "News", [1] * 8),
        ("events", "Events", [1]),
        ("tools", "Tools", [1, 1]),
    ]
    sponsor = issue.sections[0].items[0]
    assert sponsor.sponsored and "About env0" in sponsor.commentary
    assert issue.outro == ()
    assert len(list(issue.iter_links())) == 12
    assert all(not link.inline for link in issue.iter_links())


def test_seed_devops_weekly_245_as_a_reader_counts_it():
    path = seed("001")
    issue = read_issue("seeds/001.txt", path.read_bytes(), SETTINGS)
    assert issue.number == 245
    assert issue.date.utcoffset() == timedelta(hours=1)
    assert _summary(issue) == [
        ("sponsor", "Sponsor", [1]),
        ("sponsor", "Sponsored", [1]),
        ("news", "News", [1, 1, 1, 1, 1, 1, 1, 1, 2]),
        ("jobs", "Jobs", [1]),
        ("tools", "Tools", [1, 1, 1, 1]),
    ]
    assert issue.sections[1].items[0].title == "[Webinar] Correlating Metrics Across the Continuous Delivery Pipeline"
    assert issue.sections[3].items[0].links[0].url == "mailto:thayer@team-prime.com"
    # The sponsor message repeated at the very end is a closing note, not a fifth tool.
    (closing,) = [i for b in issue.outro for i in b.items]
    assert closing.sponsored and closing.links[0].url == "http://brightbox.com/devopsweekly"
    assert len(list(issue.iter_items())) == 16
    assert len(list(issue.iter_links())) == 18


_MD_LINK = re.compile(r"\[[^\]]*\]\((https?://(?:[^()\s]|\([^()\s]*\))+)\)")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_FENCED = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
_LABELLED = re.compile(r"^\s*[*-] \[(video|audio)\] \[[^\]]+\]\((https?://[^)\s]+)\)", re.MULTILINE)


def test_every_this_week_in_rust_issue_parses_with_its_links_and_labels(twir_issues):
    """All 667 TWiR files parse unchanged; every inline link in item text is found; labels kept."""
    from generator.urls import normalize_url

    issues, texts = twir_issues
    assert len(issues) == 667
    assert len({i.number for i in issues if i.number is not None}) == len([i for i in issues if i.number is not None])
    missing: list[str] = []
    labelled = 0
    for issue in issues:
        text = _FENCED.sub("", _COMMENT.sub("", texts[issue.source_path]))
        found = {link.key for link in issue.iter_links()}
        for url in _MD_LINK.findall(text):
            if normalize_url(url) not in found:
                missing.append(f"{issue.source_path}: {url}")
        labels = {(link.key, label) for link in issue.iter_links() for label in link.labels}
        for label, url in _LABELLED.findall(text):
            assert (normalize_url(url), label) in labels, f"{issue.source_path}: [{label}] {url}"
            labelled += 1
    assert missing == []
    assert labelled > 1000
    assert sum(len(list(i.iter_items())) for i in issues) > 60_000
