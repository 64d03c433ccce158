"""物业治理: the 15 key-target compounds and their progress since they were targeted, the current
hot spots (new ones flagged), complaints by category and handling level, property companies."""

from datetime import timedelta

import polars as pl
import streamlit as st

from dashboard import data, figures, layout, state
from dashboard import format as fmt
from dashboard.layout import Card, count_card, rate_card

layout.page_start()
filters = state.filters()
scope = filters.scope
layout.header("物业治理", filters)


def main() -> None:
    now, before = data.complaint_summary(scope), data.complaint_summary(scope.previous())
    party, party_before = data.three_party_summary(scope), data.three_party_summary(scope.previous())
    layout.cards([
        count_card("投诉量", now, before, "complaints", inverse=True),
        rate_card("解决率", now, before, "resolution_rate"),
        Card("解决时长中位数", fmt.days(now["median_days_to_resolve"]),
             fmt.delta_decimal(now["median_days_to_resolve"], before["median_days_to_resolve"], unit=" 天"),
             inverse=True),
        rate_card("三方办处置占比", party, party_before, "three_party_share",
                  help="由社区、业委会、物业企业三方联席会议(三方办)处置的投诉占比"),
    ])
    layout.absent_caption("complaints", {**now, **party})

    st.subheader("重点整治小区")
    default_since = data.default_targeted_since()
    since = st.date_input("整治起始日期", value=default_since, key="since", format="YYYY-MM-DD",
                          help="15 个高投诉小区确定为重点整治对象的日期；整治前后各取同样长的时段对比。")
    progress = data.key_target_progress(scope, since)
    if progress.is_empty():
        layout.empty("所选范围内没有重点整治小区。")
    else:
        current_tab, progress_tab = st.tabs(["本期情况", "整治成效(整治前后对比)"])
        with current_tab:
            layout.table(progress, [
                ("name", "小区", "text"), ("street", "街道", "text"), ("complaints", "本期投诉", "count"),
                ("complaints_per_100_households", "每百户投诉", "decimal2"), ("resolution_rate", "解决率", "percent"),
                ("median_days_to_resolve", "解决时长中位数(天)", "days"),
                ("survey_answers", "测评答卷", "count"), ("survey_satisfaction_rate", "测评满意率", "percent"),
            ], key="key_targets_table")
        with progress_tab:
            layout.table(progress, [
                ("name", "小区", "text"), ("complaints_per_month_before", "整治前月均投诉", "decimal"),
                ("complaints_per_month_after", "整治后月均投诉", "decimal"),
                ("resolution_rate_before", "整治前解决率", "percent"), ("resolution_rate_after", "整治后解决率", "percent"),
                ("survey_satisfaction_before", "整治前满意率", "percent"),
                ("survey_satisfaction_after", "整治后满意率", "percent"), ("trend", "成效", "text"),
            ], key="key_targets_progress_table")
            if since is not None and scope.end is not None and since < scope.end:
                st.caption(f"整治后：{since.isoformat()} 至 {fmt.moment(scope.end - timedelta(days=1))}，"
                           f"按统计时点 {fmt.moment(scope.moment)} 计；整治前：此前同样长的时段，按整治起始日计。"
                           "月均投诉 = 投诉件数 × 30 ÷ 天数。")
            else:
                st.caption("整治起始日期晚于所选时段，无法比较整治前后。")
        monthly = data.key_target_monthly(scope)
        if monthly["complaints"].sum() == 0:
            layout.empty("近 12 个月没有物业投诉。")
        else:
            layout.plot(figures.key_target_trend, monthly, since)

    hot_column, mix_column = st.columns([3, 2], gap="large")
    with hot_column:
        st.subheader("高投诉小区")
        hot = data.hot_spots(scope)
        if hot.is_empty():
            layout.empty("所选范围内没有物业投诉，暂无高投诉小区。")
        else:
            hot = hot.with_columns(pl.when(pl.col("is_new")).then(pl.lit("新增")).otherwise(pl.lit("重点整治"))
                                   .alias("flag"))
            layout.plot(
                figures.bars, hot, "name", "complaints_per_100_households", value_label="每百户投诉",
                colours=[figures.BAD if new else figures.MUTED for new in hot["is_new"].to_list()],
                hover_extra=[("街道", "street"), ("投诉", "complaints"), ("解决率", "resolution_rate"),
                             ("类别", "flag")])
            st.caption("红色为新增高投诉小区(尚未列为重点整治)，灰色为已列入重点整治的小区。")
            layout.table(hot, [("name", "小区", "text"), ("street", "街道", "text"), ("complaints", "投诉", "count"),
                               ("complaints_per_100_households", "每百户投诉", "decimal2"),
                               ("resolution_rate", "解决率", "percent"), ("flag", "类别", "text")],
                         key="hot_spots_table")
        unranked = data.unranked_compounds(scope)
        if unranked:
            st.caption(f"另有 {unranked} 个有投诉的小区缺少户数，无法计算每百户投诉量，未参加排名。")
    with mix_column:
        st.subheader("分级处置")
        levels = data.complaints_by(scope, "level")
        if levels["complaints"].sum() == 0:
            layout.empty("所选范围内没有物业投诉。")
        else:
            layout.plot(figures.level_mix, levels)
            layout.table(levels, [("level", "处置层级", "text"), ("complaints", "投诉", "count"),
                                  ("share", "占比", "percent"), ("three_party", "其中三方办", "count")],
                         key="levels_table")

    st.subheader("投诉类别")
    categories = data.complaints_by(scope, "category")
    if categories.is_empty():
        layout.empty("所选范围内没有物业投诉。")
    else:
        layout.plot(figures.bars, categories, "category", "complaints", value_label="投诉(件)",
                    hover_extra=[("解决率", "resolution_rate"), ("解决时长中位数", "median_days_to_resolve")])

    st.subheader("物业企业对比")
    companies = data.property_companies(scope)
    if companies.is_empty():
        layout.empty("所选范围内没有小区。")
    else:
        ranked = companies.filter(pl.col("complaints") > 0).head(15)
        if not ranked.is_empty():
            layout.plot(
                figures.bars, ranked, "property_company", "complaints_per_100_households", value_label="每百户投诉",
                hover_extra=[("管理小区", "compounds"), ("投诉", "complaints"), ("解决率", "resolution_rate"),
                             ("物业服务满意率", "survey_satisfaction_rate")])
            st.caption("每百户投诉量最高的 15 家(含无物业小区)；全部企业见下表。")
        layout.table(companies, [
            ("property_company", "物业企业", "text"), ("compounds", "管理小区", "count"),
            ("households", "户数", "count"), ("complaints", "投诉", "count"),
            ("complaints_per_100_households", "每百户投诉", "decimal2"), ("resolution_rate", "解决率", "percent"),
            ("median_days_to_resolve", "解决时长中位数(天)", "days"), ("three_party", "三方办", "count"),
            ("survey_satisfaction_rate", "物业服务满意率", "percent"),
        ], key="companies_table", height=360 if companies.height > 10 else "auto")


main()
