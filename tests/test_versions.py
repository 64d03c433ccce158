"""The issue's reproduced bugs, each with exact values: undo while a re-send is live, an older
extract, a compound moved then its registry batch undone, the last valid row of an id, and one
lock per database whatever path names it."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from access import audit
from etl.batches import UndoRefused, recheck, stale_csv, undo
from etl.db import read_only
from etl.load import check_files, load_files
from metrics import Scope, stats
from settings import local_now
from tests.conftest import FIXTURES, as_before_versions

ROOT = Path(__file__).resolve().parent.parent
DAY = local_now().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=20)
APPEALS = "工单编号,来源渠道,诉求类别,受理时间,小区编码,首次响应时间,办结时间\n"


def at(hours: float) -> str:
    return (DAY + timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def rows(db: Path, sql: str) -> list[tuple]:
    with read_only(db) as con:
        return con.execute(sql).fetchall()


def registry(tmp_path: Path) -> Path:
    db = tmp_path / "v.duckdb"
    (report,) = load_files(db, "compounds", [FIXTURES / "compounds.csv"])
    assert report.batch_id == 1
    return db


def etl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "etl", *args], capture_output=True, text=True, cwd=ROOT)


def test_undoing_a_batch_keeps_what_a_live_re_send_still_holds(tmp_path):
    db = registry(tmp_path)
    appeals = write(tmp_path / "A.csv", APPEALS + "".join(
        f"R{i},城市通,其他,{at(i / 2)},C1,{at(i / 2 + 1)},\n" for i in range(600)))
    complaints = write(tmp_path / "K.csv", "投诉编号,小区编码,问题类别,投诉时间\n" + "".join(
        f"K{i},C2,环境卫生,{at(i)}\n" for i in range(30)))
    (a2,) = load_files(db, "appeals", [appeals])
    (a3,) = load_files(db, "appeals", [appeals])
    (k4,) = load_files(db, "complaints", [complaints])
    (k5,) = load_files(db, "complaints", [complaints])
    assert (a2.inserted, a3.unchanged, k4.inserted, k5.unchanged) == (600, 600, 30, 30)
    result = etl("undo", str(a2.batch_id), "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("已撤销批次 2(诉求工单)：删除 0 条记录，恢复 0 条记录的其他批次版本。"
                                     "其他批次仍提供的记录保持不变。")
    assert undo(db, k4.batch_id)["removed"] == 0
    assert rows(db, "SELECT count(*) FROM appeals") == [(600,)]
    assert rows(db, "SELECT count(*) FROM complaints") == [(30,)]
    # Undoing the re-send too removes them: no live batch holds them any more.
    assert undo(db, a3.batch_id)["removed"] == 600
    assert rows(db, "SELECT count(*) FROM appeals") == [(0,)]


def test_a_batch_from_before_versions_waits_for_the_re_sends_nothing_recorded(tmp_path):
    # Written before versions were kept: batch 3 re-sent batch 2's 20 appeals unchanged, and
    # nothing recorded that it holds them.
    db = registry(tmp_path)
    appeals = write(tmp_path / "A.csv", APPEALS + "".join(f"R{i},城市通,其他,{at(i)},C1,,\n" for i in range(20)))
    load_files(db, "appeals", [appeals])
    load_files(db, "appeals", [appeals])
    as_before_versions(db)
    with pytest.raises(UndoRefused, match="之后的批次 3 当时重复提供的记录没有登记"):
        undo(db, 2)
    assert rows(db, "SELECT count(*) FROM appeals") == [(20,)]
    # Newest first, then the file again: from then on a re-send is recorded, and undo follows it.
    assert undo(db, 3)["removed"] == 0 and undo(db, 2)["removed"] == 20
    load_files(db, "appeals", [appeals])
    load_files(db, "appeals", [appeals])
    assert undo(db, 4)["removed"] == 0 and rows(db, "SELECT count(*) FROM appeals") == [(20,)]


def test_an_extract_without_a_column_keeps_what_the_record_held_there(tmp_path):
    """A closure extract without 群众评价 and 诉求内容 updated appeals that had both and erased
    them (满意率 then fell, or read “—”). A file says nothing of a column it lacks: the records keep
    their evaluation and content, take the closure, and still count as evaluated. Undoing the
    extract that gave the evaluation takes it away (as if never loaded); undoing the closure takes
    only the closure."""
    db = registry(tmp_path)
    full = write(tmp_path / "full.csv", "工单编号,来源渠道,诉求类别,受理时间,街道,小区编码,首次响应时间,办结时间,群众评价,诉求内容\n"
                 f"E1,城市通,其他,{at(0)},登州街道,C1,{at(1)},{at(5)},满意,楼道堆物\n"
                 f"E2,城市通,其他,{at(1)},登州街道,C1,{at(2)},,,路灯不亮\n"
                 f"E3,城市通,其他,{at(2)},登州街道,C1,{at(3)},,,\n")
    closure = write(tmp_path / "closure.csv", "工单编号,来源渠道,诉求类别,受理时间,小区编码,首次响应时间,办结时间,结案时间\n"
                    f"E1,城市通,其他,{at(0)},C1,{at(1)},{at(5)},{at(30)}\n"
                    f"E2,城市通,其他,{at(1)},C1,{at(2)},{at(6)},\n"
                    f"E3,城市通,其他,{at(2)},C1,{at(3)},{at(7)},\n")
    record = "SELECT appeal_id, satisfaction, content, closed_at IS NOT NULL, status FROM appeals ORDER BY 1"

    def evaluation() -> tuple:
        with read_only(db) as con:
            figures = stats(con, Scope.from_arguments(con, start=DAY.date(), end=(DAY + timedelta(days=1)).date()))
        return figures["appeals"]["received"], figures["appeals"]["satisfaction_rate"], figures["appeals"]["absent_columns"]

    load_files(db, "appeals", [full])
    assert evaluation() == (3, 1.0, ["dispatched_at", "feedback_at", "closed_at"])
    (checked,) = check_files(db, "appeals", [closure])
    (loaded,) = load_files(db, "appeals", [closure])
    assert (checked.updated, loaded.updated, loaded.batch_id) == (3, 3, 3)
    assert rows(db, record) == [("E1", "满意", "楼道堆物", True, "已结案"), ("E2", None, "路灯不亮", False, "已办结"),
                                ("E3", None, None, False, "已办结")]
    assert evaluation() == (3, 1.0, ["dispatched_at", "feedback_at"])
    (again,) = load_files(db, "appeals", [closure])
    assert again.unchanged == 3
    # The full extract again: E1 names its street itself (the closure extract left it to the
    # compound), the other two lack the 办结时间 the closure extract gave them: older.
    (older,) = load_files(db, "appeals", [full])
    assert (older.updated, older.stale) == (1, 2)
    undo(db, 5)
    assert rows(db, record)[0] == ("E1", "满意", "楼道堆物", True, "已结案")
    undo(db, 2)  # no file that had 群众评价 is left: as if only the closure extract was loaded
    assert rows(db, record) == [("E1", None, None, True, "已结案"), ("E2", None, None, False, "已办结"),
                                ("E3", None, None, False, "已办结")]
    assert evaluation() == (3, None, ["dispatched_at", "feedback_at", "satisfaction"])


def test_an_older_extract_does_not_roll_records_back(tmp_path):
    db = registry(tmp_path)
    # Last week: 50 appeals, 10 of them resolved. This week: 40 more resolved.
    last_week = write(tmp_path / "last.csv", APPEALS + "".join(
        f"W{i},城市通,其他,{at(i)},C1,{at(i + 1)},{at(i + 5) if i < 10 else ''}\n" for i in range(50)))
    this_week = write(tmp_path / "this.csv", APPEALS + "".join(
        f"W{i},城市通,其他,{at(i)},C1,{at(i + 1)},{at(i + 5)}\n" for i in range(50)))
    load_files(db, "appeals", [last_week])
    load_files(db, "appeals", [this_week])

    def resolution():
        with read_only(db) as con:
            return stats(con, Scope.from_arguments(con))["appeals"]["resolution_rate"]

    assert resolution() == 1.0
    check = etl("check", "appeals", str(last_week), "--db", str(db), "--json")
    assert {k: json.loads(check.stdout)[k] for k in ("updated", "unchanged", "stale")} == {
        "updated": 0, "unchanged": 10, "stale": 40}
    result = etl("load", "appeals", str(last_week), "--db", str(db), "--json")
    assert {k: json.loads(result.stdout)[k] for k in ("inserted", "updated", "unchanged", "stale", "rejected")} == {
        "inserted": 0, "updated": 0, "unchanged": 10, "stale": 40, "rejected": 0}
    assert resolution() == 1.0
    history = [json.loads(line) for line in etl("history", "--json", "--db", str(db)).stdout.splitlines()]
    assert (history[0]["batch_id"], history[0]["stale"], history[0]["correction"]) == (4, 40, False)
    # The stale rows can be seen like rejects: row number, reason, the row as stored.
    with read_only(db) as con:
        table = list(csv.reader(io.StringIO(stale_csv(con, 4).decode("utf-8-sig"))))
    assert table[0][:4] == ["原文件行号", "未覆盖原因", "工单编号", "来源渠道"]
    assert len(table) == 41
    assert table[1][:3] == ["12", "较旧版本，未覆盖：库中记录已有“办结时间”，本行没有", "W10"]
    out = tmp_path / "stale.csv"
    assert etl("stale", "4", "--out", str(out), "--db", str(db)).returncode == 0
    assert out.read_bytes() == stale_csv(read_only(db), 4)

    # Undoing this week's extract makes last week's state current again (the older batches are live).
    assert undo(db, 3)["restored"] == 40
    assert resolution() == 0.2
    undo(db, 4)
    # A deliberate correction applies older rows, and the audit log says it was one.
    load_files(db, "appeals", [this_week])
    (corrected,) = load_files(db, "appeals", [last_week], correction=True)
    assert (corrected.updated, corrected.stale) == (40, 0)
    assert resolution() == 0.2
    assert audit.entries(db)[0]["event"] == "更正导入(较旧版本也覆盖)"
    assert rows(db, f"SELECT is_correction FROM batches WHERE batch_id = {corrected.batch_id}") == [(True,)]


def test_an_explicit_update_time_decides_over_the_lifecycle(tmp_path):
    db = registry(tmp_path)
    header = "投诉编号,小区编码,问题类别,投诉时间,办结时间,更新时间\n"
    resolved = write(tmp_path / "r.csv", header + f"K1,C2,环境卫生,{at(0)},{at(5)},{at(6)}\n")
    reopened = write(tmp_path / "o.csv", header + f"K1,C2,环境卫生,{at(0)},,{at(9)}\n")
    older = write(tmp_path / "x.csv", header + f"K1,C2,环境卫生,{at(0)},{at(4)},{at(7)}\n")
    load_files(db, "complaints", [resolved])
    (report,) = load_files(db, "complaints", [reopened])
    assert (report.updated, report.stale) == (1, 0)  # reopened in the source system, later by its clock
    (report,) = load_files(db, "complaints", [older])
    assert (report.updated, report.stale) == (0, 1)
    assert rows(db, "SELECT resolved_at FROM complaints") == [(None,)]


def test_equal_update_times_leave_the_lifecycle_to_decide(tmp_path):
    """A date-only 更新时间 is the same for a resolved record and an older extract of it: the older
    one lacks the resolution, so it is stale, not a roll-back (found by an attack session)."""
    db = registry(tmp_path)
    header = "工单编号,来源渠道,诉求类别,受理时间,小区编码,首次响应时间,办结时间,更新时间\n"
    day = at(30)[:10]
    resolved = write(tmp_path / "r.csv", header + f"X1,城市通,其他,{at(0)},C1,{at(1)},{at(20)},{day}\n")
    older = write(tmp_path / "o.csv", header + f"X1,城市通,其他,{at(0)},C1,{at(1)},,{day}\n")
    load_files(db, "appeals", [resolved])
    (report,) = load_files(db, "appeals", [older])
    assert (report.updated, report.stale) == (0, 1)
    assert rows(db, "SELECT resolved_at IS NOT NULL FROM appeals") == [(True,)]


def test_an_older_extract_does_not_take_the_dispatch_back(tmp_path):
    """An extract from before the dispatch (派单时间 empty) was applied over a dispatched appeal,
    rolling 精准派单 back (found by an attack session)."""
    db = registry(tmp_path)
    header = "工单编号,来源渠道,诉求类别,受理时间,小区编码,派单时间\n"
    load_files(db, "appeals", [write(tmp_path / "d.csv", header + f"X1,城市通,其他,{at(0)},C1,{at(0.5)}\n")])
    (report,) = load_files(db, "appeals", [write(tmp_path / "o.csv", header + f"X1,城市通,其他,{at(0)},C1,\n")])
    assert (report.updated, report.stale) == (0, 1)
    assert rows(db, "SELECT dispatched_at IS NOT NULL FROM appeals") == [(True,)]


def test_a_time_that_lost_its_seconds_is_the_same_time(tmp_path):
    """Excel re-saves 10:00:45 as 10:00: the newer extract that also brings the resolution is
    applied, not held back as older (found by an attack session)."""
    db = registry(tmp_path)
    responded = (DAY + timedelta(hours=1, seconds=45)).strftime("%Y-%m-%d %H:%M:%S")
    first = write(tmp_path / "a.csv", APPEALS + f"X1,城市通,其他,{at(0)},C1,{responded},\n")
    resaved = write(tmp_path / "b.csv", APPEALS + f"X1,城市通,其他,{at(0)},C1,{at(1)},{at(20)}\n")
    earlier = write(tmp_path / "c.csv", APPEALS + f"X1,城市通,其他,{at(0)},C1,{at(0.5)},{at(20)}\n")
    load_files(db, "appeals", [first])
    (report,) = load_files(db, "appeals", [resaved])
    assert (report.updated, report.stale) == (1, 0)
    assert rows(db, "SELECT resolved_at IS NOT NULL FROM appeals") == [(True,)]
    (report,) = load_files(db, "appeals", [earlier])  # a whole half hour earlier: older
    assert (report.updated, report.stale) == (0, 1)


def test_a_newer_extract_without_a_column_is_not_older_for_lacking_it(tmp_path):
    """An extract that never had 回访时间 was held back as older than a stored record with one,
    so the 结案时间 it brought never landed (found by an attack session). A file says nothing
    about a column it does not have; the fold after an undo agrees with the load."""
    db = registry(tmp_path)
    full = "工单编号,来源渠道,诉求类别,受理时间,小区编码,首次响应时间,办结时间,回访时间,结案时间\n"
    without_feedback = "工单编号,来源渠道,诉求类别,受理时间,小区编码,首次响应时间,办结时间,结案时间\n"
    called_back = write(tmp_path / "a.csv", full + f"X1,城市通,其他,{at(0)},C1,{at(1)},{at(20)},{at(30)},\n")
    closed = write(tmp_path / "b.csv", without_feedback + f"X1,城市通,其他,{at(0)},C1,{at(1)},{at(20)},{at(40)}\n")
    load_files(db, "appeals", [called_back])
    (report,) = load_files(db, "appeals", [closed])
    assert (report.updated, report.stale) == (1, 0)
    assert rows(db, "SELECT batch_id, closed_at IS NOT NULL, status FROM appeals") == [(3, True, "已结案")]
    (report,) = load_files(db, "appeals", [called_back])  # the older extract again: older, it lacks 结案时间
    assert (report.updated, report.stale) == (0, 1)
    undo(db, 4)  # the fold compares the two earlier versions again
    assert rows(db, "SELECT batch_id, closed_at IS NOT NULL FROM appeals") == [(3, True)]


def test_two_extracts_each_without_a_column_the_other_has_do_not_take_turns(tmp_path):
    """Monday's extract without 结案时间 and Wednesday's without 回访时间: sending Monday's again
    took the closure back, sending Wednesday's restored it (found by an attack session). Each file
    says nothing of the column it lacks: the record holds both times, and either file sent again
    changes nothing."""
    db = registry(tmp_path)
    monday = write(tmp_path / "monday.csv", "工单编号,来源渠道,诉求类别,受理时间,小区编码,办结时间,回访时间\n"
                                           f"A1,城市通,其他,{at(0)},C1,{at(2)},{at(4)}\n")
    wednesday = write(tmp_path / "wednesday.csv", "工单编号,来源渠道,诉求类别,受理时间,小区编码,办结时间,结案时间\n"
                                                 f"A1,城市通,其他,{at(0)},C1,{at(2)},{at(54)}\n")
    for path, counts in ((monday, (1, 0, 0, 0)), (wednesday, (0, 1, 0, 0)), (monday, (0, 0, 1, 0)),
                         (wednesday, (0, 0, 1, 0))):
        ((check,),) = [check_files(db, "appeals", [path])]
        (report,) = load_files(db, "appeals", [path])
        assert ((report.inserted, report.updated, report.unchanged, report.stale)
                == (check.inserted, check.updated, check.unchanged, check.stale) == counts)
        held = rows(db, "SELECT feedback_at IS NOT NULL, closed_at IS NOT NULL FROM appeals")
        assert held == [(True, report.batch_id > 2)]


def test_ids_are_one_id_however_typed_and_stored_ones_are_folded_once(tmp_path):
    """Ｋ１, K1 and K\u200b1 made three records of one appeal, and Ｃ１ an unknown compound (found by an
    attack session). Incoming ids are folded; a database that stored them unfolded folds them on
    its next write, records that become one taking the fold of their versions."""
    db = registry(tmp_path)
    typed = write(tmp_path / "typed.csv", APPEALS + f"Ｋ１,城市通,其他,{at(0)},Ｃ１,{at(1)},\n"
                                                   f"K\u200b2,城市通,其他,{at(2)},C1,,\n")
    (report,) = load_files(db, "appeals", [typed])
    assert (report.inserted, report.rejected) == (2, 0)
    assert rows(db, "SELECT appeal_id, compound_id FROM appeals ORDER BY 1") == [("K1", "C1"), ("K2", "C1")]
    # As an older version stored them: unfolded, and K1 twice (the second, resolved, loaded later).
    (resolved,) = load_files(db, "appeals", [write(tmp_path / "r.csv", APPEALS + f"K1,城市通,其他,{at(0)},C1,{at(1)},{at(5)}\n")])
    with duckdb.connect(str(db)) as con:
        con.execute("UPDATE appeals_versions SET appeal_id = 'Ｋ１', compound_id = 'Ｃ１' WHERE batch_id = 2 AND appeal_id = 'K1'")
        con.execute("INSERT INTO appeals SELECT * FROM appeals_versions WHERE appeal_id = 'Ｋ１'")
        con.execute("DELETE FROM appeals_versions WHERE appeal_id = 'Ｋ１'")
        con.execute("UPDATE appeals SET appeal_id = 'K\u200b2' WHERE appeal_id = 'K2'")
        con.execute("DELETE FROM meta WHERE key = 'identifiers'")
    assert rows(db, "SELECT count(*) FROM appeals") == [(3,)]
    before = db.stat().st_mtime_ns
    # A check sees the database as the load will (its ids folded first), and writes nothing.
    (checked,) = check_files(db, "appeals", [typed])
    assert (checked.inserted, checked.updated, checked.unchanged, checked.stale) == (0, 0, 1, 1)
    assert db.stat().st_mtime_ns == before and rows(db, "SELECT count(*) FROM appeals") == [(3,)]
    (again,) = load_files(db, "appeals", [typed])  # the first write folds, then the file finds its records
    assert (again.inserted, again.updated, again.unchanged, again.stale) == (0, 0, 1, 1)
    assert rows(db, "SELECT appeal_id, compound_id, resolved_at IS NOT NULL, batch_id FROM appeals ORDER BY 1") == [
        ("K1", "C1", True, resolved.batch_id), ("K2", "C1", False, 2)]
    assert rows(db, "SELECT DISTINCT appeal_id FROM appeals_versions") == [("K1",)]
    with read_only(db) as con:
        assert stats(con, Scope(DAY.date(), (DAY + timedelta(days=1)).date(), local_now()))["appeals"]["received"] == 2


def test_a_stale_row_whose_version_becomes_current_after_an_undo_is_no_longer_listed(tmp_path):
    """Open, resolved, then an extract in between (stale); undoing the resolved batch makes the
    one in between current: it is no longer listed as stale (found by an attack session)."""
    db = registry(tmp_path)
    for name, times in (("open", ","), ("resolved", f"{at(1)},{at(20)}"), ("between", f"{at(1)},")):
        load_files(db, "appeals", [write(tmp_path / f"{name}.csv", APPEALS + f"X1,城市通,其他,{at(0)},C1,{times}\n")])
    assert rows(db, "SELECT stale, updated FROM batches WHERE batch_id = 4") == [(1, 0)]
    undo(db, 3)
    assert rows(db, "SELECT batch_id FROM appeals") == [(4,)]
    assert rows(db, "SELECT stale, updated FROM batches WHERE batch_id = 4") == [(0, 1)]
    with read_only(db) as con:
        assert len(stale_csv(con, 4).decode("utf-8-sig").splitlines()) == 1  # the header alone


def test_undoing_a_registry_batch_moves_appeals_back_to_their_street(tmp_path):
    db = registry(tmp_path)
    before = write(tmp_path / "before.csv", APPEALS + f"B1,城市通,其他,{at(0)},C1,,\n")
    load_files(db, "appeals", [before])
    moved = write(tmp_path / "moved.csv", "小区编码,小区名称,所属街道,社区,小区类型\n"
                                          "C1,海景苑,紫荆山街道,晒甲河社区,老旧小区\n")
    (registry_batch,) = load_files(db, "compounds", [moved])
    # On load: the appeal loaded before the move follows its compound.
    assert rows(db, "SELECT street, community FROM appeals") == [("紫荆山街道", "晒甲河社区")]
    after = write(tmp_path / "after.csv", "工单编号,来源渠道,诉求类别,受理时间,小区名称,街道\n"
                                          f"B2,城市通,其他,{at(1)},海景苑,\nB3,城市通,其他,{at(2)},海景苑,新港街道\n")
    load_files(db, "appeals", [after])
    result = undo(db, registry_batch.batch_id)
    assert (result["restored"], result["moved"]) == (1, 3)  # B1, B2, and B3's community
    # Back in the old street and community, and in the old street leader's scope; B3 named its
    # own street, which stays.
    assert rows(db, "SELECT appeal_id, street, community FROM appeals ORDER BY 1") == [
        ("B1", "登州街道", "东城社区"), ("B2", "登州街道", "东城社区"), ("B3", "新港街道", "东城社区")]
    with read_only(db) as con:
        assert stats(con, Scope.from_arguments(con, street="紫荆山街道"))["appeals"]["received"] == 0


def test_the_last_valid_row_of_an_id_wins_and_recheck_loses_nothing(tmp_path):
    db = registry(tmp_path)
    extract = write(tmp_path / "dup.csv", APPEALS + (
        f"D1,城市通,其他,{at(0)},C1,,\n"  # valid
        f"D1,城市通,其他,{at(0)},C9,,\n"  # later, invalid: unknown compound
        f"D2,城市通,其他,{at(0)},C1,,\n"  # valid, then superseded by the next valid row
        f"D2,城市通,环境卫生,{at(0)},C2,,\n"))
    (report,) = load_files(db, "appeals", [extract])
    assert (report.inserted, report.rejected, report.duplicates) == (2, 2, 1)
    assert rows(db, "SELECT appeal_id, compound_id, category FROM appeals ORDER BY 1") == [
        ("D1", "C1", "其他"), ("D2", "C2", "环境卫生")]
    assert rows(db, f"SELECT row_number, reason FROM rejects WHERE batch_id = {report.batch_id} ORDER BY 1") == [
        (3, "未知小区编码“C9”(小区台账中没有)；缺少“街道”(street)，且未指明所属小区"),
        (4, "文件内编号重复：以最后出现的有效行为准")]
    # Once the registry knows C9, recheck loads row 3 (the later row of D1); row 4 stays superseded.
    load_files(db, "compounds", [write(tmp_path / "c9.csv", "小区编码,小区名称,街道,社区,小区类型\n"
                                                            "C9,新小区,登州街道,东城社区,学区房\n")])
    again = recheck(db, report.batch_id)
    assert (again.rows_read, again.updated, again.rejected) == (1, 1, 0)
    assert rows(db, "SELECT appeal_id, compound_id, category FROM appeals ORDER BY 1") == [
        ("D1", "C9", "其他"), ("D2", "C2", "环境卫生")]


def test_within_a_file_the_latest_update_time_wins_over_the_row_order(tmp_path):
    """A change log lists a record resolved (更新时间 day 4), then open (day 2): the resolved row
    is the current one; without 更新时间 on every row of the key, the last row wins as before
    (found by an attack session)."""
    db = registry(tmp_path)
    header = "工单编号,来源渠道,诉求类别,受理时间,小区编码,首次响应时间,办结时间,更新时间\n"
    extract = write(tmp_path / "log.csv", header + (
        f"L1,城市通,其他,{at(0)},C1,{at(1)},{at(40)},{at(96)}\n"
        f"L1,城市通,其他,{at(0)},C1,{at(1)},,{at(48)}\n"
        f"L2,城市通,其他,{at(0)},C1,{at(1)},{at(40)},{at(96)}\n"
        f"L2,城市通,其他,{at(0)},C1,{at(1)},,\n"))
    (report,) = load_files(db, "appeals", [extract])
    assert (report.inserted, report.duplicates) == (2, 2)
    assert rows(db, "SELECT appeal_id, resolved_at IS NOT NULL FROM appeals ORDER BY 1") == [("L1", True), ("L2", False)]
    assert rows(db, f"SELECT row_number, reason FROM rejects WHERE batch_id = {report.batch_id} ORDER BY 1") == [
        (3, "文件内编号重复：以“更新时间”最晚的有效行为准"), (4, "文件内编号重复：以最后出现的有效行为准")]


def test_a_database_with_a_second_hard_link_is_not_written(tmp_path):
    """Two hard links are two paths to one file that no path resolution unites: a load through
    each would take its own lock and split the file in two. The writer refuses, saying why."""
    real = tmp_path / "real.duckdb"
    load_files(real, "compounds", [FIXTURES / "compounds.csv"])
    os.link(real, tmp_path / "other.duckdb")
    before = real.read_bytes()
    result = subprocess.run([sys.executable, "-m", "etl", "load", "compounds", str(FIXTURES / "compounds.csv"),
                             "--db", str(tmp_path / "other.duckdb")], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"数据库文件 {tmp_path / 'other.duckdb'} 还有另一个名字(硬链接)" in result.stderr
    assert real.read_bytes() == before and real.stat().st_nlink == 2


def test_one_lock_per_database_and_a_symlink_stays_a_symlink(tmp_path):
    real = tmp_path / "data" / "real.duckdb"
    real.parent.mkdir()
    link = tmp_path / "link.duckdb"
    link.symlink_to(real)
    (first,) = load_files(real, "compounds", [FIXTURES / "compounds.csv"])
    appeals = write(tmp_path / "a.csv", APPEALS + "".join(f"L{i},城市通,其他,{at(i / 100)},C1,,\n" for i in range(20_000)))
    # Two loads at once, one through each path: one waits for the other, both land.
    runs = [subprocess.Popen([sys.executable, "-m", "etl", "load", "appeals", str(appeals), "--db", str(path),
                              "--json"], stdout=subprocess.PIPE, text=True, cwd=ROOT) for path in (link, real)]
    outputs = [json.loads(run.communicate(timeout=300)[0]) for run in runs]
    assert sorted(o["batch_id"] for o in outputs) == [2, 3]
    assert sorted(o["inserted"] for o in outputs) == [0, 20_000]
    assert link.is_symlink() and os.path.realpath(link) == str(real)
    assert not (tmp_path / "link.duckdb.audit.sqlite").exists()
    relative = os.path.relpath(real, Path.cwd())
    assert load_files(Path(relative), "compounds", [FIXTURES / "compounds.csv"])[0].batch_id == 4
    for path in (real, audit.audit_path(link)):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert first.batch_id == 1
    assert check_files(link, "compounds", [FIXTURES / "compounds.csv"])[0].unchanged == 4


def test_a_database_from_before_records_kept_their_columns_reads_as_its_next_write_stores_it(tmp_path):
    """A database written before each record kept which columns it was delivered with
    (carried_mask): the pages read it through views that give each row its own batch's columns,
    which is what its next write stores, and the figures stay the same through that write."""
    from etl.db import Reader
    from etl.schema import CARRIED, TABLES

    db = registry(tmp_path)
    load_files(db, "appeals", [write(tmp_path / "full.csv", APPEALS + f"F1,城市通,其他,{at(0)},C1,{at(1)},{at(5)}\n")])
    load_files(db, "appeals", [FIXTURES / "appeals_no_response.csv"])
    scope = {"start": DAY.date() - timedelta(days=400), "end": DAY.date() + timedelta(days=30), "as_of": local_now()}

    def figures(con) -> dict:
        return stats(con, Scope.from_arguments(con, **scope))

    (older,) = load_files(db, "appeals", [write(tmp_path / "older.csv", APPEALS + f"F1,城市通,其他,{at(0)},C1,{at(1)},\n")])
    assert older.stale == 1
    with read_only(db) as con:
        expected = figures(con)
        masks = con.execute(f"SELECT appeal_id, {CARRIED} FROM appeals ORDER BY 1").fetchall()
        stale_rows = stale_csv(con, older.batch_id)
    assert expected["appeals"]["response_rate"] is not None and {m for _, m in masks} == {2 | 4, 4 | 32}
    with duckdb.connect(str(db)) as con:
        for table in TABLES:
            for stored in (table, f"{table}_versions"):
                con.execute(f"ALTER TABLE {stored} DROP COLUMN {CARRIED}")
    with read_only(db) as con:
        assert figures(con) == expected
        assert stale_csv(con, older.batch_id) == stale_rows  # it reads the versions too
    assert figures(Reader(db).cursor()) == expected
    load_files(db, "compounds", [FIXTURES / "compounds.csv"])  # a write, changing nothing
    with read_only(db) as con:
        assert figures(con) == expected
        assert con.execute(f"SELECT appeal_id, {CARRIED} FROM appeals ORDER BY 1").fetchall() == masks


def test_a_blank_status_follows_the_rows_own_times_and_a_missing_one_the_records(tmp_path):
    """办理状态 is derived from the timestamps when the file gives none: from the row's own times
    when its cell is blank (found by an attack session: it was stored empty), from the record's
    merged times when the file has no such column."""
    db = registry(tmp_path)
    with_status = write(tmp_path / "a.csv", "工单编号,来源渠道,诉求类别,受理时间,小区编码,办结时间,结案时间,办理状态\n"
                        f"A1,城市通,其他,{at(0)},C1,{at(4)},{at(6)},\nA2,城市通,其他,{at(0)},C1,,,\n"
                        f"A3,城市通,其他,{at(0)},C1,,,已退回\n")
    load_files(db, "appeals", [with_status])
    assert rows(db, "SELECT appeal_id, status FROM appeals ORDER BY 1") == [("A1", "已结案"), ("A2", "办理中"),
                                                                            ("A3", "已退回")]
    assert load_files(db, "appeals", [with_status])[0].unchanged == 3
    resolved = write(tmp_path / "b.csv", APPEALS + f"A2,城市通,其他,{at(0)},C1,,{at(8)}\nA3,城市通,其他,{at(0)},C1,,{at(8)}\n")
    load_files(db, "appeals", [resolved])
    assert rows(db, "SELECT appeal_id, status FROM appeals ORDER BY 1") == [("A1", "已结案"), ("A2", "已办结"),
                                                                            ("A3", "已办结")]


def test_a_street_level_export_places_its_appeals_by_street_and_says_so(tmp_path):
    """An export with no 小区编码 and no 小区名称 (the hotline's, by street) takes the appeals it
    updates out of their compounds: the compound gives the appeal's place whole, and keeping it
    while the file names the street would let the appeal sit in two places (an attack session
    showed such a rule cannot be replayed once the registry moves compounds). The check and the
    load say so before the analyst confirms; undo brings the compound back."""
    db = registry(tmp_path)
    load_files(db, "appeals", [write(tmp_path / "grid.csv", APPEALS + f"A1,城市通,其他,{at(0)},C1,{at(1)},\n")])
    hotline = write(tmp_path / "hotline.csv", "工单编号,来源渠道,诉求类别,受理时间,街道,首次响应时间,办结时间\n"
                                              f"A1,城市通,其他,{at(0)},登州街道,{at(1)},{at(5)}\n")
    (checked,) = check_files(db, "appeals", [hotline])
    assert checked.by_street and "文件没有“小区编码”和“小区名称”列：其中的工单按“街道”计，不属于任何小区" in checked.summary_zh()
    load_files(db, "appeals", [hotline])
    place = "SELECT street, community, compound_id, resolved_at IS NOT NULL FROM appeals"
    assert rows(db, place) == [("登州街道", None, None, True)]
    undo(db, 3)
    assert rows(db, place) == [("登州街道", "东城社区", "C1", False)]
    assert not check_files(db, "appeals", [FIXTURES / "appeals_no_response.csv"])[0].by_street
