"""About the data itself: when each feed was loaded and where its records begin, whether the
database is the demo's, how many rows each table holds and which weeks have data."""

from __future__ import annotations

import json
from datetime import date

import polars as pl

import settings
from etl.batches import batches_beyond_demo, dataset
from etl.contract import KINDS
from etl.db import frame
from metrics import appeals
from metrics.scope import Scope, iso_week_label, merged, period, place

TABLES = ("compounds", "appeals", "complaints", "surveys", "scenes")


def freshness(con) -> pl.DataFrame:
    """When each feed was last loaded (not counting undone batches) and its newest record."""
    return frame(con, """
        WITH loads AS (SELECT kind, max(loaded_at) AS last_loaded_at, count(*) AS batches
                       FROM batches WHERE NOT is_undone GROUP BY kind),
             newest AS (
                 SELECT 'compounds' AS kind, NULL::TIMESTAMP AS newest_record_at
                 UNION ALL SELECT 'appeals', max(received_at) FROM appeals
                 UNION ALL SELECT 'complaints', max(received_at) FROM complaints
                 UNION ALL SELECT 'surveys', CAST(max(surveyed_at) AS TIMESTAMP) FROM surveys
                 UNION ALL SELECT 'scenes', CAST(max(event_date) AS TIMESTAMP) FROM scenes)
        SELECT newest.kind, loads.last_loaded_at, newest.newest_record_at, coalesce(loads.batches, 0) AS batches
        FROM newest LEFT JOIN loads USING (kind)""")


def first_days(con) -> dict[str, date | None]:
    """The day each feed's records begin, district-wide (None: no records yet). Where the day the
    extracts cover from is set, that day: per feed, a database's own (meta `records_since`, a JSON
    object by kind), else the `records_since` setting in data/metrics.toml. It wins over the first
    record in both directions: a quiet first day is still covered, and one straggler dated years
    early does not make a year without data look covered. Unset, the first record's day."""
    said = _records_since(con)
    firsts = con.execute("""
        SELECT 'appeals', CAST(min(received_at) AS DATE) FROM appeals
        UNION ALL SELECT 'complaints', CAST(min(received_at) AS DATE) FROM complaints
        UNION ALL SELECT 'surveys', min(surveyed_at) FROM surveys
        UNION ALL SELECT 'scenes', min(event_date) FROM scenes""").fetchall()
    return {kind: said.get(kind, day) if day is not None else None for kind, day in firsts}


def _records_since(con) -> dict[str, date]:
    """data/metrics.toml's `records_since`, each feed the database's own meta row names replaced by it."""
    configured = settings.dates_by_feed(settings.metric_settings().get("records_since", {}),
                                        "data/metrics.toml 的 records_since")
    rows = con.execute("SELECT value FROM meta WHERE key = 'records_since' AND value IS NOT NULL").fetchall()
    if not rows:
        return configured
    where = "数据库中记录的 records_since"
    try:
        raw = json.loads(rows[0][0])
    except ValueError:
        raise settings.SettingError(
            f"设置错误：{where} 不是有效的 JSON（{rows[0][0]!r}），应写成 {{\"appeals\": \"2025-12-01\"}}。") from None
    return configured | settings.dates_by_feed(raw, where)


def covers(first: dict[str, date | None], kind: str, scope: Scope) -> bool:
    """Whether `kind`'s records had begun by the scope's first day. A period before that holds
    nothing because nothing was loaded yet, not because nothing happened: compared with it, every
    count would read as growth (本年 against a year before the data: 受理量 +7,225). A feed with no
    records at all covers nothing: its zeros are not figures to compare."""
    day = first.get(kind)
    return scope.start is None or (day is not None and day <= scope.start)


def uncovered_note(first: dict[str, date | None], kinds: tuple[str, ...], previous: Scope,
                   named: str = "上一期", shown: str = "不显示与上一期的变化") -> str | None:
    """What the cards, the PDF and the lists say in place of a change against a period (`named`)
    that began before the data did; None when every kind's records cover it."""
    late = [kind for kind in kinds if not covers(first, kind, previous)]
    if not late:
        return None
    names = "、".join(KINDS[kind].label for kind in late)
    since = "，".join(f"{KINDS[kind].label}自 {first[kind].isoformat()} 起有记录" if first.get(kind)
                     else f"{KINDS[kind].label}尚未导入" for kind in late)
    return f"{named}（{previous.label()}）开始时{names}尚无记录（{since}），{shown}"


def is_demo(con) -> bool:
    """True when the database was built by `python -m etl demo` and holds no live batch of other
    data since (the demo banner goes as soon as real data is loaded, and comes back if it is undone)."""
    return dataset(con) == "demo" and not batches_beyond_demo(con, undone=False)


def table_counts(con) -> dict:
    sql = " UNION ALL ".join(f"SELECT '{t}' AS t, count(*) AS n FROM {t}" for t in TABLES)
    return dict(con.execute(sql).fetchall())


def data_weeks(con, scope: Scope) -> list[str]:
    """The ISO weeks ('YYYY-Www', newest first) that have any appeal, complaint, survey answer or
    scene event in the scope's place and that have ended by the scope's as-of moment."""
    appeals_place, place_params = place("", scope)
    compound_place, _ = place("c.", scope)
    parts = [period("p.received_at", scope), period("s.surveyed_at", scope, is_date=True),
             period("e.event_date", scope, is_date=True)]
    complained, surveyed, held = (sql for sql, _ in parts)
    sql = f"""
        WITH days AS (
            {appeals.received_days_sql(con, scope)} AND {appeals_place}
            UNION ALL
            SELECT CAST(p.received_at AS DATE) FROM complaints p JOIN compounds c USING (compound_id)
                WHERE {complained} AND {compound_place}
            UNION ALL
            SELECT s.surveyed_at FROM surveys s JOIN compounds c USING (compound_id)
                WHERE {surveyed} AND {compound_place}
            UNION ALL
            SELECT e.event_date FROM scenes e JOIN compounds c USING (compound_id)
                WHERE {held} AND {compound_place}
        )
        SELECT DISTINCT CAST(date_trunc('week', day) AS DATE) AS monday FROM days
        WHERE CAST(date_trunc('week', day) AS DATE) + INTERVAL 7 DAY <= CAST($as_of AS TIMESTAMP)
        ORDER BY monday DESC"""
    mondays: list[date] = frame(con, sql, merged(place_params, *(params for _, params in parts)))["monday"].to_list()
    return [iso_week_label(monday) for monday in mondays]
