"""End to end: the data desk (数据管理) in headless Chromium against `python -m dashboard.serve` (streamlit run app.py).

An analyst account is made with the CLI (`python -m etl user add desk --role analyst
--password-stdin`, accounts in a temporary DASHBOARD_ACCOUNTS file given to the server too); the
test signs in when the app shows its sign-in form (账号 / 密码 / 登录). On a database holding only
the compound registry, it uploads a GBK CSV (the appeals fixture) and an .xlsx (the scenes
fixture) through the page's real file input, checks them, loads them, finds both batches in
载入记录 and in `python -m etl history --json`, and undoes one. Every step fails on a Streamlit
exception box or a browser console error; full-page screenshots go to test-artifacts/e2e/desk_*.png.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from etl.load import load_files
from tests.e2e.serving import serve

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
ANALYST, PASSWORD = "desk", "desk analyst e2e password"
GBK_CSV, XLSX = FIXTURES / "appeals_gbk.csv", FIXTURES / "scenes.xlsx"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A database with the compound registry only, and an analyst account (made by the CLI)."""
    folder = tmp_path_factory.mktemp("desk-e2e")
    db = folder / "desk.duckdb"
    (report,) = load_files(db, "compounds", [FIXTURES / "compounds.csv"])
    assert report.refused is None
    accounts = folder / "accounts.toml"
    env = {**os.environ, "DASHBOARD_DB": str(db), "DASHBOARD_ACCOUNTS": str(accounts)}
    made = subprocess.run([sys.executable, "-m", "etl", "user", "add", ANALYST, "--role", "analyst",
                           "--password-stdin", "--db", str(db)],
                          input=PASSWORD + "\n", capture_output=True, text=True, cwd=ROOT, env=env)
    assert made.returncode == 0, made.stderr
    return {"db": db, "env": env, "folder": folder}


@pytest.fixture(scope="module")
def server(setup):
    with serve(setup["env"], setup["folder"] / "streamlit.log") as base:
        yield base


class Console:
    """Console errors and failed requests: none is expected on this page (it draws no map)."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(f"{m.text} ({m.location.get('url')})"))
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("requestfailed", lambda request: self.errors.append(f"request failed: {request.url}"))


def settle(page, pause: float = 1.5) -> None:
    time.sleep(0.4)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=120_000)
    time.sleep(pause)


def no_exception(page, console: Console, where: str) -> None:
    boxes = page.locator('[data-testid="stException"]')
    assert boxes.count() == 0, f"Streamlit exception on {where}: {boxes.first.inner_text()}"
    assert not console.errors, f"console errors on {where}: {console.errors}"


def screenshot(page, name: str) -> Path:
    """The whole page (Streamlit scrolls inside its main block: grow the window to it first)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1440, "height": max(900, int(height) + 40)})
    time.sleep(1.5)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1440, "height": 1000})
    time.sleep(0.5)
    return path


def metric_rows(page) -> list[dict[str, str]]:
    """The check's cards, six per file, in page order."""
    values = [(c.locator('[data-testid="stMetricLabel"]').inner_text().strip(),
               c.locator('[data-testid="stMetricValue"]').inner_text().strip())
              for c in page.locator('[data-testid="stMetric"]').all()]
    return [dict(values[i:i + 6]) for i in range(0, len(values), 6)]


