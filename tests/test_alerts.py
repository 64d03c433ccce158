"""Early warnings (metrics/alerts.py) on hand-made files loaded through the real loader.

Settings as in data/metrics.toml: limits 24/48/72 h, due soon within 12 h; alarms over 7 recent
days against 8 baseline weeks, at least 5 events, at least 2x expected, p <= 0.0007, expected
floor 0.5, survey prior 10 answers (the test: metrics/README.md); repeats within 30 days at rapidfuzz ratio >= 80.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from etl import schema
from etl.load import load_files
from metrics import alerts
from metrics.scope import Scope

ROOT = Path(__file__).resolve().parent.parent

COMPOUNDS = """小区编码,小区名称,所属街道,社区,小区类型,户数,是否重点整治小区
C1,海景苑,登州街道,东城社区,老旧小区,200,是
C2,东城佳苑,登州街道,东城社区,商品房小区,400,否
C3,蔚蓝彼岸,新港街道,新港社区,商品房小区,500,否
"""
APPEAL_HEADER = "工单编号,来源渠道,诉求类别,受理时间,街道,小区编码,首次响应时间,办结时间,反馈时间,诉求内容\n"


def _db(tmp_path, **files: str):
    """A database of the registry plus the given files (kind=csv text), loaded by the loader."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "alerts.duckdb"
    for kind, text in [("compounds", COMPOUNDS), *files.items()]:
        csv = tmp_path / f"{kind}.csv"
        csv.write_text(text, encoding="utf-8")
        (report,) = load_files(path, kind, [csv])
        assert report.refused is None and report.rejected == 0, (report.refused, report)
    return duckdb.connect(str(path), read_only=True)


def _appeals(rows: list[tuple]) -> str:
    """rows: (id, category, received, compound, responded, resolved, fed back, content); the street
    comes from the compound, or is 新港街道 for an appeal without one."""
    return APPEAL_HEADER + "".join(
        f"{i},12345热线,{cat},{rec},{'' if c else '新港街道'},{c},{r1 or ''},{r2 or ''},{r3 or ''},{text or ''}\n"
        for i, cat, rec, c, r1, r2, r3, text in rows)


