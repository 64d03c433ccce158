"""End to end: `python -m dashboard.serve` (streamlit run app.py) on a loopback port against a
freshly built demo database, driven in headless Chromium (Debian's /usr/bin/chromium through Playwright's Python API).

The walk: sign in (as a district leader), open the overview, check its cards against
`python -m etl stats --json` for the same week, narrow to a street by clicking its bar in the 红黑榜, visit every page through the sidebar
(the street filter must stay), open a compound profile by clicking a row of the compound list,
and reopen a shared link. Every step fails on a Streamlit exception box, a browser console
error, a failed request or any request to a host other than the dashboard's own (the map draws
without a map service), and on English a user can see (`english()`: the visible text of every
page, Streamlit's own words included, may hold no Latin word but a few allowed ones).
Full-page screenshots go to test-artifacts/e2e/, at 1440 px and at phone width (390 px); with
UPDATE_DOCS_SCREENSHOT=1 the overview, the map and a street leader's overview are also copied to
docs/.

A second walk signs in as a street leader: his street is fixed in the sidebar, the numbers are
his street's (`etl stats --street`), his street's rank among all streets and his communities are
shown, no chart or hint offers a click on a street, a link naming another street or the data
desk changes nothing. A reload keeps him signed in; signing out returns to the form, and the
cookie he had, replayed in another browser, signs nobody in; a new password set from the CLI ends
his open session. A third opens the admin's 账号与审计 page. The accounts live in a temporary file
(DASHBOARD_ACCOUNTS) made before the server starts.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from settings import local_now
from tests.e2e.serving import serve

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
# Latin words a user may read: file formats, units and the like (and the test's account names).
ALLOWED_LATIN = {"CSV", "XLSX", "XLS", "PDF", "ID", "KB", "MB", "GB", "UTF", "GBK", "Excel", "SHA"}
PROBE = re.compile(r"^/[^/]+/_stcore/(host-config|health)$")
PAGES = [("总览", "overview"), ("诉求办理", "appeals"), ("预警", "alerts"), ("物业治理", "property"),
         ("小区画像", "compounds"), ("满意度", "satisfaction"), ("服务场景", "scenes"), ("周报", "weekly_report")]
TITLES = {"overview": "总览", "appeals": "诉求办理", "alerts": "预警", "property": "物业治理",
          "compounds": "小区画像", "satisfaction": "满意度测评", "scenes": "服务场景", "weekly_report": "周报"}


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    from demo.build import build_demo

    path = tmp_path_factory.mktemp("e2e") / "demo.duckdb"
    reports = build_demo(path)
    assert not any(r.refused for r in reports)
    return path


PASSWORD = "an e2e test password"
STREET = "登州街道"
ACCOUNTS = {"quzhang": ("district", None), "dengzhou": ("street", STREET), "guanliyuan": ("admin", None)}


@pytest.fixture(scope="module")
def accounts(tmp_path_factory) -> Path:
    from access.accounts import add_user

    path = tmp_path_factory.mktemp("accounts") / "accounts.toml"
    for name, (role, street) in ACCOUNTS.items():
        add_user(name, role, PASSWORD, street=street, path=path)
    return path


@pytest.fixture(scope="module")
def server(demo_db, accounts, tmp_path_factory):
    env = {**os.environ, "DASHBOARD_DB": str(demo_db), "DASHBOARD_ACCOUNTS": str(accounts)}
    with serve(env, tmp_path_factory.mktemp("server") / "streamlit.log") as base:
        yield base


class Console:
    """Collects console errors, failed requests and requests to any other host than the
    dashboard's: an intranet reaches no public server (no basemap, no font, no icon)."""

    def __init__(self, page):
        self.errors: list[str] = []
        self.failed: list[str] = []
        self.elsewhere: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on("requestfailed", self._failed)
        page.on("request", self._request)

    def _failed(self, request) -> None:
        # A map's worker script (blob:) cancelled because the page moved on is no failure.
        if not (request.url.startswith("blob:") and "ERR_ABORTED" in (request.failure or "")):
            self.failed.append(request.url)

    def _request(self, request) -> None:
        if request.url.startswith(("http:", "https:", "ws:", "wss:")) and \
                urllib.parse.urlparse(request.url).hostname != "127.0.0.1":
            self.elsewhere.append(request.url)

    def _console(self, message) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "")
        # Opened at a page's own URL (/data_desk), the frontend first looks for the server one
        # level down (/data_desk/_stcore/...), gets 404 and falls back to the root: not an error.
        if "404" in message.text and PROBE.search(urllib.parse.urlparse(url).path):
            return
        self.errors.append(f"{message.text} ({url})")

    def check(self, where: str) -> None:
        assert not self.errors, f"console errors on {where}: {self.errors}"
        assert not self.failed, f"failed requests on {where}: {self.failed}"
        assert not self.elsewhere, f"requests to other hosts on {where}: {self.elsewhere}"


