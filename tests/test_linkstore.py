"""The link checker's store component in a real SQLite file."""

from __future__ import annotations

from pathlib import Path

from generator.linkstatus import (
    BROKEN,
    EXCLUDED,
    OK,
    RATE_LIMITED,
    REDIRECTED,
    LinkMeta,
    LinkStatus,
)
from generator.linkstore import LinkStore, result_key
from generator.store import Store

DAY = 86400.0


def test_result_key_keeps_fragment_and_drops_tracking() -> None:
    assert result_key("HTTPS://Example.org/a?utm_source=x#Intro") == "https://example.org/a#Intro"
    assert result_key("https://example.org") == "https://example.org/"


def test_successes_are_reused_while_fresh_and_failures_never(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite") as store:
        links = LinkStore(store)
        now = 1_700_000_000.0
        links.record(
            {
                "https://a.example/": LinkStatus("https://a.example/", OK, "HTTP 200 OK", code=200, checked_at=now),
                "https://b.example/": LinkStatus("https://b.example/", BROKEN, "HTTP 404 Not Found", code=404, checked_at=now),
                "https://c.example/": LinkStatus(
                    "https://c.example/", REDIRECTED, "moved", final_url="https://d.example/", redirects=((301, "https://d.example/"),), permanent=True, checked_at=now
                ),
                "https://e.example/": LinkStatus("https://e.example/", RATE_LIMITED, "HTTP 429", checked_at=now),
                "https://f.example/": LinkStatus("https://f.example/", EXCLUDED, "not checked"),
            },
            now=now,
        )
        urls = ["https://a.example/?utm_campaign=z", "https://b.example/", "https://c.example/", "https://e.example/", "https://f.example/"]
        fresh = links.fresh(urls, max_age_days=7, now=now + 6 * DAY)
        assert set(fresh) == {"https://a.example/?utm_campaign=z", "https://c.example/"}
        assert fresh["https://a.example/?utm_campaign=z"].cached and fresh["https://a.example/?utm_campaign=z"].url == "https://a.example/?utm_campaign=z"
        assert fresh["https://c.example/"].suggestion == "https://d.example/"
        assert links.fresh(urls, max_age_days=7, now=now + 8 * DAY) == {}
        assert links.fresh(urls, max_age_days=0, now=now) == {}
        assert links.get("https://f.example/") is None  # exclusions are not results


def test_consecutive_failures_are_counted_and_reset(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    url = "https://gone.example/"
    for day in range(3):
        with Store.open(path) as store:
            counted = LinkStore(store).record({url: LinkStatus(url, BROKEN, "HTTP 410 Gone", checked_at=1000.0 + day * DAY)})
    assert counted[url].failures == 3
    assert counted[url].failing_since == 1000.0
    with Store.open(path) as store:
        counted = LinkStore(store).record({url: LinkStatus(url, OK, "HTTP 200 OK", checked_at=5 * DAY)})
        assert counted[url].failures == 0 and counted[url].failing_since is None
        assert LinkStore(store).get(url).failures == 0  # type: ignore[union-attr]


def test_metadata_is_stored_by_page(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.sqlite") as store:
        links = LinkStore(store)
        meta = LinkMeta(title="T", description="D", canonical="https://a.example/c", image="")
        links.record({"https://a.example/p#frag": LinkStatus("https://a.example/p#frag", OK, "ok", checked_at=1.0, meta=meta)})
        assert links.meta() == {"https://a.example/p": meta}
        assert links.meta(["https://other.example/"]) == {}
