"""Dependencies.unchanged: what a recorded output read, against what it would read now."""

from __future__ import annotations

import jinja2

from generator.buildstate import Dependencies, OutputRecord, Recorder, RecordingDict

TEMPLATES = {"page.html": "<p>{{ x }}</p>", "base.html": "<html>{% block b %}{% endblock %}</html>"}


def _deps(templates: dict[str, str] = TEMPLATES, extra: dict[str, object] | None = None) -> Dependencies:
    env = jinja2.Environment(loader=jinja2.DictLoader(templates))
    return Dependencies(env, RecordingDict(extra if extra is not None else {"links": {"a": 1}}, Recorder()), lambda: "all")


def _record(deps: Dependencies, own: dict[str, str], **extra_keys: str) -> OutputRecord:
    full = deps.complete(own, ["page.html", "base.html"], ["links"])
    full.update(extra_keys)
    return OutputRecord("p/index.html", "site", "page", "p", full, "digest", ())


def test_an_output_whose_inputs_all_match_is_unchanged() -> None:
    before = _deps()
    record = _record(before, {"view:p": "1", "source:p.md": "h"})
    assert _deps().unchanged(record, {"view:p": "1", "source:p.md": "h"})


def test_its_own_fingerprints_are_compared() -> None:
    record = _record(_deps(), {"view:p": "1"})
    now = _deps()
    assert not now.unchanged(record, {"view:p": "2"})
    assert not now.unchanged(record, {"view:p": "1", "view:new": "x"}), "a key the record lacks"
    assert not now.unchanged(record, {}), "a key the output no longer has"


def test_a_changed_template_or_data_key_changes_it() -> None:
    record = _record(_deps(), {"view:p": "1"})
    assert not _deps({**TEMPLATES, "base.html": "<body></body>"}).unchanged(record, {"view:p": "1"})
    assert not _deps(extra={"links": {"a": 2}}).unchanged(record, {"view:p": "1"})
    assert not _deps({"page.html": TEMPLATES["page.html"]}).unchanged(record, {"view:p": "1"}), "a template that is gone"
    # one Dependencies answers many records: a fingerprint found once is used again
    now = _deps(extra={"links": {"a": 2}})
    assert not now.unchanged(record, {"view:p": "1"}) and not now.unchanged(record, {"view:p": "1"})


def test_memo_keys_are_not_compared() -> None:
    record = _record(_deps(), {"view:p": "1", "memo:sources": "old"})
    now = _deps()
    assert now.unchanged(record, {"view:p": "1", "memo:sources": "new"})
    assert now.unchanged(record, {"view:p": "1"}), "a memo the output does not make now"
    assert not now.unchanged(record, {"view:p": "2", "memo:sources": "old"})