def settle(page, pause: float = 1.5) -> None:
    """Wait until the script run is over, its elements are drawn (Streamlit shows placeholders
    for a moment after a run: longer on a busy machine) and the charts had time to draw."""
    time.sleep(0.4)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=90_000)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=60_000)
    time.sleep(pause)


VISIBLE_TEXT = """() => {
  const parts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, element = node.parentElement;
    if (!element || !node.textContent.trim()) continue;
    if (element.closest('script, style, noscript')) continue;
    // an icon's ligature name (":material/logout:" draws a picture from the word "logout")
    if (getComputedStyle(element).fontFamily.includes('Material Symbols')) continue;
    const box = element.getBoundingClientRect();
    if (box.width <= 1 || box.height <= 1) continue;
    if (!element.checkVisibility({opacityProperty: true, visibilityProperty: true})) continue;
    parts.push(node.textContent);
  }
  return parts.join(' ');
}"""


def english(page, allowed=frozenset()) -> list[str]:
    """The Latin words a user can read on the page, but the allowed ones (codes such as a
    compound's PL-NW-012 or a week's 2026-W48 are data, not words)."""
    tokens = re.findall(r"[A-Za-z0-9_.\-]+", page.evaluate(VISIBLE_TEXT))
    words = {t for t in tokens if re.fullmatch(r"[A-Za-z]{2,}", t)}
    return sorted(words - ALLOWED_LATIN - set(allowed))


def no_exception(page, console: Console, where: str) -> None:
    boxes = page.locator('[data-testid="stException"]')
    assert boxes.count() == 0, f"Streamlit exception on {where}: {boxes.first.inner_text()}"
    console.check(where)
    found = english(page, set(ACCOUNTS))
    assert not found, f"English on {where}: {found}"


def screenshot(page, name: str, width: int = 1440) -> Path:
    """The whole page: Streamlit scrolls inside its main block, so grow the window to it first."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if width != 1440:
        page.set_viewport_size({"width": width, "height": 900})
        settle(page, 2)
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": width, "height": max(900, int(height) + 40)})
    time.sleep(1.5)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1440, "height": 1000})
    time.sleep(0.5)
    return path


def docs_copy(shot: Path, name: str) -> None:
    if os.environ.get("UPDATE_DOCS_SCREENSHOT") == "1":
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copyfile(shot, ROOT / "docs" / name)


def metric_cards(page) -> dict[str, str]:
    cards = {}
    for card in page.locator('[data-testid="stMetric"]').all():
        label = card.locator('[data-testid="stMetricLabel"]').inner_text().strip()
        cards[label] = card.locator('[data-testid="stMetricValue"]').inner_text().strip()
    return cards


def sign_in(page, name: str, shot: str | None = None) -> None:
    """Fill in the form the app shows a visitor (fields found by their labels, as a reader finds them)."""
    page.get_by_label("账号", exact=True).wait_for(timeout=60_000)
    settle(page, 1)
    if shot:
        screenshot(page, shot)
    page.get_by_label("账号", exact=True).fill(name)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.locator("h1", has_text="蓬莱网格治理驾驶舱").wait_for(state="detached", timeout=60_000)
    settle(page, 3)


def go_to(page, label: str) -> None:
    page.locator('[data-testid="stSidebarNav"] a', has_text=label).first.click()
    settle(page, 2.5)


def page_title(page) -> str:
    return page.locator("h1").first.inner_text().strip()


def last_week() -> str:
    """The ISO week the pages show by default (上周), by the product's Beijing clock, not the
    machine's: a server on UTC reads Sunday until 16:00 UTC, when it is already Monday in Beijing."""
    today = local_now().date()
    week = (today - timedelta(days=today.isoweekday())).isocalendar()
    return f"{week.year}-W{week.week:02d}"


