"""Shared test helpers: tiny sites built from a dict of files, and the shared corpus paths."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Callable

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEEDS = SHARED / "seeds"
TWIR = SHARED / "corpus" / "twir"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

MINIMAL_CONFIG = "title: Test Weekly\nbase_url: https://test.example/\ndescription: A newsletter for tests.\n"

SiteFactory = Callable[..., Path]


def write_files(root: Path, files: dict[str, str | bytes]) -> None:
    """Write ``files`` (path → text, dedented, or bytes) below ``root``."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")


@pytest.fixture
def make_site(tmp_path: Path) -> SiteFactory:
    """Create a site in a temporary folder: ``make_site({"content/issues/1.md": "..."})``.

    A minimal ``tidings.yaml`` is added unless the files include one.
    """

    def factory(files: dict[str, str | bytes] | None = None, *, name: str = "site") -> Path:
        root = tmp_path / name
        root.mkdir(parents=True, exist_ok=True)
        files = dict(files or {})
        files.setdefault("tidings.yaml", MINIMAL_CONFIG)
        write_files(root, files)
        return root

    return factory


def seed(prefix: str) -> Path:
    """A seed document by its number prefix, e.g. seed("000")."""
    (path,) = SEEDS.glob(f"{prefix}_*")
    return path


@pytest.fixture(scope="session")
def twir_issues() -> tuple[list, dict[str, str]]:
    """Every TWiR issue parsed once per test session (in parallel), with the raw texts."""
    from generator.build import load_content
    from generator.config import load_site

    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "tidings.yaml").write_text(MINIMAL_CONFIG + f"issues_dir: {TWIR}\n", encoding="utf-8")
        site = load_site(root)
        content = load_content(site)
    texts = {i.source_path: Path(i.source_path).read_text(encoding="utf-8") for i in content.issues}
    return list(content.issues), texts
