"""``python -m generator`` runs the ``tidings`` command."""

from .cli import run

run()
