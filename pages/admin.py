"""账号与审计 (admin only): the accounts with their roles and streets (never a hash) and the audit
log of sign-ins, loads and undos, newest first."""

import polars as pl
import streamlit as st

from access import audit
from access.accounts import ROLES, users
from dashboard import auth, data, layout
from settings import accounts_path

layout.page_start(auth.ADMINISTER)

ALL = "全部"
SHOWN = 2000  # the newest audit entries read


def accounts_section() -> None:
    st.subheader("账号")
    try:
        accounts = list(users().values())
    except Exception as exc:  # a damaged file: say so, show nothing of it
        st.error(f"账号文件无法读取：{accounts_path()}({type(exc).__name__})")
        return
    order = list(ROLES)
    accounts.sort(key=lambda u: (order.index(u.role) if u.role in order else len(order), u.street or "", u.name))
    frame = pl.DataFrame({
        "name": [u.name for u in accounts],
        "role": [auth.role_name(u.role) for u in accounts],
        "street": [u.scope_street or "全部街道" for u in accounts],
        "rights": [ROLES.get(u.role, u.role).split("(", 1)[-1].rstrip(")") for u in accounts],
    }, schema={"name": pl.String, "role": pl.String, "street": pl.String, "rights": pl.String})
    counts = " · ".join(f"{auth.role_name(role)} {sum(u.role == role for u in accounts)}" for role in ROLES)
    st.caption(f"共 {len(accounts)} 个账号：{counts}。")
    layout.table(frame, [("name", "账号", "text"), ("role", "角色", "text"), ("street", "可查看范围", "text"),
                         ("rights", "权限说明", "text")], key="accounts_table")
    with st.expander("如何添加或重设账号"):
        st.markdown(
            "在服务器的项目目录中运行(会提示输入两次密码，密码至少 10 个字符)：\n\n"
            "```\n"
            "python -m etl user add dengzhou --role street --street 登州街道   # 街道领导\n"
            "python -m etl user add quzhang --role district                     # 区级领导\n"
            "python -m etl user add shujuyuan --role analyst                    # 数据专员\n"
            "python -m etl user list                                            # 列出账号\n"
            "```\n\n"
            "对已有账号再次运行 `user add` 即重设其密码和角色。账号的角色或街道改变后，该账号已登录的会话"
            "在下一次操作时要求重新登录。"
            "新增账号会记入下方审计日志。\n\n"
            f"账号文件：`{accounts_path()}`(可用环境变量 `DASHBOARD_ACCOUNTS` 指定；只保存密码的 argon2id 哈希，"
            "不保存密码本身)。")


def audit_section() -> None:
    st.subheader("审计日志")
    rows = audit.entries(data.db_path(), limit=SHOWN)
    if not rows:
        layout.empty("审计日志还没有任何记录。")
        return
    log = pl.DataFrame(rows, schema={"at": pl.String, "who": pl.String, "event": pl.String, "detail": pl.String})
    left, right = st.columns(2)
    event = left.selectbox("事件", [ALL, *audit.EVENTS.values()], key="audit_event")
    who = right.selectbox("账号", [ALL, *sorted(log["who"].unique().to_list())], key="audit_who")
    if event != ALL:
        log = log.filter(pl.col("event") == event)
    if who != ALL:
        log = log.filter(pl.col("who") == who)
    st.caption(f"登录、登录失败、退出、导入、撤销、重新校验和新增账号，最新的在前；显示 {log.height} 条"
               f"(最多读取最新 {SHOWN} 条)。")
    if log.is_empty():
        layout.empty("没有符合条件的记录。")
        return
    columns = [("at", "时间", "text"), ("who", "账号", "text"), ("event", "事件", "text"), ("detail", "详情", "text")]
    layout.table(log, columns, key="audit_table", height=420 if log.height > 12 else "auto")
    layout.deferred_download("下载审计日志(CSV)", lambda: layout.csv_bytes(log, columns), file_name="审计日志.csv",
                             mime="text/csv")


st.title("账号与审计")
accounts_section()
audit_section()
