"""The figure builders and number formatting, without Streamlit: consistent type colours, rates
on percent axes and printed as percentages, “—” for missing values, Chinese labels."""

from __future__ import annotations

import re
from datetime import date

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard import figures, layout
from metrics import display
from dashboard.state import selected_values

CJK = re.compile(r"[\u4e00-\u9fff]")
COMPOUND_TYPES = ["老旧小区", "学区房", "商品房小区", "回迁安置小区", "单位家属院", "开放式楼院"]
SCENE_TYPES = ["邻里", "健康", "就业", "教育", "低碳", "智慧"]


# ---------------------------------------------------------------- formatting

@pytest.mark.parametrize("value, text", [(5 / 7, "71.4%"), (1.0, "100.0%"), (0.0, "0.0%"), (None, "—"),
                                         (float("nan"), "—")])
def test_percent(value, text):
    assert display.number(value, "rate") == text


def test_other_formats():
    assert display.number(1234567) == "1,234,567"
    assert display.number(None) == "—"
    assert display.number(0.6104761904761905, "score") == "61.0"
    assert display.number(36.0, "hours") == "36.0 小时" and display.cell(36.0, "hours") == "36.0"
    assert display.number(1.5, "days") == "1.5 天"
    assert display.number(None, "decimal") == "—"
    assert display.yes_no(True) == "是" and display.yes_no(False) == "否"


def test_changes_against_the_previous_period():
    assert display.delta(7, 1) == "+6"
    assert display.delta(1, 3) == "-2"
    assert display.delta(1, 1235) == "-1,234"
    assert display.delta(5 / 7, 1.0, "rate") == "-28.6 个百分点"
    assert display.delta(0.5, None, "rate") is None  # no rate last period: no change shown
    assert display.delta(0.6104761904761905, 1.0, "score") == "-39.0 分"
    assert display.delta(36.0, 5.0, "hours") == "+31.0 小时"
    assert display.delta(0.8240, 0.8243, "score") == "+0.0 分"  # never “-0.0”
    assert display.is_no_change("+0.0 个百分点") and display.is_no_change("+0") and display.is_no_change("+0.0 小时")
    assert not display.is_no_change("-0.1 分") and not display.is_no_change(None)


# ---------------------------------------------------------------- colours

def test_one_palette_keyed_by_the_reference_lists():
    compound, scene = figures.compound_type_colours(), figures.scene_type_colours()
    assert list(compound) == COMPOUND_TYPES and list(scene) == SCENE_TYPES
    assert len(set(compound.values()) | set(scene.values())) == 12  # twelve distinct colours
    assert figures.colour_of("compound", "别墅区") == figures.OTHER


def test_compound_type_colours_are_the_same_on_every_chart():
    types = pl.DataFrame({"compound_type": COMPOUND_TYPES, "compounds": [3, 1, 2, 0, 1, 1],
                          "households": [600, 300, 900, 0, 80, 40]})
    donut = figures.type_donut(types)
    assert list(donut.data[0].marker.colors) == [figures.compound_type_colours()[t] for t in COMPOUND_TYPES]
    by_street = pl.DataFrame({"street": ["登州街道", "登州街道", "蓬莱阁街道"],
                              "compound_type": ["学区房", "老旧小区", "学区房"], "compounds": [1, 2, 3],
                              "households": [10, 20, 30]})
    stacked = figures.types_by_street(by_street)
    assert {trace.name: trace.marker.color for trace in stacked.data} == {
        "老旧小区": figures.compound_type_colours()["老旧小区"], "学区房": figures.compound_type_colours()["学区房"]}
    deck = figures.compound_map(compound_frame())
    fills = {row["type"]: row["colour"][:3] for row in layer(deck, "compounds").data}
    assert fills["老旧小区"] == [0xd1, 0x49, 0x5b]
    assert fills["学区房"] == [0x2e, 0x6f, 0xba]


def test_scene_type_colours_are_the_same_on_every_chart():
    by_type = pl.DataFrame({"scene_type": SCENE_TYPES, "events": [2, 1, 0, 1, 0, 0],
                            "attendance": [150, 25, 0, 50, 0, 0], "old_young": [30, 0, 0, 40, 0, 0]})
    bars = figures.scene_types(by_type)
    assert list(bars.data[0].marker.color) == [figures.scene_type_colours()[t] for t in SCENE_TYPES]
    top = pl.DataFrame({"scene_name": ["仙阁家宴", "老年大学进小区"], "scene_type": ["邻里", "教育"],
                        "events": [1, 1], "compounds": [1, 1], "attendance": [120, 50], "old_young": [20, 40]})
    assert list(figures.top_scenes(top).data[0].marker.color) == [figures.scene_type_colours()["邻里"],
                                                                  figures.scene_type_colours()["教育"]]
    mix = pl.DataFrame({"street": ["登州街道", "登州街道"], "scene_type": ["健康", "邻里"], "events": [1, 1],
                        "attendance": [25, 30], "old_young": [0, 10]})
    assert {t.name: t.marker.color for t in figures.scene_mix_by(mix, "street").data} == {
        "邻里": figures.scene_type_colours()["邻里"], "健康": figures.scene_type_colours()["健康"]}


