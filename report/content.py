"""The weekly report as typst source: a pure function of the data report.collect gathers.

No database, no files, no clock: the same data always gives the same source. Labels, help texts
and digits come from the metric catalogue and every number goes through metrics.display (the one
rounding rule); every text reaches typst as an escaped string literal, so names from the data
can never be read as markup.
"""

from __future__ import annotations

from metrics.catalogue import Metric, metric
from metrics.display import DASH, ROUNDING_RULE, number
from report import charts
from safety.plaintext import printable

TONE_COLOUR = {"good": "rgb(\"#1a7f37\")", "bad": "rgb(\"#c62828\")", "flat": "luma(90)",
               "neutral": "luma(60)", "none": "luma(140)"}
HEAD_FILL = 'rgb("#1f4e79")'
FEED_NAMES = {"compounds": "小区台账", "appeals": "诉求工单", "complaints": "物业投诉",
              "surveys": "满意度测评", "scenes": "服务场景"}
CN_NUMERALS = "一二三四五六七八九"

# The KPI rows, in order: the catalogue metric `section.key` of the stats.
APPEAL_KPIS = [metric(f"appeals.{key}") for key in (
    "received", "response_rate", "resolution_rate", "satisfaction_rate", "satisfaction_score", "on_time_rate",
    "feedback_rate", "overdue_open", "composite", "median_hours_to_resolve")]
OTHER_KPIS = [metric(metric_id) for metric_id in (
    "complaints.complaints", "complaints.resolution_rate", "complaints.median_days_to_resolve", "surveys.answers",
    "surveys.satisfaction_rate", "surveys.average_score", "scenes.events", "scenes.attendance", "scenes.old_young",
    "scenes.coverage")]
# The columns of the ranking and of the 12-week trend (one row per place or week).
APPEAL_COLUMNS = [metric(f"appeals.{key}") for key in (
    "received", "response_rate", "resolution_rate", "on_time_rate", "feedback_rate", "satisfaction_rate",
    "evaluated", "composite", "overdue_open")]
PER_100 = metric("complaints.complaints_per_100_households")
COMPLAINTS = metric("complaints.complaints")
RESOLUTION = metric("complaints.resolution_rate")
SHARE = metric("compounds.share")


def count(value) -> str:
    return number(value, "count")


def trend_mark(current: int | None, previous: int | None) -> tuple[str, str]:
    """A compound's complaints against last week: '▲ 2', '▼ 1', '持平' (fewer is good)."""
    return COMPLAINTS.change(current, previous)


# ---------------------------------------------------------------- typst building blocks

def s(text) -> str:
    """A typst string literal (shown as plain text wherever content is expected)."""
    escaped = printable(text, newlines=True).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def coloured(text: str, tone: str) -> str:
    return f"text(fill: {TONE_COLOUR[tone]}, {s(text)})"


def strong(text: str) -> str:
    return f"strong({s(text)})"


def table(columns: list[str], header: list[str], rows: list[list[str]], align: list[str],
          footer: list[str] | None = None) -> str:
    """A table; header and rows are typst expressions (use s() for plain text)."""
    cells = []
    for row in rows:
        cells.extend(row)
    parts = [f"columns: ({', '.join(columns)},)", f"align: ({', '.join(align)},)",
             f"table.header({', '.join(s(h) for h in header)},)"]
    parts.extend(cells)
    if footer:
        parts.append(f"table.footer(repeat: false, {', '.join(footer)},)")
    return "#table(\n  " + ",\n  ".join(parts) + ",\n)\n"


def svg_figure(svg: str, caption: str) -> str:
    return f"#figure(image(bytes({s(svg)}), format: \"svg\", width: 100%), caption: {s(caption)})\n"


