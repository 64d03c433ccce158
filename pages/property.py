"""物业治理: the 15 key-target compounds and their progress since they were targeted, the current
hot spots (new ones flagged), complaints by category and handling level, property companies."""

from datetime import timedelta

import polars as pl
import streamlit as st

from dashboard import auth, data, figures, layout, state
from metrics import complaints, compounds, feeds
from metrics.catalogue import Text, metric
from metrics.display import moment

layout.page_start(auth.page_permission(__file__))
filters = state.filters()
scope = filters.scope
layout.header("物业治理", filters)


def key_target_progress_tab(since) -> None:
    progress = data.get(compounds.key_target_progress, scope, since)
    per_month, resolution = metric("complaints.complaints_per_month"), metric("complaints.resolution_rate")
    satisfaction = metric("surveys.satisfaction_rate")
    layout.table(progress, [Text("name", "小区")] + [
        declared.as_(f"{when_label}{declared.label}", f"{column}_{when}")
        for declared, column in ((per_month, "complaints_per_month"), (resolution, "resolution_rate"),
                                 (satisfaction, "survey_satisfaction"))
        for when, when_label in (("before", "整治前"), ("after", "整治后"))] + [Text("trend", "成效(按月均投诉)")],
        key="key_targets_progress_table")
    if since >= scope.seen_end():
        st.caption("整治起始日期晚于所选时段已有数据的最后一天，无法比较整治前后。")
        return
    for note in compounds.progress_notes(scope, since, data.get(feeds.first_days)):
        st.caption(note)
    _, after = compounds.progress_windows(scope, since)
    st.caption(f"整治后：{since.isoformat()} 至 {moment(after.end - timedelta(days=1))}，"
               f"按统计时点 {moment(scope.moment)} 计；整治前：此前同样长的时段，按整治起始日计。"
               "月均投诉 = 投诉件数 × 30 ÷ 已过天数(当天按已过的时间计)；成效只看月均投诉的升降，解决率和满意率请对照前后两列。")


