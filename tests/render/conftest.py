"""Fixtures shared by the renderer tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator.build import BuildOptions, build
from generator.config import load_site

EMAIL_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "email" / "site"


@pytest.fixture(scope="session")
def email_site_public(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The email/feeds fixture site, built once for every test that only reads its output."""
    root = tmp_path_factory.mktemp("email-site") / "site"
    shutil.copytree(EMAIL_FIXTURE, root)
    build(load_site(root), BuildOptions(workers=1, durable=False))
    return root / "public"
