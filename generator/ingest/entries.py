"""Fetched bytes → clean, deduplicated entries.

Three readers share one output type, :class:`FeedEntry`:

- RSS 0.9x/1.0/2.0 and Atom through feedparser, given the bytes and the
  response headers we fetched ourselves (feedparser's own HTTP has no
  timeout, and it must never touch the network or the disk here);
- JSON Feed 1.0/1.1, a small reader of our own (feedparser 6.0 has none);
- HTML listing pages read with the source's CSS selectors (selectolax: a
  small, maintained binding to the Lexbor HTML engine, one wheel with no
  dependencies, parsing pages like a browser does and fast enough that the
  cost of scraping is the network, not the parse).

Everything leaves here normalised: canonical URLs (relative links resolved,
tracking parameters stripped), titles as plain text, summaries sanitised and
cut to a bounded excerpt, dates in UTC (None when the feed gives none; the
store then records the first-seen time), and the same story only once.
"""

from __future__ import annotations

import difflib
import email.utils
import hashlib
import io
import json
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

import feedparser  # type: ignore[import-untyped]  # it ships no type hints

from ..sanitize import EXCERPT_CHARS, excerpt, plain_text, safe_href, sanitize_html, shorten
from ..urls import normalize_url
from .subscriptions import Selectors, SourceSpec

__all__ = ["FeedEntry", "ParseError", "Parsed", "parse_entries", "title_key", "same_title", "dedupe", "apply_filters"]


class ParseError(Exception):
    """The body is not a usable feed (empty, HTML, broken JSON…); the message says which."""


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One candidate link from a source, normalised."""

    guid: str  # the feed's id for it (or the link, or a content hash)
    url: str  # canonical URL (urls.normalize_url)
    link: str  # the absolute link as the feed gave it
    title: str  # plain text
    excerpt: str  # plain text, bounded (sanitize.excerpt)
    published: datetime | None  # UTC; None when the source gives no date
    tags: tuple[str, ...] = ()
    author: str = ""


@dataclass(frozen=True, slots=True)
class Parsed:
    entries: list[FeedEntry]
    format: str  # 'rss20', 'atom10', 'json1.1', 'html'…
    warnings: tuple[str, ...] = ()


def parse_entries(body: bytes, headers: Mapping[str, str], *, url: str, spec: SourceSpec, excerpt_chars: int = EXCERPT_CHARS) -> Parsed:
    """Read ``body`` (from ``url``) as the source's entries: filtered, capped, deduplicated."""
    if not body.strip():
        raise ParseError("empty response body")
    content_type = _header(headers, "content-type").lower()
    if spec.type == "html":
        parsed = _read_html(body, content_type, url, spec.selectors)
    elif "json" in content_type or body.lstrip()[:1] == b"{":
        parsed = _read_json_feed(body, url)
    else:
        parsed = _read_feedparser(body, headers, url)
    entries = [replace(e, tags=_merge_tags(e.tags, spec.tags), excerpt=shorten(e.excerpt, excerpt_chars)) for e in parsed.entries]
    entries = dedupe(apply_filters(entries, spec))
    if spec.max_items is not None:
        entries = _newest_first(entries)[: spec.max_items]
    return Parsed(entries, parsed.format, parsed.warnings)


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return ""


# ---------------------------------------------------------------- RSS and Atom


