"""The command line as an analyst meets it (issue 11): every error one Chinese line on stderr with
exit status 2 (usage) or 1, never a traceback; output into `head` ends quietly; `init` starts an
empty database; summaries cap the ignored columns; the demo banner goes once real data is loaded;
and a column the extract never had reads "—" / null, not 0 %.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from demo.build import build_demo
from etl import batches
from etl.db import read_only
from etl.load import load_files
from etl.schema import CARRIED, TABLES
from metrics import Scope, appeals, catalogue, compounds, feeds
from tests.conftest import as_before_versions, as_rollup_of_older_code, rollup_contents

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
STREETS = "已知街道：登州街道、紫荆山街道、蓬莱阁街道、新港街道、南王街道"  # data/reference.toml's order
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def etl(*args: str, db: Path | None = None) -> subprocess.CompletedProcess:
    extra = ("--db", str(db)) if db is not None else ()
    return subprocess.run([sys.executable, "-m", "etl", *args, *extra], cwd=ROOT, capture_output=True, text=True)


def assert_one_chinese_line(result: subprocess.CompletedProcess, status: int, expected: str) -> None:
    assert result.returncode == status, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.endswith("\n") and result.stderr.count("\n") == 1, result.stderr
    assert CHINESE.search(result.stderr) and expected in result.stderr, result.stderr
    assert "usage:" not in result.stderr and "error:" not in result.stderr


@pytest.fixture
def mappings(tmp_path) -> dict[str, Path]:
    files = {
        "bad_toml": 'kind = "appeals"\n[columns\nappeal_id = "x"\n',
        "unknown_column": 'kind = "appeals"\n[columns]\nno_such_column = "编号"\n',
        "other_kind": 'kind = "complaints"\n[columns]\ncomplaint_id = "编号"\n',
        "not_a_table": 'kind = "appeals"\ncolumns = 5\n',
    }
    out = {}
    for name, text in files.items():
        out[name] = tmp_path / f"{name}.toml"
        out[name].write_text(text, encoding="utf-8")
    return out


# ---------------------------------------------------------------- every error: one Chinese line

APPEALS = str(FIXTURES / "appeals_gbk.csv")


@pytest.mark.parametrize(("args", "status", "expected"), [
    (("load", "appeals", "/no/such/file.csv"), 2, "参数错误：找不到文件：/no/such/file.csv"),
    (("check", "appeals", "/no/such/file.csv"), 2, "参数错误：找不到文件：/no/such/file.csv"),
    (("load", "appeals", str(FIXTURES)), 2, f"参数错误：{FIXTURES} 是文件夹，不是文件"),
    (("load", "appeals", APPEALS, "--mapping", "no_such_mapping"), 2, "参数错误：找不到列映射：no_such_mapping"),
    (("load", "appeals", APPEALS, "--mapping", "/no/such/mapping.toml"), 2, "参数错误：找不到列映射：/no/such/mapping.toml"),
    (("stats", "--as-of", "2026-13-01"), 2, "参数错误：参数 --as-of：时点应写作"),
    (("stats", "--from", "2026-02-30"), 2, "参数错误：参数 --from：日期应为存在的日期"),
    (("stats", "--week", "2026-W60"), 2, "参数错误：参数 --week：2026 年没有第 60 周"),
    (("stats", "--week", "last week"), 2, "参数错误：参数 --week：周的写法应为 YYYY-Www(如 2026-W10)：'last week'"),
    (("stats", "--week", "2026-W10", "--from", "2026-03-02"), 2, "参数错误：--week 不能与 --from/--to 同时使用"),
    (("stats", "--street", "不存在街道"), 2, f"参数错误：没有街道“不存在街道”。{STREETS}"),
    (("stats", "--street", ""), 2, "参数错误：参数 --street：不能为空"),
    (("stats", "--street", "登州街道' OR 1=1 --" + "x" * 100_000), 2,
     f"参数错误：没有街道“登州街道' OR 1=1 --{'x' * 25}…”。{STREETS}\n"),  # cut to 40 characters
    (("stats", "--street", "   "), 2, "参数错误：参数 --street：不能为空"),
    (("alerts", "--as-of", "2026-13-01"), 2, "参数错误：参数 --as-of：时点应写作"),
    (("alerts", "--street", "   "), 2, "参数错误：参数 --street：不能为空"),
    (("alerts", "--street", "登州街道' OR 1=1 --"), 2, "参数错误：没有街道“登州街道' OR 1=1 --”。"),
    (("stats", "--community", "不存在社区"), 2, "参数错误：没有社区“不存在社区”。已知社区：东城社区、晒甲河社区、钟楼社区"),
    (("stats", "--street", "登州街道", "--community", "钟楼社区"), 2,
     "参数错误：“登州街道”没有社区“钟楼社区”。已知社区：东城社区"),
    (("rejects", "999", "--out", "/tmp/never-written.csv"), 1, "没有编号为 999 的批次"),
    (("rejects", "abc", "--out", "x.csv"), 2, "参数错误：参数 batch_id：批次编号应为正整数：'abc'"),
    (("undo", "0"), 2, "参数错误：参数 batch_id：批次编号应为正整数：'0'"),
    (("no-such-command",), 2, "参数错误：参数 command：无效的选项 'no-such-command'"),
    (("load",), 2, "参数错误：缺少参数：kind, files"),
    (("load", "letters", APPEALS), 2, "参数错误：参数 kind：无效的选项 'letters'"),
    (("stats", "--no-such-option"), 2, "参数错误：无法识别的参数：--no-such-option"),
])
def test_every_error_is_one_chinese_line(fixture_db, args, status, expected):
    result = etl(*args, db=fixture_db)
    assert_one_chinese_line(result, status, expected)
    assert result.stdout == ""


def test_a_street_of_the_district_without_data_yet_is_known(fixture_db):
    result = etl("stats", "--json", "--street", "南王街道", "--week", "2026-W10", db=fixture_db)
    assert result.returncode == 0 and json.loads(result.stdout)["appeals"]["received"] == 0


def test_rejects_of_no_batch_writes_no_file(fixture_db, tmp_path):
    out = tmp_path / "r.csv"
    result = etl("rejects", "999", "--out", str(out), db=fixture_db)
    assert_one_chinese_line(result, 1, "没有编号为 999 的批次(python -m etl history 列出全部批次)。")
    assert not out.exists() and "已写出" not in result.stdout


def test_rejects_of_a_batch_says_how_many_rows(fixture_db, tmp_path):
    out = tmp_path / "r.csv"
    result = etl("rejects", "2", "--out", str(out), db=fixture_db)  # batch 2: the appeals, 5 rejected
    assert result.returncode == 0 and result.stdout == f"已写出批次 2 的被拒绝行(5 行)：{out}\n"
    assert out.read_bytes().startswith(b"\xef\xbb\xbf") and out.read_bytes().count(b"\r\n") == 6  # header + 5


@pytest.mark.parametrize(("name", "expected"), [
    ("bad_toml", "参数错误：列映射文件格式有误(bad_toml.toml)"),
    ("unknown_column", "参数错误：映射中有“诉求工单”没有的字段：no_such_column"),
    ("other_kind", "参数错误：列映射 "),
    ("not_a_table", "参数错误：列映射文件结构有误(not_a_table.toml)"),
])
def test_a_mapping_that_cannot_be_used_is_a_usage_error(fixture_db, mappings, name, expected):
    result = etl("check", "appeals", APPEALS, "--mapping", str(mappings[name]), db=fixture_db)
    assert_one_chinese_line(result, 2, expected)
    if name == "other_kind":
        assert "用于“物业投诉”(complaints)文件，不能用于“诉求工单”(appeals)" in result.stderr


def test_no_database_and_a_directory_as_database(tmp_path):
    missing = tmp_path / "typo" / "none.duckdb"
    for command in (("history",), ("stats",), ("rollup",), ("rejects", "1", "--out", str(tmp_path / "x.csv")),
                    ("load", "compounds", str(FIXTURES / "compounds.csv"))):  # a mistyped --db is not created
        assert_one_chinese_line(etl(*command, db=missing), 1, f"还没有数据库文件：{missing}(用 python -m etl init")
    assert not missing.parent.exists()
    assert_one_chinese_line(etl("history", db=tmp_path), 2, f"参数错误：--db 指向的是文件夹，不是数据库文件：{tmp_path}")


@pytest.mark.parametrize("command", [("load", "appeals", APPEALS), ("check", "appeals", APPEALS), ("undo", "1"),
                                     ("init",), ("demo",), ("stats",), ("rollup",)])
def test_a_directory_as_database_is_a_usage_error(tmp_path, command):
    assert_one_chinese_line(etl(*command, db=tmp_path), 2, f"参数错误：--db 指向的是文件夹，不是数据库文件：{tmp_path}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", [b"not a database", b"", b"SQLite format 3\x00" + bytes(100)])
def test_a_file_that_is_not_a_database(tmp_path, content):
    bogus = tmp_path / "bogus.duckdb"
    bogus.write_bytes(content)
    expected = f"{bogus} 不是本系统的数据库文件(请检查 --db 或环境变量 DASHBOARD_DB)；未读取或写入任何数据。"
    for command in (("history",), ("load", "appeals", APPEALS), ("undo", "1"), ("demo",)):
        assert_one_chinese_line(etl(*command, db=bogus), 1, expected)
    assert not list(tmp_path.glob("bogus.duckdb.tmp-*")) and bogus.read_bytes() == content


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("DASHBOARD_MAX_FILE_MB", "abc", "环境变量 DASHBOARD_MAX_FILE_MB 应为正整数(单位 MB)，现在是 'abc'"),
    ("DASHBOARD_MAX_FILE_MB", "-1", "环境变量 DASHBOARD_MAX_FILE_MB 应为正整数(单位 MB)，现在是 '-1'"),
    ("DASHBOARD_MAX_XLSX_EXPANDED_MB", "0", "环境变量 DASHBOARD_MAX_XLSX_EXPANDED_MB 应为正整数"),
    ("DASHBOARD_WRITER_WAIT", "10s", "环境变量 DASHBOARD_WRITER_WAIT 应为不小于 0 的秒数，现在是 '10s'"),
    ("DASHBOARD_WRITER_WAIT", "-5", "环境变量 DASHBOARD_WRITER_WAIT 应为不小于 0 的秒数"),
])
def test_a_bad_setting_is_one_chinese_line_for_every_command(fixture_db, monkeypatch, name, value, expected):
    monkeypatch.setenv(name, value)
    for command in (("history",), ("load", "appeals", APPEALS)):
        assert_one_chinese_line(etl(*command, db=fixture_db), 2, expected)


def test_help_is_in_chinese():
    result = etl("stats", "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("用法：python -m etl stats") and "选项" in result.stdout
    assert "usage:" not in result.stdout and "show this help" not in result.stdout


# ---------------------------------------------------------------- check, head, ignored columns

def test_check_prints_no_batch_number(fixture_db):
    result = etl("check", "appeals", APPEALS, db=fixture_db)
    assert result.returncode == 0
    assert "批次" not in result.stdout
    assert "appeals_gbk.csv：读取 13 行，新增 0，更新 0，未变 8，拒绝 5" in result.stdout


COMMANDS = [("history",), ("history", "--json"), ("stats",), ("stats", "--json", "--week", "2026-W10"),
            ("check", "appeals", APPEALS), ("check", "appeals", APPEALS, "--json")]


@pytest.mark.parametrize("args", COMMANDS)
def test_output_into_a_closed_pipe_ends_quietly(fixture_db, args):
    # The reader is gone before the first byte is written: every write fails with EPIPE.
    process = subprocess.Popen([sys.executable, "-m", "etl", *args, "--db", str(fixture_db)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()
    error = process.stderr.read().decode()
    assert process.wait() == 0 and error == ""


def test_history_into_head(fixture_db):
    result = subprocess.run(f"{sys.executable} -m etl history --db {fixture_db} | head -1", shell=True, cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.split()[0] == "5" and result.stdout.count("\n") == 1  # the newest batch first


def wide_file(path: Path, extra: int) -> Path:
    header = ["工单编号", "来源渠道", "诉求类别", "受理时间", "街道"] + [f"X{i}" for i in range(extra)]
    row = ["W1", "12345热线", "环境卫生", "2026-03-02 09:00", "登州街道"] + [""] * extra
    path.write_text(",".join(header) + "\n" + ",".join(row) + "\n", encoding="utf-8")
    return path


def test_a_summary_lists_ten_ignored_columns_then_how_many(tmp_path):
    db = tmp_path / "wide.duckdb"
    etl("init", db=db)
    result = etl("load", "appeals", str(wide_file(tmp_path / "wide.csv", 10_000)), db=db)
    assert result.returncode == 0, result.stderr
    listed = "、".join(f"X{i}" for i in range(10))
    assert f"未读取的列：{listed} 等 10000 列；" in result.stdout
    assert "X10" not in result.stdout
    with read_only(db) as con:
        (stored,) = con.execute("SELECT ignored_columns FROM batches").fetchone()
    assert json.loads(stored) == [f"X{i}" for i in range(10)] + ["等 10000 列"]
    assert len(stored) < 200


def test_ten_ignored_columns_are_all_listed(tmp_path):
    result = etl("check", "appeals", str(wide_file(tmp_path / "ten.csv", 10)), db=tmp_path / "none.duckdb")
    assert f"未读取的列：{'、'.join(f'X{i}' for i in range(10))}；" in result.stdout
    assert "等 10 列" not in result.stdout


# ---------------------------------------------------------------- init, and the demo banner

def test_init_makes_an_empty_owner_only_database_and_refuses_to_overwrite(tmp_path):
    db = tmp_path / "real.duckdb"
    result = etl("init", db=db)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"已新建空数据库：{db}(仅本账号可读写)。")
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    with read_only(db) as con:
        assert feeds.table_counts(con) == {"compounds": 0, "appeals": 0, "complaints": 0, "surveys": 0, "scenes": 0}
        assert con.execute("SELECT count(*) FROM batches").fetchone() == (0,)
        assert not feeds.is_demo(con)
    before = db.read_bytes()
    assert_one_chinese_line(etl("init", db=db), 1, f"数据库文件已存在：{db}，未作任何改动")
    assert db.read_bytes() == before
    empty = tmp_path / "empty.duckdb"
    empty.write_bytes(before)
    assert etl("demo", "--end", "2026-03-08", db=empty).returncode == 0  # nothing in it to lose
    # The registry first, then a feed: the numbers are those of the files.
    assert etl("load", "compounds", str(FIXTURES / "compounds.csv"), db=db).returncode == 0
    assert etl("load", "appeals", str(FIXTURES / "appeals_no_response.csv"), db=db).returncode == 0
    stats = json.loads(etl("stats", "--json", "--week", "2026-W10", db=db).stdout)
    assert stats["appeals"]["received"] == 4


def assert_demo_refused(db: Path, batches: int) -> None:
    before = db.read_bytes()
    assert_one_chinese_line(etl("demo", db=db), 1, f"{db}：数据库里有 {batches} 个不是演示数据的导入批次(已撤销的也计在内)，"
                                                   "不能用演示库覆盖，未作任何改动(请用 --db 指定另一个文件)。")
    assert db.read_bytes() == before


def test_the_demo_banner_goes_once_real_data_is_loaded(tmp_path):
    db = tmp_path / "demo.duckdb"
    build_demo(db, end=date(2026, 3, 8))
    build_demo(db, end=date(2026, 3, 8))  # a demo database is rebuilt
    with read_only(db) as con:
        assert feeds.is_demo(con)
        last = int(con.execute("SELECT value FROM meta WHERE key = 'demo_last_batch'").fetchone()[0])
        assert last == con.execute("SELECT max(batch_id) FROM batches").fetchone()[0]
    (report,) = load_files(db, "appeals", [FIXTURES / "appeals_no_response.csv"], loaded_by="demo")
    assert report.batch_id == last + 1
    with read_only(db) as con:
        assert not feeds.is_demo(con)  # even when the loader's name happens to be "demo"
    assert_demo_refused(db, 1)
    assert etl("undo", str(report.batch_id), db=db).returncode == 0
    with read_only(db) as con:
        assert feeds.is_demo(con)  # only demo data again
    assert_demo_refused(db, 1)  # an undone batch keeps its rows (re-check, rejects): not the demo's to drop


def test_the_demo_never_replaces_a_real_database_whoever_loaded_it(tmp_path):
    """A database made by init and loaded by someone who logs in as "demo" was replaced by the
    demo (found by an attack session): a batch is the demo's only in a database the demo built."""
    db = tmp_path / "real.duckdb"
    assert etl("init", db=db).returncode == 0
    load_files(db, "compounds", [FIXTURES / "compounds.csv"], loaded_by="demo")
    assert_demo_refused(db, 1)
    other = tmp_path / "other.duckdb"  # another program's database, with tables of the same names
    with duckdb.connect(str(other)) as con:
        con.execute("CREATE TABLE meta (key VARCHAR, value VARCHAR); CREATE TABLE batches (batch_id INTEGER)")
    before = other.read_bytes()
    assert_one_chinese_line(etl("demo", db=other), 1, f"{other}：这个数据库不是演示库，未作任何改动(请用 --db 指定另一个文件)。")
    assert other.read_bytes() == before


