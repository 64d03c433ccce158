"""Every page through Streamlit's AppTest on the fixture database, week 2026-W10 chosen as a
custom period in the URL (?period=自定义&from=2026-03-02&to=2026-03-08), as the dashboard shows it
as of Monday 03-09 00:00. Every test signs in first, through the sign-in form, as a district
leader (all streets); what other roles see is pinned in tests/test_auth_pages.py.

The expected values are the strings a reader sees, worked out by hand from the fixture files (see
the table at the top of tests/test_views.py): nothing here calls the metrics module. The previous
period of W10 is W09 (02-23 .. 03-01, as of 03-02 00:00), which holds only appeal A8 (蓬莱阁, C3:
answered in 1 h, resolved in 5 h, rated 满意, fed back only on 03-02 09:00), complaint P6 (C3,
小区 level, 三方办, resolved in 1 day) and no survey answer or event.
"""

from __future__ import annotations

import json
import shutil
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

import settings
from access.accounts import add_user
from dashboard import data, layout, state
from dashboard.layout import csv_bytes, display_frame
from etl.load import load_files
from metrics import alerts
from metrics.scope import Scope
from metrics.catalogue import Text, metric
from report import scope_for
from tests.e2e.test_browser import last_week

APP = str(Path(__file__).resolve().parent.parent / "app.py")
FIXTURES = Path(__file__).parent / "fixtures"
W10 = {"period": "自定义", "from": "2026-03-02", "to": "2026-03-08"}


# The pages are read as a district leader would (all streets); tests/test_auth_pages.py covers the others.
READER, READER_PASSWORD = "quzhang", "district reader password"


@pytest.fixture(scope="session")
def accounts_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("accounts") / "accounts.toml"
    add_user(READER, "district", READER_PASSWORD, path=path)
    return path


@pytest.fixture(autouse=True)
def database(fixture_db, accounts_file, monkeypatch):
    monkeypatch.setenv("DASHBOARD_DB", str(fixture_db))
    monkeypatch.setenv("DASHBOARD_ACCOUNTS", str(accounts_file))
    return fixture_db


def sign_in(at: AppTest, name: str = READER, password: str = READER_PASSWORD) -> AppTest:
    """Fill in the sign-in form the app shows first, as a reader would, and submit it."""
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(password)
    return at.button(key="sign_in_submit").click().run()


