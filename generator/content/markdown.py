"""The Markdown engine: markdown-it-py configured once, and helpers over its tokens.

Choices, and why:
- CommonMark with raw HTML on: editor content is trusted, and newsletters
  such as DevOps Weekly use ``<br>`` between commentary and link lines.
- Tables and strikethrough, as GitHub renders them (TWiR uses tables).
- Bare ``http(s)://`` and ``www.`` URLs and e-mail addresses become links
  (linkify); "fuzzy" links without a scheme are off, so "ASP.NET" or
  "Node.js" in commentary stay text.
- Linkify is expensive when run on every text run; a one-regex pre-test
  skips the text that cannot contain a link.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Sequence

from markdown_it import MarkdownIt
from markdown_it.token import Token

__all__ = ["engine", "render_blocks", "render_inline", "plain_text", "Token"]

_EXTRA_TLDS = [
    "dev", "app", "io", "ai", "cloud", "tech", "page", "blog", "codes", "software", "systems", "tools",
    "engineering", "digital", "online", "site", "website", "store", "shop", "news", "email", "team",
    "works", "company", "network", "host", "link", "live", "zone", "space", "fun", "xyz", "sh", "run",
    "example", "test", "invalid", "localhost",
]
_MAYBE_LINK = re.compile(r"://|www\.|@", re.IGNORECASE)


@lru_cache(maxsize=1)
def engine() -> MarkdownIt:
    """The process-wide Markdown parser (built on first use, then shared)."""
    md = MarkdownIt("commonmark", {"html": True, "linkify": True})
    md.enable(["linkify", "table", "strikethrough"])
    linkify = md.linkify
    assert linkify is not None
    linkify.set({"fuzzy_link": False})
    # Newer generic domains that linkify-it does not know, so "jobs@team.dev" alone on a
    # line becomes a link; plus the names reserved for documentation (RFC 2606/6761).
    linkify.tlds(_EXTRA_TLDS, True)
    full_test = linkify.test
    full_pretest = linkify.pretest
    linkify.pretest = lambda text: bool(_MAYBE_LINK.search(text)) and full_pretest(text)  # type: ignore[method-assign]
    linkify.test = lambda text: bool(_MAYBE_LINK.search(text)) and full_test(text)  # type: ignore[method-assign]
    return md


def render_blocks(tokens: Sequence[Token], env: dict[str, Any] | None = None) -> str:
    """HTML for a run of block tokens (a paragraph, a list, a quote…)."""
    md = engine()
    return md.renderer.render(list(tokens), md.options, env or {})


def render_inline(children: Sequence[Token], env: dict[str, Any] | None = None) -> str:
    """HTML for inline tokens (the children of one ``inline`` token)."""
    md = engine()
    return md.renderer.renderInline(list(children), md.options, env or {})


def plain_text(children: Sequence[Token]) -> str:
    """The visible text of inline tokens, markup removed, breaks as spaces."""
    parts: list[str] = []
    for tok in children:
        if tok.type in ("text", "code_inline"):
            parts.append(tok.content)
        elif tok.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif tok.type == "image":
            parts.append(tok.content)
        elif tok.children:
            parts.append(plain_text(tok.children))
    return "".join(parts)
