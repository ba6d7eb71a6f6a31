"""Plain text from the model's small HTML fragments, for the email's text part.

The text part of an email is rendered from the issue model with its own
template; this module only turns the model's rendered fields (an item's
commentary, a prose block — markup the editor's Markdown produced) into
readable text. It never sees the email's layout tables, so nothing hidden
(the preheader) or structural leaks into the text.

Rules: paragraphs wrap at 72 columns; a link shows its text followed by its
URL in angle brackets (RFC 3986, appendix C), or the URL alone when the text
is the URL; URLs are never broken across lines; lists get ``*``/``1.``
markers with hanging indents; preformatted text keeps its lines; table rows
become ``cell | cell`` lines. No line exceeds 998 characters (RFC 5322).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

__all__ = ["fragment_text", "wrap", "MAX_LINE", "WIDTH", "clean"]

WIDTH = 72
MAX_LINE = 998
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACE = re.compile(r"[ \t\r\n\f\v]+")
_BLOCK = frozenset(
    "p div ul ol li blockquote pre h1 h2 h3 h4 h5 h6 table thead tbody tfoot tr hr figure figcaption dl dt dd".split()
)
_ABSOLUTE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_LONE_LINK = re.compile(r'^<a href="([^"<>&]*)">([^<>&]*)</a>$')
_VOID = frozenset("br hr img input meta link wbr source col area".split())


@dataclass(slots=True)
class _Node:
    tag: str
    attrs: dict[str, str]
    children: list["_Node | str"] = field(default_factory=list)


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = _Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(_Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def clean(text: str) -> str:
    """Remove control characters that mail clients choke on (keeps TAB and newlines)."""
    return _CONTROL.sub("", text)


def wrap(text: str, width: int = WIDTH, first: str = "", rest: str | None = None) -> list[str]:
    """Wrap one paragraph; words (and URLs) are never split, so a long URL gets a line of its own."""
    rest = first if rest is None else rest
    text = _SPACE.sub(" ", text).strip()
    if not text:
        return []
    lines = _fill(text.split(" "), width, first, rest)
    out: list[str] = []
    for line in lines:  # a single word longer than the hard limit (never a real URL) is cut
        while len(line) > MAX_LINE:
            out.append(line[:MAX_LINE])
            line = rest + line[MAX_LINE:]
        out.append(line)
    return out


def _fill(words: list[str], width: int, first: str, rest: str) -> list[str]:
    """Greedy filling, as textwrap does it with long words and hyphens left whole (a few times faster)."""
    lines: list[str] = []
    line = first
    size = len(first)
    empty = True
    for word in words:
        if empty:
            line += word
            size += len(word)
            empty = False
        elif size + 1 + len(word) <= width:
            line += " " + word
            size += 1 + len(word)
        else:
            lines.append(line)
            line = rest + word
            size = len(line)
    if not empty:
        lines.append(line)
    return lines


class _Renderer:
    def __init__(self, width: int, base: str):
        self.width = width
        self.base = base

    def blocks(self, node: _Node, indent: str) -> list[list[str]]:
        """Paragraphs (lists of lines) for the children of ``node``."""
        out: list[list[str]] = []
        inline: list[_Node | str] = []

        def flush() -> None:
            text = self.inline(inline)
            if text.strip():
                out.append(wrap(text, self.width, indent))
            inline.clear()

        for child in node.children:
            if isinstance(child, _Node) and child.tag in _BLOCK:
                flush()
                out.extend(self.block(child, indent))
            elif isinstance(child, _Node) and child.tag == "br":
                inline.append("\n")
            else:
                inline.append(child)
        flush()
        return out

    def block(self, node: _Node, indent: str) -> list[list[str]]:
        tag = node.tag
        if tag in ("ul", "ol"):
            lines: list[str] = []
            number = int(node.attrs.get("start", "1") or 1) if node.attrs.get("start", "").isdigit() else 1
            for child in node.children:
                if not isinstance(child, _Node) or child.tag != "li":
                    continue
                marker = f"{number}. " if tag == "ol" else "* "
                number += 1
                inner = self.blocks(child, indent + " " * len(marker))
                if not inner:
                    continue
                first = inner[0]
                first[0] = indent + marker + first[0][len(indent) + len(marker) :]
                for para in inner:
                    lines.extend(para)
            return [lines] if lines else []
        if tag == "pre":
            text = self.raw(node).rstrip("\n")
            return [[clip(indent + "    " + line) for line in text.split("\n")]]
        if tag == "blockquote":
            return self.blocks(node, indent + "> ")
        if tag == "hr":
            return [[indent + "-" * 20]]
        if tag == "table":
            rows: list[str] = []
            for row in _descendants(node, "tr"):
                cells = [" ".join(self.inline(c.children).split()) for c in row.children if isinstance(c, _Node) and c.tag in ("td", "th")]
                rows.extend(wrap(" | ".join(cells), self.width, indent, indent + "  "))
            return [rows] if rows else []
        if tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            text = self.inline(node.children)
            return [wrap(text, self.width, indent)] if text.strip() else []
        return self.blocks(node, indent)

    def inline(self, children: list[_Node | str]) -> str:
        parts: list[str] = []
        for child in children:
            if isinstance(child, str):
                parts.append(child)
            elif child.tag == "a":
                text = " ".join(self.inline(child.children).split())
                href = child.attrs.get("href", "")
                if href and not href.startswith("#"):
                    url = href if _ABSOLUTE.match(href) or not self.base else urljoin(self.base, href)
                    shown = url[7:] if url.startswith("mailto:") else url
                    if text in (url, shown) or text.rstrip("/") == url.split("://", 1)[-1].rstrip("/"):
                        parts.append(f"<{shown}>")
                    else:
                        parts.append(f"{text} <{shown}>")
                else:
                    parts.append(text)
            elif child.tag == "img":
                alt = child.attrs.get("alt", "").strip()
                if alt:
                    parts.append(f"[{alt}]")
            elif child.tag == "br":
                parts.append(" ")
            else:
                parts.append(self.inline(child.children))
        return "".join(parts)

    def raw(self, node: _Node) -> str:
        return "".join(c if isinstance(c, str) else self.raw(c) for c in node.children)


def _descendants(node: _Node, tag: str) -> list[_Node]:
    found: list[_Node] = []
    for child in node.children:
        if isinstance(child, _Node):
            if child.tag == tag:
                found.append(child)
            else:
                found.extend(_descendants(child, tag))
    return found


def clip(line: str) -> str:
    return line if len(line) <= MAX_LINE else line[:MAX_LINE]


def fragment_text(markup: str, *, width: int = WIDTH, indent: str = "", base: str = "") -> str:
    """Readable text for an HTML fragment of the model; paragraphs separated by blank lines.

    ``base`` resolves relative links (a link to another issue) to absolute URLs.
    """
    # Cleaned once, here: what follows only splits, joins and adds spaces, markers and URLs.
    markup = clean(markup).strip()
    if "<" not in markup and "&" not in markup:  # fast paths: plain text, or a lone link (most digest items)
        return "\n".join(wrap(markup, width, indent))
    lone = _LONE_LINK.match(markup)
    if lone:
        link = _Node("a", {"href": lone.group(1)}, [lone.group(2)])
        return "\n".join(wrap(_Renderer(width, base).inline([link]), width, indent))
    builder = _TreeBuilder()
    builder.feed(markup)
    builder.close()
    paragraphs = _Renderer(width, base).blocks(builder.root, indent)
    return "\n\n".join("\n".join(p) for p in paragraphs if p)
