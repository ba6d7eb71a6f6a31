"""The fetch component's tables in the shared store: sources, validators, entries, editor state.

Why SQLite and one transaction per source: a fetch run is many small
independent units. Committing each source on its own means a crash or a
``kill -9`` halfway loses only the source in flight; WAL keeps the file
consistent, and the next run simply carries on (its validators and seen
entries are exactly what was committed).

Entries are kept once per story: a new entry whose GUID (per source), canonical
URL or near-identical title matches one already stored is recorded in
``fetch_duplicates`` (so the inbox can say where else it appeared) instead of
becoming a second candidate.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Iterable, Sequence

from ..store import Store
from .entries import FeedEntry, same_title, title_key

if TYPE_CHECKING:
    from ..config import Site

__all__ = ["COMPONENT", "MIGRATIONS", "SourceState", "StoredEntry", "FetchStore", "open_fetch_store"]

COMPONENT = "fetch"

MIGRATIONS = [
    """
    CREATE TABLE fetch_sources (
        key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        config_url TEXT NOT NULL,
        url TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT,
        body_sha256 TEXT,
        last_status TEXT,
        last_error TEXT,
        error_count INTEGER NOT NULL DEFAULT 0,
        next_attempt TEXT,
        retired_at TEXT,
        last_fetched_at TEXT,
        last_success_at TEXT
    );
    CREATE TABLE fetch_entries (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL REFERENCES fetch_sources(key),
        guid TEXT NOT NULL,
        url TEXT NOT NULL,
        link TEXT NOT NULL,
        title TEXT NOT NULL,
        title_key TEXT NOT NULL,
        excerpt TEXT NOT NULL,
        author TEXT NOT NULL DEFAULT '',
        tags TEXT NOT NULL DEFAULT '[]',
        section TEXT NOT NULL DEFAULT '',
        published TEXT,
        first_seen TEXT NOT NULL,
        date TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'picked', 'dismissed')),
        state_at TEXT,
        UNIQUE (source, guid)
    );
    CREATE INDEX fetch_entries_url ON fetch_entries (url);
    CREATE INDEX fetch_entries_title ON fetch_entries (title_key);
    CREATE INDEX fetch_entries_date ON fetch_entries (date);
    CREATE TABLE fetch_duplicates (
        source TEXT NOT NULL,
        guid TEXT NOT NULL,
        entry_id INTEGER NOT NULL REFERENCES fetch_entries(id),
        PRIMARY KEY (source, guid)
    );
    """,
]

TITLE_WINDOW = timedelta(days=60)  # near-identical titles are compared with entries this recent


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat(timespec="seconds") if value else None


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True, slots=True)
class SourceState:
    key: str
    url: str  # where to fetch now (after permanent redirects)
    etag: str | None
    last_modified: str | None
    body_sha256: str | None
    error_count: int
    next_attempt: datetime | None
    retired_at: datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class StoredEntry:
    id: int
    source: str
    guid: str
    url: str
    link: str
    title: str
    excerpt: str
    author: str
    tags: tuple[str, ...]
    section: str
    published: datetime | None
    first_seen: datetime
    date: datetime
    state: str
    also_in: tuple[str, ...] = ()  # other sources that carried the same story

    @classmethod
    def from_row(cls, row: sqlite3.Row, also_in: Sequence[str] = ()) -> "StoredEntry":
        return cls(
            id=row["id"], source=row["source"], guid=row["guid"], url=row["url"], link=row["link"], title=row["title"],
            excerpt=row["excerpt"], author=row["author"], tags=tuple(json.loads(row["tags"])), section=row["section"],
            published=_dt(row["published"]), first_seen=_dt(row["first_seen"]) or datetime.now(timezone.utc),
            date=_dt(row["date"]) or datetime.now(timezone.utc), state=row["state"], also_in=tuple(also_in),
        )


class _TitleIndex:
    """Recent title keys, bucketed by first and last word so a near-duplicate check stays cheap.

    Two titles alike enough to be one story (see entries.same_title) nearly
    always share their first or their last word; comparing only within those
    buckets keeps the check linear in practice instead of quadratic.
    """

    def __init__(self) -> None:
        self.buckets: dict[tuple[str, tuple[str, ...]], list[tuple[str, int, str]]] = {}

    @staticmethod
    def _slots(key: str) -> list[tuple[str, tuple[str, ...]]]:
        words = key.split()
        digits = tuple(_DIGITS.findall(key))  # same_title requires equal numbers
        return [(word, digits) for word in dict.fromkeys((words[0], words[-1]))] if words else []

    def add(self, key: str, entry_id: int, source: str) -> None:
        for slot in self._slots(key):
            self.buckets.setdefault(slot, []).append((key, entry_id, source))

    def similar(self, key: str) -> tuple[int, str] | None:
        """(id, source) of a stored entry whose title is near-identical to ``key``."""
        for slot in self._slots(key):
            for other, entry_id, source in self.buckets.get(slot, ()):
                if abs(len(other) - len(key)) <= max(len(key), len(other)) * 0.1 and same_title(key, other):
                    return entry_id, source
        return None


_DIGITS = re.compile(r"\d+")
_BATCH = 500  # values per IN (…) list: well under SQLite's limit on parameters


class FetchStore:
    """Typed access to the fetch tables; every write method is one transaction."""

    def __init__(self, store: Store):
        self.store = store
        store.migrate(COMPONENT, MIGRATIONS)
        self._recent_titles: _TitleIndex | None = None

    @property
    def db(self) -> sqlite3.Connection:
        return self.store.db

    # -- sources

    def source_state(self, key: str, name: str, config_url: str) -> SourceState:
        """The stored state of a source; a changed URL in feeds.yaml starts it afresh."""
        row = self.db.execute("SELECT * FROM fetch_sources WHERE key = ?", (key,)).fetchone()
        if row is None or row["config_url"] != config_url:
            with self.store.transaction() as db:
                db.execute(
                    "INSERT INTO fetch_sources (key, name, config_url, url) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET name = excluded.name, config_url = excluded.config_url, url = excluded.url, "
                    "etag = NULL, last_modified = NULL, body_sha256 = NULL, error_count = 0, next_attempt = NULL, retired_at = NULL",
                    (key, name, config_url, config_url),
                )
            row = self.db.execute("SELECT * FROM fetch_sources WHERE key = ?", (key,)).fetchone()
        return SourceState(
            key=key, url=row["url"], etag=row["etag"], last_modified=row["last_modified"], body_sha256=row["body_sha256"],
            error_count=row["error_count"], next_attempt=_dt(row["next_attempt"]), retired_at=_dt(row["retired_at"]),
            last_error=row["last_error"],
        )

    def record(
        self,
        key: str,
        *,
        now: datetime,
        status: str,
        error: str | None = None,
        url: str | None = None,
        validators: tuple[str | None, str | None] | None = None,
        body_sha256: str | None = None,
        next_attempt: datetime | None = None,
        retired: bool = False,
        entries: Iterable[FeedEntry] = (),
        section: str = "",
    ) -> int:
        """Save one source's outcome and its new entries atomically; return how many entries are new."""
        with self.store.transaction() as db:
            new = self._insert_entries(db, key, entries, section, now) if error is None else 0
            sets = ["last_status = ?", "last_fetched_at = ?", "next_attempt = ?"]
            args: list[object] = [status, _iso(now), _iso(next_attempt)]
            if error is None:
                sets += ["last_error = NULL", "error_count = 0", "last_success_at = ?"]
                args.append(_iso(now))
            else:
                sets += ["last_error = ?", "error_count = error_count + 1"]
                args.append(error)
            if url:
                sets.append("url = ?")
                args.append(url)
            if validators is not None:
                sets += ["etag = ?", "last_modified = ?"]
                args += list(validators)
            if body_sha256 is not None:
                sets.append("body_sha256 = ?")
                args.append(body_sha256)
            if retired:
                sets.append("retired_at = ?")
                args.append(_iso(now))
            db.execute(f"UPDATE fetch_sources SET {', '.join(sets)} WHERE key = ?", (*args, key))
        return new

    # -- entries

    def _recent(self, db: sqlite3.Connection, now: datetime) -> "_TitleIndex":
        if self._recent_titles is None:
            since = _iso(now - TITLE_WINDOW)
            self._recent_titles = _TitleIndex()
            for r in db.execute("SELECT title_key, id, source FROM fetch_entries WHERE first_seen >= ?", (since,)):
                self._recent_titles.add(r[0], r[1], r[2])
        return self._recent_titles

    def _known(self, db: sqlite3.Connection, key: str, entries: list[FeedEntry], tkeys: list[str]) -> tuple[dict[str, tuple[int, str]], ...]:
        """What the store already holds of these entries, in four look-ups for the whole batch.

        Returns maps to (entry id, owning source): by this source's GUIDs, by
        GUIDs it saw as duplicates before, by canonical URL, by exact title key.
        """
        by_guid: dict[str, tuple[int, str]] = {}
        by_dup: dict[str, tuple[int, str]] = {}
        by_url: dict[str, tuple[int, str]] = {}
        by_title: dict[str, tuple[int, str]] = {}
        guids = list(dict.fromkeys(e.guid for e in entries))
        urls = list(dict.fromkeys(e.url for e in entries))
        titles = list(dict.fromkeys(t for t in tkeys if t))
        for part in _chunks(guids):
            marks = ", ".join("?" * len(part))
            for guid, entry_id in db.execute(f"SELECT guid, id FROM fetch_entries WHERE source = ? AND guid IN ({marks})", (key, *part)):
                by_guid[guid] = (entry_id, key)
            for guid, entry_id, owner in db.execute(
                f"SELECT d.guid, d.entry_id, e.source FROM fetch_duplicates d JOIN fetch_entries e ON e.id = d.entry_id "
                f"WHERE d.source = ? AND d.guid IN ({marks})", (key, *part),
            ):
                by_dup[guid] = (entry_id, owner)
        for values, column, found in ((urls, "url", by_url), (titles, "title_key", by_title)):
            for part in _chunks(values):
                rows = db.execute(f"SELECT {column}, id, source FROM fetch_entries WHERE {column} IN ({', '.join('?' * len(part))}) ORDER BY id", part)
                for value, entry_id, owner in rows:
                    found.setdefault(value, (entry_id, owner))  # the oldest, as LIMIT 1 gave
        return by_guid, by_dup, by_url, by_title

    def _insert_entries(self, db: sqlite3.Connection, key: str, entries: Iterable[FeedEntry], section: str, now: datetime) -> int:
        batch = list(entries)
        if not batch:
            return 0
        tkeys = [title_key(e.title) for e in batch]
        by_guid, by_dup, by_url, by_title = self._known(db, key, batch, tkeys)
        recent = self._recent(db, now)
        seen = _iso(now)
        new = 0
        for entry, tkey in zip(batch, tkeys, strict=True):
            existing = by_guid.get(entry.guid) or by_dup.get(entry.guid) or by_url.get(entry.url) or (by_title.get(tkey) if tkey else None)
            existing = existing or recent.similar(tkey)
            if existing is not None:
                entry_id, owner = existing
                if owner != key:
                    db.execute("INSERT OR IGNORE INTO fetch_duplicates (source, guid, entry_id) VALUES (?, ?, ?)", (key, entry.guid, entry_id))
                    by_dup.setdefault(entry.guid, existing)
                continue
            published = _iso(entry.published)
            cursor = db.execute(
                "INSERT INTO fetch_entries (source, guid, url, link, title, title_key, excerpt, author, tags, section, "
                "published, first_seen, date) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key, entry.guid, entry.url, entry.link, entry.title, tkey, entry.excerpt, entry.author,
                    json.dumps(list(entry.tags)), section, published, seen, published or seen,
                ),
            )
            entry_id = int(cursor.lastrowid or 0)
            by_guid.setdefault(entry.guid, (entry_id, key))  # later entries of this batch see it, as a query would
            by_url.setdefault(entry.url, (entry_id, key))
            if tkey:
                by_title.setdefault(tkey, (entry_id, key))
            recent.add(tkey, entry_id, key)
            new += 1
        return new

    def entries(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        sources: Sequence[str] = (),
        search: str = "",
        states: Sequence[str] = ("new", "picked"),
    ) -> list[StoredEntry]:
        """Stored entries, newest first, narrowed by date range, sources, words and state."""
        where = [f"state IN ({', '.join('?' * len(states))})"]
        args: list[object] = list(states)
        if since:
            where.append("date >= ?")
            args.append(_iso(since))
        if until:
            where.append("date < ?")
            args.append(_iso(until))
        if sources:
            where.append(f"source IN ({', '.join('?' * len(sources))})")
            args += list(sources)
        for word in search.split():
            where.append("(title LIKE ? ESCAPE '\\' OR excerpt LIKE ? ESCAPE '\\' OR tags LIKE ? ESCAPE '\\')")
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            args += [pattern, pattern, pattern]
        rows = self.db.execute(f"SELECT * FROM fetch_entries WHERE {' AND '.join(where)} ORDER BY date DESC, id DESC", args).fetchall()
        also: dict[int, list[str]] = {}
        if rows:
            ids = [r["id"] for r in rows]
            for chunk in range(0, len(ids), 500):
                part = ids[chunk : chunk + 500]
                for dup in self.db.execute(f"SELECT entry_id, source FROM fetch_duplicates WHERE entry_id IN ({', '.join('?' * len(part))})", part):
                    also.setdefault(dup[0], []).append(dup[1])
        return [StoredEntry.from_row(r, sorted(also.get(r["id"], []))) for r in rows]

    def set_state(self, ids: Sequence[int], state: str, now: datetime) -> list[int]:
        """Pick or dismiss entries by id; return the ids that do not exist."""
        missing = [i for i in ids if self.db.execute("SELECT 1 FROM fetch_entries WHERE id = ?", (i,)).fetchone() is None]
        if missing:
            return missing
        with self.store.transaction() as db:
            db.executemany("UPDATE fetch_entries SET state = ?, state_at = ? WHERE id = ?", [(state, _iso(now), i) for i in ids])
        return []

    def source_names(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self.db.execute("SELECT key, name FROM fetch_sources")}


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), _BATCH):
        yield values[start : start + _BATCH]


def open_fetch_store(site: "Site") -> FetchStore:
    """The site's store file (fetch.store in tidings.yaml), migrated for the fetch tables."""
    return FetchStore(Store.open(site.path(site.config.fetch.store)))
