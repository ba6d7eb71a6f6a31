"""The model survives a JSON round trip unchanged (what caches and `show --json` rely on)."""

from __future__ import annotations

import json

from generator.build import load_content
from generator.config import load_site
from generator.serialize import issue_from_dict, issue_to_dict

from .conftest import REPO


def test_every_example_issue_round_trips():
    content = load_content(load_site(REPO))
    for issue in content.issues:
        restored = issue_from_dict(json.loads(json.dumps(issue_to_dict(issue))))
        assert restored == issue
