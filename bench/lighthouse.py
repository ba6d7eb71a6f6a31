"""Lighthouse on the built example site: Performance, Accessibility, Best Practices, SEO ≥ 95.

    python bench/lighthouse.py            # home page and an issue page, mobile and desktop
    python bench/lighthouse.py --runs 1   # one run per page (the default is the median of three)

Builds the repository's newsletter with ``base_url`` set to the local server
(so canonical links point at the page being tested, as they do once
deployed), serves it on 127.0.0.1 with the headers of ``netlify.toml``, and
runs the npm ``lighthouse`` command with Debian's Chromium (``CHROME_PATH``).
Prints a table, writes ``bench/results/lighthouse.json`` and exits 1 when a
score is below the target. Slow (about half a minute per run), hence a
benchmark rather than a test.

Needs: ``npm install -g lighthouse`` and /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REPORTS = REPO / "bench" / "out" / "lighthouse"  # full JSON reports, git-ignored
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "browser"))

from generator.build import BuildOptions, build  # noqa: E402
from generator.config import load_site  # noqa: E402
from generator.render import paths  # noqa: E402
from netlify_server import serve_like_netlify  # noqa: E402

CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
METRICS = ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time", "cumulative-layout-shift")
TARGET = 95
CHROME = "/usr/bin/chromium"
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync --no-first-run --disable-quic"


def lighthouse_command() -> list[str]:
    found = shutil.which("lighthouse")
    if not found:
        sys.exit("lighthouse is not installed: npm install -g lighthouse")
    if not Path(CHROME).exists():
        sys.exit(f"{CHROME} is missing: apt-get install -y chromium")
    return [found]


def run_once(command: list[str], url: str, preset: str, out: Path) -> dict[str, float]:
    args = [
        *command,
        url,
        "--output=json",
        f"--output-path={out}",
        f"--only-categories={','.join(CATEGORIES)}",
        f"--chrome-flags={CHROME_FLAGS}",
        "--quiet",
    ]
    if preset == "desktop":
        args.append("--preset=desktop")
    env = {**os.environ, "CHROME_PATH": CHROME}
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 or not out.is_file():
        sys.exit(f"lighthouse failed on {url}: {proc.stderr.strip()[-800:]}")
    report = json.loads(out.read_text(encoding="utf-8"))
    scores: dict[str, float] = {name: round(report["categories"][name]["score"] * 100) for name in CATEGORIES}
    for metric in METRICS:
        scores[metric] = round(report["audits"][metric]["numericValue"])
    scores["benchmarkIndex"] = round(report["environment"]["benchmarkIndex"])
    failing = [a["title"] for a in report["audits"].values() if a.get("score") is not None and a["score"] < 0.9 and a.get("scoreDisplayMode") in ("binary", "numeric")]
    if failing:
        print(f"    below 0.9 on {url} ({preset}): {'; '.join(failing[:8])}", file=sys.stderr)
    return scores


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per page and preset; the median is reported (default 3)")
    parser.add_argument("--presets", default="mobile,desktop", help="comma-separated: mobile, desktop")
    parser.add_argument("--pages", default="home,issue", help="comma-separated: home, issue")
    options = parser.parse_args()
    command = lighthouse_command()
    REPORTS.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory(prefix="tidings-lighthouse-") as tmp:
        public = Path(tmp) / "public"
        public.mkdir()
        with serve_like_netlify(public, REPO / "netlify.toml") as origin:
            site = load_site(REPO, overrides={"base_url": origin + "/"})
            build(site, BuildOptions(output_dir=public, durable=False))
            from generator.build import load_content
            from generator.content.archive import build_archive

            archive = build_archive(load_content(site).issues, include_drafts=False, now=datetime.now().astimezone())
            assert archive.latest is not None, "the example newsletter has no published issue"
            known = {"home": "/", "issue": paths.issue_path(archive.latest)}
            pages = {name: known[name] for name in options.pages.split(",")}
            for preset in options.presets.split(","):
                for name, path in pages.items():
                    runs = [run_once(command, origin + path, preset, REPORTS / f"{name}-{preset}-{i}.json") for i in range(options.runs)]
                    median = {c: int(statistics.median(r[c] for r in runs)) for c in (*CATEGORIES, *METRICS, "benchmarkIndex")}
                    results[f"{name} ({preset})"] = median
                    print(
                        f"{name:<6} {preset:<8} "
                        + "  ".join(f"{c} {median[c]:>3}" for c in CATEGORIES)
                        + f"   (FCP {median['first-contentful-paint']} ms, LCP {median['largest-contentful-paint']} ms, TBT {median['total-blocking-time']} ms, CPU index {median['benchmarkIndex']})",
                        flush=True,
                    )
    record = {
        "measured": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "lighthouse": subprocess.run([*command, "--version"], capture_output=True, text=True).stdout.strip(),
        "chromium": subprocess.run([CHROME, "--version"], capture_output=True, text=True).stdout.strip(),
        "runs": options.runs,
        "load_average": os.getloadavg()[0],
        "target": TARGET,
        "scores": results,
    }
    target = REPO / "bench" / "results" / "lighthouse.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    low = [f"{page}: {c} {scores[c]}" for page, scores in results.items() for c in CATEGORIES if scores[c] < TARGET]
    if low:
        print("below target: " + "; ".join(low), file=sys.stderr)
        return 1
    print(f"all scores ≥ {TARGET}; written to {target.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
