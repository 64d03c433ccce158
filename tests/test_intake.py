"""What the loader takes in: one encoding per file, the header found below titles and above notes,
plausible values only, and rejected rows kept as they were in the file (issue 11, points 6–8)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard import desk
from etl.batches import recheck, rejects, rejects_csv
from etl.db import read_only
from etl.load import check_files, load_files
from etl.mapping import Mapping
from etl.read import decode, preview
from settings import local_now
from tests.conftest import FIXTURES

COMPOUNDS = FIXTURES / "compounds.csv"
HEADER = "工单编号,来源渠道,诉求类别,受理时间,街道,诉求内容"
ROWS = ["E1,城市通,物业管理,2026-03-05 10:00,登州街道,电梯故障",
        "E2,12345热线,环境卫生,2026-03-05 11:00,蓬莱阁街道,垃圾清运",
        "E3,城市通,其他,2026-03-05 12:00,登州街道,路灯不亮"]
STORED = [("E1", "电梯故障"), ("E2", "垃圾清运"), ("E3", "路灯不亮")]
LAST = "(SELECT max(batch_id) FROM batches)"
RESAVE = "请把整个文件在 Excel 中“另存为 CSV UTF-8”后重试。"


def rows(db: Path, sql: str, params=None) -> list[tuple]:
    with read_only(db) as con:
        return con.execute(sql, params or []).fetchall()


def registry(tmp_path: Path) -> Path:
    db = tmp_path / "intake.duckdb"
    (report,) = load_files(db, "compounds", [COMPOUNDS])
    assert report.refused is None
    return db


def load(db: Path, kind: str, path: Path, **options):
    (report,) = load_files(db, kind, [path], **options)
    return report


def lines(*text: str, encodings: dict[int, str] | None = None, default: str = "utf-8") -> bytes:
    """Lines joined by CRLF, each encoded as `encodings` says (by 0-based index) or `default`."""
    encodings = encodings or {}
    return b"".join(line.encode(encodings.get(i, default)) + b"\r\n" for i, line in enumerate(text))


# ---------------------------------------------------------------- encodings

@pytest.mark.parametrize(("data", "encoding"), [
    (lines(HEADER, *ROWS), "utf-8"),
    (b"\xef\xbb\xbf" + lines(HEADER, *ROWS), "utf-8"),
    (lines(HEADER, *ROWS, default="gbk"), "gb18030"),
    (lines(HEADER, *ROWS, default="gb18030"), "gb18030"),
], ids=["utf-8", "utf-8-bom", "gbk", "gb18030"])
def test_one_encoding_files_load_as_they_were_written(tmp_path, data, encoding):
    db = registry(tmp_path)
    path = tmp_path / "a.csv"
    path.write_bytes(data)
    report = load(db, "appeals", path)
    assert (report.refused, report.encoding, report.inserted) == (None, encoding, 3)
    assert rows(db, "SELECT appeal_id, content FROM appeals ORDER BY 1") == STORED


def test_a_gb18030_only_character_survives(tmp_path):
    db = registry(tmp_path)
    path = tmp_path / "a.csv"
    path.write_bytes(lines(HEADER, "E1,城市通,物业管理,2026-03-05 10:00,登州街道,䶮与㙍", default="gb18030"))
    assert (load(db, "appeals", path).encoding, rows(db, "SELECT content FROM appeals")) == ("gb18030", [("䶮与㙍",)])


@pytest.mark.parametrize(("data", "message"), [
    (lines(HEADER, *ROWS, encodings={2: "gbk"}),
     "第 3 行不是 UTF-8 编码，文件可能混合了两种编码(共 1 行不是 UTF-8，其余各行是 UTF-8)。" + RESAVE),
    (b"\xef\xbb\xbf" + lines(HEADER, *ROWS, encodings={3: "gbk"}),
     "第 4 行不是 UTF-8 编码，文件可能混合了两种编码(共 1 行不是 UTF-8，其余各行是 UTF-8)。" + RESAVE),
    (lines(HEADER, *ROWS, encodings={2: "utf-8"}, default="gbk"),
     "第 3 行是 UTF-8 编码，而文件其余各行是 GBK(GB18030) 编码，文件可能混合了两种编码(共 1 行是 UTF-8)。" + RESAVE),
    ("appeal_id,channel,category,received_at,street,content\r\nL1,x,y,2026-03-05,z,café au lait\r\n".encode("latin-1"),
     "第 2 行既不是 UTF-8 也不是 GBK(GB18030) 编码，无法识别文件编码。" + RESAVE),
    ("appeal_id,channel,category,received_at,street,content\r\nL1,x,y,2026-03-05,z,Müller São Paulo\r\n"
     .encode("latin-1"),
     "第 2 行既不是 UTF-8 也不是 GBK(GB18030) 编码(看起来是 Latin-1 等西文编码)，无法识别文件编码。" + RESAVE),
], ids=["utf-8-with-a-gbk-line", "utf-8-bom-with-a-gbk-line", "gbk-with-a-utf-8-line", "latin-1", "latin-1-gbk-shaped"])
def test_mixed_or_unknown_encodings_are_refused_naming_the_line(tmp_path, data, message):
    db = registry(tmp_path)
    path = tmp_path / "mixed.csv"
    path.write_bytes(data)
    report = load(db, "appeals", path)
    assert (report.refused, report.batch_id) == (message, None)
    assert rows(db, "SELECT count(*) FROM appeals") == [(0,)]
    upload = desk.inspect_upload("mixed.csv", data)  # the data desk says the same
    assert upload.refused == message


@pytest.mark.parametrize(("encodings", "default", "message"), [
    ({39: "gbk", 45: "gbk"}, "utf-8", "第 40 行不是 UTF-8 编码，文件可能混合了两种编码(共 2 行不是 UTF-8，其余各行是 UTF-8)。"),
    ({36: "utf-8"}, "gbk", "第 37 行是 UTF-8 编码，而文件其余各行是 GBK(GB18030) 编码，文件可能混合了两种编码(共 1 行是 UTF-8)。"),
], ids=["utf-8", "gbk"])
def test_lines_are_numbered_across_the_chunks_a_large_file_is_examined_in(tmp_path, monkeypatch, encodings, default,
                                                                         message):
    from etl import read

    monkeypatch.setattr(read, "ENCODING_CHUNK", 100)  # a few lines a chunk
    body = [f"E{i},城市通,其他,2026-03-05 10:00,登州街道,内容{i}" for i in range(60)]
    path = tmp_path / "long.csv"
    path.write_bytes(lines(HEADER, *body, encodings=encodings, default=default))
    assert load(tmp_path / "db.duckdb", "appeals", path).refused == message + RESAVE


@pytest.mark.parametrize("chunk", [8 << 20, 60])
def test_a_gbk_line_that_happens_to_be_valid_utf8_is_refused_naming_it(tmp_path, monkeypatch, chunk):
    """漏水 in GBK is C2 A9 CB AE, valid UTF-8 for ©ˮ: such a line in a UTF-8 file would be stored
    as mojibake. Refused, naming it; UTF-8 text with two-byte characters of its own (× ° ·) loads."""
    from etl import read

    monkeypatch.setattr(read, "ENCODING_CHUNK", chunk)
    db = registry(tmp_path)
    head = "投诉编号,小区编码,问题类别,投诉时间\n"
    data = (head + "".join(f"P{i},C1,电梯故障,2026-03-02 09:00\n" for i in range(6))).encode("utf-8") + \
        "P9,C1,漏水,2026-03-02 10:00\n".encode("gbk")
    assert "漏水".encode("gbk").decode("utf-8") == "©ˮ"
    (tmp_path / "mixed.csv").write_bytes(data)
    report = load(db, "complaints", tmp_path / "mixed.csv")
    assert report.refused == ("第 8 行看起来是 GBK(GB18030) 编码的中文，而文件其余各行是 UTF-8 编码，文件可能混合了两种编码"
                              "(按 UTF-8 读，这一行会变成乱码)。" + RESAVE)
    assert rows(db, "SELECT count(*) FROM complaints") == [(0,)]
    fine = (head + "P1,C1,电梯故障 3×4 米、30°,2026-03-02 09:00\nP2,C1,阿依古丽·买买提反映漏水,2026-03-02 10:00\n")
    (tmp_path / "fine.csv").write_bytes(fine.encode("utf-8"))
    report = load(db, "complaints", tmp_path / "fine.csv")
    assert (report.refused, report.inserted) == (None, 2)


def test_a_latin1_line_is_found_across_chunks(monkeypatch):
    from etl import read

    monkeypatch.setattr(read, "ENCODING_CHUNK", 50)
    data = lines("appeal_id,content", *[f"L{i},plain ascii" for i in range(30)], "L30,Müller São", "L31,Straße",
                 default="latin-1")
    with pytest.raises(read.FileRefused, match="^第 32 行既不是 UTF-8 也不是 GBK"):
        decode(Path("x.csv"), data=data.replace(b"\r\n", b"\n"))


def test_a_gbk_line_that_happens_to_be_valid_utf8_is_still_gbk():
    # 一为 in GBK is the valid UTF-8 "һΪ": a Cyrillic and a Greek letter, not Chinese text.
    data = lines("编号,内容", "1,一为", "2,电梯故障", default="gbk")
    assert data.split(b"\r\n")[1].decode("utf-8") == "1,һΪ"
    shown = preview(decode(Path("x.csv"), data=data))
    assert (shown.encoding, shown.rows.get_column("内容").to_list()) == ("gb18030", ["一为", "电梯故障"])


def test_a_utf16_file_is_named_as_such(tmp_path):
    path = tmp_path / "u16.csv"
    path.write_bytes("\t".join(HEADER.split(",")).encode("utf-16"))
    assert load(tmp_path / "db.duckdb", "appeals", path).refused == (
        "文件是 UTF-16 编码(Excel“Unicode 文本”)，无法读取。" + RESAVE)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_its_mark_is_named_too(tmp_path, codec):
    path = tmp_path / "u16.csv"
    path.write_bytes(f"{HEADER}\n{ROWS[0]}\n".encode(codec))
    assert load(tmp_path / "db.duckdb", "appeals", path).refused == (
        "文件是 UTF-16 编码(Excel“Unicode 文本”)，无法读取。" + RESAVE)


def test_a_tab_separated_file_is_told_so_and_invisible_characters_in_headers_do_not_matter(tmp_path):
    tabs = tmp_path / "tabs.csv"
    tabs.write_text(f"{HEADER}\n{ROWS[0]}\n".replace(",", "\t"), encoding="utf-8")
    assert load(tmp_path / "db.duckdb", "appeals", tabs).refused.endswith(
        "表头各列以制表符(Tab)分隔，这不是逗号分隔的 CSV；" + RESAVE)
    hidden = tmp_path / "hidden.csv"
    hidden.write_text("\ufeff\ufeff" + f"{HEADER}\n{ROWS[0]}\n".replace("工单编号", "工单\u200b编号"), encoding="utf-8")
    assert load(tmp_path / "db.duckdb", "appeals", hidden).inserted == 1


@pytest.mark.parametrize("cell", ['"电话13899990000"xx', '"电话13899990000'], ids=["text-after-quote", "unterminated"])
def test_a_broken_quote_is_named_by_line_and_column_not_quoted(tmp_path, cell):
    """The parser's own message quotes the cell (a phone number, here) and its advice in English."""
    path = tmp_path / "quote.csv"
    path.write_text(f"{HEADER}\n{ROWS[0]}\nE9,城市通,其他,2026-03-05 12:00,登州街道,{cell}\n{ROWS[1]}\n",
                    encoding="utf-8")
    refused = load(tmp_path / "db.duckdb", "appeals", path).refused
    assert refused == ("无法按 CSV 格式读取文件：第 3 行第 6 列有不成对的引号(一格内容以引号开头却没有以引号结束，"
                       "或引号之后还有内容)。" + RESAVE)


