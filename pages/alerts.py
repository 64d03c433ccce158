"""预警 (未诉先办): appeals near or past their next 123 limit, unusual rises against each place's
own baseline, and repeated appeals (重复诉求率, 真解决率); metrics/README.md, section 预警."""

import streamlit as st

from dashboard import auth, data, layout, state
from metrics import alerts
from metrics.catalogue import Text, metric
from metrics.display import moment

layout.page_start(auth.page_permission(__file__))
filters = state.filters()
scope = filters.scope
layout.header("预警", filters)
place, place_label = filters.breakdown()

st.subheader("临期与超期")
due, late = metric("alerts.due_soon"), metric("alerts.overdue")
listed = data.get(alerts.deadline_table, scope)
counts = data.get(alerts.deadline_totals, scope)
layout.cards([layout.card(due, counts), layout.card(late, counts)], per_row=2)
st.caption(f"截至 {moment(scope.moment)} 未结案的工单，按下一环节的时限计。")
if layout.has_content(listed.is_empty(), "没有临期或环节超时的工单。"):
    by_place = data.get(alerts.deadline_counts_in, scope, place)
    layout.table(by_place, [Text(place, place_label), due, late], key="alerts_by_place")
    st.caption("已超期的在前，超期最久的排第一；三天以上的超期按天计。")
    layout.table(listed, [Text("appeal_id", "工单编号"), Text("category", "类别"), Text("compound_name", "小区"),
                          Text("stage", "环节"), Text("due_at", "时限", "moment"), Text("time_left", "剩余或超期")],
                 key="alerts_deadlines",
                 height=400 if listed.height > 12 else "auto")

st.subheader("异动预警")
alarmed = data.get(alerts.alarm_table, scope)
if layout.has_content(alarmed.is_empty(), "没有异动预警：各小区最近的诉求、投诉与测评不满意均在自身基线的正常范围内。"):
    layout.table(alarmed, [Text("place_name", "小区"), Text("feed_label", "数据"), Text("category", "类别"),
                           Text("start", "开始日期", "moment"), metric("alerts.observed"), metric("alerts.expected"),
                           metric("alerts.score"), Text("is_key_target", "是否重点整治小区", "bool")],
                 key="alerts_alarms")
st.caption(metric("alerts.score").help())

st.subheader("重复诉求")
rates, before = data.get(alerts.repeat_rates, scope), data.before(alerts.repeat_rates, "appeals", scope.previous())
layout.summary_cards("appeals", ["repeat_rate", "true_resolution_rate"], rates, before, per_row=2)
layout.comparison_caption(("appeals",), scope.previous())
if unsettled := alerts.unsettled_note(rates["repeat_rate"], rates["true_resolution_rate"]):
    st.caption(unsettled)
by_place = data.get(alerts.repeat_rates_by, scope, place)
if layout.has_content(by_place.is_empty(), "所选范围内没有可比对的诉求（需有小区和诉求内容）。"):
    layout.table(by_place, [Text(place, place_label), metric("appeals.repeat_rate"),
                            metric("appeals.true_resolution_rate")], key="alerts_repeats")
