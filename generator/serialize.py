"""The model as JSON-ready dicts, and back.

Used by ``tidings show --json`` (tools read how a file was understood) and by
caches that store parsed issues (JSON rows, never pickles, so a cache written
by one version of Tidings can be checked and discarded by another).

The parse cache keeps two texts per issue: its *head* (the header fields, what the
issue adds to the archive's indexes and a digest of each item, about 3 KB for an issue
of twenty links) and its whole JSON (about 20 KB).
A build reads every unchanged issue back as a :class:`StoredIssue` made from the
head alone; its body is decoded the first time something reads it, which in a
one-issue edit is only for the few issues on the pages rendered again.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Protocol

import orjson

from .errors import ContentError, Problem, SourcePos, new_pos
from .model import Html, Issue, Item, ItemGroup, Link, Prose, Section, new_group, new_item, new_link, new_section

__all__ = ["issue_to_dict", "issue_from_dict", "issue_json", "issue_head", "decode_json", "StoredIssue", "stored_issue", "SCHEMA_VERSION", "CACHE_FORMAT"]

SCHEMA_VERSION = 1
CACHE_FORMAT = 4  # how the parse cache writes that schema (2: json's text marked, see issue_json; 3: heads; 4: item views in heads)


def _pos(pos: SourcePos) -> str:
    return str(pos) if pos.line else f"{pos.path}:0"


def _pos_from(text: str) -> SourcePos:
    path, _, line = text.rpartition(":")
    return new_pos(path, int(line))


def _link(link: Link) -> dict[str, Any]:
    return {
        "url": link.url,
        "key": link.key,
        "text": link.text,
        "host": link.host,
        "labels": list(link.labels),
        "inline": link.inline,
        "pos": _pos(link.pos),
    }


def _item(item: Item) -> dict[str, Any]:
    return {
        "anchor": item.anchor,
        "title": item.title,
        "commentary": item.commentary,
        "commentary_html": str(item.commentary_html),
        "links": [_link(x) for x in item.links],
        "section": item.section,
        "kind": item.kind,
        "sponsored": item.sponsored,
        "pos": _pos(item.pos),
    }


def _block(block: Prose | ItemGroup) -> dict[str, Any]:
    if isinstance(block, Prose):
        return {"type": "prose", "html": str(block.html), "links": [_link(x) for x in block.links], "pos": _pos(block.pos)}
    return {"type": "items", "style": block.style, "items": [_item(x) for x in block.items]}


def _section(section: Section) -> dict[str, Any]:
    return {
        "kind": section.kind,
        "title": section.title,
        "slug": section.slug,
        "level": section.level,
        "heading_links": [_link(x) for x in section.heading_links],
        "pos": _pos(section.pos),
        "blocks": [_block(b) for b in section.blocks],
        "subsections": [_section(s) for s in section.subsections],
    }


def issue_to_dict(issue: Issue) -> dict[str, Any]:
    """Every field of the issue, nested, with positions as 'path:line' strings."""
    return {
        **_head_dict(issue),
        "intro": _block(issue.intro) if issue.intro else None,
        "sections": [_section(s) for s in issue.sections],
        "outro": [_block(b) for b in issue.outro],
    }


def issue_json(issue: Issue) -> str:
    """An issue as the parse cache stores it (read back by :func:`decode_json`)."""
    return _cache_text(issue_to_dict(issue))


def _head_dict(issue: Issue) -> dict[str, Any]:
    """The header fields: what an issue's head and its whole JSON both begin with."""
    return {
        "schema": SCHEMA_VERSION,
        "number": issue.number,
        "title": issue.title,
        "date": issue.date.isoformat(),
        "slug": issue.slug,
        "summary": issue.summary,
        "draft": issue.draft,
        "tags": list(issue.tags),
        "category": issue.category,
        "source_path": issue.source_path,
        "source_hash": issue.source_hash,
        "extra": dict(issue.extra),
    }


def issue_head(issue: Issue, index: Any, item_views: list[str] | None = None) -> str:
    """An issue's head as the parse cache stores it: the header fields, ``index`` and ``item_views``.

    ``index`` is what the issue adds to the archive's indexes, in the archive's own
    JSON-ready form (:func:`generator.content.archive.index_summary`); ``item_views``, a
    digest of each item as section pages show it, in the order of ``all_items``
    (:func:`generator.render.views.item_digest`). This module keeps both without looking inside.
    """
    return _cache_text({**_head_dict(issue), "index": index, "views": item_views})


