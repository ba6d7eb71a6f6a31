"""Digest pages: ``/digests/`` and one page per frozen digest file.

The digests are read from ``content/digests/`` by :func:`load_site_digests`
when the build makes its render context (``ctx.extra["digests"]``), so the
archive page can list them and the site feeds can include them
(:func:`digest_feed_items`). Every text a digest page shows is SafeHtml made
by the sanitiser; the build never fetches.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from ..config import Site
from ..content.digests import Digest, load_digests
from ..plan import Output, RenderContext
from ..sanitize import SafeHtml
from . import paths
from .feedformats import FeedEntry
from .views import pages_nav

_TAG = re.compile(r"<[^>]+>")

__all__ = ["DigestProducer", "load_site_digests", "digests_of", "digest_feed_items", "DigestFeedItem", "digest_link_entries"]


def load_site_digests(site: Site) -> tuple[Digest, ...]:
    return load_digests(site.root, site.config.fetch.digests_dir, site.config.zone)


def digests_of(ctx: RenderContext) -> tuple[Digest, ...]:
    digests: tuple[Digest, ...] = ctx.extra.get("digests", ())
    return digests


@dataclass(frozen=True, slots=True)
class DigestFeedItem:
    """A digest as a site-feed entry (for the feeds producer)."""

    title: SafeHtml
    path: str
    date: datetime
    links: int
    summary: SafeHtml


def digest_feed_items(ctx: RenderContext) -> list[DigestFeedItem]:
    """Digests newest first, shaped for a feed entry."""
    return [DigestFeedItem(d.title, paths.digest_path(d.slug), d.date, len(d.entries), d.summary) for d in digests_of(ctx)]


def digest_link_entries(ctx: RenderContext) -> list[FeedEntry]:
    """Every digest link as an entry of the site's link feed (untrusted text stays sanitised)."""
    absolute = ctx.env.filters["absolute"]
    host = (urlsplit(ctx.site.config.base_url).hostname or "localhost").lower()
    entries: list[FeedEntry] = []
    for digest in digests_of(ctx):
        page = absolute(paths.digest_path(digest.slug))
        for link in digest.entries:
            when = link.date or digest.date
            key = hashlib.sha256(link.href.encode()).hexdigest()[:16]
            body = f"{link.excerpt}<p>From <a href=\"{html.escape(page)}\">{digest.title}</a></p>"
            entries.append(
                FeedEntry(
                    id=f"tag:{host},{digest.end.isoformat()}:digests/{digest.slug}/{key}",
                    title=_plain(link.title),
                    url=page,
                    published=when,
                    updated=when,
                    summary=_plain(SafeHtml(_TAG.sub("", str(link.excerpt)))),
                    content_html=body,
                    external_url=link.href,
                    categories=("Digest",) + link.tags,
                )
            )
    return entries


class DigestProducer:
    name = "digests"

    def plan(self, ctx: RenderContext) -> list[Output]:
        digests = digests_of(ctx)
        if not digests:
            return []
        out = [Output(paths.output_file(paths.digests_path()), self.name, "index")]
        out += [Output(paths.output_file(paths.digest_path(d.slug)), self.name, "digest", d.slug, d.source_path) for d in digests]
        return out

    def fingerprint(self, ctx: RenderContext, output: Output) -> dict[str, str]:
        # digest pages show the digests (ctx.extra, tracked by the build) and the site navigation
        return {"view:nav": pages_nav(ctx.pages)}

    def render(self, ctx: RenderContext, output: Output) -> bytes:
        digests = digests_of(ctx)
        common = {"nav_pages": ctx.pages, "extra": ctx.extra, "description": ctx.site.config.description}
        if output.kind == "index":
            html = ctx.env.get_template("digests.html").render(page_path=paths.digests_path(), title="Link digests", digests=digests, **common)
        else:
            digest = next(d for d in digests if d.slug == output.key)
            html = ctx.env.get_template("digest.html").render(page_path=paths.digest_path(digest.slug), title=str(_plain(digest.title)), digest=digest, **common)
        return html.encode("utf-8")


def _plain(value: SafeHtml) -> str:
    return html.unescape(str(value))
