"""Early warnings (未诉先办): due-soon and overdue appeals, unusual rises, repeated appeals.

Each function takes a read-only DuckDB connection and the moment the warnings describe (as-of),
and returns plain dicts or polars frames; metrics/README.md (section 预警) gives every rule.
"""

from __future__ import annotations

import math
import re
import sys
from datetime import date, datetime, timedelta

import polars as pl
from rapidfuzz import fuzz, process

from etl.db import frame
from metrics import appeals, display
from metrics.common import carried_sql, ratio
from metrics.scope import Condition, Scope, merged, place, where
from safety.masking import ANY_MASK
from settings import metric_settings

STAGES = ("响应", "办结", "反馈")
FEEDS = ("appeals", "complaints", "surveys")


def _place(prefix: str, street: str | None, community: str | None) -> Condition:
    return place(prefix, Scope(street=street, community=community))


# ---------------------------------------------------------------- 临期 / 超期

def _deadlines_sql(con, as_of: datetime, street: str | None, community: str | None,
                   hours: float | None) -> Condition:
    """Every open appeal with its next 123 limit (see `deadlines`), unordered, as SQL and parameters."""
    settings = metric_settings()
    place, place_params = _place("a.", street, community)
    params = merged({"as_of": as_of, "hours": float(settings["due_soon_hours"] if hours is None else hours),
                     "limits": [settings["response_limit_hours"], settings["resolution_limit_hours"],
                                settings["feedback_limit_hours"]]}, place_params)
    return f"""
        WITH carried AS ({carried_sql("appeals")}),
        a AS (
            SELECT a.appeal_id, a.street, a.community, a.compound_id, a.category, a.received_at,
                   CASE WHEN a.feedback_at <= $as_of THEN 3 WHEN a.resolved_at <= $as_of THEN 2
                        WHEN a.first_response_at <= $as_of THEN 1 ELSE 0 END AS done,
                   coalesce(k.c_first_response_at, TRUE) AS t1, coalesce(k.c_resolved_at, TRUE) AS t2,
                   coalesce(k.c_feedback_at, TRUE) AS t3
            FROM {appeals.open_rows_sql(con, "pending_until")} a LEFT JOIN carried k ON k.carried_mask = a.carried_mask
            WHERE a.received_at <= $as_of AND NOT coalesce(a.closed_at <= $as_of, FALSE) AND {place}),
        n AS (
            SELECT *, CASE WHEN done < 1 AND t1 THEN 1 WHEN done < 2 AND t2 THEN 2
                           WHEN done < 3 AND t3 THEN 3 END AS stage_no
            FROM a),
        timed AS (
            SELECT appeal_id, street, community, compound_id, category,
                   ['响应', '办结', '反馈'][stage_no] AS stage,
                   received_at + to_hours(CAST($limits[stage_no] AS BIGINT)) AS due_at,
                   epoch(received_at + to_hours(CAST($limits[stage_no] AS BIGINT)) - CAST($as_of AS TIMESTAMP))
                       / 3600.0 AS hours_left
            FROM n WHERE stage_no IS NOT NULL)
        -- due soon: within the next $hours, the limit itself included (at the limit it is not yet late)
        SELECT *, CASE WHEN hours_left < 0 THEN 'overdue' WHEN hours_left <= $hours THEN 'due_soon' END AS state
        FROM timed""", params


def deadlines(con, as_of: datetime, street: str | None = None, community: str | None = None,
              hours: float | None = None) -> pl.DataFrame:
    """Every open appeal with its next 123 limit: the limit of the first step after the last one
    done by as-of (response, resolution, feedback), skipping steps whose column the appeal's
    extract never carried. hours_left < 0 means overdue by that many hours; state is 'overdue',
    'due_soon' (within the next `hours`, default the setting) or null."""
    sql, params = _deadlines_sql(con, as_of, street, community, hours)
    return frame(con, f"""
        SELECT d.*, c.name AS compound_name FROM ({sql}) d LEFT JOIN compounds c USING (compound_id)
        ORDER BY hours_left, appeal_id""", params)