def _read_feedparser(body: bytes, headers: Mapping[str, str], url: str) -> Parsed:
    response_headers = {k.lower(): v for k, v in headers.items() if k.lower() in ("content-type", "content-location", "content-language")}
    if url.startswith(("http://", "https://")):
        response_headers.setdefault("content-location", url)
    response_headers.setdefault("content-type", "application/xml")
    # A stream, never a string: feedparser treats a str as a URL or file name to open.
    data = feedparser.parse(io.BytesIO(body), response_headers=response_headers, sanitize_html=False, resolve_relative_uris=False)
    if not data.get("version") and not data.entries:
        looks_html = b"<html" in body[:2048].lower() or b"<!doctype html" in body[:2048].lower()
        raise ParseError("got an HTML page, not a feed" if looks_html else "not a feed (no RSS, Atom or JSON Feed found)")
    warnings: list[str] = []
    if data.get("bozo"):
        exc = data.get("bozo_exception")
        warnings.append(f"feed is not well-formed ({type(exc).__name__}: {exc})".strip())
    base = data.feed.get("link") or url
    entries: list[FeedEntry] = []
    for item in data.entries:
        link = _absolute(item.get("link") or "", base)
        title_detail = item.get("title_detail") or {}
        raw_title = item.get("title") or ""
        # Atom says when a title is text; RSS titles are escaped HTML in practice, so tags are dropped.
        literal = title_detail.get("type") == "text/plain" and str(data.get("version", "")).startswith("atom")
        title = " ".join(raw_title.split()) if literal else plain_text(raw_title)
        contents = item.get("content") or []
        markup = max((c.get("value") or "" for c in contents), key=len, default="") or item.get("summary") or ""
        if (item.get("summary_detail") or {}).get("type") == "text/plain" and not contents:
            markup = _escape_text(markup)
        published = _struct_to_utc(item.get("published_parsed") or item.get("updated_parsed"))
        tags = tuple(t.get("term") or "" for t in item.get("tags") or [] if t.get("term"))
        entry = _make(item.get("id") or "", link, title, markup, published, tags, item.get("author") or "")
        if entry:
            entries.append(entry)
    return Parsed(entries, data.get("version") or "unknown", tuple(warnings))


