"""``tidings build``: the repository in, a complete site out, never touching the network.

The build is a short list of named phases, each timed:

1. ``read``     issue and page files → model (each file parsed once)
2. ``archive``  cross-issue checks and indexes; drafts and future issues dropped
3. ``plan``     every output path listed by its producer; collisions are errors
4. ``diff``     outputs whose dependencies changed are chosen for rendering; the
                others are carried over from the previous site (hard links)
5. ``render``   the chosen outputs rendered in parallel and staged beside the output folder
6. ``search``   Pagefind indexes the staged HTML (when ``web.search`` is on); after an
                edit it runs while the outputs it does not read are diffed and rendered
7. ``check``    every internal link must point at an output of this build
8. ``commit``   the staged tree replaces the output folder in one step
9. ``record``   the build state (:mod:`generator.buildstate`) is saved for the next build

``read`` stats every input first: when nothing changed since the last build,
the build stops there. It parses only files whose bytes are new; the others
come from the parse cache. Any problem in phases 1–7 leaves the previous
output untouched.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import os
import re
import time
from contextlib import contextmanager
import dataclasses
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence
from urllib.parse import unquote, urlsplit

import jinja2

from . import __version__
from .buildstate import (
    BuildState, Dependencies, OutputRecord, Recorder, RecordingDict, SourceStat, digest, links_text, parsed_body, recorder_of,
    trusted_stat,
)
from .uptodate import BuildOptions, BuildReport, Scan, global_light, input_places, is_up_to_date, scan_inputs
from .config import Site
from .content.archive import SUMMARY_FORMAT, Archive, IndexCache, build_archive, index_summary
from .content.issues import IssueSettings, read_issue
from .content.pages import read_page
from .errors import BuildError, ContentError, Problem, SourcePos
from .linkfiles import load_link_files
from .model import Issue, Page
from .serialize import CACHE_FORMAT, SCHEMA_VERSION, issue_head, issue_json, stored_issue
from .plan import Output, Producer, RenderContext, check_collisions
from .render import paths
from .render.env import Assets, TrackingEnvironment, collect_assets, make_environment, theme_dirs
from .render.digests import DigestProducer, load_site_digests
from .render.redirects import RedirectsProducer
from .render.search import SEARCH_PATH, SearchProducer, search_shards
from .render.site import AssetProducer, SiteProducer
from .render.views import item_digest
from .write import Staging

if TYPE_CHECKING:
    import concurrent.futures

    from .pagefind import SearchJob

__all__ = ["BuildOptions", "BuildReport", "Content", "load_content", "build", "issue_files", "producers_for", "input_places"]

ISSUE_SUFFIXES = (".md", ".markdown")
PARALLEL_THRESHOLD = 48  # below this many files, worker start-up costs more than it saves
PARALLEL_READ_THRESHOLD = 64  # issue files to parse before a second process joins in


@dataclass(frozen=True, slots=True)
class Content:
    """Everything read from the repository's content folder."""

    issues: tuple[Issue, ...]  # every issue, drafts included
    pages: tuple[Page, ...]


# ---------------------------------------------------------------- reading


def issue_files(site: Site) -> list[Path]:
    return [Path(entry.path) for entry in _issue_entries(site)]


def _issue_entries(site: Site) -> list[os.DirEntry[str]]:
    """The issue files, by name; a directory entry knows whether it is a file or a link without a stat."""
    folder = site.path(site.config.issues_dir)
    try:
        with os.scandir(folder) as entries:
            found = [e for e in entries if not e.name.startswith(".") and e.name.endswith(ISSUE_SUFFIXES) and e.is_file()]
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(found, key=lambda e: e.name)


def issue_settings(site: Site) -> IssueSettings:
    return IssueSettings(tuple(site.config.section_kinds.items()), site.config.timezone)


def _parse_file(path: Path, settings: IssueSettings, root: Path) -> Issue | list[Problem]:
    rel = _relative(path, root)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return [Problem(SourcePos(rel), f"cannot read: {exc.strerror}")]
    return _parse_bytes(rel, data, settings)


def _parse_bytes(rel: str, data: bytes, settings: IssueSettings) -> Issue | list[Problem]:
    try:
        return read_issue(rel, data, settings)
    except ContentError as exc:
        return list(exc.problems)


def _parse_to_json(
    jobs: list[tuple[Path, str, bytes | None]], settings: IssueSettings, root: Path
) -> list[tuple[str, str] | list[Problem]]:
    """Parse in a worker process; each issue comes back as its parse-cache texts (head, whole JSON)."""
    out: list[tuple[str, str] | list[Problem]] = []
    for path, rel, data in jobs:
        result = _parse_file(path, settings, root) if data is None else _parse_bytes(rel, data, settings)
        out.append(result if isinstance(result, list) else cache_texts(result))
    return out