IS_DUE_SOON, IS_OVERDUE = pl.col("state") == "due_soon", pl.col("state") == "overdue"


def due_soon(con, as_of: datetime, street: str | None = None, community: str | None = None,
             hours: float | None = None) -> pl.DataFrame:
    """Open appeals whose next limit falls within the next `hours` (default: the setting); soonest first."""
    return deadlines(con, as_of, street, community, hours).filter(IS_DUE_SOON)


def overdue(con, as_of: datetime, street: str | None = None, community: str | None = None) -> pl.DataFrame:
    """Open appeals already past their next limit; longest overdue first."""
    return deadlines(con, as_of, street, community).filter(IS_OVERDUE)


def deadline_counts(con, as_of: datetime, by: str = "street", street: str | None = None,
                    community: str | None = None, hours: float | None = None) -> pl.DataFrame:
    """Due-soon and overdue counts by street, community or compound_id."""
    return deadlines(con, as_of, street, community, hours).group_by(by).agg(
        IS_DUE_SOON.sum().alias("due_soon"), IS_OVERDUE.sum().alias("overdue"),
    ).filter((pl.col("due_soon") > 0) | (pl.col("overdue") > 0)).sort(
        ["overdue", "due_soon", by], descending=[True, True, False], nulls_last=True)


# ---------------------------------------------------------------- 异动预警

def alarm_settings(overrides: dict | None = None) -> dict:
    return {**metric_settings()["alarms"], **(overrides or {})}


def _events_sql(place: str) -> str:
    """The events of every place in scope over the horizon, counted per day before as-of (bucket
    j: j = 0 is the 24 hours up to as-of; category '' for the feeds without one), and the district's 不满意 share in the baseline of
    each day j of the lookback (the prior of every place's survey share as of that day)."""
    return f"""
        scoped AS (SELECT compound_id FROM compounds c WHERE {place}),
        events AS (
            SELECT 'appeals' AS feed, a.compound_id, a.category, a.received_at AS t, FALSE AS bad
            FROM appeals a JOIN scoped USING (compound_id)
            WHERE a.received_at <= $as_of AND a.received_at > $as_of - to_days(CAST($horizon AS INTEGER))
            UNION ALL
            SELECT 'complaints', p.compound_id, '', p.received_at, FALSE
            FROM complaints p JOIN scoped USING (compound_id)
            WHERE p.received_at <= $as_of AND p.received_at > $as_of - to_days(CAST($horizon AS INTEGER))
            UNION ALL
            SELECT 'surveys', s.compound_id, '', CAST(s.surveyed_at AS TIMESTAMP), s.rating = '不满意'
            FROM surveys s JOIN scoped USING (compound_id)
            WHERE s.surveyed_at <= CAST($as_of AS DATE)
              AND s.surveyed_at > CAST($as_of AS DATE) - CAST($horizon AS INTEGER)),
        bucketed AS (
            SELECT feed, compound_id, category,
                   CAST(floor(epoch(CAST($as_of AS TIMESTAMP) - t) / 86400) AS INTEGER) AS j,
                   count(*) AS n, count(*) FILTER (bad) AS bad
            FROM events GROUP BY ALL),
        -- the district's answers, whatever place is in view: a compound's alarm reads the same in a
        -- street's view as in the district's
        survey_days AS (
            SELECT CAST(floor(epoch(CAST($as_of AS TIMESTAMP) - CAST(s.surveyed_at AS TIMESTAMP)) / 86400) AS INTEGER) AS j,
                   count(*) AS n, count(*) FILTER (s.rating = '不满意') AS bad
            FROM surveys s
            WHERE s.surveyed_at <= CAST($as_of AS DATE)
              AND s.surveyed_at > CAST($as_of AS DATE) - CAST($horizon AS INTEGER)
            GROUP BY ALL),
        district AS (
            SELECT r.range AS j, coalesce(sum(s.bad) / nullif(sum(s.n), 0), 0) AS share
            FROM range(0, CAST($lookback AS INTEGER)) r LEFT JOIN survey_days s
                 ON s.j >= r.range + $recent AND s.j < r.range + $recent + $baseline
            GROUP BY r.range)"""


