"""``tidings feeds import FILE.opml`` / ``tidings feeds export``: exchange subscriptions with feed readers."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import load_site
from ..errors import ConfigError
from ..ingest.subscriptions import from_opml, load_subscriptions, parse_subscriptions, specs_to_yaml, to_opml
from ..write import write_atomic


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("feeds", help="import or export subscriptions as OPML")
    actions = p.add_subparsers(dest="feeds_action", metavar="ACTION", required=True)
    imp = actions.add_parser("import", help="add the feeds of an OPML file to feeds/feeds.yaml")
    imp.add_argument("file", type=Path, help="the OPML file")
    imp.set_defaults(run=run_import)
    exp = actions.add_parser("export", help="print feeds/feeds.yaml as OPML (with Tidings' extra fields)")
    exp.add_argument("-o", "--output", type=Path, help="write to this file instead of standard output")
    exp.set_defaults(run=run_export)


def run_export(args: argparse.Namespace) -> int:
    site = load_site(args.root)
    subs = load_subscriptions(site.root, site.config.fetch.feeds_file)
    data = to_opml([s.spec for s in subs], title=f"{site.config.title} subscriptions")
    if args.output:
        write_atomic(args.output, data)
        print(f"wrote {len(subs)} sources to {args.output}")
    else:
        sys.stdout.write(data.decode("utf-8"))
    return 0


def run_import(args: argparse.Namespace) -> int:
    site = load_site(args.root)
    rel = site.config.fetch.feeds_file
    path = site.path(rel)
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise ConfigError.single(str(args.file), 0, f"cannot read: {exc.strerror}") from None
    specs = from_opml(data, str(args.file))
    existing = load_subscriptions(site.root, rel)
    known_urls = {s.spec.url for s in existing} | {s.location for s in existing}
    known_ids = {s.key for s in existing}
    fresh = [s for s in specs if s.url not in known_urls]
    skipped = len(specs) - len(fresh)
    if not fresh:
        print(f"nothing to import: all {len(specs)} feeds are already in {rel}")
        return 0
    text = path.read_text(encoding="utf-8") if path.exists() else "# Subscriptions for `tidings fetch` (see docs/feeds.md).\n"
    if "sources:" not in text:
        text = text.rstrip("\n") + "\nsources:\n"
    block = "\n".join("  " + line if line else line for line in specs_to_yaml(fresh).splitlines())
    new_text = text.rstrip("\n") + "\n\n" + block + "\n"
    # Validate before writing: a clash (say, a duplicate id) is reported and nothing changes.
    subs = parse_subscriptions(new_text, rel, base_dir=path.parent)
    if len(subs) != len(existing) + len(fresh) or not known_ids <= {s.key for s in subs}:
        raise ConfigError.single(rel, 0, "cannot append the imported feeds: 'sources:' must be the last key of the file")
    write_atomic(path, new_text.encode("utf-8"))
    print(f"imported {len(fresh)} feeds into {rel}" + (f" ({skipped} already there)" if skipped else ""))
    return 0
