"""Lesson 6, "Stopping gradients" (seed cells 42-50).

Teaches the three ways to stop autograd from recording, side by side: switch a leaf's
``requires_grad`` off, compute from ``x.detach()``, or compute inside ``torch.no_grad()``.
Each leaves ``y`` without a ``grad_fn``, so ``y.backward()`` fails with torch's "element 0
of tensors does not require grad" error, shown as the engine explains it, with the graph
each way leaves behind. A toggle adds the working version (tracking on) for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from engine.running.summary import format_number
from ui import show


@dataclass(frozen=True)
class Way:
    letter: str
    title: str
    source: str
    note: str


WAYS = [
    Way("a", "requires_grad_(False)", "x.requires_grad_(False)\ny = x ** 2\ny.backward()\n",
        "Switches tracking off on the leaf itself, for everything after it."),
    Way("b", "detach()", "y = x.detach() ** 2\ny.backward()\n",
        "`x.detach()` is a copy of x's value that autograd does not follow."),
    Way("c", "torch.no_grad()", "with torch.no_grad():\n    y = x ** 2\ny.backward()\n",
        "Nothing computed inside the block is recorded."),
]
TRACKED = "y = x ** 2\ny.backward()\n"

st.title("Stopping gradients")
st.markdown(
    "Sometimes you do **not** want autograd to record: a frozen weight, a value you only "
    "read, a model you only evaluate. There are three ways. Each leaves `y` with no "
    "`grad_fn`, so `y.backward()` has no graph to go back through and fails.")
show.formulas("y = x^2", r"\text{tracked: } \texttt{x.grad} = \frac{dy}{dx} = 2x",
              r"\text{stopped: no graph, no gradient}")

x = st.slider("x (shared by all three)", -3.0, 3.0, 2.0, step=0.5, key="stop_x")
x_text = f"{x:g}"
values = {"x": x_text}

st.caption("torch's message: *element 0 of tensors does not require grad and does not "
           "have a grad_fn*. In plain words: `y` was not recorded, so there is nothing for "
           "backward to walk back through.")
for way, column in zip(WAYS, st.columns(3, gap="medium"), strict=True):
    with column:
        st.markdown(f"#### ({way.letter}) `{way.title}`")
        st.caption(way.note)
        st.code(way.source, language="python")
        result = show.Setup(way.source, inputs=(("x", x_text),)).run()
        if result.error is not None:
            show.show_error(result.error, way.source)
        else:
            st.success("backward() ran.", icon=":material/check_circle:")
        show.show_warnings(result)
        show.show_graph(result, legend=False)
        show.open_in_playground(way.source, values, key=f"stop_open_{way.letter}")

if st.toggle("Compare: the same program with tracking on", key="stop_compare"):
    st.subheader("Tracking on: backward works")
    tracked = show.Setup(TRACKED, inputs=(("x", x_text),)).run()
    code, numbers, graph = st.columns([2, 2, 3], gap="medium")
    code.code(TRACKED, language="python")
    if tracked.error is not None:
        with code:
            show.show_error(tracked.error, TRACKED)
    else:
        grad = tracked.grads.get("x")
        numbers.metric("x.grad (autograd)", "None" if grad is None else format_number(
            float(grad)))
        numbers.metric("2x (by hand)", format_number(2 * float(x_text)))
    with graph:
        show.show_graph(tracked, legend=False)
    with code:
        show.open_in_playground(TRACKED, values, key="stop_open_on")

st.subheader("When to use which")
st.markdown(
    "- **`requires_grad_(False)`**: freeze a parameter, e.g. a pretrained layer you do "
    "not want to train.\n"
    "- **`detach()`**: take one value out of the graph and keep computing with it, e.g. a "
    "target, or a number to log or plot.\n"
    "- **`torch.no_grad()`**: evaluate without building any graph, e.g. validation or "
    "inference: faster and uses less memory.")
st.info("The Playground does the same to any program: its toggle **Run the whole program "
        "under torch.no_grad()** and its **Detach these variables** picker.",
        icon=":material/science:")
