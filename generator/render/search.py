"""The search page: a form, a results list, and the small script that asks Pagefind.

The index itself is built by :mod:`generator.pagefind` from the staged pages;
this producer only plans and renders ``/search/``. Every other page gets the
search box through ``extra["search_path"]`` (``_search_box.html``), a plain
GET form that works without JavaScript: it leads here, where the script runs
the query. Without JavaScript the page says so and points to the archive and
the link index instead, so nothing on the site depends on it.

The index is split into shards, each a Pagefind bundle the search page merges:
issues in blocks of fifty, oldest first (an edit, nearly always to a recent
issue, re-indexes one block; a new issue joins the newest), and the standalone
pages in one more. The newest block, until it has its fifty, comes in parts of
ten: editing this week's issue re-indexes at most ten pages. Past 32 blocks the
blocks double in size, so a reader's browser never merges more than 37 bundles.

Why fifty: Pagefind takes 3–4 ms a page, so the block is most of what an edit
costs (0.35 s for a hundred pages). A merged bundle costs the reader two small
files when the search page opens (its entry and metadata, about 1 KB; the
search code and its WebAssembly come from the first bundle only) and one index
chunk per bundle for each word searched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..content.archive import Archive
from ..model import Issue, Page
from ..plan import Output, RenderContext
from . import paths
from .views import pages_nav

__all__ = ["SEARCH_PATH", "SearchProducer", "Shard", "search_shards"]

SEARCH_PATH = "/search/"
SHARD_ISSUES = 50
MAX_ISSUE_SHARDS = 32
TAIL_PARTS = 5  # the block not yet full comes in this many parts


@dataclass(frozen=True, slots=True)
class Shard:
    """One bundle of the search index: its folder under the output, and the pages it indexes."""

    folder: str  # e.g. 'pagefind/issues-0003'
    files: tuple[str, ...]  # output files, e.g. 'issues/201/index.html'


def search_shards(archive: Archive, pages: Sequence[Page]) -> list[Shard]:
    """The index's shards, newest issues first (the browser loads the first one first).

    Blocks of fifty issues, oldest first, so a new issue never moves an older one; the
    issues of the block not yet full are split into fifths (ten issues, for blocks of fifty), because
    the newest issue is the one an editor edits most, and a block is re-indexed whole.
    When the fifty are there, the block is indexed as one (once every fifty issues).
    """
    oldest_first = archive.issues[::-1]
    size = SHARD_ISSUES
    while -(-len(oldest_first) // size) > MAX_ISSUE_SHARDS:
        size *= 2
    tail = max(1, size // TAIL_PARTS)
    full = len(oldest_first) // size * size

    def shard(folder: str, issues: Sequence[Issue]) -> Shard:
        return Shard(f"{paths.BUNDLE_DIR}/{folder}", tuple(paths.output_file(paths.issue_path(i)) for i in issues))

    shards = [shard(f"issues-{start // size + 1:04d}", oldest_first[start : start + size]) for start in range(0, full, size)]
    block = f"issues-{full // size + 1:04d}"
    shards += [
        shard(block if start == full else f"{block}-{(start - full) // tail + 1}", oldest_first[start : start + tail])
        for start in range(full, len(oldest_first), tail)
    ]
    shards.reverse()
    if pages:
        shards.append(Shard(f"{paths.BUNDLE_DIR}/pages", tuple(paths.output_file(paths.page_path(p)) for p in pages)))
    return shards


class SearchProducer:
    """``search/index.html``."""

    name = "search"

    def plan(self, ctx: RenderContext) -> list[Output]:
        if "search_path" not in ctx.extra:  # search is off, or there is nothing to search yet
            return []
        return [Output("search/index.html", self.name, "search")]

    def fingerprint(self, ctx: RenderContext, output: Output) -> dict[str, str]:
        # the page shows no content of its own: the site navigation and where the bundles are (templates and config aside)
        return {"view:nav": pages_nav(ctx.pages), "view:shards": " ".join(s.folder for s in search_shards(ctx.archive, ctx.pages))}

    def render(self, ctx: RenderContext, output: Output) -> bytes:
        template = ctx.env.get_template("search.html")
        html = template.render(
            page_path=SEARCH_PATH,
            bundles=[f"/{shard.folder}/" for shard in search_shards(ctx.archive, ctx.pages)],
            nav_pages=ctx.pages,
            extra=ctx.extra,
            title="Search",
            description=f"Search every issue and every link of {ctx.site.config.title}.",
            noindex=True,
        )
        return html.encode("utf-8")
