"""Satisfaction surveys (满意度测评): the summary, answers by topic, street, compound type or
compound, the weekly trend and the lowest-rated compounds. Answers are placed by their compound."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import polars as pl

from etl.db import frame
from metrics.common import ratio, satisfied
from metrics.scope import SEEN_THROUGH, Scope, iso_week_label, period, place, seen_through, where


def summary(con, scope: Scope) -> dict:
    row = frame(con, *_aggregate(scope, "")).to_dicts()[0]
    return {"answers": row["answers"], "satisfaction_rate": ratio(row["satisfied"], row["answers"]),
            "average_score": row["average_score"]}


def _aggregate(scope: Scope, group: str, key: str = "", place_scope: Scope | None = None) -> tuple[str, dict]:
    """answers, satisfied and average_score of the scope's answers, grouped by `group` (SQL)."""
    condition, params = where(period("s.surveyed_at", scope, is_date=True), place("c.", place_scope or scope))
    return f"""
        SELECT {key} count(*) AS answers, count(*) FILTER ({satisfied("s.rating")}) AS satisfied,
               avg(s.score) AS average_score
        FROM surveys s JOIN compounds c USING (compound_id)
        WHERE {condition} {f"GROUP BY {group}" if group else ""}""", params


DIMENSIONS = {"topic": "s.topic", "street": "c.street", "community": "c.community",
              "compound_type": "c.compound_type", "compound_id": "s.compound_id"}


def by(con, scope: Scope, dimension: str) -> pl.DataFrame:
    """Survey answers, satisfaction rate and average score by topic, street, community, compound
    type or compound (with its name), most answers first."""
    column = DIMENSIONS[dimension]
    name = "any_value(c.name) AS name, any_value(c.street) AS street_name," if dimension == "compound_id" else ""
    sql, params = _aggregate(scope, column, f"{column} AS {dimension}, {name}")
    result = frame(con, f"{sql} ORDER BY answers DESC, {dimension}", params)
    if dimension == "compound_id":
        result = result.rename({"street_name": "street"})
    return result.with_columns((pl.col("satisfied") / pl.col("answers")).alias("satisfaction_rate"))


def rate_by_compound(con, scope: Scope) -> pl.DataFrame:
    """Each compound's answers and satisfaction rate of the period."""
    return by(con, scope, "compound_id").select(
        "compound_id", pl.col("answers").alias("survey_answers"),
        pl.col("satisfaction_rate").alias("survey_satisfaction_rate"))


def trend(con, scope: Scope, weeks: int = 12) -> pl.DataFrame:
    """Survey answers, satisfaction rate and average score of the last `weeks` ISO weeks up to the
    end of the scope (every week listed; answers dated after as-of left out)."""
    last_day = scope.seen_end() - timedelta(days=1)
    first_monday = last_day - timedelta(days=last_day.weekday()) - timedelta(weeks=weeks - 1)
    window = replace(scope, start=first_monday, end=last_day + timedelta(days=1))
    week = "CAST(date_trunc('week', s.surveyed_at) AS DATE)"
    rows = frame(con, *_aggregate(window, week, f"{week} AS week_start,", place_scope=scope))
    by_week = {r["week_start"]: r for r in rows.to_dicts()}
    out = []
    for index in range(weeks):
        monday = first_monday + timedelta(weeks=index)
        row = by_week.get(monday)
        out.append({"week": iso_week_label(monday), "week_start": monday, **seen_through(monday, 7, scope),
                    "answers": row["answers"] if row else 0,
                    "satisfaction_rate": ratio(row["satisfied"], row["answers"]) if row else None,
                    "average_score": row["average_score"] if row else None})
    return pl.DataFrame(out, schema={"week": pl.String, "week_start": pl.Date, **SEEN_THROUGH, "answers": pl.Int64,
                                     "satisfaction_rate": pl.Float64, "average_score": pl.Float64})


def lowest_rated(con, scope: Scope, limit: int = 10, min_answers: int = 3) -> pl.DataFrame:
    """The compounds with the lowest survey satisfaction rate (then lowest average score) among
    those with at least `min_answers` answers in the period and not all of them satisfied: a
    "lowest" list of 100 % compounds would point at nothing to mend."""
    by_compound = by(con, scope, "compound_id").filter((pl.col("answers") >= min_answers)
                                                       & (pl.col("satisfaction_rate") < 1))
    return by_compound.sort(["satisfaction_rate", "average_score", "answers", "compound_id"],
                            descending=[False, False, True, False], nulls_last=True).head(limit)
