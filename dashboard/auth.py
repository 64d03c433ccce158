"""Who is signed in (`current_user()`, `session_user()`), the sign-in page, sign-out, idle
expiry, the remembered-browser cookie, and what each role may open (`PAGE_PERMISSIONS`, checked by
`require()`). A street user's street is applied where Scopes are built (dashboard/state.py and
the weekly report page), not here.
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from access import audit
from access.accounts import (
    MAX_PASSWORD,
    ROLES,
    AccountError,
    Throttle,
    Throttled,
    authenticate,
    end_sessions,
    session_stamp,
    users,
)
from dashboard import remember
from settings import accounts_path, database_path, idle_minutes, proxy_header

USER_KEY = "user"
ACTIVE_KEY = "_auth_active_at"  # time of the session's last run (clock())
CHECKED_KEY = "_auth_checked"  # signed in through the form: re-checked against the accounts file
NOTICE_KEY = "_auth_notice"  # a sentence for the sign-in page (signed out, expired)
ERROR_KEY = "_auth_error"  # why the last attempt failed
STAMP_KEY = "_auth_stamp"  # the account's session stamp when this session signed in
COOKIE_AT_KEY = "_auth_cookie_at"  # when this session last stored its token in the browser (clock())
FORGET_KEY = "_auth_forget"  # signed out here: remove the token, and never sign in from it again
SCRIPT_KEY = "_auth_cookie_script"  # the script that stored it (drawn again until the next refresh)
COOKIE_REFRESH = 60  # seconds between refreshes of the stored token while the user works
NAME_FIELD, PASSWORD_FIELD, SUBMIT = "sign_in_name", "sign_in_password", "sign_in_submit"

READ, LOAD, ADMINISTER = "read", "load", "administer"
# The pages that need more than READ, by file name (= url path).
PAGE_PERMISSIONS = {"data_desk": LOAD, "admin": ADMINISTER}
MAX_NAME = 64  # longer typed names are cut (longer passwords than MAX_PASSWORD are refused unhashed)
REFUSAL = "无权访问此页面。"


def clock() -> float:
    """Seconds since the epoch (tests move it forward)."""
    return time.time()


def idle_seconds() -> float:
    return idle_minutes() * 60


_THROTTLE = Throttle()


def throttle() -> Throttle:
    """One throttle per server process: every browser session counts against the same account.

    A module-level object, not st.cache_resource: any browser, signed in or not, can send the
    server Streamlit's `clear_cache` message, which empties every st.cache_resource and would hand
    an attacker a fresh throttle whenever he liked."""
    return _THROTTLE


def client_address() -> str | None:
    """The address the sign-in came from, for the throttle: the websocket's peer; behind a proxy on
    this machine (Streamlit reports no address for loopback), the header the proxy sets, named by
    DASHBOARD_PROXY_HEADER (e.g. X-Real-IP) — read only when configured, or anyone on loopback
    could choose a new address for every attempt. None outside a browser or on loopback."""
    try:
        ip = st.context.ip_address
        header = proxy_header()
        if ip is None and header:
            ip = (st.context.headers.get(header) or "").split(",")[-1].strip()
    except Exception:  # outside a browser session: no address
        return None
    return ip if isinstance(ip, str) and ip else None  # (AppTest hands out a mock)


def role_name(role: str) -> str:
    """'区级领导' for 'district' (the part of ROLES before its explanation)."""
    return ROLES.get(role, role).split("(")[0]


def describe(user) -> str:
    """'dengzhou · 街道领导 · 登州街道'."""
    return " · ".join(part for part in (user.name, role_name(user.role), user.scope_street) if part)


# ---------------------------------------------------------------- who is signed in

def current_user():
    """The signed-in user of this browser session, or None: the one place pages ask."""
    return st.session_state.get(USER_KEY)


def scope_street() -> str | None:
    """The one street the signed-in user may see, or None (all streets, or nobody signed in)."""
    user = current_user()
    return user.scope_street if user is not None else None


def _audit(who: str, event: str, detail: str = "") -> None:
    ip = client_address()
    try:
        audit.record(database_path(), who or "(空)", event, detail + (f" 来自 {ip}" if ip else ""))
    except OSError:
        pass  # an unwritable log must not lock everyone out; loads keep their own record


def _end_session(notice: str | None) -> None:
    """Forget everything this browser session held (user, filters, widget state); the browser's
    token is removed on the sign-in page, and this session never signs in from it again."""
    st.session_state.clear()
    st.session_state[FORGET_KEY] = True
    if notice:
        st.session_state[NOTICE_KEY] = notice


def sign_out() -> None:
    """The sidebar's 退出登录 (an on_click callback): ends the account's sessions everywhere."""
    user = current_user()
    if user is not None:
        _audit(user.name, "sign_out")
        try:
            end_sessions(user.name)
        except Exception:  # an unwritable accounts file: this session still ends
            pass
    _end_session("已退出登录。")


def _stamp(name: str) -> str | None:
    try:
        return session_stamp(name)
    except Exception:  # an unreadable accounts file: trust nobody
        return None


def _remembered_user():
    """The user a reloaded browser's valid token names (signing this session in), or None."""
    if st.session_state.get(FORGET_KEY):
        return None
    found = remember.read(browser_token(), clock())
    if found is None:
        return None
    name, stamp = found
    try:
        user = users().get(name)
    except Exception:
        return None
    if user is None or not usable(user) or stamp != _stamp(name):
        return None
    _start_session(user, stamp)
    return user


