"""Redirects for the host: ``/latest`` and a previous site's URLs, as a ``_redirects`` file.

Why a generated file: which issue is newest, and where each old URL of an
imported archive now lives, change with the content, while ``netlify.toml``
is static. Netlify (and Cloudflare Pages) read ``_redirects`` from the
published folder; other hosts can translate its three columns
(``from to status``). Old URL patterns are expanded for every issue rather
than matched with wildcards, so each old address maps to exactly one new one
and a pattern that would send two issues to one place is a build error.
"""

from __future__ import annotations

import hashlib

from ..config import WebConfig
from ..content.archive import Archive
from ..errors import BuildError, Problem, SourcePos
from ..model import Issue
from ..plan import Output, RenderContext
from . import paths

__all__ = ["RedirectsProducer", "redirect_rules", "old_issue_url"]


def old_issue_url(pattern: str, issue: Issue) -> str | None:
    """``pattern`` filled in for ``issue``; None when it needs a number the issue lacks."""
    if "{number}" in pattern and issue.number is None:
        return None
    return (
        pattern.replace("{year}", f"{issue.date.year:04d}")
        .replace("{month}", f"{issue.date.month:02d}")
        .replace("{day}", f"{issue.date.day:02d}")
        .replace("{slug}", issue.slug)
        .replace("{number}", str(issue.number))
    )


def redirect_rules(web: WebConfig, archive: Archive) -> list[tuple[str, str, int]]:
    """(from, to, status) in the order the host should try them; raise BuildError on clashes."""
    rules: list[tuple[str, str, int]] = []
    origin: dict[str, str] = {}
    problems: list[Problem] = []

    def add(source: str, target: str, status: int, why: str) -> None:
        if source in origin:
            problems.append(Problem(SourcePos("tidings.yaml"), f"redirect from {source} is claimed twice ({origin[source]}; {why})"))
            return
        origin[source] = why
        if source != target:
            rules.append((source, target, status))

    for old, new in web.redirects.items():
        add(old, new, 301, "web.redirects")
    for pattern in web.old_issue_urls:
        for issue in archive.issues:
            former = old_issue_url(pattern, issue)
            if former is not None:
                add(former, paths.issue_path(issue), 301, f"{pattern} for {issue.source_path}")
    if web.latest_path and archive.latest is not None:
        # 302: the target changes with every issue, so browsers must not remember it
        add(web.latest_path, paths.issue_path(archive.latest), 302, "web.latest_path")
    if problems:
        raise BuildError(problems)
    return rules


class RedirectsProducer:
    """``_redirects``: one rule per line, site paths with the base URL's prefix."""

    name = "redirects"

    def plan(self, ctx: RenderContext) -> list[Output]:
        redirect_rules(ctx.site.config.web, ctx.archive)  # clashes fail the build before rendering
        return [Output("_redirects", self.name, "redirects")]

    def fingerprint(self, ctx: RenderContext, output: Output) -> dict[str, str]:
        # the file is exactly its rules: the newest issue and each issue's old and new address
        rules = redirect_rules(ctx.site.config.web, ctx.archive)
        return {"view:redirects": hashlib.sha256(repr(rules).encode()).hexdigest()}

    def render(self, ctx: RenderContext, output: Output) -> bytes:
        url = ctx.env.filters["url"]
        lines = ["# Written by tidings build from tidings.yaml (web:) and the archive; edits here are lost."]
        for source, target, status in redirect_rules(ctx.site.config.web, ctx.archive):
            lines.append(f"{url(source)}  {url(target)}  {status}")
        return ("\n".join(lines) + "\n").encode("utf-8")
