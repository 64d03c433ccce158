"""The one loader: decode → read → stage → upsert, one transaction and one recorded batch a file.

A check (`check`) stages a file once into a StagedFile; loading that object (`load_checked`)
applies exactly what was checked. `check_files` and `load_files` are the CLI's one-call forms.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from access import audit
from etl import db, derived, identifiers, schema, versions
from etl.contract import KINDS
from etl.mapping import Mapping
from etl.read import ROW, Decoded, FileRefused, RawFile, chooser, decode, read, read_file
from etl.schema import columns as table_columns
from etl.validate import Staged, reasons_summary, stage
from safety.masking import mask_column
from settings import local_now


@dataclass
class LoadReport:
    file: str
    kind: str
    batch_id: int | None = None
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0  # rows not applied: the stored record is already in a later state
    rejected: int = 0
    duplicates: int = 0
    encoding: str | None = None
    file_hash: str | None = None  # SHA-256 of the bytes read: a check and a load of the same bytes agree
    ignored_columns: list[str] = field(default_factory=list)
    # Optional columns some figure is computed from that the file lacks (those figures stay “—”).
    absent_columns: list[str] = field(default_factory=list)
    reasons: list[dict] = field(default_factory=list)
    refused: str | None = None  # the Chinese message when the whole file was refused
    correction: bool = False
    note: str | None = None  # how the load differs from the check behind it (the database changed)
    # Appeals from a file naming no compound (a street-level export): placed by their street alone.
    by_street: bool = False

    def as_json(self) -> dict:
        keys = ("file", "kind", "file_hash", "batch_id", "rows_read", "inserted", "updated", "unchanged", "stale", "rejected")
        data = {k: getattr(self, k) for k in keys}
        data["absent_columns"] = self.absent_columns
        if self.refused:
            data["error"] = self.refused
        if self.note:
            data["note"] = self.note
        return data

    def summary_zh(self, name_figures: Callable[[str, list[str]], list[str]] | None = None) -> str:
        """The report for people; `name_figures(kind, columns)` (metrics.common.figures_without, passed
        in by the layers above the loader) names the figures that absent columns leave “—”."""
        if self.refused:
            return f"{self.file}：已拒绝，未写入任何数据。原因：{self.refused}"
        batch = f"批次 {self.batch_id}，" if self.batch_id is not None else ""  # a check has no batch
        text = (f"{self.file}：{'更正' if self.correction else ''}{batch}读取 {self.rows_read} 行，"
                f"新增 {self.inserted}，更新 {self.updated}，未变 {self.unchanged}，"
                + (f"较旧未覆盖 {self.stale}(库中记录已是更新的状态)，" if self.stale else "")
                + f"拒绝 {self.rejected}")
        if self.duplicates:
            text += f"(其中文件内重复编号 {self.duplicates} 行：同一编号只导入一行，原因见被拒绝的行)"
        if self.ignored_columns:
            text += f"；未读取的列：{listing(self.ignored_columns)}"
        if self.absent_columns:
            text += "；" + self.absent_text(name_figures)
        if self.by_street:
            text += "；" + BY_STREET
        return text + "。" + (self.note or "")

    def absent_text(self, name_figures: Callable[[str, list[str]], list[str]] | None = None) -> str:
        """Which optional columns the file lacks, that stored records keep their values there (an
        update says nothing of a column it lacks), and which figures leave the new ones out."""
        columns = "、".join(f"“{KINDS[self.kind].column(c).headers[0]}”" for c in self.absent_columns)
        figures = "、".join(name_figures(self.kind, self.absent_columns)) if name_figures else "由这些列计算的指标"
        return (f"文件未含可选列 {columns}：库中已有的记录保留这些列原来的值，新记录不计入{figures}"
                f"(所选范围内的记录都没有时显示为“—”，不是 0)")


# Why a record's compound is not kept over like its other optional values: it gives the appeal's
# place (street, community) whole, and a kept compound in another street than the file's would
# put the appeal in two places, by a test no undo could replay once the registry moves compounds.
BY_STREET = ("文件没有“小区编码”和“小区名称”列：其中的工单按“街道”计，不属于任何小区；"
             "库中已有的工单被本文件更新后，也不再属于原来的小区(撤销本批次即恢复)")


# Summaries and the batches table name at most this many ignored columns (a file can have thousands),
# each cut to NAME_CHARACTERS (a header cell can be a paragraph).
LISTED_COLUMNS = 10
NAME_CHARACTERS = 60


def _listed(names: list[str]) -> list[str]:
    """What the batches table keeps: the first ten names, each cut short, and 等 N 列 if there were more."""
    kept = [name[:NAME_CHARACTERS] for name in names[:LISTED_COLUMNS]]
    return kept + [f"等 {len(names)} 列"] if len(names) > LISTED_COLUMNS else kept


def listing(names: list[str]) -> str:
    """'A、B、C', or the first ten names then 等 N 列."""
    kept = _listed(names)
    return "、".join(kept) if len(names) <= LISTED_COLUMNS else f"{'、'.join(kept[:-1])} {kept[-1]}"


def absent_columns(source: RawFile) -> list[str]:
    """The optional columns some figure needs that the file does not carry."""
    return [c for c in source.kind.measured() if c not in source.headers]


def _registry(con) -> pl.DataFrame:
    return db.frame(con, "SELECT compound_id, name, street, community, property_company FROM compounds "
                         "ORDER BY compound_id")


def _report(source: RawFile, file_name: str, correction: bool) -> LoadReport:
    """A report of what was read, before anything is counted."""
    # A file is sometimes named after the caller ("张三13812345678.csv"), a header may be a number.
    file_name, *ignored = mask_column(pl.Series([file_name, *source.ignored_columns], dtype=pl.String)).to_list()
    source.ignored_columns = ignored
    return LoadReport(file=file_name, kind=source.kind.name, encoding=source.encoding, file_hash=source.file_hash,
                      correction=correction,
                      ignored_columns=ignored, rows_read=source.frame.height, absent_columns=absent_columns(source),
                      by_street=source.kind.name == "appeals" and not {"compound_id", "compound_name"} & set(source.headers))


def _count(report: LoadReport, counts: dict[str, int], staged: Staged) -> None:
    report.inserted, report.updated, report.stale = (counts.get(state, 0) for state in ("new", "changed", "stale"))
    report.unchanged = counts.get("same", 0) + counts.get("same_kept", 0)
    report.rejected, report.duplicates = staged.rejects.height, staged.duplicates
    report.reasons = reasons_summary(staged.rejects)


@dataclass
class StagedFile:
    """One file read and decoded once, typed and checked: what a check showed and a load applies.

    `source` (the raw text cells) is kept until the load, for the one case that needs it again:
    the compound registry changed since the check, so the rows are checked again against it.
    """
    name: str
    source: RawFile | None
    staged: Staged | None = None  # None: not checked yet (a load stages it in its transaction)
    registry: pl.DataFrame | None = None  # the compound registry `staged` was checked against
    database: tuple[int, int] | None = None  # the database file's identity when checked
    report: LoadReport | None = None  # the check's result (or the refusal)


def _classify(con, table: str, key: str, good: pl.DataFrame, carried: set[str], correction: bool = False) -> dict[str, int]:
    """Register the file's rows as `incoming`, each merged with its stored record (a file says
    nothing of the optional columns it lacks: etl/versions.py, `merged`), and count their keys as
    new / same / changed / stale against the table.

    Stale: the stored version is later (etl/versions.py); a correction applies such rows, so they
    count as changed. Same: kept as a delivery of the stored version, or, when the file carried a
    column that version's file did not (its value there came from an earlier one), as a version
    of its own ('same_kept'). Unless every key is new, the temp table `states` (key, state, the
    stored row's batch) is left for _upsert. `carried`: the contract columns the file had.
    """
    cols = table_columns(table)
    given = versions.file_carried(carried)
    mask = str(schema.file_mask(table, carried))
    con.register("incoming_rows", db.ArrowStream(good))
    # Into an empty table everything is new, and comparing every column would be wasted work.
    if con.execute(f"SELECT count(*) = 0 FROM {table}").fetchall()[0][0]:
        con.execute(f"CREATE OR REPLACE TEMP VIEW incoming AS SELECT {versions.merged(table, 's', None, given, mask)}, "
                    f"s.{ROW} FROM incoming_rows s")
        return {"new": good.height} if good.height else {}
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE incoming AS
        SELECT {versions.merged(table, 's', 't', given, mask)}, s.{ROW}
        FROM incoming_rows s LEFT JOIN {table} t ON t.{key} = s.{key}""")
    same = " AND ".join(f"t.{c} IS NOT DISTINCT FROM s.{c}" for c in cols if c != key)
    stale = "false" if correction else versions.stale_condition(table)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE states AS
        SELECT s.{key}, t.batch_id AS origin,
               CASE WHEN t.{key} IS NULL THEN 'new'
                    WHEN {same} THEN CASE WHEN {versions.delivers(table, carried, "o.carried_columns")} THEN 'same'
                                          ELSE 'same_kept' END
                    WHEN {stale} THEN 'stale' ELSE 'changed' END AS state
        FROM incoming s LEFT JOIN {table} t ON t.{key} = s.{key} LEFT JOIN batches o ON o.batch_id = t.batch_id""")
    return dict(con.execute("SELECT state, count(*) FROM states GROUP BY state").fetchall())


def _upsert(con, table: str, key: str, good: pl.DataFrame, batch_id: int, carried,
            correction: bool = False) -> dict[str, int]:
    """One step of the fold (etl/versions.py) for every incoming row: insert new keys, make
    changed ones current (the old version is kept), point at the stored version for unchanged
    ones, keep stale ones as versions that are not current. Returns the counts by state."""
    cols = table_columns(table)
    counts = _classify(con, table, key, good, carried, correction)
    all_new = counts.get("new", 0) == good.height
    col_list = ", ".join(cols)

    def keys_in(*states: str) -> str:
        return f"(SELECT {key} FROM states WHERE state IN ({', '.join(repr(s) for s in states)}))"

    if table == "appeals":  # the days records leave (their stored version) and enter
        if all_new:
            derived.touch(con, "TRUE", source="incoming")
        else:
            derived.touch(con, f"{key} IN {keys_in('new', 'changed')}", source="incoming")
            derived.touch(con, f"{key} IN {keys_in('changed')}")
    if counts.get("changed"):
        con.execute(f"INSERT INTO {table}_versions ({col_list}, batch_id) SELECT {col_list}, batch_id FROM {table} "
                    f"WHERE {key} IN {keys_in('changed')}")
        assignments = ", ".join(f"{c} = s.{c}" for c in cols if c != key)
        con.execute(f"""
            UPDATE {table} SET {assignments}, batch_id = ?
            FROM incoming s WHERE {table}.{key} = s.{key} AND s.{key} IN {keys_in('changed')}""", [batch_id])
        if table == "compounds":
            con.execute(f"CREATE OR REPLACE TEMP TABLE moved_compounds AS {keys_in('changed')}")
            versions.rederive(con, "moved_compounds")
            con.execute("DROP TABLE moved_compounds")
    if counts.get("new"):
        only_new = "" if all_new else f"WHERE {key} IN {keys_in('new')}"
        con.execute(f"INSERT INTO {table} ({col_list}, batch_id) SELECT {col_list}, ? FROM incoming {only_new}",
                    [batch_id])
    if counts.get("same"):
        con.execute(f"INSERT INTO {table}_deliveries SELECT ?, {key}, origin FROM states WHERE state = 'same'",
                    [batch_id])
    if counts.get("stale"):
        con.execute(f"""
            INSERT INTO stale_rows SELECT ?, s.{key}, s.{ROW}, {versions.stale_reason(table)}
            FROM incoming s JOIN {table} t ON t.{key} = s.{key} WHERE s.{key} IN {keys_in('stale')}""", [batch_id])
    if counts.get("stale") or counts.get("same_kept"):
        con.execute(f"INSERT INTO {table}_versions ({col_list}, batch_id) SELECT {col_list}, ? FROM incoming "
                    f"WHERE {key} IN {keys_in('stale', 'same_kept')}", [batch_id])
    con.execute("DROP TABLE IF EXISTS states")
    as_view = con.execute("SELECT count(*) FROM duckdb_views() WHERE temporary AND view_name = 'incoming'").fetchall()[0][0]
    con.execute(f"DROP {'VIEW' if as_view else 'TABLE'} incoming")
    con.unregister("incoming_rows")
    return counts


def load_source(con, source: RawFile, file_name: str, loaded_by: str | None, correction: bool = False,
                progress: Callable[[float, str], None] | None = None) -> LoadReport:
    """Load one already-read file inside the caller's write session (see load_staged)."""
    return load_staged(con, StagedFile(file_name, source), loaded_by, correction, progress)


