"""What was loaded: the load history, rejected and stale rows as a CSV, undoing a batch,
re-checking rejects.

Undo means "as if the batch had never been loaded" (etl/versions.py): every version each batch
delivered is kept, so undoing any batch, in any order, folds again the records it delivered from
the batches still live. No undo is refused because later batches touched the same records.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from access import audit
from etl import db, versions
from etl.contract import KINDS, normalise_header
from etl.load import LoadReport, load_source
from etl.read import OVERFLOW, OVERFLOW_HEADER, ROW, RawFile
from etl.schema import VERSIONS_SINCE, present, select_list
from etl.schema import columns as table_columns
from etl.validate import DUPLICATE_PREFIX, MAPPED_VALUES, file_values
from safety import csvout
from settings import local_now

HISTORY_COLUMNS = ["batch_id", "kind", "file_name", "file_hash", "loaded_at", "loaded_by", "rows_read", "inserted",
                   "updated", "unchanged", "stale", "rejected", "is_correction", "is_undone", "undone_at"]


class UndoRefused(Exception):
    """There is no such batch, or it is undone already; the message says so, in Chinese."""


def dataset(con) -> str | None:
    """What built the database: "demo" for `python -m etl demo`."""
    found = con.execute("SELECT value FROM meta WHERE key = 'dataset'").fetchall()
    return found[0][0] if found else None


def batches_beyond_demo(con, *, undone: bool) -> int:
    """How many batches the demo did not load, live ones (with `undone`, undone ones too): those
    after its last batch; in a database the demo did not build, every batch (a person may well
    log in as "demo")."""
    live = "TRUE" if undone else "NOT is_undone"
    if dataset(con) != "demo":
        return con.execute(f"SELECT count(*) FROM batches WHERE {live}").fetchall()[0][0]
    last = con.execute("SELECT value FROM meta WHERE key = 'demo_last_batch'").fetchall()
    if last:
        other, params = "batch_id > CAST($last AS INTEGER)", {"last": last[0][0]}
    else:  # a demo database built before the demo recorded its last batch: its loads say "demo"
        other, params = "loaded_by IS DISTINCT FROM 'demo'", {}
    return con.execute(f"SELECT count(*) FROM batches WHERE {live} AND {other}", params).fetchall()[0][0]


def history(con) -> pl.DataFrame:
    """Every batch, newest first."""
    return db.frame(con, f"SELECT {select_list(con, 'batches', HISTORY_COLUMNS)} FROM batches ORDER BY batch_id DESC")


def rejects(con, batch_id: int) -> pl.DataFrame:
    return db.frame(con, "SELECT row_number, reason, raw_values FROM rejects WHERE batch_id = ? ORDER BY row_number",
                    [batch_id])


def rejects_csv(con, batch_id: int) -> bytes:
    """The batch's rejected rows as a CSV for Excel (safety.csvout): row number, reason, then the
    row's own columns as the file had them."""
    rows = rejects(con, batch_id).to_dicts()
    raw = [file_values(r["raw_values"]) for r in rows]
    headers: list[str] = []
    for values in raw:
        headers += [h for h in values if h not in headers]
    columns = {"原文件行号": pl.Series([r["row_number"] for r in rows], dtype=pl.Int64),
               "拒绝原因": pl.Series([r["reason"] for r in rows], dtype=pl.String)}
    for header in headers:
        columns[header] = pl.Series([None if v.get(header) is None else str(v[header]) for v in raw], dtype=pl.String)
    return csvout.csv_bytes(pl.DataFrame(columns))


def _live_batch(con, batch_id: int) -> tuple[str, bool]:
    found = con.execute("SELECT kind, is_undone FROM batches WHERE batch_id = ?", [batch_id]).fetchall()
    if not found:
        raise UndoRefused(f"没有编号为 {batch_id} 的批次。")
    return found[0]


