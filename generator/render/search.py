"""The search page: a form, a results list, and the small script that asks Pagefind.

The index itself is built after rendering (see :mod:`generator.pagefind`);
this producer only plans and renders ``/search/``. Every other page gets the
search box through ``extra["search_path"]`` (``_search_box.html``), a plain
GET form that works without JavaScript: it leads here, where the script runs
the query. Without JavaScript the page says so and points to the archive and
the link index instead, so nothing on the site depends on it.
"""

from __future__ import annotations

from ..plan import Output, RenderContext
from .views import pages_nav

__all__ = ["SEARCH_PATH", "SearchProducer"]

SEARCH_PATH = "/search/"


class SearchProducer:
    """``search/index.html``."""

    name = "search"

    def plan(self, ctx: RenderContext) -> list[Output]:
        if "search_path" not in ctx.extra:  # search is off, or there is nothing to search yet
            return []
        return [Output("search/index.html", self.name, "search")]

    def fingerprint(self, ctx: RenderContext, output: Output) -> dict[str, str]:
        # the page shows no content of its own, only the site navigation (templates and config aside)
        return {"view:nav": pages_nav(ctx.pages)}

    def render(self, ctx: RenderContext, output: Output) -> bytes:
        template = ctx.env.get_template("search.html")
        html = template.render(
            page_path=SEARCH_PATH,
            nav_pages=ctx.pages,
            extra=ctx.extra,
            title="Search",
            description=f"Search every issue and every link of {ctx.site.config.title}.",
            noindex=True,
        )
        return html.encode("utf-8")