def load_staged(con, upload: StagedFile, loaded_by: str | None, correction: bool = False,
                progress: Callable[[float, str], None] | None = None) -> LoadReport:
    """Load one staged file inside the caller's write session, as one transaction;
    `progress(fraction, message)` hears of each step (checking, writing, rejected rows). A
    correction batch applies its rows even where the stored record is in a later state.

    Rows already checked are loaded as checked, unless the compound registry has changed since:
    then they are checked again (from the text kept, not the file). New, changed, unchanged and
    stale rows are always counted against the database as it is now.
    """
    tell = progress or (lambda fraction, message: None)
    source = upload.source
    kind = source.kind
    report = _report(source, upload.name, correction)
    with db.transaction(con):
        tell(0.0, f"校验 {report.rows_read:,} 行")
        registry = _registry(con)
        staged = upload.staged
        if staged is None or not registry.equals(upload.registry):
            staged = stage(source, registry)
            if upload.staged is not None:
                report.note = "预检之后小区台账有变动，各行已按现在的台账重新校验。"
        source.frame = None  # the raw text is no longer needed: free it before the insert
        batch_id = con.execute("SELECT nextval('batch_ids')").fetchall()[0][0]
        tell(0.45, f"写入 {staged.good.height:,} 行")
        counts = _upsert(con, kind.table, kind.key, staged.good, batch_id, set(source.headers), correction)
        tell(0.85, f"记录 {staged.rejects.height:,} 行被拒绝的行" if staged.rejects.height else "记录批次")
        report.batch_id = batch_id
        _count(report, counts, staged)
        con.execute(
            """INSERT INTO batches (batch_id, kind, file_name, file_hash, encoding, loaded_at, loaded_by,
                   rows_read, inserted, updated, unchanged, rejected, ignored_columns, carried_columns,
                   stale, is_correction)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [batch_id, kind.name, report.file, source.file_hash, source.encoding, local_now(),
             loaded_by, report.rows_read, report.inserted, report.updated, report.unchanged, report.rejected,
             json.dumps(_listed(source.ignored_columns), ensure_ascii=False),
             json.dumps(sorted(source.headers)), report.stale, correction],
        )
        if staged.rejects.height:
            con.register("rejected_rows", db.ArrowStream(staged.rejects.with_columns(pl.lit(batch_id).alias("batch_id"))))
            con.execute("INSERT INTO rejects SELECT batch_id, row_number, raw_values, reason FROM rejected_rows")
            con.unregister("rejected_rows")
        derived.keep(con)
    return report


def check(db_path: Path, kind: str, decoded: Decoded, name: str, *, mapping: Mapping | None = None,
          correction: bool = False) -> StagedFile:
    """Read and stage a decoded file, and count what loading it now would do; writes nothing.

    The counts (inserted = would be new, updated = would change, stale = would not be applied)
    and the grouped reasons are those load_checked reports while the database stays as it is.
    """
    try:
        if _gone(Path(db_path)):
            raise FileRefused(_GONE.format(db_path=db_path))
        source = read(decoded, kind, mapping)
    except FileRefused as refusal:
        return StagedFile(name, None, report=LoadReport(file=name, kind=kind, refused=str(refusal)))
    upload = StagedFile(name, source, database=db.file_identity(Path(db_path)))
    report = _report(source, name, correction)
    with _checking_connection(Path(db_path)) as con:
        upload.registry = _registry(con)
        upload.staged = stage(source, upload.registry)
        counts = _classify(con, KINDS[kind].table, KINDS[kind].key, upload.staged.good, set(source.headers),
                           correction)
    _count(report, counts, upload.staged)
    upload.report = report
    return upload


def _file_name(path: Path) -> str:
    """The file's name as text. A name whose bytes are not UTF-8 is most likely GBK (unzipped from
    a Windows zip): read so, rather than kept as surrogates no database or output can encode."""
    raw = os.fsencode(path.name)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030", errors="replace")


def check_files(db_path: Path, kind: str, paths: list[Path], *, names: list[str] | None = None,
                mapping: Mapping | None = None, data: list[bytes] | None = None,
                correction: bool = False) -> list[LoadReport]:
    """What loading these files would do, against the database as it is now (see check)."""
    reports = []
    for index, path in enumerate(paths):
        name = names[index] if names else _file_name(Path(path))
        try:
            decoded = decode(Path(path), data=data[index] if data else None, choose=chooser(kind, mapping))
        except FileRefused as refusal:
            reports.append(LoadReport(file=name, kind=kind, refused=str(refusal)))
            continue
        reports.append(check(db_path, kind, decoded, name, mapping=mapping, correction=correction).report)
    return reports


_GONE = ("数据库文件 {db_path} 不见了(被删除或移走)，未导入，也未新建数据库；请管理员确认数据库的位置后重新上传预检"
         "(确要重新开始，请先用 python -m etl init 新建数据库)。")


def _gone(db_path: Path) -> bool:
    """The database file is missing, but its audit log shows one was created there."""
    return not db_path.exists() and audit.created_before(db_path)


def _checking_connection(db_path: Path):
    """The live database read-only, or an empty in-memory one with the schema if there is none yet.
    A database written before the current schema, or holding ids not folded yet, is checked as a
    load would see it, upgraded first (db.writing): an in-memory copy, upgraded."""
    if not db_path.exists():
        con = duckdb.connect()
        schema.create_all(con)
        return con
    con = db.read_only(db_path, as_upgraded=False)
    if schema.outdated(con) or identifiers.pending(con):
        con.execute("USE memory")
        con.execute("COPY FROM DATABASE live TO memory")
        con.execute("DETACH live")
        schema.create_all(con)
        identifiers.normalise_stored(con)
    return con


def load_checked(db_path: Path, uploads: list[StagedFile], *, loaded_by: str | None = None, fresh: bool = False,
                 correction: bool = False, progress: Callable[[float, str], None] | None = None) -> list[LoadReport]:
    """Load staged files, each as one batch (a refused one keeps its refusal), all published
    together when the call ends. A file checked before the database last changed (another load
    landed, or an earlier file of this call) is counted against the database as it is now, and
    its report says how that differs from the check. Each StagedFile is spent by its load.
    """
    tell = progress or (lambda fraction, message: None)
    loaded_by = loaded_by or _user()
    reports = [upload.report if upload.source is None else None for upload in uploads]
    count = len(uploads)
    if any(upload.source is not None for upload in uploads):
        tell(0.3, "等待写入(如有其他导入正在进行，将排队)")
        with db.writing(Path(db_path), fresh=fresh) as con:
            live, loaded = db.file_identity(Path(db_path)), False
            if live is None and not fresh and (_gone(Path(db_path)) or any(
                    u.source is not None and u.database is not None for u in uploads)):
                # A database that has gone (checked against it, or its audit log left behind): a
                # load would start a new one holding this file alone, shown as all the data there is.
                raise db.DatabaseGone(_GONE.format(db_path=db_path))
            for index, upload in enumerate(uploads):
                if upload.source is None:
                    continue
                checked = upload.report
                changed = fresh or loaded or live != upload.database
                report = load_staged(
                    con, upload, loaded_by, correction,
                    lambda part, message, i=index, n=upload.name: tell(0.35 + 0.55 * (i + part) / count, f"{n}：{message}"))
                if checked is not None and changed:
                    report.note = (report.note or "") + _since_check(checked, report)
                reports[index], loaded = report, True
                upload.source = upload.staged = None
            tell(0.95, "保存")
    for report in reports:
        audit.record(Path(db_path), loaded_by, "correction" if correction else "load", report.summary_zh())
    tell(1.0, "完成")
    return reports


COUNTED = (("inserted", "新增"), ("updated", "更新"), ("unchanged", "未变"), ("stale", "较旧未覆盖"), ("rejected", "拒绝"))


def _since_check(checked: LoadReport, loaded: LoadReport) -> str:
    """What a load says when the database changed between its check and itself."""
    text = "预检之后数据库有更新(其间有其他导入完成)，已按导入时的数据核对"
    if all(getattr(checked, name) == getattr(loaded, name) for name, _ in COUNTED):
        return text + "，结果与预检相同。"
    return text + "，结果与预检不同(预检时：" + "，".join(
        f"{label} {getattr(checked, name)}" for name, label in COUNTED) + ")。"


def load_files(db_path: Path, kind: str, paths: list[Path], *, loaded_by: str | None = None,
               fresh: bool = False, names: list[str] | None = None, mapping: Mapping | None = None,
               data: list[bytes] | None = None, correction: bool = False,
               progress: Callable[[float, str], None] | None = None) -> list[LoadReport]:
    """Read and load files of one kind without a check first (see load_checked): each file is
    refused whole or loaded as one batch. `data` gives the files' bytes when they are not on
    disk; `correction` applies rows even where the stored record is later (audited as a
    correction); `progress(fraction, message)` is told how far the load has got.
    """
    if kind not in KINDS:
        raise ValueError(kind)
    tell = progress or (lambda fraction, message: None)
    uploads = []
    for index, path in enumerate(paths):
        name = names[index] if names else _file_name(Path(path))
        tell(0.3 * index / len(paths), f"读取 {name}")
        try:
            uploads.append(StagedFile(name, read_file(Path(path), kind, mapping=mapping,
                                                      data=data[index] if data else None)))
        except FileRefused as refusal:
            uploads.append(StagedFile(name, None, report=LoadReport(file=name, kind=kind, refused=str(refusal))))
    return load_checked(db_path, uploads, loaded_by=loaded_by, fresh=fresh, correction=correction, progress=tell)


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers and cron jobs
        return "unknown"