def undo(db_path: Path, batch_id: int, *, undone_by: str | None = None) -> dict:
    """Make the data what a fresh load of the other live batches would give; returns what moved:
    records of the batch's kind removed (no other live batch holds them) and restored (an older
    or other batch's version is current again), and rows of other kinds that changed with the
    registry (undoing a compounds batch)."""
    with db.writing(Path(db_path)) as con:
        kind, is_undone = _live_batch(con, batch_id)
        if is_undone:
            raise UndoRefused(f"批次 {batch_id} 已经撤销过了。")
        _refuse_unrecorded_resends(con, batch_id, kind)
        # Its rejected rows loaded again by a re-check came from the same file: they go with it
        # (a re-check of a re-check too).
        rechecks = [b for (b,) in con.execute("""
            WITH RECURSIVE found(batch_id) AS (
                SELECT batch_id FROM batches WHERE recheck_of = $b
                UNION SELECT c.batch_id FROM batches c JOIN found f ON c.recheck_of = f.batch_id)
            SELECT batch_id FROM found JOIN batches USING (batch_id) WHERE NOT is_undone ORDER BY batch_id""",
                                                {"b": batch_id}).fetchall()]
        with db.transaction(con):
            counts = versions.undo_batch(con, [batch_id, *rechecks], kind)
            con.execute("UPDATE batches SET undone_at = ?, undone_by = ? WHERE list_contains(?, batch_id)",
                        [local_now(), undone_by, [batch_id, *rechecks]])
    result = {"batch_id": batch_id, "kind": kind, **counts, "rechecks": rechecks}
    audit.record(Path(db_path), undone_by or "unknown", "undo", undo_message(result))
    return result


def _refuse_unrecorded_resends(con, batch_id: int, kind: str) -> None:
    """A batch loaded before versions were kept may have records that a later batch of that time
    re-sent unchanged, which nothing recorded: undoing it could delete records that batch still
    holds, so those batches are undone first (newest first; their files can be loaded again after)."""
    since = con.execute("SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?", [VERSIONS_SINCE]).fetchall()
    if not since or batch_id >= since[0][0]:
        return
    later = [b for (b,) in con.execute(
        "SELECT batch_id FROM batches WHERE kind = ? AND batch_id > ? AND batch_id < ? AND unchanged > 0 "
        "AND NOT is_undone ORDER BY batch_id", [kind, batch_id, since[0][0]]).fetchall()]
    if later:
        listed = "、".join(map(str, later))
        raise UndoRefused(f"批次 {batch_id} 导入于本系统开始记录版本之前；之后的批次 {listed} 当时重复提供的记录没有登记，"
                          f"撤销可能误删这些记录。请先从新到旧撤销批次 {listed}，再撤销批次 {batch_id}，"
                          "然后可重新导入需要保留的文件。")


def undo_message(result: dict) -> str:
    """What an undo did, in Chinese (the CLI, the data desk and the audit log say the same)."""
    text = (f"已撤销批次 {result['batch_id']}({KINDS[result['kind']].label})：删除 {result['removed']:,} 条记录，"
            f"恢复 {result['restored']:,} 条记录的其他批次版本")
    if result.get("moved"):
        text += f"；另有 {result['moved']:,} 行诉求、投诉等随小区台账调整(所属街道、社区、物业或是否有效)"
    if result.get("rechecks"):
        text += f"；同时撤销了由它被拒绝的行重新校验导入的批次 {'、'.join(map(str, result['rechecks']))}(同一文件)"
    return text + "。其他批次仍提供的记录保持不变。"


