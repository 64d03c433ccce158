"""Database access: many readers, one writer at a time, and readers never blocked by a load.

A writer takes `<db>.lock`, loads into a private copy and renames it over the live file; readers
attach the live file read-only and reopen it when its identity changes (README.md, "Database access").
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import threading
from pathlib import Path

import duckdb
from filelock import FileLock, Timeout

from access import audit
from arguments import Failure
from etl import identifiers, schema
from settings import real_path, writer_wait_seconds


class DatabaseMissing(Exception):
    """There is no database file yet (load data or build the demo first)."""


class DatabaseLinked(Exception):
    """The database file has a second hard link: no path resolution unites two of them, so two
    writers could each take a lock, and publishing would split the file in two."""


class DatabaseGone(Failure):
    """The database file has gone (deleted or moved away) since a check saw it, or its audit log
    is left without it: a load would start a new database holding one file."""


class NotADatabase(Failure):
    """The file at the database path is something else (a CSV, a SQLite file, a broken copy)."""


class DiskFull(Failure):
    """The disk of the database ran out of space during a write: nothing was published."""


def _no_space(error: BaseException) -> bool:
    """A full disk, as the OS says it or as DuckDB passes it on (in English, inside its own error)."""
    return (isinstance(error, OSError) and error.errno == errno.ENOSPC) or (
        isinstance(error, duckdb.Error) and "No space left on device" in str(error))


@contextlib.contextmanager
def transaction(con):
    """BEGIN … COMMIT, rolled back if the body raises. A COMMIT that fails (a full disk) has ended
    the transaction already: its own error is the one that counts, not the ROLLBACK's."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise


# Bytes 8-11 of every DuckDB file. Checked before DuckDB opens a file: its own error is English,
# and it would try to download an extension for a SQLite file.
DUCKDB_MAGIC = b"DUCK"


_FULL = ("数据库所在的磁盘({folder})空间不足，写入中途停止；未写入任何数据，数据库保持原样。"
         "请清理磁盘空间后重试。")

_BROKEN = ("数据库文件 {db_path} 不完整或已损坏，无法读取；未读取或写入任何数据"
           "(请从备份恢复，或检查 --db 与环境变量 DASHBOARD_DB)。")


def _refuse_other_files(db_path: Path) -> None:
    with open(db_path, "rb") as f:
        if f.read(12)[8:] != DUCKDB_MAGIC:
            raise NotADatabase(f"{db_path} 不是本系统的数据库文件(请检查 --db 或环境变量 DASHBOARD_DB)；"
                               "未读取或写入任何数据。")


class WriterBusy(Failure):
    """Another writer held the database longer than DASHBOARD_WRITER_WAIT; nothing was written."""


@contextlib.contextmanager
def _lock(db_path: Path):
    wait = writer_wait_seconds()
    lock = FileLock(str(db_path) + ".lock", timeout=wait)
    try:
        lock.acquire()
    except Timeout:
        raise WriterBusy(f"另一个导入或撤销正在写入数据库 {db_path}，已等待 {wait:g} 秒仍未结束；"
                         "未写入任何数据，请稍后重试(等待时间由环境变量 DASHBOARD_WRITER_WAIT 设定)。") from None
    try:
        yield
    finally:
        lock.release()


