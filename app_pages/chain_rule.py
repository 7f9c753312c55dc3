"""Lesson 2, Chain rule: the BCE neuron (seed notebook cells 16-31).

Teaches that autograd's ``w.grad`` and ``b.grad`` are the chain rule a learner writes by
hand: dL/dw = dL/dy_pred · dy_pred/dz · dz/dw. The learner sets the input x, the label
y, the weight w and the bias b; the page runs the seed's logistic neuron with BCE loss
(ui.examples.BCE_CODE, w and b written into the code) and shows the seed's manual
chain-rule factors beside autograd's gradients, the annotated graph, and the loss as a
function of w.
"""

from __future__ import annotations

import math
import re

import pandas as pd
import streamlit as st

from engine.running.summary import format_number
from ui import show
from ui.choices import one_choice
from ui.examples import BCE_CODE

FLOAT32_SIGMOID_IS_1 = 16.6  # torch.sigmoid(z) == 1.0 in float32 from z ≈ 16.64 on


def neuron_code(w: float, b: float) -> str:
    """The seed's neuron with the learner's starting w and b in its two leaf lines."""
    code = BCE_CODE
    for name, value in (("w", w), ("b", b)):
        literal = show.number_text(value, literal=True)
        code, found = re.subn(rf"^{name} = torch\.tensor\([^,]+, requires_grad=True\)$",
                              f"{name} = torch.tensor({literal}, requires_grad=True)",
                              code, flags=re.MULTILINE)
        assert found == 1, f"BCE_CODE has no line creating {name}"
    return code


def chain_rule(x: float, y: float, w: float, b: float) -> dict[str, float]:
    """Seed cell 20, in Python floats: the local derivatives and their products."""
    z = w * x + b
    y_pred = 1 / (1 + math.exp(-z))
    slope = y_pred * (1 - y_pred)  # dy_pred/dz, the sigmoid's derivative
    dloss_dy_pred = (y_pred - y) / slope if slope else math.inf
    return {"z": z, "y_pred": y_pred, "dL/dy_pred": dloss_dy_pred, "dy_pred/dz": slope,
            "dz/dw": x, "dz/db": 1.0,
            "dL/dw": dloss_dy_pred * slope * x, "dL/db": dloss_dy_pred * slope * 1.0}


st.title("Chain rule: the BCE neuron")
st.markdown(
    "One neuron: `z = w·x + b`, a sigmoid turns `z` into a probability `y_pred`, and the "
    "binary cross-entropy loss says how wrong it is for the label `y`. "
    "To learn, we need how the loss changes with `w` and `b`. "
    "The chain rule multiplies one small derivative per step.")
show.formulas(r"L = -\bigl[y\log \hat y + (1-y)\log(1-\hat y)\bigr],",
              r"\hat y = \sigma(z),", "z = wx + b")
show.formulas(r"\frac{\partial L}{\partial w} = \frac{\partial L}{\partial \hat y}\cdot"
              r"\frac{\partial \hat y}{\partial z}\cdot\frac{\partial z}{\partial w}",
              r"\frac{\partial L}{\partial b} = \frac{\partial L}{\partial \hat y}\cdot"
              r"\frac{\partial \hat y}{\partial z}\cdot 1")

x_col, y_col, w_col, b_col = st.columns([3, 2, 3, 3], vertical_alignment="bottom")
x = x_col.slider("x (input)", -10.0, 10.0, 6.7, step=0.1, key="chain_x")
y = one_choice(y_col, "y (the label)", [0, 1], key="chain_y", default=0)
w = w_col.slider("w (weight)", -3.0, 3.0, 1.0, step=0.1, key="chain_w")
b = b_col.slider("b (bias)", -5.0, 5.0, 0.0, step=0.1, key="chain_b")

