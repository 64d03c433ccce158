"""服务场景: events, attendance and 一老一小 by the six scene types, by street and by compound; the
most attended scenes; coverage and the compounds with no event in the period."""

import streamlit as st

from dashboard import data, figures, layout, state
from dashboard import format as fmt
from dashboard.layout import count_card, rate_card

layout.page_start()
filters = state.filters()
scope = filters.scope
layout.header("服务场景", filters)
by, by_label = filters.breakdown()  # streets, or the communities of the one street in view

COUNT_COLUMNS = [("events", "活动场次", "count"), ("attendance", "参与人次", "count"),
                 ("old_young", "一老一小人次", "count")]


def main() -> None:
    now, before = data.scene_summary(scope), data.scene_summary(scope.previous())
    layout.cards([
        count_card("活动场次", now, before, "events"),
        count_card("参与人次", now, before, "attendance"),
        count_card("一老一小人次", now, before, "old_young"),
        rate_card("场景覆盖率", now, before, "coverage", help="有至少一场活动的小区 ÷ 全部小区"),
    ])
    layout.absent_caption("scenes", now)
    if not now["events"]:
        layout.empty("所选范围内没有服务场景活动。")
    else:
        type_column, top_column = st.columns(2, gap="large")
        with type_column:
            st.subheader("六类场景")
            by_type = data.scenes_by(scope, "scene_type")
            layout.plot(figures.scene_types, by_type)
            layout.table(by_type, [("scene_type", "场景类型", "text"), *COUNT_COLUMNS], key="scene_types_table")
        with top_column:
            st.subheader("参与最多的场景")
            top = data.top_scenes(scope, 10)
            layout.plot(figures.top_scenes, top)

        st.subheader(f"各{by_label}开展情况")
        mix = data.scene_mix(scope, by)
        street_chart, street_table = st.columns(2, gap="large")
        with street_chart:
            layout.plot(figures.scene_mix_by, mix, by)
        with street_table:
            by_place = data.scenes_by(scope, by)
            layout.table(by_place, [(by, by_label, "text"), *COUNT_COLUMNS], key="scene_streets_table")

        st.subheader("各小区开展情况")
        by_compound = data.scenes_by_compound(scope)
        layout.table(by_compound, [("name", "小区", "text"), ("street", "街道", "text"),
                                   ("compound_type", "小区类型", "text"), *COUNT_COLUMNS],
                     key="scene_compounds_table", height=360 if by_compound.height > 10 else "auto")

    st.subheader("场景覆盖")
    coverage = data.scene_coverage_by(scope, by)
    if coverage.is_empty():
        layout.empty("所选范围内没有小区。")
        return
    coverage_column, missing_column = st.columns(2, gap="large")
    with coverage_column:
        chart = dict(percent=True, value_label="覆盖率", hover_extra=[("小区", "compounds"), ("有活动小区", "covered")])
        if by == "street":
            layout.street_chart("coverage_chart", filters, figures.bars, coverage, by, "coverage", **chart)
        else:
            layout.plot(figures.bars, coverage, by, "coverage", key="coverage_chart", **chart)
        layout.table(coverage, [(by, by_label, "text"), ("compounds", "小区", "count"),
                                ("covered", "有活动小区", "count"), ("coverage", "覆盖率", "percent")],
                     key="coverage_table")
    with missing_column:
        missing = data.compounds_without_events(scope)
        st.markdown(f"**本期没有开展活动的小区：{fmt.count(missing.height)} 个**")
        if missing.is_empty():
            layout.empty("所选范围内每个小区都开展了服务场景活动。")
        else:
            layout.table(missing, [("name", "小区", "text"), ("street", "街道", "text"),
                                   ("community", "社区", "text"), ("compound_type", "小区类型", "text"),
                                   ("party_branch", "党支部", "text")],
                         key="no_event_table", height=360 if missing.height > 10 else "auto")

main()
