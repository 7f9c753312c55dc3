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
# st.graphviz_chart styles every element inside its SVG with the app's font at 9.6px,
# which overrides the fonts and sizes graphviz_utils lays the graph out with (text then
# sits off-centre and the projector theme loses its large type). revert-layer gives the
# SVG's own font attributes back.
st.html("<style>[data-testid='stGraphVizChart'] svg * "
        "{ font-family: revert-layer; font-size: revert-layer; }</style>")
st.navigation([
    st.Page("pages/playground.py", title="Playground", icon=":material/science:", default=True),
]).run()
