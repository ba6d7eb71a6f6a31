"""The flat front-matter reader gives what the YAML loader gives, or declines.

Each case is read both ways: whenever :func:`read_flat` answers, its mapping
must equal the loader's value for value and type for type (``True`` is not
``1``, a date is not a datetime), and it must decline whatever the loader
rejects. Common headers must take the fast way, so a reader that declined
everything would fail here too.
"""

from __future__ import annotations

import random
from datetime import date, datetime
from typing import Any

import pytest
import yaml

from generator.content.flatyaml import read_flat
from generator.content.frontmatter import _Loader, split_header

# Values written after "key: ", chosen where YAML's typing or syntax is subtle.
TRICKY_VALUES = [
    "", " ", "hello", "Hello World", "a  b", "trailing   ", '"quoted"', "'single'", '""', "''",
    '"with # hash"', '"it\'s"', "'say \"hi\"'", "'it''s'", '"esc \\" aped"', '"tab\\t"', '"a" b', "'a' b",
    "yes", "No", "ON", "off", "y", "n", "true", "False", "TRUE", "null", "Null", "~", "NULL", "none",
    "1", "-1", "+1", "0", "007", "0o17", "0x1F", "0b101", "1_000", "1,000", "190:20:30", "08:00", "8:00:00",
    "1.5", "1.", ".5", "1e3", "1.0e3", "1.0e+3", ".inf", "-.inf", ".NaN", "1.2.3", "3.14abc",
    "2024-05-01", "2024-5-1", "2024-02-30", "2024-05-01 08:00", "2024-05-01 08:00:00", "2024-05-01T08:00:00Z",
    "2024-05-01 08:00:00 +02:00", "2024-05-01t08:00:00.5-05:00", "2024-13-01", "20240501",
    "http://example.com/a?b=c#frag", "https://x.y/z:1", "mailto:a@b.c", "a:b", "a: b", "a:", "a #b", "a#b", "#x",
    "[]", "[ ]", "[a]", "[a, b]", "[a,b]", "[ a , b ]", "[incident reviews, weekly]", "[a  b, c]", "[1, yes, null]",
    "[2024-05-01, 1.5]", "[a, ]", "[a,, b]", "[, a]", "[a, [b]]", "[a, {b: c}]", "['a', b]", '["a", b]', "[a: b]",
    "[a#b]", "[a #b]", "[-a]", "[a-b]", "[?a]", "[a?]", "[a] x", "[a", "a]", "{a: b}", "{}", "- a", "-a", "--a",
    "? a", "?a", ": a", "&anchor a", "*alias", "!tag a", "!!str 1", "|", ">", "|-", "%x", "@x", "`x`",
    "<<", "=", "...", "---", "a, b", "Foo [bar]", "a {b}", "50%", "C# news", "Issue #12", "Café ünïcode",
    "日本語", "emoji 🎉", "nbsp\u00a0here", "tab\there", "bom\ufeff", "ctrl\x07", "del\x7f", "nel\x85x",
    "line\u2028sep", "ps\u2029x", "cr\r", "x" * 300, "a'b", 'a"b', "a\\b", "\\", "a|b", "a>b", "a&b", "a*b", "a!b",
]

TRICKY_KEYS = [
    "title", "Title", "TITLE", "date", "tags", "last-modified", "_private", "a_b", "x1", "yes", "no", "on",
    "null", "true", "y", "key with space", "1st", "-key", "k:ey", "é", "very_" * 20, "Date",
]


