"""Appeals (诉求工单): the summary and its rates, rates by dimension, the weekly trend, overdue
appeals, the five-step flow and the backlog of open appeals."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from fractions import Fraction

import polars as pl

import settings
from etl.db import frame
from etl.schema import columns
from metrics.common import (SATISFIED, absent, as_float, blank, carried_counts, carried_sql, exact_ratio,
                            input_columns, median_duration, ratio)
from metrics.scope import SEEN_THROUGH, Scope, iso_week_label, merged, period, place, seen_through, where

RATE_KEYS = ("received", "response_rate", "resolution_rate", "on_time_rate", "feedback_rate",
             "satisfaction_rate", "evaluated", "satisfaction_score", "composite", "overdue_open",
             "median_hours_to_resolve")
COUNT_KEYS = ("received", "evaluated", "overdue_open")
MEDIAN = "median_hours_to_resolve"
DIMENSIONS = {"street": "street", "community": "community", "channel": "channel",
              "category": "category", "compound_id": "compound_id"}


def _weight(value: float) -> Fraction:
    """A weight of data/metrics.toml as written there (0.9 is nine tenths, not the binary float)."""
    return Fraction(repr(value))


def composite(response: Fraction | None, resolution: Fraction | None, satisfaction: Fraction | None) -> Fraction | None:
    weights = settings.metric_settings()["composite_weights"]
    if response is None or resolution is None or satisfaction is None:
        return None
    return (_weight(weights["response"]) * response + _weight(weights["resolution"]) * resolution
            + _weight(weights["satisfaction"]) * satisfaction)


def limits() -> dict:
    """The 123 time limits in hours, as the queries' parameters."""
    chosen = settings.metric_settings()
    return {"response_h": chosen["response_limit_hours"], "resolve_h": chosen["resolution_limit_hours"],
            "feedback_h": chosen["feedback_limit_hours"]}


# The daily rollup (written by the loader, metrics/rollups.py): per received day and place, the
# counts below as of a moment after every limit and every stamp of the day, under three groupings
# that together serve every dimension of the pages; per day, when it settles, its latest resolution
# and the latest moment one of its appeals stopped having deadlines; and the appeals not yet
# resolved or still with deadlines ahead, for the scans of open ones.
ROLLUP, ROLLUP_DAYS, ROLLUP_OPEN = "appeals_daily", "appeals_days", "appeals_open"
ROLLUP_GROUPINGS = ("compound_id", "channel", "category")
ROLLUP_META = "derived:appeals_daily"


def rollup_version() -> str:
    """What the rollup depends on besides the rows: the limits and the appeals' columns (a change
    makes the stored rollup unusable until the next write rebuilds it)."""
    return json.dumps({"version": 4, "columns": columns("appeals"), **limits()}, sort_keys=True)


def rollup_usable(con) -> bool:
    found = con.execute("SELECT value FROM meta WHERE key = ?", [ROLLUP_META]).fetchall()
    return bool(found) and found[0][0] == rollup_version()


def rollup_waiting(con) -> bool:
    """Appeals are stored but their rollup is unusable (kept by older code, or for other limits):
    pages count from the rows, slower, until a write or `python -m etl rollup` rebuilds it."""
    return not rollup_usable(con) and bool(con.execute("SELECT count(*) FROM (SELECT 1 FROM appeals LIMIT 1)"
                                                       ).fetchall()[0][0])


def pending_until_sql() -> str:
    """SQL: the moment from which an appeal can have no 123 deadline any more (metrics/alerts.py):
    its closure, or the step after which none its extract carried is left to take (feedback;
    resolution when feedback was not carried; first response when neither was); NULL while
    neither has come. Reads the appeal's columns and its carried flags (c_*: carried_sql)."""
    first, resolution, feedback = (f"coalesce(c_{c}, TRUE)" for c in ("first_response_at", "resolved_at", "feedback_at"))
    return (f"least(closed_at, feedback_at, CASE WHEN NOT {feedback} THEN resolved_at END, "
            f"CASE WHEN NOT ({resolution} OR {feedback}) THEN first_response_at END, "
            f"CASE WHEN NOT ({first} OR {resolution} OR {feedback}) THEN received_at END)")


