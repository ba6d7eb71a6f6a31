"""The embedded store: one SQLite file for what network commands learn.

Feed fetches, link-check results and the email send log live here (under
``feeds/``, git-ignored); a build only reads from it. Design points:

- WAL journal and ``synchronous=NORMAL``: readers never block the writer, and
  a crash (even ``kill -9``) loses at most the transaction in flight.
- Each component (``fetch``, ``linkcheck``, ``send``…) owns its tables and its
  own numbered migrations, recorded in ``schema_versions``; components evolve
  independently and a database written by an older Tidings is upgraded in place.
- One short transaction per unit of work (a feed source, a batch of links, a
  recipient), opened with ``BEGIN IMMEDIATE`` so writers queue instead of failing.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from .errors import TidingsError

__all__ = ["Store", "DEFAULT_STORE", "StoreError"]

DEFAULT_STORE = "feeds/tidings.sqlite"


class StoreError(TidingsError):
    """The store cannot be opened or is newer than this version of Tidings."""


class Store:
    """A connection to the store file, with per-component migrations.

    Usage::

        with Store.open(path) as store:
            store.migrate("linkcheck", [CREATE_TABLES_V1, ADD_COLUMN_V2])
            with store.transaction() as db:
                db.execute("INSERT ...")
    """

    def __init__(self, connection: sqlite3.Connection, path: Path):
        self.db = connection
        self.path = path

    @classmethod
    def open(cls, path: Path | str) -> "Store":
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute(
                "CREATE TABLE IF NOT EXISTS schema_versions (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
        except sqlite3.DatabaseError as exc:
            raise StoreError.single(str(path), 0, f"cannot open the store: {exc}") from None
        db.row_factory = sqlite3.Row
        return cls(db, path)

    def version(self, component: str) -> int:
        row = self.db.execute("SELECT version FROM schema_versions WHERE component = ?", (component,)).fetchone()
        return int(row[0]) if row else 0

    def migrate(self, component: str, migrations: Sequence[str]) -> None:
        """Apply the component's migrations it has not seen yet, each in its own transaction.

        ``migrations[i]`` is the SQL script that takes the schema from version i to i+1.
        """
        current = self.version(component)
        if current > len(migrations):
            raise StoreError.single(
                str(self.path), 0, f"the store's '{component}' tables are newer (v{current}) than this Tidings knows; upgrade Tidings"
            )
        for number in range(current, len(migrations)):
            with self.transaction() as db:
                for statement in _statements(migrations[number]):
                    db.execute(statement)
                db.execute(
                    "INSERT INTO schema_versions (component, version) VALUES (?, ?) "
                    "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                    (component, number + 1),
                )

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work: committed on success, rolled back on any exception."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (executescript would commit implicitly)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
