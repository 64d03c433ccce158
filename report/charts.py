"""The report's charts as SVG text: pure functions of plain rows, no browser, no plotting library.

Every chart is 680 × H user units; the report scales it to the text width (170 mm), so 1 unit is
0.25 mm and a font-size of 11 prints at about 7.8 pt. Labels use the report's own font family
(the bundled Noto Sans SC) and pass through metrics.display, so a label says what the tables say.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from metrics.catalogue import RATE_COLOURS, metric
from metrics.display import number, rounded
from safety.plaintext import printable

WIDTH = 680
FONT = "Noto Sans SC"
INK = "#333333"
GRID = "#dddddd"
MUTED = "#888888"
# The rates the charts draw, each in its colour of the pages' charts.
RATE_SERIES = [(key, metric(f"appeals.{key}").label, RATE_COLOURS[key])
               for key in ("response_rate", "resolution_rate", "on_time_rate", "satisfaction_rate")]


def text_width(text: str, size: float) -> float:
    """Rough advance width: CJK and full-width signs are 1 em, the rest about 0.55 em."""
    return sum(size if ord(ch) >= 0x2E80 else 0.56 * size for ch in text)


def _text(x, y, text, *, size=11, anchor="start", fill=INK, weight=None) -> str:
    extra = ' font-weight="bold"' if weight else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-family="{FONT}" font-size="{size}" fill="{fill}" '
            f'text-anchor="{anchor}"{extra}>{escape(printable(text))}</text>')


def _rect(x, y, w, h, fill, opacity=None) -> str:
    extra = f' fill-opacity="{opacity}"' if opacity is not None else ""
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" fill="{fill}"{extra}/>'


def _line(x1, y1, x2, y2, stroke=GRID, width=1, dash=None) -> str:
    extra = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" '
            f'stroke-width="{width}"{extra}/>')


def _svg(height: float, body: list[str], width: float = WIDTH) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}">' + "".join(body) + "</svg>")


def _legend(items: list[tuple[str, str, str]], x: float, y: float) -> list[str]:
    """items: (label, colour, 'box' | 'line'), laid out left to right from (x, y)."""
    out = []
    for label, colour, kind in items:
        if kind == "line":
            out.append(_line(x, y - 4, x + 16, y - 4, stroke=colour, width=2.5))
            out.append(f'<circle cx="{x + 8:.1f}" cy="{y - 4:.1f}" r="2.6" fill="{colour}"/>')
        else:
            out.append(_rect(x + 2, y - 10, 12, 12, colour))
        out.append(_text(x + 20, y, label, size=11))
        x += 20 + text_width(label, 11) + 16
    return out


def _empty(height: float, message: str, width: float = WIDTH) -> str:
    return _svg(height, [_rect(0, 0, width, height, "#fafafa"),
                         _text(width / 2, height / 2, message, size=13, anchor="middle", fill=MUTED)], width)


def rates_by_place(rows: list[dict], place_key: str = "place", place_label: str = "街道") -> str:
    """Grouped bars: the four appeal rates of each street (or community), 0–100 %."""
    rows = [row for row in rows if row.get("received")]
    height = 270
    if not rows:
        return _empty(height, f"本周各{place_label}均无诉求")
    left, right, top, bottom = 44, 10, 30, 40
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    body = _legend([(label, colour, "box") for _, label, colour in RATE_SERIES], left, 14)
    for tick in range(0, 101, 20):
        y = top + plot_h * (1 - tick / 100)
        body.append(_line(left, y, left + plot_w, y))
        body.append(_text(left - 6, y + 4, f"{tick}%", size=10, anchor="end", fill=MUTED))
    group_w = plot_w / len(rows)
    bar_w = min(26.0, group_w * 0.8 / len(RATE_SERIES))
    show_values = bar_w >= 19
    for i, row in enumerate(rows):
        x0 = left + i * group_w + (group_w - bar_w * len(RATE_SERIES)) / 2
        for j, (key, _, colour) in enumerate(RATE_SERIES):
            value = row.get(key)
            x = x0 + j * bar_w
            if value is None:
                body.append(_text(x + bar_w / 2, top + plot_h - 3, "—", size=9, anchor="middle", fill=MUTED))
                continue
            h = plot_h * float(value)
            body.append(_rect(x + 1, top + plot_h - h, bar_w - 2, h, colour))
            if show_values:
                body.append(_text(x + bar_w / 2, top + plot_h - h - 3, f"{rounded(value, 'rate', 1):,}", size=8.5,
                                  anchor="middle"))
        name = str(row[place_key])
        size = 11 if text_width(name, 11) <= group_w - 4 else max(7.0, 11 * (group_w - 4) / text_width(name, 11))
        body.append(_text(left + (i + 0.5) * group_w, top + plot_h + 16, name, size=round(size, 1),
                          anchor="middle"))
        body.append(_text(left + (i + 0.5) * group_w, top + plot_h + 31, f"受理 {number(row['received'])} 件",
                          size=9, anchor="middle", fill=MUTED))
    body.append(_line(left, top + plot_h, left + plot_w, top + plot_h, stroke=INK))
    return _svg(height, body)


def weekly_trend(rows: list[dict]) -> str:
    """The last weeks: appeals received as grey bars (right axis), the four rates as lines (left)."""
    height = 280
    if not rows or not any(row.get("received") for row in rows):
        return _empty(height, "近 12 周没有诉求记录")
    left, right, top, bottom = 44, 44, 30, 30
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    values = [float(row[key]) for row in rows for key, _, _ in RATE_SERIES if row.get(key) is not None]
    # The rate axis starts low enough to show every point, at a round number: 10-point gridlines
    # when the span is at most 50 points, else 20-point ones.
    low = max(0.0, min(values, default=0.0) * 100 - 2)
    rate_step = 10 if low >= 50 else 20
    floor = min(60, int(low // rate_step * rate_step))
    ticks = (100 - floor) // rate_step
    peak = max(row.get("received") or 0 for row in rows)
    step = _nice_step(peak / ticks) if peak else 1
    top_count = step * ticks
    body = _legend([("受理量（右轴）", "#c9c9c9", "box")]
                   + [(label, colour, "line") for _, label, colour in RATE_SERIES], left, 14)
    for k in range(ticks + 1):
        y = top + plot_h * (1 - k / ticks)
        body.append(_line(left, y, left + plot_w, y))
        body.append(_text(left - 6, y + 4, f"{floor + rate_step * k}%", size=10, anchor="end", fill=MUTED))
        body.append(_text(left + plot_w + 6, y + 4, f"{step * k:g}", size=10, fill=MUTED))
    slot = plot_w / len(rows)

    def rate_y(value: float) -> float:
        return top + plot_h * (1 - (value * 100 - floor) / (100 - floor))

    for i, row in enumerate(rows):
        received = row.get("received") or 0
        h = plot_h * received / top_count
        is_last = i == len(rows) - 1
        body.append(_rect(left + i * slot + slot * 0.2, top + plot_h - h, slot * 0.6, h,
                          "#a9a9a9" if is_last else "#d3d3d3"))
        label = str(row["week"]).split("-")[-1]
        body.append(_text(left + (i + 0.5) * slot, top + plot_h + 16, label, size=10, anchor="middle",
                          fill=INK if is_last else MUTED))
    for key, _, colour in RATE_SERIES:
        segment: list[str] = []
        segments: list[list[str]] = []
        for i, row in enumerate(rows):
            value = row.get(key)
            if value is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            x, y = left + (i + 0.5) * slot, rate_y(float(value))
            segment.append(f"{x:.1f},{y:.1f}")
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.6" fill="{colour}"/>')
        if segment:
            segments.append(segment)
        for points in segments:
            if len(points) > 1:
                body.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
                            f'stroke-width="2"/>')
    body.append(_line(left, top + plot_h, left + plot_w, top + plot_h, stroke=INK))
    return _svg(height, body)


def _nice_step(raw: float) -> float:
    """1, 2, 2.5 or 5 times a power of ten, at least raw."""
    magnitude = 1.0
    while magnitude * 10 <= raw:
        magnitude *= 10
    while magnitude > raw and magnitude > 1:
        magnitude /= 10
    for factor in (1, 2, 2.5, 5, 10):
        if factor == 2.5 and magnitude < 10:
            continue  # steps of counts stay whole numbers
        if magnitude * factor >= raw:
            return magnitude * factor
    return magnitude * 10


def horizontal_bars(rows: list[dict], *, label_key: str, value_key: str, inner_key: str | None = None,
                    value_text, legend: list[tuple[str, str]] | None = None, colour: str = "#1f77b4",
                    inner_colour: str = "#ff7f0e", empty: str = "无数据", width: float = WIDTH) -> str:
    """One bar per row (value_key), optionally a thinner bar inside it (inner_key), with a label
    at the end written by value_text(row)."""
    row_h = 30
    top = 26 if legend else 6
    height = top + row_h * max(len(rows), 1) + 6
    if not rows or not any(row.get(value_key) for row in rows):
        return _empty(max(height, 120), empty, width)
    label_w = max(text_width(str(row[label_key]), 12) for row in rows) + 14
    tail = max(text_width(value_text(row), 11) for row in rows) + 12
    plot_w = width - label_w - tail
    peak = max(float(row.get(value_key) or 0) for row in rows)
    body = _legend([(label, c, "box") for label, c in legend], label_w, 14) if legend else []
    for i, row in enumerate(rows):
        y = top + i * row_h
        value = float(row.get(value_key) or 0)
        w = plot_w * value / peak if peak else 0
        body.append(_text(label_w - 8, y + row_h / 2 + 4, row[label_key], size=12, anchor="end"))
        body.append(_rect(label_w, y + 5, w, row_h - 10, colour))
        if inner_key:
            inner = float(row.get(inner_key) or 0)
            body.append(_rect(label_w, y + 11, plot_w * inner / peak if peak else 0, row_h - 22, inner_colour))
        body.append(_text(label_w + w + 6, y + row_h / 2 + 4, value_text(row), size=11))
    body.append(_line(label_w, top, label_w, top + row_h * len(rows), stroke=INK))
    return _svg(height, body, width)


def scenes_by_type(rows: list[dict]) -> str:
    """Attendance of the week's service scenes by the six types, 一老一小 inside each bar."""
    return horizontal_bars(
        rows, label_key="scene_type", value_key="attendance", inner_key="old_young",
        value_text=lambda row: f"{number(row['events'])} 场 · {number(row['attendance'])} 人次",
        legend=[("参与人次", "#2ca02c"), ("其中一老一小人次", "#ffbb78")],
        colour="#2ca02c", inner_colour="#ffbb78", empty="本周没有服务场景活动")


def compound_types(rows: list[dict], width: float = WIDTH) -> str:
    """Compounds by the six types."""
    return horizontal_bars(
        rows, label_key="compound_type", value_key="compounds",
        value_text=lambda row: f"{number(row['compounds'])} 个 · {number(row.get('share'), 'rate')}",
        colour="#5b8db8", empty="没有小区台账", width=width)