def chinese_number(number: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十 (section numbers, 1–99)."""
    tens, ones = divmod(number, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else CN_NUMERALS[tens - 1] + "十")
    return head + (CN_NUMERALS[ones - 1] if ones else "")


def heading(number: int, title: str) -> str:
    return f"#heading(level: 1, {s(chinese_number(number) + '、' + title)})\n"


def keep(*parts: str) -> str:
    """Markup that must not be split across pages (a note with its short table)."""
    return "#block(breakable: false, width: 100%)[\n" + "".join(parts) + "]\n"


def note(text: str) -> str:
    return f"#text(size: 8pt, fill: luma(90), {s(text)})\n\n"


def _chinese_date(iso: str) -> str:
    year, month, day = iso[:10].split("-")
    return f"{int(year)} 年 {int(month)} 月 {int(day)} 日"


def _week_words(label: str) -> str:
    year, week = label.split("-W")
    return f"{year} 年第 {int(week)} 周"


def _moment(iso: str | None) -> str:
    return iso.replace("T", " ")[:16] if iso else DASH


# ---------------------------------------------------------------- the document

PREAMBLE = """#set document(title: {title}, author: "蓬莱网格治理驾驶舱")
#set page(paper: "a4", margin: (x: 18mm, top: 20mm, bottom: 18mm),
  header: context {{
    if counter(page).get().first() > 1 {{
      set text(size: 7.5pt, fill: luma(110))
      grid(columns: (1fr, auto), {header_left}, {header_right})
      v(-4pt)
      line(length: 100%, stroke: 0.4pt + luma(180))
    }}
  }},
  footer: context {{
    set text(size: 7.5pt, fill: luma(110))
    align(center)[第 #counter(page).display() 页 / 共 #counter(page).final().first() 页]
  }},
)
#set text(font: "Noto Sans SC", size: 9.5pt, lang: "zh", region: "cn")
#set par(justify: true, leading: 0.7em, spacing: 0.9em)
#show strong: it => context text(stroke: 0.28pt + text.fill, it.body)
#show heading: set text(size: 12.5pt, fill: rgb("#1f4e79"), stroke: 0.3pt + rgb("#1f4e79"))
#show heading: set block(above: 1.4em, below: 0.8em)
#set table(stroke: 0.4pt + luma(205), inset: (x: 4.5pt, y: 3.2pt),
  fill: (x, y) => if y == 0 {{ {head_fill} }} else if calc.even(y) {{ luma(246) }})
