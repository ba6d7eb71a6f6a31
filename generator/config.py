"""The site's settings: ``tidings.yaml`` at the repository root, typed and validated.

Every option is declared once, here, with its default and a sentence of
documentation (``docs/configuration.md`` is generated from these). Loading
reports every problem in the file at once, each as ``tidings.yaml:LINE: ...``;
unknown keys are errors so that a typo never silently does nothing.

The smallest valid file is three lines::

    title: Ops Notes
    base_url: https://opsnotes.example/
    description: A weekly digest of operations links.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError, Problem, SourcePos
from .schema import Node, load_validated, option

__all__ = [
    "CONFIG_FILE",
    "Author",
    "FetchConfig",
    "SectionKind",
    "EmailConfig",
    "SmtpConfig",
    "SyndicationConfig",
    "CheckConfig",
    "Config",
    "WebConfig",
    "Site",
    "DEFAULT_SECTION_KINDS",
    "load_site",
]

CONFIG_FILE = "tidings.yaml"

Cadence = Literal["daily", "weekly", "fortnightly", "monthly"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Author:
    """Who edits the newsletter; shown in page metadata and feeds."""

    name: str = option("", doc="The editor's name.")
    email: str = option("", doc="A contact address, shown in feeds.")
    url: str = option("", doc="The editor's home page.")


@dataclass(frozen=True, slots=True, kw_only=True)
class SectionKind:
    """A kind of section (sponsor, news, tools…) and the heading words that select it."""

    keywords: tuple[str, ...] = option((), doc="Words in a heading that give a section this kind (any case).")
    title: str = option("", doc="The name of the kind's page, e.g. 'Tools'; defaults to the kind capitalised.")


DEFAULT_SECTION_KINDS: dict[str, SectionKind] = {
    "sponsor": SectionKind(keywords=("sponsor", "sponsors", "sponsored", "sponsorship"), title="Sponsors"),
    "news": SectionKind(keywords=("news", "updates", "announcements"), title="News"),
    "tools": SectionKind(keywords=("tools", "tooling", "crate", "crates", "libraries"), title="Tools"),
    "events": SectionKind(keywords=("events", "event", "meetups", "conferences", "webinars"), title="Events"),
    "jobs": SectionKind(keywords=("jobs", "job", "hiring", "careers"), title="Jobs"),
}


SmtpSecurity = Literal["starttls", "tls", "none"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SmtpConfig:
    """The mail server ``tidings send`` talks to; the password never lives in the file."""

    host: str = option("localhost", doc="SMTP server host name.")
    port: int = option(587, doc="SMTP port (587 for STARTTLS, 465 for TLS, 25 for none).")
    security: SmtpSecurity = option("starttls", doc="'starttls' (upgrade after connecting), 'tls' (TLS from the start) or 'none'.")
    user: str = option("", doc="Login name; empty means no login.")
    password_env: str = option("TIDINGS_SMTP_PASSWORD", doc="Environment variable holding the password.")
    timeout: float = option(30.0, doc="Seconds to wait for the server before giving up on a connection.")


@dataclass(frozen=True, slots=True, kw_only=True)
class EmailConfig:
    """The email edition and its sending (see docs/email.md)."""

    editions: bool = option(True, doc="Write each issue's email edition (email/<n>.html, .txt, .eml) during the build.")
    from_name: str = option("", doc="Sender name; defaults to the newsletter's title.")
    from_address: str = option("", doc="Sender address; defaults to author.email, else newsletter@<host of base_url>.")
    reply_to: str = option("", doc="Where replies go, if not to the sender.")
    list_id: str = option("", doc="Stable List-Id (a dotted name); defaults to <title slug>.<host of base_url>.")
    unsubscribe_url: str = option(
        "", doc="https URL that unsubscribes one reader; '{{subscriber}}' in it is replaced per recipient."
    )
    unsubscribe_mailto: str = option("", doc="Address that unsubscribes the sender of a mail sent to it.")
    one_click: bool = option(True, doc="Announce RFC 8058 one-click unsubscribe (the URL must accept a POST).")
    postal_address: str = option("", doc="The sender's postal address or identity line, shown in the footer.")
    subject: str = option("{title}", doc="Subject line; {title}, {number} and {site} are filled in.")
    rate: float = option(5.0, doc="Messages per second when sending to a list (0 = no limit).")
    smtp: SmtpConfig = option(factory=SmtpConfig, doc="The mail server.")


@dataclass(frozen=True, slots=True, kw_only=True)
class SyndicationConfig:
    """The site's subscription feeds (see docs/syndication.md)."""

    entries: int = option(20, doc="Issues in /feed.xml, /atom.xml and /feed.json (newest first).")
    links: int = option(500, doc="Entries in the link feeds /links.xml and /links.json.")
    section_entries: int = option(50, doc="Items in each per-section feed /sections/<kind>/feed.xml.")
    full_content: bool = option(True, doc="Put each issue's full text in the feeds, not only its summary.")