def stats_of_last_week(db: Path, street: str | None = None) -> dict:
    command = [sys.executable, "-m", "etl", "stats", "--json", "--db", str(db), "--week", last_week()]
    if street:
        command += ["--street", street]
    return json.loads(subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout)


def percent(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def test_the_dashboard_in_a_browser(browser, server, demo_db):
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    console = Console(page)

    # 1. Signed in, the overview, last week by default, agrees with the CLI for the same week.
    page.goto(server + "/")
    sign_in(page, "quzhang", shot="sign_in")
    no_exception(page, console, "总览")
    assert page_title(page) == "总览"
    assert page.get_by_text("当前显示的是演示数据", exact=False).count() == 1
    assert page.get_by_text("数据更新时间", exact=False).count() == 1
    stats = stats_of_last_week(demo_db)["appeals"]
    cards = metric_cards(page)
    assert cards["受理量"] == f"{stats['received']:,}"
    assert cards["响应率"] == percent(stats["response_rate"])
    assert cards["办结率"] == percent(stats["resolution_rate"])
    assert cards["满意率"] == percent(stats["satisfaction_rate"])
    assert cards["超期未办结"] == f"{stats['overdue_open']:,}"
    docs_copy(screenshot(page, "overview"), "overview.png")

    # 2. Clicking a street's bar in the 红黑榜 narrows every number to that street.
    bars = page.locator('[class*="st-key-ranking_chart"] g.point path')
    assert bars.count() >= 2
    streets = [t.text_content().strip() for t in page.locator('[class*="st-key-ranking_chart"] .ytick text').all()]
    bars.nth(1).scroll_into_view_if_needed()
    time.sleep(0.5)
    box = bars.nth(1).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_function("() => location.search.includes('street=')", timeout=30_000)
    settle(page, 2.5)
    no_exception(page, console, "总览(点击街道后)")
    (street,) = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query).get("street", [None])
    assert street in streets
    assert f"· {street} ·" in page.locator('[data-testid="stCaptionContainer"]').first.inner_text()
    street_stats = stats_of_last_week(demo_db, street)["appeals"]
    assert metric_cards(page)["受理量"] == f"{street_stats['received']:,}"
    screenshot(page, "overview_street")

    # 3. Every page, through the sidebar; the street filter stays.
    for label, name in PAGES[1:]:
        go_to(page, label)
        no_exception(page, console, label)
        assert page_title(page) == TITLES[name]
        if name != "weekly_report":
            assert f"· {street} ·" in page.locator('[data-testid="stCaptionContainer"]').first.inner_text(), name
        screenshot(page, f"{name}_street")

    # 4. Back to all streets; every page once more, as most readers see it.
    go_to(page, "总览")
    page.locator('button', has_text="查看全部街道").click()
    page.wait_for_function("() => !location.search.includes('street=')", timeout=30_000)
    settle(page, 2)
    assert "street=" not in page.url
    for label, name in PAGES[1:-1]:
        go_to(page, label)
        no_exception(page, console, label)
        shot = screenshot(page, name)
        if name == "compounds":
            docs_copy(shot, "compounds.png")
        screenshot(page, f"{name}_390", width=390)
        no_exception(page, console, f"{label}(390 px)")

    # 5. 周报: the PDF is built when its button is pressed (a deferred download) and arrives whole.
    go_to(page, "周报")
    with page.expect_download(timeout=120_000) as download:
        page.get_by_role("button", name="下载 PDF 周报").click()
    assert download.value.suggested_filename == f"周报-{last_week()}-蓬莱区.pdf"
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")
    settle(page, 1)
    no_exception(page, console, "周报(下载 PDF)")
    # So is the overdue list's CSV (a year of a city's overdue appeals is megabytes).
    go_to(page, "诉求办理")
    with page.expect_download(timeout=60_000) as download:
        page.get_by_role("button", name="下载超期工单清单(CSV)").click()
    assert download.value.suggested_filename.startswith("超期未办结工单_")
    served = Path(download.value.path()).read_bytes()
    assert served.startswith("\ufeff".encode()) and served.decode("utf-8-sig").startswith("工单编号,受理时间,")
    settle(page, 1)
    no_exception(page, console, "诉求办理(下载超期工单)")

    # 6. On 小区画像, a click on a row of the compound list opens its profile.
    go_to(page, "小区画像")
    grid = page.locator(".st-key-compound_table")
    grid.scroll_into_view_if_needed()
    time.sleep(1)
    box = grid.bounding_box()
    assert "compound=" not in page.url
    page.mouse.click(box["x"] + 18, box["y"] + 52)  # the selection box of the first row
    page.wait_for_function("() => location.search.includes('compound=')", timeout=30_000)
    settle(page, 2.5)
    no_exception(page, console, "小区画像(打开画像)")
    headings = [h.inner_text().strip() for h in page.locator("h3").all()]
    profile = [h for h in headings if h.endswith("· 小区画像")]
    assert profile, headings
    (chosen,) = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)["compound"]
    assert re.fullmatch(r"[A-Za-z0-9_-]+", chosen), chosen  # ?compound=<the compound's id>, not its name
    picker = page.locator('[data-testid="stMain"] input[aria-label="查看小区画像"]').input_value()
    assert picker == f"{profile[0].removesuffix(' · 小区画像')}({chosen})"
    assert page.get_by_text("近 12 个月", exact=False).count() == 1
    screenshot(page, "compound_profile")

    # 7. A shared link reopens the same view (a new session, filters and profile from the URL).
    link = page.url
    fresh = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    fresh_console = Console(fresh)
    query = urllib.parse.urlparse(link).query
    fresh.goto(f"{server}/?{query}&street=%E7%99%BB%E5%B7%9E%E8%A1%97%E9%81%93&period=%E6%9C%AC%E6%9C%88")
    sign_in(fresh, "quzhang")  # a new browser session signs in first; the link survives it
    no_exception(fresh, fresh_console, "分享链接")
    caption = fresh.locator('[data-testid="stCaptionContainer"]').first.inner_text()
    assert caption.startswith("本月") and "· 登州街道 ·" in caption
    fresh.close()
    page.close()


