"""Versions: which version of a record is current (the fold of the versions the live batches
delivered, in batch order; a stale one does not replace a later one), and undo as "the batch
had never been loaded". The rules are in README.md (Versions, stale rows, corrections and undo).
"""

from __future__ import annotations

from etl import derived
from etl.contract import KINDS, LIFECYCLE
from etl.schema import DERIVED, carries, columns, key

STALE_NOTE = "较旧版本，未覆盖"


def _label(table: str, column: str) -> str:
    return KINDS[table].column(column).headers[0]


def _updates_differ(new: str, current: str) -> str:
    """SQL: both versions carry an explicit update time and the times differ: they decide. Equal
    times (a date-only 更新时间, one export) say nothing; the lifecycle decides then."""
    return (f"{new}.updated_at IS NOT NULL AND {current}.updated_at IS NOT NULL "
            f"AND {new}.updated_at <> {current}.updated_at")


def _earlier(field: str, new: str, current: str) -> str:
    """SQL: the new version's time is earlier, by the minute: a time re-saved by Excel loses its
    seconds (10:00:45 read back as 10:00) and is the same time, not an older one. False, not
    NULL, when either has no time: the load's CASE and the fold's WHERE must read it alike."""
    return f"coalesce(date_trunc('minute', {new}.{field}) < date_trunc('minute', {current}.{field}), FALSE)"


def _always(field: str) -> str:
    return "TRUE"


def stale_condition(table: str, new: str = "s", current: str = "t", carried=_always) -> str:
    """SQL: the row `new` is older than the stored `current` one (never true for kinds without
    lifecycle times). `carried(field)`: SQL, true where the new row's file had that column."""
    fields = LIFECYCLE.get(table)
    if not fields:
        return "false"
    lacks = " OR ".join(f"({_missing(table, f, new, current, carried)}"
                        + ("" if f == "satisfaction" else f" OR ({current}.{f} IS NOT NULL AND {_earlier(f, new, current)})")
                        + ")" for f in fields)
    return (f"(CASE WHEN {_updates_differ(new, current)} "
            f"THEN {new}.updated_at < {current}.updated_at ELSE ({lacks}) END)")


def _newer(table: str, new: str, current: str) -> str:
    """SQL: the new version has got further than the stored one: its latest lifecycle time is
    later (by the minute) than every time the stored one has. A time the stored version merely
    lacks is not enough: an older extract without 结案时间 sent again brings a 回访时间 the stored
    one (from a file without that column) lacks, yet it is older than the closure."""
    times = [f for f in LIFECYCLE[table] if f != "satisfaction"]
    latest_new = f"greatest({', '.join(f'{new}.{f}' for f in times)})"
    latest_current = f"greatest({', '.join(f'{current}.{f}' for f in times)})"
    return (f"coalesce(date_trunc('minute', {latest_new}) > coalesce(date_trunc('minute', {latest_current}), "
            f"CAST('-infinity' AS TIMESTAMP)), FALSE)")


def _missing(table: str, field: str, new: str, current: str, carried) -> str:
    """SQL: the stored version has `field` and the new one does not, which counts against the new
    one when its file had the column, or when it brings nothing newer in the others: an extract
    without 回访时间 that adds the 结案时间 is newer; one that adds nothing would only erase the
    stored callback (its file says nothing about callbacks either way)."""
    return (f"({current}.{field} IS NOT NULL AND {new}.{field} IS NULL "
            f"AND ({carried(field)} OR NOT {_newer(table, new, current)}))")


def stale_reason(table: str, new: str = "s", current: str = "t", carried=_always) -> str:
    """SQL: why `new` is older than `current`, in Chinese (the first reason that holds)."""
    fields = LIFECYCLE.get(table)
    if not fields:
        return "NULL"
    updated = _label(table, "updated_at")
    cases = [f"WHEN {_updates_differ(new, current)} THEN '{STALE_NOTE}：本行“{updated}”早于库中记录'"]
    for f in fields:
        label = _label(table, f)
        cases.append(f"WHEN {_missing(table, f, new, current, carried)} THEN '{STALE_NOTE}：库中记录已有“{label}”，本行没有'")
        if f != "satisfaction":
            cases.append(f"WHEN {current}.{f} IS NOT NULL AND {_earlier(f, new, current)} "
                         f"THEN '{STALE_NOTE}：本行“{label}”早于库中记录'")
    return f"(CASE {' '.join(cases)} END)"


