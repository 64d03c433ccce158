"""Where the project's editable settings live, and the database path every entry point uses."""

from __future__ import annotations

import os
import tomllib
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
DEFAULT_DB = DATA_DIR / "governance.duckdb"

# Every timestamp in the feeds is local time in Penglai, whatever the server's own clock says.
TIMEZONE = ZoneInfo("Asia/Shanghai")

# Files larger than this are refused before they are read (issue: data desk limits).
MAX_FILE_BYTES = int(os.environ.get("DASHBOARD_MAX_FILE_MB", "200")) * 1024 * 1024
# An .xlsx is a zip: what its parts inflate to is limited too (a zip bomb is refused unread).
MAX_EXPANDED_BYTES = int(os.environ.get("DASHBOARD_MAX_XLSX_EXPANDED_MB", "1024")) * 1024 * 1024


def database_path(explicit: str | os.PathLike | None = None) -> Path:
    """--db wins, then DASHBOARD_DB, then the project's file under data/."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("DASHBOARD_DB")
    return Path(env) if env else DEFAULT_DB


@cache
def reference() -> dict:
    """The reference lists (streets, types, channels, ...) from data/reference.toml."""
    with open(DATA_DIR / "reference.toml", "rb") as f:
        return tomllib.load(f)


@cache
def metric_settings() -> dict:
    """Time limits, weights and list sizes of the metrics, from data/metrics.toml."""
    with open(DATA_DIR / "metrics.toml", "rb") as f:
        return tomllib.load(f)


def local_now() -> datetime:
    """Now, as a naive Asia/Shanghai time to the second (the feeds' own clock)."""
    return datetime.now(TIMEZONE).replace(tzinfo=None, microsecond=0)
