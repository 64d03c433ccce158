"""Load history, rejected rows as CSV, undo, re-check, dry-run checks and column mappings."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from access import audit
from etl.batches import UndoRefused, recheck, rejects_csv, undo, undo_message
from etl.db import DatabaseGone, read_only
from etl.load import check, check_files, load_checked, load_files
from etl.read import decode
from etl.mapping import Mapping, load_mapping, matching_mappings, save_mapping
from settings import local_now
from tests.conftest import FIXTURES, build_fixture_db

TABLES = ["compounds", "appeals", "complaints", "surveys", "scenes"]


def content(db: Path) -> dict:
    """Every table the pages read, row for row, without the batch each row belongs to (a record a
    re-send still holds belongs to the re-send once the first batch is undone; tests/test_replay.py
    checks that against a fresh load)."""
    with read_only(db) as con:
        return {t: con.execute(f"SELECT * EXCLUDE (batch_id) FROM {t} ORDER BY ALL").fetchall() for t in TABLES}


def stats_json(db: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "etl", "stats", "--json", "--week", "2026-W10", "--db", str(db)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


UPDATE = ("工单编号,来源渠道,诉求类别,受理时间,街道,首次响应时间,办结时间,群众评价\n"
          "A4,网格员巡访,市政设施,2026-03-05 10:00,登州街道,2026-03-05 11:00,2026-03-06 09:00,满意\n"
          "A5,e网通扫码,噪音扰民,2026-03-08 20:00,紫荆山街道,2026-03-08 21:00,2026-03-09 08:00,\n"
          "N1,城市通,其他,2026-03-06 10:00,登州街道,,,\n")


def test_undo_returns_the_database_exactly_to_its_state_before_the_batch(tmp_path):
    db = build_fixture_db(tmp_path / "undo.duckdb")
    before, before_stats = content(db), stats_json(db)
    (report,) = load_files(db, "appeals", [write(tmp_path / "update.csv", UPDATE)])
    assert (report.inserted, report.updated) == (1, 2)
    assert stats_json(db)["appeals"] != before_stats["appeals"]
    result = subprocess.run([sys.executable, "-m", "etl", "undo", str(report.batch_id), "--db", str(db)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "已撤销批次 6(诉求工单)：删除 1 条记录，恢复 2 条记录的其他批次版本。" in result.stdout
    assert content(db) == before
    after = stats_json(db)
    after["scope"].pop("as_of"), before_stats["scope"].pop("as_of")
    assert after == before_stats
    history = [json.loads(line) for line in subprocess.run(
        [sys.executable, "-m", "etl", "history", "--json", "--db", str(db)],
        check=True, capture_output=True, text=True).stdout.splitlines()]
    assert history[0]["batch_id"] == report.batch_id and history[0]["undone"] is True
    assert {"batch_id", "kind", "file", "loaded_at", "rows_read", "inserted", "updated", "rejected",
            "undone"} <= set(history[0])


def test_any_batch_can_be_undone_in_any_order(tmp_path):
    db = build_fixture_db(tmp_path / "order.duckdb")
    before = content(db)
    (first,) = load_files(db, "appeals", [write(tmp_path / "u1.csv", UPDATE)])
    (second,) = load_files(db, "appeals", [write(tmp_path / "u2.csv", UPDATE.replace("满意", "不满意"))])
    middle = content(db)
    # The first batch's records are all delivered by the second too: undoing it changes nothing.
    result = undo(db, first.batch_id)
    assert (result["removed"], result["restored"]) == (0, 0)
    assert content(db) == middle
    undo(db, second.batch_id)
    assert content(db) == before
    with pytest.raises(UndoRefused, match="已经撤销"):
        undo(db, first.batch_id)
    with pytest.raises(UndoRefused, match="没有编号为 99 的批次"):
        undo(db, 99)
    # The registry can go too: every record naming a compound goes with it (a fresh load would
    # have rejected it); appeals that name no compound stay.
    result = undo(db, 1)
    assert (result["removed"], result["restored"]) == (4, 0)
    with read_only(db) as con:
        assert con.execute("SELECT appeal_id FROM appeals ORDER BY 1").fetchall() == [("A4",), ("A7",)]
        assert [con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                for t in ("compounds", "complaints", "surveys", "scenes")] == [0, 0, 0, 0]


def test_rejected_rows_download_for_excel_safely(fixture_db, tmp_path):
    with read_only(fixture_db) as con:
        data = rejects_csv(con, 2)
    assert data.startswith("\ufeff".encode("utf-8"))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:4] == ["原文件行号", "拒绝原因", "工单编号", "来源渠道"]
    assert [r[0] for r in rows[1:]] == ["7", "11", "12", "13", "14"]
    assert not any(cell in ("张三", "13812345678") for row in rows for cell in row)


def test_formula_cells_are_neutralised(tmp_path):
    db = build_fixture_db(tmp_path / "formula.duckdb")
    evil = write(tmp_path / "evil.csv", "工单编号,来源渠道,诉求类别,受理时间,街道\n"
                                        '=HYPERLINK("http://x"),微信群,+cmd,2026-03-05 10:00,@SUM(1)\n')
    (report,) = load_files(db, "appeals", [evil])
    result = subprocess.run([sys.executable, "-m", "etl", "rejects", str(report.batch_id), "--out",
                             str(tmp_path / "r.csv"), "--db", str(db)], check=True, capture_output=True)
    rows = list(csv.reader(io.StringIO((tmp_path / "r.csv").read_text(encoding="utf-8-sig"))))
    cells = rows[1]
    assert cells[2] == "'=HYPERLINK(\"http://x\")" and cells[4] == "'+cmd" and cells[6] == "'@SUM(1)"
    assert result.returncode == 0


def test_recheck_loads_rows_once_the_registry_knows_their_compound(tmp_path):
    db = build_fixture_db(tmp_path / "recheck.duckdb")
    load_files(db, "compounds", [write(tmp_path / "c9.csv", "小区编码,小区名称,街道,社区,小区类型\n"
                                                              "C9,新小区,登州街道,东城社区,学区房\n")])
    report = recheck(db, 2)
    # A12 (unknown compound C9) loads now; A9, A10, A11 still fail; the duplicate A6 stays superseded.
    assert (report.rows_read, report.inserted, report.rejected) == (4, 1, 3)
    with read_only(db) as con:
        assert con.execute("SELECT compound_id FROM appeals WHERE appeal_id = 'A12'").fetchall() == [("C9",)]
        # The old batch still lists what it rejected at the time: nothing is lost.
        assert con.execute("SELECT count(*) FROM rejects WHERE batch_id = 2").fetchall() == [(5,)]


def test_a_recheck_never_loads_a_key_that_was_masked(tmp_path):
    """A row refused for an ID number in its key is saved with the key masked: checked again, it is
    refused again, not loaded under “[身份证号已隐去]”. A row refused for its compound keeps its
    work-order number (shaped like an ID number born that day) and loads once the compound is known."""
    db = build_fixture_db(tmp_path / "masked.duckdb")
    order = f"370684{local_now():%Y%m%d}0001"
    (report,) = load_files(db, "appeals", [write(tmp_path / "keys.csv", "工单编号,来源渠道,诉求类别,受理时间,小区编码\n"
                                                 "370684199003071234,12345热线,环境卫生,2026-03-05 08:00,C1\n"
                                                 f"{order},12345热线,环境卫生,2026-03-05 08:00,C9\n")])
    assert (report.inserted, report.rejected) == (0, 2)
    with read_only(db) as con:
        saved = [json.loads(v)["工单编号"] for (v,) in con.execute(
            "SELECT raw_values FROM rejects WHERE batch_id = ? ORDER BY row_number", [report.batch_id]).fetchall()]
    assert saved == ["[身份证号已隐去]", order]
    load_files(db, "compounds", [write(tmp_path / "c9.csv", "小区编码,小区名称,街道,社区,小区类型\n"
                                                          "C9,新小区,登州街道,东城社区,学区房\n")])
    again = recheck(db, report.batch_id)
    assert (again.inserted, again.rejected) == (1, 1)
    with read_only(db) as con:
        assert con.execute("SELECT appeal_id FROM appeals WHERE appeal_id LIKE '%隐去%' OR appeal_id LIKE '3706%'"
                           ).fetchall() == [(order,)]


def test_recheck_of_an_undone_batch_is_refused(tmp_path):
    db = build_fixture_db(tmp_path / "undone.duckdb")
    undo(db, 2)
    load_files(db, "compounds", [write(tmp_path / "c9.csv", "小区编码,小区名称,街道,社区,小区类型\n"
                                                              "C9,新小区,登州街道,东城社区,学区房\n")])
    before = content(db)
    with pytest.raises(UndoRefused, match="批次 2 已撤销，它被拒绝的行不再重新校验"):
        recheck(db, 2)
    assert content(db) == before


def test_undoing_a_batch_undoes_the_rechecks_of_its_rejected_rows(tmp_path):
    """Undo = the file had never been loaded: the rows a re-check of its rejects loaded came from
    that file too (found by an attack session: they stayed live). A re-check of the re-check goes
    with them; a re-check of another batch stays; the message names what went."""
    db = build_fixture_db(tmp_path / "cascade.duckdb")
    register = lambda code: load_files(db, "compounds", [write(tmp_path / f"{code}.csv", (
        f"小区编码,小区名称,街道,社区,小区类型\n{code},新小区{code},登州街道,东城社区,学区房\n"))])
    file = write(tmp_path / "a.csv", "工单编号,来源渠道,诉求类别,受理时间,小区编码\n"
                 "R1,城市通,其他,2026-03-02 09:00,C1\nR2,城市通,其他,2026-03-02 09:00,C7\n"
                 "R3,城市通,其他,2026-03-02 09:00,C8\n")
    (first,) = load_files(db, "appeals", [file])
    other = write(tmp_path / "b.csv", "工单编号,来源渠道,诉求类别,受理时间,小区编码\nO1,城市通,其他,2026-03-02 09:00,C7\n")
    (second,) = load_files(db, "appeals", [other])
    register("C7")
    rechecked = recheck(db, first.batch_id)  # R2 loads, R3 still fails
    again = recheck(db, rechecked.batch_id)  # nothing new yet
    register("C8")
    third = recheck(db, again.batch_id)  # R3 loads
    kept = recheck(db, second.batch_id)  # O1 loads: another file
    assert (rechecked.inserted, third.inserted, kept.inserted) == (1, 1, 1)
    result = undo(db, first.batch_id)
    assert result["rechecks"] == [rechecked.batch_id, again.batch_id, third.batch_id]
    assert result["removed"] == 3
    assert f"同时撤销了由它被拒绝的行重新校验导入的批次 {rechecked.batch_id}、{again.batch_id}、{third.batch_id}" in (
        undo_message(result))
    with read_only(db) as con:
        assert con.execute("SELECT appeal_id FROM appeals WHERE appeal_id SIMILAR TO '[RO][0-9]' ORDER BY 1"
                           ).fetchall() == [("O1",)]
        assert con.execute("SELECT batch_id FROM batches WHERE is_undone ORDER BY 1").fetchall() == [
            (first.batch_id,), (rechecked.batch_id,), (again.batch_id,), (third.batch_id,)]


def test_check_reports_what_a_load_would_do_and_writes_nothing(tmp_path):
    db = build_fixture_db(tmp_path / "check.duckdb")
    before, identity = content(db), db.stat().st_mtime_ns
    (report,) = check_files(db, "appeals", [write(tmp_path / "update.csv", UPDATE)])
    assert (report.inserted, report.updated, report.unchanged, report.rejected) == (1, 2, 0, 0)
    assert report.batch_id is None
    assert content(db) == before and db.stat().st_mtime_ns == identity
    (first_load,) = check_files(tmp_path / "none.duckdb", "compounds", [FIXTURES / "compounds.csv"])
    assert (first_load.inserted, first_load.rejected) == (4, 1)
    assert not (tmp_path / "none.duckdb").exists()


def test_a_checked_file_is_not_loaded_into_a_new_database_when_the_checked_one_has_gone(tmp_path):
    """A data desk upload checked against the database, which is then deleted or moved away: the
    load refuses rather than start a new database holding this file alone."""
    db = build_fixture_db(tmp_path / "gone.duckdb")
    decoded = decode(write(tmp_path / "update.csv", UPDATE))
    staged = check(db, "appeals", decoded, "update.csv")
    db.rename(tmp_path / "moved.duckdb")
    with pytest.raises(DatabaseGone, match="数据库文件 .* 不见了"):
        load_checked(db, [staged])
    assert not db.exists() and not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
    # Gone before the check (its audit log left beside it): the check says so, and no load creates it.
    (checked,) = check_files(db, "appeals", [write(tmp_path / "again.csv", UPDATE)])
    assert "不见了(被删除或移走)" in checked.refused
    result = subprocess.run([sys.executable, "-m", "etl", "load", "appeals", str(tmp_path / "again.csv"), "--db", str(db)],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "数据库文件" in result.stderr and "Traceback" not in result.stderr
    assert not db.exists()
    # Checked before any database existed (a first install, someone signed in already), the same load creates it.
    audit.record(tmp_path / "new.duckdb", "admin", "sign_in")
    first = check(tmp_path / "new.duckdb", "compounds", decode(FIXTURES / "compounds.csv"), "compounds.csv")
    (report,) = load_checked(tmp_path / "new.duckdb", [first])
    assert report.inserted == 4 and (tmp_path / "new.duckdb").exists()


def test_the_nyc_311_export_loads_through_the_saved_mapping(tmp_path):
    db = tmp_path / "nyc.duckdb"
    subprocess.run([sys.executable, "-m", "etl", "init", "--db", str(db)], capture_output=True, check=True)
    result = subprocess.run([sys.executable, "-m", "etl", "load", "appeals", str(FIXTURES / "nyc311_2011_sample.csv"),
                             "--mapping", "nyc311", "--json", "--db", str(db)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    # 15 requests have the borough "Unspecified", which maps to no street.
    assert (report["rows_read"], report["inserted"], report["rejected"]) == (999, 984, 15)
    with read_only(db) as con:
        first = con.execute("SELECT received_at, resolved_at, street, channel FROM appeals "
                            "WHERE appeal_id = '19937896'").fetchall()
        open_ones = con.execute("SELECT count(*) FROM appeals WHERE resolved_at IS NULL").fetchall()[0][0]
    assert first == [(datetime(2011, 3, 1, 14, 27, 57), datetime(2011, 3, 14, 15, 59, 20), "蓬莱阁街道", "12345热线")]
    assert open_ones == 10


def test_mappings_are_saved_as_readable_files_and_offered_for_the_same_headers(tmp_path):
    mapping = Mapping(kind="appeals", columns={"appeal_id": "单号", "received_at": "时间", "category": "类别",
                                               "street": "所在街道"},
                      fixed={"channel": "城市通"}, headers=["单号", "时间", "类别", "所在街道"])
    path = save_mapping("城市通导出", mapping, folder=tmp_path)
    assert 'channel = "城市通"' in path.read_text(encoding="utf-8")
    assert [m.name for m in matching_mappings(["单号", "时间", "类别", "所在街道", "备注"], folder=tmp_path)] == ["城市通导出"]
    assert matching_mappings(["单号", "时间"], folder=tmp_path) == []
    db = build_fixture_db(tmp_path / "m.duckdb")
    extract = write(tmp_path / "city.csv", "单号,时间,类别,所在街道,备注\nM1,2026/3/5 9:00,其他,登州街道,x\n")
    (report,) = load_files(db, "appeals", [extract], mapping=load_mapping(path))
    assert (report.inserted, report.rejected) == (1, 0)
    with read_only(db) as con:
        assert con.execute("SELECT channel FROM appeals WHERE appeal_id = 'M1'").fetchall() == [("城市通",)]
