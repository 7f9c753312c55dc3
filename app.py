"""Autograd Explorer: the entry point. Each page is one file under pages/."""

import streamlit as st

from engine import warm_up

st.set_page_config(page_title="Autograd Explorer", page_icon="∂", layout="wide")


@st.cache_resource(show_spinner=False)
def _start_workers() -> bool:
    """Start the program workers once per server process, before the first learner runs."""
    warm_up()
    return True


_start_workers()
st.navigation([
    st.Page("pages/playground.py", title="Playground", icon=":material/science:", default=True),
]).run()
