"""Loads from other processes while readers read; two loads at once; a load killed mid-way.

These use real processes: the design (writers publish a new file by rename, readers attach
read-only) exists because DuckDB allows one read-write process or many read-only ones.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest
from filelock import FileLock

from etl import db as etl_db
from etl.db import DiskFull, FileReplaced, Reader, file_identity, read_only, transaction
from etl.load import load_files
from tests.conftest import build_fixture_db

ROOT = Path(__file__).resolve().parent.parent


def appeals_csv(path: Path, count: int, prefix: str) -> Path:
    """A valid appeals extract of `count` rows."""
    frame = pl.DataFrame({"工单编号": [f"{prefix}{i:07d}" for i in range(count)]}).with_columns(
        pl.lit("12345热线").alias("来源渠道"),
        pl.lit("环境卫生").alias("诉求类别"),
        pl.lit("2026-03-04 10:00:00").alias("受理时间"),
        pl.lit("登州街道").alias("街道"),
        pl.lit("2026-03-04 12:00:00").alias("办结时间"),
    )
    frame.write_csv(path)
    return path


def count_appeals(db: Path) -> int:
    with read_only(db) as con:
        return con.execute("SELECT count(*) FROM appeals").fetchall()[0][0]


def etl(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "etl", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


READER_SCRIPT = textwrap.dedent("""
    import json, sys, time
    from etl.db import Reader
    reader, seen, errors = Reader(sys.argv[1]), [], []
    deadline = time.time() + float(sys.argv[3])
    while time.time() < deadline:
        try:
            n = reader.cursor().execute("SELECT count(*) FROM appeals").fetchall()[0][0]
            if not seen or seen[-1] != n:
                seen.append(n)
            if n == int(sys.argv[2]):
                break
        except Exception as exc:
            errors.append(repr(exc))
        time.sleep(0.01)
    print(json.dumps({"seen": seen, "errors": errors}))
