"""What the numbers describe (Scope), ISO weeks, and the period and place filters of every query.

A filter is returned as (SQL condition, parameters); `where` joins several into one, so no query
writes into a dictionary another filter shares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

import polars as pl

from settings import local_now, reference

ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")

Condition = tuple[str, dict]


def _whole_months(start: date, end: date) -> int | None:
    """How many calendar months [start, end) is, when both are the first of a month; else None."""
    if start.day != 1 or end.day != 1:
        return None
    return (end.year - start.year) * 12 + end.month - start.month


def _months_before(day: date, months: int) -> date:
    """The first of the month `months` months before `day` (a first of a month)."""
    index = day.year * 12 + day.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def seen_now(end: date, now: datetime | None = None) -> datetime:
    """The moment a period ending (exclusive) on `end` is seen at by default, on the pages and
    the command line alike: its end once it is over, now while it runs."""
    return min(now or local_now(), datetime.combine(end, time()))


@dataclass(frozen=True)
class Scope:
    """What the numbers describe: a half-open date range, a moment, and optionally one street."""

    start: date | None = None  # inclusive; None = from the first record
    end: date | None = None  # exclusive; None = to the last record
    as_of: datetime | None = None  # None = now, fixed when the Scope is made
    street: str | None = None
    community: str | None = None

    def __post_init__(self):
        # One moment for every filter of a query: read from the clock each time, two filters
        # could bind $as_of to two different seconds (merged() refuses that).
        if self.as_of is None:
            object.__setattr__(self, "as_of", local_now())

    @property
    def moment(self) -> datetime:
        return self.as_of

    @staticmethod
    def week(label: str, street: str | None = None, as_of: datetime | None = None) -> "Scope":
        """The ISO week 'YYYY-Www', as of its end (the Monday 00:00 after it), or of now while it
        runs, unless told."""
        start = parse_week(label)
        end = start + timedelta(days=7)
        return Scope(start, end, as_of or seen_now(end), street)

    @staticmethod
    def from_arguments(con, *, start: date | None = None, end: date | None = None, week: str | None = None,
                       street: str | None = None, as_of: datetime | None = None,
                       community: str | None = None) -> "Scope":
        """The scope of the command line's arguments; ValueError (in Chinese) for arguments that
        contradict each other or name a street or community the data does not have."""
        if week and (start or end):
            raise ValueError("--week 不能与 --from/--to 同时使用")
        check_place(con, street, community)
        if week:
            return replace(Scope.week(week, street, as_of), community=community)
        if start and end and end <= start:
            raise ValueError("--to 必须晚于 --from")
        return Scope(start, end, as_of or (seen_now(end) if end else None), street, community)

    def previous(self) -> "Scope":
        """The period just before this one, seen as far into it as this one is: whole calendar
        months (本月, 本年) go back as many months (December against November, not against the 31
        days from 31 October); any other period by its length (本周 on a Wednesday against last
        week up to Wednesday)."""
        if self.start is None or self.end is None:
            raise ValueError("整个数据期间没有“上一期”")
        months = _whole_months(self.start, self.end)
        if months is None:
            length = self.end - self.start
            return replace(self, start=self.start - length, end=self.start, as_of=self.moment - length)
        start = _months_before(self.start, months)
        into = self.moment - datetime.combine(self.start, time())
        return replace(self, start=start, end=self.start,
                       as_of=min(datetime.combine(start, time()) + into, datetime.combine(self.start, time())))

    def seen_end(self) -> date:
        """The day after the last day the numbers can hold: the period's end once it is over; while
        it runs, the day after the as-of moment's day (the moment's own day when it is midnight).
        Windows and trends end here, not in days still to come (本年 in December: not 31 Dec)."""
        seen = self.moment.date() + timedelta(days=1) if self.moment.time() != time() else self.moment.date()
        return min(self.end, seen) if self.end else seen

    def label(self) -> str:
        first = self.start.isoformat() if self.start else "最早"
        last = (self.end - timedelta(days=1)).isoformat() if self.end else "最新"
        return f"{first} 至 {last}"


# The columns of a trend's period that may still be running: the last day its numbers hold, and
# whether that is the period's own last day (a running week is drawn as one, not as a fall).
SEEN_THROUGH = {"through": pl.Date, "complete": pl.Boolean}


def seen_through(first: date, days: int, scope: Scope) -> dict:
    """SEEN_THROUGH of the period of `days` days from `first`, seen in `scope`: complete only once
    its end has passed by the scope's moment (a week seen on its Sunday at 10:00 is still running)
    and the scope's own end does not cut it."""
    own_end = first + timedelta(days=days)
    held = min(scope.moment, datetime.combine(scope.end, time())) if scope.end else scope.moment
    return {"through": min(own_end, scope.seen_end()) - timedelta(days=1),
            "complete": datetime.combine(own_end, time()) <= held}


