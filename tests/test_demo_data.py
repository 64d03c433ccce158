"""The demo extracts: the article's structural figures hold exactly, and they are reproducible."""

from __future__ import annotations

import datetime as dt
import pathlib
import sys

import polars as pl
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from demo.generate import write_demo_files  # noqa: E402
from etl.contract import KINDS  # noqa: E402

END = dt.date(2026, 11, 26)


def _csv(path: pathlib.Path) -> pl.DataFrame:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        text = raw.decode("utf-8-sig")
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("gb18030")
    return pl.read_csv(text.encode("utf-8"), infer_schema=False)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> list[tuple[str, pathlib.Path]]:
    return write_demo_files(tmp_path_factory.mktemp("demo"), END)


@pytest.fixture(scope="module")
def frames(files) -> dict[str, pl.DataFrame]:
    out: dict[str, list[pl.DataFrame]] = {}
    for kind, path in files:
        df = pl.read_excel(path, engine="calamine") if path.suffix == ".xlsx" else _csv(path)
        out.setdefault(kind, []).append(df)
    return {k: pl.concat(v, how="diagonal_relaxed") for k, v in out.items()}


def test_load_order_and_formats(files):
    assert [k for k, _ in files] == ["compounds", "appeals", "appeals", "complaints", "surveys", "scenes"]
    suffixes = [p.suffix for _, p in files]
    assert suffixes == [".xlsx", ".csv", ".csv", ".csv", ".csv", ".xlsx"]
    assert files[1][1].read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
    with pytest.raises(UnicodeDecodeError):  # GB18030, as Excel on Chinese Windows saves it
        files[2][1].read_bytes().decode("utf-8")
    with pytest.raises(UnicodeDecodeError):
        files[3][1].read_bytes().decode("utf-8")


def test_headers_come_from_the_contract(frames):
    for kind, df in frames.items():
        known = {h for c in KINDS[kind].columns for h in c.headers}
        assert set(df.columns) <= known, (kind, set(df.columns) - known)
        required = [c for c in KINDS[kind].columns if c.required]
        for col in required:
            assert any(h in df.columns for h in col.headers), (kind, col.name)


def test_compounds(frames):
    c = frames["compounds"]
    assert c.height == 331
    assert c["小区编码"].n_unique() == 331
    assert c["小区类型"].n_unique() == 6
    assert c["街道"].n_unique() == 5
    assert (c["重点整治"] == "是").sum() == 15
    assert c["微网格数"].sum() == 2083
    assert c["网格编码"].n_unique() == 329
    assert c["党支部"].is_not_null().sum() == 122
    assert c["物业企业"].drop_nulls().n_unique() == 52
    assert c["户数"].min() >= 50 and c["户数"].max() <= 2500
    assert c["经度"].is_between(120.73, 120.82).all() and c["纬度"].is_between(37.78, 37.84).all()
    # names unique within a street
    assert c.select("街道", "小区名称").is_unique().all()
    named = {r["小区名称"]: r for r in c.iter_rows(named=True)}
    hj = named["海景苑"]
    assert (hj["街道"], hj["社区"], hj["重点整治"]) == ("登州街道", "东城社区", "是")
    for name, street in (("宝龙国际", "蓬莱阁街道"), ("碧桂园", "蓬莱阁街道"), ("蔚蓝彼岸", "新港街道")):
        assert named[name]["街道"] == street
    assert "晒甲河社区" in c.filter(pl.col("街道") == "紫荆山街道")["社区"].to_list()


def test_appeals(frames):
    a = frames["appeals"].unique("工单编号", keep="last", maintain_order=True)
    per_street = dict(a.group_by("街道").len().iter_rows())
    assert 1900 <= per_street["蓬莱阁街道"] <= 2200
    assert all(700 <= n <= 2200 for n in per_street.values())
    assert 7000 <= a.height <= 9000
    assert a["来源渠道"].n_unique() == 7  # the 6 channels and the deliberately bad 微信群
    assert (a["来源渠道"] == "微信群").sum() == 4
    assert (a["受理时间"].str.starts_with(f"{END.year}-13-")).sum() == 3


def test_no_timestamp_after_end(frames):
    latest = dt.datetime.combine(END, dt.time(23, 59))
    a = frames["appeals"]
    for col in ("受理时间", "派单时间", "首次响应时间", "办结时间", "反馈时间", "结案时间"):
        parsed = a[col].str.strptime(pl.Datetime, "%Y-%m-%d %H:%M:%S", strict=False).fill_null(
            a[col].str.strptime(pl.Datetime, "%Y/%-m/%-d %H:%M", strict=False))
        assert parsed.null_count() == a[col].null_count() + (3 if col == "受理时间" else 0), col
        assert parsed.max() <= latest, col


def test_complaints_haijingyuan(frames):
    c, cp = frames["compounds"], frames["complaints"]
    hj = c.filter(pl.col("小区名称") == "海景苑")["小区编码"][0]
    rows = cp.filter(pl.col("小区编码") == hj)
    assert rows["解决时间"].is_not_null().sum() == 47
    assert {"垃圾清运", "电梯维保"} <= set(rows["问题类别"].to_list())
    assert (cp["三方办"] == "是").sum() == 98
    unknown = set(cp["小区编码"].to_list()) - set(c["小区编码"].to_list())
    assert len(unknown) == 3
    assert 1000 <= cp.height <= 1400


def test_surveys(frames):
    s = frames["surveys"]
    assert s["答卷编号"].is_unique().all()
    assert (s["评分"].is_null() ^ s["评价"].is_null()).all()  # each row fills exactly one


def test_scenes(frames):
    sc = frames["scenes"]
    assert sc["场景名称"].n_unique() == 100
    assert sc["一老一小人次"].sum() >= 15000
    assert sc["场景类型"].n_unique() == 6
    for name in ("幸福拼桌", "仙境睦邻集市", "仙阁家宴", "新馨港湾睦邻集市", "老年大学进小区", "假期托管营",
                 "童心向党 筑梦成长夏令营"):
        assert name in sc["场景名称"].to_list()
    assert sc.filter(pl.col("场景名称") == "仙阁家宴")["参与人次"].max() > 900
    assert sc["小区编码"].n_unique() < 331  # some compounds have no event


def test_deterministic(files, tmp_path):
    again = write_demo_files(tmp_path, END)
    assert [p.name for _, p in again] == [p.name for _, p in files]
    for (_, p1), (_, p2) in zip(files, again):
        assert p1.read_bytes() == p2.read_bytes(), p1.name
