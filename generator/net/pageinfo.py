"""What the link checker reads from a page it fetched: anchors and self-description.

Pages are untrusted and often broken, so this is a forgiving, bounded scan
with the standard library's HTML tokenizer: it never builds a tree, never
runs anything, and keeps only plain text (tags gone, entities decoded,
whitespace collapsed, lengths capped). Anything that reaches a site page is
sanitised again when the build reads it.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import unquote, urljoin, urlsplit

from ..linkstatus import LinkMeta

__all__ = ["bot_protection_sign", "decode_body", "has_anchor", "page_anchors", "page_meta"]

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_-]+)""", re.IGNORECASE)
_ANCHOR = re.compile(r"""\s(?:id|name)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)
_MAX_TEXT = 300


def decode_body(body: bytes, content_type: str) -> str:
    """Text of an HTML body, using the header's or the page's charset, else UTF-8."""
    charset = ""
    m = re.search(r"charset=([\w-]+)", content_type, re.IGNORECASE)
    if m:
        charset = m.group(1)
    else:
        m2 = _CHARSET.search(body[:4096])
        if m2:
            charset = m2.group(1).decode("ascii", "ignore")
    try:
        return body.decode(charset or "utf-8", "replace")
    except LookupError:
        return body.decode("utf-8", "replace")


def page_anchors(text: str) -> set[str]:
    """Every ``id`` and ``name`` attribute value in the page."""
    return {next(g for g in m.groups() if g is not None) for m in _ANCHOR.finditer(text)}


def has_anchor(anchors: set[str], fragment: str) -> bool:
    """Whether ``#fragment`` lands somewhere: an element id/name (GitHub's prefixed ids too), or ``top``."""
    wanted = unquote(fragment)
    if not wanted or wanted.lower() == "top":
        return True
    return wanted in anchors or f"user-content-{wanted}" in anchors or wanted.lower() in {a.lower() for a in anchors}


def page_meta(text: str, page_url: str) -> LinkMeta:
    """Title, description, canonical URL and preview image from the page's head."""
    parser = _MetaParser()
    try:
        parser.feed(text[:300_000])
        parser.close()
    except _Done:
        pass
    title = parser.og_title or "".join(parser.title_parts)
    return LinkMeta(
        title=_clean(title),
        description=_clean(parser.description or parser.og_description),
        canonical=_absolute(parser.canonical, page_url),
        image=_absolute(parser.image, page_url),
    )


def bot_protection_sign(headers: dict[str, str], text: str) -> str:
    """A short name of the bot protection that answered, or ''."""
    if "cf-mitigated" in headers:
        return "Cloudflare challenge"
    server = headers.get("server", "").lower()
    if "cloudflare" in server and "cf-ray" in headers and ("challenge" in text.lower() or "just a moment" in text.lower()):
        return "Cloudflare challenge"
    if "x-datadome" in headers or "datadome" in headers.get("set-cookie", "").lower():
        return "DataDome"
    if "x-amzn-waf-action" in headers:
        return "AWS WAF"
    if "x-sucuri-id" in headers:
        return "Sucuri firewall"
    if "akamaighost" in server and "reference #" in text.lower():
        return "Akamai bot manager"
    lowered = text[:20_000].lower()
    if "captcha" in lowered or "are you a robot" in lowered or "verify you are human" in lowered:
        return "a CAPTCHA page"
    return ""


class _Done(Exception):
    pass


class _MetaParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.in_title = False
        self.title_parts: list[str] = []
        self.og_title = ""
        self.description = ""
        self.og_description = ""
        self.canonical = ""
        self.image = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag == "title":
            self.in_title = True
        elif tag == "meta":
            name = (values.get("name") or values.get("property") or "").lower()
            content = values.get("content", "")
            if name == "description" and not self.description:
                self.description = content
            elif name == "og:description" and not self.og_description:
                self.og_description = content
            elif name == "og:title" and not self.og_title:
                self.og_title = content
            elif name in ("og:image", "og:image:url", "twitter:image") and not self.image:
                self.image = content
        elif tag == "link" and "canonical" in values.get("rel", "").lower().split() and not self.canonical:
            self.canonical = values.get("href", "")
        elif tag == "body":
            raise _Done

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        elif tag == "head":
            raise _Done

    def handle_data(self, data: str) -> None:
        if self.in_title and len(self.title_parts) < 50:
            self.title_parts.append(data)


def _clean(text: str) -> str:
    text = re.sub(r"<[^>]*>", " ", text)
    text = " ".join(text.split())
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1].rsplit(" ", 1)[0] + "…"


def _absolute(url: str, base: str) -> str:
    url = url.strip()
    if not url:
        return ""
    joined = urljoin(base, url)
    return joined if urlsplit(joined).scheme in ("http", "https") and len(joined) <= 2000 else ""