def open_page(page: str = "overview", query: dict | None = None, page_query: dict | None = None) -> AppTest:
    """Sign in with the shared filters in the URL, then go to `page` (whose own parameters, such
    as ?compound=, are given with the page's URL)."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(W10 if query is None else query)
    sign_in(at.run())
    if page != "overview":
        at.switch_page(f"pages/{page}.py")
        at.query_params.update(page_query or {})
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def cards(at: AppTest) -> dict[str, tuple[str, str]]:
    return {m.label: (m.value, m.delta) for m in at.metric}


def table(at: AppTest, *headers: str) -> list[tuple]:
    """The rows, as shown, of the one table whose first columns are `headers`."""
    found = [d.value for d in at.dataframe if tuple(d.value.columns[:len(headers)]) == headers]
    assert len(found) == 1, f"{len(found)} tables start with {headers}"
    return [tuple(row) for row in found[0].itertuples(index=False)]


def texts(elements) -> list[str]:
    return [e.value for e in elements]


# ---------------------------------------------------------------- the shared filters

def test_period_ranges():
    wednesday = date(2026, 3, 11)
    assert state.period_range("本周", wednesday) == (date(2026, 3, 9), date(2026, 3, 16))
    assert state.period_range("上周", wednesday) == (date(2026, 3, 2), date(2026, 3, 9))
    assert state.period_range("本月", wednesday) == (date(2026, 3, 1), date(2026, 4, 1))
    assert state.period_range("本月", date(2026, 12, 31)) == (date(2026, 12, 1), date(2027, 1, 1))
    assert state.period_range("本年", wednesday) == (date(2026, 1, 1), date(2027, 1, 1))
    assert state.period_range("自定义", wednesday, date(2026, 3, 2), date(2026, 3, 8)) == (
        date(2026, 3, 2), date(2026, 3, 9))
    assert state.period_range("自定义", wednesday, date(2026, 3, 8), date(2026, 3, 2)) == (
        date(2026, 3, 2), date(2026, 3, 9))


def test_a_past_period_is_seen_from_its_end_the_running_one_from_now():
    now = datetime(2026, 3, 11, 15, 30)
    last_week = state.make_scope("上周", now)
    assert (last_week.start, last_week.end, last_week.moment) == (date(2026, 3, 2), date(2026, 3, 9),
                                                                  datetime(2026, 3, 9))
    assert state.make_scope("本周", now, street="登州街道").moment == now
    assert state.make_scope("本周", now).previous().moment == datetime(2026, 3, 4, 15, 30)


def test_a_reader_locked_to_one_street_compares_nothing_else():
    scope = state.make_scope("上周", datetime(2026, 3, 11, 15, 30), street="登州街道")
    assert state.Filters(scope, "上周", "登州街道", None).district_scope().street is None
    assert state.Filters(scope, "上周", "登州街道", None, locked=True).district_scope().street == "登州街道"


def test_the_filters_come_from_the_url():
    at = open_page()
    assert at.sidebar.button_group(key="period").value == "自定义"
    assert (at.sidebar.date_input(key="from").value, at.sidebar.date_input(key="to").value) == (
        date(2026, 3, 2), date(2026, 3, 8))
    assert at.caption[0].value == "自定义 2026-03-02 至 2026-03-08 · 全部街道 · 统计时点 2026-03-09 00:00"


def test_on_sunday_night_utc_last_week_is_beijings_everywhere(stop_clock):
    # Sunday 23:00 UTC: a server on UTC (or anywhere west of it) still reads Sunday, Beijing reads
    # Monday 07:00, and 上周 is the week that ended a few hours ago (issue 13's Sunday trap).
    stop_clock(datetime(2026, 3, 8, 23, 0, tzinfo=UTC))
    assert settings.local_now() == datetime(2026, 3, 9, 7, 0)
    assert last_week() == "2026-W10"  # the week the browser test asks the CLI for
    scope = scope_for(None, None)  # the weekly report's default week
    assert (scope.start, scope.end) == (date(2026, 3, 2), date(2026, 3, 9))
    at = open_page(query={})  # no period in the URL: 上周
    assert at.caption[0].value == "上周 2026-03-02 至 2026-03-08 · 全部街道 · 统计时点 2026-03-09 00:00"
    assert cards(at) == cards(open_page())  # the numbers of W10 chosen by hand


def test_an_unknown_street_in_the_url_is_ignored():
    at = open_page(query={**W10, "street": "火星街道"})
    assert at.sidebar.selectbox(key="street").value == "全部街道"
    assert cards(at)["受理量"] == ("7", "+6")


def test_filters_are_kept_across_pages():
    at = open_page()
    at.sidebar.selectbox(key="street").set_value("蓬莱阁街道").run()
    assert cards(at)["受理量"] == ("4", "+3")
    at.switch_page("pages/appeals.py").run()
    assert at.sidebar.selectbox(key="street").value == "蓬莱阁街道"
    assert cards(at)["受理量"] == ("4", "+3")
    assert "蓬莱阁街道" in at.caption[0].value


def test_community_filter():
    # 钟楼社区 of 蓬莱阁: A1 A2 A6 (A7 names no community).
    at = open_page(query={**W10, "street": "蓬莱阁街道", "community": "钟楼社区"})
    got = cards(at)
    assert (got["受理量"][0], got["办结率"][0], got["超期未办结"][0]) == ("3", "100.0%", "0")
    assert at.sidebar.selectbox(key="community").options == ["全部社区", "钟楼社区"]


def test_a_reversed_custom_period_is_explained():
    at = open_page(query={"period": "自定义", "from": "2026-03-08", "to": "2026-03-02"})
    assert "截止日期早于起始日期" in texts(at.sidebar.warning)[0]
    assert cards(at)["受理量"][0] == "7"


# ---------------------------------------------------------------- 总览

def test_overview_cards_with_change_against_the_previous_week():
    at = open_page()
    assert cards(at) == {
        "受理量": ("7", "+6"),
        "响应率": ("71.4%", "-28.6 个百分点"),
        "办结率": ("57.1%", "-42.9 个百分点"),
        "按时办结率": ("50.0%", "-50.0 个百分点"),
        "3日反馈率": ("50.0%", ""),  # W09 had no feedback due yet: no change to show
        "满意率": ("66.7%", "-33.3 个百分点"),
        "综合得分": ("61.0", "-39.0 分"),
        "超期未办结": ("2", "+2"),
    }


def test_overview_of_the_first_week_of_data_shows_no_change():
    # W09's previous week (02-16 .. 02-22) is before the appeal and complaint extracts begin
    # (02-23): against it every count would read as growth.
    at = open_page(query={"period": "自定义", "from": "2026-02-23", "to": "2026-03-01"})
    assert cards(at)["受理量"] == ("1", "")
    assert all(delta == "" for _, delta in cards(at).values())
    note = ("上一期（2026-02-16 至 2026-02-22）开始时诉求工单尚无记录（诉求工单自 2026-02-23 起有记录），"
            "不显示与上一期的变化。")
    assert note in texts(at.caption)
    assert not any(t.startswith("变化为与上一期") for t in texts(at.caption))
    # the worsening key targets are not listed against an empty week either (海景苑's P6 would be)
    assert any("物业投诉尚无记录" in t for t in texts(at.info))
    assert not any(d.value.columns[:3].tolist() == ["小区", "本期投诉", "上期投诉"] for d in at.dataframe)


def test_overview_ranking_and_attention_list():
    at = open_page()
    assert table(at, "名次", "街道") == [
        ("1", "蓬莱阁街道", "85.5", "75.0%", "100.0%", "2", "4"),  # rated: A1 满意, A2 基本满意
        ("2", "登州街道", "25.0", "50.0%", "0.0%", "1", "2"),  # A3 不满意: one rating makes 0 %
        ("—", "紫荆山街道", "—", "0.0%", "—", "0", "1"),  # A5: nothing rated, nothing due
    ]
    assert ("紫荆山街道所选时段内缺少可计算的响应率、办结率或满意率(如尚无群众评价)，综合得分为“—”，不参与排名。"
            in texts(at.caption))
    assert table(at, "街道", "超期件数") == [("登州街道", "1"), ("蓬莱阁街道", "1")]
    assert table(at, "小区", "街道", "每百户投诉量") == [("宝龙国际", "蓬莱阁街道", "0.25")]
    assert "共 1 个：本期每百户投诉量居前 15 的小区中尚未列入重点整治的。" in texts(at.caption)
    assert table(at, "小区", "本期投诉", "上期投诉") == [("海景苑", "3", "0")]
    assert len(at.get("plotly_chart")) == 2


def test_overview_of_one_street_and_back_to_all():
    at = open_page(query={**W10, "street": "蓬莱阁街道"})
    assert cards(at) == {
        "受理量": ("4", "+3"), "响应率": ("100.0%", "+0.0 个百分点"), "办结率": ("75.0%", "-25.0 个百分点"),
        "按时办结率": ("75.0%", "-25.0 个百分点"), "3日反馈率": ("100.0%", ""), "满意率": ("100.0%", "+0.0 个百分点"),
        "综合得分": ("85.5", "-14.5 分"), "超期未办结": ("1", "+1"),
    }
    assert len(table(at, "名次", "街道")) == 3  # the ranking still compares all streets
    assert table(at, "社区", "超期件数") == [("—", "1")]  # one street in view: by community (A7 has none)
    assert "重点整治小区的投诉均未比上一期增加。" in texts(at.info)  # 碧桂园: 0 against 1
    at.button[0].click().run()
    assert at.sidebar.selectbox(key="street").value == "全部街道"
    assert cards(at)["受理量"] == ("7", "+6")


def test_an_empty_period_says_so():
    at = open_page(query={"period": "自定义", "from": "2025-05-04", "to": "2025-05-10"})
    got = cards(at)
    assert got["受理量"] == ("0", "") and got["响应率"] == ("—", "")  # a year before the data: no change
    assert "近 12 周所选范围内没有诉求工单。" in texts(at.info)
    assert "所选时段内没有诉求工单，暂无街道排名。" in texts(at.info)
    assert not at.get("plotly_chart")
    for page in ("appeals", "satisfaction", "scenes"):
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception
        assert any("所选范围内没有" in t for t in texts(at.info)), page


# ---------------------------------------------------------------- 诉求办理

def test_appeals_page():
    at = open_page("appeals")
    got = cards(at)
    assert got["满意度得分"] == ("63.3", "-36.7 分")
    assert got["办结时长中位数"] == ("36.0 小时", "+31.0 小时")
    assert got["超期未办结"] == ("2", "+2")
    assert "绿色：不低于 90%；橙色：75% 至 90%；红色：低于 75%。" in texts(at.caption)  # the 123 bars' colours
    assert table(at, "街道", "受理量") == [
        ("蓬莱阁街道", "4", "100.0%", "75.0%", "75.0%", "100.0%", "100.0%", "2", "85.5", "1", "24.0"),
        ("登州街道", "2", "0.0%", "50.0%", "0.0%", "0.0%", "0.0%", "1", "25.0", "1", "72.0"),
        ("紫荆山街道", "1", "100.0%", "0.0%", "—", "—", "—", "0", "—", "0", "—"),
    ]
    # Only the open tab's table is computed and drawn; choosing a tab draws its own.
    for closed in ("渠道", "社区", "类别"):
        assert not [d for d in at.dataframe if d.value.columns[0] == closed]
    at.session_state["rates_tabs"] = "按渠道"
    at.run()
    assert not [d for d in at.dataframe if d.value.columns[0] == "街道"]
    channels = table(at, "渠道", "受理量")
    assert [row[:3] for row in channels] == [("12345热线", "2", "50.0%"), ("e网通扫码", "1", "100.0%"),
                                            ("城市通", "1", "100.0%"), ("来信来访", "1", "100.0%"),
                                            ("民意日记", "1", "100.0%"), ("网格员巡访", "1", "0.0%")]
    at.session_state["rates_tabs"] = "按社区"
    assert [row[:3] for row in table(at.run(), "社区", "受理量")] == [
        ("钟楼社区", "3", "100.0%"), ("—", "2", "50.0%"), ("东城社区", "1", "0.0%"), ("晒甲河社区", "1", "100.0%")]
    at.session_state["rates_tabs"] = "按类别"
    assert len(table(at.run(), "类别", "受理量")) == 6
    assert table(at, "环节", "已到达(件)") == [
        ("受理", "7", "100.0%", "—"), ("精准派单", "6", "85.7%", "—"), ("首接响应", "6", "85.7%", "1.5"),
        ("督导督办", "4", "57.1%", "23.5"), ("群众评价", "3", "42.9%", "24.0"), ("结案归档", "2", "28.6%", "1.0")]
    assert table(at, "工单编号", "受理时间") == [
        ("A4", "2026-03-05 10:00", "登州街道", "—", "—", "网格员巡访", "市政设施", "86.0"),
        ("A7", "2026-03-06 10:00", "蓬莱阁街道", "—", "—", "来信来访", "供暖供水", "62.0"),
    ]
    assert at.get("download_button")[0].proto.label == "下载超期工单清单(CSV)"


def test_choosing_a_street_while_its_tab_is_open_shows_the_communities():
    """The open tab is remembered; when one street is chosen the 按街道 tab goes away, and the page
    falls back to the first tab left (its communities) rather than to nothing or an error."""
    at = open_page("appeals")
    assert table(at, "街道", "受理量")
    at.sidebar.selectbox(key="street").set_value("蓬莱阁街道").run()
    assert not at.exception, [e.value for e in at.exception]
    assert [row[:2] for row in table(at, "社区", "受理量")] == [("钟楼社区", "3"), ("—", "1")]


def test_the_overdue_download_is_excel_friendly():
    import polars as pl
    frame = pl.DataFrame({"appeal_id": ["A4"], "hours_open": [86.0], "rate": [None]},
                         schema={"appeal_id": pl.String, "hours_open": pl.Float64, "rate": pl.Float64})
    data = csv_bytes(frame, [Text("appeal_id", "工单编号"), metric("overdue.hours_open"),
                             metric("appeals.resolution_rate").as_(source="rate")])
    assert data.startswith("\ufeff".encode())
    assert data.decode("utf-8-sig").splitlines() == ["工单编号,已受理(小时),办结率(%)", "A4,86.0,"]


def test_a_download_that_fails_says_so_in_chinese():
    """A deferred file (the overdue list, the audit log, the PDF) is made when its button is pressed;
    if making it raises, the words under the button are ours, not Streamlit's English."""
    import asyncio

    from streamlit.proto.BackMsg_pb2 import BackendOperationRequest, DeferredFileRequestPayload
    from streamlit.runtime.backend_operation_handler import DeferredFileHandler

    class Files:
        def execute_deferred(self, file_id):
            if file_id == "broken":
                raise OSError("disk full")
            return f"/media/{file_id}.csv"

    at = open_page("appeals")  # the page that offers a deferred download
    assert at.get("download_button")[0].proto.label == "下载超期工单清单(CSV)"
    handler = DeferredFileHandler(Files)

    def ask(file_id):
        request = BackendOperationRequest(request_id="r", deferred_file=DeferredFileRequestPayload(file_id=file_id))
        return asyncio.run(handler.handle(request, "session"))

    assert ask("broken").error_msg == layout.DOWNLOAD_FAILED
    made = ask("good")
    assert not made.error_msg and made.deferred_file.url == "/media/good.csv"


