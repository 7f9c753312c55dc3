"""Autograd Explorer: the entry point. Each page is one file under app_pages/.

Not ``pages/``: Streamlit decides once per server process whether a ``pages/`` folder
exists, and until this file has called st.navigation it serves ``/vectors`` by running
pages/vectors.py on its own (auto-discovered menu, no layout, no styles). On a freshly
woken server every student opening a lesson link would get that until someone opened the
root URL. Under another name, every URL runs this file first.
"""

import gc

import streamlit as st

import ui.show  # noqa: F401 - torch, sympy, plotly, pandas: imported before the freeze below
from engine import warm_up
from ui.accessibility import ACCESSIBILITY_ASSETS
from ui.graph_views import GRAPH_VIEW_KEY, WIDE_GRAPH_HINT
from ui.guard import last_resort
from ui.presenter import STYLE_PARAM, presenter_assets, presenter_options

# A projector link opens with the sidebar folded: the room gets the whole width.
st.set_page_config(page_title="Autograd Explorer", page_icon="∂", layout="wide",
                   initial_sidebar_state="collapsed"
                   if st.query_params.get(STYLE_PARAM) == "projector" else "auto")


@st.cache_resource(show_spinner=False)
def _start_workers() -> bool:
    """Start the program workers once per server process, before the first learner runs.

    Then freeze what is in memory now (torch, sympy, plotly, Streamlit: about a million
    objects that live as long as the server), so Python's full garbage collections skip
    them: each walked all of them, 200+ ms holding the interpreter lock while every other
    session waited (bench/classroom.py found it; .streamlit/config.toml also turns off
    Streamlit's collection after every run). What a run creates is still collected."""
    warm_up()
    gc.collect()
    gc.freeze()
    return True


_start_workers()
# st.graphviz_chart styles every element inside its SVG with the app's font at 9.6px,
# which overrides the fonts and sizes graphviz_utils lays the graph out with (text then
# sits off-centre and the projector theme loses its large type). revert-layer gives the
# SVG's own font attributes back.
# It also caps the SVG at the column's width, squeezing a big graph's text to 6 px: the
# graph keeps dot's own size instead (text at least 13 px) and a wide one scrolls sideways
# in its own box, never the page. In the Playground such a box says so at its top, only
# while it does scroll (a scroll timeline is inactive without overflow, so the animation
# that gives the hint its height does nothing; display cannot be animated from none, and
# a browser without scroll timelines shows the scrollbar alone), pointing to Pan and zoom.
# Programs are code: the editor uses the app's monospace font.
APP_STYLES = ("<style>[data-testid='stGraphVizChart'] svg * "
        "{ font-family: revert-layer; font-size: revert-layer; }"
        "div[data-testid='stGraphVizChart'] { overflow-x: auto; }"
        "div[data-testid='stGraphVizChart'] svg { max-width: none; }"
        f".st-key-{GRAPH_VIEW_KEY} [data-testid='stGraphVizChart']::before {{"
        f" content: '{WIDE_GRAPH_HINT}'; display: block; position: sticky; left: 0;"
        " width: max-content; max-width: 100%; font-size: 0.875rem; opacity: 0.75;"
        " visibility: hidden; height: 0; overflow: hidden; }"
        "@keyframes graph-scrolls { from, to { visibility: visible; height: auto;"
        " margin-bottom: 0.25rem; } }"
        "@supports (animation-timeline: scroll()) {"
        f" .st-key-{GRAPH_VIEW_KEY} [data-testid='stGraphVizChart']::before {{"
        " animation: graph-scrolls linear both; animation-timeline: scroll(nearest x); } }"
        "[data-testid='stTextArea'] textarea { font-family: 'Source Code Pro', monospace; }"
        # A formula wider than its column is drawn smaller (ui/presenter.js), then
        # scrolls in its own box: KaTeX alone cuts it at the column's edge.
        ".katex-display, [data-testid='stMarkdownContainer'] p:has(> .katex)"
        " { overflow-x: auto; overflow-y: hidden; }"
        "[data-testid='stMarkdownContainer'] p:has(> .katex) { padding: 0.3em 0; }"
        "</style>")
PLAYGROUND = st.Page("app_pages/playground.py", title="Playground", icon=":material/science:",
                     default=True)
# One lesson per section of the seed notebook, in its order. A new lesson: one file in
# app_pages/ and one line here.
LESSONS = [
    st.Page("app_pages/derivatives.py", title="1. Derivatives", icon=":material/show_chart:"),
    st.Page("app_pages/chain_rule.py", title="2. Chain rule: BCE neuron",
            icon=":material/link:"),
    st.Page("app_pages/vectors.py", title="3. Vectors", icon=":material/data_array:"),
    st.Page("app_pages/accumulation.py", title="4. Gradients add up", icon=":material/add:"),
    st.Page("app_pages/leaves.py", title="5. Leaves and .grad", icon=":material/eco:"),
    st.Page("app_pages/stopping_gradients.py", title="6. Stopping gradients",
            icon=":material/block:"),
    st.Page("app_pages/training_loop.py", title="7. The training loop",
            icon=":material/model_training:"),
]
page = st.navigation({"Explore": [PLAYGROUND], "Lessons": LESSONS})
with last_resort(page.title):
    # One element for every fixed style and script (the app's, accessibility's, the
    # presenter's): each element is a message and work on every rerun of every session.
    st.html(APP_STYLES + ACCESSIBILITY_ASSETS + presenter_assets(presenter_options()),
            unsafe_allow_javascript=True)
    page.run()
