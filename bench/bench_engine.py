"""Time the build engine: cold, no-change and one-edit builds, the live preview, and peers.

    python bench/bench_engine.py [--issues 1000] [--repeat 3] [--peers] [--scale] [--no-twir] [--no-serve]

- A synthetic archive of N issues (bench/synth.py: about 6 KB and 20 links
  each, one link in ten repeating an earlier one) is written in the native
  format, and with Pelican headers for the peers. Its files are aged an hour,
  as in a repository checked out earlier (a file changed within two seconds
  of a build is re-hashed by the next one, by design).
- Every ``tidings build`` runs in a fresh process, as on the command line:
  the wall time is the process's, from start to exit. ``build()`` is the time
  inside the build, without interpreter start, imports and exit.
  - cold: no output folder and no build state;
  - cold, website only: the same issues with email editions and search off
    (what the peers build; their ratios are given against both);
  - no change: the same repository built again;
  - one edit: one issue's text changed, then built (with everything, and as
    a website alone); the first edit after a cold build is shown apart (it has
    no spare site to reuse), and the median of the --repeat edits after it;
  - new item, newest issue: an item with a new link added at the top of the
    newest issue (the editor writing this week's), everything and website.
- serve: a PreviewServer on the archive; an issue file is changed and the time
  until the browser's event stream announces the new build, plus fetching the
  page, is measured (what a reader of the open page waits for).
- --peers: Pelican 4.12 (installed in bench/.venv-peers, or `pip install
  .[bench]` there) builds the Pelican copy; Hugo (Debian package `hugo`)
  builds the same issues with minimal layouts. Ratios compare cold builds:
  ours with everything, and ours as a website alone. Our website builds and
  the peers' builds take turns (one of each, --repeat times), so that each
  round shares the machine's minute.
- --scale: 10,000 issues, cold, against the 1,000-issue cold builds just
  before and just after it (and against the cold median).

Reports wall time, CPU time (user+system, all processes), peak memory (largest
process) and files written, median of --repeat runs.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TWIR = REPO.parent / "shared" / "corpus" / "twir"
sys.path.insert(0, str(HERE))
from machine import child_env, compile_sources, machine_line  # noqa: E402
PEERS_VENV = HERE / ".venv-peers"

_CHILD = r"""
import json, resource, sys, time
started = time.perf_counter()
from generator.config import load_site
from generator.uptodate import BuildOptions, check_up_to_date
from pathlib import Path
site = load_site(sys.argv[1])
inner = time.perf_counter()
options = BuildOptions(output_dir=Path(sys.argv[2]), cleanup="process")  # as `tidings build`: the old site is deleted by rm
report, scan = check_up_to_date(site, options)  # as `tidings build` does: no renderer is imported when nothing changed
if report is None:
    from generator.build import build
    report = build(site, options, scan=scan)
done = time.perf_counter()
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": done - started, "build": done - inner, "outputs": report.outputs, "rendered": report.rendered,
                  "written": report.written, "issues": report.issues, "phases": report.phases,
                  "search_seconds": report.search_seconds,
                  "cpu": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
                  "rss_mb": max(me.ru_maxrss, kids.ru_maxrss) / 1024}))