def test_a_download_rounds_as_the_screen_does():
    """9/16 reads 56.3 % on the page and in the CSV (polars' .round gave 56.2); 3.365 (3.3649… in
    binary) reads 3.37 in both; counts keep no separators in the file (Excel sums them)."""
    import polars as pl
    frame = pl.DataFrame({"rate": [9 / 16, 0.0285, None], "score": [3.365, 1.005, 2.0], "n": [1234, 0, None]})
    columns = [metric("surveys.satisfaction_rate").as_(source="rate"), metric("surveys.average_score").as_(source="score"),
               metric("surveys.answers").as_(source="n")]
    shown = display_frame(frame, columns).to_pydict()
    assert shown == {"测评满意率": ["56.3%", "2.9%", "—"], "测评平均分": ["3.37", "1.01", "2.00"],
                     "测评答卷": ["1,234", "0", "—"]}
    assert csv_bytes(frame, columns).decode("utf-8-sig").splitlines() == [
        "测评满意率(%),测评平均分,测评答卷", "56.3,3.37,1234", "2.9,1.01,0", ",2.00,"]


# ---------------------------------------------------------------- 物业治理

def test_property_page():
    at = open_page("property")
    assert cards(at) == {"投诉量": ("5", "+4"), "投诉解决率": ("60.0%", "-40.0 个百分点"),
                         "投诉解决时长中位数": ("1.5 天", "+0.5 天"), "三方办占比": ("20.0%", "-80.0 个百分点")}
    assert table(at, "小区", "街道", "本期投诉") == [
        ("海景苑", "登州街道", "3", "1.50", "66.7%", "1.5", "2", "100.0%"),
        ("碧桂园", "蓬莱阁街道", "0", "0.00", "—", "—", "0", "—")]
    assert table(at, "排名", "小区", "街道", "投诉量", "每百户投诉量") == [
        ("1", "海景苑", "登州街道", "3", "1.50", "66.7%", "重点整治"),
        ("2", "宝龙国际", "蓬莱阁街道", "1", "0.25", "100.0%", "新增")]
    assert any("1 个有投诉的小区缺少户数" in t for t in texts(at.caption))  # C4, P5
    assert table(at, "处置层级", "投诉量") == [("小区", "2", "40.0%", "1"), ("社区", "1", "20.0%", "0"),
                                          ("街道", "1", "20.0%", "0"), ("区", "1", "20.0%", "0")]
    assert table(at, "物业企业", "管理小区") == [
        ("海天物业", "1", "200", "3", "1.50", "66.7%", "1.5", "1", "100.0%"),
        ("宝龙物业", "1", "400", "1", "0.25", "100.0%", "1.5", "0", "—"),
        ("碧桂园物业", "1", "100", "0", "0.00", "—", "—", "0", "—"),
        ("无物业", "1", "—", "1", "—", "0.0%", "—", "0", "—")]


