"""The shared filters: period (本周/上周/本月/本年/自定义), street and community, and the compound
whose profile is open.

Every filter is a widget bound to the URL's query parameters (`bind="query-params"`), so it is
kept when moving between pages and a copied link reopens the same view; a value in the URL that
is not one of the widget's options (an unknown street, say) is ignored by Streamlit. Clicking a
street or a compound in a chart or table narrows the view through the callbacks below, which set
the widgets' session state before the next run draws them.

Periods are half-open date ranges [start, end). The numbers describe the period as of
min(now, end): a past period is seen from its end (as the weekly report sees a week), the running
one from now, rounded down to the minute so reruns within a minute reuse cached results. "Now"
is Beijing time: the feeds' timestamps are Asia/Shanghai local time, whatever the server's clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import streamlit as st

from dashboard import auth
from metrics.display import moment
from metrics.scope import Scope, seen_now
from settings import local_now, reference

PERIODS = ("本周", "上周", "本月", "本年", "自定义")
DEFAULT_PERIOD = "上周"
ALL_STREETS = "全部街道"
ALL_COMMUNITIES = "全部社区"
NO_COMPOUND = ""

# Widget keys, which are also the query-parameter names in the URL.
PERIOD, FROM, TO, STREET, COMMUNITY, COMPOUND = "period", "from", "to", "street", "community", "compound"
FILTERS_KEY = "_filters"


@dataclass(frozen=True)
class Filters:
    scope: Scope
    period: str
    street: str | None
    community: str | None
    locked: bool = False  # the reader may see one street only (sign-in scope)

    def district_scope(self) -> Scope:
        """The scope of district-wide comparisons (the 红黑榜): every street, unless the reader
        may see only one."""
        return self.scope if self.locked else replace(self.scope, street=None, community=None)

    def breakdown(self) -> tuple[str, str]:
        """What a chart "by place" is broken down by: streets, or the communities of the one street
        in view (a chart of one street's single bar says nothing)."""
        return ("community", "社区") if self.street else ("street", "街道")

    def place(self) -> str:
        if self.community:
            return f"{self.street or ''}{self.community}"
        return self.street or ALL_STREETS

    def describe(self) -> str:
        """'上周 2026-03-02 至 2026-03-08 · 全部街道 · 统计时点 2026-03-09 00:00'."""
        return f"{self.period} {self.scope.label()} · {self.place()} · 统计时点 {moment(self.scope.moment)}"


def now_local() -> datetime:
    """Beijing time now, to the minute (reruns within a minute reuse cached results)."""
    return local_now().replace(second=0)


def period_range(period: str, today: date, start: date | None = None, last: date | None = None) -> tuple[date, date]:
    """[start, end) of a named period around `today`; 自定义 runs from `start` to `last` inclusive."""
    monday = today - timedelta(days=today.weekday())
    if period == "本周":
        return monday, monday + timedelta(days=7)
    if period == "上周":
        return monday - timedelta(days=7), monday
    if period == "本月":
        first = today.replace(day=1)
        return first, (first + timedelta(days=32)).replace(day=1)
    if period == "本年":
        return date(today.year, 1, 1), date(today.year + 1, 1, 1)
    if period == "自定义":
        start = start or monday - timedelta(days=7)
        last = last or start + timedelta(days=6)
        if last < start:
            start, last = last, start
        return start, last + timedelta(days=1)
    raise ValueError(f"未知的时间范围：{period}")


def make_scope(period: str, now: datetime, *, start: date | None = None, last: date | None = None,
               street: str | None = None, community: str | None = None) -> Scope:
    first, end = period_range(period, now.date(), start, last)
    return Scope(first, end, seen_now(end, now), street, community)


def default_custom_range(today: date) -> tuple[date, date]:
    """The custom period starts as last week (Monday to Sunday)."""
    first, end = period_range("上周", today)
    return first, end - timedelta(days=1)


# ---------------------------------------------------------------- the sidebar

def _reset_community() -> None:
    st.session_state[COMMUNITY] = ALL_COMMUNITIES


def sidebar(communities_of, locked_street: str | None = None) -> Filters:
    """Draw the shared filters in the sidebar and return them; `communities_of(street)` lists the
    communities to offer. With `locked_street` (a reader scoped to one street) the street is fixed
    whatever the URL or a click says. The result is also kept for the page in session state.

    A signed-in street user's street always wins over `locked_street`: the scope comes from the
    account, not from the caller, the URL or the widgets."""
    locked_street = auth.scope_street() or locked_street
    now = now_local()
    streets = list(reference()["streets"])
    with st.sidebar:
        st.markdown("**筛选条件**")
        period = st.segmented_control(
            "时间范围", PERIODS, default=DEFAULT_PERIOD, required=True, key=PERIOD, bind="query-params",
            help="上周、自定义等已结束的时段按其结束时刻统计；本周、本月、本年按当前时刻统计。",
        ) or DEFAULT_PERIOD
        start = last = None
        if period == "自定义":
            first_default, last_default = default_custom_range(now.date())
            start = st.date_input("起始日期", value=first_default, key=FROM, bind="query-params",
                                  format="YYYY-MM-DD")
            last = st.date_input("截止日期(含)", value=last_default, key=TO, bind="query-params",
                                 format="YYYY-MM-DD")
            if start and last and last < start:
                st.warning("截止日期早于起始日期，已按两者之间的时段统计。")
        if locked_street:
            st.selectbox("街道", [locked_street], disabled=True, key="street_locked")
            street = locked_street
        else:
            street_choice = st.selectbox("街道", [ALL_STREETS, *streets], key=STREET, bind="query-params",
                                         on_change=_reset_community)
            street = None if street_choice == ALL_STREETS else street_choice
        community_choice = st.selectbox("社区", [ALL_COMMUNITIES, *communities_of(street)], key=COMMUNITY,
                                        bind="query-params")
        community = None if community_choice in (None, ALL_COMMUNITIES) else community_choice
    filters = Filters(make_scope(period, now, start=start, last=last, street=street, community=community),
                      period, street, community, locked=bool(locked_street))
    st.session_state[FILTERS_KEY] = filters
    return filters


def filters() -> Filters:
    """The filters the sidebar drew in this run (a page run without the router gets the defaults).

    Whatever is found, a street user gets a Scope of his own street: this is the Scope every
    number, table, chart and download of the pages is computed from."""
    found = st.session_state.get(FILTERS_KEY)
    if found is None:
        found = Filters(make_scope(DEFAULT_PERIOD, now_local()), DEFAULT_PERIOD, None, None)
    return scoped(found, auth.scope_street())


def scoped(found: Filters, street: str | None) -> Filters:
    """`found` narrowed to `street` (None: unchanged); a community of another street is dropped."""
    if street is None or (found.locked and found.street == street and found.scope.street == street):
        return found
    community = found.community if found.street == street and found.scope.street == street else None
    return Filters(replace(found.scope, street=street, community=community), found.period, street, community,
                   locked=True)


# ---------------------------------------------------------------- narrowing by clicks

def selected_values(event, field: str = "customdata") -> list:
    """The first custom-data value of each point picked in a plotly chart's selection event."""
    if not event:
        return []
    selection = event.get("selection") if isinstance(event, dict) else getattr(event, "selection", None)
    points = (selection or {}).get("points", []) if isinstance(selection, dict) else getattr(selection, "points", [])
    values = []
    for point in points or []:
        value = point.get(field)
        if isinstance(value, (list, tuple)):
            value = value[0] if value else None
        if value is not None and value not in values:
            values.append(value)
    return values


def select_street(street: str | None) -> None:
    """Narrow every page to one street (None: all streets)."""
    if street is not None and street not in reference()["streets"]:
        return
    st.session_state[STREET] = street or ALL_STREETS
    _reset_community()


def street_from_chart(chart_key: str) -> None:
    """on_select callback of a chart whose points carry the street as custom data."""
    picked = selected_values(st.session_state.get(chart_key))
    if picked:
        select_street(picked[0])


def select_compound(compound_id: str | None) -> None:
    st.session_state[COMPOUND] = compound_id or NO_COMPOUND
    _compound_to_url()


def _compound_to_url() -> None:
    """The open profile in the URL by the compound's code (?compound=C1): a link names it by its
    id, not by a label that a rename would break. (A selectbox bound to the URL would write its
    shown label, so this one is synced by hand.)"""
    chosen = st.session_state.get(COMPOUND) or NO_COMPOUND
    if chosen:
        st.query_params[COMPOUND] = chosen
    else:
        st.query_params.pop(COMPOUND, None)


def compound_from_table(table_key: str, compound_ids: list[str]) -> None:
    """on_select callback of a table whose rows are `compound_ids`, in order."""
    event = st.session_state.get(table_key)
    selection = event.get("selection") if isinstance(event, dict) else getattr(event, "selection", None)
    rows = (selection or {}).get("rows", []) if isinstance(selection, dict) else getattr(selection, "rows", [])
    if rows and 0 <= rows[0] < len(compound_ids):
        select_compound(compound_ids[rows[0]])


def compound_label(name: str, compound_id: str) -> str:
    """How a compound reads in the picker: 海景苑(C1) (names repeat; the code keeps it unique)."""
    return f"{name}({compound_id})"


def chosen_compound(compounds) -> str | None:
    """The compound whose profile is open (from the session, or on a first run from the URL's
    ?compound=<id>); an id not among `compounds` (another street, a stale link) opens none."""
    if COMPOUND not in st.session_state:
        st.session_state[COMPOUND] = st.query_params.get(COMPOUND, NO_COMPOUND)
    if st.session_state[COMPOUND] not in compounds:
        st.session_state[COMPOUND] = NO_COMPOUND
    return st.session_state[COMPOUND] or None


def compound_picker(compounds: dict[str, str], label: str = "查看小区画像") -> str | None:
    """A selectbox of the compounds in scope (id → shown label); the choice is kept in the URL as
    ?compound=<id>, and a link's id (if it is in scope) opens that profile."""
    options = [NO_COMPOUND, *compounds]
    chosen_compound(compounds)
    chosen = st.selectbox(label, options, key=COMPOUND, on_change=_compound_to_url,
                          format_func=lambda cid: "请选择小区…" if cid == NO_COMPOUND else compounds.get(cid, cid))
    _compound_to_url()
    return chosen or None
