"""Benchmark: 20 readers browsing the served dashboard while two loads land (issue 7, item 3).

1. builds a database with 1 M appeals (bench_pages.build: the demo dataset, its appeals
   replicated by DuckDB SQL), an accounts file with one district account, and two appeal
   extracts of 100 k rows each (tests/test_concurrency.appeals_csv);
2. serves app.py with `python -m dashboard.serve` (streamlit run) on a free loopback port;
3. drives N concurrent reader sessions for --seconds; each signs in (if the sign-in form is
   shown), then goes round the pages of the sidebar until the time is up, with a short pause
   between pages. Two kinds of reader (--client):
   - browser: one headless Chromium, one browser context per reader (Playwright, asyncio). A
     page view is timed from the click on the sidebar link to the page being fully drawn: the
     script no longer running, the page's own title shown, no stale element left and every
     plotly chart drawn ("script" = until the last element of the run had arrived);
   - protocol: a reader that speaks Streamlit's own websocket protocol (the messages the
     browser sends and receives), without drawing anything. A page view is timed from the
     request to the server's "script finished". It measures the server alone: on this machine
     20 Chromium contexts need far more CPU than the server (see the CPU line of each run);
   - browser with --browsers N: N Chromium contexts among protocol readers, so that a reader's
     page time as a browser draws it is measured while the server carries all the sessions,
     without the browsers eating the cores the server needs;
4. a little into the run (--load-at), `python -m etl load appeals` runs from two other processes
   at the same moment: the first takes the writer lock, the second waits for it, then lands;
5. prints page time p50/p95 (all views, by page, and those that overlapped the loads), the
   errors (exception boxes, browser console errors other than the offline basemap, timeouts,
   server tracebacks), each load's timeline (start, writer lock, publish, end) and result, and
   the CPU the server, the readers and the loads used. Targets (issue 16): no errors, p95 < 2 s
   for the views that overlap the loads.

Loopback only; everything it starts it stops; it ends by itself (--seconds, plus bounded waits).

    python bench/bench_serving.py [--client both|browser|protocol] [--seconds 90] [--sessions 20] [--browsers N]
                                  [--rows 1000000] [--load-rows 100000] [--think 0.5] [--db PATH] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_pages import build  # noqa: E402  (the 1 M-appeal database)
from bench.bench_scale import ETL_WITH_RSS  # noqa: E402  (`python -m etl` reporting its peak memory)
from tests.e2e.serving import CHROMIUM, CHROMIUM_FLAGS  # noqa: E402
from tests.e2e.test_browser import TITLES, Console  # noqa: E402
from tests.test_concurrency import appeals_csv, count_appeals  # noqa: E402

# (sidebar label, title the page draws)
PAGES = [("总览", TITLES["overview"]), ("诉求办理", TITLES["appeals"]), ("物业治理", TITLES["property"]),
         ("小区画像", TITLES["compounds"]), ("满意度", TITLES["satisfaction"]), ("服务场景", TITLES["scenes"]),
         ("周报", TITLES["weekly_report"])]
FIRST = "登录+总览"
ACCOUNT, PASSWORD = "bench", "bench-password-2026"
VIEW_TIMEOUT = 60.0  # seconds a page may take before it counts as an error
# How often the loads' private copies are looked for: each moment seen is up to this late, so two
# moments from two watchers compare only to within it.
LOCK_POLL = 0.005

# The script has run: it is no longer running, the page's own title is up and nothing stale is
# left from the previous page (every element the run sent has been received).
SCRIPT_DONE = """(title) => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    const h1 = document.querySelector('[data-testid="stMain"] h1');
    if (!h1 || h1.innerText.trim() !== title) return false;
    return !document.querySelector('[data-stale="true"]');
}"""
# Fully drawn: that, and every plotly chart has drawn its SVG.
DRAWN = SCRIPT_DONE.replace("return !document.querySelector('[data-stale=\"true\"]');", """
    if (document.querySelector('[data-stale="true"]')) return false;
    for (const chart of document.querySelectorAll('[data-testid="stPlotlyChart"]'))
        if (!chart.querySelector('.main-svg')) return false;
    return true;""")
assert DRAWN != SCRIPT_DONE
# Either the sign-in form (its password field) or a signed-in page (the sidebar's page links).
SIGN_IN_OR_PAGE = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
    return !!document.querySelector('[data-testid="stMain"] input[type="password"]')
        || !!document.querySelector('[data-testid="stSidebarNav"] a');
}"""


