"""Further page queries of the dashboard, in the style of metrics/core.py.

Every function takes a DuckDB connection (or cursor) and a Scope, binds every value as a
parameter (the `_period` / `_place` helpers of core) and returns a polars frame or a dict. Pages
reach these only through dashboard/data.py; the pages themselves hold no SQL.

Conventions shared with core:
- an appeal belongs to the period of `received_at`, a complaint of `received_at`, a survey answer
  of `surveyed_at`, an event of `event_date`; nothing stamped after the scope's as-of moment counts;
- complaints, surveys and events are placed by their compound's street and community, appeals by
  their own street and community;
- a rate whose denominator is zero is None (shown as “—”).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta

import polars as pl

from etl.db import frame
from metrics.core import (
    Scope,
    _absent,
    _blank,
    _carried_counts,
    _carried_sql,
    _period,
    _place,
    iso_week_label,
    key_targets,
    key_targets_since,
    ratio,
)
from settings import metric_settings, reference

SATISFIED = ("满意", "基本满意")

# ---------------------------------------------------------------- places


def communities(con, street: str | None = None) -> pl.DataFrame:
    """The communities of the registry (optionally of one street), with their compound count."""
    params: dict = {}
    where = "TRUE"
    if street:
        params["street"] = street
        where = "street = $street"
    return frame(con, f"""
        SELECT street, community, count(*) AS compounds
        FROM compounds WHERE {where}
        GROUP BY ALL ORDER BY street, community""", params)


# ---------------------------------------------------------------- appeals: the five-step flow

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


def appeal_funnel(con, scope: Scope) -> pl.DataFrame:
    """The five-step flow: how many appeals of the period reached each step by as-of, and the
    median hours each step took.

    An appeal has reached a step when that step or any later one is stamped by as-of (an appeal
    closed without a recorded dispatch time was dispatched all the same), so the counts never
    grow from one step to the next. A step's hours run from the latest earlier recorded step
    (from `received_at` for the first one) to the step's own stamp; appeals missing either stamp
    are left out of that step's median.
    """
    params: dict = {}
    where = f"{_period('received_at', scope, params)} AND {_place('', scope, params)}"
    stamps = ",\n".join(f"CASE WHEN {column} <= $as_of THEN {column} END AS t{i}"
                        for i, (_, _, column) in enumerate(FUNNEL_STEPS, start=1))
    n = len(FUNNEL_STEPS)
    reached = ",\n".join(
        f"count(*) FILTER (coalesce({', '.join(f't{j}' for j in range(i, n + 1))}) IS NOT NULL) AS reached_{i}"
        for i in range(1, n + 1))
    medians = ",\n".join(
        f"median(epoch(t{i} - coalesce({', '.join([f't{j}' for j in range(i - 1, 0, -1)] + ['received_at'])}))"
        f" / 3600.0) AS hours_{i}"
        for i in range(1, n + 1))
    row = frame(con, f"""
        WITH a AS (SELECT received_at, {stamps}, carried.* EXCLUDE (batch_id)
                   FROM appeals LEFT JOIN ({_carried_sql("appeals")}) carried USING (batch_id) WHERE {where})
        SELECT count(*) AS received, {reached}, {medians}, {_carried_counts("appeals")} FROM a""",
                params).to_dicts()[0]
    absent = _absent("appeals", row, row["received"])
    out = [{"step": "received", "label": "受理", "reached": row["received"], "share": ratio(row["received"],
                                                                                             row["received"]),
            "median_hours": None}]
    for i, (step, label, _) in enumerate(FUNNEL_STEPS, start=1):
        # Reaching a step is known from its stamp or a later one: unknown (not zero) when no appeal
        # in scope was delivered with any of those columns.
        known = any(column not in absent for _, _, column in FUNNEL_STEPS[i - 1:])
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


def appeal_backlog(con, scope: Scope) -> pl.DataFrame:
    """Appeals of the period still not resolved at as-of, counted by how long they have been open
    (appeals whose extract had no 办结时间 column are left out: whether they are open is unknown).

    Every bucket is listed (zero where empty); `overdue` marks the buckets past the 48 h limit.
    """
    params: dict = {}
    where = f"{_period('received_at', scope, params)} AND {_place('', scope, params)}"
    rows = frame(con, f"""
        SELECT epoch(CAST($as_of AS TIMESTAMP) - received_at) / 3600.0 AS hours_open
        FROM appeals JOIN ({_carried_sql("appeals")}) carried USING (batch_id)
        WHERE {where} AND carried.c_resolved_at AND NOT coalesce(resolved_at <= $as_of, FALSE)""", params)
    limit = metric_settings()["resolution_limit_hours"]
    hours = rows["hours_open"]
    out = []
    for label, low, high in BACKLOG_BUCKETS:
        mask = hours >= low if high is None else (hours >= low) & (hours < high)
        out.append({"bucket": label, "low_hours": low, "open": int(mask.sum()), "overdue": low >= limit})
    return pl.DataFrame(out, schema={"bucket": pl.String, "low_hours": pl.Int64, "open": pl.Int64,
                                     "overdue": pl.Boolean})


# ---------------------------------------------------------------- property complaints

COMPLAINT_DIMENSIONS = {"category": "p.category", "level": "coalesce(p.level, '未注明')",
                        "street": "c.street", "compound_type": "c.compound_type"}


def complaints_by(con, scope: Scope, dimension: str) -> pl.DataFrame:
    """Complaints, resolution and 三方办 share by category, handling level, street or compound type.

    By level, the four levels of the reference list come first in their order, each listed even
    without complaints; complaints with no level recorded are counted as 未注明.
    """
    column = COMPLAINT_DIMENSIONS[dimension]
    params: dict = {}
    result = frame(con, f"""
        WITH p AS (
            SELECT {column} AS key, p.received_at, p.resolved_at, p.is_three_party,
                   p.resolved_at <= $as_of AS is_resolved, carried.* EXCLUDE (batch_id)
            FROM complaints p JOIN compounds c USING (compound_id)
                 LEFT JOIN ({_carried_sql("complaints")}) carried ON carried.batch_id = p.batch_id
            WHERE {_period('p.received_at', scope, params)} AND {_place('c.', scope, params)})
        SELECT key AS {dimension}, count(*) AS complaints,
               count(*) FILTER (is_resolved) AS resolved,
               median(epoch(resolved_at - received_at) / 86400.0) FILTER (is_resolved) AS median_days_to_resolve,
               count(*) FILTER (is_three_party) AS three_party,
               {_carried_counts("complaints")}
        FROM p GROUP BY ALL ORDER BY complaints DESC, {dimension}""", params)
    schema = {dimension: pl.String, "complaints": pl.Int64, "resolved": pl.Int64,
              "median_days_to_resolve": pl.Float64, "three_party": pl.Int64,
              "carried_resolved_at": pl.Int64, "carried_three_party": pl.Int64}
    result = result.cast(schema)
    if dimension == "level":
        levels = pl.DataFrame({"level": reference()["complaint_levels"]})
        others = result.filter(~pl.col("level").is_in(levels["level"].implode()))
        result = pl.concat([levels.join(result, on="level", how="left").with_columns(
            pl.col("complaints", "resolved", "three_party", "carried_resolved_at", "carried_three_party").fill_null(0)),
            others])
    total = result["complaints"].sum()
    # Rates over the complaints whose extract carried the column ("—" where none did).
    resolved_known, party_known = pl.col("carried_resolved_at"), pl.col("carried_three_party")
    return result.with_columns(
        pl.when(resolved_known > 0).then(pl.col("resolved") / resolved_known).alias("resolution_rate"),
        (pl.col("complaints") / total if total else pl.lit(None, pl.Float64)).alias("share"),
        pl.when(party_known > 0).then(pl.col("three_party") / party_known).alias("three_party_share"),
        pl.when(resolved_known > 0).then(pl.col("median_days_to_resolve")).alias("median_days_to_resolve"),
    ).drop("carried_resolved_at", "carried_three_party")


def three_party_summary(con, scope: Scope) -> dict:
    """How many complaints of the period were handled by a 三方办 meeting (community, owners'
    committee, property company), and their share."""
    params: dict = {}
    row = frame(con, f"""
        SELECT count(*) AS complaints, count(*) FILTER (p.is_three_party) AS three_party,
               {_carried_counts("complaints")}
        FROM complaints p JOIN compounds c USING (compound_id)
             LEFT JOIN ({_carried_sql("complaints")}) carried ON carried.batch_id = p.batch_id
        WHERE {_period('p.received_at', scope, params)} AND {_place('c.', scope, params)}""",
                params).to_dicts()[0]
    absent = _absent("complaints", row, row["complaints"])
    return {**_blank("complaints", {"complaints": row["complaints"], "three_party": row["three_party"],
                                    "three_party_share": ratio(row["three_party"], row["carried_three_party"])},
                     absent),
            "absent_columns": absent}


NO_PROPERTY_COMPANY = "无物业"
# The survey topic that rates property service; companies are compared on it.
PROPERTY_SURVEY_TOPIC = "物业服务"


def property_companies(con, scope: Scope) -> pl.DataFrame:
    """The property companies compared on the compounds they manage now (registry): compounds,
    households, complaints of the period, complaints per 100 households, resolution rate, median
    days to resolve, 三方办 count and the survey satisfaction on 物业服务.

    Compounds without a company are grouped as 无物业. Most complaints per 100 households first;
    a company whose compounds have no household count cannot be ranked and comes last.
    """
    params: dict = {"no_company": NO_PROPERTY_COMPANY, "topic": PROPERTY_SURVEY_TOPIC}
    place = _place("", scope, params)
    complaints_period = _period("p.received_at", scope, params)
    surveys_period = _period("s.surveyed_at", scope, params, is_date=True)
    return frame(con, f"""
        WITH c AS (SELECT compound_id, households, coalesce(property_company, $no_company) AS company
                   FROM compounds WHERE {place}),
        registry AS (SELECT company, count(*) AS compounds,
                            CAST(sum(households) AS BIGINT) AS households FROM c GROUP BY company),
        pc AS (SELECT c.company, count(*) AS complaints,
                      count(*) FILTER (p.resolved_at <= $as_of) AS resolved,
                      median(epoch(p.resolved_at - p.received_at) / 86400.0)
                          FILTER (p.resolved_at <= $as_of) AS median_days_to_resolve,
                      count(*) FILTER (p.is_three_party) AS three_party,
                      count(*) FILTER (carried.c_resolved_at) AS resolve_known
               FROM complaints p JOIN c USING (compound_id)
                    JOIN ({_carried_sql("complaints")}) carried ON carried.batch_id = p.batch_id
               WHERE {complaints_period} GROUP BY c.company),
        sv AS (SELECT c.company, count(*) AS survey_answers,
                      count(*) FILTER (s.rating IN ('满意', '基本满意')) AS survey_satisfied
               FROM surveys s JOIN c USING (compound_id)
               WHERE {surveys_period} AND s.topic = $topic GROUP BY c.company)
        SELECT r.company AS property_company, r.compounds, r.households,
               coalesce(pc.complaints, 0) AS complaints,
               CASE WHEN r.households > 0 THEN coalesce(pc.complaints, 0) * 100.0 / r.households END
                   AS complaints_per_100_households,
               pc.resolved / nullif(pc.resolve_known, 0) AS resolution_rate,
               pc.median_days_to_resolve,
               coalesce(pc.three_party, 0) AS three_party,
               coalesce(sv.survey_answers, 0) AS survey_answers,
               sv.survey_satisfied / sv.survey_answers AS survey_satisfaction_rate
        FROM registry r LEFT JOIN pc USING (company) LEFT JOIN sv USING (company)
        ORDER BY complaints_per_100_households DESC NULLS LAST, complaints DESC, property_company""",
                 params)


def _survey_rate_by_compound(con, scope: Scope) -> pl.DataFrame:
    params: dict = {}
    return frame(con, f"""
        SELECT s.compound_id, count(*) AS survey_answers,
               count(*) FILTER (s.rating IN ('满意', '基本满意')) / count(*) AS survey_satisfaction_rate
        FROM surveys s JOIN compounds c USING (compound_id)
        WHERE {_period('s.surveyed_at', scope, params, is_date=True)} AND {_place('c.', scope, params)}
        GROUP BY s.compound_id""", params)


# When the 15 key targets were chosen is recorded with the data or set in data/metrics.toml
# (core.key_targets_since). Where neither says, the split defaults to the first day of the month
# five months before the newest complaint (the convention the demo dataset is generated with), so
# the before/after comparison always has a starting point; the page lets the reader pick another.
TARGETED_MONTHS_BEFORE_NEWEST = 5


def _month_start(day: date, months_back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def default_targeted_since(con) -> date | None:
    """The date the key targets were targeted: as recorded or configured, else by the rule above
    (None when there is no complaint at all)."""
    recorded = key_targets_since(con)
    if recorded:
        return recorded
    newest = con.execute("SELECT CAST(max(received_at) AS DATE) FROM complaints").fetchall()[0][0]
    return _month_start(newest, TARGETED_MONTHS_BEFORE_NEWEST) if newest else None


def _window_end(scope: Scope) -> date:
    return scope.end or (scope.moment.date() + timedelta(days=1))


def key_target_progress(con, scope: Scope, since: date | None = None) -> pl.DataFrame:
    """Each key target (重点整治小区) in scope: its complaints of the period (per 100 households,
    resolution rate, median days, survey satisfaction) and 整治成效 — complaints per month,
    resolution rate and survey satisfaction before and after it was targeted on `since`.

    "After" runs from `since` to the end of the scope's period, seen as of the scope's moment;
    "before" is a window of the same length just before `since`, seen as of `since` itself (as
    the numbers stood when the compound was targeted). Per month = complaints × 30 ÷ days.
    `trend` is 好转 / 恶化 / 持平 comparing complaints per month after against before.
    """
    since = since or default_targeted_since(con) or (scope.start or scope.moment.date())
    current = key_targets(con, scope).select(
        "compound_id", "name", "street", "community", "households", "complaints",
        "complaints_per_100_households", "resolution_rate", "median_days_to_resolve")
    surveys = _survey_rate_by_compound(con, scope)
    current = current.join(surveys, on="compound_id", how="left").with_columns(pl.col("survey_answers").fill_null(0))
    end = _window_end(scope)
    days = (end - since).days
    after_scope = replace(scope, start=since, end=end)
    before_scope = replace(scope, start=since - timedelta(days=days), end=since,
                           as_of=datetime.combine(since, time()))
    windows = {}
    for name, window in (("before", before_scope), ("after", after_scope)):
        if days <= 0:
            windows[name] = None
            continue
        counts = key_targets(con, window).select(
            "compound_id", pl.col("complaints").alias(f"complaints_{name}"),
            pl.col("resolution_rate").alias(f"resolution_rate_{name}"))
        rates = _survey_rate_by_compound(con, window).select(
            "compound_id", pl.col("survey_satisfaction_rate").alias(f"survey_satisfaction_{name}"))
        windows[name] = counts.join(rates, on="compound_id", how="left").with_columns(
            (pl.col(f"complaints_{name}") * 30.0 / days).alias(f"complaints_per_month_{name}"))
    out = current
    for name in ("before", "after"):
        if windows[name] is None:
            out = out.with_columns(pl.lit(None, pl.Int64).alias(f"complaints_{name}"),
                                   pl.lit(None, pl.Float64).alias(f"resolution_rate_{name}"),
                                   pl.lit(None, pl.Float64).alias(f"survey_satisfaction_{name}"),
                                   pl.lit(None, pl.Float64).alias(f"complaints_per_month_{name}"))
        else:
            out = out.join(windows[name], on="compound_id", how="left")
    change = pl.col("complaints_per_month_after") - pl.col("complaints_per_month_before")
    return out.with_columns(
        pl.lit(since).alias("targeted_since"),
        change.alias("complaints_per_month_change"),
        pl.when(change.is_null()).then(None).when(change < 0).then(pl.lit("好转"))
        .when(change > 0).then(pl.lit("恶化")).otherwise(pl.lit("持平")).alias("trend"),
    )


def key_targets_worsening(con, scope: Scope) -> pl.DataFrame:
    """Key targets with more complaints in the period than in the previous period of equal length."""
    now = key_targets(con, scope).select("compound_id", "name", "street", "complaints")
    if scope.start is None or scope.end is None:
        return now.head(0).with_columns(pl.lit(0).alias("previous_complaints"), pl.lit(0).alias("change"))
    before = key_targets(con, scope.previous()).select(
        "compound_id", pl.col("complaints").alias("previous_complaints"))
    return (now.join(before, on="compound_id", how="left")
            .with_columns(pl.col("previous_complaints").fill_null(0))
            .with_columns((pl.col("complaints") - pl.col("previous_complaints")).alias("change"))
            .filter(pl.col("change") > 0)
            .sort(["change", "complaints", "compound_id"], descending=[True, True, False]))


def _month_starts(scope: Scope, months: int) -> list[date]:
    last = _month_start(_window_end(scope) - timedelta(days=1))
    return [_month_start(last, months_back) for months_back in range(months - 1, -1, -1)]


def key_target_monthly(con, scope: Scope, months: int = 12) -> pl.DataFrame:
    """Complaints per 100 households each month, key targets against all other compounds in scope,
    over the `months` months up to the end of the scope (complaints stamped after as-of left out).

    Compounds without a household count are left out of both groups.
    """
    starts = _month_starts(scope, months)
    window = replace(scope, start=starts[0], end=_window_end(scope))
    params: dict = {}
    rows = frame(con, f"""
        WITH c AS (SELECT * FROM compounds WHERE {_place('', scope, params)} AND households > 0),
        households AS (SELECT is_key_target, CAST(sum(households) AS BIGINT) AS households FROM c GROUP BY ALL),
        p AS (SELECT c.is_key_target, CAST(date_trunc('month', p.received_at) AS DATE) AS month, count(*) AS n
              FROM complaints p JOIN c USING (compound_id)
              WHERE {_period('p.received_at', window, params)} GROUP BY ALL)
        SELECT h.is_key_target, h.households, p.month, p.n
        FROM households h LEFT JOIN p USING (is_key_target)""", params)
    households = {r["is_key_target"]: r["households"] for r in rows.select("is_key_target", "households")
                  .unique().to_dicts()}
    counts = {(r["is_key_target"], r["month"]): r["n"] for r in rows.to_dicts() if r["month"] is not None}
    out = []
    for month in starts:
        for flag, group in ((True, "重点整治小区"), (False, "其他小区")):
            n = counts.get((flag, month), 0)
            h = households.get(flag)
            out.append({"month": month, "group": group, "complaints": n, "households": h,
                        "complaints_per_100_households": n * 100.0 / h if h else None})
    return pl.DataFrame(out, schema={"month": pl.Date, "group": pl.String, "complaints": pl.Int64,
                                     "households": pl.Int64, "complaints_per_100_households": pl.Float64})


# ---------------------------------------------------------------- satisfaction surveys

SURVEY_DIMENSIONS = {"topic": "s.topic", "street": "c.street", "community": "c.community",
                     "compound_type": "c.compound_type", "compound_id": "s.compound_id"}


def surveys_by(con, scope: Scope, dimension: str) -> pl.DataFrame:
    """Survey answers, satisfaction rate and average score by topic, street, community, compound
    type or compound (with its name), most answers first."""
    column = SURVEY_DIMENSIONS[dimension]
    params: dict = {}
    name = ", any_value(c.name) AS name, any_value(c.street) AS street_name" if dimension == "compound_id" else ""
    result = frame(con, f"""
        SELECT {column} AS {dimension}{name}, count(*) AS answers,
               count(*) FILTER (s.rating IN ('满意', '基本满意')) AS satisfied,
               avg(s.score) AS average_score
        FROM surveys s JOIN compounds c USING (compound_id)
        WHERE {_period('s.surveyed_at', scope, params, is_date=True)} AND {_place('c.', scope, params)}
        GROUP BY {column} ORDER BY answers DESC, {dimension}""", params)
    if dimension == "compound_id":
        result = result.rename({"street_name": "street"})
    return result.with_columns((pl.col("satisfied") / pl.col("answers")).alias("satisfaction_rate"))


def survey_trend(con, scope: Scope, weeks: int = 12) -> pl.DataFrame:
    """Survey answers, satisfaction rate and average score of the last `weeks` ISO weeks up to the
    end of the scope (every week listed; answers dated after as-of left out)."""
    last_day = _window_end(scope) - timedelta(days=1)
    first_monday = last_day - timedelta(days=last_day.weekday()) - timedelta(weeks=weeks - 1)
    window = replace(scope, start=first_monday, end=last_day + timedelta(days=1))
    params: dict = {}
    rows = frame(con, f"""
        SELECT CAST(date_trunc('week', s.surveyed_at) AS DATE) AS week_start, count(*) AS answers,
               count(*) FILTER (s.rating IN ('满意', '基本满意')) AS satisfied, avg(s.score) AS average_score
        FROM surveys s JOIN compounds c USING (compound_id)
        WHERE {_period('s.surveyed_at', window, params, is_date=True)} AND {_place('c.', scope, params)}
        GROUP BY ALL""", params)
    by_week = {r["week_start"]: r for r in rows.to_dicts()}
    out = []
    for index in range(weeks):
        monday = first_monday + timedelta(weeks=index)
        row = by_week.get(monday)
        out.append({"week": iso_week_label(monday), "week_start": monday,
                    "answers": row["answers"] if row else 0,
                    "satisfaction_rate": ratio(row["satisfied"], row["answers"]) if row else None,
                    "average_score": row["average_score"] if row else None})
    return pl.DataFrame(out, schema={"week": pl.String, "week_start": pl.Date, "answers": pl.Int64,
                                     "satisfaction_rate": pl.Float64, "average_score": pl.Float64})


def lowest_rated_compounds(con, scope: Scope, limit: int = 10, min_answers: int = 3) -> pl.DataFrame:
    """The compounds with the lowest survey satisfaction rate (then lowest average score) among
    those with at least `min_answers` answers in the period."""
    by_compound = surveys_by(con, scope, "compound_id").filter(pl.col("answers") >= min_answers)
    return by_compound.sort(["satisfaction_rate", "average_score", "answers", "compound_id"],
                            descending=[False, False, True, False], nulls_last=True).head(limit)


# ---------------------------------------------------------------- service scenes


def scenes_by_compound(con, scope: Scope) -> pl.DataFrame:
    """Events, attendance and 一老一小 per compound that held at least one event, most attended first."""
    params: dict = {}
    return frame(con, f"""
        SELECT s.compound_id, any_value(c.name) AS name, any_value(c.street) AS street,
               any_value(c.compound_type) AS compound_type, count(*) AS events,
               CAST(coalesce(sum(s.attendees), 0) AS BIGINT) AS attendance,
               CAST(coalesce(sum(s.old_young), 0) AS BIGINT) AS old_young
        FROM scenes s JOIN compounds c USING (compound_id)
        WHERE {_period('s.event_date', scope, params, is_date=True)} AND {_place('c.', scope, params)}
        GROUP BY s.compound_id ORDER BY attendance DESC, s.compound_id""", params)


def top_scenes(con, scope: Scope, limit: int = 10) -> pl.DataFrame:
    """The most attended scenes (by name, with their type), and in how many compounds they ran."""
    params: dict = {"limit": limit}
    return frame(con, f"""
        SELECT s.scene_name, s.scene_type, count(*) AS events, count(DISTINCT s.compound_id) AS compounds,
               CAST(coalesce(sum(s.attendees), 0) AS BIGINT) AS attendance,
               CAST(coalesce(sum(s.old_young), 0) AS BIGINT) AS old_young
        FROM scenes s JOIN compounds c USING (compound_id)
        WHERE {_period('s.event_date', scope, params, is_date=True)} AND {_place('c.', scope, params)}
        GROUP BY ALL ORDER BY attendance DESC, s.scene_name, s.scene_type LIMIT $limit""", params)


SCENE_MIX_DIMENSIONS = {"street": "c.street", "community": "c.community", "compound_type": "c.compound_type"}


def scene_mix(con, scope: Scope, dimension: str) -> pl.DataFrame:
    """Events, attendance and 一老一小 by street (community, compound type) and scene type, for
    stacked charts; only combinations with events are listed."""
    column = SCENE_MIX_DIMENSIONS[dimension]
    params: dict = {}
    return frame(con, f"""
        SELECT {column} AS {dimension}, s.scene_type, count(*) AS events,
               CAST(coalesce(sum(s.attendees), 0) AS BIGINT) AS attendance,
               CAST(coalesce(sum(s.old_young), 0) AS BIGINT) AS old_young
        FROM scenes s JOIN compounds c USING (compound_id)
        WHERE {_period('s.event_date', scope, params, is_date=True)} AND {_place('c.', scope, params)}
        GROUP BY ALL ORDER BY {dimension}, s.scene_type""", params)


COVERAGE_DIMENSIONS = {"street": "street", "community": "community", "compound_type": "compound_type"}


def scene_coverage_by(con, scope: Scope, dimension: str) -> pl.DataFrame:
    """Compounds, compounds with at least one event in the period, and coverage, by street,
    community or compound type (by type every one of the six is listed, in reference order)."""
    column = COVERAGE_DIMENSIONS[dimension]
    params: dict = {}
    place = _place("", scope, params)
    events = _period("event_date", scope, params, is_date=True)
    result = frame(con, f"""
        WITH c AS (SELECT * FROM compounds WHERE {place}),
        covered AS (SELECT DISTINCT compound_id FROM scenes WHERE {events})
        SELECT c.{column} AS {dimension}, count(*) AS compounds,
               count(covered.compound_id) AS covered
        FROM c LEFT JOIN covered USING (compound_id)
        GROUP BY ALL ORDER BY {dimension}""", params).cast({"compounds": pl.Int64, "covered": pl.Int64})
    if dimension == "compound_type":
        types = pl.DataFrame({"compound_type": reference()["compound_types"]})
        result = types.join(result, on="compound_type", how="left").with_columns(
            pl.col("compounds", "covered").fill_null(0))
    return result.with_columns(
        pl.when(pl.col("compounds") > 0).then(pl.col("covered") / pl.col("compounds")).alias("coverage"))


def compounds_without_events(con, scope: Scope) -> pl.DataFrame:
    """The compounds in scope that held no service-scene event in the period."""
    params: dict = {}
    place = _place("c.", scope, params)
    events = _period("s.event_date", scope, params, is_date=True)
    return frame(con, f"""
        SELECT c.compound_id, c.name, c.street, c.community, c.compound_type, c.households, c.party_branch
        FROM compounds c
        WHERE {place} AND NOT EXISTS (
            SELECT 1 FROM scenes s WHERE s.compound_id = c.compound_id AND {events})
        ORDER BY c.street, c.community, c.name, c.compound_id""", params)


# ---------------------------------------------------------------- compounds


def compound_totals(con, scope: Scope) -> dict:
    """The registry in scope: compounds, households, key targets, compounds with a property
    company, with a party branch, and without map coordinates."""
    params: dict = {}
    row = frame(con, f"""
        SELECT count(*) AS compounds, CAST(coalesce(sum(households), 0) AS BIGINT) AS households,
               count(*) FILTER (is_key_target) AS key_targets,
               count(*) FILTER (property_company IS NOT NULL) AS with_property_company,
               count(*) FILTER (party_branch IS NOT NULL) AS with_party_branch,
               count(*) FILTER (longitude IS NULL OR latitude IS NULL) AS without_coordinates,
               count(*) FILTER (households IS NULL) AS without_households
        FROM compounds WHERE {_place('', scope, params)}""", params).to_dicts()[0]
    row["property_company_share"] = ratio(row["with_property_company"], row["compounds"])
    return row


def compounds_by_street(con, scope: Scope, by: str = "street") -> pl.DataFrame:
    """Compounds and households by street (or by community: by='community') and compound type
    (types in reference order)."""
    column = {"street": "street", "community": "community"}[by]
    params: dict = {}
    result = frame(con, f"""
        SELECT {column}, compound_type, count(*) AS compounds,
               CAST(coalesce(sum(households), 0) AS BIGINT) AS households
        FROM compounds WHERE {_place('', scope, params)}
        GROUP BY ALL""", params)
    order = {name: i for i, name in enumerate(reference()["compound_types"])}
    return result.with_columns(
        pl.col("compound_type").replace_strict(order, default=len(order), return_dtype=pl.Int32).alias("_o")
    ).sort([column, "_o"]).drop("_o")


def compound_list(con, scope: Scope, search: str | None = None) -> pl.DataFrame:
    """Every compound in scope (optionally whose name or code contains `search`) with its facts and
    the period's appeals, complaints (per 100 households), survey satisfaction and events."""
    params: dict = {}
    place = _place("c.", scope, params)
    appeals = _period("a.received_at", scope, params)
    complaints = _period("p.received_at", scope, params)
    surveys = _period("s.surveyed_at", scope, params, is_date=True)
    events = _period("e.event_date", scope, params, is_date=True)
    match = "TRUE"
    if search and search.strip():
        params["search"] = search.strip().lower()
        match = "(contains(lower(c.name), $search) OR contains(lower(c.compound_id), $search))"
    return frame(con, f"""
        WITH ap AS (SELECT compound_id, count(*) AS appeals FROM appeals a
                    WHERE {appeals} AND compound_id IS NOT NULL GROUP BY compound_id),
        cp AS (SELECT compound_id, count(*) AS complaints FROM complaints p WHERE {complaints} GROUP BY compound_id),
        sv AS (SELECT compound_id, count(*) AS survey_answers,
                      count(*) FILTER (rating IN ('满意', '基本满意')) AS satisfied
               FROM surveys s WHERE {surveys} GROUP BY compound_id),
        ev AS (SELECT compound_id, count(*) AS events, CAST(sum(attendees) AS BIGINT) AS attendance
               FROM scenes e WHERE {events} GROUP BY compound_id)
        SELECT c.compound_id, c.name, c.street, c.community, c.compound_type, c.households,
               c.property_company, c.party_branch, c.is_key_target, c.longitude, c.latitude,
               coalesce(ap.appeals, 0) AS appeals,
               coalesce(cp.complaints, 0) AS complaints,
               CASE WHEN c.households > 0 THEN coalesce(cp.complaints, 0) * 100.0 / c.households END
                   AS complaints_per_100_households,
               coalesce(sv.survey_answers, 0) AS survey_answers,
               sv.satisfied / sv.survey_answers AS survey_satisfaction_rate,
               coalesce(ev.events, 0) AS events,
               coalesce(ev.attendance, 0) AS attendance
        FROM compounds c LEFT JOIN ap USING (compound_id) LEFT JOIN cp USING (compound_id)
             LEFT JOIN sv USING (compound_id) LEFT JOIN ev USING (compound_id)
        WHERE {place} AND {match}
        ORDER BY c.street, c.community, c.name, c.compound_id""", params)


