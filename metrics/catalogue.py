"""Every metric a page, the weekly PDF or the CLI shows, declared once: its Chinese label, unit,
digits, which direction is good news, a help text stating its definition, and the optional input
columns it is computed from (absent is not zero, metrics/common.py).

Help texts are templates filled from data/metrics.toml when read, so a changed limit or weight
changes the help, the PDF's definitions page and the numbers alike. A new metric is one `Metric`
line here plus its SQL in the subject's module.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import settings
from metrics import display


# One colour per appeal rate, in every chart of the pages and of the weekly PDF (a leader holding
# the printout beside the screen reads the same line as the same rate).
RATE_COLOURS = {"response_rate": "#f0a23b", "resolution_rate": "#2e6fba", "on_time_rate": "#1b9aaa",
                "feedback_rate": "#8e5fb0", "satisfaction_rate": "#2e8540"}


@dataclass(frozen=True)
class Metric:
    section: str  # the stats section or subject: appeals, complaints, surveys, scenes, compounds, …
    key: str  # the field or column name the metric functions return
    label: str
    unit: str  # count, rate, score, hours, days, decimal
    about: str = ""  # the help: one or two sentences, with {settings} filled in by help()
    better: str | None = "up"  # 'up', 'down' or None (neither is good news)
    digits: int = 1
    noun: str = ""  # what a count counts: 件, 份, 场 …
    alias: str = ""  # the name the rule books use beside ours: 1日受理率
    inputs: tuple[str, ...] = ()  # optional feed columns it is computed from
    source: str = ""  # the column of a frame, when a table shows it under another name

    @property
    def id(self) -> str:
        return f"{self.section}.{self.key}"

    @property
    def column(self) -> str:
        return self.source or self.key

    def help(self) -> str:
        return self.about.format(**setting_words()) if self.about else ""

    def long_label(self) -> str:
        """'响应率（1日受理率）', '受理量（件）': the label with its alias or count noun."""
        extra = self.alias or (self.noun if self.unit == "count" else "")
        return f"{self.label}（{extra}）" if extra else self.label

    def heading(self) -> str:
        """A table header: hours and days carry their unit, the cells then only the number."""
        word = {"hours": "小时", "days": "天"}.get(self.unit)
        return f"{self.label}({word})" if word else self.label

    def text(self, value) -> str:
        return display.number(value, self.unit, self.digits)

    def delta(self, current, previous) -> str | None:
        return display.delta(current, previous, self.unit, self.digits)

    def change(self, current, previous) -> tuple[str, str]:
        return display.change(current, previous, self.unit, self.digits, self.better)

    def as_(self, label: str | None = None, source: str | None = None) -> "Metric":
        """The same metric shown under another label or read from another column (本期投诉, 上期投诉)."""
        return replace(self, label=label or self.label, source=source or self.source)


@dataclass(frozen=True)
class Text:
    """A column that is not a metric: a name, a flag, a time."""

    column: str
    label: str
    unit: str = "text"  # text, bool, moment
    digits: int = 0

    def __post_init__(self):
        if self.unit not in ("text", "bool", "moment"):  # a number shown comes from a Metric
            raise ValueError(f"{self.column}: a Text column is text, bool or moment, not {self.unit}")

    def heading(self) -> str:
        return self.label


def setting_words() -> dict:
    """The settings as the help texts print them: 24, 0.9, 0.1."""
    s = settings.metric_settings()
    w, a = s["composite_weights"], s["alarms"]
    return {"response_h": f"{s['response_limit_hours']:g}", "resolve_h": f"{s['resolution_limit_hours']:g}",
            "feedback_h": f"{s['feedback_limit_hours']:g}", "basic_weight": f"{s['basic_satisfied_weight']:g}",
            "w_response": f"{w['response']:g}", "w_resolution": f"{w['resolution']:g}",
            "w_satisfaction": f"{w['satisfaction']:g}", "hot_spots": f"{s['hot_spot_count']:g}",
            "due_soon_h": f"{s['due_soon_hours']:g}", "repeat_days": f"{s['repeats']['window_days']:g}",
            "similarity": f"{s['repeats']['similarity']:g}", "recent_days": f"{a['recent_days']:g}",
            "baseline_weeks": f"{a['baseline_weeks']:g}", "min_count": f"{a['min_count']:g}",
            "min_ratio": f"{a['min_ratio']:g}", "p_value": f"{a['p_value']:g}",
            "expected_floor": f"{a['expected_floor']:g}"}


M = Metric
_DECLARED = [
    # ------------------------------------------------ appeals (the "123" rule: 1 day, 2 days, 3 days)
    M("appeals", "received", "受理量", "count", "所选时段内受理的诉求工单数。", None, noun="件"),
    M("appeals", "response_rate", "响应率", "rate",
      "{response_h} 小时内首次响应的工单 ÷ 截至统计时点已过 {response_h} 小时时限或已响应的工单。",
      alias="1日受理率", inputs=("first_response_at",)),
    M("appeals", "resolution_rate", "办结率", "rate",
      "截至统计时点已办结的工单 ÷ 受理量。分母含尚在 {resolve_h} 小时时限内、还没办结的工单，所以办结率可以低于按时办结率。",
      inputs=("resolved_at",)),
    M("appeals", "on_time_rate", "按时办结率", "rate",
      "{resolve_h} 小时内办结的工单 ÷ 截至统计时点已过 {resolve_h} 小时时限或已办结的工单。"
      "尚在时限内、还没办结的工单不在分母里，所以按时办结率可以高于办结率。",
      alias="2日办结率", inputs=("resolved_at",)),
    M("appeals", "feedback_rate", "3日反馈率", "rate",
      "{feedback_h} 小时内反馈群众的工单 ÷ 截至统计时点已过 {feedback_h} 小时时限或已反馈的工单。",
      inputs=("feedback_at",)),
    M("appeals", "satisfaction_rate", "满意率", "rate", "（满意 + 基本满意）÷ 有评价的工单。",
      inputs=("satisfaction",)),
    M("appeals", "evaluated", "评价数", "count",
      "所选时段受理、已有群众评价（满意、基本满意或不满意）的工单数：满意率和满意度得分的分母。评价数少时，"
      "一两件评价就能让满意率、满意度得分和综合得分大起大落，排名请结合评价数看。", None, noun="件",
      inputs=("satisfaction",)),
    M("appeals", "satisfaction_score", "满意度得分", "score",
      "（满意 + {basic_weight} × 基本满意）÷ 有评价的工单，折合百分制。", inputs=("satisfaction",)),
    M("appeals", "composite", "综合得分", "score",
      "{w_response} × 响应率 + {w_resolution} × 办结率 + {w_satisfaction} × 满意度得分，折合百分制；"
      "任一项为空则不计分。用于街道、社区排名，得分相同者名次相同。",
      inputs=("first_response_at", "resolved_at", "satisfaction")),
    M("appeals", "overdue_open", "超期未办结", "count",
      "所选时段受理、截至统计时点未办结且已超过 {resolve_h} 小时办结时限的工单。", "down", noun="件",
      inputs=("resolved_at",)),
    M("appeals", "repeat_rate", "重复诉求率", "rate",
      "所选时段受理的诉求中，重复前一件诉求的工单 ÷ 受理量（只计有小区和诉求内容的工单）。重复：同一小区、同一类别、"
      "{repeat_days} 天内先有一件内容相近（脱敏后的文字相似度不低于 {similarity}，满分 100）的诉求。", "down"),
    M("appeals", "true_resolution_rate", "真解决率", "rate",
      "已办结、且办结后 {repeat_days} 天内没有同一小区同一类别的相近诉求再来的工单 ÷ 截至统计时点办结已满 "
      "{repeat_days} 天的工单（只计所选时段受理、有小区和诉求内容的工单）。", inputs=("resolved_at",)),
    M("appeals", "median_hours_to_resolve", "办结时长中位数", "hours",
      "已办结工单从受理到办结所用小时数的中位数。", "down", inputs=("resolved_at",)),
    # the five-step flow: a step's hours need its own column
    M("funnel", "dispatch", "精准派单用时", "hours", "从受理到派单的小时数中位数。", "down",
      inputs=("dispatched_at",)),
    M("funnel", "response", "首接响应用时", "hours", "从上一环节到首次响应的小时数中位数。", "down",
      inputs=("first_response_at",)),
    M("funnel", "supervision", "督导督办用时", "hours", "从上一环节到办结的小时数中位数。", "down",
      inputs=("resolved_at",)),
    M("funnel", "evaluation", "群众评价用时", "hours", "从上一环节到回访反馈的小时数中位数。", "down",
      inputs=("feedback_at",)),
    M("funnel", "archive", "结案归档", "hours", "从上一环节到结案归档的小时数中位数。", "down",
      inputs=("closed_at",)),
    M("funnel", "reached", "已到达", "count", "截至统计时点已到达该环节（或其后环节）的工单数。", None, noun="件"),
    M("funnel", "share", "占受理量", "rate", "已到达该环节的工单 ÷ 受理量。"),
    M("funnel", "median_hours", "本步用时中位数", "hours", "从上一个有记录的环节到本环节所用小时数的中位数。", "down"),
    M("overdue", "hours_open", "已受理", "hours", "从受理到统计时点的小时数。", "down"),
    M("backlog", "open", "未办结", "count", "截至统计时点仍未办结的工单，按已受理时长分组。", "down", noun="件"),
    M("ranking", "rank", "名次", "count", "按综合得分由高到低；得分相同者名次相同（1、2、2、4）。", None),
    # ------------------------------------------------ early warnings (预警, metrics/alerts.py)
    M("alerts", "due_soon", "临期工单", "count",
      "截至统计时点未结案、下一环节时限（响应 {response_h} 小时、办结 {resolve_h} 小时、反馈 {feedback_h} 小时）"
      "在此后 {due_soon_h} 小时内到期的工单。", "down", noun="件"),
    M("alerts", "overdue", "环节超时工单", "count",
      "截至统计时点未结案、已过下一环节时限（响应 {response_h} 小时、办结 {resolve_h} 小时、反馈 {feedback_h} 小时）"
      "的工单；与“超期未办结”（只看办结时限）不同。", "down", noun="件"),
    M("alerts", "observed", "实际", "count",
      "最近 {recent_days} 天内的件数（满意度测评为“不满意”答卷数）。", None),
    M("alerts", "expected", "预期", "decimal",
      "按此前 {baseline_weeks} 周基线推算的最近 {recent_days} 天件数（测评为不满意份数），不低于 {expected_floor}。",
      None),
    M("alerts", "score", "显著性", "decimal",
      "p 的常用对数取负值，p 为基线不变时出现不少于实际件数的概率（二项分布上尾概率）；数值越大越异常。实际不少于 {min_count} 件、"
      "不少于预期的 {min_ratio} 倍且 p 不大于 {p_value} 时预警。", None, source="significance"),
    # ------------------------------------------------ property complaints
    M("complaints", "complaints", "投诉量", "count", "所选时段内受理的物业投诉数。", "down", noun="件"),
    M("complaints", "resolution_rate", "投诉解决率", "rate", "截至统计时点已解决的投诉 ÷ 投诉量。",
      inputs=("resolved_at",)),
    M("complaints", "median_days_to_resolve", "投诉解决时长中位数", "days",
      "已解决投诉从受理到解决所用天数的中位数。", "down", inputs=("resolved_at",)),
    M("complaints", "three_party_share", "三方办占比", "rate",
      "由社区、业委会、物业企业三方联席会议（三方办）处置的投诉 ÷ 投诉量。", inputs=("three_party",)),
    M("complaints", "three_party", "三方办", "count", "由三方办处置的投诉数。", None, noun="件",
      inputs=("three_party",)),
    M("complaints", "share", "占比", "rate", "该项投诉 ÷ 全部投诉。", None),
    M("complaints", "complaints_per_100_households", "每百户投诉量", "decimal",
      "小区投诉量 ÷ 台账户数 × 100；缺户数的小区不参与高投诉排名。", "down", digits=2),
    M("complaints", "complaints_per_month", "月均投诉", "decimal", "投诉件数 × 30 ÷ 天数(统计时点所在的当天按已过的时间计)。", "down"),
    M("complaints", "key_targets", "重点整治小区", "count",
      "小区台账中标记为重点整治（高投诉）的小区；趋势为本期投诉量较上期的变化。", None, noun="个"),
    M("complaints", "hot_spots", "高投诉小区", "count",
      "每百户投诉量最高的 {hot_spots} 个小区（有投诉且有户数者），每百户投诉量相同者名次相同；"
      "不在重点整治名单中的标为“新增”。", None, noun="个"),
    # ------------------------------------------------ satisfaction surveys
    M("surveys", "answers", "测评答卷", "count", "所选时段内的满意度测评答卷数。", None, noun="份"),
    M("surveys", "satisfaction_rate", "测评满意率", "rate",
      "（满意 + 基本满意）÷ 答卷数；评分 5、4 记为满意，3 记为基本满意，2、1 记为不满意。"),
    M("surveys", "average_score", "测评平均分", "decimal", "有评分答卷的平均分（5 分制）。", digits=2),
    # ------------------------------------------------ service scenes
    M("scenes", "events", "活动场次", "count", "所选时段内开展的服务场景活动数。", noun="场"),
    M("scenes", "attendance", "参与人次", "count", "活动参与人次之和。"),
    M("scenes", "old_young", "一老一小人次", "count", "活动中老人与儿童参与人次之和。", inputs=("old_young",)),
    M("scenes", "coverage", "场景覆盖率", "rate", "所选时段内至少开展一场活动的小区 ÷ 全部小区。"),
    M("scenes", "covered", "有活动小区", "count", "所选时段内至少开展一场活动的小区数。", noun="个"),
    # ------------------------------------------------ compounds (the registry)
    M("compounds", "compounds", "小区数", "count", "台账中的小区数。", None, noun="个"),
    M("compounds", "households", "户数", "count", "台账户数之和，缺户数的小区计为 0。", None, noun="户"),
    M("compounds", "share", "占比", "rate", "该类小区 ÷ 全部小区。", None),
    M("compounds", "buildings", "楼栋数", "count", "台账中的楼栋数。", None),
    M("compounds", "micro_grids", "微网格数", "count", "台账中的微网格数。", None),
    M("compounds", "property_company_share", "有物业服务", "rate", "有物业企业服务的小区 ÷ 全部小区。", None),
    M("compounds", "appeals", "诉求", "count", "所选时段内受理的、属于该小区的诉求工单数。", None, noun="件"),
    M("compounds", "batches", "有效导入批次", "count", "各数据源未撤销的导入批次数。", None),
]
del M

CATALOGUE: dict[str, Metric] = {m.id: m for m in _DECLARED}


def metric(metric_id: str) -> Metric:
    """The declaration of 'section.key' (KeyError names the missing one)."""
    return CATALOGUE[metric_id]


def figure_inputs(kind: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """The metrics of a feed computed from optional columns: key → (label, columns), in
    declaration order. Appeals include the five-step flow's steps."""
    sections = ("appeals", "funnel") if kind == "appeals" else (kind,)
    return {m.key: (m.label, m.inputs) for m in _DECLARED if m.section in sections and m.inputs}
