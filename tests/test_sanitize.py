"""The sanitiser: hostile markup in, only allow-listed, inert HTML or plain text out."""

from __future__ import annotations

import pytest

from generator.sanitize import SafeHtml, excerpt, plain_text, safe_href, sanitize_html, text_html

HOSTILE = [
    "<script>alert(1)</script>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href=" JaVaScRiPt:alert(1)">x</a>',
    '<img src=x onerror="alert(1)">',
    '<p onmouseover="alert(1)">hover</p>',
    '<iframe src="https://evil.example/"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<form action="javascript:alert(1)"><button>go</button></form>',
    '<svg><script>alert(1)</script><a xlink:href="javascript:alert(1)">s</a></svg>',
    '<svg onload="alert(1)"/>',
    '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">d</a>',
    '<div style="background:url(javascript:alert(1))">s</div>',
    '<object data="evil.swf"></object><embed src="evil.swf">',
]

FORBIDDEN = ("<script", "javascript", "onerror", "onload", "onmouseover", "<iframe", "<form", "<svg", "<math", "<style", "<meta", "data:", "<object", "<embed", "style=")


@pytest.mark.parametrize("markup", HOSTILE)
def test_hostile_markup_is_neutralised(markup: str) -> None:
    cleaned = sanitize_html(f"<p>before</p>{markup}<p>after</p>")
    assert isinstance(cleaned, SafeHtml)
    lowered = cleaned.lower()
    for bad in FORBIDDEN:
        assert bad not in lowered, (bad, cleaned)
    assert "before" in cleaned and ("after" in cleaned or "<math" in markup)


def test_links_keep_safe_schemes_get_rel_and_resolve() -> None:
    cleaned = sanitize_html('<a href="/post">p</a> <a href="mailto:a@b.example">m</a> <a href="ftp://x/">f</a>', base_url="https://blog.example/dir/")
    assert 'href="https://blog.example/post"' in cleaned and 'href="mailto:a@b.example"' in cleaned
    assert "ftp:" not in cleaned
    assert cleaned.count('rel="noopener noreferrer nofollow"') == 3


def test_excerpt_is_one_bounded_clean_paragraph() -> None:
    article = "<h2>Intro</h2>" + "<p>" + "A sentence about systems. " * 40 + "</p><pre>rm -rf /</pre><p>Next.</p>"
    text = excerpt(article, 200)
    assert len(text) <= 200 and "Intro" not in text and "rm -rf" not in text and "<" not in text
    assert text.endswith((".", "…"))
    assert excerpt("<p>Short &amp; sweet.</p><script>x()</script>") == "Short & sweet."


def test_plain_text_and_text_html() -> None:
    assert plain_text("  <b>Bold</b>   &amp;\n title ") == "Bold & title"
    assert plain_text("<img src=x onerror=alert(1)>Hi") == "Hi"
    assert text_html('Tom & "Jerry" <3') == "Tom &amp; &quot;Jerry&quot; &lt;3"


@pytest.mark.parametrize("url, ok", [("https://a.example/x", True), ("http://a.example", True), ("javascript:alert(1)", False),
                                     ("//a.example/x", False), ("https://a.example/\"onmouseover=x", False), ("mailto:a@b", False), ("", False)])
def test_safe_href(url: str, ok: bool) -> None:
    assert (safe_href(url) is not None) is ok
