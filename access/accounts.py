"""Accounts, roles and what each role may do; passwords are kept only as argon2id hashes.

Accounts live in a TOML file outside the repository's tracked files (default
`.streamlit/accounts.toml`, or DASHBOARD_ACCOUNTS), written by `python -m etl user add`:

    [users.dengzhou]
    role = "street"
    street = "登州街道"
    password_hash = "$argon2id$v=19$..."
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomli_w
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from filelock import FileLock

from settings import accounts_path, reference

ROLES = {
    "district": "区级领导(全部街道，只读)",
    "street": "街道领导(本街道，只读)",
    "analyst": "数据专员(全部街道，可导入/撤销数据)",
    "admin": "管理员(账号管理，并可导入数据)",
}
# What a role may do beyond reading the pages.
MAY_LOAD = {"analyst", "admin"}
MAY_ADMINISTER = {"admin"}
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_-.")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # the sign-in refuses longer ones unhashed (dashboard/auth.py)

HASHER = PasswordHasher()


class AccountError(ValueError):
    """An account that cannot be made or used as asked; the message is in Chinese."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    street: str | None = None

    @property
    def may_load(self) -> bool:
        return self.role in MAY_LOAD

    @property
    def may_administer(self) -> bool:
        return self.role in MAY_ADMINISTER

    @property
    def scope_street(self) -> str | None:
        """The one street this user may see, or None for all streets."""
        return self.street if self.role == "street" else None


def _read(path: Path) -> dict:
    if not path.exists():
        return {}
    with open(path, "rb") as f:
        return tomllib.load(f).get("users", {})


def users(path: Path | None = None) -> dict[str, User]:
    """Every account (without its hash)."""
    return {name: User(name, entry["role"], entry.get("street")) for name, entry in _read(path or accounts_path()).items()}


def add_user(name: str, role: str, password: str, street: str | None = None, path: Path | None = None) -> User:
    """Create or replace an account (its password hashed with argon2id)."""
    path = path or accounts_path()
    if not name or set(name) - USERNAME_CHARS or len(name) > 32:
        raise AccountError("账号名只能由小写字母、数字、下划线、连字符和点组成(最多 32 个字符)。")
    if role not in ROLES:
        raise AccountError(f"未知角色：{role}(可选：{'、'.join(ROLES)})")
    if role == "street":
        if street not in reference()["streets"]:
            raise AccountError(f"街道账号必须指定一个街道(可选：{'、'.join(reference()['streets'])})")
    elif street:
        raise AccountError("只有 street 角色的账号才指定街道。")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少 {MIN_PASSWORD} 个字符。")
    if len(password) > MAX_PASSWORD:  # it could never sign in
        raise AccountError(f"密码最多 {MAX_PASSWORD} 个字符。")
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        entries = _read(path)
        entries[name] = {"role": role, "password_hash": HASHER.hash(password), **({"street": street} if street else {})}
        _write(path, entries)
    return User(name, role, street)


