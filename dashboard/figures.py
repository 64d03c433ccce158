"""Figure builders: polars frames in, plotly figures (or a pydeck Deck) out, no Streamlit.

Conventions on every chart: Chinese axis titles, legends and tooltips; rates drawn on 0–100 %
axes and printed as percentages; the six compound types and the six scene types always in the
colours of one palette keyed by the reference lists (data/reference.toml); charts carry no title
of their own (the page's subheader names them) so nothing overlaps.
"""

from __future__ import annotations

import math
from datetime import date

import plotly.graph_objects as go
import polars as pl
import pydeck as pdk
from plotly.subplots import make_subplots

from dashboard import geo
from metrics import display
from metrics.catalogue import RATE_COLOURS, Metric, metric
from safety.plaintext import html_text, printable
from settings import reference

FONT = "WenQuanYi Micro Hei, Noto Sans CJK SC, Noto Sans SC, Microsoft YaHei, PingFang SC, sans-serif"

# One palette: the first six colours go to the compound types, the next six to the scene types,
# in the order of the reference lists.
PALETTE = (
    "#d1495b",  # 老旧小区
    "#2e6fba",  # 学区房
    "#3f9c5a",  # 商品房小区
    "#f08a24",  # 回迁安置小区
    "#8e5fb0",  # 单位家属院
    "#8c6d4f",  # 开放式楼院
    "#e0a912",  # 邻里
    "#1fa6a0",  # 健康
    "#e377c2",  # 就业
    "#33508f",  # 教育
    "#7fb13d",  # 低碳
    "#6b6f8f",  # 智慧
)
OTHER = "#9aa5b1"
PRIMARY = "#2e6fba"
SECONDARY = "#f0a23b"
GOOD = "#2e8540"
BAD = "#c62828"
MUTED = "#b0bec5"
LEVEL_COLOURS = {"小区": "#2e8540", "社区": "#2e6fba", "街道": "#f0a23b", "区": "#c62828", "未注明": OTHER}


def compound_type_colours() -> dict[str, str]:
    return dict(zip(reference()["compound_types"], PALETTE[:6]))


def scene_type_colours() -> dict[str, str]:
    return dict(zip(reference()["scene_types"], PALETTE[6:12]))


def colour_of(kind: str, key: str | None) -> str:
    """The colour of a compound type (kind='compound') or scene type (kind='scene')."""
    table = compound_type_colours() if kind == "compound" else scene_type_colours()
    return table.get(key, OTHER)


def _rgb(hex_colour: str) -> list[int]:
    hex_colour = hex_colour.lstrip("#")
    return [int(hex_colour[i:i + 2], 16) for i in (0, 2, 4)]


def _layout(fig: go.Figure, *, height: int = 340, legend: bool = True) -> go.Figure:
    # Names from the data reach plotly's labels: control characters dropped. (Plotly reads a few
    # tags there, which some labels here use on purpose; it runs no script and no javascript: link.)
    for trace in fig.data:
        for attribute in ("x", "y", "labels", "text"):
            values = getattr(trace, attribute, None)
            if isinstance(values, (list, tuple)) and any(isinstance(v, str) for v in values):
                trace[attribute] = [printable(v) if isinstance(v, str) else v for v in values]
        if isinstance(trace.name, str):
            trace.name = printable(trace.name)
    fig.update_layout(
        height=height,
        margin=dict(l=8, r=16, t=36 if legend else 12, b=8),
        font=dict(family=FONT, size=13),
        hoverlabel=dict(font=dict(family=FONT)),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0, title_text=""),
        showlegend=legend,
        separators=".,",
    )
    return fig


def shown(declared: Metric | str, values) -> list[str]:
    """Values as the catalogue metric (or 'section.key') reads everywhere: hover texts carry these,
    not d3 formats, so a chart rounds as the tables do."""
    declared = metric(declared) if isinstance(declared, str) else declared
    return [declared.text(v) for v in values]


def _none(values):
    return [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in values]


def week_labels(trend: pl.DataFrame) -> list[str]:
    """A week reads as its Monday, '11-16'; the ISO label ('2026-W47') stays in the tooltip."""
    return [f"{monday:%m-%d}" for monday in trend["week_start"].to_list()]


# A trend's last period may hold only part of its days (metrics.scope.SEEN_THROUGH: the week or
# month still running, or cut by the period chosen): its bar is hatched, its points hollow, the
# words 未满一周 (未满一月) stand over it and its tooltip says up to which day, so that a
# Tuesday's week does not read as a collapse.
PART_PATTERN = "/"


