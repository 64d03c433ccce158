"""The compound map reads without a map service: outlines derived from the compounds, names,
the chosen compound ringed, the view framed on what is shown; the optional intranet tiles with
the GCJ-02 shift, checked on published reference points. Also the small chart rules of issue 15
(whole-number count axes, horizontal week labels, no rotated rate title, no arrow for no change)."""

from __future__ import annotations

import base64
import json
import math
from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard import figures, geo
from metrics import display
from settings import CRS_ENV, TILES_ENV, tile_settings
from tests.test_figures import compound_frame, layer

# (WGS-84 lat, lng, GCJ-02 lat, lng): the reference points of the eviltransform project's tests
# (Shanghai, Shenzhen, Beijing), and one converted by AMap's own coordinate API (Tiananmen).
REFERENCE = [(31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),
             (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),
             (39.911954, 116.377817, 39.91334545536069, 116.38404722455657)]
AMAP_API = (39.90734, 116.39089, 39.90874539, 116.39713623)


@pytest.mark.parametrize("lat, lng, gcj_lat, gcj_lng", REFERENCE)
def test_wgs84_to_gcj02_on_published_reference_points(lat, lng, gcj_lat, gcj_lng):
    lon, la = geo.wgs84_to_gcj02(lng, lat)
    assert lon == pytest.approx(gcj_lng, abs=1e-9) and la == pytest.approx(gcj_lat, abs=1e-9)


def test_wgs84_to_gcj02_agrees_with_amap_within_a_metre():
    lat, lng, gcj_lat, gcj_lng = AMAP_API
    lon, la = geo.wgs84_to_gcj02(lng, lat)
    assert abs(lon - gcj_lng) * 111_320 * math.cos(math.radians(lat)) < 1 and abs(la - gcj_lat) * 111_320 < 1


def test_outside_china_nothing_moves():
    assert geo.wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)  # Paris


def test_convex_hull_by_hand():
    square = [(0, 0), (2, 0), (2, 2), (0, 2), (1, 1), (1, 0)]
    assert geo.convex_hull(square) == [(0, 0), (2, 0), (2, 2), (0, 2)]
    assert geo.convex_hull([(1, 1), (1, 1)]) == [(1, 1)]


def _inside(point, polygon) -> bool:
    """Strictly inside a counter-clockwise convex polygon."""
    return all((b[0] - a[0]) * (point[1] - a[1]) - (b[1] - a[1]) * (point[0] - a[0]) > 0
               for a, b in zip(polygon, polygon[1:] + polygon[:1]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(120.70, 120.85), st.floats(37.75, 37.85)), min_size=1, max_size=30))
def test_every_compound_lies_inside_its_outline_with_a_margin(points):
    polygon = geo.outline(points)
    assert len(polygon) >= 8
    for lon, lat in points:
        assert _inside((lon, lat), polygon)
        # ~100 m away in any direction is still inside (the margin is 180 m · cos 22.5°)
        for k in range(8):
            step = 100 / 111_320
            assert _inside((lon + step * math.cos(k) / math.cos(math.radians(lat)), lat + step * math.sin(k)), polygon)


def test_the_view_frames_the_points():
    points = [(120.70, 37.78), (120.82, 37.84)]
    framing = geo.view(points, 900, 460)
    assert framing["longitude"] == pytest.approx(120.76) and framing["latitude"] == pytest.approx(37.81)
    # at that zoom the points' longitude span takes at most the map's width
    assert 0.12 * 512 * 2 ** framing["zoom"] / 360 <= 900
    closer = geo.view([(120.70, 37.78), (120.72, 37.79)], 900, 460)
    assert closer["zoom"] > framing["zoom"]  # one street: zoomed in


def _style(deck) -> dict:
    prefix = "data:application/json;base64,"
    assert deck.map_style.startswith(prefix)
    return json.loads(base64.b64decode(deck.map_style[len(prefix):]))