def test_key_targets_before_and_after_a_chosen_date():
    at = open_page("property")
    # the comparison is computed when its tab is chosen, not before
    assert not [d for d in at.dataframe if "整治前月均投诉" in d.value.columns]
    at.session_state["key_target_tabs"] = "整治成效(整治前后对比)"
    at.date_input(key="since").set_value(date(2026, 3, 2)).run()
    assert not [d for d in at.dataframe if d.value.columns[:3].tolist() == ["小区", "街道", "本期投诉"]]
    # After: 03-02 .. 03-08; before: 02-23 .. 03-01. Per month = complaints × 30 ÷ 7.
    assert table(at, "小区", "整治前月均投诉", "整治后月均投诉", "整治前投诉解决率", "整治后投诉解决率",
                 "整治前测评满意率", "整治后测评满意率") == [
        ("海景苑", "0.0", "12.9", "—", "66.7%", "—", "100.0%", "恶化"),
        ("碧桂园", "4.3", "0.0", "100.0%", "—", "—", "—", "好转")]
    # the surveys begin on 03-02: the before window had none to read, and the page says so
    assert ("整治前时段（2026-02-23 至 2026-03-01）开始时满意度测评尚无记录（满意度测评自 2026-03-02 起有记录），"
            "整治前的相应数字显示为“—”。") in texts(at.caption)
    # targeted 02-25: the before window (02-13 .. 02-24) began before the complaints (02-23)
    at.date_input(key="since").set_value(date(2026, 2, 25)).run()
    assert table(at, "小区", "整治前月均投诉") == [
        ("海景苑", "—", "7.5", "—", "66.7%", "—", "100.0%", "—"),
        ("碧桂园", "—", "2.5", "—", "100.0%", "—", "—", "—")]
    assert any(t.startswith("整治前时段（2026-02-13 至 2026-02-24）开始时物业投诉、满意度测评尚无记录")
               for t in texts(at.caption))
    # targeted before the complaints began: the months after count days without data, and it says so
    at.date_input(key="since").set_value(date(2026, 1, 1)).run()
    assert ("整治后时段（2026-01-01 至 2026-03-08）开始时物业投诉尚无记录（物业投诉自 2026-02-23 起有记录），"
            "整治后月均投诉按整个时段的天数计算，可能偏低。") in texts(at.caption)
    assert "整治后：2026-01-01 至 2026-03-08，按统计时点 2026-03-09 00:00 计；" in " ".join(texts(at.caption))
    # targeted after the week: nothing to compare, and no window is described
    at.date_input(key="since").set_value(date(2026, 3, 9)).run()
    assert "整治起始日期晚于所选时段已有数据的最后一天，无法比较整治前后。" in texts(at.caption)
    assert not [t for t in texts(at.caption) if t.startswith(("整治前时段", "整治后时段", "整治后："))]


# ---------------------------------------------------------------- 小区画像

LIST = [("海景苑", "登州街道", "东城社区", "老旧小区", "200", "是", "1", "3", "1.50", "100.0%", "2"),
        ("晒甲河小区", "紫荆山街道", "晒甲河社区", "开放式楼院", "—", "否", "1", "1", "—", "0.0%", "0"),
        ("宝龙国际", "蓬莱阁街道", "钟楼社区", "商品房小区", "400", "否", "2", "1", "0.25", "50.0%", "1"),
        ("碧桂园", "蓬莱阁街道", "钟楼社区", "学区房", "100", "是", "1", "0", "0.00", "—", "1")]


