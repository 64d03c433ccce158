"""What was loaded: the load history, rejected rows as a CSV, undoing a batch, re-checking rejects.

Undo works from what every load keeps: the rows a batch inserted carry its batch_id, and the
rows it replaced are in `<table>_history` with `replaced_by_batch`. Undoing a batch deletes the
first and puts the second back, so the data tables return exactly to their state before it.
A batch whose rows a later, still-live batch changed again (or whose new compounds later rows
refer to) cannot be undone before that later batch: the message names it.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import polars as pl

from etl import audit, db
from etl.contract import KINDS
from etl.load import LoadReport, load_source
from etl.read import ROW, RawFile
from etl.settings import local_now
from etl.validate import MAPPED_VALUES, file_values

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HISTORY_COLUMNS = ["batch_id", "kind", "file_name", "file_hash", "loaded_at", "loaded_by", "rows_read", "inserted",
                   "updated", "unchanged", "rejected", "is_undone", "undone_at"]


class UndoRefused(Exception):
    """The batch cannot be undone now; the message says why, in Chinese."""


def history(con) -> pl.DataFrame:
    """Every batch, newest first."""
    return db.frame(con, f"SELECT {', '.join(HISTORY_COLUMNS)} FROM batches ORDER BY batch_id DESC")


def rejects(con, batch_id: int) -> pl.DataFrame:
    return db.frame(con, "SELECT row_number, reason, raw_values FROM rejects WHERE batch_id = ? ORDER BY row_number",
                    [batch_id])


def _safe_cell(value) -> str:
    """A cell Excel will not run as a formula (OWASP CSV injection): such text gets a leading '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def rejects_csv(con, batch_id: int) -> bytes:
    """The batch's rejected rows as a CSV that Excel on a Chinese Windows opens as it is
    (UTF-8 with BOM): row number, reason, then the row's own columns as the file had them."""
    rows = rejects(con, batch_id).to_dicts()
    raw = [file_values(r["raw_values"]) for r in rows]
    headers: list[str] = []
    for values in raw:
        headers += [h for h in values if h not in headers]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["原文件行号", "拒绝原因", *headers])
    for row, values in zip(rows, raw):
        writer.writerow([row["row_number"], _safe_cell(row["reason"]), *[_safe_cell(values.get(h)) for h in headers]])
    return out.getvalue().encode("utf-8-sig")


def _live_batch(con, batch_id: int) -> tuple[str, bool]:
    found = con.execute("SELECT kind, is_undone FROM batches WHERE batch_id = ?", [batch_id]).fetchall()
    if not found:
        raise UndoRefused(f"没有编号为 {batch_id} 的批次。")
    return found[0]


def _blockers(con, batch_id: int, kind: str) -> list[int]:
    """Later live batches that changed this batch's rows again, or refer to compounds it added."""
    table, key = KINDS[kind].table, KINDS[kind].key
    later = con.execute(f"""
        SELECT DISTINCT h.replaced_by_batch FROM {table}_history h JOIN batches b ON b.batch_id = h.replaced_by_batch
        WHERE h.batch_id = ? AND NOT b.is_undone""", [batch_id]).fetchall()
    found = {b for (b,) in later}
    if kind == "compounds":
        added = f"""SELECT {key} FROM compounds WHERE batch_id = $batch
                    AND {key} NOT IN (SELECT {key} FROM compounds_history WHERE replaced_by_batch = $batch)"""
        for other in ("appeals", "complaints", "surveys", "scenes"):
            refs = con.execute(f"SELECT DISTINCT batch_id FROM {other} WHERE compound_id IN ({added})",
                               {"batch": batch_id}).fetchall()
            found |= {b for (b,) in refs}
    return sorted(found)


