"""The site's feeds, each checked against its format's rules and read back by feedparser."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
import pytest

from generator.build import BuildOptions, build
from generator.config import load_site
from generator.render.feedformats import Feed, FeedEntry, to_json_feed, to_rss
from generator.render.syndication import links_feed

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "email" / "site"
ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
RFC822 = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@pytest.fixture
def public(email_site_public: Path) -> Path:
    return email_site_public


def _absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(parts.netloc)


def _hrefs(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="([^"]*)"', html)


def test_rss_follows_rss_2_0(public: Path) -> None:
    root = ET.parse(public / "feed.xml").getroot()
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel is not None
    for required in ("title", "link", "description"):
        assert (channel.findtext(required) or "").strip(), required
    assert channel.findtext("title") == "Ops & Friends Weekly"
    assert channel.findtext("description") == "A weekly digest of operations links <for tests>."
    assert RFC822.match(channel.findtext("lastBuildDate") or "")
    self_link = channel.find(f"{ATOM}link")
    assert self_link is not None and self_link.get("rel") == "self" and self_link.get("href") == "https://news.example.org/feed.xml"
    items = channel.findall("item")
    assert [i.findtext("title") for i in items] == ["Incidents and ünïcode", "Observability < hype"]  # syndication.entries: 2
    guids = [i.findtext("guid") for i in items]
    assert len(set(guids)) == len(guids)
    for item in items:
        assert _absolute(item.findtext("link") or "")
        pub = item.findtext("pubDate") or ""
        assert RFC822.match(pub), pub
        content = item.findtext(f"{CONTENT}encoded") or ""
        assert content and all(_absolute(h) for h in _hrefs(content))
    assert parsedate_to_datetime(items[1].findtext("pubDate") or "") == datetime(2026, 3, 9, 9, 30, tzinfo=timezone.utc)
    assert channel.findtext("lastBuildDate") == "Mon, 16 Mar 2026 00:00:00 +0000"  # from content, not the clock


def test_atom_follows_rfc_4287(public: Path) -> None:
    root = ET.parse(public / "atom.xml").getroot()
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert (root.findtext(f"{ATOM}{required}") or "").strip(), required
    assert root.find(f"{ATOM}author/{ATOM}name") is not None
    assert any(l.get("rel") == "self" and l.get("href") == "https://news.example.org/atom.xml" for l in root.findall(f"{ATOM}link"))
    entries = root.findall(f"{ATOM}entry")
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(ids) == 2 and len(set(ids)) == 2
    for entry in entries:
        for required in ("id", "title", "updated", "published"):
            assert RFC3339.match(entry.findtext(f"{ATOM}{required}") or "") or required in ("id", "title")
        assert re.match(r"^tag:news\.example\.org,\d{4}-\d{2}-\d{2}:issues/\d+$", entry.findtext(f"{ATOM}id") or "")
        content = entry.find(f"{ATOM}content")
        assert content is not None and content.get("type") == "html"
        assert all(_absolute(h) for h in _hrefs(content.text or ""))
    second = entries[1]
    assert second.findtext(f"{ATOM}published") == "2026-03-09T09:30:00+00:00"
    assert second.findtext(f"{ATOM}updated") == "2026-03-10T08:00:00+00:00"  # the issue's 'updated:' header
    assert root.findtext(f"{ATOM}updated") == "2026-03-16T00:00:00+00:00"


def _json(path: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(path.read_text(encoding="utf-8"))


def _check_json_feed(doc: dict, self_url: str) -> None:  # type: ignore[type-arg]
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert doc["title"] and doc["feed_url"] == self_url and _absolute(doc["home_page_url"])
    assert isinstance(doc["authors"], list) and doc["authors"][0]["name"]
    ids = [item["id"] for item in doc["items"]]
    assert all(isinstance(i, str) and i for i in ids) and len(set(ids)) == len(ids)
    for item in doc["items"]:
        assert "content_html" in item or "content_text" in item
        assert _absolute(item["url"])
        for key in ("date_published", "date_modified"):
            assert RFC3339.match(item[key]), item[key]
            datetime.fromisoformat(item[key])
        assert all(_absolute(h) for h in _hrefs(item.get("content_html", "")))


def test_json_feed_follows_1_1(public: Path) -> None:
    doc = _json(public / "feed.json")
    _check_json_feed(doc, "https://news.example.org/feed.json")
    assert [i["title"] for i in doc["items"]] == ["Incidents and ünïcode", "Observability < hype"]
    assert doc["items"][1]["tags"] == ["observability"]


def test_links_feeds_list_every_curated_item_newest_first(public: Path) -> None:
    doc = _json(public / "links.json")
    _check_json_feed(doc, "https://news.example.org/links.json")
    items = doc["items"]
    assert len(items) == 8  # syndication.links caps it
    dates = [i["date_published"] for i in items]
    assert dates == sorted(dates, reverse=True)
    first = items[0]
    assert first["title"] == "Post-incident reviews that people actually read."
    assert first["external_url"] == "https://pir.example.com/readable"
    assert first["url"].startswith("https://news.example.org/issues/3/#")
    assert 'From <a href="https://news.example.org/issues/3/">Incidents and ünïcode</a>' in first["content_html"]
    assert first["tags"] == ["News"]
    rss = ET.parse(public / "links.xml").getroot().find("channel")
    assert rss is not None
    links = [i.findtext("link") for i in rss.findall("item")]
    assert links == [i["external_url"] for i in items]


def test_links_feed_takes_entries_from_other_sources() -> None:
    when = datetime(2026, 3, 12, tzinfo=timezone.utc)
    base = Feed(title="T", description="", home_url="https://x.example/", self_url="https://x.example/links.json", id="i", language="en", author_name="A")
    issue_entry = FeedEntry(id="tag:x.example,2026-03-09:a", title="From an issue", url="https://x.example/issues/2/#a", published=when.replace(day=9), updated=when.replace(day=9))
    digest_entry = FeedEntry(id="tag:x.example,2026-03-12:d", title="From a digest", url="https://x.example/digests/1/#d", published=when, updated=when)
    feed = links_feed(base, [issue_entry, digest_entry], 10)
    assert [e.title for e in feed.entries] == ["From a digest", "From an issue"]
    assert [e.title for e in links_feed(base, [issue_entry, digest_entry], 1).entries] == ["From a digest"]
    assert b"From a digest" in to_rss(feed) and b"From a digest" in to_json_feed(feed)


def test_section_feeds_and_autodiscovery(public: Path) -> None:
    for kind in ("sponsor", "news", "tools", "events", "jobs"):
        channel = ET.parse(public / "sections" / kind / "feed.xml").getroot().find("channel")
        assert channel is not None
        for item in channel.findall("item"):
            assert _absolute(item.findtext("link") or "") and RFC822.match(item.findtext("pubDate") or "")
    tools = ET.parse(public / "sections" / "tools" / "feed.xml").getroot().find("channel")
    assert tools is not None and [i.findtext("title") for i in tools.findall("item")][:3] == ["pagerlite", "tracehound", "logsift"]
    page = (public / "issues" / "1" / "index.html").read_text()
    for kind, path in (("application/rss+xml", "/feed.xml"), ("application/atom+xml", "/atom.xml"), ("application/feed+json", "/feed.json")):
        assert f'<link rel="alternate" type="{kind}"' in page and f'href="{path}"' in page
    section_page = (public / "sections" / "tools" / "index.html").read_text()
    assert 'href="/sections/tools/feed.xml"' in section_page


@pytest.mark.parametrize("name", ["feed.xml", "atom.xml", "links.xml", "sections/news/feed.xml", "sections/jobs/feed.xml"])
def test_xml_feeds_round_trip_through_feedparser(public: Path, name: str) -> None:
    parsed = feedparser.parse((public / name).read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version in ("rss20", "atom10")
    assert parsed.feed.title.startswith("Ops & Friends Weekly")
    for entry in parsed.entries:
        assert entry.id and entry.link.startswith("https://") and entry.published_parsed
    if name in ("feed.xml", "atom.xml"):
        assert [e.title for e in parsed.entries] == ["Incidents and ünïcode", "Observability < hype"]
        assert "https://pir.example.com/readable" in parsed.entries[0].content[0].value


def test_feeds_are_reproducible(public: Path, tmp_path: Path) -> None:
    root = tmp_path / "again"
    shutil.copytree(FIXTURE, root)
    build(load_site(root), BuildOptions(workers=1, durable=False))
    for name in ("feed.xml", "atom.xml", "feed.json", "links.xml", "links.json", "sections/tools/feed.xml"):
        assert (root / "public" / name).read_bytes() == (public / name).read_bytes(), name