def compound_profile(con, compound_id: str) -> dict | None:
    """One compound's registry facts (None if there is no such compound)."""
    rows = frame(con, """
        SELECT compound_id, name, street, community, grid_id, compound_type, households, buildings,
               micro_grids, property_company, party_branch, is_key_target, longitude, latitude
        FROM compounds WHERE compound_id = $id""", {"id": compound_id}).to_dicts()
    return rows[0] if rows else None


def compound_summary(con, scope: Scope, compound_id: str) -> dict:
    """One compound's numbers for the period: appeals (resolution and satisfaction rates),
    complaints (resolution rate), survey answers (satisfaction rate, average score) and events."""
    params: dict = {"id": compound_id, "resolve_h": metric_settings()["resolution_limit_hours"]}
    appeals = _period("received_at", scope, params)
    complaints = _period("received_at", scope, params)
    surveys = _period("surveyed_at", scope, params, is_date=True)
    events = _period("event_date", scope, params, is_date=True)
    row = frame(con, f"""
        WITH a AS (SELECT count(*) AS appeals,
                          count(*) FILTER (resolved_at <= $as_of) AS appeals_resolved,
                          count(*) FILTER (c_resolved_at) AS appeals_resolve_known,
                          count(*) FILTER (satisfaction IN ('满意', '基本满意')) AS appeals_satisfied,
                          count(*) FILTER (satisfaction IS NOT NULL) AS appeals_evaluated,
                          count(*) FILTER (NOT coalesce(resolved_at <= $as_of, FALSE) AND c_resolved_at
                                           AND received_at + to_hours(CAST($resolve_h AS BIGINT)) < $as_of)
                              AS overdue_open
                   FROM appeals JOIN ({_carried_sql("appeals")}) carried USING (batch_id)
                   WHERE compound_id = $id AND {appeals}),
        p AS (SELECT count(*) AS complaints, count(*) FILTER (resolved_at <= $as_of) AS complaints_resolved,
                     count(*) FILTER (c_resolved_at) AS complaints_resolve_known
              FROM complaints JOIN ({_carried_sql("complaints")}) carried USING (batch_id)
              WHERE compound_id = $id AND {complaints}),
        s AS (SELECT count(*) AS survey_answers,
                     count(*) FILTER (rating IN ('满意', '基本满意')) AS survey_satisfied,
                     avg(score) AS average_score
              FROM surveys WHERE compound_id = $id AND {surveys}),
        e AS (SELECT count(*) AS events, CAST(coalesce(sum(attendees), 0) AS BIGINT) AS attendance,
                     CAST(coalesce(sum(old_young), 0) AS BIGINT) AS old_young
              FROM scenes WHERE compound_id = $id AND {events})
        SELECT * FROM a, p, s, e""", params).to_dicts()[0]
    return {
        "appeals": row["appeals"],
        "appeal_resolution_rate": ratio(row["appeals_resolved"], row["appeals_resolve_known"]),
        "appeal_satisfaction_rate": ratio(row["appeals_satisfied"], row["appeals_evaluated"]),
        "overdue_open": row["overdue_open"] if row["appeals_resolve_known"] or not row["appeals"] else None,
        "complaints": row["complaints"],
        "complaint_resolution_rate": ratio(row["complaints_resolved"], row["complaints_resolve_known"]),
        "survey_answers": row["survey_answers"],
        "survey_satisfaction_rate": ratio(row["survey_satisfied"], row["survey_answers"]),
        "average_score": row["average_score"],
        "events": row["events"],
        "attendance": int(row["attendance"]),
        "old_young": int(row["old_young"]),
    }