def test_a_database_cut_short_is_named_so_by_every_command(tmp_path, fixture_db):
    cut = tmp_path / "cut.duckdb"
    cut.write_bytes(fixture_db.read_bytes()[:16384])
    expected = (f"数据库文件 {cut} 不完整或已损坏，无法读取；未读取或写入任何数据"
                "(请从备份恢复，或检查 --db 与环境变量 DASHBOARD_DB)。")
    for command in (("history",), ("load", "appeals", APPEALS), ("demo",), ("stats",)):
        assert_one_chinese_line(etl(*command, db=cut), 1, expected)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("cut.duckdb")) == ["cut.duckdb", "cut.duckdb.lock"]


def test_a_demo_database_built_before_the_marker_counts_its_own_loads(tmp_path, fixture_db):
    db = tmp_path / "old-demo.duckdb"
    db.write_bytes(fixture_db.read_bytes())
    with duckdb.connect(str(db)) as con:
        con.execute("INSERT OR REPLACE INTO meta VALUES ('dataset', 'demo')")
        con.execute("UPDATE batches SET loaded_by = 'demo'")
    with read_only(db) as con:
        assert feeds.is_demo(con)
    load_files(db, "appeals", [FIXTURES / "appeals_no_response.csv"], loaded_by="analyst")
    with read_only(db) as con:
        assert not feeds.is_demo(con)
    assert_demo_refused(db, 1)