def _binomial_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p)."""
    return sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k, n + 1))


# ---------------------------------------------------------------- 临期 / 超期

T = datetime(2026, 6, 10, 12, 0)
DEADLINES = _appeals([
    # next limit = that of the first step after the last one done by T:
    ("D01", "环境卫生", "2026-06-10 02:00", "C1", None, None, None, ""),  # 响应 due 06-11 02:00: +14 h, neither
    ("D02", "环境卫生", "2026-06-09 20:00", "C1", None, None, None, ""),  # 响应 due 06-10 20:00: +8 h
    ("D03", "环境卫生", "2026-06-09 10:00", "C2", None, None, None, ""),  # 响应 due 06-10 10:00: -2 h
    ("D04", "物业管理", "2026-06-08 20:00", "C1", "2026-06-08 21:00", None, None, ""),  # 办结 due 06-10 20:00: +8 h
    ("D05", "物业管理", "2026-06-08 12:00", "C1", "2026-06-08 13:00", "2026-06-09 09:00", None, ""),
    # ^ 反馈 due 06-11 12:00: +24 h, neither
    ("D06", "物业管理", "2026-06-07 18:00", "C2", "2026-06-07 19:00", "2026-06-08 09:00", None, ""),
    # ^ 反馈 due 06-10 18:00: +6 h
    ("D07", "物业管理", "2026-06-07 10:00", "C2", "2026-06-07 11:00", "2026-06-08 09:00", "2026-06-08 10:00", ""),
    # ^ fed back: not open
    ("D08", "市政设施", "2026-06-08 00:00", "C1", "2026-06-09 08:00", None, None, ""),
    # ^ responded late, then 办结 due 06-10 00:00: -12 h
    ("D09", "市政设施", "2026-06-09 12:00", "C1", None, None, None, ""),  # 响应 due exactly at T: 0 h, not yet late
    ("D10", "市政设施", "2026-06-10 00:00", "C2", "2026-06-10 13:00", None, None, ""),
    # ^ responded after T: at T still 响应, due 06-11 00:00: +12 h, the window's edge
    ("D11", "噪音扰民", "2026-06-10 01:00", "C3", None, None, None, ""),  # 新港街道: 响应 due 06-11 01:00, +13 h
    ("D12", "噪音扰民", "2026-06-09 23:00", "C3", None, None, None, ""),  # 新港街道: +11 h
    ("D13", "噪音扰民", "2026-06-10 13:00", "C3", None, None, None, ""),  # received after T: not counted
])


@pytest.fixture(scope="module")
def deadline_db(tmp_path_factory):
    return _db(tmp_path_factory.mktemp("deadlines"), appeals=DEADLINES)


def test_due_soon_list(deadline_db):
    due = alerts.due_soon(deadline_db, T)
    assert due.select("appeal_id", "stage", "hours_left").rows() == [
        ("D09", "响应", 0.0), ("D06", "反馈", 6.0), ("D02", "响应", 8.0), ("D04", "办结", 8.0),
        ("D12", "响应", 11.0), ("D10", "响应", 12.0)]
    first = due.row(0, named=True)
    assert (first["street"], first["community"], first["compound_id"], first["compound_name"], first["category"],
            first["due_at"]) == ("登州街道", "东城社区", "C1", "海景苑", "市政设施", datetime(2026, 6, 10, 12, 0))


def test_overdue_list(deadline_db):
    late = alerts.overdue(deadline_db, T)
    assert late.select("appeal_id", "stage", "due_at", "hours_left").rows() == [
        ("D08", "办结", datetime(2026, 6, 10, 0, 0), -12.0), ("D03", "响应", datetime(2026, 6, 10, 10, 0), -2.0)]


def test_deadlines_by_street_and_window(deadline_db):
    assert alerts.due_soon(deadline_db, T, street="新港街道")["appeal_id"].to_list() == ["D12"]
    assert alerts.due_soon(deadline_db, T, street="登州街道", hours=6)["appeal_id"].to_list() == ["D09", "D06"]
    # D01 (+14 h) and D11 (+13 h) come in with a 14-hour window; D05 (+24 h) does not
    assert set(alerts.due_soon(deadline_db, T, hours=14)["appeal_id"]) == {
        "D09", "D06", "D02", "D04", "D12", "D10", "D11", "D01"}
    counts = alerts.deadline_counts(deadline_db, T)
    assert counts.rows() == [("登州街道", 5, 2), ("新港街道", 1, 0)]
    # an hour later D09 is 1 h overdue and D01 (then +13 h) is still outside the window
    later = alerts.overdue(deadline_db, T + timedelta(hours=1))
    assert later["appeal_id"].to_list() == ["D08", "D03", "D09"]


# ---------------------------------------------------------------- 异动预警

ALARM_APPEALS = _appeals([
    # C1 × 供暖供水: no history; 7 in the last week: 06-05, 06-06, 06-07, 06-08 (two), 06-09, 06-10, each 09:00
    *[(f"H{i}", "供暖供水", f"2026-06-{d} {h}", "C1", None, None, None, "")
      for i, (d, h) in enumerate([("05", "09:00"), ("06", "09:00"), ("07", "09:00"), ("08", "09:00"),
                                  ("08", "10:00"), ("09", "09:00"), ("10", "09:00")])],
    # C2 × 物业管理: 28 in the baseline (4 a week) and 7 recent: 7 >= 2 x 3.5 but of the 35, 7 or more in
    # the recent 7 of 63 days has P = 0.087 (Binomial(35, 1/9))
    *[(f"P{w}{k}", "物业管理", (date(2026, 4, 13) + timedelta(weeks=w, days=k)).isoformat() + " 10:00", "C2",
       None, None, None, "") for w in range(7) for k in range(4)],
    *[(f"Q{k}", "物业管理", f"{date(2026, 6, 4) + timedelta(days=k)} 10:00", "C2", None, None, None, "") for k in range(7)],
    # C3 × 噪音扰民: 4 recent, no history: fewer than 5 (though (1/9)^4 = 1.5e-4)
    *[(f"N{k}", "噪音扰民", f"2026-06-0{k + 5} 10:00", "C3", None, None, None, "") for k in range(4)],
])
# C2's complaints: one a week (8 in the baseline, expected 8 x 7/56 = 1), then 7 on 06-09
ALARM_COMPLAINTS = "投诉编号,小区编码,问题类别,投诉时间\n" + "".join(
    f"T{k},C2,垃圾清运,{(date(2026, 4, 15) + timedelta(weeks=k)).isoformat()} 10:00\n" for k in range(7)
) + "T7,C2,垃圾清运,2026-06-01 10:00\n" + "".join(f"U{k},C2,垃圾清运,2026-06-09 10:0{k}\n" for k in range(7))
# C1's survey: 20 answers on 05-10 with 2 不满意 (share 0.1, the district's too), then 10 on 06-08 with 6
ALARM_SURVEYS = "问卷编号,调查日期,小区编码,测评项目,评价\n" + "".join(
    f"S{k},2026-05-10,C1,物业服务,{'不满意' if k < 2 else '满意'}\n" for k in range(20)) + "".join(
    f"V{k},2026-06-08,C1,物业服务,{'不满意' if k < 6 else '满意'}\n" for k in range(10))


@pytest.fixture(scope="module")
def alarm_db(tmp_path_factory):
    return _db(tmp_path_factory.mktemp("alarms"), appeals=ALARM_APPEALS, complaints=ALARM_COMPLAINTS,
               surveys=ALARM_SURVEYS)


def test_alarms(alarm_db):
    found = alerts.alarms(alarm_db, T)
    rows = {(r["place_id"], r["feed"], r["category"]): r for r in found.to_dicts()}
    assert set(rows) == {("C1", "appeals", "供暖供水"), ("C2", "complaints", None), ("C1", "surveys", None)}
    heat = rows["C1", "appeals", "供暖供水"]
    # expected = max(0 baseline, floor 0.5); all 7 events of the 63 days fell in the recent 7 days:
    # score = P(X >= 7 | Binomial(7, 7/63)) = (1/9)^7 = 2.1e-7. As of 06-09 12:00 six were in the
    # window, as of 06-08 12:00 five ((1/9)^5 = 1.7e-5: alarm), as of 06-07 12:00 three: the run
    # began on 06-08.
    assert (heat["place_name"], heat["street"], heat["observed"], heat["expected"], heat["start"],
            heat["is_key_target"]) == ("海景苑", "登州街道", 7, 0.5, date(2026, 6, 8), True)
    assert heat["score"] == pytest.approx((1 / 9) ** 7, rel=1e-9)
    # complaints: 7 observed, 8 x 7/56 = 1.0 expected; P(X >= 7 | Binomial(15, 1/9)) = 6.0e-4. As of
    # 06-09 12:00 the 7 were in already (the baseline then still held the 8), as of 06-08 12:00 none:
    # the run began on 06-09
    bins = rows["C2", "complaints", None]
    assert (bins["observed"], bins["expected"], bins["start"], bins["is_key_target"]) == (
        7, 1.0, date(2026, 6, 9), False)
    assert bins["score"] == pytest.approx(_binomial_tail(7, 15, 1 / 9), rel=1e-9)
    # surveys: share = (2 + 10 x 0.1) / (20 + 10) = 0.1; expected 10 answers x 0.1 = 1.0; 6 不满意:
    # P(X >= 6 | Binomial(10, 0.1)) = 1.5e-4; the 06-08 answers are in the windows of 06-08 12:00
    # (j = 2) and later, not of 06-07 12:00
    sat = rows["C1", "surveys", None]
    assert (sat["observed"], sat["start"]) == (6, date(2026, 6, 8))
    assert sat["expected"] == pytest.approx(1.0)
    assert sat["score"] == pytest.approx(_binomial_tail(6, 10, 0.1), rel=1e-9)
    # most improbable first
    assert found["score"].to_list() == sorted(found["score"].to_list())


def test_alarms_scoped_and_replayed(alarm_db):
    assert alerts.alarms(alarm_db, T, street="新港街道").height == 0
    assert set(alerts.alarms(alarm_db, T, community="东城社区")["place_id"]) == {"C1", "C2"}
    # a week later, as of 06-17 12:00, the window (06-10 12:00, 06-17 12:00] holds none of them: no alarm
    assert alerts.alarms(alarm_db, T + timedelta(days=7)).height == 0
    days = alerts.alarm_history(alarm_db, T)
    heat = days.filter((days["place_id"] == "C1") & (days["feed"] == "appeals"))
    assert heat["day"].to_list() == [date(2026, 6, 8), date(2026, 6, 9), date(2026, 6, 10)]
    assert heat["observed"].to_list() == [5, 6, 7]
    # the stricter p-value of a setting drops the complaints (6.0e-4) and the surveys (1.5e-4)
    strict = alerts.alarms(alarm_db, T, settings={"p_value": 1e-4})
    assert strict.select("place_id", "feed").rows() == [("C1", "appeals")]


# ---------------------------------------------------------------- 重复诉求 / 真解决率

R1 = "海景苑暖气不热，室温不达标"  # 13 characters
R2 = R1 + "，请尽快处理"  # 19: LCS with R1 = 13, ratio 2 x 13 / 32 = 81.25 >= 80
R3 = "海景苑停水未提前通知"  # 10: LCS with R1 = 3 (海景苑), ratio 6 / 23 = 26
REPEATS = _appeals([
    ("R4", "供暖供水", "2026-05-01 09:00", "C1", "2026-05-01 10:00", "2026-05-01 12:00", "2026-05-01 13:00", R1),
    ("R1", "供暖供水", "2026-06-01 09:00", "C1", "2026-06-01 10:00", "2026-06-02 09:00", "2026-06-02 10:00", R1),
    ("R5", "供暖供水", "2026-06-02 09:00", "C2", "2026-06-02 10:00", "2026-06-03 09:00", "2026-06-03 10:00", R1),
    ("R6", "环境卫生", "2026-06-02 10:00", "C1", "2026-06-02 11:00", "2026-06-02 12:00", "2026-06-02 13:00", R1),
    ("R2", "供暖供水", "2026-06-05 09:00", "C1", "2026-06-05 10:00", "2026-06-06 09:00", "2026-06-06 10:00", R2),
    ("R3", "供暖供水", "2026-06-20 09:00", "C1", "2026-06-20 10:00", "2026-06-21 09:00", "2026-06-21 10:00", R3),
    ("R7", "供暖供水", "2026-06-25 09:00", "C1", "2026-06-25 10:00", "2026-06-26 09:00", "2026-06-26 10:00", R1),
    ("R8", "供暖供水", "2026-06-26 09:00", "", "2026-06-26 10:00", "2026-06-26 11:00", "2026-06-26 12:00", R1),
])
REPEAT_AS_OF = datetime(2026, 7, 20, 12, 0)


@pytest.fixture(scope="module")
def repeat_db(tmp_path_factory):
    return _db(tmp_path_factory.mktemp("repeats"), appeals=REPEATS)


def test_repeat_links(repeat_db):
    links = alerts.repeat_links(repeat_db, REPEAT_AS_OF)
    # R1 is not a repeat of R4 (31 days apart), R5 is another compound, R6 another category, R3 is
    # another text, R8 has no compound; R7 repeats the latest near-duplicate before it, R2.
    assert links.select("appeal_id", "repeats", "similarity").rows() == [("R2", "R1", 81.25), ("R7", "R2", 81.25)]


def test_repeat_rates(repeat_db):
    june = Scope(date(2026, 6, 1), date(2026, 7, 1), REPEAT_AS_OF)
    rates = alerts.repeat_rates(repeat_db, june)
    # linkable June appeals (a compound and a content): R1 R5 R6 R2 R3 R7 = 6 (R8 has no compound);
    # repeats R2, R7 -> 2/6. Resolved with 30 days passed by 07-20 12:00: R1 (06-02), R5, R6, R2 (06-06);
    # R3 (06-21) and R7 (06-26) not yet. R1 was followed within 30 days of its resolution by R2, R2 by
    # R7: true resolution 2/4.
    assert rates == {"appeals": 6, "repeats": 2, "repeat_rate": pytest.approx(2 / 6), "resolved_settled": 4,
                     "truly_resolved": 2, "true_resolution_rate": 0.5}
    # R4's resolution (05-01 12:00) + 30 days = 05-31 12:00, before R1: R4 stayed resolved
    may = alerts.repeat_rates(repeat_db, Scope(date(2026, 5, 1), date(2026, 6, 1), REPEAT_AS_OF))
    assert (may["repeat_rate"], may["true_resolution_rate"]) == (0.0, 1.0)
    assert alerts.repeat_rates(repeat_db, Scope(date(2026, 8, 1), date(2026, 9, 1), REPEAT_AS_OF))[
        "repeat_rate"] is None
    # as of 06-10 R7 is not there yet and nothing resolved in June has had its 30 days
    early = alerts.repeat_rates(repeat_db, Scope(date(2026, 6, 1), date(2026, 7, 1), datetime(2026, 6, 10)))
    assert (early["appeals"], early["repeats"], early["true_resolution_rate"]) == (4, 1, None)


def test_repeat_chain(repeat_db):
    chain = alerts.repeat_chain(repeat_db, "R7", REPEAT_AS_OF)
    assert chain.select("appeal_id", "repeats", "similarity").rows() == [
        ("R1", None, None), ("R2", "R1", 81.25), ("R7", "R2", 81.25)]
    assert alerts.repeat_chain(repeat_db, "R1", REPEAT_AS_OF)["appeal_id"].to_list() == ["R1", "R2", "R7"]
    assert alerts.repeat_chain(repeat_db, "R3", REPEAT_AS_OF).height == 0  # alone
    assert alerts.repeat_chain(repeat_db, "R8", REPEAT_AS_OF).height == 0  # no compound
    assert alerts.repeat_chain(repeat_db, "无此工单", REPEAT_AS_OF).height == 0


# ---------------------------------------------------------------- properties

def _memory_db(daily: list[int]) -> duckdb.DuckDBPyConnection:
    """One compound whose 供暖供水 appeals number daily[d] on day d, the last day being T's."""
    con = duckdb.connect()
    schema.create_all(con)
    con.execute("INSERT INTO compounds (compound_id, name, street, community, compound_type, is_key_target, "
                "batch_id) VALUES ('C1', '海景苑', '登州街道', '东城社区', '老旧小区', FALSE, 1)")
    first = T - timedelta(days=len(daily) - 1)
    rows = [(f"A{d}-{k}", first + timedelta(days=d, minutes=-30 - k)) for d, n in enumerate(daily) for k in range(n)]
    if rows:
        con.execute("INSERT INTO appeals (appeal_id, channel, category, received_at, street, compound_id, is_property, "
                    "street_from_compound, community_from_compound, batch_id) SELECT unnest($ids), '12345热线', "
                    "'供暖供水', unnest($times), '登州街道', 'C1', FALSE, FALSE, FALSE, 1",
                    {"ids": [r[0] for r in rows], "times": [r[1] for r in rows]})
    return con


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 6))
def test_flat_history_never_alarms(per_day):
    con = _memory_db([per_day] * 140)
    assert alerts.alarms(con, T).height == 0
    assert alerts.alarm_history(con, T).height == 0


