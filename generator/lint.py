"""Offline link lint: what is wrong with a link before anyone asks the network.

Runs on its own (``tidings check --offline``) and always before the network
part of ``tidings check``. Every finding names the line to edit. Errors
(the link cannot work for a reader) fail the run like broken links do;
warnings are advice:

- error: malformed URLs (no host, spaces, bad port or host characters),
  ``javascript:``/``data:``/``vbscript:``/``file:`` links, malformed e-mail addresses;
- warning: tracking parameters, ``http://``, relative links (they break in
  email and feeds), private or loopback hosts, other schemes, a link already
  featured (in an item, not prose, not a sponsor) in one of the last
  ``check.duplicate_window`` issues or in another item of the same issue.

An editor silences one link with ``<!-- tidings: nocheck -->`` on the link's
line, or on a line of its own just above it: the link is then neither linted
nor checked.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from .errors import SourcePos
from .model import Issue, Link
from .urls import is_tracking_param

__all__ = ["ERROR", "NOCHECK", "WARNING", "Finding", "lint_issue", "lint_source", "lint_url", "silenced_lines"]

ERROR = "error"
WARNING = "warning"
NOCHECK = re.compile(r"<!--\s*tidings:\s*nocheck\s*-->", re.IGNORECASE)
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
_FORBIDDEN = frozenset({"javascript", "data", "vbscript", "file"})
_HOST = re.compile(r"^(?:[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?\.)*[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.?$")
# The Markdown engine refuses these schemes, so they never become Links: find them in the source.
_SOURCE_SCHEME = re.compile(
    r"""(?:\]\(\s*<?|\]:\s*<?|<|href\s*=\s*["']?)\s*((?:javascript|vbscript|data|file):[^\s)>"']*)""", re.IGNORECASE
)
_MAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")


@dataclass(frozen=True, slots=True)
class Finding:
    """One lint result, at the line of the link."""

    pos: SourcePos
    url: str
    severity: str  # ERROR or WARNING
    message: str

    def __str__(self) -> str:
        return f"{self.pos}: {self.severity}: {self.message}"


def silenced_lines(text: str) -> set[int]:
    """1-based lines whose links are silenced by the marker (its line, or the next when it stands alone)."""
    lines = text.split("\n")
    silenced: set[int] = set()
    for index, line in enumerate(lines):
        if not NOCHECK.search(line):
            continue
        silenced.add(index + 1)
        if not NOCHECK.sub("", line).strip():
            nxt = index + 1
            while nxt < len(lines) and not lines[nxt].strip():
                nxt += 1
            silenced.add(nxt + 1)
    return silenced


def lint_url(url: str) -> list[tuple[str, str]]:
    """(severity, message) pairs about one URL, needing nothing but the URL."""
    url = url.strip()
    m = _SCHEME.match(url)
    if not m:
        if url.startswith("#") or not url:
            return []
        return [(WARNING, f"relative link '{url}' breaks in email and feeds; write the full https:// URL")]
    scheme = m.group(1).lower()
    if scheme in _FORBIDDEN:
        return [(ERROR, f"'{scheme}:' links are not allowed in an issue")]
    if scheme == "mailto":
        address = unquote(url[len(m.group(0)):].split("?", 1)[0]).strip()
        bad = [a for a in address.split(",") if not _MAIL.match(a.strip())]
        if not address or bad:
            return [(ERROR, f"malformed e-mail address '{address}'")]
        return []
    if scheme not in ("http", "https"):
        return [(WARNING, f"'{scheme}:' link cannot be checked and many readers cannot open it")]
    return _lint_web(url, scheme)


def _lint_web(url: str, scheme: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if any(ch.isspace() for ch in url):
        return [(ERROR, "malformed URL: it contains spaces; encode them as %20")]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return [(ERROR, f"malformed URL: {exc}")]
    host = parts.hostname or ""
    if not host:
        return [(ERROR, "malformed URL: no host name")]
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return [(ERROR, f"malformed URL: host name '{host}' is not valid")]
    address = _ip(ascii_host)
    if address is None and not _HOST.match(ascii_host):
        return [(ERROR, f"malformed URL: host name '{host}' is not valid")]
    if address is None and "." not in ascii_host.strip(".") and ascii_host != "localhost":
        found.append((ERROR, f"malformed URL: host name '{host}' has no dot (missing domain?)"))
    if ascii_host == "localhost" or ascii_host.endswith(".localhost") or (address is not None and not address.is_global):
        found.append((WARNING, f"'{host}' is a private or local address; readers cannot open it"))
    if port == 0:
        found.append((ERROR, "malformed URL: port 0"))
    tracking = sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True) if is_tracking_param(k)})
    if tracking:
        found.append((WARNING, f"tracking parameter{'s' if len(tracking) > 1 else ''} {', '.join(tracking)}; remove before sending"))
    if scheme == "http":
        found.append((WARNING, "uses http://; write https:// if the site supports it"))
    return found


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def lint_source(path: str, text: str, *, silenced: set[int]) -> list[Finding]:
    """Errors for forbidden-scheme links written in the source (Markdown shows them as plain text)."""
    findings: list[Finding] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if number in silenced:
            continue
        for match in _SOURCE_SCHEME.finditer(line):
            url = match.group(1)
            scheme = url.split(":", 1)[0].lower()
            findings.append(Finding(SourcePos(path, number), url, ERROR, f"'{scheme}:' links are not allowed in an issue"))
    return findings


def lint_issue(
    issue: Issue,
    links: Iterable[Link],
    *,
    silenced: set[int],
    history: Sequence[Issue] = (),
    window: int = 8,
) -> list[Finding]:
    """Findings for ``links`` of ``issue`` (silenced lines skipped), ordered by line.

    ``history`` is every issue; the ``window`` issues dated before ``issue``
    are searched for duplicates.
    """
    earlier = sorted((i for i in history if i.date < issue.date and i.source_path != issue.source_path), key=lambda i: i.date, reverse=True)
    recent: dict[str, Issue] = {}
    for other in earlier[:window]:
        for item in other.iter_items():
            for link in item.links:
                if not item.sponsored:
                    recent.setdefault(link.key, other)
    # sponsors come back every week on purpose: their links are not duplicates
    item_of = {id(link): item.anchor for item in issue.iter_items() if not item.sponsored for link in item.links}
    findings: list[Finding] = []
    first_seen: dict[str, tuple[int, str]] = {}
    for link in links:
        if link.pos.line in silenced:
            continue
        for severity, message in lint_url(link.url):
            findings.append(Finding(link.pos, link.url, severity, message))
        anchor = item_of.get(id(link))
        if anchor is None or not link.key.startswith(("http://", "https://")):
            continue  # duplicates matter for featured links only, not for prose, credits or footers
        seen = first_seen.setdefault(link.key, (link.pos.line, anchor))
        if seen[1] != anchor:
            findings.append(Finding(link.pos, link.url, WARNING, f"also featured on line {seen[0]} of this issue"))
        before = recent.get(link.key)
        if before is not None:
            findings.append(
                Finding(link.pos, link.url, WARNING, f"already featured in {before.label} ({before.date:%Y-%m-%d})")
            )
    findings.sort(key=lambda f: (f.pos.path, f.pos.line))
    return findings
