"""Every number agrees everywhere (issue 13): a page's cards and tables, the weekly PDF, the CSV
downloads and `python -m etl stats --json`, for the fixture week 2026-W10.

Each number shown anywhere becomes an observation: (scope, metric, row, value or change) → the
text shown. The metric comes from the product's declarations (`catalogue()` below, the one place
that knows them); the row is the table's key cell (街道 蓬莱阁街道, 小区 海景苑, …) or none for a
card, a KPI line or a 合计 line. Observations of the same number must then agree:
- page with page and page with PDF: character for character;
- `stats` after the one rounding rule: the same digits (no unit, no thousands separator);
- changes against the previous week: the same signed number (▲ 6 in the PDF is +6 on a card);
- a CSV download with the table it downloads, cell by cell in place: the same digits (“—” is empty).

The pages are walked in AppTest (week 2026-W10 as the custom period ?period=自定义&from=2026-03-02
&to=2026-03-08, as of Monday 03-09 00:00, as tests/test_pages.py reads them), once as a district
leader (whose PDF is the district's) and once as the leader of 蓬莱阁街道 (whose PDF is his
street's); the data desk and the accounts page, which neither may open, as the administrator.
The PDF (rendered once per scope, and the one the 周报 page offers) is read with `pdftotext -tsv`
(word boxes): each table is found by the headers the typst source gives it, each cell put under
the header it lines up with. The fixture week has no number of four digits and no rounding tie,
so the formatters are also compared on any value (hypothesis) at the end.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import polars as pl
import pytest
import streamlit
from hypothesis import given, settings
from hypothesis import strategies as hs
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

from access.accounts import add_user

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
W10 = {"period": "自定义", "from": "2026-03-02", "to": "2026-03-08"}
WEEK, PREVIOUS_WEEK = "2026-W10", "2026-W09"
STREET = "蓬莱阁街道"
PASSWORD = "a long enough password"
# name → (role, street). The district leader may not open the data desk or the accounts page:
# those two are walked as the administrator.
ADMIN_PAGES = ("data_desk", "admin")
ACCOUNTS = {"quzhang": ("district", None), "penglaige": ("street", STREET), "guanliyuan": ("admin", None)}


# ================================================================ the adapter
# The ONE place that knows how the product declares its numbers (metrics/catalogue.py, the one
# formatter metrics/display.py). Everything below it is generic.

@dataclass(frozen=True)
class Declared:
    label: str            # the label the product gives the metric
    section: str | None   # where `stats --json` has it (None: stats does not print it)
    key: str
    unit: str             # count, rate, score, hours, days, decimal
    digits: int           # decimals after the one rounding rule
    aliases: tuple[str, ...] = ()  # other labels a table gives it (a column header of its own)

    @property
    def ident(self) -> tuple:
        return (self.section, self.key)


def catalogue() -> SimpleNamespace:
    """The product's declarations: every metric of metrics/catalogue.py (label, unit, digits),
    the sections `stats --json` prints them in, and the one formatter."""
    from dashboard.layout import csv_bytes
    from metrics import display
    from metrics.catalogue import CATALOGUE, Metric

    in_stats = {"appeals", "complaints", "surveys", "scenes", "compounds"}
    # Headers a table gives a metric instead of its label (the PDF's 排名 is the pages' 名次).
    aliases = {("appeals", "overdue_open"): ("超期件数",), ("ranking", "rank"): ("排名",)}
    metrics = [Declared(m.label, m.section if m.section in in_stats else None, m.key, m.unit, m.digits,
                        aliases.get((m.section, m.key), ())) for m in CATALOGUE.values()]
    by_label: dict[str, list[Declared]] = defaultdict(list)
    for metric in metrics:
        for label in (metric.label, *metric.aliases):
            by_label[base(label)].append(metric)

    def metric_of(label: str, siblings: set[str]) -> Declared | None:
        """The metric a card or column label names (None for a label two metrics share: 占比)."""
        found = by_label.get(base(label), [])
        return found[0] if len(found) == 1 else None

    def rule(value, metric: Declared) -> str:
        """The one rounding rule: the digits of `value` as every output must show them."""
        if value is None:
            return ""
        if metric.unit == "count":
            return str(int(value))
        return str(display.rounded(value, metric.unit, metric.digits))

    def change(value, previous, metric: Declared) -> str:
        """A change by the same rule: the difference of the exact values, rounded, signed."""
        if value is None or previous is None:
            return ""
        difference = display.exact(value) - display.exact(previous)
        if metric.unit == "count":
            return f"{int(difference):+}"
        return f"{display.rounded(difference, metric.unit, metric.digits):+}"

    def page_text(value, metric: Declared) -> str:
        return display.number(value, metric.unit, metric.digits)

    def pdf_text(value, metric: Declared) -> str:
        return CATALOGUE[f"{metric.section}.{metric.key}"].text(value) if metric.section else page_text(value, metric)

    def csv_text(value, metric: Declared) -> str:
        frame = pl.DataFrame({"v": [value]}, schema={"v": pl.Int64 if metric.unit == "count" else pl.Float64})
        column = Metric("csv", "v", "v", metric.unit, digits=metric.digits)
        written = csv_bytes(frame, [column]).decode("utf-8-sig")
        return list(csv.reader(io.StringIO(written)))[1][0]

    return SimpleNamespace(
        metrics=metrics, metric_of=metric_of, rule=rule, change=change,
        page_text=page_text, pdf_text=pdf_text, csv_text=csv_text,
        # Lists of `stats --json`: name → (section of its numbers, field naming a row, header of that key).
        stats_lists={"appeals_by_street": ("appeals", "street", "街道"),
                     "key_targets": ("complaints", "name", "小区"), "hot_spots": ("complaints", "name", "小区"),
                     "compound_types": ("compounds", "compound_type", "类型")},
    )


# ================================================================ labels and texts

DASH = "—"
NUMBER = re.compile(r"[+-]?\d[\d,]*(?:\.\d+)?")
NUMERIC_CELL = re.compile(r"^(?:第 )?[+-]?\d[\d,]*(?:\.\d+)?(?:%| 小时| 天| 分| 个百分点)?$")


def base(label: str) -> str:
    """A label without spaces and without a trailing qualifier in brackets: 受理量（件）, 受理量 and
    办结时长中位数(小时) → 受理量, 办结时长中位数 (pdftotext also splits 3 日反馈率)."""
    label = re.sub(r"\s+", "", label)
    return re.sub(r"[（(][^（()）]*[)）]$", "", label) or label


def digits(text: str) -> str:
    """The number a text shows, without unit or thousands separator; '' for “—” or nothing."""
    found = NUMBER.search(text or "")
    return found.group().replace(",", "") if found and text != DASH else ""


def signed(text: str | None) -> Decimal | None:
    """A change as a number: '+6', '-28.6 个百分点', '▼ 28.6 个百分点', '▲6', '持平'; None for none."""
    if not text or text == DASH:
        return None
    if text == "持平":
        return Decimal(0)
    number = Decimal(digits(text).lstrip("+"))
    return -abs(number) if text.startswith(("▼", "-")) else number


def plain(text: str) -> str:
    """A cell as a CSV or `stats` carries it: a number's digits, other text as it is, “—” empty."""
    return digits(text) if is_numeric(text) else ("" if text in (DASH, "") else text)


