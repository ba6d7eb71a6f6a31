"""``_redirects``: /latest and a previous site's URLs, expanded per issue."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator.build import BuildOptions, build
from generator.config import load_site
from generator.errors import BuildError, ConfigError

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "site"


def site_with(tmp_path: Path, web: str) -> Path:
    root = tmp_path / "site"
    shutil.copytree(FIXTURE, root)
    with open(root / "tidings.yaml", "a", encoding="utf-8") as fh:
        fh.write(web)
    return root


def rules(root: Path) -> list[list[str]]:
    text = (root / "public" / "_redirects").read_text()
    return [line.split() for line in text.splitlines() if line and not line.startswith("#")]


def test_latest_and_old_pelican_urls(tmp_path: Path) -> None:
    root = site_with(
        tmp_path,
        "web:\n  old_issue_urls:\n    - /blog/{year}/{month}/{day}/{slug}/\n    - /issue-{number}.html\n  redirects:\n    /about.html: /about/\n",
    )
    build(load_site(root), BuildOptions(durable=False, workers=1))
    found = rules(root)
    assert ["/about.html", "/about/", "301"] in found
    assert ["/blog/2025/11/07/1/", "/issues/1/", "301"] in found
    assert ["/blog/2026/01/09/3/", "/issues/3/", "301"] in found
    assert ["/issue-2.html", "/issues/2/", "301"] in found
    assert found[-1] == ["/latest", "/issues/3/", "302"]
    assert len(found) == 1 + 3 + 3 + 1


def test_a_pattern_that_sends_two_issues_to_one_url_fails(tmp_path: Path) -> None:
    root = site_with(tmp_path, "web:\n  old_issue_urls:\n    - /{year}/{slug}/\n  redirects:\n    /2025/1/: /about/\n")
    with pytest.raises(BuildError, match=r"redirect from /2025/1/ is claimed twice"):
        build(load_site(root), BuildOptions(durable=False, workers=1))
    assert not (root / "public").exists()


def test_latest_can_be_turned_off(tmp_path: Path) -> None:
    root = site_with(tmp_path, "web:\n  latest_path: ''\n")
    build(load_site(root), BuildOptions(durable=False, workers=1))
    assert rules(root) == []


@pytest.mark.parametrize(
    ("web", "line", "message"),
    [
        ("web:\n  latest_path: latest\n", 9, "'web.latest_path' must be a site path"),
        ("web:\n  old_issue_urls:\n    - /blog/{year}/{slug}/\n    - /blog/{date}/{slug}/\n", 11, "unknown placeholder {date}"),
        ("web:\n  old_issue_urls:\n    - /blog/{year}/\n", 10, "needs {slug} or {number}"),
        ("web:\n  redirects:\n    /a/: /b/\n    /old/: new/\n", 11, "redirect target 'new/'"),
        ("web:\n  redirects:\n    old: /new/\n", 10, "redirect source 'old'"),
    ],
)
def test_bad_settings_name_their_line(tmp_path: Path, web: str, line: int, message: str) -> None:
    root = site_with(tmp_path, web)
    with pytest.raises(ConfigError) as caught:
        load_site(root)
    (problem,) = caught.value.problems
    assert str(problem).startswith(f"tidings.yaml:{line}: ")
    assert message in str(problem)
