"""python -m etl: load extract files, build the demo database, print the metrics.

Every failure ends as one Chinese line on stderr and a non-zero exit status: 2 for a usage error
(a bad argument, a file or mapping that cannot be used, an unknown street), 1 otherwise. No
traceback reaches the analyst; output piped into `head` ends quietly.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date, datetime
from pathlib import Path

from etl.contract import KINDS
from settings import database_path

# argparse's own messages, in Chinese (argparse looks every message up through its module's `_`).
ARGPARSE_ZH = {
    "usage: ": "用法：",
    "positional arguments": "位置参数",
    "options": "选项",
    "show this help message and exit": "显示本帮助并退出",
    "the following arguments are required: %s": "缺少参数：%s",
    "invalid choice: %(value)r (choose from %(choices)s)": "无效的选项 %(value)r(可选：%(choices)s)",
    "unrecognized arguments: %s": "无法识别的参数：%s",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s：%(message)s",
    "invalid %(type)s value: %(value)r": "无效的值：%(value)r",
    "expected one argument": "需要一个值",
    "expected at least one argument": "至少需要一个值",
    "expected at most one argument": "最多只能有一个值",
    "ambiguous option: %(option)s could match %(matches)s": "选项 %(option)s 不明确，可能是 %(matches)s",
    "not allowed with argument %s": "不能与参数 %s 同时使用",
    "one of the arguments %s is required": "需要参数 %s 之一",
}
argparse._ = lambda message: ARGPARSE_ZH.get(message, message)


class UsageError(Exception):
    """A command line that cannot be carried out as given (exit status 2); the message is Chinese."""


class Failure(Exception):
    """A command that could not finish (exit status 1); the message is Chinese."""


class Parser(argparse.ArgumentParser):
    """argparse, whose errors are one Chinese line (the usage is what --help is for)."""

    def error(self, message: str):
        raise UsageError(f"{message}(用 {self.prog} --help 查看用法)")


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="数据库文件(默认 data/governance.duckdb，或环境变量 DASHBOARD_DB)")


def _mapping(args):
    """The --mapping named, checked against the kind of file being loaded."""
    from etl.mapping import MappingError, load_mapping

    if not args.mapping:
        return None
    try:
        mapping = load_mapping(args.mapping)
    except MappingError as exc:
        raise UsageError(str(exc)) from None
    if mapping.kind != args.kind:
        raise UsageError(f"列映射 {args.mapping} 用于“{KINDS[mapping.kind].label}”({mapping.kind})文件，"
                         f"不能用于“{KINDS[args.kind].label}”({args.kind})。")
    return mapping


def _files(args) -> list[Path]:
    """The files named, each an existing readable file (checked before any is read)."""
    paths = [Path(f) for f in args.files]
    for path in paths:
        if path.is_dir():
            raise UsageError(f"{path} 是文件夹，不是文件：请给出 CSV 或 XLSX 文件。")
        if not path.exists():
            raise UsageError(f"找不到文件：{path}")
        if not os.access(path, os.R_OK):
            raise UsageError(f"没有读取权限：{path}")
    return paths


def _database(args) -> Path:
    """The database path the command names (it may not exist yet), never a directory."""
    path = database_path(args.db)
    if path.is_dir():
        raise UsageError(f"--db 指向的是文件夹，不是数据库文件：{path}")
    return path


def _read_only(args):
    """The database read-only, or a Chinese failure if there is none at that path."""
    from etl.db import read_only

    path = _database(args)
    if not path.exists():
        raise Failure(f"还没有数据库文件：{path}(用 python -m etl init 新建空库，或 python -m etl demo 生成演示库)")
    return read_only(path)


def _print_reports(reports, args) -> None:
    for report in reports:
        if args.json:
            print(json.dumps(report.as_json(), ensure_ascii=False))
        else:
            print(report.summary_zh())
            for reason in report.reasons[:10]:
                print(f"  拒绝 {reason['rows']} 行：{reason['reason']}(如第 {', '.join(map(str, reason['examples']))} 行)")


def _cmd_load(args) -> int:
    from etl.load import load_files

    reports = load_files(_database(args), args.kind, _files(args), mapping=_mapping(args), correction=args.correction)
    _print_reports(reports, args)
    return 1 if any(r.refused for r in reports) else 0


def _cmd_check(args) -> int:
    from etl.load import check_files

    reports = check_files(_database(args), args.kind, _files(args), mapping=_mapping(args),
                          correction=args.correction)
    if not args.json:
        print("预检(未写入)：新增 = 将新增，更新 = 将更新，较旧版本 = 库中记录已更新，将不覆盖。")
    _print_reports(reports, args)
    return 1 if any(r.refused for r in reports) else 0


def _cmd_history(args) -> int:
    from etl.batches import history

    with _read_only(args) as con:
        batches = history(con)
    if args.json:
        for row in batches.to_dicts():
            row["file"] = row.pop("file_name")
            row["undone"] = row.pop("is_undone")
            row["correction"] = row.pop("is_correction")
            print(json.dumps(row, ensure_ascii=False, default=str))
    else:
        for row in batches.to_dicts():
            state = ("  更正" if row["is_correction"] else "") + ("  已撤销" if row["is_undone"] else "")
            print(f"{row['batch_id']:>5}  {row['loaded_at']:%Y-%m-%d %H:%M}  {row['kind']:<10} {row['file_name']}  "
                  f"读取 {row['rows_read']} 新增 {row['inserted']} 更新 {row['updated']} "
                  f"较旧未覆盖 {row['stale']} 拒绝 {row['rejected']}"
                  f"  ({row['loaded_by'] or ''}){state}")
    return 0


def _cmd_rejects(args) -> int:
    from etl.batches import rejects_csv

    return _write_batch_csv(args, "被拒绝行", "rejects", rejects_csv)


def _cmd_stale(args) -> int:
    from etl.batches import stale_csv

    return _write_batch_csv(args, "较旧版本(未覆盖)行", "stale_rows", stale_csv)


def _write_batch_csv(args, what: str, table: str, make) -> int:
    """Write some of a batch's rows (`table`, made into a CSV by `make`) to --out."""
    from etl.schema import present

    out = Path(args.out)
    if out.is_dir():
        raise UsageError(f"--out 指向的是文件夹：{out}(请给出要写入的 CSV 文件名)")
    with _read_only(args) as con:
        if not con.execute("SELECT count(*) FROM batches WHERE batch_id = ?", [args.batch_id]).fetchall()[0][0]:
            raise Failure(f"没有编号为 {args.batch_id} 的批次(python -m etl history 列出全部批次)。")
        rows = con.execute(f"SELECT count(*) FROM {table} WHERE batch_id = ?", [args.batch_id]).fetchall()[0][0] \
            if present(con, table) else 0  # a database from before stale rows were kept has none
        content = make(con, args.batch_id)
    try:
        out.write_bytes(content)
    except OSError as exc:
        raise Failure(f"无法写入 {out}：{exc.strerror or exc}") from None
    print(f"已写出批次 {args.batch_id} 的{what}({rows} 行)：{out}")
    return 0


