"""Model fragments to plain text: links kept whole, lists indented, wrapping at 72 columns."""

from __future__ import annotations

import random
import textwrap

from generator.render.plaintext import MAX_LINE, fragment_text, wrap


def test_links_show_text_and_url_and_relative_ones_resolve() -> None:
    text = fragment_text('<p>See <a href="https://a.example/x">the post</a> and <a href="/issues/2/">issue 2</a>.</p>', base="https://s.example/issues/3/")
    assert text == "See the post <https://a.example/x> and issue 2\n<https://s.example/issues/2/>."


def test_a_link_whose_text_is_its_url_appears_once() -> None:
    assert fragment_text('<a href="https://a.example/">https://a.example/</a>') == "<https://a.example/>"
    assert fragment_text('<a href="mailto:x@a.example">x@a.example</a>') == "<x@a.example>"


def test_long_urls_are_never_broken() -> None:
    url = "https://a.example/" + "segment/" * 20
    lines = fragment_text(f'<p>Words before the link <a href="{url}">title</a> words after.</p>').splitlines()
    assert any(line.strip() == f"<{url}>" for line in lines)
    assert all(len(line) <= 72 for line in lines if url not in line)


def test_lists_quotes_code_and_tables() -> None:
    html = (
        "<ul><li>one item that is long enough to need wrapping onto a second line of text here</li><li>two</li></ul>"
        "<ol start=\"3\"><li>three</li></ol><blockquote><p>quoted</p></blockquote>"
        "<pre><code>let x = 1;\n  indented();\n</code></pre>"
        "<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>1</td><td>2</td></tr></tbody></table>"
    )
    assert fragment_text(html) == (
        "* one item that is long enough to need wrapping onto a second line of\n  text here\n* two\n\n"
        "3. three\n\n> quoted\n\n    let x = 1;\n      indented();\n\na | b\n1 | 2"
    )


def test_entities_decoded_and_control_characters_removed() -> None:
    assert fragment_text("<p>Fish &amp; chips&nbsp;\x0b\x92ok</p>") == "Fish & chips\xa0ok"


def test_no_line_exceeds_the_hard_limit() -> None:
    text = fragment_text("<p>" + "x" * 3000 + "</p>")
    assert max(len(line) for line in text.splitlines()) <= MAX_LINE
    assert text.replace("\n", "") == "x" * 3000


def test_wrapping_matches_textwrap_with_words_kept_whole():
    """Our filling replaced textwrap for speed; on varied paragraphs it must give the same lines."""
    rng = random.Random(7)
    words = ["a", "to", "the", "mesh", "end.", "hyphen-ated", "x" * 90, "https://example.com/a/long/path/" + "p" * 40]
    for _ in range(3000):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 40)))
        width = rng.choice([20, 40, 72])
        first, rest = rng.choice(["", "  ", "1. "]), rng.choice(["", "   "])
        expected = textwrap.TextWrapper(
            width=width, initial_indent=first, subsequent_indent=rest, break_long_words=False, break_on_hyphens=False
        ).wrap(text)
        assert wrap(text, width, first, rest) == expected, (text, width, first, rest)
