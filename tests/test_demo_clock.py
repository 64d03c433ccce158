"""The demo never holds a record later than the moment it is built, and 本周 has data whatever the
day and hour of the build (Beijing time): built at 03:51 on a Monday, the week is under four
hours old and must still show appeals."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard.state import make_scope
from demo import build as demo
from etl.db import read_only
from metrics import appeals
from settings import TIMEZONE, local_now

TODAY = local_now().date()  # read once: two readings could fall on either side of midnight
MONDAY = TODAY - dt.timedelta(days=TODAY.weekday())
# (days after this week's Monday, hour, minute): the week's first minute, the Monday 03:51,
# a weekday noon, the week's last minute.
MOMENTS = [(0, 0, 0), (0, 3, 51), (2, 12, 30), (6, 23, 59)]
TIMES = {"appeals": ["received_at", "dispatched_at", "first_response_at", "resolved_at", "feedback_at",
                     "closed_at"], "complaints": ["received_at", "resolved_at"]}



def built_at(tmp_path, stop_clock, moment: dt.datetime):
    stop_clock(moment.replace(tzinfo=TIMEZONE))  # the loader's plausibility check sees that moment too
    path = tmp_path / "demo.duckdb"
    reports = demo.build_demo(path)
    assert not any(r.refused for r in reports)
    return path


@pytest.mark.parametrize("offset, hour, minute", MOMENTS)
def test_built_at_any_hour_nothing_lies_ahead_and_this_week_has_data(tmp_path, stop_clock, offset, hour, minute):
    moment = dt.datetime.combine(MONDAY + dt.timedelta(days=offset), dt.time(hour, minute, 20))
    path = built_at(tmp_path, stop_clock, moment)
    con = read_only(path)
    try:
        for table, columns in TIMES.items():
            for column in columns:
                latest = con.execute(f"SELECT max({column}) FROM {table}").fetchall()[0][0]
                assert latest is not None and latest <= moment, (table, column, latest)
        for table, column in (("surveys", "surveyed_at"), ("scenes", "event_date")):
            assert con.execute(f"SELECT max({column}) FROM {table}").fetchall()[0][0] <= moment.date(), table
        this_week = make_scope("本周", moment.replace(second=0))  # as the sidebar makes it
        assert appeals.summary(con, this_week)["received"] > 0
    finally:
        con.close()


def test_a_demo_ending_in_the_future_is_refused(tmp_path):
    with pytest.raises(ValueError, match="不能晚于今天"):
        demo.build_demo(tmp_path / "demo.duckdb", end=local_now().date() + dt.timedelta(days=1))

