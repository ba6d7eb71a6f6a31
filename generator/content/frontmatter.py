"""Split a content file into its header (metadata) and Markdown body.

Two header styles are read, unchanged, so existing newsletters build as they are:

- YAML front matter between ``---`` lines (Hugo, Jekyll, most tools);
- Pelican's ``Key: value`` lines up to the first blank line (This Week in Rust).

The body keeps its line offset so every later message points at the real line.
Flat YAML headers (``key: value`` lines) are read by :mod:`.flatyaml`, which
gives the loader's values in a fraction of its time; the loader reads the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from ..errors import Problem, SourcePos
from .flatyaml import read_flat

__all__ = ["Header", "split_header", "HeaderError"]

try:
    _Loader: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader

_PELICAN_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9_\- ]{0,40}):(?:\s+(.*))?$")
_FENCE = re.compile(r"^---[ \t]*$")
_FENCE_END_LINE = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.MULTILINE)
_KEY = re.compile(r"^([^\s#:][^:]*):")


@dataclass(frozen=True, slots=True)
class Header:
    """A file's metadata (keys lower-cased), their lines, and where the body starts."""

    meta: dict[str, Any]
    lines: dict[str, int]  # key -> 1-based line in the file
    body: str
    body_line: int  # 1-based line of the body's first line
    style: str  # 'yaml', 'pelican' or 'none'

    def line_of(self, key: str) -> int:
        return self.lines.get(key, 1)


class HeaderError(Exception):
    """The header cannot be read; carries the Problem."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def split_header(text: str, path: str) -> Header:
    """Find and parse the header of ``text`` (the contents of ``path``)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    first = text.split("\n", 1)[0]
    if _FENCE.match(first):
        return _yaml_header(text, path)
    if _PELICAN_LINE.match(first) and not first.lower().startswith(("http:", "https:")):
        return _pelican_header(text.split("\n"))
    return Header({}, {}, text, 1, "none")


def _yaml_header(text: str, path: str) -> Header:
    """The front matter between the first line and the closing fence line.

    Only the header is split into lines: the body is the text after the fence
    line, not a join of all the file's lines.
    """
    opened = text.find("\n")
    closing = _FENCE_END_LINE.search(text, opened + 1) if opened >= 0 else None
    if closing is None:
        raise HeaderError(Problem(SourcePos(path, 1), "front matter starts with '---' but has no closing '---'"))
    lines = text[opened + 1 : closing.start()].split("\n")[:-1]  # the header's lines; file line i + 2 each
    data = read_flat(lines)  # most headers are flat; the loader reads (and checks) the rest
    if data is None:
        data = _load_yaml("\n".join(lines), path)
    key_lines: dict[str, int] = {}
    for i, line in enumerate(lines, start=2):
        m = _KEY.match(line)
        if m:
            key_lines.setdefault(m.group(1).strip().lower(), i)
    meta = {str(k).lower(): v for k, v in data.items()}
    end = len(lines) + 1  # the closing fence's 0-based line
    return Header(meta, key_lines, text[closing.end() + 1 :], end + 2, "yaml")


def _load_yaml(block: str, path: str) -> dict[Any, Any]:
    """The YAML loader's mapping of a header block; HeaderError with the line when it is not one."""
    try:
        data = yaml.load(block, Loader=_Loader) if block.strip() else {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 2 if mark else 1
        raise HeaderError(Problem(SourcePos(path, line), f"invalid front matter: {exc.problem or exc.context}")) from None
    except yaml.YAMLError as exc:
        raise HeaderError(Problem(SourcePos(path, 1), f"invalid front matter: {exc}")) from None
    except (ValueError, OverflowError) as exc:  # a value YAML recognised but could not make, e.g. date: 2024-13-45
        raise HeaderError(Problem(SourcePos(path, _unmakeable_line(block)), f"invalid front matter: {exc}")) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise HeaderError(Problem(SourcePos(path, 2), "front matter must be a mapping of keys to values"))
    return data


def _unmakeable_line(block: str) -> int:
    """The file line of the first header line whose value alone cannot be made either (else the header's first)."""
    for number, line in enumerate(block.splitlines(), start=2):
        try:
            yaml.load(line, Loader=_Loader)
        except (ValueError, OverflowError):
            return number
        except yaml.YAMLError:
            continue  # a line of a longer value: not readable alone
    return 2


def _pelican_header(lines: list[str]) -> Header:
    meta: dict[str, Any] = {}
    key_lines: dict[str, int] = {}
    last: str | None = None
    end = len(lines)
    for i, line in enumerate(lines):
        if not line.strip():
            end = i
            break
        m = _PELICAN_LINE.match(line)
        if m:
            last = m.group(1).strip().lower()
            meta[last] = (m.group(2) or "").strip()
            key_lines[last] = i + 1
        elif last is not None and line[:1] in (" ", "\t"):
            meta[last] = f"{meta[last]} {line.strip()}"  # continuation line
        else:
            end = i  # the header ends at the first line that is not a key
            break
    return Header(meta, key_lines, "\n".join(lines[end:]), end + 1, "pelican")
