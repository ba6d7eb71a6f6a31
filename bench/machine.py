"""How fast this machine is right now, printed beside every benchmark's figures.

The benchmarks run on a shared virtual machine whose speed drifts by a third within minutes.
The load average does not show a busy neighbour; timing a fixed piece of work does:
one core, then two at once. Compare runs by these two numbers before comparing their figures.

Making files drifts even more: a folder with a 17 KB page in it took 0.1 ms on some minutes
and 1.3 ms on others (the kernel's time, in mkdir and open), on the same disk. A cold build
of the 1,000-issue website makes 1,413 files in 1,000 folders, so that alone moved it by up
to 1.5 s. The third number is that cost, where the benchmarks write (the temporary folder).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
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


def _file_cost(count: int = 300) -> float:
    """Milliseconds to make one folder with one page in it, as a build writes ``issues/N/index.html``."""
    page = b"x" * 17_000
    folder = Path(tempfile.mkdtemp(prefix="tidings-machine-"))
    try:
        started = time.perf_counter()
        for number in range(count):
            os.mkdir(folder / str(number))
            with open(folder / str(number) / "index.html", "wb") as fh:
                fh.write(page)
        return (time.perf_counter() - started) * 1000 / count
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def machine_line() -> str:
    """One line: the reference work on one core and on two at once, the cost of making a file, and the load average."""
    one = min(_run(1) for _ in range(2))
    two = _run(2)
    files = _file_cost()
    load = os.getloadavg()[0]
    return (
        f"machine: reference loop {one:.2f} s on one core, {two:.2f} s on two at once; "
        f"{files:.2f} ms a folder and page; load average {load:.2f}; {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    print(machine_line())
