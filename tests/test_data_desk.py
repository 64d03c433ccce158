"""The data desk (数据管理) through Streamlit's AppTest, signed in as an analyst, on a copy of the
fixture database: upload → column mapping → check → load → load history → undo, the NYC 311
export through its saved mapping, bad files, rejected rows, re-check and refused undo.

Uploads go through AppTest's own file_uploader (streamlit 1.67 has it); the page's pure helpers
(dashboard/desk.py) are tested directly at the end. Every count asserted is the string the
analyst sees.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import etl.mapping
from dashboard import desk
from etl.batches import rejects_csv, undo
from etl.db import read_only
from etl.load import load_files
from etl.mapping import load_mapping
from etl.read import decode, preview
from tests.conftest import (
    FIXTURES,
    as_before_versions,
    as_rollup_of_older_code,
    build_fixture_db,
    rollup_contents,
)

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
PAGE = "pages/data_desk.py"
ANALYST, PASSWORD = "desk", "analyst desk password"
TABLES = ["compounds", "appeals", "complaints", "surveys", "scenes"]

# An extract from another system: its own headers, no channel column, GBK as Excel saves it.
# A4 exists in the fixture (its category, channel and content change), N1 appears twice (the last
# row wins), N2 names no known street, N3 has no readable date.
OTHER_SYSTEM = ("单号,下单时间,问题分类,所在街道,备注\n"
                "A4,2026-03-05 10:00,环境卫生,登州街道,改类别\n"
                "N1,2026-03-06 10:00,其他,登州街道,先出现\n"
                "N2,2026-03-06 11:00,噪音扰民,不存在街道,街道不对\n"
                "N3,昨天下午,其他,登州街道,日期不对\n"
                "N1,2026-03-06 10:30,其他,紫荆山街道,后出现\n"
                "N4,2026/3/7 8:15,环境卫生,新港街道,\n").encode("gbk")


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def template_db(tmp_path_factory) -> Path:
    return build_fixture_db(tmp_path_factory.mktemp("desk-template") / "fixture.duckdb")


@pytest.fixture
def db(template_db, tmp_path, monkeypatch) -> Path:
    """A private copy of the fixture database, as DASHBOARD_DB."""
    path = tmp_path / "desk.duckdb"
    shutil.copyfile(template_db, path)
    monkeypatch.setenv("DASHBOARD_DB", str(path))
    return path


@pytest.fixture(autouse=True)
def mappings(tmp_path, monkeypatch) -> Path:
    """Saved mappings go to a private folder holding a copy of the shipped nyc311 mapping."""
    folder = tmp_path / "mappings"
    folder.mkdir()
    shutil.copyfile(ROOT / "data" / "mappings" / "nyc311.toml", folder / "nyc311.toml")
    monkeypatch.setattr(etl.mapping, "MAPPINGS_DIR", folder)
    return folder


@pytest.fixture(autouse=True)
def accounts(tmp_path_factory, monkeypatch) -> Path:
    from access.accounts import add_user

    path = tmp_path_factory.mktemp("desk-accounts") / "accounts.toml"
    add_user(ANALYST, "analyst", PASSWORD, path=path)
    monkeypatch.setenv("DASHBOARD_ACCOUNTS", str(path))
    return path


# ---------------------------------------------------------------- driving the page

def _router(tmp: Path) -> Path:
    """While app.py does not list the data desk yet: a router that does."""
    router = tmp / "router.py"
    router.write_text(
        "import sys\nfrom pathlib import Path\nimport streamlit as st\n"
        f"ROOT = Path({str(ROOT)!r})\nsys.path.insert(0, str(ROOT))\n"
        "st.navigation([st.Page(ROOT / 'pages/overview.py', default=True), "
        "st.Page(ROOT / 'pages/data_desk.py')]).run()\n", encoding="utf-8")
    return router


def open_desk(tmp_path: Path) -> AppTest:
    """The app, signed in as the analyst if it asks, on the data desk."""
    registered = "pages/data_desk.py" in APP.read_text(encoding="utf-8") or \
        '"data_desk"' in APP.read_text(encoding="utf-8")
    at = AppTest.from_file(str(APP if registered else _router(tmp_path)), default_timeout=90)
    if not registered:
        at.session_state["user"] = _analyst()
    at.run()
    if any(t.key == "sign_in_name" for t in at.text_input):
        at.text_input(key="sign_in_name").input(ANALYST)
        at.text_input(key="sign_in_password").input(PASSWORD)
        at.button(key="sign_in_submit").click().run()
    at.switch_page(PAGE if registered else str(ROOT / PAGE)).run()
    ok(at)
    assert [t.value for t in at.title] == ["数据管理"]
    return at


def _analyst():
    from access.accounts import users

    return users()[ANALYST]


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def upload(at: AppTest, *files: tuple[str, bytes]) -> AppTest:
    at.file_uploader[0].set_value([(name, data, "text/csv") for name, data in files]).run()
    ok(at)
    return at


def selectbox(at: AppTest, label: str):
    found = [s for s in at.selectbox if s.label == label]
    assert len(found) == 1, [s.label for s in at.selectbox]
    return found[0]


def field(at: AppTest, name: str, fixed: bool = False):
    """The mapping editor's dropdown (or fixed value) of one contract column."""
    suffix = f"-{name}-fixed" if fixed else f"-{name}"
    found = [w for w in [*at.selectbox, *at.text_input]
             if (w.key or "").startswith("desk-map-") and w.key.endswith(suffix)]
    assert len(found) == 1, [w.key for w in at.selectbox]
    return found[0]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def frame(at: AppTest, first_column: str):
    found = [d.value for d in at.dataframe if d.value.columns[0] == first_column]
    assert len(found) == 1, [list(d.value.columns) for d in at.dataframe]
    return found[0]


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    ok(at)
    return at


