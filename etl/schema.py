"""The tables pages read, named by business noun, and the bookkeeping of loads: batches, every
version a batch delivered (`<table>_versions`, `<table>_deliveries`), rejected and stale rows.
Keys are unique by construction of the loader (no index: ART costs more on bulk loads).
"""

from __future__ import annotations

import functools

import duckdb

from etl.contract import BOOL, KINDS

def _every(kind: str) -> int:
    """carried_mask of a row written other than by a load (a test's, a benchmark's): it counts as
    carrying every measured column, as a batch from before the columns were recorded does."""
    return (1 << len(KINDS[kind].measured())) - 1


TABLES: dict[str, str] = {
    "compounds": f"""
        compound_id VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        street VARCHAR NOT NULL,
        community VARCHAR NOT NULL,
        grid_id VARCHAR,
        compound_type VARCHAR NOT NULL,
        households INTEGER,
        buildings INTEGER,
        micro_grids INTEGER,
        property_company VARCHAR,
        party_branch VARCHAR,
        is_key_target BOOLEAN NOT NULL,
        longitude DOUBLE,
        latitude DOUBLE,
        carried_mask USMALLINT NOT NULL DEFAULT {_every("compounds")}""",
    "appeals": f"""
        appeal_id VARCHAR NOT NULL,
        channel VARCHAR NOT NULL,
        category VARCHAR NOT NULL,
        received_at TIMESTAMP NOT NULL,
        street VARCHAR NOT NULL,
        community VARCHAR,
        compound_id VARCHAR,
        dispatched_at TIMESTAMP,
        first_response_at TIMESTAMP,
        resolved_at TIMESTAMP,
        feedback_at TIMESTAMP,
        closed_at TIMESTAMP,
        status VARCHAR,
        satisfaction VARCHAR,
        is_property BOOLEAN NOT NULL,
        content VARCHAR,
        updated_at TIMESTAMP,
        street_from_compound BOOLEAN NOT NULL,
        community_from_compound BOOLEAN NOT NULL,
        carried_mask USMALLINT NOT NULL DEFAULT {_every("appeals")}""",
    "complaints": f"""
        complaint_id VARCHAR NOT NULL,
        compound_id VARCHAR NOT NULL,
        property_company VARCHAR,
        category VARCHAR NOT NULL,
        received_at TIMESTAMP NOT NULL,
        level VARCHAR,
        is_three_party BOOLEAN NOT NULL,
        resolved_at TIMESTAMP,
        source_appeal_id VARCHAR,
        updated_at TIMESTAMP,
        company_from_compound BOOLEAN NOT NULL,
        carried_mask USMALLINT NOT NULL DEFAULT {_every("complaints")}""",
    "surveys": f"""
        response_id VARCHAR NOT NULL,
        surveyed_at DATE NOT NULL,
        compound_id VARCHAR NOT NULL,
        topic VARCHAR NOT NULL,
        score INTEGER,
        rating VARCHAR NOT NULL,
        carried_mask USMALLINT NOT NULL DEFAULT {_every("surveys")}""",
    "scenes": f"""
        event_id VARCHAR NOT NULL,
        event_date DATE NOT NULL,
        scene_name VARCHAR NOT NULL,
        scene_type VARCHAR NOT NULL,
        compound_id VARCHAR NOT NULL,
        attendees INTEGER NOT NULL,
        volunteers INTEGER,
        old_young INTEGER,
        organizer VARCHAR,
        carried_mask USMALLINT NOT NULL DEFAULT {_every("scenes")}""",
}

BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE SEQUENCE IF NOT EXISTS batch_ids START 1;
CREATE TABLE IF NOT EXISTS batches (
    batch_id INTEGER PRIMARY KEY,
    kind VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    file_hash VARCHAR NOT NULL,
    encoding VARCHAR,
    loaded_at TIMESTAMP NOT NULL,
    loaded_by VARCHAR,
    rows_read INTEGER NOT NULL,
    inserted INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    unchanged INTEGER NOT NULL,
    rejected INTEGER NOT NULL,
    ignored_columns VARCHAR,
    -- JSON list of the contract columns the file carried (absent is not zero: metrics/common.py)
    carried_columns VARCHAR,
    -- the batch whose rejected rows this one loaded again (etl.batches.recheck): undone with it
    recheck_of INTEGER,
    stale INTEGER NOT NULL DEFAULT 0,
    is_correction BOOLEAN NOT NULL DEFAULT false,
    is_undone BOOLEAN NOT NULL DEFAULT false,
    undone_at TIMESTAMP,
    undone_by VARCHAR
);
CREATE TABLE IF NOT EXISTS rejects (
    batch_id INTEGER NOT NULL,
    row_number INTEGER NOT NULL,
    raw_values VARCHAR NOT NULL,
    reason VARCHAR NOT NULL
);
-- Rows a batch did not apply because the stored record was already in a later state.
CREATE TABLE IF NOT EXISTS stale_rows (
    batch_id INTEGER NOT NULL,
    record_key VARCHAR NOT NULL,
    row_number INTEGER NOT NULL,
    reason VARCHAR NOT NULL
);
"""
# Columns added since the first schema: ALTERed into an older database when a writer opens it.
ADDED_COLUMNS = {
    "batches": ["stale INTEGER DEFAULT 0", "is_correction BOOLEAN DEFAULT false"],
    "appeals": ["updated_at TIMESTAMP", "street_from_compound BOOLEAN DEFAULT false",
                "community_from_compound BOOLEAN DEFAULT false"],
    "complaints": ["updated_at TIMESTAMP", "company_from_compound BOOLEAN DEFAULT false"],
}
# Derived columns: taken from the compound (as the registry stands) when the file left them empty.
DERIVED = {
    "appeals": {"street": ("street_from_compound", "street"), "community": ("community_from_compound", "community")},
    "complaints": {"property_company": ("company_from_compound", "property_company")},
}


# Which measured columns (contract order) a record's versions were delivered with, as bits: the
# pages count a figure over the records whose files carried its input columns (absent is not zero).
CARRIED = "carried_mask"
# Contract columns stored under another name.
STORED_AS = {"key_target": "is_key_target", "three_party": "is_three_party"}
# Never kept from a version before: given by the file's other columns (the compound by its name,
# 办理状态 by the timestamps, a survey's 评价 by its 评分 and the two together), or saying when
# this version was made (更新时间).
FILLED = {"compound_id", "status", "updated_at", "score", "rating"}


def carried_bits(table: str) -> dict[str, int]:
    """The bit of each measured column of the table's feed in `carried_mask`."""
    return {name: 1 << place for place, name in enumerate(KINDS[table].measured())}


def file_mask(table: str, headers) -> int:
    """`carried_mask` of the rows of a file with these contract columns."""
    return sum(bit for name, bit in carried_bits(table).items() if name in headers)


def batch_mask(table: str, carried: str) -> str:
    """SQL: `carried_mask` of the rows of a batch, given `carried`, its `carried_columns`."""
    bits = [f"CASE WHEN {carries(carried, name)} THEN {bit} ELSE 0 END" for name, bit in carried_bits(table).items()]
    return f"CAST({' + '.join(bits) or '0'} AS USMALLINT)"


def kept_over(table: str) -> dict[str, str]:
    """stored column -> contract column: the optional values a record keeps from its earlier
    versions when a newer file lacks their column (an update says nothing of columns it lacks).
    Values the registry gives (street from the compound) and FILLED ones are not kept over."""
    stored = columns(table)
    kept = {}
    for column in KINDS[table].columns:
        name = STORED_AS.get(column.name, column.name)
        if not (column.required or column.personal or name not in stored or name in DERIVED.get(table, {})
                or name in FILLED):
            kept[name] = column.name
    return kept


def absent_value(table: str, column: str) -> str:
    """SQL: what a record holds in `column` when no file gave it (a flag reads false)."""
    contract = kept_over(table)[column]
    return "FALSE" if KINDS[table].column(contract).type == BOOL else "NULL"


def columns(table: str) -> list[str]:
    """The data columns of a table, in order (without the batch bookkeeping)."""
    return [line.split()[0] for line in TABLES[table].strip().splitlines()]


def key(table: str) -> str:
    return columns(table)[0]


def carries(carried: str, column: str) -> str:
    """SQL: the file of a batch had `column`, given `carried`, the batch's `carried_columns` (a
    batch recorded before files' columns were kept counts as having them all)."""
    return f"coalesce(contains({carried}, '\"{column}\"'), TRUE)"


def present(con, table: str) -> set[str]:
    """The columns `table` has in the database `con` reads (none if it has no such table)."""
    return {c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE database_name = "
                                      "current_database() AND table_name = ?", [table]).fetchall()}


