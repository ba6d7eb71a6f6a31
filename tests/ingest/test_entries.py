"""Bytes to entries: the seed feeds, JSON Feed, HTML listings, filters and dedup."""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from generator.ingest.entries import FeedEntry, ParseError, dedupe, parse_entries, same_title, title_key
from generator.ingest.subscriptions import Selectors, SourceSpec

SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"


def seed(prefix: str) -> Path:
    matches = sorted(SEEDS.glob(f"{prefix}_*"))
    assert matches, "the shared seeds must be beside the repository (../shared/seeds)"
    return matches[0]


def spec(**kw: object) -> SourceSpec:
    return SourceSpec(name="Test", url="https://feed.example/", **kw)  # type: ignore[arg-type]


def test_seed_002_gives_five_entries_with_tags_and_clean_excerpts() -> None:
    body = seed("002").read_bytes()
    parsed = parse_entries(body, {"Content-Type": "application/rss+xml; charset=utf-8"}, url="https://dev.to/feed/f4z3r", spec=spec(tags=("devops",)))
    assert parsed.format == "rss20" and len(parsed.entries) == 5
    first = parsed.entries[0]
    assert first.title.startswith("Beyond the Pod: Why wasmCloud")
    assert first.url.startswith("https://dev.to/ipt/beyond-the-pod")
    assert first.published is not None and first.published.isoformat() == "2025-10-21T05:08:44+00:00"
    for entry in parsed.entries:
        assert entry.tags[0] == "devops" and len(entry.tags) >= 3
        assert 100 < len(entry.excerpt) <= 400
        assert "<" not in entry.excerpt and "&lt;" not in entry.excerpt and "\n" not in entry.excerpt
        assert entry.excerpt.endswith((".", "…", "?", "!"))
    assert set(parsed.entries[0].tags) >= {"webassembly", "cloudnative"}


def _seed_003_feed() -> bytes:
    """The repeated entry of seed 003 as a feed: same story three times with different GUIDs and links."""
    lines = seed("003").read_text(encoding="utf-8").splitlines()
    title, summary = lines[1], lines[2]
    assert lines[4] == title and lines[7] == title  # the seed repeats it
    items = []
    links = ["https://blogs.oracle.com/linux/devsecops", "https://blogs.oracle.com/linux/devsecops?utm_source=feed", "https://blogs.oracle.com/linux/devsecops-2"]
    for n, link in enumerate(links):
        items.append(f"<item><title>{escape(title)}</title><link>{escape(link)}</link><guid>g{n}</guid><description>{escape(summary)}</description></item>")
    items.append(f"<item><title>{escape(lines[10])}</title><link>https://linux.example/scholarship</link><guid>g9</guid></item>")
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>News</title>{"".join(items)}</channel></rss>'.encode()


def test_seed_003_repeated_entries_appear_once() -> None:
    parsed = parse_entries(_seed_003_feed(), {"content-type": "application/rss+xml"}, url="https://news.example/feed", spec=spec())
    assert [e.title for e in parsed.entries] == ["The crucial role of Linux in DevSecOps", "Linux Training Scholarship Recipient Now Building Open Source Astronomical Tools"]
    assert parsed.entries[0].excerpt.startswith("White Paper: Think All Distros")


def _seed_004_page() -> bytes:
    """Seed 004 (a blog's post list: title, summary, "Read more") as the HTML page it came from."""
    blocks = seed("004").read_text(encoding="utf-8").split("\nRead more\n")
    articles = []
    for n, block in enumerate(b for b in blocks if b.strip()):
        paragraphs = [p.strip() for p in block.strip().split("\n\n") if p.strip()]
        title, body = paragraphs[0], paragraphs[1:]
        summary = "".join(f"<p>{escape(p)}</p>" for p in body)
        articles.append(
            f'<article class="post"><h2 class="title">{escape(title)}</h2><div class="summary">{summary}</div>'
            f'<time datetime="2023-0{n + 1}-15">15 {n}</time><a class="more" href="/posts/{n}/?ref=list">Read more</a></article>'
        )
    return ("<!doctype html><html><head><meta charset=utf-8><title>Posts</title></head><body>" + "".join(articles) + "</body></html>").encode()


def test_seed_004_listing_page_read_with_selectors() -> None:
    selectors = Selectors(item="article.post", title="h2.title", link="a.more", summary="div.summary", date="time")
    parsed = parse_entries(_seed_004_page(), {"content-type": "text/html"}, url="https://blog.example/posts/", spec=spec(type="html", selectors=selectors))
    assert len(parsed.entries) == 5
    first = parsed.entries[0]
    assert first.title == "Docker: How To Extract Image Filesystem Without Running Any Containers"
    assert first.url == "https://blog.example/posts/0/"  # resolved, tracking 'ref' dropped
    assert first.excerpt.startswith("A container image is a combination of layers")
    assert "Read more" not in first.excerpt
    assert first.published is not None and first.published.month == 1


