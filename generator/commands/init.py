"""``tidings init DIR``: a new newsletter that builds at once.

Writes settings, a first issue, an about page, an empty feed list, the
Netlify configuration, a ``.gitignore`` and an empty theme folder for
overrides, from the files in ``generator/scaffold/``. Existing files are
never overwritten: if any target exists, nothing is written.
"""

from __future__ import annotations

import argparse
import json
import string
from datetime import datetime
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .. import __version__
from ..errors import ConfigError, Problem, SourcePos

# scaffold file → path in the new newsletter; True = fill in $placeholders
FILES: tuple[tuple[str, str, bool], ...] = (
    ("tidings.yaml", "tidings.yaml", True),
    ("first_issue.md", "content/issues/001.md", True),
    ("about.md", "content/pages/about.md", True),
    ("feeds.yaml", "feeds/feeds.yaml", False),
    ("netlify.toml", "netlify.toml", False),
    ("requirements.txt", "requirements.txt", True),
    ("gitignore", ".gitignore", False),
    ("README.md", "README.md", True),
    ("theme_README.md", "themes/$theme/README.md", True),
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("init", help="create a new newsletter in DIR, ready to build")
    p.add_argument("dir", type=Path, help="folder to create (may exist if empty)")
    p.add_argument("--title", help="the newsletter's name (default: from the folder name)")
    p.add_argument("--url", default="https://example.org/", help="the address it will be published at")
    p.add_argument("--description", default="", help="one sentence about it")
    p.add_argument("--timezone", default="UTC", help="IANA time zone of issue dates (default: UTC)")
    p.add_argument("--theme", default="custom", help="name of the theme folder for your overrides (default: custom)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    target: Path = args.dir
    values = placeholders(args)
    planned = {string.Template(dest).substitute(values): (source, fill) for source, dest, fill in FILES}
    clashes = [rel for rel in planned if (target / rel).exists()]
    if clashes:
        raise ConfigError([Problem(SourcePos(str(target / rel)), "already exists; tidings init writes only into a new or empty folder") for rel in clashes])
    scaffold = resources.files("generator") / "scaffold"
    for rel, (source, fill) in planned.items():
        text = (scaffold / source).read_text(encoding="utf-8")
        if fill:
            text = string.Template(text).substitute(values)
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for folder in (f"themes/{values['theme']}/templates", f"themes/{values['theme']}/static"):
        (target / folder).mkdir(parents=True, exist_ok=True)
    print(f"created {values['title']} in {target}/ — next: cd {target} && tidings serve")
    return 0


def placeholders(args: argparse.Namespace) -> dict[str, str]:
    title = args.title or args.dir.resolve().name.replace("-", " ").replace("_", " ").title()
    try:
        zone = ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError([Problem(SourcePos("--timezone"), f"{args.timezone!r} is not a known IANA time zone")]) from None
    if not args.url.startswith(("http://", "https://")):
        raise ConfigError([Problem(SourcePos("--url"), f"{args.url!r} must be an absolute http(s) URL")])
    if not args.theme.replace("-", "").replace("_", "").isalnum() or args.theme == "default":
        raise ConfigError([Problem(SourcePos("--theme"), f"{args.theme!r} must be a simple folder name other than 'default'")])
    description = args.description or f"{title}: the week's best links, with a note on each."
    return {
        "title": title,
        "title_yaml": yaml_str(title),
        "first_title_yaml": yaml_str(f"{title} #1"),
        "first_summary_yaml": yaml_str(f"The first issue of {title}."),
        "about_yaml": yaml_str(f"What {title} is and who writes it."),
        "description_yaml": yaml_str(description),
        "base_url": args.url if args.url.endswith("/") else args.url + "/",
        "timezone": args.timezone,
        "date": datetime.now(zone).date().isoformat(),
        "theme": args.theme,
        "version": __version__,
    }


def yaml_str(text: str) -> str:
    """A YAML scalar for any text: JSON strings are valid double-quoted YAML."""
    return json.dumps(text, ensure_ascii=False)