def is_numeric(cell: str) -> bool:
    return bool(NUMERIC_CELL.match(cell))


def period_of(label: str) -> tuple[str, str]:
    """本周/本期 X → (this week, X); 上周/上期 X → (the previous week, X)."""
    for prefix, scope in (("本周", WEEK), ("本期", WEEK), ("上周", PREVIOUS_WEEK), ("上期", PREVIOUS_WEEK)):
        if label.startswith(prefix) and len(label) > len(prefix):
            return scope, label[len(prefix):].strip()
    return WEEK, label


# ================================================================ observations

@dataclass(frozen=True)
class Seen:
    source: str   # "page overview cards", "page appeals table 2", "pdf 三、街道综合排名", "stats"
    kind: str     # "shown" (compare characters), "digits" (stats: compare digits), "change" (signed numbers)
    text: str


@dataclass
class Ledger:
    """Every number seen, by what it is: (scope, metric, row, value|change)."""
    seen: dict = field(default_factory=lambda: defaultdict(list))

    def add(self, scope, metric, row, what, seen: Seen):
        self.seen[(scope, metric, row, what)].append(seen)

    def disagreements(self) -> list[str]:
        out = []
        for (scope, metric, row, what), seen in sorted(self.seen.items(), key=str):
            if len(seen) < 2:
                continue
            name = f"{scope} {metric[-1]}" + ("" if row is None else f" @{row[0]}={row[1]}")
            if what == "change":
                if len({signed(s.text) for s in seen}) > 1:
                    out.append(f"{name} 较上周: " + "; ".join(f"{s.source}: {s.text!r}" for s in seen))
                continue
            shown = [s for s in seen if s.kind == "shown"]
            if len({s.text for s in shown}) > 1:
                out.append(f"{name}: shown differently: " + "; ".join(f"{s.source}: {s.text!r}" for s in shown))
            reference = {plain(s.text) for s in shown} if shown else {seen[0].text}
            for s in {s for s in seen if s.kind == "digits" and {s.text} != reference}:
                out.append(f"{name}: {s.source} has {s.text!r}, shown "
                           + "; ".join(f"{x.source}: {x.text!r}" for x in shown))
        return out

    def compared(self, prefix: str) -> int:
        """How many numbers of the sources starting with `prefix` met the same number elsewhere."""
        return sum(1 for seen in self.seen.values() if len(seen) > 1 for s in seen if s.source.startswith(prefix))