def _series_sql(places: str) -> str:
    """windows: for each place of the CTE `places` and each evaluation j of the lookback, the
    counts of its recent window (buckets j .. j + recent - 1) and its baseline (the buckets
    just before), summed over sliding frames of a dense day series."""
    return f"""
        series AS (
            SELECT p.feed, p.compound_id, p.category, r.range AS j,
                   coalesce(b.n, 0) AS n, coalesce(b.bad, 0) AS bad
            FROM {places} p CROSS JOIN range(0, CAST($horizon AS INTEGER)) r
            LEFT JOIN bucketed b ON b.feed = p.feed AND b.compound_id = p.compound_id
                 AND b.category = p.category AND b.j = r.range),
        windows AS (
            SELECT * FROM (
                SELECT feed, compound_id, category, j,
                       sum(n) OVER recent_frame AS recent_n, sum(bad) OVER recent_frame AS recent_bad,
                       sum(n) OVER base_frame AS base_n, sum(bad) OVER base_frame AS base_bad
                FROM series
                WINDOW recent_frame AS (PARTITION BY feed, compound_id, category ORDER BY j
                                        ROWS BETWEEN CURRENT ROW AND $recent - 1 FOLLOWING),
                       base_frame AS (PARTITION BY feed, compound_id, category ORDER BY j
                                      ROWS BETWEEN $recent FOLLOWING AND $recent + $baseline - 1 FOLLOWING))
            WHERE j < $lookback)"""


def _tested_sql(name: str, windows: str) -> str:
    """CTE `name`: the rows of `windows` with observed, expected, score (a binomial upper-tail
    probability, for the rows that pass the count and ratio floors) and alarm.

    Appeals and complaints: given the n events of the recent window and the baseline together, the
    recent window's share under an unchanged rate is recent / (recent + baseline) days, so observed
    ~ Binomial(n, that share): the exact test of two Poisson counts, which counts the baseline's own
    noise. Surveys: observed 不满意 ~ Binomial(recent answers, the place's shrunk baseline share)."""
    return f"""
        {name}_tested AS (
            SELECT w.*,
                   CASE WHEN feed = 'surveys' THEN recent_bad ELSE recent_n END AS observed,
                   greatest(CASE WHEN feed = 'surveys'
                                 THEN recent_n * (base_bad + $prior * d.share) / (base_n + $prior)
                                 ELSE base_n * $recent / $baseline END, $floor) AS expected,
                   CASE WHEN feed = 'surveys' THEN recent_n ELSE recent_n + base_n END AS trials,
                   CASE WHEN feed = 'surveys' THEN expected / greatest(recent_n, 1)
                        ELSE $recent / ($recent + $baseline) END AS share
            FROM {windows} w JOIN district d USING (j)),
        -- P(X >= k): past k each term is at most the one before times about 1/2 (k >= 2 x expected),
        -- so 64 of them give the sum to double precision
        {name}_scored AS (
            SELECT c.feed, c.compound_id, c.category, c.j,
                   sum(exp(lgamma(c.trials + 1) - lgamma(c.observed + i.range + 1)
                           - lgamma(c.trials - c.observed - i.range + 1)
                           + (c.observed + i.range) * ln(c.share)
                           + (c.trials - c.observed - i.range) * ln(1 - c.share))) AS score
            FROM {name}_tested c JOIN range(0, 64) i ON c.observed + i.range <= c.trials
            WHERE c.observed >= $min_count AND c.observed >= $min_ratio * c.expected GROUP BY ALL),
        {name} AS (
            SELECT t.feed, t.compound_id, t.category, t.j, t.observed, t.expected, s.score,
                   coalesce(s.score <= $p_value, FALSE) AS alarm
            FROM {name}_tested t LEFT JOIN {name}_scored s USING (feed, compound_id, category, j))"""


