"""The header of an issue: title, date, number, draft, tags, summary — checked, with lines.

Both header styles (YAML front matter and Pelican ``Key: value`` lines) arrive
here as a :class:`~generator.content.frontmatter.Header`; every problem is
collected with the line of its key, so one run reports all of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date as date_type
from datetime import datetime, time
from pathlib import PurePosixPath
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from ..errors import Problem, SourcePos
from ..urls import slugify
from .frontmatter import Header

__all__ = ["IssueMeta", "read_meta", "parse_date"]

_MD_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_NUMBER_IN_TITLE = re.compile(r"#\s*(\d+)\b|\b(?:issue|no\.?|number)\s+(\d+)\b|(?<![\d.])(\d+)\s*$", re.IGNORECASE)
_NUMBER_IN_NAME = re.compile(r"^(\d+)(?!-\d)(?:\D|$)")
_DATE_PREFIX = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}[-_]?")
_LOOSE_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(.*)$")
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True, slots=True)
class IssueMeta:
    """What an issue's header says, checked and normalised."""

    title: str
    date: datetime
    number: int | None
    draft: bool
    tags: tuple[str, ...]
    summary: str
    category: str | None
    slug: str
    extra: tuple[tuple[str, str], ...]


_KNOWN_KEYS = {"title", "date", "number", "draft", "status", "tags", "summary", "category", "slug"}


def read_meta(path: str, header: Header, timezone: str, problems: list[Problem]) -> IssueMeta | None:
    """The checked header, or None after adding every problem found to ``problems``."""
    meta = header.meta
    before = len(problems)

    def bad(key: str, message: str) -> None:
        problems.append(Problem(SourcePos(path, header.line_of(key)), message))

    if header.style == "none":
        problems.append(Problem(SourcePos(path, 1), "missing front matter: start the file with '---', 'title:' and 'date:' lines"))
        return None
    title = meta.get("title")
    if title is None or not str(title).strip():
        bad("title", "missing 'title' in the header")
        title = ""
    title = str(title)
    if "\\" in title:  # a Markdown escape such as \# (the pattern needs one, and costs more than looking)
        title = _MD_ESCAPE.sub(r"\1", title)
    title = " ".join(title.split())
    when: datetime | None = None
    if "date" not in meta or meta["date"] in (None, ""):
        bad("date", "missing 'date' in the header")
    else:
        try:
            when = parse_date(meta["date"], ZoneInfo(timezone))
        except ValueError:
            bad("date", f"cannot read date {str(meta['date'])!r}; write it as YYYY-MM-DD or YYYY-MM-DD HH:MM")
    number: int | None = None
    raw_number = meta.get("number")
    if raw_number not in (None, ""):
        if isinstance(raw_number, int) and not isinstance(raw_number, bool) and raw_number > 0:
            number = raw_number
        elif isinstance(raw_number, str) and raw_number.strip().lstrip("#").isdigit() and int(raw_number.strip().lstrip("#")) > 0:
            number = int(raw_number.strip().lstrip("#"))
        else:
            bad("number", f"'number' must be a positive whole number, not {raw_number!r}")
    else:
        number = _number_from(title, path)
    draft = meta.get("draft", False)
    if isinstance(meta.get("status"), str) and meta["status"].strip().lower() == "draft":
        draft = True
    if not isinstance(draft, bool):
        if isinstance(draft, str) and draft.strip().lower() in ("true", "yes", "false", "no"):
            draft = draft.strip().lower() in ("true", "yes")
        else:
            bad("draft", f"'draft' must be true or false, not {draft!r}")
            draft = False
    tags = _read_tags(meta.get("tags"))
    if tags is None:
        bad("tags", "'tags' must be a list of words or a comma-separated line")
        tags = ()
    summary = meta.get("summary")
    summary = " ".join(_TAG.sub("", str(summary)).split()) if summary else ""
    category = str(meta["category"]).strip() if meta.get("category") else None
    if number is not None:
        slug = str(number)
    else:
        slug = slugify(str(meta.get("slug") or "")) or slugify(_DATE_PREFIX.sub("", PurePosixPath(path).stem)) or "issue"
    extra = tuple(sorted((k, str(v)) for k, v in meta.items() if k not in _KNOWN_KEYS))
    if len(problems) != before:
        return None
    assert when is not None
    return IssueMeta(title=title, date=when, number=number, draft=draft, tags=tags, summary=summary, category=category, slug=slug, extra=extra)


def parse_date(value: Any, zone: ZoneInfo) -> datetime:
    """A timezone-aware datetime from a header value; naive times are read in ``zone``."""
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, date_type):
        result = datetime.combine(value, time(0, 0))
    else:
        text = str(value).strip()
        m = _LOOSE_DATE.match(text)
        if m:  # accept single-digit months and days, as Pelican does ("2020-12-2")
            text = f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}{m.group(4)}"
        text = text.replace("Z", "+00:00") if text.endswith("Z") else text
        result = datetime.fromisoformat(text)
    if result.tzinfo is None:
        result = result.replace(tzinfo=zone)
    return result


def _number_from(title: str, path: str) -> int | None:
    m = _NUMBER_IN_TITLE.search(title)
    if m:
        return int(next(g for g in m.groups() if g))
    m = _NUMBER_IN_NAME.match(PurePosixPath(path).stem)  # only now: making a path costs more than the search
    if m:
        return int(m.group(1)) or None
    return None


def _read_tags(value: Any) -> tuple[str, ...] | None:
    if value in (None, ""):
        return ()
    if isinstance(value, str):
        items: Iterable[Any] = value.split(",")
    elif isinstance(value, list):
        items = value
    else:
        return None
    tags = []
    for tag in items:
        if isinstance(tag, (dict, list)):
            return None
        text = str(tag).strip()
        if text and text not in tags:
            tags.append(text)
    return tuple(tags)