#show table.cell.where(y: 0): set text(fill: white, size: 8.5pt, stroke: 0.2pt + white)
#show table: set text(size: 8.5pt)
#show figure: set block(breakable: false, above: 1em, below: 1.2em)
#show figure.caption: set text(size: 8.5pt, fill: luma(70))
"""


def build_typst(data: dict) -> str:
    """The typst source of the weekly report for the data of report.collect.collect."""
    place = data["street"] or data["district"]
    title = f"{data['district']}{data['street'] or ''}网格治理周报 {data['week']}"
    header_left = s(f"{data['district']}{data['street'] or ''}网格治理周报 · {_week_words(data['week'])}")
    header_right = s(f"统计时点 {_moment(data['as_of'])}")
    parts = [PREAMBLE.format(title=s(title), header_left=header_left, header_right=header_right,
                             head_fill=HEAD_FILL)]
    parts.append(_title_block(data, place))
    number = 0

    def section(title: str) -> str:
        nonlocal number
        number += 1
        return heading(number, title)

    uncovered = data.get("uncovered_notes") or {}  # a report's JSON saved before these notes has none
    parts.append(section("诉求办理核心指标"))
    parts.append(_kpi_table(data, APPEAL_KPIS))
    parts.append(_absent_notes(data, ("appeals",)))
    parts.append(note("▲/▼ 表示较上周升高/降低，绿色为向好、红色为变差、灰色为中性；“上周”为 "
                      f"{data['previous_week']}，按其周末时点（{_moment(data['previous_as_of'])}）统计"
                      + (f"；{uncovered['appeals']}" if uncovered.get("appeals") else "")
                      + "。指标口径与数字取舍规则见末页。"))
    parts.append(section("物业投诉、满意度测评与服务场景"))
    parts.append(_kpi_table(data, OTHER_KPIS))
    parts.append(_absent_notes(data, ("complaints", "scenes")))
    if uncovered.get("others"):
        parts.append(note(f"注：{uncovered['others']}。"))
    parts.append(_ranking(data, section("社区综合排名" if data["ranking_by"] == "community" else "街道综合排名")))
    parts.append(section("近 12 周趋势"))
    parts.append(svg_figure(charts.weekly_trend(data["trend"]),
                            f"近 12 周诉求受理量与办理率（{data['trend'][0]['week'] if data['trend'] else ''}"
                            f" 至 {data['week']}，每周按其周末时点统计)"))
    parts.append(_trend_table(data["trend"]))
    parts.append(_key_targets(data, section("重点整治小区")))
    parts.append(_hot_spots(data, section("本周高投诉小区")))
    parts.append(_overdue(data, section("超期未办结诉求（按街道与类别）")))
    parts.append(_alerts(data, section("本周预警")))
    parts.append(_compound_types(data, section("小区画像（按类型）")))
    parts.append(_scenes(data, section("服务场景（按类型）")))
    parts.append(_freshness(data, section("数据新鲜度")))
    parts.append("#pagebreak()\n")
    parts.append(_definitions(data))
    return "".join(parts)


def _title_block(data: dict, place: str) -> str:
    title = data["district"] + (data["street"] or "") + "网格治理周报"
    period = (f"{_week_words(data['week'])}（{data['week']}）：{_chinese_date(data['start'])}至"
              f"{_chinese_date(data['last_day']).split(' 年 ', 1)[1]}")
    facts = (f"范围：{place}    统计时点：{_moment(data['as_of'])}（该周结束）    "
             f"生成时间：{_moment(data['generated_at'])}")
    lines = [
        f"#align(center, text(size: 19pt, stroke: 0.45pt, {s(title)}))",
        f"#align(center, text(size: 11pt, {s(period)}))",
        "#v(2pt)",
        f"#align(center, text(size: 8.5pt, fill: luma(80), {s(facts)}))",
    ]
    if data["is_demo"]:
        lines.append('#align(center, box(fill: rgb("#fff3cd"), inset: 5pt, radius: 2pt, '
                     'text(size: 9pt, fill: rgb("#8a6d00"), "演示数据：本周报由演示数据库生成，不代表真实业务情况")))')
    lines.append("#line(length: 100%, stroke: 0.6pt + rgb(\"#1f4e79\"))")
    return "\n".join(lines) + "\n"


def _kpi_table(data: dict, kpis: list[Metric]) -> str:
    rows = []
    for kpi in kpis:
        current = data["stats"][kpi.section][kpi.key]
        previous = data["previous"][kpi.section][kpi.key]
        text, tone = kpi.change(current, previous)
        rows.append([s(kpi.long_label()), strong(kpi.text(current)), s(kpi.text(previous)), coloured(text, tone)])
    return table(["1fr", "auto", "auto", "auto"], ["指标", f"本周 {data['week']}", f"上周 {data['previous_week']}",
                                                    "较上周"], rows, ["left", "right", "right", "right"])


def _absent_notes(data: dict, kinds: tuple[str, ...]) -> str:
    """Why some figures above read “—”: the week's data never carried the column they need."""
    notes = [text for kind in kinds for text in data.get("absent_notes", {}).get(kind, [])]
    return note("注：" + "；".join(notes) + "。") if notes else ""


def _ranking(data: dict, heading_source: str) -> str:
    place_label = "社区" if data["ranking_by"] == "community" else "街道"
    out = [heading_source]
    standing = data.get("standing")
    if standing:
        out.append(note(f"{data['street']}本周综合得分 {metric('appeals.composite').text(standing['composite'])}，"
                        f"在全区 {standing['streets']} 个街道中排第 {standing['rank']} 名。"))
    if not data["ranking"]:
        return "".join(out) + note("本周没有诉求，无法排名。")
    rows = []
    for row in data["ranking"]:
        rows.append([s(count(row["rank"])), s(row["place"] or DASH)]
                    + [strong(c.text(row[c.key])) if c.key == "composite" else s(c.text(row[c.key]))
                       for c in APPEAL_COLUMNS])
    out.append(table(["auto", "1fr"] + ["auto"] * len(APPEAL_COLUMNS),
                     ["排名", place_label] + [c.label for c in APPEAL_COLUMNS],
                     rows, ["center", "left"] + ["right"] * len(APPEAL_COLUMNS)))
    remarks = ["按综合得分由高到低排列，得分相同者名次相同；综合得分为空（有率的分母为零）者排在最后。"]
    if data["ranking_by"] == "street":
        listed = {row["place"] for row in data["ranking"]}
        missing = [name for name in data["settings"].get("streets", []) if name not in listed]
        if missing:
            remarks.append(f"本周无诉求、未参与排名的街道：{'、'.join(missing)}。")
    out.append(note("".join(remarks)))
    out.append(svg_figure(charts.rates_by_place(data["ranking"], "place", place_label),
                          f"各{place_label}本周诉求办理率（%，柱顶数字为百分数）"))
    return "".join(out)


