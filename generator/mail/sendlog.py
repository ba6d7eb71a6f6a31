"""The send log: one row per (issue, recipient) in the store, so a bulk send can be resumed.

States and what a resumed run does with them::

    (no row)    never attempted                     → send
    sending     recorded before MAIL FROM; the      → send again: a server accepts a message
                message's final "." was not sent       only on the final ".", so none arrived
    committing  recorded just before the final "."  → IN DOUBT: the server may have accepted it.
                was sent, no reply recorded            Not resent (at-most-once) unless the editor
                                                       asks (``--resend-in-doubt``), which reuses
                                                       the same Message-ID so mailboxes that
                                                       deduplicate by it show one copy
    sent        the server answered 250             → skip
    rejected    permanent 5xx answer                → skip (reported)
    deferred    temporary 4xx answer or lost        → send again
                connection before the final "."

Every state change is its own committed transaction (the store runs in WAL
mode), written *before* the step it announces, so a crash at any point leaves
at most one message — the one in flight — in doubt, and never a recipient
silently skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from ..store import Store

__all__ = ["SendLog", "LogRow", "STATES"]

STATES = ("sending", "committing", "sent", "rejected", "deferred")

_V1 = """
CREATE TABLE send_log (
    issue TEXT NOT NULL,
    recipient TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('sending', 'committing', 'sent', 'rejected', 'deferred')),
    message_id TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    detail TEXT NOT NULL DEFAULT '',
    updated TEXT NOT NULL,
    PRIMARY KEY (issue, recipient)
);
CREATE INDEX send_log_by_state ON send_log (issue, state);
"""


@dataclass(frozen=True, slots=True)
class LogRow:
    recipient: str
    state: str
    message_id: str
    attempts: int
    detail: str


class SendLog:
    """The ``send`` component's table in the store."""

    def __init__(self, store: Store):
        self.store = store
        store.migrate("send", [_V1])

    def rows(self, issue: str) -> dict[str, LogRow]:
        cursor = self.store.db.execute(
            "SELECT recipient, state, message_id, attempts, detail FROM send_log WHERE issue = ?", (issue,)
        )
        return {r["recipient"]: LogRow(r["recipient"], r["state"], r["message_id"], r["attempts"], r["detail"]) for r in cursor}

    def begin(self, issue: str, recipient: str, message_id: str) -> None:
        """Announce an attempt (state 'sending'), committed before any SMTP command."""
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO send_log (issue, recipient, state, message_id, attempts, updated) VALUES (?, ?, 'sending', ?, 1, ?) "
                "ON CONFLICT (issue, recipient) DO UPDATE SET state = 'sending', message_id = excluded.message_id, "
                "attempts = attempts + 1, updated = excluded.updated",
                (issue, recipient, message_id, _now()),
            )

    def mark(self, issue: str, recipient: str, state: str, detail: str = "") -> None:
        if state not in STATES:
            raise ValueError(state)
        with self.store.transaction() as db:
            db.execute(
                "UPDATE send_log SET state = ?, detail = ?, updated = ? WHERE issue = ? AND recipient = ?",
                (state, detail[:500], _now(), issue, recipient),
            )

    def counts(self, issue: str) -> dict[str, int]:
        cursor = self.store.db.execute("SELECT state, COUNT(*) FROM send_log WHERE issue = ? GROUP BY state", (issue,))
        return {state: count for state, count in cursor}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
