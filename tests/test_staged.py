"""An upload is decoded once, and the check and the load work from the same staged file: a check
equals the load that follows it (hostile files included), and when the database or the file
changes in between, what happens is what the reports say."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path

import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli import main
from etl import load as loading
from etl import read
from etl.db import read_only
from etl.load import check, check_files, load_checked, load_files
from tests.conftest import FIXTURES

COUNTS = ("rows_read", "inserted", "updated", "unchanged", "stale", "rejected", "duplicates", "reasons", "file_hash")
HEADER = "工单编号,来源渠道,诉求类别,受理时间,街道,小区编码,首次响应时间,办结时间,群众评价,来电人,联系电话,诉求内容"


def counts(report) -> dict:
    return {name: getattr(report, name) for name in COUNTS} | {"refused": report.refused}


@pytest.fixture
def spy(monkeypatch) -> list[int]:
    """Every call of the decoder, wherever it is called from."""
    calls: list[int] = []
    original = read.decode

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(read, "decode", counted)
    monkeypatch.setattr(loading, "decode", counted)
    return calls


@pytest.fixture
def db(fixture_db, tmp_path) -> Path:
    return Path(shutil.copy(fixture_db, tmp_path / "staged.duckdb"))


def test_check_then_load_decodes_once_and_loads_what_was_checked(db, spy):
    staged = check(db, "appeals", read.decode(FIXTURES / "appeals_gbk.csv"), "工单.csv")
    (loaded,) = load_checked(db, [staged], loaded_by="t")
    assert spy == [1]
    assert counts(loaded) == counts(staged.report)
    assert (loaded.unchanged, loaded.note) == (8, None)
    assert staged.source is None and staged.staged is None  # spent: a second load has nothing to load


def test_the_cli_check_and_load_each_decode_once_and_agree(db, spy, capsys):
    path = str(FIXTURES / "appeals_gbk.csv")
    assert main(["check", "appeals", path, "--db", str(db), "--json"]) == 0
    checked = capsys.readouterr().out
    assert spy == [1]
    assert main(["load", "appeals", path, "--db", str(db), "--json"]) == 0
    loaded = capsys.readouterr().out
    assert spy == [1, 1]
    drop = ("batch_id",)
    as_checked, as_loaded = json.loads(checked), json.loads(loaded)
    assert {k: v for k, v in as_checked.items() if k not in drop} == {k: v for k, v in as_loaded.items() if k not in drop}
    assert as_loaded["file_hash"] == hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_a_file_changed_on_disk_between_cli_check_and_load_is_loaded_as_it_is_then(db, tmp_path):
    """The CLI's check and load are two commands: the load reads the file as it is when it runs,
    and both reports carry the SHA-256 of the bytes they read, so a script can tell they differ."""
    path = tmp_path / "工单.csv"
    path.write_text(HEADER + "\nZ1,城市通,其他,2026-03-05 10:00,登州街道,C1,,,,,,路灯不亮\n", encoding="utf-8")
    (checked,) = check_files(db, "appeals", [path])
    path.write_text(HEADER + "\nZ1,城市通,其他,2026-03-05 10:00,登州街道,C1,,,,,,路灯不亮\n"
                    "Z2,城市通,其他,2026-03-05 11:00,登州街道,C1,,,,,,井盖松动\n", encoding="utf-8")
    (loaded,) = load_files(db, "appeals", [path])
    assert (checked.inserted, loaded.inserted) == (1, 2)
    assert checked.file_hash != loaded.file_hash == hashlib.sha256(path.read_bytes()).hexdigest()
    with read_only(db) as con:
        assert con.execute("SELECT file_hash FROM batches ORDER BY batch_id DESC LIMIT 1").fetchall() == [
            (loaded.file_hash,)]


def test_a_load_landing_between_check_and_load_is_counted_and_said(db, tmp_path):
    path = tmp_path / "new.csv"
    path.write_text(HEADER + "\nZ1,城市通,其他,2026-03-05 10:00,登州街道,C1,,,,,,路灯不亮\n"
                    "Z2,城市通,其他,2026-03-05 11:00,登州街道,C1,,,,,,井盖松动\n", encoding="utf-8")
    staged = check(db, "appeals", read.decode(path), "new.csv")
    assert (staged.report.inserted, staged.report.unchanged) == (2, 0)
    load_files(db, "appeals", [path])  # someone else loads the same file meanwhile
    (loaded,) = load_checked(db, [staged])
    assert (loaded.inserted, loaded.unchanged) == (0, 2)
    assert loaded.note == ("预检之后数据库有更新(其间有其他导入完成)，已按导入时的数据核对，结果与预检不同"
                           "(预检时：新增 2，更新 0，未变 0，较旧未覆盖 0，拒绝 0)。")
    assert loaded.summary_zh().endswith("不是 0)。" + loaded.note)


def test_a_registry_change_between_check_and_load_checks_the_rows_again_without_decoding(db, tmp_path, spy):
    appeals = tmp_path / "c9.csv"
    appeals.write_text(HEADER + "\nZ9,城市通,其他,2026-03-05 10:00,登州街道,C9,,,,,,路灯不亮\n", encoding="utf-8")
    staged = check(db, "appeals", read.decode(appeals), "c9.csv")
    assert (staged.report.inserted, staged.report.rejected) == (0, 1)
    compounds = tmp_path / "compounds.csv"
    compounds.write_text(FIXTURES.joinpath("compounds.csv").read_text(encoding="utf-8").rstrip("\n")
                         + "\nC9,新小区,登州街道,东城社区,G1,老旧小区,10,1,1,,,否,,\n", encoding="utf-8")
    (added,) = load_files(db, "compounds", [compounds])
    assert added.refused is None and added.inserted == 1, added.summary_zh()
    spy.clear()
    (loaded,) = load_checked(db, [staged])
    assert spy == []
    assert (loaded.inserted, loaded.rejected) == (1, 0)
    assert loaded.note.startswith("预检之后小区台账有变动，各行已按现在的台账重新校验。预检之后数据库有更新")


def test_two_files_checked_together_the_second_is_recounted_after_the_first(db, tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(HEADER + "\nZ1,城市通,其他,2026-03-05 10:00,登州街道,C1,,,,,,路灯不亮\n", encoding="utf-8")
    first, second = (check(db, "appeals", read.decode(path), name) for name in ("a.csv", "a-again.csv"))
    refused = check(db, "appeals", read.decode(Path("空.csv"), data=_text(HEADER).encode()), "空.csv")
    reports = load_checked(db, [refused, first, second])
    assert reports[0].refused == "文件只有表头，没有数据行。"
    assert [(r.inserted, r.unchanged) for r in reports[1:]] == [(1, 0), (0, 1)]
    assert reports[1].note is None and "结果与预检不同" in reports[2].note


def test_a_load_of_a_checked_file_killed_midway_writes_nothing_and_a_new_check_loads_it(db, monkeypatch):
    def content() -> list:
        with read_only(db) as con:
            return con.execute("SELECT count(*), max(batch_id) FROM batches").fetchall() + \
                con.execute("SELECT count(*) FROM appeals").fetchall()

    before = content()
    staged = check(db, "appeals", read.decode(FIXTURES / "appeals_gbk.csv"), "工单.csv")

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(loading, "_upsert", killed)
    with pytest.raises(KeyboardInterrupt):
        load_checked(db, [staged])
    assert content() == before and not list(db.parent.glob("*.tmp-*"))
    monkeypatch.undo()
    again = check(db, "appeals", read.decode(FIXTURES / "appeals_gbk.csv"), "工单.csv")
    (loaded,) = load_checked(db, [again])
    assert counts(loaded) == counts(again.report) and loaded.unchanged == 8


# ---------------------------------------------------------------- hostile files: check == load

def _xlsx_two_sheets() -> bytes:
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer) as book:
        first, second = book.add_worksheet("工单"), book.add_worksheet("说明")
        first.write_row(0, 0, ["2026年3月工单"])
        for r, line in enumerate([HEADER, "X1,城市通,其他,2026-03-05 10:00,登州街道,C1,,,,,,路灯不亮",
                                  "X2,城市通,其他,不是日期,登州街道,C1,,,,,,井盖"], start=2):
            first.write_row(r, 0, line.split(","))
        second.write_row(0, 0, ["工单编号", "说明"])
        second.write_row(1, 0, ["Y1", "这一页不导入"])
    return buffer.getvalue()


def _text(*lines: str) -> str:
    return "\n".join(lines) + "\n"


GOOD = "H1,城市通,物业管理,2026-03-05 10:00,登州街道,C1,2026-03-05 11:00,,,张三,13812345678,电梯故障，电话13812345678"
HOSTILE = {
    "gbk, title, footer": _text("2026年3月工单导出", HEADER, GOOD, "合计,1").encode("gbk"),
    "gb18030": _text(HEADER, GOOD.replace("电梯故障", "𠀀电梯")).encode("gb18030"),
    "bom": _text(HEADER, GOOD).encode("utf-8-sig"),
    "utf-16": _text(HEADER, GOOD).encode("utf-16"),
    "bad next to good": _text(HEADER, GOOD, "H2,城市通,其他,昨天,不存在街道,C1,,,,,,x",
                              "H3,城市通,其他,2026-03-05 10:00,登州街道,C1,2026-03-04 10:00,,,,,早于受理").encode(),
    "re-send of the fixture": (FIXTURES / "appeals_gbk.csv").read_bytes(),
    "older version": _text(HEADER, "A1,12345热线,环境卫生,2026-03-02 09:00:00,蓬莱阁街道,C2,,,,,,旧").encode(),
    "duplicate keys": _text(HEADER, GOOD, GOOD.replace("电梯故障", "第二次")).encode(),
    "phone as key": _text(HEADER, GOOD.replace("H1", "13812345678")).encode(),
    "empty": b"",
    "only a header": _text(HEADER).encode(),
    "huge line": _text(HEADER, GOOD.replace("电梯故障", "长" * 3_000_000)).encode(),
    "two sheets": _xlsx_two_sheets(),
}


# (rows read, inserted, updated, unchanged, stale, rejected), or the start of the refusal.
EXPECTED = {
    "gbk, title, footer": (1, 1, 0, 0, 0, 0),
    "gb18030": (1, 1, 0, 0, 0, 0),
    "bom": (1, 1, 0, 0, 0, 0),
    "utf-16": "文件是 UTF-16 编码",
    "bad next to good": (3, 1, 0, 0, 0, 2),
    "older version": (1, 0, 0, 0, 1, 0),
    "duplicate keys": (2, 1, 0, 0, 0, 1),
    "phone as key": (1, 0, 0, 0, 0, 1),
    "empty": "文件为空。",
    "only a header": "文件只有表头，没有数据行。",
    "huge line": (1, 1, 0, 0, 0, 0),
    "two sheets": (2, 1, 0, 0, 0, 1),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_file_checks_as_it_loads(db, name):
    data = HOSTILE[name]
    (checked,) = check_files(db, "appeals", [Path(name + ".csv")], data=[data])
    (loaded,) = load_files(db, "appeals", [Path(name + ".csv")], data=[data])
    assert counts(checked) == counts(loaded)
    expected = EXPECTED.get(name)
    if isinstance(expected, str):
        assert loaded.refused.startswith(expected), loaded.refused
    elif expected is not None:
        assert (loaded.rows_read, loaded.inserted, loaded.updated, loaded.unchanged, loaded.stale,
                loaded.rejected) == expected, loaded.summary_zh()


ROW = st.sampled_from([
    GOOD,
    "H2,城市通,其他,昨天,不存在街道,C1,,,,,,日期和街道都不对",
    "H3,城市通,其他,2026-03-05 10:00,登州街道,C1,2026-03-04 10:00,,,,,早于受理",
    "A1,12345热线,环境卫生,2026-03-02 09:00:00,蓬莱阁街道,C2,,,,,,较旧版本",
    "A2,城市通,物业管理,2026-03-02 12:00,蓬莱阁街道,C3,,,,,,改了内容",
    "H4,e网通扫码,环境卫生,2026/3/6 8:15,新港街道,C9,,,,,,未知小区",
    "H5,城市通,其他,2026-03-06 10:00,登州街道,,,,不满意,李四,13900001111,找李四13900001111",
    "H1,城市通,物业管理,2026-03-05 10:00,登州街道,C1,,,,,,同号再来",
])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW, min_size=1, max_size=8), encoding=st.sampled_from(["utf-8", "utf-8-sig", "gbk"]),
       title=st.booleans(), footer=st.booleans())
def test_for_generated_files_the_check_counts_are_the_load_counts(fixture_db, tmp_path_factory, rows, encoding,
                                                                   title, footer):
    db = Path(shutil.copy(fixture_db, tmp_path_factory.mktemp("generated") / "g.duckdb"))
    lines = (["2026年3月工单"] if title else []) + [HEADER, *rows] + (["制表人：王五"] if footer else [])
    data = _text(*lines).encode(encoding)
    (checked,) = check_files(db, "appeals", [Path("g.csv")], data=[data])
    staged = check(db, "appeals", read.decode(Path("g.csv"), data=data), "g.csv")
    (loaded,) = load_checked(db, [staged])
    assert counts(checked) == counts(staged.report) == counts(loaded)
    assert loaded.rows_read == len(rows) and loaded.note is None
