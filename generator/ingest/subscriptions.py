"""The editor's subscriptions: ``feeds/feeds.yaml``, validated like the config, and OPML.

Why YAML and not only OPML: sources carry editorial settings OPML has no
words for (default section, tags, keyword filters, item caps, CSS selectors
for sites without a feed). OPML stays the exchange format with feed readers:
export writes our extra fields as attributes in our own namespace, and import
reads them back, so a round trip loses nothing.

A source's ``url`` is an http(s) URL, a ``file:`` URL or a path relative to
the folder of feeds.yaml (so an example newsletter can run offline).
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

import yaml

from ..errors import ConfigError, Problem, SourcePos
from ..schema import Node, load_validated, option
from ..urls import slugify

__all__ = [
    "FEEDS_FILE",
    "Selectors",
    "SourceSpec",
    "FeedsFile",
    "Subscription",
    "load_subscriptions",
    "parse_subscriptions",
    "to_opml",
    "from_opml",
    "specs_to_yaml",
    "OPML_NS",
]

FEEDS_FILE = "feeds/feeds.yaml"
OPML_NS = "urn:tidings:opml:1"


@dataclass(frozen=True, slots=True, kw_only=True)
class Selectors:
    """CSS selectors that read a listing page as entries (for sites without a feed)."""

    item: str = option("", doc="Selects each entry's element on the page (required for type 'html').")
    title: str = option("", doc="Within an entry: the title element (default: the first heading).")
    link: str = option("", doc="Within an entry: the element whose href is the entry's URL (default: the title's link, else the first link).")
    summary: str = option("", doc="Within an entry: the summary element(s).")
    date: str = option("", doc="Within an entry: the date element (its datetime attribute or its text).")
    date_format: str = option("", doc="strftime-style format of the date text, when it is not ISO 8601 or RFC 822.")


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceSpec:
    """One subscription as written in feeds.yaml."""

    name: str = option(doc="The source's name, shown in the inbox and digests.")
    url: str = option(doc="Feed or page URL (http/https), a file: URL, or a path relative to feeds.yaml.")
    id: str = option("", doc="Stable identifier in the store; defaults to the name as a slug.")
    type: Literal["feed", "html"] = option("feed", doc="'feed' for RSS, Atom or JSON Feed; 'html' for a page read with selectors.")
    section: str = option("", doc="The section its entries are suggested for (a section kind such as 'news').")
    tags: tuple[str, ...] = option((), doc="Tags given to every entry of this source.")
    include: tuple[str, ...] = option((), doc="Keep only entries whose title or summary contains one of these words.")
    exclude: tuple[str, ...] = option((), doc="Drop entries whose title or summary contains one of these words.")
    max_items: int | None = option(None, doc="Keep at most this many entries per fetch (newest first).")
    selectors: Selectors = option(factory=Selectors, doc="CSS selectors, required when type is 'html'.")
    enabled: bool = option(True, doc="Set to false to stop fetching without losing the source's history.")


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedsFile:
    """The whole of feeds/feeds.yaml."""

    sources: tuple[SourceSpec, ...] = option((), doc="The subscriptions.")


@dataclass(frozen=True, slots=True)
class Subscription:
    """A validated source, with its store key and where it is fetched from."""

    key: str
    spec: SourceSpec
    location: str  # absolute http(s) URL, or an absolute file path for local sources
    is_local: bool
    pos: SourcePos

    @property
    def name(self) -> str:
        return self.spec.name


def load_subscriptions(root: Path, rel: str = FEEDS_FILE) -> list[Subscription]:
    """Read and validate feeds.yaml under ``root``; a missing file means no sources."""
    path = root / rel
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except UnicodeDecodeError:
        raise ConfigError.single(rel, 0, "not valid UTF-8") from None
    except OSError as exc:
        raise ConfigError.single(rel, 0, f"cannot read: {exc.strerror}") from None
    return parse_subscriptions(text, rel, base_dir=path.parent)


def parse_subscriptions(text: str, rel: str, *, base_dir: Path) -> list[Subscription]:
    """Validate the text of a feeds file; raise ConfigError listing every problem."""
    parsed, node = load_validated(FeedsFile, text.encode("utf-8"), rel, ConfigError)
    problems: list[Problem] = []
    nodes = node.value["sources"][1].value if isinstance(node.value, dict) and "sources" in node.value else []
    subs: list[Subscription] = []
    keys: dict[str, int] = {}
    for spec, source_node in zip(parsed.sources, nodes or []):
        line = source_node.line

        def bad(key: str, message: str, source_node: Node = source_node) -> None:
            kline = source_node.value[key][0] if isinstance(source_node.value, dict) and key in source_node.value else source_node.line
            problems.append(Problem(SourcePos(rel, kline), message))

        key = spec.id or slugify(spec.name)
        if not key:
            bad("name", f"source {spec.name!r} needs an 'id' (its name has no letters or digits)")
        elif key in keys:
            bad("id" if spec.id else "name", f"source id '{key}' is already used by the source on line {keys[key]}")
        keys.setdefault(key, line)
        if spec.type == "html" and not spec.selectors.item:
            bad("type", f"source '{spec.name}' has type 'html' but no 'selectors' (item, title, link…)")
        if spec.max_items is not None and spec.max_items < 1:
            bad("max_items", "'max_items' must be at least 1")
        location, local, error = _locate(spec.url, base_dir)
        if error:
            bad("url", f"source '{spec.name}': {error}")
        subs.append(Subscription(key, spec, location, local, SourcePos(rel, line)))
    if problems:
        raise ConfigError(problems)
    return subs


def _locate(url: str, base_dir: Path) -> tuple[str, bool, str]:
    """(location, is_local, error) for a source's url."""
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        if not parts.hostname:
            return url, False, f"URL {url!r} has no host"
        return url, False, ""
    if scheme == "file":
        path = Path(unquote(parts.path))
    elif scheme and len(scheme) > 1:
        return url, False, f"unsupported URL scheme '{scheme}:' (use http, https, file or a path)"
    else:
        path = Path(url)
    if not path.is_absolute():
        path = base_dir / path
    return str(path.resolve()), True, ""