# ---------------------------------------------------------------- absent is not zero

@pytest.fixture(scope="module")
def teddy_db(tmp_path_factory) -> Path:
    """The registry and an appeals extract without 首次响应时间 and 回访时间 (T1–T4, W10)."""
    db = tmp_path_factory.mktemp("teddy") / "teddy.duckdb"
    for kind, name in (("compounds", "compounds.csv"), ("appeals", "appeals_no_response.csv")):
        (report,) = load_files(db, kind, [FIXTURES / name])
        assert report.refused is None
    return db


def test_the_load_and_the_check_say_which_figures_stay_empty(teddy_db):
    result = etl("check", "appeals", str(FIXTURES / "appeals_no_response.csv"), db=teddy_db)
    assert ("appeals_no_response.csv：读取 4 行，新增 0，更新 0，未变 4，拒绝 0；"
            "文件未含可选列 “派单时间”、“首次响应时间”、“反馈时间”、“结案时间”：库中已有的记录保留这些列原来的值，新记录不计入"
            "响应率、3日反馈率、综合得分、精准派单用时、首接响应用时、群众评价用时、结案归档"
            "(所选范围内的记录都没有时显示为“—”，不是 0)。") in result.stdout
    report = json.loads(etl("check", "appeals", str(FIXTURES / "appeals_no_response.csv"), "--json",
                            db=teddy_db).stdout)
    assert report["absent_columns"] == ["dispatched_at", "first_response_at", "feedback_at", "closed_at"]
    with read_only(teddy_db) as con:
        carried = json.loads(con.execute("SELECT carried_columns FROM batches WHERE kind = 'appeals'").fetchone()[0])
    assert carried == ["appeal_id", "category", "channel", "compound_id", "content", "received_at", "resolved_at",
                       "satisfaction", "street"]


