"""Read one issue file into an :class:`~generator.model.Issue`.

The grouping rules (documented for editors in docs/content.md):

1. The header gives title, date, number, draft, tags, summary (YAML front
   matter or Pelican ``Key: value`` lines).
2. Text before the first heading is the issue's introduction.
3. The shallowest heading level used in the file starts sections; each deeper
   heading starts a sub-section of the heading above it. A heading's words
   choose the section's kind through the configured keywords; ``{kind=jobs}``
   at the end of a heading sets it explicitly.
4. In a list that contains links, each top-level list item is an item. A list
   without any link is prose.
5. Paragraph items (DevOps Weekly style): a paragraph that ends in link lines
   (lines holding only a link, optionally after ``<br>``; a bare URL or e-mail
   address counts) closes an item. Link-less paragraphs just before it are
   part of that item (its lead-in; a short first line without a full stop
   becomes the item's title). Link-less paragraphs after the last item of a
   section, before the next heading, belong to that item.
6. A paragraph whose links sit inside its sentences, and any other block
   (quote, code, table), is prose.
7. A closing block of the last section that repeats a sponsor item of the
   same issue word for word is the issue's closing sponsor note (outro).
"""

from __future__ import annotations

import hashlib
import html as htmllib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..config import SectionKind
from ..errors import ContentError, Problem, SourcePos, decode_text, new_pos
from ..model import Html, Issue, Link, Prose, Section, new_group, new_item, new_link, new_section
from ..urls import key_and_host, slugify, unique_slug
from .frontmatter import HeaderError, split_header
from .items import (
    BLOCK_NAMES,
    BREAKS,
    dedent_item,
    first_inline_run,
    is_link_row,
    labels_and_title,
    render_item_body,
    split_rows,
    strip_br_suffix,
    strip_trailing_breaks,
    with_labels,
)
from .metadata import read_meta
from .markdown import LINK_NODES, Document, Node, parse, plain_text, render, render_inline

__all__ = ["read_issue", "parse_issue_text", "IssueSettings", "GENERAL_KIND"]

GENERAL_KIND = "general"

