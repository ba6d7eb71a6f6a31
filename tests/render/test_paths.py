"""Listing pages: filled from the oldest end, so that a new issue changes the first page only."""

from __future__ import annotations

import pytest

from generator.render.paths import paged, paginate


def read_newest_first(pages: list) -> list[int]:
    """The entries as a reader meets them: the first page, then each "Older" page in turn."""
    by_path = {page.path: page for page in pages}
    page, seen = pages[0], []
    while True:
        seen += list(page.entries)
        if page.older_path is None:
            return seen
        older = by_path[page.older_path]
        assert older.newer_path == page.path
        page = older


@pytest.mark.parametrize("size", [1, 2, 3, 10])
@pytest.mark.parametrize("total", [0, 1, 2, 4, 5, 9, 10, 14, 15, 16, 31, 100])
def test_every_entry_once_newest_first_and_a_first_page_neither_empty_nor_long(size: int, total: int) -> None:
    entries = list(range(total))  # 0 is the newest
    pages = paginate(entries, size, "/sections/news/")
    assert [p.number for p in pages] == list(range(len(pages)))
    assert read_newest_first(pages) == entries
    assert all(len(p.entries) == size for p in pages[1:])
    half = (size + 1) // 2
    assert min(total, half) <= len(pages[0].entries) <= size + half - 1
    assert pages[0].path == "/sections/news/" and pages[0].newer_path is None
    assert [p.path for p in pages[1:]] == [f"/sections/news/page/{n}/" for n in range(1, len(pages))]


@pytest.mark.parametrize("size", [1, 3, 10])
def test_entries_added_at_the_top_leave_older_pages_as_they_were(size: int) -> None:
    """What a numbered page shows stays, however many entries come after it (its "Newer" link aside)."""
    first_seen: dict[str, tuple] = {}
    for total in range(1, 60):
        entries = [f"entry {n}" for n in range(total, 0, -1)]  # each round adds one newer entry
        pages = paginate(entries, size, "/links/")
        for page in pages[1:]:
            shown = (tuple(page.entries), page.older_path)
            assert first_seen.setdefault(page.path, shown) == shown, (total, page.path)
        assert pages[-1].newer_path == "/links/" or len(pages) == 1


def test_the_newest_numbered_page_leads_back_to_the_first() -> None:
    pages = paginate(list(range(25)), 10, "/tags/ops/")
    assert [(p.number, p.newer_path, p.older_path) for p in pages] == [
        (0, None, "/tags/ops/page/2/"),
        (1, "/tags/ops/page/2/", None),
        (2, "/tags/ops/", "/tags/ops/page/1/"),
    ]
    assert pages[1].entries == list(range(15, 25)) and pages[0].entries == list(range(5))
    assert paged("/tags/ops/", 0) == "/tags/ops/"