@hsettings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(0, 2), min_size=63, max_size=63), st.lists(st.integers(0, 3), min_size=7, max_size=7),
       st.integers(0, 6), st.integers(1, 5))
def test_more_recent_events_never_remove_an_alarm(baseline, recent, day, extra):
    """Adding appeals to the recent window raises the observed count and leaves the expected one
    (and P(X >= k + 1 | n + 1) <= P(X >= k | n)): an alarm stays; and the count, ratio and p-value
    rules hold for whatever alarms."""
    before = alerts.alarms(_memory_db(baseline + recent), T)
    more = list(recent)
    more[day] += extra
    after = alerts.alarms(_memory_db(baseline + more), T)
    assert before.height <= after.height
    for row in after.to_dicts():
        assert row["observed"] >= 5 and row["observed"] >= 2 * row["expected"] and row["score"] <= 0.0007


TEXTS = ["暖气不热", "暖气不热，室温低", "暖气片漏水", "楼道灯不亮", "楼道灯坏了不亮"]


@hsettings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["C1", "C2"]), st.sampled_from(["供暖供水", "市政设施"]),
                          st.integers(0, 80 * 24), st.sampled_from(TEXTS), st.one_of(st.none(), st.integers(1, 600))),
                min_size=1, max_size=30))
def test_repeats_match_the_definition_pair_by_pair(rows):
    """Links and both rates equal a brute-force reading of the definition over every pair."""
    from rapidfuzz import fuzz

    start = datetime(2026, 3, 1)
    as_of = start + timedelta(days=100)
    appeals = [{"id": f"A{n:02d}", "c": c, "cat": cat, "at": start + timedelta(hours=h), "text": text,
                "res": None if r is None else start + timedelta(hours=h + r)} for n, (c, cat, h, text, r) in enumerate(rows)]
    con = duckdb.connect()
    schema.create_all(con)
    con.execute("INSERT INTO compounds (compound_id, name, street, community, compound_type, is_key_target, batch_id) "
                "VALUES ('C1', '甲', '登州街道', '东城社区', '老旧小区', FALSE, 1), "
                "('C2', '乙', '登州街道', '东城社区', '老旧小区', FALSE, 1)")
    con.execute("INSERT INTO appeals (appeal_id, channel, category, received_at, street, compound_id, resolved_at, "
                "content, is_property, street_from_compound, community_from_compound, batch_id) "
                "SELECT unnest($i), '12345热线', unnest($cat), unnest($at), '登州街道', unnest($c), unnest($res), "
                "unnest($text), FALSE, FALSE, FALSE, 1",
                {k: [a[v] for a in appeals] for k, v in
                 (("i", "id"), ("cat", "cat"), ("at", "at"), ("c", "c"), ("res", "res"), ("text", "text"))})
    window = timedelta(days=30)

    def near(a, b):
        return a["c"] == b["c"] and a["cat"] == b["cat"] and fuzz.ratio(a["text"], b["text"]) >= 80

    def before(a, b):
        return (a["at"], a["id"]) < (b["at"], b["id"])

    expected = {}
    for b in appeals:
        earlier = [a for a in appeals if before(a, b) and b["at"] <= a["at"] + window and near(a, b)]
        if earlier:
            expected[b["id"]] = max(earlier, key=lambda a: (a["at"], a["id"]))["id"]
    got = alerts.repeat_links(con, as_of)
    assert dict(zip(got["appeal_id"], got["repeats"])) == expected

    period = [a for a in appeals if a["at"] < start + timedelta(days=40)]
    settled = [a for a in period if a["res"] is not None and a["res"] + window <= as_of]
    stayed = [a for a in settled if not any(
        near(a, b) and a["res"] < b["at"] <= a["res"] + window for b in appeals)]
    rates = alerts.repeat_rates(con, Scope(None, (start + timedelta(days=40)).date(), as_of))
    assert (rates["appeals"], rates["repeats"], rates["resolved_settled"], rates["truly_resolved"]) == (
        len(period), sum(a["id"] in expected for a in period), len(settled), len(stayed))


