"""``tidings send``: one test copy (--to) or the whole list (--recipients) over SMTP."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from ..errors import ConfigError, ContentError
from ..mail.message import build_message, encoded_html_size, identity_for
from ..mail.send import SendReport, read_recipients, send_bulk, send_test
from ..mail.sendlog import SendLog
from ..mail.smtp import Connection, password_for
from ..render.email import PLACEHOLDER, size_problem
from ..store import DEFAULT_STORE, Store
from .email import load_edition


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("send", help="send an issue's email edition over SMTP (a test copy or the whole list)")
    p.add_argument("issue", help="issue number (or slug)")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--to", metavar="ADDRESS", help="send one test copy to ADDRESS (not recorded in the send log)")
    target.add_argument("--recipients", type=Path, metavar="FILE.csv", help="send to every address in the CSV file (column 'email'; optional 'token', 'name')")
    p.add_argument("--token", default="test", help="unsubscribe token for a test copy (default: test)")
    p.add_argument("--dry-run", action="store_true", help="check everything and report what would be sent; send nothing")
    p.add_argument("--rate", type=float, help="messages per second (default: email.rate from tidings.yaml)")
    doubt = p.add_mutually_exclusive_group()
    doubt.add_argument("--resend-in-doubt", action="store_true", help="also resend messages a crash left in doubt (same Message-ID)")
    doubt.add_argument("--mark-in-doubt-sent", action="store_true", help="record messages left in doubt as sent (after checking the server's log)")
    p.add_argument("--store", type=Path, help=f"the store file (default: {DEFAULT_STORE})")
    p.set_defaults(run=run)


def _print_report(report: SendReport) -> None:
    for address, reply in report.rejected:
        print(f"rejected  {address}  {reply}", file=sys.stderr)
    for address, reply in report.deferred:
        print(f"deferred  {address}  {reply}", file=sys.stderr)
    for address in report.in_doubt:
        print(f"in doubt  {address}  (may have been delivered; --resend-in-doubt to send again)", file=sys.stderr)
    print(report.summary())


def run(args: argparse.Namespace) -> int:
    site, issue, edition = load_edition(args.root, args.issue)
    identity = identity_for(site)
    found = size_problem(edition, encoded_html_size(build_message(edition, identity)))
    if found is not None and found[0] == "error":
        raise ContentError([found[1]])
    smtp_config = site.config.email.smtp
    if args.to:
        if args.dry_run:
            print(f"would send issue {issue.label} to {args.to} via {smtp_config.host}:{smtp_config.port}")
            return 0
        connection = Connection(smtp_config, password_for(smtp_config))
        reply = send_test(edition, identity, connection, args.to, args.token)
        print(f"sent a test copy of {issue.label} to {args.to}: {reply.code} {reply.text}")
        return 0
    if issue.draft or issue.date > datetime.now().astimezone():
        raise ContentError.single(issue.source_path, 1, f"issue {issue.label} is a draft or dated in the future; publish it before sending it to the list")
    if not identity.can_unsubscribe:
        raise ConfigError.single("tidings.yaml", 0, "set email.unsubscribe_url (and/or email.unsubscribe_mailto) before sending to a list")
    needs_token = PLACEHOLDER in identity.unsubscribe_url
    recipients, duplicates = read_recipients(args.recipients, needs_token=needs_token, label=str(args.recipients))
    password = "" if args.dry_run else password_for(smtp_config)
    store_path = args.store or site.path(DEFAULT_STORE)
    with Store.open(store_path) as store:
        log = SendLog(store)
        report = send_bulk(
            edition,
            identity,
            recipients,
            log,
            Connection(smtp_config, password),
            rate=site.config.email.rate if args.rate is None else args.rate,
            dry_run=args.dry_run,
            in_doubt="resend" if args.resend_in_doubt else "sent" if args.mark_in_doubt_sent else "skip",
            progress=lambda r: print(f"  … {r.sent} sent", file=sys.stderr),
        )
    report.duplicates = duplicates
    _print_report(report)
    return 0 if report.complete else 1
