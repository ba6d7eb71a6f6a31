"""Freezing a period of fetched entries into a digest file under ``content/digests/``.

The store is git-ignored and changes with every fetch; a digest is what the
editor commits. Freezing copies the period's entries (not dismissed) into a
YAML file that the build reads, so the published site depends only on the
repository.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import yaml

from .state import StoredEntry

__all__ = ["Period", "parse_period", "last_complete_week", "digest_text"]


@dataclass(frozen=True, slots=True)
class Period:
    slug: str  # file name stem and URL segment: 2025-w41 or 2025-10
    start: date
    end: date  # inclusive
    title: str

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) as aware datetimes at midnight in ``zone``."""
        return datetime.combine(self.start, time(), zone), datetime.combine(self.end + timedelta(days=1), time(), zone)


def _week(year: int, week: int) -> Period:
    start = date.fromisocalendar(year, week, 1)
    end = start + timedelta(days=6)
    span = f"{start.day} {start:%B}" if start.month == end.month else f"{start.day} {start:%B} – "
    span = f"{start.day}–{end.day} {end:%B %Y}" if start.month == end.month else f"{span}{end.day} {end:%B %Y}"
    return Period(f"{year}-w{week:02d}", start, end, f"Links of week {week}, {year} ({span})")


def parse_period(text: str) -> Period:
    """``2025-W41`` (an ISO week) or ``2025-10`` (a month); ValueError otherwise."""
    match = re.fullmatch(r"(\d{4})-[wW](\d{1,2})", text.strip())
    if match:
        return _week(int(match.group(1)), int(match.group(2)))
    match = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if match:
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise ValueError(f"no month {month}")
        start = date(year, month, 1)
        end = date(year, month, calendar.monthrange(year, month)[1])
        return Period(f"{year}-{month:02d}", start, end, f"Links of {start:%B %Y}")
    raise ValueError(f"{text!r} is neither a week (2025-W41) nor a month (2025-10)")


def last_complete_week(today: date) -> Period:
    """The Monday–Sunday week before the one ``today`` is in."""
    year, week, _ = (today - timedelta(days=7)).isocalendar()
    return _week(year, week)


def digest_text(period: Period, entries: list[StoredEntry], names: dict[str, str], now: datetime) -> str:
    """The YAML text of a digest file for ``entries`` (already filtered to the period)."""
    data = {
        "title": period.title,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "entries": [
            {
                "title": e.title,
                "url": e.url,
                "source": names.get(e.source, e.source),
                "date": e.date.isoformat(),
                "section": e.section,
                "tags": list(e.tags),
                "excerpt": e.excerpt,
            }
            for e in entries
        ],
    }
    header = f"# Frozen by `tidings digest` on {now:%Y-%m-%d} from the fetch store; edit or remove entries freely.\n"
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
