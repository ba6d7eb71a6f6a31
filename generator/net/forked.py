"""Run the parts of one asyncio job side by side: one part here, the others in forked processes.

Why: one event loop making hundreds of HTTP requests a second is bound by the
CPU that httpx and httpcore spend on each request, not by the network. Split
the work by host (each host in exactly one part, so per-host limits still
hold) and give each part its own process and event loop, and a second core
does half the work. Every part's results stream back to this process as they
come, so callers see one flow of results (progress bars keep moving).

Forking, not spawning: the children start at once with everything already
imported and configured (including callables that could not be pickled, such
as a test's resolver). The fork happens before this process starts its event
loop; a child never returns into the caller's code — it leaves with
``os._exit`` — so it flushes nothing and closes nothing of the parent's.
Only on Linux (:func:`available`).
"""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import struct
import sys
import traceback
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

__all__ = ["available", "run_parts"]

P = TypeVar("P")
Emit = Callable[[Any], None]
_HEADER = struct.Struct("!I")


def available() -> bool:
    """Whether parts can run in forked processes here."""
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def run_parts(parts: Sequence[P], run: Callable[[P, Emit], Coroutine[Any, Any, None]], receive: Emit) -> None:
    """Run ``run(part, emit)`` for every part at once; every emitted item reaches ``receive`` here.

    ``parts[0]`` runs in this process, the others in forked children (items
    are pickled over a pipe). Raises RuntimeError when a child fails.
    """
    children: list[tuple[int, int]] = []  # (pid, read end)
    try:
        for part in parts[1:]:
            children.append(_fork(part, run))
        asyncio.run(_here(parts[0], run, receive, [fd for _, fd in children]))
        failures = [f"worker {pid} exited with status {code}" for pid, code in _reap(children) if code]
        if failures:
            raise RuntimeError("; ".join(failures))
    finally:
        for pid, fd in children:  # after an error or an interrupt: no child outlives the run
            _close(fd)
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


def _fork(part: P, run: Callable[[P, Emit], Coroutine[Any, Any, None]]) -> tuple[int, int]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_end)
        return pid, read_end
    code = 1  # the child, from here on
    try:
        os.close(read_end)

        def emit(item: Any) -> None:
            data = pickle.dumps(item, pickle.HIGHEST_PROTOCOL)
            _write_all(write_end, _HEADER.pack(len(data)) + data)

        asyncio.run(run(part, emit))
        code = 0
    except BaseException:  # noqa: BLE001 (the child reports everything, then leaves)
        try:
            data = pickle.dumps(_Failure(traceback.format_exc()))
            _write_all(write_end, _HEADER.pack(len(data)) + data)
        except BaseException:  # noqa: BLE001,S110 (the parent still sees the exit status)
            pass
    finally:
        os._exit(code)


class _Failure:
    def __init__(self, text: str) -> None:
        self.text = text


async def _here(part: P, run: Callable[[P, Emit], Coroutine[Any, Any, None]], receive: Emit, fds: list[int]) -> None:
    loop = asyncio.get_running_loop()
    finished: list[asyncio.Future[None]] = []
    problems: list[str] = []
    for fd in fds:
        os.set_blocking(fd, False)
        done: asyncio.Future[None] = loop.create_future()
        finished.append(done)
        buffer = bytearray()

        def readable(fd: int = fd, buffer: bytearray = buffer, done: asyncio.Future[None] = done) -> None:
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                return
            buffer.extend(chunk)
            while len(buffer) >= _HEADER.size:
                (size,) = _HEADER.unpack_from(buffer)
                if len(buffer) < _HEADER.size + size:
                    break
                item = pickle.loads(bytes(buffer[_HEADER.size : _HEADER.size + size]))
                del buffer[: _HEADER.size + size]
                if isinstance(item, _Failure):
                    problems.append(item.text)
                else:
                    receive(item)
            if not chunk:
                loop.remove_reader(fd)
                if not done.done():
                    done.set_result(None)

        loop.add_reader(fd, readable)
    try:
        await run(part, receive)
        await asyncio.gather(*finished)
    finally:
        for fd in fds:
            loop.remove_reader(fd)
    if problems:
        raise RuntimeError("a worker process failed:\n" + problems[0])


def _reap(children: list[tuple[int, int]]) -> list[tuple[int, int]]:
    statuses = []
    for pid, fd in children:
        _close(fd)
        _, status = os.waitpid(pid, 0)
        statuses.append((pid, os.waitstatus_to_exitcode(status)))
    children.clear()
    return statuses


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _close(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass
