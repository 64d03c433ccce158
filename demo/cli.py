"""`python -m etl demo`: (re)build the demo database (cli.py assembles the command line)."""

from __future__ import annotations

from arguments import Failure, add_db, database, day


def _cmd_demo(args) -> int:
    from demo.build import build_demo

    try:
        reports = build_demo(database(args), end=args.end)
    except ValueError as error:  # an --end later than today: the demo holds nothing ahead of now
        raise Failure(str(error)) from None
    for report in reports:
        print(report.summary_zh())
    return 1 if any(r.refused for r in reports) else 0


def add_commands(commands) -> None:
    demo = commands.add_parser("demo", help="(重新)生成演示数据库")
    demo.add_argument("--end", type=day, help="演示数据的最后一天(默认今天)，YYYY-MM-DD")
    add_db(demo)
    demo.set_defaults(run=_cmd_demo)