def part_notes(trend: pl.DataFrame, unit: str) -> list[str]:
    """The tooltip's words for each period: '' for a whole one, '<br>截至 12-01，未满一周'."""
    return ["" if complete else f"<br>截至 {through:%m-%d}，未满一{unit}"
            for complete, through in zip(trend["complete"].to_list(), trend["through"].to_list())]


def part_patterns(trend: pl.DataFrame) -> list[str]:
    """Bar patterns: hatched where the period is not whole."""
    return ["" if complete else PART_PATTERN for complete in trend["complete"].to_list()]


def part_markers(trend: pl.DataFrame) -> dict:
    """Markers of a line: hollow where the period is not whole."""
    return dict(symbol=["circle" if complete else "circle-open" for complete in trend["complete"].to_list()], size=7)


def mark_part(fig: go.Figure, trend: pl.DataFrame, x: list[str], unit: str) -> None:
    """未满一周 (一月) at the top of the last period when it is not whole (inside the plot: above
    it a chart may mark a date, 整治起始)."""
    if not trend.is_empty() and not trend["complete"][-1]:
        fig.add_annotation(x=x[-1], y=1, yref="paper", text=f"未满一{unit}", showarrow=False, yanchor="top",
                           font=dict(size=11, color="#546e7a"), bgcolor="rgba(255,255,255,0.75)")


def counts_axis(values) -> dict:
    """Axis settings for counts: whole-number ticks only (a small count's axis would otherwise
    tick at 0.5 steps), starting at zero."""
    top = max([v for v in _none(list(values)) if v is not None] or [0])
    return dict(rangemode="tozero", tickformat=",d", **({"dtick": 1} if top <= 8 else {}))


def week_axis(weeks: int) -> dict:
    """The week axis: labels read horizontally, every other week (the newest always), so that 12
    of them fit a phone's width too; the tooltip names every week."""
    return dict(title_text="周(周一日期)", type="category", tickangle=0, tick0=(weeks - 1) % 2, dtick=2)


def _bar_height(n: int, per: int = 30, minimum: int = 220, extra: int = 70) -> int:
    return max(minimum, extra + per * n)


# ---------------------------------------------------------------- appeals

