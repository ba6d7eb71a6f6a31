"""``tidings build``: the repository in, a complete site out, never touching the network.

The build is a short list of named phases, each timed:

1. ``read``     issue and page files → model (each file parsed once)
2. ``archive``  cross-issue checks and indexes; drafts and future issues dropped
3. ``plan``     every output path listed by its producer; collisions are errors
4. ``render``   outputs rendered in parallel and staged beside the output folder
5. ``search``   Pagefind indexes the staged HTML (when ``web.search`` is on)
6. ``check``    every internal link must point at an output of this build
7. ``commit``   the staged tree replaces the output folder in one step

Any problem in phases 1–6 leaves the previous output untouched.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Sequence
from urllib.parse import unquote, urlsplit

import jinja2

from .config import Site
from .content.archive import Archive, build_archive
from .content.issues import IssueSettings, read_issue
from .content.pages import read_page
from .errors import BuildError, ContentError, Problem, SourcePos
from .linkfiles import load_link_files
from .model import Issue, Page
from .plan import Output, Producer, RenderContext, check_collisions
from .render import paths
from .render.env import collect_assets, make_environment, theme_dirs
from .render.digests import DigestProducer, load_site_digests
from .render.redirects import RedirectsProducer
from .render.search import SEARCH_PATH, SearchProducer
from .render.site import AssetProducer, SiteProducer
from . import pagefind
from .write import Staging

__all__ = ["BuildOptions", "BuildReport", "Content", "load_content", "build", "issue_files", "producers_for"]

ISSUE_SUFFIXES = (".md", ".markdown")
PARALLEL_THRESHOLD = 48  # below this many files, worker start-up costs more than it saves


@dataclass(frozen=True, slots=True)
class BuildOptions:
    drafts: bool = False  # include drafts and future-dated issues
    workers: int | None = None  # processes; None = one per core
    output_dir: Path | None = None  # instead of the configured one
    durable: bool = True  # fsync before swapping in the new site


@dataclass(slots=True)
class BuildReport:
    """What a build did, for the command line and for tests."""

    issues: int = 0
    outputs: int = 0
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    phases: dict[str, float] = field(default_factory=dict)
    output_dir: Path | None = None

    @property
    def seconds(self) -> float:
        return sum(self.phases.values())

    def summary(self) -> str:
        return (
            f"built {self.outputs} files from {self.issues} issues in {self.seconds:.2f}s "
            f"({self.written} written, {self.unchanged} unchanged, {self.removed} removed) → {self.output_dir}"
        )


@dataclass(frozen=True, slots=True)
class Content:
    """Everything read from the repository's content folder."""

    issues: tuple[Issue, ...]  # every issue, drafts included
    pages: tuple[Page, ...]


# ---------------------------------------------------------------- reading


def issue_files(site: Site) -> list[Path]:
    folder = site.path(site.config.issues_dir)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix in ISSUE_SUFFIXES and p.is_file() and not p.name.startswith("."))


def issue_settings(site: Site) -> IssueSettings:
    return IssueSettings(tuple(site.config.section_kinds.items()), site.config.timezone)


def _parse_file(path: Path, settings: IssueSettings, root: Path) -> Issue | list[Problem]:
    rel = _relative(path, root)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return [Problem(SourcePos(rel), f"cannot read: {exc.strerror}")]
    try:
        return read_issue(rel, data, settings)
    except ContentError as exc:
        return list(exc.problems)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def load_content(site: Site) -> Content:
    """Parse every issue and page; raise ContentError with all problems of all files.

    Parsing runs in this process: an issue parses in about a millisecond, less
    than it costs to send the parsed model back from a worker process. The
    render workers, forked afterwards, inherit the parsed archive for free.
    """
    files = issue_files(site)
    settings = issue_settings(site)
    results = [_parse_file(f, settings, site.root) for f in files]
    problems: list[Problem] = []
    issues: list[Issue] = []
    for result in results:
        if isinstance(result, list):
            problems.extend(result)
        else:
            issues.append(result)
    pages: list[Page] = []
    pages_dir = site.path(site.config.pages_dir)
    if pages_dir.is_dir():
        for path in sorted(pages_dir.glob("*.md")):
            rel = _relative(path, site.root)
            try:
                pages.append(read_page(rel, path.read_bytes()))
            except ContentError as exc:
                problems.extend(exc.problems)
            except OSError as exc:
                problems.append(Problem(SourcePos(rel), f"cannot read: {exc.strerror}"))
    seen: dict[str, Page] = {}
    for page in pages:
        if page.slug in seen:
            problems.append(Problem(SourcePos(page.source_path, 1), f"page URL /{page.slug}/ is already used by {seen[page.slug].source_path}"))
        seen[page.slug] = page
    if problems:
        raise ContentError(problems)
    return Content(tuple(issues), tuple(pages))


