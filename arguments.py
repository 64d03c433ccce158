"""What the commands of every package share, below all of them: the two failures a command
raises (cli.py turns each into one Chinese line and an exit status), the --db option and the
argument types more than one package uses."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from settings import database_path


class UsageError(Exception):
    """A command line that cannot be carried out as given (exit status 2); the message is Chinese."""


class Failure(Exception):
    """A command that could not finish (exit status 1); the message is Chinese."""


def add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", help="数据库文件(默认 data/governance.duckdb，或环境变量 DASHBOARD_DB)")


def database(args) -> Path:
    """The database path the command names (it may not exist yet), never a directory."""
    path = database_path(args.db)
    if path.is_dir():
        raise UsageError(f"--db 指向的是文件夹，不是数据库文件：{path}")
    return path


def text(value: str) -> str:
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


def day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期应为存在的日期，写作 YYYY-MM-DD(如 2026-03-09)：{value!r}") from None
