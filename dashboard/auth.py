"""Who is signed in (the sign-in flow itself: issue 6)."""

from __future__ import annotations

import streamlit as st

from etl.accounts import User

USER_KEY = "user"


def current_user() -> User | None:
    """The signed-in user of this browser session, or None."""
    return st.session_state.get(USER_KEY)
