"""Residents' personal data: what the loader keeps of it, and how free text is masked.

Caller names and phone numbers are dropped: nothing the dashboard shows needs them, and a hash
of an 11-digit phone number could be brute-forced back. Phone and ID-card numbers and the
caller's own name inside free text are replaced by placeholders before anything is stored,
rejected rows and rejection reasons included.
"""

from __future__ import annotations

import polars as pl

ID_CARD = r"(?:\d{17}[\dXx]|\d{15})"
MOBILE = r"(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}"
LANDLINE = r"0\d{2,3}-\d{7,8}"
# A number glued to letters or digits before it is not a phone (an order number, say). Rust's
# regex has no look-around, so the character before is captured and written back. Nothing is
# required after the number: a longer digit run loses its first 11 or 18 digits, which errs on
# the side of privacy.
_BEFORE = r"(^|[^\dA-Za-z])"

ID_MASK = "[身份证号已隐去]"
PHONE_MASK = "[电话已隐去]"
NAME_MASK = "[姓名已隐去]"


def mask_text(text: pl.Expr, name: pl.Expr | None = None) -> pl.Expr:
    """Free text with ID-card numbers, phone numbers and (if given) the caller's name masked."""
    masked = text
    for pattern, mask in ((ID_CARD, ID_MASK), (MOBILE, PHONE_MASK), (LANDLINE, PHONE_MASK)):
        masked = masked.str.replace_all(_BEFORE + pattern, "${1}" + mask)
    if name is None:
        return masked
    # A one-character "name" would blank out ordinary words; real names have two or more.
    return (
        pl.when(name.str.len_chars() >= 2)
        .then(masked.str.split(name).list.join(NAME_MASK))
        .otherwise(masked)
    )


def mask_column(text: pl.Series, names: pl.Series | None = None) -> pl.Series:
    """mask_text for a whole column, applied only to the rows that need it: those with a run of
    seven or more digits, or containing the caller's name (most rows have neither)."""
    frame = pl.DataFrame({"text": text, "name": names if names is not None else pl.Series([None] * len(text),
                                                                                              dtype=pl.String)})
    needs = frame.select(
        pl.col("text").str.contains(r"\d{7}")
        | ((pl.col("name").str.len_chars() >= 2) & pl.col("text").str.contains(pl.col("name"), literal=True))
    ).to_series().fill_null(False)
    if not needs.any():
        return text
    masked = frame.filter(needs).select(mask_text(pl.col("text"), pl.col("name"))).to_series()
    return text.scatter(needs.arg_true(), masked)
