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


def _stored(issue):
    from generator.content.archive import index_summary
    from generator.serialize import issue_head, issue_json, stored_issue

    return stored_issue(issue_head(issue, index_summary(issue)), issue_json(issue))


def test_a_stored_issue_is_the_issue_with_its_body_decoded_when_first_read():
    for issue in load_content(load_site(REPO)).issues:
        stored = _stored(issue)
        assert not stored.body_decoded
        assert (stored.number, stored.title, stored.date, stored.slug, stored.tags, stored.pos) == (
            issue.number, issue.title, issue.date, issue.slug, issue.tags, issue.pos)
        assert not stored.body_decoded, "the header fields come from the head"
        assert stored.sections == issue.sections
        assert stored.body_decoded
        assert issue_to_dict(stored) == issue_to_dict(issue)
        assert stored.all_items == issue.all_items == tuple(issue.iter_items())


def test_a_stored_issue_can_be_replaced_copied_and_pickled_like_an_issue():
    import dataclasses
    import pickle

    issue = load_content(load_site(REPO)).issues[0]
    changed = dataclasses.replace(_stored(issue), title="Another")
    assert changed.title == "Another" and changed.sections == issue.sections
    restored = pickle.loads(pickle.dumps(_stored(issue)))
    assert issue_to_dict(restored) == issue_to_dict(issue)


def test_a_stored_body_that_cannot_be_read_is_an_error_naming_the_issue():
    import pytest

    from generator.content.archive import index_summary
    from generator.errors import ContentError
    from generator.serialize import issue_head, stored_issue

    issue = load_content(load_site(REPO)).issues[0]
    stored = stored_issue(issue_head(issue, index_summary(issue)), '{"sections": 3')
    with pytest.raises(ContentError) as caught:
        stored.sections
    assert str(caught.value.problems[0]).startswith(f"{issue.source_path}:1: the stored copy of this issue cannot be read")