def content(path: Path) -> dict:
    """Every table the pages read, row for row."""
    with read_only(path) as con:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}


def batch_count(path: Path) -> int:
    with read_only(path) as con:
        return con.execute("SELECT count(*) FROM batches").fetchall()[0][0]


def stats_json(path: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "etl", "stats", "--json", "--week", "2026-W10", "--db", str(path)],
                         check=True, capture_output=True, text=True, cwd=ROOT).stdout
    stats = json.loads(out)
    stats["scope"].pop("as_of", None)
    return stats


# ---------------------------------------------------------------- the whole walk

def test_upload_map_check_load_history_and_undo(db, tmp_path, mappings):
    before, before_stats = content(db), stats_json(db)
    at = open_desk(tmp_path)
    assert texts(at.subheader) == ["上传文件", "载入记录"]
    assert len(frame(at, "批次")) == 5  # the five fixture loads, from the CLI's loader

    # 1. Upload: headers no kind knows; GBK detected; the preview shows the file's rows.
    upload(at, ("网格导出.csv", OTHER_SYSTEM))
    facts = " ".join(texts(at.caption))
    assert "编码：GBK/GB18030" in facts and "表头在第 1 行" in facts and "表头下共 6 行" in facts
    assert selectbox(at, "文件种类").value is None
    assert "无法从表头判断" in " ".join(texts(at.warning))
    preview = frame(at, "单号")
    assert list(preview.columns) == ["单号", "下单时间", "问题分类", "所在街道", "备注"]
    assert preview["单号"].tolist() == ["A4", "N1", "N2", "N3", "N1", "N4"]

    # 2. Kind and mapping: each required field gets a column of the file, the channel a fixed value.
    selectbox(at, "文件种类").set_value("appeals").run()
    ok(at)
    assert "缺少必需列：“工单编号”(appeal_id)、“来源渠道”(channel)、“诉求类别”(category)、“受理时间”(received_at)" \
        in " ".join(texts(at.warning))
    assert at.button(key="desk_check").disabled is False  # a refusal is the checker's to say
    field(at, "appeal_id").set_value("单号")
    field(at, "received_at").set_value("下单时间")
    field(at, "category").set_value("问题分类")
    field(at, "street").set_value("所在街道")
    field(at, "channel").set_value(desk.FIXED).run()
    ok(at)
    field(at, "channel", fixed=True).set_value("网格员巡访").run()
    ok(at)
    assert not any("缺少必需列" in w for w in texts(at.warning))
    headers = frame(at, "文件表头")
    assert headers.values.tolist() == [
        ["单号", "工单编号(appeal_id)", "A4"], ["下单时间", "受理时间(received_at)", "2026-03-05 10:00"],
        ["问题分类", "诉求类别(category)", "环境卫生"], ["所在街道", "街道(street)", "登州街道"],
        ["备注", desk.IGNORED, "改类别"], [desk.FIXED, "来源渠道(channel)", "网格员巡访"]]

    # Saved under a name, as a readable TOML file in the mappings folder.
    at.text_input(key=next(t.key for t in at.text_input if t.key.startswith("desk-save-name-"))).input("网格导出")
    click(at, next(b.key for b in at.button if (b.key or "").startswith("desk-save-")))
    saved = (mappings / "网格导出.toml").read_text(encoding="utf-8")
    assert 'channel = "网格员巡访"' in saved and 'appeal_id = "单号"' in saved
    assert load_mapping(mappings / "网格导出.toml").headers == ["单号", "下单时间", "问题分类", "所在街道", "备注"]
    assert any("已保存列映射“网格导出”" in s for s in texts(at.success))
    assert selectbox(at, "已保存的列映射").value == "网格导出"

    # 3. Check: what a load would do; nothing written.
    identity = db.stat().st_mtime_ns
    click(at, "desk_check")
    assert metrics(at) == {"读取行数": "6", "将新增": "2", "将更新": "1", "与库中相同": "0", "较旧未覆盖": "0",
                           "将拒绝": "3"}
    # The extract has no lifecycle columns: the figures built on them will read "—", and the check says so.
    assert ("文件未含可选列 “派单时间”、“首次响应时间”、“办结时间”、“反馈时间”、“结案时间”、“群众评价”：库中已有的记录保留这些列"
            "原来的值，新记录不计入响应率、办结率、按时办结率、3日反馈率、满意率、评价数、满意度得分、综合得分、超期未办结、真解决率、"
            "办结时长中位数、精准派单用时、首接响应用时、督导督办用时、群众评价用时、结案归档"
            "(所选范围内的记录都没有时显示为“—”，不是 0)。") in texts(at.info)
    reasons = frame(at, "拒绝原因")
    assert reasons.values.tolist() == [
        ["“受理时间”无法识别为日期时间：昨天下午", 1, "5"],
        ["文件内编号重复：以最后出现的有效行为准", 1, "3"],
        ["未知街道“不存在街道”(可选：登州街道、紫荆山街道、蓬莱阁街道、新港街道、南王街道)", 1, "4"]]
    assert any("文件内有 1 行编号重复" in w for w in texts(at.warning))
    assert "以下列不会被读取(不在标准字段中，或与已读取的列重复)：备注" in texts(at.caption)
    assert db.stat().st_mtime_ns == identity and content(db) == before

    # 4. Load, after confirming; the result and the new batch in the history at once.
    click(at, "desk_load")
    assert texts(at.success) == ["网格导出.csv：批次 6，读取 6 行，新增 2，更新 1，未变 0，拒绝 3"
                                 "(其中文件内重复编号 1 行：同一编号只导入一行，原因见被拒绝的行)；未读取的列：备注；"
                                 "文件未含可选列 “派单时间”、“首次响应时间”、“办结时间”、“反馈时间”、“结案时间”、“群众评价”：库中已有的记录"
                                 "保留这些列原来的值，新记录不计入响应率、办结率、按时办结率、3日反馈率、满意率、评价数、满意度得分、综合得分、"
                                 "超期未办结、真解决率、办结时长中位数、精准派单用时、首接响应用时、督导督办用时、群众评价用时、结案归档"
                                 "(所选范围内的记录都没有时显示为“—”，不是 0)；文件没有“小区编码”和“小区名称”列：其中的工单"
                                 "按“街道”计，不属于任何小区；库中已有的工单被本文件更新后，也不再属于原来的小区(撤销本批次即恢复)。"]
    assert not at.file_uploader[0].value  # a fresh uploader: the file is not loaded twice by mistake
    history = frame(at, "批次")
    assert len(history) == 6
    newest = history.iloc[0].to_dict()
    assert {k: newest[k] for k in ("批次", "状态", "导入人", "种类", "文件", "读取", "新增", "更新", "未变",
                                   "较旧未覆盖", "拒绝")} == {
        "批次": "6", "状态": "有效", "导入人": ANALYST, "种类": "诉求工单", "文件": "网格导出.csv", "读取": "6",
        "新增": "2", "更新": "1", "未变": "0", "较旧未覆盖": "0", "拒绝": "3"}
    with read_only(db) as con:
        file_hash = con.execute("SELECT file_hash FROM batches WHERE batch_id = 6").fetchall()[0][0]
        assert con.execute("SELECT channel, category FROM appeals WHERE appeal_id = 'N1'").fetchall() == [
            ("网格员巡访", "其他")]
    assert newest["文件指纹"] == file_hash[:12]
    assert selectbox(at, "选择批次").value == 6
    rejected = frame(at, "原文件行号")
    assert rejected["原文件行号"].tolist() == ["3", "4", "5"]
    assert list(rejected.columns)[:4] == ["原文件行号", "拒绝原因", "单号", "下单时间"]
    download = at.get("download_button")[0]
    assert content(db) != before and stats_json(db) != before_stats

    # 5. Undo, confirmed: the database is exactly as before the batch, and so are the numbers.
    click(at, "desk-undo-6")
    assert "数据将变为从未导入过这个批次的样子" in " ".join(texts(at.warning))
    click(at, "desk-undo-cancel")
    assert content(db) != before
    click(at, "desk-undo-6")
    click(at, "desk-undo-confirm")
    assert ("已撤销批次 6(诉求工单)：删除 2 条记录，恢复 1 条记录的其他批次版本。其他批次仍提供的记录保持不变。"
            in texts(at.success))
    assert content(db) == before
    assert stats_json(db) == before_stats
    assert frame(at, "批次").iloc[0]["状态"] == "已撤销"
    assert not any((b.key or "") == "desk-undo-6" for b in at.button)
    assert download is not None