def file_carried(columns: set[str]):
    """`carried` for the rows of one file: the contract columns it had."""
    return lambda field: "TRUE" if field in columns else "FALSE"


def _same(table: str, new: str = "s", current: str = "t") -> str:
    """SQL: the two versions hold the same record, as a load would compare them (values taken
    from the compound are the same whenever both took them: the registry decides them)."""
    flags = {col: flag for col, (flag, _) in DERIVED.get(table, {}).items()}
    same = [f"({new}.{flags[c]} AND {current}.{flags[c]} OR {new}.{c} IS NOT DISTINCT FROM {current}.{c})"
            if c in flags else f"{new}.{c} IS NOT DISTINCT FROM {current}.{c}" for c in columns(table)[1:]]
    return "(" + " AND ".join(same) + ")"


def content_rows(table: str) -> str:
    """Every content row of a table, current or not: (columns…, batch_id)."""
    cols = ", ".join(columns(table))
    return f"(SELECT {cols}, batch_id FROM {table} UNION ALL SELECT {cols}, batch_id FROM {table}_versions)"


def _delivered(table: str, keys: str) -> str:
    """SQL: every version the batches delivered for the records in the temp table `keys`, with
    the batch that delivered it (`at_batch`) and the content row it is (`batch_id`)."""
    k = key(table)
    cols = ", ".join(f"c.{c}" for c in columns(table))
    return f"""
        SELECT {cols}, c.batch_id, c.batch_id AS at_batch FROM {content_rows(table)} c
        WHERE c.{k} IN (SELECT {k} FROM {keys})
        UNION ALL
        SELECT {cols}, c.batch_id, d.batch_id AS at_batch FROM {table}_deliveries d
        JOIN {content_rows(table)} c ON c.{k} = d.{k} AND c.batch_id = d.origin_batch
        WHERE d.{k} IN (SELECT {k} FROM {keys})"""


def _carried_in(field: str) -> str:
    """`carried` in the fold: the file of the batch delivering the version had the column."""
    return carries("s.carried_in", field)


def _compound_since() -> str:
    """SQL: each compound and the first live batch that put it into the registry."""
    return """(SELECT compound_id, min(at_batch) AS since FROM (
                 SELECT compound_id, batch_id AS at_batch FROM compounds
                 UNION ALL SELECT compound_id, batch_id FROM compounds_versions
                 UNION ALL SELECT compound_id, batch_id FROM compounds_deliveries) v
               JOIN batches b ON b.batch_id = v.at_batch AND NOT b.is_undone GROUP BY compound_id)"""