from generator.cli import exit_now
exit_now(0)  # as `tidings build` ends
"""


def tidings(site: Path, out: Path) -> dict:
    """One build in a fresh process; its wall time is the process's, start-up and exit included."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(site), str(out)], cwd=REPO, env=child_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"build of {site} failed:\n{stderr}")
    result: dict = json.loads(stdout.strip().splitlines()[-1])
    result["wall"] = wall
    return result


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> dict:
    """Run a peer's command; wall, CPU and peak memory of its process tree (via wait4)."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, env=env or child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{proc.stderr.read().decode() if proc.stderr else ''}")
    return {"wall": wall, "build": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024}


def median_of(runs: list[dict]) -> dict:
    runs = sorted(runs, key=lambda r: r["wall"])
    middle = dict(runs[len(runs) // 2])
    middle["walls"] = [r["wall"] for r in runs]
    return middle


def age(folder: Path, seconds: float = 3600) -> None:
    past = time.time() - seconds
    for path in folder.rglob("*"):
        if path.is_file():
            os.utime(path, (past, past))


def files_in(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file())


def edit(site: Path, rng: random.Random) -> Path:
    """Change one sentence of one issue (a different one each time)."""
    files = sorted((site / "content" / "issues").glob("*.md"))
    target = files[rng.randrange(len(files) // 2, len(files))]
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace("\nNews\n====\n", f"\nNews\n====\n\nEdited at {time.time_ns()}.\n", 1), encoding="utf-8")
    return target


def add_item(site: Path) -> Path:
    """Add an item with a new link at the top of the newest issue's News: the editor writing this week's issue."""
    target = sorted((site / "content" / "issues").glob("*.md"))[-1]
    stamp = time.time_ns()
    text = target.read_text(encoding="utf-8")
    item = f"A tool found this week, number {stamp}.\n<br>[https://new.example/{stamp}](https://new.example/{stamp})\n"
    target.write_text(text.replace("\nNews\n====\n", f"\nNews\n====\n\n{item}", 1), encoding="utf-8")
    return target


# ---------------------------------------------------------------- our builds


def ours(site: Path, scratch: Path, repeat: int, rng: random.Random) -> dict[str, dict]:
    cold = [cold_build(site, scratch / f"cold-{i}") for i in range(repeat)]
    out = scratch / f"cold-{repeat - 1}"
    warm = [tidings(site, out) for _ in range(repeat)]
    first, edits = edit_builds(site, out, repeat, rng)
    added = item_builds(site, out, repeat)
    return {
        "cold": median_of(cold), "no change": median_of(warm), "first edit after cold": first, "one edit": median_of(edits),
        "new item, newest issue": median_of(added),
    }


def item_builds(site: Path, out: Path, repeat: int, built: Path | None = None) -> list[dict]:
    """``repeat`` builds, each after :func:`add_item` (``built``: the site built, if not ``site``)."""
    return builds_after(lambda: add_item(site), built or site, out, repeat)


def builds_after(change: Callable[[], object], site: Path, out: Path, count: int) -> list[dict]:
    """``count`` builds of ``site``, each after ``change``."""
    runs = []
    for _ in range(count):
        change()
        runs.append(tidings(site, out))
    return runs


def edit_builds(site: Path, out: Path, repeat: int, rng: random.Random, built: Path | None = None) -> tuple[dict, list[dict]]:
    """The first edit after a cold build, and ``repeat`` edits after it (``built``: the site built, if not ``site``).

    The first is timed apart: a cold build leaves no spare site beside the output folder, so
    that edit links every carried file into a new one (see docs/architecture.md, commit). An
    editor's next edits, and their preview, reuse the spare.
    """
    runs = builds_after(lambda: edit(site, rng), built or site, out, repeat + 1)
    return runs[0], runs[1:]


def cold_build(site: Path, out: Path) -> dict:
    """A cold build of ``site`` (no build state, a new output folder), with the files it wrote."""
    shutil.rmtree(site / ".tidings", ignore_errors=True)
    result = tidings(site, out)
    result["files"] = files_in(out)
    return result


def serve_latency(site: Path, repeat: int, rng: random.Random) -> tuple[list[float], list[float]]:
    """(ms from saving a file to the browser's reload signal, ms to that plus fetching the page)."""
    sys.path.insert(0, str(REPO))
    from generator.serve import EVENTS_PATH, PreviewServer

    signals: list[float] = []
    pages: list[float] = []
    with PreviewServer(site, port=0) as server:
        events: list[tuple[int, float]] = []
        ready = threading.Event()

        def listen() -> None:
            conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
            conn.request("GET", EVENTS_PATH)
            response = conn.getresponse()
            ready.set()
            try:
                while len(events) < repeat + 1:
                    line = response.fp.readline()
                    if not line:
                        return
                    if line.startswith(b"data:"):
                        events.append((int(line[5:].strip()), time.perf_counter()))
            except OSError:
                return

        thread = threading.Thread(target=listen, daemon=True)
        thread.start()
        ready.wait(10)
        deadline = time.monotonic() + 20
        while not events and time.monotonic() < deadline:
            time.sleep(0.01)
        for _ in range(repeat):
            seen = len(events)
            time.sleep(0.5)  # the watcher is idle again
            saved = time.perf_counter()
            target = edit(site, rng)
            while len(events) == seen and time.perf_counter() - saved < 30:
                time.sleep(0.002)
            if len(events) == seen:
                raise SystemExit("the preview did not rebuild within 30 s")
            signals.append((events[-1][1] - saved) * 1000)
            number = int(target.stem)
            conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
            conn.request("GET", f"/issues/{number}/")
            body = conn.getresponse().read()
            pages.append((time.perf_counter() - saved) * 1000)
            assert b"Edited at" in body, "the page does not show the edit"
    return signals, pages


# ---------------------------------------------------------------- peers


def pelican_python() -> Path | None:
    python = PEERS_VENV / "bin" / "python"
    if python.exists():
        return python
    print(f"  (Pelican: creating {PEERS_VENV} and installing pelican 4.12 + markdown from PyPI)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
    done = subprocess.run([str(python), "-m", "pip", "install", "-q", "pelican==4.12.*", "markdown"], check=False)
    return python if done.returncode == 0 else None


def pelican_site(corpus: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pelicanconf.py").write_text(
        f"""SITENAME = "Synthetic Weekly"
SITEURL = ""
PATH = {str(corpus / "content" / "issues")!r}
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
DEFAULT_PAGINATION = 100
FEED_ALL_ATOM = "feeds/all.atom.xml"
FEED_ALL_RSS = "feeds/all.rss.xml"
CATEGORY_FEED_ATOM = None
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
LOAD_CONTENT_CACHE = False
""",
        encoding="utf-8",
    )
    return folder


def hugo_site(corpus: Path, folder: Path) -> Path:
    """The same issues as Hugo content, with small layouts (Hugo has no default theme)."""
    posts = folder / "content" / "issues"
    posts.mkdir(parents=True, exist_ok=True)
    for source in sorted((corpus / "content" / "issues").glob("*.md")):
        (posts / source.name).write_bytes(source.read_bytes())
    (folder / "hugo.toml").write_text(
        'baseURL = "https://synthetic.example/"\ntitle = "Synthetic Weekly"\npaginate = 100\n'
        '[taxonomies]\ntag = "tags"\n',
        encoding="utf-8",
    )
    layouts = folder / "layouts" / "_default"
    layouts.mkdir(parents=True, exist_ok=True)
    (layouts / "baseof.html").write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ .Title }} · {{ site.Title }}</title></head>'
        '<body><nav><a href="/">Home</a> <a href="/tags/">Tags</a></nav><main>{{ block "main" . }}{{ end }}</main></body></html>\n',
        encoding="utf-8",
    )
    (layouts / "single.html").write_text(
        '{{ define "main" }}<article><h1>{{ .Title }}</h1><time>{{ .Date.Format "2 January 2006" }}</time>{{ .Content }}</article>'
        '<nav>{{ with .PrevInSection }}<a href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }}'
        '{{ with .NextInSection }}<a href="{{ .RelPermalink }}">{{ .Title }}</a>{{ end }}</nav>{{ end }}\n',
        encoding="utf-8",
    )
    (layouts / "list.html").write_text(
        '{{ define "main" }}<h1>{{ .Title }}</h1><ul>{{ range .Paginator.Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> '
        '{{ .Summary }}</li>{{ end }}</ul>{{ with .Paginator.Next }}<a href="{{ .URL }}">Older</a>{{ end }}{{ end }}\n',
        encoding="utf-8",
    )
    (folder / "layouts" / "index.html").write_text(
        '{{ define "main" }}{{ range first 1 (where site.RegularPages "Section" "issues") }}<h1>{{ .Title }}</h1>{{ .Content }}{{ end }}'
        '<ul>{{ range first 11 (where site.RegularPages "Section" "issues") }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul>{{ end }}\n',
        encoding="utf-8",
    )
    return folder


