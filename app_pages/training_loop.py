"""Lesson 7, "The training loop": the seed's pieces put together (cells 16-31, the BCE
neuron and its gradients; 40-41, ``x.grad.zero_()``; 69-72, ``torch.no_grad()``).

The seed stops before a loop; this lesson writes it. The neuron p = sigmoid(w·x + b) is
fitted to six points, built up part by part: one forward and backward pass over all the
points, one update under ``torch.no_grad()``, ``zero_()`` before the next pass, the loop,
and ``torch.optim.SGD`` doing the same in two lines. Then the two mistakes everyone makes
once, each run for real: forgetting ``zero_()`` (gradients pile up, the loop overshoots)
and updating outside ``no_grad`` (torch refuses). Every program is built from the
learning-rate and steps widgets by ui.training.lesson and run by the engine; the numbers
by hand beside autograd's are the seed's chain rule averaged over the points.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from engine import RunResult
from engine.running.summary import format_number
from ui import show
from ui.plots import as_figure
from ui.training import lesson
from ui.training.lesson import Line
from ui.training.panel import show_training

FIRST_STEPS = 10  # rows of the table that shows .grad piling up
# Code on the left gets the wider column: the data lines (50 characters) fit unwrapped on a
# 1280-pixel screen; numbers sit beside it, charts and tables run full width below.
CODE_AND_NUMBERS = [3, 2]


def number(value: object) -> float:
    """A single-number tensor (or None) from a run as a float; NaN when it is missing."""
    return math.nan if value is None else float(value)


@st.cache_data(max_entries=32, show_spinner=False)
def _run(setup: show.Setup) -> RunResult:
    return setup.run()


def run(source: str) -> RunResult:
    """The engine's run of one of the page's programs. Cached, unlike the Playground's
    runs: this page runs three loops of up to 200 steps (about 0.25 s each), and a rerun
    that changes none of them (the zero_() toggle, an Open in Playground click) should
    not pay for them again; a cached result is a 10 ms copy."""
    return _run(show.Setup(source))


def code_and_link(source: str, key: str) -> None:
    """The program that runs, and the button that opens it in the Playground."""
    st.code(source, language="python", wrap_lines=True)
    show.open_in_playground(source, {}, key=key)


def grid(count: int, per_row: int = 2) -> list:
    """``count`` cells for metrics, ``per_row`` to a row (a narrow column fits two)."""
    cells: list = []
    for first in range(0, count, per_row):
        cells += st.columns(per_row)[:min(per_row, count - first)]
    return cells


def hand_metric(column, label: str, value: float, hand: float | None = None,
                help: str | None = None) -> None:
    """Autograd's (or the run's) number, with the number by hand under it."""
    delta = None if hand is None else f"by hand {format_number(hand)}"
    column.metric(label, format_number(value), delta=delta, delta_color="off",
                  delta_arrow="off", help=help)


def piled_up_words(shown: int, grads: list[float], fresh: list[float],
                   piled: list[float], manual: list[float]) -> str:
    """What forgetting zero_() did, in the run's own numbers."""
    if shown < 2:
        return ("With one step nothing piles up yet: take more steps to see what the "
                "missing `zero_()` does.")
    words = (f"By step {shown}, `w.grad` holds the sum of all {shown} gradients computed "
             f"so far, {format_number(grads[shown - 1])}, while the gradient at that "
             f"step's w and b is {format_number(fresh[shown - 1])}")
    if grads[shown - 1] * fresh[shown - 1] < 0:
        words += ": it even points the other way"
    words += (".\n\nEach update is lr times that sum, so the old gradients keep pushing w the "
              "way it was going after it has passed the best value, like a ball rolling "
              "with no friction: w overshoots and swings back and forth instead of "
              "settling.")
    low = min(range(len(piled)), key=lambda i: piled[i])
    high = max(range(low, len(piled)), key=lambda i: piled[i])
    if piled[high] > piled[low] + 1e-3:
        words += (f"\n\nThe loss was lowest at step {low + 1} ({format_number(piled[low])}) "
                  f"and climbed back to {format_number(piled[high])} at step {high + 1}; "
                  f"with `zero_()` it ended at {format_number(manual[-1])}.")
    if piled[low] < min(manual):
        words += (" For a while it was lower than the loop with `zero_()` ever got: piling "
                  "up speeds the first steps, which is the appeal of momentum (below), but "
                  "it does not stay there.")
    return words


st.title("The training loop")
st.markdown(
    "Lessons 2 to 6 gave us every piece: the neuron and its loss, `backward()` for the "
    "gradients, `.grad` that adds up until `zero_()`, and `torch.no_grad()` for code "
    "autograd should not record. Put together, they **train**: move `w` and `b` a small "
    "step against their gradients, again and again, until the neuron fits the points.")