def test_cells_past_the_header_reject_their_row_and_are_kept(tmp_path):
    """An unquoted comma in the last column used to cut the text silently (polars drops the cells
    past the header): the row is rejected and its every cell kept; empty cells past the header (a
    trailing comma) are no content. Rechecked, the row is rejected again, its cells still kept
    (found by an attack session)."""
    db = tmp_path / "db.duckdb"
    load(db, "compounds", COMPOUNDS)
    path = tmp_path / "wide.csv"
    path.write_text(f"{HEADER}\n{ROWS[0]},,\nE7,城市通,其他,2026-03-05 12:00,登州街道,楼道灯坏了,已报修两次,无人处理\n"
                    f"{ROWS[1]}\n", encoding="utf-8")
    report = load(db, "appeals", path)
    assert (report.inserted, report.rejected) == (2, 1)
    assert rows(db, "SELECT content FROM appeals ORDER BY appeal_id") == [("电梯故障",), ("垃圾清运",)]
    (batch,) = rows(db, "SELECT max(batch_id) FROM batches")[0]
    with read_only(db) as con:
        table = rejects_csv(con, batch).decode("utf-8-sig").splitlines()
    assert table[0].endswith(",(表头以外的内容)")
    assert table[1].startswith("3,本行比表头多出几格") and table[1].endswith(",楼道灯坏了,\"已报修两次,无人处理\"")
    again = recheck(db, batch)
    assert (again.inserted, again.rejected) == (0, 1)
    with read_only(db) as con:
        assert rejects_csv(con, again.batch_id).decode("utf-8-sig").splitlines()[1:] == table[1:]


