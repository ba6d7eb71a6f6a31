"""``tidings show``: how one issue file was understood — sections, items, links, lines."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..build import issue_files, issue_settings
from ..config import load_site
from ..content.issues import read_issue
from ..errors import ContentError, Problem, SourcePos
from ..model import Issue, ItemGroup, Prose, Section
from ..serialize import issue_to_dict


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("show", help="print how an issue file is parsed (sections, items, links)")
    p.add_argument("issue", help="an issue number, or the path of an issue file")
    p.add_argument("--json", action="store_true", help="print the parsed issue as JSON")
    p.set_defaults(run=run)


def find_issue(root: str, target: str) -> Issue:
    """An issue by number or by path; ContentError when there is no such issue."""
    site = load_site(root)
    settings = issue_settings(site)
    candidate = Path(target)
    if not candidate.is_absolute():
        candidate = site.root / candidate
    if candidate.is_file():
        return read_issue(site.relative(candidate), candidate.read_bytes(), settings)
    wanted = target.lstrip("#")
    for path in issue_files(site):
        try:
            issue = read_issue(site.relative(path), path.read_bytes(), settings)
        except ContentError:
            continue
        if str(issue.number) == wanted or issue.slug == wanted:
            return issue
    raise ContentError([Problem(SourcePos(site.config.issues_dir), f"no issue numbered or named {target!r}")])


def run(args: argparse.Namespace) -> int:
    issue = find_issue(args.root, args.issue)
    if args.json:
        print(json.dumps(issue_to_dict(issue), indent=2, ensure_ascii=False))
        return 0
    print(f"{issue.label}  {issue.title}")
    print(f"  date {issue.date.isoformat()}  slug {issue.slug}{'  DRAFT' if issue.draft else ''}  tags {', '.join(issue.tags) or '-'}")
    print(f"  file {issue.source_path}")
    if issue.intro:
        print(f"  intro ({issue.intro.pos}) {len(issue.intro.links)} links")
    for section in issue.sections:
        _print_section(section, 1)
    if issue.outro:
        print("  outro")
        _print_blocks(issue.outro, 2)
    items = list(issue.iter_items())
    print(f"  {len(issue.sections)} sections, {len(items)} items, {len(list(issue.iter_links()))} links")
    return 0


def _print_section(section: Section, depth: int) -> None:
    pad = "  " * depth
    print(f"{pad}[{section.kind}] {section.title}  ({section.pos})")
    _print_blocks(section.blocks, depth + 1)
    for sub in section.subsections:
        _print_section(sub, depth + 1)


def _print_blocks(blocks: tuple[Prose | ItemGroup, ...], depth: int) -> None:
    pad = "  " * depth
    for block in blocks:
        if isinstance(block, Prose):
            print(f"{pad}prose ({block.pos}) {len(block.links)} links")
            continue
        for item in block.items:
            print(f"{pad}- {item.display_title}  #{item.anchor}  ({item.pos}){'  [sponsored]' if item.sponsored else ''}")
            for link in item.links:
                labels = "".join(f"[{x}] " for x in link.labels)
                print(f"{pad}    {labels}{link.url}  ({link.pos.line})")