def test_steps_whose_column_the_extract_lacked_are_not_waited_for(tmp_path):
    """Absent is not zero: an extract without 首次响应时间 is tracked from 办结 on; one without any
    of the three stamps cannot tell an open appeal from a finished one, and lists nothing."""
    con = _db(tmp_path, appeals="工单编号,来源渠道,诉求类别,受理时间,小区编码,办结时间\n"
                                "E1,12345热线,环境卫生,2026-06-09 04:00,C1,\n"  # 办结 due 06-11 04:00: +40 h
                                "E2,12345热线,环境卫生,2026-06-08 20:00,C1,\n"  # 办结 due 06-10 20:00: +8 h
                                "E3,12345热线,环境卫生,2026-06-07 10:00,C1,\n")  # 办结 due 06-09 10:00: -26 h
    assert alerts.due_soon(con, T).select("appeal_id", "stage").rows() == [("E2", "办结")]
    assert alerts.overdue(con, T).select("appeal_id", "stage", "hours_left").rows() == [("E3", "办结", -26.0)]
    bare = _db(tmp_path / "bare", appeals="工单编号,来源渠道,诉求类别,受理时间,小区编码\n"
                                          "F1,12345热线,环境卫生,2026-06-07 10:00,C1\n")
    assert alerts.deadlines(bare, T).height == 0


