"""诉求办理: rates by street, community, channel and category; the five-step flow with median
hours per step; 123-rule compliance; the backlog of open appeals by age; the overdue list
(no personal data), downloadable."""

import streamlit as st

from dashboard import data, figures, layout, state
from dashboard import format as fmt
from dashboard.layout import Card, count_card, rate_card

layout.page_start()
filters = state.filters()
scope = filters.scope
layout.header("诉求办理", filters)

RATE_COLUMNS = [("received", "受理量", "count"), ("response_rate", "响应率", "percent"),
                ("resolution_rate", "办结率", "percent"), ("on_time_rate", "按时办结率", "percent"),
                ("feedback_rate", "3日反馈率", "percent"), ("satisfaction_rate", "满意率", "percent"),
                ("composite", "综合得分", "score"), ("overdue_open", "超期未办结", "count"),
                ("median_hours_to_resolve", "办结时长中位数(小时)", "hours")]
# The overdue table shows this many rows (the oldest first); the download holds them all.
OVERDUE_SHOWN = 500
DIMENSIONS = (("street", "街道"), ("community", "社区"), ("channel", "渠道"), ("category", "类别"))


def main() -> None:
    now, before = data.appeal_summary(scope), data.appeal_summary(scope.previous())
    layout.cards([
        count_card("受理量", now, before, "received"),
        rate_card("响应率", now, before, "response_rate", help="24 小时内首次响应(1日受理)"),
        rate_card("办结率", now, before, "resolution_rate"),
        rate_card("满意率", now, before, "satisfaction_rate"),
        Card("满意度得分", fmt.score(now["satisfaction_score"]),
             fmt.delta_score(now["satisfaction_score"], before["satisfaction_score"]),
             help="(满意 + 0.9×基本满意) ÷ 已评价工单，折合百分制"),
        Card("办结时长中位数", fmt.hours(now["median_hours_to_resolve"]),
             fmt.delta_decimal(now["median_hours_to_resolve"], before["median_hours_to_resolve"], unit=" 小时"),
             inverse=True),
        count_card("超期未办结", now, before, "overdue_open", inverse=True),
        rate_card("3日反馈率", now, before, "feedback_rate"),
    ])
    layout.absent_caption("appeals", now)
    if not now["received"]:
        layout.empty("所选范围内没有诉求工单。可以换一个时间范围或街道再看。")
        return

    st.subheader("分项办理情况")
    # One street in view: its communities, not a one-bar chart of streets.
    dimensions = [d for d in DIMENSIONS if not (filters.street and d[0] == "street")]
    tabs = st.tabs([f"按{label}" for _, label in dimensions])
    for tab, (dimension, label) in zip(tabs, dimensions):
        with tab:
            rates = data.appeal_rates_by(scope, dimension)
            if dimension == "street":
                layout.street_chart("street_rates_chart", filters, figures.rates_by, rates, dimension)
                st.caption("点击某街道的条形即筛选该街道。")
            else:
                layout.plot(figures.rates_by, rates, dimension)
            layout.table(rates, [(dimension, label, "text"), *RATE_COLUMNS], key=f"rates_{dimension}")

    flow_column, rule_column = st.columns([3, 2], gap="large")
    with flow_column:
        st.subheader("五步闭环办理")
        st.caption("精准派单 → 首接响应 → 督导督办(办结) → 群众评价(回访) → 结案归档；每步标出该步用时的中位数。")
        funnel = data.appeal_funnel(scope)
        layout.plot(figures.funnel, funnel)
        layout.table(funnel, [("label", "环节", "text"), ("reached", "已到达(件)", "count"),
                              ("share", "占受理量", "percent"), ("median_hours", "本步用时中位数(小时)", "hours")],
                     key="funnel_table")
    with rule_column:
        st.subheader("“123”工作制度")
        st.caption("一日受理、两日办结、三日反馈。")
        layout.plot(figures.rule_123, now)

    st.subheader("未办结工单账龄")
    backlog = data.appeal_backlog(scope)
    if backlog["open"].sum() == 0:
        layout.empty("所选范围内的诉求工单均已办结。")
    else:
        layout.plot(figures.backlog, backlog)
        st.caption("按统计时点仍未办结的工单，按已受理时长分组；红色为已超过 48 小时办结时限。")

    st.subheader("超期未办结工单")
    overdue = data.overdue_appeals(scope)
    if overdue.is_empty():
        layout.empty("所选范围内没有超期未办结的诉求工单。")
    else:
        columns = [("appeal_id", "工单编号", "text"), ("received_at", "受理时间", "moment"),
                   ("street", "街道", "text"), ("community", "社区", "text"), ("compound_name", "小区", "text"),
                   ("channel", "渠道", "text"), ("category", "类别", "text"),
                   ("hours_open", "已受理(小时)", "hours")]
        layout.table(overdue.head(OVERDUE_SHOWN), columns, key="overdue_appeals_table",
                     height=320 if overdue.height > 8 else "auto")
        st.download_button(
            "下载超期工单清单(CSV)", layout.csv_bytes(overdue, columns),
            file_name=f"超期未办结工单_{scope.label().replace(' ', '')}.csv", mime="text/csv",
            icon=":material/download:", on_click="ignore")
        shown = (f"表中列出受理最早的 {OVERDUE_SHOWN} 件，完整清单请下载；" if overdue.height > OVERDUE_SHOWN
                 else "")
        st.caption(f"共 {fmt.count(overdue.height)} 件；{shown}清单不含来电人姓名、电话与诉求内容。")

main()