def weekly_trend(trend: pl.DataFrame) -> go.Figure:
    """Appeals received per week (bars) with the response, resolution and satisfaction rates (lines)."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    weeks, iso, part = week_labels(trend), trend["week"].to_list(), part_notes(trend, "周")
    fig.add_bar(x=weeks, y=trend["received"].to_list(), name="受理量", marker_color=MUTED,
                marker_pattern_shape=part_patterns(trend),
                customdata=list(zip(iso, part)),
                hovertemplate="%{customdata[0]}(%{x} 起)<br>受理量 %{y:,} 件%{customdata[1]}<extra></extra>")
    for column in ("response_rate", "resolution_rate", "satisfaction_rate"):
        colour, name = RATE_COLOURS[column], metric(f"appeals.{column}").label
        fig.add_scatter(x=weeks, y=_none(trend[column].to_list()), name=name, mode="lines+markers",
                        line=dict(color=colour, width=2), connectgaps=False, marker=part_markers(trend),
                        customdata=list(zip(iso, shown(f"appeals.{column}", trend[column].to_list()), part)),
                        hovertemplate=f"%{{customdata[0]}}(%{{x}} 起)<br>{name} %{{customdata[1]}}%{{customdata[2]}}"
                                      "<extra></extra>",
                        secondary_y=True)
    mark_part(fig, trend, weeks, "周")
    fig.update_yaxes(title_text="受理量(件)", secondary_y=False, **counts_axis(trend["received"]))
    # The rate axis carries no title: its ticks read as percentages and the legend names each line.
    fig.update_yaxes(tickformat=".0%", range=[0, 1.05], dtick=0.25, secondary_y=True, showgrid=False)
    fig.update_xaxes(**week_axis(len(weeks)))
    return _layout(fig, height=340)


def street_ranking(ranking: pl.DataFrame, place: str = "street") -> go.Figure:
    """The streets (or one street's communities, place='community') by composite score, best on
    top; among streets the best is marked 红榜 and the worst 黑榜.

    Each bar carries its place as custom data, so a click on a street can narrow the view to it.
    Places with no score (nothing evaluated yet) are left out of the chart.
    """
    scored = ranking.filter(pl.col("composite").is_not_null()).sort("composite", place, descending=[True, False])
    places = scored[place].to_list()
    scores = scored["composite"].to_list()
    marks = place == "street" and len(scores) > 1
    colours, texts = [], []
    score = metric("appeals.composite")
    for index, value in enumerate(scores):
        if marks and index == 0:
            colours.append(GOOD)
            texts.append(f"红榜 {score.text(value)}")
        elif marks and index == len(scores) - 1:
            colours.append(BAD)
            texts.append(f"黑榜 {score.text(value)}")
        else:
            colours.append(PRIMARY)
            texts.append(score.text(value))
    custom = list(zip(places, shown("appeals.response_rate", scored["response_rate"].to_list()),
                      shown("appeals.resolution_rate", scored["resolution_rate"].to_list()),
                      shown("appeals.satisfaction_score", scored["satisfaction_score"].to_list()),
                      shown("appeals.received", scored["received"].to_list()), shown(score, scores)))
    fig = go.Figure(go.Bar(
        x=[v * 100 for v in scores], y=places, orientation="h", marker_color=colours, text=texts,
        textposition="outside", cliponaxis=False, customdata=custom,
        hovertemplate=("%{y}<br>综合得分 %{customdata[5]}<br>响应率 %{customdata[1]} · 办结率 %{customdata[2]}"
                       "<br>满意度得分 %{customdata[3]} · 受理 %{customdata[4]} 件<extra>"
                       + ("点击查看该街道" if place == "street" else "") + "</extra>"),
    ))
    fig.update_xaxes(title_text="综合得分(百分制)", range=[0, 118])
    fig.update_yaxes(autorange="reversed", title_text="", type="category")
    return _layout(fig, height=_bar_height(len(places), per=40), legend=False)


def rates_by(frame: pl.DataFrame, dimension: str,
             rates: tuple[str, ...] = ("response_rate", "resolution_rate", "on_time_rate", "satisfaction_rate"),
             ) -> go.Figure:
    """Grouped horizontal bars of appeal rates for each street / community / channel / category;
    each bar carries the dimension value as custom data."""
    keys = [k if k is not None else "未注明" for k in frame[dimension].to_list()]
    received = shown("appeals.received", frame["received"].to_list())
    fig = go.Figure()
    for rate in rates:
        values = _none(frame[rate].to_list())
        label = metric(f"appeals.{rate}").label
        fig.add_bar(
            y=keys, x=values, name=label, orientation="h", marker_color=RATE_COLOURS[rate],
            customdata=list(zip(keys, received, shown(f"appeals.{rate}", values))),
            hovertemplate=f"%{{y}}<br>{label} %{{customdata[2]}}<br>受理 %{{customdata[1]}} 件<extra></extra>",
        )
    fig.update_layout(barmode="group", bargap=0.25, bargroupgap=0.05)
    fig.update_xaxes(tickformat=".0%", range=[0, 1.02], title_text="")
    fig.update_yaxes(autorange="reversed", title_text="", type="category")
    return _layout(fig, height=_bar_height(len(keys), per=22 * len(rates) // 2 + 14))


def funnel(steps: pl.DataFrame) -> go.Figure:
    """The five-step flow as a funnel; each step's label carries its median hours."""
    labels = []
    for label, hours in zip(steps["label"].to_list(), steps["median_hours"].to_list()):
        labels.append(label if label == "受理" else
                      f"{label}<br><span style='font-size:11px;color:#607d8b'>中位 {metric('funnel.median_hours').text(hours)}</span>")
    texts = [f"{n} 件 · {s}" for n, s in zip(shown("funnel.reached", steps["reached"].to_list()),
                                             shown("funnel.share", steps["share"].to_list()))]
    fig = go.Figure(go.Funnel(
        y=labels, x=steps["reached"].to_list(), text=texts, textinfo="text", textposition="inside",
        marker=dict(color=[MUTED, "#7aa6d8", SECONDARY, PRIMARY, GOOD, "#33508f"][:steps.height]),
        connector=dict(line=dict(color="#cfd8dc"), fillcolor="#eceff1"),
        hovertemplate="%{y}<br>%{text}<extra></extra>",
    ))
    fig.update_yaxes(title_text="")
    return _layout(fig, height=360, legend=False)


# The 123 bars' colours: green from the first share up, orange from the second, red below.
RULE_123_GOOD, RULE_123_FAIR = 0.9, 0.75


def rule_123(summary: dict) -> go.Figure:
    """The “123” rule: 1日受理率, 2日办结率 and 3日反馈率 as bars on a 0–100 % axis."""
    keys = ("response_rate", "on_time_rate", "feedback_rate")
    names = [metric(f"appeals.{key}").alias or metric(f"appeals.{key}").label for key in keys]
    values = [summary.get(key) for key in keys]
    colours = [GOOD if v is not None and v >= RULE_123_GOOD else (SECONDARY if v is not None and v >= RULE_123_FAIR
                                                                  else BAD)
               for v in values]
    fig = go.Figure(go.Bar(
        x=_none(values), y=names, orientation="h", marker_color=colours,
        text=[metric(f"appeals.{key}").text(v) for key, v in zip(keys, values)], textposition="outside",
        cliponaxis=False,
        hovertemplate="%{y}<br>%{text}<extra></extra>",
    ))
    fig.update_xaxes(tickformat=".0%", range=[0, 1.2], title_text="")
    fig.update_yaxes(autorange="reversed", title_text="")
    return _layout(fig, height=220, legend=False).update_layout(margin_r=56)


def backlog(buckets: pl.DataFrame) -> go.Figure:
    """Open appeals by age; buckets past the 48 h limit in red."""
    colours = [BAD if overdue else PRIMARY for overdue in buckets["overdue"].to_list()]
    fig = go.Figure(go.Bar(
        x=buckets["bucket"].to_list(), y=buckets["open"].to_list(), marker_color=colours,
        text=shown("backlog.open", buckets["open"].to_list()), textposition="outside", cliponaxis=False,
        hovertemplate="已受理 %{x}<br>未办结 %{y:,} 件<extra></extra>",
    ))
    fig.update_xaxes(title_text="已受理时长", type="category")
    fig.update_yaxes(title_text="未办结(件)", **counts_axis(buckets["open"]))
    return _layout(fig, height=300, legend=False)


# ---------------------------------------------------------------- generic bars

def bars(frame: pl.DataFrame, category: str, value: str, *, value_label: str | None = None,
         colours: list[str] | None = None, colour: str = PRIMARY, custom: str | None = None,
         hover_extra: list | None = None, horizontal: bool = True, sort: bool = False,
         height: int | None = None, text: list[str] | None = None) -> go.Figure:
    """One bar per row: `category` on one axis, the catalogue metric `value` ('surveys.satisfaction_rate')
    on the other (a percent axis for a rate), labelled and rounded as the metric reads everywhere.

    `custom` names a column passed as the first custom-data field (for click selection);
    `hover_extra` adds tooltip lines: a metric or its id (its label and formatted value) or a
    (label, column) pair for a text column.
    """
    declared = metric(value)
    column = declared.column
    label = value_label or declared.label
    percent = declared.unit == "rate"
    if sort:
        frame = frame.sort(column, descending=True, nulls_last=True)
    cats = [c if c is not None else "未注明" for c in frame[category].to_list()]
    values = _none(frame[column].to_list())
    extra = [(*item, None) if isinstance(item, tuple) else
             (metric(item).label, metric(item).column, item) if isinstance(item, str) else (item.label, item.column, item)
             for item in hover_extra or []]
    texts = text if text is not None else shown(value, values)
    customdata = [[frame[custom][i] if custom else cats[i], texts[i]] for i in range(frame.height)]
    for _, source, metric_id in extra:
        cells = frame[source].to_list()
        for row, cell in zip(customdata, shown(metric_id, cells) if metric_id else cells):
            row.append(display.cell(cell, "text"))
    hover = f"%{{{'y' if horizontal else 'x'}}}<br>{label} %{{customdata[1]}}"
    hover += "".join(f"<br>{name} %{{customdata[{i}]}}" for i, (name, _, _) in enumerate(extra, start=2))
    trace = go.Bar(
        x=values if horizontal else cats, y=cats if horizontal else values,
        orientation="h" if horizontal else "v", marker_color=colours or colour, customdata=customdata,
        text=texts, textposition="outside", cliponaxis=False, hovertemplate=hover + "<extra></extra>",
    )
    fig = go.Figure(trace)
    value_axis = dict(title_text=label, rangemode="tozero")
    top = max([v for v in values if v is not None] or [0])
    if percent:
        # Low rates (coverage of a week, say) get an axis that shows their differences.
        value_axis.update(tickformat=".0%", range=[0, 1.15] if top >= 0.5 else [0, max(top, 0.05) * 1.3])
    else:
        value_axis.update(range=[0, top * 1.18 if top else 1])
        if all(v is None or float(v).is_integer() for v in values):
            value_axis.update(counts_axis(values))
    if horizontal:
        fig.update_xaxes(**value_axis)
        fig.update_yaxes(autorange="reversed", title_text="", type="category")
        height = height or _bar_height(len(cats))
    else:
        fig.update_yaxes(**value_axis)
        fig.update_xaxes(title_text="", type="category", tickangle=0 if len(cats) <= 8 else -35)
        height = height or 320
    return _layout(fig, height=height, legend=False)


# ---------------------------------------------------------------- property

def _donut_layout(fig: go.Figure) -> go.Figure:
    """Donuts: slice labels inside (too small a slice hides its label: the legend and the tooltip
    still name it), the legend below so nothing overlaps the ring."""
    _layout(fig, height=340)
    fig.update_layout(uniformtext_minsize=11, uniformtext_mode="hide", margin=dict(t=8, b=8),
                      legend=dict(orientation="h", yanchor="top", y=-0.02, xanchor="center", x=0.5))
    return fig


def level_mix(levels: pl.DataFrame) -> go.Figure:
    """Complaints by handling level (小区 / 社区 / 街道 / 区) as a donut; the 小区 slice's tooltip
    says how many went through a 三方办 meeting."""
    part = levels.filter(pl.col("complaints") > 0)
    labels = part["level"].to_list()
    fig = go.Figure(go.Pie(
        labels=[f"{label}级" if label != "未注明" else label for label in labels],
        values=part["complaints"].to_list(), hole=0.5, sort=False, direction="clockwise",
        marker=dict(colors=[LEVEL_COLOURS.get(label, OTHER) for label in labels]),
        customdata=list(zip(shown("complaints.three_party", part["three_party"].to_list()),
                            shown("complaints.resolution_rate", part["resolution_rate"].to_list()))),
        texttemplate="%{label}<br>%{percent:.1%}", textposition="inside", insidetextorientation="horizontal",
        hovertemplate="%{label}处置 %{value:,} 件(%{percent:.1%})<br>其中三方办 %{customdata[0]} 件"
                      "<br>投诉解决率 %{customdata[1]}<extra></extra>",
    ))
    return _donut_layout(fig)


def key_target_trend(monthly: pl.DataFrame, since: date | None) -> go.Figure:
    """Complaints per 100 households each month: key targets against the other compounds, with
    the targeting date marked."""
    fig = go.Figure()
    for group, colour in (("重点整治小区", BAD), ("其他小区", PRIMARY)):
        part = monthly.filter(pl.col("group") == group)
        fig.add_scatter(
            x=[m.strftime("%Y-%m") for m in part["month"].to_list()],
            y=_none(part["complaints_per_100_households"].to_list()), name=group, mode="lines+markers",
            line=dict(color=colour, width=2), marker=part_markers(part),
            customdata=list(zip(shown("complaints.complaints_per_100_households",
                                      part["complaints_per_100_households"].to_list()),
                                shown("complaints.complaints", part["complaints"].to_list()),
                                part_notes(part, "月"))),
            hovertemplate=f"%{{x}}<br>{group}<br>每百户投诉量 %{{customdata[0]}}<br>投诉 %{{customdata[1]}} 件"
                          "%{customdata[2]}<extra></extra>",
        )
    months = [m.strftime("%Y-%m") for m in monthly["month"].unique(maintain_order=True).to_list()]
    mark_part(fig, monthly.unique("month", keep="last", maintain_order=True), months, "月")
    marked = since is not None and since.strftime("%Y-%m") in months
    if marked:
        x = months.index(since.strftime("%Y-%m"))
        fig.add_vline(x=x, line_dash="dash", line_color="#546e7a")
        # a row above the legend's: a date in the first months would otherwise sit on the legend
        fig.add_annotation(x=x, y=1, yref="paper", yshift=24, text=f"整治起始 {since.isoformat()}",
                           showarrow=False, xanchor="left", yanchor="bottom", font=dict(size=12))
    fig.update_xaxes(title_text="月份", type="category", categoryorder="array", categoryarray=months)
    fig.update_yaxes(title_text="每百户投诉量", rangemode="tozero")
    return _layout(fig, height=344 if marked else 320).update_layout(margin_t=60 if marked else 36)


# ---------------------------------------------------------------- compounds

def type_donut(types: pl.DataFrame, value: str = "compounds") -> go.Figure:
    """The six compound types as a donut of compounds (or households), in the type colours."""
    labels = types["compound_type"].to_list()
    label = "小区数" if value == "compounds" else "户数"
    fig = go.Figure(go.Pie(
        labels=labels, values=types[value].to_list(), hole=0.5, sort=False, direction="clockwise",
        marker=dict(colors=[colour_of("compound", t) for t in labels]),
        texttemplate="%{label}<br>%{value:,}", textposition="inside", insidetextorientation="horizontal",
        hovertemplate=f"%{{label}}<br>{label} %{{value:,}}(%{{percent:.1%}})<extra></extra>",
    ))
    return _donut_layout(fig)


def types_by_street(by_street: pl.DataFrame, value: str = "compounds", place: str = "street") -> go.Figure:
    """Stacked bars: per street (or community: place='community'), its compounds (or households)
    of each type, in the type colours."""
    streets = by_street[place].unique(maintain_order=True).to_list()
    label = "小区数" if value == "compounds" else "户数"
    fig = go.Figure()
    for compound_type in reference()["compound_types"]:
        part = by_street.filter(pl.col("compound_type") == compound_type)
        if part.is_empty():
            continue
        fig.add_bar(x=part[value].to_list(), y=part[place].to_list(), name=compound_type, orientation="h",
                    marker_color=colour_of("compound", compound_type), customdata=part[place].to_list(),
                    hovertemplate=f"%{{y}} · {compound_type}<br>{label} %{{x:,}}<extra></extra>")
    fig.update_layout(barmode="stack", legend_traceorder="normal")
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=streets, title_text="")
    totals = by_street.group_by(place).agg(pl.col(value).sum())[value]
    fig.update_xaxes(title_text=label, **counts_axis(totals))
    return _layout(fig, height=_bar_height(len(streets), per=42, extra=90))


