"""The command line (`python -m etl`): the argparse tree of every package's commands, and the one
place a failure becomes a Chinese line on stderr and an exit status: 2 for a usage error (a bad
argument or DASHBOARD_* setting, a file or mapping that cannot be used, an unknown street), 1
otherwise. No traceback reaches the analyst (ETL_DEBUG shows it); output piped into `head` ends quietly.
"""

from __future__ import annotations

import argparse
import os
import sys

import access.cli
import demo.cli
import etl.cli
import metrics.cli
from arguments import Failure, UsageError
from metrics.common import figures_without
from settings import SettingError, check_environment, debug

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


class Parser(argparse.ArgumentParser):
    """argparse, whose errors are one Chinese line (the usage is what --help is for)."""

    def error(self, message: str):
        raise UsageError(f"{message}(用 {self.prog} --help 查看用法)")


def parser() -> Parser:
    """Every command, in the order --help lists them."""
    top = Parser(prog="python -m etl", description="蓬莱网格治理驾驶舱：数据导入与指标")
    commands = top.add_subparsers(dest="command", required=True)
    etl.cli.add_commands(commands, name_figures=figures_without)
    demo.cli.add_commands(commands)
    etl.cli.add_init(commands)
    metrics.cli.add_commands(commands)
    access.cli.add_commands(commands)
    return top


def main(argv: list[str] | None = None) -> int:
    """Run one command; every failure becomes one Chinese line on stderr and its exit status."""
    try:
        check_environment()
        args = parser().parse_args(argv)
        status = args.run(args)
        sys.stdout.flush()  # a closed pipe shows here, while it can still be handled
        return status
    except BrokenPipeError:
        # The reader (`head`) has all it wanted. Point stdout at /dev/null so that the flush at
        # exit does not complain again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except UsageError as exc:
        return _fail(f"参数错误：{exc}", 2)
    except SettingError as exc:
        return _fail(str(exc), 2)
    except Failure as exc:
        return _fail(str(exc), 1)
    except KeyboardInterrupt:
        return _fail("已中断，未完成的导入不会写入数据库。", 130)
    except Exception as exc:  # the last net: still one line, not a traceback
        if debug():
            raise
        return _fail(f"出错了({type(exc).__name__})：{' '.join(str(exc).split())}(设置 ETL_DEBUG=1 可看详细信息)", 1)


def _fail(message: str, status: int) -> int:
    print(" ".join(message.split()), file=sys.stderr)
    return status
