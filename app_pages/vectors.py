"""Lesson 3, Vectors (seed notebook cells 33-36).

Teaches that a gradient has one entry per element: for y = (x²).mean() over n numbers,
x.grad[i] = 2·x_i / n. Then it drops the .mean(): backward() needs a single number, and
the page shows torch's error in words and its two fixes (reduce first, or pass
``gradient=torch.ones_like(y)``, which gives x.grad = 2x).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine.running.summary import format_number
from ui import show

MAX_N = 8


def program(drop_mean: bool, gradient: bool) -> str:
    """The seed's cells 34-35, with the .mean() dropped and the gradient passed on request."""
    forward = "y = x**2\n" if drop_mean else "y = (x**2).mean()\n"
    backward = "y.backward(torch.ones_like(y))\n" if drop_mean and gradient \
        else "y.backward()\n"
    return forward + backward + "x.grad\n"


st.title("Vectors")
st.markdown(
    "`x` can hold several numbers. `backward()` still starts from one number, here the "
    "mean of the squares, and `x.grad` gets one entry per element of `x`: how much "
    "that element moves the mean.")
show.formulas(r"y = \frac{1}{n}\sum_{i=1}^{n} x_i^2",
              r"\frac{\partial y}{\partial x_i} = \frac{2x_i}{n}")

n = st.columns([1, 2])[0].slider("How many numbers (n)", 1, MAX_N, 3, key="vec_n")
boxes = st.columns(MAX_N)
xs = [boxes[i].number_input(f"x[{i}]", -10.0, 10.0, float(i + 1), step=0.5,
                            format="%g", key=f"vec_x{i}") for i in range(n)]
drop_mean = st.toggle("Drop the .mean(): y = x**2", key="vec_drop_mean")
gradient = drop_mean and st.toggle("Pass a gradient: y.backward(torch.ones_like(y))",
                                   key="vec_gradient")

x_text = "[" + ", ".join(show.number_text(v) for v in xs) + "]"
source = program(drop_mean, gradient)
setup = show.Setup(source, inputs=(("x", x_text),))
result = setup.run()

left, right = st.columns([1, 1], gap="large")
with left:
    st.markdown(f"**The program** (`x = torch.tensor({x_text}, requires_grad=True)`)")
    st.code(source, language="python")
    if result.error is not None:
        show.show_error(result.error, source)
        if result.error.kind == "autograd" and drop_mean:
            st.markdown(
                f"**In words:** `y` now holds {n} numbers, one per element of `x`. "
                "`backward()` starts from a single number (it sends back the gradient 1); "
                "for a vector it does not know how to weigh the elements, so torch stops.")
            st.markdown("**Two fixes:** reduce `y` to one number first, or say how to "
                        "weigh each element with a `gradient` of the same shape:")
            st.code("y.sum().backward()       # or y.mean().backward()\n"
                    "y.backward(torch.ones_like(y))   # same as y.sum().backward()",
                    language="python")
    else:
        for echo in result.echoes:
            st.code(f"Out [{echo['code']}]: {echo['text']}", language=None)
        show.show_output(result)
        grads = result.grads.get("x")
        if grads is not None:
            hand_name = "2·x_i" if gradient else f"2·x_i / {n}"
            hand = [2 * float(v) if gradient else 2 * float(v) / n
                    for v in (show.number_text(v) for v in xs)]
            show.table(pd.DataFrame(
                {"i": range(n), "x_i": [show.number_text(v) for v in xs],
                 "x.grad[i] (autograd)": [format_number(g) for g in grads.tolist()],
                 f"by hand: {hand_name}": [format_number(h) for h in hand],
                 "difference": [format_number(g - h)
                                for g, h in zip(grads.tolist(), hand, strict=True)]}))
        if gradient:
            st.info("backward(gradient=v) sends v back instead of 1: each element of y "
                    "gets weight 1, exactly as if you had written y.sum().backward(). "
                    "So x.grad = 2x, with no 1/n.", icon=":material/functions:")
    show.show_warnings(result)
with right:
    if result.error is None or result.error.kind in ("autograd", "runtime"):
        st.markdown("**The autograd graph**")
        show.show_graph(result)

show.open_in_playground(source, {"x": x_text}, key="vec_open")
