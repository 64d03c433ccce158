"""总览: the three rates and the 123 rule as cards, the weekly trend, the street 红黑榜 and the
attention list (overdue by street, new hot spots, key targets getting worse)."""

import polars as pl
import streamlit as st

from dashboard import auth, data, figures, layout, state
from metrics import alerts, appeals, compounds, feeds, rankings
from metrics.catalogue import Text, metric
from safety.plaintext import markdown_text
from settings import metric_settings

layout.page_start(auth.page_permission(__file__))
filters = state.filters()
scope = filters.scope
previous = scope.previous()
layout.header("总览", filters)

now, before = data.get(appeals.headline, scope), data.before(appeals.headline, "appeals", previous)
st.subheader("诉求办理")
layout.summary_cards("appeals", ["received", "response_rate", "resolution_rate", "on_time_rate", "feedback_rate",
                                 "satisfaction_rate", "composite", "overdue_open"], now, before)
layout.absent_caption("appeals", now)
due_soon = metric("alerts.due_soon")
with st.container(border=True):
    st.page_link("pages/alerts.py", label=f"即将超期 {due_soon.text(data.get(alerts.deadline_totals, scope)['due_soon'])} 件",
                 icon=":material/notification_important:", help=due_soon.help())
layout.comparison_caption(("appeals",), previous, always=True)

trend_column, ranking_column = st.columns([1, 1], gap="large")
with trend_column:
    st.subheader("近 12 周走势")
    trend = data.get(appeals.weekly_trend, scope)
    if layout.has_content(trend["received"].sum() == 0, "近 12 周所选范围内没有诉求工单。"):
        layout.plot(figures.weekly_trend, trend)

with ranking_column:
    if filters.locked:
        # A street leader: where his street stands in the district (its rank, not the other
        # streets' numbers), then his communities ranked the same way.
        st.subheader("全区排名与社区排名")
        standing = data.get(rankings.street_standing, scope)
        if standing:
            st.metric(f"{filters.street}在全区的综合排名", f"第 {standing['rank']} 名 / 共 {standing['streets']} 个街道",
                      f"综合得分 {metric('appeals.composite').text(standing['composite'])}", delta_color="off",
                      delta_arrow="off", border=True)
        else:
            layout.empty("所选时段内本街道没有可评价的诉求工单，暂无全区排名。")
        ranking = data.get(rankings.community_ranking, scope)
        place, place_label, chart = "community", "社区", "community_ranking_chart"
    else:
        st.subheader("街道红黑榜")
        ranking = data.get(rankings.street_ranking, filters.district_scope())
        place, place_label, chart = "street", "街道", "ranking_chart"
    if layout.has_content(ranking.is_empty(), f"所选时段内没有诉求工单，暂无{place_label}排名。"):
        if ranking.filter(pl.col("composite").is_not_null()).height > 1:
            if place == "street":
                layout.street_chart(chart, filters, figures.street_ranking, ranking)
                st.caption("按综合得分排名，全区各街道对比；点击街道条形即筛选该街道。")
            else:
                layout.plot(figures.street_ranking, ranking, "community", key=chart)
                st.caption("本街道各社区按综合得分排名。")
        layout.table(ranking, [metric("ranking.rank"), Text(place, place_label),
                               *(metric(f"appeals.{key}") for key in ("composite", "resolution_rate",
                                                                      "satisfaction_rate", "evaluated", "received"))],
                     key="ranking_table")
        unranked = [markdown_text(name) if name else f"未注明{place_label}的工单" for name in
                    ranking.filter(pl.col("composite").is_null())[place].to_list()]
        if unranked:
            st.caption(f"{'、'.join(unranked)}所选时段内缺少可计算的响应率、办结率或满意率(如尚无群众评价)，"
                       "综合得分为“—”，不参与排名。")
        if filters.street and not filters.locked:
            st.button(f"当前只看{filters.street}，查看全部街道", on_click=state.select_street, args=(None,),
                      icon=":material/filter_alt_off:")

st.subheader("需要关注")
overdue_column, hot_column, worse_column = st.columns(3, gap="large")
with overdue_column:
    by, by_label = filters.breakdown()
    st.markdown(f"**超期未办结工单(按{by_label})**")
    overdue = data.get(appeals.overdue_by, scope, (by,))
    if layout.has_content(overdue.is_empty(), "所选范围内没有超期未办结的诉求工单。"):
        layout.table(overdue, [Text(by, by_label), metric("appeals.overdue_open").as_("超期件数")],
                     key="overdue_table")
# the new hot spots and the worsening key targets are read off one frame per period
by_compound = data.get(compounds.complaints_by_compound, scope)
with hot_column:
    st.markdown("**新增高投诉小区**")
    new_hot = compounds.hot_spots(by_compound).filter(pl.col("is_new"))
    if layout.has_content(new_hot.is_empty(), "本期没有新增的高投诉小区。"):
        layout.table(new_hot, [Text("name", "小区"), Text("street", "街道"),
                               metric("complaints.complaints_per_100_households")], key="hot_table",
                     height=248 if new_hot.height > 6 else "auto")
        st.caption(f"共 {new_hot.height} 个：本期每百户投诉量居前 {metric_settings()['hot_spot_count']} 的小区中"
                   "尚未列入重点整治的。")
with worse_column:
    st.markdown("**投诉上升的重点整治小区**")
    before_by_compound = data.before(compounds.complaints_by_compound, "complaints", previous)
    worse = (compounds.key_targets_worsening(by_compound, before_by_compound) if before_by_compound is not None
             else None)
    if worse is None:
        layout.empty(f"{feeds.uncovered_note(data.get(feeds.first_days), ('complaints',), previous)}。")
    elif layout.has_content(worse.is_empty(), "重点整治小区的投诉均未比上一期增加。"):
        complaints = metric("complaints.complaints")
        layout.table(worse, [Text("name", "小区"), complaints.as_("本期投诉"),
                             complaints.as_("上期投诉", "previous_complaints")],
                     key="worse_table", height=248 if worse.height > 6 else "auto")
