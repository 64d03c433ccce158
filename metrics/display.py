"""The one formatter and the one rounding rule for every number a person reads: dashboard cards,
tables, chart hover texts, CSV downloads, the weekly PDF and the CLI's human output.

A value is taken exactly as the metrics return it (the digits `stats --json` prints), scaled
(× 100 for a rate or a score), and rounded half up to the metric's digits: 9/16 = 0.5625 reads
56.3 %, never 56.2 % (which float formatting, rounding half to even on binary values, prints).
Numbers carry thousands separators; a missing value (None, NaN) reads “—”.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import polars as pl

DASH = "—"
NUMERIC = ("count", "rate", "score", "hours", "days", "decimal")
# Rates read as percentages and scores on a 100-point scale.
SCALE = {"rate": 100, "score": 100}
SUFFIX = {"rate": "%", "hours": " 小时", "days": " 天"}
DELTA_SUFFIX = {"rate": " 个百分点", "score": " 分", "hours": " 小时", "days": " 天"}

ROUNDING_RULE = ("比率以百分数表示，综合得分与满意度得分以百分制表示；非整数由统计口径的精确值四舍五入到各指标的小数位"
                 "（比率、得分、时长一位，每百户投诉量与测评平均分两位）；“较上期”为两期精确值之差，按同一规则取舍；"
                 "分母为零的比率显示为“—”。")


def missing(value) -> bool:
    """None, NaN or an infinity: nothing a person can read as a number."""
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def exact(value) -> Decimal:
    # repr() is the shortest text that reads back as the same float: the digits stats --json prints.
    return value if isinstance(value, Decimal) else Decimal(repr(value))


def rounded(value, unit: str = "decimal", digits: int = 1) -> Decimal | None:
    """value scaled for its unit, rounded half up to `digits` decimals (None stays None)."""
    if missing(value):
        return None
    if unit == "count":
        digits = 0
    return (exact(value) * SCALE.get(unit, 1)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def number(value, unit: str = "count", digits: int = 1, *, suffix: bool = True) -> str:
    """'1,234', '56.3%', '61.0', '36.0 小时' (or '36.0' without the suffix), '—'."""
    shown = rounded(value, unit, digits)
    if shown is None:
        return DASH
    return f"{shown:,}" + (SUFFIX.get(unit, "") if suffix or unit == "rate" else "")


def cell(value, unit: str, digits: int = 1) -> str:
    """A table cell: numbers as `number` without a unit word (the column's header says it),
    flags 是/否, times 2026-03-05 10:00, text as it is."""
    if unit in NUMERIC:
        return number(value, unit, digits, suffix=False)
    if unit == "bool":
        return yes_no(value)
    if unit == "moment":
        return moment(value)
    return DASH if missing(value) or value == "" else str(value)


# A scaled float this close to a .5 may sit on either side of the tie its decimal digits make
# (0.285 * 100 is 28.499999999999996 in binary); such values take the exact path.
_NEAR_TIE = 1e-9


def rounded_column(values: pl.Series, unit: str = "decimal", digits: int = 1) -> pl.Series:
    """`rounded` for a whole column at once, value for value the same: Int64 for a count, else
    Decimal with exactly `digits` decimals; None, NaN and infinities become null.

    Floats are rounded half away from zero (Decimal's ROUND_HALF_UP) in one vectorised step;
    only values next to a tie, and columns of other types (Decimal), go value by value."""
    digits = 0 if unit == "count" else digits
    dtype = pl.Int64 if unit == "count" else pl.Decimal(38, digits)
    if values.dtype.is_integer() and unit == "count":
        return values.cast(pl.Int64)
    def exact_units(value) -> int | None:
        shown = rounded(value, unit, digits)
        return None if shown is None else int(shown.scaleb(digits))

    if not (values.dtype.is_float() or values.dtype.is_integer()):
        return _from_units(pl.Series(values.name, [exact_units(v) for v in values.to_list()], dtype=pl.Int64),
                           dtype, digits)
    scaled = values.cast(pl.Float64) * (SCALE.get(unit, 1) * 10 ** digits)
    units = scaled.round(0, mode="half_away_from_zero")
    finite = scaled.is_finite().fill_null(False)
    near_tie = finite & ((scaled - scaled.floor() - 0.5).abs() <= _NEAR_TIE * (scaled.abs() + 1))
    units = pl.select(pl.when(finite).then(units)).to_series().cast(pl.Int64)
    if near_tie.any():
        positions = near_tie.arg_true()
        units = units.scatter(positions, [exact_units(values[i]) for i in positions.to_list()])
    return _from_units(units.rename(values.name), dtype, digits)


def _from_units(units: pl.Series, dtype, digits: int) -> pl.Series:
    """Whole units of 10^-digits as the column a reader sees: 563 with 1 digit is 56.3."""
    if dtype == pl.Int64:
        return units
    return units.cast(pl.Decimal(38, digits)) / 10 ** digits


def moment(value) -> str:
    if missing(value):
        return DASH
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).replace("T", " ")[:16]


# Past three days late a leader counts days, not hours.
_DAYS_FROM_HOURS = 72


def time_left(hours) -> str:
    """Time to a limit as a leader reads it: '剩余 5.2 小时', '超期 14.0 小时', '超期 358.5 天', and
    under an hour in minutes ('超期 1 分钟', not '超期 0.0 小时' beside '剩余 0.0 小时' at the limit)."""
    if missing(hours):
        return DASH
    word = "剩余" if hours >= 0 else "超期"
    if abs(hours) < 1:
        minutes = number(abs(hours) * 60, "count")
        return f"{word}不足 1 分钟" if minutes == "0" and hours < 0 else f"{word} {minutes} 分钟"
    if abs(hours) < _DAYS_FROM_HOURS:
        return f"{word} {number(abs(hours), 'hours')}"
    return f"{word} {number(abs(hours) / 24, 'days')}"


def yes_no(value) -> str:
    return DASH if value is None else ("是" if value else "否")


# ---------------------------------------------------------------- changes against the previous period

def _difference(current, previous, unit: str, digits: int) -> Decimal | None:
    """The exact difference, rounded by the one rule (None when a side is missing)."""
    if missing(current) or missing(previous):
        return None
    return rounded(exact(current) - exact(previous), unit, digits)


def delta(current, previous, unit: str = "count", digits: int = 1) -> str | None:
    """'+6', '-1,234', '+3.2 个百分点', '+0.0 分' (never '-0.0'), or None when a side is missing."""
    change = _difference(current, previous, unit, digits)
    if change is None:
        return None
    sign = "-" if change < 0 else "+"
    return f"{sign}{abs(change):,}{DELTA_SUFFIX.get(unit, '')}"


def change(current, previous, unit: str = "count", digits: int = 1, better: str | None = "up") -> tuple[str, str]:
    """The change as the PDF prints it, with ▲/▼, and its tone: 'good', 'bad', 'flat', 'neutral'
    (better=None: neither direction is good news) or 'none' (a side is missing)."""
    difference = _difference(current, previous, unit, digits)
    if difference is None:
        return DASH, "none"
    if difference == 0:
        return "持平", "flat"
    up = difference > 0
    tone = "neutral" if better is None else ("good" if up == (better == "up") else "bad")
    return f"{'▲' if up else '▼'} {abs(difference):,}{DELTA_SUFFIX.get(unit, '')}", tone


def is_no_change(shown: str | None) -> bool:
    """True for '+0', '+0.0 个百分点' and the like (drawn grey, without a rising arrow's colour)."""
    if not shown:
        return False
    figure = shown.split()[0].rstrip("小时天分个百点").lstrip("+-").replace(",", "")
    try:
        return float(figure) == 0
    except ValueError:
        return False