def test_compounds_page():
    at = open_page("compounds")
    assert cards(at) == {"小区数": ("4", ""), "户数": ("700", ""), "重点整治小区": ("2", ""), "有物业服务": ("75.0%", "")}
    assert table(at, "类型", "小区数") == [
        ("老旧小区", "1", "200", "25.0%"), ("学区房", "1", "100", "25.0%"), ("商品房小区", "1", "400", "25.0%"),
        ("回迁安置小区", "0", "0", "0.0%"), ("单位家属院", "0", "0", "0.0%"), ("开放式楼院", "1", "0", "25.0%")]
    assert table(at, "小区", "街道", "社区") == LIST
    assert len(at.get("deck_gl_json_chart")) == 1
    assert any("1 个小区缺少经纬度" in t for t in texts(at.caption))
    assert at.selectbox(key="compound").value == ""  # no profile open


def test_the_map_follows_its_measure_and_the_chosen_compound():
    """The map is built once per distinct input and shared (layout.deck_map): each measure and
    each chosen compound still gets its own."""
    def drawn(at) -> dict:
        (chart,) = at.get("deck_gl_json_chart")
        return {layer["id"]: layer for layer in json.loads(chart.proto.json)["layers"]}

    at = open_page("compounds")
    by_appeals = drawn(at)
    radii = {row["name"]: row["radius"] for row in by_appeals["compounds"]["data"]}
    assert radii["宝龙国际"] > radii["海景苑"] and "chosen_compound" not in by_appeals
    at.button_group(key="map_measure").set_value("survey_satisfaction_rate").run()
    by_rate = {row["name"]: row["radius"] for row in drawn(at)["compounds"]["data"]}
    assert by_rate["宝龙国际"] > by_rate["海景苑"] == 25  # 50 % satisfied against 100 %
    at.button_group(key="map_measure").set_value("appeals").run()
    assert drawn(at) == by_appeals
    at.selectbox(key="compound").set_value("C1").run()
    assert [row["compound_id"] for row in drawn(at)["chosen_compound"]["data"]] == ["C1"]


def test_compound_search():
    at = open_page("compounds")
    at.text_input(key="search").input("海景").run()
    assert table(at, "小区", "街道", "社区") == LIST[:1]
    at.text_input(key="search").input("没有这个").run()
    assert "没有名称或编码包含“没有这个”的小区。" in texts(at.info)


def test_a_link_opens_a_compound_profile():
    at = open_page("compounds", page_query={"compound": "C1"})
    assert "海景苑 · 小区画像" in texts(at.subheader)
    profile = [(m.label, m.value) for m in at.metric][4:]
    assert profile == [("户数", "200"), ("楼栋数", "10"), ("微网格数", "3"),
                       ("诉求", "1"), ("诉求办结率", "100.0%"), ("投诉量", "3"), ("投诉解决率", "66.7%"),
                       ("测评答卷", "2"), ("测评满意率", "100.0%"), ("活动场次", "2"), ("参与人次", "55")]
    assert "东城社区 · 老旧小区 · 重点整治小区 · 小区编码 C1 · 所属网格 G1" in " ".join(texts(at.caption))
    assert "**党支部**：海景苑小区党支部" in texts(at.markdown)
    assert "**物业企业**：海天物业" in texts(at.markdown)
    assert len(at.get("plotly_chart")) == 3  # type chart, street chart, the profile's 12 months


def test_choosing_another_compound_and_a_street_filter():
    at = open_page("compounds", page_query={"compound": "C1"})
    at.selectbox(key="compound").set_value("C4").run()
    assert "晒甲河小区 · 小区画像" in texts(at.subheader)
    assert at.query_params["compound"] == "C4"  # the link names the compound by its code
    assert "**党支部**：未单独设立(由社区党组织覆盖)" in texts(at.markdown)
    assert "**物业企业**：无物业服务" in texts(at.markdown)
    at.sidebar.selectbox(key="street").set_value("蓬莱阁街道").run()
    assert table(at, "小区", "街道", "社区") == LIST[2:]
    assert cards(at)["小区数"] == ("2", "")


# ---------------------------------------------------------------- 满意度

def test_satisfaction_page():
    at = open_page("satisfaction")
    # The first answers came on 03-02: W09 is before the survey data began, so no change (not +5).
    assert cards(at) == {"测评答卷": ("5", ""), "测评满意率": ("60.0%", ""), "测评平均分": ("3.25", "")}
    assert ("上一期（2026-02-23 至 2026-03-01）开始时满意度测评尚无记录（满意度测评自 2026-03-02 起有记录），"
            "不显示与上一期的变化。") in texts(at.caption)
    assert table(at, "测评项目", "测评答卷") == [("物业服务", "2", "100.0%", "4.00"), ("总体评价", "1", "100.0%", "4.00"),
                                          ("环境卫生", "1", "0.0%", "—"), ("网格服务", "1", "0.0%", "1.00")]
    assert table(at, "街道", "测评答卷") == [("登州街道", "2", "100.0%", "4.00"), ("蓬莱阁街道", "2", "50.0%", "4.00"),
                                      ("紫荆山街道", "1", "0.0%", "1.00")]
    assert table(at, "小区类型", "测评答卷") == [("商品房小区", "2", "50.0%", "4.00"), ("老旧小区", "2", "100.0%", "4.00"),
                                          ("开放式楼院", "1", "0.0%", "1.00")]
    assert table(at, "小区", "街道", "测评答卷", "测评满意率") == [
        ("海景苑", "登州街道", "2", "100.0%", "4.00"), ("宝龙国际", "蓬莱阁街道", "2", "50.0%", "4.00"),
        ("晒甲河小区", "紫荆山街道", "1", "0.0%", "1.00")]
    assert "没有答卷数不少于 3 份的小区。" in texts(at.info)


def test_lowest_rated_compounds_with_a_lower_threshold():
    at = open_page("satisfaction")
    at.number_input(key="min_answers").set_value(1).run()
    lowest = [d.value for d in at.dataframe if list(d.value.columns) == ["小区", "街道", "测评答卷", "测评满意率", "测评平均分"]]
    assert [tuple(r) for r in lowest[-1].itertuples(index=False)] == [
        ("晒甲河小区", "紫荆山街道", "1", "0.0%", "1.00"), ("宝龙国际", "蓬莱阁街道", "2", "50.0%", "4.00")]
    assert "只列测评满意率不到 100% 的小区。" in texts(at.caption)


