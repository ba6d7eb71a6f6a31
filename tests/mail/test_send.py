"""tidings send against a real SMTP server (aiosmtpd on 127.0.0.1): test copies, bulk runs, crashes, rejections."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import pytest

from generator.cli import main
from generator.commands.email import load_edition
from generator.errors import ContentError
from generator.mail.message import identity_for
from generator.mail.send import read_recipients, send_bulk
from generator.mail.sendlog import SendLog
from generator.mail.smtp import Connection
from generator.store import Store


REPO = Path(__file__).resolve().parents[2]


def _delivered(mailbox: Any) -> Counter[str]:
    return Counter(r for m in mailbox.messages for r in m.recipients)


def test_test_copy_arrives_intact(mail_site: Path, smtp_server: tuple[Any, int], write_recipients: Callable[[Path, int], list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    mailbox, _ = smtp_server
    assert main(["-C", str(mail_site), "send", "1", "--to", "proof@example.net", "--token", "abc/123"]) == 0
    assert mailbox.count() == 1
    received = mailbox.messages[0]
    assert received.sender == "weekly@example.org" and received.recipients == ["proof@example.net"]
    msg = received.message
    assert msg.get_content_type() == "multipart/alternative"
    text_part, html_part = list(msg.iter_parts())
    assert text_part.get_content_type() == "text/plain" and html_part.get_content_type() == "text/html"
    assert text_part.get_content_charset() == "utf-8" and html_part.get_content_charset() == "utf-8"
    assert msg["Subject"] == 'Ops & Friends Weekly #1: Queues, caches & "quotes"'
    assert msg["To"] == "proof@example.net"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # the per-recipient token fills the placeholder, URL-quoted, in the header and both bodies
    assert "<https://news.example.org/unsubscribe/abc%2F123>" in msg["List-Unsubscribe"]
    html, text = html_part.get_content(), text_part.get_content()
    assert "https://news.example.org/unsubscribe/abc%2F123" in html and "https://news.example.org/unsubscribe/abc%2F123" in text
    assert "{{subscriber}}" not in received.data.decode("ascii")
    # the body that arrived is the one the build renders, apart from the filled token
    _, _, edition = load_edition(str(mail_site), "1")
    def same(a: str) -> str:
        return a.replace("\r\n", "\n").rstrip("\n")

    assert same(html) == same(edition.html.replace("{{subscriber}}", "abc%2F123"))
    assert same(text) == same(edition.text.replace("{{subscriber}}", "abc%2F123"))
    assert max(len(line) for line in received.data.split(b"\r\n")) <= 998


def test_bulk_send_resumes_after_a_crash_before_the_message(mail_site: Path, smtp_server: tuple[Any, int], write_recipients: Callable[[Path, int], list[str]]) -> None:
    _crash_and_resume(mail_site, smtp_server, write_recipients, "before-smtp", 137, total=200)


def test_bulk_send_resumes_after_a_crash_after_acceptance(mail_site: Path, smtp_server: tuple[Any, int], write_recipients: Callable[[Path, int], list[str]]) -> None:
    # the worst moment: the server accepted message 260, the log still says "committing"
    _crash_and_resume(mail_site, smtp_server, write_recipients, "after-reply", 260, total=500)


def _crash_and_resume(mail_site: Path, smtp_server: tuple[Any, int], write_recipients: Callable[[Path, int], list[str]], point: str, number: int, total: int) -> None:
    mailbox, _ = smtp_server
    recipients = mail_site / "readers.csv"
    addresses = write_recipients(recipients, total)
    child = _run_child(mail_site, recipients, f"{point}:{number}")
    assert child.returncode == -signal.SIGKILL, child.stderr
    delivered_before = mailbox.count()
    assert delivered_before == (number - 1 if point == "before-smtp" else number)
    status = main(["-C", str(mail_site), "send", "1", "--recipients", str(recipients)])
    counts = _delivered(mailbox)
    assert sum(counts.values()) == total == mailbox.count()
    assert set(counts) == set(addresses) and set(counts.values()) == {1}
    if point == "after-reply":
        # accepted, but the crash came before 'sent' was recorded: reported in doubt, not resent
        assert status == 1
        assert main(["-C", str(mail_site), "send", "1", "--recipients", str(recipients), "--mark-in-doubt-sent"]) == 0
    else:
        assert status == 0
    # a further run is a no-op
    assert main(["-C", str(mail_site), "send", "1", "--recipients", str(recipients)]) == 0
    assert mailbox.count() == total
    with sqlite3.connect(mail_site / "feeds" / "tidings.sqlite") as db:
        states = dict(db.execute("SELECT state, COUNT(*) FROM send_log GROUP BY state").fetchall())
    assert states == {"sent": total}


def test_crash_between_body_and_final_dot_is_reported_in_doubt(mail_site: Path, smtp_server: tuple[Any, int], write_recipients: Callable[[Path, int], list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    mailbox, _ = smtp_server
    recipients = mail_site / "readers.csv"
    addresses = write_recipients(recipients, 40)
    child = _run_child(mail_site, recipients, "before-dot:10")
    assert child.returncode == -signal.SIGKILL
    assert mailbox.count() == 9  # message 10 never got its final "."
    # at-most-once: the resumed run does not resend the message in doubt, and says so
    assert main(["-C", str(mail_site), "send", "1", "--recipients", str(recipients)]) == 1
    err = capsys.readouterr().err
    assert f"in doubt  {addresses[9]}" in err
    assert mailbox.count() == 39 and addresses[9] not in _delivered(mailbox)
    # the editor checks and resends it explicitly, with the same Message-ID as the first attempt
    with sqlite3.connect(mail_site / "feeds" / "tidings.sqlite") as db:
        (first_id,) = db.execute("SELECT message_id FROM send_log WHERE recipient = ?", (addresses[9],)).fetchone()
    assert main(["-C", str(mail_site), "send", "1", "--recipients", str(recipients), "--resend-in-doubt"]) == 0
    assert mailbox.count() == 40 and set(_delivered(mailbox).values()) == {1}
    assert mailbox.messages[-1].message["Message-ID"] == first_id


def test_killed_at_an_arbitrary_moment_never_duplicates(mail_site: Path, smtp_server: tuple[Any, int], write_recipients: Callable[[Path, int], list[str]]) -> None:
    """A real SIGKILL from outside, wherever the sender happens to be."""
    mailbox, _ = smtp_server
    recipients = mail_site / "readers.csv"
    addresses = write_recipients(recipients, 200)
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(mail_site), str(recipients), ""], env=_env(), stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while mailbox.count() < 80 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert 80 <= mailbox.count() < 200
    store = Store.open(mail_site / "feeds" / "tidings.sqlite")
    try:
        in_doubt = {r for r, row in SendLog(store).rows("1").items() if row.state == "committing"}
    finally:
        store.close()
    main(["-C", str(mail_site), "send", "1", "--recipients", str(recipients)])
    counts = _delivered(mailbox)
    assert set(counts.values()) == {1}  # nobody got two copies
    assert len(in_doubt) <= 1  # only the message in flight can be in doubt
    assert set(counts) | in_doubt == set(addresses)  # nobody skipped without being reported


def test_permanent_rejection_is_logged_and_the_run_continues(mail_site: Path, smtp_server: tuple[Any, int], write_recipients: Callable[[Path, int], list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    mailbox, _ = smtp_server
    recipients = mail_site / "readers.csv"
    addresses = write_recipients(recipients, 20)
    mailbox.reject.add(addresses[4])
    assert main(["-C", str(mail_site), "send", "1", "--recipients", str(recipients)]) == 0
    assert mailbox.count() == 19 and addresses[4] not in _delivered(mailbox)
    out = capsys.readouterr()
    assert f"rejected  {addresses[4]}  550 5.1.1 No such user here" in out.err
    assert "sent 19 of 20" in out.out and "1 rejected" in out.out
    with sqlite3.connect(mail_site / "feeds" / "tidings.sqlite") as db:
        row = db.execute("SELECT state, detail FROM send_log WHERE recipient = ?", (addresses[4],)).fetchone()
    assert row == ("rejected", "550 5.1.1 No such user here")
    # a later run does not try the rejected address again
    mailbox.reject.clear()
    assert main(["-C", str(mail_site), "send", "1", "--recipients", str(recipients)]) == 0
    assert mailbox.count() == 19


def test_dry_run_sends_nothing_and_writes_nothing(mail_site: Path, smtp_server: tuple[Any, int], write_recipients: Callable[[Path, int], list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    mailbox, _ = smtp_server
    recipients = mail_site / "readers.csv"
    write_recipients(recipients, 5)
    assert main(["-C", str(mail_site), "send", "1", "--recipients", str(recipients), "--dry-run"]) == 0
    assert "would send 5 of 5" in capsys.readouterr().out
    assert mailbox.count() == 0
    with sqlite3.connect(mail_site / "feeds" / "tidings.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM send_log").fetchone() == (0,)


def test_rate_limit_paces_messages(mail_site: Path, smtp_server: tuple[Any, int], write_recipients: Callable[[Path, int], list[str]]) -> None:
    mailbox, _ = smtp_server
    recipients = mail_site / "readers.csv"
    write_recipients(recipients, 6)
    started = time.monotonic()
    assert main(["-C", str(mail_site), "send", "1", "--recipients", str(recipients), "--rate", "10"]) == 0
    assert time.monotonic() - started >= 0.5  # 6 messages at 10/s: starts at 0, .1, … .5 s
    assert mailbox.count() == 6


def test_bad_recipient_rows_are_reported_with_lines(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("email,token\nok@example.com,t1\nnot-an-address,t2\nOK@EXAMPLE.COM,t3\nno-token@example.com,\n")
    with pytest.raises(ContentError) as caught:
        read_recipients(path, needs_token=True, label="list.csv")
    assert [str(p) for p in caught.value.problems] == [
        "list.csv:3: 'not-an-address' is not an email address",
        "list.csv:5: no token for no-token@example.com; the unsubscribe URL needs one for {{subscriber}}",
    ]
    path.write_text("email\nok@example.com\nok@Example.com\n\n")
    found, duplicates = read_recipients(path, needs_token=False)
    assert [r.address for r in found] == ["ok@example.com"] and duplicates == 1
    path.write_text("address_of_reader\nx@example.com\n")
    with pytest.raises(ContentError, match="must name the columns"):
        read_recipients(path, needs_token=False)


def test_drafts_are_not_sent_to_the_list(mail_site: Path, smtp_server: tuple[Any, int], write_recipients: Callable[[Path, int], list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    recipients = mail_site / "readers.csv"
    write_recipients(recipients, 2)
    assert main(["-C", str(mail_site), "send", "4", "--recipients", str(recipients)]) == 1
    assert "is a draft or dated in the future" in capsys.readouterr().err
    assert smtp_server[0].count() == 0


def test_unreachable_server_stops_the_run_cleanly(mail_site: Path, smtp_server: tuple[Any, int], write_recipients: Callable[[Path, int], list[str]]) -> None:
    _, _, edition = load_edition(str(mail_site), "1")
    from generator.config import load_site

    site = load_site(mail_site)
    closed = site.config.email.smtp.__class__(host="127.0.0.1", port=_closed_port(), security="none", timeout=2)
    path = mail_site / "r.csv"
    write_recipients(path, 3)
    recipients, _ = read_recipients(path, needs_token=True)
    with Store.open(mail_site / "feeds" / "t.sqlite") as store:
        log = SendLog(store)
        with pytest.raises(Exception, match="cannot connect"):
            send_bulk(edition, identity_for(site), recipients, log, Connection(closed))
        assert log.rows("1") == {}  # nothing recorded: everyone is still to be sent


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from generator.commands.email import load_edition
    from generator.mail.message import identity_for
    from generator.mail.send import read_recipients, send_bulk
    from generator.mail.sendlog import SendLog
    from generator.mail.smtp import Connection
    from generator.store import Store

    root, csv_path, crash = sys.argv[1], sys.argv[2], sys.argv[3]
    point, _, number = crash.partition(":")

    def checkpoint(step, n):
        if step == point and n == int(number):
            os.kill(os.getpid(), signal.SIGKILL)

    site, issue, edition = load_edition(root, "1")
    from pathlib import Path
    recipients, _ = read_recipients(Path(csv_path), needs_token=True)
    with Store.open(site.path("feeds/tidings.sqlite")) as store:
        send_bulk(edition, identity_for(site), recipients, SendLog(store), Connection(site.config.email.smtp),
                  checkpoint=checkpoint if crash else None)
    """
)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _run_child(root: Path, recipients: Path, crash: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _CHILD, str(root), str(recipients), crash], env=_env(), capture_output=True, text=True, timeout=120
    )
