"""The email edition: HTML for mail clients, the text part, the .eml — checked by parsing the build's output."""

from __future__ import annotations

import re
import shutil
from email import message_from_bytes, policy
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from generator.build import BuildOptions, build, issue_settings, make_context
from generator.cli import main
from generator.config import load_site
from generator.content.archive import build_archive
from generator.content.issues import read_issue
from generator.mail.message import build_message, encoded_html_size, identity_for
from generator.model import Issue
from generator.render.email import LIMIT_BYTES, WARN_BYTES, render_edition

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "email" / "site"
TWIR = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "twir"


class Page(HTMLParser):
    """What a check needs from an email: elements in order, hrefs, images, tables, styles, text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.stack: list[str] = []
        self.styles: list[str] = []
        self.in_style = False
        self.body_children: list[tuple[str, dict[str, str]]] = []
        self.preheader_text = ""
        self.hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.elements.append((tag, a))
        if self.stack and self.stack[-1] == "body":
            self.body_children.append((tag, a))
        if tag == "style":
            self.in_style = True
            self.styles.append("")
        if tag not in ("meta", "br", "img", "hr", "link", "input"):
            self.stack.append(tag)
            if self.hidden_depth or (tag == "div" and "display:none" in a.get("style", "") and len(self.body_children) == 1):
                self.hidden_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self.in_style = False
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass
            if self.hidden_depth:
                self.hidden_depth -= 1

    def handle_data(self, data: str) -> None:
        if self.in_style:
            self.styles[-1] += data
        elif self.hidden_depth:
            self.preheader_text += data

    def attrs(self, tag: str, name: str) -> list[str]:
        return [a[name] for t, a in self.elements if t == tag and name in a]


def parse(markup: str) -> Page:
    page = Page()
    page.feed(markup)
    page.close()
    return page


@pytest.fixture
def built(email_site_public: Path) -> Path:
    return email_site_public


def _issue_links(issue: Issue, base: str) -> list[str]:
    out = []
    for link in issue.iter_links():
        url = link.url
        url = "https:" + url if url.startswith("//") else urljoin(base, url)
        out.append(url)
    return out


def _issue(root: Path, number: int) -> Issue:
    site = load_site(root)
    (path,) = (root / "content" / "issues").glob(f"{number:03d}-*.md")
    return read_issue(path.relative_to(root).as_posix(), path.read_bytes(), issue_settings(site))


def test_every_published_issue_has_html_text_and_eml(built: Path) -> None:
    names = sorted(p.name for p in (built / "email").iterdir())
    assert names == [f"{n}.{ext}" for n in (1, 2, 3) for ext in ("eml", "html", "txt")]  # the draft (4) has none


def test_html_structure_for_mail_clients(built: Path) -> None:
    markup = (built / "email" / "1.html").read_text()
    page = parse(markup)
    tags = [t for t, _ in page.elements]
    assert markup.lower().startswith("<!doctype html>")
    assert page.attrs("html", "lang") == ["en-GB"]
    assert ("meta", {"name": "color-scheme", "content": "light dark"}) in page.elements
    assert ("meta", {"charset": "utf-8"}) in page.elements
    title = re.search(r"<title>(.*?)</title>", markup).group(1)  # type: ignore[union-attr]
    assert title == "Ops &amp; Friends Weekly #1: Queues, caches &amp; \"quotes\""
    for forbidden in ("script", "form", "iframe", "object", "embed", "base", "svg", "link"):
        assert forbidden not in tags
    assert "javascript:" not in markup and "data:" not in markup
    # the preheader is the first element in <body>, hidden, and holds the summary
    first_tag, first = page.body_children[0]
    assert first_tag == "div" and "display:none" in first["style"] and "mso-hide:all" in first["style"]
    assert first.get("aria-hidden") == "true"
    assert page.preheader_text.split("\u034f")[0].strip().startswith("Queues in production, a cache that lies")
    # the article wrapper carries lang too (Gmail replaces <body>)
    article = next(a for t, a in page.elements if a.get("role") == "article")
    assert article["lang"] == "en-GB"
    # layout tables are presentational; the Outlook ghost table is 600 wide and balanced
    for t, a in page.elements:
        if t == "table":
            assert a.get("role") == "presentation"
    assert markup.count("<!--[if mso]>") == markup.count("<![endif]-->") == 3
    assert '<!--[if mso]><table role="presentation" width="600"' in markup
    # images have alt text and absolute https sources
    assert page.attrs("img", "alt") == ["A small diagram"]
    assert page.attrs("img", "src") == ["https://diagrams.example.com/d.png"]
    assert "&apos;" not in markup
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", markup)


def test_every_link_is_absolute_and_the_issue_links_are_all_there_in_order(built: Path) -> None:
    root = built.parent
    for number in (1, 2, 3):
        markup = (built / "email" / f"{number}.html").read_text()
        hrefs = parse(markup).attrs("a", "href")
        for href in hrefs:
            parts = urlsplit(href)
            assert parts.scheme in ("https", "mailto") and (parts.netloc or parts.scheme == "mailto"), href
        web = f"https://news.example.org/issues/{number}/"
        assert hrefs[0] == web  # "view in browser" first, pointing at the built issue page
        assert (built / "issues" / str(number) / "index.html").is_file()
        assert hrefs[-3:] == [f"https://news.example.org/{p}" for p in ("unsubscribe/{{subscriber}}", "archive/", "feed.xml")]
        assert hrefs[1:-3] == _issue_links(_issue(root, number), web)
        assert "https://news.example.org/unsubscribe/{{subscriber}}" in hrefs


def test_sponsor_blocks_are_styled_apart_and_labelled(built: Path) -> None:
    markup = (built / "email" / "1.html").read_text()
    block = markup[markup.index('class="s"') : markup.index("</td>", markup.index('class="s"'))]
    assert "background:#fff6dc" in block and "border-left:4px solid" in block
    assert ">Sponsored</p>" in block and "https://brightly.example.com/ops" in block
    assert markup.count('class="s"') == 1  # only the sponsored item


def test_readable_with_every_style_block_removed(built: Path) -> None:
    markup = (built / "email" / "1.html").read_text()
    page = parse(markup)
    assert len(page.styles) == 1
    css = page.styles[0]
    # what stays in <style> is only enhancement: at-rules (dark mode, small screens) and :root
    rest = css
    while "@media" in rest:
        start = rest.index("@media")
        depth, i = 0, rest.index("{", start)
        while True:
            depth += {"{": 1, "}": -1}.get(rest[i], 0)
            i += 1
            if depth == 0:
                break
        media = rest[start:i]
        for declaration in re.findall(r"[{;]\s*([a-z-]+\s*:[^;{}]+)", media):
            assert declaration.rstrip().endswith("!important"), declaration
        rest = rest[:start] + rest[i:]
    assert re.fullmatch(r"\s*:root\{[^}]*\}\s*", rest), rest
    assert "prefers-color-scheme:dark" in css
    # without any <style>, the layout and type are still set inline
    stripped = re.sub(r"<style.*?</style>", "", markup, flags=re.DOTALL)
    plain = parse(stripped)
    body = next(a for t, a in plain.elements if t == "body")
    assert "background:#eeeeea" in body["style"]
    container = next(a for t, a in plain.elements if t == "table" and "max-width:600px" in a.get("style", ""))
    assert container["width"] == "100%"
    main_cell = next(a for t, a in plain.elements if t == "td" and "c" in a.get("class", "").split())
    for needed in ("background:#ffffff", "font-size:16px", "color:#222222", "font-family:Arial", "padding:"):
        assert needed in main_cell["style"]
    for t, a in plain.elements:
        if t in ("h1", "h2", "ul", "p"):
            assert "margin:" in a.get("style", ""), (t, a)


def test_text_part_holds_every_link_and_stays_readable(built: Path) -> None:
    for number in (1, 2, 3):
        text = (built / "email" / f"{number}.txt").read_text()
        hrefs = parse((built / "email" / f"{number}.html").read_text()).attrs("a", "href")
        urls = set(re.findall(r"(?:https?://|mailto:)[^\s<>]+", text))
        for href in hrefs:
            assert href.removeprefix("mailto:") in text or href in urls, href
        for line in text.splitlines():
            assert len(line) <= 998
            if len(line) > 72:
                assert re.fullmatch(r"\s*(?:\S+ )?<?(?:https?://|mailto:)\S+>?\S?", line), line
        assert not re.search(r"<[a-zA-Z/][^>]*>(?!\S)", text.replace("<http", "").replace("<mailto", ""))
        assert "&amp;" not in text and "&nbsp;" not in text and "\u034f" not in text
    first = (built / "email" / "1.txt").read_text()
    for heading in ("SPONSOR\n=======", "NEWS\n====", "TOOLS\n=====", "EVENTS\n======"):
        assert heading in first
    assert "[Sponsored]" in first
    assert "* pgqueue <https://github.com/example/pgqueue> — a tiny queue on\n  Postgres." in first
    assert "Unsubscribe: https://news.example.org/unsubscribe/{{subscriber}}" in first
    assert "View this issue in your browser:\nhttps://news.example.org/issues/1/" in first


def test_eml_is_multipart_alternative_with_list_headers(built: Path) -> None:
    raw = (built / "email" / "1.eml").read_bytes()
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())  # type: ignore[attr-defined]
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert parts[1].get_content().replace("\r\n", "\n").rstrip() == (built / "email" / "1.html").read_text().rstrip()
    assert parts[0].get_content().replace("\r\n", "\n").rstrip() == (built / "email" / "1.txt").read_text().rstrip()
    assert msg["From"] == "Ops & Friends Weekly <weekly@example.org>"
    assert msg["Reply-To"] == "rita@example.org"
    assert msg["Date"] == "Mon, 02 Mar 2026 00:00:00 +0000"
    assert re.fullmatch(r"<1\.[0-9a-f]{16}@example\.org>", msg["Message-ID"])
    assert msg["List-Id"] == '"Ops & Friends Weekly" <ops-friends-weekly.news.example.org>'
    assert msg["List-Unsubscribe"] == "<https://news.example.org/unsubscribe/{{subscriber}}>, <mailto:leave@example.org?subject=unsubscribe>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    ids = {message_from_bytes((built / "email" / f"{n}.eml").read_bytes(), policy=policy.default)["Message-ID"] for n in (1, 2, 3)}
    assert len(ids) == 3


def test_build_is_reproducible(built: Path, tmp_path: Path) -> None:
    root = tmp_path / "again"
    shutil.copytree(FIXTURE, root)
    build(load_site(root), BuildOptions(workers=1, durable=False))
    for path in sorted((built / "email").iterdir()):
        assert (root / "public" / "email" / path.name).read_bytes() == path.read_bytes(), path.name


def test_email_command_writes_and_prints(built: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = built.parent
    out = tmp_path / "one.txt"
    assert main(["-C", str(root), "email", "2", "--format", "txt", "-o", str(out)]) == 0
    assert out.read_bytes() == (built / "email" / "2.txt").read_bytes()
    assert main(["-C", str(root), "email", "4", "--format", "html"]) == 0  # drafts can be previewed
    assert "<h1" in capsys.readouterr().out
    assert main(["-C", str(root), "email", "99"]) == 1
    assert "no issue numbered or named '99'" in capsys.readouterr().err


def _largest_twir(count: int) -> list[Path]:
    files = sorted(TWIR.glob("*.md"), key=lambda p: p.stat().st_size, reverse=True)
    return files[:count]


def test_largest_twir_issues_fit_under_the_clipping_limit(tmp_path: Path) -> None:
    (tmp_path / "tidings.yaml").write_text(f"title: This Week in Rust\nbase_url: https://this-week-in-rust.org/\nissues_dir: {TWIR}\n")
    site = load_site(tmp_path)
    settings = issue_settings(site)
    issues = [read_issue(str(p), p.read_bytes(), settings) for p in _largest_twir(4)]
    ctx = make_context(site, build_archive(issues), ())
    identity = identity_for(site)
    for issue in issues:
        edition = render_edition(ctx, issue)
        size = encoded_html_size(build_message(edition, identity))
        assert size < WARN_BYTES < LIMIT_BYTES, (issue.source_path, size)
        hrefs = parse(edition.html).attrs("a", "href")
        assert hrefs[0] == edition.web_url and hrefs[-2:] == ["https://this-week-in-rust.org/archive/", "https://this-week-in-rust.org/feed.xml"]
        links = _issue_links(issue, edition.web_url)
        assert hrefs[1:-2] == links and len(links) > 250
        text_urls = set(re.findall(r"(?:https?://|mailto:)[^\s<>]+", edition.text))
        for href in hrefs:
            assert href in text_urls or href.removeprefix("mailto:") in edition.text, href


def test_preview_server_serves_the_email_edition(tmp_path: Path) -> None:
    import urllib.request

    from generator.serve import PreviewServer

    root = tmp_path / "site"
    shutil.copytree(FIXTURE, root)
    with PreviewServer(root, port=0, poll_interval=0.05) as server:
        for name, ctype in (("1.html", "text/html"), ("1.txt", "text/plain"), ("4.html", "text/html")):  # drafts too
            with urllib.request.urlopen(server.url + "email/" + name, timeout=10) as response:
                assert response.status == 200 and response.headers["Content-Type"].startswith(ctype)
                assert response.read().strip(), name
        with urllib.request.urlopen(server.url + "email/1.html", timeout=10) as response:
            html = response.read().decode()
    # the preview's base URL is the preview server, so "view in browser" stays in the preview
    assert f'href="{server.url}issues/1/"' in html


def test_editions_can_be_left_out_of_the_build_and_still_rendered_on_demand(make_site, capsys) -> None:
    from generator.cli import main

    root = make_site(
        {
            "tidings.yaml": "title: T\nbase_url: https://t.example/\nemail:\n  editions: false\n",
            "content/issues/1.md": "---\ntitle: One\ndate: 2024-01-01\n---\n## News\n- [A story](https://a.example/story)\n",
        }
    )
    assert main(["-C", str(root), "build"]) == 0
    assert not (root / "public" / "email").exists()
    capsys.readouterr()
    assert main(["-C", str(root), "email", "1", "--format", "txt"]) == 0
    assert "https://a.example/story" in capsys.readouterr().out


def test_an_edition_near_the_clipping_limit_is_reported_and_one_over_it_fails_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import generator.render.email as email_module
    from generator.errors import BuildError

    root = tmp_path / "site"
    shutil.copytree(FIXTURE, root)
    site = load_site(root)
    # The fixture's editions are a few KB: the limits are lowered around them.
    monkeypatch.setattr(email_module, "WARN_BYTES", 1024)
    build(site, BuildOptions(durable=False, full=True, workers=1))
    warned = [r.getMessage() for r in caplog.records if r.name == "tidings.email"]
    assert warned and all(re.match(r"content/issues/.*:1: .* near the 100 KB limit \(Gmail clips messages over about 102 KB\)$", m) for m in warned)
    monkeypatch.setattr(email_module, "LIMIT_BYTES", 2048)
    with pytest.raises(BuildError, match=r"content/issues/.*:1: the email edition's HTML part is [\d.]+ KB encoded, over the 100 KB limit"):
        build(site, BuildOptions(durable=False, full=True, workers=1))