def _remove_stale_copies(db_path: Path) -> None:
    for stray in db_path.parent.glob(db_path.name + ".tmp-*"):
        stray.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _connect(database: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A connection (and its cursors) without DuckDB's progress bar, which it draws on stdout, even
    into a pipe, for a query over two seconds: it would land in the middle of `--json` output."""
    con = duckdb.connect(database)
    con.execute("SET enable_progress_bar = false")
    return con


class WouldReplaceData(Failure):
    """A fresh database was asked for where a file with data it must not replace already is."""


def _refuse_replacing(db_path: Path, replaceable) -> None:
    con = _attach(db_path)  # refuses a file that is not a database of this system
    try:
        reason = replaceable(con) if replaceable else "文件已存在"
    finally:
        con.close()
    if reason:
        raise WouldReplaceData(f"{db_path}：{reason}，未作任何改动(请用 --db 指定另一个文件)。")


@contextlib.contextmanager
def writing(db_path: Path, *, fresh: bool = False, replaceable=None):
    """A read-write connection to a private copy that replaces the live file on success.

    With fresh=True the copy starts empty (init, the demo rebuild); a file already at the path is
    replaced only when `replaceable(con)`, given a read-only connection to it, returns no reason not
    to (checked under the writer's lock, so no load can land in between). If the body raises,
    nothing is published. A new database file is owner-only (0600); a replaced one keeps its mode.
    """
    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    db_path = real_path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)  # a symlink's target folder
    if db_path.exists() and db_path.stat().st_nlink > 1:
        raise DatabaseLinked(f"数据库文件 {db_path} 还有另一个名字(硬链接)，写入会把它分成两个文件；"
                             "请删除多余的硬链接(可改用符号链接)后重试。未写入任何数据。")
    with _lock(db_path):
        if fresh and db_path.exists():
            _refuse_replacing(db_path, replaceable)
        _remove_stale_copies(db_path)
        work = db_path.with_name(f"{db_path.name}.tmp-{os.getpid()}")
        existed = db_path.exists()
        mode = db_path.stat().st_mode & 0o777 if existed else 0o600
        if existed and not fresh:
            _refuse_other_files(db_path)
            # Into a file created with the mode already, so no copy of the data is ever readable by others.
            os.close(os.open(work, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, mode))
            try:
                shutil.copyfile(db_path, work)
            except OSError as error:
                work.unlink(missing_ok=True)
                if _no_space(error):
                    raise DiskFull(_FULL.format(folder=db_path.parent)) from error
                raise
        try:
            con = _connect(str(work))
        except duckdb.IOException:
            work.unlink(missing_ok=True)
            raise NotADatabase(_BROKEN.format(db_path=db_path)) from None
        os.chmod(work, mode)  # a new file: DuckDB refuses an empty one, so it is restricted once it exists
        published = False
        try:
            schema.create_all(con)
            identifiers.normalise_stored(con)
            yield con
            con.execute("CHECKPOINT")
            con.close()
            _fsync(work)
            os.replace(work, db_path)
            _fsync(db_path.parent)
            published = True
        except (OSError, duckdb.Error) as error:
            if _no_space(error):
                raise DiskFull(_FULL.format(folder=db_path.parent)) from error
            raise
        else:
            if not existed:  # so that a database deleted later is not taken for a first install
                audit.record(db_path, audit.login_name(), "create", str(db_path))
        finally:
            if not published:
                with contextlib.suppress(Exception):
                    con.close()
                work.unlink(missing_ok=True)
                Path(str(work) + ".wal").unlink(missing_ok=True)


def file_identity(db_path: Path) -> tuple[int, int] | None:
    """Changes whenever a writer publishes: the key readers and caches use for 'new data'."""
    try:
        st = os.stat(db_path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns)


def _attach(db_path: Path, as_upgraded: bool = True) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with the live file attached read-only as `live` (and, for an older
    file and `as_upgraded`, read through views as its next write will store it: `_read_from`).

    duckdb.connect(path) would hand back a cached instance of the *old* file for as long as any
    connection to it lives in the process; attaching from a fresh in-memory instance always opens
    the file that is at the path now.
    """
    _refuse_other_files(db_path)
    con = _connect()
    quoted = str(db_path).replace("'", "''")
    try:
        con.execute(f"ATTACH '{quoted}' AS live (READ_ONLY)")
    except duckdb.IOException:  # a copy cut short, a disk that lost part of it
        con.close()
        raise NotADatabase(_BROKEN.format(db_path=db_path)) from None
    con.execute(f"USE {_read_from(con) if as_upgraded else 'live'}")
    return con


def _read_from(con) -> str:
    """The database readers use: the live file, or, for a file written before records kept which
    columns they carried (its next write adds them: schema.create_all), views of it in memory
    that give each row what that write will give it: the columns its own batch's file carried."""
    content = {stored: table for table in schema.TABLES for stored in (table, f"{table}_versions")}
    lacking = {t for (t,) in con.execute(f"""
        SELECT table_name FROM duckdb_tables() WHERE database_name = 'live' AND table_name IN
            ({', '.join(f"'{t}'" for t in content)})
          AND table_name NOT IN (SELECT table_name FROM duckdb_columns()
                                 WHERE database_name = 'live' AND column_name = '{schema.CARRIED}')""").fetchall()}
    if not lacking:
        return "live"
    for (table,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'live'").fetchall():
        if table in lacking:
            carried = (f"SELECT batch_id, {schema.batch_mask(content[table], 'carried')} AS {schema.CARRIED} FROM (SELECT batch_id, "
                       "json_extract_string(to_json(bt), '$.carried_columns') AS carried FROM live.main.batches bt)")
            body = f"SELECT t.*, b.{schema.CARRIED} FROM live.main.{table} t LEFT JOIN ({carried}) b USING (batch_id)"
        else:
            body = f"SELECT * FROM live.main.{table}"
        con.execute(f"CREATE VIEW memory.main.{table} AS {body}")
    return "memory"


class FileReplaced(Exception):
    """A cursor was asked for a file that has been replaced and is no longer held open."""


class Reader:
    """Read-only connections to the live file, reopened when a writer has published a new one, and
    to a replaced file a caller still reads (`keep`: the dashboard shows the previous file while
    its numbers for the new one are computed, dashboard/data.py).

    Each call to cursor() gives a fresh cursor (DuckDB wants one per thread and per query).
    """

    def __init__(self, db_path: Path):
        self.db_path = Path(db_path)
        self._lock = threading.Lock()
        # file identity → its connection and the database in it the file is read through (_attach)
        self._open: dict[tuple, tuple[duckdb.DuckDBPyConnection, str]] = {}
        self._kept: tuple | None = None  # a file not let go when a newer one is opened

    def holds(self, identity: tuple | None) -> bool:
        return identity in self._open

    def keep(self, identity: tuple | None) -> None:
        """Hold the file of `identity` open until another is kept. The file kept before it stays
        open until `identity` is kept a second time or a newer file is opened; older ones are let
        go (a thread may still be finishing a query on one, which its cursor keeps alive)."""
        with self._lock:
            held_on = (identity, self._kept, next(reversed(self._open), None))
            self._kept = identity
            self._open = {held: opened for held, opened in self._open.items() if held in held_on}

    def cursor(self, identity: tuple | None = None) -> duckdb.DuckDBPyConnection:
        """A cursor on the file of `identity` (default: the live file). A replaced file not held
        open raises FileReplaced: its numbers can no longer be read."""
        with self._lock:
            opened = self._open.get(identity)
            while opened is None:
                live = file_identity(self.db_path)
                if live is None:
                    raise DatabaseMissing(str(self.db_path))
                if identity not in (None, live):
                    raise FileReplaced(str(self.db_path))
                opened = self._open.get(live)
                if opened is None:
                    self._open = {held: c for held, c in self._open.items() if held == self._kept}
                    con = _attach(self.db_path)
                    if file_identity(self.db_path) != live:  # published meanwhile: look again
                        continue
                    # (A cursor starts in the in-memory database: it is told which one the file is read through.)
                    opened = self._open[live] = (con, con.execute("SELECT current_database()").fetchall()[0][0])
            con, database = opened
            cursor = con.cursor()
        cursor.execute(f"USE {database}")
        return cursor


def read_only(db_path: Path, as_upgraded: bool = True) -> duckdb.DuckDBPyConnection:
    """A one-off read-only connection (CLI commands, the report; see _attach)."""
    if not Path(db_path).exists():
        raise DatabaseMissing(str(db_path))
    return _attach(Path(db_path), as_upgraded)


def frame(con, sql: str, params: list | dict | None = None):
    """A query's result as a polars frame (every value bound as a parameter, never formatted in).

    Taken through the Arrow C stream interface, like ArrowStream: no pyarrow needed.
    """
    import polars as pl

    return pl.DataFrame(con.sql(sql, params=params or None))


class ArrowStream:
    """A polars frame for con.register(): DuckDB reads it through the Arrow C stream interface,
    as many times as a query scans it, without importing pyarrow or converting the frame first."""

    def __init__(self, frame):
        self._frame = frame

    def __arrow_c_stream__(self, requested_schema=None):
        return self._frame.__arrow_c_stream__(requested_schema)
