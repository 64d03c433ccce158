"""The whole set for one scope: what `stats --json` prints (exact values) and the same for people
(Chinese labels from the catalogue, values through the one formatter)."""

from __future__ import annotations

import polars as pl

from metrics import alerts, appeals, complaints, compounds, feeds, scenes, surveys
from metrics.catalogue import CATALOGUE
from metrics.display import DASH
from metrics.scope import Scope
from safety.plaintext import printable

LIST_KEYS = ["compound_id", "name", "complaints", "complaints_per_100_households", "resolution_rate"]
SECTIONS = (("appeals", "诉求办理"), ("complaints", "物业投诉"), ("surveys", "满意度测评"), ("scenes", "服务场景"))


def stats(con, scope: Scope, by_compound: pl.DataFrame | None = None) -> dict:
    """Everything `stats --json` prints; the weekly PDF prints the same numbers. `by_compound`: the
    scope's `complaints_by_compound`, when the caller (the PDF) has read it already."""
    by_street = appeals.rates_by(con, scope, "street").sort("street")
    repeats = alerts.repeat_rates(con, scope)
    if by_compound is None:
        by_compound = compounds.complaints_by_compound(con, scope)
    return {
        "scope": {"from": scope.start, "to": scope.end, "as_of": scope.moment.isoformat(),
                  "street": scope.street, "community": scope.community},
        "counts": feeds.table_counts(con),
        "appeals": {**appeals.summary(con, scope), "repeat_rate": repeats["repeat_rate"],
                    "true_resolution_rate": repeats["true_resolution_rate"]},
        "appeals_by_street": by_street.to_dicts(),
        "complaints": complaints.summary(con, scope),
        "key_targets": compounds.key_targets(by_compound).select(LIST_KEYS).to_dicts(),
        "hot_spots": compounds.hot_spots(by_compound).select(LIST_KEYS + ["is_new"]).to_dicts(),
        "compound_types": compounds.types(con, scope).select("compound_type", "compounds", "households").to_dicts(),
        "surveys": surveys.summary(con, scope),
        "scenes": scenes.summary(con, scope),
    }


def render(result: dict) -> str:
    """The stats result as lines for a person: each section's metrics under their Chinese labels,
    the streets' composite scores and the hot spots, every value as the pages show it."""
    scope = result["scope"]
    place = " · ".join(printable(p) for p in (scope["street"], scope["community"]) if p) or "全区"
    lines = [f"范围：{scope['from'] or '最早'} 至 {scope['to'] or '最新'}(不含) · {place} · 统计时点 "
             f"{str(scope['as_of']).replace('T', ' ')[:16]}"]
    for section, title in SECTIONS:
        lines.append(f"\n{title}")
        values = result[section]
        for key, value in values.items():
            metric = CATALOGUE.get(f"{section}.{key}")
            if metric is not None:
                lines.append(f"  {metric.long_label()}：{metric.text(value)}")
    streets = result["appeals_by_street"]
    if streets:
        composite, received = CATALOGUE["appeals.composite"], CATALOGUE["appeals.received"]
        lines.append(f"\n各街道{composite.label}")
        for row in streets:
            lines.append(f"  {printable(row['street'] or DASH)}：{composite.text(row['composite'])}"
                         f"(受理 {received.text(row['received'])} 件)")
    per_100 = CATALOGUE["complaints.complaints_per_100_households"]
    if result["hot_spots"]:
        lines.append(f"\n高投诉小区(按{per_100.label})")
        for row in result["hot_spots"]:
            lines.append(f"  {printable(row['name'])}({printable(row['compound_id'])})：{per_100.text(row['complaints_per_100_households'])}"
                         + ("  新增" if row["is_new"] else ""))
    return "\n".join(lines)


def render_alerts(result: dict, as_of) -> str:
    """`etl alerts` for a person: the counts, each due-soon and overdue appeal, each alarm and the
    repeat rates, labels from the catalogue and values through the one formatter."""
    due, late = CATALOGUE["alerts.due_soon"], CATALOGUE["alerts.overdue"]
    lines = [f"预警时点 {str(as_of).replace('T', ' ')[:16]}",
             f"\n{due.long_label()}：{due.text(len(result['due_soon']))}"]
    lines += [f"  {_deadline_line(row)}" for row in result["due_soon"]]
    lines.append(f"\n{late.long_label()}：{late.text(len(result['overdue']))}")
    lines += [f"  {_deadline_line(row)}" for row in result["overdue"]]
    observed, expected, score = (CATALOGUE[f"alerts.{key}"] for key in ("observed", "expected", "score"))
    lines.append(f"\n异动预警：{len(result['alarms'])} 条")
    for row in result["alarms"]:
        what = " · ".join(printable(p) for p in (alerts.FEED_LABELS.get(row["feed"], row["feed"]), row["category"]) if p)
        lines.append(f"  {printable(row['place_name'] or row['place_id'])}({printable(row['place_id'])}) {what}："
                     f"自 {row['start']} 起，{observed.label} {observed.text(row['observed'])}，"
                     f"{expected.label} {expected.text(row['expected'])}，{score.label} {score.text(alerts.significance(row['score']))}")
    lines.append("\n重复诉求(预警时点前 90 天受理的诉求)")
    for key in ("repeat_rate", "true_resolution_rate"):
        metric = CATALOGUE[f"appeals.{key}"]
        lines.append(f"  {metric.long_label()}：{metric.text(result['repeats'][key])}")
    return "\n".join(lines)


def _deadline_line(row: dict) -> str:
    where = " · ".join(printable(p) for p in (row["street"], row["community"], row["compound_id"]) if p)
    return (f"{printable(row['appeal_id'])} {printable(row['category'] or DASH)} {row['stage']}时限 "
            f"{str(row['due_at'])[:16]} {where}")
