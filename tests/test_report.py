"""The weekly PDF (周报): its numbers are the metrics module's, its text is Chinese and extractable,
its font ships with the project, and it is made without a database for the content step.

Page 1 of each generated PDF is rendered to test-artifacts/ (gitignored) for a person to look at.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from access.accounts import User, add_user
from dashboard import auth, state
from etl.db import read_only
from etl.load import load_files
from metrics import Scope, alerts, appeals, compounds, feeds, stats
from metrics.scope import iso_week_label, parse_week
from report import build_typst, charts, collect, compile_pdf, make_pdf
from metrics.catalogue import metric
from metrics.display import change, delta, number
from report.content import APPEAL_COLUMNS, APPEAL_KPIS, OTHER_KPIS

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
WEEK = "2026-W10"


def run_report(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "report", *args], cwd=ROOT, capture_output=True, text=True)


def etl_stats(db: Path, week: str, *extra: str) -> dict:
    result = subprocess.run([sys.executable, "-m", "etl", "stats", "--json", "--week", week, "--db", str(db), *extra],
                            cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def pdf_lines(pdf: Path) -> list[str]:
    """The PDF's text, one table row a line, with every blank removed (typst spaces CJK and Latin)."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    return [re.sub(r"\s+", "", line) for line in text.splitlines()]


def has_row(lines: list[str], *cells: str) -> bool:
    wanted = "".join(re.sub(r"\s+", "", cell) for cell in cells)
    return any(wanted in line for line in lines)


def kpi_row(kpi, current, previous) -> tuple[str, ...]:
    return kpi.long_label(), kpi.text(current), kpi.text(previous), kpi.change(current, previous)[0]


