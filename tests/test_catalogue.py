"""The metric catalogue, the one formatter and the one ranking rule: exact hand-computed values,
and the rules stated as hypothesis properties."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

import settings
from dashboard.layout import csv_bytes, display_frame
from etl.contract import KINDS
from etl.load import load_files
from metrics import Scope, appeals, catalogue, common, compounds, display, rankings, stats
from metrics.catalogue import CATALOGUE, Text, metric
from metrics.common import figures_without
from report import build_typst, collect
from report.content import APPEAL_COLUMNS, APPEAL_KPIS, OTHER_KPIS

W10 = Scope.week("2026-W10")


# ---------------------------------------------------------------- the one formatter

@pytest.mark.parametrize(("value", "unit", "digits", "text"), [
    (9 / 16, "rate", 1, "56.3%"),  # 56.25 %: half up, never 56.2 %
    (0.0285, "rate", 1, "2.9%"),  # 2.8499… in binary: the exact value's digits decide
    (0.0005, "rate", 1, "0.1%"), (0.000499, "rate", 1, "0.0%"),
    (0.05, "decimal", 1, "0.1"), (0.049, "decimal", 1, "0.0"), (-0.05, "decimal", 1, "-0.1"),
    (0.005, "decimal", 2, "0.01"), (1.005, "decimal", 2, "1.01"), (3.365, "decimal", 2, "3.37"),
    (0.6105, "score", 1, "61.1"), (0.61049, "score", 1, "61.0"),
    (1324, "count", 0, "1,324"), (134018, "count", 0, "134,018"), (1234567.25, "decimal", 1, "1,234,567.3"),
    (36.05, "hours", 1, "36.1 小时"), (1.25, "days", 1, "1.3 天"),
    (None, "rate", 1, "—"), (float("nan"), "decimal", 2, "—"), (None, "count", 0, "—"), (float("inf"), "rate", 1, "—"),
])
def test_the_one_formatter(value, unit, digits, text):
    assert display.number(value, unit, digits) == text


def test_cells_csv_values_and_changes():
    assert display.cell(36.05, "hours") == "36.1" and display.cell(0.5, "rate") == "50.0%"
    assert display.cell(None, "text") == "—" and display.cell(True, "bool") == "是"
    column = display.rounded_column(pl.Series([9 / 16, 0.0285, None, float("nan")]), "rate")
    assert column.to_list() == [Decimal("56.3"), Decimal("2.9"), None, None]
    assert display.rounded_column(pl.Series([1234, None]), "count").to_list() == [1234, None]
    assert str(display.rounded_column(pl.Series([0.0]), "decimal", 2)[0]) == "0.00"  # the digits the screen shows
    assert display.delta(1324, 0) == "+1,324" and display.delta(0.5, 0.5, "rate") == "+0.0 个百分点"
    assert display.delta(0.82404, 0.82446, "score") == "+0.0 分"  # -0.042 points: never “-0.0”
    assert display.change(134018, 1, "count", 0, "down") == ("▲ 134,017", "bad")
    assert [display.time_left(h) for h in (5.25, 1.0, 0.5, 0.0, -1 / 60, -0.001, -14.0, -71.9, -72.0, -8604.0, None)] == [
        "剩余 5.3 小时", "剩余 1.0 小时", "剩余 30 分钟", "剩余 0 分钟", "超期 1 分钟", "超期不足 1 分钟", "超期 14.0 小时",
        "超期 71.9 小时", "超期 3.0 天", "超期 358.5 天", "—"]


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), st.sampled_from(["rate", "score", "decimal",
                                                                                   "hours", "days"]),
       st.integers(min_value=0, max_value=3))
def test_the_formatter_agrees_with_decimal_half_up(value, unit, digits):
    """Whatever the value: the shown number is Decimal(repr(value)) × scale rounded half up, with
    thousands separators."""
    scale = 100 if unit in ("rate", "score") else 1
    expected = (Decimal(repr(value)) * scale).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    shown = display.number(value, unit, digits, suffix=False).removesuffix("%")
    assert Decimal(shown.replace(",", "")) == expected
    whole = shown.lstrip("-").split(".")[0]
    assert whole == f"{int(whole.replace(',', '')):,}"  # separators every three digits
    if digits:
        assert len(shown.split(".")[1]) == digits


# Ties in decimal (k/8, k/1000 …) are where binary arithmetic and the exact rule part ways.
_TIES = st.builds(lambda k, n: k / 10 ** n, st.integers(-10 ** 9, 10 ** 9), st.integers(0, 6)) | st.builds(
    lambda k, n: k / 2 ** n, st.integers(-10 ** 9, 10 ** 9), st.integers(0, 12))


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.lists(_TIES | st.floats(min_value=-1e9, max_value=1e9) | st.none(), max_size=40),
       st.sampled_from(["rate", "score", "decimal", "hours", "days", "count"]), st.integers(min_value=0, max_value=3))
def test_a_whole_column_rounds_as_each_value_does(values, unit, digits):
    """The vectorised rounding of a download or a rank equals the one rule value by value."""
    column = display.rounded_column(pl.Series(values, dtype=pl.Float64), unit, digits)
    assert column.to_list() == [display.rounded(value, unit, digits) for value in values]


def test_a_download_holds_what_the_screen_shows():
    frame = pl.DataFrame({"satisfaction_rate": [9 / 16], "average_score": [3.365], "answers": [1324]})
    columns = [metric("surveys.satisfaction_rate"), metric("surveys.average_score"), metric("surveys.answers")]
    assert display_frame(frame, columns).to_pylist() == [{"测评满意率": "56.3%", "测评平均分": "3.37", "测评答卷": "1,324"}]
    assert csv_bytes(frame, columns).decode("utf-8-sig").splitlines()[1] == "56.3,3.37,1324"


# ---------------------------------------------------------------- one ranking rule

SCORE = metric("appeals.composite").as_(source="score")  # a 0–1 score shown on the 100-point scale, 1 decimal

def test_rank_ties_share_the_best_rank():
    frame = pl.DataFrame({"name": ["丁", "甲", "乙", "丙", "戊"], "score": [0.5, 0.9, 0.7, 0.7, None]})
    ranked = rankings.ranked(frame, SCORE, ["name"])
    assert ranked.select("rank", "name").rows() == [(1, "甲"), (2, "丙"), (2, "乙"), (4, "丁"), (None, "戊")]


def test_scores_that_read_alike_share_a_rank():
    """85.504 and 85.496 both read 85.5: a leader sees two equal scores, so they share rank 1
    (and are ordered by name); 85.44 reads 85.4 and comes third."""
    frame = pl.DataFrame({"name": ["乙", "甲", "丙"], "score": [0.85504, 0.85496, 0.8544]})
    ranked = rankings.ranked(frame, SCORE, ["name"])
    assert ranked.select("rank", "name").rows() == [(1, "乙"), (1, "甲"), (3, "丙")]
    assert [SCORE.text(s) for s in ranked["score"]] == ["85.5", "85.5", "85.4"]


def appeal_rows(place: str, names: list[str], composites: list[float | None]) -> pl.DataFrame:
    return pl.DataFrame({place: names, "received": [3] * len(names), "composite": composites})


def test_streets_and_communities_rank_ties_alike(monkeypatch):
    """community_ranking gave 1, 2, 3, 4, 5 where street_ranking gave 1, 2, 2, 4."""
    def rates_by(con, scope, dimension, median=True):
        assert not median  # no ranking shows the median hours: they are not computed for one
        names = {"street": ["登州街道", "蓬莱阁街道", "紫荆山街道", "南王街道"],
                 "community": ["东城社区", "钟楼社区", "西关社区", "晒甲河社区"]}[dimension]
        return appeal_rows(dimension, names, [0.8, 0.855, 0.8, None])

    monkeypatch.setattr(rankings, "rates_by", rates_by)
    streets = rankings.street_ranking(None, W10)
    assert streets.select("rank", "street").rows() == [
        (1, "蓬莱阁街道"), (2, "登州街道"), (2, "紫荆山街道"), (None, "南王街道")]
    communities = rankings.community_ranking(None, W10)
    assert communities.select("rank", "community").rows() == [
        (1, "钟楼社区"), (2, "东城社区"), (2, "西关社区"), (None, "晒甲河社区")]
    assert rankings.street_standing(None, Scope.week("2026-W10", "紫荆山街道")) == {
        "rank": 2, "streets": 3, "composite": 0.8}


def test_hot_spots_rank_equal_rates_alike():
    per_compound = pl.DataFrame({
        "compound_id": ["C1", "C2", "C3", "C4", "C5"], "name": ["甲", "乙", "丙", "丁", "戊"],
        "complaints": [3, 2, 1, 1, 0], "complaints_per_100_households": [1.5, 1.0, 1.0, 0.5, 0.0],
        "is_key_target": [True, False, False, True, False]})
    spots = compounds.hot_spots(per_compound)
    assert spots.select("rank", "compound_id", "is_new").rows() == [
        (1, "C1", False), (2, "C2", True), (2, "C3", True), (4, "C4", False)]  # C5: no complaint


@hypothesis_settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(0, 5).map(lambda n: n / 5)), min_size=1, max_size=12))
def test_a_rank_is_one_more_than_the_better_scores(scores):
    frame = pl.DataFrame({"name": [f"P{i:02d}" for i in range(len(scores))], "score": scores},
                         schema={"name": pl.String, "score": pl.Float64})
    for rank, score in rankings.ranked(frame, SCORE, ["name"]).select("rank", "score").rows():
        if score is None:
            assert rank is None
        else:
            assert rank == 1 + sum(1 for other in scores if other is not None and other > score)


# ---------------------------------------------------------------- help texts follow data/metrics.toml

def changed_settings(monkeypatch, **changes):
    original = settings.metric_settings()
    monkeypatch.setattr(settings, "metric_settings", lambda: {**original, **changes})


def test_help_texts_follow_the_limits_and_weights(monkeypatch):
    assert metric("appeals.on_time_rate").help().startswith("48 小时内办结的工单 ÷ 截至统计时点已过 48 小时时限")
    changed_settings(monkeypatch, resolution_limit_hours=36, basic_satisfied_weight=0.8,
                     composite_weights={"response": 0.2, "resolution": 0.4, "satisfaction": 0.4})
    assert metric("appeals.on_time_rate").help() == (
        "36 小时内办结的工单 ÷ 截至统计时点已过 36 小时时限或已办结的工单。"
        "尚在时限内、还没办结的工单不在分母里，所以按时办结率可以高于办结率。")
    assert "还没办结的工单，所以办结率可以低于按时办结率" in metric("appeals.resolution_rate").help()
    assert "36 小时" in metric("appeals.overdue_open").help()
    assert metric("appeals.satisfaction_score").help() == "（满意 + 0.8 × 基本满意）÷ 有评价的工单，折合百分制。"
    assert metric("appeals.composite").help().startswith("0.2 × 响应率 + 0.4 × 办结率 + 0.4 × 满意度得分")


def test_the_pdf_definitions_and_the_numbers_follow_a_changed_limit(monkeypatch, fixture_db):
    from etl.db import read_only

    with read_only(fixture_db) as con:
        before = stats(con, W10)["appeals"]
    changed_settings(monkeypatch, resolution_limit_hours=200)
    with read_only(fixture_db) as con:
        after = stats(con, W10)["appeals"]
        data = json.loads(json.dumps(collect(con, "2026-W10"), default=str))
    assert before["overdue_open"] == 2 and after["overdue_open"] == 0  # nothing is 200 h old at as-of
    source = build_typst(data)
    assert "200 小时内办结的工单" in source and "48 小时内办结" not in source


# ---------------------------------------------------------------- the catalogue is complete

def test_every_number_stats_and_the_pdf_print_is_declared():
    assert {f"appeals.{key}" for key in appeals.RATE_KEYS} <= set(CATALOGUE)
    for kpi in [*APPEAL_KPIS, *OTHER_KPIS, *APPEAL_COLUMNS]:
        assert CATALOGUE[kpi.id] is kpi
    for m in CATALOGUE.values():
        assert m.unit in display.NUMERIC and m.better in ("up", "down", None)
        assert m.help() and "{" not in m.help(), m.id  # every help states a definition, settings filled in
        assert 0 <= m.digits <= 2


def test_the_summaries_hold_only_declared_numbers(fixture_db):
    from etl.db import read_only

    with read_only(fixture_db) as con:
        result = stats(con, W10)
    for section in ("appeals", "complaints", "surveys", "scenes"):
        for key, value in result[section].items():
            if key != "absent_columns":
                assert f"{section}.{key}" in CATALOGUE, (section, key)
                assert isinstance(value, (int, float)) or value is None


def test_a_text_column_cannot_carry_a_number():
    """A table's number must come from a catalogue entry: a Text column is text, a flag or a time."""
    with pytest.raises(ValueError):
        Text("received", "受理量", "count")


