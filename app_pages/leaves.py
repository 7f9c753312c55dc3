"""Lesson 5, "Leaves and .grad" (seed cells 10-15).

Teaches which tensors keep a ``.grad``: a leaf (a tensor you create, ``x``) does; a tensor
made by an operation (``y = x**2``, with ``grad_fn`` PowBackward0) does not, so ``y.grad``
is None after ``z.backward()``, unless ``y.retain_grad()`` asked autograd to keep it. The
page shows what the engine echoes for ``x.is_leaf``, ``y.is_leaf``, ``y.grad_fn`` and
``y.grad``, with torch's warning explained, beside dz/dy and dz/dx by hand.
"""

from __future__ import annotations

import math
import re

import pandas as pd
import streamlit as st

from engine.running.summary import format_number
from ui import show

QUESTIONS = ["x.is_leaf", "y.is_leaf", "y.grad_fn", "x.grad", "y.grad"]


def build_program(retain: bool) -> str:
    """The seed's chain x → y = x² → z = sin(y), then the questions a notebook would ask."""
    lines = ["y = x**2", "z = torch.sin(y)"]
    if retain:
        lines.append("y.retain_grad()")
    lines += ["z.backward()", *QUESTIONS]
    return "\n".join(lines) + "\n"


def notebook_view(echoes: list[dict]) -> str:
    """Each expression line with what it printed, the way a notebook's Out cell reads."""
    width = max((len(e["code"]) for e in echoes), default=0)
    return "\n".join(f"{e['code']:<{width}}   # {e['text']}" for e in echoes)


st.title("Leaves and .grad")
st.markdown(
    "A **leaf** is a tensor you create yourself, like `x`. A tensor made by an operation, "
    "like `y = x**2`, is not a leaf: it has a `grad_fn`. After `backward()` only leaves "
    "keep their `.grad`; `y.grad` is None unless you call `y.retain_grad()` first.")
show.formulas("y = x^2", r"z = \sin(y)", r"\frac{dz}{dy} = \cos(x^2)",
              r"\frac{dz}{dx} = \frac{dz}{dy}\cdot\frac{dy}{dx} = 2x\cos(x^2)")

controls, program = st.columns([2, 3], gap="large")
with controls:
    x = st.slider("x", -5.0, 5.0, 4.0, step=0.1, key="leaves_x",
                  help="x is a fresh leaf: torch.tensor(x, requires_grad=True).")
    retain = st.toggle("call y.retain_grad() first", key="leaves_retain")

x_text = f"{x:.4g}"
source = build_program(retain)
setup = show.Setup(source, inputs=(("x", x_text),))
result = setup.run()

with program:
    st.markdown(f"**The program that runs** (`x` = `torch.tensor({x_text}, "
                "requires_grad=True)`, the slider)")
    st.code(source, language="python")

if result.error is not None:
    show.show_error(result.error, source)
    st.stop()

echo = {e["code"]: e["text"] for e in result.echoes}
st.subheader("Who is a leaf?")
cols = st.columns([1, 1, 2])
cols[0].metric("x.is_leaf", echo.get("x.is_leaf", "?"), help="You created x: a leaf.")
cols[1].metric("y.is_leaf", echo.get("y.is_leaf", "?"),
               help="y was made by an operation, so it is not a leaf.")
# torch's repr (<PowBackward0 object at 0x7f...>) without the memory address, which
# changes every run and means nothing to a learner
cols[2].metric("y.grad_fn", re.sub(r" object at 0x[0-9a-fA-F]+", "", echo.get("y.grad_fn", "?")),
               help="The backward function autograd recorded for y = x**2.")
st.markdown("**What the notebook shows**")
st.code(notebook_view(result.echoes), language="python")

st.subheader("The gradients")
x0 = float(x_text)
dz_dy, dz_dx = math.cos(x0**2), 2 * x0 * math.cos(x0**2)
x_grad = result.grads.get("x")
y_grad = result.retained.get("y")
table = pd.DataFrame({
    "tensor": ["x (leaf)", "y (not a leaf)"],
    ".grad (autograd)": [None if x_grad is None else float(x_grad),
                         None if y_grad is None else float(y_grad)],
    "by hand": [dz_dx, dz_dy],
    "formula": ["dz/dx = 2x·cos(x²)", "dz/dy = cos(x²)"],
})
left, right = st.columns([3, 2], gap="large")
with left:
    show.table(table)
with right:
    if y_grad is None:
        st.metric("y.grad", "None", help="Not kept: y is not a leaf.")
    else:
        st.metric("y.grad = dz/dy", format_number(float(y_grad)),
                  help="Kept because of y.retain_grad().")
show.show_warnings(result)
if y_grad is not None:
    st.success("`y.retain_grad()` asked autograd to keep the gradient that passed through "
               "y: `y.grad` is dz/dy = cos(x²).", icon=":material/check_circle:")

st.subheader("The graph")
st.caption("Blue: the leaf x, whose `.grad` is kept. Grey: y, an operation "
           "(PowBackward0). Its box shows the gradient that flowed through it as `grad`; "
           "after `y.retain_grad()` it reads `.grad`, because now `y.grad` keeps it.")
show.show_graph(result)

st.subheader("z and dz/dx over a range of x")
show.show_curves(setup, result, "x", *show.default_range(x0))

show.open_in_playground(source, {"x": x_text}, key="leaves_open")
