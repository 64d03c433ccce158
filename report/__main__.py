"""python -m report --week YYYY-Www --out FILE.pdf [--street NAME] [--db PATH]"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from arguments import add_db
from etl.db import DatabaseMissing, read_only
from report import CompileError, ReportError, file_name, make_pdf
from settings import SettingError, database_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m report", description="蓬莱网格治理驾驶舱：生成周报 PDF")
    parser.add_argument("--week", help="ISO 周，如 2026-W10(默认：最近一个完整的周)")
    parser.add_argument("--out", help="输出的 PDF 文件(默认：周报-<周>-<范围>.pdf，在当前目录)")
    parser.add_argument("--street", help="只统计一个街道(默认：全区)")
    add_db(parser)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    db_path = database_path(args.db)
    try:
        with read_only(db_path) as con:
            pdf, data = make_pdf(con, args.week, args.street)
    except DatabaseMissing:
        print(f"错误：找不到数据库文件 {db_path}；请先导入数据(python -m etl load …)或生成演示库(python -m etl demo)",
              file=sys.stderr)
        return 2
    except (ReportError, SettingError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except CompileError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 3
    out = Path(args.out) if args.out else Path(file_name(data))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(pdf)
    tmp.replace(out)
    print(f"已生成 {out}({len(pdf) // 1024} KB，{data['week']}，{data['street'] or data['district']}，"
          f"用时 {time.perf_counter() - started:.2f} 秒)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
