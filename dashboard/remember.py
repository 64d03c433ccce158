"""The signed, expiring cookie that keeps a signed-in user signed in across a browser reload
(HMAC-SHA256 under a key beside the accounts file; a new password or a sign-out anywhere
revokes every copy through the account's session stamp). The README's Accounts section says why
it is made this way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from settings import accounts_path

COOKIE = "penglai_session"


def key_path() -> Path:
    path = accounts_path()
    return path.with_name(path.name + ".key")


def _key() -> bytes:
    path = key_path()
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_bytes()
    with os.fdopen(fd, "wb") as f:
        f.write(secrets.token_bytes(32))
    return path.read_bytes()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(payload: str) -> str:
    return _b64(hmac.new(_key(), payload.encode(), hashlib.sha256).digest())


def issue(name: str, stamp: str, expires: float) -> str:
    """A token for `name` whose account stamp is `stamp`, good until `expires` (epoch seconds)."""
    payload = _b64(json.dumps([name, stamp, int(expires)], ensure_ascii=False).encode())
    return f"{payload}.{_sign(payload)}"


def read(token: str | None, now: float) -> tuple[str, str] | None:
    """(name, stamp) of a genuine token that has not expired at `now`; None for anything else."""
    if not token or len(token) > 1000 or token.count(".") != 1:
        return None
    payload, signature = token.split(".")
    if not hmac.compare_digest(signature.encode(), _sign(payload).encode()):
        return None
    try:
        name, stamp, expires = json.loads(_unb64(payload))
    except (ValueError, TypeError):
        return None
    if not isinstance(name, str) or not isinstance(stamp, str) or not isinstance(expires, int) or expires < now:
        return None
    return name, stamp


def cookie_script(token: str | None, max_age: int) -> str:
    """The script that stores `token` in this browser (None: removes it)."""
    value = json.dumps(f"{COOKIE}={token or ''}; path=/; max-age={max_age if token else 0}; samesite=strict")
    return (f"<script>document.cookie = {value} + (location.protocol === 'https:' ? '; secure' : '');"
            "</script>")
