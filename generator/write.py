"""Writing the built site: all or nothing.

Outputs go into a private staging folder beside the output folder. When
every output has rendered and passed its checks, the staging folder and the
output folder are exchanged in one step (``renameat2(RENAME_EXCHANGE)`` on
Linux; two renames elsewhere). A failed or interrupted build leaves the
previous site exactly as it was.

Unchanged files are hard-linked from the previous site instead of rewritten,
so their modification time and inode stay the same: rsync, CDN uploads and
live reload see only what really changed.

Linking every file of a large site still costs a system call per file and
per folder, and deleting the replaced tree as many again. So the replaced
tree is kept beside the site as a *spare*, with the list of files where the
two differ; the next build claims the spare as its staging folder and
touches only those files and its own changes. Files in the spare may share
their inode with the site, so they are only ever replaced (a new file
renamed over), never written into.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import subprocess
import threading
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .buildstate import folder_id

__all__ = ["Spare", "Staging", "write_atomic", "read_if_same"]

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100

Cleanup = Literal["now", "thread", "process"]  # how a replaced site is deleted (see BuildOptions.cleanup)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two directories atomically where the OS allows; False when it cannot."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(result == 0)


@dataclass(frozen=True)
class Spare:
    """The site before last, kept beside the site: its folder's identity and where the two differ.

    ``differs`` holds every file whose bytes differ between the two trees or
    that only one of them has; every other file of the site is the same
    inode in both.
    """

    folder: str  # "device:inode" of the spare folder, to know it is the one described
    differs: frozenset[str]


def spare_dir(final: Path) -> Path:
    """Where the spare of the site at ``final`` is kept (a sibling, so it can be swapped in)."""
    return final.parent / f".{final.name}.spare"


def _temporary(path: Path) -> Path:
    """A sibling of ``path`` to write first and rename over it."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def write_atomic(path: Path, data: bytes) -> None:
    """Write one file via a temporary sibling and ``os.replace``: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path)
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_if_same(path: Path, data: bytes) -> bool:
    """True when ``path`` exists and holds exactly ``data``."""
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


class Staging:
    """A folder the build writes into, swapped with the output folder on commit."""

    def __init__(
        self, final: Path, *, durable: bool = True, cleanup: Cleanup = "now", in_place: bool = False,
        known: Collection[str] | None = None, spare: Spare | None = None,
    ):
        """``known``: the files of the site at ``final`` as the build state recorded them
        (None when unknown: then no spare is kept); ``spare``: the recorded spare, if any.
        """
        self.final = final
        self.durable = durable  # flush to disk before the swap (off for the preview server)
        self.cleanup = cleanup  # how the old tree goes: "now", "thread" or "process" (see BuildOptions)
        # In place (the preview server): only new bytes are staged, and commit moves each one into
        # the output folder (each file atomically) instead of swapping whole trees; unchanged
        # files are left where they are. Nothing reaches the output folder before commit.
        self.in_place = in_place and final.is_dir()
        self._final_prefix = f"{final}{os.sep}"  # string joins: a Path per carried output costs more than its stat
        self.dir = final.parent / f".{final.name}.staging-{os.getpid()}"
        self._dir_prefix = f"{self.dir}{os.sep}"
        self._remove_leftovers()
        self.known = None if self.in_place or known is None else frozenset(known)
        # Reusing the spare: the files where it differs from the site (None: a fresh, empty folder).
        self.differs: frozenset[str] | None = None
        if spare is not None and self.known is not None and self._claim(spare):
            self.differs = spare.differs
            remove_files(self.dir, self.differs - self.known)  # the spare's files the site no longer has
        else:
            self.dir.mkdir(parents=True)
        self._made: set[str] = {str(self.dir)}  # folders made or known to exist, as strings (see carry)
        self.kept: Spare | None = None  # the replaced site, kept beside the new one by commit

    @property
    def reusing(self) -> bool:
        """True when the staging folder is the claimed spare, not a fresh one."""
        return self.differs is not None

    def _claim(self, spare: Spare) -> bool:
        """Take the spare as the staging folder; False when it is gone or not the one recorded.

        The rename is atomic: of two builds racing for the spare, one gets it.
        """
        try:
            os.rename(spare_dir(self.final), self.dir)
        except OSError:
            return False
        if folder_id(self.dir) != spare.folder:
            self._discard(self.dir)  # some other tree under the spare's name
            return False
        return True

    def _remove_leftovers(self) -> None:
        """Staging folders of builds that crashed are removed; live ones are left alone."""
        for old in self.final.parent.glob(f".{self.final.name}.staging-*"):
            pid, _, trash = old.name.rsplit("-", 1)[-1].partition(".old")
            if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
                continue
            if trash and pid == str(os.getpid()):
                continue  # an old site this process is deleting in the background
            shutil.rmtree(old, ignore_errors=True)

    def _parent(self, target: str | Path) -> None:
        parent = os.path.dirname(target)
        if parent not in self._made:
            try:
                os.makedirs(parent, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                self._clear_way(Path(parent))  # the spare has a file where this build needs a folder
                os.makedirs(parent, exist_ok=True)
            self._made.add(parent)

    def _clear_way(self, folder: Path) -> None:
        """Delete the file of the reused spare that stands where ``folder`` (or a folder above it) must be."""
        for step in reversed([folder, *folder.parents]):
            if step.is_relative_to(self.dir) and step != self.dir and step.exists() and not step.is_dir():
                step.unlink()
                return

    def write(self, relative: str, data: bytes, *, same: bool | None = None) -> bool:
        """Stage one output; returns False when the previous site had identical bytes.

        ``same`` is the caller's knowledge (from the build state's byte hashes)
        that the previous file holds these bytes; None means compare them here.
        """
        previous = self.final / relative
        unchanged = same if same is not None else read_if_same(previous, data)
        if unchanged and (self.in_place or self._spare_has(relative)):
            return False  # already in the folder that becomes the site
        target = self.dir / relative
        self._parent(target)
        if unchanged and self._link(previous, target):
            return False
        if self.differs is None:
            with open(target, "wb") as fh:
                fh.write(data)
        else:
            # The spare's file may be the site's inode too: a new file replaces it.
            fresh = _temporary(target)
            with open(fresh, "wb") as fh:
                fh.write(data)
            self._replace(fresh, target)
        return True

    def carry(self, relative: str) -> bool:
        """Take an output over from the previous site unread (a hard link); False when it is missing."""
        if self.in_place:
            return os.path.isfile(self._final_prefix + relative)
        if self._spare_has(relative):
            return True
        # Strings, not Paths: without a spare an edit carries every output (4,400 on the synthetic
        # archive), and making and hashing two Paths each took longer than the links themselves.
        target = self._dir_prefix + relative
        self._parent(target)
        return self._link(self._final_prefix + relative, target)

    def _spare_has(self, relative: str) -> bool:
        """True when the reused spare holds the site's own file at ``relative`` (the same inode)."""
        return self.differs is not None and relative not in self.differs and os.path.isfile(self._dir_prefix + relative)

    def _link(self, source: str | Path, target: str | Path) -> bool:
        """Hard-link ``source`` as ``target`` (replacing a file the spare has there); False if impossible."""
        try:
            os.link(source, target)
            return True
        except FileExistsError:
            pass
        except OSError:
            return False  # missing, another file system, or no hard links
        target = Path(target)
        fresh = _temporary(target)
        try:
            os.link(source, fresh)
        except OSError:
            return False
        self._replace(fresh, target)
        return True

    def _replace(self, fresh: Path, target: Path) -> None:
        try:
            os.replace(fresh, target)
        except IsADirectoryError:
            shutil.rmtree(target)  # a folder of the spare where this build has a file
            os.replace(fresh, target)

    def staged_files(self) -> set[str]:
        return {p.relative_to(self.dir).as_posix() for p in self.dir.rglob("*") if p.is_file()}

    def commit_in_place(self, written: list[str], stale: list[str]) -> int:
        """Move the staged files into the output folder one by one and delete ``stale`` outputs."""
        made: set[Path] = set()
        for relative in written:
            target = self.final / relative
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            os.replace(self.dir / relative, target)
        removed = remove_files(self.final, stale)
        shutil.rmtree(self.dir, ignore_errors=True)
        return removed

    def commit(self, *, removed: int | None = None, written: list[str] | None = None, files: Collection[str] | None = None) -> int:
        """Make the staged tree the site; return how many old files are gone.

        ``written`` lists the files staged with new bytes: when there are few,
        only they are flushed (hard links and folders are metadata, which the
        file system's journal commits in order before the swap), instead of
        flushing every file system with ``sync``. ``files`` names every file of
        the new site; with ``written`` and the old site's files (``known``) it
        says where the replaced tree differs from the new one, which is what
        keeping it as the spare (:attr:`kept`) needs. ``removed`` (when the
        caller knows it) spares a scan of both trees.
        """
        if removed is None:
            old_files = {p.relative_to(self.final).as_posix() for p in self.final.rglob("*") if p.is_file()} if self.final.is_dir() else set()
            removed = len(old_files - self.staged_files()) if old_files else 0
        current = None if files is None else frozenset(files)
        if self.differs is not None:
            assert current is not None and self.known is not None, "a reused spare needs the new site's files"
            remove_files(self.dir, (self.known | self.differs) - current)  # what the spare still has of older sites
        if self.durable:
            self._flush(written)  # the staged files reach the disk before they become the site
        if not self.final.exists():
            self.final.parent.mkdir(parents=True, exist_ok=True)
            os.rename(self.dir, self.final)
            return removed
        if _exchange(self.dir, self.final):
            old = self.dir
        else:
            old = self.final.parent / f".{self.final.name}.old-{os.getpid()}"
            os.rename(self.final, old)
            os.rename(self.dir, self.final)
        if self.known is None or current is None or written is None:
            self._discard(old)
            return removed
        differs = frozenset(written) | (self.known - current)
        place = spare_dir(self.final)
        if place.exists():
            self._discard(place)  # a spare no record describes any more
        os.rename(old, place)
        self.kept = Spare(folder_id(place), differs)
        return removed

    def _flush(self, written: list[str] | None) -> None:
        if written is None or len(written) > 256:
            os.sync()
            return
        for relative in written:
            fd = os.open(self.dir / relative, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _discard(self, tree: Path) -> None:
        """Delete a tree the site no longer needs (off the critical path if asked).

        Deleting thousands of hard links and folders takes a third of a second or more; a
        command that exits right after leaves it to a process of its own. Trees left by a
        process that died are removed by the next build (``_remove_leftovers``).
        """
        if self.cleanup == "now":
            shutil.rmtree(tree, ignore_errors=True)
            return
        # A staging name of this process, so that a build after a crash finds it (_remove_leftovers).
        trash = self.final.parent / f".{self.final.name}.staging-{os.getpid()}.old{uuid.uuid4().hex[:8]}"
        try:
            os.rename(tree, trash)
        except OSError:
            shutil.rmtree(tree, ignore_errors=True)
            return
        if self.cleanup == "process" and _delete_elsewhere(trash):
            return
        threading.Thread(target=shutil.rmtree, args=(trash, True), daemon=True).start()

    def abort(self) -> None:
        if self.differs is None:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            self._discard(self.dir)  # a whole site: deleting it may take a while


def remove_files(root: Path, relatives: Iterable[str]) -> int:
    """Delete files under ``root`` and the folders they leave empty (a clean build has none); how many were there."""
    removed = 0
    emptied: set[Path] = set()
    for relative in relatives:
        target = root / relative
        try:
            target.unlink()
        except FileNotFoundError:
            continue
        except IsADirectoryError:
            shutil.rmtree(target)
        removed += 1
        emptied.add(target.parent)
    for folder in sorted(emptied, key=lambda p: len(p.parts), reverse=True):
        while folder != root and folder.is_relative_to(root):
            try:
                folder.rmdir()
            except OSError:
                break  # not empty (or already gone)
            folder = folder.parent
    return removed


def _delete_elsewhere(tree: Path) -> bool:
    """Start ``rm -rf tree`` in a session of its own (it outlives this process); False if it cannot run."""
    rm = shutil.which("rm") if os.name == "posix" else None
    if rm is None:
        return False
    try:
        subprocess.Popen([rm, "-rf", "--", str(tree)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError:
        return False
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
