"""The build plan: every file the build will write, known before anything is rendered.

Each output producer (site pages, assets, email editions, feeds…) lists its
outputs first. Two outputs claiming one path is a build error found here,
before rendering, so nothing is half-written and nothing is silently
overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Protocol

import jinja2

from .config import Site
from .content.archive import Archive
from .errors import BuildError, Problem, SourcePos
from .model import Page

__all__ = ["Output", "RenderContext", "Producer", "check_collisions"]


@dataclass(frozen=True, slots=True)
class Output:
    """One file of the built site, and how to make it."""

    path: str  # relative to the output folder, POSIX, no leading '/'
    producer: str  # name of the Producer that renders it
    kind: str  # what it is within that producer ('issue', 'home', 'archive-year'…)
    key: str = ""  # the renderer's argument: an issue slug, a page number…
    source: str = ""  # the content file it shows, if one (for messages)


@dataclass(slots=True)
class RenderContext:
    """Everything renderers read. Built once per build; shared read-only by workers."""

    site: Site
    archive: Archive
    pages: tuple[Page, ...]
    env: jinja2.Environment
    assets: Any  # render.env.Assets
    extra: dict[str, Any] = field(default_factory=dict)  # data other producers add (digests, link status…)
    # Caches a long-running process (the preview server) keeps between builds; empty otherwise.
    # Only for speed: an output must not depend on what is in here.
    kept: dict[str, Any] = field(default_factory=dict)
    # The previous build's fingerprints by output path, for producers that keep costly ones
    # under a cheaper key (``memo:`` keys; see Dependencies.unchanged).
    previous: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


class Producer(Protocol):
    """A family of outputs: plans their paths, then renders each one to bytes.

    ``render`` must read only ``ctx`` (data from elsewhere goes into
    ``ctx.extra`` when the build makes the context). For incremental builds a
    producer may also define ``fingerprint(ctx, output) -> dict[str, str]``:
    dependency keys mapped to fingerprints of everything the output shows
    (see :mod:`generator.render.views`); templates, ``ctx.extra`` reads and the
    configuration are tracked by the build itself (an ``extra`` value may
    define ``fingerprint() -> str`` to say which of its parts matter). Without
    it, the output is rendered again whenever any issue or page changes.
    """

    name: str

    def plan(self, ctx: RenderContext) -> list[Output]: ...

    def render(self, ctx: RenderContext, output: Output) -> bytes: ...


def check_collisions(outputs: Iterable[Output]) -> None:
    """Raise BuildError when two outputs would write the same file."""
    claimed: dict[str, Output] = {}
    problems: list[Problem] = []
    for out in outputs:
        other = claimed.get(out.path)
        if other is not None:
            where = out.source or f"{out.producer}:{out.kind}"
            first = other.source or f"{other.producer}:{other.kind}"
            problems.append(Problem(SourcePos(where), f"output '{out.path}' is also written by {first}"))
        else:
            claimed[out.path] = out
    if problems:
        raise BuildError(problems)