def test_lowest_rated_when_every_compound_counted_is_fully_satisfied():
    # In 登州街道 only 海景苑 has answers in W10, both satisfied: the list says so instead of
    # ranking it "lowest".
    at = open_page("satisfaction", {**W10, "street": "登州街道"})
    at.number_input(key="min_answers").set_value(2).run()
    assert "答卷数不少于 2 份的 1 个小区测评满意率均为 100%。" in texts(at.info)


# ---------------------------------------------------------------- 服务场景

def test_scenes_page():
    at = open_page("scenes")
    # No event before 03-02: W09 is before the data began, so no change (it read +4, +75 points).
    assert cards(at) == {"活动场次": ("4", ""), "参与人次": ("225", ""), "一老一小人次": ("70", ""),
                         "场景覆盖率": ("75.0%", "")}
    assert any(t.startswith("上一期（2026-02-23 至 2026-03-01）开始时服务场景活动尚无记录") for t in texts(at.caption))
    assert table(at, "场景类型", "活动场次") == [("邻里", "2", "150", "30"), ("健康", "1", "25", "0"),
                                             ("就业", "0", "0", "0"), ("教育", "1", "50", "40"),
                                             ("低碳", "0", "0", "0"), ("智慧", "0", "0", "0")]
    assert table(at, "街道", "活动场次") == [("蓬莱阁街道", "2", "170", "60"), ("登州街道", "2", "55", "10")]
    assert table(at, "小区", "街道", "小区类型", "活动场次") == [
        ("碧桂园", "蓬莱阁街道", "学区房", "1", "120", "20"), ("海景苑", "登州街道", "老旧小区", "2", "55", "10"),
        ("宝龙国际", "蓬莱阁街道", "商品房小区", "1", "50", "40")]
    assert table(at, "街道", "小区数", "有活动小区", "场景覆盖率") == [("登州街道", "1", "1", "100.0%"), ("紫荆山街道", "1", "0", "0.0%"),
                                                ("蓬莱阁街道", "2", "2", "100.0%")]
    assert "**本期没有开展活动的小区：1 个**" in texts(at.markdown)
    assert table(at, "小区", "街道", "社区", "小区类型") == [("晒甲河小区", "紫荆山街道", "晒甲河社区", "开放式楼院", "—")]


# ---------------------------------------------------------------- around the pages

def test_weekly_report_page_is_registered():
    at = open_page("weekly_report")
    assert texts(at.title) == ["周报"]


def test_footer_says_how_fresh_each_feed_is():
    at = open_page()
    footer = texts(at.caption)[-1]
    assert footer.startswith("数据更新时间")
    for feed in ("小区台账：", "诉求工单：", "物业投诉：", "满意度测评：", "服务场景："):
        assert feed in footer
    # where the records begin: the fixture's extracts are said to cover from 02-23; the answers
    # begin with their first, on 03-02
    assert "(记录自 2026-02-23 起，最新记录 2026-03-08 20:00)" in footer  # A5
    assert "(记录自 2026-03-02 起，最新记录 2026-03-09)" in footer  # S6
    assert not any("演示数据" in w for w in texts(at.warning))


def test_a_data_setting_that_cannot_be_read_is_one_sentence_on_every_page(tmp_path, monkeypatch, database,
                                                                         held_warm_up):
    # The footer reads where each feed's records begin on every page, 小区画像 too: a broken
    # records_since is the setting's sentence once, never the footer's uncaught error
    broken = tmp_path / "broken.duckdb"
    shutil.copyfile(database, broken)
    with duckdb.connect(str(broken)) as con:
        con.execute("""INSERT OR REPLACE INTO meta VALUES ('records_since', '{"appeals": "2026-02-01"')""")
    monkeypatch.setenv("DASHBOARD_DB", str(broken))
    for page in ("overview", "compounds"):
        at = open_page(page)  # no uncaught exception
        errors = texts(at.error)
        assert len(errors) == 1 and errors[0].startswith("设置错误：数据库中记录的 records_since 不是有效的 JSON"), errors


def test_without_any_complaint_the_comparison_reads_dashes_not_zeros(tmp_path, monkeypatch, database, held_warm_up):
    emptied = tmp_path / "no-complaints.duckdb"
    shutil.copyfile(database, emptied)
    with duckdb.connect(str(emptied)) as con:
        con.execute("DELETE FROM complaints")
        con.execute("DELETE FROM meta WHERE key = 'key_targets_since'")
    monkeypatch.setenv("DASHBOARD_DB", str(emptied))
    monkeypatch.setattr(settings, "metric_settings", lambda real=settings.metric_settings: {
        **real(), "key_targets_since": None})
    at = open_page("property")
    assert cards(at)["投诉量"] == ("0", "")  # no +0 against a week nothing was loaded for
    at.session_state["key_target_tabs"] = "整治成效(整治前后对比)"
    at.run()
    # no date recorded or set, and no complaint to take one from: the page asks for it
    assert at.date_input(key="since").value is None
    assert "请先在上方选择“整治起始日期”，再比较整治前后。" in texts(at.caption)
    assert not [d for d in at.dataframe if "整治前月均投诉" in d.value.columns]
    at.date_input(key="since").set_value(date(2026, 3, 2)).run()
    assert table(at, "小区", "整治前月均投诉", "整治后月均投诉", "整治前投诉解决率", "整治后投诉解决率",
                 "整治前测评满意率", "整治后测评满意率") == [
        ("海景苑", "—", "—", "—", "—", "—", "100.0%", "—"),
        ("碧桂园", "—", "—", "—", "—", "—", "—", "—")]
    assert "物业投诉尚未导入，整治前后的相应数字显示为“—”。" in texts(at.caption)
    assert not [t for t in texts(at.caption) if "整治后月均投诉按整个时段的天数计算" in t]