def _write(path: Path, entries: dict) -> None:
    """Replace the accounts file atomically (owner-only); the caller holds its lock."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        tomli_w.dump({"users": entries}, f)
    os.replace(temporary, path)


def session_stamp(name: str, path: Path | None = None) -> str | None:
    """What a signed-in session of `name` is bound to: a digest of the account's password hash and
    its session generation. A new password or end_sessions() changes it, and with it every open
    session and every remembered sign-in of the account ends. None for an unknown account."""
    entry = _read(path or accounts_path()).get(name)
    if entry is None:
        return None
    material = f"{entry.get('password_hash', '')}|{entry.get('session_generation', 0)}"
    return hashlib.sha256(material.encode()).hexdigest()[:24]


def end_sessions(name: str, path: Path | None = None) -> None:
    """End every session of `name`, in every browser (sign-out): its session generation moves on."""
    path = path or accounts_path()
    with FileLock(str(path) + ".lock"):
        entries = _read(path)
        if name in entries:
            entries[name]["session_generation"] = int(entries[name].get("session_generation", 0)) + 1
            _write(path, entries)


def ensure_first_admin(path: Path | None = None) -> tuple[str, str] | None:
    """With no account at all, create `admin` with a random password and return (name, password)
    so the person who started the dashboard can sign in; otherwise None."""
    path = path or accounts_path()
    if users(path):
        return None
    password = secrets.token_urlsafe(12)
    add_user("admin", "admin", password, path=path)
    return "admin", password


class Throttled(AccountError):
    """Too many wrong passwords lately: the attempt was refused without checking it."""


class Throttle:
    """Slows down a burst of wrong passwords: after FREE failures within WINDOW seconds, each
    further attempt must wait 2, 4, 8 … seconds (at most MAX_WAIT).

    Failures count per account *from one client* (so a flood against `admin` from one address
    never locks the admin out at another) and per client over every account (so one address
    cannot try a password against many names); a client's own allowance is CLIENT_FREE. An
    attempt is counted as failed the moment it is let through (`begin`, atomically with the
    check) and forgiven only if it succeeds: concurrent attempts cannot all pass the check
    before the first of them is counted."""

    FREE, CLIENT_FREE, WINDOW, MAX_WAIT = 3, 10, 900, 300
    _PRUNE_AT = 10_000  # keys kept before expired ones are dropped (a flood of invented names)

    def __init__(self):
        self._failures: dict[tuple, list[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def keys(name: str, client: str | None = None) -> list[tuple]:
        return [("account", name, client)] + ([("client", client)] if client else [])

    def _wait(self, key: tuple, now: float) -> float:
        recent = [t for t in self._failures.get(key, []) if now - t < self.WINDOW]
        if recent:
            self._failures[key] = recent
        else:
            self._failures.pop(key, None)
        free = self.CLIENT_FREE if key[0] == "client" else self.FREE
        if len(recent) < free:
            return 0.0
        wait = min(2.0 ** (len(recent) - free + 1), self.MAX_WAIT)
        return max(0.0, recent[-1] + wait - now)

    def wait_seconds(self, name: str, client: str | None = None, now: float | None = None) -> float:
        now = now or time.time()
        with self._lock:
            return max(self._wait(key, now) for key in self.keys(name, client))

    def begin(self, name: str, client: str | None = None, now: float | None = None) -> float:
        """0 and the attempt counted as a failure until `succeeded`, or the seconds still to wait."""
        now = now or time.time()
        with self._lock:
            if len(self._failures) > self._PRUNE_AT:
                for key in list(self._failures):
                    self._wait(key, now)
            wait = max(self._wait(key, now) for key in self.keys(name, client))
            if wait > 0:
                return wait
            for key in self.keys(name, client):
                self._failures.setdefault(key, []).append(now)
            return 0.0

    def succeeded(self, name: str, client: str | None = None) -> None:
        """The account's failures from this client are forgiven, and this attempt from the client's."""
        with self._lock:
            account, *rest = self.keys(name, client)
            self._failures.pop(account, None)
            for key in rest:
                if self._failures.get(key):
                    self._failures[key].pop()


# Password hashing costs 64 MiB and a core for a moment: at most two run at once, whatever the
# number of attempts, so a flood costs the attacker time and not the server memory. An attempt
# that cannot start hashing within HASH_QUEUE_SECONDS is refused (and counted as failed).
HASHING = threading.BoundedSemaphore(2)
HASH_QUEUE_SECONDS = 30
_CHECK_SECONDS: list[float] = []  # how long recent real password checks took


def _check_seconds() -> float:
    """How long a real password check takes on this machine (the median of recent ones)."""
    if not _CHECK_SECONDS:
        _timed(lambda: HASHER.hash(secrets.token_urlsafe(12)))
    recent = sorted(_CHECK_SECONDS[-20:])
    return recent[len(recent) // 2]


def _timed(check) -> None:
    """Run one password check under HASHING and note how long it took."""
    if not HASHING.acquire(timeout=HASH_QUEUE_SECONDS):
        raise AccountError("登录的人太多，请稍后再试。")
    started = time.perf_counter()
    try:
        check()
    finally:
        _CHECK_SECONDS.append(time.perf_counter() - started)
        del _CHECK_SECONDS[:-20]
        HASHING.release()


def authenticate(name: str, password: str, throttle: Throttle, path: Path | None = None,
                 client: str | None = None) -> User:
    """The user, or AccountError with a message that does not tell which part was wrong
    (Throttled when it came too soon after wrong passwords).

    A name that is no account takes as long to refuse as a real check (so timing does not reveal
    names) but only waits: a flood of invented names costs neither memory nor a place in the
    hashing queue ahead of real users."""
    wait = throttle.begin(name, client)
    if wait > 0:
        raise Throttled(f"密码错误次数过多，请 {int(wait) + 1} 秒后再试。")
    entry = _read(path or accounts_path()).get(name)
    try:
        if entry is None:
            time.sleep(_check_seconds())
            raise VerificationError()
        _timed(lambda: HASHER.verify(entry["password_hash"], password))
    except (VerificationError, InvalidHashError) as exc:
        raise AccountError("账号或密码错误。") from exc
    throttle.succeeded(name, client)
    return User(name, entry["role"], entry.get("street"))