# ---------------------------------------------------------------- OPML

_LIST_FIELDS = ("tags", "include", "exclude")
_SELECTOR_FIELDS = tuple(f.name for f in dataclasses.fields(Selectors))


def _q(name: str) -> str:
    return f"{{{OPML_NS}}}{name}"


def to_opml(specs: list[SourceSpec], *, title: str) -> bytes:
    """OPML 2.0 with our extra fields as namespaced attributes."""
    ET.register_namespace("tidings", OPML_NS)
    root = ET.Element("opml", {"version": "2.0"})
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    for spec in specs:
        attrs = {"text": spec.name, "title": spec.name, "type": "rss" if spec.type == "feed" else "link"}
        attrs["xmlUrl" if spec.type == "feed" else "url"] = spec.url
        if spec.id:
            attrs[_q("id")] = spec.id
        if spec.type != "feed":
            attrs[_q("type")] = spec.type
        if spec.section:
            attrs[_q("section")] = spec.section
        for name in _LIST_FIELDS:
            values = getattr(spec, name)
            if values:
                attrs[_q(name)] = "\n".join(values)
        if spec.max_items is not None:
            attrs[_q("maxItems")] = str(spec.max_items)
        if not spec.enabled:
            attrs[_q("enabled")] = "false"
        if spec.selectors.item:
            for name in _SELECTOR_FIELDS:
                value = getattr(spec.selectors, name)
                if value:
                    attrs[_q("selector-" + name)] = value
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    written: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return written + b"\n"


def from_opml(data: bytes, path: str) -> list[SourceSpec]:
    """Sources from an OPML file; folder outlines become tags of the feeds inside them."""
    if b"<!ENTITY" in data:
        raise ConfigError.single(path, 0, "OPML with entity declarations is not accepted")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ConfigError.single(path, exc.position[0], f"not valid OPML: {exc}") from None
    body = root.find("body")
    if root.tag != "opml" or body is None:
        raise ConfigError.single(path, 1, "not an OPML file (no <opml><body>)")
    specs: list[SourceSpec] = []

    def walk(element: ET.Element, folders: tuple[str, ...]) -> None:
        for outline in element.findall("outline"):
            url = outline.get("xmlUrl") or (outline.get("url") if outline.get(_q("type")) == "html" else None)
            name = outline.get("title") or outline.get("text") or ""
            if not url:
                walk(outline, folders + ((name,) if name else ()))
                continue
            lists = {n: tuple(v for v in (outline.get(_q(n)) or "").split("\n") if v) for n in _LIST_FIELDS}
            tags = lists["tags"] or tuple(slugify(f) for f in folders if slugify(f))
            selectors = Selectors(**{n: outline.get(_q("selector-" + n)) or "" for n in _SELECTOR_FIELDS})
            max_items = outline.get(_q("maxItems"))
            kind = outline.get(_q("type")) or "feed"
            specs.append(
                SourceSpec(
                    name=name or url,
                    url=url,
                    id=outline.get(_q("id")) or "",
                    type="html" if kind == "html" else "feed",
                    section=outline.get(_q("section")) or "",
                    tags=tags,
                    include=lists["include"],
                    exclude=lists["exclude"],
                    max_items=int(max_items) if max_items and max_items.isdigit() else None,
                    selectors=selectors,
                    enabled=outline.get(_q("enabled")) != "false",
                )
            )

    walk(body, ())
    return specs


def specs_to_yaml(specs: list[SourceSpec]) -> str:
    """YAML list items for ``sources:`` (defaults left out), to append to feeds.yaml."""
    items = []
    for spec in specs:
        data: dict[str, object] = {"name": spec.name, "url": spec.url}
        for f in dataclasses.fields(SourceSpec):
            value = getattr(spec, f.name)
            if f.name in ("name", "url") or value == f.default or value in ((), Selectors()):
                continue
            if isinstance(value, Selectors):
                value = {k: v for k, v in dataclasses.asdict(value).items() if v}
            elif isinstance(value, tuple):
                value = list(value)
            data[f.name] = value
        items.append(data)
    return yaml.safe_dump(items, sort_keys=False, allow_unicode=True, default_flow_style=False)