# ---------------------------------------------------------------- `etl alerts`, `stats --json`, the catalogue

def _path(con) -> str:
    return next(row[2] for row in con.execute("PRAGMA database_list").fetchall() if row[2])


def test_alerts_json_lists_due_soon_overdue_and_repeats(deadline_db):
    from tests.test_cli import etl

    result = etl("alerts", "--json", "--as-of", "2026-06-10T12:00", db=_path(deadline_db))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"due_soon", "overdue", "alarms", "repeats"}
    assert [row["appeal_id"] for row in out["due_soon"]] == ["D09", "D06", "D02", "D04", "D12", "D10"]
    assert out["due_soon"][0] == {"appeal_id": "D09", "street": "登州街道", "community": "东城社区",
                                  "compound_id": "C1", "category": "市政设施", "stage": "响应",
                                  "due_at": "2026-06-10 12:00:00"}
    assert out["overdue"] == [
        {"appeal_id": "D08", "street": "登州街道", "community": "东城社区", "compound_id": "C1",
         "category": "市政设施", "stage": "办结", "due_at": "2026-06-10 00:00:00"},
        {"appeal_id": "D03", "street": "登州街道", "community": "东城社区", "compound_id": "C2",
         "category": "环境卫生", "stage": "响应", "due_at": "2026-06-10 10:00:00"}]
    # two appeals of one compound × category at most: no alarm; no content: nothing to link
    assert out["alarms"] == [] and out["repeats"] == {"repeat_rate": None, "true_resolution_rate": None}
    street = json.loads(etl("alerts", "--json", "--as-of", "2026-06-10T12:00", "--street", "新港街道",
                            db=_path(deadline_db)).stdout)
    assert [row["appeal_id"] for row in street["due_soon"]] == ["D12"] and street["overdue"] == []