def add_table(ledger: Ledger, cat, source: str, header: list[str], rows: list[list[str]]) -> None:
    """A table's numbers: each row keyed by its first column that is not a number; each other cell
    by its column's metric (or its label, when no metric is declared for it)."""
    if not rows:
        return
    columns = list(zip(*rows))
    key_index = next((i for i, col in enumerate(columns)
                      if not all(is_numeric(c) or c in (DASH, "") for c in col)), None)
    if key_index is None:
        return
    if len({row[key_index] for row in rows}) < len(rows):
        return  # its rows cannot be told apart by a key (they are compared in place with a download)
    key_header = base(header[key_index])
    siblings = {base(h) for h in header}
    if key_header == "指标":  # a KPI table: the row names the metric, the columns the week
        for row in rows:
            metric = cat.metric_of(row[key_index], set())
            ident = metric.ident if metric else ("label", base(row[key_index]))
            for label, cell in zip(header, row):
                scope, rest = period_of(label)
                if label.startswith(("本周", "上周")) and rest.startswith("20"):
                    ledger.add(scope, ident, None, "value", Seen(source, "shown", cell))
                elif label == "较上周":
                    ledger.add(WEEK, ident, None, "change", Seen(source, "change", cell))
        return
    for row in rows:
        key = row[key_index]
        scope, row_key = WEEK, (key_header, key)
        if key_header == "周次":  # a trend table: the row is a whole week
            scope, row_key = key, None
        elif key == "合计":  # a footer: the whole scope, as a card shows it
            row_key = None
        for index, (label, cell) in enumerate(zip(header, row)):
            if index == key_index:
                continue
            cell_scope, rest = period_of(label)
            metric = cat.metric_of(rest, siblings)
            ident = metric.ident if metric else ("label", base(rest))
            ledger.add(cell_scope if scope == WEEK else scope, ident, row_key, "value", Seen(source, "shown", cell))


def add_cards(ledger: Ledger, cat, source: str, cards: list[tuple[str, str, str]]) -> None:
    for label, value, delta in cards:
        metric = cat.metric_of(label, set())
        ident = metric.ident if metric else ("label", base(label))
        ledger.add(WEEK, ident, None, "value", Seen(source, "shown", value))
        ledger.add(WEEK, ident, None, "change", Seen(source, "change", delta or ""))


