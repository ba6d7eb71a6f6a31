"""Worker processes that never outlive the command that forked them.

A pool's workers wait on a pipe that their sibling workers also hold open, so
when the parent is killed (``kill -9``, an out-of-memory kill) they would never
see it close and would wait forever. On Linux each worker asks the kernel to
kill it when its parent dies; elsewhere it watches its parent instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
import time

__all__ = ["die_with_parent"]

_PR_SET_PDEATHSIG = 1
_SIGKILL = 9


def die_with_parent() -> None:
    """Pool initializer: end this process when the process that forked it ends."""
    parent = os.getppid()
    if sys.platform.startswith("linux") and _ask_kernel():
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)
        return
    threading.Thread(target=_watch, args=(parent,), daemon=True, name="tidings-parent-watch").start()


def _ask_kernel() -> bool:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return bool(libc.prctl(_PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)