# ---------------------------------------------------------------- appeals charts

def trend_frame() -> pl.DataFrame:
    # W10 seen on its Wednesday: still running
    return pl.DataFrame({"week": ["2026-W09", "2026-W10"], "week_start": [date(2026, 2, 23), date(2026, 3, 2)],
                         "through": [date(2026, 3, 1), date(2026, 3, 4)], "complete": [True, False],
                         "received": [1, 7], "response_rate": [1.0, 5 / 7], "resolution_rate": [1.0, 4 / 7],
                         "satisfaction_rate": [None, 2 / 3]})


def test_weekly_trend_draws_rates_on_a_percent_axis():
    figure = figures.weekly_trend(trend_frame())
    assert figure.layout.yaxis2.tickformat == ".0%"
    assert list(figure.data[0].x) == ["02-23", "03-02"]  # weeks read as their Mondays
    assert [list(row) for row in figure.data[0].customdata] == [["2026-W09", ""],
                                                                 ["2026-W10", "<br>截至 03-04，未满一周"]]
    rates = [trace for trace in figure.data if trace.type == "scatter"]
    assert [t.name for t in rates] == ["响应率", "办结率", "满意率"]
    # hover texts carry the rate as the tables print it (not a d3 format that rounds its own way)
    assert all("%{customdata[1]}" in t.hovertemplate for t in rates)
    assert [list(row)[:2] for row in rates[1].customdata] == [["2026-W09", "100.0%"], ["2026-W10", "57.1%"]]
    assert list(rates[2].y) == [None, pytest.approx(2 / 3)]  # a missing rate is a gap, not 0 %
    # the running week: a hatched bar, hollow points and the words 未满一周 over it
    assert list(figure.data[0].marker.pattern.shape) == ["", "/"]
    assert all(list(t.marker.symbol) == ["circle", "circle-open"] for t in rates)
    assert [(a.text, a.x) for a in figure.layout.annotations] == [("未满一周", "03-02")]
    complete = figures.weekly_trend(trend_frame().with_columns(pl.lit(True).alias("complete")))
    assert not complete.layout.annotations and list(complete.data[0].marker.pattern.shape) == ["", ""]


def ranking_frame() -> pl.DataFrame:
    return pl.DataFrame({"rank": [1, 2, None], "street": ["蓬莱阁街道", "登州街道", "紫荆山街道"],
                         "received": [4, 2, 1], "response_rate": [1.0, 0.0, 1.0],
                         "resolution_rate": [0.75, 0.5, 0.0], "satisfaction_score": [0.95, 0.0, None],
                         "composite": [0.855, 0.25, None]})


def test_street_ranking_marks_best_and_worst_and_carries_the_street():
    figure = figures.street_ranking(ranking_frame())
    bar = figure.data[0]
    assert list(bar.y) == ["蓬莱阁街道", "登州街道"]  # no score, no bar
    assert list(bar.x) == pytest.approx([85.5, 25.0])
    assert list(bar.text) == ["红榜 85.5", "黑榜 25.0"]
    assert list(bar.marker.color) == [figures.GOOD, figures.BAD]
    assert [row[0] for row in bar.customdata] == ["蓬莱阁街道", "登州街道"]
    # 满意度得分 is a score wherever it shows (it read 95.0% here, 95.0 on the cards and in the PDF)
    assert list(bar.customdata[0][1:]) == ["100.0%", "75.0%", "95.0", "4", "85.5"]


def test_rates_by_dimension():
    rates = pl.DataFrame({"channel": ["12345热线", None], "received": [2, 1], "response_rate": [0.5, 1.0],
                          "resolution_rate": [1.0, 0.0], "on_time_rate": [0.5, None], "satisfaction_rate": [0.5, None]})
    figure = figures.rates_by(rates, "channel")
    assert [t.name for t in figure.data] == ["响应率", "办结率", "按时办结率", "满意率"]
    assert list(figure.data[0].y) == ["12345热线", "未注明"]
    assert figure.layout.xaxis.tickformat == ".0%"
    assert list(figure.data[2].x) == [0.5, None]


