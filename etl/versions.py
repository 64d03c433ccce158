"""Versions: which version of a record is current (the fold of the versions the live batches
delivered, in batch order, each merged into the record as its file carried it: `merged`; a
stale one does not replace a later one), and undo as "the batch had never been loaded". The
rules are in README.md (Versions, stale rows, corrections and undo).
"""

from __future__ import annotations

from etl import derived
from etl.contract import KINDS, LIFECYCLE
from etl.schema import CARRIED, DERIVED, absent_value, batch_mask, carries, columns, kept_over, key

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


def stale_condition(table: str, new: str = "s", current: str = "t") -> str:
    """SQL: the record `new` (a version applied to the stored one: `merged`) is older than the
    stored `current` one (never true for kinds without lifecycle times)."""
    fields = LIFECYCLE.get(table)
    if not fields:
        return "false"
    lacks = " OR ".join(f"({_missing(f, new, current)}"
                        + ("" if f == "satisfaction" else f" OR ({current}.{f} IS NOT NULL AND {_earlier(f, new, current)})")
                        + ")" for f in fields)
    return (f"(CASE WHEN {_updates_differ(new, current)} "
            f"THEN {new}.updated_at < {current}.updated_at ELSE ({lacks}) END)")


def _missing(field: str, new: str, current: str) -> str:
    """SQL: the stored version has `field` and the new one does not. Compared after the merge, a
    file without the column keeps the stored value: it says nothing of that column either way."""
    return f"({current}.{field} IS NOT NULL AND {new}.{field} IS NULL)"


def stale_reason(table: str, new: str = "s", current: str = "t") -> str:
    """SQL: why `new` is older than `current`, in Chinese (the first reason that holds)."""
    fields = LIFECYCLE.get(table)
    if not fields:
        return "NULL"
    updated = _label(table, "updated_at")
    cases = [f"WHEN {_updates_differ(new, current)} THEN '{STALE_NOTE}：本行“{updated}”早于库中记录'"]
    for f in fields:
        label = _label(table, f)
        cases.append(f"WHEN {_missing(f, new, current)} THEN '{STALE_NOTE}：库中记录已有“{label}”，本行没有'")
        if f != "satisfaction":
            cases.append(f"WHEN {current}.{f} IS NOT NULL AND {_earlier(f, new, current)} "
                         f"THEN '{STALE_NOTE}：本行“{label}”早于库中记录'")
    return f"(CASE {' '.join(cases)} END)"


def merged(table: str, new: str, current: str | None, carried, mask: str) -> str:
    """SQL: the SELECT list (every data column) of the record once the version `new` is applied
    to the stored `current` (None, or NULL in a LEFT JOIN: there is none). The version gives the
    columns its file carried (`carried(contract column)`: SQL); the optional values it lacked are
    kept from `current`, or absent; 办理状态 the file gave none of follows the timestamps; and
    `mask` (SQL: the version's carried_mask) adds to what the record was delivered with."""
    kept = kept_over(table)
    values = {}
    for column in columns(table):
        if column in kept:
            absent = absent_value(table, column)
            before = "" if current is None else f"WHEN {current}.{key(table)} IS NOT NULL THEN {current}.{column} "
            values[column] = f"CASE WHEN {carried(kept[column])} THEN {new}.{column} {before}ELSE {absent} END"
        elif column == CARRIED:
            values[column] = mask if current is None else f"CAST({mask} | coalesce({current}.{CARRIED}, 0) AS USMALLINT)"
        else:
            values[column] = f"{new}.{column}"
    if "status" in values:
        # A blank cell follows the row's own times (so a version's status is its file's alone), a
        # column the file lacks follows the merged ones.
        own = _status(f"{new}.closed_at", f"{new}.resolved_at")
        values["status"] = (f"CASE WHEN {carried('status')} THEN coalesce({new}.status, {own}) "
                            f"ELSE {_status(values['closed_at'], values['resolved_at'])} END")
    return ", ".join(f"{value} AS {column}" for column, value in values.items())


