"""One SMTP connection that delivers a message in steps the send log can follow.

``smtplib.SMTP.sendmail`` sends the whole DATA section, final "." included,
in one call, so a caller cannot tell "the server never saw the end of the
message" (safe to resend) from "the server may have accepted it" (not safe).
:meth:`Connection.deliver` does the same protocol steps itself and calls
``before_commit`` between the message body and the final "." — the one
moment after which a crash leaves the message in doubt.

Security: ``starttls`` (upgrade on the submission port), ``tls`` (implicit
TLS, port 465) or ``none`` (local relays and tests). Certificates are
verified with the system's trust store. The password comes from the
environment variable named in the settings, never from a file.
"""

from __future__ import annotations

import os
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from typing import Callable

from ..config import SmtpConfig
from ..errors import ConfigError

__all__ = ["Connection", "Reply", "SmtpFailure", "password_for"]

_LEADING_DOT = re.compile(rb"(?m)^\.")


@dataclass(frozen=True, slots=True)
class Reply:
    """The server's answer to one message: code, text, and at which step it came."""

    code: int
    text: str
    step: str  # 'mail', 'rcpt', 'data' or 'end' (after the final ".")

    @property
    def accepted(self) -> bool:
        return self.step == "end" and 200 <= self.code < 300

    @property
    def permanent(self) -> bool:
        return 500 <= self.code < 600


class SmtpFailure(Exception):
    """The connection failed; ``committed`` tells whether the final "." may have been sent."""

    def __init__(self, message: str, *, committed: bool):
        super().__init__(message)
        self.committed = committed


def password_for(config: SmtpConfig) -> str:
    """The SMTP password from the environment; a clear error when a login needs one and it is unset."""
    if not config.user:
        return ""
    value = os.environ.get(config.password_env)
    if not value:
        raise ConfigError.single("tidings.yaml", 0, f"email.smtp.user is set, so the password must be in the environment variable {config.password_env}")
    return value


class Connection:
    """A lazily opened, reused SMTP session."""

    def __init__(self, config: SmtpConfig, password: str = ""):
        self.config = config
        self.password = password
        self.smtp: smtplib.SMTP | None = None

    def open(self) -> smtplib.SMTP:
        if self.smtp is not None:
            return self.smtp
        c = self.config
        context = ssl.create_default_context()
        try:
            if c.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=context)
            else:
                smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
                if c.security == "starttls":
                    smtp.starttls(context=context)
            smtp.ehlo_or_helo_if_needed()
            if smtp.sock is not None:  # the body and the final "." are separate writes: don't let Nagle delay the second
                smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if c.user:
                smtp.login(c.user, self.password)
        except (OSError, smtplib.SMTPException) as exc:
            raise SmtpFailure(f"cannot connect to {c.host}:{c.port} ({c.security}): {exc}", committed=False) from None
        self.smtp = smtp
        return smtp

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None

    def drop(self) -> None:
        """Forget a broken session without the QUIT handshake."""
        if self.smtp is not None:
            self.smtp.close()
            self.smtp = None

    def deliver(self, sender: str, recipient: str, data: bytes, before_commit: Callable[[], None]) -> Reply:
        """Send one message; raise SmtpFailure when the connection breaks."""
        smtp = self.open()
        committed = False
        try:
            code, text = smtp.mail(sender)
            if code != 250:
                self._reset(smtp)
                return Reply(code, _text(text), "mail")
            code, text = smtp.rcpt(recipient)
            if code not in (250, 251):
                self._reset(smtp)
                return Reply(code, _text(text), "rcpt")
            smtp.putcmd("data")
            code, text = smtp.getreply()
            if code != 354:
                self._reset(smtp)
                return Reply(code, _text(text), "data")
            body = _LEADING_DOT.sub(b"..", data)
            if not body.endswith(b"\r\n"):
                body += b"\r\n"
            smtp.send(body)
            before_commit()
            committed = True
            smtp.send(b".\r\n")
            code, text = smtp.getreply()
            return Reply(code, _text(text), "end")
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self.drop()
            raise SmtpFailure(f"connection lost: {exc}", committed=committed) from None

    @staticmethod
    def _reset(smtp: smtplib.SMTP) -> None:
        try:
            smtp.rset()
        except (OSError, smtplib.SMTPException):
            pass


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
