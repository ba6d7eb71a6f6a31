"""Benchmark the email edition: render every TWiR issue's email, then send 1,000 messages to a local SMTP server.

    python bench/bench_email.py [--corpus ../shared/corpus/twir] [--limit N] [--messages 1000]

Prints time per email, the largest encoded HTML part (must stay under 100 KB;
exit status 1 otherwise) and delivery throughput in messages per second. The
corpus is read in place; nothing is written outside a temporary folder.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from generator.build import issue_settings, make_context  # noqa: E402
from generator.config import SmtpConfig, load_site  # noqa: E402
from generator.content.archive import build_archive  # noqa: E402
from generator.content.issues import read_issue  # noqa: E402
from generator.mail.message import build_message, encoded_html_size, identity_for  # noqa: E402
from generator.mail.send import Recipient, send_bulk  # noqa: E402
from generator.mail.sendlog import SendLog  # noqa: E402
from generator.mail.smtp import Connection  # noqa: E402
from generator.render.email import LIMIT_BYTES, WARN_BYTES, render_edition  # noqa: E402
from generator.store import Store  # noqa: E402

CONFIG = """title: This Week in Rust
base_url: https://this-week-in-rust.org/
issues_dir: {corpus}
email:
  from_address: twir@this-week-in-rust.org
  unsubscribe_url: https://this-week-in-rust.org/unsubscribe/{{{{subscriber}}}}
"""


def render_all(corpus: Path, limit: int | None, work: Path) -> tuple[object, object]:
    (work / "tidings.yaml").write_text(CONFIG.format(corpus=corpus))
    site = load_site(work)
    settings = issue_settings(site)
    files = sorted(p for p in corpus.iterdir() if p.suffix in (".md", ".markdown"))[:limit]
    issues = [read_issue(str(p), p.read_bytes(), settings) for p in files]
    ctx = make_context(site, build_archive(issues, include_drafts=True), ())
    identity = identity_for(site)
    times: list[float] = []
    sizes: list[tuple[int, str, int]] = []
    biggest = None
    for issue in issues:
        start = time.perf_counter()
        edition = render_edition(ctx, issue)
        message = build_message(edition, identity)
        message.as_bytes()
        times.append(time.perf_counter() - start)
        size = encoded_html_size(message)
        links = sum(1 for _ in issue.iter_links())
        sizes.append((size, Path(issue.source_path).name, links))
        if biggest is None or size > biggest[0]:
            biggest = (size, edition)
    sizes.sort(reverse=True)
    print(f"emails rendered: {len(times)} (HTML + text + .eml each)")
    print(f"  time per email: mean {statistics.mean(times) * 1000:.1f} ms, median {statistics.median(times) * 1000:.1f} ms, max {max(times) * 1000:.1f} ms; total {sum(times):.1f} s")
    print(f"  largest encoded HTML part: {sizes[0][0] / 1024:.1f} KB ({sizes[0][1]}, {sizes[0][2]} links); limit {LIMIT_BYTES // 1024} KB, warning at {WARN_BYTES // 1024} KB")
    print(f"  issues at or over the warning size: {sum(1 for s, _, _ in sizes if s >= WARN_BYTES)}; over the limit: {sum(1 for s, _, _ in sizes if s >= LIMIT_BYTES)}")
    most_links = max(sizes, key=lambda s: s[2])
    print(f"  most links: {most_links[2]} ({most_links[1]}) → {most_links[0] / 1024:.1f} KB")
    return sizes, (site, biggest[1] if biggest else None)


def send_many(site: object, edition: object, count: int, work: Path) -> float:
    """Deliver ``count`` personalised copies through the real sender to aiosmtpd running in its own process."""
    import subprocess

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        recipients = [Recipient(f"reader{i}@example.com", f"t{i}", "", i + 2) for i in range(count)]
        with Store.open(work / "bench.sqlite") as store:
            start = time.perf_counter()
            report = send_bulk(edition, identity_for(site), recipients, SendLog(store), Connection(SmtpConfig(host="127.0.0.1", port=port, security="none")))  # type: ignore[arg-type]
            seconds = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert report.sent == count, report.summary()
    size = len(edition.html.encode())  # type: ignore[attr-defined]
    print(f"sent {count} personalised copies of the largest edition ({size / 1024:.0f} KB HTML) to aiosmtpd (separate process) in {seconds:.1f} s: {count / seconds:.0f} messages/s")
    return count / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus" / "twir")
    parser.add_argument("--limit", type=int, help="only the first N issues")
    parser.add_argument("--messages", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sizes, (site, edition) = render_all(args.corpus.resolve(), args.limit, work)  # type: ignore[misc]
        if args.messages:
            send_many(site, edition, args.messages, work)
    return 1 if sizes[0][0] >= LIMIT_BYTES else 0  # type: ignore[index]


if __name__ == "__main__":
    sys.exit(main())