def test_alerts_for_people_and_a_wrong_street(deadline_db):
    from tests.test_cli import STREETS, assert_one_chinese_line, etl

    result = etl("alerts", "--as-of", "2026-06-10T12:00", "--street", "新港街道", db=_path(deadline_db))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "预警时点 2026-06-10 12:00", "", "临期工单（件）：1", "  D12 噪音扰民 响应时限 2026-06-10 23:00 新港街道 · 新港社区 · C3",
        "", "环节超时工单（件）：0", "", "异动预警：0 条", "", "重复诉求(预警时点前 90 天受理的诉求)",
        "  重复诉求率：—", "  真解决率：—"]
    assert_one_chinese_line(etl("alerts", "--street", "不存在街道", db=_path(deadline_db)), 2,
                            f"参数错误：没有街道“不存在街道”。{STREETS}")


def test_alerts_json_alarms(alarm_db):
    from tests.test_cli import etl

    out = json.loads(etl("alerts", "--json", "--as-of", "2026-06-10T12:00", db=_path(alarm_db)).stdout)
    heat = next(a for a in out["alarms"] if a["feed"] == "appeals")
    assert {k: heat[k] for k in heat if k != "score"} == {
        "place_id": "C1", "place_name": "海景苑", "street": "登州街道", "feed": "appeals", "category": "供暖供水",
        "start": "2026-06-08", "observed": 7, "expected": 0.5}
    assert heat["score"] == pytest.approx((1 / 9) ** 7, rel=1e-9)
    assert sorted((a["place_id"], a["feed"]) for a in out["alarms"]) == [
        ("C1", "appeals"), ("C1", "surveys"), ("C2", "complaints")]