def nav_labels(page) -> list[str]:
    """The page titles in the sidebar navigation (each link also holds its icon's name)."""
    return [a.inner_text().strip().splitlines()[-1].strip() for a in page.locator('[data-testid="stSidebarNav"] a').all()]


def test_a_street_leader_in_a_browser(browser, server, demo_db, accounts):
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    console = Console(page)
    other = "蓬莱阁街道"
    quoted = urllib.parse.quote(other)

    # A link naming another street: after signing in, his own street it is.
    page.goto(f"{server}/?street={quoted}")
    sign_in(page, "dengzhou")
    no_exception(page, console, "总览(街道)")
    assert page_title(page) == "总览"
    caption = page.locator('[data-testid="stCaptionContainer"]').first.inner_text()
    assert f"· {STREET} ·" in caption and other not in caption
    street_select = page.locator('[data-testid="stSidebar"] input[aria-label="街道"]')
    assert street_select.input_value() == STREET and street_select.is_disabled()
    stats = stats_of_last_week(demo_db, STREET)["appeals"]
    cards = metric_cards(page)
    assert cards["受理量"] == f"{stats['received']:,}"
    assert cards["办结率"] == percent(stats["resolution_rate"])
    assert cards["满意率"] == percent(stats["satisfaction_rate"])
    assert cards["超期未办结"] == f"{stats['overdue_open']:,}"
    # His street's rank among all streets (the CLI's ranking of the same week), no other street's
    # numbers, his communities ranked; nothing invites a click on a street.
    scores = {row["street"]: row["composite"] for row in stats_of_last_week(demo_db)["appeals_by_street"]
              if row["composite"] is not None}
    rank = 1 + sum(score > scores[STREET] for score in scores.values())
    assert metric_cards(page).get(f"{STREET}在全区的综合排名") == f"第 {rank} 名 / 共 {len(scores)} 个街道"
    assert page.locator('[class*="st-key-ranking_chart"]').count() == 0
    communities = [t.text_content().strip() for t in
                   page.locator('[class*="st-key-community_ranking_chart"] .ytick text').all()]
    assert len(communities) >= 2 and all(c.endswith("社区") for c in communities), communities
    assert "点击" not in page.locator('[data-testid="stMain"]').inner_text()
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert "dengzhou" in sidebar and "街道领导" in sidebar and "退出登录" in sidebar
    assert nav_labels(page) == [label for label, _ in PAGES]  # no 数据管理, no 账号与审计
    docs_copy(screenshot(page, "street_overview"), "street-overview.png")
    screenshot(page, "street_overview_390", width=390)

    # Every page keeps his street; the weekly report offers no other.
    for label, name in PAGES[1:]:
        go_to(page, label)
        no_exception(page, console, f"{label}(街道)")
        assert page_title(page) == TITLES[name]
        text = page.locator('[data-testid="stMain"]').inner_text()
        if name != "weekly_report":
            assert f"· {STREET} ·" in page.locator('[data-testid="stCaptionContainer"]').first.inner_text(), name
        assert other not in text, name
        assert "点击某街道" not in text and "点击街道" not in text, name
        assert page.get_by_role("tab", name="按街道").count() == 0, name
        shot = screenshot(page, f"street_{name}")
        if name == "compounds":
            docs_copy(shot, "compounds-street.png")
        screenshot(page, f"street_{name}_390", width=390)
        no_exception(page, console, f"{label}(街道, 390 px)")
    scope = page.locator('[data-testid="stMain"] input[aria-label="范围"]')
    assert scope.input_value() == STREET and scope.is_disabled()
    screenshot(page, "street_weekly_report")

    # A reload keeps him signed in, on the same page.
    page.reload()
    settle(page, 3)
    assert page.get_by_label("密码", exact=True).count() == 0 and page_title(page) == TITLES["weekly_report"]
    no_exception(page, console, "周报(刷新后)")
    remembered = page.context.cookies()
    assert [c["name"] for c in remembered if c["name"] == "penglai_session"]
    page.close()

    # The data desk by its URL (a new browser session): refused, nothing else.
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    console = Console(page)
    page.goto(f"{server}/data_desk?street={quoted}")
    sign_in(page, "dengzhou")
    assert page.get_by_text("无权访问此页面", exact=False).count() == 1
    assert page.locator('[data-testid="stMetric"]').count() == 0
    assert page.locator('[data-testid="stFileUploader"]').count() == 0
    no_exception(page, console, "数据管理(街道)")

    # Signing out returns to the form, and a reload does not sign him in again.
    page.get_by_role("button", name="退出登录").click()
    page.get_by_label("账号", exact=True).wait_for(timeout=30_000)
    assert page.get_by_text("已退出登录", exact=False).count() == 1
    time.sleep(1)
    page.reload()
    page.get_by_label("账号", exact=True).wait_for(timeout=30_000)
    page.close()

    # The cookie of his first browser, replayed after he signed out elsewhere: worth nothing.
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    context.add_cookies(remembered)
    page = context.new_page()
    page.goto(server + "/")
    page.get_by_label("账号", exact=True).wait_for(timeout=60_000)
    context.close()

    # A new password (set by an administrator from the CLI) ends his open session.
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    page.goto(server + "/")
    sign_in(page, "dengzhou")
    assert page_title(page) == "总览"
    env = {**os.environ, "DASHBOARD_DB": str(demo_db), "DASHBOARD_ACCOUNTS": str(accounts)}
    subprocess.run([sys.executable, "-m", "etl", "user", "add", "dengzhou", "--role", "street", "--street", STREET,
                    "--password-stdin", "--db", str(demo_db)], input="a new password for dengzhou\n", text=True,
                   cwd=ROOT, env=env, check=True, capture_output=True)
    go_to(page, "诉求办理")
    page.get_by_label("账号", exact=True).wait_for(timeout=30_000)
    assert page.get_by_text("请重新登录", exact=False).count() == 1
    page.reload()
    page.get_by_label("账号", exact=True).wait_for(timeout=30_000)
    page.close()


