"""The audit log: sign-ins, loads and undos, with who and when.

It is a small SQLite file beside the database (`<db>.audit.sqlite`), not a table of the
DuckDB file: the dashboard records a sign-in while loads may be publishing a new database file,
and SQLite takes concurrent appends from several processes safely.
"""

from __future__ import annotations

import getpass
import os
import sqlite3
from contextlib import closing
from pathlib import Path

import polars as pl

from safety.masking import mask_column
from settings import local_now, real_path

EVENTS = {"sign_in": "登录", "sign_in_failed": "登录失败", "sign_out": "退出", "load": "导入",
          "correction": "更正导入(较旧版本也覆盖)", "undo": "撤销", "recheck": "重新校验", "user_add": "新增账号",
          "create": "新建数据库"}


def audit_path(db_path: Path) -> Path:
    """Beside the real database file, whatever path (a symlink, a relative one) names it."""
    real = real_path(db_path)
    return real.with_name(real.name + ".audit.sqlite")


def _connect(db_path: Path) -> sqlite3.Connection:
    path = audit_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Created owner-only (who signed in, from where): SQLite's journals take the file's mode.
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    con = sqlite3.connect(path, timeout=30)
    con.execute("CREATE TABLE IF NOT EXISTS audit (at TEXT NOT NULL, who TEXT NOT NULL, event TEXT NOT NULL, "
                "detail TEXT NOT NULL DEFAULT '')")
    return con


def record(db_path: Path, who: str, event: str, detail: str = "") -> None:
    """One entry; a phone or ID number in it (a visitor may type one as his account name, a file
    name may carry one) is masked first."""
    if event not in EVENTS:
        raise ValueError(event)
    who, detail = mask_column(pl.Series([who, detail], dtype=pl.String)).to_list()
    with closing(_connect(db_path)) as con, con:
        con.execute("INSERT INTO audit VALUES (?, ?, ?, ?)", [local_now().isoformat(sep=" "), who, event, detail])


def created_before(db_path: Path) -> bool:
    """Whether a database file was ever created at this path (its audit log says so)."""
    if not audit_path(db_path).exists():
        return False
    with closing(_connect(db_path)) as con:
        return con.execute("SELECT count(*) FROM audit WHERE event = 'create'").fetchone()[0] > 0


def entries(db_path: Path, limit: int = 500) -> list[dict]:
    """The newest entries first, with the event's Chinese name."""
    if not audit_path(db_path).exists():
        return []
    with closing(_connect(db_path)) as con:
        rows = con.execute("SELECT at, who, event, detail FROM audit ORDER BY rowid DESC LIMIT ?", [limit]).fetchall()
    return [{"at": at, "who": who, "event": EVENTS.get(event, event), "detail": detail} for at, who, event, detail in rows]


def login_name() -> str:
    """Who runs a command, for the audit log: the operating system's login name."""
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers and cron jobs
        return "unknown"