def _cmd_undo(args) -> int:
    from etl.batches import UndoRefused, undo, undo_message

    try:
        result = undo(_database(args), args.batch_id, undone_by=_os_user())
    except UndoRefused as refusal:
        print(f"无法撤销：{refusal}", file=sys.stderr)
        return 1
    print(undo_message(result))
    return 0


def _cmd_recheck(args) -> int:
    from etl.batches import UndoRefused, recheck

    try:
        report = recheck(_database(args), args.batch_id, loaded_by=_os_user())
    except UndoRefused as refusal:
        print(f"无法重新校验：{refusal}", file=sys.stderr)
        return 1
    _print_reports([report], args)
    return 1 if report.refused else 0


def _cmd_demo(args) -> int:
    from demo.build import build_demo

    try:
        reports = build_demo(_database(args), end=args.end)
    except ValueError as error:  # an --end later than today: the demo holds nothing ahead of now
        raise Failure(str(error)) from None
    for report in reports:
        print(report.summary_zh())
    return 1 if any(r.refused for r in reports) else 0


def _cmd_init(args) -> int:
    from etl.db import writing

    path = _database(args)
    if path.exists():
        raise Failure(f"数据库文件已存在：{path}，未作任何改动(要重新开始，请换一个文件名或先删除它)。")
    with writing(path, fresh=True):
        pass  # the writer creates the schema
    print(f"已新建空数据库：{path}(仅本账号可读写)。下一步：python -m etl load compounds 小区台账.csv --db {path}")
    return 0