def test_the_map_needs_no_map_service_by_default(monkeypatch):
    monkeypatch.delenv(TILES_ENV, raising=False)
    assert tile_settings() == (None, False)
    deck = figures.compound_map(compound_frame(), "appeals")
    style = _style(deck)
    assert style["sources"] == {} and [item["type"] for item in style["layers"]] == ["background"]
    assert "carto" not in json.dumps(json.loads(deck.to_json())).lower()
    streets = layer(deck, "street_outlines").data
    assert [s["name"] for s in streets] == ["登州街道", "蓬莱阁街道"]  # the two streets with located compounds
    names = [label["text"] for label in layer(deck, "place_names").data]
    assert names == ["登州街道", "蓬莱阁街道"]


def test_one_street_in_view_draws_its_communities_and_the_chosen_compound_stands_out():
    one = compound_frame().with_columns(pl.lit("登州街道").alias("street"))
    deck = figures.compound_map(one, "appeals", chosen="C3")
    assert [c["name"] for c in layer(deck, "community_outlines").data] == ["东城社区", "钟楼社区"]
    ring = layer(deck, "chosen_compound").data
    assert [r["compound_id"] for r in ring] == ["C3"]
    names = [label["text"] for label in layer(deck, "place_names").data]
    assert names == ["登州街道", "东城社区", "钟楼社区", "碧桂园"]
    assert not [item for item in figures.compound_map(one, "appeals").layers if item.id == "chosen_compound"]


def test_intranet_tiles_from_a_template_with_the_gcj02_shift():
    template = "http://tiles.intranet/amap/{z}/{x}/{y}.png"
    settings_ = tile_settings({TILES_ENV: template, CRS_ENV: "GCJ02"})
    assert settings_ == (template, True)
    assert tile_settings({TILES_ENV: template}) == (template, False)  # 天地图: WGS-84 as it is
    deck = figures.compound_map(compound_frame(), "appeals", None, *settings_)
    assert _style(deck)["sources"]["tiles"]["tiles"] == [template]
    record = layer(deck, "compounds").data[0]
    assert (record["lon"], record["lat"]) == geo.wgs84_to_gcj02(120.75, 37.80)
    plain = layer(figures.compound_map(compound_frame(), "appeals", None, template, False), "compounds").data[0]
    assert (plain["lon"], plain["lat"]) == (120.75, 37.80)


# ---------------------------------------------------------------- small chart rules

def test_count_axes_tick_whole_numbers():
    assert figures.counts_axis([0, 1, 2]) == {"rangemode": "tozero", "tickformat": ",d", "dtick": 1}
    assert figures.counts_axis([0, 120]) == {"rangemode": "tozero", "tickformat": ",d"}
    complaints = pl.DataFrame({"category": ["电梯维保", "停车管理"], "complaints": [2, 1]})
    axis = figures.bars(complaints, "category", "complaints.complaints").layout.xaxis
    assert axis.dtick == 1 and axis.tickformat == ",d"
    per100 = pl.DataFrame({"name": ["海景苑"], "complaints_per_100_households": [1.5]})
    figure = figures.bars(per100, "name", "complaints.complaints_per_100_households")
    assert figure.layout.xaxis.tickformat is None  # a rate per 100: decimals
    assert list(figure.data[0].text) == ["1.50"]


def test_week_labels_are_horizontal_and_the_rate_axis_has_no_title():
    mondays = [date(2026, 3, 2) + timedelta(weeks=i) for i in range(12)]
    trend = pl.DataFrame({"week": [f"2026-W{10 + i}" for i in range(12)], "week_start": mondays,
                          "through": [m + timedelta(days=6) for m in mondays], "complete": [True] * 12,
                          "received": [3, 0, 1] * 4, "response_rate": [0.5] * 12, "resolution_rate": [0.5] * 12,
                          "satisfaction_rate": [None] * 12})
    figure = figures.weekly_trend(trend)
    assert figure.layout.xaxis.tickangle == 0
    assert (figure.layout.xaxis.tick0, figure.layout.xaxis.dtick) == (1, 2)  # every other week, the newest labelled
    assert not figure.layout.yaxis2.title.text
    assert figure.layout.yaxis.dtick == 1 and figure.layout.yaxis.tickformat == ",d"


def test_no_change_reads_without_an_arrow():
    assert display.is_no_change(display.delta(0, 0)) and display.is_no_change(display.delta(0.5, 0.5, "rate"))
    assert not display.is_no_change(display.delta(1, 0))
