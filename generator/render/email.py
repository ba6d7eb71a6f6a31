"""The email edition of each issue: HTML and plain text for mail clients, and a ready .eml.

Why a separate renderer rather than the web page: mail clients are not
browsers. Gmail drops ``<style>`` in many views and clips messages over about
102 KB; desktop Outlook ignores ``max-width`` and needs a fixed-width "ghost"
table; nothing may be relative. So the HTML part is its own one-column table
template (``email/issue.html``) whose stylesheet is inlined with css-inline;
only dark-mode and small-screen rules stay in a ``<style>`` block, as
``!important`` enhancements. The text part has its own template
(``email/issue.txt``) rendered from the same model, never converted from the
HTML.

A build writes ``email/<slug>.html``, ``.txt`` and ``.eml`` for every
published issue. The ``.eml`` is deterministic (Date = the issue's date,
Message-ID derived from the issue and its source hash) so builds stay
reproducible; ``tidings send`` makes a fresh Message-ID per recipient.
"""

from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterator, Sequence
from urllib.parse import urljoin

import css_inline
from markupsafe import Markup

from ..buildstate import recorder_of
from ..errors import BuildError, Problem, SourcePos
from ..model import Issue, Item
from ..plan import Output, RenderContext
from . import paths
from .views import source_key
from .plaintext import WIDTH, clean, fragment_text

__all__ = [
    "EmailProducer",
    "Edition",
    "render_edition",
    "absolutize",
    "runs",
    "PLACEHOLDER",
    "WARN_BYTES",
    "LIMIT_BYTES",
    "size_problem",
]


PLACEHOLDER = "{{subscriber}}"  # per-recipient token in unsubscribe URLs; filled by ESPs and `tidings send`
WARN_BYTES = 90 * 1024  # encoded HTML part; Gmail clips at about 102 KB
LIMIT_BYTES = 100 * 1024
PREHEADER_CHARS = 150
_SPACER = Markup("&#8199;&#847; " * 60)  # keeps body text out of the inbox preview after a short preheader

_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False, minify_css=True, keep_style_tags=False)
_KEEP = re.compile(r"<style data-keep>(.*?)</style>\s*", re.DOTALL)
_URL_ATTR = re.compile(r'\b(href|src)="([^"]*)"')
_NEEDS_ESCAPING = re.compile(r"[&<>'\"]")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_BLANK_LINES = re.compile(r"\n\s*\n+")


@dataclass(frozen=True, slots=True)
class Edition:
    """One issue's email, rendered: what the .html/.txt/.eml outputs and the sender use."""

    slug: str
    number: int | None
    subject: str
    html: str
    text: str
    web_url: str
    date: datetime
    source_path: str
    source_hash: str


def runs(items: Sequence[Item]) -> Iterator[tuple[bool, list[Item]]]:
    """Consecutive items grouped by whether they are sponsored (sponsor blocks are styled apart)."""
    current: list[Item] = []
    flag = False
    for item in items:
        if current and item.sponsored != flag:
            yield flag, current
            current = []
        flag = item.sponsored
        current.append(item)
    if current:
        yield flag, current


def absolutize(markup: str, base: str) -> str:
    """Every href/src resolved against ``base`` (the issue's web page); scheme-less ``//`` becomes https."""

    def fix(match: re.Match[str]) -> str:
        raw = match.group(2)
        if raw.startswith(("https://", "http://")) and not _NEEDS_ESCAPING.search(raw):
            return match.group(0)  # most links: absolute already, and unchanged by unescaping and escaping
        attr, value = match.group(1), htmllib.unescape(raw)
        if value.startswith("//"):
            value = "https:" + value
        elif not _SCHEME.match(value):
            value = urljoin(base, value)
        return f'{attr}="{htmllib.escape(value, quote=True)}"'

    return _URL_ATTR.sub(fix, markup)


def _subject(ctx: RenderContext, issue: Issue) -> str:
    template = ctx.site.config.email.subject
    number = "" if issue.number is None else str(issue.number)
    try:
        text = template.format(title=issue.title, number=number, site=ctx.site.config.title)
    except (KeyError, IndexError, ValueError) as exc:
        raise BuildError([Problem(SourcePos("tidings.yaml"), f"'email.subject' cannot be filled in: {exc}")]) from None
    return " ".join(text.split())


def _preheader(issue: Issue) -> str:
    text = issue.summary
    if not text:
        first = next(issue.iter_items(), None)
        text = first.display_title if first else issue.title
    text = " ".join(text.split())
    if len(text) > PREHEADER_CHARS:
        text = text[: PREHEADER_CHARS - 1].rsplit(" ", 1)[0] + "…"
    return text


