"""Persistent build state: what each output read, so a rebuild renders only what changed.

Why: a newsletter archive grows by one issue a week while its site has
thousands of pages. Rendering all of them on every save makes the preview
slow; rendering only "the page of the file that changed" (mtime-based dirty
builds) leaves navigation and index pages stale. The build state sits between:
every output records the fingerprints of everything it read, and is rendered
again only when one of them changes.

An output's dependencies are ``key → fingerprint`` pairs:

- ``source:<path>``, ``card:<slug>``, ``view:<name>``… — what its producer
  says it shows (``Producer.fingerprint``; a producer without one depends on
  the whole content, so it is never stale by mistake);
- ``template:<name>`` — every template Jinja loaded while rendering it;
- ``extra:<key>`` — every ``ctx.extra`` entry it read.

Configuration, theme assets, options and the Tidings version form one global
fingerprint: when it changes every output is rendered again. Parsed issues are
kept as JSON keyed by the source bytes' hash (never pickles). Everything lives
in the ``buildstate`` tables of ``.tidings/build.sqlite``; a file that cannot
be trusted (newer schema, another Tidings version, corrupt) is discarded and
the build is a full one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, TypeVar, cast

from . import __version__
from .store import Store, StoreError

if TYPE_CHECKING:
    from .write import Spare

__all__ = [
    "STATE_FILE",
    "BuildState",
    "OutputRecord",
    "links_text",
    "SourceStat",
    "Recorder",
    "RecordingDict",
    "Dependencies",
    "digest",
    "value_digest",
    "scan_tree",
    "trusted_stat",
    "parsed_body",
]

STATE_FILE = ".tidings/build.sqlite"
COMPONENT = "buildstate"
RACY_NS = 2_000_000_000  # a file changed this close to a scan may change again unseen (same mtime tick)

_MIGRATIONS = [
    """
    CREATE TABLE buildstate_meta (target TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (target, key));
    CREATE TABLE buildstate_sources (path TEXT PRIMARY KEY, mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL, hash TEXT NOT NULL);
    CREATE TABLE buildstate_parsed (hash TEXT NOT NULL, settings TEXT NOT NULL, issue TEXT NOT NULL, PRIMARY KEY (hash, settings));
    CREATE TABLE buildstate_outputs (
        target TEXT NOT NULL, path TEXT NOT NULL, producer TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
        deps TEXT NOT NULL, digest TEXT NOT NULL, links TEXT NOT NULL, PRIMARY KEY (target, path)
    );
    """,
    # Each parsed issue's head (see generator.serialize): rows from before have none and are parsed again.
    "ALTER TABLE buildstate_parsed ADD COLUMN head TEXT NOT NULL DEFAULT '';",
]
_TABLES = ("buildstate_meta", "buildstate_sources", "buildstate_parsed", "buildstate_outputs")


# ---------------------------------------------------------------- fingerprints


def digest(*parts: str) -> str:
    """A short, stable fingerprint of some strings (order matters)."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()


def value_digest(value: Any) -> str:
    """Fingerprint of plain data: dataclasses, mappings, sequences, scalars, dates, paths."""
    h = hashlib.blake2b(digest_size=16)
    _feed(h, value)
    return h.hexdigest()


def _feed(h: Any, value: Any) -> None:
    if value is None or isinstance(value, (bool, int, float)):
        h.update(f"{type(value).__name__}:{value!r}\x1f".encode())
    elif isinstance(value, str):
        h.update(b"s:" + value.encode("utf-8", "surrogatepass") + b"\x1f")
    elif isinstance(value, (bytes, bytearray)):
        h.update(b"b:" + bytes(value) + b"\x1f")
    elif isinstance(value, (datetime, PurePath)):
        h.update(f"{type(value).__name__}:{value}\x1f".encode())
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        h.update(f"d:{type(value).__qualname__}(".encode())
        for f in dataclasses.fields(value):
            if not f.compare:
                continue  # caches kept on the value (e.g. Item's display title) are not part of it
            h.update(f.name.encode() + b"=")
            _feed(h, getattr(value, f.name))
        h.update(b")")
    elif isinstance(value, Mapping):
        h.update(b"m{")
        for k, v in value.items():
            _feed(h, k)
            _feed(h, v)
        h.update(b"}")
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        h.update(b"l[")
        for v in items:
            _feed(h, v)
        h.update(b"]")
    else:
        text = repr(value)
        # an object without a value repr can't be compared across builds: never equal
        h.update((text if " at 0x" not in text else os.urandom(8).hex()).encode("utf-8", "surrogatepass"))