def _trend_table(rows: list[dict]) -> str:
    body = []
    for row in rows:
        cells = [s(row["week"])] + [s(c.text(row[c.key])) for c in APPEAL_COLUMNS]
        if row is rows[-1]:
            cells = [c if c.startswith("strong(") else f"strong({c})" for c in cells]
        body.append(cells)
    return table(["1fr"] + ["auto"] * len(APPEAL_COLUMNS), ["周次"] + [c.label for c in APPEAL_COLUMNS], body,
                 ["left"] + ["right"] * len(APPEAL_COLUMNS))


def _key_targets(data: dict, heading_source: str) -> str:
    targets = data["key_targets"]
    previous = {row["compound_id"]: row["complaints"] for row in data["key_targets_previous"]}
    out = [heading_source,
           note(f"共 {len(targets)} 个重点整治小区（台账标记），按本周每百户投诉量由高到低排列；"
                "趋势为本周投诉量较上周的变化（▼ 减少为向好）。")]
    if not targets:
        return "".join(out) + note("台账中没有标记为重点整治的小区。")
    rows = []
    for index, row in enumerate(targets, 1):
        last_week = previous.get(row["compound_id"])
        trend, tone = trend_mark(row["complaints"], last_week)
        rows.append([s(index), s(row["name"]), s(f"{row['street']} · {row['community']}"),
                     s(count(row["complaints"])), s(PER_100.text(row["complaints_per_100_households"])),
                     s(RESOLUTION.text(row["resolution_rate"])), s(count(last_week)), coloured(trend, tone)])
    out.append(table(["auto", "1fr", "auto", "auto", "auto", "auto", "auto", "auto"],
                     ["序号", "小区", "街道 · 社区", "本周投诉", PER_100.label, RESOLUTION.label, "上周投诉", "趋势"], rows,
                     ["center", "left", "left", "right", "right", "right", "right", "center"]))
    return out[0] + keep(*out[1:]) if len(rows) <= 20 else "".join(out)


def _hot_spots(data: dict, heading_source: str) -> str:
    spots = data["hot_spots"]
    limit = data["settings"]["hot_spot_count"]
    out = [heading_source,
           note(f"本周每百户投诉量最高的 {limit} 个小区（有投诉且有户数者），每百户投诉量相同者名次相同；"
                "“新增”指不在重点整治名单中的小区。")]
    unranked = data.get("unranked_compounds")
    if not spots:
        out.append(note(f"本周有投诉的 {unranked} 个小区台账都缺少户数，无法计算每百户投诉量，暂无排名。"
                        if unranked else "本周没有物业投诉。"))
    else:
        rows = []
        for row in spots:
            mark = coloured("新增", "bad") if row["is_new"] else s("重点整治")
            rows.append([s(count(row["rank"])), s(row["name"]), s(f"{row['street']} · {row['community']}"),
                         s(count(row["complaints"])), s(PER_100.text(row["complaints_per_100_households"])),
                         s(RESOLUTION.text(row["resolution_rate"])), mark])
        out.append(table(["auto", "1fr", "auto", "auto", "auto", "auto", "auto"],
                         ["排名", "小区", "街道 · 社区", "本周投诉", PER_100.label, RESOLUTION.label, "标记"], rows,
                         ["center", "left", "left", "right", "right", "right", "center"]))
    if spots and unranked:
        out.append(note(f"另有 {unranked} 个小区本周有投诉但台账缺少户数，未参与排名。"))
    return out[0] + keep(*out[1:]) if len(spots) <= 20 else "".join(out)