def _alarm_params(as_of: datetime, settings: dict) -> dict:
    recent, baseline = int(settings["recent_days"]), 7 * int(settings["baseline_weeks"])
    lookback = baseline  # how far back the start of a run of alarmed days is looked for
    return {"as_of": as_of, "recent": recent, "baseline": baseline, "lookback": lookback,
            "horizon": lookback + recent + baseline, "min_count": float(settings["min_count"]),
            "min_ratio": float(settings["min_ratio"]), "p_value": float(settings["p_value"]),
            "floor": float(settings["expected_floor"]), "prior": float(settings["survey_prior_answers"])}


def alarms(con, as_of: datetime, street: str | None = None, community: str | None = None,
           settings: dict | None = None) -> pl.DataFrame:
    """The places alarmed as of `as_of`: every compound × appeal category, every compound's
    complaints, every compound's 不满意 survey answers. Most improbable first.

    start is the first day of the run of consecutive days (each seen as of as-of minus whole days)
    on which the place was alarmed; score is the binomial upper-tail probability. Every place is
    tested at once as of as-of; only the alarmed ones are replayed over the lookback for the start."""
    place, place_params = _place("c.", street, community)
    params = merged(_alarm_params(as_of, alarm_settings(settings)), place_params)
    return frame(con, f"""
        WITH {_events_sql(place)},
        now_windows AS (
            SELECT feed, compound_id, category, 0 AS j,
                   count(*) FILTER (j < $recent) AS _k,
                   coalesce(sum(n) FILTER (j < $recent), 0) AS recent_n,
                   coalesce(sum(bad) FILTER (j < $recent), 0) AS recent_bad,
                   coalesce(sum(n) FILTER (j >= $recent AND j < $recent + $baseline), 0) AS base_n,
                   coalesce(sum(bad) FILTER (j >= $recent AND j < $recent + $baseline), 0) AS base_bad
            FROM bucketed GROUP BY ALL HAVING _k > 0),
        {_tested_sql("now", "now_windows")},
        alarmed AS (SELECT feed, compound_id, category FROM now WHERE alarm),
        {_series_sql("alarmed")},
        {_tested_sql("days", "windows")},
        runs AS (
            SELECT feed, compound_id, category,
                   coalesce(min(j) FILTER (NOT alarm), $lookback) - 1 AS last_alarmed
            FROM days GROUP BY ALL)
        SELECT n.compound_id AS place_id, c.name AS place_name, c.street, c.community, n.feed,
               nullif(n.category, '') AS category,
               CAST(CAST($as_of AS TIMESTAMP) - to_days(CAST(r.last_alarmed AS INTEGER)) AS DATE) AS start,
               CAST(n.observed AS BIGINT) AS observed, n.expected, n.score, c.is_key_target
        FROM now n JOIN runs r USING (feed, compound_id, category) JOIN compounds c USING (compound_id)
        WHERE n.alarm
        ORDER BY n.score, n.observed DESC, place_id, n.feed, n.category""", params)


def alarm_history(con, as_of: datetime, street: str | None = None, settings: dict | None = None) -> pl.DataFrame:
    """Every (place, day) alarmed over the lookback before as-of, each day seen as of as-of minus
    j days: one query replays the past weeks at once (the backtest uses it)."""
    place, place_params = _place("c.", street, None)
    params = merged(_alarm_params(as_of, alarm_settings(settings)), place_params)
    return frame(con, f"""
        WITH {_events_sql(place)},
        places AS (SELECT DISTINCT feed, compound_id, category FROM bucketed),
        {_series_sql("places")},
        {_tested_sql("days", "windows")}
        SELECT d.feed, d.compound_id AS place_id, nullif(d.category, '') AS category, c.street,
               CAST(CAST($as_of AS TIMESTAMP) - to_days(CAST(d.j AS INTEGER)) AS DATE) AS day,
               CAST(d.observed AS BIGINT) AS observed, d.expected, d.score
        FROM days d JOIN compounds c USING (compound_id)
        WHERE d.alarm ORDER BY day, place_id, feed, category""", params)


# ---------------------------------------------------------------- 重复诉求 / 真解决率

_MASKS = re.compile(ANY_MASK)


def _without_masks(text: str) -> str:
    return _MASKS.sub("", text)


