"""周报: choose a week and a street, preview the key numbers, download the PDF.

Thin on purpose: widgets → report.preview (through the pages' one cache, dashboard.data) → draw;
the PDF (report.make_pdf, through the same cache) is built when the button is pressed.
The numbers come from the metrics module through report.collect, the same path `python -m report`
takes.

A street user's report is his street's, always: the street comes from the account
(dashboard.auth.scope_street), never from a widget, so the preview, the week list and the PDF
are all built for that street whatever the session state says.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta

import streamlit as st

from dashboard import auth, data, layout, state
from etl.db import DatabaseMissing
from metrics.catalogue import metric
from metrics.display import number
from metrics.feeds import data_weeks
from metrics.scope import Scope
from report import ReportError, file_name, local_now, make_pdf, preview
from settings import reference

layout.page_start(auth.page_permission(__file__))

ALL_STREETS = "全区"
SIDEBAR_STREET = "_report_sidebar_street"  # the sidebar's street the range last followed
# The KPIs previewed on the page, in order.
PREVIEW = [metric(f"appeals.{key}") for key in ("received", "response_rate", "resolution_rate", "satisfaction_rate",
                                                "composite", "overdue_open")]


def _week_label(week: str) -> str:
    scope = Scope.week(week)
    return f"{week}（{scope.start:%m-%d} 至 {scope.end - timedelta(days=1):%m-%d}）"


def _preview(report: dict) -> None:
    cards = [layout.card(kpi, report["stats"]["appeals"], report["previous"]["appeals"], label=kpi.long_label())
             for kpi in PREVIEW]
    layout.cards([replace(card, help=f"{card.help}上周 {report['previous_week']}："
                                     f"{kpi.text(report['previous']['appeals'][kpi.key])}。")
                  for card, kpi in zip(cards, PREVIEW)], per_row=len(PREVIEW))
    if report["uncovered_notes"]["appeals"]:
        st.caption(f"{report['uncovered_notes']['appeals']}。")
    complaints, scenes = report["stats"]["complaints"], report["stats"]["scenes"]
    st.caption(f"物业投诉 {number(complaints['complaints'])} 件，"
               f"{metric('complaints.resolution_rate').label} {metric('complaints.resolution_rate').text(complaints['resolution_rate'])}；"
               f"服务场景活动 {number(scenes['events'])} 场、{number(scenes['attendance'])} 人次；"
               f"重点整治小区 {len(report['key_targets'])} 个，本周高投诉小区中新增 "
               f"{sum(1 for row in report['hot_spots'] if row['is_new'])} 个。统计时点 {report['as_of'].replace('T', ' ')[:16]}。")


def main() -> None:
    st.title("周报")
    st.caption("选择周次与范围，预览关键数字，下载可打印的 PDF 周报(与服务器每周一定时生成的相同)。")
    if not data.database_exists():
        st.info("还没有数据库：请先在“数据管理”页导入数据，或请管理员生成演示数据库。")
        return
    left, right = st.columns(2)
    street = auth.scope_street()
    if street:
        street_choice = right.selectbox("范围", [street], disabled=True, key="report_street_locked")
    else:
        # The range starts as the sidebar's street, and follows it when it changes there (the
        # sidebar's period does not apply: a report is one week).
        chosen = state.filters().street
        if st.session_state.get(SIDEBAR_STREET, ()) != chosen:
            st.session_state[SIDEBAR_STREET] = chosen
            st.session_state["report_street"] = chosen or ALL_STREETS
        street_choice = right.selectbox("范围", [ALL_STREETS, *reference()["streets"]], key="report_street",
                                        help="默认与左侧所选街道一致；左侧的时间范围不适用于周报(周报按周次统计)。")
        street = None if street_choice == ALL_STREETS else street_choice
    try:
        # weeks with data that have ended by today (Beijing time), newest first
        weeks = data.get(data_weeks, Scope(street=street, as_of=datetime.combine(local_now().date(), time())))
    except DatabaseMissing:
        st.info("数据库暂时不可用，请稍后刷新。")
        return
    if not weeks:
        st.info(f"{street_choice}还没有任何已结束且有数据的周。")
        return
    week = left.selectbox("周次", weeks, format_func=_week_label, key="report_week")
    try:
        report = data.get(preview, None, week, street)
    except ReportError as exc:
        st.warning(str(exc))
        return
    _preview(report)
    # The PDF is built when asked for (seconds over a city), in Streamlit's download thread;
    # the preview above has already found the week's data.
    layout.deferred_download("下载 PDF 周报", lambda: data.get(make_pdf, None, week, street)[0],
                             file_name=file_name(report), mime="application/pdf", type="primary")
    st.caption("点击下载后开始生成 PDF，全区数据较多时需要几秒钟。")


main()