show.formulas(r"p_i = \sigma(w x_i + b)",
              r"L = -\frac{1}{n}\sum_{i=1}^{n}\bigl[y_i \log p_i + (1 - y_i)\log(1 - p_i)\bigr]",
              r"w \leftarrow w - \text{lr}\cdot\frac{\partial L}{\partial w}")
st.caption(f"The six points: x = {', '.join(f'{x:g}' for x in lesson.XS)} with labels "
           f"{', '.join(f'{y:g}' for y in lesson.YS)}. Two break the pattern (x = 2 has "
           "label 1, x = 3 has label 0), so no neuron is perfect and the best one has "
           "finite w and b.")

lr_column, steps_column = st.columns(2, gap="large")
lr = lr_column.select_slider("Learning rate lr", lesson.LEARNING_RATES, value=0.5,
                             key="loop_lr", format_func=lesson.lr_text,
                             help="How far each update moves w and b: lr times the "
                                  "gradient.")
steps = steps_column.slider("Steps (passes through the loop)", 1, 200, 50, key="loop_steps")
start = lesson.by_hand(0.0, 0.0)

# --- 1. one pass ------------------------------------------------------------------------
st.subheader("1. One forward and one backward pass")
left, right = st.columns(CODE_AND_NUMBERS, gap="large")
source = lesson.one_pass_program()
one = run(source)
with left:
    st.markdown("All six points go through the neuron at once: `p` holds each point's "
                "probability of label 1, and `loss` is the mean of the seed's BCE over "
                "them (`F` is `torch.nn.functional`).")
    code_and_link(source, "loop_open_pass")
with right:
    if one.error is not None:
        show.show_error(one.error, source)
    else:
        cells = grid(3)
        hand_metric(cells[0], "loss", number(one.variables["loss"]), start.loss)
        hand_metric(cells[1], "w.grad", number(one.grads.get("w")), start.dw)
        hand_metric(cells[2], "b.grad", number(one.grads.get("b")), start.db)
        st.markdown("By hand: lesson 2's chain rule for each point, dL/dz = p − y, "
                    "averaged over the points:")
        st.latex(r"\frac{\partial L}{\partial w} = \frac{1}{n}\sum_i (p_i - y_i)\,x_i")
        st.latex(r"\frac{\partial L}{\partial b} = \frac{1}{n}\sum_i (p_i - y_i)")
        st.caption("With w = 0 and b = 0 every p is 0.5: the neuron has no opinion yet, "
                   "and the loss is log 2. b.grad is 0 because three labels are 0 and "
                   "three are 1: their pulls on b cancel. w.grad is negative: increasing "
                   "w lowers the loss.")
        show.show_warnings(one)
if one.error is None:
    st.markdown("**The graph of this pass**: values forward, gradients backward. The grad "
                "on `p` is (p − y) / (p(1 − p)) / 6 for each point; the sigmoid multiplies "
                "it by p(1 − p), leaving (p − y) / 6.")
    show.show_graph(one, legend=False)

# --- 2. one update ----------------------------------------------------------------------
st.subheader("2. One update, under torch.no_grad()")
left, right = st.columns(CODE_AND_NUMBERS, gap="large")
source = lesson.update_program(lr)
update = run(source)
with left:
    st.markdown("Step against the gradient: `w -= lr * w.grad`. The update is not part "
                "of the model, so it runs inside `torch.no_grad()` (lesson 6): autograd "
                "does not record it.")
    code_and_link(source, "loop_open_update")
with right:
    if update.error is not None:
        show.show_error(update.error, source)
    else:
        w1, b1 = -lr * start.dw, -lr * start.db
        after = lesson.by_hand(w1, b1)
        before_loss = number(update.variables["loss"])
        after_loss = number(update.variables["loss_after"])
        cells = grid(4)
        hand_metric(cells[0], "loss before", before_loss, start.loss)
        hand_metric(cells[1], "loss after", after_loss, after.loss)
        hand_metric(cells[2], "w after", number(update.variables["w"]), w1,
                    help="0 − lr · w.grad")
        hand_metric(cells[3], "b after", number(update.variables["b"]), b1,
                    help="0 − lr · b.grad")
        if after_loss < before_loss:
            st.success(f"One step with lr = {lesson.lr_text(lr)} lowered the loss by "
                       f"{format_number(before_loss - after_loss)}.",
                       icon=":material/trending_down:")
        else:
            st.warning(f"With lr = {lesson.lr_text(lr)} the step was too long: it jumped "
                       "past the lower ground and the loss went **up** by "
                       f"{format_number(after_loss - before_loss)}. Try a smaller lr.",
                       icon=":material/trending_up:")
        show.show_warnings(update)