def test_stats_json_is_null_for_what_the_extract_never_had(teddy_db):
    stats = json.loads(etl("stats", "--json", "--week", "2026-W10", db=teddy_db).stdout)
    # As of 03-09 00:00: resolved T1 (23 h), T2 (72 h), T4 (24 h); T3 open past 48 h.
    assert stats["appeals"] == {
        "received": 4, "response_rate": None, "resolution_rate": 0.75, "on_time_rate": 0.5, "feedback_rate": None,
        "satisfaction_rate": pytest.approx(2 / 3), "evaluated": 3,  # T1 满意, T2 不满意, T4 基本满意
        "satisfaction_score": pytest.approx(1.9 / 3), "composite": None,
        "overdue_open": 1, "median_hours_to_resolve": 24.0,
        "absent_columns": ["dispatched_at", "first_response_at", "feedback_at", "closed_at"],
        # four compound × category pairs, no repeat; no resolution 30 days old by 03-09
        "repeat_rate": 0.0, "true_resolution_rate": None}
    by_street = {row["street"]: row for row in stats["appeals_by_street"]}
    assert by_street["蓬莱阁街道"]["response_rate"] is None and by_street["蓬莱阁街道"]["resolution_rate"] == 1.0


def test_a_column_present_but_empty_is_a_real_zero(tmp_path):
    db = tmp_path / "empty-column.duckdb"
    lines = (FIXTURES / "appeals_no_response.csv").read_text(encoding="utf-8").splitlines()
    with_column = [lines[0] + ",首次响应时间"] + [line + "," for line in lines[1:]]
    extract = tmp_path / "with_empty_column.csv"
    extract.write_text("\n".join(with_column) + "\n", encoding="utf-8")
    load_files(db, "compounds", [FIXTURES / "compounds.csv"])
    load_files(db, "appeals", [extract])
    stats = json.loads(etl("stats", "--json", "--week", "2026-W10", db=db).stdout)
    assert stats["appeals"]["response_rate"] == 0.0  # every 24 h limit has passed, none answered
    assert stats["appeals"]["composite"] == pytest.approx(0.5 * 0.75 + 0.4 * 1.9 / 3)
    assert stats["appeals"]["absent_columns"] == ["dispatched_at", "feedback_at", "closed_at"]


