"""Service scenes (服务场景): the summary, events by type, place, compound or scene, the most
attended scenes, coverage and the compounds without an event. Events are placed by their compound."""

from __future__ import annotations

import polars as pl

from etl.db import frame
from metrics.common import carried_counts, carried_sql, ratio
from metrics.common import summary as with_absent
from metrics.scope import Scope, merged, period, place, where
from settings import reference

ATTENDANCE = "CAST(coalesce(sum(s.attendees), 0) AS BIGINT) AS attendance"
# Absent is not zero: "—" for a group whose events all came in files without 一老一小人次, as on
# the summary card; a group without events has none (0).
OLD_YOUNG = "CAST(CASE WHEN count(*) = 0 OR bool_or(k.c_old_young) THEN coalesce(sum(s.old_young), 0) END AS BIGINT) AS old_young"
TOTALS = f"count(*) AS events, {ATTENDANCE}, {OLD_YOUNG}"


def carried_join() -> str:
    """The join that gives each event `s` its file's carried flags as `k` (for OLD_YOUNG)."""
    return f"LEFT JOIN ({carried_sql('scenes')}) k ON k.carried_mask = s.carried_mask"


def _events(scope: Scope) -> tuple[str, dict]:
    """The FROM and WHERE of the scope's events, joined to their compounds as c."""
    condition, params = where(period("s.event_date", scope, is_date=True), place("c.", scope))
    return f"scenes s JOIN compounds c USING (compound_id) {carried_join()} WHERE {condition}", params


def summary(con, scope: Scope) -> dict:
    in_place, place_params = place("", scope)
    in_period, period_params = period("s.event_date", scope, is_date=True)
    row = frame(con, f"""
        WITH scoped AS (SELECT * FROM compounds WHERE {in_place}),
             e AS (SELECT s.*, carried.* EXCLUDE (carried_mask) FROM scenes s JOIN scoped USING (compound_id)
                   LEFT JOIN ({carried_sql("scenes")}) carried ON carried.carried_mask = s.carried_mask
                   WHERE {in_period})
        SELECT (SELECT count(*) FROM e) AS events,
               (SELECT coalesce(sum(attendees), 0) FROM e) AS attendance,
               (SELECT coalesce(sum(old_young), 0) FROM e) AS old_young,
               (SELECT count(DISTINCT compound_id) FROM e) AS covered,
               (SELECT count(*) FROM scoped) AS compounds,
               (SELECT {carried_counts("scenes")} FROM e) AS carried_old_young""",
                merged(place_params, period_params)).to_dicts()[0]
    return with_absent("scenes", row, row["events"], {
        "events": row["events"], "attendance": int(row["attendance"]), "old_young": int(row["old_young"]),
        "coverage": ratio(row["covered"], row["compounds"])})


DIMENSIONS = {"scene_type": "s.scene_type", "street": "c.street", "community": "c.community",
              "compound_id": "s.compound_id", "compound_type": "c.compound_type",
              "scene_name": "s.scene_name"}


def by(con, scope: Scope, dimension: str) -> pl.DataFrame:
    """Events, attendance and 一老一小 by scene type, street, compound, compound type or scene."""
    events, params = _events(scope)
    result = frame(con, f"""
        SELECT {DIMENSIONS[dimension]} AS {dimension}, {TOTALS}
        FROM {events} GROUP BY ALL ORDER BY attendance DESC, {dimension}""", params)
    if dimension != "scene_type":
        return result
    # Every one of the six types is listed, in the reference order, even without events.
    types = pl.DataFrame({"scene_type": reference()["scene_types"]})
    return types.join(result, on="scene_type", how="left").with_columns(
        pl.when(pl.col("events").is_null()).then(0).otherwise(pl.col("old_young")).alias("old_young")).with_columns(
        pl.col("events", "attendance").fill_null(0))


def by_compound(con, scope: Scope) -> pl.DataFrame:
    """Events, attendance and 一老一小 per compound that held at least one event, most attended first."""
    events, params = _events(scope)
    return frame(con, f"""
        SELECT s.compound_id, any_value(c.name) AS name, any_value(c.street) AS street,
               any_value(c.compound_type) AS compound_type, {TOTALS}
        FROM {events} GROUP BY s.compound_id ORDER BY attendance DESC, s.compound_id""", params)


def top(con, scope: Scope, limit: int = 10) -> pl.DataFrame:
    """The most attended scenes (by name, with their type), and in how many compounds they ran."""
    events, params = _events(scope)
    return frame(con, f"""
        SELECT s.scene_name, s.scene_type, count(*) AS events, count(DISTINCT s.compound_id) AS compounds,
               {ATTENDANCE}, {OLD_YOUNG}
        FROM {events} GROUP BY ALL ORDER BY attendance DESC, s.scene_name, s.scene_type LIMIT $limit""",
                 merged(params, {"limit": limit}))


MIX_DIMENSIONS = {"street": "c.street", "community": "c.community", "compound_type": "c.compound_type"}


def mix(con, scope: Scope, dimension: str) -> pl.DataFrame:
    """Events, attendance and 一老一小 by street (community, compound type) and scene type, for
    stacked charts; only combinations with events are listed."""
    events, params = _events(scope)
    return frame(con, f"""
        SELECT {MIX_DIMENSIONS[dimension]} AS {dimension}, s.scene_type, {TOTALS}
        FROM {events} GROUP BY ALL ORDER BY {dimension}, s.scene_type""", params)


COVERAGE_DIMENSIONS = {"street": "street", "community": "community", "compound_type": "compound_type"}


def coverage_by(con, scope: Scope, dimension: str) -> pl.DataFrame:
    """Compounds, compounds with at least one event in the period, and coverage, by street,
    community or compound type (by type every one of the six is listed, in reference order)."""
    column = COVERAGE_DIMENSIONS[dimension]
    in_place, place_params = place("", scope)
    in_period, period_params = period("event_date", scope, is_date=True)
    result = frame(con, f"""
        WITH c AS (SELECT * FROM compounds WHERE {in_place}),
        covered AS (SELECT DISTINCT compound_id FROM scenes WHERE {in_period})
        SELECT c.{column} AS {dimension}, count(*) AS compounds,
               count(covered.compound_id) AS covered
        FROM c LEFT JOIN covered USING (compound_id)
        GROUP BY ALL ORDER BY {dimension}""", merged(place_params, period_params)).cast(
        {"compounds": pl.Int64, "covered": pl.Int64})
    if dimension == "compound_type":
        types = pl.DataFrame({"compound_type": reference()["compound_types"]})
        result = types.join(result, on="compound_type", how="left").with_columns(
            pl.col("compounds", "covered").fill_null(0))
    return result.with_columns(
        pl.when(pl.col("compounds") > 0).then(pl.col("covered") / pl.col("compounds")).alias("coverage"))


def compounds_without_events(con, scope: Scope) -> pl.DataFrame:
    """The compounds in scope that held no service-scene event in the period."""
    in_place, place_params = place("c.", scope)
    in_period, period_params = period("s.event_date", scope, is_date=True)
    return frame(con, f"""
        SELECT c.compound_id, c.name, c.street, c.community, c.compound_type, c.households, c.party_branch
        FROM compounds c
        WHERE {in_place} AND NOT EXISTS (
            SELECT 1 FROM scenes s WHERE s.compound_id = c.compound_id AND {in_period})
        ORDER BY c.street, c.community, c.name, c.compound_id""", merged(place_params, period_params))
