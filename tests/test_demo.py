"""`python -m etl demo` builds a database that tells the article's story, through the loader."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime

import pytest

from etl.db import read_only
from metrics import Scope, alerts, compounds, feeds

END = date(2026, 11, 26)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    subprocess.run([sys.executable, "-m", "etl", "demo", "--end", END.isoformat(), "--db", str(db)],
                   check=True, capture_output=True)
    return db


def stats(db, *args):
    result = subprocess.run([sys.executable, "-m", "etl", "stats", "--json", "--db", str(db),
                             "--as-of", "2026-11-27T00:00", *args], check=True, capture_output=True, text=True)
    return json.loads(result.stdout)


def test_demo_goes_through_the_loader_and_is_labelled(demo_db):
    with read_only(demo_db) as con:
        assert feeds.is_demo(con)
        assert compounds.key_targets_since(con) == date(2026, 6, 1)
        batches = con.execute("SELECT kind, rejected FROM batches ORDER BY batch_id").fetchall()
    assert [kind for kind, _ in batches] == ["compounds", "appeals", "appeals", "complaints", "surveys", "scenes"]
    # The planted bad rows (data/README.md): 10 appeals, 3 complaints.
    assert sum(r for k, r in batches if k == "appeals") == 10
    assert sum(r for k, r in batches if k == "complaints") == 3


def test_demo_matches_the_article(demo_db):
    got = stats(demo_db)
    assert got["counts"]["compounds"] == 331
    assert sum(t["compounds"] for t in got["compound_types"]) == 331
    assert len(got["compound_types"]) == 6
    assert len(got["key_targets"]) == 15
    assert len(got["hot_spots"]) == 15
    assert any(h["is_new"] for h in got["hot_spots"])
    penglaige = stats(demo_db, "--street", "蓬莱阁街道")
    assert 1900 <= penglaige["appeals"]["received"] <= 2200  # "2000余件" in the demo's year
    assert got["appeals"]["overdue_open"] > 0
    with read_only(demo_db) as con:
        solved = con.execute(
            "SELECT count(*) FROM complaints p JOIN compounds c USING (compound_id) "
            "WHERE c.name = '海景苑' AND p.resolved_at IS NOT NULL").fetchall()[0][0]
        scenes = con.execute("SELECT count(DISTINCT scene_name) FROM scenes").fetchall()[0][0]
    assert solved == 47
    assert scenes == 100


def test_key_targets_improve_after_they_were_targeted(demo_db):
    with read_only(demo_db) as con:
        before, after = (compounds.key_targets(compounds.complaints_by_compound(con, Scope(start, end, as_of=None)))
                         for start, end in ((date(2026, 3, 1), date(2026, 6, 1)), (date(2026, 8, 1), date(2026, 11, 1))))
    assert after["complaints"].sum() < before["complaints"].sum() / 2


def test_planted_outbreaks_are_found_and_nothing_else(demo_db):
    """The demo plants outbreaks on a quiet background (planted.json, beside the database's folder,
    which the detector never reads): as of the demo's end the alarms are exactly the planted ones,
    and the planted chain of repeated appeals is linked."""
    planted = json.loads((demo_db.parent / "demo" / "planted.json").read_text(encoding="utf-8"))
    assert [p["kind"] for p in planted] == ["outbreak", "repeat_chain", "outbreak"]
    as_of = datetime(2026, 11, 27)
    with read_only(demo_db) as con:
        found = alerts.alarms(con, as_of)
        chain = next(p for p in planted if p["kind"] == "repeat_chain")
        last = con.execute("SELECT max(appeal_id) FROM appeals WHERE compound_id = ? AND category = ?",
                           [chain["place_id"], chain["category"]]).fetchall()[0][0]
        linked = alerts.repeat_chain(con, last, as_of)
    assert sorted(found.select("feed", "place_id", "category").rows()) == sorted(
        (p["feed"], p["place_id"], p["category"]) for p in planted if p["kind"] == "outbreak")
    assert all(date.fromisoformat(p["onset"]) <= start for p, start in zip(
        sorted((p for p in planted if p["kind"] == "outbreak"), key=lambda p: p["place_id"]),
        found.sort("place_id")["start"]))
    assert linked.height >= chain["records"]