def history(db: Path) -> list[dict]:
    out = subprocess.run([sys.executable, "-m", "etl", "history", "--json", "--db", str(db)],
                         check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return [json.loads(line) for line in out.splitlines()]


def open_desk(browser, server: str, sign_in_shot: str | None = None):
    """A new page signed in as the analyst (when the app asks) and on the data desk."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    console = Console(page)
    page.goto(server + "/")
    settle(page, 2)
    if page.get_by_role("textbox", name="账号").count():
        if sign_in_shot:
            screenshot(page, sign_in_shot)
        page.get_by_role("textbox", name="账号").fill(ANALYST)
        page.get_by_role("textbox", name="密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        settle(page, 2)
    nav = page.locator('[data-testid="stSidebarNav"] a', has_text="数据管理")
    if nav.count():
        nav.first.click()
        settle(page, 2)
    return page, console


def test_upload_check_load_and_undo_in_a_browser(browser, server, setup):
    db = setup["db"]
    page, console = open_desk(browser, server, sign_in_shot="desk_0_sign_in")
    no_exception(page, console, "数据管理")
    assert page.locator("h1").first.inner_text().strip() == "数据管理"
    screenshot(page, "desk_1_empty")

    # 1. Upload a GBK CSV and an .xlsx through the real file input.
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files([str(GBK_CSV), str(XLSX)])
    page.get_by_text("2. scenes.xlsx").wait_for(timeout=60_000)
    settle(page, 2)
    no_exception(page, console, "上传后")
    kinds = page.get_by_role("combobox", name="文件种类")
    assert [kinds.nth(i).input_value() for i in range(kinds.count())] == ["诉求工单(appeals)", "服务场景活动(scenes)"]
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "编码：GBK/GB18030 · 表头在第 1 行 · 表头下共 13 行" in body
    assert "编码：Excel 工作簿(.xlsx) · 表头在第 1 行 · 表头下共 6 行" in body
    assert "张三" not in body  # personal data is shown as it will be stored
    screenshot(page, "desk_2_uploaded")

    # 2. Check: nothing written yet.
    before = history(db)
    page.get_by_role("button", name="预检").click()
    page.get_by_text("预检结果").first.wait_for(timeout=60_000)
    settle(page, 2)
    no_exception(page, console, "预检")
    assert metric_rows(page) == [
        {"读取行数": "13", "将新增": "8", "将更新": "0", "与库中相同": "0", "较旧未覆盖": "0", "将拒绝": "5"},
        {"读取行数": "6", "将新增": "5", "将更新": "0", "与库中相同": "0", "较旧未覆盖": "0", "将拒绝": "1"}]
    assert "文件内有 1 行编号重复" in page.locator('[data-testid="stMain"]').inner_text()
    assert history(db) == before
    screenshot(page, "desk_3_checked")

    # 3. Load, confirmed: progress, then the summaries; both batches in 载入记录 and in the CLI.
    page.get_by_role("button", name="确认导入 2 个文件").click()
    page.get_by_text("appeals_gbk.csv：批次 2").wait_for(timeout=120_000)
    settle(page, 2)
    no_exception(page, console, "导入后")
    body = page.locator('[data-testid="stMain"]').inner_text()
    assert "appeals_gbk.csv：批次 2，读取 13 行，新增 8，更新 0，未变 0，拒绝 5" in body
    assert "scenes.xlsx：批次 3，读取 6 行，新增 5，更新 0，未变 0，拒绝 1" in body
    assert page.get_by_role("combobox", name="选择批次").input_value().startswith("批次 3 · 服务场景活动 · scenes.xlsx")
    loaded = history(db)
    assert [(b["batch_id"], b["file"], b["inserted"], b["rejected"], b["undone"]) for b in loaded[:2]] == [
        (3, "scenes.xlsx", 5, 1, False), (2, "appeals_gbk.csv", 8, 5, False)]
    screenshot(page, "desk_4_loaded")

    # 4. The appeals batch: its rejected rows, then undo with confirmation.
    page.get_by_role("combobox", name="选择批次").click()
    page.get_by_role("option", name="批次 2").first.click()
    settle(page, 2)
    assert "被拒绝的行：5 行" in page.locator('[data-testid="stMain"]').inner_text()
    assert page.get_by_role("button", name="下载被拒绝的行(CSV)").count() == 1
    screenshot(page, "desk_5_batch")
    page.get_by_role("button", name="撤销此批次").click()
    settle(page, 1.5)
    screenshot(page, "desk_6_undo_confirm")
    page.get_by_role("button", name="确认撤销").click()
    page.get_by_text("已撤销批次 2").wait_for(timeout=60_000)
    settle(page, 2)
    no_exception(page, console, "撤销后")
    assert ("已撤销批次 2(诉求工单)：删除 8 条记录，恢复 0 条记录的其他批次版本。"
            in page.locator('[data-testid="stMain"]').inner_text())
    assert next(b for b in history(db) if b["batch_id"] == 2)["undone"] is True
    screenshot(page, "desk_7_undone")
    page.close()


def test_a_file_with_other_headers_is_mapped_with_dropdowns(browser, server, setup, tmp_path):
    """Headers no kind knows (GBK): choose the kind, map each required field, fix the channel."""
    extract = tmp_path / "网格员导出.csv"
    extract.write_bytes(("单号,下单时间,问题分类,所在街道,备注\n"
                         "M1,2026/3/5 9:00,其他,登州街道,x\n"
                         "M2,2026年3月6日 10时30分,噪音扰民,紫荆山街道,y\n"
                         "M3,2026-03-07 08:00,环境卫生,不存在街道,z\n").encode("gbk"))
    page, console = open_desk(browser, server)

    def choose(label: str, option: str) -> None:
        page.get_by_role("combobox", name=label, exact=True).click()
        time.sleep(0.4)
        page.get_by_role("option", name=option, exact=True).click()
        settle(page, 1)

    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files([str(extract)])
    page.get_by_text("无法从表头判断这是哪类文件").wait_for(timeout=60_000)
    settle(page, 1)
    choose("文件种类", "诉求工单(appeals)")
    assert "缺少必需列" in page.locator('[data-testid="stMain"]').inner_text()
    choose("工单编号(appeal_id) *", "单号")
    choose("受理时间(received_at) *", "下单时间")
    choose("诉求类别(category) *", "问题分类")
    choose("街道(street)", "所在街道")
    choose("来源渠道(channel) *", "（固定值）")
    choose("来源渠道 固定值", "网格员巡访")
    no_exception(page, console, "列映射")
    assert "缺少必需列" not in page.locator('[data-testid="stMain"]').inner_text()
    screenshot(page, "desk_8_mapping")
    page.get_by_role("button", name="预检").click()
    page.get_by_text("预检结果").first.wait_for(timeout=60_000)
    settle(page, 2)
    no_exception(page, console, "列映射后预检")
    assert metric_rows(page) == [{"读取行数": "3", "将新增": "2", "将更新": "0", "与库中相同": "0", "较旧未覆盖": "0",
                                  "将拒绝": "1"}]
    screenshot(page, "desk_9_mapping_checked")
    page.get_by_role("button", name="确认导入 1 个文件").click()
    page.get_by_text("网格员导出.csv：批次").wait_for(timeout=120_000)
    settle(page, 1)
    no_exception(page, console, "列映射后导入")
    newest = history(setup["db"])[0]
    assert (newest["file"], newest["inserted"], newest["rejected"]) == ("网格员导出.csv", 2, 1)
    page.close()