def open_rows_sql(con, until: str) -> str:
    """SQL: the appeals (every column) still open at $as_of, by `until`: 'resolved_at' (not
    resolved by then) or 'pending_until' (can still have a 123 deadline then, `pending_until_sql`).
    With the rollup, those with no such moment come from `appeals_open` (a few per cent of the
    rows) and those whose moment is after $as_of only from the days where that happened; else the
    whole table, which the caller filters."""
    if not rollup_usable(con):
        return "appeals"
    listed = stored_columns()
    moment, carried = ("resolved_at", "") if until == "resolved_at" else \
        (pending_until_sql(), f"LEFT JOIN ({carried_sql('appeals')}) carried USING (carried_mask)")
    later = f"(SELECT day FROM {ROLLUP_DAYS} WHERE last_{until} > CAST($as_of AS TIMESTAMP))"
    return f"""(SELECT {listed} FROM {ROLLUP_OPEN} WHERE {until} IS NULL
                UNION ALL
                SELECT {listed} FROM appeals {carried} WHERE {received_on(later)} AND {moment} > $as_of)"""


def received_on(days: str) -> str:
    """SQL: the appeal was received on one of `days` (a table or a subquery with a `day` column).
    Its bounds let the scan skip the row groups outside them (at 10 M appeals, 220 → 20 ms for
    the open appeals' days), which the IN alone does not."""
    return (f"received_at >= (SELECT min(day) FROM {days}) AND received_at < (SELECT max(day) + 1 FROM {days}) "
            f"AND CAST(received_at AS DATE) IN (SELECT day FROM {days})")


def received_days_sql(con, scope: Scope) -> str:
    """SQL: the received day of every appeal of the scope's period (one row per day and place, from
    the rollup, when it is usable), filtered further by the caller's place condition."""
    if rollup_usable(con):
        return f"SELECT day FROM {ROLLUP} WHERE grouping = 'channel' AND {period('day', scope)[0]}"
    return f"SELECT CAST(received_at AS DATE) AS day FROM appeals WHERE {period('received_at', scope)[0]}"


def stored_columns() -> str:
    """The appeals' columns by name (an upgraded database has the added ones in another order)."""
    return ", ".join([*columns("appeals"), "batch_id"])


def flagged_sql(condition: str, as_of_expr: str) -> str:
    """CTEs ending in `a`: the appeals matching `condition`, each with its received day, the
    moment it is seen at (`as_of_expr`, which may use `day`), its due moments and what it had
    reached by then."""
    # "Passed" is strict: at the limit itself an appeal can still be handled in time.
    return f"""
        WITH carried AS ({carried_sql("appeals")}),
        d AS (SELECT *, CAST(received_at AS DATE) AS day
              FROM appeals LEFT JOIN carried USING (carried_mask) WHERE {condition}),
        b AS (SELECT *, CAST({as_of_expr} AS TIMESTAMP) AS _as_of FROM d),
        a AS (
            SELECT *,
                received_at + to_hours(CAST($response_h AS BIGINT)) AS response_due,
                received_at + to_hours(CAST($resolve_h AS BIGINT)) AS resolve_due,
                received_at + to_hours(CAST($feedback_h AS BIGINT)) AS feedback_due,
                first_response_at <= _as_of AS is_responded,
                resolved_at <= _as_of AS is_resolved,
                feedback_at <= _as_of AS is_fed_back
            FROM b
        )"""


def count_columns() -> dict[str, str]:
    """The counts behind every appeal rate, as aggregates over `a` (they add up across days)."""
    return {
        "received": "count(*)",
        "responded_in_time": "count(*) FILTER (is_responded AND first_response_at <= response_due)",
        "response_due_count": "count(*) FILTER ((response_due < _as_of OR is_responded) AND c_first_response_at)",
        "resolved": "count(*) FILTER (is_resolved)",
        "resolved_in_time": "count(*) FILTER (is_resolved AND resolved_at <= resolve_due)",
        "resolve_due_count": "count(*) FILTER ((resolve_due < _as_of OR is_resolved) AND c_resolved_at)",
        "fed_back_in_time": "count(*) FILTER (is_fed_back AND feedback_at <= feedback_due)",
        "feedback_due_count": "count(*) FILTER ((feedback_due < _as_of OR is_fed_back) AND c_feedback_at)",
        "satisfied": f"count(*) FILTER (satisfaction = {SATISFIED[0]!r})",
        "basically_satisfied": f"count(*) FILTER (satisfaction = {SATISFIED[1]!r})",
        "evaluated": "count(*) FILTER (satisfaction IS NOT NULL)",
        "overdue_open": "count(*) FILTER (NOT coalesce(is_resolved, FALSE) AND resolve_due < _as_of AND c_resolved_at)",
        **{f"carried_{c}": f"count(*) FILTER (c_{c})" for c in input_columns("appeals")},
    }