def _struct_to_utc(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime(value[0], value[1], value[2], value[3], value[4], value[5], tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return None


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ---------------------------------------------------------------- JSON Feed


def _read_json_feed(body: bytes, url: str) -> Parsed:
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ParseError(f"not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not str(data.get("version", "")).startswith("https://jsonfeed.org/version/1"):
        raise ParseError("JSON, but not a JSON Feed (no jsonfeed.org version)")
    version = "json1.1" if str(data["version"]).endswith("1.1") else "json1"
    base = data.get("home_page_url") or data.get("feed_url") or url
    base = base if isinstance(base, str) else url
    items = data.get("items")
    if not isinstance(items, list):
        raise ParseError("JSON Feed without an 'items' list")
    warnings: list[str] = []
    entries: list[FeedEntry] = []
    for number, item in enumerate(items):
        if not isinstance(item, dict):
            warnings.append(f"item {number} is not an object; skipped")
            continue
        link = _absolute(_str(item.get("url")) or _str(item.get("external_url")), base)
        markup = _str(item.get("content_html")) or _escape_text(_str(item.get("content_text")) or _str(item.get("summary")))
        published = _iso_to_utc(_str(item.get("date_published")) or _str(item.get("date_modified")))
        tags = tuple(t for t in item.get("tags") or [] if isinstance(t, str))
        authors = item.get("authors") or ([item["author"]] if isinstance(item.get("author"), dict) else [])
        author = ", ".join(_str(a.get("name")) for a in authors if isinstance(a, dict) and a.get("name"))
        entry = _make(_str(item.get("id")), link, plain_text(_str(item.get("title"))), markup, published, tags, author)
        if entry:
            entries.append(entry)
    return Parsed(entries, version, tuple(warnings))


def _str(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) else ""


# ---------------------------------------------------------------- HTML listings


def _read_html(body: bytes, content_type: str, url: str, selectors: Selectors) -> Parsed:
    from selectolax.lexbor import LexborHTMLParser  # only sources without a feed need it

    tree = LexborHTMLParser(_decode_html(body, content_type))
    try:
        items = tree.css(selectors.item)
    except ValueError as exc:
        raise ParseError(f"invalid CSS selector {selectors.item!r}: {exc}") from None
    if not items:
        raise ParseError(f"no element matches the item selector {selectors.item!r}")
    base_node = tree.css_first("base[href]")
    if base_node is not None:
        url = _absolute(base_node.attributes.get("href") or "", url) or url
    entries: list[FeedEntry] = []
    warnings: list[str] = []
    for node in items:
        try:
            title_node = node.css_first(selectors.title) if selectors.title else node.css_first("h1, h2, h3, h4, h5, h6")
            link_node = node.css_first(selectors.link) if selectors.link else None
            if link_node is None and title_node is not None:
                link_node = title_node if title_node.tag == "a" else title_node.css_first("a[href]")
            if link_node is None:
                link_node = node.css_first("a[href]")
            summary = "".join(n.html or "" for n in node.css(selectors.summary)) if selectors.summary else ""
            date_node = node.css_first(selectors.date) if selectors.date else node.css_first("time")
        except ValueError as exc:
            raise ParseError(f"invalid CSS selector: {exc}") from None
        title = plain_text(title_node.text(deep=True, separator=" ")) if title_node is not None else ""
        href = (link_node.attributes.get("href") or "") if link_node is not None else ""
        published = None
        if date_node is not None:
            raw = date_node.attributes.get("datetime") or date_node.text(deep=True)
            published = parse_date(raw or "", selectors.date_format)
        if not href:
            warnings.append(f"an item without a link was skipped ({title[:40]!r})")
            continue
        entry = _make("", _absolute(href, url), title, summary, published, (), "")
        if entry:
            entries.append(entry)
    if items and not entries:
        warnings.append("no item had an http(s) link (relative links in a local file need a <base href> in the page)")
    return Parsed(entries, "html", tuple(warnings))


_META_CHARSET = re.compile(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_\-]+)", re.IGNORECASE)


def _decode_html(body: bytes, content_type: str) -> str:
    candidates = []
    match = re.search(r"charset=([A-Za-z0-9_\-]+)", content_type)
    if match:
        candidates.append(match.group(1))
    meta = _META_CHARSET.search(body[:4096])
    if meta:
        candidates.append(meta.group(1).decode("ascii"))
    for charset in candidates + ["utf-8"]:
        try:
            return body.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("utf-8", "replace")


_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%Y/%m/%d", "%d.%m.%Y")


def parse_date(text: str, fmt: str = "") -> datetime | None:
    """A date in ISO 8601, RFC 822, ``fmt`` or a few common forms, as UTC; None if unreadable."""
    text = " ".join(text.split())
    if not text:
        return None
    parsed = _iso_to_utc(text)
    if parsed:
        return parsed
    try:
        value = email.utils.parsedate_to_datetime(text)
        return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
    except (TypeError, ValueError, IndexError):
        pass
    for candidate in ((fmt,) if fmt else ()) + _FORMATS:
        try:
            value = datetime.strptime(text, candidate)
        except ValueError:
            continue
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    return None


def _iso_to_utc(text: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


# ---------------------------------------------------------------- common


def _absolute(link: str, base: str) -> str:
    link = link.strip()
    if not link:
        return ""
    return normalize_url(link, base=base) if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", link) else link


_EXCERPT_CEILING = 2000  # parse_entries shortens further to the configured length


def _make(guid: str, link: str, title: str, markup: str, published: datetime | None, tags: tuple[str, ...], author: str) -> FeedEntry | None:
    """An entry, or None when it has no safe http(s) link to offer."""
    link = link.strip()
    if not safe_href(link):
        return None
    url = normalize_url(link)
    text = excerpt(sanitize_html(markup, base_url=link), _EXCERPT_CEILING) if markup else ""
    if not title:
        title = text[:80].rsplit(" ", 1)[0] + "…" if len(text) > 80 else (text or url)
    if not guid:
        guid = url or "sha1:" + hashlib.sha1(f"{title}\n{text}".encode()).hexdigest()
    return FeedEntry(
        guid=guid.strip(),
        url=url,
        link=link,
        title=title,
        excerpt=text,
        published=published,
        tags=tuple(dict.fromkeys(" ".join(plain_text(t).split()) for t in tags if plain_text(t))),
        author=plain_text(author),
    )


def _merge_tags(own: tuple[str, ...], extra: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*extra, *own)))


def _newest_first(entries: list[FeedEntry]) -> list[FeedEntry]:
    floor = datetime.min.replace(tzinfo=timezone.utc)
    return sorted(entries, key=lambda e: e.published or floor, reverse=True)


def apply_filters(entries: Iterable[FeedEntry], spec: SourceSpec) -> list[FeedEntry]:
    """Keep entries matching ``include`` (any word or phrase) and none of ``exclude``."""

    def words(text: str) -> str:
        return " " + " ".join(re.findall(r"\w+", text.casefold())) + " "

    def matches(entry: FeedEntry, keywords: tuple[str, ...]) -> bool:
        haystack = words(f"{entry.title} {entry.excerpt} {' '.join(entry.tags)}")
        return any(words(k) in haystack for k in keywords if k.strip())

    kept = []
    for entry in entries:
        if spec.include and not matches(entry, spec.include):
            continue
        if spec.exclude and matches(entry, spec.exclude):
            continue
        kept.append(entry)
    return kept


_WORD = re.compile(r"\w+")
_TITLE_PREFIX = re.compile(r"^(?:\[[^\]]{1,20}\]\s*|(?:show|ask|tell) hn:\s*|video:\s*|podcast:\s*)+", re.IGNORECASE)


def title_key(title: str) -> str:
    """A title reduced to what makes it the same story: case, accents, punctuation and tags ignored."""
    folded = unicodedata.normalize("NFKD", _TITLE_PREFIX.sub("", title.strip())).casefold()
    if not folded.isascii():  # (ASCII has no combining marks to drop)
        folded = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(_WORD.findall(folded))


_DIGITS = re.compile(r"\d+")
_ALIKE = 0.92


def same_title(a: str, b: str) -> bool:
    """Near-identical titles (keys from :func:`title_key`): equal, or ≥ 92 % alike with the same numbers."""
    if not a or not b:
        return False
    if a == b:
        return True
    if len(a.split()) < 4 or _DIGITS.findall(a) != _DIGITS.findall(b):
        return False
    return _alike(a, b)


def _alike(a: str, b: str) -> bool:
    """≥ 92 % alike by difflib's ratio, the cheap upper bounds first."""
    if 2 * min(len(a), len(b)) < _ALIKE * (len(a) + len(b)):  # the lengths alone rule it out (real_quick_ratio)
        return False
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return matcher.quick_ratio() >= _ALIKE and matcher.ratio() >= _ALIKE


def dedupe(entries: Iterable[FeedEntry]) -> list[FeedEntry]:
    """The first of each story: same GUID, same canonical URL or near-identical title.

    Titles are compared only with earlier ones carrying the same numbers (which
    :func:`same_title` requires anyway), so a feed of numbered posts costs no
    comparisons at all.
    """
    kept: list[FeedEntry] = []
    guids: set[str] = set()
    urls: set[str] = set()
    keys: set[str] = set()
    by_numbers: dict[tuple[str, ...], list[str]] = {}
    for entry in entries:
        key = title_key(entry.title)
        if entry.guid in guids or entry.url in urls or (key and key in keys):
            continue
        numbers = tuple(_DIGITS.findall(key))
        if len(key.split()) >= 4 and any(_alike(key, other) for other in by_numbers.get(numbers, ())):
            continue
        guids.add(entry.guid)
        urls.add(entry.url)
        if key:
            keys.add(key)
            by_numbers.setdefault(numbers, []).append(key)
        kept.append(entry)
    return kept
