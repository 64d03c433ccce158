"""满意度: survey satisfaction rate and average score by topic, street, compound type and
compound; the weekly trend; the lowest-rated compounds."""

import polars as pl
import streamlit as st

from dashboard import auth, data, figures, layout, state
from metrics import surveys
from metrics.catalogue import Text, metric

layout.page_start(auth.page_permission(__file__))
filters = state.filters()
scope = filters.scope
layout.header("满意度测评", filters)

COLUMNS = [metric(f"surveys.{key}") for key in ("answers", "satisfaction_rate", "average_score")]
DIMENSIONS = (("topic", "测评项目"), ("street", "街道"), ("compound_type", "小区类型"), ("compound_id", "小区"))


def main() -> None:
    now, before = data.get(surveys.summary, scope), data.before(surveys.summary, "surveys", scope.previous())
    layout.summary_cards("surveys", ["answers", "satisfaction_rate", "average_score"], now, before, per_row=3)
    layout.comparison_caption(("surveys",), scope.previous())
    if not now["answers"]:
        layout.empty("所选范围内没有满意度测评答卷。")
        return

    st.subheader("分项满意度")
    # One street in view: its communities instead of a one-bar chart of streets.
    dimensions = [filters.breakdown() if d[0] == "street" else d for d in DIMENSIONS]
    tabs = st.tabs([f"按{label}" for _, label in dimensions])
    for tab, (dimension, label) in zip(tabs, dimensions):
        with tab:
            by = data.get(surveys.by, scope, dimension)
            shown = "name" if dimension == "compound_id" else dimension
            if dimension == "compound_id":
                st.caption(f"共 {by.height} 个小区有答卷；点击表头可按满意率或答卷数排序。")
            else:
                colours = ([figures.colour_of("compound", t) for t in by["compound_type"].to_list()]
                           if dimension == "compound_type" else None)
                chart = dict(colours=colours, hover_extra=["surveys.answers", "surveys.average_score"])
                if dimension == "street":
                    layout.street_chart("survey_street_chart", filters, figures.bars, by, shown,
                                        "surveys.satisfaction_rate", **chart)
                    st.caption("点击某街道的条形即筛选该街道。")
                else:
                    layout.plot(figures.bars, by, shown, "surveys.satisfaction_rate", **chart)
            columns = [Text(shown, label), *COLUMNS]
            if dimension == "compound_id":
                columns.insert(1, Text("street", "街道"))
            layout.table(by, columns, key=f"surveys_{dimension}", height=360 if by.height > 10 else "auto")

    trend_column, lowest_column = st.columns([3, 2], gap="large")
    with trend_column:
        st.subheader("近 12 周走势")
        trend = data.get(surveys.trend, scope)
        layout.plot(figures.survey_trend, trend)
    with lowest_column:
        st.subheader("满意率最低的小区")
        minimum = st.number_input("至少答卷数", min_value=1, max_value=100, value=3, step=1, key="min_answers",
                                  help="答卷太少的小区满意率波动大，不参加排名。")
        lowest = data.get(surveys.lowest_rated, scope, 10, int(minimum))
        if lowest.is_empty():
            rated = data.get(surveys.by, scope, "compound_id").filter(pl.col("answers") >= minimum).height
            layout.empty(f"答卷数不少于 {int(minimum)} 份的 {rated} 个小区测评满意率均为 100%。" if rated
                         else f"没有答卷数不少于 {int(minimum)} 份的小区。")
        else:
            st.caption("只列测评满意率不到 100% 的小区。")
            layout.table(lowest, [Text("name", "小区"), Text("street", "街道"), *COLUMNS], key="lowest_table")


main()
