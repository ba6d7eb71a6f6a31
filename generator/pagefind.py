"""Full-text search index: Pagefind run over the staged site, offline.

Why Pagefind: it indexes the finished HTML (so search sees exactly what
readers see), and its index is split into small chunks the browser fetches
only for the words typed, so a phone downloads a few kilobytes rather than
the whole archive. The binary ships in the ``pagefind-bin`` wheel; this
module finds it where the ``pagefind`` package would and runs it as a plain
subprocess, with no network and no configuration file other than ours.

The index is built from the *staged* pages, before the swap, and returned as
bytes so the writer stages it like any other output (unchanged chunks keep
their inode). The build starts it once the pages it reads are staged and
renders its other outputs meanwhile (:class:`SearchJob`). A missing binary or
a failed run is a BuildError: a site whose search page cannot work is not
published.

Pagefind cannot update an index, so the site's is made of shards (see
:func:`generator.render.search.search_shards`), each a bundle of its own that
the search page merges in the browser; an edit re-indexes one shard.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from .buildstate import digest
from .errors import BuildError, Problem, SourcePos
from .render.paths import BUNDLE_DIR

if TYPE_CHECKING:
    from .render.search import Shard
    from .write import Staging

__all__ = ["SearchIndex", "SearchJob", "find_binary", "index_site", "recorded_shards"]

TIMEOUT = 600  # seconds; the whole TWiR archive indexes in a few seconds
# Files of Pagefind's own ready-made interfaces; the theme has its own small script.
_UNUSED = ("pagefind-ui.", "pagefind-modular-ui.", "pagefind-component-ui.", "pagefind-highlight.")


class SearchIndex(dict[str, bytes]):
    """Bundle files: output path (``pagefind/...``) → bytes."""


def find_binary() -> Path:
    """The Pagefind executable, looked for where the ``pagefind`` package looks, in its order.

    That order is: ``PAGEFIND_BINARY_PATH``, the ``pagefind_bin_extended`` and ``pagefind_bin``
    wheels, then ``PATH``. The package's own lookup is not imported: it brings asyncio
    and its service client with it, 0.12 s of an edit build that only needs a path.
    """
    given = os.environ.get("PAGEFIND_BINARY_PATH")
    found: Path | None = Path(given) if given else _wheel_binary() or _path_binary()
    if found is None or not found.exists():
        raise BuildError(
            [Problem(SourcePos("tidings.yaml"), "search is on but the Pagefind binary is missing; install 'pagefind[bin]' or set web.search: false")]
        )
    return found


def _wheel_binary() -> Path | None:
    for module in ("pagefind_bin_extended", "pagefind_bin"):
        spec = importlib.util.find_spec(module)  # the wheel's folder, without running its __init__
        if spec is None or not spec.submodule_search_locations:
            continue
        for folder in spec.submodule_search_locations:
            for name in ("pagefind_extended", "pagefind", "pagefind_extended.exe", "pagefind.exe"):
                if (Path(folder) / name).is_file():
                    return Path(folder) / name
    return None


def _path_binary() -> Path | None:
    found = shutil.which("pagefind_extended") or shutil.which("pagefind")
    return Path(found) if found else None


class _Run:
    """One Pagefind process indexing one bundle, into a temporary folder of its own."""

    def __init__(self, site_dir: Path, files: Sequence[str], bundle: str, language: str):
        self.bundle = bundle
        self.tmp = Path(tempfile.mkdtemp(prefix="tidings-pagefind-"))
        try:
            source = _gather(site_dir, files, self.tmp / "site") if files else site_dir
            self.out = self.tmp / "bundle"
            command = [
                str(find_binary()),
                "--site",
                str(source),
                "--output-path",
                str(self.out),
                "--force-language",
                language.split("-")[0].lower() or "en",
                "--silent",
            ]
            env = {k: v for k, v in os.environ.items() if not k.startswith("PAGEFIND_")}
            # cwd is an empty folder so that no stray pagefind.yml changes the result
            self.proc = subprocess.Popen(command, cwd=self.tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as exc:
            shutil.rmtree(self.tmp, ignore_errors=True)
            where = exc.filename or str(site_dir)
            raise BuildError([Problem(SourcePos("search"), f"cannot start Pagefind on {where}: {exc.strerror or exc}")]) from None
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        self.deadline = time.monotonic() + TIMEOUT

    def done(self) -> bool:
        return self.proc.poll() is not None

    def result(self) -> SearchIndex:
        """Wait for the process; the bundle's files (under ``bundle``/). The temporary folder goes either way."""
        try:
            try:
                out, err = self.proc.communicate(timeout=max(0.0, self.deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise BuildError([Problem(SourcePos("search"), f"Pagefind did not finish within {TIMEOUT} s")]) from None
            if self.proc.returncode != 0 or not (self.out / "pagefind.js").is_file():
                message = (err or out).decode("utf-8", "replace").strip().splitlines()
                detail = message[-1] if message else f"exit status {self.proc.returncode}"
                raise BuildError([Problem(SourcePos("search"), f"Pagefind failed: {detail}")])
            files = sorted(
                (f"{self.bundle}/{os.path.relpath(os.path.join(where, name), self.out).replace(os.sep, '/')}", os.path.join(where, name))
                for where, _, names in os.walk(self.out) for name in names if not name.startswith(_UNUSED)
            )
            return SearchIndex((path, _read(file)) for path, file in files)
        finally:
            self.stop()

    def stop(self) -> None:
        """End the process if it still runs, and remove the temporary folder."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        shutil.rmtree(self.tmp, ignore_errors=True)


def _gather(site_dir: Path, files: Sequence[str], into: Path) -> Path:
    """A folder holding only ``files`` (hard links, or copies across file systems), for Pagefind to walk.

    Given the whole staged site and a glob instead, Pagefind walked all 5,600 files of a
    1,000-issue site to find the 50 of one shard, a fifth of its time on an edit. The
    folder also keeps files the build writes meanwhile out of its sight.
    """
    made: set[str] = set()
    for relative in files:
        target = os.path.join(into, relative)
        parent = os.path.dirname(target)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        source = os.path.join(site_dir, relative)
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
    return into


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def index_site(site_dir: Path, *, language: str = "en", files: Sequence[str] = (), bundle: str = BUNDLE_DIR) -> SearchIndex:
    """Index the HTML under ``site_dir`` (only ``files``, relative paths, when given); the bundle's files, not written."""
    return _Run(site_dir, files, bundle, language).result()


class SearchJob:
    """The search index of one build, made by Pagefind processes while the build goes on.

    The build starts it as soon as the pages the index reads are staged, and goes on with
    its other outputs (feeds, email editions, listings) while Pagefind runs: on an edit,
    the one shard indexed again (0.2 s) took about a third of the build when it waited.
    At most two processes run at once, since Pagefind uses about one and a half cores on
    one bundle; :meth:`poll` starts the next shards as earlier ones finish.
    """

    def __init__(self, staging: Staging, shards: Sequence[Shard], changed: set[str], known: dict[str, str], *, language: str = "en"):
        """Start indexing the stale shards, then take the others over unread.

        A shard is taken over from the previous site when it covers the same pages as then
        (``known``: its key as recorded) and none of them is in ``changed`` (new bytes).
        """
        self.started = time.perf_counter()
        self.seconds = 0.0  # from the start to the end of :meth:`finish`
        self.staging = staging
        self.language = language
        self.keys = {shard.folder: digest(*shard.files) for shard in shards}
        self.staged: list[tuple[str, bool]] = []
        self.waiting: list[Shard] = []
        self.running: list[_Run] = []
        self.reindexed = 0
        self.slots = max(1, min(2, os.cpu_count() or 1))
        fresh: list[Shard] = []
        for shard in shards:
            same = known.get(shard.folder) == self.keys[shard.folder] and changed.isdisjoint(shard.files)
            (fresh if same else self.waiting).append(shard)
        try:
            self.poll()
            for shard in fresh:  # while the stale ones are indexed
                carried = _carry_bundle(staging, shard.folder)
                if carried:
                    self.staged += carried
                else:
                    self.waiting.append(shard)
            self.poll()
        except BaseException:
            self.stop()
            raise

    def poll(self) -> None:
        """Start waiting shards in the place of processes that finished, then take in what those made."""
        finished = [run for run in self.running if run.done()]
        self.running = [run for run in self.running if run not in finished]
        try:
            while self.waiting and len(self.running) < self.slots:
                shard = self.waiting.pop(0)
                self.running.append(_Run(self.staging.dir, shard.files, shard.folder, self.language))
                self.reindexed += 1
            while finished:
                self._collect(finished.pop(0))  # its folder goes even if this fails
        except BaseException:
            for run in finished:  # no longer in self.running, so stop() would miss them
                run.stop()
            raise

    def finish(self) -> tuple[list[tuple[str, bool]], str, int]:
        """Wait for every shard: (path, changed) pairs staged, the shards' keys to record, how many were indexed again."""
        try:
            while self.running or self.waiting:
                self.poll()
                if len(self.running) == 1 and not self.waiting:
                    self._collect(self.running.pop())  # the last one: nothing to start when it ends
                elif self.running:
                    time.sleep(0.002)  # two at work: whichever ends first frees a slot
        except BaseException:
            self.stop()
            raise
        self.seconds = time.perf_counter() - self.started
        return self.staged, json.dumps(self.keys, sort_keys=True), self.reindexed

    def stop(self) -> None:
        """End every process still running (the build failed or was interrupted)."""
        self.waiting.clear()
        for run in self.running:
            run.stop()
        self.running.clear()

    def _collect(self, run: _Run) -> None:
        self.staged += [(path, self.staging.write(path, data)) for path, data in run.result().items()]


def recorded_shards(recorded: str | None) -> dict[str, str]:
    """The shards' keys as :meth:`SearchJob.finish` returned them for the build state ({} if unreadable)."""
    try:
        found = json.loads(recorded or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _carry_bundle(staging: Staging, folder: str) -> list[tuple[str, bool]]:
    """A bundle of the previous site, taken over unread; [] when it is not there whole.

    Walked with os.walk: an edit carries every bundle but one, some 1,200 files, and
    pathlib's rglob and relative_to took 0.1 s of it.
    """
    top = os.path.join(staging.final, folder)
    if not os.path.isfile(os.path.join(top, "pagefind.js")):
        return []
    names = [
        f"{folder}{where[len(top):].replace(os.sep, '/')}/{name}" for where, _, files in os.walk(top) for name in files
    ]
    if not all(staging.carry(name) for name in names):
        return []
    return [(name, False) for name in names]
