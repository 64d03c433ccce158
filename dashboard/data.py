"""The pages' only way to numbers: `get(fn, scope, *args)` calls a metrics function (or any read
of the database taking a connection first) through one cache.

- One `etl.db.Reader` per database path (st.cache_resource): read-only connections that reopen
  when a load publishes a new file.
- Each call is cached (st.cache_data) under the function's module and name, its arguments, the
  scope's fields and the database file's identity (`etl.db.file_identity`: inode and mtime). A
  load replaces the file, so the identity changes and every page computes fresh numbers on its
  next run; entries of the old file simply age out.
- As-of moments are rounded to the minute by dashboard/state.py, so reruns within a minute hit
  the cache.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Callable

import streamlit as st

from etl import batches
from etl.db import Reader, file_identity
from metrics import compounds
from metrics.scope import Scope
from settings import database_path


def db_path() -> Path:
    return database_path()


def database_exists() -> bool:
    return file_identity(db_path()) is not None


def identity() -> tuple | None:
    return file_identity(db_path())


@st.cache_resource(show_spinner=False)
def _reader(path: str) -> Reader:
    return Reader(Path(path))


# cache_data, not cache_resource: one polars frame shared by several sessions' threads deadlocked
# the server (README, "Serving"); each session gets its own copy.
@st.cache_data(show_spinner=False, ttl=6 * 3600, max_entries=4000)
def _cached(module: str, name: str, path: str, identity: tuple | None, scope: tuple | None, args: tuple):
    fn = getattr(importlib.import_module(module), name)
    con = _reader(path).cursor()
    try:
        return fn(con, *args) if scope is None else fn(con, Scope(*scope), *args)
    finally:
        con.close()


def get(fn: Callable, scope: Scope | None = None, *args):
    """fn(connection, scope, *args) — or fn(connection, *args) without a scope — cached until the
    database file changes. `fn` is a module-level function (its module and name key the cache)."""
    if "<" in fn.__qualname__:  # a lambda or a nested function cannot be found again by its name
        raise ValueError(f"data.get takes a module-level function, not {fn.__qualname__}")
    path = db_path()
    fields = None if scope is None else (scope.start, scope.end, scope.moment, scope.street, scope.community)
    return _cached(fn.__module__, fn.__qualname__, str(path), file_identity(path), fields, args)


def communities(street: str | None = None) -> list[str]:
    """The communities the sidebar offers (of one street, or of all)."""
    return get(compounds.communities, None, street)["community"].unique(maintain_order=True).to_list()


# ---------------------------------------------------------------- load history (数据管理)
# The data desk's reads, cached like every other under the database file's identity: a load, undo
# or re-check publishes a new file, so the history and rejected rows are read afresh.

def batch_history():
    """Every batch, newest first (etl.batches.history)."""
    return get(batches.history)


def batch_rejects(batch_id: int):
    """A batch's rejected rows: row_number, reason, raw_values (JSON)."""
    return get(batches.rejects, None, int(batch_id))


def batch_rejects_csv(batch_id: int) -> bytes:
    """A batch's rejected rows as a CSV for Excel (UTF-8 with BOM, formula-safe)."""
    return get(batches.rejects_csv, None, int(batch_id))


def batch_stale(batch_id: int):
    """A batch's rows not applied because the stored record was later (etl.batches.stale)."""
    return get(batches.stale, None, int(batch_id))


def batch_stale_csv(batch_id: int) -> bytes:
    """Those rows as a CSV for Excel (UTF-8 with BOM, formula-safe)."""
    return get(batches.stale_csv, None, int(batch_id))