w, b = (float(show.number_text(v, literal=True)) for v in (w, b))  # as the code shows them
code = neuron_code(w, b)
values = {"x": show.number_text(x, literal=True), "y": str(y)}
constants = frozenset({"x", "y"})
setup = show.Setup(code, inputs=tuple(values.items()), constants=constants)
result = setup.run()

left, right = st.columns([1, 1], gap="large")
with left:
    st.markdown(f"**The program** (inputs, requires_grad off: `x = {values['x']}`, "
                f"`y = {values['y']}`)")
    st.code(code, language="python", wrap_lines=True)
if result.error is not None:
    with left:
        show.show_error(result.error, code)
else:
    hand = chain_rule(float(values["x"]), float(y), w, b)
    autograd = {name: float(result.grads[name]) if result.grads.get(name) is not None
                else math.nan for name in ("w", "b")}
    with right:
        show.show_output(result)
        st.markdown("**By hand** (seed cell 20) **and autograd**")
        rows = [("dL/dy_pred", "(y_pred − y) / (y_pred·(1 − y_pred))", None),
                ("dy_pred/dz", "y_pred·(1 − y_pred)", None),
                ("dz/dw", "x", None), ("dz/db", "1", None),
                ("dL/dw", "dL/dy_pred · dy_pred/dz · dz/dw", autograd["w"]),
                ("dL/db", "dL/dy_pred · dy_pred/dz · dz/db", autograd["b"])]
        show.table(pd.DataFrame(
            [{"derivative": name, "formula": formula, "by hand": format_number(hand[name]),
              "autograd": "" if grad is None else format_number(grad)}
             for name, formula, grad in rows]))
        for column, name in zip(st.columns(2), ("w", "b"), strict=True):
            column.metric(f"{name}.grad (autograd)", format_number(autograd[name]),
                          delta=f"by hand {format_number(hand['dL/d' + name])}",
                          delta_color="off", delta_arrow="off")
        st.info("Autograd does the same thing: each operation in the graph knows its own "
                "local derivative, and backward() multiplies them from the loss back to "
                "w and b. The graph shows the partial products: the grad on y_pred is "
                "dL/dy_pred, the grad on z is dL/dz.", icon=":material/link:")
        y_pred32 = float(result.variables["y_pred"])
        if not math.isclose(autograd["w"], hand["dL/dw"], rel_tol=1e-3, abs_tol=1e-4):
            if y_pred32 >= 1.0:
                st.caption("Here y_pred rounds to exactly 1 in float32, and so does the "
                           "clamp's 1 - 1e-8: log(1 - y_pred) = log 0, and autograd "
                           "multiplies inf by 0. The formula by hand runs in float64.")
            else:
                st.caption("Here y_pred is below the clamp's 1e-8: the clamp holds it "
                           "there and passes no gradient back. The seed's formula by hand "
                           "leaves the clamp out.")
        show.show_warnings(result)
    with left:
        st.markdown("**The autograd graph**: values forward, gradients backward")
        show.show_graph(result)
    st.subheader("Move w: the loss and its slope dL/dw")
    lo, hi = show.default_range(w)
    show.show_curves(setup, result, "w", lo, hi)
    if y == 0 and max(lo * hand["dz/dw"], hi * hand["dz/dw"]) + b > FLOAT32_SIGMOID_IS_1:
        st.caption(f"Where the autograd curves stop, w·x + b is above "
                   f"{FLOAT32_SIGMOID_IS_1}: float32 rounds y_pred to exactly 1, so the loss "
                   "is -log 0 = inf and the gradient nan. The formula by hand runs in "
                   "float64, where the clamp at 1 - 1e-8 still holds y_pred below 1; "
                   "held there, its derivative is 0.")

open_column, steps_column = st.columns(2)
with open_column:
    show.open_in_playground(code, values, constants, key="chain_open", wrt="w")
with steps_column:
    show.open_in_playground(code, values, constants, key="chain_steps", wrt="w",
                            view="steps", step=1, label="Step through its backward pass",
                            icon=":material/step_over:")