def test_rows_of_an_extract_without_the_column_do_not_count_against_a_rate(tmp_path):
    db = tmp_path / "mixed.duckdb"
    for kind, name in (("compounds", "compounds.csv"), ("appeals", "appeals_gbk.csv"),
                       ("appeals", "appeals_no_response.csv")):
        load_files(db, kind, [FIXTURES / name])
    stats = json.loads(etl("stats", "--json", "--week", "2026-W10", db=db).stdout)["appeals"]
    # The response rate is that of A1–A7 alone (5 of 7, tests/test_metrics.py); resolution counts both.
    assert stats["received"] == 11 and stats["response_rate"] == pytest.approx(5 / 7)
    assert stats["resolution_rate"] == pytest.approx(7 / 11) and stats["absent_columns"] == ["dispatched_at"]


OPTIONAL = ["首次响应时间", "办结时间", "反馈时间", "群众评价"]
CLEAN = [  # appeals every column of which is valid, so that dropping columns drops no row
    ("K1", "2026-03-02 09:00", "2026-03-02 10:00", "2026-03-03 08:00", "2026-03-04 09:00", "满意"),
    ("K2", "2026-03-03 10:00", "2026-03-04 12:00", "2026-03-06 10:00", "", "不满意"),
    ("K3", "2026-03-04 11:00", "", "", "", ""),
    ("K4", "2026-03-07 12:00", "2026-03-07 13:00", "2026-03-08 12:00", "2026-03-08 13:00", "基本满意"),
]
COLUMN_OF = {"首次响应时间": "first_response_at", "办结时间": "resolved_at", "反馈时间": "feedback_at",
             "群众评价": "satisfaction"}