@dataclass(frozen=True, slots=True, kw_only=True)
class WebConfig:
    """The readers' website beyond its pages: search, and redirects for the host (docs/deploy.md)."""

    search: bool = option(True, doc="Build the Pagefind search index, the /search/ page and the search box.")
    latest_path: str = option("/latest", doc="A path that always redirects to the newest issue; empty for none.")
    old_issue_urls: tuple[str, ...] = option(
        (),
        doc="URL patterns of a previous site's issues, each redirected to the issue's page; "
        "placeholders {year} {month} {day} {slug} {number}, e.g. /blog/{year}/{month}/{day}/{slug}/.",
    )
    redirects: dict[str, str] = option(factory=dict, doc="Fixed permanent redirects, old path → new path or URL.")


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchConfig:
    """How ``tidings fetch`` reads subscriptions and where it keeps what it learns."""

    feeds_file: str = option("feeds/feeds.yaml", doc="The subscriptions file.")
    store: str = option("feeds/tidings.sqlite", doc="The SQLite store of fetch state and entries (git-ignored).")
    digests_dir: str = option("content/digests", doc="Where 'tidings digest' writes digest files for the build.")
    concurrency: int = option(16, doc="Sources fetched at the same time, in all.")
    per_host: int = option(2, doc="Requests at the same time to one host.")
    connect_timeout: float = option(10.0, doc="Seconds to wait for a connection.")
    read_timeout: float = option(20.0, doc="Seconds to wait for the next bytes of a response.")
    total_timeout: float = option(60.0, doc="Seconds one request may take from start to end.")
    max_body_bytes: int = option(10 * 1024 * 1024, doc="Largest response body read (after decompression).")
    allow_private: bool = option(False, doc="Fetch from private, loopback and link-local addresses (for tests and intranets).")
    excerpt_chars: int = option(400, doc="Longest excerpt kept from an entry's summary.")


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckConfig:
    """How ``tidings check`` tests links: politeness, what counts as fine, how long results last."""

    user_agent: str = option("", doc="User-Agent header; empty means 'Tidings/<version> (+base_url)'.")
    timeout: float = option(20.0, doc="Seconds a whole request may take before it counts as timed out.")
    connect_timeout: float = option(10.0, doc="Seconds to wait for a connection.")
    concurrency: int = option(32, doc="Requests in flight at once, over all hosts.")
    per_host: int = option(2, doc="Requests in flight at once to one host.")
    host_interval: float = option(0.1, doc="Minimum seconds between the starts of two requests to one host.")
    retries: int = option(2, doc="Extra attempts after a timeout, a dropped connection or a 5xx answer.")
    retry_backoff: float = option(1.0, doc="Seconds before the first retry; doubled for each further one.")
    max_retry_after: float = option(60.0, doc="Longest Retry-After (429/503) honoured; a longer one makes the link 'rate-limited'.")
    max_body: int = option(2_000_000, doc="Bytes of a page read at most (for #fragments and page titles).")
    fragments: bool = option(True, doc="Check that a link's #fragment exists on the page.")
    metadata: bool = option(True, doc="Read the head of featured pages (GET) to learn title and description for the link index.")
    accept: tuple[int, ...] = option((), doc="Extra HTTP status codes that count as fine (e.g. [403, 999]).")
    exclude: tuple[str, ...] = option((), doc="Regular expressions; a matching URL is not checked.")
    headers: dict[str, dict[str, str]] = option(
        factory=dict, doc="Extra request headers by host name (also applies to its sub-domains)."
    )
    cache_days: float = option(7.0, doc="Days a successful result is reused without a new request (0: always re-check).")
    dead_after_runs: int = option(3, doc="Consecutive failed runs after which 'check --all' lists a link as dead (0: off).")
    dead_after_days: float = option(0.0, doc="Days of continuous failure after which a link is listed as dead (0: off).")
    duplicate_window: int = option(8, doc="Offline lint: warn when a link was featured in one of this many previous issues.")
    allow_private: bool = option(False, doc="Allow requests to private, loopback and link-local addresses.")


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """Everything ``tidings.yaml`` may say; see docs/configuration.md."""

    title: str = option(doc="The newsletter's name.")
    base_url: str = option(doc="Absolute URL the site is published at, e.g. https://example.org/.")
    description: str = option("", doc="One sentence about the newsletter, used in meta tags and feeds.")
    language: str = option("en", doc="BCP 47 language tag of the content.")
    author: Author = option(factory=Author, doc="The editor.")
    timezone: str = option("UTC", doc="IANA time zone in which issue dates without a zone are read.")
    cadence: Cadence = option("weekly", doc="How often an issue goes out; drives the next issue's date.")
    sections: dict[str, SectionKind | tuple[str, ...]] = option(
        factory=dict,
        doc="Section kinds and their heading keywords; replaces the defaults (sponsor, news, tools, events, jobs).",
    )
    theme: str = option("default", doc="Theme folder under themes/; it inherits every template it lacks from 'default'.")
    output_dir: str = option("public", doc="Where the built site is written.")
    issues_dir: str = option("content/issues", doc="Folder of issue files (*.md, *.markdown).")
    pages_dir: str = option("content/pages", doc="Folder of standalone pages (about, sponsoring…).")
    recent_issues: int = option(10, doc="How many recent issues the home page lists under the latest one.")
    page_size: int = option(100, doc="Entries per page on section, link-index and tag listings; the first page, the newest, holds from half a page to one and a half.")
    fetch: FetchConfig = option(factory=FetchConfig, doc="Feed fetching (tidings fetch, inbox, digest).")
    email: EmailConfig = option(factory=EmailConfig, doc="The email edition and sending over SMTP.")
    syndication: SyndicationConfig = option(factory=SyndicationConfig, doc="The feeds the site publishes: RSS, Atom, JSON Feed, link feeds.")
    check: CheckConfig = option(factory=CheckConfig, doc="Link checking ('tidings check'); see docs/link-checking.md.")
    web: WebConfig = option(factory=WebConfig, doc="Search and redirects of the readers' website.")

    @property
    def section_kinds(self) -> dict[str, SectionKind]:
        """The configured kinds, shorthand lists expanded; the defaults when none are set."""
        if not self.sections:
            return DEFAULT_SECTION_KINDS
        kinds: dict[str, SectionKind] = {}
        for name, spec in self.sections.items():
            if isinstance(spec, SectionKind):
                kinds[name] = spec if spec.title else dataclasses.replace(spec, title=name.capitalize())
            else:
                kinds[name] = SectionKind(keywords=tuple(spec), title=name.capitalize())
        return kinds

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class Site:
    """A loaded repository: where it lives, its settings, and their fingerprint."""

    root: Path
    config: Config
    fingerprint: str  # sha256 of the settings file's bytes; a change invalidates every output

    def path(self, relative: str) -> Path:
        """A path from the settings, resolved against the repository root."""
        return (self.root / relative).resolve()

    @property
    def output_dir(self) -> Path:
        return self.path(self.config.output_dir)

    def relative(self, path: Path) -> str:
        """A POSIX path relative to the root when possible (for messages), else absolute."""
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return path.as_posix()