def _cache_text(data: dict[str, Any]) -> str:
    try:
        # orjson takes 15 µs where json.dumps took 260 µs for a 20 KB issue (4 % of a cold one-process build).
        return orjson.dumps(data).decode("utf-8")
    except orjson.JSONEncodeError:
        # What orjson refuses (an integer beyond 64 bits) json writes, after a space: JSON allows
        # one, orjson never writes one, and it tells decode_json to read this text with json.
        return " " + json.dumps(data, separators=(",", ":"))


def decode_json(text: str | bytes) -> Any:
    """Parse-cache JSON back as dicts: orjson (a third of json's time), or json for what json wrote.

    orjson reads an integer beyond 64 bits as a float without complaint (an issue numbered
    2**70 would come back as 1.18e+21), so the text :func:`issue_json` had json write, marked
    by its leading space, is read by json, which keeps every integer exact.
    Raises ValueError on text that is not JSON.
    """
    if text[:1] in (" ", b" "):
        return json.loads(text)
    return orjson.loads(text)


# The quick constructors of model.py: an incremental build loads every unchanged issue from
# the parse cache, some 60,000 objects for a 1,000-issue archive.


def _link_from(d: dict[str, Any]) -> Link:
    if d["labels"]:
        return Link(
            url=d["url"], key=d["key"], text=d["text"], host=d["host"], labels=tuple(d["labels"]), inline=d["inline"], pos=_pos_from(d["pos"])
        )
    return new_link(d["url"], d["key"], d["text"], d["host"], d["inline"], _pos_from(d["pos"]))


def _item_from(d: dict[str, Any]) -> Item:
    return new_item(
        d["anchor"], d["title"], d["commentary"], Html(d["commentary_html"]), tuple(_link_from(x) for x in d["links"]),
        d["section"], d["kind"], d["sponsored"], _pos_from(d["pos"]),
    )


def _block_from(d: dict[str, Any]) -> Prose | ItemGroup:
    if d["type"] == "prose":
        return Prose(html=Html(d["html"]), links=tuple(_link_from(x) for x in d["links"]), pos=_pos_from(d["pos"]))
    return new_group(d["style"], tuple(_item_from(x) for x in d["items"]))


def _section_from(d: dict[str, Any]) -> Section:
    return new_section(
        d["kind"], d["title"], d["slug"], d["level"], tuple(_link_from(x) for x in d["heading_links"]),
        tuple(_block_from(b) for b in d["blocks"]), tuple(_section_from(s) for s in d["subsections"]), _pos_from(d["pos"]),
    )


class BodySource(Protocol):
    """Fetches a stored issue's whole JSON; ``fresh``: from its file parsed again, not from the cache."""

    def __call__(self, *, fresh: bool = False) -> str: ...


def _body_from(body: str | bytes | None) -> tuple[Prose | None, tuple[Section, ...], tuple[Prose | ItemGroup, ...]]:
    if body is None:
        raise ValueError("no body")
    d = decode_json(body)
    intro = _block_from(d["intro"]) if d["intro"] else None
    if intro is not None and not isinstance(intro, Prose):
        raise TypeError("intro")
    return intro, tuple(_section_from(s) for s in d["sections"]), tuple(_block_from(b) for b in d["outro"])


# The slots' own descriptors, which StoredIssue's properties stand in front of.
_INTRO: Any = Issue.__dict__["intro"]
_SECTIONS: Any = Issue.__dict__["sections"]
_OUTRO: Any = Issue.__dict__["outro"]


