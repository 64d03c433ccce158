"""Compounds (小区): the registry by type and place, the compound list, one compound's profile,
numbers and history, complaints per compound, the 15 key targets and their progress, and the
hot spots (most complaints per 100 households)."""

from __future__ import annotations

import calendar
from dataclasses import replace
from datetime import date, datetime, time, timedelta

import polars as pl

import settings
from etl.contract import KINDS
from etl.db import frame
from metrics import feeds, scenes
from metrics.catalogue import metric
from metrics.common import carried_counts, carried_sql, median_duration, ratio, satisfied
from metrics.complaints import scoped_sql
from metrics.rankings import rank
from metrics.scope import SEEN_THROUGH, Scope, merged, period, place, seen_through
from metrics.surveys import rate_by_compound
from settings import reference


def communities(con, street: str | None = None) -> pl.DataFrame:
    """The communities of the registry (optionally of one street), with their compound count."""
    return frame(con, f"""
        SELECT street, community, count(*) AS compounds
        FROM compounds WHERE {"street = $street" if street else "TRUE"}
        GROUP BY ALL ORDER BY street, community""", {"street": street} if street else {})


def _type_order(column: str = "compound_type") -> pl.Expr:
    order = {name: i for i, name in enumerate(reference()["compound_types"])}
    return pl.col(column).replace_strict(order, default=len(order), return_dtype=pl.Int32)


def types(con, scope: Scope) -> pl.DataFrame:
    """Count, households and share of compounds by the 6 types (every type listed, even if 0)."""
    in_place, params = place("", scope)
    counts = frame(con, f"""
        SELECT t.compound_type, count(c.compound_id) AS compounds, coalesce(sum(c.households), 0) AS households
        FROM (SELECT unnest($types) AS compound_type) t
        LEFT JOIN (SELECT * FROM compounds WHERE {in_place}) c USING (compound_type)
        GROUP BY ALL""", merged(params, {"types": reference()["compound_types"]}))
    total = counts["compounds"].sum()
    return counts.with_columns(
        (pl.col("compounds") / total if total else pl.lit(None, pl.Float64)).alias("share"),
    ).sort(_type_order()).with_columns(pl.col("households").cast(pl.Int64), pl.col("compounds").cast(pl.Int64))


def totals(con, scope: Scope) -> dict:
    """The registry in scope: compounds, households, key targets, compounds with a property
    company, with a party branch, and without map coordinates."""
    in_place, params = place("", scope)
    row = frame(con, f"""
        SELECT count(*) AS compounds, CAST(coalesce(sum(households), 0) AS BIGINT) AS households,
               count(*) FILTER (is_key_target) AS key_targets,
               count(*) FILTER (property_company IS NOT NULL) AS with_property_company,
               count(*) FILTER (party_branch IS NOT NULL) AS with_party_branch,
               count(*) FILTER (longitude IS NULL OR latitude IS NULL) AS without_coordinates,
               count(*) FILTER (households IS NULL) AS without_households
        FROM compounds WHERE {in_place}""", params).to_dicts()[0]
    row["property_company_share"] = ratio(row["with_property_company"], row["compounds"])
    return row


def by_street(con, scope: Scope, by: str = "street") -> pl.DataFrame:
    """Compounds and households by street (or by community: by='community') and compound type
    (types in reference order)."""
    column = {"street": "street", "community": "community"}[by]
    in_place, params = place("", scope)
    result = frame(con, f"""
        SELECT {column}, compound_type, count(*) AS compounds,
               CAST(coalesce(sum(households), 0) AS BIGINT) AS households
        FROM compounds WHERE {in_place}
        GROUP BY ALL""", params)
    return result.sort(pl.col(column), _type_order())


def listing(con, scope: Scope, search: str | None = None) -> pl.DataFrame:
    """Every compound in scope (optionally whose name or code contains `search`) with its facts and
    the period's appeals, complaints (per 100 households), survey satisfaction and events."""
    in_place, place_params = place("c.", scope)
    appeals, appeal_params = period("a.received_at", scope)
    complaints, _ = period("p.received_at", scope)
    surveys, _ = period("s.surveyed_at", scope, is_date=True)
    events, _ = period("e.event_date", scope, is_date=True)
    # An appeal counts where its own street is (a street its file named may differ from the registry's).
    appeals_place, _ = place("a.", scope)
    params = merged(place_params, appeal_params)
    match = "TRUE"
    if search and search.strip():
        params["search"] = search.strip().lower()
        match = "(contains(lower(c.name), $search) OR contains(lower(c.compound_id), $search))"
    return frame(con, f"""
        WITH ap AS (SELECT compound_id, count(*) AS appeals FROM appeals a
                    WHERE {appeals} AND {appeals_place} AND compound_id IS NOT NULL GROUP BY compound_id),
        cp AS (SELECT compound_id, count(*) AS complaints FROM complaints p WHERE {complaints} GROUP BY compound_id),
        sv AS (SELECT compound_id, count(*) AS survey_answers,
                      count(*) FILTER ({satisfied("rating")}) AS satisfied
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
        WHERE {in_place} AND {match}
        ORDER BY c.street, c.community, c.name, c.compound_id""", params)