MAP_MEASURES = {
    "appeals": ("诉求量", "件"),
    "complaints_per_100_households": ("每百户投诉量", ""),
    "survey_satisfaction_rate": ("测评满意率", "%"),
}


STREET_FILLS = ("#c9dcef", "#f6dcc0", "#cfe6cf", "#e8d3ea", "#f2ecb8", "#d5d5e8", "#f0cfcf", "#cde7e5")


def compound_map(compounds: pl.DataFrame, measure: str = "appeals", chosen: str | None = None,
                 tiles: str | None = None, gcj02: bool = False) -> pdk.Deck:
    """The compounds on a map of their streets, coloured by type and sized by `measure`; a
    tooltip names each one; `chosen` (a compound id) is ringed and named.

    No map service is needed: under the compounds lie the outlines of their streets (and, when
    one street is in view, of its communities) with their Chinese names, derived from the
    compounds' own coordinates (dashboard/geo.py). `tiles`, an intranet XYZ URL template, adds a
    tile basemap; `gcj02` shifts every position to GCJ-02 for tiles drawn in it. The view frames
    the compounds shown, so choosing a street zooms to it. Compounds without coordinates are left
    out (the page says how many). For the satisfaction rate the lowest rates are drawn largest,
    so problems stand out whatever the measure.
    """
    located = compounds.filter(pl.col("longitude").is_not_null() & pl.col("latitude").is_not_null())
    values = located[measure].to_list()
    present = [v for v in values if v is not None]
    top = max(present) if present else 0
    records = []
    for row, value in zip(located.to_dicts(), values):
        if measure == "survey_satisfaction_rate":
            weight = None if value is None else 1 - value
        else:
            weight = None if value is None or not top else value / top
        lon, lat = row["longitude"], row["latitude"]
        if gcj02:
            lon, lat = geo.wgs84_to_gcj02(lon, lat)
        records.append({
            "name": row["name"], "compound_id": row["compound_id"], "street": row["street"],
            "community": row["community"], "type": row["compound_type"],
            # the tooltip is HTML: the names it shows come escaped
            **{f"tip_{key}": html_text(row[column]) for key, column in
               (("name", "name"), ("street", "street"), ("community", "community"), ("type", "compound_type"))},
            "households": metric("compounds.households").text(row["households"]),
            "appeals": metric("compounds.appeals").text(row["appeals"]),
            "per100": metric("complaints.complaints_per_100_households").text(row["complaints_per_100_households"]),
            "satisfaction": metric("surveys.satisfaction_rate").text(row["survey_satisfaction_rate"]),
            "key": "重点整治小区" if row["is_key_target"] else "",
            "lon": lon, "lat": lat, "radius": 25 + (110 * math.sqrt(weight) if weight else 0),
            "colour": _rgb(colour_of("compound", row["compound_type"])) + [215],
        })
    streets = geo.outlines(records, "street")
    order = list(reference()["streets"])
    for shape in streets:
        index = order.index(shape["name"]) if shape["name"] in order else len(order)
        shape["fill"] = _rgb(STREET_FILLS[index % len(STREET_FILLS)]) + [150]
    layers = [pdk.Layer("PolygonLayer", data=streets, get_polygon="polygon", get_fill_color="fill",
                        get_line_color=[84, 110, 122, 255], line_width_min_pixels=2, stroked=True, filled=True,
                        id="street_outlines")]
    labels = [{"text": s["name"], "position": s["centre"], "size": 18} for s in streets]
    if len(streets) == 1:
        communities = geo.outlines(records, "community")
        layers.append(pdk.Layer("PolygonLayer", data=communities, get_polygon="polygon", filled=False,
                                stroked=True, get_line_color=[120, 144, 156, 150], line_width_min_pixels=1,
                                id="community_outlines"))
        # the street's name just inside the top of its outline, its communities' names inside theirs
        top = max(streets[0]["polygon"], key=lambda p: p[1])
        labels = [{"text": streets[0]["name"], "position": top, "size": 18, "offset": [0, 18]}]
        labels += [{"text": s["name"], "position": s["centre"], "size": 15} for s in communities]
    layers.append(pdk.Layer(
        "ScatterplotLayer", data=records, get_position=["lon", "lat"], get_radius="radius",
        get_fill_color="colour", get_line_color=[255, 255, 255], line_width_min_pixels=1, stroked=True,
        pickable=True, radius_min_pixels=3, radius_max_pixels=40, id="compounds",
    ))
    picked = [r for r in records if r["compound_id"] == chosen]
    if picked:
        layers.append(pdk.Layer("ScatterplotLayer", data=picked, get_position=["lon", "lat"], get_radius=160,
                                filled=False, stroked=True, get_line_color=[33, 33, 33, 255], line_width_min_pixels=3,
                                radius_min_pixels=12, id="chosen_compound"))
        labels.append({"text": picked[0]["name"], "position": [picked[0]["lon"], picked[0]["lat"]], "size": 15,
                       "offset": [0, 26]})
    for label in labels:
        label.setdefault("offset", [0, 0])
        label["text"] = printable(label["text"])
    layers.append(pdk.Layer(
        "TextLayer", data=labels, get_position="position", get_text="text", get_size="size",
        # (pydeck reads a bare string as an accessor; quoted, it stays a plain value)
        get_color=[38, 50, 56, 255], get_pixel_offset="offset", character_set='"auto"',
        font_family=f"'{FONT}'", font_weight=600, outline_width=3, outline_color=[255, 255, 255, 230],
        font_settings={"sdf": True}, id="place_names"))
    tooltip = {
        "html": "<b>{tip_name}</b> {key}<br/>{tip_street} · {tip_community}<br/>类型：{tip_type} · 户数：{households}"
                "<br/>诉求：{appeals} 件 · 每百户投诉：{per100}<br/>测评满意率：{satisfaction}",
        "style": {"fontFamily": FONT, "fontSize": "13px"},
    }
    # framed on the outlines (the compounds and their margin), so no outline or name is cut
    points = [tuple(p) for s in streets for p in s["polygon"]] or [(120.76, 37.81)]
    framing = geo.view(points)
    return pdk.Deck(layers=layers, initial_view_state=pdk.ViewState(**framing), tooltip=tooltip,
                    map_provider="maplibre", map_style=geo.map_style(tiles))


