"""The loader: encodings, headers, date forms, rejects, refusals, idempotency and personal data."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import xlsxwriter

from etl.db import read_only
from etl.load import load_files
from settings import local_now
from tests.conftest import FIXTURES, build_fixture_db

COMPOUNDS = FIXTURES / "compounds.csv"


def rows(db: Path, sql: str, params=None) -> list[tuple]:
    with read_only(db) as con:
        return con.execute(sql, params or []).fetchall()


def load_one(db: Path, kind: str, path: Path):
    (report,) = load_files(db, kind, [path])
    return report


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def whole_database(db: Path) -> dict:
    """Every data table's rows, for comparing database states."""
    tables = ["compounds", "appeals", "complaints", "surveys", "scenes"]
    return {t: rows(db, f"SELECT * EXCLUDE (batch_id) FROM {t} ORDER BY ALL") for t in tables}


# ---------------------------------------------------------------- the fixture files

def test_fixture_loads_report_counts_and_reasons(empty_db):
    compounds = load_one(empty_db, "compounds", COMPOUNDS)
    assert (compounds.rows_read, compounds.inserted, compounds.rejected) == (5, 4, 1)
    appeals = load_one(empty_db, "appeals", FIXTURES / "appeals_gbk.csv")
    assert appeals.encoding == "gb18030"
    assert (appeals.rows_read, appeals.inserted, appeals.updated, appeals.unchanged, appeals.rejected) == (13, 8, 0, 0, 5)
    assert appeals.duplicates == 1
    rejected = dict(rows(empty_db, "SELECT row_number, reason FROM rejects WHERE batch_id = ?", [appeals.batch_id]))
    assert rejected == {
        7: "文件内编号重复：以最后出现的有效行为准",
        11: "未知诉求渠道“微信群”(可选：12345热线、城市通、e网通扫码、网格员巡访、民意日记、来信来访)",
        12: "“办结时间”早于“受理时间”",
        13: "“受理时间”无法识别为日期时间：2026-13-45",
        14: "未知小区编码“C9”(小区台账中没有)",
    }
    raw = json.loads(rows(empty_db, "SELECT raw_values FROM rejects WHERE row_number = 13")[0][0])
    assert raw["工单编号"] == "A11" and raw["受理时间"] == "2026-13-45"
    # The duplicate A6: the later row (content 楼道堆物) is the one kept.
    assert rows(empty_db, "SELECT content FROM appeals WHERE appeal_id = 'A6'") == [("楼道堆物",)]
    batch = rows(empty_db, "SELECT kind, file_name, rows_read, inserted, rejected, length(file_hash) FROM batches "
                           "WHERE batch_id = ?", [appeals.batch_id])
    assert batch == [("appeals", "appeals_gbk.csv", 13, 8, 5, 64)]


def test_every_date_form_of_the_contract(empty_db, tmp_path):
    load_one(empty_db, "compounds", COMPOUNDS)
    text = (
        "工单编号,来源渠道,诉求类别,受理时间,街道\n"
        "D1,城市通,其他,2026-03-05 14:02:00,登州街道\n"
        "D2,城市通,其他,2026-03-05T14:02,登州街道\n"
        "D3,城市通,其他,2026/3/5 14:02,登州街道\n"
        "D4,城市通,其他,2026年3月5日 14时02分,登州街道\n"
        "D5,城市通,其他,2026-03-05,登州街道\n"
        "D6,城市通,其他,03/05/2026 02:02:00 PM,登州街道\n"
        "D7,城市通,其他,9999-12-31 00:00:00,登州街道\n"
        # a leap second would be read as midnight of the next day: unreadable, as 24:00 is
        "D8,城市通,其他,2026-03-05 23:59:60,登州街道\n"
        "D9,城市通,其他,2026年3月5日 23时59分60秒,登州街道\n"
        "D10,城市通,其他,2026-03-06 00:00:00,登州街道\n"
    )
    report = load_one(empty_db, "appeals", write(tmp_path / "dates.csv", text))
    assert (report.inserted, report.rejected) == (7, 3)
    assert sorted(r["reason"] for r in report.reasons) == [
        "“受理时间”无法识别为日期时间：2026-03-05 23:59:60", "“受理时间”无法识别为日期时间：2026年3月5日 23时59分60秒",
        "“受理时间”无法识别为日期时间：9999-12-31 00:00:00"]
    got = dict(rows(empty_db, "SELECT appeal_id, received_at FROM appeals"))
    assert {k: v for k, v in got.items() if k not in ("D5", "D10")} == {
        f"D{i}": datetime(2026, 3, 5, 14, 2) for i in (1, 2, 3, 4, 6)}
    assert (got["D5"], got["D10"]) == (datetime(2026, 3, 5), datetime(2026, 3, 6))


