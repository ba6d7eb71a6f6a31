"""The one gate between untrusted HTML (feeds, scraped pages) and our outputs.

Feed entries arrive with markup written by strangers: scripts, event handlers,
``javascript:`` links hidden behind entities, forms, SVG. Editor content is
trusted and becomes :class:`generator.model.Html`; anything from outside
becomes :class:`SafeHtml`, and only the functions here create it:

- :func:`sanitize_html` keeps an allow-list of tags and attributes (nh3, the
  Rust ``ammonia`` cleaner: it parses like a browser, so entity-obfuscated
  schemes are decoded before the scheme check), http/https/mailto URLs only,
  and puts ``rel="noopener noreferrer nofollow"`` on every link;
- :func:`excerpt` turns a whole article into one bounded, clean paragraph of
  text (feeds such as DEV Community carry full articles in their summaries);
- :func:`plain_text` turns a title that may hold markup or entities into text;
- :func:`text_html` and :func:`safe_href` make text and URLs template-ready.

Templates escape everything that is not ``Html``/``SafeHtml``, so untrusted
strings can only reach a page through this module.
"""

from __future__ import annotations

import html as htmllib
import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import nh3

__all__ = [
    "SafeHtml",
    "ALLOWED_TAGS",
    "sanitize_html",
    "excerpt",
    "plain_text",
    "text_html",
    "safe_href",
    "EXCERPT_CHARS",
    "shorten",
]

EXCERPT_CHARS = 400

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "cite", "code", "dd", "del", "dl", "dt", "em", "i",
        "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "small", "strong", "sub", "sup",
        "ul",
    }
)
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "q": {"cite"}, "blockquote": {"cite"}}
_URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Dropped together with everything inside them (not just the tags).
_DROP_WITH_CONTENT = frozenset({"script", "style", "template", "svg", "math", "iframe", "object", "noscript", "textarea", "select", "form", "button"})
LINK_REL = "noopener noreferrer nofollow"


class SafeHtml(str):
    """Markup that went through the sanitiser; Jinja does not escape it again."""

    __slots__ = ()

    def __html__(self) -> str:
        return str(self)


def sanitize_html(markup: str, *, base_url: str | None = None) -> SafeHtml:
    """Clean untrusted markup down to the allow-list; relative links resolve against ``base_url``."""

    def resolve(tag: str, attribute: str, value: str) -> str | None:
        if attribute in ("href", "cite") and base_url:
            try:
                value = urljoin(base_url, value.strip())
            except ValueError:
                return None
        return value

    cleaned = nh3.clean(
        markup,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes={k: set(v) for k, v in _ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(_URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
        attribute_filter=resolve,
    )
    return SafeHtml(cleaned)


# ---------------------------------------------------------------- text


_BLOCK = frozenset(
    {
        "p", "div", "li", "ul", "ol", "blockquote", "section", "article", "header", "footer", "br",
        "h1", "h2", "h3", "h4", "h5", "h6", "dd", "dt", "tr", "hr", "figcaption", "aside", "main",
    }
)
# Text inside these never belongs in a one-paragraph excerpt (code, captions, tables, headings).
_SKIP_IN_EXCERPT = frozenset({"pre", "table", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "nav", "aside"})
_SKIP_ALWAYS = _DROP_WITH_CONTENT | {"head", "title", "form", "button"}
_VOID = frozenset({"br", "hr", "img", "input", "meta", "link", "source", "wbr", "area", "col", "embed", "param", "track"})
_SPACE = re.compile(r"\s+")


class _TextCollector(HTMLParser):
    """Text of an HTML fragment as paragraphs; skipped elements contribute nothing."""

    def __init__(self, skip: frozenset[str]):
        super().__init__(convert_charrefs=True)
        self.skip = skip
        self.depth = 0  # inside a skipped element when > 0
        self.stack: list[str] = []
        self.paragraphs: list[str] = []
        self.current: list[str] = []

    def _flush(self) -> None:
        text = " ".join("".join(self.current).split())  # (str.split: the same whitespace as the regex \s, faster)
        if text:
            self.paragraphs.append(text)
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.skip:
            if self.depth == 0:
                self._flush()
            if tag not in _VOID:
                self.depth += 1
                self.stack.append(tag)
            return
        if tag in _BLOCK and self.depth == 0:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in self.skip and tag in self.stack:
            while self.stack:
                self.depth -= 1
                if self.stack.pop() == tag:
                    break
            return
        if tag in _BLOCK and self.depth == 0:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self.depth == 0:
            self.current.append(data)

    def collected(self) -> int:
        """Characters of text so far, as the paragraphs will join (the current one may be cut short)."""
        return sum(len(p) + 1 for p in self.paragraphs) + len(" ".join("".join(self.current).split()))

    def finish(self) -> list[str]:
        self.close()
        self._flush()
        return self.paragraphs


_CHUNK = 8192


def _paragraphs(markup: str, skip: frozenset[str], enough: int | None = None) -> list[str]:
    """The text's paragraphs; with ``enough``, reading stops once more than that much text is in.

    For an excerpt of a long article: the text read so far is a prefix of the
    whole text, so an excerpt cut from it is the same as one cut from all of it.
    """
    collector = _TextCollector(skip)
    if enough is None or len(markup) <= _CHUNK:
        collector.feed(markup)
        return collector.finish()
    for start in range(0, len(markup), _CHUNK):
        collector.feed(markup[start : start + _CHUNK])
        if collector.collected() > enough + 1:  # stop without close(): a tag cut at the chunk's end must not become text
            collector._flush()
            return collector.paragraphs
    return collector.finish()


def plain_text(markup: str | None) -> str:
    """A title or short field as one line of text: tags dropped, entities decoded, spaces collapsed."""
    if not markup:
        return ""
    if "<" not in markup and "&" not in markup:
        return " ".join(markup.split())
    return " ".join(_paragraphs(markup, _SKIP_ALWAYS))


def excerpt(markup: str | None, max_chars: int = EXCERPT_CHARS) -> str:
    """A clean paragraph of at most ``max_chars`` characters from an article or summary.

    Code blocks, tables, figures and headings are left out; paragraphs are
    joined until the limit; a cut ends at a sentence end when one is close,
    else at a word boundary, with an ellipsis. Returns plain text.
    """
    if not markup:
        return ""
    paragraphs = _paragraphs(markup, _SKIP_ALWAYS | _SKIP_IN_EXCERPT, enough=max_chars)
    text = ""
    for para in paragraphs:
        text = f"{text} {para}" if text else para
        if len(text) >= max_chars:
            break
    return shorten(text, max_chars)


def shorten(text: str, max_chars: int) -> str:
    """Plain ``text`` cut to ``max_chars``: at a sentence end when one is close, else a word, with "…"."""
    if len(text) <= max_chars:
        return text
    window = text[: max_chars - 1]
    sentence = max(window.rfind(". "), window.rfind("! "), window.rfind("? "))
    if sentence >= max_chars * 0.6:
        return window[: sentence + 1]
    cut = window.rsplit(" ", 1)[0] if " " in window else window
    return cut.rstrip(" ,;:-–—(") + "…"


def text_html(text: str | None) -> SafeHtml:
    """Untrusted text (already plain) escaped for HTML, as template-ready SafeHtml."""
    return SafeHtml(htmllib.escape(plain_text(text or ""), quote=True))


def safe_href(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) URL that is safe in an href, else None."""
    if not url:
        return None
    url = url.strip()
    if any(ord(c) < 0x21 or c in '"<>\\`' for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url