# ---------------------------------------------------------------- headers below titles, notes below data

TITLES = [
    ["蓬莱区12345热线工单导出", ""],  # the issue's case: a title and a blank line, no separators
    ["蓬莱区12345热线工单导出,,,,,", ",,,,,"],  # padded with commas
    ["\"蓬莱区诉求工单\"", "导出时间：2026-03-06", "说明：本表由系统自动生成", "", ""],  # several lines
]


@pytest.mark.parametrize("title", TITLES, ids=["title-blank", "padded", "several"])
def test_a_header_below_titles_is_read_whole_by_the_cli_and_the_desk(tmp_path, title):
    db = registry(tmp_path)
    data = lines(*title, HEADER, *ROWS, "E4,城市通,其他,2026-13-45,登州街道,日期不对")
    path = tmp_path / "titled.csv"
    path.write_bytes(data)
    header_row = len(title) + 1

    upload = desk.inspect_upload("titled.csv", data)
    assert (upload.preview.header_row, upload.headers, upload.guessed_kind) == (
        header_row, HEADER.split(","), "appeals")
    (checked,) = check_files(db, "appeals", [path])
    assert (checked.refused, checked.inserted, checked.rejected) == (None, 3, 1)

    result = subprocess.run([sys.executable, "-m", "etl", "load", "appeals", str(path), "--db", str(db), "--json"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert (report["rows_read"], report["inserted"], report["rejected"]) == (4, 3, 1)
    assert rows(db, "SELECT appeal_id, content FROM appeals ORDER BY 1") == STORED
    # The rejected row's number is the line it is on.
    assert rows(db, f"SELECT row_number FROM rejects WHERE batch_id = {LAST}") == [(header_row + 4,)]


def test_an_xlsx_with_a_merged_title_blank_rows_and_notes(tmp_path):
    db = registry(tmp_path)
    path = tmp_path / "titled.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet()
    sheet.merge_range(1, 0, 1, 5, "蓬莱区诉求工单(2026年3月)", book.add_format({"bold": True}))
    sheet.write(2, 0, "注：时间均为北京时间")
    sheet.write_row(4, 0, HEADER.split(","))
    for index, row in enumerate([*ROWS, "E4,城市通,其他,1995-03-05 10:00,登州街道,太早"]):
        sheet.write_row(5 + index + (index >= 2), 0, row.split(","))  # a blank row 8 inside the data
    sheet.write(11, 0, "合计")
    sheet.write(11, 1, "4")
    sheet.write(13, 0, "制表人：张三")
    book.close()
    report = load(db, "appeals", path)
    assert (report.rows_read, report.inserted, report.rejected) == (4, 3, 1)
    (reject,) = rows(db, f"SELECT row_number, reason FROM rejects WHERE batch_id = {LAST}")
    assert reject[0] == 10  # Excel's row number: header on row 5, a blank row 8
    assert reject[1].startswith("“受理时间”不在合理时间范围(2000-01-01 至 ")
    assert desk.inspect_upload("titled.xlsx", path.read_bytes()).preview.header_row == 5


def test_a_workbook_is_read_from_its_one_data_sheet_and_refused_with_two(tmp_path):
    """Only the first sheet was read: a workbook of monthly sheets lost all but January's rows
    silently (found by an attack session). The one sheet that holds an extract is read, wherever
    it is; with two, the workbook is refused naming them."""
    db = registry(tmp_path)

    def workbook(name: str, sheets: dict[str, list[str]]) -> Path:
        path = tmp_path / name
        book = xlsxwriter.Workbook(path)
        for title, lines in sheets.items():
            sheet = book.add_worksheet(title)
            for index, line in enumerate(lines):
                sheet.write_row(index, 0, line.split(","))
        book.close()
        return path

    notes_first = workbook("notes.xlsx", {"填表说明": ["受理时间请写成 2026-03-05 10:00"], "数据": [HEADER, *ROWS]})
    assert load(db, "appeals", notes_first).inserted == 3
    months = workbook("months.xlsx", {"1月": [HEADER, ROWS[0]], "2月": [HEADER, ROWS[1]], "Sheet3": []})
    assert load(db, "appeals", months).refused == (
        "工作簿中有 2 个数据工作表(“1月”、“2月”)，一次只能导入一个，否则其余工作表的数据会被漏掉；"
        "请把每个工作表另存为单独的 Excel 或 CSV 文件后分别导入。")
    assert desk.inspect_upload("months.xlsx", months.read_bytes()).refused.startswith("工作簿中有 2 个数据工作表")


def test_an_excel_error_value_rejects_its_row_in_a_workbook_and_in_a_csv(tmp_path):
    """calamine reads an error cell (#N/A, #DIV/0!) as empty: a 办结时间 that a formula failed to
    find loaded as "not resolved". The row is rejected naming the value, from a workbook (the
    sheet starting in column B, where calamine's grid starts) and from the CSV Excel saves of it;
    a personal column's error only drops that value."""
    db = registry(tmp_path)
    header = HEADER + ",办结时间,来电人电话"
    path = tmp_path / "errors.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet()
    sheet.write_row(1, 1, header.split(","))
    for index, row in enumerate(ROWS):
        sheet.write_row(2 + index, 1, [*row.split(","), "2026-03-06 10:00"])
    sheet.write_formula(2, 7, "=VLOOKUP(B3,Z:Z,1,FALSE)", None, "#N/A")  # 办结时间 of E1
    sheet.write_formula(3, 3, "=1/0", None, "#DIV/0!")  # 诉求类别 of E2
    sheet.write_formula(4, 8, "=NA()", None, "#N/A")  # 来电人电话 of E3
    book.close()
    expected = [(3, "“办结时间”是 Excel 错误值 #N/A(公式没有算出结果)，此行不导入"),
                (4, "“诉求类别”是 Excel 错误值 #DIV/0!(公式没有算出结果)，此行不导入")]
    report = load(db, "appeals", path)
    assert (report.inserted, report.rejected) == (1, 2)
    assert rows(db, f"SELECT row_number, reason FROM rejects WHERE batch_id = {LAST} ORDER BY 1") == expected
    saved = tmp_path / "errors.csv"
    saved.write_bytes(lines(header, ROWS[0] + ",#N/A,", ROWS[1].replace("环境卫生", "#DIV/0!") + ",2026-03-06 10:00,",
                            ROWS[2] + ",2026-03-06 10:00,#N/A"))
    report = load(db, "appeals", saved)
    assert (report.inserted, report.unchanged, report.rejected) == (0, 1, 2)
    assert rows(db, f"SELECT row_number + 1, reason FROM rejects WHERE batch_id = {LAST} ORDER BY 1") == expected
    assert rows(db, "SELECT resolved_at IS NULL FROM appeals WHERE appeal_id IN ('E1', 'E2')") == []


def test_notes_below_the_data_are_skipped_but_a_full_row_is_data(tmp_path):
    db = registry(tmp_path)
    path = tmp_path / "footer.csv"
    path.write_bytes(lines(HEADER, *ROWS, "合计X,城市通,其他,2026-03-05 10:00,登州街道,真有此单",
                           "", "合计,3,,,,", "制表人：张三,,,,,", "审核：李四"))
    report = load(db, "appeals", path)
    assert (report.rows_read, report.inserted, report.rejected) == (4, 4, 0)
    assert rows(db, f"SELECT count(*) FROM rejects WHERE batch_id = {LAST}") == [(0,)]


def test_a_second_column_for_a_field_is_named_as_a_repeat_not_as_unknown(tmp_path):
    db = registry(tmp_path)
    path = tmp_path / "twice.csv"
    path.write_bytes(lines(HEADER + ",工单编号,登记时间,备注", ROWS[0] + ",D6,2026-03-05 09:00,无"))
    report = load(db, "appeals", path)
    assert report.inserted == 1
    assert report.ignored_columns == ["工单编号(与已读取的列重复)", "登记时间(与已读取的列重复)", "备注"]


def test_a_last_record_that_reads_like_a_note_is_still_a_record(tmp_path):
    """A survey topic 说明解释工作 starts with a footer word and, beside six empty spare columns,
    fills half the header: it was skipped as a note, neither loaded nor rejected (found by an
    attack session). A row that fills every required column is a record."""
    db = registry(tmp_path)
    path = tmp_path / "surveys.csv"
    path.write_bytes(lines("测评项目,问卷编号,调查日期,小区编码,评分,评价,备用1,备用2,备用3,备用4,备用5,备用6",
                           "物业服务,Q1,2026-03-02,C1,5,满意,,,,,,", "说明解释工作,Q3,2026-03-02,C1,2,不满意,,,,,,",
                           "合计,2,,,,,,,,,,"))
    report = load(db, "surveys", path)
    assert (report.rows_read, report.inserted, report.rejected) == (2, 2, 0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(titles=st.lists(st.one_of(
    st.just(""),
    st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters='",'),
            min_size=1, max_size=20),
    st.integers(1, 8).map(lambda n: "蓬莱区工单" + "," * n)), max_size=6))
def test_any_titles_above_a_file_give_the_same_load(tmp_path_factory, titles):
    folder = tmp_path_factory.mktemp("titles")
    plain, titled = folder / "plain.csv", folder / "titled.csv"
    body = [HEADER, *ROWS, "E4,微信群,其他,2026-03-05 10:00,登州街道,渠道不对"]
    plain.write_bytes(lines(*body))
    titled.write_bytes(lines(*titles, *body))
    results = []
    for path in (plain, titled):
        db = registry(folder / path.stem)
        report = load(db, "appeals", path)
        assert report.refused is None, report.refused
        results.append((rows(db, "SELECT * EXCLUDE (batch_id) FROM appeals ORDER BY 1"),
                        rows(db, "SELECT row_number, reason, raw_values FROM rejects WHERE batch_id = ?",
                             [report.batch_id])))
    (plain_rows, plain_rejects), (titled_rows, titled_rejects) = results
    assert titled_rows == plain_rows
    assert titled_rejects == [(n + len(titles), reason, raw) for n, reason, raw in plain_rejects]


# ---------------------------------------------------------------- plausible values

@pytest.fixture
def now(monkeypatch) -> datetime:
    """The load time, held still so that the window a reason quotes is known to the minute."""
    from etl import validate

    moment = local_now()
    monkeypatch.setattr(validate, "local_now", lambda: moment)
    return moment


def test_dates_outside_the_window_and_lifecycle_out_of_order_are_rejected(tmp_path, now):
    db = registry(tmp_path)
    soon = now + timedelta(hours=12)
    late = now + timedelta(days=2)
    window = f"2000-01-01 至 {now + timedelta(days=1):%Y-%m-%d %H:%M}"
    path = tmp_path / "dates.csv"
    path.write_bytes(lines(
        "工单编号,来源渠道,诉求类别,受理时间,街道,派单时间,首次响应时间,办结时间,回访时间,结案时间",
        "P1,城市通,其他,2099-03-05 10:00,登州街道,,,,,",
        "P2,城市通,其他,1995-03-05 10:00,登州街道,,,,,",
        f"P3,城市通,其他,{late:%Y-%m-%d %H:%M},登州街道,,,,,",
        f"P4,城市通,其他,{soon:%Y-%m-%d %H:%M},登州街道,,,,,",
        "P5,城市通,其他,2026-03-05 10:00,登州街道,2026-03-05 11:00,2026-03-05 12:00,2026-03-06 10:00,"
        "2026-03-07 10:00,2026-03-06 09:00",
        "P6,城市通,其他,2026-03-05 10:00,登州街道,,,2026-03-05 09:00,,",
        "P7,城市通,其他,2026-03-05 10:00,登州街道,2026-03-05 12:00,2026-03-05 11:00,,,",
        "P8,城市通,其他,2026-03-05 10:00,登州街道,2026-03-05 11:00,2026-03-05 11:00,2026-03-05 11:00,"
        "2026-03-05 11:00,2026-03-05 11:00",
        "P9,城市通,其他,2026-03-05 10:00,登州街道,,,2026-03-06 10:00,2099-01-01 00:00,",
    ))
    report = load(db, "appeals", path)
    assert (report.inserted, report.rejected) == (2, 7)
    assert rows(db, "SELECT appeal_id FROM appeals ORDER BY 1") == [("P4",), ("P8",)]
    assert dict(rows(db, f"SELECT row_number, reason FROM rejects WHERE batch_id = {LAST}")) == {
        2: f"“受理时间”不在合理时间范围({window})内：2099-03-05 10:00",
        3: f"“受理时间”不在合理时间范围({window})内：1995-03-05 10:00",
        4: f"“受理时间”不在合理时间范围({window})内：{late:%Y-%m-%d %H:%M}",
        6: "“结案时间”早于“反馈时间”",
        7: "“办结时间”早于“受理时间”",
        8: "“首次响应时间”早于“派单时间”",
        10: f"“反馈时间”不在合理时间范围({window})内：2099-01-01 00:00",
    }


def test_complaint_and_survey_dates_follow_the_same_rules(tmp_path, now):
    db = registry(tmp_path)
    complaints = tmp_path / "c.csv"
    complaints.write_bytes(lines("投诉编号,小区编码,问题类别,投诉时间,解决时间",
                                 "T1,C1,垃圾清运,2026-03-05 10:00,2026-03-04 10:00",
                                 "T2,C1,垃圾清运,1999-12-31 23:59,"))
    assert load(db, "complaints", complaints).rejected == 2
    surveys = tmp_path / "s.csv"
    surveys.write_bytes(lines("问卷编号,调查日期,小区编码,测评项目,评分", "S1,2099-01-01,C1,物业服务,5",
                              "S2,2026-03-01,C1,物业服务,5"))
    assert (load(db, "surveys", surveys).inserted, load(db, "surveys", surveys).rejected) == (1, 1)
    reasons = [r for (r,) in rows(db, "SELECT reason FROM rejects WHERE batch_id > 1 ORDER BY batch_id, row_number")]
    window = f"2000-01-01 至 {now + timedelta(days=1):%Y-%m-%d %H:%M}"
    assert reasons[:3] == ["“解决时间”早于“投诉时间”", f"“投诉时间”不在合理时间范围({window})内：1999-12-31 23:59",
                           f"“调查日期”不在合理时间范围({window})内：2099-01-01"]


def test_coordinates_outside_the_district_and_negative_counts_are_rejected(tmp_path):
    db = tmp_path / "c.duckdb"
    path = tmp_path / "compounds.csv"
    path.write_bytes(lines("小区编码,小区名称,街道,社区,小区类型,户数,经度,纬度",
                           "K1,甲,登州街道,东城社区,老旧小区,10,120.75,37.80",
                           "K2,乙,登州街道,东城社区,老旧小区,10,-999,37.80",
                           "K3,丙,登州街道,东城社区,老旧小区,10,120.75,1e308",
                           "K4,丁,登州街道,东城社区,老旧小区,-5,,",
                           "K5,戊,登州街道,东城社区,老旧小区,10,116.40,39.90",
                           "K6,己,登州街道,东城社区,老旧小区,10,inf,37.80"))
    report = load(db, "compounds", path)
    assert (report.inserted, report.rejected) == (1, 5)
    assert dict(rows(db, f"SELECT row_number, reason FROM rejects WHERE batch_id = {LAST}")) == {
        3: "“经度”不在本区范围(120.3–121.2°E)内：-999",
        4: "“纬度”不在本区范围(37.4–38.5°N)内：1e308",
        5: "“户数”应为非负整数：-5",
        6: "“经度”不在本区范围(120.3–121.2°E)内：116.40；“纬度”不在本区范围(37.4–38.5°N)内：39.90",
        7: "“经度”不在本区范围(120.3–121.2°E)内：inf",
    }


def test_full_width_digits_are_digits_and_a_comma_only_groups_thousands(tmp_path):
    """１２００ is 1200 and ２０２６-０３-０２ a date; "1,2" is not twelve (found by an attack session)."""
    db = tmp_path / "c.duckdb"
    path = tmp_path / "compounds.csv"
    path.write_bytes(lines("小区编码,小区名称,街道,社区,小区类型,户数,经度,纬度",
                           "K1,甲,登州街道,东城社区,老旧小区,１２００,１２０.７５,３７.８０",
                           'K2,乙,登州街道,东城社区,老旧小区,"1,200",120.75,37.80',
                           'K3,丙,登州街道,东城社区,老旧小区,"1,2",120.75,37.80'))
    report = load(db, "compounds", path)
    assert (report.inserted, report.rejected) == (2, 1)
    assert rows(db, "SELECT compound_id, households, longitude FROM compounds ORDER BY 1") == [
        ("K1", 1200, 120.75), ("K2", 1200, 120.75)]
    assert rows(db, f"SELECT reason FROM rejects WHERE batch_id = {LAST}") == [("“户数”应为非负整数：1,2",)]
    appeals = tmp_path / "appeals.csv"
    appeals.write_bytes(lines(HEADER, "F1,城市通,其他,２０２６-０３-０２ ０９:００,登州街道,路灯不亮"))
    assert load(db, "appeals", appeals).inserted == 1
    assert rows(db, "SELECT strftime(received_at, '%Y-%m-%d %H:%M') FROM appeals") == [("2026-03-02 09:00",)]


def test_the_district_box_never_reaches_past_china(monkeypatch):
    import settings

    settings.intake_settings.cache_clear()
    monkeypatch.setattr(settings, "reference", lambda: {"intake": {"district_box": {
        "lon_min": -180, "lon_max": 180, "lat_min": 30, "lat_max": 90}}})
    try:
        assert settings.intake_settings()["district_box"] == {
            "lon_min": 73.4, "lon_max": 135.1, "lat_min": 30.0, "lat_max": 53.6}
    finally:
        settings.intake_settings.cache_clear()


# ---------------------------------------------------------------- control characters

CONTROL_REASON = "含有控制字符(如 NUL)，可能是文件损坏"


def test_a_nul_is_a_bad_row_wherever_it_is_in_the_file(tmp_path):
    db = registry(tmp_path)
    body = [f"N{i},城市通,其他,2026-03-05 10:00,登州街道,{'内容' * 20}" for i in range(2000)]
    body[2] = body[2].replace("内容", "内\x00容", 1)  # in the first 64 KB
    body[1800] = body[1800].replace("城市通", "城\x00市通")  # long after it
    path = tmp_path / "nul.csv"
    path.write_bytes(lines(HEADER, *body))
    assert len(lines(HEADER, *body[:1800])) > 65536
    report = load(db, "appeals", path)
    assert (report.inserted, report.rejected) == (1998, 2)
    assert dict(rows(db, f"SELECT row_number, reason FROM rejects WHERE batch_id = {LAST}")) == {
        4: "“诉求内容”" + CONTROL_REASON,
        1802: "“来源渠道”" + CONTROL_REASON + "；未知诉求渠道“城\x00市通”(可选：12345热线、城市通、e网通扫码、网格员巡访、民意日记、来信来访)",
    }
    assert not rows(db, "SELECT count(*) FROM appeals WHERE content LIKE '%' || chr(0) || '%'")[0][0]


def test_tabs_and_line_breaks_inside_cells_are_text(tmp_path):
    db = registry(tmp_path)
    path = tmp_path / "tabs.csv"
    path.write_bytes(lines(HEADER, 'T1,城市通,其他,2026-03-05 10:00,登州街道,"第一行\n第二行\t完"'))
    assert load(db, "appeals", path).inserted == 1
    assert rows(db, "SELECT content FROM appeals") == [("第一行\n第二行\t完",)]
    # A lone carriage return in an unquoted cell of a CRLF file is text too (it split the record).
    path.write_bytes(lines(HEADER, "T2,城市通,其他,2026-03-05 10:00,登州街道,楼道灯坏了\r已报修两次", ROWS[0]))
    report = load(db, "appeals", path)
    assert (report.inserted, report.rejected) == (2, 0)
    assert rows(db, "SELECT content FROM appeals WHERE appeal_id = 'T2'") == [("楼道灯坏了\r已报修两次",)]
    # A file of lone carriage returns alone (an old Mac export) still splits on them.
    path.write_bytes(f"{HEADER}\r{ROWS[1]}\r".encode())
    assert load(db, "appeals", path).inserted == 1


def test_a_control_character_in_the_header_refuses_the_file(tmp_path):
    path = tmp_path / "h.csv"
    path.write_bytes(lines("标题", HEADER.replace("街道", "街\x01道"), *ROWS * 20))
    assert load(tmp_path / "db.duckdb", "appeals", path).refused == "表头(第 2 行)含有控制字符，文件可能已损坏。"


CONTROLS = [chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)]]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.integers(0, 5), column=st.integers(0, 5), control=st.sampled_from(CONTROLS),
       encoding=st.sampled_from(["utf-8", "gb18030"]))
