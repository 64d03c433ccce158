"""`python -m etl demo`: write the demo extract files, then load them through the one loader."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from demo.generate import PLANTED, target_date, write_demo_files
from etl import db
from etl.batches import batches_beyond_demo
from etl.load import LoadReport, load_source
from etl.read import FileRefused, read_file
from settings import local_now


def _demo_only(con) -> str | None:
    """Why the file at the demo's path must not be rebuilt: it holds batches the demo did not load,
    live or undone (an undone batch keeps its rows and can be looked at and re-checked)."""
    found = {(table, column) for table, column in con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = 'live'").fetchall()}
    if not {("meta", "key"), ("meta", "value"), ("batches", "batch_id"), ("batches", "loaded_by"),
            ("batches", "is_undone")} <= found:
        return "这个数据库不是演示库"
    other = batches_beyond_demo(con, undone=True)
    return f"数据库里有 {other} 个不是演示数据的导入批次(已撤销的也计在内)，不能用演示库覆盖" if other else None


def build_demo(db_path: Path, end: date | None = None, files_dir: Path | None = None) -> list[LoadReport]:
    """Rebuild the database from scratch with the demo dataset ending on `end` (default today).

    Built today, the data stop at this minute (Beijing time): no record lies ahead of the moment
    the demo was built. The extract files are written to files_dir (kept, for analysts to look
    at) or a temporary folder. The old database is replaced only when every file has loaded, and
never when it holds anything but demo batches (an empty database may be replaced). What
    was planted for the early warnings goes to demo/planted.json beside the database (data/demo/).
    """
    now = local_now()
    end = end or now.date()
    if end > now.date():
        raise ValueError(f"演示数据的最后一天({end})不能晚于今天({now.date()})。")
    db_path = Path(db_path)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(files_dir) if files_dir else Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        files = write_demo_files(folder, end, now.replace(second=0) if end == now.date() else None)
        reports = []
        with db.writing(db_path, fresh=True, replaceable=_demo_only) as con:
            for kind, path in files:
                try:
                    source = read_file(path, kind)
                except FileRefused as refusal:
                    raise RuntimeError(f"演示数据文件 {path.name} 被拒绝：{refusal}") from refusal
                reports.append(load_source(con, source, path.name, "demo"))
            # Batches after the last demo one are someone's real data: the banner then goes (core.is_demo).
            last = max(report.batch_id for report in reports)
            con.execute("INSERT OR REPLACE INTO meta VALUES ('dataset', 'demo'), ('demo_end', ?), ('built_at', ?), "
                        "('key_targets_since', ?), ('demo_last_batch', ?)",
                        [end.isoformat(), now.isoformat(), target_date(end).isoformat(), str(last)])
        planted = db_path.parent / "demo" / PLANTED
        planted.parent.mkdir(parents=True, exist_ok=True)
        planted.write_bytes((folder / PLANTED).read_bytes())
    return reports
