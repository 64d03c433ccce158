"""Queries the weekly PDF (周报) needs beyond metrics/core.py, written in the same style.

Each is a named function (con, scope, ...) whose SQL takes every value as a bound parameter
through the `_period` / `_place` helpers of core, so the filters mean what they mean elsewhere.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import polars as pl

from etl.db import frame
from metrics.core import Scope, _period, _place, appeal_rates_by, iso_week_label, street_ranking


def street_standing(con, scope: Scope) -> dict | None:
    """Where the scope's street stands in the district's 红黑榜 of the same period: its rank, the
    number of ranked streets and its composite score; None for no street or no score.

    Only the rank leaves this function, not the other streets' numbers: a street leader sees his
    own street's place, as the district announces it, on the pages and in his weekly PDF alike."""
    if scope.street is None:
        return None
    ranking = street_ranking(con, replace(scope, street=None, community=None)).filter(pl.col("rank").is_not_null())
    mine = ranking.filter(pl.col("street") == scope.street)
    if mine.is_empty():
        return None
    return {"rank": mine["rank"][0], "streets": ranking.height, "composite": mine["composite"][0]}


def data_weeks(con, scope: Scope) -> list[str]:
    """The ISO weeks ('YYYY-Www', newest first) that have any appeal, complaint, survey answer or
    scene event in the scope's place and that have ended by the scope's as-of moment."""
    params: dict = {}
    sql = f"""
        WITH days AS (
            SELECT CAST(received_at AS DATE) AS day FROM appeals
                WHERE {_period('received_at', scope, params)} AND {_place('', scope, params)}
            UNION ALL
            SELECT CAST(p.received_at AS DATE) FROM complaints p JOIN compounds c USING (compound_id)
                WHERE {_period('p.received_at', scope, params)} AND {_place('c.', scope, params)}
            UNION ALL
            SELECT s.surveyed_at FROM surveys s JOIN compounds c USING (compound_id)
                WHERE {_period('s.surveyed_at', scope, params, is_date=True)} AND {_place('c.', scope, params)}
            UNION ALL
            SELECT e.event_date FROM scenes e JOIN compounds c USING (compound_id)
                WHERE {_period('e.event_date', scope, params, is_date=True)} AND {_place('c.', scope, params)}
        )
        SELECT DISTINCT CAST(date_trunc('week', day) AS DATE) AS monday FROM days
        WHERE CAST(date_trunc('week', day) AS DATE) + INTERVAL 7 DAY <= CAST($as_of AS TIMESTAMP)
        ORDER BY monday DESC"""
    mondays: list[date] = frame(con, sql, params)["monday"].to_list()
    return [iso_week_label(monday) for monday in mondays]


def community_ranking(con, scope: Scope) -> pl.DataFrame:
    """Communities by composite score, best first, ranked exactly as core.street_ranking ranks
    streets (communities with no score come last). Used for a one-street report."""
    by_community = appeal_rates_by(con, scope, "community")
    return by_community.sort(["composite", "community"], descending=[True, False], nulls_last=True).with_row_index(
        "rank", offset=1)