def test_figure_inputs_name_real_columns_and_distinct_figures():
    for kind in ("appeals", "complaints", "scenes"):
        inputs = catalogue.figure_inputs(kind)
        columns = {c.name for c in KINDS[kind].columns}
        labels = [label for label, _ in inputs.values()]
        assert len(labels) == len(set(labels))
        for _, needed in inputs.values():
            assert set(needed) <= columns
    assert figures_without("appeals", ["first_response_at"]) == ["响应率", "综合得分", "首接响应用时"]
    assert figures_without("complaints", ["three_party"]) == ["三方办占比", "三方办"]


def test_the_loader_knows_exactly_the_columns_the_catalogue_computes_from():
    """The loader reports absent columns from the contract's `measured` flags (it sits below the
    metrics): they must be exactly the input columns the catalogue declares."""
    from metrics.common import input_columns

    for kind in KINDS:
        assert KINDS[kind].measured() == input_columns(kind), kind
    assert KINDS["appeals"].measured() == ["dispatched_at", "first_response_at", "resolved_at", "feedback_at",
                                           "closed_at", "satisfaction"]


# ---------------------------------------------------------------- the pages' one adapter

def test_the_adapter_calls_any_metric_by_its_module_and_name(monkeypatch, fixture_db):
    from dashboard import data

    monkeypatch.setenv("DASHBOARD_DB", str(fixture_db))
    assert data.get(appeals.summary, W10)["received"] == 7
    assert data.get(rankings.street_ranking, W10).select("rank", "street").rows()[:2] == [(1, "蓬莱阁街道"), (2, "登州街道")]
    assert data.get(compounds.profile, None, "C1")["name"] == "海景苑"
    with pytest.raises(ValueError):
        data.get(lambda con: 1)