def render_page1(pdf: Path, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    prefix = ARTIFACTS / name
    subprocess.run(["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(prefix)],
                   check=True)
    png = prefix.with_suffix(".png")
    assert png.stat().st_size > 20_000
    return png


# ---------------------------------------------------------------- the one rounding rule

def test_rounding_rule_is_half_up_from_the_exact_value():
    assert number(5 / 7, "rate") == "71.4%"
    assert number(0.5625, "rate") == "56.3%"        # 9/16 = 56.25 %: half up, not half even
    assert number(0.0285, "rate") == "2.9%"         # 0.0285 × 100 is 2.8499… in binary floats
    assert number(3.25, "decimal") == "3.3"
    assert number(0.6104761904761905, "score") == "61.0"
    assert number(None, "rate") == "—" and number(0, "count") == "0" and number(36.0, "hours") == "36.0 小时"
    # A change is the difference of the exact values, rounded once.
    assert change(5 / 7, 1.0, "rate", 1, "up") == ("▼ 28.6 个百分点", "bad")
    assert change(2, 0, "count", 0, "down") == ("▲ 2", "bad")
    assert change(3, 3) == ("持平", "flat")
    assert change(0.5, None, "rate") == ("—", "none")
    assert change(0.7001, 0.7, "rate", 1, "up") == ("持平", "flat")
    assert delta(5 / 7, 1.0, "rate") == "-28.6 个百分点"
    # The PDF prints thousands separators, as the pages do (it printed 1324 and 134018).
    assert number(1324) == "1,324" and number(134018) == "134,018"
    assert change(1324, 0, "count", 0, "up") == ("▲ 1,324", "good")


# ---------------------------------------------------------------- charts and content, no database

def _svg_ok(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg") and "nan" not in svg.lower()
    return root


def test_charts_are_svg_with_chinese_labels():
    rows = [{"place": "登州街道", "received": 2, "response_rate": 0.0, "resolution_rate": 0.5, "on_time_rate": 0.0,
             "satisfaction_rate": None},
            {"place": "蓬莱阁街道", "received": 4, "response_rate": 1.0, "resolution_rate": 0.75,
             "on_time_rate": 0.75, "satisfaction_rate": 1.0}]
    svg = charts.rates_by_place(rows)
    _svg_ok(svg)
    assert "登州街道" in svg and "响应率" in svg and "75.0" in svg
    trend = [{"week": f"2026-W{w:02d}", "received": w % 3, "response_rate": None if w % 3 == 0 else 0.9,
              "resolution_rate": 0.8, "on_time_rate": 0.7, "satisfaction_rate": 0.95} for w in range(1, 13)]
    svg = charts.weekly_trend(trend)
    _svg_ok(svg)
    assert "W12" in svg and "受理量" in svg and "<polyline" in svg
    scenes = [{"scene_type": t, "events": i, "attendance": 10 * i, "old_young": i} for i, t in
              enumerate(["邻里", "健康", "就业", "教育", "低碳", "智慧"])]
    svg = charts.scenes_by_type(scenes)
    _svg_ok(svg)
    assert "邻里" in svg and "5 场 · 50 人次" in svg
    # Nothing to draw: a message, never an empty or broken picture.
    assert "均无诉求" in charts.rates_by_place([])
    assert "没有诉求" in charts.weekly_trend([{"week": "2026-W01", "received": 0}])
    assert "没有服务场景" in charts.scenes_by_type([{"scene_type": "邻里", "events": 0, "attendance": 0,
                                                   "old_young": 0}])
    assert "&lt;b&gt;" in charts.compound_types([{"compound_type": "<b>", "compounds": 1, "share": 1.0}])


def _minimal_data() -> dict:
    appeals = {"received": 7, "response_rate": 5 / 7, "resolution_rate": 4 / 7, "on_time_rate": 3 / 6,
               "feedback_rate": 2 / 4, "satisfaction_rate": 2 / 3, "satisfaction_score": 1.9 / 3,
               "composite": 0.1 * 5 / 7 + 0.5 * 4 / 7 + 0.4 * 1.9 / 3, "overdue_open": 2,
               "median_hours_to_resolve": 36.0, "repeat_rate": 1 / 7, "true_resolution_rate": None}
    stats = {"appeals": appeals,
             "complaints": {"complaints": 0, "resolution_rate": None, "median_days_to_resolve": None},
             "surveys": {"answers": 0, "satisfaction_rate": None, "average_score": None},
             "scenes": {"events": 0, "attendance": 0, "old_young": 0, "coverage": 0.0}}
    previous = json.loads(json.dumps(stats))
    previous["appeals"] = {key: None for key in appeals} | {"received": 0, "overdue_open": 0}
    return {
        "district": "蓬莱区", "street": None, "week": WEEK, "previous_week": "2026-W09", "start": "2026-03-02",
        "last_day": "2026-03-08", "as_of": "2026-03-09T00:00:00", "previous_as_of": "2026-03-02T00:00:00",
        "generated_at": "2026-03-09T07:00:00", "is_demo": False, "stats": stats, "previous": previous,
        "ranking_by": "street", "ranking": [], "trend": [], "key_targets": [], "key_targets_previous": [],
        "uncovered_notes": {"appeals": None, "others": None},
        "hot_spots": [], "unranked_compounds": 0, "overdue": [], "compound_types": [], "scenes_by_type": [],
        "freshness": [], "alerts": {"totals": {"due_soon": 0, "overdue": 0}, "by_place": [], "alarms": [],
                                     "unsettled": None},
        "settings": {"response_limit_hours": 24, "resolution_limit_hours": 48, "feedback_limit_hours": 72,
                     "basic_satisfied_weight": 0.9, "hot_spot_count": 15, "scene_types": [], "streets": [],
                     "composite_weights": {"response": 0.1, "resolution": 0.5, "satisfaction": 0.4}},
    }


def test_content_is_a_pure_function_of_the_data():
    data = _minimal_data()
    data["key_targets"] = [{"compound_id": "C1", "name": '海景苑"#[x]', "street": "登州街道", "community": "东城社区",
                            "households": 200, "complaints": 3, "complaints_per_100_households": 1.5,
                            "resolution_rate": 2 / 3}]
    source = build_typst(data)
    assert source == build_typst(json.loads(json.dumps(data)))  # same data, same source
    for value in ('"7"', '"71.4%"', '"57.1%"', '"50.0%"', '"66.7%"', '"61.0"', '"2"'):
        assert value in source
    assert '"海景苑\\"#[x]"' in source  # names reach typst as escaped strings, never as markup
    pdf = compile_pdf(source)
    assert pdf.startswith(b"%PDF")


def test_the_weeks_alerts_section():
    data = _minimal_data()
    data["alerts"] = {"totals": {"due_soon": 3, "overdue": 1},
                      "by_place": [{"street": "登州街道", "due_soon": 2, "overdue": 1},
                                   {"street": None, "due_soon": 1, "overdue": 0}],
                      "alarms": [{"place_name": "海景苑", "street": "登州街道", "feed_label": "诉求", "category": "供暖供水",
                                  "start": "2026-03-06", "observed": 7, "expected": 0.5,
                                  "significance": 7 * math.log10(9), "is_key_target": True}],
                      "unsettled": alerts.unsettled_note(0.0, None)}
    lines = pdf_lines(_pdf_of(build_typst(data)))
    assert "截至统计时点（2026-03-0900:00）：临期工单3件，环节超时工单1件。" in "".join(lines)
    assert has_row(lines, "登州街道", "2", "1") and has_row(lines, "—", "1", "0")
    # −lg (1/9)^7 = 6.68
    assert has_row(lines, "海景苑", "登州街道", "诉求", "供暖供水", "2026-03-06", "7", "0.5", "6.7", "是")
    assert has_row(lines, *kpi_row(metric("appeals.repeat_rate"), 1 / 7, None))  # 14.3% against —
    assert "显著性最高的1条异动预警" in "".join(lines)
    assert "真解决率为“—”：这一时段受理的工单中还没有办结已满30天的" in "".join(lines)
    data["alerts"]["alarms"] = []
    assert "截至统计时点没有异动预警" in "".join(pdf_lines(_pdf_of(build_typst(data))))


def _pdf_of(source: str) -> Path:
    out = ARTIFACTS / "alerts_section.pdf"
    ARTIFACTS.mkdir(exist_ok=True)
    out.write_bytes(compile_pdf(source))
    return out


# ---------------------------------------------------------------- the fixture week, end to end

@pytest.fixture(scope="module")
def fixture_pdf(fixture_db, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "weekly.pdf"
    result = run_report("--week", WEEK, "--out", str(out), "--db", str(fixture_db))
    assert result.returncode == 0, result.stderr
    assert "已生成" in result.stdout
    return out


def test_fixture_week_kpis_are_the_hand_computed_values(fixture_pdf):
    lines = pdf_lines(fixture_pdf)
    # Hand-computed for 2026-W10 (tests/fixtures), printed with the one rounding function.
    expected = {"受理量（件）": number(7), "响应率（1日受理率）": number(5 / 7, "rate"), "办结率": number(4 / 7, "rate"),
                "按时办结率（2日办结率）": number(3 / 6, "rate"), "3日反馈率": number(2 / 4, "rate"),
                "满意率": number(2 / 3, "rate"), "综合得分": number(0.1 * 5 / 7 + 0.5 * 4 / 7 + 0.4 * 1.9 / 3, "score"),
                "超期未办结（件）": number(2)}
    assert expected["响应率（1日受理率）"] == "71.4%" and expected["综合得分"] == "61.0"
    for label, value in expected.items():
        assert any(line.startswith(label + value) for line in lines), (label, value)
    text = "".join(lines)
    for name in ("海景苑", "碧桂园"):
        assert name in text
    assert "蓬莱区网格治理周报" in text and "2026-W10" in text and "2026-03-0900:00" in text
    assert "指标口径说明" in text and "四舍五入到各指标的小数位" in text
    # 本周预警 as of 03-09 00:00: A4 and A7 past their next limit, none due within 12 h; no W10
    # appeal repeats another, none resolved 30 days before; W09's A8 neither
    assert "截至统计时点（2026-03-0900:00）：临期工单0件，环节超时工单2件。" in text
    assert has_row(lines, "登州街道", "0", "1") and has_row(lines, "蓬莱阁街道", "0", "1")
    assert has_row(lines, "重复诉求率", "0.0%", "0.0%", "持平") and has_row(lines, "真解决率", "—", "—")
    assert "截至统计时点没有异动预警" in text and "重复诉求率" in text.split("指标口径说明")[1]
    # W09 is before the first answers and events: their 上周 and 较上周 read “—”, and a note says why
    assert has_row(lines, "测评答卷（份）", "5", "—", "—") and has_row(lines, "活动场次（场）", "4", "—", "—")
    assert ("注：上一期（2026-02-23至2026-03-01）开始时满意度测评、服务场景活动尚无记录（满意度测评自2026-03-02起有记录，"
            "服务场景活动自2026-03-02起有记录），不显示与上一期的变化。") in text
    # The help of 按时办结率 and 办结率 say why one can exceed the other.
    assert "所以按时办结率可以高于办结率" in text and "所以办结率可以低于按时办结率" in text


def test_fixture_week_equals_etl_stats(fixture_db, fixture_pdf):
    assert_pdf_equals_stats(fixture_pdf, fixture_db, WEEK)


def assert_pdf_equals_stats(pdf: Path, db: Path, week: str, street: str | None = None) -> dict:
    """Every figure of `python -m etl stats --json` for the scope is in the PDF, as the one rule
    writes it, on the row it belongs to."""
    extra = ("--street", street) if street else ()
    current = etl_stats(db, week, *extra)
    previous_week = iso_week_label(parse_week(week) - timedelta(days=7))
    previous = etl_stats(db, previous_week, *extra)
    with read_only(db) as con:
        first = feeds.first_days(con)
    lines = pdf_lines(pdf)
    for kpi in APPEAL_KPIS + OTHER_KPIS:
        # last week's figures of a feed whose records began after last week did are absent
        before = previous[kpi.section][kpi.key] if feeds.covers(first, kpi.section, Scope.week(previous_week)) else None
        row = kpi_row(kpi, current[kpi.section][kpi.key], before)
        assert has_row(lines, *row), row
    if not street:
        for street_row in current["appeals_by_street"]:
            cells = [street_row["street"]] + [c.text(street_row[c.key]) for c in APPEAL_COLUMNS]
            assert has_row(lines, *cells), cells
    per_100, resolution = metric("complaints.complaints_per_100_households"), metric("complaints.resolution_rate")
    for target in current["key_targets"]:
        assert has_row(lines, target["name"]), target["name"]
        assert any(target["name"] in line and (number(target["complaints"]) + per_100.text(
            target["complaints_per_100_households"]) + resolution.text(target["resolution_rate"])) in line
            for line in lines), target
    for spot in current["hot_spots"]:
        assert any(spot["name"] in line and (number(spot["complaints"]) + per_100.text(
            spot["complaints_per_100_households"]) + resolution.text(spot["resolution_rate"])) in line
                   and ("新增" if spot["is_new"] else "重点整治") in line for line in lines), spot
    for kind in current["compound_types"]:
        assert has_row(lines, kind["compound_type"], number(kind["compounds"]), number(kind["households"])), kind
    # The overdue table (street × category, from overdue_by) adds up to the KPI (appeal_summary).
    with read_only(db) as con:
        overdue = appeals.overdue_by(con, Scope.week(week, street), ("street", "category"))
    assert int(overdue["overdue_open"].sum() or 0) == current["appeals"]["overdue_open"]
    if current["appeals"]["overdue_open"]:
        assert any(line.startswith("合计") and line.endswith(number(current["appeals"]["overdue_open"]))
                   for line in lines)
    return current


def test_fixture_pdf_embeds_the_bundled_font_and_renders(fixture_pdf):
    fonts = subprocess.run(["pdffonts", str(fixture_pdf)], capture_output=True, text=True, check=True).stdout
    rows = fonts.splitlines()[2:]
    assert rows, fonts
    for row in rows:
        assert "NotoSansSC" in row, row
        emb, sub, uni = row.split()[-5:-2]
        assert (emb, sub, uni) == ("yes", "yes", "yes"), row  # embedded, subset, with a ToUnicode map
    assert fixture_pdf.stat().st_size < 1_000_000  # a subset, not the 8 MB font
    info = subprocess.run(["pdfinfo", str(fixture_pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)", info), info
    render_page1(fixture_pdf, f"report-fixture-{WEEK}-page1")


def test_street_report_has_its_own_scope(fixture_db, tmp_path):
    with read_only(fixture_db) as con:
        pdf, data = make_pdf(con, WEEK, "蓬莱阁街道")
        assert data["stats"] == json.loads(json.dumps(stats(con, Scope.week(WEEK, "蓬莱阁街道")),
                                                      default=str))
    assert pdf.startswith(b"%PDF")
    assert data["ranking_by"] == "community" and data["stats"]["appeals"]["received"] == 4
    out = tmp_path / "street.pdf"
    out.write_bytes(pdf)
    assert_pdf_equals_stats(out, fixture_db, WEEK, "蓬莱阁街道")
    text = "".join(pdf_lines(out))
    assert "蓬莱区蓬莱阁街道网格治理周报" in text
    # its place among all streets, as on the pages (W10: 蓬莱阁 85.5 first of the two scored streets)
    assert data["standing"] == {"rank": 1, "streets": 2, "composite": data["standing"]["composite"]}
    assert "在全区2个街道中排第1名" in text.replace(" ", "")


# ---------------------------------------------------------------- the command line

def test_cli_refuses_bad_weeks_with_a_chinese_message(fixture_db):
    cases = {
        "2026-10": "YYYY-Www",        # not a week at all
        "2026-W60": "没有第 60 周",    # no such week
        "2025-W10": "没有任何",        # a week without data
        "2099-W01": "尚未结束",        # not over yet
    }
    for week, message in cases.items():
        result = run_report("--week", week, "--out", "/dev/null", "--db", str(fixture_db))
        assert result.returncode == 2, (week, result.stdout, result.stderr)
        assert message in result.stderr and result.stderr.startswith("错误："), (week, result.stderr)
        assert "Traceback" not in result.stderr
    result = run_report("--week", WEEK, "--street", "不存在街道", "--db", str(fixture_db))
    assert result.returncode == 2 and "没有“不存在街道”这个街道" in result.stderr
    result = run_report("--week", WEEK, "--db", str(fixture_db.parent / "missing.duckdb"))
    assert result.returncode == 2 and "找不到数据库" in result.stderr


def test_default_week_is_the_last_complete_one(fixture_db):
    with read_only(fixture_db) as con:
        data = collect(con, None, now=datetime(2026, 3, 12, 9, 30))  # a Thursday in W11
    assert data["week"] == WEEK and data["as_of"] == "2026-03-09T00:00:00"


def test_the_preview_is_the_reports_own_figures(fixture_db):
    """The page shows a preview and builds the PDF on demand: every figure of the preview is the
    one the whole report holds, for the district and a street, and a week without data is refused
    in the same words."""
    from report import ReportError, preview

    with read_only(fixture_db) as con:
        for street in (None, "蓬莱阁街道"):
            shown, whole = preview(con, WEEK, street), collect(con, WEEK, street)
            assert shown["stats"]["appeals"]["received"] > 0
            for section in ("appeals", "complaints", "surveys", "scenes"):
                assert shown["stats"][section] == {key: whole["stats"][section][key] for key in shown["stats"][section]}
            assert shown["previous"]["appeals"] == {key: whole["previous"]["appeals"][key]
                                                    for key in shown["previous"]["appeals"]}
            assert shown["key_targets"] == [{"compound_id": row["compound_id"]} for row in whole["key_targets"]]
            assert shown["hot_spots"] == [{"compound_id": row["compound_id"], "is_new": row["is_new"]}
                                          for row in whole["hot_spots"]]
            for key in ("district", "street", "week", "previous_week", "as_of"):
                assert shown[key] == whole[key]
        refusals = []
        for make in (preview, collect):
            with pytest.raises(ReportError) as refused:
                make(con, "2025-W10", None)
            refusals.append(str(refused.value))
        assert refusals[0] == refusals[1] and "没有任何" in refusals[0]


# ---------------------------------------------------------------- the dashboard page

def test_page_previews_and_offers_the_pdf(fixture_db, monkeypatch):
    from streamlit.testing.v1 import AppTest

    import streamlit

    offered = []
    original = streamlit.download_button

    def spy(label, data=None, *args, **kwargs):
        offered.append(data)
        return original(label, data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", spy)
    signed_in_reader(monkeypatch, fixture_db)
    at = AppTest.from_file(str(ROOT / "pages" / "weekly_report.py"), default_timeout=60)
    at.session_state[auth.USER_KEY] = READER
    at.run()
    assert not at.exception, at.exception
    weeks = at.selectbox(key="report_week")
    assert weeks.value == "2026-W11"  # newest week with data first
    weeks.select(WEEK).run()
    assert not at.exception, at.exception
    metrics = {m.label: m for m in at.metric}
    assert metrics["受理量（件）"].value == "7"
    assert metrics["响应率（1日受理率）"].value == "71.4%"
    assert metrics["综合得分"].value == "61.0"
    assert metrics["超期未办结（件）"].value == "2" and metrics["超期未办结（件）"].delta == "+2"
    assert len(at.get("download_button")) == 1
    # the PDF is built when the button is pressed (Streamlit then calls what the button holds)
    assert callable(offered[-1]) and offered[-1]().startswith(b"%PDF")
    at.selectbox(key="report_street").select("南王街道").run()
    assert not at.exception and "还没有任何已结束且有数据的周" in at.info[0].value


READER = User("qu", "district")


def signed_in_reader(monkeypatch, db) -> None:
    """The page needs a signed-in reader: a district account in a private accounts file."""
    accounts = db.parent / "report-accounts.toml"
    if not accounts.exists():
        add_user(READER.name, READER.role, "a long password", path=accounts)
    monkeypatch.setenv("DASHBOARD_ACCOUNTS", str(accounts))
    monkeypatch.setenv("DASHBOARD_DB", str(db))


def test_page_runs_under_the_dashboard_router(fixture_db, monkeypatch):
    from streamlit.testing.v1 import AppTest

    signed_in_reader(monkeypatch, fixture_db)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state[auth.USER_KEY] = READER
    at.run()
    at.switch_page("pages/weekly_report.py").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["周报"] and len(at.get("download_button")) == 1


def test_the_range_starts_as_the_sidebars_street_and_follows_it(fixture_db, monkeypatch):
    """The sidebar says 蓬莱阁街道: the report's range is that street, not 全区 under a sidebar that
    says otherwise (found by an attack session); the reader may still choose another."""
    from streamlit.testing.v1 import AppTest

    signed_in_reader(monkeypatch, fixture_db)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state[auth.USER_KEY] = READER
    at.query_params.update({"street": "蓬莱阁街道"})
    at.run()
    at.switch_page("pages/weekly_report.py").run()
    assert not at.exception, at.exception
    assert at.selectbox(key="report_street").value == "蓬莱阁街道"
    at.selectbox(key="report_street").select("登州街道").run()
    at.run()
    assert at.selectbox(key="report_street").value == "登州街道"  # a choice of its own stays
    at.selectbox(key=state.STREET).select(state.ALL_STREETS).run()  # until the sidebar's street changes
    assert at.selectbox(key="report_street").value == "全区"


# ---------------------------------------------------------------- the demo database (331 compounds)

@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("demo-report") / "demo.duckdb"
    subprocess.run([sys.executable, "-m", "etl", "demo", "--end", "2026-11-26", "--db", str(db)], cwd=ROOT,
                   check=True, capture_output=True)
    return db


def test_demo_week_equals_etl_stats_and_lists_the_15_key_targets(demo_db, tmp_path):
    week = "2026-W47"
    out = tmp_path / "demo.pdf"
    result = run_report("--week", week, "--out", str(out), "--db", str(demo_db))
    assert result.returncode == 0, result.stderr
    current = assert_pdf_equals_stats(out, demo_db, week)
    with read_only(demo_db) as con:
        names = compounds.key_targets(compounds.complaints_by_compound(con, Scope.week(week)))["name"].to_list()
    assert len(names) == 15 == len(current["key_targets"])
    text = "".join(pdf_lines(out))
    assert all(name in text for name in names)
    assert "演示数据" in text and "331" in text
    assert len(re.findall(r"图\d", text)) >= 3  # the three charts have captions
    render_page1(out, f"report-demo-{week}-page1")


def test_a_rate_the_week_never_had_reads_dash_with_a_note(tmp_path):
    db = tmp_path / "teddy.duckdb"
    for kind, name in (("compounds", "compounds.csv"), ("appeals", "appeals_no_response.csv")):
        load_files(db, kind, [ROOT / "tests" / "fixtures" / name])
    out = tmp_path / "teddy.pdf"
    result = run_report("--week", WEEK, "--out", str(out), "--db", str(db))
    assert result.returncode == 0, result.stderr
    lines = pdf_lines(out)
    # This week "—", last week (no appeal) "—": absent is not 0.0 %.
    assert any(line.startswith("响应率（1日受理率）——") for line in lines)
    assert any(line.startswith("3日反馈率——") for line in lines)
    assert any(line.startswith("综合得分——") for line in lines)
    assert any(line.startswith("办结率75.0%—") for line in lines)
    assert not any(line.startswith(("响应率（1日受理率）0.0%", "3日反馈率0.0%")) for line in lines)
    assert ("注：数据未含“首次响应时间”列：响应率、综合得分显示为“—”(不是0)；"
            "数据未含“反馈时间”列：3日反馈率显示为“—”(不是0)。") in "".join(lines)


def test_places_and_categories_the_data_left_empty_read_dash(tmp_path):
    """A community or street missing from the data reads “—” in the PDF as on the pages, and the
    overdue table sorts it with the named ones (None beside a name used to be unsortable)."""
    data = _minimal_data()
    data["ranking_by"], data["street"] = "community", "蓬莱阁街道"
    blank = {c.key: None for c in APPEAL_COLUMNS}
    data["ranking"] = [{**blank, "rank": 1, "place": "钟楼社区", "received": 2, "composite": 0.8},
                       {**blank, "rank": None, "place": None, "received": 1}]
    data["overdue"] = [{"street": None, "category": "噪音", "overdue_open": 1},
                       {"street": "登州街道", "category": None, "overdue_open": 1}]
    out = tmp_path / "blank.pdf"
    out.write_bytes(compile_pdf(build_typst(data)))
    lines = pdf_lines(out)
    assert has_row(lines, "1", "钟楼社区", "2") and has_row(lines, "—", "—", "1")
    assert has_row(lines, "街道", "—", "噪音", "合计") or has_row(lines, "街道", "噪音", "—", "合计")


def test_complaints_only_where_households_are_unknown_are_not_no_complaints(tmp_path):
    """Every complaint of the week in a compound without 户数: the hot-spot section says why there
    is no ranking, not that there were no complaints beside a 投诉量 of 1."""
    db = tmp_path / "households.duckdb"
    (tmp_path / "p.csv").write_text("投诉编号,小区编码,问题类别,投诉时间,处置层级\n"
                                    "P1,C4,垃圾清运,2026-03-02 09:00,小区\n", encoding="utf-8")
    load_files(db, "compounds", [ROOT / "tests" / "fixtures" / "compounds.csv"])
    load_files(db, "complaints", [tmp_path / "p.csv"])
    out = tmp_path / "households.pdf"
    assert run_report("--week", WEEK, "--out", str(out), "--db", str(db)).returncode == 0
    text = "".join(pdf_lines(out))
    assert "没有物业投诉" not in text
    assert "本周有投诉的1个小区台账都缺少户数，无法计算每百户投诉量，暂无排名。" in text
