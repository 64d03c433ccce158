"""The loader's commands of `python -m etl`: load, check, history, rejects, stale, undo, recheck
and init (cli.py assembles every package's commands and turns failures into Chinese lines)."""

from __future__ import annotations

import argparse
import json
import os
from contextlib import contextmanager
from pathlib import Path

from arguments import Failure, UsageError, add_db, database
from etl.contract import KINDS

LOAD_NICENESS = 10  # os.nice increment of a command-line load (0 would compete as an equal)


def existing_database(args) -> Path:
    """The database path, or a Chinese failure if there is no database there."""
    path = database(args)
    if not path.exists():
        raise Failure(f"还没有数据库文件：{path}(用 python -m etl init 新建空库，或 python -m etl demo 生成演示库)")
    return path


def open_database(args):
    """The database read-only, or a Chinese failure if there is none at that path."""
    from etl.db import read_only

    return read_only(existing_database(args))


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


def _print_reports(reports, args) -> None:
    for report in reports:
        if args.json:
            print(json.dumps(report.as_json(), ensure_ascii=False))
        else:
            print(report.summary_zh(args.name_figures))
            for reason in report.reasons[:10]:
                print(f"  拒绝 {reason['rows']} 行：{reason['reason']}(如第 {', '.join(map(str, reason['examples']))} 行)")


def _cmd_load(args) -> int:
    from etl.load import load_files

    # A load from the command line (cron, an analyst's shell) is a batch job: it gives way to the
    # dashboard's readers on a shared machine, which matters most while it publishes.
    os.nice(LOAD_NICENESS)
    # A mistyped --db must not become a new empty database that rejects every row: `init` makes one.
    reports = load_files(existing_database(args), args.kind, _files(args), mapping=_mapping(args), correction=args.correction)
    _print_reports(reports, args)
    return 1 if any(r.refused for r in reports) else 0


def _cmd_check(args) -> int:
    from etl.load import check_files

    reports = check_files(database(args), args.kind, _files(args), mapping=_mapping(args),
                          correction=args.correction)
    if not args.json:
        print("预检(未写入)：新增 = 将新增，更新 = 将更新，较旧版本 = 库中记录已更新，将不覆盖。")
    _print_reports(reports, args)
    return 1 if any(r.refused for r in reports) else 0


def _cmd_history(args) -> int:
    from etl.batches import history

    with open_database(args) as con:
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
    with open_database(args) as con:
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
    from access.audit import login_name
    from etl.batches import undo, undo_message

    with _refusal("撤销"):
        result = undo(database(args), args.batch_id, undone_by=login_name())
    print(undo_message(result))
    return 0


def _cmd_recheck(args) -> int:
    from access.audit import login_name
    from etl.batches import recheck

    with _refusal("重新校验"):
        report = recheck(database(args), args.batch_id, loaded_by=login_name())
    _print_reports([report], args)
    return 1 if report.refused else 0


@contextmanager
def _refusal(what: str):
    """A batch that cannot be undone or re-checked ends the command with its reason (exit status 1)."""
    from etl.batches import UndoRefused

    try:
        yield
    except UndoRefused as refusal:
        raise Failure(f"无法{what}：{refusal}") from None


def _cmd_init(args) -> int:
    from etl.db import writing

    path = database(args)
    if path.exists():
        raise Failure(f"数据库文件已存在：{path}，未作任何改动(要重新开始，请换一个文件名或先删除它)。")
    with writing(path, fresh=True):
        pass  # the writer creates the schema
    print(f"已新建空数据库：{path}(仅本账号可读写)。下一步：python -m etl load compounds 小区台账.csv --db {path}")
    return 0


def _batch(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number <= 0:
        raise argparse.ArgumentTypeError(f"批次编号应为正整数：{value!r}")
    return number


def add_commands(commands, name_figures=None) -> None:
    """load, check, history, rejects, stale, undo, recheck (in the order --help lists them).
    `name_figures` names the figures a file's absent columns leave “—” (the metrics layer's, which
    the loader does not import)."""
    load = commands.add_parser("load", help="导入一个或多个同类文件")
    load.add_argument("kind", choices=sorted(KINDS), help="文件种类")
    load.add_argument("files", nargs="+", help="CSV 或 XLSX 文件")
    load.add_argument("--json", action="store_true", help="每个文件输出一行 JSON")
    load.add_argument("--mapping", help="列映射：名称(data/mappings/名称.toml)或文件路径")
    load.add_argument("--correction", action="store_true",
                      help="更正批次：即使库中记录已是更新的状态，也用文件中的版本覆盖(记入审计日志)")
    add_db(load)
    load.set_defaults(run=_cmd_load, name_figures=name_figures)

    check = commands.add_parser("check", help="预检：报告导入结果但不写入")
    check.add_argument("kind", choices=sorted(KINDS), help="文件种类")
    check.add_argument("files", nargs="+", help="CSV 或 XLSX 文件")
    check.add_argument("--json", action="store_true", help="每个文件输出一行 JSON")
    check.add_argument("--mapping", help="列映射：名称或文件路径")
    check.add_argument("--correction", action="store_true", help="按更正批次预检(较旧版本也覆盖)")
    add_db(check)
    check.set_defaults(run=_cmd_check, name_figures=name_figures)

    history = commands.add_parser("history", help="载入记录")
    history.add_argument("--json", action="store_true", help="每个批次输出一行 JSON")
    add_db(history)
    history.set_defaults(run=_cmd_history)

    rejected = commands.add_parser("rejects", help="导出一个批次被拒绝的行(CSV，Excel 可直接打开)")
    rejected.add_argument("batch_id", type=_batch)
    rejected.add_argument("--out", required=True, help="输出 CSV 文件")
    add_db(rejected)
    rejected.set_defaults(run=_cmd_rejects)

    stale = commands.add_parser("stale", help="导出一个批次因库中记录已更新而未覆盖的行(CSV)")
    stale.add_argument("batch_id", type=_batch)
    stale.add_argument("--out", required=True, help="输出 CSV 文件")
    add_db(stale)
    stale.set_defaults(run=_cmd_stale)

    undo = commands.add_parser("undo", help="撤销一个批次")
    undo.add_argument("batch_id", type=_batch)
    add_db(undo)
    undo.set_defaults(run=_cmd_undo)

    recheck = commands.add_parser("recheck", help="按当前参考数据重新校验一个批次被拒绝的行")
    recheck.add_argument("batch_id", type=_batch)
    recheck.add_argument("--json", action="store_true", help="输出一行 JSON")
    add_db(recheck)
    recheck.set_defaults(run=_cmd_recheck, name_figures=name_figures)


def add_init(commands) -> None:
    init = commands.add_parser("init", help="新建一个空数据库(开始使用真实数据时，先于任何导入)")
    add_db(init)
    init.set_defaults(run=_cmd_init)
