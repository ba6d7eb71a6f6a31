"""Benchmark of ``tidings check``: speed against the politeness floor, politeness, cache, memory.

    python bench/bench_check.py            # about 1–2 minutes, prints figures

What it does (all on 127.0.0.1; the fake web runs in its own process and
plays 100 hosts on 127.0.0.1 … 127.0.0.100, answering after 50 ms):

1. engine, cold: 1,000 unique URLs with the default settings (32 in flight,
   2 per host, 0.1 s between starts on a host). The floor is
   max(URLs × latency ÷ min(concurrency, hosts × per_host), URLs per host × interval).
2. the server's own count of the most requests ever in flight per host.
3. ``tidings check`` on a site whose issue holds the same 1,000 links: cold,
   then warm — the warm run must make zero requests.
4. memory: a separate process checks 10,000 URLs; its peak RSS.
5. LinkChecker (PyPI), when installed in /tmp/lcvenv or bench/.venv (never in
   the project's environment), checks the same 1,000 URLs; the ratio is printed.
   Install: python3 -m venv /tmp/lcvenv && /tmp/lcvenv/bin/pip install linkchecker
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx

from generator.cli import main as tidings
from generator.config import CheckConfig
from generator.net.linkcheck import LinkChecker

HOSTS = 100
URLS = 1000
LATENCY = 0.05
MEMORY_URLS = 10_000


@contextmanager
def fake_web(hosts: int, latency: float) -> Iterator[int]:
    """The fake web in a child process; it stops when our end of its stdin closes (or after 240 s)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.net.fakeweb", "--hosts", str(hosts), "--latency", str(latency), "--seconds", "240"],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield port
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def stats(port: int) -> dict[str, Any]:
    """The fake web's own counters (requests, most in flight per host)."""
    data: dict[str, Any] = httpx.get(f"http://127.0.0.1:{port}/__stats", timeout=10).json()
    return data


def reset(port: int) -> None:
    httpx.get(f"http://127.0.0.1:{port}/__reset", timeout=10)


def urls_for(port: int, count: int, hosts: int, prefix: str = "ok") -> list[str]:
    return [f"http://127.0.0.{i % hosts + 1}:{port}/{prefix}/{i}" for i in range(count)]


def floor_seconds(config: CheckConfig, urls: int, hosts: int, latency: float) -> float:
    slots = min(config.concurrency, hosts * config.per_host)
    per_host = -(-urls // hosts)
    host_floor = max(per_host * latency / config.per_host, (per_host - 1) * config.host_interval + latency)
    return max(urls * latency / slots, host_floor)


def engine_run(port: int) -> None:
    config = CheckConfig(allow_private=True)
    urls = urls_for(port, URLS, HOSTS)
    reset(port)
    started = time.perf_counter()
    cpu = time.process_time()
    results = LinkChecker(config, user_agent="tidings-bench").check(urls)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    counters = stats(port)
    floor = floor_seconds(config, URLS, HOSTS, LATENCY)
    ok = sum(1 for s in results.values() if s.kind == "ok")
    peak = max(counters["peak"].values())
    print(f"engine, cold: {URLS} URLs / {HOSTS} hosts / {LATENCY * 1000:.0f} ms: {wall:.2f} s; floor {floor:.2f} s "
          f"(concurrency {config.concurrency}, per host {config.per_host}, interval {config.host_interval} s); "
          f"ratio {wall / floor:.2f}× (target ≤ 1.2×); client CPU {cpu:.2f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  results: {ok} ok of {len(results)}; server saw {counters['requests']} requests; "
          f"max in flight per host (server side): {peak} (limit {config.per_host}); over all hosts: {counters['peak_total']} (limit {config.concurrency})")


def cli_runs(port: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "content/issues").mkdir(parents=True)
        (root / "tidings.yaml").write_text(
            "title: Bench\nbase_url: https://bench.example/\ncheck:\n  allow_private: true\n", "utf-8"
        )
        lines = [f"- [Link {i}]({url}) item {i}." for i, url in enumerate(urls_for(port, URLS, HOSTS, "okcli"))]
        (root / "content/issues/1.md").write_text("---\ntitle: Issue 1\ndate: 2024-01-05\n---\n\n## Links\n\n" + "\n".join(lines) + "\n", "utf-8")
        timings = []
        for label in ("cold", "warm"):
            reset(port)
            started = time.perf_counter()
            with open(os.devnull, "w") as sink:
                saved, sys.stdout = sys.stdout, sink
                try:
                    code = tidings(["-C", str(root), "check"])
                finally:
                    sys.stdout = saved
            wall = time.perf_counter() - started
            counters = stats(port)
            timings.append(wall)
            print(f"tidings check, {label}: {wall:.2f} s, exit {code}, server requests {counters['requests']}"
                  + ("  (target: 0)" if label == "warm" else "  (GET: page titles are read on first sight)"))
        return timings[0]


def memory_child(port: int) -> None:
    config = CheckConfig(allow_private=True, concurrency=32, host_interval=0.0)
    urls = urls_for(port, MEMORY_URLS, HOSTS, "okmem")
    started = time.perf_counter()
    results = LinkChecker(config, user_agent="tidings-bench").check(urls)
    wall = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"urls": len(results), "ok": sum(s.kind == "ok" for s in results.values()), "seconds": wall, "peak_mb": peak_mb}))


