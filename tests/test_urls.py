"""URL keys, hosts and slugs."""

from __future__ import annotations

import pytest

from generator.urls import host_of, key_and_host, normalize_url, slugify, unique_slug


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("HTTPS://Example.COM:443/a/b?utm_source=x&b=2&a=1#frag", "https://example.com/a/b?a=1&b=2"),
        ("http://example.com", "http://example.com/"),
        ("http://example.com:8080/x/index.html", "http://example.com:8080/x/"),
        ("https://example.com/p?fbclid=1&gclid=2&ref=hn", "https://example.com/p"),
        ("https://example.com/caf%C3%A9", "https://example.com/caf%C3%A9"),
        ("https://example.com/café", "https://example.com/caf%C3%A9"),
        ("mailto:Someone@Example.com", "mailto:someone@example.com"),
        ("https://bücher.example/", "https://xn--bcher-kva.example/"),
        ("ftp://files.example/x", "ftp://files.example/x"),
    ],
)
def test_normalize_url(url, key):
    assert normalize_url(url) == key


def test_relative_urls_resolve_against_a_base():
    assert normalize_url("../b?utm_medium=m", base="https://e.example/x/a/") == "https://e.example/x/b"


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/a/b", "https://example.com", " https://example.com/x ", "http://a.example/index.html",
        "HTTPS://Example.COM:443/a/b?utm_source=x&b=2&a=1#frag", "https://bücher.example/", "mailto:Someone@Example.com",
        "ftp://files.example/x", "relative/path", "", "https://[::1/", "https://example.com/a b",
    ],
)
def test_key_and_host_is_normalize_url_and_host_of_at_once(url):
    assert key_and_host(url) == (normalize_url(url), host_of(url))


def test_host_of():
    assert host_of("https://Sub.Example.org./x") == "sub.example.org"
    assert host_of("mailto:a@b.c") == ""


def test_slugify_and_unique():
    assert slugify("Ship Shape — Weekly #7: Café!") == "ship-shape-weekly-7-cafe"
    assert slugify("a" * 80, max_length=10) == "a" * 10
    taken: set[str] = set()
    assert [unique_slug("news", taken) for _ in range(3)] == ["news", "news-2", "news-3"]
    assert unique_slug("", taken) == "item"


def test_the_fast_path_agrees_with_full_normalisation_on_every_twir_link(twir_issues):
    """normalize_url and host_of answer already-normal URLs without parsing; the answers must not change."""
    from generator import urls

    issues, _ = twir_issues
    seen = 0
    for issue in issues:
        for link in issue.iter_links():
            url = link.url.strip()
            if urls._already_normal(url) is None:
                continue
            seen += 1
            slow_key = _slow(urls.normalize_url, url)
            assert urls.normalize_url(url) == slow_key, url
            assert urls.host_of(url) == _slow(urls.host_of, url), url
            assert urls.key_and_host(url) == (slow_key, _slow(urls.host_of, url)), url
    assert seen > 30_000


def _slow(function, url):
    """The function with the fast path switched off."""
    from generator import urls

    original = urls._already_normal
    urls._already_normal = lambda _url: None
    try:
        return function(url)
    finally:
        urls._already_normal = original