def test_the_admin_page_in_a_browser(browser, server):
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    console = Console(page)
    page.goto(f"{server}/admin")
    sign_in(page, "guanliyuan")
    no_exception(page, console, "账号与审计")
    assert page_title(page) == "账号与审计"
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "审计日志" in text and "$argon2" not in text
    assert nav_labels(page) == [label for label, _ in PAGES] + ["数据管理", "账号与审计"]
    screenshot(page, "admin")
    page.close()


def test_streamlits_own_words_read_in_chinese(browser, demo_db, accounts, tmp_path):
    """What no setting reaches, in a server of its own: the first request of a fresh server
    straight to a page lists no page files (admin, data desk …); the input hint, the password
    button's label, the skip link and the dialogs of an unknown page and of a lost connection
    read in Chinese."""
    env = {**os.environ, "DASHBOARD_DB": str(demo_db), "DASHBOARD_ACCOUNTS": str(accounts)}
    page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    with serve(env, tmp_path / "streamlit.log") as base:
        page.goto(base + "/data_desk")
        page.wait_for_selector('[data-testid="stApp"]')
        for _ in range(10):  # every moment of the first second
            assert not english(page), english(page)
            time.sleep(0.1)
        settle(page, 1)
        page.get_by_role("textbox", name="账号").fill("quzhang")
        time.sleep(0.5)
        assert page.locator('[data-testid="InputInstructions"]').all_inner_texts() == ["按回车键提交"]
        assert page.locator('[data-testid="stTextInputRootElement"] button').get_attribute("aria-label") == "显示密码"
        assert page.locator('[data-testid="stSkipToContent"]').inner_text() == "跳到正文"
        assert not english(page), english(page)
        page.goto(base + "/no_such_page")
        settle(page, 1)
        assert page.locator('[role="dialog"]').inner_text().split("\n") == ["页面不存在", "所请求的页面不存在，已打开首页。"]
        page.get_by_role("button", name="关闭").click()
    # the server is gone: the browser says so in Chinese
    page.wait_for_selector('[role="dialog"]', timeout=30_000)
    time.sleep(1)
    assert page.locator('[role="dialog"]').inner_text().split("\n")[0] == "连接中断"
    assert not english(page), english(page)
    page.close()


