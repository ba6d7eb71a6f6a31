"""Dependencies.unchanged: what a recorded output read, against what it would read now; the parse cache's rows."""

from __future__ import annotations

import jinja2

from generator.buildstate import BuildState, Dependencies, OutputRecord, Recorder, RecordingDict, parsed_body

TEMPLATES = {"page.html": "<p>{{ x }}</p>", "base.html": "<html>{% block b %}{% endblock %}</html>"}


def _deps(templates: dict[str, str] = TEMPLATES, extra: dict[str, object] | None = None) -> Dependencies:
    env = jinja2.Environment(loader=jinja2.DictLoader(templates))
    return Dependencies(env, RecordingDict(extra if extra is not None else {"links": {"a": 1}}, Recorder()), lambda: "all")


def _record(deps: Dependencies, own: dict[str, str], **extra_keys: str) -> OutputRecord:
    full = deps.complete(own, ["page.html", "base.html"], ["links"])
    full.update(extra_keys)
    return OutputRecord("p/index.html", "site", "page", "p", full, "digest", "[]")


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


def _parsed(state: BuildState, hashes: list[str], settings: str) -> dict[str, tuple[str, str | None]]:
    assert state.store is not None
    return {h: (head, parsed_body(state.store.path, h, settings)) for h, head in state.heads(hashes, settings).items()}


def test_the_parse_cache_gives_back_head_and_body_under_its_settings_and_keeps_no_others(tmp_path) -> None:
    state = BuildState.open(tmp_path, tmp_path / "public")
    state.record_parsed({"h1": ('{"head":1}', '{"body":1}'), "h2": ('{"head":2}', '{"body":2}')}, "settings-a")
    assert _parsed(state, ["h1", "h2", "h3"], "settings-a") == {"h1": ('{"head":1}', '{"body":1}'), "h2": ('{"head":2}', '{"body":2}')}
    assert _parsed(state, ["h1"], "settings-b") == {}
    state.record_parsed({"h1": ('{"head":3}', '{"body":3}')}, "settings-b")  # e.g. the section kinds changed
    assert _parsed(state, ["h1", "h2"], "settings-b") == {"h1": ('{"head":3}', '{"body":3}')}
    assert _parsed(state, ["h1", "h2"], "settings-a") == {}, "rows under other settings are dropped"
    assert parsed_body(state.store.path, "h2", "settings-a") is None, "a body that is gone is None"
    state.close()


def test_a_parse_cache_from_before_heads_is_migrated_and_its_rows_parsed_again(tmp_path) -> None:
    from generator import __version__
    from generator.buildstate import _MIGRATIONS, COMPONENT, STATE_FILE
    from generator.store import Store

    store = Store.open(tmp_path / STATE_FILE)
    store.migrate(COMPONENT, _MIGRATIONS[:1])  # the tables as the first release made them
    with store.transaction() as db:
        db.execute("INSERT INTO buildstate_parsed (hash, settings, issue) VALUES ('h1', 's', '{}')")
        db.execute("INSERT INTO buildstate_meta (target, key, value) VALUES ('', 'tidings', ?)", (__version__,))
    store.close()
    state = BuildState.open(tmp_path, tmp_path / "public")
    assert state.store is not None and state.store.db.execute("SELECT count(*) FROM buildstate_parsed").fetchone()[0] == 1, "kept"
    assert state.heads(["h1"], "s") == {}, "a row without a head is not read: its file is parsed again"
    state.record_parsed({"h1": ('{"head":1}', "{}")}, "s")
    assert _parsed(state, ["h1"], "s") == {"h1": ('{"head":1}', "{}")}
    state.close()