def load_site(root: Path | str = ".", *, overrides: dict[str, object] | None = None) -> Site:
    """Read and validate ``tidings.yaml`` in ``root``; raise ConfigError listing every problem."""
    root = Path(root)
    path = root / CONFIG_FILE
    name = CONFIG_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError.single(name, 0, f"no {CONFIG_FILE} here; run 'tidings init' or change directory") from None
    except OSError as exc:
        raise ConfigError.single(name, 0, f"cannot read: {exc.strerror}") from None
    config, node = load_validated(Config, raw, name, ConfigError, overrides=overrides)
    problems = _check_values(config, node, name)
    if problems:
        raise ConfigError(problems)
    return Site(root=root.resolve(), config=config, fingerprint=hashlib.sha256(raw).hexdigest())


def _line_of(node: Node, key: str) -> int:
    if isinstance(node.value, dict) and key in node.value:
        line: int = node.value[key][0]
        return line
    return node.line


def _check_values(config: Config, node: Node, name: str) -> list[Problem]:
    """Checks a type alone cannot express; each names the key's line."""
    problems: list[Problem] = []

    def bad(key: str, message: str) -> None:
        problems.append(Problem(SourcePos(name, _line_of(node, key)), message))

    if not config.base_url.startswith(("http://", "https://")):
        bad("base_url", f"'base_url' must be an absolute http(s) URL, not {config.base_url!r}")
    try:
        ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        bad("timezone", f"'timezone' {config.timezone!r} is not a known IANA time zone (e.g. Europe/London)")
    if config.recent_issues < 0:
        bad("recent_issues", "'recent_issues' must not be negative")
    if config.page_size < 1:
        bad("page_size", "'page_size' must be at least 1")
    problems.extend(_check_email(config, node, name))
    problems.extend(_check_check(config.check, node, name))
    problems.extend(_check_web(config.web, node, name))
    for kind, spec in config.sections.items():
        if not kind.isidentifier() or not kind.islower():
            bad("sections", f"section kind {kind!r} must be a lower-case word (letters, digits, underscores)")
        keywords = spec.keywords if isinstance(spec, SectionKind) else spec
        if not keywords:
            bad("sections", f"section kind {kind!r} needs at least one keyword")
    return problems


