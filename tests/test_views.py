"""The page metrics (metrics/ by subject) on the hand-made fixture files, against values worked out by hand.

Week 2026-W10 (2026-03-02 .. 03-08, seen as of 03-09 00:00). What the fixture holds after the
loader has rejected its bad rows:

compounds  C1 海景苑 登州/东城社区 老旧小区 200 hh, 10 bldgs, 3 micro-grids, G1, 海天物业, branch, KEY
           C2 宝龙国际 蓬莱阁/钟楼社区 商品房小区 400 hh, 宝龙物业, no branch
           C3 碧桂园 蓬莱阁/钟楼社区 学区房 100 hh, 碧桂园物业, branch, KEY
           C4 晒甲河小区 紫荆山/晒甲河社区 开放式楼院, no households, no company, no coordinates
appeals    A1 C2 recv 03-02 09:00, resp +1 h, resolved 03-03 09:00, feedback 03-04 09:00, closed 03-04 10:00
           A2 C3 recv 03-02 12:00, resp 03-03 12:00, resolved 03-04 12:00, feedback 03-05 12:00
           A3 C1 recv 03-03 08:00, resp 03-04 09:00, resolved 03-06 08:00, feedback 09:00, closed 10:00
           A4 登州 (no compound) recv 03-05 10:00, nothing since
           A5 C4 recv 03-08 20:00, resp 21:00
           A6 C2 recv 03-07 10:00, resp 11:00, resolved 03-08 09:00
           A7 蓬莱阁 (no compound) recv 03-06 10:00, resp 12:00, resolved 03-09 12:00 (after as-of)
           A8 C3 recv 03-01 10:00 (week 09)
           No appeal has a dispatch time.
complaints P1 C1 垃圾清运 03-02 09:00 小区 三方办, resolved 03-04 09:00 (2 d)
           P2 C1 电梯维保 03-03 10:00 社区, resolved 03-09 10:00 (after as-of)
           P3 C1 停车管理 03-04 10:00 小区, resolved 03-05 10:00 (1 d)
           P4 C2 设施维修 03-05 08:00 街道, resolved 03-06 20:00 (1.5 d)
           P5 C4 环境卫生 03-06 12:00 区, open
           P6 C3 收费争议 02-25 10:00 小区 三方办, resolved 02-26 10:00 (week 09)
surveys    S1 C1 物业服务 5 (满意) 03-02; S2 C1 物业服务 3 (基本满意) 03-03; S3 C2 环境卫生 不满意 03-04;
           S4 C2 总体评价 4 (满意) 03-05; S5 C4 网格服务 1 (不满意) 03-08; S6 C3 物业服务 5 on 03-09 (week 11)
scenes     E1 C1 邻里 幸福拼桌 03-02 30/10; E2 C2 教育 老年大学进小区 03-04 50/40; E3 C3 邻里 仙阁家宴 03-07 120/20;
           E4 C1 健康 健康义诊 03-07 25/—; E5 C4 低碳 03-10 (week 11)
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import duckdb
import polars as pl
import pytest

import settings
from etl.db import read_only
from metrics import Scope, appeals, complaints, compounds, feeds, scenes, surveys

W10 = Scope.week("2026-W10")
PLG = Scope.week("2026-W10", street="蓬莱阁街道")
EMPTY = Scope.week("2025-W20")


@pytest.fixture(scope="module")
def con(fixture_db):
    with read_only(fixture_db) as connection:
        yield connection


def rows(frame, *columns):
    return [tuple(row[c] for c in columns) for row in frame.to_dicts()]


def test_communities(con):
    assert rows(compounds.communities(con), "street", "community", "compounds") == [
        ("登州街道", "东城社区", 1), ("紫荆山街道", "晒甲河社区", 1), ("蓬莱阁街道", "钟楼社区", 2)]
    assert rows(compounds.communities(con, "蓬莱阁街道"), "community") == [("钟楼社区",)]


def test_funnel_counts_reached_steps_and_median_hours_per_step(con):
    funnel = appeals.funnel(con, W10)
    assert funnel["label"].to_list() == ["受理", "精准派单", "首接响应", "督导督办", "群众评价", "结案归档"]
    # A4 reached nothing; A7 was resolved only after as-of; A5 only responded.
    assert funnel["reached"].to_list() == [7, 6, 6, 4, 3, 2]
    assert funnel["share"].to_list() == pytest.approx([1, 6 / 7, 6 / 7, 4 / 7, 3 / 7, 2 / 7])
    # No dispatch stamps: no median. Response from received: 1, 24, 25, 1, 1, 2 h → 1.5.
    # Resolution from response: A1 23, A2 24, A3 47, A6 22 → 23.5. Feedback from resolution:
    # A1 24, A2 24, A3 1 → 24. Closing from feedback: A1 1, A3 1 → 1.
    assert funnel["median_hours"].to_list() == [None, None, 1.5, 23.5, 24.0, 1.0]


def test_funnel_of_one_street(con):
    funnel = appeals.funnel(con, PLG)  # A1 A2 A6 A7
    assert funnel["reached"].to_list() == [4, 4, 4, 3, 2, 1]
    assert funnel["median_hours"].to_list() == [None, None, 1.5, 23.0, 24.0, 1.0]


def test_backlog_buckets_by_age_at_as_of(con):
    backlog = appeals.backlog(con, W10)
    # Open at 03-09 00:00: A5 for 4 h, A7 for 62 h, A4 for 86 h.
    assert rows(backlog, "bucket", "open", "overdue") == [
        ("1日内", 1, False), ("1–2日", 0, False), ("2–3日", 1, True), ("3–7日", 1, True), ("7日以上", 0, True)]
    assert appeals.backlog(con, EMPTY)["open"].to_list() == [0, 0, 0, 0, 0]


def test_complaints_by_level_lists_the_four_levels_in_order(con):
    levels = complaints.by(con, W10, "level")
    assert rows(levels, "level", "complaints", "resolved", "three_party") == [
        ("小区", 2, 2, 1), ("社区", 1, 0, 0), ("街道", 1, 1, 0), ("区", 1, 0, 0)]
    assert levels["share"].to_list() == pytest.approx([0.4, 0.2, 0.2, 0.2])
    assert levels["resolution_rate"].to_list() == [1.0, 0.0, 1.0, 0.0]
    assert levels["median_days_to_resolve"].to_list() == [1.5, None, 1.5, None]
    empty = complaints.by(con, EMPTY, "level")
    assert rows(empty, "level", "complaints") == [("小区", 0), ("社区", 0), ("街道", 0), ("区", 0)]
    assert empty["resolution_rate"].to_list() == [None] * 4


def test_complaints_by_category(con):
    by = {r["category"]: r for r in complaints.by(con, W10, "category").to_dicts()}
    assert set(by) == {"垃圾清运", "电梯维保", "停车管理", "设施维修", "环境卫生"}
    assert {k: v["resolution_rate"] for k, v in by.items()} == {
        "垃圾清运": 1.0, "电梯维保": 0.0, "停车管理": 1.0, "设施维修": 1.0, "环境卫生": 0.0}
    assert by["垃圾清运"]["three_party_share"] == 1.0
    assert by["垃圾清运"]["median_days_to_resolve"] == 2.0


def test_three_party_share(con):
    assert complaints.three_party_summary(con, W10) == {"complaints": 5, "three_party": 1, "three_party_share": 0.2,
                                                   "absent_columns": []}
    assert complaints.three_party_summary(con, Scope.week("2026-W09")) == {
        "complaints": 1, "three_party": 1, "three_party_share": 1.0, "absent_columns": []}
    assert complaints.three_party_summary(con, EMPTY)["three_party_share"] is None


def test_property_companies(con):
    got = rows(complaints.property_companies(con, W10), "property_company", "compounds", "households", "complaints",
               "complaints_per_100_households", "resolution_rate", "median_days_to_resolve", "three_party",
               "survey_answers", "survey_satisfaction_rate")
    assert got == [
        ("海天物业", 1, 200, 3, 1.5, pytest.approx(2 / 3), 1.5, 1, 2, 1.0),  # S1 S2 rate 物业服务
        ("宝龙物业", 1, 400, 1, 0.25, 1.0, 1.5, 0, 0, None),
        ("碧桂园物业", 1, 100, 0, 0.0, None, None, 0, 0, None),  # S6 is in week 11
        ("无物业", 1, None, 1, None, 0.0, None, 0, 0, None),  # C4: no household count
    ]


def test_default_targeted_since(con, fixture_db, tmp_path):
    # The fixture records no date and data/metrics.toml sets none (unless someone sets one there):
    # five months before the newest complaint, 2026-03-06.
    assert compounds.default_targeted_since(con) == (compounds.key_targets_since(con) or date(2025, 10, 1))
    recorded = tmp_path / "recorded.duckdb"
    shutil.copyfile(fixture_db, recorded)
    with duckdb.connect(str(recorded)) as rw:
        rw.execute("INSERT OR REPLACE INTO meta VALUES ('key_targets_since', '2026-01-15')")
        assert compounds.default_targeted_since(rw) == date(2026, 1, 15)


def test_key_targets_since_is_read_as_records_since_is(fixture_db, tmp_path, monkeypatch):
    recorded = tmp_path / "recorded.duckdb"
    shutil.copyfile(fixture_db, recorded)
    with duckdb.connect(str(recorded)) as rw:
        rw.execute("DELETE FROM meta WHERE key = 'key_targets_since'")
        monkeypatch.setattr(settings, "metric_settings", lambda: {"key_targets_since": datetime(2026, 1, 15, 0, 0)})
        assert compounds.key_targets_since(rw) == date(2026, 1, 15)  # a TOML datetime
        rw.execute("INSERT INTO meta VALUES ('key_targets_since', NULL)")  # as unset: the setting
        assert compounds.key_targets_since(rw) == date(2026, 1, 15)
        monkeypatch.setattr(settings, "metric_settings", lambda: {"key_targets_since": "2026/01/15"})
        with pytest.raises(settings.SettingError, match="data/metrics.toml 的 key_targets_since '2026/01/15' 无法识别"):
            compounds.key_targets_since(rw)
        rw.execute("UPDATE meta SET value = '2026-1-5' WHERE key = 'key_targets_since'")
        with pytest.raises(settings.SettingError, match="数据库中记录的 key_targets_since '2026-1-5' 无法识别"):
            compounds.key_targets_since(rw)


def test_where_each_feeds_records_begin(con, fixture_db, tmp_path):
    # First records: complaint P6 on 02-25, appeal A8 on 03-01, the first answers and events on
    # 03-02; the fixture records that the appeal and complaint extracts cover from 02-23.
    first = feeds.first_days(con)
    assert first == {"appeals": date(2026, 2, 23), "complaints": date(2026, 2, 23),
                     "surveys": date(2026, 3, 2), "scenes": date(2026, 3, 2)}
    w09 = W10.previous()
    assert [feeds.covers(first, kind, w09) for kind in first] == [True, True, False, False]
    assert feeds.uncovered_note(first, ("appeals",), w09) is None
    assert feeds.uncovered_note(first, ("appeals", "surveys", "scenes"), w09) == (
        "上一期（2026-02-23 至 2026-03-01）开始时满意度测评、服务场景活动尚无记录（满意度测评自 2026-03-02 起有记录，"
        "服务场景活动自 2026-03-02 起有记录），不显示与上一期的变化")
    assert feeds.covers(first, "surveys", W10) and feeds.covers(first, "surveys", Scope(None, None))
    # Without a said day, a feed begins on its first record's day; a said day wins, later too.
    recorded = tmp_path / "recorded.duckdb"
    shutil.copyfile(fixture_db, recorded)
    with duckdb.connect(str(recorded)) as rw:
        rw.execute("""INSERT OR REPLACE INTO meta VALUES ('records_since', '{"scenes": "2026-03-05"}')""")
        assert feeds.first_days(rw) == {"appeals": date(2026, 3, 1), "complaints": date(2026, 2, 25),
                                        "surveys": date(2026, 3, 2), "scenes": date(2026, 3, 5)}
        assert not feeds.covers(feeds.first_days(rw), "appeals", w09)
        # One straggler stamped years before the extracts: unset, it makes last year look covered
        # (本年 would read as growth against it); the said day keeps the start where the data is.
        rw.execute("""INSERT INTO appeals SELECT * REPLACE ('A-STRAY' AS appeal_id,
                      received_at - INTERVAL 6 YEAR AS received_at) FROM appeals WHERE appeal_id = 'A8'""")
        year = Scope(date(2026, 1, 1), date(2027, 1, 1), datetime(2026, 3, 4, 12, 0))
        assert feeds.first_days(rw)["appeals"] == date(2020, 3, 1)
        assert feeds.covers(feeds.first_days(rw), "appeals", year.previous())
        rw.execute("""INSERT OR REPLACE INTO meta VALUES ('records_since', '{"appeals": "2026-02-23"}')""")
        assert feeds.first_days(rw)["appeals"] == date(2026, 2, 23)
        assert not feeds.covers(feeds.first_days(rw), "appeals", year.previous())
        rw.execute("INSERT OR REPLACE INTO meta VALUES ('records_since', NULL)")  # as unset
        assert feeds.first_days(rw)["appeals"] == date(2020, 3, 1)
        rw.execute("INSERT OR REPLACE INTO meta VALUES ('records_since', '{bad')")
        with pytest.raises(settings.SettingError, match="数据库中记录的 records_since 不是有效的 JSON"):
            feeds.first_days(rw)


def test_key_target_progress_before_and_after(con):
    # After: 03-02 .. 03-08 (7 days, as of 03-09); before: 02-23 .. 03-01 (as of 03-02).
    got = {r["compound_id"]: r for r in compounds.key_target_progress(con, W10, date(2026, 3, 2)).to_dicts()}
    assert set(got) == {"C1", "C3"}
    c1, c3 = got["C1"], got["C3"]
    assert (c1["complaints"], c1["complaints_per_100_households"], c1["median_days_to_resolve"]) == (3, 1.5, 1.5)
    assert c1["resolution_rate"] == pytest.approx(2 / 3)
    assert (c1["survey_answers"], c1["survey_satisfaction_rate"]) == (2, 1.0)
    assert (c1["complaints_before"], c1["complaints_after"]) == (0, 3)
    assert c1["complaints_per_month_before"] == 0.0
    assert c1["complaints_per_month_after"] == pytest.approx(90 / 7)
    assert (c1["resolution_rate_before"], c1["survey_satisfaction_before"]) == (None, None)
    assert c1["resolution_rate_after"] == pytest.approx(2 / 3)
    assert c1["survey_satisfaction_after"] == 1.0
    assert c1["trend"] == "恶化"
    assert (c3["complaints"], c3["resolution_rate"], c3["survey_answers"]) == (0, None, 0)
    assert (c3["complaints_before"], c3["complaints_after"]) == (1, 0)  # P6 on 02-25
    assert c3["complaints_per_month_before"] == pytest.approx(30 / 7)
    assert c3["resolution_rate_before"] == 1.0  # resolved 02-26, before 03-02
    assert c3["trend"] == "好转"


def test_key_target_progress_before_the_data_began_is_absent(con):
    # Targeted 02-25, seen over W10: after 02-25 .. 03-08 (12 days), before 02-13 .. 02-24, which
    # began before the complaints' records (02-23): nothing loaded, so no figures and no trend,
    # not 恶化 against an empty window.
    got = {r["compound_id"]: r for r in compounds.key_target_progress(con, W10, date(2026, 2, 25)).to_dicts()}
    before, after = compounds.progress_windows(W10, date(2026, 2, 25))
    assert (before.start, before.end, after.start, after.end) == (
        date(2026, 2, 13), date(2026, 2, 25), date(2026, 2, 25), date(2026, 3, 9))
    for row in got.values():
        assert [row[f"{column}_before"] for column in ("complaints", "complaints_per_month", "resolution_rate",
                                                      "survey_satisfaction")] == [None] * 4
        assert row["trend"] is None
    assert (got["C1"]["complaints_after"], got["C3"]["complaints_after"]) == (3, 1)
    assert feeds.uncovered_note(feeds.first_days(con), ("complaints", "surveys"), before, "整治前时段", "…") == (
        "整治前时段（2026-02-13 至 2026-02-24）开始时物业投诉、满意度测评尚无记录（物业投诉自 2026-02-23 起有记录，"
        "满意度测评自 2026-03-02 起有记录），…")


def test_key_targets_worsening_against_the_previous_week(con):
    worsening = compounds.key_targets_worsening(compounds.complaints_by_compound(con, W10),
                                                compounds.complaints_by_compound(con, W10.previous()))
    assert rows(worsening, "name", "complaints", "previous_complaints", "change") == [
        ("海景苑", 3, 0, 3)]


def test_key_target_monthly(con):
    monthly = compounds.key_target_monthly(con, W10)
    assert monthly.height == 24
    assert monthly["month"].min() == date(2025, 4, 1)
    by = {(r["month"], r["group"]): r for r in monthly.to_dicts()}
    # Key targets: C1 + C3 = 300 households; others with a count: C2 = 400 (C4 has none).
    march_key, march_other = by[(date(2026, 3, 1), "重点整治小区")], by[(date(2026, 3, 1), "其他小区")]
    assert (march_key["complaints"], march_key["complaints_per_100_households"]) == (3, 1.0)
    assert (march_other["complaints"], march_other["complaints_per_100_households"]) == (1, 0.25)
    assert by[(date(2026, 2, 1), "重点整治小区")]["complaints_per_100_households"] == pytest.approx(100 / 300)
    assert by[(date(2025, 12, 1), "其他小区")]["complaints"] == 0


def test_a_records_since_setting_that_cannot_be_read_is_named(con, fixture_db, tmp_path, monkeypatch, stop_clock):
    recorded = tmp_path / "set.duckdb"
    shutil.copyfile(fixture_db, recorded)
    with duckdb.connect(str(recorded)) as rw:
        rw.execute("DELETE FROM meta WHERE key = 'records_since'")
        for setting, words in (({"appeals": "2025-13-01"}, "appeals 的日期 '2025-13-01' 无法识别"),
                               ({"appeal": "2025-12-01"}, "'appeal' 不是数据类型"),
                               ("2025-12-01", "应写成")):
            monkeypatch.setattr(settings, "metric_settings", lambda setting=setting: {"records_since": setting})
            with pytest.raises(settings.SettingError, match="data/metrics.toml 的 records_since") as raised:
                feeds.first_days(rw)
            assert words in str(raised.value)
        # TOML's own dates are taken as they are, a datetime with an offset on Beijing's clock
        monkeypatch.setattr(settings, "metric_settings", lambda: {"records_since": {"scenes": date(2026, 2, 2)}})
        assert feeds.first_days(rw)["scenes"] == date(2026, 2, 2)
        utc_evening = datetime(2026, 2, 1, 17, 0, tzinfo=ZoneInfo("UTC"))  # 02-02 01:00 in Beijing
        monkeypatch.setattr(settings, "metric_settings", lambda: {"records_since": {"scenes": utc_evening}})
        assert feeds.first_days(rw)["scenes"] == date(2026, 2, 2)
        # Python's fromisoformat would also read these (2026W401 as 2026-09-28): only YYYY-MM-DD
        for loose in ("20261001", "2026W401", 20261001, "2026/10/01"):
            monkeypatch.setattr(settings, "metric_settings", lambda loose=loose: {"records_since": {"scenes": loose}})
            with pytest.raises(settings.SettingError, match="应写作 YYYY-MM-DD"):
                feeds.first_days(rw)
        # Records cannot begin after today (Beijing's): a typo of the year, not a setting
        stop_clock(datetime(2026, 3, 9, 15, 30, tzinfo=ZoneInfo("UTC")))  # 03-09 23:30 in Beijing
        monkeypatch.setattr(settings, "metric_settings", lambda: {"records_since": {"appeals": "2026-03-10"}})
        with pytest.raises(settings.SettingError, match="2026-03-10 晚于今天"):
            feeds.first_days(rw)
        monkeypatch.setattr(settings, "metric_settings", lambda: {"records_since": {"appeals": "2026-03-09"}})
        assert feeds.first_days(rw)["appeals"] == date(2026, 3, 9)
        # Per feed: the database's own row replaces the setting only for the feeds it names
        monkeypatch.setattr(settings, "metric_settings", lambda: {"records_since": {"scenes": "2026-02-02"}})
        rw.execute("""INSERT INTO meta VALUES ('records_since', '{"appeals": "2026-02-20"}')""")
        assert feeds.first_days(rw) == {"appeals": date(2026, 2, 20), "complaints": date(2026, 2, 25),
                                        "surveys": date(2026, 3, 2), "scenes": date(2026, 2, 2)}


def test_a_feed_with_no_records_covers_nothing(con, fixture_db, tmp_path, monkeypatch):
    # Nothing loaded is not nothing happened: 0 against 0 is no change to show, even where a said
    # day would cover the period
    emptied = tmp_path / "no-complaints.duckdb"
    shutil.copyfile(fixture_db, emptied)
    with duckdb.connect(str(emptied)) as rw:
        rw.execute("DELETE FROM complaints")
        first = feeds.first_days(rw)
        assert first["complaints"] is None and first["appeals"] == date(2026, 2, 23)
        assert not feeds.covers(first, "complaints", W10.previous())
        assert feeds.covers(first, "complaints", Scope(None, None))
        assert feeds.uncovered_note(first, ("appeals", "complaints"), W10.previous()) == (
            "上一期（2026-02-23 至 2026-03-01）开始时物业投诉尚无记录（物业投诉尚未导入），不显示与上一期的变化")
        progress = compounds.key_target_progress(rw, W10, date(2026, 3, 2))
        assert progress.height == 2
        for when in ("before", "after"):
            assert progress[f"complaints_{when}"].to_list() == [None, None]
            assert progress[f"complaints_per_month_{when}"].to_list() == [None, None]
        assert progress["trend"].to_list() == [None, None]
        assert progress["survey_satisfaction_after"].to_list() == [1.0, None]  # surveys are loaded
        assert compounds.progress_notes(W10, date(2026, 3, 2), first) == [
            "物业投诉尚未导入，整治前后的相应数字显示为“—”。",
            "整治前时段（2026-02-23 至 2026-03-01）开始时满意度测评尚无记录（满意度测评自 2026-03-02 起有记录），"
            "整治前的相应数字显示为“—”。"]


def test_key_target_progress_counts_the_running_day_as_far_as_it_has_gone(con):
    # Targeted 03-02, seen on 03-03 at 06:00 (本周): "after" is 03-02 .. 03-03 and has run 1.25
    # days, holding C1's P1 (P2 comes at 10:00); "before" is 02-28 .. 03-01, two whole days, empty.
    # Over whole days C1 would read 15 a month, 好转 against a steady rate.
    seen = Scope(date(2026, 3, 2), date(2026, 3, 9), datetime(2026, 3, 3, 6, 0))
    c1 = {r["compound_id"]: r for r in compounds.key_target_progress(con, seen, date(2026, 3, 2)).to_dicts()}["C1"]
    assert (c1["complaints_before"], c1["complaints_after"]) == (0, 1)
    assert (c1["complaints_per_month_before"], c1["complaints_per_month_after"]) == (0.0, 24.0)


def test_trends_of_a_running_year_end_today_and_mark_the_running_period(con):
    # 本年 seen on Wednesday 03-04 at noon: the trends end this week and this month, not on 31
    # December, and say that week and month are still running.
    year = Scope(date(2026, 1, 1), date(2027, 1, 1), datetime(2026, 3, 4, 12, 0))
    assert year.seen_end() == date(2026, 3, 5)
    for trend in (surveys.trend(con, year), appeals.weekly_trend(con, year)):
        assert trend["week"].to_list()[-2:] == ["2026-W09", "2026-W10"]
        assert trend.select("through", "complete").rows()[-2:] == [(date(2026, 3, 1), True), (date(2026, 3, 4), False)]
    monthly = compounds.key_target_monthly(con, year)
    assert monthly["month"].max() == date(2026, 3, 1)
    assert set(monthly.filter(pl.col("month") == date(2026, 3, 1)).select("through", "complete").rows()) == {
        (date(2026, 3, 4), False)}
    assert monthly.filter(pl.col("month") == date(2026, 2, 1))["complete"].to_list() == [True, True]
    assert appeals.weekly_trend(con, W10)["complete"].to_list() == [True] * 12  # a past week, seen from its end
    # A week seen on its Sunday at 10:00 has begun its last day, not ended it; at Monday 00:00 it has.
    sunday = replace(W10, as_of=datetime(2026, 3, 8, 10, 0))
    for trend in (surveys.trend(con, sunday), appeals.weekly_trend(con, sunday)):
        assert trend.select("week", "through", "complete").rows()[-1] == ("2026-W10", date(2026, 3, 8), False)
    # Dated records (answers, events) count once their day has begun, in the cards as in the
    # trends: at 03-02 00:00 not yet, a minute later yes.
    for minute, counted in ((0, 0), (1, 1)):
        seen = Scope(date(2026, 3, 2), date(2026, 3, 9), datetime(2026, 3, 2, 0, minute))
        assert (surveys.summary(con, seen)["answers"], scenes.summary(con, seen)["events"]) == (counted, counted)
        assert surveys.trend(con, seen)["answers"].to_list()[-1] == counted
    february = Scope(date(2026, 2, 1), date(2026, 3, 1), datetime(2026, 2, 28, 23, 59))
    assert compounds.key_target_monthly(con, february).select("month", "complete").rows()[-1] == (
        date(2026, 2, 1), False)
    assert compounds.key_target_monthly(con, replace(february, as_of=datetime(2026, 3, 1))).select(
        "month", "complete").rows()[-1] == (date(2026, 2, 1), True)
    # 整治成效's "after" ends today too: complaints per month over the days seen, not over the
    # days to 31 December (which made every key target look better)
    assert compounds.key_target_progress(con, year, date(2026, 3, 2)).equals(
        compounds.key_target_progress(con, replace(year, end=date(2026, 3, 5)), date(2026, 3, 2)))


def test_surveys_by_topic_street_type_and_compound(con):
    assert rows(surveys.by(con, W10, "topic"), "topic", "answers", "satisfaction_rate", "average_score") == [
        ("物业服务", 2, 1.0, 4.0), ("总体评价", 1, 1.0, 4.0), ("环境卫生", 1, 0.0, None), ("网格服务", 1, 0.0, 1.0)]
    assert rows(surveys.by(con, W10, "street"), "street", "answers", "satisfaction_rate", "average_score") == [
        ("登州街道", 2, 1.0, 4.0), ("蓬莱阁街道", 2, 0.5, 4.0), ("紫荆山街道", 1, 0.0, 1.0)]
    assert rows(surveys.by(con, W10, "compound_type"), "compound_type", "answers", "satisfaction_rate") == [
        ("商品房小区", 2, 0.5), ("老旧小区", 2, 1.0), ("开放式楼院", 1, 0.0)]
    assert rows(surveys.by(con, W10, "compound_id"), "compound_id", "name", "street", "answers") == [
        ("C1", "海景苑", "登州街道", 2), ("C2", "宝龙国际", "蓬莱阁街道", 2), ("C4", "晒甲河小区", "紫荆山街道", 1)]


def test_survey_trend_lists_every_week(con):
    trend = surveys.trend(con, W10)
    assert trend["week"].to_list()[0] == "2025-W51" and trend["week"].to_list()[-1] == "2026-W10"
    assert rows(trend.tail(2), "week", "answers", "satisfaction_rate", "average_score") == [
        ("2026-W09", 0, None, None), ("2026-W10", 5, 0.6, 3.25)]


def test_lowest_rated_compounds(con):
    # 海景苑's two answers are both satisfied: not among the lowest
    assert rows(surveys.lowest_rated(con, W10, min_answers=1), "name", "satisfaction_rate") == [
        ("晒甲河小区", 0.0), ("宝龙国际", 0.5)]
    assert rows(surveys.lowest_rated(con, W10, min_answers=2), "name") == [("宝龙国际",)]
    assert surveys.lowest_rated(con, W10).is_empty()  # nobody has 3 answers


def test_scenes_by_compound_top_scenes_and_mix(con):
    assert rows(scenes.by_compound(con, W10), "name", "events", "attendance", "old_young") == [
        ("碧桂园", 1, 120, 20), ("海景苑", 2, 55, 10), ("宝龙国际", 1, 50, 40)]
    assert rows(scenes.top(con, W10, 3), "scene_name", "scene_type", "attendance") == [
        ("仙阁家宴", "邻里", 120), ("老年大学进小区", "教育", 50), ("幸福拼桌", "邻里", 30)]
    assert rows(scenes.mix(con, W10, "street"), "street", "scene_type", "events", "attendance", "old_young") == [
        ("登州街道", "健康", 1, 25, 0), ("登州街道", "邻里", 1, 30, 10),
        ("蓬莱阁街道", "教育", 1, 50, 40), ("蓬莱阁街道", "邻里", 1, 120, 20)]


def test_scene_coverage_and_compounds_without_events(con):
    assert rows(scenes.coverage_by(con, W10, "street"), "street", "compounds", "covered", "coverage") == [
        ("登州街道", 1, 1, 1.0), ("紫荆山街道", 1, 0, 0.0), ("蓬莱阁街道", 2, 2, 1.0)]
    by_type = scenes.coverage_by(con, W10, "compound_type")
    assert rows(by_type, "compound_type", "compounds", "coverage") == [
        ("老旧小区", 1, 1.0), ("学区房", 1, 1.0), ("商品房小区", 1, 1.0), ("回迁安置小区", 0, None),
        ("单位家属院", 0, None), ("开放式楼院", 1, 0.0)]
    assert rows(scenes.compounds_without_events(con, W10), "compound_id", "name") == [("C4", "晒甲河小区")]
    assert rows(scenes.compounds_without_events(con, PLG), "compound_id") == []


def test_compounds_by_street_and_totals(con):
    assert rows(compounds.by_street(con, W10), "street", "compound_type", "compounds", "households") == [
        ("登州街道", "老旧小区", 1, 200), ("紫荆山街道", "开放式楼院", 1, 0),
        ("蓬莱阁街道", "学区房", 1, 100), ("蓬莱阁街道", "商品房小区", 1, 400)]
    assert compounds.totals(con, W10) == {
        "compounds": 4, "households": 700, "key_targets": 2, "with_property_company": 3, "with_party_branch": 2,
        "without_coordinates": 1, "without_households": 1, "property_company_share": 0.75}


def test_compound_list_with_the_period_numbers(con):
    got = rows(compounds.listing(con, W10), "compound_id", "appeals", "complaints", "complaints_per_100_households",
               "survey_answers", "survey_satisfaction_rate", "events", "attendance")
    assert got == [
        ("C1", 1, 3, 1.5, 2, 1.0, 2, 55),     # A3; P1-P3; S1 S2; E1 E4
        ("C4", 1, 1, None, 1, 0.0, 0, 0),     # A5; P5; S5 (no household count)
        ("C2", 2, 1, 0.25, 2, 0.5, 1, 50),    # A1 A6; P4; S3 S4; E2
        ("C3", 1, 0, 0.0, 0, None, 1, 120),   # A2 (A8 is week 09); E3
    ]
    assert rows(compounds.listing(con, W10, "海景"), "compound_id") == [("C1",)]
    assert rows(compounds.listing(con, W10, " c3 "), "compound_id") == [("C3",)]
    assert rows(compounds.listing(con, PLG), "compound_id") == [("C2",), ("C3",)]
    assert compounds.listing(con, W10, "不存在").is_empty()


def test_compound_profile_summary_and_history(con):
    facts = compounds.profile(con, "C1")
    assert (facts["name"], facts["households"], facts["buildings"], facts["micro_grids"], facts["grid_id"],
            facts["party_branch"], facts["property_company"], facts["is_key_target"]) == (
        "海景苑", 200, 10, 3, "G1", "海景苑小区党支部", "海天物业", True)
    assert compounds.profile(con, "C9") is None
    assert compounds.summary(con, W10, "C1") == {
        "appeals": 1, "appeal_resolution_rate": 1.0, "appeal_satisfaction_rate": 0.0, "overdue_open": 0,
        "complaints": 3, "complaint_resolution_rate": pytest.approx(2 / 3), "survey_answers": 2,
        "survey_satisfaction_rate": 1.0, "average_score": 4.0, "events": 2, "attendance": 55, "old_young": 10}
    c4 = compounds.summary(con, W10, "C4")
    assert (c4["appeals"], c4["appeal_resolution_rate"], c4["appeal_satisfaction_rate"], c4["overdue_open"]) == (
        1, 0.0, None, 0)
    history = compounds.history(con, W10, "C3")
    assert history.height == 12
    assert rows(history.tail(2), "month", "appeals", "complaints", "survey_answers", "events", "attendance") == [
        (date(2026, 2, 1), 0, 1, 0, 0, 0),   # P6
        (date(2026, 3, 1), 2, 0, 0, 1, 120),  # A8 (03-01) and A2; E3; S6 falls after the period
    ]
    # W10 ends on 03-08: March is seen through that day only
    assert history.select("through", "complete").rows()[-2:] == [(date(2026, 2, 28), True), (date(2026, 3, 8), False)]


def test_an_empty_period(con):
    assert compounds.listing(con, EMPTY)["appeals"].to_list() == [0, 0, 0, 0]
    assert surveys.by(con, EMPTY, "topic").is_empty()
    assert surveys.trend(con, EMPTY)["answers"].sum() == 0
    assert appeals.funnel(con, EMPTY)["reached"].to_list() == [0] * 6
    assert compounds.key_targets_worsening(compounds.complaints_by_compound(con, EMPTY),
                                           compounds.complaints_by_compound(con, EMPTY.previous())).is_empty()
