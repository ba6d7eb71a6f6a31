"""The Jinja2 environment: theme lookup chain, strict undefined, autoescape, filters.

A site's theme folder only needs the templates it changes: lookups go
``themes/<theme>/`` → the site's ``themes/default/`` → the default theme
shipped with Tidings. Undefined variables raise, so a typo in a template is a
build error with the template's name and line, never an empty string on a page.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import jinja2
import markupsafe

from ..config import Site
from ..model import Html, ItemGroup
from ..urls import slugify
from . import paths
from .themes import bundled_theme_dir, theme_dirs

__all__ = ["bundled_theme_dir", "theme_dirs", "make_environment", "TrackingEnvironment", "Assets", "collect_assets", "template_digest"]


class Assets:
    """Static files of the theme chain, with content-hashed names for long-lived caching."""

    def __init__(self, files: dict[str, Path]):
        self.files = files  # logical name (e.g. 'style.css') -> source file
        self.names: dict[str, str] = {}
        for name, source in files.items():
            digest = hashlib.sha256(source.read_bytes()).hexdigest()[:10]
            stem, dot, ext = name.rpartition(".")
            self.names[name] = f"assets/{stem}.{digest}.{ext}" if dot else f"assets/{name}.{digest}"

    def path(self, name: str) -> str:
        """The site path of an asset; an unknown name is a template error."""
        try:
            return "/" + self.names[name]
        except KeyError:
            raise jinja2.TemplateRuntimeError(f"no asset named {name!r} in the theme's static/ folder") from None


def collect_assets(dirs: list[Path]) -> Assets:
    files: dict[str, Path] = {}
    for theme in reversed(dirs):  # more specific themes override
        static = theme / "static"
        if static.is_dir():
            for source in sorted(static.rglob("*")):
                if source.is_file():
                    files[source.relative_to(static).as_posix()] = source
    return Assets(files)


def _replace_specials(text: str) -> str:
    return text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;").replace("'", "&#39;").replace('"', "&#34;")


# The text escaper markupsafe.escape itself calls (C when built); the same replacements otherwise.
_escape_text: Callable[[str], str] = getattr(markupsafe, "_escape_inner", _replace_specials)
_PASSED_THROUGH = (markupsafe.Markup, Html)


def _escape_output(value: Any) -> str:
    """What ``{{ value }}`` writes: the characters of ``markupsafe.escape(value)``.

    Compiled templates call ``escape`` only where a value is written, and what is
    written is only ever joined into a string, so the result need not be a
    ``Markup``. markupsafe's escape makes one through two Python calls for every
    value (over half a million on 1,000 issues: about 5 % of a cold build); plain
    text, the common case, takes one C call here, and markup is written as it is.
    """
    kind = type(value)
    if kind is str:
        return _escape_text(value)
    if kind in _PASSED_THROUGH:
        return value  # type: ignore[no-any-return]
    return markupsafe.escape(value)


class _Template(jinja2.Template):
    """A compiled template that writes values through :func:`_escape_output`."""

    @classmethod
    def from_code(cls, environment: jinja2.Environment, code: Any, globals: Any, uptodate: Any = None) -> jinja2.Template:
        template = super().from_code(environment, code, globals, uptodate)
        # The module's render, block and macro functions look `escape` up in its globals at each call.
        template.root_render_func.__globals__["escape"] = _escape_output
        return template


class TrackingEnvironment(jinja2.Environment):
    """An environment that tells ``on_use`` every template a render asks for.

    Unlike a loader hook, this also sees templates served from Jinja's cache
    (``extends``, ``include`` and ``import`` all come through here), so each
    output's template dependencies are complete (for incremental builds).
    """

    on_use: Callable[[str], None] | None = None
    template_class = _Template

    def _load_template(self, name: str, globals: Any) -> jinja2.Template:
        if self.on_use is not None:
            self.on_use(name)
        return super()._load_template(name, globals)


def _rfc822(value: datetime) -> str:
    from .feedformats import rfc822  # here: only feeds and mail use it, and an edit build need not import email.utils

    return rfc822(value)


def make_environment(
    site: Site,
    assets: Assets,
    *,
    on_load: Callable[[str], None] | None = None,
    on_use: Callable[[str], None] | None = None,
    bytecode_dir: Path | None = None,
) -> TrackingEnvironment:
    """Build the environment for ``site``; ``on_load`` is told each template name loaded
    from disk, ``on_use`` each template name a render uses (cached or not).
    ``bytecode_dir`` keeps compiled templates between builds (Jinja checks each
    against its source)."""
    loader: jinja2.BaseLoader = jinja2.FileSystemLoader([str(d / "templates") for d in theme_dirs(site)])
    if on_load is not None:
        loader = _RecordingLoader(loader, on_load)
    env = TrackingEnvironment(
        loader=loader,
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
        bytecode_cache=_bytecode_cache(bytecode_dir),
    )
    parts = urlsplit(site.config.base_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    base_path = parts.path.rstrip("/")

    def url(path: str) -> str:
        """A site path as the browser should request it (with the base URL's path prefix)."""
        if path.startswith(("http://", "https://", "mailto:", "#")):
            return path
        return base_path + path

    def absolute(path: str) -> str:
        """A site path as a full URL, for canonical links, feeds and email."""
        if path.startswith(("http://", "https://", "mailto:")):
            return path
        return origin + url(path)

    def issue_url(issue: Any) -> str:
        """An issue page's URL: the one filter listings call for every entry."""
        return base_path + paths.issue_path(issue)

    env.filters.update(
        url=url,
        absolute=absolute,
        issue_url=issue_url,
        date=_format_date,
        isodate=_isodate,
        rfc822=_rfc822,
        plural=lambda n, word, many=None: f"{n} {word if n == 1 else (many or word + 's')}",
    )
    env.tests["item_group"] = lambda value: isinstance(value, ItemGroup)
    env.filters["slug"] = slugify
    env.globals.update(
        site=site.config,
        paths=paths,
        asset=lambda name: url(assets.path(name)),
        kind_title=lambda kind: _kind_title(site, kind),
    )
    env.on_use = on_use
    return env


def _bytecode_cache(folder: Path | None) -> jinja2.BytecodeCache | None:
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # a read-only checkout builds without it
    return jinja2.FileSystemBytecodeCache(str(folder))


def _format_date(value: datetime, style: str = "long") -> str:
    return _date_text(value, value.utcoffset(), style)


def _isodate(value: datetime) -> str:
    return _date_text(value, value.utcoffset(), "iso")


@functools.lru_cache(maxsize=16384)
def _date_text(value: datetime, offset: Any, style: str) -> str:
    """Remembered: listings print the same few thousand issue dates on many pages, and
    strftime is slow. ``offset`` is part of the key because equal instants in other time
    zones may fall on other days."""
    if style == "iso":
        return value.isoformat()
    if style == "short":
        return f"{value.day} {value:%b %Y}"
    if style == "month":
        return f"{value:%B %Y}"
    return f"{value.day} {value:%B %Y}"


def _kind_title(site: Site, kind: str) -> str:
    spec = site.config.section_kinds.get(kind)
    return (spec.title if spec and spec.title else kind.capitalize()) if kind != "general" else "Other"


class _RecordingLoader(jinja2.BaseLoader):
    """Wraps a loader to report which templates a render used (for incremental builds)."""

    def __init__(self, inner: jinja2.BaseLoader, on_load: Callable[[str], None]):
        self.inner = inner
        self.on_load = on_load

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str | None, Callable[[], bool] | None]:
        self.on_load(template)
        return self.inner.get_source(environment, template)

    def list_templates(self) -> list[str]:
        return self.inner.list_templates()


def template_digest(env: jinja2.Environment, name: str) -> str:
    """Fingerprint of the source Jinja would load for ``name`` now ('' when there is none)."""
    loader = env.loader
    inner = loader.inner if isinstance(loader, _RecordingLoader) else loader
    assert inner is not None
    try:
        source, filename, _ = inner.get_source(env, name)
    except jinja2.TemplateNotFound:
        return ""
    return hashlib.blake2b(f"{filename}\x1f{source}".encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
