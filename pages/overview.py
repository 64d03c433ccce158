"""总览: the three rates and the 123 rule as cards, the weekly trend, the street 红黑榜 and the
attention list (overdue by street, new hot spots, key targets getting worse)."""

import polars as pl
import streamlit as st

from dashboard import data, figures, layout, state
from dashboard import format as fmt
from dashboard.layout import Card, count_card, rate_card

layout.page_start()
filters = state.filters()
scope = filters.scope
previous = scope.previous()
layout.header("总览", filters)

now, before = data.appeal_summary(scope), data.appeal_summary(previous)
st.subheader("诉求办理")
layout.cards([
    count_card("受理量", now, before, "received"),
    rate_card("响应率", now, before, "response_rate", help="24 小时内首次响应的工单占比(1日受理)"),
    rate_card("办结率", now, before, "resolution_rate", help="统计时点前已办结的工单占比"),
    rate_card("按时办结率", now, before, "on_time_rate", help="48 小时内办结的工单占比(2日办结)"),
    rate_card("3日反馈率", now, before, "feedback_rate", help="72 小时内反馈群众的工单占比"),
    rate_card("满意率", now, before, "satisfaction_rate", help="(满意 + 基本满意) ÷ 已评价工单"),
    Card("综合得分", fmt.score(now["composite"]), fmt.delta_score(now["composite"], before["composite"]),
         help="0.1×响应率 + 0.5×办结率 + 0.4×满意度得分，折合百分制"),
    count_card("超期未办结", now, before, "overdue_open", inverse=True, help="超过 48 小时仍未办结的工单"),
])
layout.absent_caption("appeals", now)
st.caption(f"变化为与上一期({previous.label()}，统计时点 {fmt.moment(previous.moment)})相比。")

trend_column, ranking_column = st.columns([1, 1], gap="large")
with trend_column:
    st.subheader("近 12 周走势")
    trend = data.weekly_trend(scope)
    if trend["received"].sum() == 0:
        layout.empty("近 12 周所选范围内没有诉求工单。")
    else:
        layout.plot(figures.weekly_trend, trend)

with ranking_column:
    if filters.locked:
        # A street leader: where his street stands in the district (its rank, not the other
        # streets' numbers), then his communities ranked the same way.
        st.subheader("全区排名与社区排名")
        standing = data.street_standing(scope)
        if standing:
            st.metric(f"{filters.street}在全区的综合排名", f"第 {standing['rank']} 名 / 共 {standing['streets']} 个街道",
                      f"综合得分 {fmt.score(standing['composite'])}", delta_color="off", delta_arrow="off", border=True)
        else:
            layout.empty("所选时段内本街道没有可评价的诉求工单，暂无全区排名。")
        ranking = data.community_ranking(scope)
        place, place_label, chart = "community", "社区", "community_ranking_chart"
    else:
        st.subheader("街道红黑榜")
        ranking = data.street_ranking(filters.district_scope())
        place, place_label, chart = "street", "街道", "ranking_chart"
    if ranking.is_empty():
        layout.empty(f"所选时段内没有诉求工单，暂无{place_label}排名。")
    else:
        if ranking.filter(pl.col("composite").is_not_null()).height > 1:
            if place == "street":
                layout.street_chart(chart, filters, figures.street_ranking, ranking)
                st.caption("按综合得分排名，全区各街道对比；点击街道条形即筛选该街道。")
            else:
                layout.plot(figures.street_ranking, ranking, "community", key=chart)
                st.caption("本街道各社区按综合得分排名。")
        layout.table(ranking, [("rank", "名次", "count"), (place, place_label, "text"),
                               ("composite", "综合得分", "score"), ("resolution_rate", "办结率", "percent"),
                               ("satisfaction_rate", "满意率", "percent"), ("received", "受理量", "count")],
                     key="ranking_table")
        if filters.street and not filters.locked:
            st.button(f"当前只看{filters.street}，查看全部街道", on_click=state.select_street, args=(None,),
                      icon=":material/filter_alt_off:")

st.subheader("需要关注")
overdue_column, hot_column, worse_column = st.columns(3, gap="large")
with overdue_column:
    by, by_label = filters.breakdown()
    st.markdown(f"**超期未办结工单(按{by_label})**")
    overdue = data.overdue_by(scope, (by,))
    if overdue.is_empty():
        layout.empty("所选范围内没有超期未办结的诉求工单。")
    else:
        layout.table(overdue, [(by, by_label, "text"), ("overdue_open", "超期件数", "count")], key="overdue_table")
with hot_column:
    st.markdown("**新增高投诉小区**")
    new_hot = data.hot_spots(scope).filter(pl.col("is_new"))
    if new_hot.is_empty():
        layout.empty("本期没有新增的高投诉小区。")
    else:
        layout.table(new_hot, [("name", "小区", "text"), ("street", "街道", "text"),
                               ("complaints_per_100_households", "每百户投诉", "decimal2")], key="hot_table",
                     height=248 if new_hot.height > 6 else "auto")
with worse_column:
    st.markdown("**投诉上升的重点整治小区**")
    worse = data.key_targets_worsening(scope)
    if worse.is_empty():
        layout.empty("重点整治小区的投诉均未比上一期增加。")
    else:
        layout.table(worse, [("name", "小区", "text"), ("complaints", "本期投诉", "count"),
                             ("previous_complaints", "上期投诉", "count")],
                     key="worse_table", height=248 if worse.height > 6 else "auto")
