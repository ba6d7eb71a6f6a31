"""Errors that point at the file and line an editor has to fix.

Every problem Tidings reports about the repository is a :class:`Problem`: a
source position and one human sentence. Readers collect problems instead of
raising at the first one, so a single run reports everything that is wrong;
:class:`TidingsError` carries the collected list to the command line, which
prints one ``path:line: message`` line per problem and exits with status 1.

Exception tree::

    TidingsError            one or more Problems; exit status 1
    ├── ConfigError         tidings.yaml and other YAML settings files
    ├── ContentError        issues, pages and other content files
    └── BuildError          planning, rendering and writing the site
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

__all__ = [
    "SourcePos",
    "new_pos",
    "Problem",
    "TidingsError",
    "ConfigError",
    "ContentError",
    "BuildError",
    "decode_text",
]


@dataclass(frozen=True, slots=True)
class SourcePos:
    """A place in a source file: a repository-relative POSIX path and a 1-based line.

    ``line`` is 0 when a problem concerns the file as a whole (for example,
    it cannot be read), in which case only the path is printed.
    """

    path: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path


_new = object.__new__
_set = object.__setattr__


def new_pos(path: str, line: int) -> SourcePos:
    """``SourcePos(path, line)`` without the class call, for the issue reader's many positions.

    Calling a frozen dataclass costs a type call and an ``object.__setattr__`` lookup per
    field; the reader makes some 45 positions per issue. tests/test_model.py checks that
    this gives a value equal to the class's own.
    """
    pos = _new(SourcePos)
    _set(pos, "path", path)
    _set(pos, "line", line)
    return pos


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input, with the place to fix it."""

    pos: SourcePos
    message: str

    def __str__(self) -> str:
        return f"{self.pos}: {self.message}"


class TidingsError(Exception):
    """One or more problems that stop the command; printed one per line."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def single(cls, path: str, line: int, message: str) -> "TidingsError":
        return cls([Problem(SourcePos(path, line), message)])


class ConfigError(TidingsError):
    """A settings file is missing, malformed or fails its schema."""


class ContentError(TidingsError):
    """An issue, page or other content file cannot be understood."""


class BuildError(TidingsError):
    """The site cannot be planned, rendered or written."""


def decode_text(data: bytes, path: str, error: type[TidingsError]) -> str:
    """The UTF-8 text of a file's bytes; otherwise ``error`` naming the line of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error([Problem(SourcePos(path, data[: exc.start].count(b"\n") + 1), "not valid UTF-8 text")]) from None
