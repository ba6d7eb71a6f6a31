"""``tidings check`` end to end: a real site folder, a real store file, a real HTTP server."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.cli import main
from tests.conftest import SiteFactory
from tests.net.fakeweb import FakeWeb, running

CONFIG = """\
title: Ops Notes
base_url: https://opsnotes.example/
check:
  allow_private: true
  timeout: 2
  retries: 1
  retry_backoff: 0.05
  host_interval: 0
  dead_after_runs: 2
"""


@pytest.fixture()
def web() -> Iterator[FakeWeb]:
    with running() as server:
        yield server


def issue(number: int, date: str, body: str, *, draft: bool = False) -> str:
    return f"---\ntitle: Issue {number}\ndate: {date}\nnumber: {number}\ndraft: {str(draft).lower()}\n---\n\n{body}"


def run(root: Path, *args: str) -> int:
    return main(["-C", str(root), "check", *args])


def test_clean_issue_exits_0_and_warm_rerun_makes_no_requests(make_site: SiteFactory, web: FakeWeb, capsys: pytest.CaptureFixture[str]) -> None:
    base = f"http://127.0.0.1:{web.port}"
    body = f"## News\n\n- [One]({base}/ok) is good.\n- [Two]({base}/ok#intro) has a heading.\n- [Gone]({base}/status/404) was here.\n"
    root = make_site({"tidings.yaml": CONFIG, "content/issues/1.md": issue(1, "2024-01-05", body)})
    assert run(root) == 1
    out = capsys.readouterr().out
    assert f"content/issues/1.md:12: broken: {base}/status/404 — HTTP 404 Not Found" in out
    first = web.count()
    assert first >= 3
    assert run(root) == 1
    # successes came from the store; only the failure was asked again
    assert web.count() - first == 1
    assert web.hits("127.0.0.1", "/status/404") == 2
    assert "2 reused from earlier runs" in capsys.readouterr().out
    (root / "content/issues/1.md").write_text(issue(1, "2024-01-05", body.replace("/status/404", "/ok/3")), "utf-8")
    assert run(root) == 0


def test_default_scope_is_the_newest_issue_even_a_draft(make_site: SiteFactory, web: FakeWeb, capsys: pytest.CaptureFixture[str]) -> None:
    base = f"http://127.0.0.1:{web.port}"
    root = make_site(
        {
            "tidings.yaml": CONFIG,
            "content/issues/1.md": issue(1, "2024-01-05", f"- [Old]({base}/status/404) thing.\n"),
            "content/issues/2.md": issue(2, "2024-01-12", f"- [New]({base}/ok/new) thing.\n", draft=True),
        },
    )
    assert run(root) == 0
    assert "issue #2 (draft)" in capsys.readouterr().out
    assert web.hits("127.0.0.1", "/status/404") == 0
    assert run(root, "1") == 1
    assert run(root, "content/issues/1.md") == 1
    assert run(root, "99") == 1  # no such issue: a content problem
    assert "no issue numbered or named '99'" in capsys.readouterr().err


def test_formats_and_output_file(make_site: SiteFactory, web: FakeWeb, capsys: pytest.CaptureFixture[str]) -> None:
    base = f"http://127.0.0.1:{web.port}"
    body = f"- [A]({base}/ok) a.\n- [B]({base}/ok#nowhere) b.\n- [C]({base}/perm/2) c.\n- [D]({base}/bot) d.\n"
    root = make_site({"tidings.yaml": CONFIG, "content/issues/1.md": issue(1, "2024-01-05", body)})
    assert run(root, "--format", "json") == 1
    data = json.loads(capsys.readouterr().out)
    by_url = {entry["url"]: entry for entry in data["links"]}
    assert by_url[f"{base}/ok#nowhere"]["class"] == "missing-fragment"
    assert by_url[f"{base}/perm/2"]["suggestion"] == f"{base}/ok"
    assert by_url[f"{base}/bot"]["class"] == "blocked"
    assert by_url[f"{base}/ok"]["places"] == [{"path": "content/issues/1.md", "line": 8}]
    assert data["exit_code"] == 1 and data["summary"]["missing-fragment"] == 1

    report = root / "report.xml"
    assert run(root, "--format", "junit", "--output", str(report)) == 1
    suites = ET.parse(report).getroot()
    assert suites.get("failures") == "1"
    failure = suites.find(".//failure")
    assert failure is not None and failure.get("type") == "missing-fragment"
    assert "report written to" in capsys.readouterr().err

    assert run(root, "--format", "markdown") == 1
    markdown = capsys.readouterr().out
    assert markdown.startswith("### ❌ Link check of issue #1")
    assert f"| ❌ missing-fragment | <{base}/ok#nowhere> | `content/issues/1.md:9` |" in markdown


def test_usage_and_config_errors_exit_2(make_site: SiteFactory, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_site({"tidings.yaml": CONFIG.replace("retries: 1", "retries: 1\n  per_host: 0"), "content/issues/1.md": issue(1, "2024-01-05", "hi\n")})
    assert run(root) == 2
    assert "tidings.yaml:7: 'check.per_host' must be at least 1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        run(root, "--format", "yaml")
    assert exc.value.code == 2
    assert run(root, "1", "--all") == 2


def test_offline_lint_makes_no_requests(make_site: SiteFactory, web: FakeWeb, capsys: pytest.CaptureFixture[str]) -> None:
    base = f"http://127.0.0.1:{web.port}"
    body = (
        f"- [Tracked](https://example.org/a?utm_source=mail&id=3) one.\n"
        f"- [Script](javascript:alert(1)) two.\n"
        f"- [Plain](http://example.org/b) three. <!-- tidings: nocheck -->\n"
        f"- [Local]({base}/ok) four.\n"
    )
    root = make_site({"tidings.yaml": CONFIG, "content/issues/1.md": issue(1, "2024-01-05", body)})
    assert run(root, "--offline") == 1
    out = capsys.readouterr().out
    assert "content/issues/1.md:8: warning: tracking parameter utm_source; remove before sending" in out
    assert "content/issues/1.md:9: error: 'javascript:' links are not allowed in an issue" in out
    assert "content/issues/1.md:10" not in out  # silenced
    assert "content/issues/1.md:11: warning: '127.0.0.1' is a private or local address" in out
    assert web.count() == 0


def test_nocheck_marker_silences_the_network_check(make_site: SiteFactory, web: FakeWeb, capsys: pytest.CaptureFixture[str]) -> None:
    base = f"http://127.0.0.1:{web.port}"
    body = f"<!-- tidings: nocheck -->\n- [Flaky]({base}/status/404) one.\n- [Fine]({base}/ok) two.\n"
    root = make_site({"tidings.yaml": CONFIG, "content/issues/1.md": issue(1, "2024-01-05", body)})
    assert run(root, "-v") == 0
    out = capsys.readouterr().out
    assert "excluded" in out and "silenced by <!-- tidings: nocheck -->" in out
    assert web.hits("127.0.0.1", "/status/404") == 0


def test_fix_rewrites_permanent_redirects_and_nothing_else(make_site: SiteFactory, web: FakeWeb, capsys: pytest.CaptureFixture[str]) -> None:
    base = f"http://127.0.0.1:{web.port}"
    body = (
        f"- [Moved]({base}/perm/2#intro) moved.\r\n"
        f"- [Moved again](<{base}/perm/2#intro>) \\_escaped\\_ text.\r\n"
        f"- [Temp]({base}/temp/1) temporary.\r\n"
        f"- [Longer]({base}/perm/2x) not the same URL.\r\n"
        f"\r\n[ref]: {base}/perm/1\r\n"
        f"See [the ref][ref].\r\n"
    )
    text = issue(1, "2024-01-05", body)
    root = make_site({"tidings.yaml": CONFIG, "content/issues/1.md": text.encode("utf-8")})
    path = root / "content/issues/1.md"
    assert run(root, "--fix") == 0
    out = capsys.readouterr().out
    assert "content/issues/1.md: --fix updated 3 permanently redirected links" in out
    expected = text.replace(f"{base}/perm/2#intro", f"{base}/ok#intro").replace(f"{base}/perm/1\r", f"{base}/ok\r")
    assert path.read_bytes() == expected.encode("utf-8")
    assert run(root, "--fix") == 0
    assert "--fix" not in capsys.readouterr().out


def test_all_records_dead_links_and_build_marks_them(make_site: SiteFactory, web: FakeWeb, capsys: pytest.CaptureFixture[str]) -> None:
    base = f"http://127.0.0.1:{web.port}"
    body = (
        f"## Tools\n\n- [Gone]({base}/status/410) was a tool.\n- [Alive]({base}/ok/alive) is a tool.\n\n"
        f"## Notes\n\nA lead-in line\n\nCommentary here.<br>\n[Own line]({base}/status/410)\n"
    )
    root = make_site(
        {
            "tidings.yaml": CONFIG,
            "content/issues/1.md": issue(1, "2024-01-05", body),
            "content/pages/about.md": f"---\ntitle: About\n---\n\nSee [us]({base}/ok/about).\n",
            "content/digests/2024-w01.yaml": (
                "title: Links of week 1\nstart: '2024-01-01'\nend: '2024-01-07'\nentries:\n"
                f"  - title: From a feed\n    url: {base}/ok/digest\n  - title: Gone from a feed\n    url: {base}/status/404\n"
            ),
        },
    )
    assert run(root, "--all") == 1
    out = capsys.readouterr().out
    assert web.hits("127.0.0.1", "/ok/digest") == 1  # digest links are checked with --all
    assert "content/digests/2024-w01.yaml:8:" in out  # a broken digest link is reported at its line
    dead_file = root / "content/linkstatus.yaml"
    assert dead_file.read_text().rstrip().endswith("\n{}")  # one failure is not death yet
    assert web.hits("127.0.0.1", "/ok/about") == 1  # pages are checked with --all
    assert run(root, "--all") == 1
    assert "content/linkstatus.yaml: written (2 dead links)" in capsys.readouterr().out  # the issue's and the digest's
    dead = dead_file.read_text()
    assert f"{base}/status/410:" in dead and "reason: HTTP 410 Gone" in dead and "failures: 2" in dead
    meta = (root / "content/linkmeta.yaml").read_text()
    assert f"{base}/ok/alive:" in meta and "title: Page /ok/alive on 127.0.0.1" in meta

    requests = web.count()
    assert main(["-C", str(root), "build"]) == 0
    assert web.count() == requests  # the build never touches the network
    page = (root / "public/issues/1/index.html").read_text()
    wayback = f"https://web.archive.org/web/20240105/{base}/status/410"
    assert f"“Gone” is no longer available: <a href=\"{wayback}\">archived copy</a>." in page
    assert f'class="link-gone">Own line</a> <span class="link-archived">(no longer available: <a href="{wayback}">' in page
    assert page.count(wayback) == 2
    links = (root / "public/links/index.html").read_text()
    assert "A test page &amp; its description." in links

    # fixed on the web: the next full run drops it from the file
    (root / "content/issues/1.md").write_text(issue(1, "2024-01-05", body.replace("/status/410", "/ok/back")), "utf-8")
    digest = root / "content/digests/2024-w01.yaml"
    digest.write_text(digest.read_text().replace("/status/404", "/ok/digest-2"), "utf-8")
    assert run(root, "--all") == 0
    assert "/status/410" not in dead_file.read_text()
