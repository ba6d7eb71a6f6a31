"""tidings fetch against a real HTTP server on 127.0.0.1: validators, redirects, errors, caps."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from generator.cli import main
from generator.config import load_site
from generator.ingest.state import open_fetch_store
from generator.ingest.subscriptions import load_subscriptions
from generator.net.fetch import SourceReport, client_settings, run_fetch

from ._server import FeedServer, Request, rss, running, write_site

ITEMS = [
    {"title": "First story", "link": "https://news.example/1?utm_source=x", "guid": "a1", "pubDate": "Mon, 06 Oct 2025 08:00:00 GMT"},
    {"title": "Second story", "link": "https://news.example/2", "guid": "a2", "pubDate": "Tue, 07 Oct 2025 08:00:00 GMT"},
]


@pytest.fixture
def server():
    with running() as s:
        yield s


def fetch(root: Path, **kw: object) -> dict[str, SourceReport]:
    site = load_site(root)
    store = open_fetch_store(site)
    try:
        reports = run_fetch(load_subscriptions(root), store, client_settings(site), **kw)  # type: ignore[arg-type]
    finally:
        store.store.close()
    return {r.key: r for r in reports}


def stored(root: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(root / "feeds" / "tidings.sqlite") as db:
        return db.execute(sql).fetchall()


def test_conditional_get_sends_validators_and_304_parses_nothing(server: FeedServer, tmp_path: Path) -> None:
    url = server.feed_with_validators("/feed.xml", rss(ITEMS))
    root = write_site(tmp_path / "site", [{"name": "News", "url": url}])
    first = fetch(root)["news"]
    assert (first.status, first.new) == ("new", 2)
    assert stored(root, "SELECT etag, last_modified FROM fetch_sources") == [('"v1"', "Mon, 06 Oct 2025 08:00:00 GMT")]
    second = fetch(root)["news"]
    assert (second.status, second.new) == ("not-modified", 0)
    headers = server.seen[-1][1]
    assert headers["If-None-Match"] == '"v1"' and headers["If-Modified-Since"] == "Mon, 06 Oct 2025 08:00:00 GMT"
    assert headers["User-Agent"].startswith("Tidings/") and "(+https://test.example/)" in headers["User-Agent"]
    assert stored(root, "SELECT url FROM fetch_entries ORDER BY url") == [("https://news.example/1",), ("https://news.example/2",)]


def test_unchanged_body_is_not_parsed_again(server: FeedServer, tmp_path: Path) -> None:
    url = server.static("/plain.xml", rss(ITEMS))
    root = write_site(tmp_path / "site", [{"name": "News", "url": url}])
    assert fetch(root)["news"].new == 2
    # Remove the entries behind the store's back: were the body parsed again, they would come back.
    stored(root, "DELETE FROM fetch_entries")
    assert fetch(root)["news"].status == "unchanged"
    assert stored(root, "SELECT count(*) FROM fetch_entries") == [(0,)]


def test_permanent_redirect_updates_stored_url_with_notice(server: FeedServer, tmp_path: Path) -> None:
    new = server.static("/new.xml", rss(ITEMS))
    old = server.route("/old.xml", lambda r: r.send(301, b"", {"Location": "/new.xml"}))
    temp = server.route("/temp.xml", lambda r: r.send(302, b"", {"Location": "/new.xml"}))
    root = write_site(tmp_path / "site", [{"name": "Moved", "url": old}, {"name": "Temp", "url": temp}])
    reports = fetch(root)
    assert "moved permanently to " + new in reports["moved"].notice
    assert reports["temp"].notice == ""
    assert dict(stored(root, "SELECT key, url FROM fetch_sources")) == {"moved": new, "temp": temp}
    server.hits.clear()
    fetch(root)
    assert server.hits["/old.xml"] == 0 and server.hits["/temp.xml"] == 1


def test_gone_retires_the_source_and_it_stays_reported(server: FeedServer, tmp_path: Path) -> None:
    url = server.static("/gone.xml", b"gone", "text/plain", status=410)
    root = write_site(tmp_path / "site", [{"name": "Gone", "url": url}])
    assert fetch(root)["gone"].status == "gone"
    again = fetch(root)["gone"]
    assert again.status == "retired" and "410" in again.error and again.failed
    assert server.hits["/gone.xml"] == 1


def test_429_honours_retry_after_and_never_drops_the_source(server: FeedServer, tmp_path: Path) -> None:
    url = server.static("/busy.xml", b"slow down", "text/plain", status=429, headers={"Retry-After": "120"})
    root = write_site(tmp_path / "site", [{"name": "Busy", "url": url}])
    first = fetch(root)["busy"]
    assert first.status == "error" and "429" in first.error
    second = fetch(root)["busy"]
    assert second.status == "waiting" and "429" in second.error
    assert server.hits["/busy.xml"] == 1
    assert fetch(root, force=True)["busy"].status == "error"
    assert server.hits["/busy.xml"] == 2


def test_slow_and_silent_servers_are_bounded_by_timeouts(server: FeedServer, tmp_path: Path) -> None:
    def slow(r: Request) -> None:
        r.closing.wait(3)
        r.send(200, rss(ITEMS))

    def silent(r: Request) -> None:
        r.closing.wait(30)

    def dribble(r: Request) -> None:
        r.send_response(200)
        r.send_header("Content-Length", "100000")
        r.end_headers()
        for _ in range(100):
            if r.closing.wait(0.2):
                return
            r.wfile.write(b" ")
            r.wfile.flush()

    root = write_site(
        tmp_path / "site",
        [{"name": "Slow", "url": server.route("/slow", slow)}, {"name": "Silent", "url": server.route("/silent", silent)},
         {"name": "Dribble", "url": server.route("/dribble", dribble)}, {"name": "Fine", "url": server.static("/ok", rss(ITEMS))}],
        read_timeout=0.5, total_timeout=1.5,
    )
    start = time.monotonic()
    reports = fetch(root)
    assert time.monotonic() - start < 5
    assert "read timeout" in reports["slow"].error and "read timeout" in reports["silent"].error
    assert "1.5s" in reports["dribble"].error
    assert reports["fine"].new == 2


def test_body_cap_applies_to_plain_and_compressed_bodies(server: FeedServer, tmp_path: Path) -> None:
    big = 50 * 1024 * 1024

    def huge(r: Request) -> None:
        r.send_response(200)
        r.send_header("Content-Type", "application/rss+xml")
        r.send_header("Content-Length", str(big))
        r.end_headers()
        chunk = b"x" * 65536
        for _ in range(big // len(chunk)):
            if r.closing.is_set():
                return
            r.wfile.write(chunk)

    def huge_undeclared(r: Request) -> None:
        r.send_response(200)
        r.send_header("Content-Type", "application/rss+xml")
        r.send_header("Connection", "close")
        r.end_headers()
        chunk = b"<!-- padding -->" * 4096
        for _ in range(big // len(chunk)):
            if r.closing.is_set():
                return
            r.wfile.write(chunk)

    import gzip

    bomb = gzip.compress(b"\0" * big)
    root = write_site(
        tmp_path / "site",
        [{"name": "Huge", "url": server.route("/huge", huge)},
         {"name": "Stream", "url": server.route("/stream", huge_undeclared)},
         {"name": "Bomb", "url": server.route("/bomb", lambda r: r.send(200, bomb, {"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"}))},
         {"name": "Zipped", "url": server.gzipped("/zipped", rss(ITEMS))}],
        max_body_bytes=1024 * 1024,
    )
    reports = fetch(root)
    for key in ("huge", "stream", "bomb"):
        assert reports[key].status == "error" and "cap" in reports[key].error, reports[key]
    assert reports["zipped"].new == 2


def test_bad_bodies_fail_alone(server: FeedServer, tmp_path: Path) -> None:
    html = b"<!doctype html><html><head><title>Home</title></head><body><p>No feed here</p></body></html>"
    latin = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        "<item><title>Caf\xe9 ops</title><link>https://cafe.example/1</link></item></channel></rss>"
    ).encode("latin-1")
    root = write_site(
        tmp_path / "site",
        [{"name": "Html", "url": server.static("/html", html, "text/html")},
         {"name": "Empty", "url": server.static("/empty", b"", "application/rss+xml")},
         {"name": "Latin", "url": server.static("/latin", latin, "application/rss+xml; charset=utf-8")},
         {"name": "Missing", "url": server.url("/missing")},
         {"name": "Fine", "url": server.static("/ok", rss(ITEMS))}],
    )
    reports = fetch(root)
    assert reports["html"].status == "error" and "HTML page" in reports["html"].error
    assert reports["empty"].status == "error" and "empty" in reports["empty"].error
    assert reports["missing"].error == "HTTP 404"
    assert reports["latin"].new == 1 and reports["latin"].warnings  # wrong declared encoding: parsed, with a warning
    assert stored(root, "SELECT title FROM fetch_entries WHERE source = 'latin'")[0][0].startswith("Caf")
    assert reports["fine"].new == 2


def test_private_addresses_are_refused_unless_allowed(server: FeedServer, tmp_path: Path) -> None:
    url = server.static("/feed.xml", rss(ITEMS))
    root = write_site(tmp_path / "site", [{"name": "Local", "url": url}], allow_private=False)
    report = fetch(root)["local"]
    assert report.status == "error" and "private, loopback or link-local" in report.error
    assert server.hits["/feed.xml"] == 0


@pytest.mark.parametrize("host", ["127.0.0.1", "10.1.2.3", "192.168.0.10", "169.254.169.254", "[::1]", "[fe80::1]", "[::ffff:127.0.0.1]", "0.0.0.0"])
def test_internal_addresses_are_blocked(host: str) -> None:
    import asyncio

    from generator.net.client import BlockedAddress, ClientSettings, check_address

    with pytest.raises(BlockedAddress):
        asyncio.run(check_address(f"http://{host}/feed", ClientSettings(user_agent="t")))
    asyncio.run(check_address(f"http://{host}/feed", ClientSettings(user_agent="t", allow_private=True)))
    asyncio.run(check_address("http://93.184.215.14/feed", ClientSettings(user_agent="t")))  # a public literal: no lookup


def test_exit_status_and_table(server: FeedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = server.static("/ok", rss(ITEMS))
    bad = server.url("/missing")
    root = write_site(tmp_path / "site", [{"name": "Good", "url": good}, {"name": "Bad", "url": bad}])
    assert main(["-C", str(root), "fetch"]) == 0
    out = capsys.readouterr().out
    assert "Good" in out and "new" in out and "HTTP 404" in out and "2 sources, 2 new entries, 1 failed" in out
    assert main(["-C", str(root), "fetch", "--strict", "--force"]) == 1
    write_site(root, [{"name": "Bad", "url": bad}])
    assert main(["-C", str(root), "fetch", "--force"]) == 1


def test_same_story_across_feeds_is_kept_once(server: FeedServer, tmp_path: Path) -> None:
    other = [
        {"title": "FIRST STORY!", "link": "https://mirror.example/first", "guid": "m1"},
        {"title": "Elsewhere", "link": "https://news.example/2?fbclid=abc#top", "guid": "m2"},
        {"title": "Only here", "link": "https://mirror.example/3", "guid": "m3"},
    ]
    root = write_site(tmp_path / "site", [{"name": "News", "url": server.static("/a", rss(ITEMS))}, {"name": "Mirror", "url": server.static("/b", rss(other))}], concurrency=1)
    reports = fetch(root)
    assert reports["news"].new + reports["mirror"].new == 3
    site = load_site(root)
    store = open_fetch_store(site)
    try:
        entries = store.entries()
    finally:
        store.store.close()
    assert sorted(e.title for e in entries) == ["First story", "Only here", "Second story"]
    assert {e.title: e.also_in for e in entries}["Second story"] == ("mirror",)


def test_many_sources_are_parsed_in_worker_processes_with_the_same_result(server: FeedServer, tmp_path: Path) -> None:
    from generator.net.fetch import PARSE_POOL_THRESHOLD

    count = PARSE_POOL_THRESHOLD + 4
    sources = []
    for n in range(count):
        items = [{"title": f"Story {n}-{k}", "link": f"https://news{n}.example/{k}", "guid": f"g{n}-{k}", "pubDate": "Mon, 06 Oct 2025 08:00:00 GMT"} for k in range(3)]
        # A wrong declared charset must reach the parser too (headers cross the process boundary).
        sources.append({"name": f"Feed {n}", "url": server.static(f"/f{n}", rss(items), content_type="application/rss+xml; charset=utf-8")})
    root = write_site(tmp_path / "site", sources, concurrency=8, per_host=8)
    reports = fetch(root)
    assert len(reports) == count and all(r.status == "new" and r.new == 3 for r in reports.values())
    assert stored(root, "SELECT COUNT(*) FROM fetch_entries")[0][0] == count * 3
    again = fetch(root, force=True)
    assert all(r.status in ("not-modified", "unchanged") for r in again.values())
