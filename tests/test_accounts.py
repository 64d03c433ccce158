"""Accounts: hashed passwords, roles and street scope, throttled wrong passwords, first run, audit."""

from __future__ import annotations

import subprocess
import sys

import pytest

from access import audit
from access.accounts import AccountError, Throttle, Throttled, add_user, authenticate, ensure_first_admin, users


@pytest.fixture
def accounts(tmp_path, monkeypatch):
    path = tmp_path / "accounts.toml"
    monkeypatch.setenv("DASHBOARD_ACCOUNTS", str(path))
    return path


def test_passwords_are_stored_only_as_argon2_hashes(accounts):
    add_user("dz", "street", "correct horse battery", street="登州街道")
    text = accounts.read_text(encoding="utf-8")
    assert "correct horse battery" not in text and "$argon2id$" in text
    assert oct(accounts.stat().st_mode)[-3:] == "600"
    user = authenticate("dz", "correct horse battery", Throttle())
    assert (user.role, user.scope_street, user.may_load) == ("street", "登州街道", False)


@pytest.mark.parametrize(("name", "role", "street", "message"), [
    ("dz", "street", None, "必须指定一个街道"),
    ("dz", "street", "火星街道", "必须指定一个街道"),
    ("qu", "district", "登州街道", "只有 street 角色"),
    ("Bad Name", "district", None, "账号名"),
    ("x", "king", None, "未知角色"),
])
def test_bad_accounts_are_refused(accounts, name, role, street, message):
    with pytest.raises(AccountError, match=message):
        add_user(name, role, "long enough password", street=street)


def test_a_password_the_sign_in_would_refuse_is_refused_when_set(accounts):
    """The sign-in refuses passwords over 1,024 characters unhashed: such an account could never
    sign in, so it is not made."""
    with pytest.raises(AccountError, match="密码最多 1024 个字符"):
        add_user("longpw", "district", "p" * 1025)
    with pytest.raises(AccountError, match="密码至少 10 个字符"):
        add_user("shortpw", "district", "p" * 9)
    add_user("longpw", "district", "p" * 1024)
    assert authenticate("longpw", "p" * 1024, Throttle()).name == "longpw"


def test_wrong_passwords_are_slowed_down(accounts):
    add_user("qu", "district", "the right password")
    throttle = Throttle()
    for _ in range(Throttle.FREE):
        with pytest.raises(AccountError, match="账号或密码错误"):
            authenticate("qu", "wrong password", throttle)
    with pytest.raises(AccountError, match="秒后再试"):
        authenticate("qu", "the right password", throttle)
    assert throttle.wait_seconds("qu") > 0
    assert throttle.wait_seconds("other") == 0
    with pytest.raises(AccountError, match="账号或密码错误"):
        authenticate("nobody", "whatever", Throttle())


def test_first_run_creates_one_admin_with_a_random_password(accounts):
    name, password = ensure_first_admin()
    assert name == "admin" and len(password) >= 16
    assert authenticate("admin", password, Throttle()).may_administer
    assert ensure_first_admin() is None
    assert list(users()) == ["admin"]


def test_user_add_cli_reads_the_password_from_stdin_and_audits(accounts, tmp_path):
    db = tmp_path / "db.duckdb"
    result = subprocess.run([sys.executable, "-m", "etl", "user", "add", "penglaige", "--role", "street",
                             "--street", "蓬莱阁街道", "--password-stdin", "--db", str(db)],
                            input="a fine password\n", capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert authenticate("penglaige", "a fine password", Throttle()).street == "蓬莱阁街道"
    assert audit.entries(db)[0]["event"] == "新增账号"


def test_concurrent_attempts_cannot_all_pass_the_check(accounts, monkeypatch):
    """Sixteen attempts at once after the free ones: the check and the count are one step, so
    none of them is checked against the password, the right one included."""
    from concurrent.futures import ThreadPoolExecutor

    add_user("qu", "district", "the right password")
    throttle = Throttle()
    for _ in range(Throttle.FREE):
        with pytest.raises(AccountError):
            authenticate("qu", "wrong password", throttle, client="10.0.0.9")

    def attempt(_):
        try:
            return authenticate("qu", "the right password", throttle, client="10.0.0.9")
        except Throttled:
            return "throttled"

    with ThreadPoolExecutor(16) as pool:
        assert list(pool.map(attempt, range(16))) == ["throttled"] * 16
    # Another client signs in to the same account meanwhile.
    assert authenticate("qu", "the right password", throttle, client="10.0.0.1").name == "qu"


def test_one_client_spraying_names_is_slowed_down_and_others_are_not():
    throttle = Throttle()
    now = 1_000_000.0
    for i in range(Throttle.CLIENT_FREE):
        assert throttle.begin(f"name{i}", "10.0.0.9", now=now) == 0
    assert throttle.begin("admin", "10.0.0.9", now=now) == 2.0  # 2 s after the 10th failure
    assert throttle.begin("admin", "10.0.0.1", now=now) == 0
    throttle.succeeded("admin", "10.0.0.1")
    assert throttle.wait_seconds("admin", "10.0.0.1", now=now) == 0
    # After the wait, one more try; each further failure doubles the wait.
    assert throttle.begin("admin", "10.0.0.9", now=now + 2) == 0
    assert throttle.begin("admin", "10.0.0.9", now=now + 2) == 4.0


def test_at_most_two_passwords_are_hashed_at_once(accounts, monkeypatch):
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from access import accounts as module

    running, most = 0, 0
    lock = threading.Lock()
    real = module.HASHER

    class Counting:
        def verify(self, stored, password):
            nonlocal running, most
            with lock:
                running += 1
                most = max(most, running)
            time.sleep(0.05)
            with lock:
                running -= 1
            return real.verify(stored, password)

    add_user("qu", "district", "the right password")
    monkeypatch.setattr(module, "HASHER", Counting())
    with ThreadPoolExecutor(12) as pool:
        refused = list(pool.map(lambda i: pytest.raises(AccountError, authenticate, "qu", "wrong password",
                                                        Throttle(), client=f"10.0.0.{i}"), range(12)))
    assert most == 2 and len(refused) == 12


def test_an_invented_name_is_refused_as_slowly_as_a_real_check_but_never_hashed(accounts, monkeypatch):
    import time

    from access import accounts as module

    add_user("qu", "district", "the right password")
    started = time.perf_counter()
    with pytest.raises(AccountError, match="账号或密码错误"):
        authenticate("qu", "wrong password", Throttle())
    real = time.perf_counter() - started
    monkeypatch.setattr(module, "HASHER", None)  # any hashing now fails with AttributeError
    started = time.perf_counter()
    with pytest.raises(AccountError, match="账号或密码错误"):
        authenticate("nobody", "wrong password", Throttle())
    assert time.perf_counter() - started > real / 3
