"""Splitting a file into header and body: where the body starts, and the messages for broken headers.

The YAML header is found without splitting the whole file into lines; these
cases hold it to the plain rule (the first line after line 1 that is ``---`` or
``...``, spaces or tabs after it allowed), written out line by line here.
"""

from __future__ import annotations

import re

import pytest

from generator.content.frontmatter import HeaderError, split_header

_FENCE_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$")


def _by_lines(text: str) -> tuple[str, int] | None:
    """(body, body_line) by splitting every line, or None when there is no closing fence."""
    lines = text.split("\n")
    for end in range(1, len(lines)):
        if _FENCE_END.match(lines[end]):
            return "\n".join(lines[end + 1 :]), end + 2
    return None


CASES = [
    "---\ntitle: A\ndate: 2024-05-01\n---\n\nBody\n",
    "---\ntitle: A\n---",
    "---\ntitle: A\n---\n",
    "---\n---\nBody",
    "---\n...\nBody",
    "---\ntitle: A\n... \t\nBody\n\n",
    "---\ntitle: A\n ---\n---\nBody",
    "---\ntitle: A\n----\n---\nBody",
    "---\r\ntitle: A\r\n---\r\nBody\r\n",
    "---\r\ntitle: A\n---\r\n---\nBody",
    "--- \ntitle: A\n---\n",
    "---\ntitle: A\n\n# note\ntags: [a, b]\n---\nline 1\nline 2\n---\nline 4\n",
    "\ufeff---\ntitle: A\n---\nBody",
    "---\ntitle: A\nno closing fence\n",
    "---",
    "---\n",
]


@pytest.mark.parametrize("text", CASES)
def test_the_body_starts_where_the_line_by_line_rule_says(text: str) -> None:
    if not re.match(r"---[ \t]*$", text.removeprefix("\ufeff").split("\n")[0]):  # e.g. '---\r': no YAML header
        assert split_header(text, "x.md").style != "yaml"
        return
    expected = _by_lines(text.removeprefix("\ufeff"))
    if expected is None:
        with pytest.raises(HeaderError) as caught:
            split_header(text, "x.md")
        assert str(caught.value.problem) == "x.md:1: front matter starts with '---' but has no closing '---'"
        return
    try:
        header = split_header(text, "x.md")
    except HeaderError:  # a header the YAML loader rejects: the split itself is what is tested here
        return
    assert (header.body, header.body_line) == expected


def test_key_lines_count_from_the_file_start() -> None:
    header = split_header("---\ntitle: A\n\n# note\ntags: [a, b]\n---\nBody", "x.md")
    assert header.lines == {"title": 2, "tags": 5}
    assert header.meta == {"title": "A", "tags": ["a", "b"]}


def test_a_yaml_error_names_its_line() -> None:
    with pytest.raises(HeaderError) as caught:
        split_header("---\ntitle: A\ntags: [a, b\n---\nBody", "x.md")
    assert str(caught.value.problem).startswith("x.md:4: invalid front matter")


@pytest.mark.parametrize(
    "header, line",
    [
        ("title: A\nnumber: 3\ndate: 2024-13-45", 4),  # a date YAML recognises but cannot make
        ("title: A\ntags: [x, y]\nwhen: 2024-02-30 08:00:00", 4),
        ("title: A\nlist:\n  - 2024-00-01\n", 4),
    ],
)
def test_a_value_yaml_cannot_make_is_an_error_at_its_line(header: str, line: int) -> None:
    with pytest.raises(HeaderError) as caught:
        split_header(f"---\n{header}\n---\nBody", "x.md")
    assert str(caught.value.problem).startswith(f"x.md:{line}: invalid front matter: ")
