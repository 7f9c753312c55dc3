"""The floor a first visit is measured against (bench/browser.py): a bare Streamlit page
with what the Playground's default view paints first and nothing else of ours, the same
graph and the same kind of plot, in one st.graphviz_chart and one st.plotly_chart.

The DOT is the one the Playground draws for its default program (``y = x**2;
z = torch.sin(y)`` at x = 4, light theme), built by graphviz_utils from a real run, so
the page lays out the same graph in the same WebAssembly; the figure is the Playground's
f plot (ui.plots) over its default range, with the curve computed in numpy. Both are
built once per server process: what the page then costs is Streamlit's own. Run from the
repository root (tests/e2e/server.py does) so it gets the app's config and theme.
"""

import numpy as np
import streamlit as st

from engine import run_program
from graphviz_utils import describe_dot, to_dot
from ui.plots import CurveView, describe_function, function_figure
from ui.share import PlaygroundState
from ui.show import CURVE_POINTS, default_range

st.set_page_config(page_title="Bare page", layout="wide")


@st.cache_resource(show_spinner=False)
def _dot() -> str:
    """The Playground's default graph (its program and input, run in this process)."""
    state = PlaygroundState()
    return to_dot(run_program(state.code, dict(state.values), isolate=False),
                  theme="light").source


@st.cache_resource(show_spinner=False)
def _view() -> CurveView:
    """sin(x**2) and its derivative over the Playground's default range around x = 4."""
    x0 = float(PlaygroundState().values["x"])
    xs = np.linspace(*default_range(x0), CURVE_POINTS)
    dys = 2 * xs * np.cos(xs**2)
    return CurveView("x", "z", xs, np.sin(xs**2), dys, x0, float(np.sin(x0**2)),
                     float(2 * x0 * np.cos(x0**2)), hand_dys=dys)


st.title("Bare page")
dot = _dot()
st.graphviz_chart(dot, width="content", alt=describe_dot(dot, "Autograd graph"))
st.plotly_chart(function_figure(_view()), width="stretch", alt=describe_function(_view()))