def compound_history(history: pl.DataFrame) -> go.Figure:
    """One compound month by month: appeals, complaints and events (bars) and the survey
    satisfaction rate (line)."""
    months = [m.strftime("%Y-%m") for m in history["month"].to_list()]
    part = part_notes(history, "月")
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for column, name, colour in (("appeals", "诉求", PRIMARY), ("complaints", "物业投诉", BAD),
                                 ("events", "服务活动", PALETTE[6])):
        fig.add_bar(x=months, y=history[column].to_list(), name=name, marker_color=colour,
                    marker_pattern_shape=part_patterns(history),
                    customdata=part, hovertemplate=f"%{{x}}<br>{name} %{{y:,}}%{{customdata}}<extra></extra>")
    fig.add_scatter(x=months, y=_none(history["survey_satisfaction_rate"].to_list()), name="测评满意率",
                    mode="lines+markers", line=dict(color=GOOD, width=2), secondary_y=True,
                    marker=part_markers(history),
                    customdata=list(zip(shown("surveys.satisfaction_rate", history["survey_satisfaction_rate"].to_list()),
                                        shown("surveys.answers", history["survey_answers"].to_list()), part)),
                    hovertemplate="%{x}<br>测评满意率 %{customdata[0]}<br>答卷 %{customdata[1]} 份%{customdata[2]}"
                                  "<extra></extra>")
    mark_part(fig, history, months, "月")
    fig.update_layout(barmode="group")
    fig.update_xaxes(title_text="月份", type="category")
    counts = history.select(pl.max_horizontal("appeals", "complaints", "events")).to_series()
    fig.update_yaxes(title_text="件 / 场", secondary_y=False, **counts_axis(counts))
    fig.update_yaxes(tickformat=".0%", range=[0, 1.05], dtick=0.25, showgrid=False, secondary_y=True)
    return _layout(fig, height=320)


