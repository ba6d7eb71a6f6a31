"""fetch → digest → build: what reaches the built digest pages, from hostile and real feeds."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from generator.build import BuildOptions, build, load_content, make_context
from generator.cli import main
from generator.config import load_site
from generator.content.archive import build_archive
from generator.errors import ContentError
from generator.render.digests import digest_feed_items

from ..net._server import running, write_site

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"


def this_week() -> str:
    year, week, _ = datetime.now(timezone.utc).isocalendar()
    return f"{year}-W{week:02d}"


def run(root: Path, *args: str) -> int:
    return main(["-C", str(root), *args])


def test_hostile_feed_reaches_built_pages_inert(tmp_path: Path) -> None:
    with running() as server:
        url = server.static("/evil.rss", (FIXTURES / "hostile.rss").read_bytes())
        root = write_site(tmp_path / "site", [{"name": "Evil <script>alert(0)</script> Source", "id": "evil", "url": url, "section": "news"}])
        assert run(root, "fetch") == 0
    assert run(root, "digest", this_week()) == 0
    assert run(root, "build") == 0
    slug = this_week().lower()
    page = (root / "public" / "digests" / slug / "index.html").read_text(encoding="utf-8")
    body = page.split("<main", 1)[1]
    for bad in ("<script", "javascript:", "onerror=", "onclick=", "onload=", "<iframe", "<form", "<svg", "<style", "alert(1)"):
        assert bad not in body.lower(), bad
    hrefs = re.findall(r'href="([^"]+)"', body)
    external = [h for h in hrefs if h.startswith("http")]
    assert len(external) == 4 and all(h.startswith(("https://evil.example/", server.url("/"))) for h in external)
    assert body.count('class="digest-entry"') == 4
    assert "Scripted title" in body and "Click here or there. Real words survive the cleaning." in body
    assert "Evil Source" in body
    assert 'rel="noopener noreferrer nofollow"' in body
    archive = (root / "public" / "archive" / "index.html").read_text(encoding="utf-8")
    assert f'href="/digests/{slug}/"' in archive
    # Digest links are entries of the site's link feed too, still inert there.
    feed = json.loads((root / "public" / "links.json").read_text(encoding="utf-8"))
    digest_items = [i for i in feed["items"] if "Digest" in i.get("tags", [])]
    assert len(digest_items) == 4
    assert all(i["url"].endswith(f"/digests/{slug}/") for i in digest_items)
    assert all(i["external_url"].startswith(("https://evil.example/", server.url("/"))) for i in digest_items)
    dumped = json.dumps(digest_items).lower()
    assert "<script" not in dumped and "javascript:" not in dumped and "onerror" not in dumped


def test_seed_002_digest_page(tmp_path: Path) -> None:
    seeds = sorted(SEEDS.glob("002_*"))
    assert seeds, "the shared seeds must be beside the repository (../shared/seeds)"
    with running() as server:
        url = server.gzipped("/dev.rss", seeds[0].read_bytes())
        root = write_site(tmp_path / "site", [{"name": "DEV Community", "url": url, "section": "news", "tags": ["devops"]}])
        assert run(root, "fetch") == 0
    assert run(root, "digest", "2025-04") == 0
    text = (root / "content" / "digests" / "2025-04.yaml").read_text(encoding="utf-8")
    assert text.count("- title:") == 2  # two of the five entries are from April 2025
    assert run(root, "digest", "2025-10") == 0 and run(root, "digest", "2025-07") == 0 and run(root, "digest", "2024-11") == 0
    assert run(root, "build") == 0
    page = (root / "public" / "digests" / "2025-04" / "index.html").read_text(encoding="utf-8")
    assert "The Tortoise and the Hare: do AI Agents Really Help for Software Development?" in page
    excerpts = re.findall(r'<li class="digest-entry">.*?</p>\s*<p class="meta">.*?</p>\s*<p>(.*?)</p>', page, re.S)
    assert len(excerpts) == 2 and all(50 < len(e) <= 420 and "<" not in e for e in excerpts)
    site = load_site(root)
    content = load_content(site)
    ctx = make_context(site, build_archive(content.issues), content.pages)
    items = digest_feed_items(ctx)
    assert [i.path for i in items] == ["/digests/2025-10/", "/digests/2025-07/", "/digests/2025-04/", "/digests/2024-11/"]
    assert sum(i.links for i in items) == 5
    index = (root / "public" / "digests" / "index.html").read_text(encoding="utf-8")
    assert index.count('href="/digests/20') == 4


def test_bad_digest_file_stops_the_build_with_its_line(tmp_path: Path) -> None:
    root = write_site(tmp_path / "site", [])
    folder = root / "content" / "digests"
    folder.mkdir(parents=True)
    (folder / "2025-w01.yaml").write_text(
        "title: Week 1\nstart: 2025-01-06\nend: 2025-01-12\nentries:\n"
        "  - title: Fine\n    url: https://ok.example/\n"
        "  - title: Bad\n    url: javascript:alert(1)\n"
        "  - title: Worse\n    url: https://ok.example/2\n    date: yesterday\n",
        encoding="utf-8",
    )
    with pytest.raises(ContentError) as caught:
        build(load_site(root), BuildOptions())
    assert [str(p) for p in caught.value.problems] == [
        "content/digests/2025-w01.yaml:8: entry url must be an absolute http(s) URL, not 'javascript:alert(1)'",
        "content/digests/2025-w01.yaml:11: entry date 'yesterday' is not an ISO 8601 date",
    ]
    assert not (root / "public").exists()
