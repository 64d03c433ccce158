"""蓬莱网格治理驾驶舱: the router. Pages live in pages/, shared parts in dashboard/."""

from pathlib import Path

import streamlit as st

from dashboard import data, layout, state

HERE = Path(__file__).parent
# A local icon: a :material/...: page icon is fetched from Google Fonts, which offline servers cannot reach.
st.set_page_config(page_title="蓬莱网格治理驾驶舱", page_icon=str(HERE / "dashboard/favicon.png"), layout="wide")

pages = {
    "治理驾驶舱": [
        st.Page(HERE / "pages/overview.py", title="总览", icon=":material/dashboard:", default=True),
        st.Page(HERE / "pages/appeals.py", title="诉求办理", icon=":material/support_agent:"),
        st.Page(HERE / "pages/property.py", title="物业治理", icon=":material/apartment:"),
        st.Page(HERE / "pages/compounds.py", title="小区画像", icon=":material/holiday_village:"),
        st.Page(HERE / "pages/satisfaction.py", title="满意度", icon=":material/sentiment_satisfied:"),
        st.Page(HERE / "pages/scenes.py", title="服务场景", icon=":material/diversity_3:"),
    ],
    # The data desk (数据管理) joins this section when its issue lands.
    "报告与数据": [
        st.Page(HERE / "pages/weekly_report.py", title="周报", icon=":material/description:"),
    ],
}
page = st.navigation(pages)

if not data.database_exists():
    layout.missing_database(data.db_path())
    st.stop()

state.sidebar(data.communities)
layout.banner()
page.run()
layout.footer()
