"""``tidings email``: write or print one issue's email edition (HTML, text or .eml)."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from ..build import load_content, make_context
from ..config import Site, load_site
from ..content.archive import build_archive
from ..errors import ContentError, Problem, SourcePos
from ..mail.message import build_message, encoded_html_size, identity_for
from ..model import Issue
from ..render.email import Edition, render_edition, size_problem
from ..write import write_atomic


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("email", help="write or print one issue's email edition")
    p.add_argument("issue", help="issue number (or slug)")
    p.add_argument("--format", choices=("html", "txt", "eml"), default="html", help="which part (default: html)")
    p.add_argument("-o", "--output", type=Path, help="write to this file instead of standard output")
    p.set_defaults(run=run)


def load_edition(root: str, target: str) -> tuple[Site, Issue, Edition]:
    """Read the repository and render the email edition of one issue (drafts included)."""
    site = load_site(root)
    content = load_content(site)
    archive = build_archive(content.issues, include_drafts=True, now=datetime.now().astimezone())
    wanted = target.lstrip("#")
    issue = archive.by_slug.get(wanted)
    if issue is None and wanted.isdigit():
        issue = archive.by_number.get(int(wanted))
    if issue is None:
        raise ContentError([Problem(SourcePos(site.config.issues_dir), f"no issue numbered or named {target!r}")])
    ctx = make_context(site, archive, content.pages)
    return site, issue, render_edition(ctx, issue)


def run(args: argparse.Namespace) -> int:
    site, issue, edition = load_edition(args.root, args.issue)
    message = build_message(edition, identity_for(site))
    size = encoded_html_size(message)
    found = size_problem(edition, size)
    if found is not None:
        print(f"{'error' if found[0] == 'error' else 'warning'}: {found[1]}", file=sys.stderr)
    data = {"html": edition.html.encode("utf-8"), "txt": edition.text.encode("utf-8"), "eml": message.as_bytes()}[args.format]
    if args.output:
        write_atomic(args.output, data)
        print(f"wrote {args.output} ({len(data)} bytes; HTML part {size / 1024:.1f} KB encoded)", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 1 if found is not None and found[0] == "error" else 0