""")


def test_dashboard_reader_keeps_answering_while_another_process_loads(tmp_path):
    db = build_fixture_db(tmp_path / "live.duckdb")
    before = count_appeals(db)
    extract = appeals_csv(tmp_path / "big.csv", 100_000, "B")
    reader = subprocess.Popen([sys.executable, "-c", READER_SCRIPT, str(db), str(before + 100_000), "120"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)  # the reader holds its read-only attachment before the load starts
    load = etl("load", "appeals", str(extract), "--db", str(db))
    load_out, load_err = load.communicate(timeout=300)
    assert load.returncode == 0, load_err
    reader_out, reader_err = reader.communicate(timeout=300)
    result = json.loads(reader_out)
    assert result["errors"] == []
    assert result["seen"] == [before, before + 100_000]


def test_two_loads_at_once_both_land(tmp_path):
    db = build_fixture_db(tmp_path / "two.duckdb")
    before = count_appeals(db)
    first = etl("load", "appeals", str(appeals_csv(tmp_path / "a.csv", 50_000, "P")), "--db", str(db), "--json")
    second = etl("load", "appeals", str(appeals_csv(tmp_path / "b.csv", 50_000, "Q")), "--db", str(db), "--json")
    outputs = [p.communicate(timeout=300) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    assert count_appeals(db) == before + 100_000
    batch_ids = sorted(json.loads(out)["batch_id"] for out, _ in outputs)
    assert batch_ids == [6, 7]  # the fixture made batches 1–5


def test_a_writer_that_waits_too_long_says_so_in_chinese(tmp_path):
    db = build_fixture_db(tmp_path / "busy.duckdb")
    before = db.read_bytes()
    with FileLock(str(db) + ".lock"):  # another load or undo is writing
        result = subprocess.run([sys.executable, "-m", "etl", "undo", "2", "--db", str(db)], cwd=ROOT, check=False,
                                capture_output=True, text=True, env={**os.environ, "DASHBOARD_WRITER_WAIT": "0.5"})
    assert result.returncode == 1 and result.stderr == (
        f"另一个导入或撤销正在写入数据库 {db}，已等待 0.5 秒仍未结束；未写入任何数据，请稍后重试"
        "(等待时间由环境变量 DASHBOARD_WRITER_WAIT 设定)。\n")
    assert db.read_bytes() == before


def test_a_load_killed_mid_way_leaves_the_database_as_it_was(tmp_path):
    db = build_fixture_db(tmp_path / "killed.duckdb")
    with read_only(db) as con:
        before = con.execute("SELECT * FROM appeals ORDER BY appeal_id").fetchall()
        batches = con.execute("SELECT count(*) FROM batches").fetchall()
    load = etl("load", "appeals", str(appeals_csv(tmp_path / "big.csv", 300_000, "K")), "--db", str(db))
    deadline = time.time() + 60
    while not list(tmp_path.glob("killed.duckdb.tmp-*")) and time.time() < deadline:
        time.sleep(0.005)
    time.sleep(0.2)  # well inside the write: the copy is open read-write
    os.kill(load.pid, signal.SIGKILL)
    load.wait()
    assert load.returncode == -signal.SIGKILL
    with read_only(db) as con:
        assert con.execute("SELECT * FROM appeals ORDER BY appeal_id").fetchall() == before
        assert con.execute("SELECT count(*) FROM batches").fetchall() == batches
    # The next load works and clears the stray copy.
    again = etl("load", "appeals", str(appeals_csv(tmp_path / "small.csv", 10, "S")), "--db", str(db))
    again.communicate(timeout=120)
    assert again.returncode == 0
    assert count_appeals(db) == len(before) + 10
    assert not list(tmp_path.glob("killed.duckdb.tmp-*"))


class _CommitFailsLikeAFullDisk:
    """A connection whose COMMIT fails as DuckDB's does on a full disk, ending the transaction (so
    a ROLLBACK after it fails too)."""

    def __init__(self):
        self.open = False

    def execute(self, sql):
        if sql == "BEGIN TRANSACTION":
            self.open = True
        elif sql == "COMMIT":
            self.open = False
            raise duckdb.IOException('Failed to commit: Could not write file "x.wal": No space left on device')
        elif sql == "ROLLBACK" and not self.open:
            raise duckdb.TransactionException("cannot rollback - no transaction is active")


def test_a_commit_that_fails_is_the_error_reported_not_the_rollback_after_it():
    with pytest.raises(duckdb.IOException, match="No space left on device"):
        with transaction(_CommitFailsLikeAFullDisk()):
            pass


@pytest.mark.parametrize("where", ["copying", "publishing"])
def test_a_full_disk_is_said_in_chinese_and_writes_nothing(tmp_path, monkeypatch, where):
    """Out of space while copying the database or saving the new one: a Chinese sentence, the
    database as it was, no stray copy. (A real full disk, a 6 MB tmpfs, was tried by hand too.)"""
    db = build_fixture_db(tmp_path / "full.duckdb")
    before = count_appeals(db)

    def no_space(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(etl_db.shutil if where == "copying" else etl_db, "copyfile" if where == "copying" else "_fsync",
                        no_space)
    with pytest.raises(DiskFull, match="空间不足，写入中途停止；未写入任何数据，数据库保持原样"):
        load_files(db, "appeals", [appeals_csv(tmp_path / "some.csv", 10, "F")])
    assert count_appeals(db) == before
    assert not list(tmp_path.glob("full.duckdb.tmp-*"))


def test_a_reader_in_this_process_sees_a_new_file_after_a_load(tmp_path):
    db = build_fixture_db(tmp_path / "same.duckdb")
    reader = Reader(db)
    old_cursor = reader.cursor()
    before = old_cursor.execute("SELECT count(*) FROM appeals").fetchall()[0][0]
    load = etl("load", "appeals", str(appeals_csv(tmp_path / "one.csv", 1, "R")), "--db", str(db))
    load.communicate(timeout=120)
    assert reader.cursor().execute("SELECT count(*) FROM appeals").fetchall()[0][0] == before + 1
    # A query already under way on the old file finishes on the old file.
    assert old_cursor.execute("SELECT count(*) FROM appeals").fetchall()[0][0] == before


def test_a_reader_keeps_the_file_it_is_told_to_until_another_is_kept(tmp_path):
    db = build_fixture_db(tmp_path / "kept.duckdb")
    reader = Reader(db)
    first = file_identity(db)
    reader.keep(first)
    before = total = reader.cursor().execute("SELECT count(*) FROM appeals").fetchall()[0][0]
    for rows, prefix in ((1, "A"), (2, "B")):  # two publishes: the kept file outlives the one between
        load = etl("load", "appeals", str(appeals_csv(tmp_path / f"{prefix}.csv", rows, prefix)), "--db", str(db))
        load.communicate(timeout=120)
        total += rows
        assert reader.cursor().execute("SELECT count(*) FROM appeals").fetchall()[0][0] == total
        assert reader.cursor(first).execute("SELECT count(*) FROM appeals").fetchall()[0][0] == before
    second = file_identity(db)
    reader.keep(second)  # the first stays open for the queries begun on it, until the second is kept again
    assert reader.holds(first) and reader.holds(second)
    reader.keep(second)
    assert not reader.holds(first) and reader.holds(second)
    with pytest.raises(FileReplaced):
        reader.cursor(first)
    assert reader.cursor(second).execute("SELECT count(*) FROM appeals").fetchall()[0][0] == before + 3
