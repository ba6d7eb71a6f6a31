"""The documentation that is derived from code stays in step with it."""

from __future__ import annotations

from generator.config import Config
from generator.schema import describe

from .conftest import REPO

CONFIG_DOC = REPO / "docs" / "configuration.md"
MARKER = "<!-- generated from generator/config.py: every key, its default and meaning -->"


def config_reference() -> str:
    rows = ["| key | default | meaning |", "| --- | --- | --- |"]
    for key, default, doc in describe(Config):
        rows.append(f"| `{key}` | `{default}` | {doc} |")
    return "\n".join(rows) + "\n"


def test_configuration_reference_lists_every_key_with_its_default():
    text = CONFIG_DOC.read_text(encoding="utf-8")
    assert MARKER in text, "docs/configuration.md keeps its generated table after the marker"
    table = text.split(MARKER, 1)[1].lstrip("\n")
    assert table == config_reference(), "regenerate with: python -m tests.test_docs > table and paste after the marker"


if __name__ == "__main__":  # print the table, for updating the document
    print(config_reference(), end="")
