"""Benchmark at city scale: 10 M appeals, 2 M complaints, 1 M survey answers, 200 k events
(issue 7, item 7).

1. `python -m etl demo` gives the compound registry (331 compounds) and a year of demo records;
2. each kind is then generated as CSV extracts of --chunk rows (Chinese headers, as the feeds
   send them) and loaded with the real loader, `python -m etl load`, one process per chunk, in
   time order like weekly/monthly extracts. Rows are the demo's records re-stamped over the last
   --years years: each generated row copies a demo row's street, compound, channel, category,
   handling durations, status and rating, and gets a new id, a new time and (appeals) a phone
   number, so the loader drops and masks personal data as in production. Prints rows/s per kind and each
   load process's peak memory (max RSS; target: under 4 GB);
3. every page's script through Streamlit's AppTest, signed in as a district reader, per period:
   - cold: caches emptied (a new reader and DuckDB connection), then one run of the page;
   - warm: the same page run again (median of 5), the way a reader's next click finds it (the
     metric results come from st.cache_data);
   - new street: the same page with each street chosen in turn (median and slowest of the 5):
     results not cached yet, the connection warm; what a reader waits for after changing a filter.
   Targets (issue 16): every page under 1 s cold and 300 ms warm at 10 M appeals, any period up
   to 本年. Figures are printed, not asserted.

    python bench/bench_scale.py [--scale 1.0] [--chunk 1000000] [--years 3] [--period 上周 --period 本年]
                                [--keep DIR] [--db PATH]

--scale 0.1 is a quick run (1 M appeals); --db skips the build and times the pages of that database.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_pages import clear_caches, run_page, sign_in  # noqa: E402  (the page timing of the page bench)
from etl.contract import KINDS  # noqa: E402
from settings import local_now, reference  # noqa: E402

SIZES = {"appeals": 10_000_000, "complaints": 2_000_000, "surveys": 1_000_000, "scenes": 200_000}
LABELS = {"appeals": "诉求工单", "complaints": "物业投诉", "surveys": "满意度测评", "scenes": "服务场景活动"}
PAGES = [("overview", "总览"), ("appeals", "诉求办理"), ("property", "物业治理"), ("compounds", "小区画像"),
         ("satisfaction", "满意度"), ("scenes", "服务场景"), ("weekly_report", "周报")]
MEMORY_LIMIT_MB = 4096
COLD_TARGET_S, WARM_TARGET_S = 1.0, 0.3  # issue 16: any period up to 本年, any street

# `python -m etl …` that reports its own peak memory on stderr as its last line: VmHWM of
# /proc/self/status (kB), the high-water mark of this program alone. (ru_maxrss would not do: it
# survives exec, so a child forked from a large parent starts with the parent's size.)
ETL_WITH_RSS = [sys.executable, "-c",
                "import runpy, sys; sys.argv = ['etl'] + sys.argv[1:]\n"
                "try:\n    runpy.run_module('etl', run_name='__main__')\n"
                "finally:\n"
                "    hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
                "    print('MAXRSS', hwm[0] if hwm else 0, file=sys.stderr)"]


def header(kind: str, column: str) -> str:
    """The Chinese header the feed sends for a contract column."""
    return KINDS[kind].column(column).headers[0]


# ---------------------------------------------------------------- generating extracts

def _ts(expression: str) -> str:
    return f"strftime({expression}, '%Y-%m-%d %H:%M:%S')"


def _shifted(column: str) -> str:
    """A timestamp of the base row moved by the same amount as its received time."""
    return _ts(f"g.at + (b.{column} - b.received_at)")


def select_sql(kind: str) -> tuple[str, str]:
    """(base rows, the SELECT producing the extract's columns from generated rows g and base rows b)."""
    h = lambda column: f'"{header(kind, column)}"'  # noqa: E731
    yes_no = "CASE WHEN b.{0} THEN '是' WHEN NOT b.{0} THEN '否' END"
    if kind == "appeals":
        return "appeals", f"""
            'CITY-A' || lpad(CAST(g.i AS VARCHAR), 9, '0') AS {h('appeal_id')},
            b.channel AS {h('channel')}, b.category AS {h('category')}, {_ts('g.at')} AS {h('received_at')},
            b.street AS {h('street')}, b.community AS {h('community')}, b.compound_id AS {h('compound_id')},
            {_shifted('dispatched_at')} AS {h('dispatched_at')},
            {_shifted('first_response_at')} AS {h('first_response_at')},
            {_shifted('resolved_at')} AS {h('resolved_at')}, {_shifted('feedback_at')} AS {h('feedback_at')},
            {_shifted('closed_at')} AS {h('closed_at')}, b.status AS {h('status')},
            b.satisfaction AS {h('satisfaction')}, {yes_no.format('is_property')} AS {h('is_property')},
            '13' || CAST(hash(g.i, 'phone') % 10 AS VARCHAR)
                 || lpad(CAST(hash(g.i, 'number') % 100000000 AS VARCHAR), 8, '0') AS {h('caller_phone')},
            b.content AS {h('content')}"""
    if kind == "complaints":
        return "complaints", f"""
            'CITY-P' || lpad(CAST(g.i AS VARCHAR), 9, '0') AS {h('complaint_id')},
            b.compound_id AS {h('compound_id')}, b.property_company AS {h('property_company')},
            b.category AS {h('category')}, {_ts('g.at')} AS {h('received_at')}, b.level AS {h('level')},
            {yes_no.format('is_three_party')} AS {h('three_party')}, {_shifted('resolved_at')} AS {h('resolved_at')}"""
    if kind == "surveys":
        return "surveys", f"""
            'CITY-S' || lpad(CAST(g.i AS VARCHAR), 9, '0') AS {h('response_id')},
            strftime(g.at, '%Y-%m-%d') AS {h('surveyed_at')}, b.compound_id AS {h('compound_id')},
            b.topic AS {h('topic')}, b.score AS {h('score')}, b.rating AS {h('rating')}"""
    if kind == "scenes":
        return "scenes", f"""
            'CITY-E' || lpad(CAST(g.i AS VARCHAR), 9, '0') AS {h('event_id')},
            strftime(g.at, '%Y-%m-%d') AS {h('event_date')}, b.scene_name AS {h('scene_name')},
            b.scene_type AS {h('scene_type')}, b.compound_id AS {h('compound_id')},
            b.attendees AS {h('attendees')}, b.volunteers AS {h('volunteers')}, b.old_young AS {h('old_young')},
            b.organizer AS {h('organizer')}"""
    raise ValueError(kind)


def write_chunk(source: Path, kind: str, out: Path, first: int, last: int, total: int, start: datetime,
                end: datetime) -> None:
    """Rows first..last-1 of `total`, stamped evenly from `start` to `end` (so chunks come in time
    order, as periodic extracts do), each copying a demo row picked by hash."""
    import duckdb

    table, columns = select_sql(kind)
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        quoted = str(source).replace("'", "''")
        con.execute(f"ATTACH '{quoted}' AS src (READ_ONLY)")
        con.execute(f"CREATE TEMP TABLE base AS SELECT *, row_number() OVER () - 1 AS rn FROM src.{table}")
        have = con.execute("SELECT count(*) FROM base").fetchall()[0][0]
        step = (end - start).total_seconds() / total
        target = str(out).replace("'", "''")
        con.execute(f"""
            COPY (
                WITH g AS (
                    SELECT i, CAST(hash(i, 'row') % $have AS BIGINT) AS rn,
                           $start::TIMESTAMP + to_seconds(CAST(floor(i * $step) AS BIGINT)) AS at
                    FROM range($first, $last) t(i))
                SELECT {columns} FROM g JOIN base b USING (rn) ORDER BY g.i
            ) TO '{target}' (HEADER, DELIMITER ',')""",
                    {"have": have, "start": start, "step": step, "first": first, "last": last})
    finally:
        con.close()


# ---------------------------------------------------------------- loading

def etl_load(db: Path, kind: str, csv: Path) -> dict:
    """One `python -m etl load` process: its report, wall seconds and peak RSS (MB)."""
    size_mb = csv.stat().st_size / 2**20
    # Extracts of a million rows are larger than the upload limit the data desk keeps (200 MB).
    env = {**os.environ, "DASHBOARD_MAX_FILE_MB": str(max(200, int(size_mb) + 50))}
    started = time.perf_counter()
    proc = subprocess.run([*ETL_WITH_RSS, "load", kind, str(csv), "--db", str(db), "--json"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=3600)
    seconds = time.perf_counter() - started
    rss = [line for line in proc.stderr.splitlines() if line.startswith("MAXRSS")]
    if proc.returncode != 0:
        raise RuntimeError(f"load of {csv.name} failed ({proc.returncode}): {proc.stdout[-500:]} {proc.stderr[-2000:]}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"seconds": seconds, "max_rss_mb": int(rss[-1].split()[1]) / 1024 if rss else float("nan"),
            "size_mb": size_mb, **report}


def build(work: Path, scale: float, chunk: int, years: float) -> Path:
    db = work / "city.duckdb"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "etl", "demo", "--db", str(db)], cwd=ROOT, check=True,
                   capture_output=True, timeout=600)
    print(f"演示数据库(小区台账 + 一年演示记录)：{time.perf_counter() - started:.1f} s")
    source = work / "source.duckdb"  # the demo records the extracts copy, apart from the live file
    shutil.copyfile(db, source)
    end = local_now()  # Beijing time, the feeds' clock
    start = end - timedelta(days=round(365.25 * years))
    print(f"生成记录的时间范围：{start:%Y-%m-%d} 至 {end:%Y-%m-%d}；每个导入文件至多 {chunk:,} 行\n")
    print(f"{'类型':<10}{'块':>5}{'行数':>12}{'文件MB':>9}{'生成s':>8}{'导入s':>8}{'行/秒':>10}{'峰值内存MB':>12}"
          f"{'新增':>12}{'拒绝':>6}{'库MB':>8}")
    totals = {}
    for kind, full in SIZES.items():
        total = max(1, round(full * scale))
        kind_rows = kind_seconds = 0.0
        kind_rss = 0.0
        for index, first in enumerate(range(0, total, chunk), start=1):
            last = min(total, first + chunk)
            csv = work / f"{kind}-{index:03d}.csv"
            generated = time.perf_counter()
            write_chunk(source, kind, csv, first, last, total, start, end)
            generated = time.perf_counter() - generated
            result = etl_load(db, kind, csv)
            csv.unlink()
            kind_rows += last - first
            kind_seconds += result["seconds"]
            kind_rss = max(kind_rss, result["max_rss_mb"])
            flag = "  ← 超过 4 GB" if result["max_rss_mb"] > MEMORY_LIMIT_MB else ""
            print(f"{LABELS[kind]:<10}{index:>5}{last - first:>12,}{result['size_mb']:>9.0f}{generated:>8.1f}"
                  f"{result['seconds']:>8.1f}{(last - first) / result['seconds']:>10,.0f}{result['max_rss_mb']:>12.0f}"
                  f"{result['inserted']:>12,}{result['rejected']:>6}{db.stat().st_size / 2**20:>8.0f}{flag}", flush=True)
        totals[kind] = (kind_rows, kind_seconds, kind_rss)
    source.unlink()
    print(f"\n{'类型':<10}{'行数':>12}{'导入s':>9}{'行/秒':>10}{'峰值内存MB':>12}   (每块一个进程，含复制与发布)")
    for kind, (rows, seconds, rss) in totals.items():
        print(f"{LABELS[kind]:<10}{rows:>12,.0f}{seconds:>9.1f}{rows / seconds:>10,.0f}{rss:>12.0f}")
    peak = max(rss for _, _, rss in totals.values())
    print(f"导入进程峰值内存：{peak:.0f} MB(目标 < {MEMORY_LIMIT_MB} MB：{'达到' if peak < MEMORY_LIMIT_MB else '未达到'})；"
          f"数据库文件 {db.stat().st_size / 2**30:.2f} GB")
    return db


