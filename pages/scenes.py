"""服务场景: events, attendance and 一老一小 by the six scene types, by street and by compound; the
most attended scenes; coverage and the compounds with no event in the period."""

import streamlit as st

from dashboard import auth, data, figures, layout, state
from metrics import scenes
from metrics.catalogue import Text, metric
from metrics.display import number

layout.page_start(auth.page_permission(__file__))
filters = state.filters()
scope = filters.scope
layout.header("服务场景", filters)
by, by_label = filters.breakdown()  # streets, or the communities of the one street in view

COUNT_COLUMNS = [metric(f"scenes.{key}") for key in ("events", "attendance", "old_young")]


def main() -> None:
    now, before = data.get(scenes.summary, scope), data.before(scenes.summary, "scenes", scope.previous())
    layout.summary_cards("scenes", ["events", "attendance", "old_young", "coverage"], now, before)
    layout.absent_caption("scenes", now)
    layout.comparison_caption(("scenes",), scope.previous())
    if layout.has_content(not now["events"], "所选范围内没有服务场景活动。"):
        type_column, top_column = st.columns(2, gap="large")
        with type_column:
            st.subheader("六类场景")
            by_type = data.get(scenes.by, scope, "scene_type")
            layout.plot(figures.scene_types, by_type)
            layout.table(by_type, [Text("scene_type", "场景类型"), *COUNT_COLUMNS], key="scene_types_table")
        with top_column:
            st.subheader("参与最多的场景")
            top = data.get(scenes.top, scope, 10)
            layout.plot(figures.top_scenes, top)

        st.subheader(f"各{by_label}开展情况")
        mix = data.get(scenes.mix, scope, by)
        street_chart, street_table = st.columns(2, gap="large")
        with street_chart:
            layout.plot(figures.scene_mix_by, mix, by)
        with street_table:
            by_place = data.get(scenes.by, scope, by)
            layout.table(by_place, [Text(by, by_label), *COUNT_COLUMNS], key="scene_streets_table")

        st.subheader("各小区开展情况")
        by_compound = data.get(scenes.by_compound, scope)
        layout.table(by_compound, [Text("name", "小区"), Text("street", "街道"), Text("compound_type", "小区类型"),
                                   *COUNT_COLUMNS],
                     key="scene_compounds_table", height=360 if by_compound.height > 10 else "auto")

    st.subheader("场景覆盖")
    coverage = data.get(scenes.coverage_by, scope, by)
    if coverage.is_empty():
        layout.empty("所选范围内没有小区。")
        return
    coverage_column, missing_column = st.columns(2, gap="large")
    with coverage_column:
        columns = [metric("compounds.compounds"), metric("scenes.covered"), metric("scenes.coverage")]
        chart = dict(hover_extra=columns[:2])
        if by == "street":
            layout.street_chart("coverage_chart", filters, figures.bars, coverage, by, "scenes.coverage", **chart)
        else:
            layout.plot(figures.bars, coverage, by, "scenes.coverage", key="coverage_chart", **chart)
        layout.table(coverage, [Text(by, by_label), *columns], key="coverage_table")
    with missing_column:
        missing = data.get(scenes.compounds_without_events, scope)
        st.markdown(f"**本期没有开展活动的小区：{number(missing.height)} 个**")
        if layout.has_content(missing.is_empty(), "所选范围内每个小区都开展了服务场景活动。"):
            layout.table(missing, [Text("name", "小区"), Text("street", "街道"), Text("community", "社区"),
                                   Text("compound_type", "小区类型"), Text("party_branch", "党支部")],
                         key="no_event_table", height=360 if missing.height > 10 else "auto")

main()
