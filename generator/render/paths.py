"""Where everything lives on the site: the one mapping from model to URL paths.

Templates, feeds, email editions, the sitemap and the writer all ask here, so
a permalink is defined once. Paths are site-relative and start with '/';
:func:`output_file` turns one into the file the writer creates.
"""

from __future__ import annotations

import math
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


def kind_path(kind: str, page: int = 1) -> str:
    return paged(f"/sections/{kind}/", page)


def links_path(page: int = 1) -> str:
    return paged("/links/", page)


def tags_path() -> str:
    return "/tags/"


def tag_path(slug: str, page: int = 1) -> str:
    return paged(f"/tags/{slug}/", page)


def page_path(page: Page) -> str:
    return f"/{page.slug}/"


def digests_path() -> str:
    return "/digests/"


def digest_path(slug: str) -> str:
    return f"/digests/{slug}/"


def paged(base: str, page: int) -> str:
    """Page 1 of a listing is its base path; later pages live under ``page/N/``."""
    return base if page <= 1 else f"{base}page/{page}/"


def output_file(path: str) -> str:
    """The file (relative to the output folder) that serves a site path."""
    path = path.split("#", 1)[0].lstrip("/")
    if not path or path.endswith("/"):
        return f"{path}index.html"
    return path


@dataclass(frozen=True, slots=True)
class Pagination(Generic[T]):
    """One page of a long listing, with its neighbours' paths."""

    entries: Sequence[T]
    number: int
    count: int
    base: str

    @property
    def path(self) -> str:
        return paged(self.base, self.number)

    @property
    def previous_path(self) -> str | None:
        return paged(self.base, self.number - 1) if self.number > 1 else None

    @property
    def next_path(self) -> str | None:
        return paged(self.base, self.number + 1) if self.number < self.count else None


def paginate(entries: Sequence[T], size: int, base: str) -> list[Pagination[T]]:
    """Split ``entries`` into pages of ``size``; an empty listing still has one page."""
    count = max(1, math.ceil(len(entries) / size))
    return [Pagination(entries[i * size : (i + 1) * size], i + 1, count, base) for i in range(count)]