def settled_sql() -> str:
    """SQL: the latest moment any count of a day's appeals can still change at: every limit of
    the day passed, every stamp the counts read reached. Seen at or after it, a day's counts are
    those of the rollup (evaluated over `a` as of infinity, grouped by day)."""
    longest = max(limits().values())
    return (f"greatest(max(day) + INTERVAL 1 DAY + to_hours(CAST({longest} AS BIGINT)), "
            "max(first_response_at), max(resolved_at), max(feedback_at))")


def _counts_sql(con, scope: Scope, group: str | None, as_of_expr: str = "$as_of",
                median: bool = True) -> tuple[str, dict]:
    """Counts behind every appeal rate, and (with `median`) the median hours to resolve, per
    `group` (a column or an expression of `day`); as_of_expr lets a trend see each week as of its
    own end.

    While the rollup is usable, days settled at their as-of moment are summed from it and only the
    other days are counted from the rows. The median is always taken over the rows: medians do not
    add up."""
    condition, params = where(period("received_at", scope), place("", scope))
    params = merged(params, limits())
    key = group or "0"
    columns = count_columns()
    counted = condition
    if rollup_usable(con):
        # `day` is the day of a timestamp: at D 00:00 an appeal stamped 00:00 has come in, so D is
        # compared as a moment, not as a dated record (which counts once its day has begun).
        days, day_params = period("day", scope)
        settled = f"SELECT day FROM {ROLLUP_DAYS} WHERE settled_at <= CAST({as_of_expr} AS TIMESTAMP) AND {days}"
        # The rows are ordered roughly by time: a lower bound lets the scan skip the settled past.
        first_unsettled = con.execute(f"SELECT min(day) FROM {ROLLUP_DAYS} WHERE {days} "
                                      f"AND settled_at > CAST({as_of_expr} AS TIMESTAMP)", day_params).fetchall()[0][0]
        params = merged(params, day_params, {"first_unsettled": first_unsettled or date.max})
        counted += " AND received_at >= $first_unsettled AND CAST(received_at AS DATE) NOT IN (SELECT day FROM settled)"
        rolled_place, _ = place("", scope)
        rollup = f"""
            UNION ALL
            SELECT {key} AS key, {", ".join(f"sum({name}) AS {name}" for name in columns)}
            FROM {ROLLUP} WHERE grouping = '{group if group in ROLLUP_GROUPINGS else "compound_id"}'
              AND {days} AND {rolled_place} AND day IN (SELECT day FROM settled)
            GROUP BY ALL"""
    else:
        settled, rollup = "SELECT CAST(NULL AS DATE) AS day WHERE FALSE", ""
    medians = median_column = median_join = ""
    if median:
        medians = f""",
        medians AS (
            SELECT {key} AS key,
                   {median_duration("received_at", "resolved_at", "hours",
                                    f"resolved_at <= CAST({as_of_expr} AS TIMESTAMP)")} AS median_hours_to_resolve
            FROM (SELECT *, CAST(received_at AS DATE) AS day FROM appeals WHERE {condition}) GROUP BY ALL
        )"""
        median_column = ", any_value(m.median_hours_to_resolve) AS median_hours_to_resolve"
        median_join = "LEFT JOIN medians m ON m.key IS NOT DISTINCT FROM c.key"
    return f"""
        WITH settled AS ({settled}),
        {flagged_sql(counted, as_of_expr).strip().removeprefix("WITH")},
        counted AS (
            SELECT {key} AS key, {", ".join(f"{sql} AS {name}" for name, sql in columns.items())}
            FROM a GROUP BY ALL
            {rollup}
        ){medians}
        SELECT c.key, {", ".join(f"CAST(sum(c.{name}) AS BIGINT) AS {name}" for name in columns)}{median_column}
        FROM counted c {median_join}
        GROUP BY c.key
    """, params


