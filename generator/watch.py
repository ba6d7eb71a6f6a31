"""Knowing when a build's inputs changed, for the preview server.

The kernel says so (inotify and its kin, through watchfiles) within milliseconds
of an editor saving a file, where polling had to choose between latency and
CPU: a scan of a thousand-issue archive every tenth of a second cost a fifth
of a core while nothing happened, and still left half a poll, a settling pause
and a second scan between the save and the build.

Two kernel watches run side by side: one over the input folders (content,
themes, feeds), recursively, and one over the repository root alone, for the
config file and for input folders that appear or vanish; a recursive watch of
the root would also walk ``.git``, virtual environments and the output folders.
Where the kernel cannot watch (no inotify, its watch limit reached), the inputs
are polled as before: a fingerprint of paths, sizes and mtimes, compared every
``poll_interval`` seconds.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable, Iterable

from .buildstate import scan_tree
from .config import CONFIG_FILE

__all__ = ["InputWatcher"]

QUIET_MS = 15  # a save is a truncate and a write, microseconds apart: this much quiet means it is done
SETTLE_S = 0.05  # polling sees a change between two scans: wait this long for the writer to finish


class InputWatcher:
    """Sets a flag when any input may have changed; :meth:`wait` takes it.

    ``places`` are the folders and files a build reads (``uptodate.input_places``).
    """

    def __init__(self, root: Path, places: Iterable[Path], *, poll_interval: float = 0.1, force_polling: bool = False,
                 log: Callable[[str], None] | None = None):
        self.root = root
        self.places: list[Path] = list(places)
        self.poll_interval = poll_interval
        self.log = log or (lambda message: None)
        self.polling = force_polling
        self._flag = threading.Event()
        self._closed = threading.Event()
        self._folders_stop: threading.Event | None = None
        self._folders: tuple[Path, ...] = ()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._spawn(self._poll if self.polling else self._watch_root)
        self.follow(self.places)

    # -- what callers use

    def wait(self, timeout: float | None = None) -> bool:
        """True (and the flag taken) when something changed within ``timeout`` seconds."""
        if not self._flag.wait(timeout):
            return False
        self._flag.clear()
        return True

    def follow(self, places: Iterable[Path]) -> None:
        """Watch these places from now on (a changed config may name another theme folder)."""
        self.places = list(places)
        folders = tuple(sorted(p for p in self.places if p.is_dir()))
        if self.polling or folders == self._folders:
            return  # polling reads self.places at each scan
        if self._folders_stop is not None:
            self._folders_stop.set()
            self._flag.set()  # a change between the old watch's end and the new one's start is caught up by a build
        self._folders = folders
        self._folders_stop = threading.Event()
        if folders:
            self._spawn(self._watch_folders, folders, self._folders_stop)

    def close(self) -> None:
        self._closed.set()
        if self._folders_stop is not None:
            self._folders_stop.set()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> "InputWatcher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the watches

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="tidings-watch")
        thread.start()
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]

    def _watch_root(self) -> None:
        def wanted(_change: object, path: str) -> bool:
            named = Path(path)
            return named.name == CONFIG_FILE or any(named == place for place in self.places)

        self._kernel_watch([self.root], False, self._closed, wanted)

    def _watch_folders(self, folders: tuple[Path, ...], stop: threading.Event) -> None:
        from watchfiles import DefaultFilter

        self._kernel_watch(list(folders), True, stop, DefaultFilter())

    def _kernel_watch(self, paths: list[Path], recursive: bool, stop: threading.Event, wanted: Callable[..., bool]) -> None:
        try:
            from watchfiles import watch

            for _ in watch(*paths, watch_filter=wanted, step=QUIET_MS, debounce=1000, stop_event=_Either(stop, self._closed),
                           rust_timeout=0, recursive=recursive, raise_interrupt=False, force_polling=False):
                self._flag.set()
        except Exception as exc:  # no kernel watch here (a limit, an odd file system): poll instead
            with self._lock:
                if self._closed.is_set() or stop.is_set() or self.polling:
                    return
                self.polling = True
            self.log(f"watching for changes by polling ({type(exc).__name__}: {exc})")
            self._flag.set()
            self._poll()

    def _poll(self) -> None:
        before = self._snapshot()
        while not self._closed.wait(self.poll_interval):
            now = self._snapshot()
            if now != before:
                self._closed.wait(SETTLE_S)  # let the editor finish writing
                before = self._snapshot()
                self._flag.set()

    def _snapshot(self) -> str:
        """A fingerprint (paths, sizes, mtimes) of the config and every input place."""
        return scan_tree(p for p in [self.root / CONFIG_FILE, *self.places] if p.exists())[0]


class _Either:
    """Set when either event is: watchfiles takes one stop event per watch."""

    def __init__(self, first: threading.Event, second: threading.Event):
        self.first, self.second = first, second

    def is_set(self) -> bool:
        return self.first.is_set() or self.second.is_set()