def undo(db_path: Path, batch_id: int, *, undone_by: str | None = None) -> dict:
    """Return the data to exactly its state before the batch; returns counts of what moved."""
    with db.writing(Path(db_path)) as con:
        kind, is_undone = _live_batch(con, batch_id)
        if is_undone:
            raise UndoRefused(f"批次 {batch_id} 已经撤销过了。")
        blockers = _blockers(con, batch_id, kind)
        if blockers:
            raise UndoRefused(f"批次 {batch_id} 的数据后来又被批次 {'、'.join(map(str, blockers))} 修改或引用，"
                              "请先撤销这些批次。")
        table = KINDS[kind].table
        con.execute("BEGIN TRANSACTION")
        removed = con.execute(f"SELECT count(*) FROM {table} WHERE batch_id = ?", [batch_id]).fetchall()[0][0]
        restored = con.execute(f"SELECT count(*) FROM {table}_history WHERE replaced_by_batch = ?",
                               [batch_id]).fetchall()[0][0]
        con.execute(f"DELETE FROM {table} WHERE batch_id = ?", [batch_id])
        con.execute(f"INSERT INTO {table} SELECT * EXCLUDE (replaced_by_batch) FROM {table}_history "
                    "WHERE replaced_by_batch = ?", [batch_id])
        con.execute(f"DELETE FROM {table}_history WHERE replaced_by_batch = ?", [batch_id])
        con.execute("UPDATE batches SET is_undone = true, undone_at = ?, undone_by = ? WHERE batch_id = ?",
                    [local_now(), undone_by, batch_id])
        con.execute("COMMIT")
    audit.record(Path(db_path), undone_by or "unknown", "undo",
                 f"批次 {batch_id}({kind})：删除 {removed} 行，恢复 {restored} 行旧版本")
    return {"batch_id": batch_id, "kind": kind, "removed": removed, "restored": restored}


def recheck(db_path: Path, batch_id: int, *, loaded_by: str | None = None) -> LoadReport:
    """Load a batch's rejected rows again, as a new batch, against today's reference data
    (for example appeals rejected for an unknown compound, once the registry has it).

    The old batch keeps its list of rejects as it was (nothing is lost if the new batch is undone);
    the new batch lists the rows that still fail, with today's reasons.
    """
    with db.writing(Path(db_path)) as con:
        found = con.execute("SELECT kind, file_name, file_hash, encoding FROM batches WHERE batch_id = ?",
                            [batch_id]).fetchall()
        if not found:
            raise UndoRefused(f"没有编号为 {batch_id} 的批次。")
        kind_name, file_name, file_hash, encoding = found[0]
        rows = rejects(con, batch_id)
        kind = KINDS[kind_name]
        if rows.height == 0:
            return LoadReport(file=file_name, kind=kind_name, refused=f"批次 {batch_id} 没有被拒绝的行。")
        source = _source_from_rejects(kind, rows, file_hash, encoding)
        # A row superseded by a later row of the same file stays superseded.
        source.frame = source.frame.filter(~rows.get_column("reason").str.starts_with("文件内编号重复"))
        report = load_source(con, source, f"{file_name}(重新校验批次 {batch_id})", loaded_by)
    audit.record(Path(db_path), loaded_by or "unknown", "recheck", report.summary_zh())
    return report


def _source_from_rejects(kind, rows: pl.DataFrame, file_hash: str, encoding: str | None) -> RawFile:
    """The rejected rows as a raw file again: their stored raw values under the file's headers
    (or, for a file read through a mapping, the values as it mapped them)."""
    from etl.read import _aliases, normalise_header

    aliases = _aliases(kind)
    records = [json.loads(v) for v in rows.get_column("raw_values")]
    records = [record.get(MAPPED_VALUES, record) for record in records]
    headers: dict[str, str] = {}
    for record in records:
        for header in record:
            canonical = aliases.get(normalise_header(header.removesuffix("(固定值)")))
            if canonical and canonical not in headers:
                headers[canonical] = header
    data = {canonical: [r.get(header) for r in records] for canonical, header in headers.items()}
    frame = pl.DataFrame({ROW: rows.get_column("row_number"), **data},
                         schema={ROW: pl.Int64, **{c: pl.String for c in data}})
    return RawFile(kind, frame, file_hash, encoding or "", headers, [])

