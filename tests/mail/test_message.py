"""MIME assembly and the email settings: defaults, headers, placeholders, errors with lines."""

from __future__ import annotations

from datetime import datetime, timezone
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from generator.cli import main
from generator.config import load_site
from generator.errors import ConfigError
from generator.mail.message import build_message, fill_placeholder, identity_for, new_message_id
from generator.render.email import Edition


def _edition(subject: str = "Issue 7: Ünïcode & more") -> Edition:
    return Edition(
        slug="7",
        number=7,
        subject=subject,
        html='<!doctype html><html><body><a href="https://x.example/u/{{subscriber}}">Unsubscribe</a></body></html>',
        text="Unsubscribe: https://x.example/u/{{subscriber}}\n",
        web_url="https://x.example/issues/7/",
        date=datetime(2026, 1, 5, 7, 0, tzinfo=timezone.utc),
        source_path="content/issues/007.md",
        source_hash="ab" * 32,
    )


def _site(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "tidings.yaml").write_text("title: Ship Shape\nbase_url: https://shipshape.example/\n" + extra)
    return tmp_path


def test_defaults_come_from_the_site(tmp_path: Path) -> None:
    identity = identity_for(load_site(_site(tmp_path)))
    assert identity.address == "newsletter@shipshape.example" and identity.name == "Ship Shape"
    assert identity.list_id == "ship-shape.shipshape.example"
    assert not identity.can_unsubscribe
    msg = build_message(_edition(), identity)
    assert "List-Unsubscribe" not in msg and "List-Unsubscribe-Post" not in msg
    assert msg["List-Id"] == '"Ship Shape" <ship-shape.shipshape.example>'


def test_headers_placeholder_and_encoding(tmp_path: Path) -> None:
    site = load_site(_site(tmp_path, "email:\n  unsubscribe_url: https://x.example/u/{{subscriber}}\n  one_click: false\n"))
    identity = identity_for(site)
    raw = build_message(_edition(), identity, to="a@b.example", token="t 1/2", message_id=new_message_id(identity)).as_bytes()
    assert b"=?utf-8?" in raw  # the non-ASCII subject is RFC 2047-encoded
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"] == "Issue 7: Ünïcode & more"
    assert msg["List-Unsubscribe"] == "<https://x.example/u/t%201%2F2>"
    assert "List-Unsubscribe-Post" not in msg  # one_click: false
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "https://x.example/u/t%201%2F2" in html and "{{subscriber}}" not in html
    assert fill_placeholder("a {{subscriber}} b", None) == "a {{subscriber}} b"


def test_no_header_can_be_injected_through_a_value(tmp_path: Path) -> None:
    identity = identity_for(load_site(_site(tmp_path)))
    with pytest.raises(ValueError, match="linefeed or carriage return"):
        build_message(_edition(), identity, to="a@b.example\r\nBcc: everyone@b.example")
    # headers the messages share (parsed once) stay the same in each
    first, second = build_message(_edition(), identity).as_bytes(), build_message(_edition("Another"), identity).as_bytes()
    assert first.split(b"Subject:")[0] == second.split(b"Subject:")[0]


def test_message_ids_are_unique(tmp_path: Path) -> None:
    identity = identity_for(load_site(_site(tmp_path, "email:\n  from_address: n@mail.shipshape.example\n")))
    ids = {new_message_id(identity) for _ in range(1000)}
    assert len(ids) == 1000 and all(i.endswith("@mail.shipshape.example>") for i in ids)


def test_bad_email_settings_name_their_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _site(tmp_path, "email:\n  from_address: not an address\n  unsubscribe_url: http://x.example/u\n  rate: -1\n  smtp:\n    security: ssl\n")
    with pytest.raises(ConfigError) as caught:
        load_site(tmp_path)
    messages = [str(p) for p in caught.value.problems]
    assert any(m.startswith("tidings.yaml:8:") and "security" in m for m in messages), messages
    assert main(["-C", str(tmp_path), "email", "1"]) == 1
    (tmp_path / "tidings.yaml").write_text(
        "title: Ship Shape\nbase_url: https://shipshape.example/\nemail:\n  from_address: not an address\n  unsubscribe_url: http://x.example/u\n  rate: -1\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_site(tmp_path)
    assert [str(p) for p in caught.value.problems] == [
        "tidings.yaml:5: 'email.unsubscribe_url' must be an https:// URL",
        "tidings.yaml:4: 'email.from_address' must be a plain address like news@example.org",
        "tidings.yaml:6: 'email.rate' must not be negative",
    ]