def clean_extract(path: Path, dropped: set[str]) -> Path:
    kept = [i for i, name in enumerate(OPTIONAL) if name not in dropped]
    header = ["工单编号", "来源渠道", "诉求类别", "受理时间", "街道"] + [OPTIONAL[i] for i in kept]
    rows = [[key, "12345热线", "环境卫生", received, "登州街道"] + [rest[i] for i in kept]
            for key, received, *rest in CLEAN]
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    return path


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dropped=st.sets(st.sampled_from(OPTIONAL)))
def test_dropping_columns_empties_exactly_the_figures_built_on_them(tmp_path_factory, dropped):
    """Invariant: with any optional columns left out of the extract, a figure is None exactly when one of
    its inputs was left out, and otherwise equals the figure of the full extract."""
    folder = tmp_path_factory.mktemp("drop")
    summaries = []
    for name, leave_out in (("full", set()), ("dropped", dropped)):
        db = folder / f"{name}.duckdb"
        load_files(db, "compounds", [FIXTURES / "compounds.csv"])
        (report,) = load_files(db, "appeals", [clean_extract(folder / f"{name}.csv", leave_out)])
        assert report.rejected == 0
        with read_only(db) as con:
            summaries.append(appeals.summary(con, Scope.week("2026-W10")))
    full, partial = summaries
    absent = {COLUMN_OF[c] for c in dropped}
    for key, (_, inputs) in catalogue.figure_inputs("appeals").items():
        if key not in full:
            continue
        if absent & set(inputs):
            assert partial[key] is None, key
        else:
            assert partial[key] == full[key], key


