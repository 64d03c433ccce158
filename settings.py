"""Where the project's editable settings live, and the database path every entry point uses."""

from __future__ import annotations

import os
import tomllib
from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent
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


def real_path(db_path: Path) -> Path:
    """The file a path names, symlinks and relative parts resolved: one lock per database, and a
    symlinked database stays a symlink (the real file is replaced, not the link)."""
    return Path(os.path.realpath(db_path))


@cache
def reference() -> dict:
    """The reference lists (streets, types, channels, ...) from data/reference.toml."""
    with open(DATA_DIR / "reference.toml", "rb") as f:
        return tomllib.load(f)


# China's extent (WGS84 degrees): the outer limit of any district box set in data/reference.toml.
CHINA_BOX = {"lon_min": 73.4, "lon_max": 135.1, "lat_min": 3.8, "lat_max": 53.6}


@cache
def intake_settings() -> dict:
    """What the loader takes as plausible ([intake] of data/reference.toml): the date window, the
    district's bounding box (clipped to China's extent) and the words of notes below the data."""
    intake = dict(reference().get("intake", {}))
    box = {**CHINA_BOX, **intake.get("district_box", {})}
    intake["district_box"] = {
        "lon_min": max(float(box["lon_min"]), CHINA_BOX["lon_min"]),
        "lon_max": min(float(box["lon_max"]), CHINA_BOX["lon_max"]),
        "lat_min": max(float(box["lat_min"]), CHINA_BOX["lat_min"]),
        "lat_max": min(float(box["lat_max"]), CHINA_BOX["lat_max"]),
    }
    intake["earliest_date"] = date.fromisoformat(str(intake.get("earliest_date", "2000-01-01")))
    intake["latest_days_ahead"] = int(intake.get("latest_days_ahead", 1))
    intake["footer_words"] = [str(w) for w in intake.get("footer_words", [])]
    return intake


@cache
def metric_settings() -> dict:
    """Time limits, weights and list sizes of the metrics, from data/metrics.toml."""
    with open(DATA_DIR / "metrics.toml", "rb") as f:
        return tomllib.load(f)


def local_now() -> datetime:
    """Now, as a naive Asia/Shanghai time to the second (the feeds' own clock)."""
    return datetime.now(TIMEZONE).replace(tzinfo=None, microsecond=0)