# ---------------------------------------------------------------- page times

def pages(db: Path, periods: list[str]) -> bool:
    import duckdb

    os.environ["DASHBOARD_DB"] = str(db)
    from streamlit import logger as streamlit_logger
    from streamlit.testing.v1 import AppTest

    streamlit_logger.set_log_level("error")  # AppTest outside a server logs harmless notices
    with duckdb.connect(str(db), read_only=True) as con:
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in
                  ("appeals", "complaints", "surveys", "scenes", "compounds")}
    print("\n数据库：" + "，".join(f"{LABELS.get(t, '小区')} {n:,}" for t, n in counts.items())
          + f"(文件 {db.stat().st_size / 2**30:.2f} GB)")
    app = str(ROOT / "app.py")
    started = time.perf_counter()
    at = AppTest.from_file(app, default_timeout=600)
    sign_in(at)
    at.run()  # imports, once per process
    print(f"首次运行(含导入)：{time.perf_counter() - started:.2f} s")
    met = True
    for period in periods:
        print(f"\n时间范围：{period}")
        print(f"{'页面':<8}{'冷启动(ms)':>12}{'热运行(ms)':>12}{'换街道中位(ms)':>16}{'换街道最长(ms)':>16}"
              f"   目标：冷 < {COLD_TARGET_S * 1000:.0f}，热 < {WARM_TARGET_S * 1000:.0f}")
        for page, name in PAGES:
            at = AppTest.from_file(app, default_timeout=600)
            sign_in(at)
            at.query_params["period"] = period
            at.run()  # lands on the overview; the timed runs follow
            if [t for t in at.text_input if t.label == "账号"]:
                raise RuntimeError("the app still asks to sign in: the timings would be of the sign-in page")
            clear_caches()
            cold = run_page(at, page)
            warm = statistics.median(run_page(at, page) for _ in range(5))
            by_street = []
            for street in reference()["streets"]:
                at.sidebar.selectbox(key="street").set_value(street)
                by_street.append(run_page(at, page))
            at.sidebar.selectbox(key="street").set_value("全部街道")
            missed = [label for label, seconds, target in (("冷", cold, COLD_TARGET_S), ("热", warm, WARM_TARGET_S))
                      if seconds >= target]
            met &= not missed
            print(f"{name:<8}{cold * 1000:>12.0f}{warm * 1000:>12.0f}{statistics.median(by_street) * 1000:>16.0f}"
                  f"{max(by_street) * 1000:>16.0f}{'  ← ' + '、'.join(missed) + '超出目标' if missed else ''}",
                  flush=True)
    hwm = [line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:")]
    print(f"\n页面计时进程(AppTest，含 DuckDB)峰值内存：{int(hwm[0]) / 1024:.0f} MB")
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of the city-scale sizes (0.1: a quick run)")
    parser.add_argument("--chunk", type=int, default=1_000_000, help="rows per extract file (one load each)")
    parser.add_argument("--years", type=float, default=3.0, help="the records span this many years up to today")
    parser.add_argument("--period", action="append", help="时间范围(可重复)；默认 上周 与 本年")
    parser.add_argument("--keep", help="build the database in this folder and keep it")
    parser.add_argument("--db", help="time the pages of this database (no build)")
    args = parser.parse_args()
    periods = args.period or ["上周", "本年"]
    print("规模：" + "，".join(f"{LABELS[k]} {round(n * args.scale):,}" for k, n in SIZES.items())
          + f"；{os.cpu_count()} 核，python {sys.version.split()[0]}")
    if args.db:
        return 0 if pages(Path(args.db), periods) else 1
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        db = build(work, args.scale, args.chunk, args.years)
        print(f"建库总用时：{(time.perf_counter() - started) / 60:.1f} 分钟")
        return 0 if pages(db, periods) else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
