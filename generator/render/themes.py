"""Where a site's themes are: the lookup chain shared by the template engine and the freshness check.

Kept apart from :mod:`generator.render.env` so that deciding whether a build is needed
does not import Jinja.
"""

from __future__ import annotations

from pathlib import Path

from ..config import Site

__all__ = ["bundled_theme_dir", "theme_dirs"]


def bundled_theme_dir() -> Path:
    """The default theme shipped with Tidings (source checkout or installed wheel)."""
    here = Path(__file__).resolve()
    checkout = here.parents[2] / "themes" / "default"
    if (checkout / "templates").is_dir():
        return checkout
    return here.parents[1] / "_themes" / "default"


def theme_dirs(site: Site) -> list[Path]:
    """Theme folders from most to least specific; later ones fill in what earlier ones lack."""
    chain: list[Path] = []
    for candidate in (site.root / "themes" / site.config.theme, site.root / "themes" / "default", bundled_theme_dir()):
        resolved = candidate.resolve()
        if resolved.is_dir() and resolved not in chain:
            chain.append(resolved)
    return chain