def _rates(row: dict) -> dict:
    """The rates of one row of counts; those whose column no appeal in it carried are None.

    The weighted score and the composite are computed in fractions and only then made floats
    (the nearest float to the exact value): in float steps 0.9 × 9 / 24 is 0.33749999999999997,
    which the one rounding rule would read 33.7 instead of the exact 0.3375's 33.8."""
    weight = _weight(settings.metric_settings()["basic_satisfied_weight"])
    response = exact_ratio(row["responded_in_time"], row["response_due_count"])
    resolution = exact_ratio(row["resolved"], row["carried_resolved_at"])
    score = exact_ratio(row["satisfied"] + weight * row["basically_satisfied"], row["evaluated"])
    return blank("appeals", {
        "received": row["received"],
        "response_rate": as_float(response),
        "resolution_rate": as_float(resolution),
        "on_time_rate": ratio(row["resolved_in_time"], row["resolve_due_count"]),
        "feedback_rate": ratio(row["fed_back_in_time"], row["feedback_due_count"]),
        "satisfaction_rate": ratio(row["satisfied"] + row["basically_satisfied"], row["evaluated"]),
        "evaluated": row["evaluated"],
        "satisfaction_score": as_float(score),
        "composite": as_float(composite(response, resolution, score)),
        "overdue_open": row["overdue_open"],
        **({MEDIAN: row[MEDIAN]} if MEDIAN in row else {}),
    }, absent("appeals", row, row["received"]))


def _rates_frame(rows: list[dict], first: dict, median: bool = True) -> pl.DataFrame:
    schema = {**first, **{k: pl.Float64 for k in RATE_KEYS if median or k != MEDIAN}}
    schema.update(dict.fromkeys(COUNT_KEYS, pl.Int64))
    return pl.DataFrame(rows, schema=schema)


def summary(con, scope: Scope) -> dict:
    """受理量, the three rates, the 123 rule, overdue open and median hours, for the scope; and
    `absent_columns`, the input columns no appeal in scope was delivered with (their figures are None)."""
    return _summary(con, scope, median=True)


def headline(con, scope: Scope) -> dict:
    """The summary without the median hours, for views that do not show them: the median is the one
    figure the daily rollup cannot give, and over a year it costs as much as all the rest."""
    return _summary(con, scope, median=False)


def _summary(con, scope: Scope, median: bool) -> dict:
    rows = frame(con, *_counts_sql(con, scope, None, median=median)).to_dicts()
    row = rows[0] if rows else {name: 0 for name in count_columns()} | ({MEDIAN: None} if median else {})
    return {**_rates(row), "absent_columns": absent("appeals", row, row["received"])}


def rates_by(con, scope: Scope, dimension: str, median: bool = True) -> pl.DataFrame:
    """The appeal metrics per street, community, channel, category or compound (without the median
    hours when `median` is false)."""
    rows = frame(con, *_counts_sql(con, scope, DIMENSIONS[dimension], median=median)).to_dicts()
    out = [{dimension: row["key"], **_rates(row)} for row in rows]
    return _rates_frame(out, {dimension: pl.String}, median).sort("received", dimension, descending=[True, False])


def weekly_trend(con, scope: Scope, weeks: int = 12) -> pl.DataFrame:
    """The appeal metrics of the last `weeks` ISO weeks up to the scope's end or its as-of moment,
    whichever comes first (本年 in January ends this week, not in December), each week seen as
    of its own end (or of the as-of moment, for the week still running: `complete` false, with
    `through` its last day seen); no trend shows the median hours, so they are not computed."""
    last_day = scope.seen_end() - timedelta(days=1)
    first_monday = last_day - timedelta(days=last_day.weekday()) - timedelta(weeks=weeks - 1)
    trend_scope = replace(scope, start=first_monday, end=last_day + timedelta(days=1))
    sql, params = _counts_sql(con, trend_scope, "CAST(date_trunc('week', day) AS DATE)",
                              as_of_expr="least(date_trunc('week', day) + INTERVAL 7 DAY, $as_of)", median=False)
    rows = {row["key"]: row for row in frame(con, sql, params).to_dicts()}
    out = []
    for index in range(weeks):
        monday = first_monday + timedelta(weeks=index)
        row = rows.get(monday)
        rates = _rates(row) if row else {k: (0 if k in COUNT_KEYS else None)
                                         for k in RATE_KEYS if k != MEDIAN}
        out.append({"week": iso_week_label(monday), "week_start": monday, **seen_through(monday, 7, scope),
                    **rates})
    return _rates_frame(out, {"week": pl.String, "week_start": pl.Date, **SEEN_THROUGH}, median=False)


