"""``tidings check --fix``: write the new address of permanently moved links into the Markdown.

Only the URL text changes; every other byte of the file stays as it was
(line endings, spacing, escapes), and the file is replaced atomically. A URL
is replaced only where it stands as a whole URL — followed by ``)``, ``>``,
a quote, a bracket, whitespace or the end of the line — so a longer URL that
merely starts the same way is never touched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urldefrag

from .linkstatus import LinkStatus
from .write import write_atomic

__all__ = ["replacement_for", "rewrite_file", "rewrite_text"]


def replacement_for(written: str, status: LinkStatus) -> str:
    """The URL to write instead of ``written`` (fragment kept), or '' when there is none."""
    new = status.suggestion
    if not new:
        return ""
    _, fragment = urldefrag(written)
    new_base, new_fragment = urldefrag(new)
    if fragment and not new_fragment:
        new = f"{new_base}#{fragment}"
    return new if new != written else ""


def rewrite_text(text: str, replacements: Mapping[str, str]) -> tuple[str, int]:
    """``text`` with each old URL replaced where it stands whole; and the number of replacements."""
    if not replacements:
        return text, 0
    olds = sorted(replacements, key=len, reverse=True)  # longest first, so no URL wins over a longer one
    pattern = re.compile(r"(?<![\w%/.~+-])(" + "|".join(map(re.escape, olds)) + r")(?=[)>\]\"'\s]|$)", re.MULTILINE)
    return pattern.subn(lambda m: replacements[m.group(1)], text)


def rewrite_file(path: Path, replacements: Mapping[str, str]) -> int:
    """Apply ``replacements`` to one file; returns how many URLs changed (0: file untouched)."""
    data = path.read_bytes()
    text = data.decode("utf-8")
    new_text, count = rewrite_text(text, replacements)
    if count:
        write_atomic(path, new_text.encode("utf-8"))
    return count
