"""Which links a ``tidings check`` run looks at, and where each one is written.

The default scope is what the editor is about to send: the newest issue,
draft or not. ``tidings check 528`` (a number, slug or file) picks one issue;
``--all`` takes every issue, every standalone page and every frozen digest. Links silenced with the
``<!-- tidings: nocheck -->`` marker are set apart here, so neither the lint
nor the network ever sees them.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .build import Content
from .config import Site
from .content.digests import load_digests
from .content.frontmatter import HeaderError, split_header
from .content.markdown import LINK_NODES, Node, parse
from .errors import ContentError, Problem, SourcePos
from .lint import silenced_lines
from .model import Issue, Link
from .urls import host_of, normalize_url

__all__ = ["Scope", "page_links", "select_scope", "digest_links"]


@dataclass(slots=True)
class Scope:
    """The issues and links of one run."""

    label: str  # for reports: 'issue #528', 'the whole archive'
    issues: list[Issue]
    links: list[tuple[Link, Issue | None]] = field(default_factory=list)  # checked links and their issue (None: a page)
    silenced: list[Link] = field(default_factory=list)
    silenced_by_file: dict[str, set[int]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)  # source text by file


def select_scope(site: Site, content: Content, target: str | None, *, everything: bool) -> Scope:
    """Pick issues (and pages with ``everything``) and split their links into checked and silenced."""
    issues = sorted(content.issues, key=lambda i: (i.date, i.number or 0))
    if everything:
        scope = Scope("the whole archive", issues)
    elif target:
        scope = Scope("", [_find(site, issues, target)])
        scope.label = f"issue {scope.issues[0].label}"
    else:
        if not issues:
            raise ContentError([Problem(SourcePos(site.config.issues_dir), "no issues to check")])
        scope = Scope("", [issues[-1]])
        scope.label = f"issue {issues[-1].label}" + (" (draft)" if issues[-1].draft else "")
    for issue in scope.issues:
        lines = _silenced(site, issue.source_path, scope)
        for link in issue.iter_links():
            (scope.silenced.append(link) if link.pos.line in lines else scope.links.append((link, issue)))
    if everything:
        for page in content.pages:
            lines = _silenced(site, page.source_path, scope)
            for link in page_links(page.source_path, scope.texts[page.source_path]):
                (scope.silenced.append(link) if link.pos.line in lines else scope.links.append((link, None)))
        for link in digest_links(site):
            scope.links.append((link, None))
    return scope


def digest_links(site: Site) -> list[Link]:
    """Every link of the frozen weekly digests, at the line of its url in the digest file."""
    links: list[Link] = []
    for digest in load_digests(site.root, site.config.fetch.digests_dir, site.config.zone):
        for entry in digest.entries:
            links.append(
                Link(url=entry.href, key=normalize_url(entry.href), text=html.unescape(str(entry.title)), host=entry.host,
                     pos=SourcePos(digest.source_path, entry.line))
            )
    return links


def _silenced(site: Site, rel: str, scope: Scope) -> set[int]:
    try:
        text = (site.root / rel).read_text("utf-8")
    except (OSError, UnicodeDecodeError):
        text = ""
    lines = silenced_lines(text)
    scope.silenced_by_file[rel] = lines
    scope.texts[rel] = text
    return lines


def _find(site: Site, issues: Sequence[Issue], target: str) -> Issue:
    candidate = Path(target)
    if not candidate.is_absolute():
        candidate = Path.cwd() / candidate if (Path.cwd() / candidate).is_file() else site.root / candidate
    if candidate.is_file():
        rel = site.relative(candidate)
        for issue in issues:
            if issue.source_path == rel:
                return issue
        raise ContentError([Problem(SourcePos(rel), f"not an issue file (issues live in {site.config.issues_dir}/)")])
    wanted = target.lstrip("#")
    for issue in issues:
        if str(issue.number) == wanted or issue.slug == wanted:
            return issue
    raise ContentError([Problem(SourcePos(site.config.issues_dir), f"no issue numbered or named {target!r}")])


def page_links(path: str, text: str) -> list[Link]:
    """Links of a standalone page, with their lines (pages keep only HTML in the model)."""
    try:
        header = split_header(text, path)
        body, offset = header.body, header.body_line
    except HeaderError:
        body, offset = text, 1
    document = parse(body)
    links: list[Link] = []

    def walk(node: Node) -> None:
        if node.name in LINK_NODES:
            href = str(node.meta.get("url", ""))
            line = document.line(node.start) + offset
            links.append(Link(url=href, key=normalize_url(href), text="", host=host_of(href), pos=SourcePos(path, line)))
        for child in node.children:
            walk(child)

    walk(document.root)
    return links
