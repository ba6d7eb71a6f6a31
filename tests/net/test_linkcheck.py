"""The link checker against a real HTTP server on 127.0.0.1 playing many hosts."""

from __future__ import annotations

import dataclasses
import time
from email.utils import formatdate

import pytest

from generator.config import CheckConfig
from generator.linkstatus import (
    BLOCKED,
    BROKEN,
    EXCLUDED,
    MISSING_FRAGMENT,
    OK,
    RATE_LIMITED,
    REDIRECTED,
    TRANSIENT,
    LinkStatus,
)
from generator.net.linkcheck import LinkChecker, parse_retry_after

from .conftest import resolver_for
from .fakeweb import HUGE, FakeWeb, free_port

FAST = CheckConfig(
    allow_private=True, timeout=1.0, connect_timeout=1.0, retries=1, retry_backoff=0.05,
    host_interval=0.0, per_host=2, concurrency=8, max_retry_after=3.0, max_body=200_000,
)


def check(web: FakeWeb, urls: list[str], config: CheckConfig = FAST, progress: object = None) -> dict[str, LinkStatus]:
    checker = LinkChecker(config, user_agent="tidings-test", resolver=resolver_for(web), progress=progress)  # type: ignore[arg-type]
    return checker.check(urls)


def test_many_behaviours_in_one_run(web: FakeWeb) -> None:
    port = free_port()  # nothing listens there
    expected = {
        "http://h1.test/ok": (OK, "HTTP 200 OK"),
        "http://h1.test/ok#intro": (OK, "HTTP 200 OK"),
        "http://h1.test/ok#legacy": (OK, "HTTP 200 OK"),
        "http://h1.test/ok#nope": (MISSING_FRAGMENT, "no #nope anchor"),
        "http://h1.test/perm/3": (REDIRECTED, "moved permanently to http://h1.test/ok"),
        "http://h1.test/temp/2": (REDIRECTED, "temporary redirect (302)"),
        "http://h1.test/mixed": (REDIRECTED, "temporary redirect (301/302)"),
        "http://h2.test/loop/a": (BROKEN, "redirect loop: http://h2.test/loop/a → http://h2.test/loop/b → http://h2.test/loop/a"),
        "http://h2.test/status/404": (BROKEN, "HTTP 404 Not Found"),
        "http://h2.test/status/410": (BROKEN, "HTTP 410 Gone"),
        "http://h2.test/status/500": (TRANSIENT, "HTTP 500 Internal Server Error, still after"),
        "http://h3.test/flaky/a": (OK, "HTTP 200 OK"),
        "http://h3.test/nohead": (OK, "HTTP 200 OK"),
        "http://h3.test/bot": (BLOCKED, "Cloudflare challenge"),
        "http://h3.test/999": (BLOCKED, "HTTP 999"),
        "http://h3.test/forbidden": (BROKEN, "HTTP 403 Forbidden"),
        "http://h4.test/cross/h5.test": (REDIRECTED, "moved permanently to http://h5.test/ok"),
        "http://h4.test/plain#anything": (OK, "HTTP 200 OK"),
        "http://no-such-host.invalid/": (BROKEN, "DNS lookup failed"),
        f"http://127.0.0.1:{port}/": (BROKEN, "connection refused"),
        "mailto:editor@example.org": (OK, "e-mail address looks valid"),
        "mailto:not-an-address": (BROKEN, "malformed e-mail address"),
        "ftp://files.example.org/x": (EXCLUDED, "ftp: links are not checked"),
    }
    results = check(web, list(expected))
    assert set(results) == set(expected)
    for url, (kind, words) in expected.items():
        assert results[url].kind == kind, (url, results[url])
        assert words in results[url].message, (url, results[url].message)
    assert results["http://h1.test/perm/3"].suggestion == "http://h1.test/ok"
    assert results["http://h1.test/perm/3"].redirects == ((301, "http://h1.test/perm/2"), (301, "http://h1.test/perm/1"), (301, "http://h1.test/ok"))
    assert results["http://h1.test/temp/2"].suggestion == ""
    assert results["http://h1.test/mixed"].suggestion == ""
    # HEAD refused with 405, then GET: exactly one of each
    assert web.hits("h3.test", "/nohead", "HEAD") == 1 and web.hits("h3.test", "/nohead", "GET") == 1
    # 500 then fine on retry: two requests, no GET fallback needed
    assert web.hits("h3.test", "/flaky/a") == 2 and results["http://h3.test/flaky/a"].attempts == 2
    # a permanent 500: retried once with HEAD, then one GET without more retries
    assert web.hits("h2.test", "/status/500", "HEAD") == 2 and web.hits("h2.test", "/status/500", "GET") == 1
    # the cross-host hop waited for, and was counted on, the other host
    assert web.hits("h5.test", "/ok") == 1
    # the server never saw more than the per-host limit in flight, and the limit was actually reached
    assert max(web.peak.values()) <= FAST.per_host
    assert web.peak["h1.test"] == FAST.per_host


