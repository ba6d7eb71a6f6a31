"""Sending an edition: one test copy, or the whole list — resumable, idempotent, rate-limited.

A bulk run walks the recipients file in order. For each address it consults
the send log (see :mod:`generator.mail.sendlog` for the states), records the
attempt *before* talking to the server, records "committing" just before the
final "." of the message, and records the outcome after. So:

- a run interrupted at any moment and started again never sends a second copy
  to anyone whose message the server may have accepted, and never skips anyone
  whose message certainly was not accepted;
- the one message that was in flight at a crash (if its final "." had been
  sent) is reported as *in doubt* — the choice here is at-most-once; the
  editor may resend those with ``--resend-in-doubt`` (same Message-ID);
- permanent rejections (5xx) are logged per recipient and the run goes on;
  temporary ones (4xx) and lost connections are retried once at the end of the
  run and otherwise left for the next run.

Only one process may send a given issue at a time (an exclusive file lock
beside the store); the lock is released by the OS if the process dies.
"""

from __future__ import annotations

import csv
import fcntl
import io
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parseaddr
from pathlib import Path
from typing import Callable, Generator, Sequence

from ..errors import ConfigError, ContentError, Problem, SourcePos, TidingsError
from ..render.email import PLACEHOLDER, Edition
from .message import Identity, build_message, new_message_id
from .sendlog import SendLog
from .smtp import Connection, Reply, SmtpFailure

__all__ = ["Recipient", "read_recipients", "SendReport", "send_bulk", "send_test", "SendError", "Checkpoint"]

Checkpoint = Callable[[str, int], None]  # (step, message number in this run) — a seam for crash tests


class SendError(TidingsError):
    """The run cannot go on (server refuses the sender, connection down, another run active)."""


@dataclass(frozen=True, slots=True)
class Recipient:
    address: str  # as written
    token: str  # fills the unsubscribe placeholder
    name: str
    line: int

    @property
    def key(self) -> str:
        """The identity in the send log: the address, domain lower-cased."""
        local, _, domain = self.address.rpartition("@")
        return f"{local}@{domain.lower()}"


@dataclass(slots=True)
class SendReport:
    total: int = 0
    sent: int = 0
    already: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (address, server reply)
    previously_rejected: int = 0
    deferred: list[tuple[str, str]] = field(default_factory=list)
    in_doubt: list[str] = field(default_factory=list)
    duplicates: int = 0
    seconds: float = 0.0
    dry_run: bool = False

    @property
    def complete(self) -> bool:
        return not self.deferred and not self.in_doubt

    def summary(self) -> str:
        verb = "would send" if self.dry_run else "sent"
        rate = f" ({self.sent / self.seconds:.1f}/s)" if self.sent and self.seconds > 0 else ""
        parts = [f"{verb} {self.sent} of {self.total} in {self.seconds:.1f}s{rate}", f"{self.already} already sent"]
        if self.rejected or self.previously_rejected:
            parts.append(f"{len(self.rejected) + self.previously_rejected} rejected")
        if self.deferred:
            parts.append(f"{len(self.deferred)} deferred (run again)")
        if self.in_doubt:
            parts.append(f"{len(self.in_doubt)} in doubt")
        if self.duplicates:
            parts.append(f"{self.duplicates} duplicate rows ignored")
        return "; ".join(parts)


def _valid_address(value: str) -> bool:
    name, addr = parseaddr(value)
    return bool(addr) and addr == value and "@" in addr and not any(c.isspace() for c in addr) and "." in addr.rpartition("@")[2]


def read_recipients(path: Path, *, needs_token: bool, label: str | None = None) -> tuple[list[Recipient], int]:
    """Recipients from a CSV file with a header row (``email``; optional ``token``, ``name``).

    Returns (recipients in file order, duplicates skipped). Every bad row is reported as ``path:line``.
    """
    where = label or str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ContentError.single(where, 0, f"cannot read the recipients file: {exc}") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = {c.strip().lower(): c for c in reader.fieldnames or ()}
    column = columns.get("email") or columns.get("address")
    if column is None:
        raise ContentError.single(where, 1, "the first line must name the columns, including 'email' (and optionally 'token', 'name')")
    problems: list[Problem] = []
    seen: set[str] = set()
    out: list[Recipient] = []
    duplicates = 0
    for row in reader:
        line = reader.line_num
        address = (row.get(column) or "").strip()
        if not address and not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue  # blank line
        token = (row.get(columns.get("token", ""), "") or "").strip() if "token" in columns else ""
        name = (row.get(columns.get("name", ""), "") or "").strip() if "name" in columns else ""
        if not _valid_address(address):
            problems.append(Problem(SourcePos(where, line), f"{address!r} is not an email address"))
            continue
        if needs_token and not token:
            problems.append(Problem(SourcePos(where, line), f"no token for {address}; the unsubscribe URL needs one for {PLACEHOLDER}"))
            continue
        recipient = Recipient(address, token, name, line)
        if recipient.key in seen:
            duplicates += 1
            continue
        seen.add(recipient.key)
        out.append(recipient)
    if problems:
        raise ContentError(problems)
    return out, duplicates


