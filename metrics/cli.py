"""`python -m etl stats`: every metric, as the pages show it or (--json) exact; `alerts`; `rollup`,
which rebuilds a daily rollup that older code left unusable (cli.py assembles the command line)."""

from __future__ import annotations

import argparse
import json
import os
from datetime import datetime, timedelta

from arguments import UsageError, add_db, day, text
from etl.cli import LOAD_NICENESS, existing_database, open_database


def _cmd_stats(args) -> int:
    from metrics import Scope, render_stats, stats

    with open_database(args) as con:
        try:
            scope = Scope.from_arguments(con, start=args.date_from, end=args.date_to, week=args.week,
                                         street=args.street, as_of=args.as_of, community=args.community)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        result = stats(con, scope)
    # --json: the exact values, for programs; otherwise the same as the pages show them
    print(json.dumps(result, ensure_ascii=False, default=str) if args.json else render_stats(result))
    return 0


REPEAT_DAYS = 90  # the repeat rates of `alerts`: the appeals received in the 90 days before as-of


def _cmd_alerts(args) -> int:
    from metrics import alerts
    from metrics.scope import Scope, check_place
    from metrics.snapshot import render_alerts
    from settings import local_now

    as_of = args.as_of or local_now().replace(second=0, microsecond=0)
    with open_database(args) as con:
        try:
            check_place(con, args.street, None)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        result = alerts.report(con, Scope((as_of - timedelta(days=REPEAT_DAYS)).date(), None, as_of, args.street))
    print(json.dumps(result, ensure_ascii=False, default=str) if args.json else render_alerts(result, as_of))
    return 0


def _cmd_rollup(args) -> int:
    import time

    from metrics import rollups

    os.nice(LOAD_NICENESS)  # a batch job, like a load: the dashboard's readers go first
    started = time.perf_counter()
    days = rollups.rebuild_file(existing_database(args))
    if days is None:
        print("日汇总表已是最新，未作改动。")
    else:
        print(f"已重算日汇总表：{days} 天，用时 {time.perf_counter() - started:.1f} 秒。页面改读汇总表(数字不变，更快)。")
    return 0


def _moment(value: str) -> datetime:
    """A moment as the feeds' clock reads it (Beijing time); one with an offset is converted."""
    from settings import TIMEZONE

    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"时点应写作 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM(如 2026-03-09T00:00)：{value!r}"
                                         ) from None
    return moment.astimezone(TIMEZONE).replace(tzinfo=None) if moment.tzinfo else moment


def _week(value: str) -> str:
    from metrics.scope import parse_week

    try:
        parse_week(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def add_commands(commands) -> None:
    stats = commands.add_parser("stats", help="输出指标(按页面的写法；--json 输出精确值)")
    stats.add_argument("--json", action="store_true", help="精确值，紧凑 JSON(一行)")
    stats.add_argument("--from", dest="date_from", type=day, help="起始日期(含)，YYYY-MM-DD")
    stats.add_argument("--to", dest="date_to", type=day, help="结束日期(不含)，YYYY-MM-DD")
    stats.add_argument("--week", type=_week, help="ISO 周，如 2026-W10")
    stats.add_argument("--street", type=text, help="只统计一个街道")
    stats.add_argument("--community", type=text, help="只统计一个社区")
    stats.add_argument("--as-of", dest="as_of", type=_moment, help="统计时点，如 2026-03-09T00:00")
    add_db(stats)
    stats.set_defaults(run=_cmd_stats)
    warn = commands.add_parser("alerts", help="预警：临期、环节超时工单，异动预警，重复诉求率与真解决率(--json 输出精确值)")
    warn.add_argument("--json", action="store_true", help="精确值，紧凑 JSON(一行)")
    warn.add_argument("--street", type=text, help="只看一个街道")
    warn.add_argument("--as-of", dest="as_of", type=_moment, help="预警时点，如 2026-03-09T00:00(默认现在)")
    add_db(warn)
    warn.set_defaults(run=_cmd_alerts)
    rollup = commands.add_parser("rollup", help="重算日汇总表(升级后旧的汇总表不可用时；导入和撤销会自动维护它)")
    add_db(rollup)
    rollup.set_defaults(run=_cmd_rollup)