# --- 3. zero_() -------------------------------------------------------------------------
st.subheader("3. zero_() before the next pass")
left, right = st.columns(CODE_AND_NUMBERS, gap="large")
with left:
    st.markdown("The next pass's `backward()` **adds** to `.grad` (lesson 4). The "
                "gradient we want is the one at the new w and b, so empty `.grad` first.")
    zero = st.toggle("call zero_() before the second backward()", value=True,
                     key="loop_zero")
    source = lesson.two_passes_program(lr, zero)
    two = run(source)
    code_and_link(source, "loop_open_zero")
with right:
    if two.error is not None:
        show.show_error(two.error, source)
    else:
        first, second = two.training[0], two.training[1]
        w2, b2 = (lesson.leaf_number(second, name, "value") for name in ("w", "b"))
        fresh = lesson.by_hand(w2, b2)
        expected_w = fresh.dw if zero else start.dw + fresh.dw
        expected_b = fresh.db if zero else start.db + fresh.db
        cells = grid(2, per_row=1)
        hand_metric(cells[0], "w.grad after the 2nd backward()",
                    lesson.leaf_number(second, "w", "grad"), expected_w)
        hand_metric(cells[1], "b.grad after the 2nd backward()",
                    lesson.leaf_number(second, "b", "grad"), expected_b)
        if zero:
            st.success("w.grad is the gradient at the new w and b, as it should be.",
                       icon=":material/check_circle:")
        else:
            st.error("w.grad is the new gradient **plus** the old one "
                     f"({format_number(fresh.dw)} + {format_number(start.dw)}): the next "
                     "update would use a gradient from a point we have already left.",
                     icon=":material/warning:")
        show.show_warnings(two)
if two.error is None:
    show.table(pd.DataFrame({
        "backward()": ["1st", "2nd"],
        "w": [lesson.leaf_number(s, "w", "value") for s in (first, second)],
        "b": [lesson.leaf_number(s, "b", "value") for s in (first, second)],
        "dL/dw here (by hand)": [start.dw, fresh.dw],
        "w.grad (autograd)": [lesson.leaf_number(s, "w", "grad") for s in (first, second)],
    }))

# --- 4. the loop ------------------------------------------------------------------------
st.subheader("4. The loop")
source = lesson.loop_program(lr, steps)
loop = run(source)
left, right = st.columns(CODE_AND_NUMBERS, gap="large")
with left:
    st.markdown(f"Parts 1 to 3, {steps} times. Each pass: forward, backward, update, "
                "zero.")
    code_and_link(source, "loop_open_loop")
manual_losses: list[float] = []
if loop.error is not None:
    with right:
        show.show_error(loop.error, source)
else:
    manual_losses = lesson.losses(loop.training)
    final_w, final_b = number(loop.variables["w"]), number(loop.variables["b"])
    with right:
        cells = grid(4)
        hand_metric(cells[0], "loss, step 1", manual_losses[0])
        hand_metric(cells[1], f"loss, step {steps}", manual_losses[-1])
        hand_metric(cells[2], "final w", final_w, help="w after the last update")
        hand_metric(cells[3], "final b", final_b, help="b after the last update")
        st.caption("The loss is the one each backward() saw, before its update; w and b "
                   "are after the last update. The chart below draws the neuron they "
                   "make.")
        show.show_warnings(loop)
    st.plotly_chart(show.for_the_room(as_figure(lesson.fit_spec(final_w, final_b))),
                    width="stretch", key="loop_fit", alt=lesson.describe_fit(final_w, final_b))
    st.markdown("**Step by step**: the loss, w and b, and their gradients at every pass "
                "(hover a step to read all of them)")
    show_training(loop, key="loop_training")

# --- 5. torch.optim.SGD -----------------------------------------------------------------
st.subheader("5. The same with torch.optim.SGD")
source = lesson.sgd_program(lr, steps)
sgd = run(source)
left, right = st.columns(CODE_AND_NUMBERS, gap="large")
with left:
    st.markdown("An optimizer holds the parameters and does the bookkeeping: "
                "`optimizer.zero_grad()` empties their `.grad` (it sets them to None; the "
                "next backward starts from nothing), `optimizer.step()` does "
                "`w -= lr * w.grad` for each of them under `no_grad`.")
    code_and_link(source, "loop_open_sgd")
