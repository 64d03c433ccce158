"""The sign-in attacks of issue 12 against a real server on loopback, over Streamlit's own
websocket protocol (bench.bench_serving.ProtocolSession); bounded, it stops by itself.

Clients are told apart by their source address: every 127.x.y.z reaches the server, which sees
each as a different client (127.0.0.1 itself Streamlit reports as no address).
- After the free wrong passwords, 16 attempts at once with the right password from the same
  client: none is checked, every one is told to wait.
- 40 attempts at once with invented names from 40 addresses, 12 wrong passwords for a real
  account from 12 more, 20 guesses at the admin's password from one, and meanwhile the admin from
  yet another address: the admin signs in, and the server stays under 600 MB (password hashing
  costs 64 MiB each; at most two run at once).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.bench_serving import ProtocolSession
from tests.e2e.serving import serve

ROOT = Path(__file__).resolve().parents[2]
ADMIN, PASSWORD = "admin", "the admin's own password"
MAX_RSS_MB = 600
TIMEOUT = 60


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("flood")
    accounts = folder / "accounts.toml"
    env = {**os.environ, "DASHBOARD_DB": str(folder / "none.duckdb"), "DASHBOARD_ACCOUNTS": str(accounts)}
    for name, role in ((ADMIN, "admin"), ("quzhang", "district")):
        made = subprocess.run([sys.executable, "-m", "etl", "user", "add", name, "--role", role, "--password-stdin",
                               "--db", str(folder / "none.duckdb")],
                              input=PASSWORD + "\n", capture_output=True, text=True, cwd=ROOT, env=env)
        assert made.returncode == 0, made.stderr
    with serve(env, folder / "streamlit.log") as base:
        yield base


def server_pid(base: str) -> int:
    port = base.rsplit(":", 1)[1]
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"dashboard.serve" in command and port.encode() in command:
            return int(entry.name)
    raise AssertionError("the server's process was not found")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


class SignIn:
    """A fresh session at `source` with the sign-in form drawn, ready to submit."""

    @classmethod
    async def open(cls, base: str, source: str) -> "SignIn":
        import websockets

        self = cls()
        self.ws = await websockets.connect(base.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"],
                                           max_size=None, open_timeout=TIMEOUT, local_addr=(source, 0))
        self.session = ProtocolSession(self.ws)
        elements, error = await self.session.rerun()
        assert error is None, error
        self.ids = {getattr(e, e.WhichOneof("type")).label: getattr(e, e.WhichOneof("type")).id
                    for e in elements if e.WhichOneof("type") in ("text_input", "button")}
        return self

    async def submit(self, name: str, password: str) -> str:
        """'signed in', or the error the page shows."""
        try:
            elements, error = await self.session.rerun(widgets=[(self.ids["账号"], "string_value", name),
                                                                (self.ids["密码"], "string_value", password),
                                                                (self.ids["登录"], "trigger_value", True)])
            assert error is None, error
        finally:
            await self.ws.close()
        if any(e.WhichOneof("type") == "button" and e.button.label == "退出登录" for e in elements):
            return "signed in"
        alerts = [e.alert.body for e in elements if e.WhichOneof("type") == "alert"]
        return alerts[-1] if alerts else "no answer"


async def attempt(base: str, source: str, name: str, password: str) -> str:
    return await (await SignIn.open(base, source)).submit(name, password)


def test_no_attempt_gets_through_the_delay(server):
    async def flood():
        # Sixteen sessions with the form on screen, submitted together right after the last free
        # wrong password (within its 2 s delay).
        ready = await asyncio.wait_for(asyncio.gather(*[SignIn.open(server, "127.0.0.2") for _ in range(16)]), TIMEOUT)
        for _ in range(3):
            assert await attempt(server, "127.0.0.2", ADMIN, "a wrong password") == "账号或密码错误。"
        return await asyncio.wait_for(asyncio.gather(*[form.submit(ADMIN, PASSWORD) for form in ready]), TIMEOUT)

    answers = asyncio.run(flood())
    assert all(a.startswith("密码错误次数过多，请 ") and a.endswith(" 秒后再试。") for a in answers), answers


def test_a_flood_costs_time_not_memory_and_never_locks_the_admin_out(server):
    pid = server_pid(server)
    peak = rss_mb(pid)

    async def flood():
        nonlocal peak
        # Every form on screen first, then all submitted together (the 20 guesses within the
        # 2 s the admin's third failure from that address imposes).
        sources = ([(f"127.0.1.{i + 1}", f"invented{i}", "some password") for i in range(40)]
                   + [(f"127.0.2.{i + 1}", "quzhang", "not his password") for i in range(12)]
                   + [("127.0.0.5", ADMIN, "a guess")] * 20)
        forms = await asyncio.wait_for(asyncio.gather(*[SignIn.open(server, source) for source, _, _ in sources]),
                                       TIMEOUT)
        own = await SignIn.open(server, "127.0.0.3")
        flood_started = time.monotonic()
        attackers = [asyncio.create_task(form.submit(name, password))
                     for form, (_, name, password) in zip(forms, sources)]
        await asyncio.sleep(1)  # the attempts are under way now
        admin = asyncio.create_task(own.submit(ADMIN, PASSWORD))
        started = time.monotonic()
        while not all(t.done() for t in attackers + [admin]):
            assert time.monotonic() - started < TIMEOUT * 2, "the flood did not finish"
            peak = max(peak, rss_mb(pid))
            await asyncio.sleep(0.05)
        return [t.result() for t in attackers], admin.result(), time.monotonic() - flood_started

    attackers, admin, lasted = asyncio.run(flood())
    assert admin == "signed in"
    assert set(attackers[:52]) == {"账号或密码错误。"}, attackers
    on_admin = attackers[52:]
    # Three free guesses; then one more each time the wait (2, 4, 8 … s) has passed: on a busy
    # machine the twenty may take longer than the first wait. Checked guesses beyond three, k,
    # need 2 + 4 + … + 2^k ≤ the flood's span.
    extra = on_admin.count("账号或密码错误。") - 3
    assert extra >= 0 and 2 ** (extra + 1) - 2 <= lasted, (on_admin, lasted)
    assert all(a.startswith("密码错误次数过多") for a in on_admin if a != "账号或密码错误。"), on_admin
    print(f"server peak RSS during the flood: {peak:.0f} MB")
    assert peak < MAX_RSS_MB, f"server peak RSS {peak:.0f} MB"