# ---------------------------------------------------------------- producers


def producers_for(site: Site) -> list[Producer]:
    """The output producers of a build, in the order their outputs are planned."""
    from .render.email import EmailProducer
    from .render.syndication import FeedsProducer

    producers: list[Producer] = [SiteProducer(), AssetProducer(), DigestProducer(), EmailProducer(), FeedsProducer(), RedirectsProducer()]
    if site.config.web.search:
        producers.append(SearchProducer())
    return producers


# ---------------------------------------------------------------- rendering


_RENDER_STATE: tuple[RenderContext, dict[str, Producer], Staging, str] | None = None
_HREF = re.compile(r'(?:href|src)="([^"#?]*)[^"]*"')


def _render_chunk(chunk: Sequence[Output]) -> list[tuple[str, bool, tuple[str, ...], Problem | None]]:
    """Render and stage outputs; return (path, changed, internal link targets, problem)."""
    assert _RENDER_STATE is not None
    ctx, producers, staging, base_path = _RENDER_STATE
    results = []
    for output in chunk:
        try:
            data = producers[output.producer].render(ctx, output)
        except jinja2.TemplateError as exc:
            results.append((output.path, False, (), _template_problem(exc, output, ctx)))
            continue
        changed = staging.write(output.path, data)
        targets: tuple[str, ...] = ()
        if output.path.endswith(".html"):
            targets = tuple(_internal_targets(data, base_path))
        results.append((output.path, changed, targets, None))
    return results


def _internal_targets(data: bytes, base_path: str) -> set[str]:
    found: set[str] = set()
    for match in _HREF.finditer(data.decode("utf-8", "replace")):
        href = match.group(1)
        if not href.startswith("/") or href.startswith("//"):
            continue
        if base_path and not href.startswith(base_path + "/"):
            continue
        found.add(unquote(href[len(base_path) :]))
    return found


def _template_problem(exc: jinja2.TemplateError, output: Output, ctx: RenderContext) -> Problem:
    name = getattr(exc, "filename", None) or getattr(exc, "name", None)
    line = getattr(exc, "lineno", None) or 0
    if not name:
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if frame.filename.endswith((".html", ".xml", ".txt", ".json")) and "templates" in frame.filename:
                name, line = frame.filename, frame.lineno or 0
                break
    where = _relative(Path(name), ctx.site.root) if name else "templates"
    return Problem(SourcePos(where, line), f"{exc.message or type(exc).__name__} (while rendering {output.path})")


def _worker_count(requested: int | None, jobs: int) -> int:
    if requested is not None:
        return max(1, requested)
    if jobs < PARALLEL_THRESHOLD or os.name != "posix":
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


@contextmanager
def _pool(count: int) -> Iterator[Any]:
    # fork: workers inherit the parsed archive and compiled templates without pickling them
    context = multiprocessing.get_context("fork")
    pool = context.Pool(count)
    try:
        yield pool
    finally:
        pool.close()
        pool.join()


