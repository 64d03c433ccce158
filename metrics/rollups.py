"""The daily rollup of appeals, kept by the loader: written inside the writer's transaction and
recomputed for exactly the days a load, an undo or a registry change touched.

Per received day and place (street, community) and per compound, channel and category, the
counts behind every appeal rate (`appeals._count_columns`) evaluated as of infinity, and per day
the moment from which those counts hold (`appeals.settled_sql`). The pages sum it for days settled
at their as-of moment and count the rows of the other days (`appeals._counts_sql`).

Writers say which appeals they change (`touch`) before and after changing them, so that both the
days a record leaves and the days it enters are recomputed; `refresh`, before the commit,
recomputes those days, or everything when the rollup was built for other limits or never.
"""

from __future__ import annotations

from metrics.appeals import (ROLLUP, ROLLUP_DAYS, ROLLUP_GROUPINGS, ROLLUP_META, _count_columns, _flagged_sql,
                             _limits, rollup_version, settled_sql)
from metrics.scope import merged

TOUCHED = "touched_appeal_days"


def touch(con, condition: str, source: str = "appeals", params: dict | None = None) -> None:
    """Note the received days of the rows of `source` (the appeals table, or an incoming frame)
    matching `condition`: their rollup is recomputed before the transaction commits."""
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {TOUCHED} (day DATE)")
    con.execute(f"INSERT INTO {TOUCHED} SELECT DISTINCT CAST(received_at AS DATE) FROM {source} WHERE {condition}",
                params or {})


def _computed(condition: str) -> tuple[str, str]:
    """SQL of the rollup rows and of the settled moments of the days matching `condition`."""
    columns = _count_columns()
    sets = ", ".join(f"(day, street, community, {column})" for column in ROLLUP_GROUPINGS)
    which = " ".join(f"WHEN GROUPING({column}) = 0 THEN '{column}'" for column in ROLLUP_GROUPINGS)
    flagged = _flagged_sql(condition, "'infinity'")
    rows = f"""{flagged}
        SELECT CASE {which} END AS grouping, day, street, community, {", ".join(ROLLUP_GROUPINGS)},
               {", ".join(f"{sql} AS {name}" for name, sql in columns.items())}
        FROM a GROUP BY GROUPING SETS ({sets})"""
    days = f"{flagged} SELECT day, {settled_sql()} AS settled_at FROM a GROUP BY day"
    return rows, days


def refresh(con) -> None:
    """Bring the rollup up to date with the appeals table, inside the caller's transaction."""
    found = con.execute("SELECT value FROM meta WHERE key = ?", [ROLLUP_META]).fetchall()
    touched = con.execute(f"SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = '{TOUCHED}'"
                          ).fetchall()[0][0]
    rebuild = not found or found[0][0] != rollup_version()
    if rebuild:
        condition = "TRUE"
    elif touched:
        condition = f"CAST(received_at AS DATE) IN (SELECT day FROM {TOUCHED})"
    else:
        return
    rows, days = _computed(condition)
    params = merged(_limits())
    exists = con.execute(f"SELECT count(*) FROM duckdb_tables() WHERE NOT temporary AND table_name = '{ROLLUP}'"
                         ).fetchall()[0][0]
    if not exists:
        con.execute(f"CREATE TABLE {ROLLUP} AS {rows} LIMIT 0", params)
        con.execute(f"CREATE TABLE {ROLLUP_DAYS} AS {days} LIMIT 0", params)
    gone = "TRUE" if rebuild else f"day IN (SELECT day FROM {TOUCHED})"
    for table, sql in ((ROLLUP, rows), (ROLLUP_DAYS, days)):
        con.execute(f"DELETE FROM {table} WHERE {gone}")
        con.execute(f"INSERT INTO {table} {sql}", params)
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [ROLLUP_META, rollup_version()])
    con.execute(f"DROP TABLE IF EXISTS {TOUCHED}")
