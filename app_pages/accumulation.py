"""Lesson 4, "Gradients add up" (seed cells 37-45).

Teaches that ``backward()`` adds into ``x.grad`` instead of replacing it: after k calls on
``y = x**2``, ``x.grad`` holds k·2x, unless ``x.grad.zero_()`` clears it between calls.
The program is built from the widgets, run by the engine, and each call's ``x.grad`` is
copied out with ``.clone()`` so the table can show it beside the value by hand.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from engine.running.summary import format_number
from ui import show
from ui.plots import AUTOGRAD_COLOUR, HAND_COLOUR


def build_program(calls: int, zero: bool) -> str:
    """``y = x**2``, then ``calls`` backward passes, copying ``x.grad`` after each."""
    lines = ["y = x**2"]
    for i in range(1, calls + 1):
        if zero and i > 1:
            lines.append("x.grad.zero_()")
        lines += ["y.backward(retain_graph=True)", f"g{i} = x.grad.clone()"]
    return "\n".join(lines) + "\n"


def grads_chart(calls: list[int], autograd: list[float | None],
                by_hand: list[float]) -> go.Figure:
    """Bars: x.grad after each call (autograd); dashed markers: the value by hand."""
    fig = go.Figure()
    fig.add_bar(x=calls, y=autograd, name="x.grad (autograd)", marker_color=AUTOGRAD_COLOUR,
                text=[format_number(v) if v is not None else "" for v in autograd],
                textposition="outside")
    fig.add_scatter(x=calls, y=by_hand, mode="lines+markers", name="by hand",
                    line={"color": HAND_COLOUR, "dash": "dash", "width": 2},
                    marker={"size": 12})
    fig.update_layout(title="x.grad after each backward() call", height=360,
                      margin={"l": 10, "r": 10, "t": 50, "b": 10},
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0})
    fig.update_xaxes(title_text="call", tickmode="linear", dtick=1)
    fig.update_yaxes(title_text="x.grad", zeroline=True)
    return fig


def describe_grads_chart(autograd: list[float | None], by_hand: list[float]) -> str:
    """The chart in words (its ``alt``): x.grad after each call beside the value by hand."""
    calls = "; ".join(
        f"call {i}: {'None' if got is None else format_number(got)} "
        f"(by hand {format_number(hand)})"
        for i, (got, hand) in enumerate(zip(autograd, by_hand), start=1))
    return f"Bar chart of x.grad after each backward() call, with the value by hand: {calls}."


st.title("Gradients add up")
st.markdown(
    "Every `backward()` **adds** its gradient to `x.grad`; it never overwrites it. "
    "Call backward twice on $y = x^2$ and `x.grad` holds $2x + 2x$. "
    "`x.grad.zero_()` empties it, so the next call starts from 0.")
show.formulas("y = x^2", r"\frac{dy}{dx} = 2x",
              r"\texttt{x.grad} \text{ after } k \text{ calls} = k \cdot 2x")

controls, program = st.columns([2, 3], gap="large")
with controls:
    x = st.slider("x", -3.0, 3.0, 2.0, step=0.5, key="accum_x")
    calls = st.slider("backward() calls", 1, 5, 3, key="accum_calls")
    zero = st.toggle("call x.grad.zero_() between calls", key="accum_zero")

x_text = f"{x:g}"
source = build_program(calls, zero)
setup = show.Setup(source, inputs=(("x", x_text),))
result = setup.run()

with program:
    st.markdown("**The program that runs** (`retain_graph=True` keeps the graph for the "
                "next call)")
    st.code(source, language="python")

if result.error is not None:
    show.show_error(result.error, source)
else:
    x0 = float(x_text)
    numbers = list(range(1, calls + 1))
    autograd = [float(g) if (g := result.variables.get(f"g{i}")) is not None else None
                for i in numbers]
    by_hand = [(1 if zero else i) * 2 * x0 for i in numbers]
    table = pd.DataFrame({
        "after call": numbers,
        "x.grad (autograd)": autograd,
        "by hand": by_hand,
        "formula": ["2x" if zero else f"{i}·2x" for i in numbers],
    })
    left, right = st.columns([2, 3], gap="large")
    with left:
        st.metric("x.grad now", format_number(autograd[-1]) if autograd[-1] is not None
                  else "None",
                  help="What x.grad holds after the last call.")
        show.table(table)
    right.plotly_chart(show.for_the_room(grads_chart(numbers, autograd, by_hand)), width="stretch",
                       key="accum_chart", alt=describe_grads_chart(autograd, by_hand))
    show.show_warnings(result)

st.subheader("Why does PyTorch add?")
st.markdown(
    "A tensor can feed several losses; each `backward()` adds its share, so `x.grad` ends "
    "up as the gradient of their sum. Training loops therefore call "
    "`optimizer.zero_grad()` (or `x.grad.zero_()`) before each step, so old gradients do "
    "not leak into the next one.")

st.subheader("The graph of y")
st.caption("One graph, walked once per call: `x.grad` is the total of every walk. "
           "The clones `g1`, `g2`, … are copies outside the graph.")
show.show_graph(result)

show.open_in_playground(source, {"x": x_text}, key="accum_open")