def test_json_feed_1_0_and_1_1() -> None:
    for version in ("1", "1.1"):
        doc = {
            "version": f"https://jsonfeed.org/version/{version}",
            "title": "J",
            "home_page_url": "https://json.example/",
            "items": [
                {"id": 7, "url": "/posts/seven", "title": "Seven <em>things</em>", "content_html": "<p>Body <script>x()</script>text.</p>", "date_published": "2025-10-01T10:00:00+02:00", "tags": ["a"]},
                {"id": "8", "external_url": "https://elsewhere.example/8", "content_text": "Plain <b>text</b> body.", "authors": [{"name": "Ann"}]},
                {"id": "9", "url": "javascript:alert(1)", "title": "Bad link"},
                "not an object",
            ],
        }
        parsed = parse_entries(json.dumps(doc).encode(), {"content-type": "application/feed+json"}, url="https://json.example/feed.json", spec=spec())
        assert [e.url for e in parsed.entries] == ["https://json.example/posts/seven", "https://elsewhere.example/8"]
        first, second = parsed.entries
        assert first.title == "Seven things" and first.excerpt == "Body text." and first.guid == "7"
        assert first.published is not None and first.published.hour == 8
        assert second.excerpt == "Plain <b>text</b> body." and second.author == "Ann"  # plain text stays text
        assert parsed.warnings


def test_fatal_bodies_raise_parse_error() -> None:
    with pytest.raises(ParseError, match="empty"):
        parse_entries(b"  \n", {}, url="https://x.example/", spec=spec())
    with pytest.raises(ParseError, match="HTML page"):
        parse_entries(b"<!DOCTYPE html><html><body>hi</body></html>", {"content-type": "text/html"}, url="https://x.example/", spec=spec())
    with pytest.raises(ParseError, match="JSON"):
        parse_entries(b"{not json", {"content-type": "application/json"}, url="https://x.example/", spec=spec())
    with pytest.raises(ParseError, match="item selector"):
        parse_entries(b"<html><body></body></html>", {}, url="https://x.example/", spec=spec(type="html", selectors=Selectors(item="article")))


def _items(*titles: str) -> bytes:
    items = "".join(f"<item><title>{t}</title><link>https://x.example/{n}</link><pubDate>Mon, 0{n + 1} Sep 2025 00:00:00 GMT</pubDate><description>About {t}</description></item>" for n, t in enumerate(titles))
    return f'<rss version="2.0"><channel><title>x</title>{items}</channel></rss>'.encode()


def test_include_exclude_and_cap() -> None:
    body = _items("Kubernetes tips", "A webinar on Kubernetes", "Rust news", "Go release")
    got = parse_entries(body, {}, url="https://x.example/", spec=spec(include=("kubernetes", "go"), exclude=("webinar",)))
    assert [e.title for e in got.entries] == ["Kubernetes tips", "Go release"]
    capped = parse_entries(body, {}, url="https://x.example/", spec=spec(max_items=2))
    assert [e.title for e in capped.entries] == ["Go release", "Rust news"]  # newest first


def test_near_identical_titles() -> None:
    assert same_title(title_key("[Video] Why Kubernetes won the orchestration war"), title_key("Why Kubernetes Won The Orchestration War!"))
    assert same_title(title_key("Ten lessons from running Postgres at scale"), title_key("Ten lessons from running Postgres at scales"))
    assert not same_title(title_key("Release notes for version 1.2"), title_key("Release notes for version 1.3"))
    assert not same_title(title_key("Go 1.22"), title_key("Go 1.23"))


def test_hostile_feed_fixture_keeps_only_safe_entries() -> None:
    body = (FIXTURES / "hostile.rss").read_bytes()
    parsed = parse_entries(body, {"content-type": "application/rss+xml"}, url="https://evil.example/feed", spec=spec())
    urls = [e.url for e in parsed.entries]
    # the javascript: link is dropped; the entity-mangled one is just a relative path on the feed's host
    assert urls == ["https://evil.example/one", "https://evil.example/jav&", "https://evil.example/two", "https://evil.example/three"]
    titles = {e.url: e.title for e in parsed.entries}
    assert titles["https://evil.example/one"] == "Scripted title"
    assert titles["https://evil.example/three"] == "literal title"
    for e in parsed.entries:
        assert "<" not in e.excerpt and "alert(" not in e.excerpt and "javascript" not in e.excerpt
    assert {e.url: e.excerpt for e in parsed.entries}["https://evil.example/one"] == "Click here or there. Real words survive the cleaning."
    assert len(dedupe(parsed.entries)) == 4


def test_dedupe_compares_titles_only_where_they_can_match() -> None:
    def entry(n: int, title: str) -> FeedEntry:
        return FeedEntry(guid=f"g{n}", url=f"https://x.example/{n}", link=f"https://x.example/{n}", title=title, excerpt="", published=None)

    entries = [
        entry(1, "Ten lessons from running Postgres at scale"),
        entry(2, "Ten lessons from running Postgres at scales"),  # near-identical: dropped
        entry(3, "Release notes for version 1.2"),
        entry(4, "Release notes for version 1.3"),  # other numbers: kept
        entry(5, "Go 1.22"),
        entry(6, "go 1.22!"),  # a short title counts only when equal after folding
        entry(7, "Go 1.23"),
        entry(8, ""),
        entry(9, ""),  # no title: never a duplicate by title
    ]
    assert [e.guid for e in dedupe(entries)] == ["g1", "g3", "g4", "g5", "g7", "g8", "g9"]
