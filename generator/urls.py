"""URL keys, host names and slugs: the identities that join issues, links and outputs.

``normalize_url`` gives the key under which a link is deduplicated, checked
and indexed. It treats as one what a reader would treat as one page:
scheme and host case, default ports, fragments, trailing ``index.html`` and
the tracking parameters that mailing tools append.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

__all__ = ["normalize_url", "host_of", "key_and_host", "slugify", "TRACKING_PARAMS", "is_tracking_param", "unique_slug"]

# Exact names; any parameter starting with "utm_" is tracking too.
TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid",
        "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "ref", "ref_src", "ref_url", "source",
        "oly_anon_id", "oly_enc_id", "vero_id", "rb_clickid", "s_cid", "spm",
    }
)

_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered.startswith("utm_") or lowered in TRACKING_PARAMS


# A URL already in normal form: lower-case scheme and host, no port, user, query or fragment, and a
# path of characters that normalisation leaves as they are. Most featured links look like this,
# and answering them without parsing is a large part of reading an issue quickly.
_ALREADY_NORMAL = re.compile(r"(https?)://([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*)(/[A-Za-z0-9._~!$&'()*+,;=:@/-]*)?")


@functools.lru_cache(maxsize=4096)  # the reader asks for a link's key and then its host: one match for both
def _already_normal(url: str) -> re.Match[str] | None:
    match = _ALREADY_NORMAL.fullmatch(url)
    if match is None:
        return None
    path = match.group(3) or ""
    if path.endswith(("/index.html", "/index.htm")):
        return None
    return match


def normalize_url(url: str, *, base: str | None = None) -> str:
    """The canonical form of ``url`` used as its identity.

    - resolves ``url`` against ``base`` when it is relative and a base is given;
    - lower-cases scheme and host, removes default ports, user info and the fragment;
    - removes tracking parameters and sorts the remaining query;
    - normalises percent-encoding and turns an empty path into ``/``.

    ``mailto:`` addresses are lower-cased; other schemes are returned trimmed.
    """
    url = url.strip()
    simple = _already_normal(url)
    if simple is not None:
        return _normal_key(url, simple)
    if base and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url):
        from urllib.parse import urljoin

        url = urljoin(base, url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme == "mailto":
        return "mailto:" + unquote(parts.path).strip().lower()
    if scheme not in ("http", "https"):
        return url
    host = (parts.hostname or "").rstrip(".")
    try:
        host = host.encode("idna").decode("ascii") if host else ""
    except UnicodeError:
        pass
    host = host.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    path = quote(unquote(parts.path), safe="/:@!$&'()*+,;=~%-._") or "/"
    if path.endswith(("/index.html", "/index.htm")):
        path = path.rsplit("/", 1)[0] + "/"
    query_pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking_param(k)]
    query = urlencode(sorted(query_pairs), doseq=True)
    return urlunsplit((scheme, netloc, path, query, ""))


def key_and_host(url: str) -> tuple[str, str]:
    """``(normalize_url(url), host_of(url))``, the URL matched once when it is already in normal form.

    The issue reader asks both of every link it finds.
    """
    stripped = url.strip()
    simple = _already_normal(stripped)
    if simple is not None:
        return _normal_key(stripped, simple), simple.group(2)
    return normalize_url(url), host_of(url)


def _normal_key(url: str, simple: re.Match[str]) -> str:
    """The key of a URL already in normal form: itself, with ``/`` for an empty path."""
    return url if simple.group(3) else url + "/"


def host_of(url: str) -> str:
    """Lower-case host of an http(s) URL, '' for anything else."""
    simple = _already_normal(url.strip())
    if simple is not None:
        return simple.group(2)
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https"):
        return ""
    return (parts.hostname or "").lower().rstrip(".")


_WORD_RUN = re.compile(r"[a-z0-9]+")


def slugify(text: str, *, max_length: int = 60) -> str:
    """ASCII, lower-case, hyphen-separated; '' when nothing usable remains."""
    if text.isascii():  # most titles: nothing to fold
        folded = text.lower()
    else:
        folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    slug = "-".join(_WORD_RUN.findall(folded))  # a quarter faster than replacing the runs between words
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0] or slug[:max_length]
    return slug


def unique_slug(base: str, taken: set[str], *, fallback: str = "item") -> str:
    """``base`` or ``base-2``, ``base-3``… whichever is not in ``taken``; records the result."""
    base = base or fallback
    slug = base
    n = 2
    while slug in taken:
        slug = f"{base}-{n}"
        n += 1
    taken.add(slug)
    return slug
