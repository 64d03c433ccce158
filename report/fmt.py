"""How every number of the weekly report is written: one rounding rule, in one place.

The rule (printed once in the report, see ROUNDING_RULE): rates are shown as percentages and
scores on a 100-point scale; every non-integer is rounded half up to one decimal place, starting
from the exact value the metrics module returns (the value `python -m etl stats --json` prints).
A change against the previous week is the difference of the exact values, rounded the same way.
A rate with a zero denominator (None) is shown as “—”.

`round1` is the only place that rounds; everything else calls it.
"""

from __future__ import annotations

from decimal import Decimal

from metrics.rounding import exact, rounded

DASH = "—"

ROUNDING_RULE = ("比率以百分数表示，综合得分与满意度得分以百分制表示；所有非整数均由统计口径的精确值"
                 "四舍五入保留一位小数；“较上周”为两周精确值之差，按同一规则取舍；分母为零的比率显示为“—”。")

# How each kind of value is scaled and labelled. "better" says which direction is good news.
UNITS = {
    "count": {"scale": 1, "suffix": "", "delta_suffix": ""},
    "rate": {"scale": 100, "suffix": "%", "delta_suffix": " 个百分点"},
    "score": {"scale": 100, "suffix": "", "delta_suffix": " 分"},
    "hours": {"scale": 1, "suffix": " 小时", "delta_suffix": " 小时"},
    "days": {"scale": 1, "suffix": " 天", "delta_suffix": " 天"},
    "decimal": {"scale": 1, "suffix": "", "delta_suffix": ""},
}


def round1(value, scale: int = 1) -> Decimal | None:
    """THE rounding rule (metrics.rounding): value × scale, half up to one decimal place."""
    return rounded(value, scale, 1)


def fmt(value, unit: str = "count") -> str:
    """A value as printed in the report: '71.4%', '61.0', '7', '36.0 小时', or '—'."""
    if value is None:
        return DASH
    spec = UNITS[unit]
    if unit == "count":
        return str(int(value))
    return f"{round1(value, spec['scale'])}{spec['suffix']}"


def _delta(current, previous, unit: str) -> tuple[int, str] | None:
    """The change from previous to current: its sign (1, 0, -1) and its size as printed."""
    if current is None or previous is None:
        return None
    spec = UNITS[unit]
    delta = exact(current) - exact(previous)
    if unit == "count":
        return (delta > 0) - (delta < 0), str(abs(int(delta)))
    rounded = round1(abs(delta), spec["scale"])
    if rounded == 0:
        return 0, f"0.0{spec['delta_suffix']}"
    return (1 if delta > 0 else -1), f"{rounded}{spec['delta_suffix']}"


def change(current, previous, unit: str = "count", better: str | None = "up") -> tuple[str, str]:
    """The change from last week as text with ▲/▼, and its tone: 'good', 'bad', 'flat', 'neutral'
    (better=None: neither direction is good news) or 'none' (a side is missing).

    better='up' (higher is good) or 'down' (lower is good).
    """
    delta = _delta(current, previous, unit)
    if delta is None:
        return DASH, "none"
    sign, shown = delta
    if sign == 0:
        return "持平", "flat"
    tone = "neutral" if better is None else ("good" if (sign > 0) == (better == "up") else "bad")
    return f"{'▲' if sign > 0 else '▼'} {shown}", tone


def signed_change(current, previous, unit: str = "count") -> str | None:
    """The same change written '+3.2 个百分点' / '-1' / '0' (for st.metric), or None."""
    delta = _delta(current, previous, unit)
    if delta is None:
        return None
    sign, shown = delta
    return {1: "+", -1: "-", 0: ""}[sign] + shown


def trend_mark(current: int | None, previous: int | None) -> tuple[str, str]:
    """The complaint trend of a compound against last week: '▲ 2', '▼ 1', '持平' (fewer is good)."""
    return change(current, previous, "count", better="down")