def test_xlsx_with_native_and_text_dates_and_a_title_row(empty_db, tmp_path):
    load_one(empty_db, "compounds", COMPOUNDS)
    path = tmp_path / "appeals.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet()
    sheet.write(0, 0, "蓬莱区诉求工单导出(2026年3月)")  # a title row above the header
    sheet.write_row(1, 0, ["工单号", "渠道", "问题类型", "登记时间", "所属街道"])
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    sheet.write_row(2, 0, ["X1", "12345热线", "其他"])
    sheet.write_datetime(2, 3, datetime(2026, 3, 5, 14, 2), stamp)
    sheet.write(2, 4, "登州街道")
    sheet.write_row(3, 0, ["X2", "12345热线", "其他", "2019/4/25 9:32:09", "登州街道"])
    book.close()
    report = load_one(empty_db, "appeals", path)
    assert (report.inserted, report.rejected, report.encoding) == (2, 0, "xlsx")
    assert dict(rows(empty_db, "SELECT appeal_id, received_at FROM appeals")) == {
        "X1": datetime(2026, 3, 5, 14, 2), "X2": datetime(2019, 4, 25, 9, 32, 9)}


def test_canonical_headers_with_odd_spacing_case_and_full_width_forms(empty_db, tmp_path):
    text = ("COMPOUND_ID , Name,street,社 区,小区类型,户数（户）,key_target\n"
            "K1,甲小区,登州街道,东城社区,老旧小区,10,1\n")
    report = load_one(empty_db, "compounds", write(tmp_path / "c.csv", text))
    assert report.inserted == 1
    assert report.ignored_columns == ["户数（户）"]  # not a contract header: reported, not an error
    assert rows(empty_db, "SELECT name, community, is_key_target FROM compounds") == [("甲小区", "东城社区", True)]


# ---------------------------------------------------------------- files refused whole

@pytest.mark.parametrize(
    ("content", "kind", "expected"),
    [
        (b"", "appeals", "文件为空"),
        ("工单编号,来源渠道,诉求类别,受理时间,街道\n".encode(), "appeals", "只有表头"),
        ("工单编号,诉求类别,受理时间\nA,其他,2026-03-01\n".encode(), "appeals", "缺少必需列 “来源渠道”(channel)"),
        (COMPOUNDS.read_bytes(), "appeals", "看起来是“小区台账”(compounds)"),
        (b"\xff\xfe\xfa\x80\x81 not text at all", "appeals", "无法识别文件编码"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "appeals", "旧版 Excel"),
        (b"PK\x03\x04 truncated zip", "appeals", "无法读取 Excel 文件"),
        (b"a,b\n\x00\x01\x02", "appeals", "不是文本格式"),
    ],
    ids=["empty", "header-only", "missing-column", "wrong-kind", "encoding", "xls", "broken-xlsx", "binary"],
)
def test_refused_files_write_nothing(empty_db, tmp_path, content, kind, expected):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    report = load_one(empty_db, kind, path)
    assert expected in report.refused
    assert report.batch_id is None
    assert not empty_db.exists()