def delivers(table: str, headers: set[str], origin_carried: str) -> str:
    """SQL: a re-send equal to the stored version is kept as a delivery of that version (the fold
    takes the re-send's columns from its row) only where that version's file (`origin_carried`:
    its carried_columns) carried every such column the re-send did: a value the row holds from
    a version before it can change with an undo, the re-send's own values cannot."""
    own = [c for c in (*kept_over(table).values(), "status") if c in headers]
    return " AND ".join(carries(origin_carried, c) for c in own) or "TRUE"


def _status(closed: str, resolved: str) -> str:
    """SQL: 办理状态 as the timestamps say it, where the file gave none."""
    return f"CASE WHEN ({closed}) IS NOT NULL THEN '已结案' WHEN ({resolved}) IS NOT NULL THEN '已办结' ELSE '办理中' END"


def file_carried(headers: set[str]):
    """`carried` for the rows of one file: the contract columns it had."""
    return lambda field: "TRUE" if field in headers else "FALSE"


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
    version_mask = batch_mask(table, "s.carried_in")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE fold AS
        SELECT {merged(table, "s", None, _carried_in, version_mask)}, s.batch_id, s.at_batch
        FROM fold_versions s WHERE s.step = 1""")
    steps = con.execute("SELECT coalesce(max(step), 0) FROM fold_versions").fetchall()[0][0]
    for step in range(2, steps + 1):
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE fold_candidates AS
            SELECT {merged(table, "s", "t", _carried_in, version_mask)}, s.batch_id, s.at_batch, s.is_correction
            FROM fold_versions s JOIN fold t ON t.{k} = s.{k} WHERE s.step = {step}""")
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE fold_taken AS
            SELECT s.{k} FROM fold_candidates s JOIN fold t ON t.{k} = s.{k}
            WHERE (s.is_correction OR NOT {stale_condition(table)}) AND NOT {_same(table)}""")
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE fold AS
            SELECT * FROM fold WHERE {k} NOT IN (SELECT {k} FROM fold_taken)
            UNION ALL
            SELECT * EXCLUDE (is_correction) FROM fold_candidates WHERE {k} IN (SELECT {k} FROM fold_taken)""")
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
    # What changes: live rows that are no longer the fold's result go back to the versions; the
    # fold's results not live as they are (another version, or the same one with other values kept
    # over from versions before it) take their place, and out of the versions.
    col_list = ", ".join(cols)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE fold_out AS
        SELECT l.{k}, l.batch_id FROM {table} l LEFT JOIN fold f ON f.{k} = l.{k}
        WHERE l.{k} IN (SELECT {k} FROM {keys}) AND f.batch_id IS DISTINCT FROM l.batch_id""")
    going = f"EXISTS (SELECT 1 FROM fold_out m WHERE m.{k} = {table}.{k} AND m.batch_id = {table}.batch_id)"
    con.execute(f"INSERT INTO {table}_versions ({col_list}, batch_id) SELECT {col_list}, batch_id FROM {table} WHERE {going}")
    con.execute(f"DELETE FROM {table} WHERE {going}")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE fold_in AS
        SELECT f.{k}, f.batch_id FROM fold f LEFT JOIN {table} l ON l.{k} = f.{k}
        WHERE l.{k} IS NULL OR NOT {_same(table, 'f', 'l')}""")
    con.execute(f"""DELETE FROM {table}_versions WHERE EXISTS (SELECT 1 FROM fold_in m
                        WHERE m.{k} = {table}_versions.{k} AND m.batch_id = {table}_versions.batch_id)""")
    con.execute(f"DELETE FROM {table} WHERE {k} IN (SELECT {k} FROM fold_in)")
    con.execute(f"INSERT INTO {table} ({col_list}, batch_id) SELECT {col_list}, batch_id FROM fold "
                f"WHERE {k} IN (SELECT {k} FROM fold_in)")
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
    for temp in ("fold_versions", "fold", "fold_candidates", "fold_taken", "fold_out", "fold_in", "fold_unstale", "rederive"):
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