def compound_history(con, scope: Scope, compound_id: str, months: int = 12) -> pl.DataFrame:
    """One compound month by month over the `months` months up to the end of the scope: appeals,
    complaints, survey answers and satisfaction rate, events and attendance (every month listed)."""
    starts = _month_starts(scope, months)
    window = replace(scope, start=starts[0], end=_window_end(scope))
    params: dict = {"id": compound_id}
    appeals = _period("received_at", window, params)
    complaints = _period("received_at", window, params)
    surveys = _period("surveyed_at", window, params, is_date=True)
    events = _period("event_date", window, params, is_date=True)
    rows = frame(con, f"""
        SELECT 'appeals' AS feed, CAST(date_trunc('month', received_at) AS DATE) AS month, count(*) AS n,
               NULL::BIGINT AS satisfied, NULL::BIGINT AS attendance
        FROM appeals WHERE compound_id = $id AND {appeals} GROUP BY ALL
        UNION ALL
        SELECT 'complaints', CAST(date_trunc('month', received_at) AS DATE), count(*), NULL, NULL
        FROM complaints WHERE compound_id = $id AND {complaints} GROUP BY ALL
        UNION ALL
        SELECT 'surveys', CAST(date_trunc('month', surveyed_at) AS DATE), count(*),
               count(*) FILTER (rating IN ('满意', '基本满意')), NULL
        FROM surveys WHERE compound_id = $id AND {surveys} GROUP BY ALL
        UNION ALL
        SELECT 'scenes', CAST(date_trunc('month', event_date) AS DATE), count(*), NULL,
               CAST(coalesce(sum(attendees), 0) AS BIGINT)
        FROM scenes WHERE compound_id = $id AND {events} GROUP BY ALL""", params)
    got = {(r["feed"], r["month"]): r for r in rows.to_dicts()}
    out = []
    for month in starts:
        survey = got.get(("surveys", month))
        scenes = got.get(("scenes", month))
        out.append({
            "month": month,
            "appeals": got.get(("appeals", month), {}).get("n", 0),
            "complaints": got.get(("complaints", month), {}).get("n", 0),
            "survey_answers": survey["n"] if survey else 0,
            "survey_satisfaction_rate": ratio(survey["satisfied"], survey["n"]) if survey else None,
            "events": scenes["n"] if scenes else 0,
            "attendance": scenes["attendance"] if scenes else 0,
        })
    return pl.DataFrame(out, schema={"month": pl.Date, "appeals": pl.Int64, "complaints": pl.Int64,
                                     "survey_answers": pl.Int64, "survey_satisfaction_rate": pl.Float64,
                                     "events": pl.Int64, "attendance": pl.Int64})
