"""The ``tidings`` command: parses arguments, runs one command, maps errors to exit codes.

Exit status: 0 success; 1 a problem with the repository's files (each printed as
``path:line: message``) or a failed check; 2 wrong usage (with help).

Each command lives in ``generator/commands/<name>.py`` and exposes
``register(subparsers)``; this module only wires them together, so adding a
command touches one list.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from . import __version__
from .errors import TidingsError

__all__ = ["main", "COMMANDS"]

# Module names under generator.commands, in the order `tidings --help` lists them.
COMMANDS = ("build", "serve", "show", "fetch", "feeds", "inbox", "new", "digest", "email", "send", "check")


class _Parser(argparse.ArgumentParser):
    """argparse, but wrong usage prints the full help (exit status 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_help(sys.stderr)
        sys.stderr.write(f"\n{self.prog}: error: {message}\n")
        raise SystemExit(2)


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tidings", description="Build and run a curated newsletter from a git repository.")
    parser.add_argument("--version", action="version", version=f"tidings {__version__}")
    parser.add_argument("-C", "--root", default=".", help="the newsletter repository (default: the current folder)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        module = importlib.import_module(f".commands.{name}", __package__)
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        result: int = args.run(args)
        return result
    except TidingsError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        print(f"tidings {args.command}: {count} problem{'s' if count != 1 else ''}; nothing was written", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