def _repeats(con, as_of: datetime, since: datetime | None, street: str | None, community: str | None,
             compound_id: str | None = None, category: str | None = None
             ) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
    """The linkable appeals (a compound and a content, received by as-of, from `since` minus the
    window on, numbered i in time order; g its compound × category), the links (each repeat `later` with the latest
    near-duplicate `earlier` received within the window before it) and the appeals followed by a
    near-duplicate within the window after their resolution.

    Texts are compared once per pair of distinct texts met in one compound × category (a repeated
    appeal is often word for word); the appeals are then matched on similar texts by as-of joins."""
    settings = metric_settings()["repeats"]
    window = int(settings["window_days"])
    # A repeat is one of its compound × category, whatever street each appeal's file named: with a
    # place, the pool still holds every appeal of the compounds the place's appeals name, and
    # `in_place` marks the place's own (the ones counted and listed).
    in_place, place_params = _place("a.", street, community)
    conditions = [("a.compound_id IS NOT NULL AND a.content IS NOT NULL AND a.received_at <= $as_of",
                   {"as_of": as_of})]
    if street is not None or community is not None:
        named, named_params = _place("p.", street, community)
        conditions.append((f"a.compound_id IN (SELECT p.compound_id FROM appeals p WHERE {named})", named_params))
    if since is not None:
        conditions.append(("a.received_at >= CAST($since AS TIMESTAMP) - to_days(CAST($window AS INTEGER))",
                           {"since": since, "window": window}))
    if compound_id is not None:
        conditions.append(("a.compound_id = $compound_id", {"compound_id": compound_id}))
    if category is not None:
        conditions.append(("a.category = $category", {"category": category}))
    filters, params = where(*conditions)
    # texts and compound × category by their hashes: no string sorted or carried along
    pool = frame(con, f"""
        SELECT a.appeal_id, a.received_at, CASE WHEN a.resolved_at <= $as_of THEN a.resolved_at END AS resolved_at,
               hash(a.content) AS text_id, hash(a.compound_id, a.category) AS g, coalesce({in_place}, FALSE) AS in_place
        FROM appeals a WHERE {filters} ORDER BY a.received_at, a.appeal_id""",
                 merged(params, place_params)).with_row_index("i")
    groups = pool.select("g", "text_id").unique()
    met = groups.join(groups, on="g", suffix="_b").filter(pl.col("text_id") < pl.col("text_id_b"))
    distinct = met.select("text_id", "text_id_b").unique()
    texts = dict(frame(con, f"""
        SELECT DISTINCT hash(a.content) AS text_id, a.content FROM appeals a
        WHERE {filters} AND hash(a.content) IN (SELECT unnest($wanted))""",
                       {**params, "wanted": pl.concat([distinct["text_id"], distinct["text_id_b"]]).unique().to_list()}
                       ).iter_rows())
    # What masking put in place of a phone, an ID number or a name is no part of what was said:
    # two appeals that share only "电话[电话已隐去]" are not alike for it.
    scores = process.cpdist([texts[k] for k in distinct["text_id"].to_list()],
                            [texts[k] for k in distinct["text_id_b"].to_list()],
                            scorer=fuzz.ratio, processor=_without_masks, workers=-1) if distinct.height else []
    near = distinct.with_columns(pl.Series("similarity", scores, dtype=pl.Float64)).filter(
        pl.col("similarity") >= float(settings["similarity"]))
    near = met.join(near, on=["text_id", "text_id_b"])
    similar = pl.concat([  # both ways, and every text with itself
        near.select("g", pl.col("text_id").alias("text"), pl.col("text_id_b").alias("other"), "similarity"),
        near.select("g", pl.col("text_id_b").alias("text"), pl.col("text_id").alias("other"), "similarity"),
        groups.select("g", pl.col("text_id").alias("text"), pl.col("text_id").alias("other"),
                      pl.lit(100.0).alias("similarity"))])
    span = timedelta(days=window)
    # one key for (compound × category, text): the as-of joins match on it
    key = pl.struct("g", "other").hash()
    wanted = pool.select("i", "g", "text_id", "received_at", "resolved_at").join(
        similar, left_on=["g", "text_id"], right_on=["g", "text"]).with_columns(key.alias("key"))
    own = pool.select("i", "received_at", key=pl.struct("g", pl.col("text_id").alias("other")).hash())
    # each appeal against the latest earlier appeal of each similar text in its compound × category
    links = wanted.sort("i").join_asof(
        own.select(earlier="i", earlier_at="received_at", key="key"), left_on="i", right_on="earlier", by="key",
        strategy="backward", allow_exact_matches=False,
        check_sortedness=False,  # sorted above: the check cannot be made with `by` groups
    ).filter(pl.col("received_at") <= pl.col("earlier_at") + span).group_by("i").agg(
        pl.col("earlier").max(), pl.col("similarity").sort_by("earlier").last()).rename({"i": "later"}).sort("later")
    # each resolved appeal against the first appeal of each similar text received after its resolution
    recurred = wanted.filter(pl.col("resolved_at").is_not_null()).sort("resolved_at").join_asof(
        own.select(later_at="received_at", key="key"), left_on="resolved_at", right_on="later_at", by="key",
        strategy="forward", allow_exact_matches=False, check_sortedness=False,
    ).filter(pl.col("later_at") <= pl.col("resolved_at") + span)["i"].unique()
    return pool, links, recurred