with right:
    if sgd.error is not None:
        show.show_error(sgd.error, source)
    elif manual_losses:
        sgd_losses = lesson.losses(sgd.training)
        gap = lesson.difference(manual_losses, sgd_losses)
        cells = grid(2, per_row=1)
        hand_metric(cells[0], "largest difference in loss", gap.largest)
        hand_metric(cells[1], "final w (SGD)", number(sgd.variables["w"]),
                    help="Part 4's loop ended at w = "
                         f"{format_number(number(loop.variables['w']))}.")
        if gap.first_step is None:
            st.success(f"All {steps} losses are the same float32 numbers, to the last bit: "
                       "`optimizer.step()` is the hand-written update.",
                       icon=":material/check_circle:")
        else:
            last_digit = ", float32's last digit" if gap.first_ulps <= 2 else ""
            st.info(f"The same update, rounded differently: the losses first differ at "
                    f"step {gap.first_step}, by {format_number(gap.first)}{last_digit}. "
                    "SGD computes w − lr·grad in one fused multiply-add (one rounding); "
                    "`w -= lr * w.grad` rounds lr·grad first. With lr = 0.5, 1 or 2 "
                    "(powers of two) lr·grad is exact and the two agree to the bit.",
                    icon=":material/info:")
            if gap.largest > 1e3 * max(gap.first, 1e-12):
                st.warning(f"At lr = {lesson.lr_text(lr)} the steps are so long that the "
                           "loop jumps around, and each jump magnifies that last-digit "
                           f"difference: {format_number(gap.largest)} by the end.",
                           icon=":material/warning:")
        show.show_warnings(sgd)
if sgd.error is None and manual_losses:
    panels = [("loss", [Line("by hand (part 4)", manual_losses, width=4),
                        Line("torch.optim.SGD", sgd_losses, dash="dash")])]
    st.plotly_chart(show.for_the_room(as_figure(
        lesson.per_step_spec(panels, "loss per step: both loops"))),
        width="stretch", key="loop_sgd_chart", alt=lesson.describe_per_step(panels))

# --- the two mistakes -------------------------------------------------------------------
st.header("Two mistakes to make once")

st.subheader("(a) Forgetting zero_()")
source = lesson.loop_program(lr, steps, zero=False)
piled = run(source)
left, right = st.columns(CODE_AND_NUMBERS, gap="large")
with left:
    st.markdown("The same loop without the two `zero_()` lines.")
    code_and_link(source, "loop_open_nozero")
if piled.error is not None:
    with right:
        show.show_error(piled.error, source)
elif manual_losses:
    piled_losses = lesson.losses(piled.training)
    piled_w = [lesson.leaf_number(s, "w", "value") for s in piled.training]
    piled_grad = [lesson.leaf_number(s, "w", "grad") for s in piled.training]
    fresh = [lesson.by_hand(w, lesson.leaf_number(s, "b", "value")).dw
             for w, s in zip(piled_w, piled.training)]
    shown = min(FIRST_STEPS, steps)
    with right:
        st.markdown(piled_up_words(shown, piled_grad, fresh, piled_losses, manual_losses))
        st.caption("Piling old gradients up on purpose is *momentum*: "
                   "`torch.optim.SGD(..., momentum=0.9)` shrinks the old sum by 0.9 at "
                   "every step, so the swings die down. Here nothing shrinks it.")
        show.show_warnings(piled)
    show.table(pd.DataFrame({
        "step": list(range(1, shown + 1)),
        "w": piled_w[:shown],
        "dL/dw at this w, b (by hand)": fresh[:shown],
        "sum of dL/dw so far (by hand)": [math.fsum(fresh[:k + 1]) for k in range(shown)],
        "w.grad (autograd)": piled_grad[:shown],
    }))
    manual_w = [lesson.leaf_number(s, "w", "value") for s in loop.training]
    panels = [("loss", [Line("with zero_()", manual_losses),
                        Line("without zero_()", piled_losses, dash="dash")]),
              ("w", [Line("with zero_()", manual_w),
                     Line("without zero_()", piled_w, dash="dash")])]
    st.plotly_chart(show.for_the_room(as_figure(lesson.per_step_spec(
        panels, "loss and w per step, with and without zero_()"))), width="stretch",
        key="loop_nozero_chart", alt=lesson.describe_per_step(panels))

st.subheader("(b) Updating outside torch.no_grad()")
source = lesson.loop_program(lr, steps, no_grad=False)
refused = run(source)
left, right = st.columns(CODE_AND_NUMBERS, gap="large")
with left:
    st.markdown("The same loop with the update written as plain lines.")
    code_and_link(source, "loop_open_nonograd")
with right:
    if refused.error is not None:
        st.markdown("**What the engine says** (torch raises this at the first update):")
        show.show_error(refused.error, source)
    else:
        st.warning("This ran without an error, which torch would not allow.",
                   icon=":material/warning:")
st.markdown(
    "**Why.** Outside `no_grad`, autograd records every operation on a tensor that "
    "requires grad, so `w -= lr * w.grad` would be recorded as one more step of the "
    "model. But it changes `w` in place, and `w` is a leaf: the parameter the "
    "gradients are collected for, with no history of its own. Recording the change "
    "would give `w` a history (a `grad_fn`), and it would no longer be the leaf "
    "`.grad` belongs to, so torch refuses. `with torch.no_grad():` says *this line is "
    "not part of the model*: `w` gets its new value and stays a leaf, and the next "
    "forward pass records a fresh graph from it.")