class _Pacer:
    """At most ``rate`` message starts per second (0 = no limit)."""

    def __init__(self, rate: float):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.next = time.monotonic()

    def wait(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        if self.next > now:
            time.sleep(self.next - now)
        self.next = max(self.next, now) + self.interval


def _message_bytes(edition: Edition, identity: Identity, recipient: Recipient, message_id: str) -> bytes:
    to = f"{recipient.name} <{recipient.address}>" if recipient.name else recipient.address
    msg = build_message(
        edition, identity, to=to, token=recipient.token or None, message_id=message_id, date=datetime.now(timezone.utc)
    )
    return msg.as_bytes()


def send_test(edition: Edition, identity: Identity, connection: Connection, address: str, token: str = "test") -> Reply:
    """One copy to ``address``, outside the send log (for proofreading)."""
    if not _valid_address(address):
        raise ConfigError.single("--to", 0, f"{address!r} is not an email address")
    recipient = Recipient(address, token, "", 0)
    data = _message_bytes(edition, identity, recipient, new_message_id(identity))
    try:
        reply = connection.deliver(identity.address, address, data, lambda: None)
    except SmtpFailure as exc:
        raise SendError.single(f"{connection.config.host}:{connection.config.port}", 0, str(exc)) from None
    finally:
        connection.close()
    if not reply.accepted:
        raise SendError.single(address, 0, f"the server refused the message at {reply.step.upper()}: {reply.code} {reply.text}")
    return reply


@dataclass
class _Run:
    edition: Edition
    identity: Identity
    log: SendLog
    connection: Connection
    report: SendReport
    checkpoint: Checkpoint | None
    attempted: int = 0

    def _point(self, step: str) -> None:
        if self.checkpoint is not None:
            self.checkpoint(step, self.attempted)

    def one(self, recipient: Recipient, message_id: str) -> None:
        """Send to one recipient, recording each step; updates the report."""
        slug, key = self.edition.slug, recipient.key
        try:
            self.connection.open()
        except SmtpFailure as exc:  # the server is unreachable: stop, nothing recorded for this one
            c = self.connection.config
            raise SendError.single(f"{c.host}:{c.port}", 0, f"{exc}; nothing more was sent — run again to resume") from None
        self.attempted += 1
        self.log.begin(slug, key, message_id)
        self._point("before-smtp")
        data = _message_bytes(self.edition, self.identity, recipient, message_id)

        def before_commit() -> None:
            self.log.mark(slug, key, "committing")
            self._point("before-dot")

        try:
            reply = self.connection.deliver(self.identity.address, recipient.address, data, before_commit)
        except SmtpFailure as exc:
            if exc.committed:
                self.report.in_doubt.append(recipient.address)
                self.log.mark(slug, key, "committing", str(exc))
            else:
                self.log.mark(slug, key, "deferred", str(exc))
                self.report.deferred.append((recipient.address, str(exc)))
            return
        self._point("after-reply")
        if reply.accepted:
            self.log.mark(slug, key, "sent", f"{reply.code} {reply.text}")
            self.report.sent += 1
        elif reply.step == "mail":
            self.log.mark(slug, key, "deferred", f"{reply.code} {reply.text}")
            raise SendError.single(self.identity.address, 0, f"the server refuses the sender: {reply.code} {reply.text}")
        elif reply.permanent:
            self.log.mark(slug, key, "rejected", f"{reply.code} {reply.text}")
            self.report.rejected.append((recipient.address, f"{reply.code} {reply.text}"))
        else:
            self.log.mark(slug, key, "deferred", f"{reply.code} {reply.text}")
            self.report.deferred.append((recipient.address, f"{reply.code} {reply.text}"))


def _lock(log: SendLog, slug: str) -> Generator[None, None, None]:
    path = log.store.path.parent / f".send-{slug}.lock"
    handle = open(path, "w")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SendError.single(str(path), 0, f"another 'tidings send' is sending issue {slug}; wait for it to finish") from None
        yield
    finally:
        handle.close()


def send_bulk(
    edition: Edition,
    identity: Identity,
    recipients: Sequence[Recipient],
    log: SendLog,
    connection: Connection,
    *,
    rate: float = 0.0,
    dry_run: bool = False,
    in_doubt: str = "skip",
    progress: Callable[[SendReport], None] | None = None,
    checkpoint: Checkpoint | None = None,
) -> SendReport:
    """Send ``edition`` to every recipient not yet served; see the module docstring for the guarantees."""
    report = SendReport(total=len(recipients), dry_run=dry_run)
    start = time.monotonic()
    locker = _lock(log, edition.slug)
    next(locker)
    try:
        rows = log.rows(edition.slug)
        todo: list[tuple[Recipient, str]] = []
        for recipient in recipients:
            row = rows.get(recipient.key)
            if row is None:
                todo.append((recipient, ""))
            elif row.state == "sent":
                report.already += 1
            elif row.state == "rejected":
                report.previously_rejected += 1
            elif row.state == "committing" and in_doubt == "skip":
                report.in_doubt.append(recipient.address)
            elif row.state == "committing" and in_doubt == "sent":
                if not dry_run:
                    log.mark(edition.slug, recipient.key, "sent", "marked sent by the editor after a crash")
                report.already += 1
            else:  # sending / deferred / committing with --resend-in-doubt: keep the Message-ID
                todo.append((recipient, row.message_id))
        if dry_run:
            report.sent = len(todo)
            return report
        run = _Run(edition, identity, log, connection, report, checkpoint)
        pacer = _Pacer(rate)
        for number, (recipient, message_id) in enumerate(todo, 1):
            pacer.wait()
            run.one(recipient, message_id or new_message_id(identity))
            if progress is not None and number % 50 == 0:
                progress(report)
        retry = [(r, m) for r, m in todo if r.address in {a for a, _ in report.deferred}]
        if retry:
            report.deferred.clear()
            time.sleep(min(5.0, 0.5 * len(retry)))
            current = log.rows(edition.slug)
            for recipient, _ in retry:
                pacer.wait()
                run.one(recipient, current[recipient.key].message_id)
        return report
    finally:
        connection.close()
        report.seconds = time.monotonic() - start
        locker.close()
