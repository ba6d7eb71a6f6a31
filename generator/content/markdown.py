"""The Markdown engine: markdown-it (Rust port) parses; this module renders node trees.

Two parsers, one tree. markdown-it-pyrs (markdown-it's design and CommonMark
rules, compiled) parses an issue about 35 times faster than markdown-it-py
(0.6 ms against 22 ms for a 6 KB issue here); with the Python parser alone,
parsing used more than the whole time budget of a 1,000-issue build. The
compiled parser panics on a few inputs (12 of 667 TWiR issues, in its
inline-code rule), so those files are parsed by markdown-it-py instead. Both
trees become the same plain :class:`Node` values; the reader and the HTML
renderer below see no difference. The reader needs HTML for pieces of a
document (one list item, one paragraph without its link lines), which is why
rendering lives here; tests check this renderer against markdown-it's own HTML
over every This Week in Rust issue, on both paths.

Choices:
- CommonMark with raw HTML on: editor content is trusted, and newsletters
  such as DevOps Weekly use ``<br>`` between commentary and link lines.
- Tables and strikethrough, as GitHub renders them.
- ``http(s)://`` URLs become links (linkify); words like "ASP.NET" do not.
  Bare e-mail addresses become ``mailto:`` links (done here: the parser's
  linkify handles URLs only).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable, Sequence

from markdown_it_pyrs import MarkdownIt

__all__ = ["Node", "Document", "parse", "render", "render_inline", "plain_text", "LINK_NODES"]

LINK_NODES = frozenset({"link", "linkify", "autolink"})
_NEWLINE = re.compile(b"\n")
_EMAIL = re.compile(r"(?<![\w.+\-/@])([A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})(?![\w@\-])")


@dataclass(slots=True, eq=False)
class Node:
    """One node of the syntax tree: its type, byte span in the source, details, children."""

    name: str
    start: int
    end: int
    meta: dict[str, Any] = field(default_factory=dict)
    children: list["Node"] = field(default_factory=list)
    # meta["content"] (text, code, raw HTML) as a field of its own: the reader asks for it some
    # hundred times per issue, and a property reading the dict cost 2 % of reading one.
    content: str = ""


@dataclass(slots=True)
class Document:
    """A parsed Markdown text: its tree, and byte offset → line lookups."""

    root: Node
    source: bytes
    # The last offset looked up and its line. The reader asks in reading order, so counting
    # the newlines from there scans a document about once; a table of every newline's offset
    # cost more to make than all the lookups in it.
    _mark: int = 0
    _mark_line: int = 0

    def line(self, offset: int) -> int:
        """0-based line of a byte offset."""
        if offset <= 0:
            return 0
        mark = self._mark
        if offset >= mark:
            line = self._mark_line + self.source.count(b"\n", mark, offset)
        else:
            line = self._mark_line - self.source.count(b"\n", offset, mark)
        self._mark, self._mark_line = offset, line
        return line

    def lines(self, node: Node) -> tuple[int, int]:
        """0-based [first, last + 1) line range a node spans."""
        first = self.line(node.start)
        last = self.line(max(node.start, node.end - 1))
        return first, last + 1

    def text(self, node: Node) -> str:
        return self.source[node.start : node.end].decode("utf-8", "replace")


@lru_cache(maxsize=1)
def _engine() -> MarkdownIt:
    return MarkdownIt("commonmark").enable_many(["linkify", "table", "strikethrough"])


def parse(text: str) -> Document:
    """Parse Markdown text into a :class:`Document`."""
    source = text.encode("utf-8")
    try:
        root = _convert(_tree_quietly(text), False)  # links e-mail addresses as it goes
    except BaseException as exc:  # pyo3 reports a Rust panic as PanicException (a BaseException)
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        root = _from_python_parser(text, source)
        _link_addresses(root, inside_link=False)
    return Document(root, source)


def _tree_quietly(text: str) -> Any:
    """The compiled parser's tree, file descriptor 2 sent to /dev/null meanwhile.

    A panic is recovered from by the caller, but Rust would still print it, with a
    backtrace, straight to the descriptor. (A plain function: the generator of a
    context manager cost more than the parser's work on a short issue.)
    """
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all
        return _engine().tree(text)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        return _engine().tree(text)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@lru_cache(maxsize=1)
def _python_engine() -> Any:
    from markdown_it import MarkdownIt as PyMarkdownIt

    md = PyMarkdownIt("commonmark", {"html": True, "linkify": True})
    md.enable(["linkify", "table", "strikethrough"])
    assert md.linkify is not None  # enabled just above
    md.linkify.set({"fuzzy_link": False, "fuzzy_email": False})  # addresses are linked in _link_addresses
    return md


_PY_NAMES = {"tr": "trow", "th": "tcell", "td": "tcell", "s": "strikethrough"}


def _from_python_parser(text: str, source: bytes) -> Node:
    """Parse with markdown-it-py and convert its tree to the same Node shape."""
    from markdown_it.tree import SyntaxTreeNode

    line_starts = [0] + [m.end() for m in _NEWLINE.finditer(source)]

    def offset(line: int) -> int:
        return line_starts[line] if line < len(line_starts) else len(source)

    def convert(node: Any, span: tuple[int, int], tight: bool) -> list[Node]:
        if node.is_root:
            return [Node("root", 0, len(source), {}, [n for child in node.children for n in convert(child, span, False)])]
        if node.map:
            span = (offset(node.map[0]), max(offset(node.map[1]) - 1, offset(node.map[0])))
        kind = node.type
        if kind == "inline":
            return [n for child in node.children for n in convert(child, span, tight)]
        if kind == "paragraph" and tight:
            return [n for child in node.children for n in convert(child, span, tight)]
        meta: dict[str, Any] = {}
        name = _PY_NAMES.get(kind, kind)
        child_tight = tight
        if kind == "heading":
            meta["level"] = int(node.tag[1])
        elif kind in ("bullet_list", "ordered_list"):
            child_tight = all(t.hidden for t in _paragraph_tokens(node))
            if kind == "ordered_list":
                meta["start"] = int(node.attrs.get("start", 1))
        elif kind == "list_item":
            child_tight = tight
        elif kind == "link":
            meta["url"] = node.attrs.get("href", "")
            if node.attrs.get("title"):
                meta["title"] = node.attrs["title"]
            if node.markup == "linkify":
                name = "linkify"
        elif kind == "image":
            meta["url"] = node.attrs.get("src", "")
            if node.attrs.get("title"):
                meta["title"] = node.attrs["title"]
        elif kind in ("text", "html_inline", "html_block", "code_block", "code_inline"):
            meta["content"] = node.content
        elif kind == "fence":
            meta.update(content=node.content, info=node.info, lang_prefix="language-")
        elif kind == "table":
            header_cells = node.children[0].children[0].children if node.children and node.children[0].children else []
            meta["alignments"] = [_alignment(cell.attrs.get("style", "")) for cell in header_cells]
        children_tight = child_tight if kind in ("bullet_list", "ordered_list") else (tight if kind == "list_item" else False)
        children = [n for child in node.children for n in convert(child, span, children_tight)]
        return [Node(name, span[0], span[1], meta, children, str(meta.get("content", "")))]

    tree = SyntaxTreeNode(_python_engine().parse(text))
    (root,) = convert(tree, (0, len(source)), False)
    return root


def _paragraph_tokens(list_node: Any) -> list[Any]:
    found = []
    for item in list_node.children:
        for child in item.children:
            if child.type == "paragraph":
                found.append(child.token if child.token is not None else child.nester_tokens.opening)
    return found


def _alignment(style: str) -> str:
    m = re.search(r"text-align:\s*(\w+)", str(style))
    return m.group(1) if m else "none"


# Reading an attribute of a compiled node costs about a microsecond (it is built anew on each
# access), and the tree of an issue has over a hundred nodes: converting it cost as much as parsing.
# So each attribute is read once, and not at all where the node type tells the answer: these types
# are leaves, and these carry no details (markdown-it's node types for them have no fields).
_LEAVES = frozenset({"text", "text_special", "softbreak", "hardbreak", "html_inline"})
_NO_META = frozenset({"root", "paragraph", "list_item", "blockquote", "softbreak", "hardbreak", "thead", "tbody", "trow", "tcell"})
# Text inside these is never scanned for e-mail addresses.
_NO_ADDRESSES = LINK_NODES | {"code_inline", "code_block", "fence", "html_inline"}


def _convert(node: Any, inside: bool) -> Node:
    """The compiled parser's node as a :class:`Node`, e-mail addresses in its text made links.

    ``inside`` tells that an ancestor is a link or code, where addresses stay text. Linking
    here rather than in a second walk over the tree (as for the Python parser's trees) saves
    that walk; leaves, two thirds of the nodes, are converted in their parent's loop.
    """
    name = node.name
    start, end = node.srcmap or (0, 0)
    meta = {} if name in _NO_META else node.meta
    children = None if name in _LEAVES else node.children
    if not children:
        return Node(name, start, end, meta, [], meta.get("content", ""))
    inside = inside or name in _NO_ADDRESSES
    converted: list[Node] = []
    for child in children:
        child_name = child.name
        if child_name not in _LEAVES:
            converted.append(_convert(child, inside))
            continue
        child_start, child_end = child.srcmap or (0, 0)
        child_meta = {} if child_name in _NO_META else child.meta
        leaf = Node(child_name, child_start, child_end, child_meta, [], child_meta.get("content", ""))
        if child_name == "text" and not inside and "@" in leaf.content:
            converted.extend(_split_addresses(leaf))
        else:
            converted.append(leaf)
    return Node(name, start, end, meta, converted, meta.get("content", ""))


def _link_addresses(node: Node, *, inside_link: bool) -> None:
    """Turn bare e-mail addresses in text into mailto: links."""
    inside = inside_link or node.name in LINK_NODES or node.name in ("code_inline", "code_block", "fence", "html_inline")
    if not node.children:
        return
    new_children: list[Node] = []
    changed = False
    for child in node.children:
        if child.name == "text" and not inside and "@" in child.content:
            pieces = _split_addresses(child)
            if pieces[0] is not child:
                changed = True
                new_children.extend(pieces)
                continue
        _link_addresses(child, inside_link=inside)
        new_children.append(child)
    if changed:
        node.children = new_children


def _text_node(at: Node, text: str) -> Node:
    """A text node holding ``text``, at the place of ``at``."""
    return Node("text", at.start, at.end, {"content": text}, [], text)


def _split_addresses(text_node: Node) -> list[Node]:
    content = text_node.content
    out: list[Node] = []
    last = 0
    for match in _EMAIL.finditer(content):
        if match.start() > last:
            out.append(_text_node(text_node, content[last : match.start()]))
        address = match.group(1)
        out.append(
            Node("linkify", text_node.start, text_node.end, {"url": f"mailto:{address}"}, [_text_node(text_node, address)])
        )
        last = match.end()
    if not out:
        return [text_node]
    if last < len(content):
        out.append(_text_node(text_node, content[last:]))
    return out


# ---------------------------------------------------------------- rendering


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def render(nodes: Node | Iterable[Node]) -> str:
    """HTML for block nodes (or a root), as markdown-it renders it."""
    out: list[str] = []
    for node in [nodes] if isinstance(nodes, Node) else nodes:
        _block(node, out, tight=False)
    return "".join(out)


def render_inline(nodes: Sequence[Node]) -> str:
    """HTML for inline nodes (the children of a paragraph or heading)."""
    if len(nodes) == 1 and nodes[0].name in ("text", "text_special"):  # a commentary without markup
        return _escape(nodes[0].content)
    out: list[str] = []
    for node in nodes:
        _inline(node, out)
    return "".join(out)


_BLOCK_TAGS = {"blockquote": "blockquote", "thead": "thead", "tbody": "tbody", "trow": "tr"}


def _block(node: Node, out: list[str], *, tight: bool) -> None:
    name = node.name
    if name == "root":
        for child in node.children:
            _block(child, out, tight=False)
    elif name == "paragraph":
        if tight:
            _inlines(node.children, out)
        else:
            out.append("<p>")
            _inlines(node.children, out)
            out.append("</p>\n")
    elif name in ("heading", "lheading"):
        level = int(node.meta.get("level", 1))
        out.append(f"<h{level}>")
        _inlines(node.children, out)
        out.append(f"</h{level}>\n")
    elif name in ("bullet_list", "ordered_list"):
        loose = any(c.name == "paragraph" for item in node.children for c in item.children)
        if name == "bullet_list":
            out.append("<ul>\n")
        else:
            start = int(node.meta.get("start", 1))
            out.append("<ol>\n" if start == 1 else f'<ol start="{start}">\n')
        for item in node.children:
            _list_item(item, out, tight=not loose)
        out.append("</ul>\n" if name == "bullet_list" else "</ol>\n")
    elif name in _BLOCK_TAGS:
        tag = _BLOCK_TAGS[name]
        out.append(f"<{tag}>\n")
        for child in node.children:
            _block(child, out, tight=False)
        out.append(f"</{tag}>\n")
    elif name == "table":
        out.append("<table>\n")
        alignments = list(node.meta.get("alignments", []))
        for part in node.children:
            out.append(f"<{part.name}>\n")
            for row in part.children:
                out.append("<tr>\n")
                for i, cell in enumerate(row.children):
                    tag = "th" if part.name == "thead" else "td"
                    align = alignments[i] if i < len(alignments) else "none"
                    style = f' style="text-align:{align}"' if align not in ("none", "", None) else ""
                    out.append(f"<{tag}{style}>")
                    _inlines(cell.children, out)
                    out.append(f"</{tag}>\n")
                out.append("</tr>\n")
            out.append(f"</{part.name}>\n")
        out.append("</table>\n")
    elif name == "fence":
        info = str(node.meta.get("info", "")).strip()
        lang = info.split()[0] if info else ""
        prefix = str(node.meta.get("lang_prefix", "language-"))
        attr = f' class="{_escape(prefix + lang)}"' if lang else ""
        out.append(f"<pre><code{attr}>{_escape(node.content)}</code></pre>\n")
    elif name == "code_block":
        out.append(f"<pre><code>{_escape(node.content)}</code></pre>\n")
    elif name == "html_block":
        out.append(node.content)
    elif name == "hr":
        out.append("<hr />\n")
    elif name == "definition":
        return
    else:  # an inline node where a block was expected: render it as text
        _inline(node, out)


def _list_item(item: Node, out: list[str], *, tight: bool) -> None:
    out.append("<li>")
    previous_inline = True
    for i, child in enumerate(item.children):
        is_block = child.name not in _INLINE_NAMES
        if is_block:
            if child.name == "paragraph" and tight:
                _block(child, out, tight=True)
                previous_inline = True
                continue
            if i == 0 or previous_inline:
                out.append("\n")
            _block(child, out, tight=False)
            previous_inline = False
        else:
            _inline(child, out)
            previous_inline = True
    out.append("</li>\n")


_INLINE_NAMES = frozenset(
    {"text", "text_special", "softbreak", "hardbreak", "link", "linkify", "autolink", "image", "em", "strong",
     "code_inline", "html_inline", "strikethrough", "s"}
)


def _inlines(nodes: Sequence[Node], out: list[str]) -> None:
    for node in nodes:
        _inline(node, out)


def _inline(node: Node, out: list[str]) -> None:
    name = node.name
    if name in ("text", "text_special"):
        out.append(_escape(node.content))
    elif name == "softbreak":
        out.append("\n")
    elif name == "hardbreak":
        out.append("<br />\n")
    elif name in LINK_NODES:
        title = node.meta.get("title")
        title_attr = f' title="{_escape(str(title))}"' if title else ""
        out.append(f'<a href="{_escape(str(node.meta.get("url", "")))}"{title_attr}>')
        _inlines(node.children, out)
        out.append("</a>")
    elif name == "image":
        title = node.meta.get("title")
        title_attr = f' title="{_escape(str(title))}"' if title else ""
        alt = _escape(plain_text(node.children))
        out.append(f'<img src="{_escape(str(node.meta.get("url", "")))}" alt="{alt}"{title_attr} />')
    elif name == "em":
        out.append("<em>")
        _inlines(node.children, out)
        out.append("</em>")
    elif name == "strong":
        out.append("<strong>")
        _inlines(node.children, out)
        out.append("</strong>")
    elif name in ("strikethrough", "s"):
        out.append("<s>")
        _inlines(node.children, out)
        out.append("</s>")
    elif name == "code_inline":
        out.append(f"<code>{_escape(plain_text(node.children) if node.children else node.content)}</code>")
    elif name == "html_inline":
        out.append(node.content)
    elif node.children:
        _inlines(node.children, out)
    else:
        out.append(_escape(node.content))


def plain_text(nodes: Sequence[Node]) -> str:
    """The visible text of inline nodes, markup removed, line breaks as spaces."""
    if len(nodes) == 1 and nodes[0].name in ("text", "text_special"):  # most link texts and headings
        return nodes[0].content
    parts: list[str] = []
    for node in nodes:
        if node.name in ("text", "text_special"):
            parts.append(node.content)
        elif node.name in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif node.name == "code_inline":
            parts.append(plain_text(node.children) if node.children else node.content)
        elif node.children:
            parts.append(plain_text(node.children))
    return "".join(parts)