def cache_texts(issue: Issue, summary: list[Any] | None = None) -> tuple[str, str]:
    """The parse cache's two texts for ``issue``: its head, with what it adds to the indexes, and its whole JSON.

    The head's item digests cost a cold build 3 µs an item, made where the issue was
    parsed (the read worker, or this process while the render workers run); they spare
    an edit decoding the other issues of the section pages it changes.
    """
    summary = summary if summary is not None else index_summary(issue)
    return issue_head(issue, summary, [item_digest(item) for item in issue.all_items]), issue_json(issue)


@dataclass(frozen=True)
class _StoredBodies:
    """Where a stored issue's body comes from when it is first read (see :class:`generator.serialize.StoredIssue`).

    Only what that needs, not the reader: a long-running caller keeps stored issues from
    many builds.
    """

    state_file: Path
    settings_key: str
    root: Path
    settings: IssueSettings

    def fetch(self, source_hash: str, rel: str, *, fresh: bool = False) -> str:
        """The issue's whole JSON from the parse cache; the file parsed again if ``fresh`` or if another build dropped the row."""
        text = None if fresh else parsed_body(self.state_file, source_hash, self.settings_key)
        if text is not None:
            return text
        try:
            data = (self.root / rel).read_bytes()
        except OSError as exc:
            raise ContentError([Problem(SourcePos(rel), f"cannot read: {exc.strerror}")]) from None
        if hashlib.sha256(data).hexdigest() != source_hash:
            raise ContentError([Problem(SourcePos(rel), "changed while this build was running; build again")])
        result = _parse_bytes(rel, data, self.settings)
        if isinstance(result, list):
            raise ContentError(result)
        return issue_json(result)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def load_content(site: Site) -> Content:
    """Parse every issue and page; raise ContentError with all problems of all files.

    For commands that need the model without building (show, check, email…): one
    process, no parse cache. A build reads through :class:`_Reader` with its state.
    """
    return _Reader(site, None, None).read()


