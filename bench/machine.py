"""How fast this machine is right now, printed beside every benchmark's figures.

The benchmarks run on a shared virtual machine whose speed drifts by a third within minutes.
The load average does not show a busy neighbour; timing a fixed piece of work does:
one core, then two at once. Compare runs by these two numbers before comparing their figures.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

_WORK = "sum(range(20_000_000))"


def _run(copies: int) -> float:
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", _WORK]) for _ in range(copies)]
    for proc in procs:
        proc.wait()
    return time.perf_counter() - started


def machine_line() -> str:
    """One line: the reference work on one core and on two at once, and the load average."""
    one = min(_run(1) for _ in range(2))
    two = _run(2)
    load = os.getloadavg()[0]
    return f"machine: reference loop {one:.2f} s on one core, {two:.2f} s on two at once; load average {load:.2f}; {os.cpu_count()} cores"


if __name__ == "__main__":
    print(machine_line())