def _overdue(data: dict, heading_source: str) -> str:
    rows = data["overdue"]
    total = data["stats"]["appeals"]["overdue_open"]
    out = [heading_source,
           note(f"本周受理、截至统计时点仍未办结且已超过 {data['settings']['resolution_limit_hours']} 小时办结时限的诉求，"
                f"共 {count(total)} 件。")]
    if not rows:
        return "".join(out) + note("本周没有超期未办结的诉求。")
    categories = sorted({row["category"] for row in rows},
                        key=lambda c: (-sum(r["overdue_open"] for r in rows if r["category"] == c), c or ""))
    streets = sorted({row["street"] for row in rows},
                     key=lambda p: (-sum(r["overdue_open"] for r in rows if r["street"] == p), p or ""))
    counts = {(row["street"], row["category"]): row["overdue_open"] for row in rows}
    body = []
    for street in streets:
        line = [counts.get((street, c)) for c in categories]
        body.append([s(street or DASH)] + [s(count(v)) if v else s("") for v in line]
                    + [strong(count(sum(v or 0 for v in line)))])
    footer = [strong("合计")] + [strong(count(sum(counts.get((p, c), 0) for p in streets))) for c in categories] \
        + [strong(count(sum(counts.values())))]
    out.append(table(["1fr"] + ["auto"] * (len(categories) + 1), ["街道"] + [c or DASH for c in categories] + ["合计"], body,
                     ["left"] + ["right"] * (len(categories) + 1), footer=footer))
    return out[0] + keep(*out[1:])


def _alerts(data: dict, heading_source: str) -> str:
    """Due-soon and overdue counts by place as of the week's end, the most improbable alarms, and
    the week's 重复诉求率 and 真解决率 against last week's."""
    warned = data["alerts"]
    due, late = metric("alerts.due_soon"), metric("alerts.overdue")
    place = "社区" if data["street"] else "街道"
    out = [heading_source, note(f"截至统计时点（{_moment(data['as_of'])}）：{due.label} {due.text(warned['totals']['due_soon'])} 件，"
                                f"{late.label} {late.text(warned['totals']['overdue'])} 件。{due.help()}")]
    key = "community" if data["street"] else "street"
    if warned["by_place"]:
        rows = [[s(row[key] or DASH), s(due.text(row["due_soon"])), s(late.text(row["overdue"]))]
                for row in warned["by_place"]]
        out.append(table(["1fr", "auto", "auto"], [place, due.label, late.label], rows, ["left", "right", "right"]))
    observed, expected, score = (metric(f"alerts.{k}") for k in ("observed", "expected", "score"))
    if warned["alarms"]:
        rows = [[s(row["place_name"] or DASH), s(row["street"] or DASH), s(row["feed_label"]),
                 s(row["category"] or DASH), s(row["start"]), s(observed.text(row["observed"])),
                 s(expected.text(row["expected"])), s(score.text(row["significance"])),
                 s("是" if row["is_key_target"] else "否")]
                for row in warned["alarms"]]
        out.append(table(["1fr", "auto", "auto", "auto", "auto", "auto", "auto", "auto", "auto"],
                         ["小区", "街道", "数据", "类别", "开始日期", observed.label, expected.label, score.label, "重点整治"],
                         rows, ["left", "left", "left", "left", "left", "right", "right", "right", "center"]))
        out.append(note(f"显著性最高的 {len(rows)} 条异动预警。{score.help()}"))
    else:
        out.append(note("截至统计时点没有异动预警。"))
    out.append(_kpi_table(data, [metric("appeals.repeat_rate"), metric("appeals.true_resolution_rate")]))
    if warned["unsettled"]:
        out.append(note(warned["unsettled"]))
    return out[0] + keep(*out[1:])


def _compound_types(data: dict, heading_source: str) -> str:
    rows = data["compound_types"]
    total_compounds = sum(row["compounds"] for row in rows)
    total_households = sum(row["households"] for row in rows)
    body = [[s(row["compound_type"]), s(count(row["compounds"])), s(count(row["households"])),
             s(SHARE.text(row.get("share")))] for row in rows]
    footer = [strong("合计"), strong(count(total_compounds)), strong(count(total_households)),
              strong(SHARE.text(1 if total_compounds else None))]
    scope_words = f"{data['street']}的" if data["street"] else "全区"
    return heading_source + keep(
        note(f"{scope_words}小区按 6 种类型划分（台账现状，不随周次变化）。户数为台账户数之和，缺户数的小区计为 0。"),
        "#grid(columns: (1fr, 1fr), column-gutter: 12pt, align: horizon,\n",
        table(["1fr", "auto", "auto", "auto"], ["类型", "小区数", "户数", "占比"], body,
              ["left", "right", "right", "right"], footer=footer).lstrip("#"),
        ",\n", f"image(bytes({s(charts.compound_types(rows, width=360))}), format: \"svg\", width: 100%),\n)\n")


