"""Build options and reports, and the question asked before every build: is there anything to do?

An up-to-date check reads file stats and the build state's meta rows only. It lives
apart from :mod:`generator.build` so that `tidings build` on an unchanged repository
answers without importing the template engine, the Markdown parser or the renderers
(their import is most of the time such a build takes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .buildstate import BuildState, digest, scan_tree
from .config import CONFIG_FILE, Site
from .render.themes import theme_dirs

if TYPE_CHECKING:  # the up-to-date check stays light: the writer is imported only to build
    from .write import Cleanup

__all__ = ["BuildOptions", "BuildReport", "Scan", "input_places", "global_light", "scan_inputs", "is_up_to_date", "check_up_to_date"]


@dataclass(frozen=True, slots=True)
class BuildOptions:
    drafts: bool = False  # include drafts and future-dated issues
    workers: int | None = None  # processes; None = one per core
    output_dir: Path | None = None  # instead of the configured one
    durable: bool = True  # fsync before swapping in the new site
    full: bool = False  # ignore the build state and render everything (the state is saved again)
    keep_state: bool = True  # read and save .tidings/build.sqlite (incremental builds)
    # Deleting the replaced site: "now", before build() returns; "thread", in the background of a
    # long-running caller (the preview server); "process", by a process of its own that outlives
    # this one (`tidings build`, which exits right after).
    cleanup: Cleanup = "now"
    search: bool = True  # index for search when the site has it on (the preview server turns it off)
    in_place: bool = False  # update changed files one by one instead of swapping the tree (the preview server)


@dataclass(slots=True)
class BuildReport:
    """What a build did, for the command line and for tests."""

    issues: int = 0
    outputs: int = 0
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    rendered: int = 0  # outputs rendered this time (the rest were carried over)
    search_files: int = 0  # files of the search index
    search_reindexed: int = 0  # shards of the index built afresh (the others were carried over: nothing they cover changed)
    search_seconds: float = 0.0  # Pagefind's run, start to end; the "search" phase is only the part the build waited for
    rendered_paths: list[str] = field(default_factory=list)
    parsed: int = 0  # issue files parsed (not found in the parse cache)
    up_to_date: bool = False  # nothing changed since the last build: nothing was done
    state_note: str = ""  # why the previous build state was not used, if it was not
    phases: dict[str, float] = field(default_factory=dict)
    output_dir: Path | None = None

    @property
    def seconds(self) -> float:
        return sum(self.phases.values())

    def summary(self) -> str:
        if self.up_to_date:
            return f"{self.outputs} files from {self.issues} issues are up to date ({self.seconds:.2f}s) → {self.output_dir}"
        search = f" and a search index of {self.search_files} files" if self.search_files else ""
        return (
            f"built {self.outputs} files{search} from {self.issues} issues in {self.seconds:.2f}s "
            f"({self.rendered} rendered, {self.written} written, {self.unchanged} unchanged, {self.removed} removed) → {self.output_dir}"
        )


def input_places(site: Site) -> list[Path]:
    """Every file and folder a build reads (the preview server watches the same)."""
    root = site.root
    candidates = [
        root / CONFIG_FILE,
        site.path(site.config.issues_dir),
        site.path(site.config.pages_dir),
        root / "content",
        root / "themes",
        root / "feeds",
        *theme_dirs(site),
    ]
    places: list[Path] = []
    for place in candidates:
        place = place.resolve()
        if place.exists() and not any(place == p or p in place.parents for p in places):
            places = [p for p in places if place not in p.parents] + [place]
    return places


def global_light(site: Site, options: BuildOptions, output_dir: Path) -> str:
    """What every output depends on, known before reading content: version, settings, options."""
    return digest(__version__, repr(site.config), str(options.drafts), str(output_dir))


@dataclass(frozen=True, slots=True)
class Scan:
    """Every input looked at once: their fingerprint, the newest mtime, and when the scan began (ns)."""

    inputs: str
    newest: int
    started: int


def scan_inputs(site: Site, options: BuildOptions, output_dir: Path) -> Scan:
    """One fingerprint of every input's stat and the build's settings (see :class:`Scan`)."""
    started = time.time_ns()
    inputs, newest = scan_tree(input_places(site))
    return Scan(digest(inputs, global_light(site, options, output_dir)), newest, started)


def is_up_to_date(state: BuildState, inputs: str, now: datetime, report: BuildReport) -> bool:
    """No input changed since the last build, no issue became due, and the output folder is the one built."""
    if state.meta("inputs") != inputs:
        return False
    release = state.meta("next_release")
    if release and datetime.fromisoformat(release) <= now:
        return False
    assert report.output_dir is not None
    if not state.describes(report.output_dir):
        return False
    report.up_to_date = True
    report.outputs = report.unchanged = int(state.meta("outputs") or 0)
    report.issues = int(state.meta("issues") or 0)
    return True


def check_up_to_date(site: Site, options: BuildOptions) -> tuple[BuildReport | None, Scan | None]:
    """The report of a build that has nothing to do, or None; and the scan that decided it.

    The build that follows takes the scan (:func:`generator.build.build`) rather than
    looking at every input again. A file changed since only makes the next build look again.
    """
    if options.full or not options.keep_state:
        return None, None
    report = BuildReport(output_dir=options.output_dir or site.output_dir)
    assert report.output_dir is not None
    started = time.perf_counter()
    state = BuildState.open(site.root, report.output_dir)
    try:
        scan = scan_inputs(site, options, report.output_dir)
        fresh = is_up_to_date(state, scan.inputs, datetime.now().astimezone(), report)
    finally:
        state.close()
    report.phases["read"] = time.perf_counter() - started
    return (report if fresh else None), scan
