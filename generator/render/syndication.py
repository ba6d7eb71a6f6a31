"""The site's subscription feeds: issues, every curated link, and one feed per section kind.

Outputs:

- ``/feed.xml`` (RSS 2.0), ``/atom.xml`` (Atom 1.0), ``/feed.json`` (JSON Feed
  1.1): the latest ``syndication.entries`` issues, full content.
- ``/links.xml`` (RSS) and ``/links.json`` (JSON Feed): every curated item as
  its own entry (title, commentary, the link, the issue it was in), newest
  first, at most ``syndication.links``, together with every link of the frozen
  weekly digests (:func:`generator.render.digests.digest_link_entries`);
  :func:`links_feed` merges them by date.
- ``/sections/<kind>/feed.xml``: the newest items of each section kind.

Ids are ``tag:`` URIs (RFC 4151) from the site's host, the issue's date and
its path, so they survive a change of scheme or path prefix. Times come from
the content — the issue's date, or its ``updated:`` header — never from the
clock, so a build is reproducible. The producer also announces the feeds to
page templates (``ctx.extra["alternates"]`` for ``<link rel="alternate">``).
"""

from __future__ import annotations

import dataclasses

import html as htmllib
import re
from typing import Callable, Iterable, Sequence
from urllib.parse import urljoin, urlsplit

from ..content.archive import KindEntry
from ..content.metadata import parse_date
from ..errors import BuildError, Problem, SourcePos
from ..model import Issue, Item
from ..plan import Output, RenderContext
from ..buildstate import digest, recorder_of
from . import paths
from .digests import digest_link_entries
from .email import absolutize
from .feedformats import Feed, FeedEntry, to_atom, to_json_feed, to_rss

__all__ = ["FeedsProducer", "issue_entry", "item_entry", "links_feed", "FEED_PATHS"]

FEED_PATHS = {
    "rss": "/feed.xml",
    "atom": "/atom.xml",
    "json": "/feed.json",
    "links-rss": "/links.xml",
    "links-json": "/links.json",
}
_TYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml", "json": "application/feed+json"}
_TAG = re.compile(r"<[^>]+>")


def section_feed_path(kind: str) -> str:
    return f"/sections/{kind}/feed.xml"


def _host(ctx: RenderContext) -> str:
    return (urlsplit(ctx.site.config.base_url).hostname or "localhost").lower()


def _tag_id(ctx: RenderContext, issue: Issue, rest: str) -> str:
    return f"tag:{_host(ctx)},{issue.date:%Y-%m-%d}:{rest}"


def _updated(issue: Issue, zone: object) -> object:
    for key, value in issue.extra:
        if key.lower() in ("updated", "modified"):
            try:
                when = parse_date(value, zone)  # type: ignore[arg-type]
            except (ValueError, TypeError) as exc:
                raise BuildError([Problem(SourcePos(issue.source_path, 1), f"'{key}: {value}' is not a date ({exc})")]) from None
            return max(when, issue.date)
    return issue.date