_KIND_SUFFIX = re.compile(r"\s*\{\s*kind\s*=\s*([A-Za-z0-9_-]+)\s*\}\s*$")
_DECORATION = re.compile(r"^[=\-_*~#.\s]+$")
_MORE = re.compile(r"<!--\s*more\s*-->", re.IGNORECASE)
_COMMENT_ONLY = re.compile(r"^\s*(?:<!--.*?-->\s*)+$", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_WORDS = re.compile(r"[A-Za-z0-9]+")
_FIRST_WORDS = re.compile(r"[A-Za-z0-9]+(?:[^A-Za-z0-9]+[A-Za-z0-9]+){0,7}")  # up to 8 whole words and what is between
_LOWER_WORDS = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class IssueSettings:
    """The parts of the config the reader needs (small, so it ships cheaply to workers)."""

    section_kinds: tuple[tuple[str, SectionKind], ...]
    timezone: str

    @property
    def kinds(self) -> dict[str, SectionKind]:
        return dict(self.section_kinds)


# ---------------------------------------------------------------- entry points


def read_issue(path: str, data: bytes, settings: IssueSettings) -> Issue:
    """Parse the bytes of one issue file; raise ContentError listing every problem."""
    text = decode_text(data, path, ContentError)
    return parse_issue_text(path, text, settings, source_hash=hashlib.sha256(data).hexdigest())


def parse_issue_text(path: str, text: str, settings: IssueSettings, *, source_hash: str = "") -> Issue:
    """Parse an issue from text; ``path`` is used for messages and the slug."""
    problems: list[Problem] = []
    try:
        header = split_header(text, path)
    except HeaderError as exc:
        raise ContentError([exc.problem]) from None
    meta = read_meta(path, header, settings.timezone, problems)
    reader = _BodyReader(path, header.body, header.body_line, settings.kinds, problems)
    intro, sections, outro = reader.read()
    if problems:
        raise ContentError(problems)
    assert meta is not None
    summary = meta.summary or reader.summary or _first_sentence_of(sections)
    return Issue(
        number=meta.number,
        title=meta.title,
        date=meta.date,
        slug=meta.slug,
        summary=summary,
        intro=intro,
        sections=sections,
        outro=outro,
        tags=meta.tags,
        draft=meta.draft,
        category=meta.category,
        source_path=path,
        source_hash=source_hash or hashlib.sha256(text.encode("utf-8")).hexdigest(),
        pos=SourcePos(path, 1),
        extra=meta.extra,
    )


# ---------------------------------------------------------------- header


def _first_sentence_of(sections: tuple[Section, ...]) -> str:
    for section in sections:
        for item in section.iter_items():
            return item.display_title
    return ""


# ---------------------------------------------------------------- body
#
# The drafts below are made with positional arguments: binding keywords cost a dataclass
# call more than the rest of its work, and the reader makes several per item.


@dataclass(slots=True)
class _ItemDraft:
    """An item while its section is read: its Markdown and HTML may still grow."""

    title: str | None
    commentary_md: list[str]
    html: list[str]
    links: list[Link]
    pos: SourcePos
    style: str


@dataclass(slots=True)
class _Para:
    """A paragraph, split into commentary lines and trailing link lines."""

    node: Node
    line: int  # file line of the paragraph's first line
    source: list[str]  # its source lines (commentary lines only, when it has link lines)
    commentary: list[Node]  # inline nodes before the link lines
    links_inline: list[Link]
    links_own_line: list[Link]

    @property
    def has_link_lines(self) -> bool:
        return bool(self.links_own_line)

    @property
    def has_links(self) -> bool:
        return bool(self.links_inline or self.links_own_line)


@dataclass(slots=True)
class _SectionDraft:
    kind: str
    title: str
    level: int  # depth: 1 for sections, 2 for sub-sections…
    heading_level: int  # 1..6 as written
    pos: SourcePos
    heading_links: list[Link] = field(default_factory=list)
    blocks: list[Any] = field(default_factory=list)  # Prose | ('group', style, [_ItemDraft])
    subsections: list["_SectionDraft"] = field(default_factory=list)
    pending: list[_Para] = field(default_factory=list)
    trailing_ok: bool = False  # the last block is a paragraph item that may take trailing paragraphs
    slug: str = ""  # given once every section of the issue is known


_HEADINGS = ("heading", "lheading")
_SPONSOR_LABELS = frozenset({"sponsor", "sponsored", "ad"})
_LISTS = ("bullet_list", "ordered_list")


class _BodyReader:
    """One pass over the body's syntax tree, building sections and items."""

    def __init__(self, path: str, body: str, body_line: int, kinds: dict[str, SectionKind], problems: list[Problem]):
        self.path = path
        self.lines = body.split("\n")
        self.offset = body_line  # file line of body line 0
        self.kinds = kinds
        self.keywords = _keyword_table(tuple(kinds.items()))
        self.problems = problems
        self.summary = ""
        self.doc: Document = parse(body)

    # -- positions

    def _line(self, node: Node) -> int:
        return self.doc.line(node.start) + self.offset

    def _pos(self, node: Node) -> SourcePos:
        return new_pos(self.path, self._line(node))

    def _source(self, node: Node) -> list[str]:
        first, end = self.doc.lines(node)
        return self.lines[first:end]

    # -- top level

    def read(self) -> tuple[Prose | None, tuple[Section, ...], tuple[Any, ...]]:
        intro_blocks: list[Node] = []
        roots: list[_SectionDraft] = []
        stack: list[_SectionDraft] = []
        for block in self.doc.root.children:
            if block.name in _HEADINGS:
                level = int(block.meta.get("level", 1))
                if stack:
                    self._flush(stack[-1])
                while stack and stack[-1].heading_level >= level:
                    stack.pop()
                section = self._new_section(block, level, stack[-1] if stack else None)
                (stack[-1].subsections if stack else roots).append(section)
                stack.append(section)
            elif not stack:
                intro_blocks.append(block)
            else:
                self._add_block(stack[-1], block)
        if stack:
            self._flush(stack[-1])
        intro = self._intro(intro_blocks)
        outro: list[Any] = []
        self._split_outro(roots, outro)
        taken: set[str] = set()
        for root in roots:  # sections first, so their slugs win over item anchors in the page's id space
            self._name_section(root, taken)
        sections = tuple(self._freeze_section(s, taken) for s in roots)
        frozen_outro = tuple(self._freeze_block(b, "outro", "sponsor", taken) for b in outro)
        return intro, sections, frozen_outro

    def _new_section(self, block: Node, level: int, parent: _SectionDraft | None) -> _SectionDraft:
        title = " ".join(plain_text(block.children).split())
        kind: str | None = None
        m = _KIND_SUFFIX.search(title)
        if m:
            title = title[: m.start()].rstrip()
            kind = m.group(1)
            if kind != GENERAL_KIND and kind not in self.kinds:
                known = ", ".join(sorted(self.kinds))
                self.problems.append(Problem(self._pos(block), f"section kind '{kind}' is not in the config (known: {known})"))
                kind = GENERAL_KIND
        if kind is None:
            kind = _kind_for(self.keywords, title) or (parent.kind if parent else GENERAL_KIND)
        depth = parent.level + 1 if parent else 1
        links = self._links_from_inline(block.children, self._line(block))
        # kind, title, level, heading_level, pos, heading_links (positional: keywords cost more than the rest)
        return _SectionDraft(kind, title or "Untitled", depth, level, self._pos(block), links)

    # -- blocks inside a section

    def _add_block(self, section: _SectionDraft, block: Node) -> None:
        if block.name == "paragraph":
            para = self._paragraph(block)
            if para is None:
                return
            if para.has_link_lines:
                lead = section.pending
                section.pending = []
                self._add_item(section, self._paragraph_item(lead, para), "paragraphs")
                section.trailing_ok = True
            elif para.has_links:
                self._flush(section)
                section.trailing_ok = False
                section.blocks.append(self._prose([block], para.links_inline))
            else:
                section.pending.append(para)
            return
        self._flush(section)
        section.trailing_ok = False
        if block.name in _LISTS:
            self._list(section, block)
        elif block.name in ("hr", "definition"):
            return
        elif block.name == "html_block" and _COMMENT_ONLY.match(block.content):
            return
        else:
            section.blocks.append(self._prose([block], self._links_in(block)))

    def _flush(self, section: _SectionDraft) -> None:
        """Place link-less paragraphs waiting for a link line: trailing text of the last item, or prose."""
        if not section.pending:
            return
        pending, section.pending = section.pending, []
        if section.trailing_ok and section.blocks and isinstance(section.blocks[-1], tuple):
            item = section.blocks[-1][2][-1]
            for para in pending:
                if item.commentary_md and item.commentary_md[-1].strip():
                    item.commentary_md.append("")  # keep the paragraph break in the Markdown
                item.commentary_md.extend(para.source)
                item.html.append(f"<p>{render_inline(para.commentary)}</p>")
            return
        for para in pending:
            section.blocks.append(self._prose([para.node], []))

    def _add_item(self, section: _SectionDraft, item: _ItemDraft, style: str) -> None:
        last = section.blocks[-1] if section.blocks else None
        if isinstance(last, tuple) and last[1] == style:
            last[2].append(item)
        else:
            section.blocks.append(("group", style, [item]))

    def _paragraph(self, block: Node) -> _Para | None:
        first, end = self.doc.lines(block)
        source = self.lines[first:end]
        # A letter or digit cannot start a decoration line: most paragraphs are not joined to be sure.
        if not (source and source[0][:1].isalnum()) and _DECORATION.match("\n".join(source)):
            return None
        line = first + self.offset
        rows = split_rows(block.children)
        cut = len(rows)
        while cut > 0 and is_link_row(rows[cut - 1]):
            cut -= 1
        commentary: list[Node] = []
        for i, row in enumerate(rows[:cut]):
            if i:
                commentary.append(Node("softbreak", block.start, block.start))
            commentary.extend(row)
        commentary = strip_trailing_breaks(commentary)
        links_own: list[Link] = []
        for i in range(cut, len(rows)):
            self._walk_inline(rows[i], line + i, False, links_own)
        return _Para(
            block,
            line,
            source[:cut] if cut < len(rows) else source,
            commentary,
            self._links_from_inline(commentary, line),  # links_inline
            links_own,  # links_own_line
        )

    def _paragraph_item(self, lead: list[_Para], para: _Para) -> _ItemDraft:
        title: str | None = None
        parts = list(lead)
        if lead and len(lead[0].source) == 1 and (len(lead) > 1 or para.commentary):
            text = " ".join(plain_text(lead[0].commentary).split())
            if text and len(text) <= 120 and not text.endswith((".", "!", "?", ":", "…")):
                title = text
                parts = lead[1:]
        html: list[str] = []
        md: list[str] = []
        links: list[Link] = []
        for p in parts:
            html.append(f"<p>{render_inline(p.commentary)}</p>")
            md.extend(p.source)
            md.append("")
            links.extend(p.links_inline)
        if para.commentary:
            html.append(f"<p>{render_inline(para.commentary)}</p>")
            md.extend(strip_br_suffix(para.source))
        links.extend(para.links_inline)
        links.extend(para.links_own_line)
        first = lead[0] if lead else para
        return _ItemDraft(title, md, html, links, new_pos(self.path, first.line), "paragraphs")

    def _list(self, section: _SectionDraft, block: Node) -> None:
        drafts: list[_ItemDraft] = []
        any_links = False
        loose = any(c.name == "paragraph" for item in block.children for c in item.children)
        style = "numbered" if block.name == "ordered_list" else "bullets"
        for item in block.children:
            line = self._line(item)
            first_inline = first_inline_run(item)
            labels, title = labels_and_title(first_inline)
            links = self._links_in(item)
            if labels and links:
                links[0] = with_labels(links[0], labels)
            any_links = any_links or bool(links)
            drafts.append(
                _ItemDraft(
                    title,
                    dedent_item(self._source(item)),  # commentary_md
                    [render_item_body(item, loose).strip()],  # html
                    links,
                    new_pos(self.path, line),
                    style,
                )
            )
        if not any_links:
            section.blocks.append(self._prose([block], []))
            return
        section.blocks.append(("group", style, drafts))

    def _prose(self, blocks: list[Node], links: list[Link]) -> Prose:
        return Prose(html=Html(render(blocks)), links=tuple(links), pos=self._pos(blocks[0]))

    # The walks below are methods, not nested functions: a nested function that calls itself is a
    # reference cycle, which would keep each issue's syntax tree alive until the cycle collector runs.

    def _links_in(self, block: Node) -> list[Link]:
        """Every link inside a block, in order, each with the line it is written on."""
        found: list[Link] = []
        self._walk_block(block, found)
        return found

    def _walk_block(self, node: Node, found: list[Link]) -> None:
        if node.children and node.children[0].name not in BLOCK_NAMES and node.name not in LINK_NODES:
            if any(child.name not in BLOCK_NAMES for child in node.children):
                inline = [c for c in node.children if c.name not in BLOCK_NAMES]
                found.extend(self._links_from_inline(inline, self._line(node)))
                for child in node.children:
                    if child.name in BLOCK_NAMES:
                        self._walk_block(child, found)
                return
        for child in node.children:
            if child.name in LINK_NODES:
                found.extend(self._links_from_inline([child], self._line(child)))
            else:
                self._walk_block(child, found)

    def _links_from_inline(self, nodes: list[Node], line: int, *, inline: bool = True) -> list[Link]:
        links: list[Link] = []
        self._walk_inline(nodes, line, inline, links)
        return links

    def _walk_inline(self, seq: list[Node], line: int, inline: bool, links: list[Link]) -> int:
        """Collect the links of ``seq``, written from ``line`` on; returns the line after it."""
        for node in seq:
            name = node.name
            if name in BREAKS:
                line += 1
            elif name in LINK_NODES:
                href = str(node.meta.get("url", ""))
                key, host = key_and_host(href)
                text = " ".join(plain_text(node.children).split())
                links.append(new_link(href, key, text, host, inline, new_pos(self.path, line)))
                for child in node.children:  # a loop, not sum() over a generator: this runs for every link
                    if child.name in BREAKS:
                        line += 1
            elif node.children:
                line = self._walk_inline(node.children, line, inline, links)
        return line

    # -- intro and outro

    def _intro(self, blocks: list[Node]) -> Prose | None:
        if not blocks:
            return None
        html_parts: list[str] = []
        links: list[Link] = []
        summary_parts: list[str] = []
        more_seen = False
        for block in blocks:
            if block.name == "html_block" and _COMMENT_ONLY.match(block.content):
                if _MORE.search(block.content) and not more_seen:
                    more_seen = True
                    self.summary = " ".join(" ".join(summary_parts).split())
                continue
            if block.name == "definition":
                continue
            html_parts.append(render(block))
            links.extend(self._links_in(block))
            if block.name == "paragraph":
                summary_parts.append(plain_text(block.children))
        if not more_seen:
            self.summary = " ".join(summary_parts[0].split()) if summary_parts else ""
        if len(self.summary) > 300:
            self.summary = self.summary[:297].rsplit(" ", 1)[0] + "…"
        if not html_parts:
            return None
        return Prose(html=Html("".join(html_parts)), links=tuple(links), pos=self._pos(blocks[0]))

    def _split_outro(self, roots: list[_SectionDraft], outro: list[Any]) -> None:
        """Move a closing repeat of a sponsor item out of the last section (rule 7)."""
        if not roots:
            return
        sponsor_items = [item for s in roots if s.kind == "sponsor" for b in s.blocks if isinstance(b, tuple) for item in b[2]]
        if not sponsor_items:
            return
        last = roots[-1]
        while last.subsections:
            last = last.subsections[-1]
        if last.kind == "sponsor" or not last.blocks or not isinstance(last.blocks[-1], tuple):
            return
        group = last.blocks[-1][2]
        tail = group[-1]
        keys = _link_keys(tail)
        # The links first: comparing them is cheap, and they differ for all but a repeat.
        if any(_link_keys(s) == keys and _item_signature(s) == _item_signature(tail) for s in sponsor_items):
            group.pop()
            if not group:
                last.blocks.pop()
            outro.append(("group", "paragraphs", [tail]))

    # -- freezing

    def _name_section(self, draft: _SectionDraft, taken: set[str]) -> None:
        """Give the section and its sub-sections, depth first, their slugs."""
        draft.slug = unique_slug(slugify(draft.title), taken, fallback="section")
        for sub in draft.subsections:
            self._name_section(sub, taken)

    def _freeze_section(self, draft: _SectionDraft, taken: set[str], top: str | None = None) -> Section:
        """The section with its items, which take their anchors from ``taken`` in reading order.

        ``top`` is the slug of the top-level section the items belong to.
        """
        top_slug = top or draft.slug
        blocks = tuple(self._freeze_block(b, top_slug, draft.kind, taken) for b in draft.blocks)
        return new_section(
            draft.kind,
            draft.title,
            draft.slug,
            draft.level,
            tuple(draft.heading_links),
            blocks,
            tuple(self._freeze_section(s, taken, top_slug) for s in draft.subsections),
            draft.pos,
        )

    def _freeze_block(self, block: Any, section_slug: str, kind: str, taken: set[str]) -> Any:
        if isinstance(block, Prose):
            return block
        _, style, drafts = block
        items = []
        for d in drafts:
            sponsored = kind == "sponsor" or any(label.lower() in _SPONSOR_LABELS for link in d.links for label in link.labels)
            items.append(
                new_item(
                    unique_slug(_anchor_base(d), taken),  # anchor
                    d.title,
                    "\n".join(d.commentary_md).strip(),  # commentary
                    Html("\n".join(filter(None, d.html))),  # commentary_html
                    tuple(d.links),
                    section_slug,
                    kind,
                    sponsored,
                    d.pos,
                )
            )
        return new_group(style, tuple(items))


# ---------------------------------------------------------------- tree helpers

_KeywordTable = tuple[tuple[str, tuple[str, ...]], ...]


@lru_cache(maxsize=16)
def _keyword_table(section_kinds: tuple[tuple[str, SectionKind], ...]) -> _KeywordTable:
    """Each kind with its keywords as headings are matched against them: lower case, trimmed."""
    return tuple((kind, tuple(keyword.lower().strip() for keyword in spec.keywords)) for kind, spec in section_kinds)


@lru_cache(maxsize=4096)  # an archive's headings repeat from issue to issue
def _kind_for(keywords: _KeywordTable, title: str) -> str | None:
    """The first kind one of whose keywords is a word (or, for a phrase, words) of the heading."""
    words = _LOWER_WORDS.findall(title.lower())
    word_set = set(words)
    spaced = f" {' '.join(words)} "
    for kind, keys in keywords:
        for key in keys:
            if (" " in key and f" {key} " in spaced) or key in word_set:
                return kind
    return None


def _link_keys(item: _ItemDraft) -> tuple[str, ...]:
    return tuple(link.key for link in item.links)


def _item_signature(item: _ItemDraft) -> tuple[tuple[str, ...], str]:
    text = " ".join(_TAG.sub(" ", " ".join(item.html)).split())
    title = item.title or ""
    return _link_keys(item), f"{title} {text}".strip()


def _anchor_base(item: _ItemDraft) -> str:
    if item.title:
        return slugify(item.title, max_length=50)
    text = htmllib.unescape(_TAG.sub(" ", " ".join(item.html)))
    # Only the first 8 words, found by one search: finding every word of the commentary took 3 %
    # of a cold build, and taking 8 from an iterator of matches still took 2 % of reading an issue.
    head = _FIRST_WORDS.search(text)
    if head:
        words = head.group()
        # Between ASCII words, slugify finds the same words itself; other characters it might fold into letters.
        return slugify(words if words.isascii() else " ".join(_WORDS.findall(words)), max_length=50)
    if item.links:
        return slugify(item.links[0].host or item.links[0].text, max_length=50)
    return "item"