def test_a_publish_warms_what_pages_asked_for(monkeypatch, tmp_path):
    """After a load publishes a new file, the settled calls pages made are computed for it in the
    background: the next view reads them without computing; a running period's call is not redone."""
    from dashboard import data
    from tests.conftest import build_fixture_db

    db = build_fixture_db(tmp_path / "warm.duckdb")
    monkeypatch.setenv("DASHBOARD_DB", str(db))
    computed = []
    real = appeals.summary

    def counted(con, scope):
        computed.append(scope)
        return real(con, scope)

    monkeypatch.setattr(appeals, "summary", counted)
    counted.__module__, counted.__qualname__ = real.__module__, real.__qualname__
    running = Scope(W10.start, W10.end, W10.moment - timedelta(days=2))  # seen before its end: a running period
    assert data.get(counted, W10)["received"] == 7
    data.get(counted, running)
    assert len(computed) == 2
    (report,) = load_files(db, "appeals", [Path(__file__).parent / "fixtures" / "appeals_gbk.csv"])
    assert report.refused is None  # a re-send: a new file published, the same numbers
    data.get(compounds.profile, None, "C1")  # a session meets the new file
    data.warming.join(timeout=60)
    assert computed[2:] == [W10]  # warmed: the settled week, not the running one
    assert data.get(counted, W10)["received"] == 7 and len(computed) == 3  # read, not computed


