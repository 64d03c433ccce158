"""Residents' personal data: what the loader keeps of it, and how free text is masked.

Names are dropped. A phone number is kept only as a keyed hash (HMAC-SHA256 with a secret kept
beside the database, never inside it), so repeat callers can be counted without anyone being
able to read or brute-force the number back from the database alone. Phone and ID-card numbers
and the caller's own name inside free text are replaced by placeholders before anything is
stored, rejected rows included.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

import polars as pl

ID_CARD = r"(?:\d{17}[\dXx]|\d{15})"
MOBILE = r"(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}"
LANDLINE = r"0\d{2,3}-\d{7,8}"
# A number glued to other digits or letters is not a phone (an order number, say). Rust's regex
# has no look-around, so the neighbours are captured and written back; two passes catch
# numbers that share one separator.
_BEFORE = r"(^|[^\dA-Za-z])"
_AFTER = r"(\D|$)"

ID_MASK = "[身份证号已隐去]"
PHONE_MASK = "[电话已隐去]"
NAME_MASK = "[姓名已隐去]"


def mask_text(text: pl.Expr, name: pl.Expr | None = None) -> pl.Expr:
    """Free text with ID-card numbers, phone numbers and (if given) the caller's name masked."""
    masked = text
    for pattern, mask in ((ID_CARD, ID_MASK), (MOBILE, PHONE_MASK), (LANDLINE, PHONE_MASK)):
        for _ in range(2):
            masked = masked.str.replace_all(_BEFORE + pattern + _AFTER, "${1}" + mask + "${2}")
    if name is None:
        return masked
    # A one-character "name" would blank out ordinary words; real names have two or more.
    return (
        pl.when(name.str.len_chars() >= 2)
        .then(masked.str.split(name).list.join(NAME_MASK))
        .otherwise(masked)
    )


def _key_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".key")


def pii_key(db_path: Path) -> bytes:
    """The secret for phone hashes: DASHBOARD_PII_KEY, else a random key created beside the db."""
    env = os.environ.get("DASHBOARD_PII_KEY")
    if env:
        return env.encode()
    path = _key_path(db_path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def phone_hash(phones: pl.Expr, key: bytes) -> pl.Expr:
    """A keyed hash of the phone's digits; null for an empty phone."""

    def digest(value: str | None) -> str | None:
        digits = "".join(ch for ch in value if ch.isdigit()) if value else ""
        if not digits:
            return None
        return hmac.new(key, digits.encode(), hashlib.sha256).hexdigest()[:24]

    # One HMAC per distinct phone, not per row: extracts repeat callers a lot.
    return phones.map_elements(digest, return_dtype=pl.String, skip_nulls=True)
