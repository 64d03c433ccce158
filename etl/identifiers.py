"""Record keys and compound ids as one id however they were typed: Ｋ１ is K1 (NFKC folds
full-width forms), and a zero-width space or a byte-order mark pasted into a cell is no part of
an id. Staging reads every incoming key and compound id this way (`identifiers`); a database
written before that holds ids as they came, and its first write folds them the same way
(`normalise_stored`), so that a file sent again still finds its records.

Letter case is kept: k2 and K2 may be two ids in a source system.
"""

from __future__ import annotations

import polars as pl

from etl import derived, versions
from etl.contract import KINDS
from etl.schema import TABLES, columns, key

MARKER = "identifiers"  # meta key: stored ids are folded


def identifiers(values: pl.Series) -> pl.Series:
    """The ids of a column of text, folded. Nearly every id is printable ASCII, which folding
    leaves as it is: the column is only folded when some id is not (folding costs 200 ms a
    million)."""
    odd = values.str.contains(r"[^\x21-\x7e]")
    if not odd.any():
        return values
    folded = values.str.normalize("NFKC").str.replace_all(r"\p{Cf}", "").str.strip_chars().replace("", None)
    return pl.select(pl.when(odd).then(folded).otherwise(values)).to_series().alias(values.name)


def _kind_of(table: str) -> str:
    return next(kind.name for kind in KINDS.values() if kind.table == table)


def _id_columns():
    """(table, its record key, an id column, the tables holding that column's stored values)."""
    for table in TABLES:
        record_key = key(table)
        # The compound ids a record names first: the fold of its versions checks them against the registry.
        references = (["compound_id"] if table != "compounds" and "compound_id" in columns(table) else []) + [record_key]
        for column in references:
            yield table, record_key, column, [table, f"{table}_versions"] + (
                [f"{table}_deliveries"] if column == record_key else [])


def _renamed(con, column: str, parts: list[str]) -> dict[str, str]:
    """The stored ids of `column` that fold to another id: {stored: folded}."""
    stored = pl.Series(column, [value for (value,) in con.execute(" UNION ".join(
        f"SELECT DISTINCT {column} FROM {part} WHERE regexp_matches({column}, '[^\\x21-\\x7e]')"
        for part in parts)).fetchall()], dtype=pl.String)
    return {old: new for old, new in zip(stored, identifiers(stored)) if new and new != old}


def _folded_already(con) -> bool:
    return bool(con.execute("SELECT count(*) FROM meta WHERE key = ?", [MARKER]).fetchall()[0][0])


def pending(con) -> bool:
    """The database holds ids its first write will fold (read-only: a check sees the database as
    that write would)."""
    return not _folded_already(con) and any(_renamed(con, column, parts) for _, _, column, parts in _id_columns())


def normalise_stored(con) -> None:
    """Fold the ids a database holds, once, inside the writer's session. Records whose ids fold to
    one become one record: the fold of their versions in batch order (etl/versions.py), as if the
    files had always been read this way."""
    if _folded_already(con):
        return
    changed = False
    for table, record_key, column, parts in _id_columns():
        renamed = _renamed(con, column, parts)
        if not renamed:
            continue
        con.execute("CREATE OR REPLACE TEMP TABLE renamed_ids (old VARCHAR, new VARCHAR)")
        con.executemany("INSERT INTO renamed_ids VALUES (?, ?)", list(renamed.items()))
        changed = True
        if table == "appeals":
            derived.touch(con, f"{column} IN (SELECT old FROM renamed_ids)")
        for part in parts:
            con.execute(f"UPDATE {part} SET {column} = r.new FROM renamed_ids r WHERE {part}.{column} = r.old")
        if column == record_key:
            con.execute(f"""
                UPDATE stale_rows SET record_key = r.new FROM renamed_ids r
                WHERE stale_rows.record_key = r.old AND stale_rows.batch_id IN
                      (SELECT batch_id FROM batches WHERE kind = '{_kind_of(table)}')""")
            con.execute(f"CREATE OR REPLACE TEMP TABLE folded_keys AS SELECT DISTINCT new AS {record_key} FROM renamed_ids")
            versions.refold(con, table, "folded_keys")
            con.execute("DROP TABLE folded_keys")
        con.execute("DROP TABLE renamed_ids")
    con.execute("INSERT INTO meta VALUES (?, '1')", [MARKER])
    if changed:
        derived.keep(con)