def _render_all(ctx: RenderContext, producers: dict[str, Producer], outputs: list[Output], staging: Staging, workers: int | None) -> list[tuple[str, bool, tuple[str, ...], Problem | None]]:
    global _RENDER_STATE
    base_path = urlsplit(ctx.site.config.base_url).path.rstrip("/")
    _RENDER_STATE = (ctx, producers, staging, base_path)
    try:
        count = _worker_count(workers, len(outputs))
        if count == 1:
            return _render_chunk(outputs)
        _warm_templates(ctx)
        size = max(8, len(outputs) // (count * 8))
        chunks = [outputs[i : i + size] for i in range(0, len(outputs), size)]
        with _pool(count) as pool:
            return [r for part in pool.imap_unordered(_render_chunk, chunks) for r in part]
    finally:
        _RENDER_STATE = None


def _warm_templates(ctx: RenderContext) -> None:
    """Compile every template once in the parent so forked workers share the result."""
    for name in ctx.env.list_templates():
        try:
            ctx.env.get_template(name)
        except jinja2.TemplateError:
            pass  # reported with its line when an output uses it


# ---------------------------------------------------------------- the build


def build(site: Site, options: BuildOptions = BuildOptions(), *, content: Content | None = None) -> BuildReport:
    """Build the site; raise TidingsError (nothing written) when anything is wrong."""
    report = BuildReport(output_dir=options.output_dir or site.output_dir)
    timer = _Phases(report)
    with timer("read"):
        content = content or load_content(site)
    with timer("archive"):
        archive = build_archive(content.issues, include_drafts=options.drafts, now=datetime.now().astimezone())
        report.issues = len(archive.issues)
    with timer("plan"):
        ctx = make_context(site, archive, content.pages)
        producers = {p.name: p for p in producers_for(site)}
        outputs = [o for p in producers.values() for o in p.plan(ctx)]
        check_collisions(outputs)
        report.outputs = len(outputs)
    assert report.output_dir is not None
    staging = Staging(report.output_dir, durable=options.durable)
    try:
        with timer("render"):
            results = _render_all(ctx, producers, outputs, staging, options.workers)
        if "search_path" in ctx.extra and not any(r[3] for r in results):  # render problems are reported first
            with timer("search"):
                bundle = _stage_search_index(site, staging, outputs)
                results += bundle
                report.outputs += len(bundle)
        with timer("check"):
            _check_results(results, outputs, _link_positions(archive))
        with timer("commit"):
            report.removed = staging.commit()
    except BaseException:
        staging.abort()
        raise
    report.written = sum(1 for r in results if r[1])
    report.unchanged = len(results) - report.written
    return report


def make_context(site: Site, archive: Archive, pages: tuple[Page, ...]) -> RenderContext:
    dirs = theme_dirs(site)
    if not dirs:
        raise BuildError([Problem(SourcePos("themes"), f"theme '{site.config.theme}' not found and no default theme is installed")])
    assets = collect_assets(dirs)
    env = make_environment(site, assets)
    links = load_link_files(site.root, archive)  # committed by `tidings check --all`; no network here
    env.globals["link_gone"] = links.gone
    extra = {"digests": load_site_digests(site), "linkstatus": links}
    ctx = RenderContext(site=site, archive=archive, pages=pages, env=env, assets=assets, extra=extra)
    if site.config.web.search and (archive.issues or pages):  # nothing to index: no search page
        ctx.extra["search_path"] = SEARCH_PATH
    return ctx


def _stage_search_index(site: Site, staging: Staging, outputs: list[Output]) -> list[tuple[str, bool, tuple[str, ...], Problem | None]]:
    """Index the staged issue and page HTML with Pagefind and stage the bundle like any other output."""
    pages = [o.path for o in outputs if o.producer == "site" and o.kind in ("issue", "content-page")]
    bundle = pagefind.index_site(staging.dir, language=site.config.language, files=pages)
    return [(path, staging.write(path, data), (), None) for path, data in bundle.items()]


def _link_positions(archive: Archive) -> dict[str, SourcePos]:
    """Where each site-relative link was written, so a broken one is reported at its line."""
    found: dict[str, SourcePos] = {}
    for issue in archive.issues:
        for link in issue.iter_links():
            if link.url.startswith("/") and not link.url.startswith("//"):
                found.setdefault(unquote(link.url.split("#", 1)[0].split("?", 1)[0]), link.pos)
    return found


def _check_results(
    results: list[tuple[str, bool, tuple[str, ...], Problem | None]], outputs: list[Output], written_at: dict[str, SourcePos]
) -> None:
    """Render errors first; then every internal link must name an output of this build."""
    problems = [r[3] for r in results if r[3] is not None]
    if problems:
        raise BuildError(_dedupe(problems))
    known = {o.path for o in outputs}
    sources = {o.path: o.source for o in outputs}
    broken: list[Problem] = []
    for path, _, targets, _ in sorted(results):
        for target in sorted(targets):
            file = paths.output_file(target)
            if file in known or f"{file}/index.html" in known:
                continue
            if target in written_at:
                broken.append(Problem(written_at[target], f"links to {target}, which this build does not produce"))
            else:
                where = SourcePos(sources.get(path) or f"{path}")
                broken.append(Problem(where, f"links to {target}, which this build does not produce (in {path})"))
    if broken:
        raise BuildError(_dedupe(broken))


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[str] = set()
    unique = []
    for p in problems:
        if str(p) not in seen:
            seen.add(str(p))
            unique.append(p)
    return unique


class _Phases:
    def __init__(self, report: BuildReport):
        self.report = report

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.report.phases[name] = self.report.phases.get(name, 0.0) + time.perf_counter() - start

