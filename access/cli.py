"""`python -m etl user add|list|first-run`: the accounts (cli.py assembles the command line)."""

from __future__ import annotations

import sys

from arguments import add_db, text
from settings import accounts_path, database_path


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
    audit.record(database_path(args.db), audit.login_name(), "user_add",
                 f"{user.name}({user.role} {user.street or ''})")
    print(f"已添加账号 {user.name}，角色 {user.role}{'，街道 ' + user.street if user.street else ''}。")
    return 0


def _cmd_user_list(args) -> int:
    from access.accounts import ROLES, users

    for user in users().values():
        print(f"{user.name:<20} {user.role:<9} {user.street or '':<8} {ROLES[user.role]}")
    return 0


def _cmd_user_first(args) -> int:
    from access.accounts import ensure_first_admin

    created = ensure_first_admin()
    if created:
        name, password = created
        print("=" * 60)
        print("尚无任何账号，已创建管理员账号(只显示这一次，请妥善保存)：")
        print(f"    账号：{name}    密码：{password}")
        print(f"账号文件：{accounts_path()}；添加领导账号：python -m etl user add 名称 --role street --street 街道")
        print("=" * 60)
    return 0


def add_commands(commands) -> None:
    user = commands.add_parser("user", help="账号管理")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    user_add = user_commands.add_parser("add", help="添加或重设一个账号")
    user_add.add_argument("name", help="账号名(小写字母、数字)")
    user_add.add_argument("--role", required=True, choices=["district", "street", "analyst", "admin"])
    user_add.add_argument("--street", type=text, help="street 角色所属街道")
    user_add.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码(一行)")
    add_db(user_add)
    user_add.set_defaults(run=_cmd_user_add)
    user_list = user_commands.add_parser("list", help="列出账号")
    user_list.set_defaults(run=_cmd_user_list)
    user_first = user_commands.add_parser("first-run", help="没有任何账号时创建管理员并显示一次密码")
    user_first.set_defaults(run=_cmd_user_first)
