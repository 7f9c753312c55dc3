"""A bare Streamlit app for the accessibility baseline: st.navigation with two trivial
pages and nothing of ours. tests/e2e/test_accessibility.py scans it with axe-core the way
it scans the app, so what Streamlit's own markup violates is told apart from ours. Run
from the repository root (tests/e2e/server.py does) so it gets the app's theme."""

import streamlit as st

st.set_page_config(page_title="Bare app", layout="wide")


def first() -> None:
    st.title("First page")
    st.write("Some text.")
    st.button("A button")


def second() -> None:
    st.title("Second page")
    st.write("More text.")


st.navigation({"Explore": [st.Page(first, title="First", default=True)],
               "More": [st.Page(second, title="Second")]}).run()