def test_a_saved_mapping_is_offered_again_for_the_same_headers(db, tmp_path, mappings):
    at = open_desk(tmp_path)
    upload(at, ("第一周.csv", OTHER_SYSTEM))
    selectbox(at, "文件种类").set_value("appeals").run()
    for name, header in (("appeal_id", "单号"), ("received_at", "下单时间"), ("category", "问题分类"),
                         ("street", "所在街道")):
        field(at, name).set_value(header)
    field(at, "channel").set_value(desk.FIXED).run()
    at.text_input(key=next(t.key for t in at.text_input if t.key.startswith("desk-save-name-"))).input("网格导出")
    click(at, next(b.key for b in at.button if (b.key or "").startswith("desk-save-")))
    assert (mappings / "网格导出.toml").exists()

    # Next week's file, in another session: same headers (one more column, other order of rows).
    again = open_desk(tmp_path)
    lines = OTHER_SYSTEM.decode("gbk").splitlines()
    next_week = "\n".join([lines[0] + ",处理人", *[line + ",王工" for line in lines[1:]]]).encode("gbk")
    upload(again, ("第二周.csv", next_week))
    assert selectbox(again, "文件种类").value == "appeals"
    assert selectbox(again, "已保存的列映射").value == "网格导出"
    assert field(again, "appeal_id").value == "单号" and field(again, "channel").value == desk.FIXED
    assert field(again, "channel", fixed=True).value == "12345热线"
    click(again, "desk_check")
    assert metrics(again)["读取行数"] == "6" and metrics(again)["将拒绝"] == "3"

    # A file with other headers is not offered it.
    other = open_desk(tmp_path)
    upload(other, ("别的.csv", "编号,时间\n1,2026-03-05\n".encode()))
    selectbox(other, "文件种类").set_value("appeals").run()
    assert selectbox(other, "已保存的列映射").options == ["不使用(按标准表头读取)"]


