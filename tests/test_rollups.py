"""The daily rollup of appeals (metrics/rollups.py): figures read through it equal figures counted
from the rows, for random scopes, periods and as-of moments, across random loads and undos; the
rollup kept up day by day equals one rebuilt from scratch; and a hand-computed example.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, time, timedelta
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from etl import derived, versions
from etl.load import load_source
from etl.read import read_file
from metrics import alerts, appeals, feeds, rollups
from metrics.appeals import ROLLUP, ROLLUP_DAYS, ROLLUP_OPEN
from metrics.scope import Scope
from tests.test_replay import DAY, LoadsAndUndos, empty_database, load

STREETS = [None, "登州街道", "紫荆山街道", "新港街道"]


@contextmanager
def rows_only():
    """Every figure counted from the rows, as if there were no rollup."""
    usable = appeals.rollup_usable
    appeals.rollup_usable = lambda con: False
    try:
        yield
    finally:
        appeals.rollup_usable = usable


def figures(con, scope: Scope) -> list:
    return [appeals.summary(con, scope), appeals.weekly_trend(con, scope, 3).to_dicts(),
            *(appeals.rates_by(con, scope, dimension).to_dicts() for dimension in appeals.DIMENSIONS),
            appeals.overdue(con, scope).to_dicts(), appeals.backlog(con, scope).to_dicts(),
            alerts.deadlines(con, scope.moment, scope.street).to_dicts(), feeds.data_weeks(con, scope)]


def rollup_rows(con) -> list[list]:
    return [sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr) for table in (ROLLUP, ROLLUP_DAYS, ROLLUP_OPEN)]


@st.composite
def scopes(draw) -> Scope:
    """Any period around the test's days (open at either end or not), seen at any hour of the
    days their stamps fall in or after, for the district or one street."""
    start = draw(st.one_of(st.none(), st.integers(-1, 4).map(lambda d: DAY.date() + timedelta(days=d))))
    length = draw(st.integers(1, 6))
    end = draw(st.one_of(st.none(), st.just((start or DAY.date()) + timedelta(days=length))))
    # often the midnight the period starts at: 本周 seen at Monday 00:00, where an appeal stamped
    # 00:00 has come in though the day has not begun
    as_of = draw(st.one_of(st.integers(0, 24 * 9).map(lambda hours: DAY + timedelta(hours=hours)),
                           st.just(datetime.combine(start or DAY.date(), time()))))
    return Scope(start, end, as_of, draw(st.sampled_from(STREETS)))


class RollupThroughLoadsAndUndos(LoadsAndUndos):
    """test_replay's random histories; its replay check runs there, this one checks the rollup."""

    def equals_a_fresh_load_of_the_live_batches(self):
        pass

    @rule(scope=scopes())
    def rollup_figures_equal_row_figures(self, scope):
        assert appeals.rollup_usable(self.db)
        through_rollup = figures(self.db, scope)
        with rows_only():
            assert through_rollup == figures(self.db, scope)

    @rule(scope=scopes(), by=st.sampled_from([("street",), ("street", "category"),
                                               ("community", "channel", "compound_id")]))
    def overdue_counts_equal_the_overdue_list_counted(self, scope, by):
        listed = appeals.overdue(self.db, scope)
        counted = listed.group_by(list(by)).agg(pl.len().cast(pl.Int64).alias("overdue_open")).sort(
            ["overdue_open", *by], descending=[True] + [False] * len(by))
        assert appeals.overdue_by(self.db, scope, by).to_dicts() == counted.to_dicts()
        # 诉求办理 shows the oldest few and counts them all by the summary's overdue_open: unknown
        # (not 0) when no appeal in scope carried 办结时间, and then none can be told overdue
        total = appeals.headline(self.db, scope)["overdue_open"]
        assert total == listed.height or (total is None and listed.is_empty())
        assert appeals.overdue(self.db, scope, 2).to_dicts() == listed.head(2).to_dicts()

    @invariant()
    def kept_rollup_equals_a_rebuilt_one(self):
        if not hasattr(self, "db"):
            return
        kept = rollup_rows(self.db)
        self.db.execute("BEGIN TRANSACTION")
        self.db.execute("DELETE FROM meta WHERE key = ?", [appeals.ROLLUP_META])
        rollups.refresh(self.db)
        rebuilt = rollup_rows(self.db)
        self.db.execute("ROLLBACK")
        assert kept == rebuilt


RollupThroughLoadsAndUndos.TestCase.settings = settings(max_examples=8, stateful_step_count=12, deadline=None,
                                                        suppress_health_check=[HealthCheck.too_slow])