def _scenes(data: dict, heading_source: str) -> str:
    rows = data["scenes_by_type"]
    scenes = data["stats"]["scenes"]
    body = [[s(row["scene_type"]), s(count(row["events"])), s(count(row["attendance"])), s(count(row["old_young"]))]
            for row in rows]
    footer = [strong("合计"), strong(count(scenes["events"])), strong(count(scenes["attendance"])),
              strong(count(scenes["old_young"]))]
    return heading_source + keep(
        note(f"本周服务场景活动 {count(scenes['events'])} 场、参与 {count(scenes['attendance'])} 人次，"
             f"其中一老一小 {count(scenes['old_young'])} 人次；场景覆盖率（有活动的小区占比）{metric('scenes.coverage').text(scenes['coverage'])}。"),
        svg_figure(charts.scenes_by_type(rows), "本周服务场景参与人次（按六类场景）"),
        table(["1fr", "auto", "auto", "auto"], ["场景类型", "活动场次", "参与人次", "一老一小人次"], body,
              ["left", "right", "right", "right"], footer=footer))


def _freshness(data: dict, heading_source: str) -> str:
    body = []
    stale = []
    for row in data["freshness"]:
        name = FEED_NAMES.get(row["kind"], row["kind"])
        newest = row["newest_record_at"]
        body.append([s(name), s(_moment(row["last_loaded_at"])), s(_moment(newest) if row["kind"] != "compounds" else "（台账）"),
                     s(count(row["batches"]))])
        if row["kind"] != "compounds" and (newest is None or newest < data["last_day"]):
            stale.append(name)
    remark = ("各数据源最新记录均已覆盖本周最后一天。" if not stale else
              f"注意：{'、'.join(stale)}的最新记录早于本周最后一天（{data['last_day']}），本周数据可能不完整。")
    return (heading_source + keep(
            note(f"截至生成时间（{_moment(data['generated_at'])}）各数据源的导入情况（撤销的批次不计）。{remark}"),
            table(["1fr", "auto", "auto", "auto"], ["数据源", "最近导入时间", "最新记录时间", "有效导入批次"], body,
                  ["left", "left", "left", "right"])))


def _definitions(data: dict) -> str:
    """Every metric the report shows with its definition, from the catalogue (help texts filled
    from data/metrics.toml), after how a week is counted and before the rounding rule."""
    shown = [*APPEAL_KPIS, *OTHER_KPIS, PER_100, metric("complaints.key_targets"), metric("complaints.hot_spots"),
             metric("ranking.rank"), *(metric(f"alerts.{key}") for key in ("due_soon", "overdue", "observed",
                                                                           "expected", "score")),
             metric("appeals.repeat_rate"), metric("appeals.true_resolution_rate")]
    rows = [("统计周期与时点", "一个 ISO 周（周一至周日）；诉求、投诉按受理时间，测评按测评日期，活动按活动日期归入该周。"
                        "统计时点为该周结束时（下周一 0:00），此后发生的处理不计入；上周按上周结束时统计。")]
    rows += [(m.long_label(), m.help()) for m in shown]
    rows.append(("服务场景类型", "、".join(data["settings"].get("scene_types", [])) + "。"))
    rows.append(("数字取舍", ROUNDING_RULE))
    body = [[strong(name), s(text)] for name, text in rows]
    return (f"#heading(level: 1, {s('附：指标口径说明')})\n"
            + note("与驾驶舱页面和 python -m etl stats 使用同一套定义与参数（data/metrics.toml），同一范围下数字一致。")
            + table(["auto", "1fr"], ["指标", "口径"], body, ["left", "left"]))