def test_stats_json_carries_the_repeat_rates(repeat_db):
    from tests.test_cli import etl

    out = json.loads(etl("stats", "--json", "--from", "2026-06-01", "--to", "2026-07-01", "--as-of",
                         "2026-07-20T12:00", db=_path(repeat_db)).stdout)
    # as test_repeat_rates: 2 repeats of 6 linkable June appeals; 2 of 4 settled stayed resolved
    assert out["appeals"]["repeat_rate"] == pytest.approx(2 / 6)
    assert out["appeals"]["true_resolution_rate"] == 0.5


def test_the_warnings_are_declared_with_their_settings(monkeypatch):
    import settings
    from metrics.catalogue import metric

    assert metric("alerts.due_soon").help().endswith("在此后 12 小时内到期的工单。")
    original = settings.metric_settings()
    monkeypatch.setattr(settings, "metric_settings", lambda: {
        **original, "due_soon_hours": 6, "repeats": {"window_days": 14, "similarity": 90},
        "alarms": {**original["alarms"], "p_value": 0.001}})
    assert "此后 6 小时内" in metric("alerts.due_soon").help()
    assert "14 天内先有一件内容相近（脱敏后的文字相似度不低于 90" in metric("appeals.repeat_rate").help()
    assert "p 不大于 0.001 时预警" in metric("alerts.score").help()
    assert metric("alerts.score").text(alerts.significance((1 / 9) ** 7)) == "6.7"
    assert metric("alerts.score").text(alerts.significance(0.0)) == "307.7"


# ---------------------------------------------------------------- from an attack session

# C1 has no survey history; its 10 answers of 06-07 hold 5 不满意. The district (C2) answered
# 40 × 满意 on 05-11 and 40 × 不满意 on 04-08. As of 06-10 00:00 the baseline (days 7..62: dates
# 04-09 .. 06-02) holds only the 满意 answers: district share 0, expected max(10 × 0, 0.5) = 0.5,
# P(X >= 5 | Bin(10, 0.05)) = 6.4e-5: alarm. As of 06-09 00:00 the baseline (dates 04-08 .. 06-01)
# also holds the 40 不满意: district share 0.5, expected 10 × (0 + 10 × 0.5) / (0 + 10) = 5, and
# 5 < 2 × 5: no alarm. "start is the date of the earliest as-of of the unbroken run of alarmed
# days ending now": 06-10.
def _survey_answers(*groups: tuple[str, str, str, int, int]) -> str:
    """groups: (id prefix, date, compound, answers, of them 不满意)."""
    return "问卷编号,调查日期,小区编码,测评项目,评价\n" + "".join(
        f"{prefix}{k},{day},{compound},物业服务,{'不满意' if k < bad else '满意'}\n"
        for prefix, day, compound, answers, bad in groups for k in range(answers))


SURVEYS = _survey_answers(("S", "2026-06-07", "C1", 10, 5), ("T", "2026-05-11", "C2", 40, 0),
                          ("U", "2026-04-08", "C2", 40, 40))


def test_survey_alarm_start_is_replayed_with_each_days_district_share(tmp_path):
    con = _db(tmp_path, surveys=SURVEYS)
    as_of = datetime(2026, 6, 10)
    assert alerts.alarms(con, as_of - timedelta(days=1)).height == 0  # as of 06-09: no alarm
    (row,) = alerts.alarms(con, as_of).to_dicts()
    assert (row["place_id"], row["feed"], row["observed"], row["expected"]) == ("C1", "surveys", 5, 0.5)
    assert row["start"] == date(2026, 6, 10)  # each day replayed with that day's district share


# Two unrelated appeals of one compound and category: 灯坏了 (lamp broken) and 漏水 (leak), 0 % alike;
# each gave a phone number, which the loader masks as [电话已隐去]. "Names and phones are never used",
# yet the stored texts 灯坏了，电话[电话已隐去] (13) and 漏水，电话[电话已隐去] (12) share 10 characters of
# mask: ratio 2 × 10 / 25 = 80, a "repeat" (found by an attack session); the masks are left out.
MASKED = ("工单编号,来源渠道,诉求类别,受理时间,小区编码,首次响应时间,办结时间,反馈时间,诉求内容\n"
          "M1,12345热线,环境卫生,2026-06-01 09:00,C1,2026-06-01 10:00,2026-06-01 12:00,2026-06-01 13:00,"
          "灯坏了，电话13812345678\n"
          "M2,12345热线,环境卫生,2026-06-03 09:00,C1,2026-06-03 10:00,2026-06-03 12:00,2026-06-03 13:00,"
          "漏水，电话13987654321\n")


def test_a_masked_phone_number_does_not_make_two_unrelated_appeals_repeats(tmp_path):
    con = _db(tmp_path, appeals=MASKED)
    assert alerts.repeat_links(con, datetime(2026, 7, 10)).height == 0  # the masks alone made 80.0


