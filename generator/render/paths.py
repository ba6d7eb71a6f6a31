"""Where everything lives on the site: the one mapping from model to URL paths.

Templates, feeds, email editions, the sitemap and the writer all ask here, so
a permalink is defined once. Paths are site-relative and start with '/';
:func:`output_file` turns one into the file the writer creates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Sequence, TypeVar

from ..model import Issue, Item, Page

BUNDLE_DIR = "pagefind"  # the search index's bundles: their folder in the output, and its URL path

__all__ = [
    "BUNDLE_DIR",
    "issue_path",
    "item_path",
    "archive_path",
    "year_path",
    "kind_path",
    "links_path",
    "tag_path",
    "tags_path",
    "page_path",
    "paged",
    "digests_path",
    "digest_path",
    "output_file",
    "Pagination",
    "paginate",
]

T = TypeVar("T")


def issue_path(issue: Issue) -> str:
    return f"/issues/{issue.slug}/"


def item_path(issue: Issue, item: Item) -> str:
    return f"/issues/{issue.slug}/#{item.anchor}"


def archive_path() -> str:
    return "/archive/"


def year_path(year: int) -> str:
    return f"/archive/{year}/"


def kind_path(kind: str, page: int = 0) -> str:
    return paged(f"/sections/{kind}/", page)


def links_path(page: int = 0) -> str:
    return paged("/links/", page)


def tags_path() -> str:
    return "/tags/"


def tag_path(slug: str, page: int = 0) -> str:
    return paged(f"/tags/{slug}/", page)


def page_path(page: Page) -> str:
    return f"/{page.slug}/"


def digests_path() -> str:
    return "/digests/"


def digest_path(slug: str) -> str:
    return f"/digests/{slug}/"


def paged(base: str, page: int) -> str:
    """Page 0 of a listing (its newest entries) is its base path; older pages live under ``page/N/`` (see :func:`paginate`)."""
    return base if page <= 0 else f"{base}page/{page}/"


def output_file(path: str) -> str:
    """The file (relative to the output folder) that serves a site path."""
    path = path.split("#", 1)[0].lstrip("/")
    if not path or path.endswith("/"):
        return f"{path}index.html"
    return path


@dataclass(frozen=True, slots=True)
class Pagination(Generic[T]):
    """One page of a listing shown newest first, and the addresses of the pages beside it.

    Only what the page shows: not how many pages there are, which changes as the
    listing grows while the page itself does not (see :func:`paginate`).
    """

    entries: Sequence[T]
    number: int  # 0 for the listing's first page, at its base path; older pages 1, 2, … from the oldest end
    base: str
    newer_path: str | None  # the page of the entries just newer than these (None on page 0)
    older_path: str | None  # the page of the entries just older (None on the oldest page)

    @property
    def path(self) -> str:
        return paged(self.base, self.number)


def paginate(entries: Sequence[T], size: int, base: str) -> list[Pagination[T]]:
    """Split ``entries`` (newest first) into pages; the list's index is the page number.

    Pages are filled from the oldest end: page 1 holds the oldest ``size`` entries, page 2
    the next, and page 0, the listing's address, the newest. An issue adds entries at the
    top, so it changes page 0 alone (and, once in ``size`` entries, makes a new page),
    and a page once made keeps its entries and its address. Counted from the newest
    end, every page of every listing changed with each new issue: adding an item with a
    new link to This Week in Rust's newest issue rendered 1,001 of its 1,923 pages again
    (now 13). Page 0 takes the remainder, from half a page to one and a half, so that it
    is never nearly empty.
    """
    total = len(entries)
    older = max(0, (total - (size + 1) // 2) // size)  # pages besides page 0
    first = total - older * size
    pages = [Pagination(entries[:first], 0, base, None, paged(base, older) if older else None)]
    for number in range(1, older + 1):
        end = total - (number - 1) * size
        newer = paged(base, number + 1 if number < older else 0)
        pages.append(Pagination(entries[end - size : end], number, base, newer, paged(base, number - 1) if number > 1 else None))
    return pages
