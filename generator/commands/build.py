"""``tidings build``: write the site, email editions and feeds into the output folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import load_site
from ..uptodate import BuildOptions, check_up_to_date


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("build", help="build the site into the output folder (never uses the network)")
    p.add_argument("--drafts", action="store_true", help="include drafts and future-dated issues")
    p.add_argument("-o", "--output", type=Path, help="output folder (default: output_dir from tidings.yaml)")
    p.add_argument("-j", "--jobs", type=int, help="worker processes (default: one per core)")
    p.add_argument("--full", action="store_true", help="render every output, ignoring the build state of earlier builds")
    p.add_argument("-v", "--verbose", action="store_true", help="print the time of each build phase")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    site = load_site(args.root)
    options = BuildOptions(
        drafts=args.drafts, workers=args.jobs, output_dir=args.output.resolve() if args.output else None, full=args.full,
        cleanup="process",  # the command exits right after: the old site is deleted by a process of its own
    )
    report, scan = check_up_to_date(site, options)  # answered without loading the renderers
    if report is None:
        from ..build import build

        report = build(site, options, scan=scan)
    if args.verbose:
        for name, seconds in report.phases.items():
            print(f"  {name:<8} {seconds * 1000:8.1f} ms", file=sys.stderr)
    print(report.summary())
    return 0
