"""Shared fixtures: a database built from the hand-made files in tests/fixtures."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

import metrics  # noqa: F401  (fixtures are written as the product writes them: with the rollup's keeper)
import settings
from etl.load import load_files

FIXTURES = Path(__file__).parent / "fixtures"
# Load order matters: the other kinds name compounds from the registry.
FIXTURE_FILES = [
    ("compounds", "compounds.csv"),
    ("appeals", "appeals_gbk.csv"),
    ("complaints", "complaints_gbk.csv"),
    ("surveys", "surveys_bom.csv"),
    ("scenes", "scenes.xlsx"),
]


# The appeal and complaint extracts cover from Monday of week 09 (their first records come later
# that week), so W10 is compared with W09; surveys and events have none before W10, which is then
# compared with nothing (metrics.feeds.first_days).
RECORDS_SINCE = {"appeals": "2026-02-23", "complaints": "2026-02-23"}


def build_fixture_db(db_path: Path) -> Path:
    for kind, name in FIXTURE_FILES:
        (report,) = load_files(db_path, kind, [FIXTURES / name])
        assert report.refused is None, report.refused
    with duckdb.connect(str(db_path)) as con:
        con.execute("INSERT OR REPLACE INTO meta VALUES ('records_since', ?)", [json.dumps(RECORDS_SINCE)])
    return db_path


@pytest.fixture(scope="session")
def fixture_db(tmp_path_factory) -> Path:
    """A read-only-by-convention database of the fixture files; tests must not write to it."""
    return build_fixture_db(tmp_path_factory.mktemp("fixture") / "fixture.duckdb")


@pytest.fixture
def empty_db(tmp_path) -> Path:
    return tmp_path / "test.duckdb"


@pytest.fixture
def stop_clock(monkeypatch):
    """stop_clock(instant) stops the machine's clock (its own zone UTC) at an aware datetime: every
    reader of settings.local_now, in any module, then sees that instant in Beijing time."""
    def stop(instant: datetime) -> None:
        class Stopped(datetime):
            @classmethod
            def now(cls, tz=None):
                return instant.astimezone(tz) if tz else instant.astimezone(UTC).replace(tzinfo=None)

        monkeypatch.setattr(settings, "datetime", Stopped)

    return stop


@pytest.fixture
def held_warm_up(monkeypatch) -> threading.Event:
    """The background warm-up after a publish (dashboard/data.py) waits until the test sets the
    returned event, so what pages show meanwhile does not depend on how fast it runs."""
    from dashboard import data

    gate = threading.Event()
    warm = data._warm

    def held(calls, identity):
        assert gate.wait(timeout=60)
        warm(calls, identity)

    monkeypatch.setattr(data, "_warm", held)
    yield gate
    gate.set()


ROLLUP_TABLES = ("appeals_daily", "appeals_days", "appeals_open")


def rollup_contents(db_path: Path) -> dict[str, list]:
    """The rollup's tables, row for row."""
    from etl.db import read_only

    with read_only(db_path) as con:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in ROLLUP_TABLES}


def as_rollup_of_older_code(db_path: Path) -> Path:
    """Turn a database into one whose stored rollup older code kept (version 3), emptied so that
    reading it by mistake could not pass for a rebuild."""
    import duckdb

    with duckdb.connect(str(db_path)) as con:
        con.execute("""UPDATE meta SET value = '{"version": 3}' WHERE key = 'derived:appeals_daily'""")
        for table in ROLLUP_TABLES:
            con.execute(f"DELETE FROM {table}")
    return db_path


def as_before_versions(db_path: Path) -> Path:
    """Turn a database into one written before versions were kept (commit 2cb9acd): no stale
    or correction counts, no carried columns, no stale_rows, no derived-value flags, and
    `<table>_history` (the row images a batch replaced) instead of `_versions` and `_deliveries`."""
    import duckdb

    from etl.schema import ADDED_COLUMNS, TABLES

    with duckdb.connect(str(db_path)) as con:
        for column in ("stale", "is_correction", "carried_columns"):
            con.execute(f"ALTER TABLE batches DROP COLUMN {column}")
        con.execute("DROP TABLE stale_rows")
        for table in TABLES:
            for spec in ADDED_COLUMNS.get(table, []):
                con.execute(f"ALTER TABLE {table} DROP COLUMN {spec.split()[0]}")
            con.execute(f"CREATE TABLE {table}_history AS SELECT *, batch_id AS replaced_by_batch "
                        f"FROM {table} WHERE false")
            con.execute(f"DROP TABLE {table}_versions")
            con.execute(f"DROP TABLE {table}_deliveries")
    return db_path
