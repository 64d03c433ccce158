"""The tables pages read, named by business noun, and the bookkeeping of loads.

Each data table has a `<table>_history` twin holding the row images a batch replaced, so that a
batch can later be undone exactly. Keys are unique by construction of the loader (classify, then
update or insert); no index is declared because DuckDB's ART index costs more on bulk loads
than the hash joins it would replace.
"""

from __future__ import annotations

TABLES: dict[str, str] = {
    "compounds": """
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
        latitude DOUBLE""",
    "appeals": """
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
        content VARCHAR""",
    "complaints": """
        complaint_id VARCHAR NOT NULL,
        compound_id VARCHAR NOT NULL,
        property_company VARCHAR,
        category VARCHAR NOT NULL,
        received_at TIMESTAMP NOT NULL,
        level VARCHAR,
        is_three_party BOOLEAN NOT NULL,
        resolved_at TIMESTAMP,
        source_appeal_id VARCHAR""",
    "surveys": """
        response_id VARCHAR NOT NULL,
        surveyed_at DATE NOT NULL,
        compound_id VARCHAR NOT NULL,
        topic VARCHAR NOT NULL,
        score INTEGER,
        rating VARCHAR NOT NULL""",
    "scenes": """
        event_id VARCHAR NOT NULL,
        event_date DATE NOT NULL,
        scene_name VARCHAR NOT NULL,
        scene_type VARCHAR NOT NULL,
        compound_id VARCHAR NOT NULL,
        attendees INTEGER NOT NULL,
        volunteers INTEGER,
        old_young INTEGER,
        organizer VARCHAR""",
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
    -- JSON list of the contract columns the file carried (absent is not zero: metrics/core.py)
    carried_columns VARCHAR,
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
"""


def columns(table: str) -> list[str]:
    """The data columns of a table, in order (without the batch bookkeeping)."""
    return [line.split()[0] for line in TABLES[table].strip().splitlines()]


def create_all(con) -> None:
    con.execute(BOOKKEEPING)
    # A database written before a bookkeeping column existed gets it on its next write.
    con.execute("ALTER TABLE batches ADD COLUMN IF NOT EXISTS carried_columns VARCHAR")
    for table, body in TABLES.items():
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} ({body},\n        batch_id INTEGER NOT NULL)")
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {table}_history ({body},\n"
            "        batch_id INTEGER NOT NULL, replaced_by_batch INTEGER NOT NULL)"
        )
