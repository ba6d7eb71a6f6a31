"""What a link check found out about one URL: a class, a code, one human line.

The checker (generator.net.linkcheck) produces these, the store keeps them
between runs, and the reports, ``--fix`` and the dead-link file read them.
They are plain frozen values so they can be compared in tests, cached as
JSON rows and printed in any report format without knowing how they were made.

The classes, and whether they fail a run:

========== ====================================================== =====
class      meaning                                                fails
========== ====================================================== =====
ok         the page answered 2xx (or an accepted code)            no
redirected ended fine after redirects; permanent ones suggest     no
           the new URL (``--fix`` rewrites it)
broken     404, 410, other 4xx, DNS failure, refused, bad TLS      yes
blocked    bot protection (403 with a challenge, 999), login      no
rate-limited  429 that outlasted our patience                     no
transient  5xx or timeout, still after retries                    no
missing-fragment the page exists but not the #fragment            yes
excluded   not checked: config pattern, marker, scheme, private   no
========== ====================================================== =====
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "BLOCKED",
    "BROKEN",
    "CLASSES",
    "DEAD_CANDIDATE",
    "EXCLUDED",
    "FAILING",
    "MISSING_FRAGMENT",
    "OK",
    "RATE_LIMITED",
    "REDIRECTED",
    "REUSABLE",
    "TRANSIENT",
    "WARNING",
    "LinkMeta",
    "LinkStatus",
]

OK = "ok"
REDIRECTED = "redirected"
BROKEN = "broken"
BLOCKED = "blocked"
RATE_LIMITED = "rate-limited"
TRANSIENT = "transient"
MISSING_FRAGMENT = "missing-fragment"
EXCLUDED = "excluded"

CLASSES = (OK, REDIRECTED, BROKEN, MISSING_FRAGMENT, BLOCKED, RATE_LIMITED, TRANSIENT, EXCLUDED)
FAILING = frozenset({BROKEN, MISSING_FRAGMENT})  # these make `tidings check` exit 1
WARNING = frozenset({BLOCKED, RATE_LIMITED, TRANSIENT})
REUSABLE = frozenset({OK, REDIRECTED})  # results the store may reuse while fresh
DEAD_CANDIDATE = frozenset({BROKEN, TRANSIENT})  # counted as a consecutive failure


@dataclass(frozen=True, slots=True)
class LinkMeta:
    """What a fetched page says about itself (untrusted text, tags removed)."""

    title: str = ""
    description: str = ""
    canonical: str = ""
    image: str = ""

    @property
    def empty(self) -> bool:
        return not (self.title or self.description or self.canonical or self.image)


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """The outcome of checking one URL (fragment included when it was verified)."""

    url: str  # the URL as requested (fragment kept)
    kind: str  # one of CLASSES
    message: str  # one human line, e.g. "HTTP 404 Not Found"
    code: int | None = None  # the last HTTP status seen, None without an answer
    final_url: str = ""  # where redirects ended ('' without redirects)
    redirects: tuple[tuple[int, str], ...] = ()  # (status, Location) per hop
    permanent: bool = False  # every hop was 301/308: the new URL should replace the old
    elapsed: float = 0.0  # seconds spent on this URL (all attempts)
    attempts: int = 0  # requests made (0 when reused from the store or not checked)
    cached: bool = False  # reused from a recent run
    checked_at: float = 0.0  # Unix time of the check that produced it
    failures: int = 0  # consecutive failed runs, counted by the store
    failing_since: float | None = None  # Unix time of the first of those failures
    meta: LinkMeta | None = field(default=None, compare=False)

    @property
    def failed(self) -> bool:
        return self.kind in FAILING

    @property
    def suggestion(self) -> str:
        """The URL to write instead, for permanent redirects; '' otherwise."""
        if self.kind == REDIRECTED and self.permanent and self.final_url and self.final_url != self.url:
            return self.final_url
        return ""
