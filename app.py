"""蓬莱网格治理驾驶舱: the router. Pages live in pages/, shared parts in dashboard/.

Every run: who is signed in (dashboard.auth; idle sessions end here) → the sign-in page for a
visitor → the navigation of what the user's role may open → the page's permission checked
before anything of it is drawn → the shared filters, scoped to the user's street → the page.
"""

import logging
from pathlib import Path

# Imported before any session thread can: plotly checks for pandas in a way that sees a half-
# imported module when two first page views import it at once ("partially initialized module
# 'pandas'" right after a server start).
import pandas  # noqa: F401
import streamlit as st

from dashboard import auth, data, layout, state
from settings import SettingError

HERE = Path(__file__).parent
LOG = logging.getLogger("dashboard")
# A local icon: a :material/...: page icon is fetched from Google Fonts, which offline servers cannot reach.
st.set_page_config(page_title="蓬莱网格治理驾驶舱", page_icon=str(HERE / "dashboard/favicon.png"), layout="wide")

# (section, file, title, icon, uses the shared filters). What each page needs: auth.PAGE_PERMISSIONS.
PAGES = [
    ("治理驾驶舱", "overview", "总览", ":material/dashboard:", True),
    ("治理驾驶舱", "appeals", "诉求办理", ":material/support_agent:", True),
    ("治理驾驶舱", "alerts", "预警", ":material/notification_important:", True),
    ("治理驾驶舱", "property", "物业治理", ":material/apartment:", True),
    ("治理驾驶舱", "compounds", "小区画像", ":material/holiday_village:", True),
    ("治理驾驶舱", "satisfaction", "满意度", ":material/sentiment_satisfied:", True),
    ("治理驾驶舱", "scenes", "服务场景", ":material/diversity_3:", True),
    ("报告与数据", "weekly_report", "周报", ":material/description:", True),
    ("报告与数据", "data_desk", "数据管理", ":material/database_upload:", False),
    ("系统管理", "admin", "账号与审计", ":material/manage_accounts:", False),
]
USES_FILTERS = {name for _, name, _, _, filters in PAGES if filters}


def navigation(user):
    """Every page is registered (so a URL or switch_page reaches it and is refused), but only the
    pages the user may open are shown; a visitor sees none. Returns the page to run and its file name."""
    sections: dict[str, list] = {}
    hidden, names = [], {}
    for section, name, title, icon, _ in PAGES:
        shown = auth.allowed(user, auth.page_permission(name))
        page = st.Page(HERE / "pages" / f"{name}.py", title=title, icon=icon, default=name == "overview",
                       visibility="visible" if shown else "hidden")
        names[id(page)] = name
        (sections.setdefault(section, []) if shown else hidden).append(page)
    if not sections:
        chosen = st.navigation(hidden, position="hidden")
    else:
        sections[list(sections)[-1]].extend(hidden)  # hidden pages need a section, not a heading of their own
        chosen = st.navigation(sections)
    return chosen, names[id(chosen)]


def drawn_safely(part: str, page_name: str, draw, shown: str | None = None) -> str | None:
    """Draw a part of the page; what fails is one Chinese sentence (returned), never a traceback,
    and not said twice (the footer reads the same settings as most pages)."""
    try:
        draw()
    except SettingError as exc:  # a bad DASHBOARD_* value or data setting: the sentence names it
        LOG.error("%s of %s: %s", part, page_name, exc)
        message = str(exc)
    except Exception:  # whatever the data: a Chinese sentence on the page, the details in the server log
        LOG.exception("%s of %s failed", part, page_name)
        message = "此页面暂时无法显示，已记录错误详情，请稍后重试或联系管理员。"
    else:
        return None
    if message != shown:
        st.error(message, icon=":material/error:")
    return message


layout.style()
user = auth.session_user()
page, name = navigation(user)
auth.remember_browser()
if user is None:
    auth.sign_in_page()
    st.stop()

auth.account_box(user)
auth.require(auth.page_permission(name))

has_database = data.database_exists()
if has_database:
    data.begin_run()
if name in USES_FILTERS:
    if not has_database:
        layout.missing_database(data.db_path())
        st.stop()
    state.sidebar(data.communities, locked_street=user.scope_street)
if has_database:
    layout.banner()
failed = drawn_safely("page", name, page.run)
if has_database:
    drawn_safely("footer", name, layout.footer, failed)
