"""The tidings command as an editor meets it: exit codes, one-line errors, show."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from generator.cli import main

from .conftest import REPO, seed


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_no_command_and_wrong_usage_exit_2_with_help(tmp_path, capsys):
    assert main([]) == 2
    result = run("build", "--no-such-flag", cwd=tmp_path)
    assert result.returncode == 2
    assert "usage: tidings" in result.stderr and "unrecognized arguments: --no-such-flag" in result.stderr
    # the help printed on a mistake lists every command, though only the one named was loaded
    result = run("-C", ".", "--bogus", "build", cwd=tmp_path)
    assert result.returncode == 2 and all(name in result.stderr for name in ("serve", "fetch", "check", "init"))
    # argparse ends --version by raising SystemExit(0), which the console script turns into its exit
    version = run("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("tidings ")


def test_a_command_loads_only_its_own_module():
    """`tidings build` must not import the network, mail and feed code (start-up time)."""
    code = (
        "import sys; from generator.cli import make_parser, _command_named; "
        "make_parser(_command_named(['-C', 'x', 'build', '-v'])); "
        "print(sorted(m for m in sys.modules if m.startswith(('generator.net', 'generator.mail', 'generator.ingest', 'httpx'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip() == "[]"


def test_every_bad_file_is_reported_in_one_run_and_nothing_is_written(make_site):
    root = make_site(
        {
            "content/issues/1.md": "---\ntitle: One\ndate: yesterday-ish\n---\n",
            "content/issues/2.md": "no header at all\n",
            "content/issues/3.md": b"---\ntitle: Three\ndate: 2024-01-01\n---\n\xff\n",
            "content/issues/4.md": "---\ntitle: Four\nnumber: 5\ndate: 2024-01-01\n---\n",
            "content/issues/5.md": "---\ntitle: Five\ndate: 2024-01-02\n---\n",
        }
    )
    result = run("build", cwd=root)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[:3] == [
        "content/issues/1.md:3: cannot read date 'yesterday-ish'; write it as YYYY-MM-DD or YYYY-MM-DD HH:MM",
        "content/issues/2.md:1: missing front matter: start the file with '---', 'title:' and 'date:' lines",
        "content/issues/3.md:5: not valid UTF-8 text",
    ]
    assert lines[-1] == "tidings build: 3 problems; nothing was written"
    assert not (root / "public").exists()


def test_duplicate_numbers_exit_1(make_site):
    root = make_site(
        {
            "content/issues/4.md": "---\ntitle: Four\nnumber: 5\ndate: 2024-01-01\n---\n",
            "content/issues/5.md": "---\ntitle: Five\ndate: 2024-01-02\n---\n",
        }
    )
    result = run("build", cwd=root)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == "content/issues/5.md:1: issue number 5 is already used by content/issues/4.md"


def test_config_problem_exit_1(make_site):
    root = make_site({"tidings.yaml": "title: T\nbase_url: https://t.example/\nthemee: x\n"})
    result = run("build", cwd=root)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == "tidings.yaml:3: unknown key 'themee'; did you mean 'theme'?"


def test_build_and_show_the_example(tmp_path):
    out = tmp_path / "out"
    result = run("build", "-o", str(out), cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "built" in result.stdout and (out / "index.html").is_file()
    shown = run("show", "3", cwd=REPO)
    assert shown.returncode == 0
    assert "[sponsor]" in shown.stdout and "[news]" in shown.stdout
    assert "content/issues/003.md:" in shown.stdout


def test_show_json_of_a_file_outside_the_issue_folder(tmp_path):
    result = run("-C", str(REPO), "show", str(seed("001")), "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["number"] == 245
    assert [s["kind"] for s in data["sections"]] == ["sponsor", "sponsor", "news", "jobs", "tools"]
    news = data["sections"][2]["blocks"][0]["items"]
    assert len(news) == 9 and len(news[-1]["links"]) == 2
    assert news[0]["links"][0]["pos"].endswith("001_caf5bfdbe90da651.txt:32")  # the <br>[url](url) line


def test_show_unknown_issue(tmp_path):
    result = run("show", "9999", cwd=REPO)
    assert result.returncode == 1
    assert "no issue numbered or named '9999'" in result.stderr


def test_an_up_to_date_build_answers_without_loading_the_renderers(make_site):
    root = make_site({"content/issues/1.md": "---\ntitle: One\ndate: 2024-01-01\n---\n\n## News\n\n- [A](https://a.example/) b.\n"})
    old = 1_600_000_000
    for path in root.rglob("*"):
        os.utime(path, (old, old))  # settled files: the build state may trust their stats
    assert run("build", cwd=root).returncode == 0
    code = (
        "import sys; from generator.cli import main; code = main(['build']); "
        "print(code, sorted(m for m in ('jinja2', 'markdown_it_pyrs', 'generator.build') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert "are up to date" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "0 []"


def test_a_build_that_is_due_looks_at_the_inputs_once(make_site, monkeypatch):
    """`tidings build` hands the up-to-date check's scan of every input to the build."""
    import generator.uptodate as uptodate
    from generator.cli import main

    root = make_site({"content/issues/1.md": "---\ntitle: One\ndate: 2024-01-01\n---\n\n## News\n\n- [A](https://a.example/) b.\n"})
    scans = []
    real = uptodate.scan_tree
    monkeypatch.setattr(uptodate, "scan_tree", lambda places: scans.append(places) or real(places))
    monkeypatch.chdir(root)
    assert main(["build"]) == 0
    assert len(scans) == 1 and (root / "public/issues/1/index.html").is_file()
