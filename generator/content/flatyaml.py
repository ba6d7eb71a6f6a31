"""Read a flat YAML header without the YAML loader: the same values, or a refusal.

Most front matter is a handful of ``key: value`` lines (a title, a date, a list of
tags), and the YAML loader spent about 100 µs on each such header, mostly in
its Python-side composer and constructor: a twentieth of the time to read an
issue. :func:`read_flat` reads a strict subset of YAML itself:

- one ``key: value`` per line, the key a plain word, no key twice;
- the value a plain scalar on that one line, a quoted string without escapes,
  or a flow list ``[a, b]`` of plain scalars; or nothing (null);
- blank lines and ``#`` comment lines between them.

Everything else (indentation, multi-line values, anchors, tags, flow mappings,
comments after a value, tabs, characters outside the printable range…) makes
it return None, and the caller loads the header with the YAML loader, which
also reports any error with its line.

What a plain scalar means (a date, a number, true/false, null or text) is not
decided here: PyYAML's own resolver and constructors, the ones its loaders use,
decide it, so ``2024-05-01`` is a date, ``yes`` is true and ``08:00`` is
sexagesimal 480 exactly as the loader makes them. tests/content/test_flatyaml.py
compares both over a set of tricky headers.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from yaml import ScalarNode
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

__all__ = ["read_flat"]

_KEY_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_-]{0,63}):(?: +(.*))?")
# Characters that give a scalar's first character a meaning other than text.
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_DOUBLE_QUOTED = re.compile(r'"([^"\\]*)"')
_SINGLE_QUOTED = re.compile(r"'([^']*)'")
_FLOW_LIST = re.compile(r"\[([^\[\]{}]*)\]")
# Characters a plain scalar inside a flow list may not hold: flow indicators, and
# ':' and '#', whose meaning there depends on what follows them.
_FLOW_SPECIAL = re.compile(r"[,\[\]{}:#]")

_STR = "tag:yaml.org,2002:str"
_SCALAR_TAGS = frozenset({_STR} | {f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "timestamp")})


class _Scalars(SafeConstructor, Resolver):
    """The resolver and constructor that yaml's safe loaders (C and Python) combine."""


_SCALARS = _Scalars()


class _Refused(Exception):
    """The header is outside the subset read here."""


def read_flat(lines: list[str]) -> dict[str, Any] | None:
    """The mapping ``yaml.safe_load`` makes of these lines, or None when they are not flat."""
    data: dict[str, Any] = {}
    try:
        for line in lines:
            if not line or line.startswith("#"):
                if not line.isprintable():
                    return None
                continue
            match = _KEY_LINE.fullmatch(line)
            if match is None or not line.isprintable():
                return None
            key = match.group(1)
            if key in data or not _is_text(key):  # 'yes' or 'null' is no text key
                return None
            data[key] = _value((match.group(2) or "").rstrip(" "))
    except _Refused:
        return None
    return data or None


def _value(text: str) -> Any:
    """The value after ``key:``, already trimmed of spaces at both ends."""
    if not text:
        return _plain(text)
    first = text[0]
    if first == '"':
        return _quoted(_DOUBLE_QUOTED, text)
    if first == "'":
        return _quoted(_SINGLE_QUOTED, text)
    if first == "[":
        return _flow_list(text)
    if first in _INDICATORS or " #" in text or ": " in text or text.endswith(":"):
        raise _Refused
    return _plain(text)


def _quoted(pattern: re.Pattern[str], text: str) -> str:
    match = pattern.fullmatch(text)
    if match is None:
        raise _Refused
    return match.group(1)


def _flow_list(text: str) -> list[Any]:
    match = _FLOW_LIST.fullmatch(text)
    if match is None:
        raise _Refused
    inner = match.group(1).strip(" ")
    if not inner:
        return []
    items: list[Any] = []
    for raw in inner.split(","):
        item = raw.strip(" ")
        if not item or item[0] in _INDICATORS or _FLOW_SPECIAL.search(item):
            raise _Refused
        items.append(_plain(item))
    return items


@lru_cache(maxsize=256)  # keys repeat from file to file
def _is_text(plain: str) -> bool:
    return bool(_SCALARS.resolve(ScalarNode, plain, (True, False)) == _STR)  # type: ignore[no-untyped-call]


@lru_cache(maxsize=1024)  # values such as tags repeat; all are immutable (text, numbers, dates, None)
def _plain(text: str) -> Any:
    """A plain scalar's value, typed as the YAML loader types it."""
    tag = _SCALARS.resolve(ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    if tag not in _SCALAR_TAGS:
        raise _Refused
    if tag == _STR:
        return text
    try:
        return _SCALARS.yaml_constructors[tag](_SCALARS, ScalarNode(tag, text))
    except Exception:  # e.g. a date that does not exist: let the loader raise what it raises
        raise _Refused from None
