"""The pages' only way to numbers: cached calls of the metrics functions (core and views).

- One `etl.db.Reader` per database path (st.cache_resource): read-only connections that reopen
  when a load publishes a new file.
- Each metric call is cached (st.cache_data) under the function, its arguments and the database
  file's identity (`etl.db.file_identity`: inode and mtime). A load replaces the file, so the
  identity changes and every page computes fresh numbers on its next run; entries of the old file
  simply age out.
- A Scope reaches the cache as its fields; as-of moments are already rounded to the minute by
  dashboard/state.py, so reruns within a minute hit the cache.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import streamlit as st

from etl import batches
from etl.db import Reader, file_identity
from metrics import core, views, weekly
from metrics.core import Scope
from settings import database_path

# The functions pages may call, by name (the cache key holds the name, not the function object).
FUNCTIONS = {
    name: getattr(module, name)
    for module, names in (
        (core, ("appeal_summary", "appeal_rates_by", "street_ranking", "weekly_trend", "overdue_appeals",
                "overdue_by", "complaint_summary", "complaints_by_compound", "key_targets", "hot_spots",
                "unranked_compounds", "compound_types", "survey_summary", "scenes_by", "scene_summary")),
        (views, ("appeal_funnel", "appeal_backlog", "complaints_by", "three_party_summary",
                 "property_companies", "key_target_progress", "key_targets_worsening", "key_target_monthly",
                 "surveys_by", "survey_trend", "lowest_rated_compounds", "scenes_by_compound", "top_scenes",
                 "scene_coverage_by", "scene_mix", "compounds_without_events", "compound_totals", "compounds_by_street", "compound_list",
                 "compound_summary", "compound_history")),
        (weekly, ("street_standing", "community_ranking")),
    )
    for name in names
}
# Functions that take a connection only (no scope).
PLAIN_FUNCTIONS = {"feed_freshness": core.feed_freshness, "is_demo": core.is_demo,
                   "communities": views.communities, "compound_profile": views.compound_profile,
                   "default_targeted_since": views.default_targeted_since}


def db_path() -> Path:
    return database_path()


def database_exists() -> bool:
    return file_identity(db_path()) is not None


@st.cache_resource(show_spinner=False)
def _reader(path: str) -> Reader:
    return Reader(Path(path))


def _scope_key(scope: Scope) -> tuple:
    return (scope.start, scope.end, scope.moment, scope.street, scope.community)


# cache_data, not cache_resource, although unpickling a copy on every hit costs 7 % of the
# server's CPU with 20 readers: one polars frame shared by several sessions' threads deadlocked
# the server (bench_serving, about one fresh start in eight: threads stuck inside polars calls on
# the same frame while another held the GIL). Each session gets its own frame.
@st.cache_data(show_spinner=False, ttl=6 * 3600, max_entries=4000)
def _cached(name: str, path: str, identity: tuple | None, scope_key: tuple | None, args: tuple,
            kwargs: tuple):
    fn = FUNCTIONS[name] if scope_key is not None else PLAIN_FUNCTIONS[name]
    con = _reader(path).cursor()
    try:
        if scope_key is None:
            return fn(con, *args, **dict(kwargs))
        start, end, as_of, street, community = scope_key
        return fn(con, Scope(start, end, as_of, street, community), *args, **dict(kwargs))
    finally:
        con.close()


def _call(name: str, scope: Scope | None, *args, **kwargs):
    path = db_path()
    return _cached(name, str(path), file_identity(path), None if scope is None else _scope_key(scope),
                   args, tuple(sorted(kwargs.items())))


def identity() -> tuple | None:
    return file_identity(db_path())


# ---------------------------------------------------------------- about the data

def is_demo() -> bool:
    return _call("is_demo", None)


def feed_freshness():
    return _call("feed_freshness", None)


def communities(street: str | None = None) -> list[str]:
    return _call("communities", None, street)["community"].unique(maintain_order=True).to_list()


def compound_profile(compound_id: str) -> dict | None:
    return _call("compound_profile", None, compound_id)


def default_targeted_since() -> date | None:
    return _call("default_targeted_since", None)


# ---------------------------------------------------------------- appeals

def appeal_summary(scope: Scope) -> dict:
    return _call("appeal_summary", scope)


def appeal_rates_by(scope: Scope, dimension: str):
    return _call("appeal_rates_by", scope, dimension)


def street_ranking(scope: Scope):
    return _call("street_ranking", scope)


def street_standing(scope: Scope) -> dict | None:
    return _call("street_standing", scope)


def community_ranking(scope: Scope):
    return _call("community_ranking", scope)


def weekly_trend(scope: Scope, weeks: int = 12):
    return _call("weekly_trend", scope, weeks)


def overdue_appeals(scope: Scope):
    return _call("overdue_appeals", scope)


def overdue_by(scope: Scope, dimensions: tuple[str, ...] = ("street",)):
    return _call("overdue_by", scope, tuple(dimensions))


def appeal_funnel(scope: Scope):
    return _call("appeal_funnel", scope)


def appeal_backlog(scope: Scope):
    return _call("appeal_backlog", scope)


# ---------------------------------------------------------------- property complaints

def complaint_summary(scope: Scope) -> dict:
    return _call("complaint_summary", scope)


def complaints_by(scope: Scope, dimension: str):
    return _call("complaints_by", scope, dimension)


def three_party_summary(scope: Scope) -> dict:
    return _call("three_party_summary", scope)


def key_targets(scope: Scope):
    return _call("key_targets", scope)


def key_target_progress(scope: Scope, since: date | None = None):
    return _call("key_target_progress", scope, since)


def key_targets_worsening(scope: Scope):
    return _call("key_targets_worsening", scope)


def key_target_monthly(scope: Scope, months: int = 12):
    return _call("key_target_monthly", scope, months)


def hot_spots(scope: Scope):
    return _call("hot_spots", scope)


def unranked_compounds(scope: Scope) -> int:
    return _call("unranked_compounds", scope)


def property_companies(scope: Scope):
    return _call("property_companies", scope)


# ---------------------------------------------------------------- compounds

def compound_types(scope: Scope):
    return _call("compound_types", scope)


def compound_totals(scope: Scope) -> dict:
    return _call("compound_totals", scope)


def compounds_by_street(scope: Scope, by: str = "street"):
    return _call("compounds_by_street", scope, by)


def compound_list(scope: Scope, search: str | None = None):
    return _call("compound_list", scope, search or None)


def compound_summary(scope: Scope, compound_id: str) -> dict:
    return _call("compound_summary", scope, compound_id)


def compound_history(scope: Scope, compound_id: str, months: int = 12):
    return _call("compound_history", scope, compound_id, months)


# ---------------------------------------------------------------- surveys

def survey_summary(scope: Scope) -> dict:
    return _call("survey_summary", scope)


def surveys_by(scope: Scope, dimension: str):
    return _call("surveys_by", scope, dimension)


def survey_trend(scope: Scope, weeks: int = 12):
    return _call("survey_trend", scope, weeks)


def lowest_rated_compounds(scope: Scope, limit: int = 10, min_answers: int = 3):
    return _call("lowest_rated_compounds", scope, limit, min_answers)


# ---------------------------------------------------------------- scenes

def scene_summary(scope: Scope) -> dict:
    return _call("scene_summary", scope)


def scenes_by(scope: Scope, dimension: str):
    return _call("scenes_by", scope, dimension)


def scenes_by_compound(scope: Scope):
    return _call("scenes_by_compound", scope)


def top_scenes(scope: Scope, limit: int = 10):
    return _call("top_scenes", scope, limit)


def scene_coverage_by(scope: Scope, dimension: str):
    return _call("scene_coverage_by", scope, dimension)


def compounds_without_events(scope: Scope):
    return _call("compounds_without_events", scope)


def scene_mix(scope: Scope, dimension: str):
    return _call("scene_mix", scope, dimension)


# ---------------------------------------------------------------- load history (数据管理)
# Cached like every other read, under the database file's identity: a load, undo or re-check
# publishes a new file, so the history and rejected rows are read afresh on the next run.

PLAIN_FUNCTIONS.update({"batch_history": batches.history, "batch_rejects": batches.rejects,
                        "batch_rejects_csv": batches.rejects_csv, "batch_stale": batches.stale,
                        "batch_stale_csv": batches.stale_csv})


def batch_history():
    """Every batch, newest first (etl.batches.history)."""
    return _call("batch_history", None)


def batch_rejects(batch_id: int):
    """A batch's rejected rows: row_number, reason, raw_values (JSON)."""
    return _call("batch_rejects", None, int(batch_id))


def batch_rejects_csv(batch_id: int) -> bytes:
    """A batch's rejected rows as a CSV for Excel (UTF-8 with BOM, formula-safe)."""
    return _call("batch_rejects_csv", None, int(batch_id))


def batch_stale(batch_id: int):
    """A batch's rows not applied because the stored record was later (etl.batches.stale)."""
    return _call("batch_stale", None, int(batch_id))


def batch_stale_csv(batch_id: int) -> bytes:
    """Those rows as a CSV for Excel (UTF-8 with BOM, formula-safe)."""
    return _call("batch_stale_csv", None, int(batch_id))
