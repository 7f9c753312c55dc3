"""Step through backward: the graph as it stands after k nodes ran, and the chain rule
at the node running now.

UI only: the steps (torch's execution order, captured with grad_fn hooks, and the LaTeX
of each node's chain rule) come from the engine in ``result.graph["steps"]``; the
highlighted drawing comes from ``graphviz_utils.to_dot(result, step=k)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import graphviz
import streamlit as st

from engine import RunResult
from engine.running.summary import format_summary
from engine.teaching.steps import custom_backward
from graphviz_utils import describe_dot, to_dot
from ui.show import graph_theme, presenting

STEP_KEY = "pg_step"
STEPS_ROW = "pg_steps_row"
# On a phone the columns stack: the explanation and its buttons come first, the graph
# under them (Streamlit would put the graph's column first, the buttons a screen away).
STEPS_CSS = ("<style>"
             # Beside the graph, the explanation and its buttons stay in view while the
             # page scrolls to the running node (ui/presenter.js) or the learner scrolls.
             "@media (min-width: 641px) {"
             f" .st-key-{STEPS_ROW} [data-testid='stColumn']:last-child"
             " { position: sticky; top: 3.75rem; align-self: flex-start; } }"
             "@media (max-width: 640px) {"
             f" .st-key-{STEPS_ROW} > div > [data-testid='stHorizontalBlock'],"
             f" .st-key-{STEPS_ROW} > [data-testid='stHorizontalBlock']"
             " { flex-direction: column-reverse; } }</style>")


def clamp_step(step: int | None, count: int) -> int:
    """A step number that exists (1 to ``count``); a link may carry any number."""
    return min(max(step or 1, 1), max(count, 1))


def _move(delta: int | None, count: int) -> None:
    """Button callback: one step back or on, or to the first/last (``delta`` None)."""
    current = clamp_step(st.session_state.get(STEP_KEY), count)
    if delta is None:
        st.session_state[STEP_KEY] = count if current < count else 1
    else:
        st.session_state[STEP_KEY] = clamp_step(current + delta, count)


def step_controls(count: int) -> int:
    """The slider, then First / Back / Next / Last on a row of their own (at a
    projector's type size, buttons beside a slider are cut to "B…"), a row that stays a
    row on a phone (columns would stack the four buttons); returns the step to show
    (1-based)."""
    st.session_state[STEP_KEY] = clamp_step(st.session_state.get(STEP_KEY), count)
    if count > 1:
        st.slider("Backward step", 1, count, key=STEP_KEY,
                  help="Torch runs backward one node at a time, in this order.")
    else:
        st.caption("Backward has one step.")
    row = st.container(horizontal=True, gap="small")
    row.button("First", key="pg_step_first", width="stretch",
               on_click=st.session_state.__setitem__, args=(STEP_KEY, 1),
               help="Back to the first step: backward starts at the output.")
    row.button("Back", key="pg_step_back", icon=":material/chevron_left:", width="stretch",
               on_click=_move, args=(-1, count), disabled=count < 2)
    row.button("Next", key="pg_step_next", icon=":material/chevron_right:", width="stretch",
               on_click=_move, args=(1, count), disabled=count < 2)
    row.button("Last", key="pg_step_last", width="stretch",
               on_click=st.session_state.__setitem__, args=(STEP_KEY, count))
    return st.session_state[STEP_KEY]


def _node_words(step: dict[str, Any], nodes: dict[str, dict[str, Any]]) -> str:
    node = nodes.get(step["node"], {})
    name = node.get("name")
    # A loop's line made many boxes of this name: which run made this one.
    run = f" (iteration {node['iteration']})" if node.get("iteration") else ""
    what = "the leaf" if step["op"] == "AccumulateGrad" else node.get("label") or step["op"]
    if node.get("custom"):  # torch's LegendrePolynomial3Backward: the learner's class
        what = f"your {node['custom']['class']} Function"
    return f"{what} `{name}`{run}" if name else f"a {what} box"


def step_sentence(step: dict[str, Any], nodes: dict[str, dict[str, Any]]) -> str:
    """What happens at this step, in words."""
    arriving = format_summary(step["arriving"])
    here = _node_words(step, nodes)
    if step["op"] == "AccumulateGrad":
        return (f"The gradient {arriving} reaches {here}. Autograd adds it to "
                f"`{nodes.get(step['node'], {}).get('name') or 'the leaf'}.grad`: leaves "
                "are where gradients are kept.")
    sent = [s for s in step["sends"] if s["to"] and s["grad"] is not None]
    if step["order"] == 0:
        start = f"Backward starts at {here} with gradient {arriving} (d itself / d itself = 1)."
    else:
        start = f"Backward arrives at {here} with gradient {arriving}."
    if not sent:
        return start + " It has no input that requires grad, so it sends nothing on."
    targets = ", ".join(f"{format_summary(s['grad'])} to "
                        + _node_words({"node": s["to"], "op": ""}, nodes) for s in sent)
    how = ("It runs the backward you wrote (below) and sends" if nodes.get(
        step["node"], {}).get("custom") else
        "It multiplies it by its own local derivative (the chain rule) and sends")
    return f"{start} {how} {targets}."


def _show_custom_backward(step: dict[str, Any], nodes: dict[str, dict[str, Any]],
                          root: str | None) -> bool:
    """At a custom autograd.Function's node: the backward the learner wrote, with its
    line numbers, and what torch passed it and got back. Returns whether it was one."""
    names = {node_id: node.get("name") for node_id, node in nodes.items()}
    custom = custom_backward(step, nodes.get(step["node"], {}), names, root)
    if custom is None:
        return False
    st.markdown(f"**Your backward ran here** ({custom.class_name} is your own "
                "autograd.Function, so torch runs the code you wrote):")
    # Wrapped: a narrow column (a phone, the projector's half page) shows all the code.
    st.code(custom.numbered_source, language="python", wrap_lines=True)
    st.markdown(custom.sentence)
    return True


def show_steps(result: RunResult, projector: bool | None = None,
               on_step: Callable[[int, graphviz.Digraph], None] | None = None,
               ) -> tuple[int | None, graphviz.Digraph | None]:
    """The step controls, the highlighted graph and the chain rule; returns the step
    shown and the graph drawn (both None when backward did not run).

    A step (the slider, the buttons, a presenter's keys) reruns this view alone, not the
    page: a lecturer stepping through 13 nodes does not recompute the curves, the table
    and the menus 13 times. ``on_step`` hears of every step drawn, also the ones only
    this view reran for (the Playground writes it into its link)."""
    steps = result.graph.get("steps") or []
    if not steps:
        st.info("Backward did not run, so there is nothing to step through: see the "
                "warnings above. The annotated graph shows what autograd recorded.",
                icon=":material/step_over:")
        return None, None
    return _steps(result, presenting(projector), on_step)


@st.fragment
def _steps(result: RunResult, projector: bool,
           on_step: Callable[[int, graphviz.Digraph], None] | None,
           ) -> tuple[int, graphviz.Digraph]:
    steps = result.graph["steps"]
    nodes = {node["id"]: node for node in result.graph["nodes"]}
    st.html(STEPS_CSS)
    with st.container(key=STEPS_ROW):
        graph_column, text_column = st.columns([1, 1] if projector else [3, 2], gap="large")
    with text_column:  # the buttons beside the explanation they change
        k = step_controls(len(steps))
        step = steps[k - 1]
        sentence = step_sentence(step, nodes)
        st.caption("Keys: → or N next, ← or B back" + (
            ", Page Down / Page Up (a clicker)." if projector else "."))
        st.markdown(f"#### Step {k} of {len(steps)}")
        st.markdown(sentence)
        st.latex(step["received"])
        for line in step["latex"]:
            st.latex(line)
        if not _show_custom_backward(step, nodes, steps[0].get("name")) \
                and step["rule"] == "torch":
            st.caption(f"{step['op']} is not in the app's table of textbook derivatives; "
                       "the numbers are what torch sent.")
        if step["order"] + 1 < len(steps):
            following = steps[step["order"] + 1]
            st.caption("Next, torch runs " + _node_words(following, nodes) + ".")
        else:
            st.caption("This was the last node: backward is done and every leaf's .grad "
                       "is filled in.")
    with graph_column:
        dot = to_dot(result, step=k, theme=graph_theme(projector))
        st.graphviz_chart(dot.source, width="content", alt=describe_dot(
            dot.source, f"Backward step {k} of {len(steps)}: {sentence.replace('`', '')}"))
    if on_step is not None:
        on_step(k, dot)
    return k, dot