def folder_id(path: Path) -> str:
    """A folder's identity ("device:inode"): the same name may hold another tree later."""
    st = path.stat()
    return f"{st.st_dev}:{st.st_ino}"


# ---------------------------------------------------------------- recording reads


_T = TypeVar("_T")


class Recorder:
    """Collects what one render read: template names and ``ctx.extra`` keys."""

    ALL = "*"

    def __init__(self) -> None:
        self.templates: set[str] = set()
        self.extra: set[str] = set()

    def reset(self) -> None:
        self.templates = set()
        self.extra = set()

    def template(self, name: str) -> None:
        self.templates.add(name)

    def shared(self, cache: dict[Any, tuple[Any, frozenset[str], frozenset[str]]], key: Any, make: Callable[[], _T]) -> _T:
        """``make()`` once per ``key`` for several outputs (an email edition, a feed's entries).

        What making it read is kept with it, and every output that takes it from ``cache``
        reads that too; otherwise only the first output would depend on those templates.
        """
        hit = cache.get(key)
        if hit is None:
            outer = self.templates, self.extra
            self.templates, self.extra = set(), set()
            try:
                value = make()
                hit = cache[key] = (value, frozenset(self.templates), frozenset(self.extra))
            finally:
                self.templates, self.extra = outer[0] | self.templates, outer[1] | self.extra
        else:
            self.templates.update(hit[1])
            self.extra.update(hit[2])
        return hit[0]


def recorder_of(extra: Mapping[str, Any]) -> Recorder:
    """The recorder a render's ``ctx.extra`` reports to (a detached one outside a build)."""
    return extra.recorder if isinstance(extra, RecordingDict) else Recorder()


class RecordingDict(dict):  # type: ignore[type-arg]
    """``ctx.extra`` that tells a Recorder which keys a render looked at."""

    def __init__(self, data: Mapping[str, Any], recorder: Recorder):
        super().__init__(data)
        self.recorder = recorder

    def __getitem__(self, key: str) -> Any:
        self.recorder.extra.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.recorder.extra.add(key)
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self.recorder.extra.add(str(key))
        return super().__contains__(key)

    def __iter__(self) -> Iterator[str]:
        self.recorder.extra.add(Recorder.ALL)
        return super().__iter__()

    def keys(self):  # type: ignore[no-untyped-def]
        self.recorder.extra.add(Recorder.ALL)
        return super().keys()

    def items(self):  # type: ignore[no-untyped-def]
        self.recorder.extra.add(Recorder.ALL)
        return super().items()

    def values(self):  # type: ignore[no-untyped-def]
        self.recorder.extra.add(Recorder.ALL)
        return super().values()


# ---------------------------------------------------------------- files


@dataclass(frozen=True, slots=True)
class SourceStat:
    """A content file as last seen: stat first, the hash only when the stat moved."""

    path: str
    mtime_ns: int
    size: int
    hash: str


def trusted_stat(previous: SourceStat | None, st: os.stat_result, scanned_ns: int) -> bool:
    """True when ``previous.hash`` still describes the file: same mtime and size, and
    the file had not changed just before the previous scan (where a second edit in the
    same clock tick would keep the mtime)."""
    return (
        previous is not None
        and previous.mtime_ns == st.st_mtime_ns
        and previous.size == st.st_size
        and previous.mtime_ns < scanned_ns - RACY_NS
    )