def _line_at(node: Node, *keys: str) -> int:
    """The line of a nested key (e.g. email → smtp → port), or of its nearest parent."""
    line = node.line
    for key in keys:
        if not isinstance(node.value, dict) or key not in node.value:
            break
        line, node = node.value[key]
    return line


def _check_email(config: Config, node: Node, name: str) -> list[Problem]:
    """The email and feed settings' value rules, each reported at its key's line."""
    problems: list[Problem] = []

    def bad(keys: tuple[str, ...], message: str) -> None:
        problems.append(Problem(SourcePos(name, _line_at(node, *keys)), message))

    email = config.email
    if email.unsubscribe_url and not email.unsubscribe_url.startswith("https://"):
        bad(("email", "unsubscribe_url"), "'email.unsubscribe_url' must be an https:// URL")
    for key in ("from_address", "reply_to", "unsubscribe_mailto"):
        value = getattr(email, key)
        if value and ("@" not in value or any(c.isspace() or c in "<>," for c in value) or value.startswith("mailto:")):
            bad(("email", key), f"'email.{key}' must be a plain address like news@example.org")
    if email.rate < 0:
        bad(("email", "rate"), "'email.rate' must not be negative")
    if not 0 < email.smtp.port < 65536:
        bad(("email", "smtp", "port"), "'email.smtp.port' must be between 1 and 65535")
    for key in ("entries", "links", "section_entries"):
        if getattr(config.syndication, key) < 1:
            bad(("syndication", key), f"'syndication.{key}' must be at least 1")
    return problems