def test_page_metadata_is_kept_from_get(web: FakeWeb) -> None:
    results = check(web, ["http://h1.test/ok#intro", "http://h1.test/ok"])
    meta = results["http://h1.test/ok#intro"].meta
    assert meta is not None
    assert meta.title == "Page /ok on h1.test"
    assert meta.description == "A test page & its description."
    assert meta.canonical == "http://h1.test/canonical/ok"
    assert meta.image == "http://h1.test/img.png"
    assert results["http://h1.test/ok"].meta is None  # HEAD only: no body, no metadata


def test_retry_after_seconds_and_http_date_are_honoured(web: FakeWeb) -> None:
    started = time.monotonic()
    results = check(web, ["http://h1.test/limited/a?after=1", "http://h2.test/limited/b?date=1&after=2"])
    elapsed = time.monotonic() - started
    assert results["http://h1.test/limited/a?after=1"].kind == OK
    assert results["http://h2.test/limited/b?date=1&after=2"].kind == OK
    assert web.hits("h1.test", "/limited/a") == 2 and web.hits("h2.test", "/limited/b") == 2
    assert results["http://h1.test/limited/a?after=1"].elapsed >= 0.95
    assert results["http://h2.test/limited/b?date=1&after=2"].elapsed >= 0.9  # HTTP dates have 1 s resolution
    assert elapsed < 6


def test_retry_after_longer_than_the_cap_is_rate_limited_without_waiting(web: FakeWeb) -> None:
    started = time.monotonic()
    results = check(web, ["http://h1.test/limited/c?after=120"])
    status = results["http://h1.test/limited/c?after=120"]
    assert status.kind == RATE_LIMITED
    assert "asked to wait 120 s" in status.message
    assert time.monotonic() - started < 3
    assert web.hits("h1.test", "/limited/c") == 1


def test_hanging_host_is_bounded_and_does_not_stall_others(web: FakeWeb) -> None:
    finished: dict[str, float] = {}
    started = time.monotonic()

    def progress(done: int, total: int, status: LinkStatus) -> None:
        finished[status.url] = time.monotonic() - started

    fast = [f"http://h2.test/ok/{i}" for i in range(12)] + ["http://h3.test/slow?ms=300"]
    results = check(web, ["http://h1.test/hang"] + fast, progress=progress)
    hang = results["http://h1.test/hang"]
    assert hang.kind == TRANSIENT and "timed out" in hang.message
    assert hang.attempts == 2  # one retry
    assert hang.elapsed < 1.0 * 2 + 1.0  # two bounded attempts plus backoff
    assert results["http://h3.test/slow?ms=300"].kind == OK
    assert all(results[u].kind == OK for u in fast)
    assert max(finished[u] for u in fast) < finished["http://h1.test/hang"]
    assert max(finished[u] for u in fast) < 1.0  # nobody waited for the hanging host