def website_and_peers(
    website: Path, corpus_native: Path, corpus_pelican: Path | None, scratch: Path, repeat: int
) -> tuple[dict, dict[str, dict]]:
    """Cold builds of our website and of each peer's site, taking turns.

    The machine's speed drifts by half within minutes, so a peer timed a minute after us
    could look twice as fast or slow; in turns, each round of builds shares a minute and
    the ratio of the medians compares like with like.
    """
    # (name, output folder prefix, build into a folder)
    builders: list[tuple[str, str, Callable[[Path], dict]]] = [("website", "website", lambda out: cold_build(website, out))]
    if corpus_pelican is not None:
        python = pelican_python()
        if python is not None:
            site = pelican_site(corpus_pelican, scratch / "pelican")
            version = subprocess.run([str(python), "-m", "pelican", "--version"], capture_output=True, text=True).stdout.strip()

            def pelican(out: Path, site: Path = site, python: Path = python) -> dict:
                return timed([str(python), "-m", "pelican", "-s", "pelicanconf.py", "-o", str(out), "-q"], site)

            builders.append((f"Pelican {version}", "pelican-out", pelican))
        hugo = shutil.which("hugo")
        if hugo:
            site = hugo_site(corpus_native, scratch / "hugo")
            version = subprocess.run([hugo, "version"], capture_output=True, text=True).stdout.split()[1]

            def hugo_build(out: Path, site: Path = site, hugo: str = hugo) -> dict:
                return timed([hugo, "--quiet", "--destination", str(out), "--cacheDir", str(out.with_name(out.name + "-cache"))], site)

            builders.append((f"Hugo {version}", "hugo-out", hugo_build))
        else:
            print("  (Hugo: not on PATH; `apt-get install hugo` to compare)")
    runs: dict[str, list[dict]] = {name: [] for name, _, _ in builders}
    for i in range(repeat):
        for name, prefix, build_into in builders:
            out = scratch / f"{prefix}-{i}"
            result = build_into(out)
            result.setdefault("files", files_in(out))
            runs[name].append(result)
    return median_of(runs.pop("website")), {name: median_of(found) for name, found in runs.items()}


