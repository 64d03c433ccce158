"""Everything the weekly report prints, fetched through the metrics module and nothing else.

`collect` returns plain JSON-like data (str, int, float, bool, None, lists and dicts; dates and
times as ISO strings), so the content builder is a pure function of it and can be tested, or fed
from a saved JSON file, without a database.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta

import polars as pl

from metrics import alerts, appeals, complaints, compounds, feeds, rankings, scenes, stats, surveys
from metrics.common import absent_notes
from metrics.scope import Scope, iso_week_label, last_complete_week

# "Now" is Beijing time (settings.local_now): a cron job at Monday 06:00 on a UTC server
# must already see last week as complete.
from settings import local_now, metric_settings, reference

DISTRICT = "蓬莱区"
ALARMS_SHOWN = 10  # the weekly PDF's 本周预警 lists the most improbable alarms


class ReportError(ValueError):
    """A report that cannot be made, with a message in Chinese for the person who asked."""


def _plain(value):
    """Dates, times and nested frames/rows as JSON-friendly values."""
    if isinstance(value, datetime):
        return value.isoformat(sep="T", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, pl.DataFrame):
        return _plain(value.to_dicts())
    return value


def scope_for(week: str | None, street: str | None, now: datetime | None = None) -> Scope:
    """The scope of a weekly report, or ReportError with the reason in Chinese."""
    now = now or local_now()
    week = week or last_complete_week(now.date())
    try:
        scope = Scope.week(week, street or None)
    except ValueError as exc:
        raise ReportError(f"周次写法有误：{exc}") from exc
    if street and street not in reference()["streets"]:
        raise ReportError(f"没有“{street}”这个街道(可选：{'、'.join(reference()['streets'])})")
    end = datetime.combine(scope.end, time())
    if end > now:
        last_day = scope.end - timedelta(days=1)
        raise ReportError(f"{week} 尚未结束(到 {last_day.isoformat()} 为止)，周报只能针对已结束的周；"
                          f"最近一个完整的周是 {last_complete_week(now.date())}")
    return replace(scope, as_of=end)  # a week's report is seen as of its end


def has_data(stats: dict) -> bool:
    return bool(stats["appeals"]["received"] or stats["complaints"]["complaints"]
                or stats["surveys"]["answers"] or stats["scenes"]["events"])


def _require_data(stats: dict, scope: Scope, street: str | None) -> None:
    if not has_data(stats):
        raise ReportError(f"{iso_week_label(scope.start)}({scope.label()})在{street or DISTRICT}没有任何诉求、投诉、"
                          "测评或活动记录，无法生成周报；请先导入该周数据或换一周")


def _as_covered(figures: dict, first: dict, kind: str, previous: Scope) -> dict:
    """The previous week's figures, or all absent when `kind`'s records began after it did."""
    return figures if feeds.covers(first, kind, previous) else dict.fromkeys(figures)


def _uncovered_notes(first: dict, previous: Scope) -> dict[str, str | None]:
    """Why last week's figures read “—” where a feed's records began after it did: for the appeal
    table and for the table of the other feeds."""
    return {"appeals": feeds.uncovered_note(first, ("appeals",), previous),
            "others": feeds.uncovered_note(first, ("complaints", "surveys", "scenes"), previous)}


def preview(con, week: str | None = None, street: str | None = None, *, now: datetime | None = None) -> dict:
    """The part of a report the dashboard shows before the PDF is asked for: the week's appeal
    figures and the week before's, complaints, scenes, the key targets and the hot spots — through
    the functions `collect` uses, so the PDF shows the same numbers. ReportError as `collect`.

    A fraction of the whole: over a city the whole report takes seconds (重复诉求率 compares
    texts), and the page builds it only when the PDF is downloaded."""
    scope = scope_for(week, street, now)
    current = {"appeals": appeals.headline(con, scope), "complaints": complaints.summary(con, scope),
               "surveys": surveys.summary(con, scope), "scenes": scenes.summary(con, scope)}
    _require_data(current, scope, street)
    previous_scope = scope.previous()
    by_compound = compounds.complaints_by_compound(con, scope)
    first = feeds.first_days(con)
    return _plain({
        "district": DISTRICT,
        "street": street or None,
        "week": iso_week_label(scope.start),
        "previous_week": iso_week_label(previous_scope.start),
        "as_of": scope.moment,
        "stats": current,
        "previous": {"appeals": _as_covered(appeals.headline(con, previous_scope), first, "appeals", previous_scope)},
        "uncovered_notes": _uncovered_notes(first, previous_scope),
        "key_targets": compounds.key_targets(by_compound).select("compound_id"),
        "hot_spots": compounds.hot_spots(by_compound).select("compound_id", "is_new"),
    })


def collect(con, week: str | None = None, street: str | None = None, *, now: datetime | None = None) -> dict:
    """The data of one weekly report (one ISO week, the whole district or one street)."""
    scope = scope_for(week, street, now)
    week = iso_week_label(scope.start)
    by_compound = compounds.complaints_by_compound(con, scope)
    current = stats(con, scope, by_compound)
    _require_data(current, scope, street)
    previous_scope = scope.previous()
    before_by_compound = compounds.complaints_by_compound(con, previous_scope)
    previous = stats(con, previous_scope, before_by_compound)
    # A kind whose records began after last week did: its figures of then are absent, not zero.
    first = feeds.first_days(con)
    previous.update({kind: _as_covered(previous[kind], first, kind, previous_scope) for kind in first})
    if street:
        ranking = rankings.community_ranking(con, scope).rename({"community": "place"})
    else:
        ranking = rankings.street_ranking(con, scope).rename({"street": "place"})
    settings = metric_settings()
    return _plain({
        "district": DISTRICT,
        "street": street or None,
        "week": week,
        "previous_week": iso_week_label(previous_scope.start),
        "start": scope.start,
        "last_day": scope.end - timedelta(days=1),
        "as_of": scope.moment,
        "previous_as_of": previous_scope.moment,
        "generated_at": (now or local_now()).replace(microsecond=0),
        "is_demo": feeds.is_demo(con),
        "stats": current,
        "previous": previous,
        # Figures that read “—” because the week's data never carried their column, said in words.
        "absent_notes": {kind: absent_notes(kind, current[kind].get("absent_columns", []), keys=current[kind])
                         for kind in ("appeals", "complaints", "scenes")},
        "ranking_by": "community" if street else "street",
        "ranking": ranking,
        "standing": rankings.street_standing(con, scope),
        "trend": appeals.weekly_trend(con, scope, weeks=12),
        "key_targets": compounds.key_targets(by_compound).select(
            "compound_id", "name", "street", "community", "households", "complaints",
            "complaints_per_100_households", "resolution_rate"),
        "key_targets_previous": [] if not feeds.covers(first, "complaints", previous_scope) else compounds.key_targets(
            before_by_compound).select("compound_id", "complaints"),
        "uncovered_notes": _uncovered_notes(first, previous_scope),
        "hot_spots": compounds.hot_spots(by_compound).select(
            "rank", "compound_id", "name", "street", "community", "complaints", "complaints_per_100_households",
            "resolution_rate", "is_new"),
        "unranked_compounds": compounds.unranked(by_compound),
        "overdue": appeals.overdue_by(con, scope, ("street", "category")),
        "alerts": {"totals": alerts.deadline_totals(con, scope),
                   "by_place": alerts.deadline_counts_in(con, scope, "community" if street else "street"),
                   "alarms": alerts.alarm_table(con, scope).head(ALARMS_SHOWN).select(
                       "place_name", "street", "feed_label", "category", "start", "observed", "expected",
                       "significance", "is_key_target"),
                   "unsettled": alerts.unsettled_note(
                       current["appeals"]["repeat_rate"], current["appeals"]["true_resolution_rate"])},
        "compound_types": compounds.types(con, scope),
        "scenes_by_type": scenes.by(con, scope, "scene_type"),
        "freshness": feeds.freshness(con),
        "settings": {
            "response_limit_hours": settings["response_limit_hours"],
            "resolution_limit_hours": settings["resolution_limit_hours"],
            "feedback_limit_hours": settings["feedback_limit_hours"],
            "basic_satisfied_weight": settings["basic_satisfied_weight"],
            "composite_weights": dict(settings["composite_weights"]),
            "hot_spot_count": settings["hot_spot_count"],
            "scene_types": list(reference()["scene_types"]),
            "streets": list(reference()["streets"]),
        },
    })
