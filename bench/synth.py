"""Generate a synthetic newsletter archive for benchmarks.

Each issue is DevOps-Weekly shaped (sponsor, news, tools, events, jobs), about
6 KB with about 20 links, and roughly one link in ten repeats a link from an
earlier issue. The text is assembled from a small vocabulary written for this
benchmark, seeded so every run produces the same bytes.

    python bench/synth.py OUT_DIR [--issues 1000] [--pelican]
"""

from __future__ import annotations

import argparse
import random
from datetime import date, timedelta
from pathlib import Path

SUBJECTS = [
    "container images", "service meshes", "alert fatigue", "database failover", "build caches",
    "canary releases", "log pipelines", "secret rotation", "load balancers", "feature flags",
    "incident reviews", "capacity planning", "trace sampling", "schema migrations", "edge caching",
    "cost dashboards", "runbooks", "chaos experiments", "queue backpressure", "config drift",
]
VERBS = ["explains", "walks through", "compares", "measures", "questions", "untangles", "documents", "revisits"]
OPENERS = [
    "A thoughtful post that", "This long read", "A short case study that", "The team behind a busy platform",
    "An engineer on call for years", "A conference talk that", "A practical guide that", "This write-up",
]
CLOSERS = [
    "Worth reading before your next design review.",
    "The diagrams alone make it worth a look.",
    "Bookmark it for the next time the pager goes off.",
    "It ends with a checklist you can adapt on the spot.",
    "A good one to share with the whole team.",
    "Expect some strong opinions and a few useful numbers.",
]
HOSTS = ["notes.example", "ops.example", "platform.example", "sre.example", "builds.example", "infra.example"]
TOOLS = ["shipwright", "tidemark", "keelson", "bilgepump", "crowsnest", "gangway", "bollard", "halyard"]


def sentence(rng: random.Random) -> str:
    subject = rng.choice(SUBJECTS)
    return f"{rng.choice(OPENERS)} {rng.choice(VERBS)} {subject} and what it costs to get {rng.choice(SUBJECTS)} right. {rng.choice(CLOSERS)}"


def make_link(rng: random.Random, n: int, k: int, seen: list[str]) -> str:
    if seen and rng.random() < 0.10:
        return rng.choice(seen)
    url = f"https://{rng.choice(HOSTS)}/{2020 + n // 52}/{n:04d}/{k:02d}-{rng.choice(SUBJECTS).replace(' ', '-')}"
    seen.append(url)
    return url


def item(rng: random.Random, n: int, k: int, seen: list[str], links: int = 1) -> str:
    text = sentence(rng) + " " + sentence(rng)
    lines = [text]
    for j in range(links):
        url = make_link(rng, n, k * 3 + j, seen)
        lines.append(f"<br>[{url}]({url})")
    return "\n".join(lines)


def issue_text(n: int, day: date, rng: random.Random, seen: list[str], *, pelican: bool) -> str:
    title = f"Synthetic Weekly #{n}"
    if pelican:
        header = f"Title: {title}\nNumber: {n}\nDate: {day.isoformat()} 08:00\nTags: {rng.choice(SUBJECTS)}, weekly\nCategory: Synthetic Weekly\n\n"
    else:
        header = f"---\ntitle: \"{title}\"\ndate: {day.isoformat()} 08:00\ntags: [{rng.choice(SUBJECTS)}, weekly]\n---\n\n"
    parts = [header, sentence(rng) + "\n"]
    parts.append("\nSponsor\n=======\n\n" + item(rng, n, 0, seen) + "\n")
    parts.append("\nNews\n====\n")
    for k in range(1, 10):
        parts.append("\n" + item(rng, n, k, seen, links=2 if k % 4 == 0 else 1) + "\n")
    parts.append("\nTools\n=====\n")
    for k in range(10, 15):
        tool = rng.choice(TOOLS)
        parts.append(f"\n{tool.capitalize()} is a small tool for {rng.choice(SUBJECTS)}. " + item(rng, n, k, seen) + "\n")
    parts.append("\nEvents\n======\n\n" + item(rng, n, 16, seen) + "\n")
    parts.append("\nJobs\n====\n\n" + item(rng, n, 17, seen) + "\n")
    return "".join(parts)


def generate(out: Path, *, issues: int = 1000, pelican: bool = False, seed: int = 7) -> Path:
    """Write a complete site (tidings.yaml + content/issues) into ``out``; return it."""
    rng = random.Random(seed)
    issues_dir = out / "content" / "issues"
    issues_dir.mkdir(parents=True, exist_ok=True)
    (out / "tidings.yaml").write_text(
        "title: Synthetic Weekly\nbase_url: https://synthetic.example/\ndescription: A generated archive for benchmarks.\n",
        encoding="utf-8",
    )
    seen: list[str] = []
    # Weekly from 2005 up to 1,000 issues (about 19 years). A larger archive is daily, ending in
    # 2024, so that every issue is in the past and published (weekly, 10,000 would run to 2196).
    step = timedelta(weeks=1) if issues <= 1000 else timedelta(days=1)
    start = date(2005, 1, 2) if issues <= 1000 else date(2024, 12, 31) - step * (issues - 1)
    for n in range(1, issues + 1):
        text = issue_text(n, start + step * (n - 1), rng, seen, pelican=pelican)
        (issues_dir / f"{n:05d}.md").write_text(text, encoding="utf-8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--issues", type=int, default=1000)
    parser.add_argument("--pelican", action="store_true", help="Pelican 'Key: value' headers instead of YAML")
    args = parser.parse_args()
    generate(args.out, issues=args.issues, pelican=args.pelican)
    print(f"wrote {args.issues} issues to {args.out}")


if __name__ == "__main__":
    main()