def test_pages_read_the_previous_file_until_the_new_ones_numbers_are_ready(monkeypatch, tmp_path):
    """A publish does not turn the pages' numbers cold: they read the previous file while the
    warm-up computes the new one's, then switch; the data desk (and a new file waiting longer than
    HOLD_SECONDS) reads the live file."""
    from dashboard import data
    from etl import batches
    from tests.conftest import build_fixture_db
    from tests.test_concurrency import appeals_csv

    db = build_fixture_db(tmp_path / "hold.duckdb")
    monkeypatch.setenv("DASHBOARD_DB", str(db))
    opened = threading.Event()
    opened.set()
    real = appeals.summary

    threads = []

    def gated(con, scope):  # the warm-up waits here while `opened` is clear
        threads.append(con.execute("SELECT current_setting('threads')").fetchall()[0][0])
        assert opened.wait(timeout=60)
        return real(con, scope)

    monkeypatch.setattr(appeals, "summary", gated)
    gated.__module__, gated.__qualname__ = real.__module__, real.__qualname__
    assert data.get(gated, W10)["received"] == 7
    batches_before = data.batch_history().height

    opened.clear()
    load_files(db, "appeals", [appeals_csv(tmp_path / "three.csv", 3, "H")])
    assert data.get(gated, W10)["received"] == 7  # met the new file: the previous one is read
    assert data.newer_data_pending()
    assert data.get(compounds.profile, None, "C1")["name"] == "海景苑"
    assert data.batch_history().height == batches_before + 1  # the desk sees the load at once
    opened.set()
    data.warming.join(timeout=60)
    assert not data.newer_data_pending()
    assert data.get(gated, W10)["received"] == 10
    # The warm-up computed on one DuckDB thread (it leaves the cores to the sessions); pages then
    # read the new file with DuckDB's own number of threads.
    default = duckdb.connect().execute("SELECT current_setting('threads')").fetchall()[0][0]
    data.get(gated, W10.previous())
    assert threads == [default, 1, default]

    opened.clear()  # a warm-up that does not finish: the new file shows after HOLD_SECONDS
    monkeypatch.setattr(data, "HOLD_SECONDS", 0.0)
    load_files(db, "appeals", [appeals_csv(tmp_path / "two.csv", 2, "J")])
    assert data.get(compounds.profile, None, "C1")["name"] == "海景苑"  # starts the warm-up
    # (not `gated`: a page asking for a number the warm-up is computing waits for it)
    assert data.get(batches.history).height == batches_before + 2
    opened.set()
    data.warming.join(timeout=60)
    assert data.get(gated, W10)["received"] == 12