def browser_token() -> str | None:
    """The token the browser sent when this session connected (its cookies of that moment)."""
    try:
        return st.context.cookies.get(remember.COOKIE)
    except Exception:  # no browser (tests, bare mode): nothing remembered
        return None


def _start_session(user, stamp: str | None) -> None:
    st.session_state[USER_KEY] = user
    st.session_state[CHECKED_KEY] = True
    st.session_state[STAMP_KEY] = stamp
    st.session_state[ACTIVE_KEY] = clock()
    st.session_state.pop(FORGET_KEY, None)
    st.session_state.pop(COOKIE_AT_KEY, None)


def remember_browser() -> None:
    """Store (or refresh, at most once a minute) the signed token in the browser of a signed-in
    session, so a reload within the idle limit keeps the user signed in; on the sign-in page,
    remove it. Drawn in a hidden container (in the sidebar for a signed-in user, so that the main
    area of a page holds only the page): it shows nothing."""
    user = current_user()
    if user is None:
        if not st.session_state.get(FORGET_KEY):
            return
        script = remember.cookie_script(None, 0)
    else:
        last = st.session_state.get(COOKIE_AT_KEY)
        now = clock()
        if last is not None and now - last < COOKIE_REFRESH:
            script = st.session_state.get(SCRIPT_KEY)
        else:
            token = remember.issue(user.name, st.session_state.get(STAMP_KEY) or "", now + idle_seconds())
            script = remember.cookie_script(token, int(idle_seconds()))
            st.session_state[COOKIE_AT_KEY] = now
            st.session_state[SCRIPT_KEY] = script
    with (st.sidebar if user is not None else st.container()).container(key="auth_cookie"):
        st.html(script, unsafe_allow_javascript=True)


def session_user():
    """The signed-in user for this run (what the router asks first), or None once the session has
    expired (the next interaction after DASHBOARD_IDLE_MINUTES without one) or the account has
    been removed, changed, given a new password or signed out elsewhere since signing in. A new
    browser session is signed in from the remembered cookie while it is valid."""
    user = current_user()
    if user is None:
        user = _remembered_user()
        if user is None:
            return None
    over = _over(user, st.session_state.get(ACTIVE_KEY), st.session_state.get(CHECKED_KEY),
                 st.session_state.get(STAMP_KEY))
    if over is not None:
        _audit(user.name, "sign_out", over[0])
        _end_session(over[1])
        return None
    st.session_state[ACTIVE_KEY] = clock()
    return user


