"""The Playground's views of one run's graph, one function each (ui.share.VIEWS names them).

    graph      the annotated grad_fn graph (names, shapes, values, gradients)
    steps      the backward pass node by node, with the chain rule at each node
    written    the statements as written beside what autograd recorded, and where they part
    zoom       the annotated graph on a pan-and-zoom canvas, for graphs larger than a screen
    gradient   the graph autograd records for the gradient itself (create_graph=True)

Each returns what it drew as a :class:`Shown`, so the Export menu offers exactly the graph
on the screen. UI only: the data comes from the engine, the DOT from graphviz_utils.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import graphviz
import streamlit as st

import engine
from engine import RunResult
from engine.errors import ProgramRefused
from graphviz_utils import describe_dot, to_dot, written_dot
from graphviz_utils.size import estimated_width_px
from ui import zoom
from ui.choices import one_choice
from ui.show import Setup, graph_theme, show_graph
from ui.steps_view import show_steps

# The key of the container every view draws in: app.py's style sheet finds the graphs
# there that get WIDE_GRAPH_HINT when they are wider than their column (no quotes: it is
# a CSS string).
GRAPH_VIEW_KEY = "graph_view"
WIDE_GRAPH_HINT = ("↔ Wider than this column: scroll sideways (Shift + wheel), or see "
                   "the whole graph in the Pan and zoom view.")


# The column beside the Playground's editor on a laptop, sidebar open: 415 px in a
# 1280 px window, 481 px at 1400 (measured in Chromium).
BESIDE_EDITOR_PX = 440


def fits_beside_editor(dot: graphviz.Digraph) -> bool:
    """Whether the annotated graph, at its own size, fits the column beside the editor.
    Graphs are never shrunk below readable type, so one that does not fit goes across
    the page below instead of showing a slice of itself in a narrow column."""
    return estimated_width_px(dot.source) <= BESIDE_EDITOR_PX


@dataclass(frozen=True)
class Shown:
    """The graph a view drew (None when it drew none) and the backward step it showed."""

    dot: graphviz.Digraph | None = None
    step: int | None = None
    title: str = "autograd graph"
    theme: str = "light"  # the graph's theme: the exported page gets its background


# The toggle that draws every iteration of a loop instead of folding the repeated ones.
UNFOLD_KEY = "pg_unfold_loops"
FOLDED_FROM = 4  # iterations: a loop this long has repeated middle ones to fold


def fold_loops() -> bool:
    """Whether loops are drawn folded: yes, unless the learner unfolded them."""
    return not st.session_state.get(UNFOLD_KEY, False)


# How a model's module calls are drawn (graphviz_utils Style.modules), offered only when
# the program called a module.
MODULES_KEY = "pg_modules"
MODULE_MODES = {"boxes": "Boxes", "collapsed": "Collapsed"}


def module_mode() -> str:
    """"collapsed" when the learner chose it, else "boxes" (the default)."""
    return "collapsed" if st.session_state.get(MODULES_KEY) == "collapsed" else "boxes"


def _modules_control(result: RunResult) -> None:
    """Modules: boxes (a frame around each call's operations) or collapsed (each layer
    one box named by its label), only when the graph has module calls."""
    if result.graph.get("modules"):
        one_choice(st, "Modules", list(MODULE_MODES), key=MODULES_KEY, default="boxes",
                   format_func=MODULE_MODES.__getitem__,
                   help="Boxes: a frame around each module call's operations and "
                        "parameters. Collapsed: each layer drawn as one box.")


def backward_calls(result: RunResult) -> int:
    """How many times the program called backward() itself (RunResult.grad_events)."""
    return sum(1 for event in result.grad_events if event.get("kind") == "backward")


def show_view(view: str, setup: Setup, result: RunResult, projector: bool,
              wrt: str | None, annotated: graphviz.Digraph | None = None,
              on_shown: Callable[[Shown], None] | None = None) -> Shown:
    """Draw ``view``; ``annotated`` is the annotated graph when the page already built it
    (to decide where it goes). ``on_shown`` hears of a graph a view redrew on its own
    (a backward step reruns the steps view alone)."""
    with st.container(key=GRAPH_VIEW_KEY):
        calls = backward_calls(result)
        if calls > 1:  # a training loop: each call drew a graph, and backward freed it
            which = f"call {result.graph_step}'s" if result.graph_step else "the last one's"
            st.caption(f":material/history: backward() ran {calls} times; this graph is "
                       f"{which}, with the values and gradients it had then.")
        return _show_view(view, setup, result, projector, wrt, annotated, on_shown)


def _unfold_toggle(result: RunResult) -> None:
    """"Draw every iteration", only where the graph holds enough of a loop's runs to
    fold (a training loop's graph holds only the last run: nothing to unfold)."""
    runs = Counter(node.get("name") for node in result.graph.get("nodes", [])
                   if node.get("iteration"))
    if max(runs.values(), default=0) >= FOLDED_FROM:
        st.toggle("Draw every iteration of the loop", key=UNFOLD_KEY,
                  help="Off: the loop's repeated middle iterations are one purple box.")


def _show_view(view: str, setup: Setup, result: RunResult, projector: bool,
               wrt: str | None, annotated: graphviz.Digraph | None,
               on_shown: Callable[[Shown], None] | None) -> Shown:
    theme = graph_theme(projector)
    if view == "steps":
        def stepped(step: int, dot: graphviz.Digraph) -> None:
            if on_shown is not None:
                on_shown(Shown(dot, step, f"backward step {step}", theme))

        step, dot = show_steps(result, projector, stepped)
        return Shown(dot, step, f"backward step {step}", theme)
    if view == "written":
        return show_written(result, theme, setup.source)
    if view in ("graph", "zoom"):
        _unfold_toggle(result)
        _modules_control(result)
    if view == "zoom":
        dot = to_dot(result, theme=theme, fold_loops=fold_loops(), modules=module_mode())
        zoom.show_zoomable(dot, theme, height=720 if projector else 600)
        return Shown(dot, theme=theme)
    if view == "gradient":
        return show_gradient_graph(setup, result, wrt, theme)
    return Shown(show_graph(result, projector, dot=annotated), theme=theme)


def show_written(result: RunResult, theme: str, source: str | None = None) -> Shown:
    """What the learner wrote beside what autograd recorded, then every place they part
    ways, in a sentence each (``source``: the program, so lines that never ran show)."""
    written = written_dot(result, theme=theme, source=source)
    recorded = to_dot(result, theme=theme)
    # Side by side, except in the projector's large type: half a projector's width shows
    # a sliver of a graph drawn that large, so there each gets the full width.
    left, right = ((st.container(), st.container()) if theme == "projector"
                   else st.columns(2, gap="large"))
    with left:
        st.markdown("##### What you wrote")
        st.caption("One box per input and per line that assigns a variable; arrows "
                   "follow the names each line reads.")
        st.graphviz_chart(written.source, width="content",
                          alt=describe_dot(written.source, "The program as written"))
    with right:
        st.markdown("##### What autograd recorded")
        st.caption("One box per operation torch recorded (its grad_fn); backward walks "
                   "these arrows in reverse.")
        st.graphviz_chart(recorded.source, width="content",
                          alt=describe_dot(recorded.source, "What autograd recorded"))
    differences = engine.differences(result, source)
    if not differences:
        st.success("Here the two agree: every line you wrote was recorded, one operation "
                   "per line.", icon=":material/check_circle:")
    for difference in differences:
        st.markdown(f"- {difference.sentence}")
    return Shown(written, title="what you wrote", theme=theme)


def show_gradient_graph(setup: Setup, result: RunResult, wrt: str | None,
                        theme: str) -> Shown:
    """The graph of d output / d wrt, recorded because backward ran with
    create_graph=True: differentiating it again gives f''."""
    if wrt is None:
        st.info("The gradient's graph needs a single-number input that requires grad "
                "(the same one the curves vary).", icon=":material/info:")
        return Shown()
    try:
        gradient = engine.gradient_graph(
            setup.source, setup.values, wrt, output=setup.output, no_grad=setup.no_grad,
            detach=setup.detach, requires_grad=setup.requires_grad)
    except ProgramRefused as refusal:
        st.info(refusal.error.message, icon=":material/info:")
        return Shown()
    if gradient.error is not None:
        st.info(gradient.error.message, icon=":material/info:")
        return Shown()
    output = result.output_name or "output"
    st.caption(f"With `create_graph=True`, backward is itself recorded: the gradient "
               f"d{output}/d{wrt} is a tensor with its own grad_fn graph, drawn here. "
               f"Running backward through it gives the second derivative: "
               f"the .grad in {wrt}'s box is d²{output}/d{wrt}².")
    dot = to_dot(gradient, theme=theme)
    title = f"Autograd graph of d{output}/d{wrt}"
    st.graphviz_chart(dot.source, width="content", alt=describe_dot(dot.source, title))
    return Shown(dot, title=f"graph of d{output}/d{wrt}", theme=theme)
