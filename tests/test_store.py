"""The SQLite store: WAL, per-component migrations, atomic transactions, crash safety."""

from __future__ import annotations

import subprocess
import sys

import pytest

from generator.store import Store, StoreError

V1 = "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);"
V2 = "ALTER TABLE notes ADD COLUMN seen INTEGER NOT NULL DEFAULT 0;\nCREATE INDEX notes_seen ON notes(seen);"


def test_migrations_apply_once_per_component(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store.open(path) as store:
        store.migrate("notes", [V1])
        assert store.version("notes") == 1
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with Store.open(path) as store:
        store.migrate("notes", [V1, V2])
        store.migrate("notes", [V1, V2])
        assert store.version("notes") == 2 and store.version("other") == 0
        cols = [r[1] for r in store.db.execute("PRAGMA table_info(notes)")]
        assert cols == ["id", "body", "seen"]


def test_a_newer_store_is_refused(tmp_path):
    with Store.open(tmp_path / "s.sqlite") as store:
        store.migrate("notes", [V1, V2])
        with pytest.raises(StoreError, match="newer"):
            store.migrate("notes", [V1])


def test_failed_transaction_rolls_back(tmp_path):
    with Store.open(tmp_path / "s.sqlite") as store:
        store.migrate("notes", [V1])
        with pytest.raises(RuntimeError):
            with store.transaction() as db:
                db.execute("INSERT INTO notes (body) VALUES ('lost')")
                raise RuntimeError("boom")
        assert store.db.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 0


def test_kill_9_keeps_committed_rows(tmp_path):
    path = tmp_path / "s.sqlite"
    with Store.open(path) as store:
        store.migrate("notes", [V1])
    script = f"""
import os, sys
sys.path.insert(0, {str(__import__('pathlib').Path(__file__).resolve().parents[1])!r})
from generator.store import Store
store = Store.open({str(path)!r})
for i in range(50):
    with store.transaction() as db:
        db.execute("INSERT INTO notes (body) VALUES (?)", (f"n{{i}}",))
store.db.execute("BEGIN IMMEDIATE")
store.db.execute("INSERT INTO notes (body) VALUES ('in flight')")
os.kill(os.getpid(), 9)
"""
    result = subprocess.run([sys.executable, "-c", script], timeout=60)
    assert result.returncode == -9
    with Store.open(path) as store:
        assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert store.db.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 50
