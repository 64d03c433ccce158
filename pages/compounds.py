"""小区画像: the compounds by the six types and by street, a map coloured by type and sized by a
chosen measure, a searchable list, and the profile of one compound."""

from dataclasses import replace

import polars as pl
import streamlit as st

from dashboard import auth, data, figures, geo, layout, state
from dashboard.layout import card
from metrics import alerts, compounds
from metrics.catalogue import Text, metric
from metrics.display import DASH, moment
from safety.plaintext import markdown_text

layout.page_start(auth.page_permission(__file__))
filters = state.filters()
scope = filters.scope
layout.header("小区画像", filters)

LIST_COLUMNS = [Text("name", "小区"), Text("street", "街道"), Text("community", "社区"),
                Text("compound_type", "类型"), metric("compounds.households"), Text("is_key_target", "重点整治", "bool"),
                metric("compounds.appeals"), metric("complaints.complaints"),
                metric("complaints.complaints_per_100_households"),
                metric("surveys.satisfaction_rate").as_(source="survey_satisfaction_rate"), metric("scenes.events")]
TYPE_COLUMNS = [metric(f"compounds.{key}") for key in ("compounds", "households", "share")]


def profile(compound_id: str) -> None:
    facts = data.get(compounds.profile, None, compound_id)
    if facts is None:
        layout.empty("没有找到这个小区。")
        return
    st.subheader(f"{markdown_text(facts['name'])} · 小区画像")
    tags = [markdown_text(facts[key]) for key in ("street", "community", "compound_type")]
    if facts["is_key_target"]:
        tags.append("重点整治小区")
    st.caption(" · ".join(tags) + f" · 小区编码 {markdown_text(facts['compound_id'])}"
               f" · 所属网格 {markdown_text(facts['grid_id'] or DASH)}")
    layout.summary_cards("compounds", ["households", "buildings", "micro_grids"], facts, None, per_row=3)
    left, right = st.columns(2)
    left.markdown(f"**党支部**：{markdown_text(facts['party_branch']) or '未单独设立(由社区党组织覆盖)'}")
    right.markdown(f"**物业企业**：{markdown_text(facts['property_company']) or '无物业服务'}")
    summary = data.get(compounds.summary, scope, compound_id)
    st.markdown(f"**{scope.label()}**")
    layout.cards([card(metric(metric_id).as_(label, column), summary) for metric_id, column, label in (
        ("compounds.appeals", "appeals", None),
        ("appeals.resolution_rate", "appeal_resolution_rate", "诉求办结率"),
        ("complaints.complaints", "complaints", None),
        ("complaints.resolution_rate", "complaint_resolution_rate", None),
        ("surveys.answers", "survey_answers", None),
        ("surveys.satisfaction_rate", "survey_satisfaction_rate", None),
        ("scenes.events", "events", None),
        ("scenes.attendance", "attendance", None))])
    history = data.get(compounds.history, scope, compound_id)
    st.markdown("**近 12 个月**")
    if layout.has_content(history.select(pl.sum_horizontal("appeals", "complaints", "survey_answers", "events")).to_series().sum() == 0, "这个小区近 12 个月没有诉求、投诉、测评或活动记录。"):
        layout.plot(figures.compound_history, history)
    repeat_chains(compound_id)


def repeat_chains(compound_id: str) -> None:
    """The compound's repeated appeals, and the chain of the one chosen (metrics/README.md, 预警)."""
    st.markdown("**重复诉求链**")
    repeated = data.get(alerts.compound_repeats, None, compound_id, scope.moment, scope.street, scope.community)
    if not layout.has_content(repeated.is_empty(), "截至统计时点这个小区没有重复诉求。"):
        return
    labels = {row["appeal_id"]: f"{row['appeal_id']} · {row['category'] or DASH} · {moment(row['received_at'])}"
              for row in repeated.to_dicts()}
    chosen = st.selectbox("重复的工单", list(labels), format_func=labels.get, key="repeat_appeal")
    chain = data.get(alerts.repeat_chain, None, chosen, scope.moment, scope.street, scope.community)
    layout.table(chain, [Text("appeal_id", "工单编号"), Text("received_at", "受理时间", "moment"),
                         Text("resolved_at", "办结时间", "moment"), Text("repeats", "重复的工单"),
                         Text("content", "诉求内容(已脱敏)")], key="repeat_chain")