_NOT_INPUTS = (".sqlite", ".sqlite-wal", ".sqlite-shm", ".sqlite-journal")  # the network commands' store


def scan_tree(places: Iterable[Path]) -> tuple[str, int]:
    """(fingerprint of every file's path, mtime and size; newest mtime) under ``places``."""
    h = hashlib.blake2b(digest_size=16)
    newest = 0
    for place in places:
        if place.is_file():
            st = place.stat()
            h.update(f"{place}\x1f{st.st_mtime_ns}\x1f{st.st_size}\n".encode())
            newest = max(newest, st.st_mtime_ns)
            continue
        for dirpath, dirnames, filenames in os.walk(place):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
            for name in sorted(filenames):
                if name.startswith(".") or name.endswith(_NOT_INPUTS):
                    continue
                path = os.path.join(dirpath, name)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                h.update(f"{path}\x1f{st.st_mtime_ns}\x1f{st.st_size}\n".encode())
                newest = max(newest, st.st_mtime_ns)
    return h.hexdigest(), newest


# ---------------------------------------------------------------- the state file


@dataclass(slots=True)
class OutputRecord:
    """An output of the previous build: how it was made, what it read, what it held.

    Not frozen: an edit loads one per output (4,400 on the synthetic archive), and a frozen
    dataclass sets each field through ``object.__setattr__``, which took a third of the load.
    """

    path: str
    producer: str
    kind: str
    key: str
    deps: dict[str, str]
    digest: str  # of its bytes
    links_json: str  # its internal link targets as stored, a JSON list (see links)
    refreshed: bool = False  # carried over with new memo: keys, to be saved again (never stored)

    @property
    def links(self) -> tuple[str, ...]:
        """Internal link targets, decoded when asked: the link check needs a carried output's
        only when some output of the previous build is gone (see build._check_results)."""
        from orjson import loads

        return tuple(loads(self.links_json))


def links_text(targets: Iterable[str]) -> str:
    """Internal link targets as :class:`OutputRecord` keeps and stores them."""
    from orjson import dumps

    return dumps(list(targets)).decode()


_reader: tuple[tuple[int, str], sqlite3.Connection] | None = None  # (process id, state file), a read-only connection to it


def parsed_body(state_file: Path, source_hash: str, settings: str) -> str | None:
    """One parsed issue's whole JSON from the parse cache, or None if the row is gone.

    Asked for when a stored issue's body is first read, in whichever process reads it: each
    process opens its own read-only connection (one made before a fork must not be used
    after it), and keeps one, to the last state file asked about. The row may have been
    dropped by another build since this one read the heads.
    """
    global _reader
    key = (os.getpid(), str(state_file))
    try:
        if _reader is None or _reader[0] != key:
            if _reader is not None and _reader[0][0] == key[0]:  # this process's own: a forked child leaves its parent's alone
                _reader[1].close()
            _reader = (key, sqlite3.connect(f"{Path(state_file).resolve().as_uri()}?mode=ro", uri=True, timeout=30, check_same_thread=False))
        row = _reader[1].execute("SELECT issue FROM buildstate_parsed WHERE hash = ? AND settings = ?", (source_hash, settings)).fetchone()
    except sqlite3.DatabaseError:
        return None
    return str(row[0]) if row else None


