"""周报: choose a week and a street, preview the key numbers, download the PDF.

Thin on purpose: widgets → report.collect / build_typst / compile_pdf → draw. The numbers come
from the metrics module through report.collect, the same path `python -m report` takes.

A street user's report is his street's, always: the street comes from the account
(dashboard.auth.scope_street), never from a widget, so the preview, the week list and the PDF
are all built for that street whatever the session state says.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path

import streamlit as st

from dashboard import auth, layout
from etl.db import DatabaseMissing, Reader, file_identity
from metrics.catalogue import metric
from metrics.display import number
from metrics.feeds import data_weeks
from metrics.scope import Scope
from report import ReportError, build_typst, collect, compile_pdf, file_name, local_now
from settings import database_path, reference

layout.page_start(auth.page_permission(__file__))

ALL_STREETS = "全区"
# The KPIs previewed on the page, in order.
PREVIEW = [metric(f"appeals.{key}") for key in ("received", "response_rate", "resolution_rate", "satisfaction_rate",
                                                "composite", "overdue_open")]


@st.cache_resource
def _reader(path: str) -> Reader:
    return Reader(Path(path))


@st.cache_data(max_entries=64, show_spinner=False)
def _weeks(path: str, identity, street: str | None, today: date) -> list[str]:
    """Weeks with data that have ended by today (Beijing time), newest first."""
    with _reader(path).cursor() as cur:
        return data_weeks(cur, Scope(street=street, as_of=datetime.combine(today, time())))


@st.cache_data(max_entries=16, show_spinner="正在生成周报…")
def _report(path: str, identity, week: str, street: str | None) -> tuple[dict, bytes]:
    """The report's data and PDF; identity (the database file's) makes a new load recompute."""
    with _reader(path).cursor() as cur:
        data = collect(cur, week, street)
    return data, compile_pdf(build_typst(data))


def _week_label(week: str) -> str:
    scope = Scope.week(week)
    return f"{week}（{scope.start:%m-%d} 至 {scope.end - timedelta(days=1):%m-%d}）"


def _preview(data: dict) -> None:
    cards = [layout.card(kpi, data["stats"]["appeals"], data["previous"]["appeals"], label=kpi.long_label())
             for kpi in PREVIEW]
    layout.cards([replace(card, help=f"{card.help}上周 {data['previous_week']}："
                                     f"{kpi.text(data['previous']['appeals'][kpi.key])}。")
                  for card, kpi in zip(cards, PREVIEW)], per_row=len(PREVIEW))
    complaints, scenes = data["stats"]["complaints"], data["stats"]["scenes"]
    st.caption(f"物业投诉 {number(complaints['complaints'])} 件，"
               f"{metric('complaints.resolution_rate').label} {metric('complaints.resolution_rate').text(complaints['resolution_rate'])}；"
               f"服务场景活动 {number(scenes['events'])} 场、{number(scenes['attendance'])} 人次；"
               f"重点整治小区 {len(data['key_targets'])} 个，本周高投诉小区中新增 "
               f"{sum(1 for row in data['hot_spots'] if row['is_new'])} 个。统计时点 {data['as_of'].replace('T', ' ')[:16]}。")


def main() -> None:
    st.title("周报")
    st.caption("选择周次与范围，预览关键数字，下载可打印的 PDF 周报(与服务器每周一定时生成的相同)。")
    path = str(database_path())
    identity = file_identity(Path(path))
    if identity is None:
        st.info("还没有数据库：请先在“数据管理”页导入数据，或请管理员生成演示数据库。")
        return
    left, right = st.columns(2)
    street = auth.scope_street()
    if street:
        street_choice = right.selectbox("范围", [street], disabled=True, key="report_street_locked")
    else:
        street_choice = right.selectbox("范围", [ALL_STREETS, *reference()["streets"]], key="report_street")
        street = None if street_choice == ALL_STREETS else street_choice
    try:
        weeks = _weeks(path, identity, street, local_now().date())
    except DatabaseMissing:
        st.info("数据库暂时不可用，请稍后刷新。")
        return
    if not weeks:
        st.info(f"{street_choice}还没有任何已结束且有数据的周。")
        return
    week = left.selectbox("周次", weeks, format_func=_week_label, key="report_week")
    try:
        data, pdf = _report(path, identity, week, street)
    except ReportError as exc:
        st.warning(str(exc))
        return
    _preview(data)
    st.download_button("下载 PDF 周报", pdf, file_name=file_name(data), mime="application/pdf",
                       type="primary", icon=":material/download:", on_click="ignore")


main()