def main() -> None:
    totals = data.get(compounds.totals, scope)
    if not totals["compounds"]:
        layout.empty("所选范围内没有小区。")
        return
    households = card(metric("compounds.households"), totals)
    if totals["without_households"]:
        households = replace(households, help=f"{households.help}{totals['without_households']} 个小区缺少户数。")
    layout.cards([card(metric("compounds.compounds"), totals), households,
                  card(metric("complaints.key_targets"), totals), card(metric("compounds.property_company_share"), totals)])

    st.subheader("六类小区")
    types = data.get(compounds.types, scope)
    donut_column, street_column = st.columns([2, 3], gap="large")
    with donut_column:
        layout.plot(figures.type_donut, types.filter(pl.col("compounds") > 0))
        layout.table(types, [Text("compound_type", "类型"), *TYPE_COLUMNS], key="types_table")
    with street_column:
        by, by_label = filters.breakdown()
        by_place = data.get(compounds.by_street, scope, by)
        measure = st.segmented_control(f"按{by_label}统计", ["小区数", "户数"], default="小区数", required=True,
                                       key="street_measure")
        value = "compounds" if measure == "小区数" else "households"
        if by == "street":
            layout.street_chart("types_street_chart", filters, figures.types_by_street, by_place, value)
            st.caption("点击某街道即筛选该街道。")
        else:
            layout.plot(figures.types_by_street, by_place, value, by, key="types_street_chart")

    listed = data.get(compounds.listing, scope)
    st.subheader("小区分布")
    labels = {key: label for key, (label, _) in figures.MAP_MEASURES.items()}
    measure = st.segmented_control("圆点大小表示", list(labels), default="appeals", required=True,
                                   format_func=labels.get, key="map_measure")
    located = listed.filter(pl.col("longitude").is_not_null() & pl.col("latitude").is_not_null())
    if layout.has_content(located.is_empty(), "所选范围内的小区都没有经纬度，无法在地图上显示。"):
        tiles, gcj02 = geo.tile_settings()
        chosen = state.chosen_compound(set(listed["compound_id"].to_list()))
        layout.deck_map(figures.compound_map, listed, measure, chosen, tiles, gcj02, height=460)
        layout.colour_legend(figures.compound_type_colours())
        st.caption("颜色表示小区类型(与本页其他图表一致)；圆点越大，"
                   + ("测评满意率越低。" if measure == "survey_satisfaction_rate" else f"{labels[measure]}越高。")
                   + "街道" + ("、社区" if filters.street else "") + "范围按所辖小区的位置推算，仅供参考，不是行政区划界线；"
                   + "选中的小区以黑圈标出。"
                   + (f" {listed.height - located.height} 个小区缺少经纬度，未在图上显示。"
                      if listed.height > located.height else ""))

    st.subheader("小区名录")
    search = st.text_input("搜索小区(名称或编码)", key="search", placeholder="如：海景苑", bind="query-params")
    shown = data.get(compounds.listing, scope, search.strip() or None) if search else listed
    chosen = None
    if layout.has_content(shown.is_empty(), f"没有名称或编码包含“{search}”的小区。"):
        ids = shown["compound_id"].to_list()
        layout.table(shown, LIST_COLUMNS, key="compound_table", height=360 if shown.height > 10 else "auto",
                     on_select=lambda: state.compound_from_table("compound_table", ids))
        st.caption(f"共 {shown.height} 个小区；点击一行左侧的选择框即可查看该小区画像。")
    options = {row["compound_id"]: state.compound_label(row["name"], row["compound_id"])
               for row in listed.iter_rows(named=True)}
    chosen = state.compound_picker(options)
    if chosen:
        profile(chosen)


main()
