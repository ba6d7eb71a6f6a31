"""The newsletter as data: issues, sections, items, links, pages.

Every output (site pages, email editions, feeds, the link checker, search)
reads these values and nothing else, so an issue file is parsed exactly once.
Values are frozen and hold only strings, numbers, dates and tuples: they can
be compared, sent to worker processes and serialised to JSON for caches.
Relations are by key (issue slug, normalised URL, item anchor), not pointers.

HTML fields hold :class:`Html`: markup rendered from the editor's own
Markdown, which is trusted. Anything from a feed or the web reaches a page
only as sanitised :class:`generator.sanitize.SafeHtml`.
"""

from __future__ import annotations

import html as _html
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterator, Union

from .errors import SourcePos

__all__ = [
    "Html",
    "Link",
    "Item",
    "Prose",
    "ItemGroup",
    "Block",
    "Section",
    "Issue",
    "Page",
    "LinkRef",
    "walk_sections",
    "new_link",
    "new_item",
    "new_group",
    "new_section",
]


class Html(str):
    """Markup that Jinja must not escape (it implements ``__html__``).

    Only the Markdown renderer of trusted editor content and the sanitiser
    create these.
    """

    __slots__ = ()

    def __html__(self) -> str:
        return str(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class Link:
    """A link as the editor wrote it, with the key that identifies it across issues."""

    url: str  # the href as written (after Markdown unescaping)
    key: str  # normalised URL (see urls.normalize_url); joins link index and link status
    text: str  # the link's visible text
    host: str  # lower-case host name, '' for mailto: and relative links
    labels: tuple[str, ...] = ()  # e.g. ('video',) from "[video] [Title](url)"
    inline: bool = True  # False when it stands on its own line after the commentary
    pos: SourcePos

    @property
    def is_mail(self) -> bool:
        return self.url.startswith("mailto:")


@dataclass(frozen=True, slots=True, kw_only=True)
class Item:
    """One curated entry: a short commentary and the links it is about."""

    anchor: str  # unique within its issue; the fragment of its permalink
    title: str | None  # the entry's title when it has one (list item link text, lead-in line)
    commentary: str  # Markdown source of the commentary, link lines removed
    commentary_html: Html
    links: tuple[Link, ...]
    section: str  # slug of the top-level section it belongs to
    kind: str  # the kind of that section ('news', 'tools', … or 'general')
    sponsored: bool
    pos: SourcePos
    # Computed on first use and kept: listings and permalinks ask for it many times per build.
    _display_title: str | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def primary_link(self) -> Link | None:
        return self.links[0] if self.links else None

    @property
    def own_links(self) -> tuple[Link, ...]:
        """The links on their own lines after the commentary (not those inside its text)."""
        return tuple(link for link in self.links if not link.inline)

    @property
    def labels(self) -> tuple[str, ...]:
        """Every label of the item's links, e.g. ('video',), in order."""
        return tuple(name for link in self.links for name in link.labels)

    @property
    def display_title(self) -> str:
        """A title for listings: the item's own, else the start of its commentary."""
        if self._display_title is None:
            object.__setattr__(self, "_display_title", self._make_display_title())
        return self._display_title  # type: ignore[return-value]

    def _make_display_title(self) -> str:
        if self.title:
            return self.title
        text = _leading_text(_strip_markup(self.commentary_html))
        if not text and self.links:
            return self.links[0].text or self.links[0].url
        cut = text.find(". ")
        if 0 < cut <= 120:
            return text[: cut + 1]
        return text if len(text) <= 120 else text[:117].rsplit(" ", 1)[0] + "…"


@dataclass(frozen=True, slots=True, kw_only=True)
class Prose:
    """Text of a section that is not an item (an introduction, a note, a quote)."""

    html: Html
    links: tuple[Link, ...]
    pos: SourcePos


@dataclass(frozen=True, slots=True, kw_only=True)
class ItemGroup:
    """Consecutive items written the same way: a bullet list, a numbered list, or paragraphs."""

    style: str  # 'bullets', 'numbered' or 'paragraphs'
    items: tuple[Item, ...]


Block = Union[Prose, ItemGroup]


@dataclass(frozen=True, slots=True, kw_only=True)
class Section:
    """A heading and what follows it, up to the next heading of the same or a higher level."""

    kind: str
    title: str
    slug: str  # unique within its issue; the heading's anchor
    level: int  # 1 for a section, 2 for a sub-section, …
    heading_links: tuple[Link, ...]  # links written in the heading itself, e.g. "### [RFCs](https://…)"
    blocks: tuple[Block, ...]
    subsections: tuple["Section", ...]
    pos: SourcePos
    _items: tuple[Item, ...] | None = field(default=None, init=False, repr=False, compare=False)  # made on first use

    @property
    def items(self) -> tuple[Item, ...]:
        """The section's own items (not those of its sub-sections), in order."""
        if self._items is None:
            found = tuple(item for block in self.blocks if isinstance(block, ItemGroup) for item in block.items)
            object.__setattr__(self, "_items", found)
        return self._items  # type: ignore[return-value]

    def iter_items(self) -> Iterator[Item]:
        """Own items, then each sub-section's, depth first."""
        yield from self.items
        for sub in self.subsections:
            yield from sub.iter_items()

    def iter_links(self) -> Iterator[Link]:
        yield from self.heading_links
        for block in self.blocks:
            if isinstance(block, Prose):
                yield from block.links
            else:
                for item in block.items:
                    yield from item.links
        for sub in self.subsections:
            yield from sub.iter_links()


@dataclass(frozen=True, slots=True, kw_only=True)
class Issue:
    """One issue of the newsletter, as parsed from its file."""

    number: int | None  # None for a special edition that has no number
    title: str
    date: datetime  # timezone-aware
    slug: str  # the URL segment: the number, or a slug for unnumbered issues
    summary: str  # plain text, for listings and meta descriptions
    intro: Prose | None  # text before the first heading
    sections: tuple[Section, ...]
    outro: tuple[Block, ...]  # closing notes after the last section (e.g. the sponsor repeated)
    tags: tuple[str, ...]
    draft: bool
    category: str | None
    source_path: str  # repository-relative POSIX path
    source_hash: str  # sha256 of the file's bytes
    pos: SourcePos  # where the header starts (line 1)
    extra: tuple[tuple[str, str], ...] = field(default=())  # other header keys, as text
    _all_items: tuple[Item, ...] | None = field(default=None, init=False, repr=False, compare=False)  # made on first use

    @property
    def all_items(self) -> tuple[Item, ...]:
        """Every item, in the order of :meth:`iter_items`: section pages find an item by its position."""
        if self._all_items is None:
            object.__setattr__(self, "_all_items", tuple(self.iter_items()))
        return self._all_items  # type: ignore[return-value]

    @property
    def label(self) -> str:
        """How the issue is named in lists: '#528' or its title for specials."""
        return f"#{self.number}" if self.number is not None else self.title

    def iter_sections(self) -> Iterator[Section]:
        """Every section and sub-section, depth first."""
        return walk_sections(self.sections)

    def iter_items(self) -> Iterator[Item]:
        """Every item of every section. The outro's closing notes repeat earlier items and are not counted."""
        for section in self.sections:
            yield from section.iter_items()

    def iter_links(self) -> Iterator[Link]:
        """Every link of the issue in reading order: intro, sections, outro."""
        if self.intro is not None:
            yield from self.intro.links
        for section in self.sections:
            yield from section.iter_links()
        for block in self.outro:
            if isinstance(block, Prose):
                yield from block.links
            else:
                for item in block.items:
                    yield from item.links


# ---------------------------------------------------------------- quick construction
#
# Calling a frozen dataclass costs a type call, keyword binding and an ``object.__setattr__``
# lookup per field: the issue reader, which makes some 20 links and 17 items per issue, spent
# 6 % of its time there. These functions make the same values about three times faster;
# tests/test_model.py checks that they are equal to the classes' own, with every field set.
# (Sections and groups are fewer, but each costs as much.)

_new = object.__new__
_set = object.__setattr__


def new_link(url: str, key: str, text: str, host: str, inline: bool, pos: SourcePos) -> Link:
    """``Link(url=url, key=key, text=text, host=host, inline=inline, pos=pos)``, without labels."""
    link = _new(Link)
    _set(link, "url", url)
    _set(link, "key", key)
    _set(link, "text", text)
    _set(link, "host", host)
    _set(link, "labels", ())
    _set(link, "inline", inline)
    _set(link, "pos", pos)
    return link


def new_item(
    anchor: str,
    title: str | None,
    commentary: str,
    commentary_html: Html,
    links: tuple[Link, ...],
    section: str,
    kind: str,
    sponsored: bool,
    pos: SourcePos,
) -> Item:
    """``Item(anchor=anchor, title=title, …, pos=pos)``, its fields in the class's order."""
    item = _new(Item)
    _set(item, "anchor", anchor)
    _set(item, "title", title)
    _set(item, "commentary", commentary)
    _set(item, "commentary_html", commentary_html)
    _set(item, "links", links)
    _set(item, "section", section)
    _set(item, "kind", kind)
    _set(item, "sponsored", sponsored)
    _set(item, "pos", pos)
    _set(item, "_display_title", None)
    return item


def new_group(style: str, items: tuple[Item, ...]) -> ItemGroup:
    """``ItemGroup(style=style, items=items)``."""
    group = _new(ItemGroup)
    _set(group, "style", style)
    _set(group, "items", items)
    return group


def new_section(
    kind: str,
    title: str,
    slug: str,
    level: int,
    heading_links: tuple[Link, ...],
    blocks: tuple[Block, ...],
    subsections: tuple[Section, ...],
    pos: SourcePos,
) -> Section:
    """``Section(kind=kind, title=title, …, pos=pos)``, its fields in the class's order."""
    section = _new(Section)
    _set(section, "kind", kind)
    _set(section, "title", title)
    _set(section, "slug", slug)
    _set(section, "level", level)
    _set(section, "heading_links", heading_links)
    _set(section, "blocks", blocks)
    _set(section, "subsections", subsections)
    _set(section, "pos", pos)
    _set(section, "_items", None)
    return section


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    """A standalone page such as About or Sponsoring, from content/pages/."""

    title: str
    slug: str
    html: Html
    description: str
    source_path: str
    source_hash: str


@dataclass(frozen=True, slots=True, order=True)
class LinkRef:
    """Where a link was featured: an issue (by slug) and the item anchor, if any."""

    issue: str
    anchor: str


def walk_sections(sections: tuple[Section, ...]) -> Iterator[Section]:
    for section in sections:
        yield section
        yield from walk_sections(section.subsections)


_TAG = re.compile(r"<[^>]+>")


def _strip_markup(markup: str) -> str:
    return _html.unescape(_TAG.sub("", markup))


_HEAD_WORDS = 24


def _leading_text(text: str) -> str:
    """``text`` with its whitespace runs made single spaces, or, when that is long, a
    prefix of that of at least 122 characters: enough for every choice of
    :meth:`Item._make_display_title`, which looks at the first 121 characters and
    whether there are more. Splitting a whole commentary into words was most of
    its cost (1.4 % of a cold build)."""
    words = text.split(None, _HEAD_WORDS)
    if len(words) > _HEAD_WORDS:
        head = " ".join(words[:_HEAD_WORDS])
        if len(head) >= 122:
            return head
        return " ".join(text.split())
    return " ".join(words)
