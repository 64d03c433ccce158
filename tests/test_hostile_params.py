"""Hostile filter values: SQL fragments, very long strings, unknown places and bad dates change
nothing but the view, and every value reaches SQL as a bound parameter (issue 7, item 5).

Two layers:
- the pages, through AppTest on the fixture database, with the hostile value in the URL's query
  parameters: no exception, the page shows exactly the numbers it shows without that parameter,
  and the database still holds every table and row afterwards;
- the metrics functions themselves (every module of metrics/ by subject), called with a Scope whose
  street and community are SQL fragments on a *writable* copy of the fixture database (so a
  spliced `DROP TABLE` would really drop it): every result is empty or zero, equal to the result
  for a harmless unknown street, and the tables are intact.
"""

from __future__ import annotations

import inspect
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from access.accounts import User
from dashboard.auth import USER_KEY
from metrics import (
    Scope,
    appeals,
    complaints,
    compounds,
    feeds,
    rankings,
    scenes,
    snapshot,
    surveys,
)

APP = str(Path(__file__).resolve().parent.parent / "app.py")
W10 = {"period": "自定义", "from": "2026-03-02", "to": "2026-03-08"}
PAGES = ("overview", "appeals", "alerts", "property", "compounds", "satisfaction", "scenes", "weekly_report")
DATA = ("compounds", "appeals", "complaints", "surveys", "scenes")
TABLES = (*DATA, "batches", "rejects", "stale_rows", "meta", *[f"{t}_versions" for t in DATA],
          *[f"{t}_deliveries" for t in DATA])

# 100 k characters, mostly ASCII so that three of them stay within Streamlit's URL limit (below).
LONG = "蓬莱" + "x" * 49_994 + "' OR 1=1 --" + "y" * 49_993
assert len(LONG) == 100_000
SQL = [
    "' OR 1=1 --",
    "'; DROP TABLE appeals; --",
    "登州街道' OR '1'='1",
    "\" OR \"\"=\"",
    "x'); DELETE FROM compounds; --",
    "$street",  # a parameter name, if values were ever formatted into the SQL text
    "%",
    "登州街道\x00' OR 1=1 --",
]
BAD_DATES = ["2026-13-45", "2026-02-30", "9999-12-31", "2026-03-02' OR '1'='1", "'; DROP TABLE appeals; --", LONG]


# ---------------------------------------------------------------- helpers

@pytest.fixture(autouse=True)
def database(fixture_db, monkeypatch):
    monkeypatch.setenv("DASHBOARD_DB", str(fixture_db))
    return fixture_db


def sign_in(at: AppTest) -> None:
    """Signed in as a district reader (all streets), the way the pages see it: session state."""
    at.session_state[USER_KEY] = User("hostile-test", "district")


def open_page(page: str, query: dict) -> AppTest:
    """The app with `query` in the URL, then `page` with the same parameters in its own URL (a
    page's own parameters, such as ?compound=, only count there)."""
    at = AppTest.from_file(APP, default_timeout=120)
    sign_in(at)
    at.query_params.update(query)
    at.run()
    if page != "overview":
        at.switch_page(f"pages/{page}.py")
        at.query_params.update(query)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    # Comparing two sign-in forms would prove nothing.
    assert not [t for t in at.text_input if t.label == "账号"], "the page asks to sign in"
    return at


def view(at: AppTest, *, skip_compound_list: bool = False) -> dict:
    """Everything a reader reads on the page: cards, tables, texts, chart count, sidebar choices."""
    frames = []
    for d in at.dataframe:
        if skip_compound_list and list(d.value.columns[:3]) == ["小区", "街道", "社区"]:
            continue
        frames.append(d.value.to_dict("list"))
    out = {
        "cards": [(m.label, m.value, m.delta) for m in at.metric],
        "tables": frames,
        "charts": len(at.get("plotly_chart")) + len(at.get("deck_gl_json_chart")),
        "titles": [t.value for t in at.title] + [t.value for t in at.subheader],
        "warnings": [w.value for w in at.warning] + [e.value for e in at.error],
        "sidebar": [(s.label, s.value, list(s.options)) for s in at.sidebar.selectbox],
    }
    if not skip_compound_list:
        out["captions"] = [c.value for c in at.caption]
        out["infos"] = [i.value for i in at.info]
        out["markdown"] = [m.value for m in at.markdown]
    return out