TestRollupThroughLoadsAndUndos = RollupThroughLoadsAndUndos.TestCase

HEADER = "工单编号,来源渠道,诉求类别,受理时间,街道,小区编码,首次响应时间,办结时间,回访时间,群众评价"


def load_appeals(con, rows: list[str], header: str = HEADER) -> int:
    data = (header + "\n" + "\n".join(rows) + "\n").encode()
    report = load_source(con, read_file(Path("appeals.csv"), "appeals", data=data), "appeals.csv", "test")
    assert report.rejected == 0, report.reasons
    return report.batch_id


def at(day: int, hour: int) -> datetime:
    return DAY + timedelta(days=day, hours=hour)


def stamp(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else ""


def appeal(appeal_id: str, received, responded=None, resolved=None, fed_back=None, rating="") -> str:
    return ",".join([appeal_id, "12345热线", "供暖", stamp(received), "登州街道", "", stamp(responded),
                     stamp(resolved), stamp(fed_back), rating])


def test_a_day_is_read_from_the_rollup_once_its_last_stamp_and_limit_have_passed():
    """Two appeals of one day; the second is resolved ten days later. The day settles then, not
    at its 72-hour mark; before that its figures come from the rows, and an undo takes it back."""
    con = empty_database()
    load(con, "compounds", ["C1,海景苑,登州街道,东城社区,老旧小区,"], False)
    # A1: responded in 1 h, resolved in 71 h (late), fed back at exactly 72 h (in time).
    early = appeal("A1", at(0, 10), at(0, 11), at(3, 9), at(3, 10), "满意")
    load_appeals(con, [early, appeal("A2", at(0, 20), at(1, 21))])
    late = load_appeals(con, [appeal("A2", at(0, 20), at(1, 21), at(10, 8), None, "基本满意")])

    assert con.execute(f"SELECT settled_at FROM {ROLLUP_DAYS}").fetchall() == [(at(10, 8),)]
    unresolved = f"SELECT appeal_id FROM {ROLLUP_OPEN} WHERE resolved_at IS NULL"
    assert con.execute(unresolved).fetchall() == []
    assert con.execute(f"""SELECT received, responded_in_time, resolved, resolved_in_time, fed_back_in_time,
                                  satisfied, basically_satisfied, overdue_open
                           FROM {ROLLUP} WHERE grouping = 'category'""").fetchall() == [(2, 1, 2, 0, 1, 1, 1, 0)]

    def seen(as_of: datetime) -> dict:
        return appeals.summary(con, Scope(DAY.date(), DAY.date() + timedelta(days=1), as_of))

    # As of day 5 A2 is still open (and overdue); as of day 11 both are resolved, one in time for none.
    assert (seen(at(5, 0))["resolution_rate"], seen(at(5, 0))["overdue_open"]) == (0.5, 1)
    assert (seen(at(11, 0))["resolution_rate"], seen(at(11, 0))["on_time_rate"]) == (1.0, 0.0)
    assert seen(at(11, 0))["satisfaction_score"] == (1 + 0.9) / 2
    with rows_only():
        assert seen(at(11, 0))["resolution_rate"] == 1.0

    # A record whose only batch is undone leaves its day: the day's rollup goes with it.
    lone = load_appeals(con, [appeal("A3", at(2, 9), at(2, 10))])
    assert con.execute(f"SELECT count(*) FROM {ROLLUP_DAYS}").fetchall() == [(2,)]
    for batch in (lone, late):
        con.execute("BEGIN TRANSACTION")
        versions.undo_batch(con, [batch], "appeals")
        con.execute("COMMIT")
    # A2 is open again: its day settles at its 72-hour mark, with one appeal overdue.
    assert con.execute(f"SELECT settled_at FROM {ROLLUP_DAYS}").fetchall() == [(at(4, 0),)]
    assert con.execute(unresolved).fetchall() == [("A2",)]
    assert appeals.overdue(con, Scope(None, None, at(11, 0)))["appeal_id"].to_list() == ["A2"]
    assert (seen(at(11, 0))["resolution_rate"], seen(at(11, 0))["overdue_open"]) == (0.5, 1)
    con.close()


def test_an_appeal_stamped_at_midnight_counts_from_that_midnight_through_the_rollup_as_in_the_rows():
    con = empty_database()
    load(con, "compounds", ["C1,海景苑,登州街道,东城社区,老旧小区,"], False)
    load_appeals(con, [appeal("A1", at(0, 0), at(0, 1)), appeal("A2", at(0, 10))])
    week_from_midnight = Scope(DAY.date(), DAY.date() + timedelta(days=7), at(0, 0))
    assert appeals.summary(con, week_from_midnight)["received"] == 1
    with rows_only():
        assert appeals.summary(con, week_from_midnight)["received"] == 1


def test_an_appeal_leaves_the_open_table_once_no_deadline_is_left():
    """Extracts without 结案时间 close nothing, so the open table keeps an appeal only until it
    can have no 123 deadline any more: fed back, or resolved when its extract has no 回访时间.
    The deadlines read through it equal those counted from every row."""
    con = empty_database()
    load(con, "compounds", ["C1,海景苑,登州街道,东城社区,老旧小区,"], False)
    load_appeals(con, [appeal("B1", at(0, 10), at(0, 11), at(1, 9), at(1, 10), "满意"),
                       appeal("B2", at(0, 10), at(0, 11), at(1, 9))])
    no_feedback = HEADER.replace(",回访时间", "")
    load_appeals(con, ["B3,12345热线,供暖,{},登州街道,,{},{},".format(stamp(at(0, 10)), stamp(at(0, 11)), stamp(at(1, 0)))],
                 no_feedback)
    assert con.execute(f"SELECT appeal_id FROM {ROLLUP_OPEN}").fetchall() == [("B2",)]

    def stages(as_of: datetime) -> list[tuple]:
        found = alerts.deadlines(con, as_of).select("appeal_id", "stage").rows()
        with rows_only():
            assert alerts.deadlines(con, as_of).select("appeal_id", "stage").rows() == found
        return sorted(found)

    # Before 01-00 B3 waits for its resolution (read from its day, not the open table); after it
    # nothing is left for it; B2 waits for its feedback until it comes.
    assert stages(at(0, 23)) == [("B1", "办结"), ("B2", "办结"), ("B3", "办结")]
    assert stages(at(2, 0)) == [("B2", "反馈")]
    con.close()


def test_a_write_without_the_keeper_leaves_the_rollup_unused_until_a_write_with_it(monkeypatch):
    """A process that never imported the metrics (no keeper registered) cannot bring the rollup up
    to date: its write marks it out of date, readers count the rows, and the next write with the
    keeper rebuilds it."""
    con = empty_database()
    load(con, "compounds", ["C1,海景苑,登州街道,东城社区,老旧小区,"], False)
    load_appeals(con, [appeal("A1", at(0, 10), at(0, 11), at(1, 9))])
    assert appeals.rollup_usable(con)
    whole = Scope(None, None, at(20, 0))
    monkeypatch.setattr(derived, "_keepers", [])
    load_appeals(con, [appeal("A2", at(1, 10))])
    assert not appeals.rollup_usable(con)
    assert appeals.summary(con, whole)["received"] == 2
    monkeypatch.undo()
    load_appeals(con, [appeal("A3", at(2, 10))])
    assert appeals.rollup_usable(con)
    assert con.execute(f"SELECT sum(received) FROM {ROLLUP} WHERE grouping = 'channel'").fetchall() == [(3,)]
    assert appeals.summary(con, whole)["received"] == 3
    con.close()


def test_changed_limits_leave_the_rollup_unused_until_the_next_write_rebuilds_it(monkeypatch):
    """The rollup's counts depend on the 123 limits: with other limits in data/metrics.toml the
    pages count from the rows (and get the new limits' figures), and the next write rebuilds it."""
    import settings

    con = empty_database()
    load(con, "compounds", ["C1,海景苑,登州街道,东城社区,老旧小区,"], False)
    # Resolved after 30 hours: late under the 24-hour limit below, in time under the default 48.
    load_appeals(con, [appeal("A1", at(0, 10), at(0, 11), at(1, 16))])
    day = Scope(DAY.date(), DAY.date() + timedelta(days=1), at(20, 0))
    assert appeals.rollup_usable(con) and appeals.summary(con, day)["on_time_rate"] == 1.0
    chosen = settings.metric_settings()
    monkeypatch.setattr(settings, "metric_settings", lambda: {**chosen, "resolution_limit_hours": 24})
    assert not appeals.rollup_usable(con)
    assert appeals.summary(con, day)["on_time_rate"] == 0.0
    load_appeals(con, [appeal("A2", at(2, 10))])
    assert appeals.rollup_usable(con)
    assert appeals.summary(con, day)["on_time_rate"] == 0.0
    with rows_only():
        assert appeals.summary(con, day)["on_time_rate"] == 0.0
    con.close()