# `etl alerts`: the rates of the appeals received from 0:00 of the day 90 days before as-of's day.
# As of 06-15 12:00 that is from 03-17 0:00: E1 (03-17 06:00) and E2 (03-20, repeating E1); as of
# 06-16 00:00 from 03-18: E2 alone, whose earlier text still makes it a repeat.
NINETY = ("工单编号,来源渠道,诉求类别,受理时间,小区编码,首次响应时间,办结时间,反馈时间,诉求内容\n"
          "E1,12345热线,环境卫生,2026-03-17 06:00,C1,2026-03-17 07:00,2026-03-17 08:00,2026-03-17 09:00,楼道灯坏了很久没人修\n"
          "E2,12345热线,环境卫生,2026-03-20 06:00,C1,2026-03-20 07:00,2026-03-20 08:00,2026-03-20 09:00,楼道灯坏了很久没人修\n")


def test_alerts_repeat_rates_cover_the_whole_days_from_90_days_before_as_of(tmp_path):
    con = _db(tmp_path, appeals=NINETY)
    path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()[0]
    con.close()

    def repeats(as_of: str) -> dict:
        out = subprocess.run([sys.executable, "-m", "etl", "alerts", "--json", "--as-of", as_of, "--db", path],
                             cwd=ROOT, capture_output=True, text=True, check=True).stdout
        return json.loads(out)["repeats"]

    assert repeats("2026-06-15T12:00") == {"repeat_rate": 0.5, "true_resolution_rate": 0.5}
    assert repeats("2026-06-16T00:00") == {"repeat_rate": 1.0, "true_resolution_rate": 1.0}


# X1 (海景苑 C1, its street 登州街道 from the registry) is resolved on 06-01; Y1, the same text in
# the same compound and category on 06-05, names 蓬莱阁街道 in its file. By the definition Y1
# repeats X1 (same compound and category, 4 days, ratio 100) and X1 is not truly resolved. The
# district page's by-street table says so (登州 真解决率 0 %, 蓬莱阁 重复诉求率 100 %); each street's
# own view (page, `stats --street`, the street's PDF) must say the same: the pool of comparisons
# holds the compound's appeals of every street (found by an attack session: it said the opposite).
CROSS = ("工单编号,来源渠道,诉求类别,受理时间,街道,小区编码,首次响应时间,办结时间,反馈时间,诉求内容\n"
         "X1,12345热线,环境卫生,2026-06-01 09:00,,C1,2026-06-01 10:00,2026-06-01 12:00,2026-06-01 13:00,楼道灯坏了很久没人修\n"
         "Y1,12345热线,环境卫生,2026-06-05 09:00,蓬莱阁街道,C1,2026-06-05 10:00,2026-06-05 12:00,2026-06-05 13:00,"
         "楼道灯坏了很久没人修\n")


def test_a_streets_repeat_rates_read_the_same_in_the_district_breakdown_and_in_its_own_view(tmp_path):
    con = _db(tmp_path, appeals=CROSS.replace("蓬莱阁街道", "新港街道"))
    whole = Scope(date(2026, 6, 1), date(2026, 8, 1), datetime(2026, 8, 1))
    rows = {r["street"]: (r["repeat_rate"], r["true_resolution_rate"])
            for r in alerts.repeat_rates_by(con, whole, "street").to_dicts()}
    assert rows == {"登州街道": (0.0, 0.0), "新港街道": (1.0, 1.0)}  # the definition's numbers
    for street in rows:
        own = alerts.repeat_rates(con, Scope(whole.start, whole.end, whole.as_of, street))
        assert (own["repeat_rate"], own["true_resolution_rate"]) == rows[street], street


# C1 and C2 (登州街道): C1's 10 answers of 06-07 hold 5 不满意, C2's 40 baseline answers are all
# 不满意; C3 (新港街道) gave 4,000 满意 in the baseline. The district's share is 40 / 4,040: C1
# expects max(10 × 40/4,040, 0.5) = 0.5, P(X ≥ 5 | Bin(10, 0.05)) = 6.4e-5: an alarm. 登州's own
# share would be 40 / 40 (C1 expects 10: no alarm), so a street leader would not see the alarm the
# district sees (found by an attack session).
PRIOR = _survey_answers(("S", "2026-06-07", "C1", 10, 5), ("T", "2026-05-11", "C2", 40, 40),
                       ("U", "2026-05-11", "C3", 4000, 0))


def test_a_compounds_survey_alarm_reads_the_same_in_its_streets_view_and_the_districts(tmp_path):
    con = _db(tmp_path, surveys=PRIOR)
    as_of = datetime(2026, 6, 10)
    district = alerts.alarms(con, as_of)
    assert district.select("place_id", "feed").rows() == [("C1", "surveys")]
    assert district["expected"].to_list() == [0.5]
    assert alerts.alarms(con, as_of, street="登州街道").drop("place_name").rows() == district.drop("place_name").rows()
    assert alerts.alarms(con, as_of, street="新港街道").is_empty()
