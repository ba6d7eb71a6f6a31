"""Writing the built site: all or nothing.

Outputs go into a private staging folder beside the output folder. When
every output has rendered and passed its checks, the staging folder and the
output folder are exchanged in one step (``renameat2(RENAME_EXCHANGE)`` on
Linux; two renames elsewhere), and the old tree is removed. A failed or
interrupted build leaves the previous site exactly as it was.

Unchanged files are hard-linked from the previous site instead of rewritten,
so their modification time and inode stay the same: rsync, CDN uploads and
live reload see only what really changed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import subprocess
import threading
import uuid
from pathlib import Path
from typing import Literal

__all__ = ["Staging", "write_atomic", "read_if_same"]

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


def write_atomic(path: Path, data: bytes) -> None:
    """Write one file via a temporary sibling and ``os.replace``: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
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

    def __init__(self, final: Path, *, durable: bool = True, cleanup: Cleanup = "now", in_place: bool = False):
        self.final = final
        self.durable = durable  # flush to disk before the swap (off for the preview server)
        self.cleanup = cleanup  # how the old tree goes: "now", "thread" or "process" (see BuildOptions)
        # In place (the preview server): only new bytes are staged, and commit moves each one into
        # the output folder (each file atomically) instead of swapping whole trees; unchanged
        # files are left where they are. Nothing reaches the output folder before commit.
        self.in_place = in_place and final.is_dir()
        self._final_prefix = f"{final}{os.sep}"  # string joins: a Path per carried output costs more than its stat
        self.dir = final.parent / f".{final.name}.staging-{os.getpid()}"
        self._remove_leftovers()
        self.dir.mkdir(parents=True)
        self._made: set[Path] = {self.dir}

    def _remove_leftovers(self) -> None:
        """Staging folders of builds that crashed are removed; live ones are left alone."""
        for old in self.final.parent.glob(f".{self.final.name}.staging-*"):
            pid, _, trash = old.name.rsplit("-", 1)[-1].partition(".old")
            if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
                continue
            if trash and pid == str(os.getpid()):
                continue  # an old site this process is deleting in the background
            shutil.rmtree(old, ignore_errors=True)

    def _parent(self, target: Path) -> None:
        parent = target.parent
        if parent not in self._made:
            parent.mkdir(parents=True, exist_ok=True)
            self._made.add(parent)

    def write(self, relative: str, data: bytes, *, same: bool | None = None) -> bool:
        """Stage one output; returns False when the previous site had identical bytes.

        ``same`` is the caller's knowledge (from the build state's byte hashes)
        that the previous file holds these bytes; None means compare them here.
        """
        previous = self.final / relative
        unchanged = same if same is not None else read_if_same(previous, data)
        if unchanged and self.in_place:
            return False  # already in the output folder
        target = self.dir / relative
        self._parent(target)
        if unchanged:
            try:
                os.link(previous, target)
                return False
            except OSError:
                pass  # another file system or no hard links: fall through and write
        with open(target, "wb") as fh:
            fh.write(data)
        return True

    def carry(self, relative: str) -> bool:
        """Take an output over from the previous site unread (a hard link); False when it is missing."""
        if self.in_place:
            return os.path.isfile(self._final_prefix + relative)
        target = self.dir / relative
        self._parent(target)
        try:
            os.link(self.final / relative, target)
            return True
        except OSError:
            return False

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
        removed = 0
        for relative in stale:
            try:
                os.unlink(self.final / relative)
                removed += 1
            except FileNotFoundError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)
        return removed

    def commit(self, *, removed: int | None = None, written: list[str] | None = None) -> int:
        """Make the staged tree the site. Returns how many old files are gone.

        ``removed`` (when the caller knows it) spares a scan of both trees.
        ``written`` lists the files staged with new bytes: when there are few,
        only they are flushed (hard links and folders are metadata, which the
        file system's journal commits in order before the swap), instead of
        flushing every file system with ``sync``.
        """
        if removed is None:
            old_files = {p.relative_to(self.final).as_posix() for p in self.final.rglob("*") if p.is_file()} if self.final.is_dir() else set()
            removed = len(old_files - self.staged_files()) if old_files else 0
        if self.durable:
            self._flush(written)  # the staged files reach the disk before they become the site
        if self.final.exists():
            if _exchange(self.dir, self.final):
                self._remove_old(self.dir)
            else:
                aside = self.final.parent / f".{self.final.name}.old-{os.getpid()}"
                os.rename(self.final, aside)
                os.rename(self.dir, self.final)
                shutil.rmtree(aside, ignore_errors=True)
        else:
            self.final.parent.mkdir(parents=True, exist_ok=True)
            os.rename(self.dir, self.final)
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

    def _remove_old(self, tree: Path) -> None:
        """Delete the previous site, now in the staging folder's place (off the critical path if asked).

        Deleting thousands of hard links and folders takes a third of a second or more; a
        command that exits right after leaves it to a process of its own. Trees left by a
        process that died are removed by the next build (``_remove_leftovers``).
        """
        if self.cleanup == "now":
            shutil.rmtree(tree, ignore_errors=True)
            return
        trash = tree.with_name(f"{tree.name}.old{uuid.uuid4().hex[:8]}")  # frees the staging name at once
        try:
            os.rename(tree, trash)
        except OSError:
            shutil.rmtree(tree, ignore_errors=True)
            return
        if self.cleanup == "process" and _delete_elsewhere(trash):
            return
        threading.Thread(target=shutil.rmtree, args=(trash, True), daemon=True).start()

    def abort(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


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
