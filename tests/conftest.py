"""Shared fixtures: a database built from the hand-made files in tests/fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

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


def build_fixture_db(db_path: Path) -> Path:
    for kind, name in FIXTURE_FILES:
        (report,) = load_files(db_path, kind, [FIXTURES / name])
        assert report.refused is None, report.refused
    return db_path


@pytest.fixture(scope="session")
def fixture_db(tmp_path_factory) -> Path:
    """A read-only-by-convention database of the fixture files; tests must not write to it."""
    return build_fixture_db(tmp_path_factory.mktemp("fixture") / "fixture.duckdb")


@pytest.fixture
def empty_db(tmp_path) -> Path:
    return tmp_path / "test.duckdb"