def _over(user, last_active: float | None, checked: bool, stamp: str | None) -> tuple[str, str] | None:
    """Why a session signed in as `user` has ended (for the audit log, for the user), or None:
    idle past the limit since `last_active`, or (`checked`) its account removed, changed, given a
    new password or signed out elsewhere since it signed in with `stamp`."""
    if last_active is not None and clock() - last_active > idle_seconds():
        return (f"闲置超过 {idle_seconds() / 60:g} 分钟，自动退出",
                f"超过 {idle_seconds() / 60:g} 分钟未操作，已自动退出，请重新登录。")
    if checked:
        try:
            now_is = users().get(user.name)
        except Exception:  # an unreadable accounts file: trust nobody
            now_is = None
        if now_is != user or _stamp(user.name) != stamp:
            return "账号已被删除、修改、重设密码或在别处退出，自动退出", "账号信息已变更或已在别处退出，请重新登录。"
    return None


def still_allowed(permission: str) -> bool:
    """For a widget callback, which Streamlit runs before the router asks who is signed in: whether
    this session is still signed in with `permission` (ending it, as the router would, if not)."""
    return allowed(session_user(), permission)


class SessionEnded(Exception):
    """A download pressed in a session that has ended since its page was drawn."""


def download_guard(make):
    """`make` for a download button, made only while the session that drew the button is still
    signed in as it was then. The file is made when the button is pressed, in Streamlit's download
    thread, with no run of the page (so no `session_user()`): the same checks, made there on the
    session's state as it drew the button, refuse it once the session has ended."""
    context = get_script_run_ctx()
    state = context.session_state if context is not None else None
    user = current_user()
    checked, stamp = st.session_state.get(CHECKED_KEY), st.session_state.get(STAMP_KEY)

    def guarded():
        if state is not None:  # (None: not under a Streamlit runtime at all, as in unit tests)
            if user is None or USER_KEY not in state or state[USER_KEY] != user:
                raise SessionEnded
            if _over(user, state[ACTIVE_KEY] if ACTIVE_KEY in state else None, checked, stamp) is not None:
                raise SessionEnded
        return make()
    return guarded


# ---------------------------------------------------------------- permissions

def page_permission(page: str) -> str:
    """What a page (its file name or url path) needs."""
    return PAGE_PERMISSIONS.get(Path(page).stem, READ)


def usable(user) -> bool:
    """A known role, and a street user with a street: a hand-edited account that is neither gets
    nothing (a street account without its street must not read as “all streets”)."""
    return user is not None and user.role in ROLES and (user.role != "street" or bool(user.street))


def allowed(user, permission: str) -> bool:
    if not usable(user):
        return False
    if permission == LOAD:
        return user.may_load
    if permission == ADMINISTER:
        return user.may_administer
    return permission == READ


def require(permission: str) -> None:
    """Refuse the page (and stop the script) unless the signed-in user has `permission`: the one
    check, which the router makes before drawing anything of a page and layout.page_start() again
    inside it."""
    if not allowed(current_user(), permission):
        st.error(REFUSAL + ("请从左侧导航选择其他页面；如需此权限，请联系管理员。" if current_user() else "请先登录。"),
                 icon=":material/block:")
        st.stop()


# ---------------------------------------------------------------- the sign-in page