def add_stats(ledger: Ledger, cat, now: dict, before: dict) -> None:
    """`stats --json` of this week and the previous one, each value by the one rounding rule."""
    by_ident = {m.ident: m for m in cat.metrics if m.section}
    for (section, key), metric in by_ident.items():
        if key in now.get(section, {}):
            value, previous = now[section][key], before[section][key]
            ledger.add(WEEK, metric.ident, None, "value", Seen("stats", "digits", cat.rule(value, metric)))
            ledger.add(PREVIOUS_WEEK, metric.ident, None, "value",
                       Seen("stats", "digits", cat.rule(previous, metric)))
            ledger.add(WEEK, metric.ident, None, "change", Seen("stats", "change", cat.change(value, previous, metric)))
    for name, (section, key_field, key_header) in cat.stats_lists.items():
        for row in now.get(name, []):
            for field_name, value in row.items():
                metric = by_ident.get((section, field_name))
                if metric is not None:
                    ledger.add(WEEK, metric.ident, (key_header, row[key_field]), "value",
                               Seen("stats", "digits", cat.rule(value, metric)))


# ================================================================ the PDF, read back

def pdf_tables(pdf: bytes, typst: str, tmp: Path) -> list[tuple[str, list[str], list[list[str]]]]:
    """Every table of the PDF as (heading, headers, rows of cell texts), found by the headers the
    typst source declares and read from pdftotext's word boxes."""
    path = tmp / "report.pdf"
    path.write_bytes(pdf)
    tsv = subprocess.run(["pdftotext", "-tsv", str(path), "-"], capture_output=True, check=True, text=True).stdout
    cells, current = [], None
    for line in tsv.splitlines()[1:]:
        level, page, _, _, _, _, left, top, width, _, _, text = line.split("\t")
        if level == "4":
            current = {"page": int(page), "left": float(left), "top": float(top), "right": float(left) + float(width),
                       "words": []}
            cells.append(current)
        elif level == "5" and current is not None:
            current["words"].append(text)
    for cell in cells:
        cell["text"] = " ".join(cell["words"])
    rows: list[tuple[tuple[int, float], list[dict]]] = []  # visual lines: cells within 2 pt of one top
    for cell in sorted(cells, key=lambda c: (c["page"], c["top"])):
        if rows and rows[-1][0][0] == cell["page"] and cell["top"] - rows[-1][0][1] < 2:
            rows[-1][1].append(cell)
        else:
            rows.append(((cell["page"], cell["top"]), [cell]))
    found = []
    for header in typst_headers(typst):
        want = [base(h) for h in header]
        for index, ((page, top), line) in enumerate(rows):
            line = sorted(line, key=lambda c: c["left"])
            if [base(c["text"]) for c in line][:len(want)] != want:
                continue
            columns = line[:len(want)]
            right_edge = columns[-1]["right"]
            body, last_top, pitch = [], top, None
            for (next_page, next_top), next_line in rows[index + 1:]:
                mine = [c for c in next_line if columns[0]["left"] - 2 <= c["left"] < right_edge]
                if not mine:  # beside the table (a chart's labels in the same grid)
                    continue
                gap = next_top - last_top
                if next_page != page or (pitch is not None and gap > 1.25 * pitch):
                    break
                pitch = pitch or gap
                body.append(_place(mine, columns))
                last_top = next_top
            found.append((_heading_above(rows, index), header, body))
    return found


def typst_headers(typst: str) -> list[tuple[str, ...]]:
    """The header cells of every table in the typst source, each distinct header once."""
    return sorted({tuple(_unquote(h) for h in re.findall(r'"((?:[^"\\]|\\.)*)"', call))
                   for call in re.findall(r"table\.header\((.*?),\)", typst)})


def _unquote(text: str) -> str:
    return text.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def _place(cells: list[dict], columns: list[dict]) -> list[str]:
    """Each cell under the header it overlaps most (typst aligns a column's header and cells alike)."""
    row = [""] * len(columns)
    for cell in cells:
        overlaps = [min(cell["right"], c["right"]) - max(cell["left"], c["left"]) for c in columns]
        best = max(range(len(columns)), key=lambda i: (overlaps[i], -abs(cell["left"] - columns[i]["left"])))
        row[best] = (row[best] + " " + cell["text"]).strip()
    return row


def _heading_above(rows, index) -> str:
    for (_, _), line in reversed(rows[:index]):
        text = " ".join(c["text"] for c in line)
        if re.match(r"^[一二三四五六七八九十]+、", text) or text.startswith("附："):
            return text
    return ""


# ================================================================ the pages, walked

@dataclass
class PageView:
    cards: list[tuple[str, str, str]]
    tables: list[tuple[list[str], list[list[str]]]]
    downloads: list[tuple[str, bytes]]


