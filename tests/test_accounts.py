"""Accounts: hashed passwords, roles and street scope, throttled wrong passwords, first run, audit."""

from __future__ import annotations

import subprocess
import sys

import pytest

from etl import audit
from etl.accounts import AccountError, Throttle, add_user, authenticate, ensure_first_admin, users


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