def test_the_controls_of_tables_and_charts_read_in_chinese(browser, server):
    """What shows only on hover and click: a table's toolbar tooltips, its column menu and the
    statistics under it, its search box; a chart's toolbar (Plotly's own locale)."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    console = Console(page)
    page.goto(f"{server}/appeals?period=上周")
    sign_in(page, "quzhang")
    no_exception(page, console, "诉求办理")
    latin = lambda: english(page, set(ACCOUNTS))  # noqa: E731
    table = page.locator('[data-testid="stDataFrame"]').first
    table.scroll_into_view_if_needed()
    time.sleep(1)
    box = table.bounding_box()
    # A header's menu button is drawn on the grid's canvas, at the right end of the header the
    # pointer is over: try along the header row until the menu opens (a click elsewhere sorts).
    for x in range(120, int(box["width"]) - 20, 12):
        page.mouse.move(box["x"] + x - 30, box["y"] + 18)
        page.mouse.click(box["x"] + x, box["y"] + 18)
        time.sleep(0.3)
        shown = page.evaluate(VISIBLE_TEXT)
        if "升序排列" in shown:
            break
    assert "升序排列" in shown and "隐藏此列" in shown, shown
    statistics = page.evaluate("""() => {  // the menu item, to open its submenu (sum, median …)
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      while (walker.nextNode()) if (walker.currentNode.nodeValue.trim() === "统计") {
        const r = walker.currentNode.parentElement.getBoundingClientRect();
        return [r.x + r.width / 2, r.y + r.height / 2];
      }
    }""")
    page.mouse.move(*statistics)
    time.sleep(1)
    assert not latin(), latin()
    page.keyboard.press("Escape")
    time.sleep(0.5)
    table.hover()
    buttons = page.locator('[data-testid="stElementToolbar"] button')
    buttons.first.hover()
    time.sleep(1)
    assert not latin(), latin()
    [b for b in buttons.all() if b.is_visible()][1].click()  # search
    time.sleep(1)
    assert "输入关键词搜索" in page.evaluate(VISIBLE_TEXT)
    assert not latin(), latin()
    page.keyboard.press("Escape")
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    chart.scroll_into_view_if_needed()
    chart.hover()
    time.sleep(1)
    titles = {b.get_attribute("data-title") for b in chart.locator(".modebar-btn").all()}
    assert titles == {"下载图片(PNG)", "恢复原始比例", "全屏"}, titles  # the last one is Streamlit's
    page.close()