def test_a_refused_file_leaves_an_existing_database_as_it_was(fixture_db, tmp_path):
    db = tmp_path / "copy.duckdb"
    build_fixture_db(db)
    before = db.stat().st_ino, whole_database(db)
    path = write(tmp_path / "bad.csv", "工单编号\nA1\n")
    result = subprocess.run([sys.executable, "-m", "etl", "load", "appeals", str(path), "--db", str(db), "--json"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "缺少必需列" in json.loads(result.stdout)["error"]
    assert (db.stat().st_ino, whole_database(db)) == before


# ---------------------------------------------------------------- idempotency and updates

def test_loading_the_same_file_twice_changes_nothing(tmp_path):
    db = build_fixture_db(tmp_path / "twice.duckdb")
    before = whole_database(db)
    result = subprocess.run(
        [sys.executable, "-m", "etl", "load", "appeals", str(FIXTURES / "appeals_gbk.csv"), "--db", str(db), "--json"],
        capture_output=True, text=True, check=True)
    report = json.loads(result.stdout)
    assert {k: report[k] for k in ("rows_read", "inserted", "updated", "unchanged", "stale", "rejected")} == {
        "rows_read": 13, "inserted": 0, "updated": 0, "unchanged": 8, "stale": 0, "rejected": 5}
    assert set(report) == {"file", "kind", "file_hash", "batch_id", "rows_read", "inserted", "updated", "unchanged",
                           "stale", "rejected", "absent_columns"}
    assert report["absent_columns"] == ["dispatched_at"]  # the fixture has no 派单时间
    assert report["file_hash"] == hashlib.sha256((FIXTURES / "appeals_gbk.csv").read_bytes()).hexdigest()
    assert whole_database(db) == before


def test_a_newer_extract_updates_the_appeal_and_keeps_the_old_version(tmp_path):
    db = build_fixture_db(tmp_path / "newer.duckdb")
    newer = write(tmp_path / "newer.csv",
                  "工单编号,来源渠道,诉求类别,受理时间,街道,首次响应时间,办结时间\n"
                  "A4,网格员巡访,市政设施,2026-03-05 10:00,登州街道,2026-03-05 11:00,2026-03-06 09:00\n"
                  "N1,城市通,其他,2026-03-06 10:00,登州街道,,\n")
    report = load_one(db, "appeals", newer)
    assert (report.inserted, report.updated, report.unchanged) == (1, 1, 0)
    assert rows(db, "SELECT resolved_at, status FROM appeals WHERE appeal_id = 'A4'") == [
        (datetime(2026, 3, 6, 9), "已办结")]
    # The old version is kept (as the content of the batch that delivered it).
    assert rows(db, "SELECT resolved_at, batch_id FROM appeals_versions WHERE appeal_id = 'A4'") == [(None, 2)]


def test_cli_exit_codes_with_several_files(tmp_path):
    db = tmp_path / "cli.duckdb"
    subprocess.run([sys.executable, "-m", "etl", "init", "--db", str(db)], capture_output=True, check=True)
    good = FIXTURES / "compounds.csv"
    bad = write(tmp_path / "bad.csv", "小区编码\nC1\n")
    result = subprocess.run([sys.executable, "-m", "etl", "load", "compounds", str(good), str(bad), "--db", str(db),
                             "--json"], capture_output=True, text=True)
    assert result.returncode == 1
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert (first["file"], first["inserted"], first["rejected"]) == ("compounds.csv", 4, 1)
    assert second["batch_id"] is None and "缺少必需列" in second["error"]
    assert rows(db, "SELECT count(*) FROM compounds") == [(4,)]


# ---------------------------------------------------------------- personal data

NAMES = ["张三", "李四", "王五"]
PHONES = ["13812345678", "13900001111"]
ID_NUMBERS = ["110101199003071234"]


def test_no_personal_data_is_stored_anywhere(fixture_db):
    with read_only(fixture_db) as con:
        text_columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_catalog = 'live' AND data_type = 'VARCHAR'").fetchall()
        values = []
        for table, column in text_columns:
            values += [v for (v,) in con.execute(f'SELECT DISTINCT "{column}" FROM "{table}"').fetchall() if v]
    assert values, "the scan must see the stored text"
    for secret in NAMES + PHONES + ID_NUMBERS:
        assert not [v for v in values if secret in v], secret
    assert fixture_db.read_bytes().find("13812345678".encode()) == -1


def test_work_order_numbers_shaped_like_id_numbers_load_and_id_numbers_do_not(tmp_path):
    """A hotline that numbers its work orders by region code, day and sequence (370684 20261128 0001)
    writes keys shaped like the ID number of a child born that day: they load as typed, and so does
    the related work order. A key holding a grown-up's ID number is refused; the text masks both."""
    db = build_fixture_db(tmp_path / "numbers.duckdb")
    day = local_now().date() - timedelta(days=1)
    order, earlier = f"370684{day:%Y%m%d}0001", f"370684{day:%Y%m%d}0000"
    extract = write(tmp_path / "numbered.csv", "工单编号,来源渠道,诉求类别,受理时间,小区编码,诉求内容\n"
                    f"{order},12345热线,环境卫生,{day} 08:00,C1,同工单{earlier}\n"
                    f"370684199003071234,12345热线,环境卫生,{day} 09:00,C1,路灯不亮\n")
    (report,) = load_files(db, "appeals", [extract])
    assert (report.inserted, report.rejected) == (1, 1)
    assert rows(db, "SELECT content FROM appeals WHERE appeal_id = ?", [order]) == [("同工单[身份证号已隐去]",)]
    assert rows(db, "SELECT reason, contains(raw_values, '370684199003071234') FROM rejects WHERE batch_id = ?",
                [report.batch_id]) == [("“工单编号”含有电话号码、身份证号或来电人姓名，此行不导入", False)]
    complaint = write(tmp_path / "complaint.csv", "投诉编号,小区编码,问题类别,投诉时间,关联工单\n"
                      f"P{order},C1,垃圾清运,{day} 10:00,{order}\nQ2,C1,垃圾清运,{day} 11:00,370684199003071234\n")
    (report,) = load_files(db, "complaints", [complaint])
    assert (report.inserted, report.rejected) == (2, 0)
    assert rows(db, "SELECT complaint_id, source_appeal_id FROM complaints WHERE complaint_id IN (?, 'Q2') ORDER BY 1",
                [f"P{order}"]) == [(f"P{order}", order), ("Q2", "[身份证号已隐去]")]


def test_masked_content_and_no_phone_at_all(fixture_db):
    got = dict(rows(fixture_db, "SELECT appeal_id, content FROM appeals WHERE appeal_id IN ('A1', 'A2')"))
    assert got == {"A1": "楼下垃圾没人清运，[姓名已隐去]电话[电话已隐去]",
                   "A2": "身份证[身份证号已隐去]的业主反映电梯故障"}
    with read_only(fixture_db) as con:
        columns = [c for (c,) in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'appeals'").fetchall()]
    assert not [c for c in columns if "caller" in c or "phone" in c]