@dataclass
class View:
    session: int
    page: str
    started: float  # seconds since the run began
    seconds: float  # until fully drawn (browser) or until the script finished (protocol)
    outcome: str  # ok, exception, timeout, failed
    script: float | None = None  # browser: until the run's last element had arrived
    detail: str = ""
    client: str = "browser"  # which kind of reader saw it


@dataclass
class Load:
    name: str
    started: float = 0.0
    locked: float | None = None  # when its private copy appeared (it then holds the writer lock)
    published: float | None = None  # when the copy was renamed over the live file
    ended: float = 0.0
    returncode: int | None = None
    output: str = ""
    max_rss_mb: float | None = None


@dataclass
class Run:
    client: str
    t0: float = field(default_factory=time.perf_counter)
    views: list[View] = field(default_factory=list)
    first_views: list[View] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    loads: list[Load] = field(default_factory=list)
    load_before: float = field(default_factory=lambda: os.getloadavg()[0])
    cpu: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def now(self) -> float:
        return time.perf_counter() - self.t0


# ---------------------------------------------------------------- processes and CPU

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def add_account(db: Path, env: dict) -> None:
    subprocess.run([sys.executable, "-m", "etl", "user", "add", ACCOUNT, "--role", "district", "--password-stdin",
                    "--db", str(db)], input=PASSWORD + "\n", text=True, check=True, cwd=ROOT, env=env,
                   capture_output=True, timeout=60)


