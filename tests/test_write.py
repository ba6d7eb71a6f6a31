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


# ---------------------------------------------------------------- the spare


def files_of(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def folders_of(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_dir())


def staged_build(final, site, known, spare, *, changed_bytes=None):
    """One build through Staging as the build drives it: every file written or carried, then committed."""
    staging = Staging(final, known=known, spare=spare)
    written = []
    for relative, data in site.items():
        same = None if changed_bytes is None else relative not in changed_bytes
        if staging.write(relative, data, same=same):
            written.append(relative)
    staging.commit(written=written, files=set(site), removed=len(set(known or ()) - set(site)))
    return staging, written


def test_the_replaced_site_is_kept_as_a_spare_and_reused(tmp_path):
    final = tmp_path / "public"
    spare_folder = tmp_path / ".public.spare"
    one = {"index.html": b"1", "a/index.html": b"A", "gone/deep/index.html": b"G", "same.css": b"S"}
    first, _ = staged_build(final, one, None, None)
    assert first.kept is None and not spare_folder.exists()  # the first build knows no older site

    two = {"index.html": b"2", "a/index.html": b"A", "same.css": b"S", "new/index.html": b"N"}
    second, written = staged_build(final, two, set(one), None)
    assert sorted(written) == ["index.html", "new/index.html"]
    assert second.kept is not None and files_of(spare_folder) == one  # the replaced site, whole
    assert second.kept.differs == {"index.html", "new/index.html", "gone/deep/index.html"}

    three = {"index.html": b"3", "a/index.html": b"A2", "same.css": b"S", "new/index.html": b"N"}
    third = Staging(final, known=set(two), spare=second.kept)
    assert third.reusing and third.dir.exists() and not spare_folder.exists()  # claimed
    # what the spare had that the site has not is gone before anything is staged (Pagefind reads the folder)
    assert not (third.dir / "gone").exists()
    assert third.carry("same.css") is True and third.carry("new/index.html") is True
    assert third.write("index.html", b"3") is True and third.write("a/index.html", b"A2") is True
    third.commit(written=["index.html", "a/index.html"], files=set(three), removed=0)
    assert files_of(final) == three and folders_of(final) == ["a", "new"]
    # the untouched file is one inode in the site and in the new spare; the new spare is the second site
    assert (final / "same.css").stat().st_ino == (spare_folder / "same.css").stat().st_ino
    assert files_of(spare_folder) == two
    assert third.kept.differs == {"index.html", "a/index.html"}

    four = {"index.html": b"4", "same.css": b"S"}
    fourth, _ = staged_build(final, four, set(three), third.kept, changed_bytes={"index.html"})
    assert fourth.reusing
    assert files_of(final) == four and folders_of(final) == []  # emptied folders are pruned
    assert files_of(spare_folder) == three
    assert not list(tmp_path.glob(".public.staging-*"))


def test_a_spare_file_shared_with_the_site_is_replaced_never_written_into(tmp_path):
    final = tmp_path / "public"
    one = {"page.html": b"old", "other.html": b"x"}
    staged_build(final, one, None, None)
    two = {"page.html": b"old", "other.html": b"y"}
    second, _ = staged_build(final, two, set(one), None)
    site_file = final / "page.html"
    assert site_file.stat().st_ino == (tmp_path / ".public.spare" / "page.html").stat().st_ino
    third = Staging(final, known=set(two), spare=second.kept)
    assert third.reusing and third.write("page.html", b"new") is True
    assert site_file.read_bytes() == b"old", "the live site is untouched until commit"
    third.abort()
    assert files_of(final) == two


def test_a_spare_that_is_not_the_recorded_folder_is_not_used(tmp_path):
    final = tmp_path / "public"
    one = {"a.html": b"1"}
    staged_build(final, one, None, None)
    second, _ = staged_build(final, {"a.html": b"2"}, set(one), None)
    spare_folder = tmp_path / ".public.spare"
    # someone put another tree in its place
    os.rename(spare_folder, tmp_path / "moved")
    spare_folder.mkdir()
    (spare_folder / "a.html").write_bytes(b"stranger")
    third = Staging(final, known={"a.html"}, spare=second.kept)
    assert not third.reusing and list(third.dir.iterdir()) == []
    assert third.write("a.html", b"3") is True
    third.commit(written=["a.html"], files={"a.html"}, removed=0)
    assert files_of(final) == {"a.html": b"3"}
    assert files_of(spare_folder) == {"a.html": b"2"}, "the replaced site took the spare's place"