# ---------------------------------------------------------------- surveys

def survey_trend(trend: pl.DataFrame) -> go.Figure:
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    weeks, part = week_labels(trend), part_notes(trend, "周")
    fig.add_bar(x=weeks, y=trend["answers"].to_list(), name="答卷数", marker_color=MUTED,
                marker_pattern_shape=part_patterns(trend),
                customdata=part, hovertemplate="%{x}<br>答卷 %{y:,} 份%{customdata}<extra></extra>")
    fig.add_scatter(x=weeks, y=_none(trend["satisfaction_rate"].to_list()), name="满意率", mode="lines+markers",
                    line=dict(color=GOOD, width=2), secondary_y=True, marker=part_markers(trend),
                    customdata=list(zip(shown("surveys.satisfaction_rate", trend["satisfaction_rate"].to_list()),
                                        shown("surveys.average_score", trend["average_score"].to_list()), part)),
                    hovertemplate="%{x}<br>测评满意率 %{customdata[0]}<br>测评平均分 %{customdata[1]}%{customdata[2]}"
                                  "<extra></extra>")
    mark_part(fig, trend, weeks, "周")
    fig.update_yaxes(title_text="答卷(份)", secondary_y=False, **counts_axis(trend["answers"]))
    fig.update_yaxes(tickformat=".0%", range=[0, 1.05], dtick=0.25, showgrid=False, secondary_y=True)
    fig.update_xaxes(**week_axis(len(weeks)))
    return _layout(fig, height=320)