def _counts(**given) -> dict:
    """A row of appeal counts as the queries return it: every column carried, the rest zero."""
    row = {name: 0 for name in appeals.count_columns()} | {"received": 1}
    return row | {f"carried_{c}": 1 for c in common.input_columns("appeals")} | given


def _half_up(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) * 100 / Decimal(value.denominator)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def test_scores_round_from_the_exact_value():
    """0.9 × 9 / 24 is 0.3375 exactly (33.8), though float steps make it 0.33749999999999997 (33.7)."""
    rates = appeals._rates(_counts(evaluated=24, basically_satisfied=9))
    assert display.number(rates["satisfaction_score"], "score") == "33.8"
    # 0.1 × 1 + 0.5 × 3/8 + 0.4 × 1/8 = 0.3375
    rates = appeals._rates(_counts(received=8, responded_in_time=8, response_due_count=8, resolved=3,
                                   carried_resolved_at=8, evaluated=8, satisfied=1))
    assert display.number(rates["composite"], "score") == "33.8"


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.integers(0, 60), st.integers(0, 60), st.integers(0, 60), st.integers(1, 60), st.integers(0, 60),
       st.integers(1, 60))
def test_every_score_reads_as_its_exact_value_rounded_half_up(satisfied, basic, unsatisfied, due, responded, known):
    """Whatever the counts: the score and the composite read as the exact fractions (weights as
    data/metrics.toml writes them) rounded half up, the one rule."""
    evaluated = satisfied + basic + unsatisfied
    responded, resolved = min(responded, due), min(responded, known)
    rates = appeals._rates(_counts(received=max(due, known), satisfied=satisfied, basically_satisfied=basic,
                                   evaluated=evaluated, responded_in_time=responded, response_due_count=due,
                                   resolved=resolved, carried_resolved_at=known))
    chosen = settings.metric_settings()
    weight = chosen["composite_weights"]
    if not evaluated:
        assert rates["satisfaction_score"] is None and rates["composite"] is None
        return
    score = (satisfied + Fraction(repr(chosen["basic_satisfied_weight"])) * basic) / evaluated
    composite = (Fraction(repr(weight["response"])) * Fraction(responded, due)
                 + Fraction(repr(weight["resolution"])) * Fraction(resolved, known)
                 + Fraction(repr(weight["satisfaction"])) * score)
    assert display.number(rates["satisfaction_score"], "score") == f"{_half_up(score)}"
    assert display.number(rates["composite"], "score") == f"{_half_up(composite)}"