def test_a_database_from_before_carried_columns_reads_as_before(tmp_path, fixture_db):
    old = tmp_path / "old.duckdb"
    old.write_bytes(fixture_db.read_bytes())
    with duckdb.connect(str(old)) as con:
        con.execute("ALTER TABLE batches DROP COLUMN carried_columns")
        for table in TABLES:  # nor did the records keep which columns they came with
            for stored in (table, f"{table}_versions"):
                con.execute(f"ALTER TABLE {stored} DROP COLUMN {CARRIED}")
    before = json.loads(etl("stats", "--json", "--week", "2026-W10", db=fixture_db).stdout)
    after = json.loads(etl("stats", "--json", "--week", "2026-W10", db=old).stdout)
    # Unknown is taken as carried: only the fixture's missing 派单时间 goes unnoticed, no figure changes.
    assert before["appeals"].pop("absent_columns") == ["dispatched_at"] and after["appeals"].pop("absent_columns") == []
    assert after == before and after["appeals"]["response_rate"] == pytest.approx(5 / 7)
    # Its next write adds the column; the batches recorded before count as carrying every column.
    assert etl("load", "appeals", str(FIXTURES / "appeals_no_response.csv"), db=old).returncode == 0
    with read_only(old) as con:
        assert con.execute("SELECT count(*) FROM batches WHERE carried_columns IS NULL").fetchall() == [(5,)]
        assert appeals.summary(con, Scope.week("2026-W10"))["response_rate"] == pytest.approx(5 / 7)


def test_the_page_breakdowns_follow_the_same_rule(teddy_db):
    week = Scope.week("2026-W10")
    with read_only(teddy_db) as con:
        funnel = appeals.funnel(con, week).to_dicts()
        backlog = appeals.backlog(con, week)
        overdue = appeals.overdue(con, week)["appeal_id"].to_list()
        compound = compounds.summary(con, week, "C1")
    # Reaching a step is known from a later stamp (办结时间: T1, T2, T4); 反馈 and 结案 are unknown.
    assert [(r["label"], r["reached"]) for r in funnel] == [
        ("受理", 4), ("精准派单", 3), ("首接响应", 3), ("督导督办", 3), ("群众评价", None), ("结案归档", None)]
    assert [r["median_hours"] for r in funnel] == [None, None, None, 24.0, None, None]  # 23, 72, 24 h
    assert dict(zip(backlog["bucket"], backlog["open"])) == {"1日内": 0, "1–2日": 0, "2–3日": 0, "3–7日": 1,
                                                             "7日以上": 0}  # T3, open 109 h
    assert overdue == ["T3"]
    assert (compound["appeals"], compound["appeal_resolution_rate"], compound["overdue_open"]) == (1, 0.0, 1)


def test_without_a_resolution_column_nothing_is_called_overdue(tmp_path):
    db = tmp_path / "no-resolution.duckdb"
    load_files(db, "compounds", [FIXTURES / "compounds.csv"])
    load_files(db, "appeals", [clean_extract(tmp_path / "no_resolution.csv", {"办结时间"})])
    week = Scope.week("2026-W10")
    with read_only(db) as con:
        summary = appeals.summary(con, week)
        assert summary["overdue_open"] is None and summary["resolution_rate"] is None
        assert appeals.overdue(con, week).is_empty() and appeals.backlog(con, week)["open"].sum() == 0
        # The other figures stand: K1 and K4 answered within 24 h, K2 after 26 h, K3 never.
        assert summary["response_rate"] == 0.5 and summary["received"] == 4


