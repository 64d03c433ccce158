"""Backtest of the early warnings (metrics/alerts.py, issue 14).

1. The demo (`python -m etl demo`'s data, built here into a scratch folder) with its planted
   outbreaks (planted.json, which the detector never reads);
2. larger generated histories: the demo's 331 compounds, --years of a stationary (quiet)
   background of appeals, complaints and survey answers at each --appeals-per-year, and
   --outbreaks planted outbreaks of varied size (5–30 extra records over 1–14 days) on distinct
   places.

Each history is replayed day by day: every day is seen as of the same time of day (alarm_history
evaluates the 56 days before a moment at once, with exactly the rule of alarms()). Printed:
- found: the share of planted outbreaks with an alarm of their place between their first day and
  a recent window after their last, over those the issue targets (at least twice the baseline and
  5 or more extra records within one recent window) and over all;
- delay: the median (and 90th percentile) days from an outbreak's first day to its first alarm;
- false alarms: runs of alarmed days not matching any planted outbreak, per street per week;
- run time of alerts.summary() (due soon, overdue, alarms, repeat rates) on the demo and on a
  generated database of --scale-rows appeals (default 1 M in one year).
--tune replays the generated history under a grid of settings.

    python bench/bench_alerts.py [--years 2] [--appeals-per-year 30000 300000] [--outbreaks 200]
                                 [--scale-rows 1000000] [--tune]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from demo.build import build_demo  # noqa: E402
from demo.generate import _APPEAL_CAT_W, _APPEAL_TEXT, APPEAL_CATEGORIES, COMPLAINT_CATEGORIES  # noqa: E402
from etl import schema  # noqa: E402
from etl.db import read_only  # noqa: E402
from metrics import alerts  # noqa: E402
from settings import local_now  # noqa: E402

SEED = 14


# ---------------------------------------------------------------- a generated history

def _insert(con, table: str, df: pl.DataFrame) -> None:
    con.register("_rows", df)
    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _rows")
    con.unregister("_rows")


def generate(path: Path, compounds: pl.DataFrame, end: datetime, days: int, appeals_per_year: int,
             outbreaks: int, rng: np.random.Generator) -> list[dict]:
    """A database of a stationary background plus planted outbreaks; returns what was planted."""
    con = duckdb.connect(str(path))
    schema.create_all(con)
    con.execute("INSERT INTO batches (batch_id, kind, file_name, file_hash, loaded_at, rows_read, inserted, updated, "
                "unchanged, rejected) VALUES (1, 'appeals', 'generated', '-', now(), 0, 0, 0, 0, 0)")
    _insert(con, "compounds", compounds.with_columns(pl.lit(1).alias("batch_id")))
    first = end - timedelta(days=days)
    n_c = compounds.height
    ids, names = compounds["compound_id"].to_numpy(), compounds["name"].to_numpy()
    streets, communities = compounds["street"].to_numpy(), compounds["community"].to_numpy()
    weight = compounds["households"].to_numpy().astype(float) ** 0.8
    weight /= weight.sum()
    cat_w = _APPEAL_CAT_W / _APPEAL_CAT_W.sum()
    per_day = {"appeals": appeals_per_year / 365, "complaints": appeals_per_year / 365 / 7,
               "surveys": appeals_per_year / 365 / 5}

    # planted outbreaks on distinct places; rate = the place's background per day
    places = [("appeals", c, k) for c in range(n_c) for k in range(len(APPEAL_CATEGORIES))]
    places += [("complaints", c, None) for c in range(n_c)]
    picks = rng.choice(len(places), outbreaks, replace=False)
    planted, extra = [], {"appeals": [], "complaints": []}
    for index in picks:
        feed, c, k = places[int(index)]
        rate = per_day[feed] * weight[c] * (cat_w[k] if k is not None else 1.0)
        span, size = int(rng.integers(1, 15)), int(rng.integers(5, 31))
        onset = int(rng.integers(119, days - span))
        offsets = np.sort(rng.integers(0, span, size))
        most = max(int(((offsets >= o) & (offsets < o + 7)).sum()) for o in range(span))
        planted.append({"feed": feed, "place_id": str(ids[c]), "street": str(streets[c]),
                        "category": APPEAL_CATEGORIES[k] if k is not None else None,
                        "onset": (first + timedelta(days=onset)).date(),
                        "last_day": (first + timedelta(days=onset + span - 1)).date(), "records": size,
                        "eligible": most >= 5 and most >= 7 * rate})
        minutes = (onset + offsets) * 1440 + rng.integers(7 * 60, 21 * 60, size)
        extra[feed] += [(c, k if k is not None else 0, m) for m in minutes]

    def draws(feed: str, cats: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = int(rng.poisson(per_day[feed] * days))
        c = rng.choice(n_c, n, p=weight)
        k = rng.choice(len(cats), n, p=cats) if cats is not None else np.zeros(n, int)
        minute = rng.integers(0, days * 1440, n)
        if extra.get(feed):
            more = np.array(extra[feed])
            c, k, minute = (np.concatenate([a, more[:, i]]) for i, a in enumerate((c, k, minute)))
        keep = minute < days * 1440
        return c[keep], k[keep], minute[keep]

    start_us = int((first - datetime(1970, 1, 1)).total_seconds()) * 1_000_000

    def stamp(minutes: np.ndarray) -> pl.Series:
        us = pl.Series(np.round(minutes).astype(np.int64)) * 60_000_000 + start_us
        return us.cast(pl.Datetime("us"))

    c, k, minute = draws("appeals", cat_w)
    n = len(c)
    first_response = minute + rng.exponential(240, n)
    resolved = first_response + rng.exponential(1200, n)
    feedback = resolved + rng.exponential(360, n)
    stuck = rng.random(n) < 0.05
    now = days * 1440

    def until_now(values: np.ndarray, also: np.ndarray | None = None) -> pl.Series:
        out = stamp(values)
        mask = values > now if also is None else (values > now) | also
        return pl.select(pl.when(pl.Series(mask)).then(None).otherwise(out)).to_series()

    texts = {cat: [t.replace("{p}", "") for t in opts] for cat, opts in _APPEAL_TEXT.items()}
    template = rng.integers(0, 100, n)
    content = [names[ci] + texts[APPEAL_CATEGORIES[ki]][ti % len(texts[APPEAL_CATEGORIES[ki]])]
               for ci, ki, ti in zip(c.tolist(), k.tolist(), template.tolist())]
    order = np.argsort(minute, kind="stable")
    appeals = pl.DataFrame({
        "appeal_id": [f"G{i:08d}" for i in range(n)], "channel": "12345热线",
        "category": np.array(APPEAL_CATEGORIES)[k], "received_at": stamp(minute), "street": streets[c],
        "community": communities[c], "compound_id": ids[c],
        "first_response_at": until_now(first_response), "resolved_at": until_now(resolved, stuck),
        "feedback_at": until_now(feedback, stuck), "is_property": k == APPEAL_CATEGORIES.index("物业管理"),
        "content": content, "street_from_compound": False, "community_from_compound": False, "batch_id": 1,
    })[order]
    _insert(con, "appeals", appeals)

    c, k, minute = draws("complaints", None)
    cat = rng.integers(0, len(COMPLAINT_CATEGORIES), len(c))
    _insert(con, "complaints", pl.DataFrame({
        "complaint_id": [f"T{i:08d}" for i in range(len(c))], "compound_id": ids[c],
        "category": np.array(COMPLAINT_CATEGORIES)[cat], "received_at": stamp(minute), "is_three_party": False,
        "company_from_compound": True, "batch_id": 1}))
    c, _, minute = draws("surveys", None)
    day = np.datetime64(first.date()) + (minute // 1440).astype("timedelta64[D]")
    _insert(con, "surveys", pl.DataFrame({
        "response_id": [f"S{i:08d}" for i in range(len(c))], "surveyed_at": pl.Series(day).cast(pl.Date),
        "compound_id": ids[c], "topic": "物业服务",
        "rating": np.where(rng.random(len(c)) < 0.15, "不满意", "满意"), "batch_id": 1}))
    con.close()
    return planted


# ---------------------------------------------------------------- replay and score

def replay(db: Path, end: datetime, first_day: date, settings: dict | None = None) -> pl.DataFrame:
    """Every (place, day) alarmed from first_day to end's day, each day seen as of end's time of day."""
    con = read_only(db)
    lookback = 7 * int(alerts.alarm_settings(settings)["baseline_weeks"])
    parts, moment = [], end
    while moment.date() >= first_day:
        parts.append(alerts.alarm_history(con, moment, settings=settings))
        moment -= timedelta(days=lookback)
    con.close()
    days = pl.concat(parts).unique(["feed", "place_id", "category", "day"])
    return days.filter(pl.col("day") >= first_day).sort("feed", "place_id", "category", "day")


def score(days: pl.DataFrame, planted: list[dict], first_day: date, last_day: date, streets: int,
          recent: int) -> dict:
    """found (eligible and all), delays, false alarm runs per street per week."""
    found, delays, matched = [], [], set()
    rows = days.to_dicts()
    by_key: dict[tuple, list[dict]] = {}
    for row in rows:
        by_key.setdefault((row["feed"], row["place_id"], row["category"]), []).append(row)
    for plant in planted:
        onset = date.fromisoformat(str(plant["onset"]))
        until = date.fromisoformat(str(plant["last_day"])) + timedelta(days=recent)
        hits = [r for r in by_key.get((plant["feed"], plant["place_id"], plant["category"]), [])
                if onset <= r["day"] <= until]
        matched.update((plant["feed"], plant["place_id"], plant["category"], r["day"]) for r in hits)
        found.append(bool(hits))
        if hits:
            delays.append((hits[0]["day"] - onset).days)
    runs = 0
    for key, alarmed in by_key.items():
        previous = None
        for row in alarmed:
            if (*key, row["day"]) in matched:
                previous = None
                continue
            if previous is None or (row["day"] - previous).days > 1:
                runs += 1
            previous = row["day"]
    eligible = [f for f, p in zip(found, planted) if p.get("eligible", True)]
    weeks = ((last_day - first_day).days + 1) / 7
    return {"planted": len(planted), "eligible": len(eligible),
            "found_eligible": sum(eligible) / len(eligible) if eligible else None,
            "found_all": sum(found) / len(found) if found else None,
            "median_delay_days": statistics.median(delays) if delays else None,
            "p90_delay_days": float(np.percentile(delays, 90)) if delays else None,
            "false_alarm_runs": runs, "false_per_street_week": runs / streets / weeks, "weeks": round(weeks, 1)}


def show(title: str, result: dict) -> None:
    def fmt(v):
        return f"{v:.3f}" if isinstance(v, float) else str(v)
    print(f"{title}: " + ", ".join(f"{k}={fmt(v)}" for k, v in result.items()))


def timed(db: Path, moment: datetime, runs: int = 3) -> tuple[float, float]:
    """(first, best of runs) seconds of alerts.summary on a fresh read-only connection."""
    times = []
    for _ in range(runs + 1):
        con = read_only(db)
        start = time.perf_counter()
        alerts.summary(con, moment)
        times.append(time.perf_counter() - start)
        con.close()
    return times[0], min(times[1:])


def _one_outbreak(con, days: pl.DataFrame, plant: dict, min_count: int) -> str:
    """One planted outbreak: its first alarm, and the first day any rule needing `min_count` events
    in the recent window could alarm (the day the place's min_count-th event since onset arrived)."""
    onset = date.fromisoformat(plant["onset"])
    table, category = ("appeals", "AND category = $category") if plant["feed"] == "appeals" else ("complaints", "")
    counted = con.execute(f"""
        SELECT CAST(received_at AS DATE) FROM {table}
        WHERE compound_id = $place AND received_at >= $onset {category} ORDER BY received_at LIMIT $n""",
                          {"place": plant["place_id"], "onset": onset, "n": min_count,
                           **({"category": plant["category"]} if category else {})}).fetchall()
    possible = counted[-1][0] if len(counted) == min_count else None
    hits = days.filter((pl.col("feed") == plant["feed"]) & (pl.col("place_id") == plant["place_id"])
                       & (pl.col("day") >= onset))
    if plant["category"]:
        hits = hits.filter(pl.col("category") == plant["category"])
    first = hits["day"].min() if hits.height else None
    delay = (first - onset).days if first else None
    return (f"{plant['place_name']} {plant['category'] or plant['feed']}: onset {onset}, first alarm {first} "
            f"(delay {delay} days); event number {min_count} arrived {possible} "
            f"({(possible - onset).days if possible else None} days after onset)")


def best_wall(command: list[str], runs: int = 3) -> float:
    """Best wall time of a command, interpreter start-up included."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return min(times)


def command_seconds(db: Path) -> float:
    """The command a person runs."""
    return best_wall([sys.executable, "-m", "etl", "alerts", "--json", "--db", str(db)])


def imports_seconds() -> float:
    """A Python that only imports the libraries the command needs."""
    return best_wall([sys.executable, "-c", "import polars, duckdb, numpy, rapidfuzz.process"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", type=float, default=2.0)
    parser.add_argument("--appeals-per-year", type=int, nargs="+", default=[30_000, 300_000],
                        help="one generated history per volume (the denser, the higher each place's baseline)")
    parser.add_argument("--outbreaks", type=int, default=200)
    parser.add_argument("--scale-rows", type=int, default=1_000_000)
    parser.add_argument("--tune", action="store_true")
    args = parser.parse_args()
    settings = alerts.alarm_settings()
    recent, horizon = int(settings["recent_days"]), 7 * 2 * int(settings["baseline_weeks"]) + int(settings["recent_days"])
    print("settings:", json.dumps(settings, ensure_ascii=False))
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        demo = folder / "demo.duckdb"
        build_demo(demo)
        plants = json.loads((folder / "demo" / "planted.json").read_text(encoding="utf-8"))
        planted = [p for p in plants if p["kind"] == "outbreak"]
        with read_only(demo) as con:
            end = con.execute("SELECT max(received_at) FROM appeals").fetchall()[0][0]
            first = con.execute("SELECT min(received_at) FROM appeals").fetchall()[0][0]
            compounds = pl.DataFrame(con.sql("SELECT * EXCLUDE (batch_id) FROM compounds"))
            streets = compounds["street"].n_unique()
        end = local_now()
        first_day = first.date() + timedelta(days=horizon)
        days = replay(demo, end, first_day)
        show("demo", score(days, planted, first_day, end.date(), streets, recent))
        with read_only(demo) as con:
            for plant in planted:
                print("demo: " + _one_outbreak(con, days, plant, int(settings["min_count"])))
        with read_only(demo) as con:
            for chain in (p for p in plants if p["kind"] == "repeat_chain"):
                last = con.execute("SELECT max(appeal_id) FROM appeals WHERE compound_id = ? AND category = ?",
                                   [chain["place_id"], chain["category"]]).fetchall()[0][0]
                linked = alerts.repeat_chain(con, last, end)
                print(f"demo: repeat chain of {chain['place_name']} {chain['category']}: {linked.height} appeals linked "
                      f"({chain['records']} planted)")
        cold, best = timed(demo, end)
        print(f"demo: alerts.summary {cold:.3f} s first, {best:.3f} s best of 3 (target < 1 s)")
        print(f"demo: python -m etl alerts --json {command_seconds(demo):.3f} s best of 3, of which "
              f"{imports_seconds():.3f} s starting Python and importing polars, duckdb, numpy and rapidfuzz")

        span = int(365 * args.years)
        first_day = (end - timedelta(days=span)).date() + timedelta(days=horizon)
        for volume in args.appeals_per_year:
            generated = folder / f"generated-{volume}.duckdb"
            planted = generate(generated, compounds, end, span, volume, args.outbreaks, np.random.default_rng(SEED))
            grid = [settings]
            if args.tune:
                changes = [{"p_value": 0.01}, {"p_value": 0.0001}]
                if volume == args.appeals_per_year[0]:
                    changes += [{"expected_floor": 1.0}, {"min_count": 4}, {"min_ratio": 1.5}, {"recent_days": 5},
                                {"recent_days": 10}]
                grid += [{**settings, **change} for change in changes]
            for option in grid:
                days = replay(generated, end, first_day, option)
                changed = {k: v for k, v in option.items() if settings.get(k) != v} or "as set"
                show(f"generated {args.years:g} y, {volume:,} appeals/y, {changed}",
                     score(days, planted, first_day, end.date(), streets, int(option["recent_days"])))

        big = folder / "big.duckdb"
        generate(big, compounds, end, 365, args.scale_rows, 0, np.random.default_rng(SEED + 1))
        with read_only(big) as con:
            rows = con.execute("SELECT count(*) FROM appeals").fetchall()[0][0]
        cold, best = timed(big, end)
        print(f"{rows:,} appeals: alerts.summary {cold:.3f} s first, {best:.3f} s best of 3 (target < 3 s)")
        print(f"{rows:,} appeals: python -m etl alerts --json {command_seconds(big):.3f} s best of 3")


if __name__ == "__main__":
    main()
