"""What every page shares on screen: the page start, header, KPI cards, tables, empty states,
the demo banner, the data-freshness footer and the message shown when there is no database."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Callable

import polars as pl
import pyarrow as pa
import pydeck as pdk
import streamlit as st
from streamlit.runtime.backend_operation_handler import DeferredFileHandler

from dashboard import auth, data, figures, state
from dashboard.state import Filters
from metrics import display, feeds
from metrics.catalogue import Metric, Text, metric
from metrics.common import absent_notes
from metrics.scope import Scope
from safety import csvout
from safety.plaintext import html_text
from settings import reference

FEEDS = (("compounds", "小区台账"), ("appeals", "诉求工单"), ("complaints", "物业投诉"),
         ("surveys", "满意度测评"), ("scenes", "服务场景"))

# Plotly's own locale mechanism (config.locales): the chart toolbar's tooltips and date words in
# Chinese. Only the toolbar's download and reset stay: zoom and pan buttons meant a wider bar that
# covered the legends (always shown on a phone); a drag still zooms, a double click resets.
PLOTLY_CONFIG = {
    "displaylogo": False,
    "modeBarButtonsToRemove": ["zoom2d", "pan2d", "select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d"],
    "toImageButtonOptions": {"format": "png", "scale": 2},
    "locale": "zh-CN",
    "locales": {"zh-CN": {
        "dictionary": {
            "Download plot as a PNG": "下载图片(PNG)", "Download plot": "下载图片", "Reset axes": "恢复原始比例",
            "Autoscale": "自动缩放", "Zoom": "缩放", "Pan": "平移", "Zoom in": "放大", "Zoom out": "缩小",
            "Box Select": "框选", "Lasso Select": "套索选择", "Reset": "重置",
            "Preparing image - this may take a few seconds": "正在生成图片，请稍候",
            "Image download succeeded": "图片已下载",
            "Sorry, there was a problem downloading your image!": "图片下载失败，请重试。",
        },
        "format": {
            "days": ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"],
            "shortDays": ["周日", "周一", "周二", "周三", "周四", "周五", "周六"],
            "months": [f"{m}月" for m in range(1, 13)], "shortMonths": [f"{m}月" for m in range(1, 13)],
            "date": "%Y-%m-%d",
        },
    }},
}


# What Streamlit's configuration cannot say in Chinese or lay out for a leader's screen.
# The uploader's own words ("Upload", "200MB per file • CSV, XLSX, XLS") have no setting: they are
# hidden (visibility, so they leave the page's text too) and Chinese drawn in their place.
STYLE = """<style>
.st-key-auth_cookie, .st-key-zh_ui { display: none; }
@media (min-width: 1200px) {
  [data-testid="stMainBlockContainer"] { padding-left: 2.5rem; padding-right: 2.5rem; }
}
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p,
[data-testid="stFileUploaderDropzoneInstructions"] span { visibility: hidden; font-size: 0; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p::after,
[data-testid="stFileUploaderDropzoneInstructions"] span::after { visibility: visible; font-size: 0.875rem; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p::after { content: "选择文件"; }
[data-testid="stFileUploaderDropzoneInstructions"] span::after { content: "或拖放到此处 · CSV、XLSX"; }
</style>"""


# Streamlit's own words that no setting and no style can reach: input hints, a button's label
# for screen readers, the skip link, and the dialogs of an unknown page or a lost connection
# (drawn when no script can run: the translation must already be in the browser). Exact texts,
# and patterns for those with a value inside; a MutationObserver translates them as they appear.
TRANSLATIONS = {
    "Press Enter to submit form": "按回车键提交",
    "Press Enter to apply": "按回车键确认",
    "Skip to main content": "跳到正文",
    "Show password": "显示密码",
    "Hide password": "隐藏密码",
    "Page not found": "页面不存在",
    "Connection error": "连接中断",
    "Is Streamlit still running? If you accidentally stopped Streamlit, just restart it in your terminal:":
        "暂时连不上服务器，页面会自动重新连接；如长时间没有恢复，请联系管理员。",
    "Streamlit server is not responding. Are you connected to the internet?":
        "服务器没有响应，请检查网络；页面会自动重新连接。",
    "streamlit run yourscript.py": "正在重新连接……",
    "Close": "关闭",
    # the tables' toolbar, search and column menu (shown on hover and click)
    "Show/hide columns": "显示/隐藏列",
    "Search": "搜索",
    "Type to search": "输入关键词搜索",
    "Clear search": "清除搜索",
    "Fullscreen": "全屏",
    "Close fullscreen": "退出全屏",
    "Select all": "全选",
    "Sort ascending": "升序排列",
    "Sort descending": "降序排列",
    "Format": "数字格式",
    "Autosize": "自动列宽",
    "Pin column": "固定此列",
    "Unpin column": "取消固定",
    "Hide column": "隐藏此列",
    "Statistics": "统计",
    "Automatic": "自动", "Localized": "本地格式", "Plain": "原始数字", "Compact": "紧凑", "Scientific": "科学计数",
    "Percent": "百分比", "Accounting": "会计格式", "Dollar": "美元", "Euro": "欧元", "Yen": "日元",
    "Calendar": "日历", "Distance": "相对时间", "Duration": "时长",
    "Values": "数值个数", "Empty": "空值", "Distinct": "不同值", "Sum": "合计", "Average": "平均",
    "Median": "中位数", "Minimum": "最小值", "Maximum": "最大值", "Range": "极差", "Standard deviation": "标准差",
    "Minimum length": "最短长度", "Maximum length": "最长长度", "Average length": "平均长度",
    "Clear selection": "清除选择",
}
TRANSLATED_PATTERNS = [
    (r"^Press (⌘|Ctrl)\+Enter to (submit form|apply)$", "按 $1+回车键确认"),
    (r"^You have requested page /(.*), but no corresponding file was found in the app's pages/ directory\. "
     r"Running the app's main page\.$", "没有找到页面 /$1，已打开首页。"),
    (r"^The page that you have requested does not seem to exist\. Running the app's main page\.$",
     "所请求的页面不存在，已打开首页。"),
]
TRANSLATE = """<script>
if (!window.zhStreamlit) {
  window.zhStreamlit = true;
  const exact = %s, patterns = %s.map(([p, r]) => [new RegExp(p), r]);
  const ATTRIBUTES = ["aria-label", "title", "placeholder", "data-title"];
  // A picker's options are the data's own (the data desk offers a file's headers): an English
  // header "Duration" or "Format" stays what the file says.
  const DATA = '[role="listbox"], [role="option"], [data-baseweb="select"]';
  const ours = (element) => !element || !element.closest(DATA);
  const translated = (text) => {
    const bare = text.trim();
    if (exact[bare] !== undefined) return text.replace(bare, exact[bare]);
    for (const [pattern, replacement] of patterns) if (pattern.test(bare)) return bare.replace(pattern, replacement);
    return null;
  };
  const fix = (node) => {
    if (node.nodeType === Node.TEXT_NODE) {
      const done = ours(node.parentElement) && translated(node.nodeValue);
      if (done) node.nodeValue = done;
      return;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) return;
    for (const element of [node, ...node.querySelectorAll("*")]) {
      if (!ours(element)) continue;
      for (const name of ATTRIBUTES) {
        const value = element.getAttribute(name), done = value && translated(value);
        if (done) element.setAttribute(name, done);
      }
    }
    const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
    for (let text = walker.nextNode(); text; text = walker.nextNode()) fix(text);
  };
  new MutationObserver((changes) => {
    for (const change of changes) {
      if (change.type === "childList") change.addedNodes.forEach(fix);
      else if (change.type === "characterData") fix(change.target);
      else fix(change.target);
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true,
                             attributeFilter: ATTRIBUTES});
  fix(document.body);
}
</script>""" % (json.dumps(TRANSLATIONS, ensure_ascii=False), json.dumps(TRANSLATED_PATTERNS, ensure_ascii=False))


def style() -> None:
    """The app's few style overrides (style-only HTML takes no room on the page), and the
    translation of Streamlit's remaining English (in a hidden container: a script takes room)."""
    st.html(STYLE)
    with st.container(key="zh_ui"):
        st.html(TRANSLATE, unsafe_allow_javascript=True)


def page_start(permission: str) -> None:
    """First call of every page script, with what the page needs (auth.page_permission(__file__),
    or auth.ADMINISTER): the page is refused (and stopped) unless the signed-in user may open it.
    The router checks the same before drawing anything; this is the second lock, for a page run
    any other way.

    Streamlit still treats an app with a `pages/` folder as an old-style multipage app until
    app.py's st.navigation has run once in the process; a first request straight to a page URL
    (or AppTest.switch_page) then runs the page file without app.py, i.e. without the sidebar
    filters. If that happened, switch the old mode off and rerun through app.py.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without the old mode: nothing to undo
        PagesManager = None
    if PagesManager is not None and getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()
    auth.require(permission)


def header(title: str, filters: Filters, note: str | None = None) -> None:
    st.title(title)
    st.caption(filters.describe() + (f" · {note}" if note else ""))


# ---------------------------------------------------------------- cards

@dataclass(frozen=True)
class Card:
    label: str
    value: str
    delta: str | None = None
    colour: str = "normal"  # st.metric's delta_color: "inverse" when a rise is bad, "off" when neutral
    help: str | None = None


def card(metric: Metric, current: dict, previous: dict | None = None, *, label: str | None = None) -> Card:
    """A KPI card of a catalogue metric: its label, value, change against the previous period (in
    the colour of its good direction) and its help text."""
    value = current.get(metric.column)
    before = previous.get(metric.column) if previous else None
    colour = {"up": "normal", "down": "inverse"}.get(metric.better, "off")
    return Card(label or metric.label, metric.text(value), metric.delta(value, before) if previous else None,
                colour, metric.help() or None)


def cards(items: list[Card], per_row: int = 4) -> None:
    for start in range(0, len(items), per_row):
        columns = st.columns(per_row)
        for column, item in zip(columns, items[start:start + per_row]):
            same = display.is_no_change(item.delta)  # no change: grey and without an arrow
            column.metric(item.label, item.value, item.delta, help=item.help, border=True,
                          delta_color="off" if same else item.colour, delta_arrow="off" if same else "auto")


def summary_cards(section: str, keys: list[str], current: dict, previous: dict | None, per_row: int = 4) -> None:
    """The cards of catalogue metrics `section.key`, in order."""
    cards([card(metric(f"{section}.{key}"), current, previous) for key in keys], per_row)


def comparison_caption(kinds: tuple[str, ...], previous: Scope, *, always: bool = False) -> None:
    """Under cards with changes: why they show none when the previous period began before the
    data (data.before); with `always`, otherwise which period they compare with."""
    note = feeds.uncovered_note(data.get(feeds.first_days), kinds, previous)
    if note:
        st.caption(f"{note}。")
    elif always:
        st.caption(f"变化为与上一期({previous.label()}，统计时点 {display.moment(previous.moment)})相比。")


def absent_caption(kind: str, summary: dict) -> None:
    """Under a summary's cards: which cards read “—” because the data never carried their column."""
    notes = absent_notes(kind, summary.get("absent_columns") or [], keys=summary.keys())
    if notes:
        st.caption("；".join(notes) + "。")


# ---------------------------------------------------------------- tables

# A column: a catalogue Metric, a Text column, or — for the operational tables of the data desk
# and the admin page, which show no metric — a (source, header, unit) tuple (unit: text, moment,
# bool or count).
Column = Metric | Text | tuple[str, str, str]


def _spec(columns: list[Column]) -> tuple[tuple[str, str, str, int], ...]:
    """The columns as plain tuples (what the table cache hashes): source, header, unit, digits."""
    return tuple((c[0], c[1], c[2], 0) if isinstance(c, tuple) else (c.column, c.heading(), c.unit, c.digits)
                 for c in columns)


def display_frame(frame: pl.DataFrame, columns: list[Column]) -> pa.Table:
    """The table as it reads: the chosen columns under Chinese headers, every cell formatted by
    metrics.display (so a missing rate reads “—”, a flag 是/否, a count 1,234).

    An Arrow table of plain strings, which st.dataframe sends as it is; a polars frame would go
    through pandas first (README, "Serving").
    """
    return _arrow(frame, _spec(columns))


def _arrow(frame: pl.DataFrame, spec) -> pa.Table:
    return pa.table({label: pa.array([display.cell(v, unit, digits) for v in frame[source].to_list()], pa.string())
                     for source, label, unit, digits in spec})


def table(frame: pl.DataFrame, columns: list[Column], *, key: str | None = None,
          on_select=None, height: int | str = "auto") -> object:
    """Draw a table of formatted cells, numbers right-aligned (optionally selectable by row:
    `on_select` is the callback). Each column is as wide as its header and its widest cell, so no
    header loses its unit and no column hides behind another."""
    spec = _spec(columns)
    selectable = on_select is not None
    shown, widths = _display_table(input_key((frame, spec, selectable)), frame, spec, selectable)
    config = {label: st.column_config.TextColumn(label, alignment="right" if unit in display.NUMERIC else "left",
                                                 width=width)
              for (_, label, unit, _), width in zip(spec, widths)}
    kwargs = {}
    if on_select is not None:
        kwargs.update(on_select=on_select, selection_mode="single-row")
    return st.dataframe(shown, hide_index=True, key=key, height=height, width="stretch",
                        column_config=config, **kwargs)


def text_width(text: str) -> float:
    """Roughly how many pixels `text` takes in a table cell (14 px font): CJK and full-width
    characters a full em, others about half."""
    return sum(14.5 if ord(ch) >= 0x2E80 else 7.8 for ch in text)


# The width a table may take so that all of it shows at 1280 px with the sidebar open (the main
# block's padding is narrowed in STYLE).
TABLE_BUDGET = 880
SELECTION_COLUMN = 44  # the check boxes of a selectable table


def column_widths(shown: pa.Table, numeric: list[bool], budget: int = TABLE_BUDGET) -> list[int]:
    """A width in pixels for each column: its header's or its widest cell's, plus padding. When
    that is wider than `budget`, text columns give up room (down to their header's width; a long
    name then ends in “…”), so every column and every full header stays in view."""
    heads, widths = [], []
    for name, column in zip(shown.column_names, shown.columns):
        widest = max([text_width(v) for v in column.to_pylist() if v] or [0])
        heads.append(text_width(name) + 24)
        widths.append(max(heads[-1], widest + 20, 48))
    excess = sum(widths) - budget
    slack = [0 if number else max(0.0, width - head) for width, head, number in zip(widths, heads, numeric)]
    if excess > 0 and sum(slack):
        share = min(1.0, excess / sum(slack))
        widths = [width - room * share for width, room in zip(widths, slack)]
    return [int(math.ceil(width)) for width in widths]


def input_key(value) -> str:
    """The cache key of what a table or a figure is drawn from: a frame by its schema, shape and
    row hashes (what Streamlit's own hashing reads too, without its per-argument cost, which was
    a tenth of a page view's CPU), anything else by its repr (strings, numbers, dates, and tuples,
    lists and dicts of them)."""
    if isinstance(value, pl.DataFrame):
        try:
            rows = value.hash_rows(seed=0).to_numpy().tobytes()
        except Exception:  # a dtype polars cannot hash: the frame's bytes instead
            rows = value.write_ipc(None).getvalue()
        return f"<{value.schema!r} {value.shape} {hashlib.blake2b(rows, digest_size=16).hexdigest()}>"
    if isinstance(value, (tuple, list)):
        return f"{type(value).__name__}({', '.join(map(input_key, value))})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key!r}: {input_key(item)}" for key, item in value.items()) + "}"
    return repr(value)


@st.cache_resource(show_spinner=False, ttl=6 * 3600, max_entries=2000)
def _display_table(key: str, _frame: pl.DataFrame, _spec: tuple, _selectable: bool) -> tuple[pa.Table, list[int]]:
    # Formatted once per distinct table (README, "Serving"); an Arrow table cannot be changed, so
    # sharing it is safe. Streamlit hashes `key` alone (the underscored arguments it skips).
    shown = _arrow(_frame, _spec)
    numeric = [unit in display.NUMERIC or unit == "bool" for _, _, unit, _ in _spec]
    return shown, column_widths(shown, numeric, TABLE_BUDGET - (SELECTION_COLUMN if _selectable else 0))


def csv_bytes(frame: pl.DataFrame, columns: list[Column]) -> bytes:
    """The table as a CSV file for Excel on a Chinese Windows (safety.csvout: UTF-8 with BOM,
    formula-safe; Chinese headers).

    Numbers stay numbers, rounded by the one rule to the digits the screen shows (rates in
    percent, header “(%)”), so the file can be summed and sorted; a missing value is an empty
    cell; times read 2026-03-05 10:00."""
    spec = _spec(columns)
    return _csv(input_key((frame, spec)), frame, spec)


@st.cache_resource(show_spinner=False, ttl=6 * 3600, max_entries=200)
def _csv(key: str, _frame: pl.DataFrame, _spec: tuple) -> bytes:
    # Written once per distinct table, as tables are formatted once; bytes cannot be changed,
    # so sharing them is safe.
    out = []
    for source, label, unit, digits in _spec:
        column = pl.col(source)
        if unit in display.NUMERIC:
            label = f"{label}(%)" if unit == "rate" else label
            column = pl.lit(display.rounded_column(_frame[source], unit, digits))
        elif unit == "moment":
            column = column.dt.strftime("%Y-%m-%d %H:%M")
        elif unit == "bool":
            column = pl.when(column).then(pl.lit("是")).when(~column).then(pl.lit("否"))
        out.append(column.alias(label))
    return csvout.csv_bytes(_frame.select(out))


DOWNLOAD_FAILED = "文件未能生成：如已长时间未操作或账号有变更，请刷新页面重新登录后再下载；否则请稍后再试，如仍不成，请联系管理员。"


def _failed_downloads_in_chinese() -> None:
    """A deferred download that raises shows the server's reply under its button, which Streamlit
    writes in English ("Failed to generate file for download"); the failure itself is logged by
    Streamlit. Patched once per process, on the class every session's handler is made from."""
    handle = DeferredFileHandler.handle
    if getattr(handle, "in_chinese", False):
        return

    async def handle_in_chinese(self, request, session_id):
        response = await handle(self, request, session_id)
        if response.error_msg:
            response.error_msg = DOWNLOAD_FAILED
        return response

    handle_in_chinese.in_chinese = True
    DeferredFileHandler.handle = handle_in_chinese


def deferred_download(label: str, make: Callable[[], bytes], *, file_name: str, mime: str, **kwargs) -> None:
    """A download button whose file is made when it is pressed (not on every view), in Streamlit's
    download thread; a failure reads in Chinese under the button."""
    _failed_downloads_in_chinese()
    st.download_button(label, auth.download_guard(make), file_name=file_name, mime=mime,
                       icon=":material/download:", on_click="ignore", **kwargs)


def colour_legend(colours: dict[str, str]) -> None:
    """A one-line legend of coloured dots (for charts such as the map that draw none)."""
    items = "".join(
        f'<span style="margin-right:14px;white-space:nowrap"><span style="display:inline-block;width:10px;'
        f'height:10px;border-radius:50%;background:{colour};margin-right:4px"></span>{html_text(name)}</span>'
        for name, colour in colours.items())
    st.markdown(f'<div style="font-size:0.85rem">{items}</div>', unsafe_allow_html=True)


def empty(sentence: str) -> None:
    """The empty state of a section: a sentence, never an empty axis."""
    st.info(sentence, icon=":material/info:")


def has_content(nothing: bool, sentence: str) -> bool:
    """Whether a section has something to draw; when it has `nothing`, it says so in a sentence."""
    if nothing:
        empty(sentence)
    return not nothing


def _built(builder: str, args: tuple, kwargs: dict):
    # Built once per distinct input (README, "Serving"): a figure, or a map of 331 compounds whose
    # outlines and tooltips cost its page a fifth of its CPU per view. Drawings are shared between
    # sessions and never changed after they are built, so the serialisation Streamlit asks for on
    # each view (a plotly figure's dict, a 2 ms deep copy per chart; a deck's JSON) is the one it
    # had when built. Plotly's JSON writer would pop the trace uids from that dict: left out here.
    built = getattr(figures, builder)(*args, **kwargs)
    if isinstance(built, pdk.Deck):
        spec = built.to_json()
        built.to_json = lambda: spec
    else:
        spec = built.to_dict()
        for trace in spec.get("data", []):
            trace.pop("uid", None)
        built.to_dict = lambda: spec
    return built


@st.cache_resource(show_spinner=False, ttl=6 * 3600, max_entries=2000)
def _figure(key: str, _builder: str, _args: tuple, _kwargs: dict):
    return _built(_builder, _args, _kwargs)


# A map is ~0.3 MB of JSON, the size of ten charts: fewer are kept.
@st.cache_resource(show_spinner=False, ttl=6 * 3600, max_entries=200)
def _map(key: str, _builder: str, _args: tuple, _kwargs: dict):
    return _built(_builder, _args, _kwargs)


def _drawn(cache: Callable, builder: Callable, args: tuple, kwargs: dict):
    inputs = (builder.__name__, args, kwargs)
    return cache(input_key(inputs), *inputs)


def plot(builder: Callable, *args, key: str | None = None, on_select=None, **kwargs) -> None:
    """Draw builder(*args, **kwargs), a figure builder of dashboard.figures."""
    options = {}
    if on_select is not None:
        options.update(on_select=on_select, selection_mode="points")
    st.plotly_chart(_drawn(_figure, builder, args, kwargs), width="stretch", key=key, config=PLOTLY_CONFIG, **options)


def deck_map(builder: Callable, *args, height: int, **kwargs) -> None:
    """Draw builder(*args, **kwargs), a pydeck map of dashboard.figures."""
    st.pydeck_chart(_drawn(_map, builder, args, kwargs), height=height)


def street_chart(name: str, filters: Filters, builder: Callable, *args, **kwargs) -> None:
    """A chart whose bars are streets: a click on one narrows every page to it. The key follows
    the street filter, so the clicked selection does not linger once the view has narrowed."""
    streets = list(reference()["streets"])
    key = f"{name}-{streets.index(filters.street) if filters.street in streets else 'all'}"
    plot(builder, *args, key=key, on_select=lambda: state.street_from_chart(key), **kwargs)


# ---------------------------------------------------------------- banner, footer, no database

def banner() -> None:
    if data.newer_data_pending():
        st.info("刚有新数据导入，各项数字正在后台计算，最多约一分钟后显示；届时切换页面或刷新即可看到。",
                icon=":material/hourglass_top:")
    if data.get(feeds.is_demo):
        st.warning("当前显示的是**演示数据**：全部为程序生成的虚构数据，不含真实居民信息，仅用于功能演示。"
                   "导入真实数据后此提示自动消失。", icon=":material/science:")


def footer() -> None:
    freshness = data.get(feeds.freshness)
    by_kind = {row["kind"]: row for row in freshness.to_dicts()}
    # where each feed's records begin, so that a 较上期 left out (or a straggler dated years early
    # that makes a year look covered) can be read off every page
    first = data.get(feeds.first_days)
    parts = []
    for kind, label in FEEDS:
        row = by_kind.get(kind)
        if not row or row["last_loaded_at"] is None:
            parts.append(f"{label}：尚未导入")
            continue
        text = f"{label}：{display.moment(row['last_loaded_at'])} 更新"
        newest = row.get("newest_record_at")
        if newest is not None:
            # Survey answers and events carry a date only.
            since = f"记录自 {first[kind].isoformat()} 起，" if first.get(kind) else ""
            text += f"({since}最新记录 {display.moment(newest.date() if kind in ('surveys', 'scenes') else newest)})"
        parts.append(text)
    st.divider()
    st.caption("数据更新时间 · " + " · ".join(parts))


def missing_database(path) -> None:
    st.title("蓬莱网格治理驾驶舱")
    st.error(f"还没有数据库文件：`{path}`", icon=":material/database_off:")
    st.markdown(
        "请先生成数据库，再刷新本页：\n\n"
        "- 使用演示数据：在项目目录运行 `make run`(会自动生成演示数据库并启动驾驶舱)，"
        "或运行 `python -m etl demo` 生成演示数据库；\n"
        "- 使用真实数据：先运行 `python -m etl init` 新建空库，再依次运行 `python -m etl load compounds 小区台账.csv`、"
        "`python -m etl load appeals 诉求工单.csv` 等导入各类数据。\n\n"
        "如数据库放在其他位置，请用环境变量 `DASHBOARD_DB` 指定文件路径。"
    )
