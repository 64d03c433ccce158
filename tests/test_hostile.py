"""Random, corrupted and hostile files: each ends in a clean refusal or a load with rejected rows.

Never an unhandled exception, never a half-written batch: after every attempt the database's
batches and rows agree with what the reports said.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.contract import KINDS
from etl.db import read_only
from etl.load import check_files, load_files
from settings import max_expanded_bytes
from tests.conftest import FIXTURES, build_fixture_db

HEADERS = {kind: [c.headers[0] for c in spec.columns] for kind, spec in KINDS.items()}
NASTY_CELLS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", " ", "=1+1", "+cmd|' /C calc'!A0", "@SUM(1)", "-1", "9999-12-31 23:59:59",
                     "0000-00-00", "2026-02-30", "1e309", "NaN", "-5", "3.5", "是", "Y", "\x00", "\u202e",
                     "'; DROP TABLE appeals; --", "C1", "海景苑", "登州街道", "12345热线", "邻里", "满意",
                     "2026年3月5日 14时02分", "03/05/2026 02:02:00 PM", "\"quoted,comma\"", "a\nb"]),
)


def csv_text(header: list[str], rows: list[list[str]], newline: str) -> str:
    def cell(value: str) -> str:
        if any(ch in value for ch in ',"\n\r'):
            return '"' + value.replace('"', '""') + '"'
        return value
    return newline.join(",".join(cell(v) for v in row) for row in [header, *rows]) + newline


@st.composite
def extract_files(draw):
    kind = draw(st.sampled_from(sorted(KINDS)))
    header = list(HEADERS[kind])
    if draw(st.booleans()):
        header = draw(st.permutations(header))
    if draw(st.booleans()):
        header.append(draw(st.sampled_from(header)))  # a duplicate header
    if draw(st.booleans()) and len(header) > 2:
        header.pop(draw(st.integers(0, len(header) - 1)))  # a missing column
    rows = draw(st.lists(st.lists(NASTY_CELLS, min_size=len(header), max_size=len(header)), max_size=8))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]))
    data = csv_text(header, rows, newline).encode(encoding, errors="replace")
    cut = draw(st.one_of(st.none(), st.integers(0, max(len(data) - 1, 0))))
    if cut is not None:
        data = data[:cut]  # a truncated file
    return kind, data


def consistent(db: Path, reports) -> None:
    """The database holds exactly the batches the reports say, and no stray copy."""
    if not db.exists():
        assert all(r.refused for r in reports)
        return
    with read_only(db) as con:
        batches = dict(con.execute("SELECT batch_id, inserted FROM batches").fetchall())
    for report in reports:
        if report.refused:
            assert report.batch_id is None and isinstance(report.refused, str) and report.refused
        else:
            assert batches[report.batch_id] == report.inserted
            assert report.rows_read == report.inserted + report.updated + report.unchanged + report.rejected
    assert not list(db.parent.glob(db.name + ".tmp-*"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extract=extract_files())
def test_random_extracts_are_refused_cleanly_or_loaded_with_rejects(tmp_path_factory, extract):
    kind, data = extract
    folder = tmp_path_factory.mktemp("hostile")
    db = build_fixture_db(folder / "db.duckdb") if kind != "compounds" else folder / "db.duckdb"
    path = folder / "extract.csv"
    path.write_bytes(data)
    reports = load_files(db, kind, [path])
    consistent(db, reports)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".csv", ".xlsx"]))
def test_binary_junk_is_refused(tmp_path_factory, data, suffix):
    folder = tmp_path_factory.mktemp("junk")
    path = folder / f"junk{suffix}"
    path.write_bytes(data)
    reports = load_files(folder / "db.duckdb", "appeals", [path])
    consistent(folder / "db.duckdb", reports)


def test_a_one_megabyte_cell_and_nul_bytes(tmp_path):
    db = build_fixture_db(tmp_path / "big.duckdb")
    big = "长" * 1_000_000
    path = tmp_path / "big.csv"
    path.write_text("工单编号,来源渠道,诉求类别,受理时间,街道,诉求内容\n"
                    f"B1,城市通,其他,2026-03-05 10:00,登州街道,{big}\n", encoding="utf-8")
    (report,) = load_files(db, "appeals", [path])
    assert report.inserted == 1
    path.write_bytes(b"\xe5\xb7\xa5\xe5\x8d\x95\xe7\xbc\x96\xe5\x8f\xb7\x00,x\n")
    (refused,) = load_files(db, "appeals", [path])
    assert "二进制" in refused.refused


def test_a_zip_bomb_xlsx_is_refused_before_it_is_inflated(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            zeros = b"\0" * (1 << 24)
            for _ in range(max_expanded_bytes() // len(zeros) + 2):
                part.write(zeros)
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(buffer.getvalue())
    assert path.stat().st_size < 5 * 1024 * 1024
    (report,) = load_files(tmp_path / "db.duckdb", "appeals", [path])
    assert "解压后超过" in report.refused
    assert not (tmp_path / "db.duckdb").exists()


def test_a_duplicate_header_reads_the_first_column_and_reports_the_second(tmp_path):
    db = build_fixture_db(tmp_path / "dup.duckdb")
    path = tmp_path / "dup.csv"
    path.write_text("工单编号,来源渠道,诉求类别,受理时间,街道,工单编号\nD1,城市通,其他,2026-03-05 10:00,登州街道,D2\n",
                    encoding="utf-8")
    (report,) = load_files(db, "appeals", [path])
    assert (report.inserted, report.ignored_columns) == (1, ["工单编号(与已读取的列重复)"])
    with read_only(db) as con:
        assert con.execute("SELECT count(*) FROM appeals WHERE appeal_id = 'D1'").fetchall() == [(1,)]


def test_a_file_name_in_gbk_bytes_loads_under_its_chinese_name(tmp_path):
    """A Windows zip unpacks names in GBK: the name is read so, not kept as undecodable bytes."""
    db = build_fixture_db(tmp_path / "db.duckdb")
    path = Path(os.fsdecode(bytes(tmp_path) + "/工单.csv".encode("gbk")))
    path.write_text("工单编号,来源渠道,诉求类别,受理时间,小区编码\nG1,12345热线,环境卫生,2026-03-02 09:00,C1\n",
                    encoding="utf-8")
    (checked,) = check_files(db, "appeals", [path])
    (report,) = load_files(db, "appeals", [path])
    assert (checked.file, checked.inserted, report.file, report.inserted) == ("工单.csv", 1, "工单.csv", 1)
    with read_only(db) as con:
        assert con.execute("SELECT file_name FROM batches WHERE batch_id = ?", [report.batch_id]).fetchall() == [
            ("工单.csv",)]
