"""How numbers read on the dashboard: one place for percent, counts, hours and changes.

A value that is None (a rate whose denominator is zero, a median of nothing) reads “—”, never
0 % or 100 %. Every number is rounded by metrics.rounding, the rule the weekly PDF uses too.
"""

from __future__ import annotations

import math
from datetime import date, datetime

from metrics.rounding import exact, rounded

DASH = "—"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def percent(value, digits: int = 1) -> str:
    """0.714285 → '71.4%'."""
    return DASH if _missing(value) else f"{rounded(value, 100, digits)}%"


def count(value) -> str:
    """1234 → '1,234'."""
    return DASH if _missing(value) else f"{int(value):,}"


def decimal(value, digits: int = 1) -> str:
    return DASH if _missing(value) else f"{rounded(value, 1, digits):,}"


def score(value, digits: int = 1) -> str:
    """A 0–1 score on the 100-point scale leaders read it on: 0.6105 → '61.0'."""
    return DASH if _missing(value) else f"{rounded(value, 100, digits)}"


def hours(value, digits: int = 1) -> str:
    return DASH if _missing(value) else f"{rounded(value, 1, digits):,} 小时"


def days(value, digits: int = 1) -> str:
    return DASH if _missing(value) else f"{rounded(value, 1, digits):,} 天"


def moment(value) -> str:
    if _missing(value):
        return DASH
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def yes_no(value) -> str:
    return DASH if value is None else ("是" if value else "否")


# ---------------------------------------------------------------- changes against the previous period

def _signed(current, previous, scale: int, digits: int) -> str:
    """The exact difference, rounded by the one rule, with its sign; never “-0.0”."""
    change = rounded(exact(current) - exact(previous), scale, digits)
    return f"+{abs(change)}" if change == 0 else f"{change:+}"


def delta_count(current, previous) -> str | None:
    """'+6' / '-2' / '+0', or None when either side is missing (the card then shows no change)."""
    if _missing(current) or _missing(previous):
        return None
    return f"{int(current) - int(previous):+,d}"


def delta_points(current, previous, digits: int = 1) -> str | None:
    """The change of a rate in percentage points: 0.714 vs 1.0 → '-28.6 个百分点'."""
    if _missing(current) or _missing(previous):
        return None
    return f"{_signed(current, previous, 100, digits)} 个百分点"


def delta_score(current, previous, digits: int = 1) -> str | None:
    if _missing(current) or _missing(previous):
        return None
    return f"{_signed(current, previous, 100, digits)} 分"


def delta_decimal(current, previous, digits: int = 1, unit: str = "") -> str | None:
    if _missing(current) or _missing(previous):
        return None
    return f"{_signed(current, previous, 1, digits)}{unit}"


def is_no_change(delta: str | None) -> bool:
    """True for '+0', '+0.0 个百分点' and the like (drawn grey, without a rising arrow's colour)."""
    if not delta:
        return False
    number = delta.split()[0].rstrip("小时天分个百点").lstrip("+-").replace(",", "")
    try:
        return float(number) == 0
    except ValueError:
        return False