def _plain(markup: str, limit: int = 300) -> str:
    text = " ".join(htmllib.unescape(_TAG.sub(" ", markup)).split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def issue_entry(ctx: RenderContext, issue: Issue) -> FeedEntry:
    absolute: Callable[[str], str] = ctx.env.filters["absolute"]
    url = absolute(paths.issue_path(issue))
    content = ""
    if ctx.site.config.syndication.full_content:
        content = absolutize(ctx.env.get_template("feeds/issue.html").render(issue=issue).strip(), url)
    return FeedEntry(
        id=_tag_id(ctx, issue, f"issues/{issue.slug}"),
        title=issue.title,
        url=url,
        published=issue.date,
        updated=_updated(issue, ctx.site.config.zone),  # type: ignore[arg-type]
        summary=issue.summary,
        content_html=content,
        categories=issue.tags,
    )


def item_entry(ctx: RenderContext, issue: Issue, item: Item) -> FeedEntry:
    """A curated item as an entry of its own: its link, its commentary, and where it was featured."""
    absolute: Callable[[str], str] = ctx.env.filters["absolute"]
    issue_url = absolute(paths.issue_path(issue))
    link = item.primary_link
    external = urljoin(issue_url, link.url) if link is not None and not link.is_mail else ""
    extra_links = "".join(
        f'<li><a href="{htmllib.escape(l.url)}">{htmllib.escape(l.text or l.url)}</a></li>' for l in item.own_links
    )
    body = item.commentary_html + (f"<ul>{extra_links}</ul>" if extra_links else "")
    body += f'<p>From <a href="{htmllib.escape(issue_url)}">{htmllib.escape(issue.title)}</a></p>'
    kind = ctx.env.globals["kind_title"](item.kind)  # type: ignore[operator]
    return FeedEntry(
        id=_tag_id(ctx, issue, f"issues/{issue.slug}/{item.anchor}"),
        title=item.display_title,
        url=absolute(paths.item_path(issue, item)),
        published=issue.date,
        updated=_updated(issue, ctx.site.config.zone),  # type: ignore[arg-type]
        summary=_plain(item.commentary_html) if item.commentary_html else "",
        content_html=absolutize(body, issue_url),
        external_url=external,
        categories=(kind,) + tuple(dict.fromkeys(label for l in item.links for label in l.labels)),
    )


def links_feed(base: Feed, entries: Iterable[FeedEntry], limit: int) -> Feed:
    """``base`` filled with ``entries`` (from any source), newest first, at most ``limit``; stable for ties."""
    ordered = sorted(entries, key=lambda e: e.published, reverse=True)
    return dataclasses.replace(base, entries=tuple(ordered[:limit]))


class FeedsProducer:
    """RSS, Atom and JSON Feed documents for issues, links and section kinds."""

    name = "feeds"

    def __init__(self) -> None:
        # Entries made once per build (a producer lives for one build), shared by the formats,
        # with what making them read (see Recorder.shared).
        self._made: dict[object, tuple[object, frozenset[str], frozenset[str]]] = {}

    def plan(self, ctx: RenderContext) -> list[Output]:
        title = ctx.site.config.title
        alternates = list(ctx.extra.get("alternates", []))
        alternates += [
            {"type": _TYPES["rss"], "title": f"{title} (RSS)", "path": FEED_PATHS["rss"]},
            {"type": _TYPES["atom"], "title": f"{title} (Atom)", "path": FEED_PATHS["atom"]},
            {"type": _TYPES["json"], "title": f"{title} (JSON Feed)", "path": FEED_PATHS["json"]},
            {"type": _TYPES["rss"], "title": f"{title}: every link (RSS)", "path": FEED_PATHS["links-rss"]},
        ]
        ctx.extra["alternates"] = alternates
        kinds = self._kinds(ctx)
        ctx.extra["section_feeds"] = {kind: section_feed_path(kind) for kind in kinds}
        out = [Output(paths.output_file(path), self.name, kind) for kind, path in FEED_PATHS.items()]
        out += [Output(paths.output_file(section_feed_path(kind)), self.name, "section", kind) for kind in kinds]
        return out

    @staticmethod
    def _kinds(ctx: RenderContext) -> list[str]:
        kinds = list(ctx.site.config.section_kinds)
        return kinds + sorted(k for k in ctx.archive.kinds if k not in kinds)

    def _envelope(self, ctx: RenderContext, title: str, description: str, home: str, self_path: str) -> Feed:
        config = ctx.site.config
        absolute: Callable[[str], str] = ctx.env.filters["absolute"]
        return Feed(
            title=title,
            description=description,
            home_url=absolute(home),
            self_url=absolute(self_path),
            id=absolute(self_path),
            language=config.language,
            author_name=config.author.name or config.title,
            author_email=config.author.email,
            author_url=config.author.url,
        )

    def issues_feed(self, ctx: RenderContext, self_path: str) -> Feed:
        config = ctx.site.config
        base = self._envelope(ctx, config.title, config.description, "/", self_path)
        entries = recorder_of(ctx.extra).shared(  # the same entries for RSS, Atom and JSON Feed
            self._made, "issues", lambda: tuple(issue_entry(ctx, issue) for issue in ctx.archive.issues[: config.syndication.entries]))
        return dataclasses.replace(base, entries=entries)

    def link_entries(self, ctx: RenderContext, limit: int) -> list[FeedEntry]:
        def make() -> list[FeedEntry]:
            entries: list[FeedEntry] = []
            for issue in ctx.archive.issues:
                if len(entries) >= limit:
                    break
                entries += [item_entry(ctx, issue, item) for item in issue.iter_items() if item.links]
            return entries

        return recorder_of(ctx.extra).shared(self._made, ("links", limit), make)  # the same entries for RSS and JSON Feed

    def links(self, ctx: RenderContext, self_path: str) -> Feed:
        config = ctx.site.config
        limit = config.syndication.links
        base = self._envelope(ctx, f"{config.title}: every link", f"Every link featured in {config.title}, newest first.", paths.links_path(), self_path)
        return links_feed(base, [*self.link_entries(ctx, limit), *digest_link_entries(ctx)], limit)

    def section(self, ctx: RenderContext, kind: str) -> Feed:
        config = ctx.site.config
        name = ctx.env.globals["kind_title"](kind)  # type: ignore[operator]
        base = self._envelope(ctx, f"{config.title}: {name}", f"Every item from the {name} sections of {config.title}.", paths.kind_path(kind), section_feed_path(kind))
        chosen: Sequence[KindEntry] = ctx.archive.kinds.get(kind, ())[: config.syndication.section_entries]
        return dataclasses.replace(base, entries=tuple(item_entry(ctx, e.issue, e.item) for e in chosen))

    def fingerprint(self, ctx: RenderContext, output: Output) -> dict[str, str]:
        """The issues a feed shows entries from, by their source (digests are tracked via ctx.extra)."""
        config = ctx.site.config
        if output.kind == "section":
            chosen = ctx.archive.kinds.get(output.key, ())[: config.syndication.section_entries]
            shown = [f"{e.issue.source_hash}#{e.anchor}" for e in chosen]
        elif output.kind.startswith("links"):
            shown, count = [], 0
            for issue in ctx.archive.issues:
                if count >= config.syndication.links:
                    break
                count += ctx.archive.linked_items[issue.slug]
                shown.append(issue.source_hash)
        else:
            shown = [i.source_hash for i in ctx.archive.issues[: config.syndication.entries]]
        return {"view:entries": digest(*shown)}

    def render(self, ctx: RenderContext, output: Output) -> bytes:
        kind = output.kind
        if kind == "section":
            return to_rss(self.section(ctx, output.key))
        if kind.startswith("links"):
            feed = self.links(ctx, FEED_PATHS[kind])
            return to_json_feed(feed) if kind == "links-json" else to_rss(feed)
        feed = self.issues_feed(ctx, FEED_PATHS[kind])
        return {"rss": to_rss, "atom": to_atom, "json": to_json_feed}[kind](feed)
