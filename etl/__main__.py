"""python -m etl: load extract files, build the demo database, print the metrics."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime
from pathlib import Path

from etl.contract import KINDS
from etl.settings import database_path


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="数据库文件(默认 data/governance.duckdb，或环境变量 DASHBOARD_DB)")


def _cmd_load(args) -> int:
    from etl.load import load_files

    reports = load_files(database_path(args.db), args.kind, [Path(f) for f in args.files])
    for report in reports:
        if args.json:
            print(json.dumps(report.as_json(), ensure_ascii=False))
        else:
            print(report.summary_zh())
            for reason in report.reasons[:10]:
                print(f"  拒绝 {reason['rows']} 行：{reason['reason']}(如第 {', '.join(map(str, reason['examples']))} 行)")
    return 1 if any(r.refused for r in reports) else 0


def _cmd_demo(args) -> int:
    from etl.demo import build_demo

    end = date.fromisoformat(args.end) if args.end else None
    reports = build_demo(database_path(args.db), end=end)
    for report in reports:
        print(report.summary_zh())
    return 1 if any(r.refused for r in reports) else 0


def _cmd_stats(args) -> int:
    from etl.db import read_only
    from metrics import Scope, stats

    as_of = datetime.fromisoformat(args.as_of) if args.as_of else None
    try:
        with read_only(database_path(args.db)) as con:
            scope = Scope.from_arguments(con, start=args.date_from, end=args.date_to, week=args.week,
                                         street=args.street, as_of=as_of)
            result = stats(con, scope)
    except ValueError as exc:
        print(f"参数错误：{exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, ensure_ascii=False, indent=None if args.json else 2, default=str))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m etl", description="蓬莱网格治理驾驶舱：数据导入与指标")
    commands = parser.add_subparsers(dest="command", required=True)

    load = commands.add_parser("load", help="导入一个或多个同类文件")
    load.add_argument("kind", choices=sorted(KINDS), help="文件种类")
    load.add_argument("files", nargs="+", help="CSV 或 XLSX 文件")
    load.add_argument("--json", action="store_true", help="每个文件输出一行 JSON")
    _add_db(load)
    load.set_defaults(run=_cmd_load)

    demo = commands.add_parser("demo", help="(重新)生成演示数据库")
    demo.add_argument("--end", help="演示数据的最后一天(默认今天)，YYYY-MM-DD")
    _add_db(demo)
    demo.set_defaults(run=_cmd_demo)

    stats = commands.add_parser("stats", help="输出指标")
    stats.add_argument("--json", action="store_true", help="紧凑 JSON(一行)")
    stats.add_argument("--from", dest="date_from", help="起始日期(含)，YYYY-MM-DD")
    stats.add_argument("--to", dest="date_to", help="结束日期(不含)，YYYY-MM-DD")
    stats.add_argument("--week", help="ISO 周，如 2026-W10")
    stats.add_argument("--street", help="只统计一个街道")
    stats.add_argument("--as-of", dest="as_of", help="统计时点，如 2026-03-09T00:00")
    _add_db(stats)
    stats.set_defaults(run=_cmd_stats)

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