def outdated(con) -> bool:
    """Whether the database `con` reads was written before the current schema (its next write
    upgrades it: create_all)."""
    have = {(t, c) for (t, c) in con.execute("SELECT table_name, column_name FROM duckdb_columns() "
                                             "WHERE database_name = current_database()").fetchall()}
    return not _current_columns() <= have


@functools.cache
def _current_columns() -> frozenset[tuple[str, str]]:
    con = duckdb.connect()
    create_all(con)
    return frozenset(con.execute("SELECT table_name, column_name FROM duckdb_columns() "
                                 "WHERE database_name = current_database()").fetchall())


def select_list(con, table: str, wanted: list[str]) -> str:
    """`wanted` columns of `table` for a SELECT. A database written before a column was added
    gets it on its next write (create_all); until then readers see the value that write gives."""
    have = present(con, table)
    added = {spec.split()[0]: spec for spec in ADDED_COLUMNS.get(table, [])}
    return ", ".join(column if column in have else _added_value(added[column]) for column in wanted)


def _added_value(spec: str) -> str:
    name, sql_type, *rest = spec.split()
    default = rest[1] if rest[:1] == ["DEFAULT"] else "NULL"
    return f"CAST({default} AS {sql_type}) AS {name}"


# meta key: the first batch loaded with versions kept (absent in a database that always had them).
VERSIONS_SINCE = "versions_since_batch"


def create_all(con) -> None:
    existing = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    con.execute(BOOKKEEPING)
    # A database written before a bookkeeping column existed gets it on its next write.
    con.execute("ALTER TABLE batches ADD COLUMN IF NOT EXISTS carried_columns VARCHAR")
    con.execute("ALTER TABLE batches ADD COLUMN IF NOT EXISTS recheck_of INTEGER")
    for table, body in TABLES.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({body},\n        batch_id INTEGER NOT NULL)")
        con.execute(f"CREATE TABLE IF NOT EXISTS {table}_versions ({body},\n        batch_id INTEGER NOT NULL)")
        con.execute(f"CREATE TABLE IF NOT EXISTS {table}_deliveries (batch_id INTEGER NOT NULL, "
                    f"{key(table)} VARCHAR NOT NULL, origin_batch INTEGER NOT NULL)")
    have = {(t, c) for (t, c) in con.execute("SELECT table_name, column_name FROM duckdb_columns() "
                                             "WHERE database_name = current_database()").fetchall()}
    for table in TABLES:
        for stored in (table, f"{table}_versions", f"{table}_history"):
            if (stored, "batch_id") in have and (stored, CARRIED) not in have:
                _add_carried(con, table, stored)
    if "appeals_history" in existing:
        _upgrade(con)


def _add_carried(con, table: str, stored: str) -> None:
    """A table written before records kept which columns their versions carried: each row had
    exactly what its own batch's file carried (a record did not keep values over then)."""
    con.execute(f"ALTER TABLE {stored} ADD COLUMN {CARRIED} USMALLINT")
    con.execute(f"""UPDATE {stored} SET {CARRIED} = b.mask
                    FROM (SELECT batch_id, {batch_mask(table, 'carried_columns')} AS mask FROM batches) b
                    WHERE {stored}.batch_id = b.batch_id""")


def _upgrade(con) -> None:
    """A database written before versions were kept: add the new columns, and keep the row images
    its `_history` tables held as versions (each is the content a batch delivered)."""
    for table, added in ADDED_COLUMNS.items():
        for column in added:
            con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column}")
    for table in TABLES:
        cols = ", ".join(columns(table))
        history = f"{table}_history"
        for column in ADDED_COLUMNS.get(table, []):
            con.execute(f"ALTER TABLE {history} ADD COLUMN IF NOT EXISTS {column}")
        con.execute(f"INSERT INTO {table}_versions ({cols}, batch_id) SELECT {cols}, batch_id FROM {history}")
        con.execute(f"DROP TABLE {history}")
    # Batches before this point recorded no unchanged re-sends; undo needs to know which they are.
    con.execute(f"INSERT OR REPLACE INTO meta VALUES ('{VERSIONS_SINCE}', "
                "(SELECT CAST(coalesce(max(batch_id), 0) + 1 AS VARCHAR) FROM batches))")
