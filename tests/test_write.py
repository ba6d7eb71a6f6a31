"""The writer: staging, atomic swap, hard links for unchanged bytes, leftovers removed."""

from __future__ import annotations

import os

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