class StoredIssue(Issue):
    """An issue read back from its head: the body (intro, sections, outro) is decoded on first use.

    It is an :class:`Issue` in every way but one: it compares equal only to another
    StoredIssue (the dataclass compares classes first). ``index_summary`` and ``item_views``
    are the head's, for the archive and the section pages' fingerprints.
    """

    __slots__ = ("_body", "index_summary", "item_views")
    _body: str | bytes | BodySource | None  # the whole JSON, or what fetches it, until decoded
    index_summary: list[Any]
    item_views: list[str] | None

    def _decode_body(self) -> None:
        # The three slots are set together, from the whole JSON the cache keeps beside the head.
        source = self._body
        body = source() if callable(source) else source
        try:
            intro, sections, outro = _body_from(body)
        except (KeyError, ValueError, TypeError) as exc:
            if not callable(source):
                raise ContentError([Problem(self.pos, f"the stored copy of this issue cannot be read ({exc!r})")]) from None
            # A damaged row (SQLite keeps rows whole, so only a bug or a hand would do it): the file parsed again.
            intro, sections, outro = _body_from(source(fresh=True))
        _INTRO.__set__(self, intro)
        _SECTIONS.__set__(self, sections)
        _OUTRO.__set__(self, outro)
        object.__setattr__(self, "_body", None)

    def _field(self, slot: Any) -> Any:
        try:
            return slot.__get__(self, Issue)
        except AttributeError:  # not decoded yet
            self._decode_body()
            return slot.__get__(self, Issue)

    @property
    def intro(self) -> Prose | None:
        value: Prose | None = self._field(_INTRO)
        return value

    @intro.setter
    def intro(self, value: Prose | None) -> None:  # dataclasses.replace and unpickling set fields through here
        _INTRO.__set__(self, value)

    @property
    def sections(self) -> tuple[Section, ...]:
        value: tuple[Section, ...] = self._field(_SECTIONS)
        return value

    @sections.setter
    def sections(self, value: tuple[Section, ...]) -> None:
        _SECTIONS.__set__(self, value)

    @property
    def outro(self) -> tuple[Prose | ItemGroup, ...]:
        value: tuple[Prose | ItemGroup, ...] = self._field(_OUTRO)
        return value

    @outro.setter
    def outro(self, value: tuple[Prose | ItemGroup, ...]) -> None:
        _OUTRO.__set__(self, value)

    @property
    def body_decoded(self) -> bool:
        """Whether something has read the body yet (for tests and measurements)."""
        return self._body is None


def stored_issue(head: str | bytes, body: str | bytes | BodySource) -> StoredIssue:
    """An issue from the parse cache's head, its body (the whole JSON, or a function that fetches it) left for later.

    Raises KeyError/ValueError/TypeError on a head of a foreign shape.
    """
    d = decode_json(head)
    if d.get("schema") != SCHEMA_VERSION:
        raise ValueError(f"unknown issue schema {d.get('schema')!r}")
    issue = object.__new__(StoredIssue)
    path = d["source_path"]
    if not isinstance(path, str):
        raise TypeError("source_path")
    for name, value in (
        ("number", d["number"]), ("title", d["title"]), ("date", datetime.fromisoformat(d["date"])), ("slug", d["slug"]),
        ("summary", d["summary"]), ("tags", tuple(d["tags"])), ("draft", d["draft"]), ("category", d["category"]),
        ("source_path", path), ("source_hash", d["source_hash"]), ("pos", new_pos(path, 1)),
        ("extra", tuple(sorted(d["extra"].items()))), ("_all_items", None), ("_body", body), ("index_summary", d["index"]),
        ("item_views", d.get("views")),
    ):
        object.__setattr__(issue, name, value)
    return issue


def issue_from_dict(d: dict[str, Any]) -> Issue:
    """The inverse of :func:`issue_to_dict`; raises KeyError/ValueError on a foreign shape."""
    if d.get("schema") != SCHEMA_VERSION:
        raise ValueError(f"unknown issue schema {d.get('schema')!r}")
    intro = _block_from(d["intro"]) if d["intro"] else None
    assert intro is None or isinstance(intro, Prose)
    return Issue(
        number=d["number"],
        title=d["title"],
        date=datetime.fromisoformat(d["date"]),
        slug=d["slug"],
        summary=d["summary"],
        intro=intro,
        sections=tuple(_section_from(s) for s in d["sections"]),
        outro=tuple(_block_from(b) for b in d["outro"]),
        tags=tuple(d["tags"]),
        draft=d["draft"],
        category=d["category"],
        source_path=d["source_path"],
        source_hash=d["source_hash"],
        pos=SourcePos(d["source_path"], 1),
        extra=tuple(sorted(d["extra"].items())),
    )