def sign_in(at: AppTest, name: str) -> AppTest:
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(PASSWORD)
    return at.button(key="sign_in_submit").click().run()


def walk(name: str, pages: list[str], offered: list) -> dict[str, PageView]:
    """Sign in once as `name` and open each page in turn, keeping what each shows."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(W10)
    sign_in(at.run(), name)
    views = {}
    for page in pages:
        offered.clear()
        at.switch_page(f"pages/{page}.py").run()
        if page == "weekly_report":  # it opens on the newest week with data: choose W10
            offered.clear()
            at.selectbox(key="report_week").set_value(WEEK).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert not at.error, (page, [e.value for e in at.error])
        tables = [(list(map(str, d.value.columns)), [list(map(str, r)) for r in d.value.itertuples(index=False)])
                  for d in at.dataframe]
        views[page] = PageView([(m.label, m.value, m.delta or "") for m in at.metric], tables, list(offered))
    return views


def csv_rows(data: bytes) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    return [re.sub(r"\(%\)$", "", h) for h in rows[0]], rows[1:]


# ================================================================ fixtures

@pytest.fixture(scope="module")
def world(fixture_db, tmp_path_factory):
    """The fixture database (a private copy: signing in writes the audit log beside it), accounts
    of the three roles, every page walked, the PDFs and `stats --json` of both scopes."""
    tmp = tmp_path_factory.mktemp("consistency")
    db = tmp / "fixture.duckdb"
    shutil.copyfile(fixture_db, db)
    accounts = tmp / "accounts.toml"
    for name, (role, street) in ACCOUNTS.items():
        add_user(name, role, PASSWORD, street=street, path=accounts)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DASHBOARD_DB", str(db))
        mp.setenv("DASHBOARD_ACCOUNTS", str(accounts))
        offered: list = []

        def spy(original):
            def download_button(*args, **kwargs):
                data = kwargs.get("data", args[1] if len(args) > 1 else None)
                if isinstance(args[0], DeltaGenerator):
                    data = kwargs.get("data", args[2] if len(args) > 2 else None)
                offered.append((kwargs.get("file_name"), data() if callable(data) else data))
                return original(*args, **kwargs)
            return download_button

        mp.setattr(streamlit, "download_button", spy(streamlit.download_button))
        mp.setattr(DeltaGenerator, "download_button", spy(DeltaGenerator.download_button))
        walks = {scope: walk(name, [p for p in MIN_COMPARED[scope] if p not in ADMIN_PAGES], offered)
                 for scope, name in (("district", "quzhang"), ("street", "penglaige"))}
        walks["district"].update(walk("guanliyuan", [p for p in MIN_COMPARED["district"] if p in ADMIN_PAGES],
                                      offered))
        pdfs, tables, stats = {}, {}, {}
        for scope, street in (("district", None), ("street", STREET)):
            pdfs[scope] = render_pdf(db, street)
            tables[scope] = pdf_tables(*pdfs[scope], tmp)
            stats[scope] = (run_stats(db, WEEK, street), as_compared(db, run_stats(db, PREVIOUS_WEEK, street)))
    return SimpleNamespace(walks=walks, pdfs=pdfs, pdf_tables=tables, stats=stats, tmp=tmp)


def as_compared(db: Path, before: dict) -> dict:
    """The previous week's stats as pages and PDF compare with them: a feed whose records began
    after that week did has no figures of then (metrics/README.md, no change against a period
    before the data)."""
    from etl.db import read_only
    from metrics import Scope, feeds

    with read_only(db) as con:
        first = feeds.first_days(con)
    previous = Scope.week(PREVIOUS_WEEK)
    return {section: dict.fromkeys(values) if section in first and not feeds.covers(first, section, previous)
            else values for section, values in before.items()}


def app_page_list() -> list[str]:
    """The page files app.py registers (read from its source: importing it would run the app)."""
    source = (ROOT / "app.py").read_text(encoding="utf-8")
    block = source.split("PAGES = [", 1)[1].split("]\n", 1)[0]
    return re.findall(r'\(\s*"[^"]*",\s*"([a-z_]+)"', block)


def render_pdf(db: Path, street: str | None) -> tuple[bytes, str]:
    """The weekly PDF of the scope, with the typst source it was made from (whose table headers
    tell the reader where the tables are)."""
    from etl.db import read_only
    from report import build_typst, collect, compile_pdf

    with read_only(db) as con:
        data = collect(con, WEEK, street)
    source = build_typst(data)
    return compile_pdf(source), source


def run_stats(db: Path, week: str, street: str | None) -> dict:
    command = [sys.executable, "-m", "etl", "stats", "--json", "--week", week, "--db", str(db)]
    if street:
        command += ["--street", street]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(done.stdout)


def ledger_of(world, scope: str) -> Ledger:
    cat = catalogue()
    ledger = Ledger()
    for page, view in world.walks[scope].items():
        add_cards(ledger, cat, f"page {page} cards", view.cards)
        for index, (header, rows) in enumerate(view.tables):
            add_table(ledger, cat, f"page {page} table {index + 1}", header, rows)
    for heading, header, rows in world.pdf_tables[scope]:
        add_table(ledger, cat, f"pdf {heading}", header, rows)
    for page, view in world.walks[scope].items():  # the PDF a page offers (周报) is read the same way
        for file_name, data in view.downloads:
            if (file_name or "").endswith(".pdf"):
                for heading, header, rows in pdf_tables(data, world.pdfs[scope][1], world.tmp):
                    add_table(ledger, cat, f"page {page} pdf {heading}", header, rows)
    add_stats(ledger, cat, *world.stats[scope])
    return ledger


def downloads_against_tables(view: PageView) -> tuple[int, list[str]]:
    """Each CSV download against the table with its headers, cell by cell in place (the table may
    show only the first rows): (cells compared, disagreements)."""
    compared, problems = 0, []
    for file_name, data in view.downloads:
        if not (file_name or "").endswith(".csv"):
            continue
        header, rows = csv_rows(data)
        tables = [t for t in view.tables if [base(h) for h in t[0]] == [base(h) for h in header]]
        if len(tables) != 1:
            problems.append(f"{file_name}: {len(tables)} tables on the page have its headers {header}")
            continue
        shown = tables[0][1]
        if len(rows) < len(shown):
            problems.append(f"{file_name}: {len(rows)} rows, the table shows {len(shown)}")
        for number, (row, cells) in enumerate(zip(shown, rows), 1):
            for label, cell, written in zip(header, row, cells):
                compared += 1
                if plain(cell) != written:
                    problems.append(f"{file_name} row {number} {label}: {written!r}, the table shows {cell!r}")
    return compared, problems


# ================================================================ the tests

# The least count of a page's numbers that must meet the same number elsewhere (PDF, stats,
# another page, a download): what the fixture week gives today, so a page whose labels stop
# matching the catalogue fails here instead of passing by comparing nothing.
MIN_COMPARED = {
    "district": {"overview": 37, "appeals": 59, "alerts": 8, "property": 25, "compounds": 34, "satisfaction": 13,
                 "scenes": 31, "weekly_report": 287, "data_desk": 10, "admin": 12},
    "street": {"overview": 27, "appeals": 36, "alerts": 6, "property": 15, "compounds": 27, "satisfaction": 8,
               "scenes": 28, "weekly_report": 260},
}


@pytest.mark.parametrize("scope", ["district", "street"])
def test_every_number_agrees_everywhere(world, scope):
    problems = ledger_of(world, scope).disagreements()
    for view in world.walks[scope].values():
        problems += downloads_against_tables(view)[1]
    assert not problems, f"{len(problems)} numbers disagree:\n" + "\n".join(problems)


@pytest.mark.parametrize("scope", ["district", "street"])
def test_enough_numbers_are_compared_on_every_page(world, scope):
    ledger = ledger_of(world, scope)
    counts = {page: ledger.compared(f"page {page} ") + downloads_against_tables(view)[0]
              for page, view in world.walks[scope].items()}
    short = {page: (counts[page], least) for page, least in MIN_COMPARED[scope].items() if counts.get(page, 0) < least}
    assert not short, f"compared (got, least): {short}; all: {counts}"


def test_every_page_of_the_app_is_walked(world):
    """A page added to app.py must be added to the walk (and say how many of its numbers compare)."""
    assert set(world.walks["district"]) == set(app_page_list())
    assert set(world.walks["street"]) == set(app_page_list()) - set(ADMIN_PAGES)


def test_the_pdfs_tables_are_read(world):
    """The PDF reader finds every table typst was given, with rows (else nothing of it would be compared)."""
    for scope in ("district", "street"):
        tables = world.pdf_tables[scope]
        assert {header for _, header, _ in tables} == set(typst_headers(world.pdfs[scope][1]))
        assert all(rows for _, _, rows in tables), [header for _, header, rows in tables if not rows]


RANK = ("排名", "名次")


@pytest.mark.parametrize("scope", ["district", "street"])
def test_equal_scores_share_a_rank_and_no_score_has_none(world, scope):
    """Every ranking by 综合得分 (a page's, the PDF's) ranks by one rule: a place's rank is one more
    than the number of places with a higher score; a place without a score has no rank (“—”)."""
    tables = [(f"page {page}", h, rows) for page, view in world.walks[scope].items() for h, rows in view.tables]
    tables += [(f"pdf {heading}", h, rows) for heading, h, rows in world.pdf_tables[scope]]
    checked, problems, rankings = 0, [], {}
    for source, header, rows in tables:
        names = [base(h) for h in header]
        rank_at = next((i for i, n in enumerate(names) if n in RANK), None)
        if rank_at is None or "综合得分" not in names:
            continue
        score_at = names.index("综合得分")
        scores = [Decimal(digits(r[score_at])) if digits(r[score_at]) else None for r in rows]
        for row, score in zip(rows, scores):
            checked += 1
            want = DASH if score is None else str(1 + sum(1 for s in scores if s is not None and s > score))
            if row[rank_at] != want:
                problems.append(f"{source}: {row[:rank_at + 3]} ranked {row[rank_at]!r}, the rule gives {want!r}")
        if source.startswith("pdf"):
            rankings.setdefault(names[rank_at + 1], {})["pdf"] = sorted(r[rank_at + 1] for r in rows)
        else:
            rankings.setdefault(names[rank_at + 1], {})["page"] = sorted(r[rank_at + 1] for r in rows)
    for place, lists in rankings.items():  # the same places, named alike, in the page's and the PDF's
        if len(lists) == 2 and lists["page"] != lists["pdf"]:
            problems.append(f"ranked {place}: page {lists['page']}, pdf {lists['pdf']}")
    assert checked >= 4
    assert not problems, "\n".join(problems)


UNITS = ["count", "rate", "score", "hours", "days", "decimal"]


def any_value(unit: str):
    """Values of a unit, ties of the rounding rule included (9/16 = 56.25 %, 1/8 = 12.5 %)."""
    if unit == "count":
        return hs.integers(0, 10_000_000)
    denominators = hs.one_of(hs.sampled_from([8, 16, 32, 40, 80, 400]), hs.integers(1, 5000))
    top = 1 if unit in ("rate", "score") else 5000
    return denominators.flatmap(lambda d: hs.integers(0, top * d).map(lambda n: n / d))


def metric_of_unit(unit: str) -> Declared:
    return next(m for m in catalogue().metrics if m.unit == unit)


@pytest.mark.parametrize("unit", UNITS)
@settings(max_examples=100, deadline=None)
@given(data=hs.data())
def test_a_card_and_the_pdf_write_a_number_alike(unit, data):
    """Whatever the value, a card and the PDF show the same characters (1,324 in both)."""
    cat, metric = catalogue(), metric_of_unit(unit)
    value = data.draw(any_value(unit))
    assert cat.page_text(value, metric) == cat.pdf_text(value, metric), value


@pytest.mark.parametrize("unit", UNITS)
@settings(max_examples=100, deadline=None)
@given(data=hs.data())
def test_a_csv_carries_the_digits_the_rule_gives(unit, data):
    """A CSV cell is the number the one rounding rule gives, which a card shows with its unit:
    9/16 is 56.3 on the card and in the CSV, never 56.2."""
    cat, metric = catalogue(), metric_of_unit(unit)
    value = data.draw(any_value(unit))
    rule = cat.rule(value, metric)
    assert (digits(cat.page_text(value, metric)), cat.csv_text(value, metric)) == (rule, rule), value
