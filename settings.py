"""Every setting of the project, read here and nowhere else: the TOML files under data/, every
environment variable (the README's Settings table lists them), the Beijing clock and the database
path every entry point uses. Variables a test or a running server may change are read at each call.
"""

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

# ---------------------------------------------------------------- environment variables

class SettingError(Exception):
    """A setting (an environment variable, a value in data/) that cannot be used; the message, in
    Chinese, names it."""


def _positive_mb(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise SettingError(f"设置错误：环境变量 {name} 应为正整数(单位 MB)，现在是 {raw!r}。")
    return value * 1024 * 1024


def max_file_bytes() -> int:
    """Files larger than this are refused before they are read (DASHBOARD_MAX_FILE_MB)."""
    return _positive_mb("DASHBOARD_MAX_FILE_MB", 200)


def max_expanded_bytes() -> int:
    """An .xlsx is a zip: what its parts inflate to is limited too, so a zip bomb is refused
    unread (DASHBOARD_MAX_XLSX_EXPANDED_MB)."""
    return _positive_mb("DASHBOARD_MAX_XLSX_EXPANDED_MB", 1024)


def writer_wait_seconds() -> float:
    """How long a second writer waits for the first before giving up (DASHBOARD_WRITER_WAIT)."""
    raw = os.environ.get("DASHBOARD_WRITER_WAIT", "600")
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):  # filelock would wait forever on a negative or infinite wait
        raise SettingError(f"设置错误：环境变量 DASHBOARD_WRITER_WAIT 应为不小于 0 的秒数，现在是 {raw!r}。")
    return value


def check_environment() -> None:
    """Every numeric setting read once, so a bad one is refused before any work starts."""
    max_file_bytes()
    max_expanded_bytes()
    writer_wait_seconds()


DEFAULT_IDLE_MINUTES = 30
# The intranet tile layer of the compound map (off unless DASHBOARD_MAP_TILES is set): an XYZ URL
# template such as http://tiles.intranet/{z}/{x}/{y}.png; DASHBOARD_MAP_TILES_CRS=gcj02 for
# 高德-style tiles drawn in GCJ-02 (the default, wgs84, fits 天地图 and OpenStreetMap-style tiles).
TILES_ENV, CRS_ENV = "DASHBOARD_MAP_TILES", "DASHBOARD_MAP_TILES_CRS"


def database_path(explicit: str | os.PathLike | None = None) -> Path:
    """--db wins, then DASHBOARD_DB, then the project's file under data/."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("DASHBOARD_DB")
    return Path(env) if env else DEFAULT_DB


def accounts_path() -> Path:
    """The accounts file: DASHBOARD_ACCOUNTS, or .streamlit/accounts.toml (outside git)."""
    return Path(os.environ.get("DASHBOARD_ACCOUNTS", ROOT / ".streamlit" / "accounts.toml"))


def idle_minutes() -> float:
    """How long a dashboard session may stay idle: DASHBOARD_IDLE_MINUTES, 30 if unset or unusable."""
    try:
        minutes = float(os.environ.get("DASHBOARD_IDLE_MINUTES", DEFAULT_IDLE_MINUTES))
    except ValueError:
        minutes = DEFAULT_IDLE_MINUTES
    return minutes if minutes > 0 else DEFAULT_IDLE_MINUTES


def proxy_header() -> str | None:
    """DASHBOARD_PROXY_HEADER: the header (e.g. X-Real-IP) a reverse proxy on this machine sets to
    the client's address; None trusts no header."""
    return os.environ.get("DASHBOARD_PROXY_HEADER") or None


def tile_settings(environ=None) -> tuple[str | None, bool]:
    """(URL template or None, whether data must be shifted to GCJ-02 to sit on the tiles)."""
    environ = os.environ if environ is None else environ
    template = (environ.get(TILES_ENV) or "").strip() or None
    gcj = template is not None and (environ.get(CRS_ENV) or "").strip().lower() == "gcj02"
    return template, gcj


def debug() -> bool:
    """ETL_DEBUG set: the command line shows the traceback of an unexpected error."""
    return bool(os.environ.get("ETL_DEBUG"))


# ---------------------------------------------------------------- files and the clock

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


FEEDS = ("appeals", "complaints", "surveys", "scenes")


def dates_by_feed(raw, where: str) -> dict[str, date]:
    """`{ appeals = "2025-12-01", … }` as dates by feed; SettingError naming `where` for anything
    else, and for a day after today (records cannot begin in the future)."""
    if not isinstance(raw, dict):
        raise SettingError(f"设置错误：{where} 应写成 {{ appeals = \"2025-12-01\" }} 的形式，现在是 {raw!r}。")
    out = {}
    for feed, value in raw.items():
        if feed not in FEEDS:
            raise SettingError(f"设置错误：{where} 中的 {feed!r} 不是数据类型，应为 {'、'.join(FEEDS)} 之一。")
        out[feed] = setting_date(value, f"{where} 中 {feed} 的日期")
        if out[feed] > local_now().date():
            raise SettingError(f"设置错误：{where} 中 {feed} 的日期 {out[feed].isoformat()} 晚于今天，"
                               "数据不可能从未来开始，请改为该类数据实际开始的日期。")
    return out


def setting_date(value, what: str) -> date:
    """A day written in a setting: a TOML date or datetime (an offset one read on Beijing's clock)
    or the text YYYY-MM-DD, nothing looser (Python would also take 20261001 or 2026W401)."""
    if isinstance(value, date):  # a datetime is a date too (and has an hour)
        return (value.astimezone(TIMEZONE) if getattr(value, "tzinfo", None) else value).date() \
            if hasattr(value, "hour") else value
    text = str(value).strip()
    try:
        if len(text) == 10 and text[4] == text[7] == "-":
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise SettingError(f"设置错误：{what} {value!r} 无法识别，应写作 YYYY-MM-DD 形式的有效日期。")


def local_now() -> datetime:
    """Now, as a naive Asia/Shanghai time to the second (the feeds' own clock)."""
    return datetime.now(TIMEZONE).replace(tzinfo=None, microsecond=0)