def repeat_links(con, as_of: datetime, since: datetime | None = None, street: str | None = None,
                 community: str | None = None) -> pl.DataFrame:
    """Each appeal received from `since` to as-of that repeats an earlier one, with the earlier one
    it repeats (the latest of the near-duplicates received within the window before it)."""
    pool, links, _ = _repeats(con, as_of, since, street, community)
    ids = pool.select("i", "appeal_id", "received_at")
    links = links.filter(pl.col("later").is_in(pool.filter("in_place")["i"].implode()))
    out = links.join(ids, left_on="later", right_on="i").join(
        ids.select(pl.col("i").alias("earlier"), pl.col("appeal_id").alias("repeats")), on="earlier").select(
        "appeal_id", "repeats", "similarity", "received_at")
    if since is not None:
        out = out.filter(pl.col("received_at") >= since)
    return out.sort("received_at", "appeal_id")


def _period_repeats(con, scope: Scope) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
    """The linkable appeals received in the scope's period, the links and the recurred appeals."""
    since = datetime.combine(scope.start, datetime.min.time()) if scope.start else None
    until = datetime.combine(scope.end, datetime.min.time()) if scope.end else None
    pool, links, recurred = _repeats(con, scope.moment, since, scope.street, scope.community)
    in_period = pl.col("in_place")
    if since is not None:
        in_period &= pl.col("received_at") >= since
    if until is not None:
        in_period &= pl.col("received_at") < until
    return pool.filter(in_period), links, recurred


def _rates_of(period: pl.DataFrame, links: pl.DataFrame, recurred: pl.Series, as_of: datetime) -> dict:
    window = timedelta(days=int(metric_settings()["repeats"]["window_days"]))
    repeats = int(period["i"].is_in(links["later"].implode()).sum())
    settled = period.filter(pl.col("resolved_at") + window <= as_of)
    stayed = int((~settled["i"].is_in(recurred.implode())).sum())
    return {"appeals": period.height, "repeats": repeats, "repeat_rate": ratio(repeats, period.height),
            "resolved_settled": settled.height, "truly_resolved": stayed,
            "true_resolution_rate": ratio(stayed, settled.height)}


def repeat_rates(con, scope: Scope) -> dict:
    """重复诉求率 and 真解决率 of the appeals received in the scope's period (see metrics/README.md);
    over the appeals that can be linked (a compound and a content). None where a denominator is 0."""
    return _rates_of(*_period_repeats(con, scope), scope.moment)