def start_server(port: int, env: dict, log: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "dashboard.serve", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            pass
        if process.poll() is not None or time.time() > deadline:
            stop(process)
            raise RuntimeError(f"streamlit did not start: {log.read_text()[-2000:]}")
        time.sleep(0.3)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _processes() -> dict[int, tuple[int, float, str]]:
    """pid → (parent pid, CPU seconds incl. reaped children, command line) of every process."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        found[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]) / tick, command)
    return found


def cpu_by_part(server_pid: int) -> dict[str, float]:
    """CPU seconds so far of the server, of the browser (the Playwright driver and its Chromium)
    and of this process (the readers and the bench itself)."""
    table = _processes()
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)

    def tree(root: int) -> float:
        total, stack = 0.0, [root]
        while stack:
            pid = stack.pop()
            total += table.get(pid, (0, 0.0, ""))[1]
            stack += children.get(pid, [])
        return total

    me = os.getpid()
    drivers = [pid for pid in children.get(me, []) if "playwright" in table[pid][2]]
    own = os.times()
    return {"server": tree(server_pid), "browser": sum(tree(pid) for pid in drivers),
            "bench": own.user + own.system}


# ---------------------------------------------------------------- the browser reader

async def drawn(page, title: str, run: Run | None = None) -> float | None:
    """Wait until the page is fully drawn; returns when its script had finished (run time)."""
    await page.wait_for_function(SCRIPT_DONE, arg=title, timeout=VIEW_TIMEOUT * 1000, polling=50)
    done = run.now() if run else None
    await page.wait_for_function(DRAWN, arg=title, timeout=VIEW_TIMEOUT * 1000, polling=50)
    return done


async def exception_text(page) -> str | None:
    boxes = page.locator('[data-testid="stException"]')
    return (await boxes.first.inner_text())[:300] if await boxes.count() else None


async def sign_in_if_asked(page) -> None:
    await page.wait_for_function(SIGN_IN_OR_PAGE, timeout=VIEW_TIMEOUT * 1000, polling=100)
    if await page.locator('[data-testid="stMain"] input[type="password"]').count() == 0:
        return  # no sign-in asked (an app without it, or a session still signed in)
    await page.locator('[data-testid="stTextInput"]').filter(has_text="账号").locator("input").fill(ACCOUNT)
    await page.locator('[data-testid="stTextInput"]').filter(has_text="密码").locator("input").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()


def failure(exc: BaseException) -> tuple[str, str]:
    kind = "timeout" if "Timeout" in type(exc).__name__ else "failed"
    return kind, f"{type(exc).__name__}: {exc}"[:300]


async def browser_reader(index: int, browser, base: str, run: Run, deadline: float, think: float) -> None:
    context = await browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    page = await context.new_page()
    console = Console(page)

    async def arrive() -> bool:
        started = run.now()
        try:
            await page.goto(base + "/", timeout=VIEW_TIMEOUT * 1000)
            await sign_in_if_asked(page)
            await drawn(page, TITLES["overview"])
            text = await exception_text(page)
            outcome, detail = ("exception", text) if text else ("ok", "")
        except Exception as exc:  # noqa: BLE001  (a bench counts failures, it does not stop at one)
            outcome, detail = failure(exc)
        run.first_views.append(View(index, FIRST, started, run.now() - started, outcome, detail=detail))
        return outcome != "timeout" and outcome != "failed"

    try:
        if not await arrive():
            return
        # Readers start at different pages, then go round them all; never the page already shown
        # (its title would match at once).
        step = 1 + index % (len(PAGES) - 1)
        while run.now() < deadline:
            label, title = PAGES[step]
            link = page.locator('[data-testid="stSidebarNav"] a').filter(has_text=re.compile(rf"{label}\s*$"))
            started, script_done = run.now(), None
            try:
                await link.first.click(timeout=VIEW_TIMEOUT * 1000)
                script_done = await drawn(page, title, run)
                text = await exception_text(page)
                outcome, detail = ("exception", text) if text else ("ok", "")
            except Exception as exc:  # noqa: BLE001
                outcome, detail = failure(exc)
            run.views.append(View(index, label, started, run.now() - started, outcome, detail=detail,
                                  script=None if script_done is None else script_done - started))
            step = (step + 1) % len(PAGES)
            if outcome in ("timeout", "failed"):  # start over from the overview
                if not await arrive():
                    return
                step = 1
            await asyncio.sleep(think)
    finally:
        unexpected = [u for u in console.failed if not console._basemap(u)]
        run.console_errors += [f"reader {index}: {e}" for e in console.errors + unexpected]
        await context.close()


async def drive_browser(args, base: str, run: Run, server_pid: int) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            before = cpu_by_part(server_pid)
            readers = []
            for index in range(args.sessions):
                # The first --browsers readers are Chromium contexts, the others protocol readers.
                reader = (browser_reader(index, browser, base, run, args.seconds, args.think)
                          if index < args.browsers else protocol_reader(index, base, run, args.seconds, args.think))
                readers.append(asyncio.create_task(reader))
                await asyncio.sleep(args.arrive_every)  # arrivals a little apart, not one thundering herd
            await gather(run, readers, args)
            after = cpu_by_part(server_pid)
            run.cpu = {part: after[part] - before[part] for part in after}
        finally:
            await browser.close()


# ---------------------------------------------------------------- the protocol reader

class ProtocolSession:
    """One browser tab's worth of Streamlit session, over the websocket the frontend uses."""

    def __init__(self, ws):
        self.ws = ws
        self.pages: dict[str, str] = {}  # page name → page_script_hash

    @classmethod
    async def open(cls, base: str) -> "ProtocolSession":
        import websockets

        ws = await websockets.connect(base.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"],
                                      max_size=None, open_timeout=VIEW_TIMEOUT)
        return cls(ws)

    async def rerun(self, page_hash: str = "", widgets: list[tuple[str, str, object]] = ()) -> tuple[list, str | None]:
        """One script run, as a click would ask for it; returns its elements and the first
        exception's message (None if none)."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        message = BackMsg()
        message.rerun_script.query_string = ""
        message.rerun_script.page_script_hash = page_hash
        for widget_id, kind, value in widgets:
            state = message.rerun_script.widget_states.widgets.add()
            state.id = widget_id
            setattr(state, kind, value)
        await self.ws.send(message.SerializeToString())
        elements, error = [], None
        while True:
            incoming = ForwardMsg()
            incoming.ParseFromString(await asyncio.wait_for(self.ws.recv(), VIEW_TIMEOUT))
            kind = incoming.WhichOneof("type")
            if kind == "navigation":
                self.pages = {p.page_name: p.page_script_hash for p in incoming.navigation.app_pages}
            elif kind == "delta" and incoming.delta.WhichOneof("type") == "new_element":
                element = incoming.delta.new_element
                elements.append(element)
                if element.WhichOneof("type") == "exception" and error is None:
                    error = f"{element.exception.type}: {element.exception.message}"[:300]
            elif kind == "script_finished":
                return elements, error

    async def sign_in_if_asked(self) -> str | None:
        elements, error = await self.rerun()
        ids = {getattr(e, e.WhichOneof("type")).label: getattr(e, e.WhichOneof("type")).id
               for e in elements if e.WhichOneof("type") in ("text_input", "button")}
        if "账号" not in ids:
            return error
        _, error = await self.rerun(widgets=[(ids["账号"], "string_value", ACCOUNT),
                                             (ids["密码"], "string_value", PASSWORD),
                                             (ids["登录"], "trigger_value", True)])
        return error


async def protocol_reader(index: int, base: str, run: Run, deadline: float, think: float) -> None:
    started, session = run.now(), None
    try:
        session = await ProtocolSession.open(base)
        error = await session.sign_in_if_asked()
        outcome, detail = ("exception", error) if error else ("ok", "")
        if PAGES[0][0] not in session.pages:
            outcome, detail = "failed", "not signed in: no page navigation came back"
    except Exception as exc:  # noqa: BLE001
        outcome, detail = failure(exc)
    run.first_views.append(View(index, FIRST, started, run.now() - started, outcome, detail=detail,
                                client="protocol"))
    if outcome in ("timeout", "failed"):
        if session:
            await session.ws.close()
        return
    try:
        step = 1 + index % (len(PAGES) - 1)
        while run.now() < deadline:
            label = PAGES[step][0]
            started = run.now()
            try:
                _, error = await session.rerun(session.pages[label])
                outcome, detail = ("exception", error) if error else ("ok", "")
            except Exception as exc:  # noqa: BLE001
                outcome, detail = failure(exc)
            run.views.append(View(index, label, started, run.now() - started, outcome, detail=detail,
                                  client="protocol"))
            if outcome in ("timeout", "failed"):
                return
            step = (step + 1) % len(PAGES)
            await asyncio.sleep(think)
    finally:
        await session.ws.close()


async def drive_protocol(args, base: str, run: Run, server_pid: int) -> None:
    before = cpu_by_part(server_pid)
    readers = []
    for index in range(args.sessions):
        readers.append(asyncio.create_task(protocol_reader(index, base, run, args.seconds, args.think)))
        await asyncio.sleep(args.arrive_every)
    await gather(run, readers, args)
    after = cpu_by_part(server_pid)
    run.cpu = {part: after[part] - before[part] for part in after}


async def gather(run: Run, readers: list, args) -> None:
    """The readers and, a little into the run, the two loads; bounded whatever happens."""
    loader = asyncio.create_task(loads(run, args))
    results = await asyncio.wait_for(asyncio.gather(*readers, loader, return_exceptions=True),
                                     timeout=args.seconds + 4 * VIEW_TIMEOUT + 900)
    run.seconds = run.now()
    for result in results:
        if isinstance(result, BaseException):
            run.console_errors.append(f"bench task failed: {result!r}")


# ---------------------------------------------------------------- the two loads

async def load(run: Run, item: Load, db: Path, csv: Path, env: dict) -> None:
    item.started = run.now()
    process = await asyncio.create_subprocess_exec(*ETL_WITH_RSS, "load", "appeals", str(csv), "--db", str(db),
                                                   "--json", cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.PIPE)
    copy = db.with_name(f"{db.name}.tmp-{process.pid}")

    async def watch_lock() -> None:
        while item.published is None:
            exists = copy.exists()
            if exists and item.locked is None:
                item.locked = run.now()
            elif not exists and item.locked is not None:
                item.published = run.now()
            await asyncio.sleep(LOCK_POLL)

    watcher = asyncio.create_task(watch_lock())
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=900)
    except asyncio.TimeoutError:
        process.kill()
        out, err = await process.communicate()
    watcher.cancel()
    item.ended, item.returncode = run.now(), process.returncode
    lines = err.decode().splitlines()
    rss = [line for line in lines if line.startswith("MAXRSS")]
    item.max_rss_mb = int(rss[-1].split()[1]) / 1024 if rss else None
    item.output = out.decode().strip() or "\n".join(line for line in lines if not line.startswith("MAXRSS"))[-800:]


async def loads(run: Run, args) -> None:
    await asyncio.sleep(max(0.0, args.seconds * args.load_at - run.now()))
    run.loads = [Load(f"导入{name}") for name, _ in args.csvs]
    await asyncio.gather(*(load(run, item, args.db_path, csv, args.env) for item, (_, csv) in zip(run.loads, args.csvs)))


# ---------------------------------------------------------------- report

def pct(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def summary(name: str, views: list[View], with_script: bool) -> str:
    ok = [v.seconds for v in views if v.outcome == "ok"]
    line = (f"{name:<10}{len(views):>6}{pct(ok, 50):>9.2f}{pct(ok, 95):>9.2f}"
            f"{(max(ok) if ok else float('nan')):>9.2f}")
    if with_script:
        script = [v.script for v in views if v.outcome == "ok" and v.script is not None]
        line += f"{pct(script, 50):>11.2f}{pct(script, 95):>11.2f}"
    return line + f"{len(views) - len(ok):>6}"


def report(run: Run, args, before: int, after: int, server_log: Path, log_offset: int) -> bool:
    browser = run.client == "browser"
    mixed = browser and args.browsers < args.sessions
    views = [v for v in run.views if v.client == run.client]
    if not browser:
        print("\n== 读者：协议客户端(Streamlit websocket，不绘制) ==")
    elif mixed:
        print(f"\n== 读者：{args.browsers} 个浏览器(Chromium 上下文)+ {args.sessions - args.browsers} 个协议客户端，"
              "下表为浏览器所见 ==")
    else:
        print("\n== 读者：浏览器(Chromium，每人一个浏览器上下文) ==")
    print(f"数据库：{before:,} 条诉求；{args.sessions} 个会话，{args.seconds:.0f} s，每页之后停 {args.think:g} s；"
          f"{os.cpu_count()} 核；机器负载(1 分钟平均)开始 {run.load_before:.1f}、结束 {os.getloadavg()[0]:.1f}")
    if browser:
        print("页面时间 = 点击侧栏链接 → 页面完全画好(脚本结束、标题为该页、无过期元素、图表已绘出)；"
              "脚本 = 点击 → 本次运行的最后一个元素到达浏览器")
    else:
        print("页面时间 = 发出换页请求 → 服务端报告脚本运行结束(含全部元素的传输，不含绘制)")
    header = f"{'页面':<10}{'次数':>6}{'p50(s)':>9}{'p95(s)':>9}{'最长(s)':>9}"
    header += f"{'脚本p50':>11}{'脚本p95':>11}" if browser else ""
    print(header + f"{'错误':>6}")
    print("-" * (72 if browser else 50))
    for label, _ in PAGES:
        print(summary(label, [v for v in views if v.page == label], browser))
    print("-" * (72 if browser else 50))
    print(summary("全部", views, browser))
    window = (min((l.started for l in run.loads), default=0), max((l.ended for l in run.loads), default=0))
    overlapping = [v for v in views if v.started < window[1] and v.started + v.seconds > window[0]]
    print(summary("导入期间", overlapping, browser))
    print(summary(FIRST, [v for v in run.first_views if v.client == run.client], browser))
    if mixed:
        print(summary("协议客户端", [v for v in run.views if v.client == "protocol"], browser) + "  (同一时段，全部页面)")

    everything = run.views + run.first_views
    counts = {kind: sum(v.outcome == kind for v in everything) for kind in ("exception", "timeout", "failed")}
    tracebacks = server_log.read_text(errors="replace")[log_offset:].count("Traceback")
    errors = sum(counts.values()) + len(run.console_errors) + tracebacks
    print(f"错误：{errors}(异常框 {counts['exception']}，超时 {counts['timeout']}，失败 {counts['failed']}，"
          f"浏览器控制台错误 {len(run.console_errors)}(不含离线底图)，服务端 Traceback {tracebacks})")
    for line in run.console_errors[:3]:
        print(f"  {line[:300]}")
    for view in [v for v in everything if v.outcome != "ok"][:3]:
        print(f"  会话 {view.session} {view.page} 第 {view.started:.1f} s：{view.outcome} "
              f"{view.detail.splitlines()[0] if view.detail else ''}")

    if run.cpu:
        available = run.seconds * (os.cpu_count() or 1)
        print(f"CPU(本次运行 {run.seconds:.0f} s，两核共 {available:.0f} CPU·s)：服务进程 {run.cpu['server']:.0f}，"
              f"浏览器 {run.cpu['browser']:.0f}，读者与基准脚本 {run.cpu['bench']:.0f} CPU·s")

    print("导入(两个进程同时启动；写锁 = 取得写锁、开始写私有副本，发布 = 副本替换正式库)：")
    inserted = 0
    for item in run.loads:
        try:
            result = json.loads(item.output.splitlines()[-1])
            if item.returncode == 0:
                inserted += result.get("inserted") or 0
            text = (f"批次 {result.get('batch_id')}，新增 {result.get('inserted'):,}，拒绝 {result.get('rejected')}"
                    if not result.get("error") else f"拒绝：{result['error']}")
        except (ValueError, IndexError, TypeError, AttributeError):
            text = item.output[-300:]

        def at(moment):
            return "—" if moment is None else f"{moment:.1f} s"

        rss = f"，峰值内存 {item.max_rss_mb:.0f} MB" if item.max_rss_mb else ""
        print(f"  {item.name}：启动 {at(item.started)}，写锁 {at(item.locked)}，发布 {at(item.published)}，"
              f"结束 {at(item.ended)}(用时 {item.ended - item.started:.1f} s)，退出码 {item.returncode}{rss}；{text}")
    expected = before + inserted
    print(f"  诉求工单：导入前 {before:,}，导入后 {after:,}(应为 {expected:,}){'' if after == expected else '  ← 不一致'}")
    order = sorted(run.loads, key=lambda l: l.locked if l.locked is not None else float("inf"))
    if len(order) == 2 and order[1].locked is not None and order[0].published is not None:
        gap = order[1].locked - order[0].published
        print(f"  {order[1].name} 在 {order[0].name} 发布后 {gap:+.3f} s 才开始写"
              f"({'排队等待，未重叠' if gap > -LOCK_POLL else '← 两者同时写！'}；观测精度 {LOCK_POLL * 1000:.0f} ms)。")
    during = [v.seconds for v in overlapping if v.outcome == "ok"]
    met = errors == 0 and bool(during) and pct(during, 95) < 2.0 and after == expected and \
        all(item.returncode == 0 for item in run.loads)
    print(f"目标(issue 16)：无错误，导入期间 p95 < 2 s，两个导入都落库 → {'达到' if met else '未达到'}")
    return met


# ---------------------------------------------------------------- main

def one_run(client: str, args, work: Path, stamp: str) -> bool:
    """A fresh server on the database as it is, the readers, two loads; then the report."""
    args.csvs = [(name, appeals_csv(work / f"load_{client}_{name}.csv", args.load_rows, f"SRV{client[0]}{name}{stamp}"))
                 for name in "AB"]
    before = count_appeals(args.db_path)
    port = free_port()
    log = work / "streamlit.log"
    offset = log.stat().st_size if log.exists() else 0
    with log.open("a") as sink:
        sink.write(f"\n==== {client} run ====\n")
    server = start_server(port, args.env, log)
    print(f"\n服务：http://127.0.0.1:{port}(仅本机回环)，日志 {log}", flush=True)
    run = Run(client)
    try:
        drive = drive_browser if client == "browser" else drive_protocol
        asyncio.run(drive(args, f"http://127.0.0.1:{port}", run, server.pid))
    finally:
        stop(server)
    for _, csv in args.csvs:
        csv.unlink(missing_ok=True)
    return report(run, args, before, count_appeals(args.db_path), log, offset)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", choices=["both", "browser", "protocol"], default="both",
                        help="browser: Chromium contexts (as readers see it); protocol: the server alone; both: one run each")
    parser.add_argument("--seconds", type=float, default=90, help="how long the readers browse (each run)")
    parser.add_argument("--sessions", type=int, default=20, help="concurrent reader sessions")
    parser.add_argument("--browsers", type=int, help="browser client: how many of the sessions are Chromium "
                        "contexts (default all); the others are protocol readers")
    parser.add_argument("--rows", type=int, default=1_000_000, help="appeals in the database")
    parser.add_argument("--load-rows", type=int, default=100_000, help="rows of each of the two loads")
    parser.add_argument("--load-at", type=float, default=0.35, help="when the loads start, as a share of --seconds")
    parser.add_argument("--think", type=float, default=0.5, help="seconds a reader pauses between pages")
    parser.add_argument("--arrive-every", type=float, default=0.5, help="seconds between two readers' arrivals")
    parser.add_argument("--db", help="start from a copy of this database instead of building one")
    parser.add_argument("--keep", help="keep the work folder (database, server log) here")
    args = parser.parse_args()
    clients = ["browser", "protocol"] if args.client == "both" else [args.client]
    args.browsers = args.sessions if args.browsers is None else min(args.browsers, args.sessions)
    if "browser" in clients and not CHROMIUM.exists():
        print("需要 /usr/bin/chromium(apt-get install -y --no-install-recommends chromium)", file=sys.stderr)
        return 2

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench-serving-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        if args.db:
            args.db_path = work / "bench.duckdb"
            shutil.copyfile(args.db, args.db_path)
        else:
            args.db_path = build(work, args.rows)
        args.env = {**os.environ, "DASHBOARD_DB": str(args.db_path),
                    "DASHBOARD_ACCOUNTS": str(work / "accounts.toml")}
        add_account(args.db_path, args.env)
        stamp = time.strftime("%m%d%H%M%S")  # new appeal ids each run, even on a reused database
        results = [one_run(client, args, work, stamp) for client in clients]
        return 0 if all(results) else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