def _values(ctx: RenderContext, issue: Issue) -> dict[str, Any]:
    absolute: Callable[[str], str] = ctx.env.filters["absolute"]
    email = ctx.site.config.email
    return {
        "issue": issue,
        "subject": _subject(ctx, issue),
        "web_url": absolute(paths.issue_path(issue)),
        "archive_url": absolute(paths.archive_path()),
        "feed_url": absolute("/feed.xml"),
        "unsubscribe_url": email.unsubscribe_url,
        "unsubscribe_mailto": email.unsubscribe_mailto,
        "postal_address": email.postal_address,
        "runs": runs,
    }


def render_html(ctx: RenderContext, issue: Issue) -> str:
    """The HTML part: template → css-inline → absolute URLs; kept at-rules go back into <head>."""
    values = _values(ctx, issue)
    values.update(preheader=_preheader(issue), spacer=_SPACER)
    markup = ctx.env.get_template("email/issue.html").render(**values)
    kept = "".join(m.group(1).strip() for m in _KEEP.finditer(markup))
    markup = _KEEP.sub("", markup)
    inlined = _INLINER.inline(markup)
    if kept:
        inlined = inlined.replace("</head>", f"<style>{kept}</style></head>", 1)
    inlined = absolutize(inlined, values["web_url"])
    return clean(_BLANK_LINES.sub("\n", inlined))


def render_text(ctx: RenderContext, issue: Issue) -> str:
    """The text part, from its own template; lines ≤ 72 columns except lone URLs, none over 998."""
    values = _values(ctx, issue)
    base = values["web_url"]

    def text(markup: str, indent: str = "", marker: str = "") -> str:
        out = fragment_text(markup, width=WIDTH, indent=indent, base=base)
        if marker and out.startswith(indent):
            out = marker + out[len(indent) :]
        return out

    values["text"] = text
    body = ctx.env.get_template("email/issue.txt").render(**values)
    lines = [line.rstrip() for line in body.splitlines()]
    squeezed = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    return clean(squeezed) + "\n"


def render_edition(ctx: RenderContext, issue: Issue) -> Edition:
    return Edition(
        slug=issue.slug,
        number=issue.number,
        subject=_subject(ctx, issue),
        html=render_html(ctx, issue),
        text=render_text(ctx, issue),
        web_url=ctx.env.filters["absolute"](paths.issue_path(issue)),
        date=issue.date,
        source_path=issue.source_path,
        source_hash=issue.source_hash,
    )


def size_problem(edition: Edition, encoded_html_bytes: int) -> tuple[str, Problem] | None:
    """('warn'|'error', problem) when the encoded HTML part nears or passes Gmail's clipping size."""
    if encoded_html_bytes < WARN_BYTES:
        return None
    kb = encoded_html_bytes / 1024
    level = "error" if encoded_html_bytes >= LIMIT_BYTES else "warn"
    limit = "over the 100 KB limit" if level == "error" else "near the 100 KB limit"
    message = f"the email edition's HTML part is {kb:.1f} KB encoded, {limit} (Gmail clips messages over about 102 KB)"
    return level, Problem(SourcePos(edition.source_path, 1), message)


class EmailProducer:
    """email/<slug>.html, .txt and .eml for every published issue."""

    name = "email"

    def __init__(self) -> None:
        # An issue's three outputs share one rendered edition, with what rendering it read
        # (templates, ctx.extra keys): each output that takes it from here reads them too.
        self._cache: dict[str, tuple[Edition, frozenset[str], frozenset[str]]] = {}

    def plan(self, ctx: RenderContext) -> list[Output]:
        out: list[Output] = []
        if not ctx.site.config.email.editions:  # `tidings email` and `tidings send` still render on demand
            return out
        for issue in ctx.archive.issues:
            for ext in ("html", "txt", "eml"):
                out.append(Output(f"email/{issue.slug}.{ext}", self.name, ext, issue.slug, issue.source_path))
        return out

    def edition(self, ctx: RenderContext, slug: str) -> Edition:
        if slug not in self._cache and len(self._cache) > 16:
            self._cache.clear()
        return recorder_of(ctx.extra).shared(self._cache, slug, lambda: render_edition(ctx, ctx.archive.by_slug[slug]))

    def fingerprint(self, ctx: RenderContext, output: Output) -> dict[str, str]:
        """An edition shows its issue only (templates and settings are tracked by the build)."""
        key, value = source_key(ctx.archive.by_slug[output.key])
        return {key: value}

    def render(self, ctx: RenderContext, output: Output) -> bytes:
        from ..mail.message import build_message, encoded_html_size, identity_for

        edition = self.edition(ctx, output.key)
        if output.kind == "html":
            return edition.html.encode("utf-8")
        if output.kind == "txt":
            return edition.text.encode("utf-8")
        message = build_message(edition, identity_for(ctx.site))
        found = size_problem(edition, encoded_html_size(message))
        if found is not None:
            level, problem = found
            if level == "error":
                raise BuildError([problem])
            import logging  # here: only an edition near the limit is reported through it

            logging.getLogger("tidings.email").warning("%s", problem)
        return message.as_bytes()