def test_a_long_header_is_cut_short_in_the_summary(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("工单编号,来源渠道,诉求类别,受理时间,街道," + "长" * 5000 + "\n"
                    "W1,12345热线,环境卫生,2026-03-02 09:00,登州街道,x\n", encoding="utf-8")
    result = etl("check", "appeals", str(path), db=tmp_path / "none.duckdb")
    assert f"未读取的列：{'长' * 60}；" in result.stdout and "长" * 61 not in result.stdout


def test_a_moment_with_an_offset_is_read_on_beijing_time(fixture_db):
    utc = json.loads(etl("stats", "--json", "--as-of", "2026-03-08T16:00+00:00", db=fixture_db).stdout)
    local = json.loads(etl("stats", "--json", "--as-of", "2026-03-09T00:00", db=fixture_db).stdout)
    assert utc["scope"]["as_of"] == "2026-03-09T00:00:00" and utc == local


def test_a_database_from_before_versions_reads_until_its_first_write(tmp_path, fixture_db):
    old = tmp_path / "old.duckdb"
    old.write_bytes(fixture_db.read_bytes())
    as_before_versions(old)
    history = [json.loads(line) for line in etl("history", "--json", db=old).stdout.splitlines()]
    assert [(b["batch_id"], b["stale"], b["correction"]) for b in history] == [(5, 0, False), (4, 0, False),
                                                                            (3, 0, False), (2, 0, False),
                                                                            (1, 0, False)]
    result = etl("stale", "2", "--out", str(tmp_path / "stale.csv"), db=old)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == f"已写出批次 2 的较旧版本(未覆盖)行(0 行)：{tmp_path / 'stale.csv'}\n"
    with read_only(old) as con:
        assert batches.stale(con, 2).height == 0
    # Its next write upgrades it: the same history, now stored.
    assert etl("load", "compounds", str(FIXTURES / "compounds.csv"), db=old).returncode == 0
    with read_only(old) as con:
        assert con.execute("SELECT batch_id, stale, is_correction FROM batches ORDER BY batch_id").fetchall() == \
            [(1, 0, False), (2, 0, False), (3, 0, False), (4, 0, False), (5, 0, False), (6, 0, False)]


def test_a_check_on_a_database_from_before_versions_says_what_a_load_would_do(tmp_path, fixture_db):
    old = tmp_path / "old.duckdb"
    old.write_bytes(fixture_db.read_bytes())
    as_before_versions(old)
    before = old.read_bytes()
    checked = etl("check", "appeals", str(FIXTURES / "appeals_gbk.csv"), db=old)
    assert (checked.returncode, checked.stderr) == (0, "")
    assert old.read_bytes() == before
    # What the load then does (its rows are upgraded without the flag "street taken from the
    # compound", so the six rows that take it are counted as updates once).
    assert "appeals_gbk.csv：读取 13 行，新增 0，更新 6，未变 2，拒绝 5" in checked.stdout
    assert etl("load", "appeals", str(FIXTURES / "appeals_gbk.csv"), db=old).stdout.startswith(
        "appeals_gbk.csv：批次 6，读取 13 行，新增 0，更新 6，未变 2，拒绝 5")


def test_no_progress_bar_can_reach_a_commands_output(fixture_db, tmp_path):
    """DuckDB draws a progress bar on stdout, even into a pipe, once a query passes two seconds
    (a 10 M-row rebuild did, in the middle of `--json` output): every connection switches it off.
    Checked in a process of its own: under pytest DuckDB starts with the bar off anyway."""
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(fixture_db.read_bytes())
    probe = f"""
from pathlib import Path
from etl.db import Reader, read_only, writing
setting = "SELECT current_setting('enable_progress_bar')"
print(read_only(Path({str(fixture_db)!r})).execute(setting).fetchall()[0][0])
print(Reader(Path({str(fixture_db)!r})).cursor().execute(setting).fetchall()[0][0])
with writing(Path({str(copy)!r})) as con:
    print(con.execute(setting).fetchall()[0][0])
"""
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False", "False"]


def test_rollup_rebuilds_a_rollup_older_code_left_unusable_and_leaves_a_current_one_alone(tmp_path, fixture_db):
    db = tmp_path / "old.duckdb"
    db.write_bytes(fixture_db.read_bytes())
    kept, figures = rollup_contents(db), etl("stats", "--json", "--week", "2026-W10", db=db).stdout
    assert kept["appeals_daily"] and kept["appeals_days"]  # the fixture has a rollup to keep
    as_rollup_of_older_code(db)
    with read_only(db) as con:
        assert appeals.rollup_waiting(con)
    result = etl("rollup", db=db)
    assert (result.returncode, result.stderr) == (0, "")
    assert re.fullmatch(r"已重算日汇总表：\d+ 天，用时 \d+\.\d 秒。页面改读汇总表\(数字不变，更快\)。\n", result.stdout)
    with read_only(db) as con:
        assert not appeals.rollup_waiting(con)
    assert rollup_contents(db) == kept
    assert etl("stats", "--json", "--week", "2026-W10", db=db).stdout == figures
    identity = (db.stat().st_ino, db.stat().st_mtime_ns)
    again = etl("rollup", db=db)
    assert (again.returncode, again.stdout, again.stderr) == (0, "日汇总表已是最新，未作改动。\n", "")
    assert (db.stat().st_ino, db.stat().st_mtime_ns) == identity  # nothing published: readers keep their caches
