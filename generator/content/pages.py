"""Read standalone pages (About, Sponsoring…) from ``content/pages/*.md``.

A page has a header with ``title`` (required), and optionally ``slug`` and
``description``; its URL is ``/<slug>/``, the slug defaulting to the file name.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import PurePosixPath

from ..errors import ContentError, Problem, SourcePos, decode_text
from ..model import Html, Page
from ..urls import slugify
from .frontmatter import HeaderError, split_header
from .markdown import parse, render

__all__ = ["read_page", "RESERVED_SLUGS"]

# Top-level URL segments the site itself uses; a page may not take them.
RESERVED_SLUGS = frozenset({"issues", "archive", "sections", "links", "tags", "assets", "email", "digests", "search", "pagefind"})


def read_page(path: str, data: bytes) -> Page:
    """Parse one page file; raise ContentError naming the file and line on bad input."""
    text = decode_text(data, path, ContentError)
    try:
        header = split_header(text, path)
    except HeaderError as exc:
        raise ContentError([exc.problem]) from None
    title = str(header.meta.get("title") or "").strip()
    if not title:
        raise ContentError([Problem(SourcePos(path, header.line_of("title")), "missing 'title' in the header")])
    slug = slugify(str(header.meta.get("slug") or PurePosixPath(path).stem))
    if not slug or slug in RESERVED_SLUGS:
        raise ContentError(
            [Problem(SourcePos(path, header.line_of("slug")), f"page slug '{slug}' is reserved for the site's own pages; choose another")]
        )
    body_html = render(parse(header.body).root)
    description = str(header.meta.get("description") or "").strip()
    if not description:
        first = re.search(r"<p>(.*?)</p>", body_html, re.DOTALL)
        description = " ".join(re.sub(r"<[^>]+>", "", first.group(1)).split())[:200] if first else ""
    return Page(
        title=title,
        slug=slug,
        html=Html(body_html),
        description=description,
        source_path=path,
        source_hash=hashlib.sha256(data).hexdigest(),
    )
