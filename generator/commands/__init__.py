"""One module per ``tidings`` sub-command; each exposes ``register(subparsers)``."""