def test_huge_body_is_capped(web: FakeWeb) -> None:
    started = time.monotonic()
    results = check(web, ["http://h1.test/huge#somewhere", "http://h1.test/huge"])
    assert results["http://h1.test/huge#somewhere"].kind == OK
    assert "not verified" in results["http://h1.test/huge#somewhere"].message
    assert results["http://h1.test/huge"].kind == OK
    assert web.hits("h1.test", "/huge", "GET") == 1  # the plain link needed only HEAD
    assert web.huge_bytes_sent < HUGE // 5
    assert time.monotonic() - started < 5


def test_private_addresses_are_refused_unless_allowed(web: FakeWeb) -> None:
    strict = CheckConfig(timeout=1.0, retries=0, host_interval=0.0)
    results = check(web, ["http://h1.test/ok"], config=strict)
    assert results["http://h1.test/ok"].kind == EXCLUDED
    assert "private address" in results["http://h1.test/ok"].message
    assert web.count() == 0


def test_per_host_headers_user_agent_and_excludes(web: FakeWeb) -> None:
    config = CheckConfig(
        allow_private=True, timeout=1.0, host_interval=0.0,
        headers={"h1.test": {"Authorization": "token abc"}}, exclude=(r"/private/",),
    )
    results = check(web, ["http://api.h1.test/ok", "http://h2.test/ok", "http://h2.test/private/x"], config=config)
    assert web.headers[("api.h1.test", "/ok")]["authorization"] == "token abc"
    assert "authorization" not in web.headers[("h2.test", "/ok")]
    assert web.headers[("h2.test", "/ok")]["user-agent"] == "tidings-test"
    assert results["http://h2.test/private/x"].kind == EXCLUDED
    assert web.hits("h2.test", "/private/x") == 0


def test_host_interval_spaces_request_starts(web: FakeWeb) -> None:
    config = CheckConfig(allow_private=True, timeout=2.0, host_interval=0.2, per_host=4)
    started = time.monotonic()
    results = check(web, [f"http://h1.test/ok/{i}" for i in range(5)], config=config)
    assert all(s.kind == OK for s in results.values())
    assert time.monotonic() - started >= 0.8  # 5 starts, 0.2 s apart
    assert web.peak["h1.test"] == 1  # 20 ms answers never overlap when starts are 200 ms apart


@pytest.mark.parametrize(
    ("value", "expected"),
    [("5", 5.0), ("0", 0.0), ("-3", 0.0), ("soon", None), (None, None), ("", None)],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date() -> None:
    now = time.time()
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30, abs=1)
    assert parse_retry_after(formatdate(now - 30, usegmt=True), now=now) == 0.0


def test_limits_hold_from_the_servers_side(web: FakeWeb) -> None:
    urls = [f"http://h{h}.test/ok/{i}" for h in range(1, 7) for i in range(5)]
    config = dataclasses.replace(FAST, concurrency=4, per_host=2)
    results = check(web, urls, config=config)
    assert all(s.kind == OK for s in results.values())
    assert max(web.peak.values()) <= config.per_host
    assert 2 <= web.peak_total <= config.concurrency  # requests did overlap, but never beyond the global limit


def test_urls_only_httpx_can_read_are_normalised_and_bad_ones_reported(web: FakeWeb) -> None:
    results = check(web, ["http://h1.test/ok/caf%C3%A9 au lait", "http://h1.test/ok/ünï|code", "http://h1.test:99999/ok"])
    assert results["http://h1.test/ok/caf%C3%A9 au lait"].kind == OK  # the space is percent-encoded on the way
    assert results["http://h1.test/ok/ünï|code"].kind == OK
    assert web.hits("h1.test", "/ok/caf%C3%A9%20au%20lait") == 1
    assert web.hits("h1.test", "/ok/%C3%BCn%C3%AF|code") == 1  # as httpx sends it
    bad = results["http://h1.test:99999/ok"]
    assert (bad.kind, bad.message.startswith("malformed URL")) == (BROKEN, True)
