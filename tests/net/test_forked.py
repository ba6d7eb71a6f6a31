"""Parts of a job run side by side in forked processes; their results come back to the caller."""

from __future__ import annotations

import asyncio
import os

import pytest

from generator.net import forked

pytestmark = pytest.mark.skipif(not forked.available(), reason="forked workers run on Linux only")


def test_every_item_of_every_part_reaches_the_caller() -> None:
    received: list[tuple[int, int]] = []

    async def run(part: range, emit: forked.Emit) -> None:
        for n in part:
            await asyncio.sleep(0)
            emit((n, os.getpid()))

    forked.run_parts([range(0, 50), range(50, 100), range(100, 5000)], run, received.append)
    assert sorted(n for n, _ in received) == list(range(5000))  # 4,900 items from one child: more than a pipe holds
    pids = {pid for _, pid in received}
    assert len(pids) == 3 and os.getpid() in pids


def test_a_failing_worker_is_reported_and_nothing_is_left_running() -> None:
    async def run(part: str, emit: forked.Emit) -> None:
        if part == "bad":
            raise ValueError("broken part")
        emit(part)

    with pytest.raises(RuntimeError, match="broken part"):
        forked.run_parts(["good", "bad"], run, lambda item: None)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # no child left behind, not even a zombie
