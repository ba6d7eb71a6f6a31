"""``netlify.toml``: its settings make sense for the built site, and its build command works.

The build command is run for real, offline, in a copy of the repository and a
fresh virtual environment: ``pip install .`` builds and installs Tidings into
it (without an index: the dependencies are made visible from the test's own
environment), then that environment's ``tidings build`` writes the site into
the publish folder.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
from pathlib import Path

import pytest

from generator.build import BuildOptions, build
from generator.config import load_site

REPO = Path(__file__).resolve().parents[1]
FIXTURE_SITE = REPO / "tests" / "fixtures" / "site"
CONFIG = tomllib.loads((REPO / "netlify.toml").read_text(encoding="utf-8"))
YEAR = 365 * 24 * 3600


def headers_for(path: str) -> dict[str, str]:
    """Headers Netlify sends for ``path``: every matching rule, later ones winning."""
    merged: dict[str, str] = {}
    for rule in CONFIG["headers"]:
        pattern = "^" + ".*".join(re.escape(p) for p in rule["for"].split("*")) + "$"
        if re.match(pattern, path):
            merged.update(rule["values"])
    return merged


def directives(csp: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (part.strip() for part in csp.split(";")) if d}


def test_build_settings() -> None:
    assert CONFIG["build"]["publish"] == "public"
    assert "tidings build" in CONFIG["build"]["command"]
    major, minor = (int(x) for x in CONFIG["build"]["environment"]["PYTHON_VERSION"].split(".")[:2])
    assert (major, minor) >= (3, 11)


def test_security_headers_on_every_page() -> None:
    page = headers_for("/issues/1/")
    csp = directives(page["Content-Security-Policy"])
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'", "'wasm-unsafe-eval'"], "only the site's own scripts; Pagefind compiles WebAssembly"
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"] and csp["form-action"] == ["'self'"]
    assert "'unsafe-inline'" not in csp["style-src"]
    max_age = int(re.search(r"max-age=(\d+)", page["Strict-Transport-Security"]).group(1))  # type: ignore[union-attr]
    assert max_age >= YEAR
    assert page["X-Content-Type-Options"] == "nosniff"
    assert page["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "camera=()" in page["Permissions-Policy"]
    mail = directives(headers_for("/email/1.html")["Content-Security-Policy"])
    assert mail["style-src"] == ["'unsafe-inline'"] and "script-src" not in mail, "email editions: their own styles, no scripts"


@pytest.fixture(scope="module")
def public(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("netlify") / "public"
    root = REPO if (REPO / "tidings.yaml").is_file() else FIXTURE_SITE
    build(load_site(root), BuildOptions(output_dir=out, durable=False))
    return out


def test_caching_follows_file_names(public: Path) -> None:
    """A year, immutable, exactly for files whose names carry a content hash; a revalidation for the rest."""
    hashed = re.compile(r"(\.[0-9a-f]{10}\.[a-z]+|_[0-9a-f]{7,}\.pf_[a-z]+)$")
    checked = 0
    for file in public.rglob("*"):
        if not file.is_file():
            continue
        path = "/" + file.relative_to(public).as_posix()
        cache = headers_for(path)["Cache-Control"]
        if "immutable" in cache:
            assert hashed.search(path), f"{path} is cached for good but its name has no hash"
            assert f"max-age={YEAR}" in cache
            checked += 1
        else:
            assert "max-age=0" in cache and "must-revalidate" in cache, path
    assert checked >= 3, "the style sheet and the search index chunks are cached for good"
    for html in ("/", "/issues/1/", "/sitemap.xml", "/pagefind/issues-0001/pagefind.js", "/pagefind/pages/pagefind-entry.json"):
        assert "immutable" not in headers_for(html)["Cache-Control"], html


def _copy_repository(target: Path) -> None:
    skip = {".git", ".venv", "public", "test-output", "node_modules", "__pycache__", ".pytest_cache", "bench"}
    shutil.copytree(REPO, target, ignore=lambda d, names: [n for n in names if n in skip or n.startswith((".public", "public."))])
    if not (target / "tidings.yaml").is_file():  # until the example newsletter lives at the root
        shutil.copytree(FIXTURE_SITE, target, dirs_exist_ok=True)


def test_the_build_command_runs_offline(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    _copy_repository(checkout)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    # `pip` in the new environment is this environment's pip aimed at it (ensurepip would take long)
    shim = env_dir / "bin" / "pip"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m pip --python "{env_dir / "bin" / "python"}" "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    purelib = Path(sysconfig.get_paths(vars={"base": str(env_dir), "platbase": str(env_dir)})["purelib"])
    # the dependencies (jinja2, pagefind-bin, hatchling…) come from this test's environment
    (purelib / "test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV"))}
    env.update(
        PATH=f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(env_dir),
        PIP_NO_INDEX="1",  # never the network
        PIP_NO_BUILD_ISOLATION="0",  # build with the hatchling already present
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    proc = subprocess.run(["bash", "-c", CONFIG["build"]["command"]], cwd=checkout, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    publish = checkout / CONFIG["build"]["publish"]
    assert (publish / "index.html").is_file()
    assert (publish / "pagefind" / "issues-0001" / "pagefind.js").is_file()
    assert (publish / "_redirects").is_file()
    installed = subprocess.run([str(env_dir / "bin" / "python"), "-c", "import generator; print(generator.__file__)"], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert str(env_dir) in installed.stdout, "tidings build ran the freshly installed package"
    assert sys.executable not in installed.stdout