class _Reader:
    """Reads the content folder, reusing parsed issues whose bytes did not change.

    A file whose mtime and size match the build state keeps its recorded hash
    unread; the parsed issue comes from ``memo`` (the preview server keeps one
    across builds), else from the state's JSON, else from the parser.
    """

    def __init__(self, site: Site, state: BuildState | None, memo: dict[str, Issue] | None, workers: int | None = 1):
        self.site = site
        self.workers = workers if workers is not None else (os.cpu_count() or 1)
        self.state = state
        self.memo = memo if memo is not None else {}
        self.settings = issue_settings(site)
        self.settings_key = digest(__version__, str(SCHEMA_VERSION), str(CACHE_FORMAT), str(SUMMARY_FORMAT), repr(self.settings))
        self.stats: list[SourceStat] = []
        self.sources_before: dict[str, SourceStat] = {}  # the scan the state held, to write only what changed
        self.new_parses: dict[str, Issue] = {}  # hash -> issue parsed in this build
        self.cache_text: dict[str, tuple[str, str]] = {}  # hash -> its parse-cache texts, when a worker made them
        self.compiling: concurrent.futures.Future[None] | None = None  # the read worker compiling templates
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None  # that worker's executor

    def read(self) -> Content:
        problems: list[Problem] = []
        issues: list[Issue] = []
        for result in self._issues():
            if isinstance(result, list):
                problems.extend(result)
            else:
                issues.append(result)
        pages = self._pages(problems)
        if problems:
            self.close()
            raise ContentError(problems)
        return Content(tuple(issues), tuple(pages))

    def _issues(self) -> list[Issue | list[Problem]]:
        root = self.site.root
        previous = self.sources_before = self.state.sources() if self.state else {}
        scanned = int((self.state.meta("scanned") if self.state else None) or 0)
        found: list[tuple[Path, str, bytes | None, str]] = []  # file, rel, bytes if read, hash
        unreadable: dict[str, str] = {}  # rel -> why
        folder = self.site.path(self.site.config.issues_dir)
        prefix = _relative(folder, root) + "/"  # resolved once, not per file
        for entry in _issue_entries(self.site):
            path = Path(entry.path)
            rel = prefix + entry.name if not entry.is_symlink() else _relative(path, root)
            try:
                st = entry.stat()
                if trusted_stat(previous.get(rel), st, scanned):
                    data, hashed = None, previous[rel].hash
                else:
                    data = path.read_bytes()
                    hashed = hashlib.sha256(data).hexdigest()
            except OSError as exc:
                unreadable[rel] = str(exc.strerror)
                found.append((path, rel, None, ""))
                continue
            self.stats.append(SourceStat(rel, st.st_mtime_ns, st.st_size, hashed))
            found.append((path, rel, data, hashed))
        missing = [h for _, rel, _, h in found if rel not in unreadable and h not in self.memo]
        stored = self.state.heads(missing, self.settings_key) if self.state and missing else {}
        bodies = _StoredBodies(self.state.store.path, self.settings_key, root, self.settings) if self.state and self.state.store else None
        known: dict[str, Issue] = {}  # rel -> issue from the memo or the parse cache
        to_parse: list[tuple[Path, str, bytes | None]] = []
        for path, rel, data, hashed in found:
            if rel in unreadable:
                continue
            issue = self.memo.get(hashed)
            if (issue is None or issue.source_path != rel) and hashed in stored and bodies is not None:
                try:
                    issue = stored_issue(stored[hashed], functools.partial(bodies.fetch, hashed, rel))  # read if needed
                except (KeyError, ValueError, TypeError):
                    issue = None
            if issue is None or issue.source_path != rel:
                to_parse.append((path, rel, data))
            else:
                known[rel] = issue
        parsed = self._parse_all(to_parse)
        results: list[Issue | list[Problem]] = []
        for path, rel, data, hashed in found:
            if rel in unreadable:
                results.append([Problem(SourcePos(rel), f"cannot read: {unreadable[rel]}")])
                continue
            result = known.get(rel) or parsed[rel]
            if isinstance(result, Issue):
                self.memo[hashed] = result
            results.append(result)
        return results

    def _parse_all(self, jobs: list[tuple[Path, str, bytes | None]]) -> dict[str, Issue | list[Problem]]:
        """Parse files, sharing the work with one forked process when there are many.

        The other process sends its issues back as the parse cache's JSON, which
        this process needs for the build state anyway; decoding it costs about a
        seventh of parsing. The other process is the slower per file (it encodes
        and sends too), so this one takes 55 % of the files; then they finish
        together (measured on 1,000 issues).
        """
        results: dict[str, Issue | list[Problem]] = {}
        if self.workers < 2 or len(jobs) < PARALLEL_READ_THRESHOLD or os.name != "posix":
            self._parse_here(jobs, results)
            return results
        split = len(jobs) * 11 // 20
        import concurrent.futures  # here: a build that parses few files (an edit) does not need it
        import multiprocessing

        from .workers import die_with_parent

        context = multiprocessing.get_context("fork")
        pool = self._pool = concurrent.futures.ProcessPoolExecutor(1, mp_context=context, initializer=die_with_parent)
        failed = True
        try:
            theirs = pool.submit(_parse_to_json, jobs[split:], self.settings, self.site.root)
            # Next in the same process: while this one decodes its issues and builds the archive.
            self.compiling = pool.submit(_compile_templates, self.site)
            self._parse_here(jobs[:split], results)
            for (_, rel, _), result in zip(jobs[split:], theirs.result()):
                if isinstance(result, list):
                    results[rel] = result
                    continue
                # Made from the head, so the archive takes the worker's index summary; the body is
                # decoded now, as the render workers are forked from this process.
                issue = stored_issue(*result)
                issue.intro  # noqa: B018 - decodes the body
                self.cache_text[issue.source_hash] = result
                results[rel] = self._keep(issue)
            failed = False
        finally:
            if failed:
                self.close()
        return results

    def templates_compiled(self) -> None:
        """Wait for the read worker's template compilation, if it was given one (see :func:`_compile_templates`).

        The worker and the executor's thread are gone when this returns: the render
        workers are forked next, and a fork should not copy a process with threads.
        """
        if self.compiling is not None and self._pool is not None:
            try:
                self.compiling.result()
            except Exception:  # noqa: BLE001 - the render compiles what is missing, and reports problems
                pass
            self._pool.shutdown(wait=True)
            self.compiling = self._pool = None

    def close(self) -> None:
        """Let the read worker go without waiting for it (the build failed: its templates are not needed)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self.compiling = self._pool = None

    def _parse_here(self, jobs: list[tuple[Path, str, bytes | None]], results: dict[str, Issue | list[Problem]]) -> None:
        for path, rel, data in jobs:
            results[rel] = self._keep(_parse_file(path, self.settings, self.site.root) if data is None else _parse_bytes(rel, data, self.settings))

    def _keep(self, result: Issue | list[Problem]) -> Issue | list[Problem]:
        if isinstance(result, Issue):
            self.new_parses[result.source_hash] = result
        return result

    def _pages(self, problems: list[Problem]) -> list[Page]:
        pages: list[Page] = []
        pages_dir = self.site.path(self.site.config.pages_dir)
        if pages_dir.is_dir():
            for path in sorted(pages_dir.glob("*.md")):
                rel = _relative(path, self.site.root)
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
        return pages


# ---------------------------------------------------------------- producers


def producers_for(site: Site) -> list[Producer]:
    """The output producers of a build, in the order their outputs are planned."""
    from .render.email import EmailProducer
    from .render.syndication import FeedsProducer

    # Each producer decides from the render context whether it has outputs (search off: none).
    return [SiteProducer(), AssetProducer(), DigestProducer(), EmailProducer(), FeedsProducer(), RedirectsProducer(), SearchProducer()]


# ---------------------------------------------------------------- rendering


@dataclass(frozen=True, slots=True)
class _Rendered:
    """One output rendered and staged by a worker."""

    path: str
    changed: bool  # new bytes (not hard-linked from the previous site)
    digest: str
    targets: tuple[str, ...]  # internal links, for the check phase
    templates: tuple[str, ...]  # what it read, for the build state
    extra: tuple[str, ...]
    problem: Problem | None = None
    own: dict[str, str] | None = None  # what it shows (its fingerprints), when the worker was asked to make them


_RENDER_STATE: tuple[RenderContext, dict[str, Producer], Staging, str, dict[str, str], Dependencies | None] | None = None
# Only root-relative targets ("/…", not "//…"): most links of a newsletter point elsewhere,
# and matching on bytes spares decoding every page.
_HREF = re.compile(rb'="(/(?!/)[^"#?]*)')  # a literal start: the engine skips ahead quickly


def _render_chunk(chunk: Sequence[Output]) -> list[_Rendered]:
    """Render and stage outputs, recording what each read."""
    assert _RENDER_STATE is not None
    ctx, producers, staging, base_path, before, deps = _RENDER_STATE
    recorder = recorder_of(ctx.extra)
    results = []
    for output in chunk:
        own = _own_deps(producers[output.producer], ctx, output, deps) if deps is not None else None
        recorder.reset()
        try:
            data = producers[output.producer].render(ctx, output)
        except jinja2.TemplateError as exc:
            results.append(_Rendered(output.path, False, "", (), (), (), _template_problem(exc, output, ctx)))
            continue
        hashed = hashlib.blake2b(data, digest_size=16).hexdigest()
        previous = before.get(output.path)
        changed = staging.write(output.path, data, same=None if previous is None else previous == hashed)
        targets: tuple[str, ...] = ()
        if output.path.endswith(".html"):
            targets = tuple(sorted(_internal_targets(data, base_path)))
        results.append(_Rendered(output.path, changed, hashed, targets, tuple(sorted(recorder.templates)), tuple(sorted(recorder.extra)), None, own))
    return results


def _internal_targets(data: bytes, base_path: str) -> set[str]:
    found: set[str] = set()
    prefix = base_path + "/"
    targets: set[bytes] = set()
    for match in _HREF.finditer(data):
        start = match.start()
        if data[start - 4 : start] == b"href" or data[start - 3 : start] == b"src":
            targets.add(match.group(1))
    for raw in targets:
        href = raw.decode("utf-8", "replace")
        if base_path and not href.startswith(prefix):
            continue
        found.add(unquote(href[len(base_path) :]))
    return found


def _template_problem(exc: jinja2.TemplateError, output: Output, ctx: RenderContext) -> Problem:
    import traceback  # here: only a failed render needs it

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
    import multiprocessing  # here: an edit renders in this process

    from .workers import die_with_parent

    # fork: workers inherit the parsed archive and compiled templates without pickling them
    context = multiprocessing.get_context("fork")
    gc.freeze()  # the workers' cycle collector leaves the inherited objects alone (no walks, no copied pages)
    pool = context.Pool(count, initializer=die_with_parent)
    try:
        yield pool
    finally:
        pool.close()
        pool.join()


def _render_all(
    ctx: RenderContext, producers: dict[str, Producer], outputs: list[Output], staging: Staging, workers: int | None, before: dict[str, str],
    meanwhile: Callable[[], None], deps: Dependencies | None = None, tick: Callable[[], None] | None = None,
) -> list[_Rendered]:
    """Render ``outputs``; ``meanwhile`` runs in this process while worker processes render (else after).

    Given ``deps``, each output's own fingerprints are made where it is rendered (see ``_Rendered.own``).
    ``tick`` is called between chunks (the search index starts its next shards).
    """
    global _RENDER_STATE
    base_path = urlsplit(ctx.site.config.base_url).path.rstrip("/")
    _RENDER_STATE = (ctx, producers, staging, base_path, before, deps)
    try:
        count = _worker_count(workers, len(outputs))
        if count == 1:
            step = 64 if tick is not None else max(1, len(outputs))  # with a tick, in chunks between its calls
            rendered = []
            for start in range(0, len(outputs), step):
                rendered += _render_chunk(outputs[start : start + step])
                if tick is not None:
                    tick()
            meanwhile()
            return rendered
        _warm_templates(ctx.env)
        size = max(8, len(outputs) // (count * 8))
        chunks = [outputs[i : i + size] for i in range(0, len(outputs), size)]
        with _pool(count) as pool:
            pending = pool.imap_unordered(_render_chunk, chunks)
            meanwhile()  # this process would only wait for the workers
            rendered = []
            for part in pending:
                rendered += part
                if tick is not None:
                    tick()
            return rendered
    finally:
        _RENDER_STATE = None


def _nothing() -> None:
    pass


def _warm_templates(env: jinja2.Environment) -> None:
    """Compile (or load from the bytecode cache) every template, so forked workers share the result."""
    for name in env.list_templates():
        try:
            env.get_template(name)
        except jinja2.TemplateError:
            pass  # reported with its line when an output uses it


# ---------------------------------------------------------------- the build


def build(
    site: Site, options: BuildOptions = BuildOptions(), *, content: Content | None = None, memo: dict[str, Issue] | None = None,
    kept: dict[str, Any] | None = None, committed: Callable[[BuildReport], None] | None = None, scan: Scan | None = None,
) -> BuildReport:
    """Build the site; raise TidingsError (nothing written) when anything is wrong.

    ``memo`` is a caller-kept map of parsed issues by source hash, reused
    across builds by a long-running process (the preview server), and
    ``kept`` its other caches (index contributions, fingerprint texts) and the
    settings ``memo``'s issues were parsed under: other settings empty it.
    ``committed`` is told as soon as the new site is in place, before the
    build state is saved (the preview reloads the browser then). ``scan`` is the look at
    every input that :func:`generator.uptodate.check_up_to_date` just took.
    """
    report = BuildReport(output_dir=options.output_dir or site.output_dir)
    assert report.output_dir is not None
    timer = _Phases(report)
    state = BuildState.open(site.root, report.output_dir) if options.keep_state else BuildState(None, str(report.output_dir))
    report.state_note = state.discarded
    collecting = gc.isenabled()
    # Reading makes millions of objects and no reference cycles: the cycle collector would walk the
    # growing heap again and again (a tenth of a 1,000-issue read, more for larger archives).
    # It is back on before anything is rendered (templates do make cycles).
    gc.disable()
    try:
        return _build(site, options, content, memo, kept if kept is not None else {}, state, report, timer, collecting, committed, scan)
    finally:
        gc.unfreeze()
        if collecting:
            gc.enable()
        state.close()


def _build(
    site: Site, options: BuildOptions, content: Content | None, memo: dict[str, Issue] | None, kept: dict[str, Any],
    state: BuildState, report: BuildReport, timer: "_Phases", collecting: bool, committed: Callable[[BuildReport], None] | None,
    scan: Scan | None,
) -> BuildReport:
    assert report.output_dir is not None
    now = datetime.now().astimezone()
    given = content is not None
    with timer("read"):
        scan = scan or scan_inputs(site, options, report.output_dir)
        scanned, inputs = scan.started, scan.inputs
        settled = scan.newest < scanned - 2_000_000_000
        if not given and not options.full and is_up_to_date(state, inputs, now, report):
            return report
        reader = _Reader(site, state, memo, options.workers)
        if memo is not None and kept.get("parsed_under") != reader.settings_key:
            memo.clear()  # issues parsed under other settings (section keywords, time zone…) are other issues
        kept["parsed_under"] = reader.settings_key
        content = content or reader.read()
        report.parsed = len(reader.new_parses)
    with timer("archive"):
        index_cache = kept.setdefault("index", IndexCache())
        archive = build_archive(content.issues, include_drafts=options.drafts, now=now, cache=index_cache)
        report.issues = len(archive.issues)
    with timer("plan"):
        ctx = make_context(site, archive, content.pages, search=options.search)
        ctx.kept = kept
        producers = {p.name: p for p in producers_for(site)}
        outputs = [o for p in producers.values() for o in p.plan(ctx)]
        check_collisions(outputs)
        report.outputs = len(outputs)
    fingerprint = _global_fingerprint(site, options, ctx, producers, report.output_dir)
    previous = _previous_outputs(state, fingerprint, report.output_dir, options, kept)
    remembered = previous is kept.get("outputs", (None, None))[1]  # this process's own last build
    ctx.previous = {path: record.deps for path, record in previous.items()}
    # In place only where no search index reads the staged pages, and over a site this state describes.
    in_place = options.in_place and bool(previous) and "search_path" not in ctx.extra
    # In place, files are moved into the site one by one: no spare is claimed or kept.
    site_known, spare = state.site_files() if previous and not in_place else (None, None)
    staging = Staging(
        report.output_dir, durable=options.durable, cleanup=options.cleanup, in_place=in_place, known=site_known, spare=spare
    )
    if staging.reusing:
        state.drop_spare()
    job: SearchJob | None = None
    try:
        shards = search_shards(archive, ctx.pages) if "search_path" in ctx.extra else []
        # After an edit, the pages the search index reads come first: Pagefind indexes them while the rest
        # is diffed and rendered. Not in a full build, whose two render pools and Pagefind's two
        # processes would share two cores: it took a tenth longer so (10.9 s against 9.9 s, 1,000 issues).
        batches = [outputs]
        if shards and previous:
            indexed = {path for shard in shards for path in shard.files}
            batches = [[o for o in outputs if o.path in indexed], [o for o in outputs if o.path not in indexed]]
        deps = Dependencies(ctx.env, ctx.extra, lambda: _content_digest(archive, content.pages if content else ()))
        before = {path: record.digest for path, record in previous.items()}
        own: dict[str, dict[str, str]] = {}
        results: list[_Rendered] = []
        carried: list[OutputRecord] = []
        bundle: list[tuple[str, bool]] = []
        shard_keys = ""

        def save_parses() -> None:
            # The new parses go to the parse cache while the workers render: a cache keyed by the
            # source bytes is right whatever becomes of this build.
            state.record_parsed(
                {h: reader.cache_text.get(h) or cache_texts(i, index_cache.summary(i)) for h, i in reader.new_parses.items()},
                reader.settings_key,
            )

        for number, batch in enumerate(batches):
            with timer("diff"):
                # Without a previous build every output is rendered, and its fingerprints are needed only
                # for the record: the render workers make them, in parallel, instead of this process.
                mine = {o.path: _own_deps(producers[o.producer], ctx, o, deps) for o in batch} if previous else {}
                # In place, after this process's own last build, its files are where it left them: not looked for again.
                chosen, kept_over = _diff(batch, mine, previous, deps, staging, present=remembered and staging.in_place)
                own.update(mine)
                carried += kept_over
            if number == 0:
                if collecting:
                    # The model, indexes and templates live to the end of the build: frozen, the collector
                    # leaves them out of its walks (a walk of the whole heap took longer than the file writes).
                    gc.freeze()
                    gc.enable()
                reader.templates_compiled()
            with timer("render"):
                results += _render_all(ctx, producers, chosen, staging, options.workers, before, save_parses if number == 0 else _nothing,
                                       deps=None if previous else deps, tick=job.poll if job else None)
            # Pagefind starts once the pages it reads are staged, unless they took a pool of render
            # workers: then so will the rest (a template changed), and it waits for them (see batches).
            last = number == len(batches) - 1
            if (
                shards and job is None and (last or _worker_count(options.workers, len(chosen)) == 1)
                and not any(r.problem for r in results)  # render problems are reported first
            ):
                from . import pagefind  # here: only a site with search runs it

                with timer("search"):
                    recorded = pagefind.recorded_shards(state.meta("search_shards")) if previous else {}
                    changed = {r.path for r in results if r.changed}
                    job = pagefind.SearchJob(staging, shards, changed, recorded, language=site.config.language)
        if job is not None and not any(r.problem for r in results):
            with timer("search"):
                bundle, shard_keys, report.search_reindexed = job.finish()
                report.search_files = len(bundle)
                report.search_seconds = job.seconds
        elif job is not None:
            job.stop()
        planned = {o.path for o in outputs}
        gone = set(previous) - planned  # outputs of the previous build that this one does not make
        with timer("check"):
            links = [(r.path, r.targets) for r in results]
            # A carried output's links were checked by the build that recorded it, against that build's
            # outputs: they can break only if one of those is gone.
            if gone:
                links += [(r.path, r.links) for r in carried]
            _check_results([r.problem for r in results if r.problem], links, outputs, lambda: _link_positions(archive))
        with timer("commit"):
            site_files = planned.union(path for path, _ in bundle)
            written = [r.path for r in results if r.changed] + [path for path, changed in bundle if changed]
            if staging.in_place:
                report.removed = staging.commit_in_place(written, sorted(gone))
            else:
                report.removed = staging.commit(
                    removed=len(gone) if previous else None, written=written, files=site_files
                )
    except BaseException:
        if job is not None:
            job.stop()
        staging.abort()
        raise
    report.rendered = len(results)
    report.rendered_paths = sorted(r.path for r in results)
    report.written = sum(1 for r in results if r.changed)
    report.unchanged = len(outputs) - report.written
    if committed is not None:
        committed(report)
    with timer("record"):
        by_path = {o.path: o for o in outputs}
        records = [
            OutputRecord(r.path, by_path[r.path].producer, by_path[r.path].kind, by_path[r.path].key,
                         deps.complete(r.own if r.own is not None else own[r.path], r.templates, r.extra), r.digest, links_text(r.targets))
            for r in results
        ] + [dataclasses.replace(r, refreshed=False) for r in carried if r.refreshed]
        meta = {
            "global": fingerprint,
            "inputs": inputs if settled and not given else "",
            "scanned": str(scanned),
            "next_release": _next_release(content.issues, options, now),
            "outputs": str(len(outputs)),
            "issues": str(report.issues),
            "recorded": os.urandom(8).hex(),  # names this record, for a caller that keeps it in memory
            "search_shards": shard_keys,
            **state.site_meta(report.output_dir, site_files, staging.kept),
        }
        state.record(
            meta=meta, sources=None if given else reader.stats, sources_before=reader.sources_before, outputs=records, keep=planned,
        )
        # What the state now holds, so a long-running caller's next build need not read it back.
        now_held = {path: record for path, record in previous.items() if path in planned}
        now_held.update((r.path, r) for r in records)
        kept["outputs"] = (meta["recorded"], now_held)
    if memo is not None:
        current = {i.source_hash for i in content.issues}
        for stale in [h for h in memo if h not in current]:
            del memo[stale]
    return report


def _global_fingerprint(site: Site, options: BuildOptions, ctx: RenderContext, producers: dict[str, Producer], output_dir: Path) -> str:
    """Settings, options, asset names (every page links its CSS) and producers.

    Theme folders are not in it: each template's fingerprint names the file it came from.
    """
    assets = [f"{k}={v}" for k, v in sorted(ctx.assets.names.items())]
    return digest(global_light(site, options, output_dir), *assets, *sorted(producers))


def _previous_outputs(
    state: BuildState, fingerprint: str, output_dir: Path, options: BuildOptions, kept: dict[str, Any]
) -> dict[str, OutputRecord]:
    """The last build's outputs, if they can be trusted to describe the output folder.

    A long-running caller (the preview) keeps the records of its last build; they are used
    while the state still names that build as its last record.
    """
    if options.full or state.meta("global") != fingerprint or not state.describes(output_dir):
        return {}
    held = kept.get("outputs")
    if held is not None and held[0] == state.meta("recorded"):
        records: dict[str, OutputRecord] = held[1]
        return records
    return state.outputs()


def _own_deps(producer: Producer, ctx: RenderContext, output: Output, deps: Dependencies) -> dict[str, str]:
    fingerprint = getattr(producer, "fingerprint", None)
    if fingerprint is None:
        return deps.content()
    own: dict[str, str] = fingerprint(ctx, output)
    return own


def _content_digest(archive: Archive, pages: tuple[Page, ...]) -> str:
    return digest(*(i.source_hash for i in archive.issues), *(p.source_hash for p in pages))


def _diff(
    outputs: list[Output], own: dict[str, dict[str, str]], previous: dict[str, OutputRecord], deps: Dependencies, staging: Staging,
    *, present: bool = False,
) -> tuple[list[Output], list[OutputRecord]]:
    """Outputs to render, and the records of those carried over (already linked into staging).

    ``present``: the previous outputs are known to be in the output folder, which is updated in place.
    A carried output whose ``memo:`` keys changed (what it lists came from edited sources, but
    it shows the same) gets a record with the new keys, marked ``refreshed`` to be saved: else
    it would miss its memo, and compute its fingerprint in full, at every build from then on.
    """
    chosen: list[Output] = []
    carried: list[OutputRecord] = []
    for output in outputs:
        record = previous.get(output.path)
        mine = own.get(output.path, {})
        if (
            record is not None
            and (record.producer, record.kind, record.key) == (output.producer, output.kind, output.key)
            and deps.unchanged(record, mine)
            and (present or staging.carry(output.path))
        ):
            memo = {k: v for k, v in mine.items() if k.startswith("memo:") and record.deps.get(k) != v}
            carried.append(dataclasses.replace(record, deps={**record.deps, **memo}, refreshed=True) if memo else record)
        else:
            chosen.append(output)
    return chosen, carried


def _next_release(issues: tuple[Issue, ...], options: BuildOptions, now: datetime) -> str:
    """When the next future-dated issue is due (the site changes then even if no file does)."""
    if options.drafts:
        return ""
    due = [i.date for i in issues if not i.draft and i.date > now]
    return min(due).isoformat() if due else ""


def make_context(site: Site, archive: Archive, pages: tuple[Page, ...], *, search: bool = True) -> RenderContext:
    dirs = theme_dirs(site)
    if not dirs:
        raise BuildError([Problem(SourcePos("themes"), f"theme '{site.config.theme}' not found and no default theme is installed")])
    assets = collect_assets(dirs)
    recorder = Recorder()
    links = load_link_files(site.root, archive)  # committed by `tidings check --all`; no network here
    data: dict[str, object] = {"digests": load_site_digests(site), "linkstatus": links}
    if search and site.config.web.search and (archive.issues or pages):  # nothing to index: no search page
        data["search_path"] = SEARCH_PATH
    extra = RecordingDict(data, recorder)
    env = _environment(site, assets, recorder, extra)
    return RenderContext(site=site, archive=archive, pages=pages, env=env, assets=assets, extra=extra)


def _environment(site: Site, assets: Assets, recorder: Recorder, extra: RecordingDict) -> TrackingEnvironment:
    """The site's templates with the build's own filters, which read the link files through ``extra``."""
    env = make_environment(site, assets, on_use=recorder.template, bytecode_dir=site.root / ".tidings" / f"templates-{__version__}")
    # Read through extra, so each output records that it depends on the link files.
    env.filters["gone"] = lambda link: extra["linkstatus"].gone(link)
    env.filters["gone_inline"] = lambda links: extra["linkstatus"].gone_inline(links)
    # Filters, not method calls: the link index asks for every link's title and description.
    env.filters["link_title"] = lambda key: extra["linkstatus"].title(key)
    env.filters["link_description"] = lambda key: extra["linkstatus"].description(key)
    return env


def _compile_templates(site: Site) -> None:
    """Compile every template into the bytecode cache, in the read worker once its files are parsed.

    A cold build compiled them in this process before forking the render workers
    (0.3 s with the other core idle); the read worker is idle by then. The render
    workers' parent then loads them from the cache. Problems are left for the
    render, which reports them with their line.
    """
    dirs = theme_dirs(site)
    if dirs:
        recorder = Recorder()
        _warm_templates(_environment(site, collect_assets(dirs), recorder, RecordingDict({}, recorder)))


def _link_positions(archive: Archive) -> dict[str, SourcePos]:
    """Where each site-relative link was written, so a broken one is reported at its line."""
    found: dict[str, SourcePos] = {}
    for issue in archive.issues:
        for link in issue.iter_links():
            if link.url.startswith("/") and not link.url.startswith("//"):
                found.setdefault(unquote(link.url.split("#", 1)[0].split("?", 1)[0]), link.pos)
    return found


def _check_results(
    problems: list[Problem], links: list[tuple[str, tuple[str, ...]]], outputs: list[Output], positions: Callable[[], dict[str, SourcePos]]
) -> None:
    """Render errors first; then every internal link must name an output of this build."""
    if problems:
        raise BuildError(_dedupe(problems))
    known = {o.path for o in outputs}
    # Most pages link the same few hundred targets: each distinct one is looked up once.
    targets_seen = {target for _, targets in links for target in targets}
    missing = {t for t in targets_seen if not _produced(t, known)}
    if not missing:
        return
    written_at = positions()
    sources = {o.path: o.source for o in outputs}
    broken: list[Problem] = []
    for path, targets in sorted(links):
        for target in sorted(targets):
            if target not in missing:
                continue
            if target in written_at:
                broken.append(Problem(written_at[target], f"links to {target}, which this build does not produce"))
            else:
                where = SourcePos(sources.get(path) or f"{path}")
                broken.append(Problem(where, f"links to {target}, which this build does not produce (in {path})"))
    if broken:
        raise BuildError(_dedupe(broken))


def _produced(target: str, known: set[str]) -> bool:
    file = paths.output_file(target)
    return file in known or f"{file}/index.html" in known


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