def unsettled_note(repeat_rate: float | None, true_resolution_rate: float | None) -> str | None:
    """Why 真解决率 reads “—” (a recent period always does; one without appeals that can be
    linked too), for the page and the PDF."""
    if true_resolution_rate is not None:
        return None
    if repeat_rate is None:
        return "重复诉求率与真解决率为“—”：这一时段没有可比对的诉求（需有小区和诉求内容）。"
    days = int(metric_settings()["repeats"]["window_days"])
    return (f"真解决率为“—”：这一时段受理的工单中还没有办结已满 {days} 天的，满 {days} 天后才能判断是否真正解决"
            "（选更早或更长的时段可见）。")


def repeat_rates_by(con, scope: Scope, by: str = "street") -> pl.DataFrame:
    """repeat_rates per street or compound_id (of the appeals' own street or compound), by name."""
    period, links, recurred = _period_repeats(con, scope)
    places = frame(con, f"SELECT appeal_id, {by} FROM appeals WHERE appeal_id IN (SELECT unnest($ids))",
                   {"ids": period["appeal_id"].to_list()})
    period = period.join(places, on="appeal_id")
    rows = [{by: key, **_rates_of(part, links, recurred, scope.moment)}
            for (key,), part in period.group_by(by, maintain_order=True)]
    return pl.DataFrame(rows, schema={by: pl.String, "appeals": pl.Int64, "repeats": pl.Int64,
                                      "repeat_rate": pl.Float64, "resolved_settled": pl.Int64,
                                      "truly_resolved": pl.Int64, "true_resolution_rate": pl.Float64}
                        ).sort(by, nulls_last=True)


def compound_repeats(con, compound_id: str, as_of: datetime, street: str | None = None,
                     community: str | None = None) -> pl.DataFrame:
    """The repeated appeals of one compound (all its categories) up to as-of, latest first: each
    with the earlier appeal it repeats and its category (the compound profile offers their chains).
    With a street (and community): only the compound's appeals placed there (one repeating an
    appeal placed elsewhere is listed without naming it)."""
    pool, links, _ = _repeats(con, as_of, None, street, community, compound_id)
    ids = pool.filter("in_place").select("i", "appeal_id", "received_at")
    out = links.join(ids, left_on="later", right_on="i").join(
        ids.select(pl.col("i").alias("earlier"), pl.col("appeal_id").alias("repeats")), on="earlier", how="left")
    kinds = frame(con, "SELECT appeal_id, category FROM appeals WHERE appeal_id IN (SELECT unnest($ids))",
                  {"ids": out["appeal_id"].to_list()})
    return out.join(kinds, on="appeal_id", how="left").select(
        "appeal_id", "category", "received_at", "repeats").sort("received_at", "appeal_id", descending=True)


def repeat_chain(con, appeal_id: str, as_of: datetime, street: str | None = None,
                 community: str | None = None) -> pl.DataFrame:
    """The chain of repeats an appeal belongs to (for the compound profile): every appeal of its
    compound and category linked to it through repeats, oldest first, each with the one it repeats.
    With a street (and community): only appeals placed there, the chosen one included."""
    in_place, params = _place("", street, community)
    rows = con.execute(f"SELECT compound_id, category FROM appeals WHERE appeal_id = $id AND {in_place}",
                       {**params, "id": appeal_id}).fetchall()
    empty = pl.DataFrame(schema={"appeal_id": pl.String, "received_at": pl.Datetime("us"),
                                 "resolved_at": pl.Datetime("us"), "content": pl.String, "repeats": pl.String,
                                 "similarity": pl.Float64})
    if not rows or rows[0][0] is None:
        return empty
    pool, links, _ = _repeats(con, as_of, None, street, community, rows[0][0], rows[0][1])
    parent = dict(zip(links["later"].to_list(), links["earlier"].to_list()))
    match = pool.filter(pl.col("appeal_id") == appeal_id)["i"].to_list()
    if not match:
        return empty

    def root(i: int) -> int:
        while i in parent:
            i = parent[i]
        return i

    # a chain is a tree grown from its first appeal: the members share that root
    top = root(match[0])
    # (linked through every appeal of the compound; shown: those placed in the scope)
    members = sorted(i for i in pool.filter("in_place")["i"].to_list() if root(i) == top)
    if len(members) < 2:
        return empty
    earlier = pool.filter("in_place").select(pl.col("i").alias("earlier"), pl.col("appeal_id").alias("repeats"))
    chain = pool.filter(pl.col("i").is_in(members)).join(links.rename({"later": "i"}), on="i", how="left").join(
        earlier, on="earlier", how="left")
    texts = frame(con, "SELECT appeal_id, content FROM appeals WHERE appeal_id IN (SELECT unnest($ids))",
                  {"ids": chain["appeal_id"].to_list()})
    return chain.join(texts, on="appeal_id", how="left").sort("i").select(empty.columns)


