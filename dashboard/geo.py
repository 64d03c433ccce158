"""Geometry for the compound map, with no map service: street and community outlines derived
from the registry's compound points (an approximation for orientation, not official boundaries),
the view that frames them, and the optional intranet tile layer with the WGS-84 → GCJ-02 shift.
"""

from __future__ import annotations

import base64
import json
import math
from collections import defaultdict

from settings import tile_settings  # noqa: F401 (the layer's settings, which pages ask of geo)

PAD_METRES = 180
METRES_PER_DEGREE = 111_320.0


# ---------------------------------------------------------------- outlines

def _cross(o, a, b) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def convex_hull(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The convex hull, counter-clockwise, without repeating the first point (Andrew's monotone chain)."""
    unique = sorted(set(points))
    if len(unique) <= 2:
        return unique
    lower: list = []
    for p in unique:
        while len(lower) >= 2 and _cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list = []
    for p in reversed(unique):
        while len(upper) >= 2 and _cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def outline(points: list[tuple[float, float]], pad: float = PAD_METRES) -> list[list[float]]:
    """The area around `points` (lon, lat): the hull of an octagon of radius `pad` metres around
    each point. Every point lies inside it, at least pad·cos(22.5°) from its edge."""
    if not points:
        return []
    lat0 = sum(p[1] for p in points) / len(points)
    d_lat = pad / METRES_PER_DEGREE
    d_lon = pad / (METRES_PER_DEGREE * math.cos(math.radians(lat0)))
    corners = [(lon + d_lon * math.cos(k * math.pi / 4), lat + d_lat * math.sin(k * math.pi / 4))
               for lon, lat in points for k in range(8)]
    return [[lon, lat] for lon, lat in convex_hull(corners)]


def centroid(polygon: list[list[float]]) -> list[float]:
    """The area centroid of a simple polygon (its vertices' mean if it has no area)."""
    area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(polygon, polygon[1:] + polygon[:1]):
        step = x0 * y1 - x1 * y0
        area += step
        cx += (x0 + x1) * step
        cy += (y0 + y1) * step
    if abs(area) < 1e-15:
        return [sum(p[0] for p in polygon) / len(polygon), sum(p[1] for p in polygon) / len(polygon)]
    return [cx / (3 * area), cy / (3 * area)]


def outlines(rows: list[dict], key: str) -> list[dict]:
    """One outline per value of `key` ('street' or 'community') over rows with lon/lat:
    [{"name", "polygon", "centre", "compounds"}], largest first (so small ones draw on top)."""
    groups: dict[str, list] = defaultdict(list)
    for row in rows:
        if row.get(key):
            groups[row[key]].append((row["lon"], row["lat"]))
    shapes = []
    for name, points in groups.items():
        polygon = outline(points)
        shapes.append({"name": name, "polygon": polygon, "centre": centroid(polygon), "compounds": len(points)})
    return sorted(shapes, key=lambda s: -s["compounds"])


def view(points: list[tuple[float, float]], width_px: int = 900, height_px: int = 460) -> dict:
    """Longitude, latitude and zoom that frame `points` in a map of about width × height pixels."""
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    lon, lat = (min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2
    span_lon = max(max(lons) - min(lons), 0.004) * 1.25
    # latitude span in Web-Mercator units, as a longitude span would be
    y = lambda phi: math.degrees(math.log(math.tan(math.pi / 4 + math.radians(phi) / 2)))  # noqa: E731
    span_lat = max(y(max(lats)) - y(min(lats)), 0.004) * 1.25
    # deck.gl's world is 512 pixels wide at zoom 0
    zoom = min(math.log2(width_px * 360 / (512 * span_lon)), math.log2(height_px * 360 / (512 * span_lat)))
    return {"longitude": lon, "latitude": lat, "zoom": round(min(zoom, 16.0), 2)}


# ---------------------------------------------------------------- GCJ-02

_A, _EE = 6378245.0, 0.00669342162296594323


def _out_of_china(lon: float, lat: float) -> bool:
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _shift_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _shift_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """The GCJ-02 position (what 高德 and other Chinese map tiles are drawn in) of a WGS-84 one;
    outside China unchanged. The published algorithm (Krasovsky ellipsoid offsets)."""
    if _out_of_china(lon, lat):
        return lon, lat
    d_lat = _shift_lat(lon - 105.0, lat - 35.0)
    d_lon = _shift_lon(lon - 105.0, lat - 35.0)
    rad = math.radians(lat)
    magic = 1 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return lon + d_lon, lat + d_lat


# ---------------------------------------------------------------- the optional tile layer

BACKGROUND = "#f3f5f7"


def map_style(template: str | None) -> str:
    """The basemap as a MapLibre style in a data: URL (so loading it is no request): a plain
    background, and over it the intranet's XYZ tiles when a template is set. Without a style of
    its own, Streamlit would fetch CARTO's public basemap, which an intranet cannot reach."""
    style: dict = {"version": 8, "sources": {},
                   "layers": [{"id": "background", "type": "background", "paint": {"background-color": BACKGROUND}}]}
    if template:
        style["sources"]["tiles"] = {"type": "raster", "tiles": [template], "tileSize": 256}
        style["layers"].append({"id": "tiles", "type": "raster", "source": "tiles"})
    return "data:application/json;base64," + base64.b64encode(json.dumps(style).encode()).decode()
