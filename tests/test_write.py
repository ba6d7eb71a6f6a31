"""The writer: staging, atomic swap, hard links for unchanged bytes, leftovers removed."""

from __future__ import annotations

import os
import time

import pytest

from generator.write import Staging, write_atomic


def test_commit_swaps_and_counts_removed(tmp_path):
    final = tmp_path / "public"
    first = Staging(final)
    first.write("a.html", b"A")
    first.write("old/b.html", b"B")
    assert first.commit() == 0
    second = Staging(final)
    assert second.write("a.html", b"A") is False
    assert second.write("c.html", b"C") is True
    assert second.commit() == 1
    assert sorted(p.relative_to(final).as_posix() for p in final.rglob("*") if p.is_file()) == ["a.html", "c.html"]
    assert not list(tmp_path.glob(".public.*"))


@pytest.mark.parametrize("cleanup", ["thread", "process"])
def test_the_old_site_can_be_deleted_after_commit_returns(tmp_path, cleanup):
    final = tmp_path / "public"
    first = Staging(final)
    for n in range(200):
        first.write(f"issues/{n}/index.html", b"old")
    first.commit()
    second = Staging(final, cleanup=cleanup)
    second.write("index.html", b"new")
    second.commit()
    assert sorted(p.relative_to(final).as_posix() for p in final.rglob("*") if p.is_file()) == ["index.html"]
    deadline = time.monotonic() + 20
    while list(tmp_path.glob(".public.*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not list(tmp_path.glob(".public.*")), "the replaced site was deleted"


def test_abort_leaves_the_site(tmp_path):
    final = tmp_path / "public"
    final.mkdir()
    (final / "keep.html").write_text("keep")
    staging = Staging(final)
    staging.write("keep.html", b"changed")
    staging.abort()
    assert (final / "keep.html").read_text() == "keep"
    assert not staging.dir.exists()


def test_leftovers_of_dead_builds_are_removed(tmp_path):
    final = tmp_path / "public"
    dead = tmp_path / ".public.staging-999999999"
    dead.mkdir()
    Staging(final).abort()
    assert not dead.exists()


def test_write_atomic(tmp_path):
    target = tmp_path / "x" / "f.txt"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert os.listdir(target.parent) == ["f.txt"]
