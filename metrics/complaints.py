"""Property complaints (物业投诉): the summary, complaints by category, level, street or compound
type, the 三方办 share, and the property companies compared. Complaints are placed by their
compound's street and community."""

from __future__ import annotations

import polars as pl

from etl.db import frame
from metrics.common import carried_counts, carried_sql, median_duration, ratio, satisfied
from metrics.common import summary as with_absent
from metrics.scope import Condition, Scope, merged, period, place, where
from settings import reference


def scoped_sql(scope: Scope) -> Condition:
    """The complaints of the scope with their compound's facts and which columns their file carried."""
    condition, params = where(period("p.received_at", scope), place("c.", scope))
    return f"""
        SELECT p.*, c.name, c.street, c.community, c.households, c.is_key_target, c.compound_type,
               p.resolved_at <= $as_of AS is_resolved, carried.* EXCLUDE (carried_mask)
        FROM complaints p JOIN compounds c USING (compound_id)
             LEFT JOIN ({carried_sql("complaints")}) carried ON carried.carried_mask = p.carried_mask
        WHERE {condition}""", params


def summary(con, scope: Scope) -> dict:
    """投诉量, resolution rate and median days to resolve, with `absent_columns`."""
    complaints, params = scoped_sql(scope)
    row = frame(con, f"""
        SELECT count(*) AS complaints, count(*) FILTER (is_resolved) AS resolved,
               {median_duration("received_at", "resolved_at", "days", "is_resolved")} AS median_days,
               {carried_counts("complaints")}
        FROM ({complaints})""", params).to_dicts()[0]
    return with_absent("complaints", row, row["complaints"], {
        "complaints": row["complaints"], "resolution_rate": ratio(row["resolved"], row["carried_resolved_at"]),
        "median_days_to_resolve": row["median_days"]})


def three_party_summary(con, scope: Scope) -> dict:
    """How many complaints of the period were handled by a 三方办 meeting (community, owners'
    committee, property company), and their share."""
    complaints, params = scoped_sql(scope)
    row = frame(con, f"""
        SELECT count(*) AS complaints, count(*) FILTER (is_three_party) AS three_party,
               {carried_counts("complaints")}
        FROM ({complaints})""", params).to_dicts()[0]
    return with_absent("complaints", row, row["complaints"], {
        "complaints": row["complaints"], "three_party": row["three_party"],
        "three_party_share": ratio(row["three_party"], row["carried_three_party"])})


DIMENSIONS = {"category": "p.category", "level": "coalesce(p.level, '未注明')",
              "street": "c.street", "compound_type": "c.compound_type"}


def by(con, scope: Scope, dimension: str) -> pl.DataFrame:
    """Complaints, resolution and 三方办 share by category, handling level, street or compound type.

    By level, the four levels of the reference list come first in their order, each listed even
    without complaints; complaints with no level recorded are counted as 未注明.
    """
    column = DIMENSIONS[dimension]
    condition, params = where(period("p.received_at", scope), place("c.", scope))
    result = frame(con, f"""
        WITH p AS (
            SELECT {column} AS key, p.received_at, p.resolved_at, p.is_three_party,
                   p.resolved_at <= $as_of AS is_resolved, carried.* EXCLUDE (carried_mask)
            FROM complaints p JOIN compounds c USING (compound_id)
                 LEFT JOIN ({carried_sql("complaints")}) carried ON carried.carried_mask = p.carried_mask
            WHERE {condition})
        SELECT key AS {dimension}, count(*) AS complaints,
               count(*) FILTER (is_resolved) AS resolved,
               {median_duration("received_at", "resolved_at", "days", "is_resolved")} AS median_days_to_resolve,
               count(*) FILTER (is_three_party) AS three_party,
               {carried_counts("complaints")}
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
        pl.when((party_known > 0) | (pl.col("complaints") == 0)).then(pl.col("three_party")).alias("three_party"),
    ).drop("carried_resolved_at", "carried_three_party")


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
    in_place, place_params = place("", scope)
    complaints_period, complaint_params = period("p.received_at", scope)
    surveys_period, survey_params = period("s.surveyed_at", scope, is_date=True)
    params = merged(place_params, complaint_params, survey_params,
                    {"no_company": NO_PROPERTY_COMPANY, "topic": PROPERTY_SURVEY_TOPIC})
    return frame(con, f"""
        WITH c AS (SELECT compound_id, households, coalesce(property_company, $no_company) AS company
                   FROM compounds WHERE {in_place}),
        registry AS (SELECT company, count(*) AS compounds,
                            CAST(sum(households) AS BIGINT) AS households FROM c GROUP BY company),
        pc AS (SELECT c.company, count(*) AS complaints,
                      count(*) FILTER (p.resolved_at <= $as_of) AS resolved,
                      {median_duration("p.received_at", "p.resolved_at", "days", "p.resolved_at <= $as_of")}
                          AS median_days_to_resolve,
                      count(*) FILTER (p.is_three_party) AS three_party,
                      count(*) FILTER (carried.c_resolved_at) AS resolve_known,
                      count(*) FILTER (carried.c_three_party) AS party_known
               FROM complaints p JOIN c USING (compound_id)
                    JOIN ({carried_sql("complaints")}) carried ON carried.carried_mask = p.carried_mask
               WHERE {complaints_period} GROUP BY c.company),
        sv AS (SELECT c.company, count(*) AS survey_answers,
                      count(*) FILTER ({satisfied("s.rating")}) AS survey_satisfied
               FROM surveys s JOIN c USING (compound_id)
               WHERE {surveys_period} AND s.topic = $topic GROUP BY c.company)
        SELECT r.company AS property_company, r.compounds, r.households,
               coalesce(pc.complaints, 0) AS complaints,
               CASE WHEN r.households > 0 THEN coalesce(pc.complaints, 0) * 100.0 / r.households END
                   AS complaints_per_100_households,
               pc.resolved / nullif(pc.resolve_known, 0) AS resolution_rate,
               pc.median_days_to_resolve,
               CASE WHEN pc.complaints IS NULL THEN 0 WHEN pc.party_known > 0 THEN pc.three_party END AS three_party,
               coalesce(sv.survey_answers, 0) AS survey_answers,
               sv.survey_satisfied / sv.survey_answers AS survey_satisfaction_rate
        FROM registry r LEFT JOIN pc USING (company) LEFT JOIN sv USING (company)
        ORDER BY complaints_per_100_households DESC NULLS LAST, complaints DESC, property_company""",
                 params)