def stale(con, batch_id: int) -> pl.DataFrame:
    """A batch's rows that were not applied because the stored record was later: 原文件行号,
    未覆盖原因, then the row as it was stored (personal data already masked) under the contract's
    Chinese headers, every value as text."""
    found = con.execute("SELECT kind FROM batches WHERE batch_id = ?", [batch_id]).fetchall()
    if not found or not present(con, "stale_rows"):  # a database from before stale rows were kept has none
        return pl.DataFrame(schema={"原文件行号": pl.String, "未覆盖原因": pl.String})
    kind = KINDS[found[0][0]]
    headers = {column.name: column.headers[0] for column in kind.columns}
    shown = [c for c in table_columns(kind.table) if c in headers]
    rows = db.frame(con, f"""
        SELECT r.row_number, r.reason, {', '.join(f'c.{c}' for c in shown)}
        FROM stale_rows r JOIN {versions.content_rows(kind.table)} c
             ON c.{kind.key} = r.record_key AND c.batch_id = r.batch_id
        WHERE r.batch_id = ? ORDER BY r.row_number""", [batch_id])
    rows = rows.with_columns(pl.col(pl.Boolean).replace_strict({True: "是", False: "否"}, return_dtype=pl.String))
    return rows.rename({"row_number": "原文件行号", "reason": "未覆盖原因", **{c: headers[c] for c in shown}}).with_columns(
        pl.all().cast(pl.String))


def stale_csv(con, batch_id: int) -> bytes:
    """The batch's stale rows as a CSV for Excel (safety.csvout)."""
    return csvout.csv_bytes(stale(con, batch_id))


def recheck(db_path: Path, batch_id: int, *, loaded_by: str | None = None) -> LoadReport:
    """Load a batch's rejected rows again, as a new batch, against today's reference data
    (for example appeals rejected for an unknown compound, once the registry has it).

    The old batch keeps its list of rejects as it was (nothing is lost if the new batch is undone);
    the new batch lists the rows that still fail, with today's reasons.
    """
    with db.writing(Path(db_path)) as con:
        found = con.execute("SELECT kind, file_name, file_hash, encoding, is_undone FROM batches WHERE batch_id = ?",
                            [batch_id]).fetchall()
        if not found:
            raise UndoRefused(f"没有编号为 {batch_id} 的批次。")
        kind_name, file_name, file_hash, encoding, is_undone = found[0]
        if is_undone:  # the analyst withdrew the file: none of its rows may come back unasked
            raise UndoRefused(f"批次 {batch_id} 已撤销，它被拒绝的行不再重新校验(需要这些数据时，请重新导入文件)。")
        rows = rejects(con, batch_id)
        kind = KINDS[kind_name]
        if rows.height == 0:
            return LoadReport(file=file_name, kind=kind_name, refused=f"批次 {batch_id} 没有被拒绝的行。")
        source = _source_from_rejects(kind, rows, file_hash, encoding)
        # A valid row superseded by a later valid row of the same file stays superseded (that
        # row was loaded); every other rejected row is checked again, so no valid row is lost.
        source.frame = source.frame.filter(~rows.get_column("reason").str.starts_with(DUPLICATE_PREFIX))
        report = load_source(con, source, f"{file_name}(重新校验批次 {batch_id})", loaded_by)
        if report.batch_id is not None:
            con.execute("UPDATE batches SET recheck_of = ? WHERE batch_id = ?", [batch_id, report.batch_id])
    audit.record(Path(db_path), loaded_by or "unknown", "recheck", report.summary_zh())
    return report


def _source_from_rejects(kind, rows: pl.DataFrame, file_hash: str, encoding: str | None) -> RawFile:
    """The rejected rows as a raw file again: their stored raw values under the file's headers
    (or, for a file read through a mapping, the values as it mapped them)."""
    aliases = kind.aliases()
    as_read = [json.loads(v) for v in rows.get_column("raw_values")]
    records = [record.get(MAPPED_VALUES, record) for record in as_read]
    headers: dict[str, str] = {}
    for record in records:
        for header in record:
            canonical = aliases.get(normalise_header(header.removesuffix("(固定值)")))
            if canonical and canonical not in headers:
                headers[canonical] = header
    data = {canonical: [r.get(header) for r in records] for canonical, header in headers.items()}
    # Cells past the header stay with their row: checked again, it is rejected again.
    overflow = [record.get(OVERFLOW_HEADER) for record in as_read]
    if any(value is not None for value in overflow):
        data[OVERFLOW] = overflow
    frame = pl.DataFrame({ROW: rows.get_column("row_number"), **data},
                         schema={ROW: pl.Int64, **{c: pl.String for c in data}})
    return RawFile(kind, frame, file_hash, encoding or "", headers, [])