# ---------------------------------------------------------------- for the pages, the CLI and the PDF

def deadline_table(con, scope: Scope) -> pl.DataFrame:
    """The due-soon and overdue appeals of the scope's place as of its moment, least time left
    first, with the time left (or overdue) as a leader reads it."""
    return deadlines(con, scope.moment, scope.street, scope.community).filter(
        pl.col("state").is_not_null()).with_columns(
        time_left=pl.col("hours_left").map_elements(display.time_left, return_dtype=pl.String))


def deadline_totals(con, scope: Scope) -> dict:
    """How many appeals of the scope's place are due soon and overdue as of its moment."""
    sql, params = _deadlines_sql(con, scope.moment, scope.street, scope.community, None)
    return frame(con, f"""
        SELECT count(*) FILTER (state = 'due_soon') AS due_soon, count(*) FILTER (state = 'overdue') AS overdue
        FROM ({sql})""", params).row(0, named=True)


def deadline_counts_in(con, scope: Scope, by: str = "street") -> pl.DataFrame:
    return deadline_counts(con, scope.moment, by, scope.street, scope.community)


def alarm_table(con, scope: Scope) -> pl.DataFrame:
    """The alarms of the scope's place as of its moment, with significance = −lg score."""
    found = alarms(con, scope.moment, scope.street, scope.community)
    return found.with_columns(significance=-pl.col("score").clip(lower_bound=TINY).log10(),
                              feed_label=pl.col("feed").replace_strict(FEED_LABELS, default=pl.col("feed")))


TINY = sys.float_info.min  # a tail probability that underflowed to 0 still reads as a number


def significance(score: float) -> float:
    """−lg p, the 显著性 the catalogue declares (alerts.score)."""
    return -math.log10(max(score, TINY))


FEED_LABELS = {"appeals": "诉求", "complaints": "物业投诉", "surveys": "测评不满意"}
DEADLINE_KEYS = ["appeal_id", "street", "community", "compound_id", "category", "stage", "due_at"]
ALARM_KEYS = ["place_id", "place_name", "street", "feed", "category", "start", "observed", "expected", "score"]


def report(con, scope: Scope) -> dict:
    """What `etl alerts --json` prints: the due-soon and overdue lists, the alarms as of the
    scope's moment and the repeat rates of the appeals received in its period."""
    table = deadlines(con, scope.moment, scope.street, scope.community)
    rates = repeat_rates(con, scope)
    return {"due_soon": table.filter(IS_DUE_SOON).select(DEADLINE_KEYS).to_dicts(),
            "overdue": table.filter(IS_OVERDUE).select(DEADLINE_KEYS).to_dicts(),
            "alarms": alarms(con, scope.moment, scope.street, scope.community).select(ALARM_KEYS).to_dicts(),
            "repeats": {k: rates[k] for k in ("repeat_rate", "true_resolution_rate")}}


def summary(con, as_of: datetime, street: str | None = None, since: date | None = None) -> dict:
    """Everything the early warnings show, as of one moment (the backtest times this); the repeat
    rates over the appeals received from `since` (default: the 90 days before as-of) on."""
    start = since or (as_of - timedelta(days=90)).date()
    table = deadlines(con, as_of, street)
    return {"due_soon": table.filter(IS_DUE_SOON), "overdue": table.filter(IS_OVERDUE),
            "alarms": alarms(con, as_of, street),
            "repeats": repeat_rates(con, Scope(start, None, as_of, street))}
