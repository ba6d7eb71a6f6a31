"""The readers' website: home, issues, archive, sections, link index, tags, pages.

:class:`SiteProducer` plans every page from the archive and renders one on
request, so the build can spread pages over worker processes. Templates get
model values and small helpers; URLs come from :mod:`generator.render.paths`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from html import escape
from typing import Any, Callable, Sequence, TypeVar

from ..content.archive import FeaturedLink
from ..plan import Output, RenderContext
from ..buildstate import digest
from . import paths, views

T = TypeVar("T")

__all__ = ["SiteProducer", "AssetProducer"]


class SiteProducer:
    """HTML pages, the sitemap and robots.txt."""

    name = "site"

    def __init__(self) -> None:
        self._memo: dict[Any, Any] = {}  # per build: paginations and fingerprints shared by outputs
        self._views: views.Views | None = None  # made on first use, from ctx.kept

    def _cached(self, key: Any, make: Callable[[], T]) -> T:
        if key not in self._memo:
            self._memo[key] = make()
        value: T = self._memo[key]
        return value

    def _paginate(self, ctx: RenderContext, listing: str, entries: Sequence[T], base: str) -> list[paths.Pagination[T]]:
        return self._cached(("pages", listing), lambda: paths.paginate(entries, ctx.site.config.page_size, base))

    def plan(self, ctx: RenderContext) -> list[Output]:
        archive = ctx.archive
        size = ctx.site.config.page_size
        out: list[Output] = [
            Output("index.html", self.name, "home", source=archive.latest.source_path if archive.latest else ""),
            Output("archive/index.html", self.name, "archive"),
            Output("sections/index.html", self.name, "sections"),
            Output("tags/index.html", self.name, "tags"),
            Output("404.html", self.name, "404"),
            Output("sitemap.xml", self.name, "sitemap"),
            Output("robots.txt", self.name, "robots"),
        ]
        for issue in archive.issues:
            out.append(Output(paths.output_file(paths.issue_path(issue)), self.name, "issue", issue.slug, issue.source_path))
        for year in self._cached("by_year", archive.by_year):
            out.append(Output(paths.output_file(paths.year_path(year)), self.name, "archive-year", str(year)))
        for kind in self._kinds(ctx):
            for kind_page in paths.paginate(archive.kinds.get(kind, ()), size, paths.kind_path(kind)):
                out.append(Output(paths.output_file(kind_page.path), self.name, "kind", f"{kind}:{kind_page.number}"))
        for links_page in paths.paginate(archive.links, size, paths.links_path()):
            out.append(Output(paths.output_file(links_page.path), self.name, "links", str(links_page.number)))
        for slug, issues in archive.tags.items():
            for tag_page in paths.paginate(issues, size, paths.tag_path(slug)):
                out.append(Output(paths.output_file(tag_page.path), self.name, "tag", f"{slug}:{tag_page.number}"))
        for page in ctx.pages:
            out.append(Output(paths.output_file(paths.page_path(page)), self.name, "content-page", page.slug, page.source_path))
        return out

    @staticmethod
    def _kinds(ctx: RenderContext) -> list[str]:
        """Configured kinds, in config order, then any other kind that has items."""
        kinds = list(ctx.site.config.section_kinds)
        kinds += sorted(k for k in ctx.archive.kinds if k not in kinds)
        return kinds

    def render(self, ctx: RenderContext, output: Output) -> bytes:
        name = "not_found" if output.kind == "404" else output.kind.replace("-", "_")
        method = getattr(self, "_" + name)
        result: str = method(ctx, output)
        return result.encode("utf-8")

    # -- pages

    def _page(self, ctx: RenderContext, template: str, path: str, **values: Any) -> str:
        values.setdefault("description", ctx.site.config.description)
        return ctx.env.get_template(template).render(page_path=path, nav_pages=ctx.pages, extra=ctx.extra, **values)

    def _home(self, ctx: RenderContext, output: Output) -> str:
        archive = ctx.archive
        latest = archive.latest
        recent = archive.issues[1 : 1 + ctx.site.config.recent_issues]
        return self._page(ctx, "home.html", "/", title=ctx.site.config.title, latest=latest, recent=recent)

    def _issue(self, ctx: RenderContext, output: Output) -> str:
        issue = ctx.archive.by_slug[output.key]
        older, newer = ctx.archive.neighbours(issue)
        return self._page(
            ctx,
            "issue.html",
            paths.issue_path(issue),
            title=issue.title,
            description=issue.summary or ctx.site.config.description,
            issue=issue,
            older=older,
            newer=newer,
            og_type="article",
        )

    def _archive(self, ctx: RenderContext, output: Output) -> str:
        return self._page(ctx, "archive.html", paths.archive_path(), title="Archive", years=self._cached("by_year", ctx.archive.by_year))

    def _archive_year(self, ctx: RenderContext, output: Output) -> str:
        year = int(output.key)
        years = self._cached("by_year", ctx.archive.by_year)
        ordered = list(years)
        index = ordered.index(year)
        return self._page(
            ctx,
            "archive_year.html",
            paths.year_path(year),
            title=f"Issues of {year}",
            year=year,
            months=years[year],
            newer_year=ordered[index - 1] if index > 0 else None,
            older_year=ordered[index + 1] if index + 1 < len(ordered) else None,
        )

    def _sections(self, ctx: RenderContext, output: Output) -> str:
        kinds = [(k, len(ctx.archive.kinds.get(k, ()))) for k in self._kinds(ctx)]
        return self._page(ctx, "sections.html", "/sections/", title="Sections", kinds=kinds)

    def _kind(self, ctx: RenderContext, output: Output) -> str:
        kind, number = output.key.rsplit(":", 1)
        pages = self._paginate(ctx, f"kind:{kind}", ctx.archive.kinds.get(kind, ()), paths.kind_path(kind))
        page = pages[int(number)]
        title = ctx.env.globals["kind_title"](kind)  # type: ignore[operator]
        span = _span(page.entries, lambda e: e.issue.date)
        return self._page(ctx, "section_kind.html", page.path, title=title, kind=kind, pagination=page, span=span)

    def _links(self, ctx: RenderContext, output: Output) -> str:
        pages = self._paginate(ctx, "links", ctx.archive.links, paths.links_path())
        page = pages[int(output.key)]
        # The total on the first page only: on every page, each new link would change them all.
        total = len(ctx.archive.links) if page.number == 0 else None
        return self._page(ctx, "links.html", page.path, title="Every link featured", pagination=page, total=total, span=_span(page.entries, _last_featured))

    def _tags(self, ctx: RenderContext, output: Output) -> str:
        tags = [(slug, ctx.archive.tag_names[slug], len(issues)) for slug, issues in ctx.archive.tags.items()]
        return self._page(ctx, "tags.html", paths.tags_path(), title="Tags", tags=tags)

    def _tag(self, ctx: RenderContext, output: Output) -> str:
        slug, number = output.key.rsplit(":", 1)
        pages = self._paginate(ctx, f"tag:{slug}", ctx.archive.tags[slug], paths.tag_path(slug))
        page = pages[int(number)]
        name = ctx.archive.tag_names[slug]
        span = _span(page.entries, lambda i: i.date)
        return self._page(ctx, "tag.html", page.path, title=f"Tagged “{name}”", tag=name, pagination=page, span=span)

    def _content_page(self, ctx: RenderContext, output: Output) -> str:
        page = next(p for p in ctx.pages if p.slug == output.key)
        return self._page(ctx, "page.html", paths.page_path(page), title=page.title, description=page.description, content_page=page)

    def _not_found(self, ctx: RenderContext, output: Output) -> str:
        return self._page(ctx, "404.html", "/404.html", title="Page not found", noindex=True)

    def _sitemap(self, ctx: RenderContext, output: Output) -> str:
        absolute = ctx.env.filters["absolute"]
        lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
        for path, when in self._sitemap_entries(ctx):
            lastmod = f"<lastmod>{when.astimezone(timezone.utc).date().isoformat()}</lastmod>" if when else ""
            lines.append(f"  <url><loc>{escape(absolute(path), quote=False)}</loc>{lastmod}</url>")
        lines.append("</urlset>")
        return "\n".join(lines) + "\n"

    def _sitemap_entries(self, ctx: RenderContext) -> list[tuple[str, datetime | None]]:
        entries: list[tuple[str, datetime | None]] = [("/", ctx.archive.latest.date if ctx.archive.latest else None)]
        entries += [(paths.issue_path(i), i.date) for i in ctx.archive.issues]
        entries += [(paths.archive_path(), None)] + [(paths.year_path(y), None) for y in self._cached("by_year", ctx.archive.by_year)]
        entries += [(paths.kind_path(k), None) for k in self._kinds(ctx)]
        entries += [(paths.links_path(), None), (paths.tags_path(), None)]
        entries += [(paths.tag_path(slug), None) for slug in ctx.archive.tags]
        entries += [(paths.page_path(p), None) for p in ctx.pages]
        return entries

    def _robots(self, ctx: RenderContext, output: Output) -> str:
        absolute = ctx.env.filters["absolute"]
        return f"User-agent: *\nAllow: /\n\nSitemap: {absolute('/sitemap.xml')}\n"


    # -- what each output shows, for incremental builds

    def _views_for(self, ctx: RenderContext) -> views.Views:
        if self._views is None:
            self._views = views.Views(ctx.kept.setdefault("view_entries", {}), ctx.kept.setdefault("card_digests", {}))
            self._views.forget_beyond(2 * sum(len(entries) for entries in ctx.archive.kinds.values()) + 1000)
        return self._views

    def fingerprint(self, ctx: RenderContext, output: Output) -> dict[str, str]:
        """Dependency keys → fingerprints of everything ``output`` shows (templates and config aside)."""
        archive = ctx.archive
        v = self._views_for(ctx)
        deps = {"view:nav": self._cached("nav", lambda: views.pages_nav(ctx.pages))}
        kind, key = output.kind, output.key
        if kind == "issue":
            issue = archive.by_slug[key]
            older, newer = archive.neighbours(issue)
            deps.update([views.source_key(issue)])
            deps["view:older"] = v.card_digest(older) if older else ""
            deps["view:newer"] = v.card_digest(newer) if newer else ""
        elif kind == "home":
            if archive.latest:
                deps.update([views.source_key(archive.latest)])
            deps["view:recent"] = v.cards(archive.issues[1 : 1 + ctx.site.config.recent_issues])
        elif kind == "archive":
            deps["view:years"] = self._cached("years", lambda: digest(*(
                f"{y}-{m}:{len(issues)}:{issues[0].date.isoformat()}" for y, months in self._cached("by_year", archive.by_year).items() for m, issues in months.items()
            )))
        elif kind == "archive-year":
            years = self._cached("by_year", archive.by_year)
            ordered = list(years)
            deps["view:year"] = digest(
                v.cards(i for month in years[int(key)].values() for i in month), "|".join(map(str, ordered))
            )
        elif kind == "sections":
            deps["view:kinds"] = digest(*(f"{k}:{len(archive.kinds.get(k, ()))}" for k in self._kinds(ctx)))
        elif kind == "kind":
            name, number = key.rsplit(":", 1)
            kind_page = self._paginate(ctx, f"kind:{name}", archive.kinds.get(name, ()), paths.kind_path(name))[int(number)]
            deps.update(self._listing(ctx, output, views.pagination(kind_page), kind_page.entries, lambda: digest(
                views.pagination(kind_page), *(v.entry(e) for e in kind_page.entries)), lambda: views.entry_sources(kind_page.entries)))
        elif kind == "links":
            links_page = self._paginate(ctx, "links", archive.links, paths.links_path())[int(key)]
            # The total shows on the first page, and the dates of the pager are not in the entries' views.
            total = len(archive.links) if links_page.number == 0 else ""
            span = _span(links_page.entries, _last_featured)
            head = f"{views.pagination(links_page)} {total} {' '.join(d.isoformat() for d in span or ())}"
            deps.update(self._listing(ctx, output, head, links_page.entries, lambda: digest(
                head, *(v.featured(f) for f in links_page.entries)), lambda: views.featured_sources(links_page.entries)))
        elif kind == "tags":
            deps["view:tags"] = digest(*(f"{s}\x1e{archive.tag_names[s]}\x1e{len(i)}" for s, i in archive.tags.items()))
        elif kind == "tag":
            slug, number = key.rsplit(":", 1)
            tag_page = self._paginate(ctx, f"tag:{slug}", archive.tags[slug], paths.tag_path(slug))[int(number)]
            head = f"{views.pagination(tag_page)} {archive.tag_names[slug]}"
            deps.update(self._listing(ctx, output, head, tag_page.entries, lambda: digest(
                views.pagination(tag_page), archive.tag_names[slug], v.cards(tag_page.entries)), lambda: views.card_sources(tag_page.entries)))
        elif kind == "content-page":
            deps.update([views.source_key(next(p for p in ctx.pages if p.slug == key))])
        elif kind == "sitemap":
            deps["view:sitemap"] = digest(*(f"{p}\x1e{w.isoformat() if w else ''}" for p, w in self._sitemap_entries(ctx)))
        return deps

    @staticmethod
    def _listing(
        ctx: RenderContext, output: Output, head: str, shown: Sequence[object], make: Callable[[], str], sources: Callable[[], str]
    ) -> dict[str, str]:
        """A listing page's view fingerprint, made again only when what it lists may have changed.

        Two shortcuts, because hashing every section page's entries took most of an
        edit's rebuild. In a long-running caller, entries, featured links and issues are
        immutable and an edited issue comes back as new objects, so the same objects
        mean the same view. Across processes, the view is a function of the sources
        of the issues listed (settings are in the global fingerprint), so when the
        page lists the same entries of the same sources as last time, the previous
        build's fingerprint still holds (kept under ``memo:sources``).
        """
        kept = ctx.kept.setdefault("listing_fingerprints", {})
        held = kept.get(output.path)
        ids = tuple(map(id, shown))
        if held is not None and held[0] == head and held[1] == ids:
            made_before: dict[str, str] = held[3]
            return made_before
        listed = digest(head, sources())
        before = ctx.previous.get(output.path) or {}
        view = before.get("view:entries") if before.get("memo:sources") == listed else None
        made = {"view:entries": view if view is not None else make(), "memo:sources": listed}
        kept[output.path] = (head, ids, tuple(shown), made)  # holding the objects: their ids stay theirs
        return made


def _span(entries: Sequence[T], date_of: Callable[[T], datetime]) -> tuple[datetime, datetime] | None:
    """The dates of a listing page's first (newest) and last entries, for its pager (page numbers count from the oldest end)."""
    return (date_of(entries[0]), date_of(entries[-1])) if entries else None


def _last_featured(link: FeaturedLink) -> datetime:
    """When a link was last featured: a link-index page's order (``refs`` are newest first)."""
    return link.refs[0][0].date


class AssetProducer:
    """The theme's static files, copied under content-hashed names."""

    name = "assets"

    def plan(self, ctx: RenderContext) -> list[Output]:
        return [Output(target, self.name, "asset", name) for name, target in sorted(ctx.assets.names.items())]

    def render(self, ctx: RenderContext, output: Output) -> bytes:
        data: bytes = ctx.assets.files[output.key].read_bytes()
        return data

    def fingerprint(self, ctx: RenderContext, output: Output) -> dict[str, str]:
        return {"asset": output.path}  # the name carries a hash of the file's bytes
