"""诉求办理: rates by street, community, channel and category; the five-step flow with median
hours per step; 123-rule compliance; the backlog of open appeals by age; the overdue list
(no personal data), downloadable."""

import streamlit as st

from dashboard import auth, data, figures, layout, state
from metrics import appeals
from metrics.catalogue import Text, metric
from metrics.display import number
from settings import metric_settings

layout.page_start(auth.page_permission(__file__))
filters = state.filters()
scope = filters.scope
layout.header("诉求办理", filters)

RATE_COLUMNS = [metric(f"appeals.{key}") for key in appeals.RATE_KEYS if key != "satisfaction_score"]
# The overdue table shows this many rows (the oldest first); the download holds them all.
OVERDUE_SHOWN = 500
DIMENSIONS = (("street", "街道"), ("community", "社区"), ("channel", "渠道"), ("category", "类别"))


def main() -> None:
    # The five-step flow (five exact medians over the period) is the page's slowest number: it is
    # computed beside the cards' and the tables' instead of after them.
    data.prefetch(appeals.funnel, scope)
    now, before = data.get(appeals.summary, scope), data.before(appeals.summary, "appeals", scope.previous())
    layout.summary_cards("appeals", ["received", "response_rate", "resolution_rate", "satisfaction_rate",
                                     "satisfaction_score", "median_hours_to_resolve", "overdue_open",
                                     "feedback_rate"], now, before)
    layout.absent_caption("appeals", now)
    layout.comparison_caption(("appeals",), scope.previous())
    if not now["received"]:
        layout.empty("所选范围内没有诉求工单。可以换一个时间范围或街道再看。")
        return

    st.subheader("分项办理情况")
    # One street in view: its communities, not a one-bar chart of streets.
    dimensions = [d for d in DIMENSIONS if not (filters.street and d[0] == "street")]
    # Only the open tab is computed (a tab change reruns the page): over a year each table takes a
    # median over every appeal of the period.
    tabs = st.tabs([f"按{label}" for _, label in dimensions], key="rates_tabs", on_change="rerun")
    for tab, (dimension, label) in zip(tabs, dimensions):
        if not tab.open:
            continue
        with tab:
            rates = data.get(appeals.rates_by, scope, dimension)
            if dimension == "street":
                layout.street_chart("street_rates_chart", filters, figures.rates_by, rates, dimension)
                st.caption("点击某街道的条形即筛选该街道。")
            else:
                layout.plot(figures.rates_by, rates, dimension)
            layout.table(rates, [Text(dimension, label), *RATE_COLUMNS], key=f"rates_{dimension}")

    flow_column, rule_column = st.columns([3, 2], gap="large")
    with flow_column:
        st.subheader("五步闭环办理")
        st.caption("精准派单 → 首接响应 → 督导督办(办结) → 群众评价(回访) → 结案归档；每步标出该步用时的中位数。"
                   "某环节的“已到达”指该环节或其后任一环节已有时间(不论是否在时限内)，所以与上方只计时限内响应的"
                   "响应率、只计已有办结时间的办结率不一定相同。")
        funnel = data.get(appeals.funnel, scope)
        layout.plot(figures.funnel, funnel)
        layout.table(funnel, [Text("label", "环节"), metric("funnel.reached").as_("已到达(件)"), metric("funnel.share"),
                              metric("funnel.median_hours")], key="funnel_table")
    with rule_column:
        st.subheader("“123”工作制度")
        st.caption("一日受理、两日办结、三日反馈。")
        layout.plot(figures.rule_123, now)
        st.caption(f"绿色：不低于 {figures.RULE_123_GOOD:.0%}；橙色：{figures.RULE_123_FAIR:.0%} 至 "
                   f"{figures.RULE_123_GOOD:.0%}；红色：低于 {figures.RULE_123_FAIR:.0%}。")

    st.subheader("未办结工单账龄")
    backlog = data.get(appeals.backlog, scope)
    if layout.has_content(backlog["open"].sum() == 0, "所选范围内的诉求工单均已办结。"):
        layout.plot(figures.backlog, backlog)
        st.caption(f"按统计时点仍未办结的工单，按已受理时长分组；红色为已超过 "
                   f"{metric_settings()['resolution_limit_hours']:g} 小时办结时限。")

    st.subheader("超期未办结工单")
    overdue = data.get(appeals.overdue, scope, OVERDUE_SHOWN)
    if layout.has_content(overdue.is_empty(), "所选范围内没有超期未办结的诉求工单。"):
        columns = [Text("appeal_id", "工单编号"), Text("received_at", "受理时间", "moment"),
                   Text("street", "街道"), Text("community", "社区"), Text("compound_name", "小区"),
                   Text("channel", "渠道"), Text("category", "类别"), metric("overdue.hours_open")]
        layout.table(overdue, columns, key="overdue_appeals_table", height=320 if overdue.height > 8 else "auto")
        # The whole list is read and written when the button is pressed: at city scale a year's
        # list is tens of thousands of appeals, a file of megabytes most views never take.
        layout.deferred_download(
            "下载超期工单清单(CSV)", lambda: layout.csv_bytes(data.get(appeals.overdue, scope), columns),
            file_name=f"超期未办结工单_{scope.label().replace(' ', '')}.csv", mime="text/csv")
        total = now["overdue_open"]
        shown = f"表中列出受理最早的 {OVERDUE_SHOWN} 件，完整清单请下载；" if total > OVERDUE_SHOWN else ""
        st.caption(f"共 {number(total)} 件；{shown}清单不含来电人姓名、电话与诉求内容。")

main()
