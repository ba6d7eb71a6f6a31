"""feeds.yaml validation (every error, with lines) and the OPML round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.cli import main
from generator.errors import ConfigError
from generator.ingest.subscriptions import from_opml, load_subscriptions, parse_subscriptions, to_opml

GOOD = """\
sources:
  - name: Ops Blog
    url: https://ops.example/feed.xml
    section: news
    tags: [ops, sre]
    include: [kubernetes]
    exclude: [webinar, "sponsored post"]
    max_items: 5
  - name: Listing
    id: listing
    url: pages/list.html
    type: html
    selectors: {item: article, title: h2, link: a.more, summary: p, date: time, date_format: "%d %B %Y"}
  - name: Paused
    url: file:///srv/feeds/off.xml
    enabled: false
"""


def test_valid_file_resolves_locations(tmp_path: Path) -> None:
    subs = parse_subscriptions(GOOD, "feeds/feeds.yaml", base_dir=tmp_path)
    assert [s.key for s in subs] == ["ops-blog", "listing", "paused"]
    assert subs[0].location == "https://ops.example/feed.xml" and not subs[0].is_local
    assert subs[1].is_local and subs[1].location == str(tmp_path / "pages" / "list.html")
    assert subs[2].location == "/srv/feeds/off.xml" and not subs[2].spec.enabled
    assert subs[0].spec.exclude == ("webinar", "sponsored post") and subs[0].pos.line == 2


def test_every_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    text = """\
sources:
  - name: One
    url: https://one.example/
    sectoin: news
  - name: Two
    url: ftp://two.example/feed
    max_items: 0
  - name: One
    url: https://three.example/
  - name: Scraped
    url: https://four.example/
    type: html
  - url: https://five.example/
    tags: news
"""
    with pytest.raises(ConfigError) as caught:
        parse_subscriptions(text, "feeds/feeds.yaml", base_dir=tmp_path)
    messages = [str(p) for p in caught.value.problems]
    assert any(m.startswith("feeds/feeds.yaml:4: unknown key 'sources[0].sectoin'; did you mean 'section'") for m in messages), messages
    assert any(m.startswith("feeds/feeds.yaml:13: missing required key 'sources[4].name'") for m in messages), messages
    assert any(m.startswith("feeds/feeds.yaml:14: 'sources[4].tags' must be a list") for m in messages), messages
    text = text.replace("    sectoin: news\n", "    section: news\n").replace("  - url: https://five.example/\n    tags: news\n", "")
    with pytest.raises(ConfigError) as caught:
        parse_subscriptions(text, "feeds/feeds.yaml", base_dir=tmp_path)
    messages = [str(p) for p in caught.value.problems]
    assert "feeds/feeds.yaml:6: source 'Two': unsupported URL scheme 'ftp:' (use http, https, file or a path)" in messages
    assert "feeds/feeds.yaml:7: 'max_items' must be at least 1" in messages
    assert "feeds/feeds.yaml:8: source id 'one' is already used by the source on line 2" in messages
    assert any(m.startswith("feeds/feeds.yaml:12: source 'Scraped' has type 'html' but no 'selectors'") for m in messages)


def test_opml_round_trip_keeps_extra_fields(tmp_path: Path) -> None:
    specs = [s.spec for s in parse_subscriptions(GOOD, "feeds/feeds.yaml", base_dir=tmp_path)]
    again = from_opml(to_opml(specs, title="Subs"), "subs.opml")
    assert again == specs


def test_plain_reader_opml_folders_become_tags() -> None:
    opml = b"""<?xml version="1.0"?><opml version="1.0"><head><title>x</title></head><body>
    <outline text="Cloud Native"><outline type="rss" text="K8s Blog" xmlUrl="https://k8s.example/feed"/></outline>
    <outline type="rss" title="Loose" xmlUrl="https://loose.example/rss"/></body></opml>"""
    specs = from_opml(opml, "r.opml")
    assert [(s.name, s.url, s.tags) for s in specs] == [("K8s Blog", "https://k8s.example/feed", ("cloud-native",)), ("Loose", "https://loose.example/rss", ())]
    with pytest.raises(ConfigError):
        from_opml(b"<opml><body><outline", "broken.opml")
    with pytest.raises(ConfigError):
        from_opml(b'<!DOCTYPE x [<!ENTITY a "aaaa">]><opml><body/></opml>', "entities.opml")


def test_cli_import_then_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "site"
    (root / "feeds").mkdir(parents=True)
    (root / "tidings.yaml").write_text("title: T\nbase_url: https://t.example/\n")
    (root / "feeds" / "feeds.yaml").write_text("# my comment stays\nsources:\n  - name: Existing\n    url: https://existing.example/feed\n")
    source_specs = [s.spec for s in parse_subscriptions(GOOD, "x", base_dir=root / "feeds")]
    opml = tmp_path / "in.opml"
    opml.write_bytes(to_opml(source_specs, title="x"))
    assert main(["-C", str(root), "feeds", "import", str(opml)]) == 0
    text = (root / "feeds" / "feeds.yaml").read_text()
    assert text.startswith("# my comment stays")
    subs = load_subscriptions(root)
    assert [s.key for s in subs] == ["existing", "ops-blog", "listing", "paused"]
    assert [s.spec for s in subs[1:]] == source_specs
    assert main(["-C", str(root), "feeds", "import", str(opml)]) == 0
    assert "nothing to import" in capsys.readouterr().out
    assert main(["-C", str(root), "feeds", "export", "-o", str(tmp_path / "out.opml")]) == 0
    assert from_opml((tmp_path / "out.opml").read_bytes(), "out.opml") == [s.spec for s in subs]