def _submit() -> None:
    """The 登录 button's callback: check the password before the script runs again."""
    name = (st.session_state.get(NAME_FIELD) or "").strip()
    password = st.session_state.get(PASSWORD_FIELD) or ""
    st.session_state[PASSWORD_FIELD] = ""
    st.session_state.pop(ERROR_KEY, None)
    st.session_state.pop(NOTICE_KEY, None)
    if not name or not password:
        st.session_state[ERROR_KEY] = "请输入账号和密码。"
        return
    name = name[:MAX_NAME]  # (account names have at most 32 characters)
    try:
        if len(password) > MAX_PASSWORD:  # not worth hashing: wrong, and counted as such
            throttle().begin(name, client_address())
            raise AccountError("账号或密码错误。")
        user = authenticate(name, password, throttle(), client=client_address())
    except AccountError as exc:
        st.session_state[ERROR_KEY] = str(exc)
        _audit(name, "sign_in_failed", "尝试过于频繁，已限速" if isinstance(exc, Throttled) else str(exc).rstrip("。"))
        return
    except Exception as exc:  # a damaged accounts file: nobody gets in, and nobody sees a traceback
        st.session_state[ERROR_KEY] = "账号文件无法读取，暂时无法登录，请联系管理员。"
        _audit(name, "sign_in_failed", f"账号文件无法读取({type(exc).__name__})")
        return
    if not usable(user):
        st.session_state[ERROR_KEY] = "此账号的角色或街道配置有误，暂时无法登录，请联系管理员。"
        _audit(name, "sign_in_failed", f"账号配置有误(角色 {user.role}，街道 {user.street or '无'})")
        return
    for key in (NAME_FIELD, PASSWORD_FIELD):
        st.session_state.pop(key, None)
    _start_session(user, _stamp(user.name))
    _audit(user.name, "sign_in", role_name(user.role) + (f" {user.scope_street}" if user.scope_street else ""))


def no_accounts() -> bool:
    try:
        return not users()
    except Exception:
        return False  # unreadable, not empty: the form says so when it is used


def _no_accounts_help() -> None:
    st.warning("还没有配置任何账号，暂时无法登录。", icon=":material/person_off:")
    st.markdown(
        "请管理员在服务器的项目目录中创建第一个账号：\n\n"
        "- 运行 `python -m etl user first-run`(`make run` 启动时会自动执行这一步)：创建管理员账号 `admin`，"
        "随机生成的密码**只在终端显示一次**；\n"
        "- 再为各位领导添加账号，例如 `python -m etl user add dengzhou --role street --street 登州街道`"
        "(角色：district 区级领导、street 街道领导、analyst 数据专员、admin 管理员)。\n\n"
        f"账号文件：`{accounts_path()}`(可用环境变量 `DASHBOARD_ACCOUNTS` 指定)。添加账号后刷新本页即可登录。"
    )


def sign_in_page() -> None:
    """The whole page a signed-out visitor sees. Wrong passwords are slowed down per account and
    client (throttle(), client_address()); every sign-in, failure and sign-out is audited."""
    _, middle, _ = st.columns([1, 1.1, 1])
    with middle:
        st.title("蓬莱网格治理驾驶舱")
        if no_accounts():
            _no_accounts_help()
            return
        st.caption("请使用管理员分配的账号登录。")
        notice = st.session_state.get(NOTICE_KEY)
        if notice:
            st.info(notice, icon=":material/logout:")
        with st.form("sign_in", enter_to_submit=True):
            st.text_input("账号", key=NAME_FIELD, autocomplete="username")
            st.text_input("密码", key=PASSWORD_FIELD, type="password", autocomplete="current-password")
            st.form_submit_button("登录", type="primary", key=SUBMIT, on_click=_submit, width="stretch")
        error = st.session_state.get(ERROR_KEY)
        if error:
            st.error(error, icon=":material/error:")
        st.caption("连续输错密码后需等待片刻再试。忘记密码请联系管理员重设。")


def account_box(user) -> None:
    """Who is signed in, and the sign-out button (sidebar)."""
    with st.sidebar:
        st.markdown(f":material/account_circle: **{user.name}**  \n{role_name(user.role)}"
                    + (f" · {user.scope_street}" if user.scope_street else ""))
        st.button("退出登录", key="sign_out", on_click=sign_out, icon=":material/logout:")
