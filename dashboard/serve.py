"""`python -m dashboard.serve [streamlit options]`: `streamlit run app.py`, with the app's pages
known only through app.py's navigation from the first request on.

Streamlit takes an app with a `pages/` folder beside its script for an old-style multipage app
until some session has run `st.navigation`. The first request after a start that asks for a page
URL (every open tab, reconnecting after a restart) would then run that page's file without
app.py, and its first screen would list the page files in English (admin, data desk …) beside
the sign-in. Told here, before the server starts, the process never enters that mode.
"""

from __future__ import annotations

import sys
from pathlib import Path

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

APP = Path(__file__).resolve().parent.parent / "app.py"


def main() -> None:
    PagesManager.uses_pages_directory = False
    sys.argv = ["streamlit", "run", str(APP), *sys.argv[1:]]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
