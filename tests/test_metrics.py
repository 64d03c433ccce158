"""The metrics on the hand-made fixture files, against values worked out by hand.

Week 2026-W10 is Monday 2026-03-02 to Sunday 03-08, seen as of Monday 03-09 00:00.
In it (A8 is from the week before; A9–A12 and the first A6 row are rejected):

| id | street | received | response | resolved | feedback | rating |
| A1 | 蓬莱阁 | 03-02 09:00 | +1 h | +24 h | +48 h | 满意 |
| A2 | 蓬莱阁 | 03-02 12:00 | +24 h (at the limit) | +48 h (at the limit) | +72 h (at the limit) | 基本满意 |
| A3 | 登州 | 03-03 08:00 | +25 h (late) | +72 h (late) | +73 h (late) | 不满意 |
| A4 | 登州 | 03-05 10:00 | — | — | — | |
| A5 | 紫荆山 | 03-08 20:00 | +1 h | — (not yet due) | — | |
| A6 | 蓬莱阁 | 03-07 10:00 | +1 h | +23 h | — (not yet due) | |
| A7 | 蓬莱阁 | 03-06 10:00 | +2 h | 03-09 12:00, after as-of | — (not yet due) | |

response: in time A1 A2 A5 A6 A7 = 5; due or answered: all 7            → 5/7
resolution: resolved by as-of A1 A2 A3 A6 = 4 of 7                        → 4/7
on time: in time A1 A2 A6 = 3; due or resolved: all but A5 = 6            → 3/6
feedback: in time A1 A2 = 2; due or given: A1 A2 A3 A4 = 4                → 2/4
satisfaction: 2 of 3 rated; score (1 + 0.9) / 3
composite: 0.1 × 5/7 + 0.5 × 4/7 + 0.4 × 1.9/3
overdue open: A4 (due 03-07 10:00), A7 (due 03-08 10:00) = 2; A5 is not yet due
median hours to resolve: 23, 24, 48, 72 → 36
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta

import pytest

from dashboard.state import make_scope
from etl.db import read_only
from etl.load import load_files
from metrics import Scope, appeals, complaints, compounds, rankings, scenes, snapshot, stats, surveys
from settings import local_now
from tests.conftest import FIXTURES

W10 = Scope.week("2026-W10")


@pytest.fixture(scope="module")
def con(fixture_db):
    with read_only(fixture_db) as connection:
        yield connection


def test_week_scope_is_the_iso_week_seen_from_its_end():
    assert W10.start == date(2026, 3, 2)
    assert W10.end == date(2026, 3, 9)
    assert W10.moment == datetime(2026, 3, 9)


@pytest.mark.parametrize("label", ["2026-10", "2026-W54", "W10", "2026-W1", ""])
def test_bad_week_labels_are_refused(label):
    with pytest.raises(ValueError):
        Scope.week(label)


def test_appeal_rates_of_the_week(con):
    got = appeals.summary(con, W10)
    assert got["received"] == 7
    assert got["response_rate"] == pytest.approx(5 / 7)
    assert got["resolution_rate"] == pytest.approx(4 / 7)
    assert got["on_time_rate"] == pytest.approx(3 / 6)
    assert got["feedback_rate"] == pytest.approx(2 / 4)
    assert got["satisfaction_rate"] == pytest.approx(2 / 3)
    assert got["satisfaction_score"] == pytest.approx(1.9 / 3)
    assert got["composite"] == pytest.approx(0.1 * 5 / 7 + 0.5 * 4 / 7 + 0.4 * 1.9 / 3)
    assert got["overdue_open"] == 2
    assert got["median_hours_to_resolve"] == pytest.approx(36.0)


def test_rates_by_street_and_empty_denominators(con):
    rows = {r["street"]: r for r in appeals.rates_by(con, W10, "street").to_dicts()}
    assert set(rows) == {"蓬莱阁街道", "登州街道", "紫荆山街道"}
    penglaige = rows["蓬莱阁街道"]  # A1 A2 A6 A7
    assert (penglaige["received"], penglaige["overdue_open"]) == (4, 1)
    assert penglaige["resolution_rate"] == pytest.approx(3 / 4)
    assert penglaige["on_time_rate"] == pytest.approx(3 / 4)
    assert penglaige["feedback_rate"] == pytest.approx(2 / 2)
    assert penglaige["satisfaction_score"] == pytest.approx(1.9 / 2)
    assert penglaige["composite"] == pytest.approx(0.1 + 0.5 * 0.75 + 0.4 * 0.95)
    # 紫荆山: only A5, received 20:00 on Sunday — nothing is due yet, nobody rated it.
    zijingshan = rows["紫荆山街道"]
    assert zijingshan["response_rate"] == 1.0
    assert zijingshan["on_time_rate"] is None
    assert zijingshan["feedback_rate"] is None
    assert zijingshan["satisfaction_rate"] is None
    assert zijingshan["composite"] is None


def test_street_ranking_puts_streets_without_a_score_last(con):
    ranking = rankings.street_ranking(con, W10)
    assert ranking["street"].to_list() == ["蓬莱阁街道", "登州街道", "紫荆山街道"]
    assert ranking["rank"].to_list() == [1, 2, None]


def test_as_of_moves_what_counts(con):
    # Seen on Friday 03-06 12:00, A7's response (12:00) counts but A6 and A5 do not exist yet.
    scope = Scope(date(2026, 3, 2), date(2026, 3, 9), datetime(2026, 3, 6, 12, 0))
    got = appeals.summary(con, scope)
    assert got["received"] == 5  # A1 A2 A3 A4 A7
    assert got["resolution_rate"] == pytest.approx(3 / 5)  # A1 A2 A3
    assert got["overdue_open"] == 0  # A4 is due only on 03-07 10:00


def test_a_period_without_appeals_has_no_rates(con):
    got = appeals.summary(con, Scope.week("2025-W10"))
    assert got["received"] == 0
    assert all(got[k] is None for k in ("response_rate", "resolution_rate", "on_time_rate",
                                         "feedback_rate", "satisfaction_rate", "composite"))


def test_previous_period_of_equal_length():
    previous = W10.previous()
    assert (previous.start, previous.end, previous.moment) == (date(2026, 2, 23), date(2026, 3, 2), datetime(2026, 3, 2))


@pytest.mark.parametrize(("start", "end", "moment", "expected"), [
    # 本月 in December: November, as far into it (found by an attack session: 31 days from 31 October)
    (date(2026, 12, 1), date(2027, 1, 1), datetime(2026, 12, 1, 13, 39),
     (date(2026, 11, 1), date(2026, 12, 1), datetime(2026, 11, 1, 13, 39))),
    # 本年: last year
    (date(2026, 1, 1), date(2027, 1, 1), datetime(2026, 12, 1, 13, 39),
     (date(2025, 1, 1), date(2026, 1, 1), datetime(2025, 12, 1, 13, 39))),
    # 31 March against February, at most February's end
    (date(2026, 3, 1), date(2026, 4, 1), datetime(2026, 3, 31, 10, 0),
     (date(2026, 2, 1), date(2026, 3, 1), datetime(2026, 3, 1))),
    # January against December of the year before
    (date(2026, 1, 1), date(2026, 2, 1), datetime(2026, 2, 1),
     (date(2025, 12, 1), date(2026, 1, 1), datetime(2026, 1, 1))),
])
def test_the_previous_period_of_whole_months_is_the_calendar_months_before(start, end, moment, expected):
    previous = Scope(start, end, moment).previous()
    assert (previous.start, previous.end, previous.moment) == expected


def test_weekly_trend_sees_each_week_as_of_its_end(con):
    trend = appeals.weekly_trend(con, W10, weeks=2).to_dicts()
    assert [t["week"] for t in trend] == ["2026-W09", "2026-W10"]
    assert trend[0]["received"] == 1  # A8
    assert trend[0]["resolution_rate"] == 1.0
    assert trend[1]["received"] == 7
    assert trend[1]["on_time_rate"] == pytest.approx(3 / 6)


def test_overdue_appeals_carry_no_personal_data(con):
    overdue = appeals.overdue(con, W10)
    assert overdue["appeal_id"].to_list() == ["A4", "A7"]
    # Where each stood at as-of, not the status of the latest extract (A7 was resolved later).
    assert overdue["status"].to_list() == ["未响应", "已响应，未办结"]
    assert "content" not in overdue.columns
    assert appeals.overdue_by(con, W10, ("street",)).to_dicts() == [
        {"street": "登州街道", "overdue_open": 1}, {"street": "蓬莱阁街道", "overdue_open": 1}]
    # Equal counts: a missing community (null) first, then by name, as the list grouped in polars had it.
    assert appeals.overdue_by(con, Scope(None, None, datetime(2026, 6, 1)), ("community",)).to_dicts() == [
        {"community": None, "overdue_open": 1}, {"community": "晒甲河社区", "overdue_open": 1}]
    with pytest.raises(ValueError, match="not an appeal column"):  # a column name goes into the SQL
        appeals.overdue_by(con, W10, ("street, (SELECT 1)",))


def test_complaints_key_targets_and_hot_spots(con):
    # W10: P1 P2 P3 (海景苑, by name) at C1, P4 at C2, P5 at C4 (no household count).
    # Resolved by as-of: P1 (2 d), P3 (1 d), P4 (1.5 d); P2 is resolved after as-of.
    assert complaints.summary(con, W10) == {
        "complaints": 5, "resolution_rate": pytest.approx(3 / 5), "median_days_to_resolve": pytest.approx(1.5),
        "absent_columns": []}
    by_compound = compounds.complaints_by_compound(con, W10)
    targets = compounds.key_targets(by_compound).select(snapshot.LIST_KEYS).to_dicts()
    assert targets == [
        {"compound_id": "C1", "name": "海景苑", "complaints": 3, "complaints_per_100_households": 1.5,
         "resolution_rate": pytest.approx(2 / 3)},
        {"compound_id": "C3", "name": "碧桂园", "complaints": 0, "complaints_per_100_households": 0.0,
         "resolution_rate": None},
    ]
    spots = compounds.hot_spots(by_compound)
    assert spots["compound_id"].to_list() == ["C1", "C2"]
    assert spots["is_new"].to_list() == [False, True]
    assert spots["complaints_per_100_households"].to_list() == [1.5, 0.25]
    assert compounds.unranked(by_compound) == 1  # C4 has a complaint but no household count


def test_compound_types_list_all_six(con):
    types = compounds.types(con, W10).to_dicts()
    assert [t["compound_type"] for t in types] == [
        "老旧小区", "学区房", "商品房小区", "回迁安置小区", "单位家属院", "开放式楼院"]
    assert [t["compounds"] for t in types] == [1, 1, 1, 0, 0, 1]
    assert [t["households"] for t in types] == [200, 100, 400, 0, 0, 0]


def test_surveys_map_scores_to_ratings(con):
    # S1 5→满意, S2 3→基本满意, S3 不满意 (given), S4 4→满意 (by name), S5 1→不满意.
    assert surveys.summary(con, W10) == {
        "answers": 5, "satisfaction_rate": pytest.approx(3 / 5), "average_score": pytest.approx(13 / 4)}


def test_scenes(con):
    # E1 C1 30/10, E2 C2 50/40, E3 C3 120/20, E4 C1 25/—; E5 is next week, E6 rejected.
    assert scenes.summary(con, W10) == {
        "events": 4, "attendance": 225, "old_young": 70, "coverage": pytest.approx(3 / 4), "absent_columns": []}
    by_type = {r["scene_type"]: r for r in scenes.by(con, W10, "scene_type").to_dicts()}
    assert list(by_type) == ["邻里", "健康", "就业", "教育", "低碳", "智慧"]
    assert (by_type["邻里"]["events"], by_type["邻里"]["attendance"]) == (2, 150)
    assert by_type["智慧"]["events"] == 0


def test_street_scope_narrows_every_feed(con):
    scope = Scope.week("2026-W10", street="登州街道")
    got = stats(con, scope)
    assert got["appeals"]["received"] == 2
    assert got["complaints"]["complaints"] == 3  # P1 P2 P3 at 海景苑
    assert got["surveys"]["answers"] == 2
    assert got["scenes"]["events"] == 2
    assert got["scenes"]["coverage"] == 1.0  # 海景苑 is 登州's only compound that loaded
    assert [k["compound_id"] for k in got["key_targets"]] == ["C1"]


def test_stats_cli_prints_the_metrics_as_json(fixture_db):
    result = subprocess.run(
        [sys.executable, "-m", "etl", "stats", "--json", "--week", "2026-W10", "--db", str(fixture_db)],
        capture_output=True, text=True, check=True)
    got = json.loads(result.stdout)
    assert got["counts"] == {"compounds": 4, "appeals": 8, "complaints": 6, "surveys": 6, "scenes": 5}
    assert got["appeals"]["received"] == 7
    assert got["appeals"]["on_time_rate"] == 0.5
    assert [s["street"] for s in got["appeals_by_street"]] == sorted(["蓬莱阁街道", "登州街道", "紫荆山街道"])
    assert set(got) >= {"counts", "appeals", "appeals_by_street", "complaints", "key_targets", "hot_spots",
                        "compound_types", "surveys", "scenes"}
    assert set(got["hot_spots"][0]) == {"compound_id", "name", "complaints", "complaints_per_100_households",
                                        "resolution_rate", "is_new"}


def test_stats_cli_from_to_and_as_of(fixture_db):
    result = subprocess.run(
        [sys.executable, "-m", "etl", "stats", "--json", "--from", "2026-03-02", "--to", "2026-03-09",
         "--as-of", "2026-03-06T12:00", "--db", str(fixture_db)], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout)["appeals"]["received"] == 5


def test_stats_cli_refuses_a_bad_week(fixture_db):
    result = subprocess.run(
        [sys.executable, "-m", "etl", "stats", "--json", "--week", "2026-W99", "--db", str(fixture_db)],
        capture_output=True, text=True)
    assert result.returncode == 2
    assert "第 99 周" in result.stderr


def test_stats_cli_community_scope(fixture_db):
    result = subprocess.run(
        [sys.executable, "-m", "etl", "stats", "--json", "--week", "2026-W10", "--street", "蓬莱阁街道",
         "--community", "钟楼社区", "--db", str(fixture_db)], capture_output=True, text=True, check=True)
    got = json.loads(result.stdout)
    assert got["appeals"]["received"] == 3  # A1 A2 A6; A7 names no compound and no community
    assert got["scope"]["community"] == "钟楼社区"


def test_stats_cli_sees_a_past_range_as_of_its_end_as_the_pages_do(fixture_db):
    """--from/--to of a closed week reads as --week and as 自定义 on the pages: as of its end, not
    as of now (a complaint resolved after the week is not resolved in it)."""
    def complaints_of(*args: str) -> dict:
        result = subprocess.run([sys.executable, "-m", "etl", "stats", "--json", *args, "--db", str(fixture_db)],
                                capture_output=True, text=True, check=True)
        return json.loads(result.stdout)["complaints"]
    assert complaints_of("--from", "2026-03-02", "--to", "2026-03-09") == complaints_of("--week", "2026-W10")


def test_a_week_still_running_is_seen_as_of_now(tmp_path):
    """Scope.week and --from/--to of the running week are seen now, as on the pages (min(now, end)):
    an appeal received an hour ago is neither late nor overdue."""
    now = local_now()
    monday = now.date() - timedelta(days=now.weekday())
    label = f"{monday.isocalendar().year}-W{monday.isocalendar().week:02d}"
    assert now <= Scope.week(label).moment <= local_now()
    received = (now - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    db = tmp_path / "now.duckdb"
    load_files(db, "compounds", [FIXTURES / "compounds.csv"])
    (tmp_path / "now.csv").write_text("工单编号,来源渠道,诉求类别,受理时间,街道,首次响应时间,办结时间\n"
                                      f"N1,12345热线,环境卫生,{received},登州街道,,\n", encoding="utf-8")
    load_files(db, "appeals", [tmp_path / "now.csv"])
    result = subprocess.run([sys.executable, "-m", "etl", "stats", "--json", "--week", label, "--db", str(db)],
                            capture_output=True, text=True, check=True)
    running = json.loads(result.stdout)["appeals"]
    assert (running["received"], running["overdue_open"], running["response_rate"]) == (1, 0, None)


def test_the_trend_of_this_year_ends_this_week(tmp_path):
    """近 12 周走势 of 本年 (or 本月) on 5 January ends with that week, not with the last week of
    December in the future."""
    db = tmp_path / "january.duckdb"
    load_files(db, "compounds", [FIXTURES / "compounds.csv"])
    (tmp_path / "a.csv").write_text("工单编号,来源渠道,诉求类别,受理时间,街道\n"
                                    "Y1,12345热线,环境卫生,2025-12-29 09:00,登州街道\n"
                                    "Y2,12345热线,环境卫生,2026-01-02 09:00,登州街道\n", encoding="utf-8")
    load_files(db, "appeals", [tmp_path / "a.csv"])
    now = datetime(2026, 1, 5, 7, 0)
    with read_only(db) as connection:
        for period in ("本年", "本月"):
            trend = appeals.weekly_trend(connection, make_scope(period, now))
            assert trend["week"].to_list()[-1] == "2026-W02", period
            assert trend["received"].to_list()[-2:] == [2, 0], period
        # A closed week still ends with itself.
        assert appeals.weekly_trend(connection, Scope.week("2026-W01"))["week"].to_list()[-1] == "2026-W01"


def test_counts_of_a_column_the_files_never_had_read_dash_in_every_breakdown(tmp_path):
    """一老一小人次 and 三方办 of events and complaints whose files had no such column are None
    (“—”) by type, place and compound, as on the summary cards; groups without any stay 0."""
    db = tmp_path / "absent.duckdb"
    load_files(db, "compounds", [FIXTURES / "compounds.csv"])
    (tmp_path / "s.csv").write_text("活动编号,活动日期,场景名称,场景类型,小区编码,参与人次\n"
                                    "E1,2026-03-02,幸福拼桌,邻里,C4,30\n", encoding="utf-8")
    (tmp_path / "p.csv").write_text("投诉编号,小区编码,问题类别,投诉时间,处置层级\n"
                                    "P1,C4,垃圾清运,2026-03-02 09:00,小区\n", encoding="utf-8")
    load_files(db, "scenes", [tmp_path / "s.csv"])
    load_files(db, "complaints", [tmp_path / "p.csv"])
    with read_only(db) as connection:
        assert scenes.summary(connection, W10)["old_young"] is None
        by_type = {row["scene_type"]: row for row in scenes.by(connection, W10, "scene_type").to_dicts()}
        assert by_type["邻里"]["old_young"] is None and by_type["邻里"]["attendance"] == 30
        assert {row["old_young"] for t, row in by_type.items() if t != "邻里"} == {0}
        assert [row["old_young"] for row in scenes.by_compound(connection, W10).to_dicts()] == [None]
        assert [row["old_young"] for row in scenes.top(connection, W10).to_dicts()] == [None]
        assert compounds.summary(connection, W10, "C4")["old_young"] is None
        assert complaints.three_party_summary(connection, W10)["three_party"] is None
        levels = {row["level"]: row["three_party"] for row in complaints.by(connection, W10, "level").to_dicts()}
        assert levels["小区"] is None and levels["街道"] == 0
        companies = complaints.property_companies(connection, W10)
        with_complaints = companies.filter(companies["complaints"] > 0)
        assert with_complaints["three_party"].to_list() == [None]
        assert set(companies.filter(companies["complaints"] == 0)["three_party"].to_list()) <= {0}
