"""`python -m etl stats`: every metric as JSON (cli.py assembles the command line)."""

from __future__ import annotations

import argparse
import json
from datetime import datetime

from arguments import UsageError, add_db, day, text
from etl.cli import open_database


def _cmd_stats(args) -> int:
    from metrics import Scope, stats

    with open_database(args) as con:
        try:
            scope = Scope.from_arguments(con, start=args.date_from, end=args.date_to, week=args.week,
                                         street=args.street, as_of=args.as_of, community=args.community)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        result = stats(con, scope)
    print(json.dumps(result, ensure_ascii=False, indent=None if args.json else 2, default=str))
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
    from metrics.core import parse_week

    try:
        parse_week(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def add_commands(commands) -> None:
    stats = commands.add_parser("stats", help="输出指标")
    stats.add_argument("--json", action="store_true", help="紧凑 JSON(一行)")
    stats.add_argument("--from", dest="date_from", type=day, help="起始日期(含)，YYYY-MM-DD")
    stats.add_argument("--to", dest="date_to", type=day, help="结束日期(不含)，YYYY-MM-DD")
    stats.add_argument("--week", type=_week, help="ISO 周，如 2026-W10")
    stats.add_argument("--street", type=text, help="只统计一个街道")
    stats.add_argument("--community", type=text, help="只统计一个社区")
    stats.add_argument("--as-of", dest="as_of", type=_moment, help="统计时点，如 2026-03-09T00:00")
    add_db(stats)
    stats.set_defaults(run=_cmd_stats)
