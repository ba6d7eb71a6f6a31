"""``tidings init DIR`` then ``cd DIR && tidings build``: a new newsletter works at once."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def tidings(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_init_then_build(tmp_path: Path) -> None:
    made = tidings("init", "ops-digest", "--url", "https://ops.example/", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    root = tmp_path / "ops-digest"
    for rel in ("tidings.yaml", "content/issues/001.md", "content/pages/about.md", "feeds/feeds.yaml", "netlify.toml", ".gitignore", "themes/custom/README.md", "requirements.txt"):
        assert (root / rel).is_file(), rel
    assert "title: \"Ops Digest\"" in (root / "tidings.yaml").read_text()
    built = tidings("build", cwd=root)
    assert built.returncode == 0, built.stderr
    public = root / "public"
    issue = (public / "issues" / "1" / "index.html").read_text()
    assert "Ops Digest #1" in issue and 'href="https://pagefind.app/"' in issue
    assert (public / "about" / "index.html").is_file()
    assert (public / "pagefind" / "issues-0001" / "pagefind.js").is_file()
    assert "/latest  /issues/1/  302" in (public / "_redirects").read_text()
    assert "/public/" in (root / ".gitignore").read_text().splitlines()
    from generator.ingest.subscriptions import load_subscriptions

    assert load_subscriptions(root) == [], "feeds/feeds.yaml is valid and empty"


def test_the_theme_folder_overrides_templates(tmp_path: Path) -> None:
    assert tidings("init", "site", cwd=tmp_path).returncode == 0
    root = tmp_path / "site"
    (root / "themes" / "custom" / "templates" / "404.html").write_text(
        '{% extends "base.html" %}{% block main %}<h1>Lost at sea</h1>{% endblock %}', encoding="utf-8"
    )
    built = tidings("build", cwd=root)
    assert built.returncode == 0, built.stderr
    assert "<h1>Lost at sea</h1>" in (root / "public" / "404.html").read_text()


def test_init_never_overwrites(tmp_path: Path) -> None:
    root = tmp_path / "site"
    (root / "content" / "issues").mkdir(parents=True)
    (root / "content" / "issues" / "001.md").write_text("mine", encoding="utf-8")
    result = tidings("init", "site", cwd=tmp_path)
    assert result.returncode == 1
    assert "content/issues/001.md: already exists" in result.stderr
    assert not (root / "tidings.yaml").exists(), "nothing is written when anything clashes"
    assert (root / "content" / "issues" / "001.md").read_text() == "mine"


def test_bad_options_are_one_line_errors(tmp_path: Path) -> None:
    result = tidings("init", "site", "--timezone", "Mars/Olympus", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == "--timezone: 'Mars/Olympus' is not a known IANA time zone"
    assert not (tmp_path / "site").exists()


def test_scaffold_netlify_headers_match_the_repository(tmp_path: Path) -> None:
    assert tidings("init", "site", cwd=tmp_path).returncode == 0
    ours = tomllib.loads((REPO / "netlify.toml").read_text())
    theirs = tomllib.loads((tmp_path / "site" / "netlify.toml").read_text())
    assert ours["headers"] == theirs["headers"]
    assert theirs["build"]["command"] == "pip install -r requirements.txt && tidings build"