def _overdue_rows(con, scope: Scope) -> tuple[str, dict]:
    """FROM … WHERE … of the appeals in the period not resolved by as-of and past the resolution
    limit, as `a`; an appeal whose extract had no 办结时间 column cannot be told overdue."""
    condition, params = where(period("a.received_at", scope), place("a.", scope))
    return f"""
        FROM {open_rows_sql(con, "resolved_at")} a
             JOIN ({carried_sql("appeals")}) carried ON carried.carried_mask = a.carried_mask AND carried.c_resolved_at
        WHERE {condition}
          AND NOT coalesce(a.resolved_at <= $as_of, FALSE)
          AND a.received_at + to_hours(CAST($resolve_h AS BIGINT)) < $as_of""", merged(
        params, {"resolve_h": settings.metric_settings()["resolution_limit_hours"]})


def overdue(con, scope: Scope, limit: int | None = None) -> pl.DataFrame:
    """The overdue open appeals (`_overdue_rows`), oldest first, without personal data; the
    oldest `limit` of them when given (their number is the summary's `overdue_open`)."""
    rows, params = _overdue_rows(con, scope)
    if limit is not None:
        params = merged(params, {"limit": int(limit)})
    return frame(con, f"""
        SELECT a.appeal_id, a.received_at, a.street, a.community, a.compound_id, c.name AS compound_name,
               a.channel, a.category,
               -- where the appeal stood at as-of (the stored status is that of the latest extract)
               CASE WHEN a.first_response_at <= $as_of THEN '已响应，未办结'
                    WHEN a.dispatched_at <= $as_of THEN '已派单，未响应'
                    ELSE '未响应' END AS status,
               epoch(CAST($as_of AS TIMESTAMP) - a.received_at) / 3600.0 AS hours_open
        FROM (SELECT a.* {rows}) a LEFT JOIN compounds c USING (compound_id)
        ORDER BY a.received_at, a.appeal_id{"" if limit is None else " LIMIT $limit"}""", params)


def overdue_by(con, scope: Scope, dimensions: tuple[str, ...] = ("street", "category")) -> pl.DataFrame:
    """The overdue open appeals counted by street, category (or any appeal column), most first.
    Counted in SQL: over a year the list itself is tens of thousands of rows."""
    unknown = set(dimensions) - set(columns("appeals"))
    if unknown:
        raise ValueError(f"not an appeal column: {sorted(unknown)}")
    rows, params = _overdue_rows(con, scope)
    keys = ", ".join(f"a.{d} AS {d}" for d in dimensions)
    # polars' order (the list's group_by before): nulls first, strings by their bytes
    order = ", ".join(f"{d} NULLS FIRST" for d in dimensions)
    return frame(con, f"SELECT {keys}, count(*) AS overdue_open {rows} GROUP BY ALL "
                      f"ORDER BY overdue_open DESC, {order}", params)


# ---------------------------------------------------------------- the five-step flow

# 精准派单 → 首接响应 → 督导督办 → 群众评价 → 结案归档, each step read from one timestamp column.
# 督导督办 ends when the appeal is resolved (办结), 群众评价 when the resident is called back
# (回访/反馈), 结案归档 when it is closed.
FUNNEL_STEPS = (
    ("dispatch", "精准派单", "dispatched_at"),
    ("response", "首接响应", "first_response_at"),
    ("supervision", "督导督办", "resolved_at"),
    ("evaluation", "群众评价", "feedback_at"),
    ("archive", "结案归档", "closed_at"),
)


