"""The ``tidings`` command: parses arguments, runs one command, maps errors to exit codes.

Exit status: 0 success; 1 a problem with the repository's files (each printed as
``path:line: message``) or a failed check; 2 wrong usage (with help).

Each command lives in ``generator/commands/<name>.py`` and exposes
``register(subparsers)``; this module only wires them together, so adding a
command touches one list.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import sys
from typing import NoReturn, Sequence

from . import __version__
from .errors import TidingsError

__all__ = ["main", "run", "exit_now", "COMMANDS"]

# Module names under generator.commands, in the order `tidings --help` lists them.
COMMANDS = ("build", "serve", "show", "fetch", "feeds", "inbox", "new", "digest", "email", "send", "check", "init")


class _Parser(argparse.ArgumentParser):
    """argparse, but wrong usage prints the full help (exit status 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        # A parser made for one command lists only that one; the help shown lists them all.
        helper = make_parser() if getattr(self, "partial", False) else self
        helper.print_help(sys.stderr)
        sys.stderr.write(f"\n{self.prog}: error: {message}\n")
        raise SystemExit(2)


def make_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or of ``only`` (its module alone is imported)."""
    parser = _Parser(prog="tidings", description="Build and run a curated newsletter from a git repository.")
    parser.partial = only is not None  # type: ignore[attr-defined]
    parser.add_argument("--version", action="version", version=f"tidings {__version__}")
    parser.add_argument("-C", "--root", default=".", help="the newsletter repository (default: the current folder)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        if only is None or name == only:
            module = importlib.import_module(f".commands.{name}", __package__)
            module.register(sub)
    return parser


def _command_named(argv: Sequence[str]) -> str | None:
    """The command word in ``argv`` when it is a known one (options before it skipped)."""
    words = iter(argv)
    for word in words:
        if word in ("-C", "--root"):
            next(words, None)
        elif not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Importing one command's module, not all twelve: `tidings build` does not load the HTTP,
    # mail and feed libraries, which took most of an up-to-date build's time.
    parser = make_parser(_command_named(argv))
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


def run() -> None:
    """The console script: :func:`main`, then :func:`exit_now`."""
    try:
        code = main()
    except SystemExit as exc:  # argparse's --help and wrong usage
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
    exit_now(code)


def exit_now(code: int) -> NoReturn:
    """End the process without freeing the heap object by object.

    After a build of a 1,000-issue archive the interpreter spent 0.1 s freeing the model
    before the process could end. Exit handlers still run and the output streams are
    flushed; every file the commands write is already closed (or renamed into place) by then.
    """
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said there
            code = code or 1
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