def test_any_control_character_in_a_cell_rejects_exactly_that_row(tmp_path_factory, row, column, control, encoding):
    folder = tmp_path_factory.mktemp("control")
    db = registry(folder)
    body = [f"R{i},城市通,其他,2026-03-05 1{i}:00,登州街道,内容{i}" for i in range(6)]
    cells = body[row].split(",")
    cells[column] = cells[column][:1] + control + cells[column][1:]  # inside the cell, not at an edge
    body[row] = ",".join(cells)
    path = folder / "control.csv"
    path.write_bytes(lines(HEADER, *body, default=encoding))
    report = load(db, "appeals", path)
    assert (report.refused, report.inserted, report.rejected) == (None, 5, 1)
    (number, reason), = rows(db, f"SELECT row_number, reason FROM rejects WHERE batch_id = {LAST}")
    assert number == row + 2
    assert f"“{HEADER.split(',')[column]}”{CONTROL_REASON}" in reason


# ---------------------------------------------------------------- rejected rows as they were in the file

def test_rejects_keep_the_files_own_headers_and_values_and_recheck_still_reads_the_mapping(tmp_path):
    db = registry(tmp_path)
    path = tmp_path / "mapped.csv"
    path.write_bytes(lines("单号,类别,时间,区域,小区",
                           "M1,其他,2026-03-05 10:00,东区,C1",
                           "M2,其他,2026-03-05 10:00,东区,C9",
                           "M3,其他,2026-13-45,西区,C1"))
    mapping = Mapping(kind="appeals", columns={"appeal_id": "单号", "category": "类别", "received_at": "时间",
                                               "street": "区域", "compound_id": "小区"},
                      fixed={"channel": "城市通"},
                      values={"street": {"东区": "登州街道", "西区": "蓬莱阁街道"}})
    report = load(db, "appeals", path, mapping=mapping)
    assert (report.inserted, report.rejected) == (1, 2)
    with read_only(db) as con:
        csv_text = rejects_csv(con, report.batch_id).decode("utf-8-sig")
        shown = desk.rejects_frame(rejects(con, report.batch_id))
    assert shown.columns == ["原文件行号", "拒绝原因", "单号", "类别", "时间", "区域", "小区"]
    assert shown.row(0)[2:] == ("M2", "其他", "2026-03-05 10:00", "东区", "C9")
    assert csv_text.splitlines() == [
        "原文件行号,拒绝原因,单号,类别,时间,区域,小区",
        "3,未知小区编码“C9”(小区台账中没有),M2,其他,2026-03-05 10:00,东区,C9",
        "4,“受理时间”无法识别为日期时间：2026-13-45,M3,其他,2026-13-45,西区,C1",
    ]
    # Once the registry knows C9, the re-check reads the rows as the mapping did.
    compounds = tmp_path / "c9.csv"
    compounds.write_bytes(lines("小区编码,小区名称,街道,社区,小区类型", "C9,新小区,新港街道,港湾社区,商品房小区"))
    load(db, "compounds", compounds)
    again = recheck(db, report.batch_id)
    assert (again.inserted, again.rejected) == (1, 1)
    assert rows(db, "SELECT appeal_id, channel, street FROM appeals WHERE appeal_id = 'M2'") == [
        ("M2", "城市通", "登州街道")]
