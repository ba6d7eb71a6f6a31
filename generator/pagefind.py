"""Full-text search index: Pagefind run over the staged site, offline.

Why Pagefind: it indexes the finished HTML (so search sees exactly what
readers see), and its index is split into small chunks the browser fetches
only for the words typed, so a phone downloads a few kilobytes rather than
the whole archive. The binary ships in the ``pagefind-bin`` wheel; this
module finds it where the ``pagefind`` package would and runs it as a plain
subprocess, with no network and no configuration file other than ours.

The index is built from the *staged* tree, after rendering and before the
swap, and returned as bytes so the writer stages it like any other output
(unchanged chunks keep their inode). A missing binary or a failed run is a
BuildError: a site whose search page cannot work is not published.

Pagefind cannot update an index, so the site's is made of shards (see
:func:`generator.render.search.search_shards`), each a bundle of its own that
the search page merges in the browser; an edit re-indexes one shard.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import tempfile
import json
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from .buildstate import digest
from .errors import BuildError, Problem, SourcePos

if TYPE_CHECKING:
    from .render.search import Shard
    from .write import Staging

__all__ = ["BUNDLE_DIR", "SearchIndex", "find_binary", "index_shards", "index_site", "recorded_shards", "stage_index"]

BUNDLE_DIR = "pagefind"  # the bundles' folder in the output, and its URL path
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


_PLAIN_PATH = re.compile(r"^[\w./-]+$")


def file_glob(files: Sequence[str]) -> str | None:
    """A Pagefind glob naming exactly ``files``; None (every HTML file) if a name needs escaping.

    A shard names at most a few hundred pages, so the glob stays far below the
    system's limit on a command's arguments.
    """
    if not files or not all(_PLAIN_PATH.match(f) for f in files):
        return None
    return "{" + ",".join(sorted(files)) + "}"


def index_shards(site_dir: Path, shards: Sequence[tuple[str, Sequence[str]]], *, language: str = "en") -> SearchIndex:
    """Index each (bundle folder, pages) shard on its own; their files together.

    Pagefind uses about one and a half cores on one bundle, so two run at once.
    """
    found = SearchIndex()
    if len(shards) == 1:  # an edit's one shard: no pool (nor its import)
        folder, files = shards[0]
        found.update(index_site(site_dir, language=language, files=files, bundle=folder))
        return found
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1))) as pool:
        for part in pool.map(lambda shard: index_site(site_dir, language=language, files=shard[1], bundle=shard[0]), shards):
            found.update(part)
    return found


def index_site(site_dir: Path, *, language: str = "en", files: Sequence[str] = (), bundle: str = BUNDLE_DIR) -> SearchIndex:
    """Index the HTML under ``site_dir``; return the bundle's files (under ``bundle``/) without writing them there.

    ``files`` (relative paths) limits the pages Pagefind reads: listings and
    the link index repeat the issues and are not indexed, and skipping them
    saves most of the indexing time on a large archive.
    """
    binary = find_binary()
    with tempfile.TemporaryDirectory(prefix="tidings-pagefind-") as tmp:
        out = Path(tmp) / "bundle"
        command = [
            str(binary),
            "--site",
            str(site_dir),
            "--output-path",
            str(out),
            "--force-language",
            language.split("-")[0].lower() or "en",
            "--silent",
        ]
        glob = file_glob(files)
        if glob:
            command += ["--glob", glob]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PAGEFIND_")}
        try:
            # cwd is an empty folder so that no stray pagefind.yml changes the result
            proc = subprocess.run(command, cwd=tmp, env=env, capture_output=True, timeout=TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise BuildError([Problem(SourcePos("search"), f"Pagefind did not finish within {TIMEOUT} s")]) from None
        if proc.returncode != 0 or not (out / "pagefind.js").is_file():
            message = (proc.stderr or proc.stdout).decode("utf-8", "replace").strip().splitlines()
            detail = message[-1] if message else f"exit status {proc.returncode}"
            raise BuildError([Problem(SourcePos("search"), f"Pagefind failed: {detail}")])
        found = SearchIndex()
        for path in sorted(out.rglob("*")):
            if path.is_file() and not path.name.startswith(_UNUSED):
                found[f"{bundle}/{path.relative_to(out).as_posix()}"] = path.read_bytes()
        shutil.rmtree(out, ignore_errors=True)
    return found


def stage_index(
    staging: Staging, shards: Sequence[Shard], changed: set[str], known: dict[str, str], *, language: str = "en"
) -> tuple[list[tuple[str, bool]], str, int]:
    """Stage the search index: (path, changed) pairs, the shards' keys to record, how many were indexed again.

    A shard is taken over unread from the previous site when it covers the same pages as
    then (``known``: its key as recorded) and none of them is in ``changed`` (new bytes);
    the others are indexed from the staged folder, where carried pages are hard-linked too.
    """
    keys = {shard.folder: digest(*shard.files) for shard in shards}
    staged: list[tuple[str, bool]] = []
    stale: list[Shard] = []
    for shard in shards:
        carried = _carry_bundle(staging, shard.folder) if known.get(shard.folder) == keys[shard.folder] and changed.isdisjoint(shard.files) else []
        if carried:
            staged += carried
        else:
            stale.append(shard)
    if stale:
        fresh = index_shards(staging.dir, [(s.folder, s.files) for s in stale], language=language)
        staged += [(path, staging.write(path, data)) for path, data in fresh.items()]
    return staged, json.dumps(keys, sort_keys=True), len(stale)


def recorded_shards(recorded: str | None) -> dict[str, str]:
    """The shards' keys as :func:`stage_index` returned them for the build state ({} if unreadable)."""
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