def row_counts(db: Path) -> dict:
    with duckdb.connect(str(db), read_only=True) as con:
        tables = sorted(r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables").fetchall())
        return {"tables": tables, **{t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                                     for t in TABLES if t in tables}}


_defaults: dict = {}


def default_view(page: str, query: dict, **kwargs) -> dict:
    key = (page, tuple(sorted(query.items())), tuple(sorted(kwargs.items())))
    if key not in _defaults:
        _defaults[key] = view(open_page(page, query), **kwargs)
    return _defaults[key]


def short(value: str) -> str:
    return repr(value if len(value) < 40 else value[:20] + f"…({len(value)} chars)")


# ---------------------------------------------------------------- the pages

def test_the_views_compared_hold_numbers():
    assert ("受理量", "7", "+6") in default_view("overview", W10)["cards"]
    assert ("受理量", "4", "+3") in default_view("overview", {**W10, "street": "蓬莱阁街道"})["cards"]
    assert default_view("compounds", W10)["tables"]


PLACE_VALUES = [*SQL, LONG, "火星街道", "不存在社区", "不存在小区(C999)"]


@pytest.mark.parametrize("value", PLACE_VALUES, ids=short)
def test_a_hostile_street_community_or_compound_in_the_url_changes_nothing(value, database):
    before = row_counts(database)
    for page in PAGES:
        got = view(open_page(page, {**W10, "street": value, "community": value, "compound": value}))
        assert got == default_view(page, W10), f"{page}: {short(value)} changed the numbers"
    assert row_counts(database) == before


def test_a_url_beyond_streamlits_limit_is_ignored_whole(database):
    """Streamlit drops a query string longer than 512 k characters (percent-encoded) as a whole:
    100 k Chinese characters encode to 900 k, so the page opens as if the URL carried nothing."""
    before = row_counts(database)
    for page in ("overview", "compounds"):
        got = view(open_page(page, {**W10, "street": "蓬" * 100_000, "search": "莱" * 100_000}))
        assert got == default_view(page, {}), page
    assert row_counts(database) == before


@pytest.mark.parametrize("value", [*SQL, LONG], ids=short)
def test_hostile_values_inside_a_chosen_street(value, database):
    """With a real street chosen, a hostile community or compound leaves that street's view."""
    before = row_counts(database)
    base = {**W10, "street": "蓬莱阁街道"}
    for page in ("overview", "appeals", "compounds"):
        got = view(open_page(page, {**base, "community": value, "compound": value}))
        assert got == default_view(page, base), page
    assert row_counts(database) == before


@pytest.mark.parametrize("value", [SQL[0], SQL[1], "本年' OR 1=1 --", LONG], ids=short)
def test_a_hostile_period_falls_back_to_the_default_period(value, database):
    before = row_counts(database)
    for page in PAGES:
        got = view(open_page(page, {**W10, "period": value}))
        assert got == default_view(page, {}), f"{page}: period={short(value)}"
    assert row_counts(database) == before


@pytest.mark.parametrize("param", ["from", "to"])
@pytest.mark.parametrize("value", BAD_DATES, ids=short)
def test_a_bad_date_in_the_url_is_ignored(param, value, database):
    before = row_counts(database)
    without = {k: v for k, v in W10.items() if k != param}
    for page in PAGES:
        got = view(open_page(page, {**without, param: value}))
        assert got == default_view(page, without), f"{page}: {param}={short(value)}"
    assert row_counts(database) == before


@pytest.mark.parametrize("value", [*SQL, LONG, "没有这个小区", "_"], ids=short)
def test_a_hostile_compound_search_finds_nothing_and_changes_nothing_else(value, database):
    before = row_counts(database)
    at = open_page("compounds", {**W10, "search": value})
    # A search matches names and codes literally: no fragment, wildcard or long string matches.
    assert f"没有名称或编码包含“{value}”的小区。" in [i.value for i in at.info]
    assert view(at, skip_compound_list=True) == default_view("compounds", W10, skip_compound_list=True)
    if value in (SQL[1], LONG):
        for page in PAGES:
            if page != "compounds":
                assert view(open_page(page, {**W10, "search": value})) == default_view(page, W10), page
    assert row_counts(database) == before


# ---------------------------------------------------------------- the metrics functions

HOSTILE_PLACES = [
    ("' OR 1=1 --", None),
    ("'; DROP TABLE appeals; --", "'; DROP TABLE compounds; --"),
    ("登州街道' OR '1'='1", "东城社区' OR '1'='1"),
    (None, "' OR street IS NOT NULL OR '"),
    (LONG, LONG),
    ("$street", "$community"),
    ("登州街道\x00' OR 1=1 --", "东城社区\x00"),
]
HOSTILE_IDS = ["or-true", "drop-table", "quoted-or", "community-only", "100k-chars", "param-names", "nul-byte"]

# Required arguments beyond (con, scope): every value each may take.
EXTRA_ARGS = {
    "compounds.key_target_progress": [(date(2026, 3, 2),)],
    "appeals.rates_by": [(d,) for d in appeals.DIMENSIONS],
    "scenes.by": [(d,) for d in scenes.DIMENSIONS],
    "complaints.by": [(d,) for d in complaints.DIMENSIONS],
    "surveys.by": [(d,) for d in surveys.DIMENSIONS],
    "scenes.mix": [(d,) for d in scenes.MIX_DIMENSIONS],
    "scenes.coverage_by": [(d,) for d in scenes.COVERAGE_DIMENSIONS],
    # A compound id, and a search, are values too: hostile ones as well as real ones.
    "compounds.summary": [("C1",), ("' OR 1=1 --",)],
    "compounds.history": [("C1",), ("'; DROP TABLE appeals; --",)],
}
# A compound's profile is that compound's whatever the place filter says: only its hostile ids
# must come back empty (the real one must merely not depend on the street or community given).
PLACE_INDEPENDENT = {("compounds.summary", ("C1",)), ("compounds.history", ("C1",))}
# Optional arguments also worth a hostile value.
OPTIONAL_ARGS = {
    "compounds.listing": [("' OR 1=1 --",), ("%",), ("海景",)],
    "appeals.overdue_by": [(("street", "category"),), (("community", "channel", "compound_id"),)],
}
# Keys of a result that do not depend on the scope's place.
PLACE_FREE = {"scope", "counts", "low_hours", "overdue", "targeted_since", "week", "week_start", "month",
              "bucket", "step", "label", "group"}


def scoped_functions() -> list[tuple[str, object]]:
    found = []
    for module in (appeals, complaints, compounds, feeds, rankings, scenes, snapshot, surveys):
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("_") or fn.__module__ != module.__name__:
                continue
            params = list(inspect.signature(fn).parameters.values())
            if len(params) >= 2 and params[1].name == "scope":
                found.append((f"{module.__name__}.{name}", fn))
    return found


def qualified(name: str) -> str:
    """'metrics.appeals.rates_by' → 'appeals.rates_by'."""
    return name.split(".", 1)[1]


def calls(name: str, fn) -> list[tuple]:
    """The argument tuples (after con, scope) to call `fn` with."""
    short_name = qualified(name)
    params = list(inspect.signature(fn).parameters.values())[2:]
    required = [p for p in params if p.default is inspect.Parameter.empty]
    if required:
        assert short_name in EXTRA_ARGS, f"{name} needs {[p.name for p in required]}: add it to EXTRA_ARGS"
        return EXTRA_ARGS[short_name]
    return [(), *OPTIONAL_ARGS.get(short_name, [])]


def zero_or_empty(result, where: str = "") -> list[str]:
    """Where a result holds a non-zero number (an empty scope must give none)."""
    problems = []
    if isinstance(result, pl.DataFrame):
        for column in result.columns:
            if column in PLACE_FREE or not result[column].dtype.is_numeric():
                continue
            values = result[column].drop_nulls()
            if (values != 0).any():
                problems.append(f"{where}{column}={values.to_list()[:5]}")
    elif isinstance(result, dict):
        for key, value in result.items():
            if key not in PLACE_FREE:
                problems += zero_or_empty(value, f"{where}{key}.")
    elif isinstance(result, list):
        for index, item in enumerate(result):
            problems += zero_or_empty(item, f"{where}[{index}].")
    elif isinstance(result, (int, float)) and not isinstance(result, bool) and result != 0:
        problems.append(f"{where}={result}")
    return problems


def normalised(result):
    """A result with its scope echo left out (it repeats the street and community given)."""
    if isinstance(result, dict):
        return {k: normalised(v) for k, v in result.items() if k != "scope"}
    if isinstance(result, pl.DataFrame):
        return result.to_dicts()
    return result


@pytest.fixture
def writable(fixture_db, tmp_path):
    """A read-write connection to a copy of the fixture database: a spliced statement could
    really drop or delete here."""
    copy = tmp_path / "writable.duckdb"
    shutil.copyfile(fixture_db, copy)
    con = duckdb.connect(str(copy))
    yield con, copy
    con.close()


def test_every_scoped_metric_function_is_covered():
    names = {qualified(name) for name, _ in scoped_functions()}
    # The page set alone reaches dozens of functions; a filter that drops them all would pass vacuously.
    assert {"appeals.summary", "rankings.street_ranking", "compounds.listing", "compounds.key_target_progress",
            "feeds.data_weeks", "rankings.community_ranking", "snapshot.stats"} <= names
    assert set(EXTRA_ARGS) <= names and set(OPTIONAL_ARGS) <= names


@pytest.mark.parametrize(("street", "community"), HOSTILE_PLACES, ids=HOSTILE_IDS)
def test_metrics_bind_street_and_community(writable, street, community):
    con, copy = writable
    before = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in TABLES}
    scope = Scope(date(2026, 1, 1), date(2026, 4, 1), datetime(2026, 4, 1), street, community)
    harmless = replace(scope, street="火星街道" if street else None, community="不存在社区" if community else None)
    failures = []
    for name, fn in scoped_functions():
        for args in calls(name, fn):
            got = fn(con.cursor(), scope, *args)
            problems = zero_or_empty(got)
            if problems and (qualified(name), args) not in PLACE_INDEPENDENT:
                failures.append(f"{name}{args}: {problems}")
            if normalised(got) != normalised(fn(con.cursor(), harmless, *args)):
                failures.append(f"{name}{args}: differs from an unknown street's result")
    assert not failures, "\n".join(failures)
    after = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in TABLES}
    assert after == before
    assert con.execute("SELECT count(*) FROM appeals WHERE street = '登州街道'").fetchall()[0][0] > 0