def _cmd_stats(args) -> int:
    from metrics import Scope, stats

    with _read_only(args) as con:
        try:
            scope = Scope.from_arguments(con, start=args.date_from, end=args.date_to, week=args.week,
                                         street=args.street, as_of=args.as_of, community=args.community)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        result = stats(con, scope)
    print(json.dumps(result, ensure_ascii=False, indent=None if args.json else 2, default=str))
    return 0


def _cmd_user_add(args) -> int:
    import getpass

    from access import audit
    from access.accounts import AccountError, add_user

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("密码：")
        if getpass.getpass("再输入一次：") != password:
            print("两次输入的密码不一致。", file=sys.stderr)
            return 2
    try:
        user = add_user(args.name, args.role, password, args.street)
    except AccountError as exc:
        print(f"无法添加账号：{exc}", file=sys.stderr)
        return 2
    audit.record(database_path(args.db), _os_user(), "user_add", f"{user.name}({user.role} {user.street or ''})")
    print(f"已添加账号 {user.name}，角色 {user.role}{'，街道 ' + user.street if user.street else ''}。")
    return 0


def _cmd_user_list(args) -> int:
    from access.accounts import ROLES, users

    for user in users().values():
        print(f"{user.name:<20} {user.role:<9} {user.street or '':<8} {ROLES[user.role]}")
    return 0


def _cmd_user_first(args) -> int:
    from access.accounts import accounts_path, ensure_first_admin

    created = ensure_first_admin()
    if created:
        name, password = created
        print("=" * 60)
        print(f"尚无任何账号，已创建管理员账号(只显示这一次，请妥善保存)：")
        print(f"    账号：{name}    密码：{password}")
        print(f"账号文件：{accounts_path()}；添加领导账号：python -m etl user add 名称 --role street --street 街道")
        print("=" * 60)
    return 0


def _os_user() -> str:
    from etl.load import _user

    return _user()


