"""The daily rollup of appeals, kept by the loader: written inside the writer's transaction and
recomputed for exactly the days a load, an undo or a registry change touched.

Per received day and place (street, community) and per compound, channel and category, the
counts behind every appeal rate (`appeals.count_columns`) evaluated as of infinity, per day
the moment from which those counts hold (`appeals.settled_sql`), and the appeals still open
(`appeals.open_rows_sql`). The pages sum it for days settled
at their as-of moment and count the rows of the other days (`appeals._counts_sql`).

Writers note the days of the appeals they change, before and after changing them, so that both
the days a record leaves and the days it enters are recomputed (etl/derived.py); `refresh`,
registered as a keeper of derived tables, recomputes those days before the commit, or everything
when the rollup was built for other limits, by other code, or never.
"""

from __future__ import annotations

from pathlib import Path

from etl import derived
from etl.db import read_only, writing
from etl.derived import TOUCHED
from metrics.appeals import (ROLLUP, ROLLUP_DAYS, ROLLUP_GROUPINGS, ROLLUP_META, ROLLUP_OPEN, count_columns,
                             flagged_sql, limits, pending_until_sql, received_on, rollup_version, rollup_waiting,
                             settled_sql, stored_columns)
from metrics.common import carried_sql


def _computed(condition: str) -> tuple[str, str, str]:
    """SQL of the rollup rows, of the days' settled moments and latest stamps, and of the appeals
    still open, for the appeals matching `condition`."""
    columns = count_columns()
    sets = ", ".join(f"(day, street, community, {column})" for column in ROLLUP_GROUPINGS)
    which = " ".join(f"WHEN GROUPING({column}) = 0 THEN '{column}'" for column in ROLLUP_GROUPINGS)
    flagged = flagged_sql(condition, "'infinity'")
    # Counted once at the finest grain, then summed into the three groupings (three times faster
    # than grouping the rows three ways).
    rows = f"""{flagged},
        fine AS (SELECT day, street, community, {", ".join(ROLLUP_GROUPINGS)},
                        {", ".join(f"{sql} AS {name}" for name, sql in columns.items())}
                 FROM a GROUP BY ALL)
        SELECT CASE {which} END AS grouping, day, street, community, {", ".join(ROLLUP_GROUPINGS)},
               {", ".join(f"CAST(sum({name}) AS BIGINT) AS {name}" for name in columns)}
        FROM fine GROUP BY GROUPING SETS ({sets})"""
    # The day's latest resolution and end of deadlines: seen before them, some appeal of the day
    # that has the moment was still open (appeals without it are in the open table).
    days = (f"{flagged} SELECT day, {settled_sql()} AS settled_at, max(resolved_at) AS last_resolved_at, "
            f"max({pending_until_sql()}) AS last_pending_until FROM a GROUP BY day")
    # An extract without 结案时间 closes nothing: the appeals leave the open table by the end of
    # their deadlines instead, or it would hold every appeal of such a feed.
    still_open = (f"SELECT * FROM (SELECT {stored_columns()}, {pending_until_sql()} AS pending_until "
                  f"FROM appeals LEFT JOIN ({carried_sql('appeals')}) carried USING (carried_mask) WHERE {condition}) "
                  "WHERE resolved_at IS NULL OR pending_until IS NULL")
    return rows, days, still_open


def refresh(con) -> None:
    """Bring the rollup up to date with the appeals table, inside the caller's transaction."""
    found = con.execute("SELECT value FROM meta WHERE key = ?", [ROLLUP_META]).fetchall()
    touched = con.execute(f"SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = '{TOUCHED}'"
                          ).fetchall()[0][0]
    rebuild = not found or found[0][0] != rollup_version()
    if rebuild:
        condition = "TRUE"
    elif touched:
        condition = received_on(TOUCHED)
    else:
        return
    rows, days, still_open = _computed(condition)
    for table, sql, day in ((ROLLUP, rows, "day"), (ROLLUP_DAYS, days, "day"),
                            (ROLLUP_OPEN, still_open, "CAST(received_at AS DATE)")):
        params = limits() if table != ROLLUP_OPEN else {}
        if rebuild:  # also when the rollup's columns changed with the code
            con.execute(f"CREATE OR REPLACE TABLE {table} AS {sql}", params)
        else:
            con.execute(f"DELETE FROM {table} WHERE {day} IN (SELECT day FROM {TOUCHED})")
            con.execute(f"INSERT INTO {table} {sql}", params)
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [ROLLUP_META, rollup_version()])


derived.register(refresh)


def rebuild(con) -> None:
    """Recompute the whole rollup: for appeals written other than through the loader (the
    benchmarks' generated rows, a test's hand-made ones)."""
    con.execute("DELETE FROM meta WHERE key = ?", [ROLLUP_META])
    refresh(con)


def rebuild_file(db_path: Path) -> int | None:
    """Rebuild the rollup of a database file as a writer does (the lock, a private copy, published
    on success), for `python -m etl rollup` and the data desk: the number of days it holds, or None
    when it was usable (nothing written: a publish would turn every reader's cache cold)."""
    with read_only(db_path) as con:
        if not rollup_waiting(con):
            return None
    with writing(db_path) as con:
        rebuild(con)
        return con.execute(f"SELECT count(*) FROM {ROLLUP_DAYS}").fetchall()[0][0]
