"""Rankings: streets and communities by composite score (红黑榜), where a street stands, and the
one ranking rule every ranked list uses: equal scores, as shown, share a rank (1, 2, 2, 4)."""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from metrics import display
from metrics.appeals import rates_by
from metrics.catalogue import Metric, metric
from metrics.scope import Scope


def shown(score: Metric) -> pl.Expr:
    """The score as a reader sees it (the one rounding rule): two places both showing 85.5 are
    equal to the reader, whatever their exact values, so they share a rank."""
    return pl.col(score.column).map_batches(
        lambda values: display.rounded_column(values, score.unit, score.digits).cast(pl.Float64),
        return_dtype=pl.Float64)


def rank(score: Metric, *, descending: bool = True) -> pl.Expr:
    """The rank of each row by its shown `score`: equal scores share the best rank of their group
    (1, 2, 2, 4); a row without a score has none."""
    return shown(score).rank("min", descending=descending).cast(pl.Int64).alias("rank")


def ranked(frame: pl.DataFrame, score: Metric, ties: list[str]) -> pl.DataFrame:
    """`frame` best (highest shown score) first with its `rank` in front; rows without a score
    come last; `ties` order the rows of equal scores."""
    return frame.sort([shown(score), *ties], descending=[True] + [False] * len(ties), nulls_last=True).select(
        rank(score), pl.exclude("rank"))


def street_ranking(con, scope: Scope) -> pl.DataFrame:
    """Streets by composite score, best first (红黑榜); streets with no score come last."""
    return ranked(rates_by(con, scope, "street", median=False), metric("appeals.composite"), ["street"])


def community_ranking(con, scope: Scope) -> pl.DataFrame:
    """Communities by composite score, ranked as streets are (used for a one-street report)."""
    return ranked(rates_by(con, scope, "community", median=False), metric("appeals.composite"), ["community"])


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