class BuildState:
    """The ``buildstate`` tables for one output folder (``target``); fails soft to empty."""

    def __init__(self, store: Store | None, target: str):
        self.store = store
        self.target = target
        self.discarded = ""  # why a previous state was thrown away, if it was

    @classmethod
    def open(cls, root: Path, target: Path) -> "BuildState":
        path = root / STATE_FILE
        reason = ""
        for attempt in range(2):
            try:
                store = Store.open(path)
                store.migrate(COMPONENT, _MIGRATIONS)
                state = cls(store, str(target))
                version = state.meta("tidings", target="")
                if version != __version__:
                    if version is not None:
                        reason = f"written by Tidings {version}"
                    state._clear()
                state.discarded = reason
                return state
            except (StoreError, sqlite3.DatabaseError) as exc:
                reason = f"unreadable ({exc})"
                if attempt == 0:
                    for suffix in ("", "-wal", "-shm"):
                        Path(f"{path}{suffix}").unlink(missing_ok=True)
            except OSError as exc:
                reason = f"cannot be written ({exc.strerror})"
                break
        state = cls(None, str(target))
        state.discarded = reason
        return state

    def _clear(self) -> None:
        assert self.store is not None
        with self.store.transaction() as db:
            for table in _TABLES:
                db.execute(f"DELETE FROM {table}")
            db.execute(
                "INSERT INTO buildstate_meta (target, key, value) VALUES ('', 'tidings', ?)", (__version__,)
            )

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None

    # -- reading

    def meta(self, key: str, *, target: str | None = None) -> str | None:
        if self.store is None:
            return None
        row = self.store.db.execute(
            "SELECT value FROM buildstate_meta WHERE target = ? AND key = ?", (self.target if target is None else target, key)
        ).fetchone()
        return str(row[0]) if row else None

    def describes(self, output_dir: Path) -> bool:
        """True when the last recorded build made the folder now at ``output_dir``.

        A folder replaced or rebuilt by someone else since is another folder: nothing
        recorded about its files can be trusted.
        """
        try:
            return self.meta("site_dir") == folder_id(output_dir)
        except OSError:
            return False

    def site_files(self) -> tuple[frozenset[str] | None, Spare | None]:
        """The site's files as the last build recorded them, and the spare kept beside it (None: unknown, none)."""
        from orjson import JSONDecodeError, loads

        from .write import Spare

        try:
            files = loads(self.meta("files") or "null")
            spare = loads(self.meta("spare") or "null")
        except JSONDecodeError:
            return None, None
        known = frozenset(files) if isinstance(files, list) else None
        if known is None or not isinstance(spare, dict):
            return known, None
        return known, Spare(str(spare.get("folder")), frozenset(spare.get("differs") or ()))

    @staticmethod
    def site_meta(output_dir: Path, files: Iterable[str], spare: Spare | None) -> dict[str, str]:
        """The meta entries :meth:`describes` and :meth:`site_files` read back, for :meth:`record`."""
        from orjson import dumps

        return {
            "site_dir": folder_id(output_dir),
            "files": dumps(sorted(files)).decode(),
            "spare": "" if spare is None else dumps({"folder": spare.folder, "differs": sorted(spare.differs)}).decode(),
        }

    def drop_spare(self) -> None:
        """Forget the spare at once: the build is about to change it, and a crash must not leave it trusted."""
        if self.store is None:
            return
        try:
            with self.store.transaction() as db:
                db.execute("DELETE FROM buildstate_meta WHERE target = ? AND key = 'spare'", (self.target,))
        except sqlite3.DatabaseError:
            self._discard()

    def sources(self) -> dict[str, SourceStat]:
        if self.store is None:
            return {}
        rows = self.store.db.execute("SELECT path, mtime_ns, size, hash FROM buildstate_sources")
        return {r[0]: SourceStat(r[0], r[1], r[2], r[3]) for r in rows}

    def heads(self, hashes: Iterable[str], settings: str) -> dict[str, str]:
        """Parsed issues' heads for the given source hashes, where known, undecoded.

        The whole JSON stays in the file until an issue's body is read (:func:`parsed_body`):
        fetching every row's took 0.06 s of a one-issue edit that reads a tenth of them.
        """
        if self.store is None:
            return {}
        wanted = list(hashes)
        found: dict[str, str] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.store.db.execute(
                f"SELECT hash, head FROM buildstate_parsed WHERE settings = ? AND head != '' AND hash IN ({marks})", (settings, *chunk)
            )
            found.update(rows)
        return found

    def outputs(self) -> dict[str, OutputRecord]:
        if self.store is None:
            return {}
        from orjson import loads

        rows = self.store.db.execute(
            "SELECT path, producer, kind, key, deps, digest, links FROM buildstate_outputs WHERE target = ?", (self.target,)
        )
        found: dict[str, OutputRecord] = {}
        for path, producer, kind, key, deps, dig, links in rows:
            try:
                found[path] = OutputRecord(path, producer, kind, key, loads(deps), dig, links)
            except ValueError:
                continue  # unreadable: the output is simply rendered again
        return found

    # -- writing

    def record(
        self,
        *,
        meta: Mapping[str, str],
        sources: Iterable[SourceStat] | None,
        outputs: Iterable[OutputRecord],
        keep: set[str],
        sources_before: Mapping[str, SourceStat] | None = None,
    ) -> None:
        """Save one successful build: new meta, the source scan, rendered outputs (new parses: :meth:`record_parsed`).

        ``keep`` is every output path of this build; rows for other paths are dropped.
        ``sources`` None leaves the source scan as it was (content given by the caller);
        ``sources_before``, the scan as read from this state, lets only the changed rows be written.
        If saving fails the state is thrown away: a stale state must never outlive the site it describes.
        """
        if self.store is None:
            return
        try:
            self._record(meta, sources, sources_before or {}, outputs, keep)
        except sqlite3.DatabaseError:
            self._discard()

    def _discard(self) -> None:
        """Throw the state away: one that could not be saved must not describe the site later."""
        assert self.store is not None
        path = self.store.path
        self.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def record_parsed(self, parsed: Mapping[str, tuple[str, str]], settings: str) -> None:
        """Add parsed issues ((head, whole JSON) by source hash) to the parse cache, ahead of :meth:`record`.

        A cache keyed by the source bytes is right whatever becomes of the build, so the
        build saves it while its workers render; rows of files that are gone are dropped
        by the next :meth:`record`.
        """
        if self.store is None or not parsed:
            return
        try:
            with self.store.transaction() as db:
                # Rows under other settings (another Tidings, another parse cache format) would never be read again.
                db.execute("DELETE FROM buildstate_parsed WHERE settings != ?", (settings,))
                db.executemany(
                    "INSERT OR REPLACE INTO buildstate_parsed (hash, settings, head, issue) VALUES (?, ?, ?, ?)",
                    [(h, settings, head, text) for h, (head, text) in parsed.items()],
                )
        except sqlite3.DatabaseError:
            self._discard()

    def _record(
        self, meta: Mapping[str, str], sources: Iterable[SourceStat] | None, sources_before: Mapping[str, SourceStat],
        outputs: Iterable[OutputRecord], keep: set[str],
    ) -> None:
        # Imported here: the up-to-date check reads this module and writes nothing. orjson encodes
        # the output records (plain strings) about six times faster than json.
        from orjson import OPT_SORT_KEYS, dumps

        assert self.store is not None
        with self.store.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO buildstate_meta (target, key, value) VALUES (?, ?, ?)",
                [(self.target, k, v) for k, v in meta.items()],
            )
            if sources is not None:
                now = {s.path: s for s in sources}
                gone = [(path,) for path in sources_before if path not in now]
                if sources_before and len(gone) < len(now):  # as the state held it: write the differences
                    db.executemany("DELETE FROM buildstate_sources WHERE path = ?", gone)
                    changed = [s for path, s in now.items() if sources_before.get(path) != s]
                else:
                    db.execute("DELETE FROM buildstate_sources")
                    changed = list(now.values())
                db.executemany(
                    "INSERT OR REPLACE INTO buildstate_sources (path, mtime_ns, size, hash) VALUES (?, ?, ?, ?)",
                    [(s.path, s.mtime_ns, s.size, s.hash) for s in changed],
                )
            db.execute("DELETE FROM buildstate_parsed WHERE hash NOT IN (SELECT hash FROM buildstate_sources)")
            db.executemany(
                "INSERT OR REPLACE INTO buildstate_outputs (target, path, producer, kind, key, deps, digest, links) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (self.target, o.path, o.producer, o.kind, o.key, dumps(o.deps, option=OPT_SORT_KEYS).decode(), o.digest, o.links_json)
                    for o in outputs
                ],
            )
            old = {r[0] for r in db.execute("SELECT path FROM buildstate_outputs WHERE target = ?", (self.target,))}
            db.executemany(
                "DELETE FROM buildstate_outputs WHERE target = ? AND path = ?", [(self.target, p) for p in old - keep]
            )