def test_funnel_labels_carry_median_hours():
    steps = pl.DataFrame({"label": ["受理", "精准派单", "首接响应"], "reached": [7, 6, 6],
                          "share": [1.0, 6 / 7, 6 / 7], "median_hours": [None, None, 1.5]})
    figure = figures.funnel(steps)
    assert [label.split("<br>")[0] for label in figure.data[0].y] == ["受理", "精准派单", "首接响应"]
    assert "中位 —</span>" in figure.data[0].y[1] and "中位 1.5 小时</span>" in figure.data[0].y[2]
    assert list(figure.data[0].text) == ["7 件 · 100.0%", "6 件 · 85.7%", "6 件 · 85.7%"]


def test_rule_123_and_backlog():
    rule = figures.rule_123({"response_rate": 5 / 7, "on_time_rate": 0.5, "feedback_rate": None})
    assert list(rule.data[0].text) == ["71.4%", "50.0%", "—"]
    backlog = pl.DataFrame({"bucket": ["1日内", "2–3日"], "low_hours": [0, 48], "open": [1, 1],
                            "overdue": [False, True]})
    assert list(figures.backlog(backlog).data[0].marker.color) == [figures.PRIMARY, figures.BAD]


# ---------------------------------------------------------------- generic bars, property, compounds

def test_bars_print_percentages_and_dashes():
    frame = pl.DataFrame({"street": ["登州街道", "紫荆山街道"], "coverage": [1.0, None], "compounds": [1, 1]})
    figure = figures.bars(frame, "street", "scenes.coverage", hover_extra=["compounds.compounds"])
    assert list(figure.data[0].text) == ["100.0%", "—"]
    assert figure.layout.xaxis.tickformat == ".0%"
    assert "场景覆盖率 %{customdata[1]}" in figure.data[0].hovertemplate
    assert "小区数 %{customdata[2]}" in figure.data[0].hovertemplate
    assert [row[0] for row in figure.data[0].customdata] == ["登州街道", "紫荆山街道"]


def test_level_mix_and_key_target_trend():
    levels = pl.DataFrame({"level": ["小区", "社区", "街道", "区"], "complaints": [2, 1, 1, 0],
                           "three_party": [1, 0, 0, 0], "resolution_rate": [1.0, 0.0, 1.0, None]})
    donut = figures.level_mix(levels)
    assert list(donut.data[0].labels) == ["小区级", "社区级", "街道级"]  # empty levels are left out
    monthly = pl.DataFrame({"month": [date(2026, 2, 1)] * 2 + [date(2026, 3, 1)] * 2,
                            "group": ["重点整治小区", "其他小区"] * 2,
                            "through": [date(2026, 2, 28)] * 2 + [date(2026, 3, 9)] * 2, "complete": [True] * 2 + [False] * 2,
                            "complaints": [1, 0, 3, 1],
                            "households": [300, 400] * 2, "complaints_per_100_households": [1 / 3, 0.0, 1.0, 0.25]})
    trend = figures.key_target_trend(monthly, date(2026, 3, 2))
    assert [t.name for t in trend.data] == ["重点整治小区", "其他小区"]
    assert sorted(a.text for a in trend.layout.annotations) == ["整治起始 2026-03-02", "未满一月"]
    assert list(trend.data[0].marker.symbol) == ["circle", "circle-open"]
    assert trend.data[0].customdata[1][2] == "<br>截至 03-09，未满一月"


def compound_frame() -> pl.DataFrame:
    return pl.DataFrame({
        "compound_id": ["C1", "C3", "C4"], "name": ["海景苑", "碧桂园", "晒甲河小区"],
        "street": ["登州街道", "蓬莱阁街道", "紫荆山街道"], "community": ["东城社区", "钟楼社区", "晒甲河社区"],
        "compound_type": ["老旧小区", "学区房", "开放式楼院"], "households": [200, 100, None],
        "is_key_target": [True, True, False], "longitude": [120.75, 120.77, None],
        "latitude": [37.80, 37.82, None], "appeals": [1, 0, 1], "complaints_per_100_households": [1.5, 0.0, None],
        "survey_satisfaction_rate": [1.0, None, 0.0]})


def layer(deck, name: str):
    (found,) = [item for item in deck.layers if item.id == name]
    return found


def test_compound_map_leaves_out_compounds_without_coordinates():
    deck = figures.compound_map(compound_frame(), "appeals")
    records = layer(deck, "compounds").data
    assert [r["name"] for r in records] == ["海景苑", "碧桂园"]
    assert records[0]["radius"] > records[1]["radius"]  # more appeals, bigger dot
    assert records[1]["satisfaction"] == "—" and records[0]["per100"] == "1.50"
    assert "类型：{tip_type}" in deck._tooltip["html"]
    low_first = layer(figures.compound_map(compound_frame(), "survey_satisfaction_rate"), "compounds").data
    assert low_first[0]["radius"] == 25  # satisfaction 100 %: smallest dot


