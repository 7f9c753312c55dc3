"""A pan-and-zoom view of the autograd graph inside the page, for graphs bigger than it.

``st.graphviz_chart`` shows a graph at its drawn size (app.py), so an MLP's graph is
wider than its column and scrolls. This view lets the learner drag, zoom (Ctrl/⌘ +
wheel, the wheel after a click on the graph, buttons), fit, reset and jump to a node by
its name; the plain wheel still scrolls the page. It is an iframe
(``st.iframe`` with the HTML text) because the pan-and-zoom script needs a document of
its own. That iframe runs scripts with access to the app's origin, which is why
``pan_zoom_html`` only ever embeds the SVG the ``dot`` program wrote (every label is an
XML entity there) and refuses any SVG holding a script, style or foreign object.
"""

from __future__ import annotations

import graphviz
import streamlit as st

from graphviz_utils import THEMES, describe_dot, pan_zoom_html

NO_VIEW_MESSAGE = (
    "The zoomable view needs Graphviz's `dot` program (install the `graphviz` system "
    "package: apt-get install graphviz, brew install graphviz or conda install graphviz) "
    "or the Graphviz WebAssembly file shipped in graphviz_utils/vendor/, and neither can "
    "be used here ({reason}), so the graph can only be shown scaled to the column.")


def show_zoomable(dot: graphviz.Digraph | str, theme: str, height: int = 560) -> None:
    """The graph in a ``height`` px tall view with pan, zoom, Fit, Reset and "Zoom to…",
    in the colours of ``theme`` (a name in ``graphviz_utils.THEMES``)."""
    look = THEMES[theme]
    try:
        page = pan_zoom_html(dot, height_px=height, background=look.background,
                             text_colour=look.text)
    except OSError as exc:  # no dot, and the vendored layout script is missing
        st.info(NO_VIEW_MESSAGE.format(reason=exc))
        return
    source = dot if isinstance(dot, str) else dot.source
    st.iframe(page, height=height, alt=describe_dot(
        source, "Autograd graph on a pan-and-zoom canvas (drag to move, Ctrl + wheel to zoom)"))
