"""An email edition as a MIME message, with the list headers mailbox providers require.

Built with the standard library's ``email`` package (``EmailMessage`` with the
SMTP policy: CRLF line ends, RFC 2047 subjects, lines ≤ 78 octets after
quoted-printable encoding). Layout: ``multipart/alternative`` with the text
part first and the HTML part last (RFC 2046: the last is preferred).

Per-recipient values: unsubscribe URLs carry the token :data:`PLACEHOLDER`
(``{{subscriber}}``). A built ``.eml`` keeps it for an ESP's merge step;
:func:`build_message` with ``token=`` fills it (URL-quoted) in the HTML, the
text and the ``List-Unsubscribe`` header alike.
"""

from __future__ import annotations

import binascii

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid
from typing import Any
from urllib.parse import quote, urlsplit

from ..config import Site
from ..render.email import PLACEHOLDER, Edition
from ..urls import slugify

__all__ = ["Identity", "identity_for", "build_message", "new_message_id", "encoded_html_size", "fill_placeholder"]

_LIST_ID = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)+$")


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the newsletter is from and how readers leave it (from ``email:`` in tidings.yaml)."""

    name: str
    address: str
    reply_to: str
    list_name: str
    list_id: str
    unsubscribe_url: str
    unsubscribe_mailto: str
    one_click: bool

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2] or "localhost"

    @property
    def can_unsubscribe(self) -> bool:
        return bool(self.unsubscribe_url or self.unsubscribe_mailto)


def identity_for(site: Site) -> Identity:
    config = site.config
    email = config.email
    host = (urlsplit(config.base_url).hostname or "localhost").lower()
    address = email.from_address or config.author.email or f"newsletter@{host}"
    list_id = email.list_id or f"{slugify(config.title) or 'newsletter'}.{host}"
    if not _LIST_ID.match(list_id):
        list_id = ".".join(part for part in re.split(r"[^A-Za-z0-9-]+", list_id) if part) or f"newsletter.{host}"
    return Identity(
        name=email.from_name or config.title,
        address=address,
        reply_to=email.reply_to,
        list_name=config.title,
        list_id=list_id,
        unsubscribe_url=email.unsubscribe_url,
        unsubscribe_mailto=email.unsubscribe_mailto,
        one_click=email.one_click,
    )


def fill_placeholder(text: str, token: str | None) -> str:
    """``text`` with the per-recipient placeholder replaced by the URL-quoted token (unchanged for None)."""
    return text if token is None else text.replace(PLACEHOLDER, quote(token, safe=""))


def _list_unsubscribe(identity: Identity, token: str | None) -> str:
    targets = []
    if identity.unsubscribe_url:
        targets.append(f"<{fill_placeholder(identity.unsubscribe_url, token)}>")
    if identity.unsubscribe_mailto:
        targets.append(f"<mailto:{identity.unsubscribe_mailto}?subject=unsubscribe>")
    return ", ".join(targets)


def build_message(
    edition: Edition,
    identity: Identity,
    *,
    to: str | None = None,
    token: str | None = None,
    message_id: str | None = None,
    date: datetime | None = None,
) -> EmailMessage:
    """The edition as a message. Without ``message_id``/``date`` the result is deterministic
    (the issue's date and an id derived from the issue's source), as a build needs."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = _header("From", formataddr((identity.name, identity.address)))
    if to:
        msg["To"] = _header("To", to)
    if identity.reply_to:
        msg["Reply-To"] = _header("Reply-To", identity.reply_to)
    msg["Subject"] = _header("Subject", edition.subject)
    msg["Date"] = _header("Date", format_datetime(date or edition.date))
    msg["Message-ID"] = _header("Message-ID", message_id or f"<{edition.slug}.{edition.source_hash[:16] or 'issue'}@{identity.domain}>")
    msg["List-Id"] = _header("List-Id", f"{_phrase(identity.list_name)} <{identity.list_id}>")
    unsubscribe = _list_unsubscribe(identity, token)
    if unsubscribe:
        msg["List-Unsubscribe"] = _header("List-Unsubscribe", unsubscribe)
        if identity.one_click and identity.unsubscribe_url:
            msg["List-Unsubscribe-Post"] = _header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    msg["Auto-Submitted"] = _header("Auto-Submitted", "auto-generated")
    msg["X-Auto-Response-Suppress"] = _header("X-Auto-Response-Suppress", "OOF, AutoReply")
    html = fill_placeholder(edition.html, token)
    msg["MIME-Version"] = _header("MIME-Version", "1.0")
    msg["Content-Type"] = _header("Content-Type", "multipart/alternative")
    msg.set_payload([_text_part(fill_placeholder(edition.text, token), "plain"), _text_part(html, "html")])
    # a boundary derived from the content (not random) keeps built .eml files reproducible
    digest = hashlib.sha256(f"{msg['Message-ID']}\n{html}".encode("utf-8")).hexdigest()[:32]
    msg.set_boundary(f"tidings-{digest}")
    return msg


def _text_part(body: str, subtype: str) -> EmailMessage:
    """A UTF-8 text part, quoted-printable encoded by binascii (in C): the email package's own
    encoder is written in Python and took most of the time of building a message."""
    part = EmailMessage(policy=SMTP)
    part["Content-Type"] = _header("Content-Type", f'text/{subtype}; charset="utf-8"')
    part["Content-Transfer-Encoding"] = _header("Content-Transfer-Encoding", "quoted-printable")
    part.set_payload(binascii.b2a_qp(body.encode("utf-8"), istext=True).decode("ascii"))
    return part


@lru_cache(maxsize=256)
def _header(name: str, value: str) -> Any:
    """The policy's parsed header for ``name: value``, made once per value.

    Assigning a header object skips the parsing (the policy takes it as it is); most
    headers are the same in every message of a build or a send (From, List-Id, the
    parts' Content-Type…), and parsing them took a sixth of building an edition's
    message. Header objects are immutable, so messages can share them.
    """
    if len(value.splitlines()) > 1:  # as the policy refuses them: no header can be injected through a value
        raise ValueError("Header values may not contain linefeed or carriage return characters")
    return SMTP.header_factory(name, value)


def new_message_id(identity: Identity) -> str:
    """A globally unique Message-ID in the sender's domain (for each message actually sent)."""
    return make_msgid(idstring="tidings", domain=identity.domain)


def encoded_html_size(message: EmailMessage) -> int:
    """Bytes of the transfer-encoded HTML part as it travels (CRLF line ends) — what Gmail measures."""
    for part in message.walk():
        if part.get_content_type() == "text/html":
            payload = str(part.get_payload(decode=False)).replace("\r\n", "\n")
            return len(payload.encode("ascii", "replace")) + payload.count("\n")
    return 0


def _phrase(name: str) -> str:
    """A display name usable in List-Id (quoted; non-ASCII handled by the header encoder)."""
    cleaned = " ".join(name.replace('"', "'").split())
    return f'"{cleaned}"'