def test_demo_banner_goes_once_real_data_is_loaded(tmp_path, monkeypatch, database, held_warm_up):
    demo = tmp_path / "demo.duckdb"
    shutil.copyfile(database, demo)
    with duckdb.connect(str(demo)) as con:  # every batch so far counts as the demo's
        last = con.execute("SELECT max(batch_id) FROM batches").fetchone()[0]
        con.execute("INSERT OR REPLACE INTO meta VALUES ('dataset', 'demo'), ('demo_last_batch', ?)", [str(last)])
    monkeypatch.setenv("DASHBOARD_DB", str(demo))
    at = open_page()
    assert any("演示数据" in w and "导入真实数据后此提示自动消失" in w for w in texts(at.warning))
    (report,) = load_files(demo, "appeals", [FIXTURES / "appeals_no_response.csv"])
    assert report.refused is None
    at.run()  # the previous file is shown while the new one's numbers are computed, and the page says so
    assert any("演示数据" in w for w in texts(at.warning))
    assert any("刚有新数据导入" in i for i in texts(at.info))
    held_warm_up.set()
    data.warming.join(timeout=60)
    at.run()
    assert not any("演示数据" in w for w in texts(at.warning))
    assert not any("刚有新数据导入" in i for i in texts(at.info))


def test_a_rate_the_extract_never_had_reads_dash_and_names_the_column(tmp_path, monkeypatch):
    db = tmp_path / "teddy.duckdb"
    for kind, name in (("compounds", "compounds.csv"), ("appeals", "appeals_no_response.csv")):
        load_files(db, kind, [FIXTURES / name])
    monkeypatch.setenv("DASHBOARD_DB", str(db))
    for page in ("overview", "appeals"):
        at = open_page(page)
        shown = cards(at)
        # T1–T4 as of 03-09 00:00: 3 of 4 resolved; no 首次响应时间 or 反馈时间 column in the file.
        assert shown["响应率"][0] == shown["3日反馈率"][0] == "—"
        assert shown["办结率"][0] == "75.0%" and shown["满意率"][0] == "66.7%"
        assert ("数据未含“首次响应时间”列：响应率、综合得分显示为“—”(不是 0)；"
                "数据未含“反馈时间”列：3日反馈率显示为“—”(不是 0)。") in texts(at.caption), page


def test_missing_database_explains_how_to_build_it(tmp_path, monkeypatch):
    missing = tmp_path / "none.duckdb"
    monkeypatch.setenv("DASHBOARD_DB", str(missing))
    at = sign_in(AppTest.from_file(APP, default_timeout=60).run())
    assert not at.exception
    assert str(missing) in at.error[0].value
    guide = " ".join(texts(at.markdown))
    assert "make run" in guide and "python -m etl demo" in guide


def overview_then_one_more_appeal(tmp_path, monkeypatch, database):
    """Open 总览 on a copy of the fixture (7 appeals in W10), then load one more W10 appeal into the
    copy from outside the session; returns the page and the load's report."""
    live = tmp_path / "live.duckdb"
    shutil.copyfile(database, live)
    monkeypatch.setenv("DASHBOARD_DB", str(live))
    at = open_page()
    assert cards(at)["受理量"] == ("7", "+6")
    extra = tmp_path / "more_appeals.csv"
    extra.write_text("工单编号,来源渠道,诉求类别,受理时间,街道\nA20,12345热线,环境卫生,2026-03-04 10:00,登州街道\n",
                     encoding="utf-8")
    (report,) = load_files(live, "appeals", [extra])
    return at, report


def test_a_load_shows_once_its_numbers_are_computed(tmp_path, monkeypatch, database, held_warm_up):
    """A run right after a publish shows the previous file's numbers and says new ones are on their
    way; once the background warm-up is done, the next run shows the load."""
    at, report = overview_then_one_more_appeal(tmp_path, monkeypatch, database)
    assert report.refused is None
    at.run()
    assert cards(at)["受理量"] == ("7", "+6")
    assert any("刚有新数据导入" in i for i in texts(at.info))
    held_warm_up.set()
    data.warming.join(timeout=60)
    at.run()
    assert cards(at)["受理量"] == ("8", "+7")


def test_a_view_reads_one_file_even_when_the_new_one_is_ready_halfway(tmp_path, monkeypatch, database,
                                                                      held_warm_up):
    """A run that began on the previous file finishes on it, though the warm-up for the new one
    ends in the middle of the run (here: right after the banner)."""
    at, _ = overview_then_one_more_appeal(tmp_path, monkeypatch, database)
    banner = layout.banner

    def warm_up_ends_now():
        held_warm_up.set()
        data.warming.join(timeout=60)
        banner()

    monkeypatch.setattr(layout, "banner", warm_up_ends_now)
    at.run()
    assert cards(at)["受理量"] == ("7", "+6")
    at.run()
    assert cards(at)["受理量"] == ("8", "+7")


started_counting, release_count = threading.Event(), threading.Event()
counted_scopes: list[Scope] = []


def held_count(con, scope: Scope) -> int:
    """Counts the appeals of the scope, once the test lets it."""
    counted_scopes.append(scope)
    started_counting.set()
    assert release_count.wait(timeout=60)
    return con.execute("SELECT count(*) FROM appeals WHERE received_at >= ? AND received_at < ?",
                       [scope.start, scope.end]).fetchone()[0]


def failing_count(con) -> int:
    raise ValueError("表中没有这一列")


def test_a_prefetched_number_is_computed_once_and_read_by_the_page():
    """prefetch starts the call in the background; the page's own get, asked while it is still being
    computed, waits for that result instead of computing it a second time."""
    w10 = Scope(date(2026, 3, 2), date(2026, 3, 9), datetime(2026, 3, 9), None)
    counted_scopes.clear()
    data.prefetch(held_count, w10)
    assert started_counting.wait(timeout=60)  # in the background, before the page asks
    threading.Timer(0.2, release_count.set).start()
    assert data.get(held_count, w10) == 7  # A1–A7 were received in W10
    assert counted_scopes == [w10]


def test_a_prefetch_that_fails_fails_again_in_the_page():
    data.prefetch(failing_count)
    with pytest.raises(ValueError, match="表中没有这一列"):
        data.get(failing_count)


# ---------------------------------------------------------------- 预警