def test_the_same_calls_with_a_real_street_do_find_data(writable):
    """The check above is not vacuous: with a real street the same functions return numbers."""
    con, _ = writable
    scope = Scope(date(2026, 1, 1), date(2026, 4, 1), datetime(2026, 4, 1), "登州街道")
    non_zero = [name for name, fn in scoped_functions() for args in calls(name, fn)
                if zero_or_empty(fn(con.cursor(), scope, *args))]
    assert len(non_zero) > 20, non_zero


@pytest.mark.parametrize("value", [v for v, _ in HOSTILE_PLACES if v] + ["%", "_"], ids=short)
def test_place_lookups_bind_their_argument(writable, value):
    con, _ = writable
    assert compounds.communities(con.cursor(), value).is_empty()
    assert compounds.profile(con.cursor(), value) is None
    assert compounds.listing(con.cursor(), Scope(), value).is_empty()
    assert con.execute("SELECT count(*) FROM compounds").fetchall()[0][0] == 4


def test_a_street_in_bytes_that_are_not_utf8_is_a_usage_error(fixture_db):
    # A GBK terminal hands Python bytes it keeps as lone surrogates; they must not reach DuckDB.
    result = subprocess.run([sys.executable, "-m", "etl", "stats", "--json", "--street", b"\xb5\xc7\xd6\xdd",
                             "--db", str(fixture_db)], capture_output=True, cwd=Path(__file__).parent.parent)
    assert result.returncode == 2
    assert "不是有效的 UTF-8 文本" in result.stderr.decode() and "Traceback" not in result.stderr.decode()
