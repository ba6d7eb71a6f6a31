"""Time full builds of a synthetic 1,000-issue archive and of the This Week in Rust corpus.

    python bench/bench_build.py [--issues 1000] [--repeat 3] [--jobs N] [--no-twir]

Each build runs in a fresh process (cold: no cache, a new output folder) so
import time and worker start-up are counted, as an editor would experience
them. Prints wall time, pages per second, peak memory of the main process and
of the largest worker, and the time of each build phase (median run).

Two builds of the synthetic archive are timed: everything a build makes (site,
email editions, feeds, search index), and the website alone (email editions
and search off), which is what the core of the build costs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TWIR = REPO.parent / "shared" / "corpus" / "twir"
sys.path.insert(0, str(HERE))
from machine import child_env, compile_sources, machine_line  # noqa: E402

_CHILD = r"""
import json, resource, sys, time
started = time.perf_counter()
from generator.build import BuildOptions, build
from generator.config import load_site
from pathlib import Path
site = load_site(sys.argv[1])
jobs = int(sys.argv[3]) if sys.argv[3] != "auto" else None
report = build(site, BuildOptions(output_dir=Path(sys.argv[2]), workers=jobs))
wall = time.perf_counter() - started
kib_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kib_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"wall": wall, "outputs": report.outputs, "issues": report.issues, "phases": report.phases,
                  "rss_main_mb": kib_self / 1024, "rss_worker_mb": kib_children / 1024}))
"""


def run_build(site: Path, out: Path, jobs: str) -> dict:
    shutil.rmtree(site / ".tidings", ignore_errors=True)  # cold: no parse cache, no build state
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(site), str(out), jobs], capture_output=True, text=True, cwd=REPO, check=False,
        env=child_env(),
    )
    if result.returncode != 0:
        raise SystemExit(f"build of {site} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure(name: str, site: Path, repeat: int, jobs: str, scratch: Path) -> dict:
    runs = [run_build(site, scratch / f"out-{name}-{i}", jobs) for i in range(repeat)]
    runs.sort(key=lambda r: r["wall"])
    median = runs[len(runs) // 2]
    median["name"] = name
    median["walls"] = [r["wall"] for r in runs]
    return median


def print_row(r: dict) -> None:
    pages = r["outputs"] / r["wall"]
    print(
        f"{r['name']:<28} {r['issues']:>6} {r['outputs']:>7} {r['wall']:>8.2f} {pages:>9.0f} "
        f"{r['rss_main_mb']:>9.0f} {r['rss_worker_mb']:>10.0f}   runs: {', '.join(f'{w:.2f}' for w in r['walls'])}"
    )
    phases = "  ".join(f"{k} {v:.2f}s" for k, v in r["phases"].items())
    print(f"{'':<28} phases: {phases}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Time cold full builds.")
    parser.add_argument("--issues", type=int, default=1000, help="size of the synthetic archive")
    parser.add_argument("--repeat", type=int, default=3, help="runs per corpus; the median is shown")
    parser.add_argument("--jobs", default="auto", help="worker processes (default: one per core)")
    parser.add_argument("--no-twir", action="store_true", help="skip the This Week in Rust corpus")
    args = parser.parse_args()
    from synth import generate

    compile_sources(REPO / "generator")

    with tempfile.TemporaryDirectory(prefix="tidings-bench-") as tmp:
        scratch = Path(tmp)
        synthetic = generate(scratch / "synthetic", issues=args.issues)
        results = [measure(f"synthetic {args.issues}: everything", synthetic, args.repeat, args.jobs, scratch)]
        site_only = generate(scratch / "site-only", issues=args.issues)
        with open(site_only / "tidings.yaml", "a", encoding="utf-8") as fh:
            fh.write("email: {editions: false}\nweb: {search: false}\n")
        results.append(measure(f"synthetic {args.issues}: website only", site_only, args.repeat, args.jobs, scratch))
        if not args.no_twir and TWIR.is_dir():
            twir = scratch / "twir"
            twir.mkdir()
            (twir / "tidings.yaml").write_text(
                f"title: This Week in Rust\nbase_url: https://twir.example/\nissues_dir: {TWIR}\n", encoding="utf-8"
            )
            results.append(measure("This Week in Rust (all)", twir, args.repeat, args.jobs, scratch))
        print(machine_line())
        print(f"{'corpus':<28} {'issues':>6} {'outputs':>7} {'wall s':>8} {'pages/s':>9} {'main MB':>9} {'worker MB':>10}")
        for r in results:
            print_row(r)


if __name__ == "__main__":
    main()