# ---------------------------------------------------------------- report


def row(name: str, r: dict) -> str:
    walls = ", ".join(f"{w:.2f}" for w in r.get("walls", [r["wall"]]))
    return (
        f"{name:<44} {r['wall']:>8.3f} {r['build']:>9.3f} {r['cpu']:>7.2f} {r['rss_mb']:>7.0f} "
        f"{r.get('rendered', r.get('files', 0)):>8} {r.get('files', r.get('written', 0)):>7}   runs: {walls}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Time the build engine and compare with Pelican and Hugo.")
    parser.add_argument("--issues", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peers", action="store_true", help="also build with Pelican (venv) and Hugo (if on PATH)")
    parser.add_argument("--scale", action="store_true", help="also a cold build of 10x the issues")
    parser.add_argument("--no-twir", action="store_true")
    parser.add_argument("--no-serve", action="store_true")
    args = parser.parse_args()
    from synth import generate

    compile_sources(REPO / "generator")

    rng = random.Random(11)
    print(machine_line())
    print(f"load average at start: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}; {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="tidings-engine-") as tmp:
        scratch = Path(tmp)
        native = generate(scratch / "native", issues=args.issues)
        age(native)
        results = {f"{k} ({args.issues})": v for k, v in ours(native, scratch / "ours", args.repeat, rng).items()}
        cold = results[f"cold ({args.issues})"]
        # The same issues as a website alone (no email editions, no search), which is what the
        # peers build: their times are compared with this one too.
        website = scratch / "website"
        website.mkdir()
        (website / "tidings.yaml").write_text(
            (native / "tidings.yaml").read_text(encoding="utf-8") + "email: {editions: false}\nweb: {search: false}\n", encoding="utf-8"
        )
        (website / "content").symlink_to(native / "content", target_is_directory=True)
        pelican_copy = generate(scratch / "pelican-corpus", issues=args.issues, pelican=True) if args.peers else None
        site_only, peer_results = website_and_peers(website, native, pelican_copy, scratch, args.repeat)
        results[f"cold, website only ({args.issues})"] = site_only
        # The website shares the native copy's content folder: edits go there.
        first, edits = edit_builds(native, scratch / f"website-{args.repeat - 1}", args.repeat, rng, built=website)
        results[f"first edit after cold, website only ({args.issues})"] = first
        results[f"one edit, website only ({args.issues})"] = median_of(edits)
        added = item_builds(native, scratch / f"website-{args.repeat - 1}", args.repeat, built=website)
        results[f"new item, newest issue, website only ({args.issues})"] = median_of(added)
        if not args.no_twir and TWIR.is_dir():
            twir = scratch / "twir"
            twir.mkdir()
            (twir / "tidings.yaml").write_text(f"title: This Week in Rust\nbase_url: https://twir.example/\nissues_dir: {TWIR}\n", encoding="utf-8")
            runs = [cold_build(twir, scratch / f"twir-{i}") for i in range(args.repeat)]
            results[f"TWiR cold ({runs[0]['issues']} issues)"] = median_of(runs)
        framing: list[dict] = []
        if args.scale:
            # The 10× build framed by two cold builds of the 1,000 issues, just before and just after it.
            big = generate(scratch / "big", issues=args.issues * 10)
            age(big)
            framing.append(cold_build(native, scratch / "frame-before"))
            runs = [cold_build(big, scratch / "big-out")]
            framing.append(cold_build(native, scratch / "frame-after"))
            results[f"cold ({args.issues * 10})"] = median_of(runs)
        print(f"\n{'build':<44} {'wall s':>8} {'build() s':>9} {'cpu s':>7} {'peak MB':>7} {'rendered':>8} {'files':>7}")
        for name, r in {**results, **peer_results}.items():
            print(row(name, r))
        kinds: dict[str, int] = {}
        out = scratch / "ours" / f"cold-{args.repeat - 1}"
        for path in out.rglob("*"):
            if path.is_file():
                top = path.relative_to(out).parts[0]
                kind = "email editions" if top == "email" else "feeds" if path.suffix in (".xml", ".json") and top != "sitemap.xml" else "site"
                kinds[kind] = kinds.get(kind, 0) + 1
        print("\nwhat a build of the synthetic archive produces: " + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())))
        for name in ("cold", "one edit", "one edit, website only"):
            phases = "  ".join(f"{k} {v:.3f}s" for k, v in results[f"{name} ({args.issues})"]["phases"].items())
            print(f"{name} build phases (median run): {phases}")
        if "search" in cold["phases"]:
            edited = results[f"one edit ({args.issues})"]
            print(f"search indexing: {cold['search_seconds']:.3f}s in the cold build; {edited.get('search_seconds', 0):.3f}s in the edit, "
                  f"which waited {edited['phases'].get('search', 0):.3f}s of it (the rest ran beside its diff and render)")
        else:
            print("search indexing: no search phase in this build")
        for name, r in peer_results.items():
            print(f"cold build time vs {name}: everything {cold['wall'] / r['wall']:.2f}× theirs ({r['wall'] / cold['wall']:.1f}× faster); "
                  f"website only {site_only['wall'] / r['wall']:.2f}× theirs ({r['wall'] / site_only['wall']:.1f}× faster)")
        if args.scale:
            big_wall = results[f"cold ({args.issues * 10})"]["wall"]
            framed = statistics.mean(r["wall"] for r in framing)
            around = ", ".join(f"{r['wall']:.2f}" for r in framing)
            print(f"10× the issues: {big_wall / framed:.1f}× the time of the {args.issues:,}-issue builds just before and after it "
                  f"({around} s); {big_wall / cold['wall']:.1f}× the cold median above")
        if not args.no_serve:
            signals, pages = serve_latency(native, max(args.repeat, 5), rng)
            print(
                f"serve, one edit → reload signal: median {statistics.median(signals):.0f} ms (runs {', '.join(f'{s:.0f}' for s in signals)}); "
                f"→ page fetched: median {statistics.median(pages):.0f} ms"
            )
    print(f"load average at end: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