def test_the_nyc_311_export_loads_through_its_saved_mapping(db, tmp_path):
    before = batch_count(db)
    at = open_desk(tmp_path)
    upload(at, ("nyc311_2011_sample.csv", (FIXTURES / "nyc311_2011_sample.csv").read_bytes()))
    assert selectbox(at, "文件种类").value == "appeals"
    assert selectbox(at, "已保存的列映射").value == "nyc311"
    assert field(at, "received_at").value == "Created Date" and field(at, "street").value == "Borough"
    assert "编码：UTF-8" in " ".join(texts(at.caption)) and "表头下共 999 行" in " ".join(texts(at.caption))
    click(at, "desk_check")
    assert metrics(at) == {"读取行数": "999", "将新增": "984", "将更新": "0", "与库中相同": "0", "较旧未覆盖": "0",
                           "将拒绝": "15"}
    reasons = frame(at, "拒绝原因")
    assert reasons["行数"].tolist() == [15] and reasons["拒绝原因"][0].startswith("未知街道“Unspecified”")
    assert batch_count(db) == before
    click(at, "desk_load")
    (message,) = texts(at.success)
    assert message.startswith(f"nyc311_2011_sample.csv：批次 {before + 1}，读取 999 行，新增 984，更新 0，未变 0，拒绝 15；"
                              "未读取的列：Agency、Agency Name、")
    with read_only(db) as con:
        assert con.execute("SELECT received_at::VARCHAR, street, channel FROM appeals WHERE appeal_id = '19937896'"
                           ).fetchall() == [("2011-03-01 14:27:57", "蓬莱阁街道", "12345热线")]


def test_the_first_load_into_a_new_database(tmp_path, monkeypatch):
    path = tmp_path / "new.duckdb"
    monkeypatch.setenv("DASHBOARD_DB", str(path))
    at = open_desk(tmp_path)
    assert "还没有任何载入记录。" in texts(at.info)
    upload(at, ("小区台账.csv", (FIXTURES / "compounds.csv").read_bytes()))
    click(at, "desk_check")
    assert metrics(at) == {"读取行数": "5", "将新增": "4", "将更新": "0", "与库中相同": "0", "较旧未覆盖": "0",
                           "将拒绝": "1"}
    assert not path.exists()
    click(at, "desk_load")
    assert texts(at.success) == ["小区台账.csv：批次 1，读取 5 行，新增 4，更新 0，未变 0，拒绝 1。"]
    assert frame(at, "批次")["文件"].tolist() == ["小区台账.csv"]


# ---------------------------------------------------------------- bad files

