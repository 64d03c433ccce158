"""What every subject's queries share: rates, the satisfied ratings, and "absent is not zero".

Absent is not zero: every record keeps in `carried_mask` which measured columns the versions it
holds were delivered with (its latest file's, and those of earlier files for the values it kept
over: etl/versions.py). A figure is computed over the records that carried its input columns
(declared in metrics/catalogue.py); when none in scope did it is None (“—”) and the summary lists
the column in `absent_columns`, which pages and the PDF turn into a note (`absent_notes`).
"""

from __future__ import annotations

from fractions import Fraction

from etl.contract import KINDS
from etl.schema import carried_bits
from metrics.catalogue import figure_inputs

# The ratings that count as satisfied, in surveys and in appeals' evaluations alike: 满意, then
# 基本满意 (weighted in 满意度得分).
SATISFIED = ("满意", "基本满意")


def satisfied(column: str) -> str:
    """The SQL condition "this rating is satisfied" on `column`."""
    return f"{column} IN ({', '.join(repr(rating) for rating in SATISFIED)})"


def median_duration(start: str, end: str, unit: str, where: str | None = None) -> str:
    """SQL: the median of `end − start` in hours or days, over the rows `where` holds. Taken on
    whole microseconds and divided once: faster than a median of divided values, and the middle
    of two values is exact before the one division."""
    per_unit = {"hours": 3_600_000_000, "days": 86_400_000_000}[unit]
    only = f" FILTER ({where})" if where else ""
    return f"(median(epoch_us({end}) - epoch_us({start})){only} / {per_unit})"


def exact_ratio(numerator, denominator) -> Fraction | None:
    """A rate as an exact fraction (numerator: a count or a Fraction), None where the denominator is zero."""
    return None if not denominator else Fraction(numerator) / denominator


def as_float(value: Fraction | None) -> float | None:
    """The float nearest to an exact value (whose shortest repr is the value when it has one)."""
    return None if value is None else float(value)


def ratio(numerator, denominator) -> float | None:
    """A rate, or None where the denominator is zero (shown as “—”, never 0 % or 100 %)."""
    return as_float(exact_ratio(numerator, denominator))


def input_columns(kind: str) -> list[str]:
    """The optional columns of a feed that some figure is computed from, in contract order."""
    used = {c for _, columns in figure_inputs(kind).values() for c in columns}
    return [c.name for c in KINDS[kind].columns if c.name in used]


def figures_without(kind: str, absent, keys=None) -> list[str]:
    """The Chinese names of the figures (of `keys`, if given) that stay empty when these columns are absent."""
    return [label for key, (label, columns) in figure_inputs(kind).items()
            if set(columns) & set(absent) and (keys is None or key in keys)]


def absent_notes(kind: str, absent, keys=None) -> list[str]:
    """One note per absent column, naming it and the figures (of `keys`, if given) it leaves “—”:
    数据未含“首次响应时间”列：响应率、综合得分显示为“—”(不是 0)."""
    notes = []
    for column in absent:
        figures = figures_without(kind, [column], keys)
        if figures:
            notes.append(f"数据未含{column_names(kind, [column])}列：{'、'.join(figures)}显示为“—”(不是 0)")
    return notes


def column_names(kind: str, columns) -> str:
    """Columns as an analyst's file heads them: “首次响应时间”、“反馈时间”."""
    return "、".join(f"“{KINDS[kind].column(c).headers[0]}”" for c in columns)


def carried_sql(kind: str) -> str:
    """Per value of a record's `carried_mask` (which measured columns the versions it holds were
    delivered with: etl/schema.py), whether it has each input column of the feed (`c_<name>`):
    joined on carried_mask, so a record counts by what it holds, not by its latest file alone."""
    bits = carried_bits(KINDS[kind].table)
    checks = ", ".join(f"(m & {bits[c]}) <> 0 AS c_{c}" for c in input_columns(kind))
    return f"SELECT CAST(m AS USMALLINT) AS carried_mask, {checks} FROM range({1 << len(bits)}) r(m)"


def carried_counts(kind: str) -> str:
    """count(*) of the rows in scope whose file carried each input column, as carried_<name>."""
    return ", ".join(f"count(*) FILTER (c_{c}) AS carried_{c}" for c in input_columns(kind))


def absent(kind: str, row: dict, total: int) -> list[str]:
    """The input columns no row in scope was delivered with (none when nothing is in scope)."""
    return [c for c in input_columns(kind) if total and not row[f"carried_{c}"]]


def blank(kind: str, values: dict, absent_columns: list[str]) -> dict:
    """The figures computed from an absent column set to None."""
    for key, (_, columns) in figure_inputs(kind).items():
        if key in values and set(columns) & set(absent_columns):
            values[key] = None
    return values


def summary(kind: str, row: dict, total: int, values: dict) -> dict:
    """A summary's values with the figures of absent columns blanked, and `absent_columns`."""
    missing = absent(kind, row, total)
    return {**blank(kind, values, missing), "absent_columns": missing}
