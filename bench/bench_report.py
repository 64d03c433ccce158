"""Benchmark of the weekly PDF: time and peak memory on the demo database and on one with 1 M appeals.

    python bench/bench_report.py [--demo-db PATH] [--appeals 1000000] [--runs 3] [--keep DIR]

1. builds the demo database (`python -m etl demo`) unless --demo-db is given;
2. copies it and inserts generated appeals with DuckDB SQL until the copy holds --appeals rows
   (spread over the demo year, on the demo's compounds, with plausible handling times);
3. for each database, runs the report for the demo's last complete week in fresh processes:
   - `cli`: the whole `python -m report` command, wall clock (what cron pays, imports included);
   - `generate`: open the database + collect + build + compile inside the process, split by step;
   - peak memory: the process's peak RSS (ru_maxrss, DuckDB included) and, in a separate run,
     the Python heap peak (tracemalloc).
Targets (issue 5): under 2 s on the demo database, under 5 s with 1 M appeals.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"demo": 2.0, "1M appeals": 5.0}


# ---------------------------------------------------------------- the child: one measured report

def child(db: str, week: str, out: str, trace: bool) -> None:
    started = time.perf_counter()
    if trace:
        import tracemalloc

        tracemalloc.start()
    sys.path.insert(0, str(ROOT))
    from etl.db import read_only
    from report import build_typst, collect, compile_pdf

    imported = time.perf_counter()
    with read_only(Path(db)) as con:
        data = collect(con, week)
    collected = time.perf_counter()
    source = build_typst(data)
    built = time.perf_counter()
    pdf = compile_pdf(source)
    compiled = time.perf_counter()
    Path(out).write_bytes(pdf)
    result = {"imports": imported - started, "collect": collected - imported, "build": built - collected,
              "compile": compiled - built, "generate": compiled - imported, "pdf_bytes": len(pdf),
              "received": data["stats"]["appeals"]["received"],
              "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if trace:
        import tracemalloc

        result["python_heap_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    print(json.dumps(result))


def measure(db: Path, week: str, out: Path, trace: bool = False) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", str(db), week, str(out)] + (["--trace"] if trace else []),
                          capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cli_seconds(db: Path, week: str, out: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "report", "--week", week, "--db", str(db), "--out", str(out)],
                   check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - started


# ---------------------------------------------------------------- the databases

def build_demo(path: Path) -> None:
    subprocess.run([sys.executable, "-m", "etl", "demo", "--db", str(path)], check=True, capture_output=True,
                   cwd=ROOT)


def grow_appeals(source: Path, target: Path, total: int) -> int:
    """Copy the demo database and add generated appeals until it holds `total`; returns the count."""
    import duckdb

    sys.path.insert(0, str(ROOT))
    from metrics import rollups

    shutil.copyfile(source, target)
    con = duckdb.connect(str(target))
    try:
        have, first, last = con.execute(
            "SELECT count(*), min(received_at), max(received_at) FROM appeals").fetchall()[0]
        missing = max(0, total - have)
        span = int((last - first).total_seconds())
        # Handling times: response 0–30 h, resolution 2–80 h (8 % never), feedback after it;
        # the rest drawn from the demo's own reference values.
        con.execute("""
            INSERT INTO appeals (appeal_id, channel, category, received_at, street, community, compound_id,
                                 dispatched_at, first_response_at, resolved_at, feedback_at, closed_at, status,
                                 satisfaction, is_property, content, updated_at, street_from_compound,
                                 community_from_compound, batch_id)
            WITH c AS (SELECT row_number() OVER (ORDER BY compound_id) - 1 AS k, compound_id, street, community
                       FROM compounds),
                 n AS (SELECT count(*) AS m FROM compounds),
                 g AS (
                    SELECT i,
                           $first::TIMESTAMP + to_seconds(CAST(hash(i, 'at') % $span AS BIGINT)) AS received_at,
                           CAST(hash(i, 'c') % (SELECT m FROM n) AS BIGINT) AS k,
                           CAST(hash(i, 'r') % 1000 AS BIGINT) AS r
                    FROM range($missing) t(i))
            SELECT 'BENCH-' || i,
                   (['12345热线', '城市通', 'e网通扫码', '网格员巡访', '民意日记', '来信来访'])[1 + CAST(hash(i, 'ch') % 6 AS BIGINT)],
                   (['环境卫生', '物业管理', '市政设施', '矛盾调解', '供暖供水', '噪音扰民', '交通出行', '其他'])[1 + CAST(hash(i, 'cat') % 8 AS BIGINT)],
                   g.received_at, c.street, c.community, c.compound_id,
                   g.received_at + INTERVAL 1 HOUR,
                   g.received_at + to_minutes(CAST(hash(i, 'resp') % 1800 AS BIGINT)),
                   CASE WHEN r < 920 THEN g.received_at + to_minutes(CAST(120 + hash(i, 'res') % 4700 AS BIGINT)) END,
                   CASE WHEN r < 850 THEN g.received_at + to_minutes(CAST(200 + hash(i, 'fb') % 5000 AS BIGINT)) END,
                   NULL, CASE WHEN r < 920 THEN '已办结' ELSE '办理中' END,
                   CASE WHEN r < 500 THEN '满意' WHEN r < 700 THEN '基本满意' WHEN r < 780 THEN '不满意' END,
                   r % 5 = 0, NULL, NULL, TRUE, TRUE, 0
            FROM g JOIN c USING (k)""", {"first": first, "span": span, "missing": missing})
        rollups.rebuild(con)  # the rows were written around the loader, which keeps the rollup
        con.execute("CHECKPOINT")
        return con.execute("SELECT count(*) FROM appeals").fetchall()[0][0]
    finally:
        con.close()


def demo_week(db: Path) -> str:
    sys.path.insert(0, str(ROOT))
    from datetime import date

    import duckdb

    from metrics.scope import last_complete_week
    from settings import local_now

    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT value FROM meta WHERE key = 'demo_end'").fetchall()
    finally:
        con.close()
    end = date.fromisoformat(rows[0][0]) if rows else local_now().date()
    return last_complete_week(end)


# ---------------------------------------------------------------- main

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo-db", help="use this demo database instead of building one")
    parser.add_argument("--appeals", type=int, default=1_000_000, help="appeals in the large database")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per database (the median is shown)")
    parser.add_argument("--keep", help="keep the databases and PDFs in this folder")
    parser.add_argument("--child", nargs=3, metavar=("DB", "WEEK", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, trace=args.trace)
        return 0

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-report-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        demo = Path(args.demo_db) if args.demo_db else work / "demo.duckdb"
        if not args.demo_db:
            started = time.perf_counter()
            build_demo(demo)
            print(f"demo database built in {time.perf_counter() - started:.1f} s")
        big = work / "appeals-1m.duckdb"
        started = time.perf_counter()
        count = grow_appeals(demo, big, args.appeals)
        print(f"large database: {count:,} appeals, made in {time.perf_counter() - started:.1f} s "
              f"({big.stat().st_size / 2**20:.0f} MB)")
        week = demo_week(demo)
        print(f"week: {week}   runs per database: {args.runs}   python {sys.version.split()[0]}, "
              f"{os.cpu_count()} CPUs\n")
        header = (f"{'database':<12} {'appeals/wk':>10} {'cli s':>7} {'generate s':>10} {'collect':>8} "
                  f"{'build':>7} {'compile':>8} {'imports':>8} {'peak RSS':>9} {'py heap':>8} {'PDF':>7}  target")
        print(header)
        print("-" * len(header))
        failed = False
        for name, db in (("demo", demo), ("1M appeals", big)):
            out = work / f"report-{name.replace(' ', '-')}.pdf"
            cli_seconds(db, week, out)  # warm the file cache once
            cli = statistics.median(cli_seconds(db, week, out) for _ in range(args.runs))
            runs = [measure(db, week, out) for _ in range(args.runs)]
            traced = measure(db, week, out, trace=True)

            def med(key: str) -> float:
                return statistics.median(run[key] for run in runs)

            ok = cli < TARGETS[name]
            failed |= not ok
            print(f"{name:<12} {runs[0]['received']:>10,} {cli:>7.2f} {med('generate'):>10.2f} {med('collect'):>8.2f} "
                  f"{med('build'):>7.3f} {med('compile'):>8.2f} {med('imports'):>8.2f} "
                  f"{max(r['max_rss_mb'] for r in runs):>6.0f} MB {traced['python_heap_peak_mb']:>5.1f} MB "
                  f"{runs[0]['pdf_bytes'] / 1024:>4.0f} KB  < {TARGETS[name]:.0f} s {'ok' if ok else 'MISSED'}")
        print("\ncli = wall clock of `python -m report` (fresh process, imports included); generate = open db + "
              "collect + build + compile; peak RSS = ru_maxrss of the process (DuckDB included); "
              "py heap = tracemalloc peak (Python objects only).")
        return 1 if failed else 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
