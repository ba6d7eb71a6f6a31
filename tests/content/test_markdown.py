"""The Markdown engine: both parser paths give one tree, rendered exactly as markdown-it renders it."""

from __future__ import annotations

import re

import pytest

from generator.content.frontmatter import split_header
from generator.content.markdown import (
    Node,
    _convert,
    _engine,
    _from_python_parser,
    _link_addresses,
    _python_engine,
    parse,
    plain_text,
    render,
)

from ..conftest import TWIR

_MAIL_LINK = re.compile(r'<a href="mailto:[^"]*">([^<]*)</a>')


def _twir_bodies() -> list[tuple[str, str]]:
    files = sorted(p for p in TWIR.iterdir() if p.suffix in (".md", ".markdown"))
    return [(p.name, split_header(p.read_text(encoding="utf-8"), p.name).body) for p in files]


def _python_tree_html(body: str) -> str:
    source = body.encode()
    return render(_from_python_parser(body, source))


def test_renderer_matches_markdown_it_on_every_twir_issue():
    fallbacks: list[str] = []
    compared = 0
    for name, body in _twir_bodies():
        mine = _MAIL_LINK.sub(r"\1", render(parse(body).root))  # the reference leaves bare addresses as text
        try:
            reference = _engine().render(body)
        except BaseException:  # the compiled parser panics on this file; the Python parser took over
            fallbacks.append(name)
            reference = _python_engine().render(body)
        reference = _MAIL_LINK.sub(r"\1", reference)
        assert mine == reference, name
        compared += 1
    assert compared == 667
    assert 0 < len(fallbacks) < 30, "a handful of files exercise the fallback path"


def _shape(node: Node) -> tuple:
    """Everything a node holds, its children's too, for comparing trees."""
    assert node.content == str(node.meta.get("content", "")), node.name  # the field is the dict's value
    return node.name, node.start, node.end, node.meta, node.content, [_shape(child) for child in node.children]


def _convert_reading_everything(node) -> Node:  # noqa: ANN001 (a compiled parser's node)
    """The conversion without shortcuts: every attribute of every node read."""
    start, end = node.srcmap or (0, 0)
    meta = node.meta
    return Node(node.name, start, end, meta, [_convert_reading_everything(c) for c in node.children], str(meta.get("content", "")))


def test_conversion_shortcuts_lose_nothing_on_any_twir_issue():
    """Leaves' children and some types' details are not read, and addresses are linked during the walk:
    the tree must be the one a full conversion followed by a separate address walk gives."""
    compared = 0
    for name, body in _twir_bodies():
        try:
            tree = _engine().tree(body)
        except BaseException:  # the compiled parser panics on this file (see below)
            continue
        full = _convert_reading_everything(tree)
        _link_addresses(full, inside_link=False)
        assert _shape(_convert(tree, False)) == _shape(full), name
        compared += 1
    assert compared > 600


def test_python_parser_path_renders_the_same_html():
    bodies = _twir_bodies()
    for name, body in bodies[::25]:
        _shape(_from_python_parser(body, body.encode()))  # content fields agree with the details there too
        assert _MAIL_LINK.sub(r"\1", _python_tree_html(body)) == _MAIL_LINK.sub(r"\1", _python_engine().render(body)), name


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("write to ops@team.dev today", '<p>write to <a href="mailto:ops@team.dev">ops@team.dev</a> today</p>\n'),
        ("ASP.NET and Node.js", "<p>ASP.NET and Node.js</p>\n"),
        ("see https://a.example/x.", '<p>see <a href="https://a.example/x">https://a.example/x</a>.</p>\n'),
        ("`code@x.io` and [a@b.io](https://c.example)", '<p><code>code@x.io</code> and <a href="https://c.example">a@b.io</a></p>\n'),
        ("- one\n- two\n  1. nested\n", "<ul>\n<li>one</li>\n<li>two\n<ol>\n<li>nested</li>\n</ol>\n</li>\n</ul>\n"),
    ],
)
def test_small_cases(text, html):
    assert render(parse(text).root) == html


def test_lines_from_byte_offsets_with_non_ascii_text():
    doc = parse("café ☕\n\nsecond paragraph\n\n- x\n")
    first, second, items = doc.root.children
    assert doc.lines(first) == (0, 1) and doc.line(second.start) == 2 and doc.line(items.start) == 4
    assert plain_text(second.children) == "second paragraph"


def test_a_parser_panic_is_recovered_silently(tmp_path):
    """The compiled parser panics on some files: the build goes on, and the editor sees no Rust backtrace."""
    import os
    import subprocess
    import sys

    from ..conftest import REPO

    panicking = TWIR / "2016-05-16-this-week-in-rust.md"
    script = (
        "import sys; from generator.content.markdown import parse, render; "
        "from generator.content.frontmatter import split_header; "
        f"body = split_header(open({str(panicking)!r}).read(), 'x').body; "
        "print(len(render(parse(body).root))); print('stderr works', file=sys.stderr)"
    )
    env = {**os.environ, "RUST_BACKTRACE": "1"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, env=env, timeout=120)
    assert result.returncode == 0 and int(result.stdout) > 1000
    assert result.stderr == "stderr works\n"
    with pytest.raises(BaseException):  # the file really does make the compiled parser panic
        __import__("generator.content.markdown", fromlist=["_tree_quietly"])._tree_quietly(split_header(panicking.read_text(), "x").body)
