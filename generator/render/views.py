"""View fingerprints: what a listing shows of an issue, an item or a featured link.

Incremental builds compare these between builds (see :mod:`generator.buildstate`).
A list page shows an issue's *card* — its header fields — not its body, so an
edit to an issue's text changes its card only when its title, date, number,
summary, tags, category or draft flag changed; the archive, tag and year pages
then stay as they are. Item and link views cover the fields section and
link-index pages show. A theme that shows more of an issue on a list page than
its card must depend on the issue's source instead (``source_key``).

The functions return plain text; a page's fingerprint is one hash over the
texts of everything on it (hashing each entry separately costs more than the
rest of the comparison).
"""

from __future__ import annotations

from hashlib import blake2b
from typing import Any, Iterable

from ..buildstate import digest
from ..content.archive import FeaturedLink, KindEntry
from ..model import Issue, Item, Page
from ..serialize import StoredIssue
from .paths import Pagination

__all__ = ["Views", "source_key", "pages_nav", "pagination", "entry_sources", "featured_sources", "card_sources", "item_digest"]


def source_key(doc: Issue | Page) -> tuple[str, str]:
    """The dependency on a file's whole content."""
    return f"source:{doc.source_path}", doc.source_hash


def pages_nav(pages: Iterable[Page]) -> str:
    """The standalone pages every page's navigation lists."""
    return digest(*(f"{p.slug}\x1e{p.title}" for p in pages))


def pagination(page: Pagination[Any]) -> str:
    """A listing page's address and its pager's links."""
    return f"{page.path}\x1e{page.newer_path}\x1e{page.older_path}"


def _source(issue: Issue) -> str:
    # The path too: a renamed file with the same bytes may have another slug.
    return f"{issue.source_path}\x1e{issue.source_hash}"


def entry_sources(entries: Iterable[KindEntry]) -> str:
    """Which items a section page lists: each run of one issue's entries by its source and first and last position.

    A source's entries of a kind are always the same, in order of position, so a run is
    named by its ends: a page names some twenty runs, not a hundred entries.
    """
    runs: list[str] = []
    issue: Issue | None = None
    first = last = 0
    for e in entries:
        if e.issue is not issue:
            if issue is not None:
                runs.append(f"{_source(issue)}#{first}-{last}")
            issue, first = e.issue, e.position
        last = e.position
    if issue is not None:
        runs.append(f"{_source(issue)}#{first}-{last}")
    return "\x1d".join(runs)


def featured_sources(links: Iterable[FeaturedLink]) -> str:
    """Which links a link-index page lists, and the sources of every issue that featured them.

    The page's links by key, in order, and the set of their issues' sources: where and
    how an issue features a link is a function of its source, so the pairs themselves
    need not be named (17,000 of them for 1,000 issues, each made into text every build).
    """
    keys: list[str] = []
    issues: dict[int, Issue] = {}
    for f in links:
        keys.append(f.key)
        for issue, _ in f.refs:
            issues[id(issue)] = issue
    return "\x1d".join(keys) + "\x1c" + " ".join(sorted(map(_source, issues.values())))


def item_digest(item: Item) -> str:
    """The hash of what a section page shows of an item (its card aside).

    The parse cache keeps these in each issue's head, made where the issue was parsed.
    """
    links = "\x1d".join([f"{link.url}\x1e{link.text}\x1e{link.inline}\x1e{'|'.join(link.labels)}" for link in item.links])
    text = f"{item.anchor}\x1c{item.title}\x1c{item.commentary_html}\x1c{item.sponsored}\x1c{links}"
    return blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()  # one call: 17,000 items a cold build


def card_sources(issues: Iterable[Issue]) -> str:
    """Which issues a list page shows as cards, by source."""
    return " ".join(map(_source, issues))


class Views:
    """Texts of cards, entries and links for one build, each issue's card made once.

    ``kept`` (from a long-running process) keeps entry texts between builds, keyed by
    the item object's identity: the preview server keeps unchanged issues as the same
    objects, so after an edit only the edited issue's entries are made again.
    """

    def __init__(self, kept: dict[int, tuple[Item, str]] | None = None, card_digests: dict[int, tuple[Issue, str]] | None = None) -> None:
        self._cards: dict[int, str] = {}
        self._entries = kept if kept is not None else {}
        self._card_digests = card_digests if card_digests is not None else {}

    def card(self, issue: Issue) -> str:
        text = self._cards.get(id(issue))
        if text is None:
            text = self._cards[id(issue)] = "\x1e".join(
                (issue.slug, issue.title, str(issue.number), issue.date.isoformat(), issue.summary,
                 "|".join(issue.tags), str(issue.category), str(issue.draft))
            )
        return text

    def card_digest(self, issue: Issue) -> str:
        """The hash of an issue's card (an issue page shows its neighbours' cards), kept like entries."""
        hit = self._card_digests.get(id(issue))
        if hit is not None and hit[0] is issue:
            return hit[1]
        made = digest(self.card(issue))
        self._card_digests[id(issue)] = (issue, made)
        return made

    def cards(self, issues: Iterable[Issue]) -> str:
        return digest(*(self.card(i) for i in issues))

    def entry(self, e: KindEntry) -> str:
        """An item as a section page shows it, with its issue's card.

        An issue from the parse cache brings its items' digests (:func:`item_digest`), so
        its body is not decoded to compare a section page that lists it.
        """
        issue = e.issue
        known = issue.item_views if isinstance(issue, StoredIssue) else None
        return f"{self.card(issue)}\x1c{known[e.position] if known else self.item_digest(e.item)}"

    def item_digest(self, item: Item) -> str:
        """:func:`item_digest`, kept by the item's identity for a long-running caller."""
        hit = self._entries.get(id(item))
        if hit is not None and hit[0] is item:
            return hit[1]
        made = item_digest(item)
        self._entries[id(item)] = (item, made)  # holding the item: its id is not reused while kept
        return made

    def forget_beyond(self, limit: int) -> None:
        """Drop every kept entry when more are kept than ``limit`` (edited issues leave old ones behind)."""
        if len(self._entries) > limit:
            self._entries.clear()
        if len(self._card_digests) > limit:
            self._card_digests.clear()

    def featured(self, link: FeaturedLink) -> str:
        """A link-index entry: the link and where it was featured."""
        refs = "\x1d".join(f"{issue.slug}\x1e{issue.label}\x1e{anchor}" for issue, anchor in link.refs)
        return f"{link.url}\x1c{link.text}\x1c{link.host}\x1c{refs}"