def memory_run(port: int) -> None:
    out = subprocess.run(
        [sys.executable, __file__, "--memory-child", str(port)], cwd=ROOT, capture_output=True, text=True, timeout=150, check=False
    )
    if out.returncode != 0:
        print("memory run failed:", out.stderr[-500:])
        return
    data = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"memory: {data['urls']} URLs checked ({data['ok']} ok) in {data['seconds']:.1f} s; peak RSS {data['peak_mb']:.0f} MB (target < 150 MB)")


def linkchecker_binary() -> str | None:
    for candidate in (Path("/tmp/lcvenv/bin/linkchecker"), ROOT / "bench/.venv/bin/linkchecker"):
        if candidate.exists():
            return str(candidate)
    return shutil.which("linkchecker")


def linkchecker_run(port: int, ours: float) -> None:
    binary = linkchecker_binary()
    if binary is None:
        print("linkchecker: not installed (see the docstring); no comparison")
        return
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "links.html"
        anchors = "\n".join(f'<a href="{u}">{i}</a>' for i, u in enumerate(urls_for(port, URLS, HOSTS, "oklc")))
        page.write_text(f"<!doctype html><html><head><title>links</title></head><body>{anchors}</body></html>", "utf-8")
        os.chmod(tmp, 0o755)  # linkchecker drops privileges when run as root
        os.chmod(page, 0o644)
        reset(port)
        started = time.perf_counter()
        try:
            out = subprocess.run(
                [binary, "--check-extern", "--no-status", "--verbose", "-o", "csv", str(page)], capture_output=True, text=True, timeout=170, check=False
            )
        except subprocess.TimeoutExpired:
            print("linkchecker: still running after 170 s; stopped")
            return
        wall = time.perf_counter() - started
    counters = stats(port)
    rows = sum(1 for line in out.stdout.splitlines() if "/oklc/" in line)
    print(f"linkchecker {binary}: {wall:.2f} s for {rows} URL rows, server requests {counters['requests']}; "
          f"tidings check (cold, same URLs) {ours:.2f} s → tidings is {wall / ours:.1f}× faster (target ≥ 3×)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--memory-child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--skip-linkchecker", action="store_true")
    parser.add_argument("--engine-only", action="store_true", help="only the engine run (step 1 and 2)")
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return
    total = time.perf_counter()
    with fake_web(HOSTS, LATENCY) as port:
        engine_run(port)
        if args.engine_only:
            return
        ours = cli_runs(port)
        memory_run(port)
        if not args.skip_linkchecker:
            linkchecker_run(port, ours)
    print(f"benchmark took {time.perf_counter() - total:.0f} s")


if __name__ == "__main__":
    main()
