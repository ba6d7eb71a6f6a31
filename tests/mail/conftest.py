"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the mail tests; always stopped."""

from __future__ import annotations

import shutil
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Callable, Iterator

import pytest
from aiosmtpd.controller import Controller

SITE = Path(__file__).resolve().parents[1] / "fixtures" / "email" / "site"


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        msg = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


@dataclass
class Mailbox:
    """What the test server received; addresses in ``reject`` get a permanent 550 at RCPT."""

    messages: list[Received] = field(default_factory=list)
    reject: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd hook)
        if address in self.reject:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        with self.lock:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content or envelope.content)))
        return "250 Message accepted for delivery"

    def count(self) -> int:
        with self.lock:
            return len(self.messages)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, data_size_limit=10_000_000)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


@pytest.fixture
def mail_site(tmp_path: Path, smtp_server: tuple[Mailbox, int]) -> Path:
    """The email fixture site, copied, with its SMTP settings pointing at the test server."""
    root = tmp_path / "site"
    shutil.copytree(SITE, root)
    config = (root / "tidings.yaml").read_text()
    config += f"  rate: 0\n  smtp:\n    host: 127.0.0.1\n    port: {smtp_server[1]}\n    security: none\n    timeout: 10\n"
    (root / "tidings.yaml").write_text(config)
    return root


def _write_recipients(path: Path, count: int) -> list[str]:
    addresses = [f"reader{i:04d}@mail.example.com" for i in range(count)]
    lines = ["email,token,name"] + [f"{a},tok-{i:04d},Reader {i}" for i, a in enumerate(addresses)]
    path.write_text("\n".join(lines) + "\n")
    return addresses


@pytest.fixture
def write_recipients() -> Callable[[Path, int], list[str]]:
    """Write a recipients CSV of ``count`` readers (with tokens and names); return their addresses."""
    return _write_recipients
