"""Lesson 1, Derivatives (seed notebook cells 1-15).

Teaches that autograd's ``x.grad`` is the derivative a learner writes by hand: 2x for
y = x², and, through the chain rule, 2x·cos(x²) for z = sin(x²). The learner picks the
function and moves x; the page runs the seed's program through the engine and shows
x.grad beside the hand formula (the seed's ``dy_dx`` and ``dz_dx``), the annotated graph,
and f with f' around x.
"""

from __future__ import annotations

import math

import streamlit as st

from engine.running.summary import format_number
from ui import show
from ui.choices import one_choice

# The seed's cells: the forward line(s), backward(), then x.grad as the notebook shows it.
PROGRAMS = {"x**2": "y = x**2\ny.backward()\nx.grad\n",
            "sin(x**2)": "y = x**2\nz = torch.sin(y)\nz.backward()\nx.grad\n"}
LABELS = {"x**2": "y = x²", "sin(x**2)": "z = sin(x²)"}
DEFAULT_X = {"x**2": 3.0, "sin(x**2)": 4.0}  # the seed's points: x = 3, then x = 4
FORMULAS = {
    "x**2": (("y = x^2", r"\frac{dy}{dx} = 2x"), "2x"),
    "sin(x**2)": (("y = x^2,", r"z = \sin(y)", r"\frac{dz}{dx} = "
                   r"\frac{dz}{dy}\cdot\frac{dy}{dx} = \cos(x^2)\cdot 2x"), "2x·cos(x²)"),
}


def by_hand(fn: str, x: float) -> float:
    """The seed's derivative by hand: dy_dx (cell 1) or dz_dx (cell 8)."""
    if fn == "x**2":
        return 2 * x
    return 2 * x * math.cos(x**2)


def reset_x() -> None:
    """A new function starts at the seed's point for it (x = 3 for x², 4 for sin(x²))."""
    st.session_state["deriv_x"] = DEFAULT_X[st.session_state["deriv_fn"]]


st.title("Derivatives")
st.markdown(
    "A derivative says how fast a value changes when you nudge its input. "
    "PyTorch records every operation on `x` in a graph; `backward()` walks that graph "
    "and stores the derivative in `x.grad`. "
    "Move `x` and compare autograd with the formula you would write by hand.")

st.session_state.setdefault("deriv_x", DEFAULT_X[st.session_state.get("deriv_fn") or "x**2"])
pick, slide = st.columns([1, 2], vertical_alignment="bottom")
fn: str = one_choice(pick, "Function", list(PROGRAMS), key="deriv_fn", default="x**2",
                     format_func=LABELS.__getitem__, on_change=reset_x)
x: float = slide.slider("x", min_value=-5.0, max_value=5.0, step=0.1, key="deriv_x")
equations, hand_name = FORMULAS[fn]
show.formulas(*equations)

source = PROGRAMS[fn]
x_text = show.number_text(x)
setup = show.Setup(source, inputs=(("x", x_text),))
result = setup.run()

left, right = st.columns([2, 3], gap="large")
with left:
    st.markdown(f"**The program** (x is an input: `torch.tensor({float(x_text)!r}, "
                "requires_grad=True)`)")
    st.code(source, language="python")
if result.error is not None:
    with left:
        show.show_error(result.error, source)
else:
    grad = float(result.grads["x"]) if result.grads.get("x") is not None else math.nan
    hand = by_hand(fn, float(x_text))
    with left:
        for echo in result.echoes:
            st.code(f"Out [{echo['code']}]: {echo['text']}", language=None)
        show.show_output(result)
        autograd_col, hand_col, diff_col = st.columns(3)
        autograd_col.metric("x.grad (autograd)", format_number(grad))
        hand_col.metric(f"by hand: {hand_name}", format_number(hand))
        diff_col.metric("difference", format_number(grad - hand),
                        help="autograd computes in float32 (about 7 digits); the formula "
                             "here runs in Python's float64.")
        show.show_warnings(result)
    with right:
        st.markdown("**The autograd graph**: values forward, gradients backward")
        show.show_graph(result)
    st.subheader(f"{LABELS[fn]} and its derivative around x = {x_text}")
    lo, hi = show.default_range(float(x_text))
    show.show_curves(setup, result, "x", lo, hi)

show.open_in_playground(source, {"x": x_text}, key="deriv_open", wrt="x")