def check_place(con, street: str | None, community: str | None) -> None:
    """A street must be one of the district's (data/reference.toml) or of the data, a community one
    the data has (registry or appeals); the error lists them."""
    places = con.execute("SELECT street, community FROM compounds UNION SELECT street, community FROM appeals"
                         ).fetchall()
    streets = list(reference()["streets"]) + sorted({s for s, _ in places if s} - set(reference()["streets"]))

    def shown(name: str) -> str:  # the name as typed, cut short (it may be anything)
        return f"“{name[:40]}{'…' if len(name) > 40 else ''}”"

    if street is not None and street not in streets:
        raise ValueError(f"没有街道{shown(street)}。已知街道：{'、'.join(streets)}")
    communities = sorted({c for s, c in places if c and street in (None, s)})
    if community is not None and community not in communities:
        raise ValueError(f"{shown(street) if street else ''}没有社区{shown(community)}。"
                         f"已知社区：{'、'.join(communities) or '(库中还没有社区数据)'}")


def parse_week(label: str) -> date:
    match = ISO_WEEK.match(label or "")
    if not match:
        raise ValueError(f"周的写法应为 YYYY-Www(如 2026-W10)：{label!r}")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        return date.fromisocalendar(year, week, 1)
    except ValueError as exc:
        raise ValueError(f"{year} 年没有第 {week} 周") from exc


def iso_week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def last_complete_week(today: date | None = None) -> str:
    today = today or local_now().date()
    return iso_week_label(today - timedelta(days=today.isoweekday()))


# ---------------------------------------------------------------- filters shared by every query

def period(column: str, scope: Scope, *, is_date: bool = False) -> Condition:
    """The period and as-of conditions on one date/time column."""
    clauses, params = [], {"as_of": scope.moment}
    if scope.start is not None:
        params["start"] = scope.start
        clauses.append(f"{column} >= $start")
    if scope.end is not None:
        params["end"] = scope.end
        clauses.append(f"{column} < $end")
    # A dated record counts once its day has begun: at 00:00 that day has not (as `seen_end`).
    clauses.append(f"{column} <= CAST($as_of - INTERVAL 1 MICROSECOND AS DATE)" if is_date else
                   f"{column} <= CAST($as_of AS TIMESTAMP)")
    return " AND ".join(clauses), params


def place(prefix: str, scope: Scope) -> Condition:
    """The street and community conditions, on columns `<prefix>street` and `<prefix>community`."""
    clauses, params = ["TRUE"], {}
    if scope.street:
        params["street"] = scope.street
        clauses.append(f"{prefix}street = $street")
    if scope.community:
        params["community"] = scope.community
        clauses.append(f"{prefix}community = $community")
    return " AND ".join(clauses), params


def where(*conditions: Condition) -> Condition:
    """The conditions joined by AND, their parameters merged."""
    return " AND ".join(sql for sql, _ in conditions), merged(*(params for _, params in conditions))


def merged(*parts: dict) -> dict:
    """Parameters of several conditions in one dict; a name bound twice must mean the same value
    (two scopes in one query would otherwise silently share a parameter)."""
    out: dict = {}
    for part in parts:
        for name, value in part.items():
            if name in out and out[name] != value:
                raise ValueError(f"parameter ${name} bound to two values")
            out[name] = value
    return out