def test_alerts_page():
    """As of 03-09 00:00 the open appeals are A4 (no answer: 响应 due 03-06 10:00, 62 h late), A7
    (answered, resolved after as-of: 办结 due 03-08 10:00, 14 h late), A5 (办结 due 03-10 20:00,
    +44 h) and A6 (反馈 due 03-10 10:00, +34 h): none due within 12 h; A2 and A8 are fed back. No
    W10 appeal repeats another (one per compound × category), none resolved 30 days before as-of."""
    at = open_page("alerts")
    # W09 (A8 alone) repeats nothing either
    assert cards(at) == {"临期工单": ("0", ""), "环节超时工单": ("2", ""), "重复诉求率": ("0.0%", "+0.0 个百分点"),
                         "真解决率": ("—", "")}
    assert table(at, "街道", "临期工单", "环节超时工单") == [("登州街道", "0", "1"), ("蓬莱阁街道", "0", "1")]
    assert table(at, "工单编号", "类别", "小区", "环节", "时限", "剩余或超期") == [
        ("A4", "市政设施", "—", "响应", "2026-03-06 10:00", "超期 62.0 小时"),
        ("A7", "供暖供水", "—", "办结", "2026-03-08 10:00", "超期 14.0 小时")]
    assert table(at, "街道", "重复诉求率", "真解决率") == [
        ("登州街道", "0.0%", "—"), ("紫荆山街道", "0.0%", "—"), ("蓬莱阁街道", "0.0%", "—")]
    assert "没有异动预警：各小区最近的诉求、投诉与测评不满意均在自身基线的正常范围内。" in texts(at.info)
    assert alerts.unsettled_note(0.0, None) in texts(at.caption)  # why 真解决率 reads “—”
    # one street in view: its own appeals only, by community
    at = open_page("alerts", query={**W10, "street": "蓬莱阁街道"})
    assert table(at, "社区", "临期工单", "环节超时工单") == [("—", "0", "1")]
    assert table(at, "工单编号", "类别", "小区", "环节", "时限", "剩余或超期") == [
        ("A7", "供暖供水", "—", "办结", "2026-03-08 10:00", "超期 14.0 小时")]
    # a week without appeals: both rates “—”, and the note says why, not that 30 days have not passed
    at = open_page("alerts", query={"period": "自定义", "from": "2025-01-06", "to": "2025-01-12"})
    assert cards(at)["真解决率"][0] == cards(at)["重复诉求率"][0] == "—"
    assert "重复诉求率与真解决率为“—”：这一时段没有可比对的诉求（需有小区和诉求内容）。" in texts(at.caption)


def test_alerts_page_alarms(tmp_path, monkeypatch):
    """tests/test_alerts.py's alarm files seen as of 06-10 00:00 (the custom period to 06-09):
    海景苑 供暖供水 6 in the window (06-10 09:00 not yet), expected the floor 0.5, p = (1/9)^6, −lg p =
    5.7, alarmed since 06-09 (as of 06-09 00:00 five: 06-05 .. 06-08 twice); its 06-08 survey 6 不满意
    of 10, expected 1.0, p = 1.5e-4 (3.8) since 06-08; 东城佳苑's 7 complaints of 06-09, expected
    8 × 7/56 = 1.0, p = 6.0e-4 (3.2) since 06-10."""
    from tests.test_alerts import ALARM_APPEALS, ALARM_COMPLAINTS, ALARM_SURVEYS, _db, _path

    con = _db(tmp_path, appeals=ALARM_APPEALS, complaints=ALARM_COMPLAINTS, surveys=ALARM_SURVEYS)
    monkeypatch.setenv("DASHBOARD_DB", _path(con))
    con.close()
    at = open_page("alerts", query={"period": "自定义", "from": "2026-06-03", "to": "2026-06-09"})
    assert table(at, "小区", "数据", "类别", "开始日期", "实际", "预期", "显著性", "是否重点整治小区") == [
        ("海景苑", "诉求", "供暖供水", "2026-06-09", "6", "0.5", "5.7", "是"),
        ("海景苑", "测评不满意", "—", "2026-06-08", "6", "1.0", "3.8", "是"),
        ("东城佳苑", "物业投诉", "—", "2026-06-10", "7", "1.0", "3.2", "否")]


def test_overview_links_the_appeals_due_soon_to_the_alerts_page():
    # as of 03-09 00:00 nothing is due within 12 h; as of 03-10 00:00 A6 (反馈 due 03-10 10:00) is,
    # A5 (办结 due 03-10 20:00) is not yet
    (link,) = open_page().get("page_link")
    assert (link.proto.label, link.proto.page.endswith("alerts")) == ("即将超期 0 件", True)
    (link,) = open_page(query={"period": "自定义", "from": "2026-03-03", "to": "2026-03-09"}).get("page_link")
    assert link.proto.label == "即将超期 1 件"


def test_a_compound_profile_shows_its_repeat_chains(tmp_path, monkeypatch):
    """tests/test_alerts.py's repeated appeals, as of 07-20 00:00: 海景苑 供暖供水 R2 repeats R1 (81.25)
    and R7 repeats R2; R1 repeats nothing (R4 is 31 days before it), R3 is another text."""
    from tests.test_alerts import REPEATS, _db, _path

    con = _db(tmp_path, appeals=REPEATS)
    monkeypatch.setenv("DASHBOARD_DB", _path(con))
    con.close()
    at = open_page("compounds", query={"period": "自定义", "from": "2026-07-13", "to": "2026-07-19"},
                   page_query={"compound": "C1"})
    box = at.selectbox(key="repeat_appeal")
    assert box.options == ["R7 · 供暖供水 · 2026-06-25 09:00", "R2 · 供暖供水 · 2026-06-05 09:00"]
    assert table(at, "工单编号", "受理时间", "办结时间", "重复的工单") == [
        ("R1", "2026-06-01 09:00", "2026-06-02 09:00", "—", "海景苑暖气不热，室温不达标"),
        ("R2", "2026-06-05 09:00", "2026-06-06 09:00", "R1", "海景苑暖气不热，室温不达标，请尽快处理"),
        ("R7", "2026-06-25 09:00", "2026-06-26 09:00", "R2", "海景苑暖气不热，室温不达标")]
    at = open_page("compounds", query={"period": "自定义", "from": "2026-07-13", "to": "2026-07-19"},
                   page_query={"compound": "C3"})
    assert "截至统计时点这个小区没有重复诉求。" in texts(at.info)