def test_bad_files_are_refused_in_chinese_and_nothing_is_written(db, tmp_path, monkeypatch):
    monkeypatch.setenv("DASHBOARD_MAX_FILE_MB", "1")
    before, identity, batches = content(db), db.stat().st_mtime_ns, batch_count(db)
    at = open_desk(tmp_path)
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200)
    big = "工单编号,来源渠道,诉求类别,受理时间,街道\n".encode() + b"X1,a,b,2026-03-05,c\n" * 80_000
    upload(at, ("空文件.csv", b""), ("只有表头.csv", "工单编号,来源渠道,诉求类别,受理时间,街道\n".encode()),
           ("图片.csv", png), ("旧版.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600)),
           ("坏表格.xlsx", b"PK\x03\x04" + bytes(100)), ("太大.csv", big),
           ("台账当工单.csv", (FIXTURES / "compounds.csv").read_bytes()))
    errors = texts(at.error)
    assert "这个文件无法导入，不会写入任何数据。原因：文件为空。" in errors
    assert "这个文件无法导入，不会写入任何数据。原因：文件过大(2 MB)，上限为 1 MB。" in errors
    assert any("文件不是文本格式的 CSV(含有二进制内容)" in e for e in errors)
    assert any("这是旧版 Excel(.xls)文件，请在 Excel 中另存为 .xlsx 或 CSV 后再导入。" in e for e in errors)
    assert any("无法读取 Excel 文件(可能已损坏)" in e for e in errors)
    # The compounds registry, read as appeals on purpose.
    kinds = [s for s in at.selectbox if s.label == "文件种类"]
    assert [k.value for k in kinds] == ["appeals", "compounds"]
    kinds[1].set_value("appeals").run()
    ok(at)
    click(at, "desk_check")
    assert "表头下面没有数据行：这个文件预检时会被拒绝。" in texts(at.warning)
    errors = texts(at.error)
    assert "只有表头.csv：整个文件被拒绝，不会写入任何数据。原因：文件只有表头，没有数据行。" in errors
    assert any(e.startswith("台账当工单.csv：整个文件被拒绝") and "缺少必需列" in e
               and "这个文件看起来是“小区台账”(compounds)" in e for e in errors)
    assert not any(b.key == "desk_load" for b in at.button)  # nothing left to load
    assert content(db) == before and db.stat().st_mtime_ns == identity and batch_count(db) == batches


def test_a_bad_size_setting_is_a_chinese_sentence_on_the_desk(db, tmp_path, monkeypatch):
    at = open_desk(tmp_path)
    monkeypatch.setenv("DASHBOARD_MAX_FILE_MB", "abc")
    at.run()
    assert not at.exception
    assert texts(at.error) == ["设置错误：环境变量 DASHBOARD_MAX_FILE_MB 应为正整数(单位 MB)，现在是 'abc'。"]


def test_one_column_for_two_fields_is_stopped_before_the_check(db, tmp_path):
    at = open_desk(tmp_path)
    upload(at, ("网格导出.csv", OTHER_SYSTEM))
    selectbox(at, "文件种类").set_value("appeals").run()
    field(at, "appeal_id").set_value("单号")
    field(at, "category").set_value("单号").run()
    ok(at)
    assert "文件列“单号”同时对应了多个字段(appeal_id、category)，每列只能对应一个字段。" in texts(at.error)
    assert at.button(key="desk_check").disabled is True
    assert next(b for b in at.button if (b.key or "").startswith("desk-save-")).disabled is True


def test_duplicate_ids_inside_a_file_are_reported(db, tmp_path):
    at = open_desk(tmp_path)
    twice = ("工单编号,来源渠道,诉求类别,受理时间,街道\n"
             "D1,城市通,其他,2026-03-05 10:00,登州街道\n"
             "D1,城市通,噪音扰民,2026-03-05 11:00,登州街道\n"
             "D2,城市通,其他,2026-03-05 12:00,登州街道\n").encode("utf-8-sig")
    upload(at, ("重复.csv", twice))
    assert selectbox(at, "文件种类").value == "appeals" and selectbox(at, "已保存的列映射").value == ""
    click(at, "desk_check")
    assert metrics(at) == {"读取行数": "3", "将新增": "2", "将更新": "0", "与库中相同": "0", "较旧未覆盖": "0",
                           "将拒绝": "1"}
    assert ("文件内有 1 行编号重复：同一编号只导入一行(最后出现的有效行；各行都有“更新时间”时取最晚的一行)，其余的行被拒绝。"
            in texts(at.warning))
    assert frame(at, "拒绝原因").values.tolist() == [["文件内编号重复：以最后出现的有效行为准", 1, "2"]]
    click(at, "desk_load")
    assert "(其中文件内重复编号 1 行：同一编号只导入一行，原因见被拒绝的行)" in texts(at.success)[0]
    with read_only(db) as con:
        assert con.execute("SELECT category FROM appeals WHERE appeal_id = 'D1'").fetchall() == [("噪音扰民",)]


def test_a_checked_file_must_be_checked_again_when_its_settings_change(db, tmp_path):
    at = open_desk(tmp_path)
    upload(at, ("工单.csv", (FIXTURES / "appeals_gbk.csv").read_bytes()))
    click(at, "desk_check")
    assert metrics(at)["与库中相同"] == "8" and any(b.key == "desk_load" for b in at.button)
    at.checkbox(key="desk_correction").check().run()
    ok(at)
    assert not any(b.key == "desk_load" for b in at.button)
    assert any("需要重新预检：工单.csv" in w for w in texts(at.warning))


def test_the_confirm_button_loads_what_was_checked_and_says_when_the_database_changed(db, tmp_path, monkeypatch):
    from etl import read

    at = open_desk(tmp_path)
    decoded = []
    original = read.decode
    monkeypatch.setattr(read, "decode", lambda *a, **k: decoded.append(1) or original(*a, **k))
    monkeypatch.setattr(desk, "decode", read.decode)
    upload(at, ("工单.csv", (FIXTURES / "appeals_gbk.csv").read_bytes()))
    click(at, "desk_check")
    assert metrics(at)["与库中相同"] == "8" and decoded == [1]
    # Someone loads from the CLI meanwhile: the check stays, and the page says the load will recount.
    load_files(db, "compounds", [FIXTURES / "compounds.csv"])
    decoded.clear()
    at.run()
    ok(at)
    assert any(b.key == "desk_load" for b in at.button)
    assert any(i.startswith("预检之后数据库有更新(其间有其他导入完成)") for i in texts(at.info))
    click(at, "desk_load")
    (done,) = texts(at.success)
    assert done.endswith("。预检之后数据库有更新(其间有其他导入完成)，已按导入时的数据核对，结果与预检相同。")
    assert "未变 8" in done
    assert decoded == []  # uploaded, previewed, mapped and checked above, loaded here: decoded once


def test_the_analyst_who_loads_sees_the_load_at_once_other_sessions_once_it_is_computed(db, tmp_path, held_warm_up):
    """After a publish, pages go on reading the previous file until the new one's numbers are
    computed in the background (dashboard/data.py); the session that loaded reads the new file."""
    from dashboard import data

    w10 = {"period": "自定义", "from": "2026-03-02", "to": "2026-03-08"}

    def received(at: AppTest) -> str:
        ok(at)
        return {m.label: m.value for m in at.metric}["受理量"]

    other = open_desk(tmp_path)
    other.switch_page("pages/overview.py")
    other.query_params.update(w10)
    before = int(received(other.run()))
    at = open_desk(tmp_path)
    upload(at, ("新工单.csv", "工单编号,来源渠道,诉求类别,受理时间,街道\n"
                            "W1,12345热线,环境卫生,2026-03-04 10:00,登州街道\n".encode()))
    click(at, "desk_check")
    click(at, "desk_load")
    at.switch_page("pages/overview.py")
    at.query_params.update(w10)
    assert int(received(at.run())) == before + 1
    assert not any("刚有新数据导入" in i for i in texts(at.info))
    assert int(received(other.run())) == before
    assert any("刚有新数据导入" in i for i in texts(other.info))
    held_warm_up.set()
    data.warming.join(timeout=60)
    assert int(received(other.run())) == before + 1


# ---------------------------------------------------------------- history, rejects, re-check, undo refused

def test_the_history_shows_cli_batches_their_rejects_and_downloads(db, tmp_path, monkeypatch):
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    served = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        served[filename] = (path_or_data, mimetype)
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    at = open_desk(tmp_path)
    history = frame(at, "批次")
    assert history["文件"].tolist() == ["scenes.xlsx", "surveys_bom.csv", "complaints_gbk.csv", "appeals_gbk.csv",
                                      "compounds.csv"]
    assert history["拒绝"].tolist() == ["1", "2", "2", "5", "1"]
    selectbox(at, "选择批次").set_value(2).run()
    ok(at)
    rows = frame(at, "原文件行号")
    assert rows["原文件行号"].tolist() == ["7", "11", "12", "13", "14"]
    assert not any("张三" in str(v) or "13812345678" in str(v) for v in rows.values.ravel())
    (download,) = at.get("download_button")
    with read_only(db) as con:
        expected = rejects_csv(con, 2)
    assert download.proto.label == "下载被拒绝的行(CSV)"
    # The file the button serves: the CLI's rejects CSV (UTF-8 with BOM, formula-safe), named for Excel.
    assert served["批次2_appeals_gbk_被拒绝的行.csv"] == (expected, "text/csv")
    assert expected.startswith("\ufeff".encode())
    assert list(csv.reader(io.StringIO(expected.decode("utf-8-sig"))))[0][:2] == ["原文件行号", "拒绝原因"]

    # A load from the CLI shows on the next run (no stale cache).
    load_files(db, "compounds", [FIXTURES / "compounds.csv"], loaded_by="cli-user")
    at.run()
    ok(at)
    newest = frame(at, "批次").iloc[0]
    assert (newest["批次"], newest["导入人"], newest["未变"]) == ("6", "cli-user", "4")


def test_the_history_reads_a_database_from_before_versions(db, tmp_path):
    as_before_versions(db)
    at = open_desk(tmp_path)
    history = frame(at, "批次")
    assert history["批次"].tolist() == ["5", "4", "3", "2", "1"]
    assert history["较旧未覆盖"].tolist() == ["0", "0", "0", "0", "0"]
    selectbox(at, "选择批次").set_value(2).run()
    ok(at)
    assert frame(at, "原文件行号")["原文件行号"].tolist() == ["7", "11", "12", "13", "14"]


def test_recheck_loads_rejected_rows_once_the_registry_knows_their_compound(db, tmp_path):
    load_files(db, "compounds", [FIXTURES / "compounds.csv"])  # nothing new: batch 6
    c9 = tmp_path / "c9.csv"
    c9.write_text("小区编码,小区名称,街道,社区,小区类型\nC9,新小区,登州街道,东城社区,学区房\n", encoding="utf-8")
    load_files(db, "compounds", [c9])  # batch 7
    at = open_desk(tmp_path)
    selectbox(at, "选择批次").set_value(2).run()
    click(at, "desk-recheck-2")
    (message,) = texts(at.success)
    assert message.startswith("重新校验批次 2 被拒绝的行，结果作为新批次导入：appeals_gbk.csv(重新校验批次 2)：批次 8，"
                              "读取 4 行，新增 1，更新 0，未变 0，拒绝 3")
    assert selectbox(at, "选择批次").value == 8
    assert frame(at, "批次").iloc[0]["导入人"] == ANALYST


def test_recheck_of_a_batch_undone_meanwhile_is_refused(db, tmp_path):
    at = open_desk(tmp_path)
    selectbox(at, "选择批次").set_value(2).run()
    undo(db, 2)  # by another analyst, while this page still offers the re-check
    before = batch_count(db)
    click(at, "desk-recheck-2")
    assert texts(at.error) == ["重新校验失败，数据未改变。原因：批次 2 已撤销，它被拒绝的行不再重新校验"
                               "(需要这些数据时，请重新导入文件)。"]
    assert batch_count(db) == before


def test_undoing_the_registry_is_not_refused_and_says_what_moved(db, tmp_path):
    with read_only(db) as con:
        naming = sum(con.execute(f"SELECT count(compound_id) FROM {t}").fetchall()[0][0]
                     for t in ("appeals", "complaints", "surveys", "scenes"))
    assert naming == 6 + 6 + 6 + 5  # the fixture's appeals, complaints, surveys, scenes that name a compound
    at = open_desk(tmp_path)
    selectbox(at, "选择批次").set_value(1).run()
    click(at, "desk-undo-1")
    assert "引用这些小区的诉求、投诉等随小区台账调整" in " ".join(texts(at.warning))
    click(at, "desk-undo-confirm")
    assert texts(at.success) == ["已撤销批次 1(小区台账)：删除 4 条记录，恢复 0 条记录的其他批次版本；另有 23 行诉求、"
                                 "投诉等随小区台账调整(所属街道、社区、物业或是否有效)。其他批次仍提供的记录保持不变。"]
    with read_only(db) as con:
        assert con.execute("SELECT appeal_id FROM appeals ORDER BY 1").fetchall() == [("A4",), ("A7",)]
    assert frame(at, "批次").iloc[-1]["状态"] == "已撤销"


def test_stale_rows_show_and_download_and_a_correction_is_a_choice(db, tmp_path):
    # A1 as it stood before it was resolved (办结时间 still empty): older than the stored record.
    older = ("工单编号,来源渠道,诉求类别,受理时间,街道,小区编码,首次响应时间,办结时间\n"
             "A1,12345热线,环境卫生,2026-03-02 09:00:00,蓬莱阁街道,C2,2026-03-02 10:00,\n").encode()
    (tmp_path / "older.csv").write_bytes(older)
    load_files(db, "appeals", [tmp_path / "older.csv"])
    at = open_desk(tmp_path)
    newest = frame(at, "批次").iloc[0]
    assert (newest["批次"], newest["较旧未覆盖"], newest["更新"]) == ("6", "1", "0")
    stale = frame(at, "原文件行号")
    assert stale.values.tolist()[0][:3] == ["2", "较旧版本，未覆盖：库中记录已有“办结时间”，本行没有", "A1"]
    assert "下载较旧未覆盖的行(CSV)" in [b.proto.label for b in at.get("download_button")]

    upload(at, ("older.csv", older))
    at.checkbox(key="desk_correction").check().run()
    click(at, "desk_check")
    assert (metrics(at)["将更新"], metrics(at)["较旧未覆盖"]) == ("1", "0")
    click(at, "desk_load")
    assert texts(at.success)[0].startswith("older.csv：更正批次 7，读取 1 行，新增 0，更新 1")
    assert frame(at, "批次").iloc[0]["状态"] == "有效(更正)"
    upload(at, ("older.csv", older))  # the next file is not a correction unless chosen again (the
    # uploader is fresh after a load, so the checkbox was not drawn and Streamlit forgot it)
    assert at.checkbox(key="desk_correction").value is False
    with read_only(db) as con:
        assert con.execute("SELECT resolved_at FROM appeals WHERE appeal_id = 'A1'").fetchall() == [(None,)]


# ---------------------------------------------------------------- the page's pure helpers

def test_inspect_upload_reads_name_and_bytes():
    gbk = desk.inspect_upload("工单.csv", (FIXTURES / "appeals_gbk.csv").read_bytes())
    assert (gbk.refused, gbk.guessed_kind, gbk.preview.encoding, gbk.preview.data_rows) == (
        None, "appeals", "gb18030", 13)
    xlsx = desk.inspect_upload("活动.xlsx", (FIXTURES / "scenes.xlsx").read_bytes())
    assert (xlsx.guessed_kind, xlsx.preview.encoding, xlsx.headers[:2]) == ("scenes", "xlsx", ["活动编号", "活动日期"])
    assert desk.inspect_upload("空.csv", b"").refused == "文件为空。"
    titled = desk.inspect_upload("带标题.csv", "2026年3月工单导出,,\n编号,时间,类别\n1,2026-03-05,其他\n".encode())
    assert (titled.preview.header_row, titled.headers, titled.preview.data_rows) == (2, ["编号", "时间", "类别"], 1)


def test_the_preview_shows_personal_data_as_it_will_be_stored():
    data = (FIXTURES / "appeals_gbk.csv").read_bytes()
    shown = desk.preview_table(desk.resolve(desk.inspect_upload("工单.csv", data), "appeals", None))
    cells = " ".join(str(v) for v in shown.to_pandas().values.ravel())
    assert "张三" not in cells and "13812345678" not in cells
    assert "[姓名已隐去]" in cells and "[电话已隐去]" in cells


def test_build_mapping_only_when_the_file_needs_one():
    data = (FIXTURES / "appeals_gbk.csv").read_bytes()
    auto = desk.resolve(desk.inspect_upload("工单.csv", data), "appeals", None)
    choices = desk.editor_defaults(auto)
    assert desk.build_mapping("appeals", auto.headers, choices, {}, auto=auto.columns) is None
    moved = {**choices, "channel": desk.FIXED}
    mapping = desk.build_mapping("appeals", auto.headers, moved, {"channel": "城市通"}, auto=auto.columns)
    assert mapping.fixed == {"channel": "城市通"} and "channel" not in mapping.columns
    assert desk.mapping_problems({"appeal_id": "单号", "category": "单号"}, {}) == [
        "文件列“单号”同时对应了多个字段(appeal_id、category)，每列只能对应一个字段。"]
    assert desk.mapping_problems({"channel": desk.FIXED}, {"channel": " "}) == ["字段 channel 选了固定值，但没有填写值。"]


def test_preview_matches_columns_as_read_does():
    nyc = decode(FIXTURES / "nyc311_2011_sample.csv")
    plain = preview(nyc, "appeals")
    assert plain.columns == {"status": "Status"} and "“工单编号”(appeal_id)" in plain.missing
    mapped = preview(nyc, "appeals", mapping=load_mapping(ROOT / "data/mappings/nyc311.toml"))
    assert mapped.missing == [] and mapped.columns["received_at"] == "Created Date"


def test_a_rollup_older_code_kept_is_rebuilt_from_the_desk(db, tmp_path, monkeypatch):
    notice = "日汇总表需要重算"
    kept = rollup_contents(db)
    assert kept["appeals_daily"] and kept["appeals_days"]
    older = tmp_path / "older.duckdb"
    shutil.copyfile(db, older)
    as_rollup_of_older_code(older)
    assert not any(notice in w for w in texts(open_desk(tmp_path).warning))  # a current rollup: nothing to do
    monkeypatch.setenv("DASHBOARD_DB", str(older))
    at = open_desk(tmp_path)
    assert any(notice in w for w in texts(at.warning))
    click(at, "desk_rollup")
    assert any(s.startswith("已重算日汇总表：") for s in texts(at.success)), texts(at.success)
    assert not any(notice in w for w in texts(at.warning))
    assert rollup_contents(older) == kept