def _text(value: str) -> str:
    """A name given on the command line: bytes that are not UTF-8 (a GBK terminal, say) are
    refused here, with the usual exit status 2, rather than failing deep in a query; so is a name
    that is empty (an empty --street is not "every street")."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError("不是有效的 UTF-8 文本(请检查终端编码)") from None
    if not value.strip():
        raise argparse.ArgumentTypeError("不能为空(要统计全部，请不写这个参数)")
    return value


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期应为存在的日期，写作 YYYY-MM-DD(如 2026-03-09)：{value!r}") from None


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


def _batch(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number <= 0:
        raise argparse.ArgumentTypeError(f"批次编号应为正整数：{value!r}")
    return number


def main(argv: list[str] | None = None) -> int:
    """Run one command; every failure becomes one Chinese line on stderr and its exit status."""
    try:
        status = _run(argv)
        sys.stdout.flush()  # a closed pipe shows here, while it can still be handled
        return status
    except BrokenPipeError:
        # The reader (`head`) has all it wanted. Point stdout at /dev/null so that the flush at
        # exit does not complain again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except UsageError as exc:
        return _fail(f"参数错误：{exc}", 2)
    except Failure as exc:
        return _fail(str(exc), 1)
    except KeyboardInterrupt:
        return _fail("已中断，未完成的导入不会写入数据库。", 130)
    except Exception as exc:  # the last net: still one line, not a traceback
        if os.environ.get("ETL_DEBUG"):
            raise
        return _fail(f"出错了({type(exc).__name__})：{' '.join(str(exc).split())}(设置 ETL_DEBUG=1 可看详细信息)", 1)


def _fail(message: str, status: int) -> int:
    print(" ".join(message.split()), file=sys.stderr)
    return status


def _run(argv: list[str] | None) -> int:
    parser = Parser(prog="python -m etl", description="蓬莱网格治理驾驶舱：数据导入与指标")
    commands = parser.add_subparsers(dest="command", required=True)

    load = commands.add_parser("load", help="导入一个或多个同类文件")
    load.add_argument("kind", choices=sorted(KINDS), help="文件种类")
    load.add_argument("files", nargs="+", help="CSV 或 XLSX 文件")
    load.add_argument("--json", action="store_true", help="每个文件输出一行 JSON")
    load.add_argument("--mapping", help="列映射：名称(data/mappings/名称.toml)或文件路径")
    load.add_argument("--correction", action="store_true",
                      help="更正批次：即使库中记录已是更新的状态，也用文件中的版本覆盖(记入审计日志)")
    _add_db(load)
    load.set_defaults(run=_cmd_load)

    check = commands.add_parser("check", help="预检：报告导入结果但不写入")
    check.add_argument("kind", choices=sorted(KINDS), help="文件种类")
    check.add_argument("files", nargs="+", help="CSV 或 XLSX 文件")
    check.add_argument("--json", action="store_true", help="每个文件输出一行 JSON")
    check.add_argument("--mapping", help="列映射：名称或文件路径")
    check.add_argument("--correction", action="store_true", help="按更正批次预检(较旧版本也覆盖)")
    _add_db(check)
    check.set_defaults(run=_cmd_check)

    history = commands.add_parser("history", help="载入记录")
    history.add_argument("--json", action="store_true", help="每个批次输出一行 JSON")
    _add_db(history)
    history.set_defaults(run=_cmd_history)

    rejected = commands.add_parser("rejects", help="导出一个批次被拒绝的行(CSV，Excel 可直接打开)")
    rejected.add_argument("batch_id", type=_batch)
    rejected.add_argument("--out", required=True, help="输出 CSV 文件")
    _add_db(rejected)
    rejected.set_defaults(run=_cmd_rejects)

    stale = commands.add_parser("stale", help="导出一个批次因库中记录已更新而未覆盖的行(CSV)")
    stale.add_argument("batch_id", type=_batch)
    stale.add_argument("--out", required=True, help="输出 CSV 文件")
    _add_db(stale)
    stale.set_defaults(run=_cmd_stale)

    undo = commands.add_parser("undo", help="撤销一个批次")
    undo.add_argument("batch_id", type=_batch)
    _add_db(undo)
    undo.set_defaults(run=_cmd_undo)

    recheck = commands.add_parser("recheck", help="按当前参考数据重新校验一个批次被拒绝的行")
    recheck.add_argument("batch_id", type=_batch)
    recheck.add_argument("--json", action="store_true", help="输出一行 JSON")
    _add_db(recheck)
    recheck.set_defaults(run=_cmd_recheck)

    demo = commands.add_parser("demo", help="(重新)生成演示数据库")
    demo.add_argument("--end", type=_day, help="演示数据的最后一天(默认今天)，YYYY-MM-DD")
    _add_db(demo)
    demo.set_defaults(run=_cmd_demo)

    init = commands.add_parser("init", help="新建一个空数据库(开始使用真实数据时，先于任何导入)")
    _add_db(init)
    init.set_defaults(run=_cmd_init)

    stats = commands.add_parser("stats", help="输出指标")
    stats.add_argument("--json", action="store_true", help="紧凑 JSON(一行)")
    stats.add_argument("--from", dest="date_from", type=_day, help="起始日期(含)，YYYY-MM-DD")
    stats.add_argument("--to", dest="date_to", type=_day, help="结束日期(不含)，YYYY-MM-DD")
    stats.add_argument("--week", type=_week, help="ISO 周，如 2026-W10")
    stats.add_argument("--street", type=_text, help="只统计一个街道")
    stats.add_argument("--community", type=_text, help="只统计一个社区")
    stats.add_argument("--as-of", dest="as_of", type=_moment, help="统计时点，如 2026-03-09T00:00")
    _add_db(stats)
    stats.set_defaults(run=_cmd_stats)

    user = commands.add_parser("user", help="账号管理")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    user_add = user_commands.add_parser("add", help="添加或重设一个账号")
    user_add.add_argument("name", help="账号名(小写字母、数字)")
    user_add.add_argument("--role", required=True, choices=["district", "street", "analyst", "admin"])
    user_add.add_argument("--street", type=_text, help="street 角色所属街道")
    user_add.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码(一行)")
    _add_db(user_add)
    user_add.set_defaults(run=_cmd_user_add)
    user_list = user_commands.add_parser("list", help="列出账号")
    user_list.set_defaults(run=_cmd_user_list)
    user_first = user_commands.add_parser("first-run", help="没有任何账号时创建管理员并显示一次密码")
    user_first.set_defaults(run=_cmd_user_first)

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