def refold(con, table: str, keys: str) -> dict[str, int]:
    """Make the current version of each record in the temp table `keys` the fold of its live
    versions (see the module's docstring); returns how many records were removed (no live
    version left) and restored (another version became current)."""
    k = key(table)
    cols = columns(table)
    if table == "appeals":  # the days the records leave; those they enter are noted below
        derived.touch(con, f"{k} IN (SELECT {k} FROM {keys})")
    valid = ""
    if table != "compounds":
        valid = (f"AND (v.compound_id IS NULL OR v.compound_id IN "
                 f"(SELECT compound_id FROM {_compound_since()} WHERE since < v.at_batch))")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE fold_versions AS
        SELECT v.*, b.is_correction, b.carried_columns AS carried_in,
               row_number() OVER (PARTITION BY v.{k} ORDER BY v.at_batch) AS step
        FROM ({_delivered(table, keys)}) v JOIN batches b ON b.batch_id = v.at_batch
        WHERE NOT b.is_undone {valid}""")
    con.execute("CREATE OR REPLACE TEMP TABLE fold AS SELECT * EXCLUDE (is_correction, carried_in, step) "
                "FROM fold_versions WHERE step = 1")
    steps = con.execute("SELECT coalesce(max(step), 0) FROM fold_versions").fetchall()[0][0]
    for step in range(2, steps + 1):
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE fold_taken AS
            SELECT s.{k} FROM fold_versions s JOIN fold t ON t.{k} = s.{k}
            WHERE s.step = {step} AND (s.is_correction OR NOT {stale_condition(table, carried=_carried_in)})
              AND NOT {_same(table)}""")
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE fold AS
            SELECT * FROM fold WHERE {k} NOT IN (SELECT {k} FROM fold_taken)
            UNION ALL
            SELECT * EXCLUDE (is_correction, carried_in, step) FROM fold_versions
            WHERE step = {step} AND {k} IN (SELECT {k} FROM fold_taken)""")
    # Counted by what the pages see: a record now holding other values, or none.
    restored = con.execute(f"SELECT count(*) FROM fold f LEFT JOIN {table} l ON l.{k} = f.{k} "
                           f"WHERE l.{k} IS NULL OR NOT {_same(table, 'f', 'l')}").fetchall()[0][0]
    removed = con.execute(f"SELECT count(*) FROM {table} WHERE {k} IN (SELECT {k} FROM {keys}) "
                          f"AND {k} NOT IN (SELECT {k} FROM fold)").fetchall()[0][0]
    # A content whose first delivery is undone stays current through a later batch's re-send: that
    # batch becomes its row (a fresh load would name it), so figures that follow the batch (the
    # columns its file carried) agree with the replay.
    con.execute(f"""
        INSERT INTO {table}_versions ({', '.join(cols)}, batch_id)
        SELECT {', '.join(cols)}, at_batch FROM fold WHERE at_batch <> batch_id""")
    con.execute(f"""
        DELETE FROM {table}_deliveries WHERE EXISTS (
            SELECT 1 FROM fold f WHERE f.at_batch <> f.batch_id AND f.{k} = {table}_deliveries.{k}
              AND f.at_batch = {table}_deliveries.batch_id)""")
    con.execute("UPDATE fold SET batch_id = at_batch")
    # What changes: live rows that are no longer the fold's result go back to the versions, and
    # the fold's results that are not live come out of them.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE fold_out AS
        SELECT l.{k}, l.batch_id FROM {table} l LEFT JOIN fold f ON f.{k} = l.{k}
        WHERE l.{k} IN (SELECT {k} FROM {keys}) AND f.batch_id IS DISTINCT FROM l.batch_id""")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE fold_in AS
        SELECT f.{k}, f.batch_id FROM fold f LEFT JOIN {table} l ON l.{k} = f.{k}
        WHERE l.batch_id IS DISTINCT FROM f.batch_id""")
    col_list = ", ".join(cols)
    for source, target, chosen in ((table, f"{table}_versions", "fold_out"), (f"{table}_versions", table, "fold_in")):
        picked = f"EXISTS (SELECT 1 FROM {chosen} m WHERE m.{k} = {source}.{k} AND m.batch_id = {source}.batch_id)"
        con.execute(f"INSERT INTO {target} ({col_list}, batch_id) SELECT {col_list}, batch_id FROM {source} "
                    f"WHERE {picked}")
        con.execute(f"DELETE FROM {source} WHERE {picked}")
    if table == "appeals":
        derived.touch(con, f"{k} IN (SELECT {k} FROM {keys})")
    # A row held back as older is stale no more once its version is the current one (the later
    # version it lost to was undone): the batch's stale list says what holds now, and the row
    # counts among the batch's updates.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE fold_unstale AS
        SELECT r.batch_id, r.record_key FROM stale_rows r JOIN fold f
          ON r.record_key = CAST(f.{k} AS VARCHAR) AND r.batch_id = f.batch_id""")
    con.execute("""
        UPDATE batches SET stale = stale - u.n, updated = updated + u.n
        FROM (SELECT batch_id, count(*) AS n FROM fold_unstale GROUP BY batch_id) u
        WHERE batches.batch_id = u.batch_id""")
    con.execute("""
        DELETE FROM stale_rows WHERE EXISTS (SELECT 1 FROM fold_unstale u
            WHERE u.batch_id = stale_rows.batch_id AND u.record_key = stale_rows.record_key)""")
    if table in DERIVED:
        con.execute(f"CREATE OR REPLACE TEMP TABLE rederive AS SELECT DISTINCT l.compound_id FROM {table} l "
                    f"JOIN fold_in f ON f.{k} = l.{k} AND f.batch_id = l.batch_id WHERE l.compound_id IS NOT NULL")
        rederive(con, "rederive", tables=[table])
    for temp in ("fold_versions", "fold", "fold_taken", "fold_out", "fold_in", "fold_unstale", "rederive"):
        con.execute(f"DROP TABLE IF EXISTS {temp}")
    return {"removed": removed, "restored": restored}