def _typed(value: Any) -> Any:
    """The value with every type spelled out, so 1 == True and date == datetime comparisons cannot hide a difference."""
    if isinstance(value, dict):
        return ("dict", [(_typed(k), _typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_typed(v) for v in value])
    if isinstance(value, float) and value != value:
        return ("float", "nan")
    if isinstance(value, datetime):
        return ("datetime", value.isoformat(), repr(value.tzinfo))
    return (type(value).__name__, value)


def _load(lines: list[str]) -> tuple[bool, Any]:
    """(True, mapping) as the YAML loader reads the lines, or (False, None) when it fails or it is no mapping."""
    try:
        data = yaml.load("\n".join(lines), Loader=_Loader)
    except Exception:  # the loader's errors, and a constructor's ValueError for an impossible date
        return False, None
    return isinstance(data, dict), data


def _check(lines: list[str]) -> bool:
    """Compare both readers on ``lines``; True when the fast reader answered."""
    fast = read_flat(lines)
    ok, slow = _load(lines)
    if fast is None:
        return False
    assert ok, f"the fast reader accepted what YAML rejects: {lines!r}"
    assert _typed(fast) == _typed(slow), f"{lines!r}: fast {fast!r} != yaml {slow!r}"
    return True


@pytest.mark.parametrize("value", TRICKY_VALUES)
def test_each_tricky_value_reads_as_yaml_reads_it(value: str) -> None:
    _check([f"key: {value}"])
    _check(["title: x", f"key: {value}", "other: 1"])
    _check([f"key:{value}"])


@pytest.mark.parametrize("key", TRICKY_KEYS)
def test_each_tricky_key_reads_as_yaml_reads_it(key: str) -> None:
    _check([f"{key}: value"])
    _check([f"{key}:"])
    _check(["title: x", f"{key}: 2024-05-01"])


@pytest.mark.parametrize(
    "lines",
    [
        ["title: a", "title: b"],  # a key twice
        ["title: a", "Title: b"],
        ["title: a", "", "date: 2024-05-01"],
        ["# a comment", "title: a"],
        ["title: a", "  # indented comment"],
        ["title: a", "  continued"],
        ["title: a", " "],
        ["title: a", "tags:", "  - one", "  - two"],
        ["title: >", "  folded"],
        ["---"],
        ["..."],
        ["%YAML 1.1"],
        [""],
        ["#"],
        ["title: a", "#"],
        ["title: a\r"],
        ["\ttitle: a"],
        ["title:\ta"],
        ["title: a\t"],
        ["? title", ": a"],
        ["title: &x a", "other: *x"],
        ["<<: {a: 1}"],
    ],
)
def test_headers_of_several_lines_read_as_yaml_reads_them(lines: list[str]) -> None:
    _check(lines)


def test_random_headers_read_as_yaml_reads_them() -> None:
    """Many headers made of the tricky keys and values: every answer matches, and most simple ones are answered."""
    rng = random.Random(20240501)
    answered = 0
    for _ in range(3000):
        lines = []
        for _ in range(rng.randint(1, 5)):
            roll = rng.random()
            if roll < 0.05:
                lines.append(rng.choice(["", "# note", "  indented: x", "- item"]))
            else:
                lines.append(f"{rng.choice(TRICKY_KEYS)}: {rng.choice(TRICKY_VALUES)}".rstrip(" ") if rng.random() < 0.9 else f"{rng.choice(TRICKY_KEYS)}:")
        answered += _check(lines)
    assert answered > 200  # 274 of the 3,000: the fast way is taken, not declined wholesale


@pytest.mark.parametrize(
    "lines, expected",
    [
        (['title: "Synthetic Weekly #1"', "date: 2005-01-02 08:00", "tags: [incident reviews, weekly]"],
         {"title": "Synthetic Weekly #1", "date": "2005-01-02 08:00", "tags": ["incident reviews", "weekly"]}),
        (["title: Issue 12", "date: 2024-05-01", "draft: yes", "number: 12", "summary:"],
         {"title": "Issue 12", "date": date(2024, 5, 1), "draft": True, "number": 12, "summary": None}),
        (["title: 'Quoted: with colon'", "date: 2024-05-01 08:00:00", "tags: []"],
         {"title": "Quoted: with colon", "date": datetime(2024, 5, 1, 8, 0), "tags": []}),
    ],
)
def test_common_headers_take_the_fast_way(lines: list[str], expected: dict[str, Any]) -> None:
    assert _check(lines)
    assert _typed(read_flat(lines)) == _typed(expected)


def test_split_header_gives_the_same_header_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole header (values, key lines, body and its line) is the same with the fast reader and without it."""
    text = "---\ntitle: Issue 3\ndate: 2024-05-01\n\n# about\ntags: [a, b]\n---\n\nBody line\n"
    fast = split_header(text, "x.md")
    monkeypatch.setattr("generator.content.frontmatter.read_flat", lambda lines: None)
    slow = split_header(text, "x.md")
    assert fast == slow
    assert fast.lines == {"title": 2, "date": 3, "tags": 6}
    assert fast.body_line == 8
