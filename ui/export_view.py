"""The Export menu: the program as plain PyTorch a learner pastes into a notebook, and the
graph on the screen as DOT, SVG and a standalone HTML page.

UI only. The snippet comes from :func:`engine.teaching.snippet.to_python` (tests run it and
compare its numbers with the page's); the files from graphviz_utils. SVG and HTML are
made when their button is clicked (a callable ``data``): the HTML page inlines Graphviz's
WebAssembly build (0.8 MB), which would otherwise travel to the browser on every rerun.
"""

from __future__ import annotations

from functools import partial

import streamlit as st

from engine import RunResult
from engine.teaching.snippet import to_python
from graphviz_utils import THEMES, dot_installed, to_html, to_svg
from ui.graph_views import Shown
from ui.show import Setup

FILE_STEM = "autograd_explorer"
EXPORT_MENU_KEY = "pg_export_menu"  # the menu's popover: open or not


@st.cache_data(max_entries=256, show_spinner=False)
def snippet(setup: Setup, _result: RunResult) -> str:
    """The page's program, inputs and switches as a runnable script. Cached by the setup
    alone (the run is what the setup gives): the menu's contents run on every rerun,
    open or not."""
    result = _result
    return to_python(setup.source, setup.values, constants=setup.constants,
                     no_grad=setup.no_grad, detach=setup.detach,
                     retain_grad=setup.retain_grad, output=setup.output, result=result)


def show_export(setup: Setup, result: RunResult, shown: Shown) -> None:
    """The menu's contents (the page puts them in a popover): every button first, the
    script's text last (it is long; below it the graph's buttons would need a scroll)."""
    code = snippet(setup, result) if result.error is None or result.error.kind in (
        "autograd", "runtime") else None
    st.markdown("**As PyTorch**: paste into a notebook cell; it prints the numbers this "
                "page shows.")
    if code is None:
        st.caption("The program was refused, so there is nothing to export.")
    else:
        st.download_button("Download .py", code, file_name=f"{FILE_STEM}.py",
                           mime="text/x-python", icon=":material/code:", on_click="ignore",
                           width="stretch", key="pg_export_py")
    if shown.dot is not None:
        _graph_buttons(shown)
    if code is not None:
        st.code(code, language="python")


def _graph_buttons(shown: Shown) -> None:
    source = shown.dot.source
    st.markdown(f"**The graph on the screen** ({shown.title})")
    st.download_button("DOT (Graphviz source)", source, file_name=f"{FILE_STEM}.dot",
                       mime="text/vnd.graphviz", on_click="ignore", width="stretch",
                       key="pg_export_dot")
    if dot_installed():
        st.download_button("SVG (vector image)", partial(to_svg, source),
                           file_name=f"{FILE_STEM}.svg", mime="image/svg+xml",
                           on_click="ignore", width="stretch", key="pg_export_svg")
    else:
        st.caption("SVG needs Graphviz's dot program on the server; DOT and HTML work.")
    st.download_button("HTML (standalone, pan and zoom, works offline)",
                       partial(to_html, source, f"Autograd Explorer: {shown.title}",
                               THEMES[shown.theme].background),
                       file_name=f"{FILE_STEM}.html", mime="text/html", on_click="ignore",
                       width="stretch", key="pg_export_html")
