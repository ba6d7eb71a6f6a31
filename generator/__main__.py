"""``python -m generator`` runs the ``tidings`` command."""

import sys

from .cli import main

sys.exit(main())