def rederive(con, compound_ids: str, tables: list[str] | None = None) -> int:
    """Give the current rows naming the compounds in the temp table `compound_ids` the street,
    community and property company the registry now says, where the file left them to the
    compound; returns how many rows changed."""
    changed = 0
    for table in tables or list(DERIVED):
        from_compound = DERIVED[table]
        if table == "appeals":
            derived.touch(con, f"compound_id IN (SELECT compound_id FROM {compound_ids})")
        sets = ", ".join(f"{col} = CASE WHEN {flag} THEN c.{source} ELSE {table}.{col} END"
                         for col, (flag, source) in from_compound.items())
        differs = " OR ".join(f"({flag} AND {table}.{col} IS DISTINCT FROM c.{source})"
                              for col, (flag, source) in from_compound.items())
        found = con.execute(f"""
            UPDATE {table} SET {sets} FROM compounds c
            WHERE {table}.compound_id = c.compound_id AND c.compound_id IN (SELECT compound_id FROM {compound_ids})
              AND ({differs})""").fetchall()
        changed += found[0][0] if found else 0
    return changed


def undo_batch(con, batch_ids: list[int], kind: str) -> dict[str, int]:
    """Mark the batches (of one kind) undone and fold again everything they could have changed;
    inside the caller's transaction. Returns removed / restored (records of the batches' kind)
    and moved (rows of other kinds that changed because the registry did)."""
    table = KINDS[kind].table
    k = key(table)
    since = f"SELECT compound_id, since FROM {_compound_since()}"
    if kind == "compounds":
        con.execute(f"CREATE OR REPLACE TEMP TABLE since_before AS {since}")
    con.execute("UPDATE batches SET is_undone = true WHERE list_contains($b, batch_id)", {"b": batch_ids})
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE undo_keys AS
        SELECT {k} FROM {table} WHERE list_contains($b, batch_id)
        UNION SELECT {k} FROM {table}_versions WHERE list_contains($b, batch_id)
        UNION SELECT {k} FROM {table}_deliveries WHERE list_contains($b, batch_id)""", {"b": batch_ids})
    counts = refold(con, table, "undo_keys")
    counts["moved"] = 0
    if kind == "compounds":
        con.execute("CREATE OR REPLACE TEMP TABLE touched AS SELECT compound_id FROM undo_keys")
        # Compounds that enter the registry later now, or not at all: rows naming them in the
        # batches between are as if rejected, so their records fall back to another version, or go.
        con.execute(f"CREATE OR REPLACE TEMP TABLE leaving AS SELECT compound_id FROM (SELECT * FROM since_before "
                    f"EXCEPT {since})")
        for other in ("appeals", "complaints", "surveys", "scenes"):
            other_key = key(other)
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE undo_keys AS
                SELECT DISTINCT {other_key} FROM {content_rows(other)} c
                WHERE compound_id IN (SELECT compound_id FROM leaving)""")
            moved = refold(con, other, "undo_keys")
            counts["moved"] += moved["removed"] + moved["restored"]
        counts["moved"] += rederive(con, "touched")
        for temp in ("touched", "since_before", "leaving"):
            con.execute(f"DROP TABLE IF EXISTS {temp}")
    con.execute("DROP TABLE IF EXISTS undo_keys")
    derived.keep(con)
    return counts

