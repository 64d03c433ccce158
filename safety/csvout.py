"""The one CSV writer of the product: every file a user downloads or the CLI writes goes through it.

Excel on a Chinese Windows opens it as it is (UTF-8 with a BOM, CRLF lines), and no cell runs as
a formula there: a text cell beginning with =, +, -, @, a tab or a carriage return gets a leading
apostrophe (OWASP "CSV injection"). Numbers stay numbers, so a negative count is not touched.
"""

from __future__ import annotations

import polars as pl

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA = r"^[=+\-@\t\r]"


def safe_cell(value) -> str:
    """One text cell Excel will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """The frame as a CSV file for Excel (headers as the frame names them, a missing value an
    empty cell); every text cell, headers included, formula-safe."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    safe = frame.with_columns(
        pl.when(pl.col(name).str.contains(_FORMULA)).then(pl.lit("'") + pl.col(name)).otherwise(pl.col(name)).alias(name)
        for name in text)
    safe = safe.rename({name: safe_cell(name) for name in safe.columns})
    return ("\ufeff" + safe.write_csv(null_value="", line_terminator="\r\n")).encode("utf-8")
