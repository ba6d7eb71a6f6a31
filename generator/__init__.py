"""Tidings: a static site generator for curated newsletters and link digests.

The pipeline flows one way: config → content model → renderers → writer.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