def profile(con, compound_id: str) -> dict | None:
    """One compound's registry facts (None if there is no such compound)."""
    rows = frame(con, """
        SELECT compound_id, name, street, community, grid_id, compound_type, households, buildings,
               micro_grids, property_company, party_branch, is_key_target, longitude, latitude
        FROM compounds WHERE compound_id = $id""", {"id": compound_id}).to_dicts()
    return rows[0] if rows else None


def summary(con, scope: Scope, compound_id: str) -> dict:
    """One compound's numbers for the period: appeals (resolution and satisfaction rates),
    complaints (resolution rate), survey answers (satisfaction rate, average score) and events."""
    received, params = period("received_at", scope)
    surveys, _ = period("surveyed_at", scope, is_date=True)
    events, _ = period("event_date", scope, is_date=True)
    # The compound's appeals in the scope's street: one its file put in another street is that street's.
    appeals_place, place_params = place("", scope)
    params = merged(params, place_params,
                    {"id": compound_id, "resolve_h": settings.metric_settings()["resolution_limit_hours"]})
    row = frame(con, f"""
        WITH a AS (SELECT count(*) AS appeals,
                          count(*) FILTER (resolved_at <= $as_of) AS appeals_resolved,
                          count(*) FILTER (c_resolved_at) AS appeals_resolve_known,
                          count(*) FILTER ({satisfied("satisfaction")}) AS appeals_satisfied,
                          count(*) FILTER (satisfaction IS NOT NULL) AS appeals_evaluated,
                          count(*) FILTER (NOT coalesce(resolved_at <= $as_of, FALSE) AND c_resolved_at
                                           AND received_at + to_hours(CAST($resolve_h AS BIGINT)) < $as_of)
                              AS overdue_open
                   FROM appeals JOIN ({carried_sql("appeals")}) carried USING (carried_mask)
                   WHERE compound_id = $id AND {received} AND {appeals_place}),
        p AS (SELECT count(*) AS complaints, count(*) FILTER (resolved_at <= $as_of) AS complaints_resolved,
                     count(*) FILTER (c_resolved_at) AS complaints_resolve_known
              FROM complaints JOIN ({carried_sql("complaints")}) carried USING (carried_mask)
              WHERE compound_id = $id AND {received}),
        s AS (SELECT count(*) AS survey_answers,
                     count(*) FILTER ({satisfied("rating")}) AS survey_satisfied,
                     avg(score) AS average_score
              FROM surveys WHERE compound_id = $id AND {surveys}),
        e AS (SELECT count(*) AS events, {scenes.ATTENDANCE}, {scenes.OLD_YOUNG}
              FROM scenes s {scenes.carried_join()} WHERE s.compound_id = $id AND {events})
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
        "old_young": row["old_young"],
    }


def _month_start(day: date, months_back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


def _month_seen(month: date, scope: Scope) -> dict:
    """SEEN_THROUGH of the calendar month starting on `month`."""
    return seen_through(month, calendar.monthrange(month.year, month.month)[1], scope)


def _month_starts(scope: Scope, months: int) -> list[date]:
    last = _month_start(scope.seen_end() - timedelta(days=1))
    return [_month_start(last, months_back) for months_back in range(months - 1, -1, -1)]


def history(con, scope: Scope, compound_id: str, months: int = 12) -> pl.DataFrame:
    """One compound month by month over the `months` months up to the end of the scope: appeals,
    complaints, survey answers and satisfaction rate, events and attendance (every month listed;
    the last may still be running, SEEN_THROUGH)."""
    starts = _month_starts(scope, months)
    window = replace(scope, start=starts[0], end=scope.seen_end())
    received, params = period("received_at", window)
    surveys, _ = period("surveyed_at", window, is_date=True)
    events, _ = period("event_date", window, is_date=True)
    appeals_place, place_params = place("", scope)
    rows = frame(con, f"""
        SELECT 'appeals' AS feed, CAST(date_trunc('month', received_at) AS DATE) AS month, count(*) AS n,
               NULL::BIGINT AS satisfied, NULL::BIGINT AS attendance
        FROM appeals WHERE compound_id = $id AND {received} AND {appeals_place} GROUP BY ALL
        UNION ALL
        SELECT 'complaints', CAST(date_trunc('month', received_at) AS DATE), count(*), NULL, NULL
        FROM complaints WHERE compound_id = $id AND {received} GROUP BY ALL
        UNION ALL
        SELECT 'surveys', CAST(date_trunc('month', surveyed_at) AS DATE), count(*),
               count(*) FILTER ({satisfied("rating")}), NULL
        FROM surveys WHERE compound_id = $id AND {surveys} GROUP BY ALL
        UNION ALL
        SELECT 'scenes', CAST(date_trunc('month', event_date) AS DATE), count(*), NULL,
               CAST(coalesce(sum(attendees), 0) AS BIGINT)
        FROM scenes WHERE compound_id = $id AND {events} GROUP BY ALL""", merged(params, place_params, {"id": compound_id}))
    got = {(r["feed"], r["month"]): r for r in rows.to_dicts()}
    out = []
    for month in starts:
        survey = got.get(("surveys", month))
        scenes = got.get(("scenes", month))
        out.append({
            "month": month, **_month_seen(month, scope),
            "appeals": got.get(("appeals", month), {}).get("n", 0),
            "complaints": got.get(("complaints", month), {}).get("n", 0),
            "survey_answers": survey["n"] if survey else 0,
            "survey_satisfaction_rate": ratio(survey["satisfied"], survey["n"]) if survey else None,
            "events": scenes["n"] if scenes else 0,
            "attendance": scenes["attendance"] if scenes else 0,
        })
    return pl.DataFrame(out, schema={"month": pl.Date, **SEEN_THROUGH, "appeals": pl.Int64, "complaints": pl.Int64,
                                     "survey_answers": pl.Int64, "survey_satisfaction_rate": pl.Float64,
                                     "events": pl.Int64, "attendance": pl.Int64})


# ---------------------------------------------------------------- complaints per compound

def complaints_by_compound(con, scope: Scope) -> pl.DataFrame:
    """Every compound in scope with its complaints, per 100 households and resolution rate."""
    complaints, params = scoped_sql(scope)
    in_place, place_params = place("c.", scope)
    return frame(con, f"""
        WITH p AS ({complaints}),
        per_compound AS (
            SELECT compound_id, count(*) AS complaints, count(*) FILTER (is_resolved) AS resolved,
                   {median_duration("received_at", "resolved_at", "days", "is_resolved")} AS median_days_to_resolve,
                   {carried_counts("complaints")}
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
        WHERE {in_place}
        ORDER BY complaints_per_100_households DESC NULLS LAST, complaints DESC, c.compound_id""",
                 merged(params, place_params))


# The figures below are read off one `complaints_by_compound` frame: a page or the PDF that shows
# several of them computes it once.

def key_targets(by_compound: pl.DataFrame) -> pl.DataFrame:
    """The compounds of `complaints_by_compound` flagged as key targets (重点整治小区), most
    complaints per household first."""
    return by_compound.filter(pl.col("is_key_target"))


def hot_spots(by_compound: pl.DataFrame) -> pl.DataFrame:
    """The compounds of `complaints_by_compound` with the most complaints per 100 households,
    ranked (equal rates share a rank); is_new = not a key target. Compounds without a household
    count cannot be ranked and are left out."""
    count = settings.metric_settings()["hot_spot_count"]
    ranked = by_compound.filter(pl.col("complaints_per_100_households").is_not_null() & (pl.col("complaints") > 0))
    return ranked.select(rank(metric("complaints.complaints_per_100_households")), pl.all()).head(count).with_columns(
        (~pl.col("is_key_target")).alias("is_new"))


def unranked(by_compound: pl.DataFrame) -> int:
    """How many compounds of `complaints_by_compound` have complaints but no household count (left
    out of rankings)."""
    return by_compound.filter(pl.col("complaints_per_100_households").is_null() & (pl.col("complaints") > 0)).height


# ---------------------------------------------------------------- the key targets' progress

def key_targets_since(con) -> date | None:
    """When the 15 key targets were chosen: recorded with the data (the demo does), else the
    `key_targets_since` setting in data/metrics.toml, else unknown."""
    rows = con.execute("SELECT value FROM meta WHERE key = 'key_targets_since' AND value IS NOT NULL").fetchall()
    if rows:
        return settings.setting_date(rows[0][0], "数据库中记录的 key_targets_since")
    value = settings.metric_settings().get("key_targets_since")
    return settings.setting_date(value, "data/metrics.toml 的 key_targets_since") if value else None


# Where neither the data nor data/metrics.toml says when the key targets were chosen, the split
# defaults to the first day of the month five months before the newest complaint (the convention
# the demo dataset is generated with), so the comparison always has a starting point.
TARGETED_MONTHS_BEFORE_NEWEST = 5


def default_targeted_since(con) -> date | None:
    """The date the key targets were targeted: as recorded or configured, else by the rule above
    (None when there is no complaint at all)."""
    recorded = key_targets_since(con)
    if recorded:
        return recorded
    newest = con.execute("SELECT CAST(max(received_at) AS DATE) FROM complaints").fetchall()[0][0]
    return _month_start(newest, TARGETED_MONTHS_BEFORE_NEWEST) if newest else None


def key_target_status(by_compound: pl.DataFrame, survey_rates: pl.DataFrame) -> pl.DataFrame:
    """Each key target (重点整治小区) of `complaints_by_compound` and its complaints of the period:
    per 100 households, resolution rate, median days; and its survey answers and satisfaction
    (`rate_by_compound` of the same scope)."""
    return key_targets(by_compound).select(
        "compound_id", "name", "street", "community", "households", "complaints",
        "complaints_per_100_households", "resolution_rate", "median_days_to_resolve").join(
        survey_rates, on="compound_id", how="left").with_columns(pl.col("survey_answers").fill_null(0))


def progress_windows(scope: Scope, since: date) -> tuple[Scope, Scope]:
    """整治成效's two windows: "after" from `since` to the last day seen in the scope, as of the
    scope's moment; "before" as long, just before `since`, as of `since` itself."""
    end = scope.seen_end()
    before = replace(scope, start=since - timedelta(days=(end - since).days), end=since,
                     as_of=datetime.combine(since, time()))
    return before, replace(scope, start=since, end=end)


def progress_notes(scope: Scope, since: date, first: dict[str, date | None]) -> list[str]:
    """What 整治成效 says about the figures it leaves out or reads low (`key_target_progress`'
    rules), one sentence each: feeds not loaded at all, feeds whose records began inside "before"
    (absent) or inside "after" (its per-month figure counts days without records)."""
    before, after = progress_windows(scope, since)
    kinds = ("complaints", "surveys")
    unloaded = [kind for kind in kinds if first.get(kind) is None]
    loaded = tuple(kind for kind in kinds if kind not in unloaded)
    notes = [f"{'、'.join(KINDS[kind].label for kind in unloaded)}尚未导入，整治前后的相应数字显示为“—”"] if unloaded else []
    notes += [feeds.uncovered_note(first, loaded, before, named="整治前时段", shown="整治前的相应数字显示为“—”"),
              feeds.uncovered_note(first, tuple(kind for kind in loaded if kind == "complaints"), after,
                                   named="整治后时段", shown="整治后月均投诉按整个时段的天数计算，可能偏低")]
    return [f"{note}。" for note in notes if note]


def key_target_progress(con, scope: Scope, since: date) -> pl.DataFrame:
    """Each key target in scope: its status (`key_target_status`) and 整治成效 — complaints per
    month, resolution rate and survey satisfaction before and after it was targeted on `since`.

    The windows are `progress_windows'` ("before" is seen as of `since` itself: as the numbers
    stood when the compound was targeted). Per month = complaints × 30 ÷ the days the window has
    run: "before" its whole days, "after" up to the moment seen (a day still running counts as
    far as it has gone, or a steady compound would read 好转 every morning).
    `trend` is 好转 / 恶化 / 持平 comparing complaints per month after against before. A window's
    figures of a feed are absent where they would be zeros of nothing loaded: "before" when the
    feed's records began after the window's start, either window when the feed has none at all.
    """
    current = key_target_status(complaints_by_compound(con, scope), rate_by_compound(con, scope))
    before_scope, after_scope = progress_windows(scope, since)
    whole_days = (after_scope.end - since).days
    start = datetime.combine(since, time())
    run = {"before": whole_days,
           "after": (min(scope.moment, datetime.combine(after_scope.end, time())) - start) / timedelta(days=1)}
    first = feeds.first_days(con)
    out = current
    for name, window in (("before", before_scope), ("after", after_scope)):
        blank = {"complaints": whole_days <= 0, "surveys": whole_days <= 0}
        for kind in blank:
            blank[kind] |= first.get(kind) is None or (name == "before" and not feeds.covers(first, kind, window))
        if blank["complaints"]:
            counts = current.select("compound_id", pl.lit(None, pl.Int64).alias(f"complaints_{name}"),
                                    pl.lit(None, pl.Float64).alias(f"resolution_rate_{name}"))
        else:
            counts = key_targets(complaints_by_compound(con, window)).select(
                "compound_id", pl.col("complaints").alias(f"complaints_{name}"),
                pl.col("resolution_rate").alias(f"resolution_rate_{name}"))
        if blank["surveys"]:
            rates = current.select("compound_id", pl.lit(None, pl.Float64).alias(f"survey_satisfaction_{name}"))
        else:
            rates = rate_by_compound(con, window).select(
                "compound_id", pl.col("survey_satisfaction_rate").alias(f"survey_satisfaction_{name}"))
        per_month = pl.col(f"complaints_{name}") * 30.0 / run[name] if run[name] > 0 else pl.lit(None, pl.Float64)
        out = out.join(counts.join(rates, on="compound_id", how="left").with_columns(
            per_month.alias(f"complaints_per_month_{name}")), on="compound_id", how="left")
    change = pl.col("complaints_per_month_after") - pl.col("complaints_per_month_before")
    return out.with_columns(
        pl.lit(since).alias("targeted_since"),
        change.alias("complaints_per_month_change"),
        pl.when(change.is_null()).then(None).when(change < 0).then(pl.lit("好转"))
        .when(change > 0).then(pl.lit("恶化")).otherwise(pl.lit("持平")).alias("trend"),
    )


def key_targets_worsening(now: pl.DataFrame, before: pl.DataFrame) -> pl.DataFrame:
    """Key targets with more complaints in the period than in the previous one: `now` and
    `before` are `complaints_by_compound` of the period and of `Scope.previous()`."""
    previous = before.select("compound_id", pl.col("complaints").alias("previous_complaints"))
    return (key_targets(now).select("compound_id", "name", "street", "complaints")
            .join(previous, on="compound_id", how="left")
            .with_columns(pl.col("previous_complaints").fill_null(0))
            .with_columns((pl.col("complaints") - pl.col("previous_complaints")).alias("change"))
            .filter(pl.col("change") > 0)
            .sort(["change", "complaints", "compound_id"], descending=[True, True, False]))


def key_target_monthly(con, scope: Scope, months: int = 12) -> pl.DataFrame:
    """Complaints per 100 households each month, key targets against all other compounds in scope,
    over the `months` months up to the end of the scope (complaints stamped after as-of left out).

    Compounds without a household count are left out of both groups.
    """
    starts = _month_starts(scope, months)
    window = replace(scope, start=starts[0], end=scope.seen_end())
    in_place, place_params = place("", scope)
    received, period_params = period("p.received_at", window)
    rows = frame(con, f"""
        WITH c AS (SELECT * FROM compounds WHERE {in_place} AND households > 0),
        households AS (SELECT is_key_target, CAST(sum(households) AS BIGINT) AS households FROM c GROUP BY ALL),
        p AS (SELECT c.is_key_target, CAST(date_trunc('month', p.received_at) AS DATE) AS month, count(*) AS n
              FROM complaints p JOIN c USING (compound_id)
              WHERE {received} GROUP BY ALL)
        SELECT h.is_key_target, h.households, p.month, p.n
        FROM households h LEFT JOIN p USING (is_key_target)""", merged(place_params, period_params))
    households = {r["is_key_target"]: r["households"] for r in rows.select("is_key_target", "households")
                  .unique().to_dicts()}
    counts = {(r["is_key_target"], r["month"]): r["n"] for r in rows.to_dicts() if r["month"] is not None}
    out = []
    for month in starts:
        seen = _month_seen(month, scope)
        for flag, group in ((True, "重点整治小区"), (False, "其他小区")):
            n = counts.get((flag, month), 0)
            h = households.get(flag)
            out.append({"month": month, "group": group, **seen, "complaints": n, "households": h,
                        "complaints_per_100_households": n * 100.0 / h if h else None})
    return pl.DataFrame(out, schema={"month": pl.Date, "group": pl.String, **SEEN_THROUGH, "complaints": pl.Int64,
                                     "households": pl.Int64, "complaints_per_100_households": pl.Float64})