_PLACEHOLDERS = ("year", "month", "day", "slug", "number")


def _check_web(web: WebConfig, node: Node, name: str) -> list[Problem]:
    """Redirect sources must be site paths; patterns may only use the known placeholders."""
    problems: list[Problem] = []
    entry = node.value.get("web") if isinstance(node.value, dict) else None
    web_node = entry[1] if entry else node

    def child(key: str) -> Node:
        found = web_node.value.get(key) if isinstance(web_node.value, dict) else None
        return found[1] if found else web_node

    def bad(line: int, message: str) -> None:
        problems.append(Problem(SourcePos(name, line), message))

    if web.latest_path and (not web.latest_path.startswith("/") or " " in web.latest_path):
        bad(_line_of(web_node, "latest_path"), f"'web.latest_path' must be a site path starting with '/', not {web.latest_path!r}")
    patterns = child("old_issue_urls")
    for index, pattern in enumerate(web.old_issue_urls):
        line = patterns.value[index].line if isinstance(patterns.value, list) else patterns.line
        names = [part.split("}", 1)[0] for part in pattern.split("{")[1:]]
        unknown = [n for n in names if n not in _PLACEHOLDERS]
        if not pattern.startswith("/") or " " in pattern:
            bad(line, f"old issue URL pattern {pattern!r} must be a site path starting with '/'")
        elif unknown:
            bad(line, f"old issue URL pattern {pattern!r} uses unknown placeholder {{{unknown[0]}}} (known: {', '.join(_PLACEHOLDERS)})")
        elif "slug" not in names and "number" not in names:
            bad(line, f"old issue URL pattern {pattern!r} needs {{slug}} or {{number}} to tell issues apart")
    mapping = child("redirects")
    for old, new in web.redirects.items():
        line = _line_of(mapping, old)
        if not old.startswith("/") or " " in old:
            bad(line, f"redirect source {old!r} must be a site path starting with '/'")
        if not new.startswith(("/", "http://", "https://")) or " " in new:
            bad(line, f"redirect target {new!r} must be a site path or an absolute URL")
    return problems


def _check_check(check: CheckConfig, root: Node, name: str) -> list[Problem]:
    """Value checks for the ``check:`` block (positive limits, valid patterns)."""
    import re

    node = root.value.get("check", (0, root))[1] if isinstance(root.value, dict) else root
    problems: list[Problem] = []

    def bad(key: str, message: str) -> None:
        problems.append(Problem(SourcePos(name, _line_of(node, key)), message))

    for key in ("concurrency", "per_host"):
        if getattr(check, key) < 1:
            bad(key, f"'check.{key}' must be at least 1")
    for key in ("timeout", "connect_timeout"):
        if getattr(check, key) <= 0:
            bad(key, f"'check.{key}' must be more than 0 seconds")
    for key in ("host_interval", "retry_backoff", "max_retry_after", "cache_days", "dead_after_days"):
        if getattr(check, key) < 0:
            bad(key, f"'check.{key}' must not be negative")
    for key in ("retries", "dead_after_runs", "duplicate_window"):
        if getattr(check, key) < 0:
            bad(key, f"'check.{key}' must not be negative")
    if check.max_body < 1024:
        bad("max_body", "'check.max_body' must be at least 1024 bytes")
    for code in check.accept:
        if not 100 <= code <= 999:
            bad("accept", f"'check.accept' holds {code}, which is not an HTTP status code")
    for pattern in check.exclude:
        try:
            re.compile(pattern)
        except re.error as exc:
            bad("exclude", f"'check.exclude' pattern {pattern!r} is not a valid regular expression: {exc}")
    return problems
