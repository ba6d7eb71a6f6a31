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
from pathlib import Path

_WORK = "sum(range(20_000_000))"


def _run(copies: int) -> float:
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", _WORK]) for _ in range(copies)]
    for proc in procs:
        proc.wait()
    return time.perf_counter() - started


def child_env() -> dict[str, str]:
    """The environment for timed child processes: this one's, with Python's bytecode cache on.

    This sandbox sets PYTHONDONTWRITEBYTECODE=1, so every process compiled Tidings' modules
    from source (0.16–0.2 s of each build, before session 5). An installed tool keeps its
    compiled modules; the benchmarks compile them once (:func:`compile_sources`) and time that.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def compile_sources(folder: Path) -> None:
    """Write the bytecode cache of a package's modules, as a first run would."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(folder)], check=True, env=child_env())


def machine_line() -> str:
    """One line: the reference work on one core and on two at once, and the load average."""
    one = min(_run(1) for _ in range(2))
    two = _run(2)
    load = os.getloadavg()[0]
    return f"machine: reference loop {one:.2f} s on one core, {two:.2f} s on two at once; load average {load:.2f}; {os.cpu_count()} cores"


if __name__ == "__main__":
    print(machine_line())
