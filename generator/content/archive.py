"""All issues together: ordering, numbering checks, and the indexes readers browse.

The archive is built once per build from parsed issues. It answers every
cross-issue question the site, feeds and link checker ask: newest first,
previous/next, by year and month, every item of a kind, every tag, and every
link ever featured with the issues it appeared in.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping, NamedTuple, Sequence

from ..errors import ContentError, Problem, SourcePos
from ..model import Issue, Item, Link
from ..serialize import StoredIssue
from ..urls import slugify

__all__ = ["Archive", "build_archive", "FeaturedLink", "KindEntry", "SUMMARY_FORMAT", "index_summary"]


class KindEntry(NamedTuple):
    """An item of a section kind, with the issue it appeared in (for section pages).

    The item is named by its position in ``issue.all_items`` and found when first
    asked for: an issue read back from the parse cache decodes its body only then.
    A named tuple, not a frozen dataclass: an archive of 1,000 issues makes 17,000,
    and a tuple is made in a tenth of the time.
    """

    issue: Issue
    position: int  # in issue.all_items
    anchor: str  # the item's

    @property
    def item(self) -> Item:
        return self.issue.all_items[self.position]


@dataclass(slots=True)
class FeaturedLink:
    """One normalised URL and every place it was featured, newest first."""

    key: str
    url: str  # as written the most recent time
    text: str  # the most recent link text or item title
    host: str
    refs: list[tuple[Issue, str]] = field(default_factory=list)  # (issue, item anchor or '')

    @property
    def first_seen(self) -> datetime:
        return self.refs[-1][0].date


@dataclass(frozen=True, slots=True)
class Archive:
    """The published issues, newest first, with indexes over them."""

    issues: tuple[Issue, ...]
    by_slug: Mapping[str, Issue]
    by_number: Mapping[int, Issue]
    kinds: Mapping[str, tuple[KindEntry, ...]]  # kind -> entries, newest issue first
    tags: Mapping[str, tuple[Issue, ...]]  # tag slug -> issues
    tag_names: Mapping[str, str]  # tag slug -> tag as written
    links: tuple[FeaturedLink, ...]  # most recently featured first
    positions: Mapping[str, int]  # issue slug -> index in ``issues``
    linked_items: Mapping[str, int]  # issue slug -> how many of its items have links (the link feeds count them)

    @property
    def latest(self) -> Issue | None:
        return self.issues[0] if self.issues else None

    def neighbours(self, issue: Issue) -> tuple[Issue | None, Issue | None]:
        """(older, newer) than ``issue`` in publication order."""
        index = self.positions[issue.slug]
        older = self.issues[index + 1] if index + 1 < len(self.issues) else None
        newer = self.issues[index - 1] if index > 0 else None
        return older, newer

    def by_year(self) -> dict[int, dict[int, list[Issue]]]:
        """year -> month -> issues, every level newest first."""
        years: dict[int, dict[int, list[Issue]]] = {}
        for issue in self.issues:
            years.setdefault(issue.date.year, {}).setdefault(issue.date.month, []).append(issue)
        return years


class IndexCache(dict[int, "_IssueIndex"]):
    """What each issue adds to the indexes, kept by a long-running process between builds.

    Keyed by the issue object's identity (the preview server keeps unchanged issues as the
    same objects); each entry holds its issue, so an id is never reused while cached.
    ``featured`` is the last link index: a featured link whose places did not change is
    handed out again as the same object, so what was made from it can be kept too.
    """

    def __init__(self) -> None:
        super().__init__()
        self.featured: dict[str, FeaturedLink] = {}

    def summary(self, issue: Issue) -> list[Any] | None:
        """The :func:`index_summary` the last archive made for this very issue object, if it indexed it."""
        index = self.get(id(issue))
        return index.summary if index is not None and index.issue is issue else None


@dataclass(frozen=True, slots=True)
class _IssueIndex:
    issue: Issue
    entries: tuple[tuple[str, tuple[KindEntry, ...]], ...]  # (kind, its entries in order), kinds in order of first item
    links: Sequence[Sequence[Any]]  # featured (http) links as index_summary gives them
    tags: tuple[tuple[str, str], ...]  # (slug, tag as written)
    summary: list[Any]  # the index_summary these were made from
    linked: int  # items with links


def build_archive(
    issues: Iterable[Issue], *, include_drafts: bool = False, now: datetime | None = None, cache: IndexCache | None = None
) -> Archive:
    """Check numbering and slugs across issues, drop unpublished ones, and index the rest.

    Raises ContentError naming both files when two issues share a number or URL.
    Drafts and issues dated in the future are left out unless ``include_drafts``.
    """
    all_issues = list(issues)
    problems: list[Problem] = []
    seen_number: dict[int, Issue] = {}
    seen_slug: dict[str, Issue] = {}
    for issue in sorted(all_issues, key=lambda i: i.source_path):
        if issue.number is not None:
            other = seen_number.get(issue.number)
            if other is not None:
                problems.append(
                    Problem(SourcePos(issue.source_path, 1), f"issue number {issue.number} is already used by {other.source_path}")
                )
                continue
            seen_number[issue.number] = issue
        other = seen_slug.get(issue.slug)
        if other is not None:
            problems.append(
                Problem(SourcePos(issue.source_path, 1), f"issue URL /issues/{issue.slug}/ is already used by {other.source_path}")
            )
            continue
        seen_slug[issue.slug] = issue
    if problems:
        raise ContentError(problems)
    now = now or datetime.now().astimezone()
    published = [i for i in all_issues if include_drafts or (not i.draft and i.date <= now)]
    published.sort(key=lambda i: (i.date, i.number or 0, i.slug), reverse=True)
    return _index(tuple(published), cache if cache is not None else IndexCache())


SUMMARY_FORMAT = 2  # part of the parse cache's key: raise it whenever index_summary's shape changes


def index_summary(issue: Issue) -> list[Any]:
    """What ``issue`` adds to the indexes, as JSON-ready lists (the parse cache keeps it in the issue's head).

    ``[entries, links]``: each item as ``[kind, anchor, 1 if it has links else 0]``, in the order of ``issue.all_items``;
    each featured link as ``[key, url, text shown, host, its item's position in entries or -1]``, where url and text
    are '' when the same as the key and the url. Every build reads all these back: written out in full, a
    thousand issues' took 5.8 MB (0.07 s to fetch and decode), and this form is 40 % of that.
    """
    entries: list[list[str | int]] = []
    links: list[list[str | int]] = []
    for position, item in enumerate(issue.iter_items()):
        entries.append([item.kind, item.anchor, 1 if item.links else 0])
        links.extend(_link_row(link, item.title or link.text or link.url, position) for link in item.links if _featured(link))
    links.extend(_link_row(link, link.text or link.url, -1) for link in _prose_links(issue) if _featured(link))
    return [entries, links]


def _link_row(link: Link, text: str, position: int) -> list[str | int]:
    url = link.url
    return [link.key, "" if url == link.key else url, "" if text == url else text, link.host, position]


_tuple_new = tuple.__new__


def _issue_index(issue: Issue) -> _IssueIndex:
    # An issue from the parse cache brings its summary; its body stays encoded.
    summary = issue.index_summary if isinstance(issue, StoredIssue) else index_summary(issue)
    entries, links = summary
    by_kind: dict[str, list[KindEntry]] = {}
    linked = 0
    for index, (kind, anchor, has_links) in enumerate(entries):
        linked += has_links
        entry = _tuple_new(KindEntry, (issue, index, anchor))  # KindEntry(issue, index, anchor) without the Python-level __new__
        found = by_kind.get(kind)
        if found is None:
            by_kind[kind] = [entry]
        else:
            found.append(entry)
    return _IssueIndex(
        issue, tuple((kind, tuple(found)) for kind, found in by_kind.items()), links, tuple((slugify(tag) or "tag", tag) for tag in issue.tags),
        summary, linked,
    )


def _featured(link: Link) -> bool:
    return link.key.startswith(("http://", "https://"))  # mail addresses and relative links are not featured


def _index(issues: tuple[Issue, ...], cache: IndexCache) -> Archive:
    kinds: dict[str, list[KindEntry]] = defaultdict(list)
    tags: dict[str, list[Issue]] = defaultdict(list)
    tag_names: dict[str, str] = {}
    links: dict[str, FeaturedLink] = {}
    indexes: list[_IssueIndex] = []
    fresh: list[_IssueIndex] = []  # made in this build, not taken from the cache
    for issue in issues:
        index = cache.get(id(issue))
        if index is None or index.issue is not issue:
            index = _issue_index(issue)
            fresh.append(index)
        indexes.append(index)
    current = {id(issue) for issue in issues}
    gone = [cache.pop(key) for key in [k for k in cache if k not in current]]
    cache.update((id(index.issue), index) for index in fresh)
    # A featured link none of whose issues came, went or changed is the previous build's object.
    before = cache.featured
    changed = {link[0] for index in (*fresh, *gone) for link in index.links} if before else set()
    for index in indexes:
        issue = index.issue
        entries = index.summary[0]
        for slug, tag in index.tags:
            tags[slug].append(issue)
            tag_names.setdefault(slug, tag)
        for kind, found in index.entries:
            kinds[kind].extend(found)
        for key, url, text, host, position in index.links:
            featured = links.get(key)
            if featured is None:
                old = before.get(key)
                if old is not None and key not in changed:
                    links[key] = old
                    continue
                url = url or key
                links[key] = FeaturedLink(key, url, text or url, host, [(issue, entries[position][1] if position >= 0 else "")])
                continue
            if featured is before.get(key) and key not in changed:
                continue
            refs = featured.refs
            anchor = entries[position][1] if position >= 0 else ""
            # identity, not ==: comparing two issues field by field costs more than the whole index
            if not refs or refs[-1][0] is not issue or refs[-1][1] != anchor:
                refs.append((issue, anchor))
    cache.featured = links
    return Archive(
        issues=issues,
        by_slug={i.slug: i for i in issues},
        by_number={i.number: i for i in issues if i.number is not None},
        kinds={k: tuple(v) for k, v in kinds.items()},
        tags={k: tuple(v) for k, v in sorted(tags.items())},
        tag_names=tag_names,
        links=tuple(links.values()),
        positions={issue.slug: i for i, issue in enumerate(issues)},
        linked_items={index.issue.slug: index.linked for index in indexes},
    )


def _prose_links(issue: Issue) -> Iterable[Link]:
    item_links = {id(link) for item in issue.iter_items() for link in item.links}
    return (link for link in issue.iter_links() if id(link) not in item_links)
