"""The preview's watcher: a saved input raises the flag, a file elsewhere does not, by kernel or by polling."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from generator.watch import InputWatcher


@pytest.fixture
def root(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    (site / "content" / "issues").mkdir(parents=True)
    (site / "themes" / "mine").mkdir(parents=True)
    (site / "public").mkdir()
    (site / "tidings.yaml").write_text("title: T\n", encoding="utf-8")
    (site / "content" / "issues" / "001.md").write_text("one\n", encoding="utf-8")
    return site


def places(root: Path) -> list[Path]:
    return [root / "tidings.yaml", root / "content"]


def drain(watcher: InputWatcher) -> None:
    """Take any flag raised while the watches were starting."""
    watcher.wait(0.3)


@pytest.mark.parametrize("polling", [False, True], ids=["kernel", "polling"])
def test_saved_inputs_raise_the_flag_and_other_files_do_not(root: Path, polling: bool) -> None:
    with InputWatcher(root, places(root), poll_interval=0.05, force_polling=polling) as watcher:
        assert watcher.polling == polling
        drain(watcher)
        (root / "public" / "index.html").write_text("output\n", encoding="utf-8")
        (root / "README.md").write_text("notes\n", encoding="utf-8")
        assert not watcher.wait(0.5), "files outside the inputs are not watched"

        started = time.monotonic()
        (root / "content" / "issues" / "001.md").write_text("one, edited\n", encoding="utf-8")
        assert watcher.wait(5)
        if not polling:
            assert time.monotonic() - started < 1.0  # the kernel tells at once; the pause is the quiet period

        (root / "content" / "issues" / "002.md").write_text("two\n", encoding="utf-8")
        assert watcher.wait(5), "a new file in a watched folder"

        # an editor that saves by writing a new file and renaming it over the config
        (root / "tidings.yaml.new").write_text("title: T2\n", encoding="utf-8")
        os.replace(root / "tidings.yaml.new", root / "tidings.yaml")
        assert watcher.wait(5)
        drain(watcher)
        (root / "tidings.yaml").write_text("title: T3\n", encoding="utf-8")
        assert watcher.wait(5), "the replaced config is still watched"
        assert watcher.polling == polling, "no fallback was needed"


def test_followed_places_are_watched_and_dropped_ones_are_not(root: Path) -> None:
    with InputWatcher(root, places(root), poll_interval=0.05) as watcher:
        drain(watcher)
        (root / "themes" / "mine" / "page.html").write_text("a\n", encoding="utf-8")
        assert not watcher.wait(0.5), "not an input yet"
        watcher.follow([root / "tidings.yaml", root / "themes"])
        drain(watcher)  # following raises the flag once: a change in between is built
        (root / "themes" / "mine" / "page.html").write_text("b\n", encoding="utf-8")
        assert watcher.wait(5)
        drain(watcher)
        (root / "content" / "issues" / "001.md").write_text("one, again\n", encoding="utf-8")
        assert not watcher.wait(0.5), "no longer an input"


def test_closing_stops_every_thread(root: Path) -> None:
    watcher = InputWatcher(root, places(root), poll_interval=0.05)
    threads = list(watcher._threads)
    started = time.monotonic()
    watcher.close()
    assert time.monotonic() - started < 2
    assert not any(t.is_alive() for t in threads)
