"""The fetch store under a crash: kill -9 mid-fetch, then the next fetch carries on."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from generator.cli import main

from ..net._server import Request, rss, running, write_site

REPO = Path(__file__).resolve().parents[2]
SOURCES = 24


def count(db_path: Path, sql: str) -> int:
    if not db_path.exists():
        return 0
    try:
        with sqlite3.connect(db_path, timeout=5) as db:
            return int(db.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # tables not created yet


def processes_naming(marker: str) -> list[int]:
    """Live processes whose command line contains ``marker`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_kill_9_mid_fetch_loses_nothing_committed(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    def slow_feed(n: int):  # type: ignore[no-untyped-def]
        body = rss([{"title": f"Story {n} part {k}", "link": f"https://s{n}.example/{k}", "guid": f"{n}-{k}"} for k in range(2)])

        def handler(r: Request) -> None:
            r.closing.wait(0.15)
            r.send(200, body, {"Content-Type": "application/rss+xml"})

        return handler

    with running() as server:
        sources = [{"name": f"Source {n}", "url": server.route(f"/f{n}", slow_feed(n))} for n in range(SOURCES)]
        root = write_site(tmp_path / "site", sources, concurrency=1)
        db_path = root / "feeds" / "tidings.sqlite"
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        proc = subprocess.Popen([sys.executable, "-m", "generator", "-C", str(root), "fetch"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 20
            while count(db_path, "SELECT count(*) FROM fetch_entries") < 6 and time.monotonic() < deadline:
                time.sleep(0.02)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            # its parse workers end with it, instead of waiting forever on their queue
            deadline = time.monotonic() + 10
            while processes_naming(str(root)) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert processes_naming(str(root)) == []
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        done = count(db_path, "SELECT count(*) FROM fetch_sources WHERE last_success_at IS NOT NULL")
        entries = count(db_path, "SELECT count(*) FROM fetch_entries")
        assert 3 <= done < SOURCES
        assert entries == 2 * done  # each source's entries and its state were committed together
        with sqlite3.connect(db_path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        write_site(root, sources, concurrency=8, per_host=8)  # the rest may go faster
        assert main(["-C", str(root), "fetch"]) == 0
        out = capsys.readouterr().out
        assert f"{SOURCES} sources, {2 * (SOURCES - done)} new entries, 0 failed" in out
        assert out.count(" unchanged ") == done
    assert count(db_path, "SELECT count(*) FROM fetch_entries") == 2 * SOURCES