# ---------------------------------------------------------------- staleness


_UNKNOWN = object()
_ANY = object()  # a recorded key whose value is not compared


class Dependencies:
    """Current fingerprints for dependency keys, computed once per build and shared by outputs."""

    def __init__(self, env: Any, extra: Mapping[str, Any], fallback: Callable[[], str]):
        self.env = env
        self.extra = extra
        self.fallback = fallback  # fingerprint of all content, for producers that cannot say what they show
        self._templates: dict[str, str] = {}
        self._extra: dict[str, str] = {}
        self._content: str | None = None
        self._now: dict[str, object] = {}  # recorded key ('template:…', 'extra:…') -> its fingerprint in this build

    def template(self, name: str) -> str:
        if name not in self._templates:
            from .render.env import template_digest  # here: the freshness check imports this module without Jinja

            self._templates[name] = template_digest(self.env, name)
        return self._templates[name]

    def extra_key(self, key: str) -> str:
        if key not in self._extra:
            # Through dict's own methods: a RecordingDict would count these reads as the output's.
            plain = cast("dict[str, Any]", self.extra)
            if key == Recorder.ALL:
                self._extra[key] = digest(*(f"{k}={self.extra_key(k)}" for k in sorted(dict.keys(plain))))
            elif dict.__contains__(plain, key):
                value = dict.__getitem__(plain, key)
                own = getattr(value, "fingerprint", None)  # a value may say what about it matters
                self._extra[key] = own() if callable(own) else value_digest(value)
            else:
                self._extra[key] = "absent"
        return self._extra[key]

    def content(self) -> dict[str, str]:
        if self._content is None:
            self._content = self.fallback()
        return {"content": self._content}

    def complete(self, own: Mapping[str, str], templates: Iterable[str], extra: Iterable[str]) -> dict[str, str]:
        """An output's full dependencies after rendering it."""
        deps = dict(own)
        deps.update((f"template:{n}", self.template(n)) for n in templates)
        deps.update((f"extra:{k}", self.extra_key(k)) for k in extra)
        return deps

    def unchanged(self, record: OutputRecord, own: Mapping[str, str]) -> bool:
        """True when everything ``record`` read still has the fingerprint it had.

        Called for every output of every build: it stops at the first difference and
        builds nothing (a 1,000-issue site has over 4,000 outputs). ``memo:`` keys are
        not compared: a producer keeps them to find its own costly fingerprints again
        (a listing's view by the sources it lists), and the fingerprints they lead to
        are compared instead. A key the output's own fingerprints do not name is a
        template, a data key or a memo, looked up by its whole name (see :meth:`_now`).
        """
        matched = 0
        now = self._now
        for key, value in record.deps.items():
            mine = own.get(key)
            if mine is None:
                current = now.get(key, _UNKNOWN)
                if current is _UNKNOWN:
                    current = self._fingerprint_now(key)
                if current is not _ANY and current != value:
                    return False
            elif mine != value and not key.startswith("memo:"):
                return False
            else:
                matched += 1
        return matched == len(own)

    def _fingerprint_now(self, key: str) -> object:
        """The current fingerprint of a recorded key that is not an output's own (kept in ``_now``)."""
        if key.startswith("template:"):
            found: object = self.template(key[9:])
        elif key.startswith("extra:"):
            found = self.extra_key(key[6:])
        elif key.startswith("memo:"):
            found = _ANY  # not compared (see unchanged)
        else:
            found = None  # an own key the output no longer has: changed
        self._now[key] = found
        return found