def funnel(con, scope: Scope) -> pl.DataFrame:
    """The five-step flow: how many appeals of the period reached each step by as-of, and the
    median hours each step took.

    An appeal has reached a step when that step or any later one is stamped by as-of (an appeal
    closed without a recorded dispatch time was dispatched all the same), so the counts never
    grow from one step to the next. A step's hours run from the latest earlier recorded step
    (from `received_at` for the first one) to the step's own stamp; appeals missing either stamp
    are left out of that step's median.
    """
    condition, params = where(period("received_at", scope), place("", scope))
    stamps = ",\n".join(f"CASE WHEN {column} <= $as_of THEN {column} END AS t{i}"
                        for i, (_, _, column) in enumerate(FUNNEL_STEPS, start=1))
    n = len(FUNNEL_STEPS)
    reached = ",\n".join(
        f"count(*) FILTER (coalesce({', '.join(f't{j}' for j in range(i, n + 1))}) IS NOT NULL) AS reached_{i}"
        for i in range(1, n + 1))
    def since_previous(i: int) -> str:  # the latest earlier recorded step, or the receipt
        return f"coalesce({', '.join([f't{j}' for j in range(i - 1, 0, -1)] + ['received_at'])})"

    medians = ",\n".join(f"{median_duration(since_previous(i), f't{i}', 'hours')} AS hours_{i}"
                          for i in range(1, n + 1))
    row = frame(con, f"""
        WITH a AS (SELECT received_at, {stamps}, carried.* EXCLUDE (carried_mask)
                   FROM appeals LEFT JOIN ({carried_sql("appeals")}) carried USING (carried_mask) WHERE {condition})
        SELECT count(*) AS received, {reached}, {medians}, {carried_counts("appeals")} FROM a""",
                params).to_dicts()[0]
    missing = absent("appeals", row, row["received"])
    out = [{"step": "received", "label": "受理", "reached": row["received"],
            "share": ratio(row["received"], row["received"]), "median_hours": None}]
    for i, (step, label, _) in enumerate(FUNNEL_STEPS, start=1):
        # Reaching a step is known from its stamp or a later one: unknown (not zero) when no appeal
        # in scope was delivered with any of those columns.
        known = any(column not in missing for _, _, column in FUNNEL_STEPS[i - 1:])
        out.append({"step": step, "label": label, "reached": row[f"reached_{i}"] if known else None,
                    "share": ratio(row[f"reached_{i}"], row["received"]) if known else None,
                    "median_hours": row[f"hours_{i}"]})
    return pl.DataFrame(out, schema={"step": pl.String, "label": pl.String, "reached": pl.Int64,
                                     "share": pl.Float64, "median_hours": pl.Float64})


# Ages of open appeals, in hours since received (lower bound inclusive, upper exclusive).
BACKLOG_BUCKETS = (
    ("1日内", 0, 24),
    ("1–2日", 24, 48),
    ("2–3日", 48, 72),
    ("3–7日", 72, 168),
    ("7日以上", 168, None),
)


def backlog(con, scope: Scope) -> pl.DataFrame:
    """Appeals of the period still not resolved at as-of, counted by how long they have been open
    (appeals whose extract had no 办结时间 column are left out: whether they are open is unknown).

    Every bucket is listed (zero where empty); `overdue` marks the buckets past the resolution limit.
    """
    condition, params = where(period("received_at", scope), place("", scope))
    rows = frame(con, f"""
        SELECT epoch(CAST($as_of AS TIMESTAMP) - received_at) / 3600.0 AS hours_open
        FROM {open_rows_sql(con, "resolved_at")} a JOIN ({carried_sql("appeals")}) carried USING (carried_mask)
        WHERE {condition} AND carried.c_resolved_at AND NOT coalesce(resolved_at <= $as_of, FALSE)""", params)
    limit = settings.metric_settings()["resolution_limit_hours"]
    hours = rows["hours_open"]
    out = []
    for label, low, high in BACKLOG_BUCKETS:
        mask = hours >= low if high is None else (hours >= low) & (hours < high)
        out.append({"bucket": label, "low_hours": low, "open": int(mask.sum()), "overdue": low >= limit})
    return pl.DataFrame(out, schema={"bucket": pl.String, "low_hours": pl.Int64, "open": pl.Int64,
                                     "overdue": pl.Boolean})