# ---------------------------------------------------------------- scenes

def scene_types(by_type: pl.DataFrame, value: str = "attendance") -> go.Figure:
    """The six scene types in their colours: attendance (or events), with events and 一老一小 in the tooltip."""
    return bars(by_type, "scene_type", f"scenes.{value}",
                colours=[colour_of("scene", t) for t in by_type["scene_type"].to_list()],
                hover_extra=["scenes.events", "scenes.attendance", "scenes.old_young"],
                horizontal=False, height=300)


def top_scenes(scenes: pl.DataFrame) -> go.Figure:
    labels = [f"{name}({kind})" for name, kind in zip(scenes["scene_name"].to_list(), scenes["scene_type"].to_list())]
    frame = scenes.with_columns(pl.Series("label", labels))
    return bars(frame, "label", "scenes.attendance",
                colours=[colour_of("scene", t) for t in scenes["scene_type"].to_list()],
                hover_extra=["scenes.events", metric("scenes.covered").as_(source="compounds"), "scenes.old_young"])


def scene_mix_by(by: pl.DataFrame, category: str) -> go.Figure:
    """Stacked bars of attendance per street (or compound type), split by scene type."""
    cats = by[category].unique(maintain_order=True).to_list()
    fig = go.Figure()
    for scene_type in reference()["scene_types"]:
        part = by.filter(pl.col("scene_type") == scene_type)
        if part.is_empty():
            continue
        fig.add_bar(x=part["attendance"].to_list(), y=part[category].to_list(), name=scene_type, orientation="h",
                    marker_color=colour_of("scene", scene_type),
                    hovertemplate=f"%{{y}} · {scene_type}<br>参与人次 %{{x:,}}<extra></extra>")
    fig.update_layout(barmode="stack", legend_traceorder="normal")
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=cats, title_text="")
    fig.update_xaxes(title_text="参与人次", **counts_axis(by.group_by(category).agg(pl.col("attendance").sum())["attendance"]))
    return _layout(fig, height=_bar_height(len(cats), per=40, extra=90))