def main() -> None:
    now, before = data.get(complaints.summary, scope), data.before(complaints.summary, "complaints", scope.previous())
    party = data.get(complaints.three_party_summary, scope)
    party_before = data.before(complaints.three_party_summary, "complaints", scope.previous())
    layout.summary_cards("complaints", ["complaints", "resolution_rate", "median_days_to_resolve", "three_party_share"],
                         {**now, **party}, before and {**before, **party_before})
    layout.absent_caption("complaints", {**now, **party})
    layout.comparison_caption(("complaints",), scope.previous())

    st.subheader("重点整治小区")
    default_since = data.get(compounds.default_targeted_since)
    since = st.date_input("整治起始日期", value=default_since, key="since", format="YYYY-MM-DD",
                          help="15 个高投诉小区确定为重点整治对象的日期；整治前后各取同样长的时段对比。")
    # hot spots, the unranked count and the key targets are read off the one frame
    by_compound = data.get(compounds.complaints_by_compound, scope)
    status = compounds.key_target_status(by_compound, data.get(compounds.rate_by_compound, scope))
    if layout.has_content(status.is_empty(), "所选范围内没有重点整治小区。"):
        # Only the open tab is computed (a tab change reruns the page): the comparison reads
        # two more windows of complaints and surveys.
        current_tab, progress_tab = st.tabs(["本期情况", "整治成效(整治前后对比)"], key="key_target_tabs",
                                            on_change="rerun")
        if current_tab.open:
            with current_tab:
                layout.table(status, [
                    Text("name", "小区"), Text("street", "街道"), metric("complaints.complaints").as_("本期投诉"),
                    *(metric(f"complaints.{key}") for key in ("complaints_per_100_households", "resolution_rate",
                                                              "median_days_to_resolve")),
                    metric("surveys.answers").as_(source="survey_answers"),
                    metric("surveys.satisfaction_rate").as_(source="survey_satisfaction_rate"),
                ], key="key_targets_table")
        if progress_tab.open:
            with progress_tab:
                if since is None:  # nothing recorded or configured, and no complaint to date it by
                    st.caption("请先在上方选择“整治起始日期”，再比较整治前后。")
                else:
                    key_target_progress_tab(since)
        monthly = data.get(compounds.key_target_monthly, scope)
        if layout.has_content(monthly["complaints"].sum() == 0, "近 12 个月没有物业投诉。"):
            layout.plot(figures.key_target_trend, monthly, since)

    hot_column, mix_column = st.columns([3, 2], gap="large")
    with hot_column:
        st.subheader("高投诉小区")
        hot = compounds.hot_spots(by_compound)
        unranked = compounds.unranked(by_compound)
        if layout.has_content(hot.is_empty(), f"所选范围内有投诉的 {unranked} 个小区都缺少户数，无法计算每百户投诉量，"
                              "暂无高投诉小区排名。" if unranked else "所选范围内没有物业投诉，暂无高投诉小区。"):
            hot = hot.with_columns(pl.when(pl.col("is_new")).then(pl.lit("新增")).otherwise(pl.lit("重点整治"))
                                   .alias("flag"))
            layout.plot(
                figures.bars, hot, "name", "complaints.complaints_per_100_households",
                colours=[figures.BAD if new else figures.MUTED for new in hot["is_new"].to_list()],
                hover_extra=[("街道", "street"), "complaints.complaints", "complaints.resolution_rate",
                             ("类别", "flag")])
            st.caption("红色为新增高投诉小区(尚未列为重点整治)，灰色为已列入重点整治的小区。")
            layout.table(hot, [metric("ranking.rank").as_("排名"), Text("name", "小区"), Text("street", "街道"),
                               *(metric(f"complaints.{key}") for key in ("complaints", "complaints_per_100_households",
                                                                         "resolution_rate")),
                               Text("flag", "类别")], key="hot_spots_table")
            if unranked:
                st.caption(f"另有 {unranked} 个有投诉的小区缺少户数，无法计算每百户投诉量，未参加排名。")
    with mix_column:
        st.subheader("分级处置")
        levels = data.get(complaints.by, scope, "level")
        if layout.has_content(levels["complaints"].sum() == 0, "所选范围内没有物业投诉。"):
            layout.plot(figures.level_mix, levels)
            layout.table(levels, [Text("level", "处置层级"), metric("complaints.complaints"), metric("complaints.share"),
                                  metric("complaints.three_party").as_("其中三方办")], key="levels_table")

    st.subheader("投诉类别")
    categories = data.get(complaints.by, scope, "category")
    if layout.has_content(categories.is_empty(), "所选范围内没有物业投诉。"):
        layout.plot(figures.bars, categories, "category", "complaints.complaints",
                    hover_extra=["complaints.resolution_rate", "complaints.median_days_to_resolve"])

    st.subheader("物业企业对比")
    companies = data.get(complaints.property_companies, scope)
    if layout.has_content(companies.is_empty(), "所选范围内没有小区。"):
        ranked = companies.filter(pl.col("complaints") > 0).head(15)
        if not ranked.is_empty():
            service = metric("surveys.satisfaction_rate").as_("物业服务满意率", "survey_satisfaction_rate")
            layout.plot(
                figures.bars, ranked, "property_company", "complaints.complaints_per_100_households",
                hover_extra=[metric("compounds.compounds").as_("管理小区"), "complaints.complaints",
                             "complaints.resolution_rate", service])
            st.caption("每百户投诉量最高的 15 家(含无物业小区)；全部企业见下表。")
        layout.table(companies, [
            Text("property_company", "物业企业"), metric("compounds.compounds").as_("管理小区"),
            metric("compounds.households"),
            *(metric(f"complaints.{key}") for key in ("complaints", "complaints_per_100_households", "resolution_rate",
                                                      "median_days_to_resolve", "three_party")),
            metric("surveys.satisfaction_rate").as_("物业服务满意率", "survey_satisfaction_rate"),
        ], key="companies_table", height=360 if companies.height > 10 else "auto")


main()
