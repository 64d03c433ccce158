"""The metrics of the governance dashboard, each defined once (see metrics/README.md).

Every function takes a DuckDB connection (or cursor) and a Scope, and returns plain Python
values or a polars frame. Pages, the weekly PDF and `python -m etl stats` call these and
nothing else, so they agree to the digit. Every value reaches SQL as a bound parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

import polars as pl

from etl.contract import KINDS
from etl.db import frame
from settings import local_now, metric_settings, reference

ISO_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True)
class Scope:
    """What the numbers describe: a half-open date range, a moment, and optionally one street."""

    start: date | None = None  # inclusive; None = from the first record
    end: date | None = None  # exclusive; None = to the last record
    as_of: datetime | None = None  # None = now
    street: str | None = None
    community: str | None = None

    @property
    def moment(self) -> datetime:
        return self.as_of or local_now()

    @staticmethod
    def week(label: str, street: str | None = None, as_of: datetime | None = None) -> "Scope":
        """The ISO week 'YYYY-Www', as of its end (the Monday 00:00 after it) unless told."""
        start = parse_week(label)
        end = start + timedelta(days=7)
        return Scope(start, end, as_of or datetime.combine(end, time()), street)

    @staticmethod
    def from_arguments(con, *, start: date | None = None, end: date | None = None, week: str | None = None,
                       street: str | None = None, as_of: datetime | None = None,
                       community: str | None = None) -> "Scope":
        """The scope of the command line's arguments; ValueError (in Chinese) for arguments that
        contradict each other or name a street or community the data does not have."""
        if week and (start or end):
            raise ValueError("--week 不能与 --from/--to 同时使用")
        _check_place(con, street, community)
        if week:
            return replace(Scope.week(week, street, as_of), community=community)
        if start and end and end <= start:
            raise ValueError("--to 必须晚于 --from")
        return Scope(start, end, as_of, street, community)

    def previous(self) -> "Scope":
        """The period of equal length just before this one, seen as far into it as this one is."""
        if self.start is None or self.end is None:
            raise ValueError("整个数据期间没有“上一期”")
        length = self.end - self.start
        return replace(self, start=self.start - length, end=self.start, as_of=self.moment - length)

    def label(self) -> str:
        first = self.start.isoformat() if self.start else "最早"
        last = (self.end - timedelta(days=1)).isoformat() if self.end else "最新"
        return f"{first} 至 {last}"


def _check_place(con, street: str | None, community: str | None) -> None:
    """A street must be one of the district's (data/reference.toml) or of the data, a community one
    the data has (registry or appeals); the error lists them."""
    places = con.execute("SELECT street, community FROM compounds UNION SELECT street, community FROM appeals"
                         ).fetchall()
    streets = list(reference()["streets"]) + sorted({s for s, _ in places if s} - set(reference()["streets"]))
    def shown(name: str) -> str:  # the name as typed, cut short (it may be anything)
        return f"“{name[:40]}{'…' if len(name) > 40 else ''}”"

    if street is not None and street not in streets:
        raise ValueError(f"没有街道{shown(street)}。已知街道：{'、'.join(streets)}")
    communities = sorted({c for s, c in places if c and street in (None, s)})
    if community is not None and community not in communities:
        raise ValueError(f"{shown(street) if street else ''}没有社区{shown(community)}。"
                         f"已知社区：{'、'.join(communities) or '(库中还没有社区数据)'}")


def parse_week(label: str) -> date:
    match = ISO_WEEK.match(label or "")
    if not match:
        raise ValueError(f"周的写法应为 YYYY-Www(如 2026-W10)：{label!r}")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        return date.fromisocalendar(year, week, 1)
    except ValueError as exc:
        raise ValueError(f"{year} 年没有第 {week} 周") from exc


def iso_week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def last_complete_week(today: date | None = None) -> str:
    today = today or local_now().date()
    return iso_week_label(today - timedelta(days=today.isoweekday()))


def ratio(numerator, denominator) -> float | None:
    """A rate, or None where the denominator is zero (shown as “—”, never 0 % or 100 %)."""
    return None if not denominator else numerator / denominator


def composite(response: float | None, resolution: float | None, satisfaction: float | None) -> float | None:
    weights = metric_settings()["composite_weights"]
    if response is None or resolution is None or satisfaction is None:
        return None
    return (weights["response"] * response + weights["resolution"] * resolution
            + weights["satisfaction"] * satisfaction)


# ---------------------------------------------------------------- absent is not zero

# The optional columns each figure is computed from, by feed: (the figure's Chinese name, columns).
# A figure is None (“—”) when rows are in scope but none of them came from a file that carried one
# of its columns: a column the extract never had is not a result of 0 %. A column the file had but
# left empty for these rows is a real result.
FIGURE_INPUTS: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "appeals": {
        "response_rate": ("响应率", ("first_response_at",)),
        "resolution_rate": ("办结率", ("resolved_at",)),
        "on_time_rate": ("按时办结率", ("resolved_at",)),
        "feedback_rate": ("3日反馈率", ("feedback_at",)),
        "satisfaction_rate": ("满意率", ("satisfaction",)),
        "satisfaction_score": ("满意度得分", ("satisfaction",)),
        "composite": ("综合得分", ("first_response_at", "resolved_at", "satisfaction")),
        "overdue_open": ("超期未办结", ("resolved_at",)),
        "median_hours_to_resolve": ("办结时长中位数", ("resolved_at",)),
        # the five-step flow (views.appeal_funnel): a step's hours need its own column
        "dispatch": ("精准派单用时", ("dispatched_at",)),
        "response": ("首接响应用时", ("first_response_at",)),
        "supervision": ("督导督办用时", ("resolved_at",)),
        "evaluation": ("群众评价用时", ("feedback_at",)),
        "archive": ("结案归档", ("closed_at",)),
    },
    "complaints": {
        "resolution_rate": ("解决率", ("resolved_at",)),
        "median_days_to_resolve": ("解决时长中位数", ("resolved_at",)),
        "three_party_share": ("三方办占比", ("three_party",)),
    },
    "scenes": {
        "old_young": ("一老一小人次", ("old_young",)),
    },
}


def input_columns(kind: str) -> list[str]:
    """The optional columns of a feed that some figure is computed from, in contract order."""
    used = {c for _, columns in FIGURE_INPUTS.get(kind, {}).values() for c in columns}
    return [c.name for c in KINDS[kind].columns if c.name in used]


def figures_without(kind: str, absent, keys=None) -> list[str]:
    """The Chinese names of the figures (of `keys`, if given) that stay empty when these columns are absent."""
    return [label for key, (label, columns) in FIGURE_INPUTS.get(kind, {}).items()
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


def _carried_sql(kind: str) -> str:
    """Per batch, whether its file carried each input column of the feed (column `c_<name>`).

    A batch recorded before files' columns were kept counts as carrying them all. The field is read
    through to_json so that a database written before the column existed still reads.
    """
    checks = ", ".join(f"coalesce(contains(carried, '\"{c}\"'), TRUE) AS c_{c}" for c in input_columns(kind))
    return (f"SELECT batch_id, {checks} FROM (SELECT batch_id, "
            "json_extract_string(to_json(bt), '$.carried_columns') AS carried FROM batches bt)")


def _carried_counts(kind: str) -> str:
    """count(*) of the rows in scope whose file carried each input column, as carried_<name>."""
    return ", ".join(f"count(*) FILTER (c_{c}) AS carried_{c}" for c in input_columns(kind))


def _absent(kind: str, row: dict, total: int) -> list[str]:
    """The input columns no row in scope was delivered with (none when nothing is in scope)."""
    return [c for c in input_columns(kind) if total and not row[f"carried_{c}"]]


def _blank(kind: str, values: dict, absent: list[str]) -> dict:
    """The figures computed from an absent column set to None."""
    for key, (_, columns) in FIGURE_INPUTS.get(kind, {}).items():
        if key in values and set(columns) & set(absent):
            values[key] = None
    return values


# ---------------------------------------------------------------- filters shared by every query

def _period(column: str, scope: Scope, params: dict, *, is_date: bool = False) -> str:
    """The period and as-of conditions on one date/time column."""
    clauses = []
    if scope.start is not None:
        params["start"] = scope.start
        clauses.append(f"{column} >= $start")
    if scope.end is not None:
        params["end"] = scope.end
        clauses.append(f"{column} < $end")
    params["as_of"] = scope.moment
    clauses.append(f"{column} <= CAST($as_of AS {'DATE' if is_date else 'TIMESTAMP'})")
    return " AND ".join(clauses)


def _place(prefix: str, scope: Scope, params: dict) -> str:
    clauses = ["TRUE"]
    if scope.street:
        params["street"] = scope.street
        clauses.append(f"{prefix}street = $street")
    if scope.community:
        params["community"] = scope.community
        clauses.append(f"{prefix}community = $community")
    return " AND ".join(clauses)


# ---------------------------------------------------------------- appeals

APPEAL_RATE_KEYS = ("received", "response_rate", "resolution_rate", "on_time_rate", "feedback_rate",
                    "satisfaction_rate", "satisfaction_score", "composite", "overdue_open",
                    "median_hours_to_resolve")


def _appeal_counts_sql(scope: Scope, group: str | None, params: dict, as_of_expr: str = "$as_of") -> str:
    """Counts behind every appeal rate; as_of_expr lets a trend see each week as of its own end."""
    settings = metric_settings()
    params.update(response_h=settings["response_limit_hours"], resolve_h=settings["resolution_limit_hours"],
                  feedback_h=settings["feedback_limit_hours"])
    where = f"{_period('received_at', scope, params)} AND {_place('', scope, params)}"
    key = f"{group} AS key," if group else ""
    group_by = "GROUP BY ALL" if group else ""
    # "Passed" is strict: at the limit itself an appeal can still be handled in time.
    return f"""
        WITH carried AS ({_carried_sql("appeals")}),
        b AS (
            SELECT *, CAST({as_of_expr} AS TIMESTAMP) AS _as_of
            FROM appeals LEFT JOIN carried USING (batch_id) WHERE {where}
        ),
        a AS (
            SELECT *,
                received_at + to_hours(CAST($response_h AS BIGINT)) AS response_due,
                received_at + to_hours(CAST($resolve_h AS BIGINT)) AS resolve_due,
                received_at + to_hours(CAST($feedback_h AS BIGINT)) AS feedback_due,
                first_response_at <= _as_of AS is_responded,
                resolved_at <= _as_of AS is_resolved,
                feedback_at <= _as_of AS is_fed_back
            FROM b
        )
        SELECT {key}
            count(*) AS received,
            count(*) FILTER (is_responded AND first_response_at <= response_due) AS responded_in_time,
            count(*) FILTER ((response_due < _as_of OR is_responded) AND c_first_response_at) AS response_due_count,
            count(*) FILTER (is_resolved) AS resolved,
            count(*) FILTER (is_resolved AND resolved_at <= resolve_due) AS resolved_in_time,
            count(*) FILTER ((resolve_due < _as_of OR is_resolved) AND c_resolved_at) AS resolve_due_count,
            count(*) FILTER (is_fed_back AND feedback_at <= feedback_due) AS fed_back_in_time,
            count(*) FILTER ((feedback_due < _as_of OR is_fed_back) AND c_feedback_at) AS feedback_due_count,
            count(*) FILTER (satisfaction = '满意') AS satisfied,
            count(*) FILTER (satisfaction = '基本满意') AS basically_satisfied,
            count(*) FILTER (satisfaction IS NOT NULL) AS evaluated,
            count(*) FILTER (NOT coalesce(is_resolved, FALSE) AND resolve_due < _as_of AND c_resolved_at) AS overdue_open,
            median(epoch(resolved_at - received_at) / 3600.0) FILTER (is_resolved) AS median_hours_to_resolve,
            {_carried_counts("appeals")}
        FROM a {group_by}
    """


def _appeal_rates(row: dict) -> dict:
    """The rates of one row of counts; those whose column no appeal in it carried are None."""
    weight = metric_settings()["basic_satisfied_weight"]
    response = ratio(row["responded_in_time"], row["response_due_count"])
    resolution = ratio(row["resolved"], row["carried_resolved_at"])
    score = ratio(row["satisfied"] + weight * row["basically_satisfied"], row["evaluated"])
    return _blank("appeals", {
        "received": row["received"],
        "response_rate": response,
        "resolution_rate": resolution,
        "on_time_rate": ratio(row["resolved_in_time"], row["resolve_due_count"]),
        "feedback_rate": ratio(row["fed_back_in_time"], row["feedback_due_count"]),
        "satisfaction_rate": ratio(row["satisfied"] + row["basically_satisfied"], row["evaluated"]),
        "satisfaction_score": score,
        "composite": composite(response, resolution, score),
        "overdue_open": row["overdue_open"],
        "median_hours_to_resolve": row["median_hours_to_resolve"],
    }, _absent("appeals", row, row["received"]))


def appeal_summary(con, scope: Scope) -> dict:
    """受理量, the three rates, the 123 rule, overdue open and median hours, for the scope; and
    `absent_columns`, the input columns no appeal in scope was delivered with (their figures are None)."""
    params: dict = {}
    row = frame(con, _appeal_counts_sql(scope, None, params), params).to_dicts()[0]
    return {**_appeal_rates(row), "absent_columns": _absent("appeals", row, row["received"])}


APPEAL_DIMENSIONS = {"street": "street", "community": "community", "channel": "channel",
                     "category": "category", "compound_id": "compound_id"}


def appeal_rates_by(con, scope: Scope, dimension: str) -> pl.DataFrame:
    """The appeal metrics per street, community, channel, category or compound."""
    column = APPEAL_DIMENSIONS[dimension]
    params: dict = {}
    rows = frame(con, _appeal_counts_sql(scope, column, params), params).to_dicts()
    out = [{dimension: row["key"], **_appeal_rates(row)} for row in rows]
    schema = {dimension: pl.String, **{k: pl.Float64 for k in APPEAL_RATE_KEYS}}
    schema.update(received=pl.Int64, overdue_open=pl.Int64)
    return pl.DataFrame(out, schema=schema).sort("received", dimension, descending=[True, False])


def weekly_trend(con, scope: Scope, weeks: int = 12) -> pl.DataFrame:
    """The appeal metrics of the last `weeks` ISO weeks up to the scope's end, each week seen as
    of its own end (or of the scope's as-of moment, for the week still running)."""
    last_day = (scope.end - timedelta(days=1)) if scope.end else scope.moment.date()
    first_monday = last_day - timedelta(days=last_day.weekday()) - timedelta(weeks=weeks - 1)
    trend_scope = replace(scope, start=first_monday, end=last_day + timedelta(days=1))
    params: dict = {}
    sql = _appeal_counts_sql(trend_scope, "CAST(date_trunc('week', received_at) AS DATE)", params,
                             as_of_expr="least(date_trunc('week', received_at) + INTERVAL 7 DAY, $as_of)")
    rows = {row["key"]: row for row in frame(con, sql, params).to_dicts()}
    out = []
    for index in range(weeks):
        monday = first_monday + timedelta(weeks=index)
        row = rows.get(monday)
        rates = _appeal_rates(row) if row else {k: (0 if k in ("received", "overdue_open") else None)
                                                 for k in APPEAL_RATE_KEYS}
        out.append({"week": iso_week_label(monday), "week_start": monday, **rates})
    schema = {"week": pl.String, "week_start": pl.Date, **{k: pl.Float64 for k in APPEAL_RATE_KEYS}}
    schema.update(received=pl.Int64, overdue_open=pl.Int64)
    return pl.DataFrame(out, schema=schema)


def overdue_appeals(con, scope: Scope) -> pl.DataFrame:
    """Appeals in the period not resolved by as-of and past the resolution limit (no personal data);
    an appeal whose extract had no 办结时间 column cannot be told overdue and is left out."""
    params: dict = {"resolve_h": metric_settings()["resolution_limit_hours"]}
    return frame(con, f"""
        SELECT a.appeal_id, a.received_at, a.street, a.community, a.compound_id, c.name AS compound_name,
               a.channel, a.category,
               -- where the appeal stood at as-of (the stored status is that of the latest extract)
               CASE WHEN a.first_response_at <= $as_of THEN '已响应，未办结'
                    WHEN a.dispatched_at <= $as_of THEN '已派单，未响应'
                    ELSE '未响应' END AS status,
               epoch(CAST($as_of AS TIMESTAMP) - a.received_at) / 3600.0 AS hours_open
        FROM appeals a LEFT JOIN compounds c USING (compound_id)
             JOIN ({_carried_sql("appeals")}) carried ON carried.batch_id = a.batch_id AND carried.c_resolved_at
        WHERE {_period('a.received_at', scope, params)} AND {_place('a.', scope, params)}
          AND NOT coalesce(a.resolved_at <= $as_of, FALSE)
          AND a.received_at + to_hours(CAST($resolve_h AS BIGINT)) < $as_of
        ORDER BY a.received_at, a.appeal_id""", params)


def overdue_by(con, scope: Scope, dimensions: tuple[str, ...] = ("street", "category")) -> pl.DataFrame:
    """Overdue open appeals counted by street, category (or any appeal dimension)."""
    overdue = overdue_appeals(con, scope)
    return overdue.group_by(list(dimensions)).agg(pl.len().alias("overdue_open")).sort(
        ["overdue_open", *dimensions], descending=[True] + [False] * len(dimensions))


def street_ranking(con, scope: Scope) -> pl.DataFrame:
    """Streets by composite score, best first (红黑榜); streets with no score come last."""
    by_street = appeal_rates_by(con, scope, "street")
    # Equal scores share a rank (1, 2, 2, 4); streets without a score have none.
    rank = pl.col("composite").rank("min", descending=True).cast(pl.Int64)
    return by_street.sort(["composite", "street"], descending=[True, False], nulls_last=True).select(
        rank.alias("rank"), pl.exclude("rank"))


# ---------------------------------------------------------------- property complaints

def _complaint_sql(scope: Scope, params: dict) -> str:
    return f"""
        SELECT p.*, c.name, c.street, c.community, c.households, c.is_key_target, c.compound_type,
               p.resolved_at <= $as_of AS is_resolved, carried.* EXCLUDE (batch_id)
        FROM complaints p JOIN compounds c USING (compound_id)
             LEFT JOIN ({_carried_sql("complaints")}) carried ON carried.batch_id = p.batch_id
        WHERE {_period('p.received_at', scope, params)} AND {_place('c.', scope, params)}"""


def complaint_summary(con, scope: Scope) -> dict:
    params: dict = {}
    row = frame(con, f"""
        SELECT count(*) AS complaints, count(*) FILTER (is_resolved) AS resolved,
               median(epoch(resolved_at - received_at) / 86400.0) FILTER (is_resolved) AS median_days,
               {_carried_counts("complaints")}
        FROM ({_complaint_sql(scope, params)})""", params).to_dicts()[0]
    absent = _absent("complaints", row, row["complaints"])
    return {**_blank("complaints", {"complaints": row["complaints"],
                                    "resolution_rate": ratio(row["resolved"], row["carried_resolved_at"]),
                                    "median_days_to_resolve": row["median_days"]}, absent),
            "absent_columns": absent}


def complaints_by_compound(con, scope: Scope) -> pl.DataFrame:
    """Every compound in scope with its complaints, per 100 households and resolution rate."""
    params: dict = {}
    complaints = _complaint_sql(scope, params)
    return frame(con, f"""
        WITH p AS ({complaints}),
        per_compound AS (
            SELECT compound_id, count(*) AS complaints, count(*) FILTER (is_resolved) AS resolved,
                   median(epoch(resolved_at - received_at) / 86400.0) FILTER (is_resolved)
                       AS median_days_to_resolve,
                   {_carried_counts("complaints")}
            FROM p GROUP BY compound_id)
        SELECT c.compound_id, c.name, c.street, c.community, c.compound_type, c.households,
               c.is_key_target, c.property_company,
               coalesce(n.complaints, 0) AS complaints,
               CASE WHEN c.households > 0 THEN coalesce(n.complaints, 0) * 100.0 / c.households END
                   AS complaints_per_100_households,
               coalesce(n.resolved, 0) AS resolved,
               n.resolved / nullif(n.carried_resolved_at, 0) AS resolution_rate,
               CASE WHEN n.carried_resolved_at > 0 THEN n.median_days_to_resolve END AS median_days_to_resolve
        FROM compounds c LEFT JOIN per_compound n USING (compound_id)
        WHERE {_place('c.', scope, params)}
        ORDER BY complaints_per_100_households DESC NULLS LAST, complaints DESC, c.compound_id""", params)


LIST_KEYS = ["compound_id", "name", "complaints", "complaints_per_100_households", "resolution_rate"]


def key_targets(con, scope: Scope) -> pl.DataFrame:
    """The compounds flagged as key targets (重点整治小区), most complaints per household first."""
    return complaints_by_compound(con, scope).filter(pl.col("is_key_target"))


def hot_spots(con, scope: Scope) -> pl.DataFrame:
    """The compounds with the most complaints per 100 households; is_new = not a key target.

    Compounds without a household count cannot be ranked and are left out.
    """
    count = metric_settings()["hot_spot_count"]
    ranked = complaints_by_compound(con, scope).filter(
        pl.col("complaints_per_100_households").is_not_null() & (pl.col("complaints") > 0))
    return ranked.head(count).with_columns((~pl.col("is_key_target")).alias("is_new"))


def unranked_compounds(con, scope: Scope) -> int:
    """How many compounds in scope have complaints but no household count (left out of rankings)."""
    frame_ = complaints_by_compound(con, scope)
    return frame_.filter(pl.col("complaints_per_100_households").is_null() & (pl.col("complaints") > 0)).height


# ---------------------------------------------------------------- compounds

def compound_types(con, scope: Scope) -> pl.DataFrame:
    """Count, households and share of compounds by the 6 types (every type listed, even if 0)."""
    params: dict = {"types": reference()["compound_types"]}
    counts = frame(con, f"""
        SELECT t.compound_type, count(c.compound_id) AS compounds, coalesce(sum(c.households), 0) AS households
        FROM (SELECT unnest($types) AS compound_type) t
        LEFT JOIN (SELECT * FROM compounds WHERE {_place('', scope, params)}) c USING (compound_type)
        GROUP BY ALL""", params)
    order = {name: i for i, name in enumerate(reference()["compound_types"])}
    total = counts["compounds"].sum()
    return counts.with_columns(
        (pl.col("compounds") / total if total else pl.lit(None, pl.Float64)).alias("share"),
        pl.col("compound_type").replace_strict(order, return_dtype=pl.Int32).alias("_order"),
    ).sort("_order").drop("_order").with_columns(pl.col("households").cast(pl.Int64),
                                                   pl.col("compounds").cast(pl.Int64))


# ---------------------------------------------------------------- surveys and scenes

def survey_summary(con, scope: Scope) -> dict:
    params: dict = {}
    row = frame(con, f"""
        SELECT count(*) AS answers,
               count(*) FILTER (s.rating IN ('满意', '基本满意')) AS satisfied,
               avg(s.score) AS average_score
        FROM surveys s JOIN compounds c USING (compound_id)
        WHERE {_period('s.surveyed_at', scope, params, is_date=True)} AND {_place('c.', scope, params)}""",
                params).to_dicts()[0]
    return {"answers": row["answers"], "satisfaction_rate": ratio(row["satisfied"], row["answers"]),
            "average_score": row["average_score"]}


def scene_summary(con, scope: Scope) -> dict:
    params: dict = {}
    row = frame(con, f"""
        WITH scoped AS (SELECT * FROM compounds WHERE {_place('', scope, params)}),
             e AS (SELECT s.*, carried.* EXCLUDE (batch_id) FROM scenes s JOIN scoped USING (compound_id)
                   LEFT JOIN ({_carried_sql("scenes")}) carried ON carried.batch_id = s.batch_id
                   WHERE {_period('s.event_date', scope, params, is_date=True)})
        SELECT (SELECT count(*) FROM e) AS events,
               (SELECT coalesce(sum(attendees), 0) FROM e) AS attendance,
               (SELECT coalesce(sum(old_young), 0) FROM e) AS old_young,
               (SELECT count(DISTINCT compound_id) FROM e) AS covered,
               (SELECT count(*) FROM scoped) AS compounds,
               (SELECT {_carried_counts("scenes")} FROM e) AS carried_old_young""", params).to_dicts()[0]
    absent = _absent("scenes", row, row["events"])
    return {**_blank("scenes", {"events": row["events"], "attendance": int(row["attendance"]),
                                "old_young": int(row["old_young"]),
                                "coverage": ratio(row["covered"], row["compounds"])}, absent),
            "absent_columns": absent}


SCENE_DIMENSIONS = {"scene_type": "s.scene_type", "street": "c.street", "community": "c.community",
                    "compound_id": "s.compound_id", "compound_type": "c.compound_type",
                    "scene_name": "s.scene_name"}


def scenes_by(con, scope: Scope, dimension: str) -> pl.DataFrame:
    """Events, attendance and 一老一小 by scene type, street, compound, compound type or scene."""
    column = SCENE_DIMENSIONS[dimension]
    params: dict = {}
    result = frame(con, f"""
        SELECT {column} AS {dimension}, count(*) AS events,
               CAST(coalesce(sum(s.attendees), 0) AS BIGINT) AS attendance,
               CAST(coalesce(sum(s.old_young), 0) AS BIGINT) AS old_young
        FROM scenes s JOIN compounds c USING (compound_id)
        WHERE {_period('s.event_date', scope, params, is_date=True)} AND {_place('c.', scope, params)}
        GROUP BY ALL ORDER BY attendance DESC, {dimension}""", params)
    if dimension != "scene_type":
        return result
    # Every one of the six types is listed, in the reference order, even without events.
    types = pl.DataFrame({"scene_type": reference()["scene_types"]})
    return types.join(result, on="scene_type", how="left").with_columns(
        pl.col("events", "attendance", "old_young").fill_null(0))


# ---------------------------------------------------------------- about the data itself

def feed_freshness(con) -> pl.DataFrame:
    """When each feed was last loaded (not counting undone batches) and its newest record."""
    return frame(con, """
        WITH loads AS (SELECT kind, max(loaded_at) AS last_loaded_at, count(*) AS batches
                       FROM batches WHERE NOT is_undone GROUP BY kind),
             newest AS (
                 SELECT 'compounds' AS kind, NULL::TIMESTAMP AS newest_record_at
                 UNION ALL SELECT 'appeals', max(received_at) FROM appeals
                 UNION ALL SELECT 'complaints', max(received_at) FROM complaints
                 UNION ALL SELECT 'surveys', CAST(max(surveyed_at) AS TIMESTAMP) FROM surveys
                 UNION ALL SELECT 'scenes', CAST(max(event_date) AS TIMESTAMP) FROM scenes)
        SELECT newest.kind, loads.last_loaded_at, newest.newest_record_at, coalesce(loads.batches, 0) AS batches
        FROM newest LEFT JOIN loads USING (kind)""")


def is_demo(con) -> bool:
    """True when the database was built by `python -m etl demo` and holds no live batch of other
    data since (the demo banner goes as soon as real data is loaded, and comes back if it is undone)."""
    meta = dict(con.execute("SELECT key, value FROM meta WHERE key IN ('dataset', 'demo_last_batch')").fetchall())
    if meta.get("dataset") != "demo":
        return False
    if "demo_last_batch" in meta:
        other, params = "batch_id > CAST($last AS INTEGER)", {"last": meta["demo_last_batch"]}
    else:  # a demo database built before the demo recorded its last batch: its loads say "demo"
        other, params = "loaded_by IS DISTINCT FROM 'demo'", {}
    return not con.execute(f"SELECT count(*) FROM batches WHERE NOT is_undone AND {other}", params).fetchall()[0][0]


def key_targets_since(con) -> date | None:
    """When the 15 key targets were chosen: recorded with the data (the demo does), else the
    `key_targets_since` setting in data/metrics.toml, else unknown."""
    rows = con.execute("SELECT value FROM meta WHERE key = 'key_targets_since'").fetchall()
    value = rows[0][0] if rows else metric_settings().get("key_targets_since")
    return date.fromisoformat(str(value)) if value else None


# ---------------------------------------------------------------- the whole set

def table_counts(con) -> dict:
    tables = ("compounds", "appeals", "complaints", "surveys", "scenes")
    sql = " UNION ALL ".join(f"SELECT '{t}' AS t, count(*) AS n FROM {t}" for t in tables)
    return dict(con.execute(sql).fetchall())


def _records(df: pl.DataFrame, keys: list[str]) -> list[dict]:
    return df.select(keys).to_dicts()


def stats(con, scope: Scope) -> dict:
    """Everything `python -m etl stats --json` prints; the weekly PDF prints the same numbers."""
    by_street = appeal_rates_by(con, scope, "street").sort("street")
    return {
        "scope": {"from": scope.start, "to": scope.end, "as_of": scope.moment.isoformat(),
                  "street": scope.street, "community": scope.community},
        "counts": table_counts(con),
        "appeals": appeal_summary(con, scope),
        "appeals_by_street": by_street.to_dicts(),
        "complaints": complaint_summary(con, scope),
        "key_targets": _records(key_targets(con, scope), LIST_KEYS),
        "hot_spots": _records(hot_spots(con, scope), LIST_KEYS + ["is_new"]),
        "compound_types": _records(compound_types(con, scope), ["compound_type", "compounds", "households"]),
        "surveys": survey_summary(con, scope),
        "scenes": scene_summary(con, scope),
    }
