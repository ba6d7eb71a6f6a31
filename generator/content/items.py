"""Small functions over syntax-tree nodes that the issue reader uses to find items.

Which line of a paragraph is a *link line*, the ``[video]`` labels before a
list item's link, the HTML inside a list item, the Markdown of an item without
its bullet: each is a pure function of the nodes or lines it is given.
"""

from __future__ import annotations

import dataclasses
import re

from ..model import Link
from .markdown import LINK_NODES, Node, plain_text, render, render_inline

__all__ = [
    "BLOCK_NAMES", "BREAKS", "render_item_body", "first_inline_run", "split_rows", "is_link_row",
    "strip_trailing_breaks", "strip_br_suffix", "labels_and_title", "with_labels", "dedent_item",
]

BREAKS = ("softbreak", "hardbreak")
_BR = re.compile(r"^<br\s*/?>$", re.IGNORECASE)
_LABEL = re.compile(r"\[([^\[\]]{1,24})\]")
_TRAILING_BR = re.compile(r"\s*<br\s*/?>\s*$", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s?")

BLOCK_NAMES = frozenset(
    {"paragraph", "heading", "lheading", "bullet_list", "ordered_list", "list_item", "blockquote", "fence",
     "code_block", "html_block", "hr", "table", "thead", "tbody", "trow", "tcell", "definition"}
)


def render_item_body(item: Node, loose: bool) -> str:
    """The inside of a list item as HTML (what goes between <li> and </li>)."""
    parts: list[str] = []
    inline_run: list[Node] = []
    for child in item.children:
        if child.name in BLOCK_NAMES:
            if inline_run:
                parts.append(render_inline(inline_run))
                inline_run = []
            if child.name == "paragraph" and not loose:
                parts.append(render_inline(child.children))
            else:
                parts.append(("\n" if parts else "") + render(child))
        else:
            inline_run.append(child)
    if inline_run:
        parts.append(render_inline(inline_run))
    return "".join(parts)


def first_inline_run(item: Node) -> list[Node]:
    """The item's first line of text: its leading inline nodes, or its first paragraph's."""
    run: list[Node] = []
    for child in item.children:
        if child.name in BLOCK_NAMES:
            if run:
                return run
            if child.name == "paragraph":
                return child.children
            return []
        run.append(child)
    return run


def split_rows(children: list[Node]) -> list[list[Node]]:
    rows: list[list[Node]] = [[]]
    for node in children:
        if node.name in BREAKS:
            rows.append([])
        else:
            rows[-1].append(node)
    return rows


def is_link_row(row: list[Node]) -> bool:
    """True when a line holds exactly one link and nothing else but <br> and spaces."""
    links = 0
    for node in row:
        name = node.name
        if name in LINK_NODES:
            links += 1
        elif name == "html_inline" and _is_br(node.content):
            continue
        elif name in ("text", "text_special") and not node.content.strip():
            continue
        else:
            return False
    return links == 1


_BR_SPELLINGS = frozenset({"<br>", "<br/>", "<br />", "<BR>"})


def _is_br(html: str) -> bool:
    """``<br>`` in any spelling; the usual ones are known without the pattern."""
    html = html.strip()
    return html in _BR_SPELLINGS or _BR.match(html) is not None


def strip_trailing_breaks(children: list[Node]) -> list[Node]:
    while children and (
        children[-1].name in BREAKS
        or (children[-1].name == "html_inline" and _is_br(children[-1].content))
        or (children[-1].name in ("text", "text_special") and not children[-1].content.strip())
    ):
        children = children[:-1]
    return children


def strip_br_suffix(lines: list[str]) -> list[str]:
    # The regex tries its leading \s* at every position of the line: it runs only on
    # lines that can end in a tag (1.6 % of a cold build when it ran on all of them).
    if lines and lines[-1].rstrip().endswith(">"):
        lines = lines[:-1] + [_TRAILING_BR.sub("", lines[-1])]
    return lines


def labels_and_title(children: list[Node]) -> tuple[tuple[str, ...], str | None]:
    """Leading ``[video]``-style labels and, when the item opens with a link, its text."""
    labels: list[str] = []
    for node in children:
        if node.name in ("text", "text_special"):
            found = _LABEL.findall(node.content)
            if _LABEL.sub("", node.content).strip():
                return tuple(labels), None
            labels.extend(x.strip() for x in found)
        elif node.name in LINK_NODES:
            text = " ".join(plain_text(node.children).split())
            return tuple(labels), (text or None)
        else:
            return tuple(labels), None
    return tuple(labels), None


def with_labels(link: Link, labels: tuple[str, ...]) -> Link:
    return dataclasses.replace(link, labels=labels)


def dedent_item(lines: list[str]) -> list[str]:
    if not lines:
        return []
    first = _BULLET.sub("", lines[0], count=1)
    rest = [line[2:] if line.startswith("  ") else line.lstrip() for line in lines[1:]]
    out = [first] + rest
    while out and not out[-1].strip():
        out.pop()
    return out