def test_compound_history_and_survey_trend():
    history = pl.DataFrame({"month": [date(2026, 2, 1), date(2026, 3, 1)], "through": [date(2026, 2, 28), date(2026, 3, 4)],
                            "complete": [True, False], "appeals": [0, 2], "complaints": [1, 0],
                            "survey_answers": [0, 2], "survey_satisfaction_rate": [None, 1.0], "events": [0, 1],
                            "attendance": [0, 120]})
    figure = figures.compound_history(history)
    assert [t.name for t in figure.data] == ["诉求", "物业投诉", "服务活动", "测评满意率"]
    assert list(figure.data[0].x) == ["2026-02", "2026-03"]
    assert figure.layout.yaxis2.tickformat == ".0%"
    assert list(figure.data[0].marker.pattern.shape) == ["", "/"] and list(figure.data[3].marker.symbol) == [
        "circle", "circle-open"]
    assert [a.text for a in figure.layout.annotations] == ["未满一月"]
    survey = pl.DataFrame({"week": ["2026-W10"], "week_start": [date(2026, 3, 2)], "through": [date(2026, 3, 8)],
                           "complete": [True], "answers": [5],
                           "satisfaction_rate": [0.6], "average_score": [3.25]})
    trend = figures.survey_trend(survey)
    assert [list(row) for row in trend.data[1].customdata] == [["60.0%", "3.25", ""]]


def test_every_chart_speaks_chinese():
    charts = [figures.weekly_trend(trend_frame()), figures.street_ranking(ranking_frame()),
              figures.backlog(pl.DataFrame({"bucket": ["1日内"], "low_hours": [0], "open": [1], "overdue": [False]}))]
    for chart in charts:
        layout = chart.layout
        for axis in (layout.xaxis, layout.yaxis):
            if axis.title.text:
                assert CJK.search(axis.title.text), axis.title.text
        for trace in chart.data:
            assert trace.hovertemplate and CJK.search(trace.hovertemplate)
        assert "WenQuanYi" in layout.font.family


def test_selected_values_reads_plotly_selection_events():
    event = {"selection": {"points": [{"customdata": ["登州街道", "x"]}, {"customdata": ["登州街道"]},
                                      {"customdata": "蓬莱阁街道"}]}}
    assert selected_values(event) == ["登州街道", "蓬莱阁街道"]
    assert selected_values(None) == []
    assert selected_values({"selection": {"points": []}}) == []


def test_pages_round_half_up_like_the_weekly_pdf():
    assert display.number(9 / 16, "rate") == "56.3%"
    assert display.number(0.0285, "rate") == "2.9%"
    assert display.delta(0.5, 0.5, "rate") == "+0.0 个百分点"
    assert display.number(1234.55, "decimal") == "1,234.6"


# ---------------------------------------------------------------- the key of a drawn figure or table

ROWS = st.lists(st.tuples(st.none() | st.integers(-3, 3), st.none() | st.sampled_from(["登州街道", "南王街道", "—"]),
                          st.none() | st.integers(-8, 8).map(lambda q: q / 4),
                          st.none() | st.dates(date(2026, 1, 1), date(2026, 1, 4))), max_size=5)


def _frame(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"n": pl.Int64, "street": pl.String, "rate": pl.Float64, "day": pl.Date},
                        orient="row")


@given(ROWS, ROWS, st.booleans(), st.booleans())
def test_a_figure_or_table_is_drawn_again_exactly_when_its_inputs_differ(first, second, first_flag, second_flag):
    """The caches of drawn tables and figures (layout.input_key) hit only for equal inputs: the
    same rows in the same columns, and equal other arguments; a hit for different frames would
    show one view's numbers in another."""
    a, b = _frame(first), _frame(second)
    same = a.equals(b) and first_flag == second_flag
    assert (layout.input_key((a, "street", first_flag)) == layout.input_key((b, "street", second_flag))) == same


def test_the_key_tells_apart_column_names_types_order_and_containers():
    frame = _frame([(1, "登州街道", 0.5, date(2026, 1, 1))])
    keys = [layout.input_key(value) for value in (
        frame, frame.rename({"n": "m"}), frame.with_columns(pl.col("n").cast(pl.Float64)),
        frame.select(["street", "n", "rate", "day"]), frame.head(0), (frame,), [frame], {"x": frame}, {"y": frame},
        ("a", 1), ("a", "1"), {"a": 1}, {"a": None})]
    assert len(set(keys)) == len(keys)
    assert layout.input_key(frame) == layout.input_key(frame.clone())
