"""The link checker's memory between runs (store component ``linkcheck``).

Why: politeness across runs. A success is reused for ``check.cache_days`` so
a re-run sends no request for it; anything else is checked again every time
(a cached failure would hide a recovery, a cached 429 would hide a real 404).
Consecutive failures and the time of the first are counted per URL so that
``check --all`` can tell a dead link from a bad afternoon. Page metadata
(title, description, canonical, image) seen on GET is kept too.

Rows are keyed by :func:`result_key`: the normalised URL, plus the fragment
when one was verified (two fragments of one page are two checks).
"""

from __future__ import annotations

import functools
import json
import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from urllib.parse import urldefrag

from .linkstatus import DEAD_CANDIDATE, EXCLUDED, REUSABLE, LinkMeta, LinkStatus
from .store import Store
from .urls import normalize_url

__all__ = ["COMPONENT", "LinkStore", "result_key"]

COMPONENT = "linkcheck"

_MIGRATIONS = [
    """
    CREATE TABLE linkcheck_results (
        key TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        kind TEXT NOT NULL,
        code INTEGER,
        message TEXT NOT NULL,
        final_url TEXT NOT NULL DEFAULT '',
        redirects TEXT NOT NULL DEFAULT '[]',
        permanent INTEGER NOT NULL DEFAULT 0,
        checked_at REAL NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0,
        failing_since REAL
    );
    CREATE TABLE linkcheck_meta (
        key TEXT PRIMARY KEY,
        title TEXT NOT NULL DEFAULT '',
        description TEXT NOT NULL DEFAULT '',
        canonical TEXT NOT NULL DEFAULT '',
        image TEXT NOT NULL DEFAULT '',
        fetched_at REAL NOT NULL
    );
    """,
]


@functools.lru_cache(maxsize=1 << 15)  # a run asks for each URL's key several times (places, cache, record)
def result_key(url: str) -> str:
    """The store key of a checked URL: normalised, with its fragment if it has one."""
    base, fragment = urldefrag(url.strip())
    key = normalize_url(base)
    return f"{key}#{fragment}" if fragment else key


class LinkStore:
    """Read and record link-check results in a :class:`~generator.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.migrate(COMPONENT, _MIGRATIONS)

    def fresh(self, urls: Iterable[str], *, max_age_days: float, now: float | None = None) -> dict[str, LinkStatus]:
        """Reusable results for ``urls`` (by URL as given): successes younger than ``max_age_days``."""
        if max_age_days <= 0:
            return {}
        now = time.time() if now is None else now
        oldest = now - max_age_days * 86400
        found: dict[str, LinkStatus] = {}
        for url in urls:
            row = self.store.db.execute("SELECT * FROM linkcheck_results WHERE key = ?", (result_key(url),)).fetchone()
            if row is None or row["kind"] not in REUSABLE or row["checked_at"] < oldest or row["checked_at"] > now + 60:
                continue
            found[url] = replace(_status(row), url=url, cached=True)
        return found

    def record(self, results: Mapping[str, LinkStatus], *, now: float | None = None) -> dict[str, LinkStatus]:
        """Store fresh results in one transaction; return them with failure counts filled in."""
        now = time.time() if now is None else now
        counted: dict[str, LinkStatus] = {}
        with self.store.transaction() as db:
            for url, status in results.items():
                if status.cached or status.kind == EXCLUDED:
                    counted[url] = status
                    continue
                key = result_key(url)
                old = db.execute("SELECT failures, failing_since FROM linkcheck_results WHERE key = ?", (key,)).fetchone()
                if status.kind in DEAD_CANDIDATE:
                    failures = (old["failures"] if old else 0) + 1
                    since = (old["failing_since"] if old and old["failing_since"] else None) or status.checked_at or now
                else:
                    failures, since = 0, None
                db.execute(
                    "INSERT OR REPLACE INTO linkcheck_results "
                    "(key, url, kind, code, message, final_url, redirects, permanent, checked_at, failures, failing_since) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        key, url, status.kind, status.code, status.message, status.final_url,
                        json.dumps([list(h) for h in status.redirects]), int(status.permanent),
                        status.checked_at or now, failures, since,
                    ),
                )
                if status.meta is not None and not status.meta.empty:
                    m = status.meta
                    db.execute(
                        "INSERT OR REPLACE INTO linkcheck_meta (key, title, description, canonical, image, fetched_at) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (normalize_url(urldefrag(url)[0]), m.title, m.description, m.canonical, m.image, now),
                    )
                counted[url] = replace(status, failures=failures, failing_since=since)
        return counted

    def get(self, url: str) -> LinkStatus | None:
        row = self.store.db.execute("SELECT * FROM linkcheck_results WHERE key = ?", (result_key(url),)).fetchone()
        return _status(row) if row else None

    def meta(self, keys: Iterable[str] | None = None) -> dict[str, LinkMeta]:
        """Stored page metadata by normalised URL (all of it, or only for ``keys``)."""
        rows = self.store.db.execute("SELECT * FROM linkcheck_meta ORDER BY key").fetchall()
        wanted = set(keys) if keys is not None else None
        return {
            row["key"]: LinkMeta(row["title"], row["description"], row["canonical"], row["image"])
            for row in rows
            if wanted is None or row["key"] in wanted
        }


def _status(row: sqlite3.Row) -> LinkStatus:
    return LinkStatus(
        url=row["url"],
        kind=row["kind"],
        message=row["message"],
        code=row["code"],
        final_url=row["final_url"],
        redirects=tuple((int(c), str(u)) for c, u in json.loads(row["redirects"])),
        permanent=bool(row["permanent"]),
        checked_at=row["checked_at"],
        failures=row["failures"],
        failing_since=row["failing_since"],
    )
