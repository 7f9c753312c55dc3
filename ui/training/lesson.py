"""Lesson 7's programs, its formulas by hand and its figures (no Streamlit, no torch).

The lesson fits the seed's logistic neuron, p = sigmoid(w·x + b) with the BCE loss, to six
points on a line. Every program the page runs is built here from the two widgets (the
learning rate and the number of steps), so the page shows exactly the text the engine
runs. The formulas by hand are the seed's chain rule (cell 20) averaged over the points,
in Python floats: the page sets them beside autograd's numbers. The figures are plain
plotly specs (see ui.plots.as_figure) with their descriptions in words for ``alt``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.running.summary import format_number
from ui.training.plots import PALETTE

# Six points on a line. Two break the pattern (x = 2 is labelled 1, x = 3 is labelled 0),
# so no w, b separates them perfectly: the loss has a lowest point at finite w, b, and a
# loop that overshoots it (no zero_()) visibly swings back. With separable points the
# best w is infinite and piling gradients up only looks like faster learning.
XS = (0.5, 1.5, 2.0, 3.0, 3.5, 4.5)
YS = (0.0, 0.0, 1.0, 0.0, 1.0, 1.0)
LEARNING_RATES = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)

DATA = f"""\
# six points: inputs xs, labels ys
xs = torch.tensor([{", ".join(map(str, XS))}])
ys = torch.tensor([{", ".join(map(str, YS))}])
w = torch.tensor(0.0, requires_grad=True)
b = torch.tensor(0.0, requires_grad=True)
"""
FORWARD = """\
p = torch.sigmoid(w * xs + b)
loss = F.binary_cross_entropy(p, ys)
"""
UPDATE = """\
with torch.no_grad():
    w -= lr * w.grad
    b -= lr * b.grad
"""
ZERO = "w.grad.zero_()\nb.grad.zero_()\n"


def _indent(text: str) -> str:
    return "".join(f"    {line}\n" for line in text.splitlines())


def lr_text(lr: float) -> str:
    """The learning rate as the program writes it: 0.05, 0.5, 2."""
    return f"{lr:g}"


def one_pass_program() -> str:
    """Part 1: one forward pass over all six points and one backward."""
    return DATA + FORWARD + "loss.backward()\n"


def update_program(lr: float) -> str:
    """Part 2: one pass, one update under no_grad, and the loss at the new w, b."""
    return (DATA + f"lr = {lr_text(lr)}\n" + FORWARD + "loss.backward()\n" + UPDATE
            + "p = torch.sigmoid(w * xs + b)\nloss_after = F.binary_cross_entropy(p, ys)\n")


def two_passes_program(lr: float, zero: bool) -> str:
    """Part 3: one pass and update, then (with ``zero``) zero_(), and a second pass."""
    first = DATA + f"lr = {lr_text(lr)}\n" + FORWARD + "loss.backward()\n" + UPDATE
    return first + (ZERO if zero else "") + FORWARD + "loss.backward()\n"


def loop_program(lr: float, steps: int, *, zero: bool = True, no_grad: bool = True) -> str:
    """Part 4 and the two mistakes: the whole loop by hand, ``steps`` times. Without
    ``zero`` the two zero_() lines are left out; without ``no_grad`` the update runs
    outside the ``with torch.no_grad():`` block."""
    update = UPDATE if no_grad else "w -= lr * w.grad\nb -= lr * b.grad\n"
    body = FORWARD + "loss.backward()\n" + update + (ZERO if zero else "")
    return (DATA + f"lr = {lr_text(lr)}\n" + f"for step in range({steps}):\n"
            + _indent(body))


def sgd_program(lr: float, steps: int) -> str:
    """Part 5: the same loop with torch.optim.SGD doing the update and the zeroing."""
    body = FORWARD + "optimizer.zero_grad()\nloss.backward()\noptimizer.step()\n"
    return (DATA + f"lr = {lr_text(lr)}\n" + "optimizer = torch.optim.SGD([w, b], lr=lr)\n"
            + f"for step in range({steps}):\n" + _indent(body))


# --- by hand --------------------------------------------------------------------------


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


@dataclass(frozen=True)
class ByHand:
    """The mean BCE over the points and its gradient, by the seed's chain rule:
    dL/dz = (p − y)/(p(1 − p)) · p(1 − p) = p − y for each point, times dz/dw = x or
    dz/db = 1, averaged."""

    loss: float
    dw: float
    db: float


def softplus(z: float) -> float:
    """log(1 + e^z) without overflow: -log σ(-z) and -log(1 - σ(z))."""
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


def by_hand(w: float, b: float) -> ByHand:
    """In float64 at any w, b: log p and log(1 − p) come from z directly, so a point
    far out (p rounds to 0 or 1) gives a large loss instead of log 0. Float32 torch
    rounds p to exactly 1 from z ≈ 16.6 on and then caps −log at 100: out there the two
    part (lesson 2 says so); the page compares them near the start, where they agree."""
    n = len(XS)
    zs = [w * x + b for x in XS]
    ps = [sigmoid(z) for z in zs]
    loss = sum(y * softplus(-z) + (1 - y) * softplus(z) for z, y in zip(zs, YS)) / n
    dw = sum((p - y) * x for p, y, x in zip(ps, YS, XS)) / n
    db = sum(p - y for p, y in zip(ps, YS)) / n
    return ByHand(loss, dw, db)


def leaf_number(step: dict[str, Any], name: str, part: str) -> float:
    """A single-number leaf's value or .grad in one training record (NaN when None)."""
    found = step["leaves"].get(name, {}).get(part)
    return math.nan if found is None else float(found["value"])


def losses(steps: Sequence[dict[str, Any]]) -> list[float]:
    return [math.nan if s["loss"] is None else float(s["loss"]) for s in steps]


@dataclass(frozen=True)
class Difference:
    """Where two loops' losses first part, and how far apart they get."""

    first_step: int | None  # None: every loss is the same float32 number
    first: float
    largest: float
    first_ulps: float  # the first difference in units of float32's last place there


def difference(a: Sequence[float], b: Sequence[float]) -> Difference:
    gaps = [abs(x - y) for x, y in zip(a, b, strict=True)]
    first = next((i for i, gap in enumerate(gaps) if gap != 0), None)
    if first is None:
        return Difference(None, 0.0, 0.0, 0.0)
    ulp = float(np.spacing(np.float32(abs(a[first]))))
    return Difference(first + 1, gaps[first], max(gaps), gaps[first] / ulp)


# --- figures --------------------------------------------------------------------------


def fit_spec(w: float, b: float) -> dict[str, Any]:
    """The six points at their labels and the fitted p(x) = sigmoid(w·x + b) over them,
    with the untrained neuron (p = 0.5 everywhere) and where p crosses 0.5."""
    xs = np.linspace(0.0, 5.0, 201)
    curve = [sigmoid(w * x + b) for x in xs]
    traces: list[dict[str, Any]] = [
        {"type": "scatter", "x": xs, "y": [0.5] * len(xs), "mode": "lines",
         "name": "before training (w = 0, b = 0)",
         "line": {"color": "#888888", "width": 2, "dash": "dot"}, "hoverinfo": "skip"},
        {"type": "scatter", "x": xs, "y": curve, "mode": "lines",
         "name": f"p(x) = {neuron_text(w, b)}",
         "line": {"color": PALETTE[0], "width": 3}, "hovertemplate": "x %{x:.2f}: p "
                                                                      "%{y:.4f}<extra></extra>"},
        {"type": "scatter", "x": list(XS), "y": list(YS), "mode": "markers",
         "name": "the points (x, label)",
         "marker": {"color": PALETTE[1], "size": 13, "symbol": "circle",
                    "line": {"color": "#000000", "width": 1}},
         "hovertemplate": "x %{x}, label %{y:.0f}<extra></extra>"},
    ]
    if (cross := crossing(w, b)) is not None and 0.0 <= cross <= 5.0:
        traces.append({"type": "scatter", "x": [cross, cross], "y": [0, 1], "mode": "lines",
                       "name": f"p = 0.5 at x = {format_number(cross)}",
                       "line": {"color": PALETTE[2], "width": 2, "dash": "dash"},
                       "hoverinfo": "skip"})
    return {"data": traces, "layout": {
        "title": {"text": "The fitted neuron: p(label 1) at every x"},
        "height": 380, "margin": {"l": 10, "r": 10, "t": 50, "b": 10},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0},
        "xaxis": {"title": {"text": "x"}, "range": [0, 5]},
        "yaxis": {"title": {"text": "p = probability of label 1"}, "range": [-0.05, 1.05]}}}


def crossing(w: float, b: float) -> float | None:
    """Where p(x) = 0.5, i.e. w·x + b = 0: the neuron's boundary between the labels."""
    return -b / w if w != 0 and math.isfinite(w) and math.isfinite(b) else None


def neuron_text(w: float, b: float) -> str:
    """``sigmoid(1.24·x − 3.07)``: the fitted neuron as a learner writes it."""
    sign = "−" if b < 0 else "+"
    return f"sigmoid({format_number(w)}·x {sign} {format_number(abs(b))})"


def describe_fit(w: float, b: float) -> str:
    ps = ", ".join(f"x = {x:g} (label {y:g}): p = {format_number(sigmoid(w * x + b))}"
                   for x, y in zip(XS, YS))
    cross = crossing(w, b)
    where = ("" if cross is None else
             f" It crosses 0.5 at x = {format_number(cross)}.")
    return (f"Line chart of p(x) = {neuron_text(w, b)} for "
            f"x from 0 to 5, with the six points at their labels and the untrained "
            f"neuron's flat line at 0.5.{where} At the points: {ps}.")


GAP = 0.1  # between two charts side by side, for the second one's y axis title


@dataclass(frozen=True)
class Line:
    """One line of a per-step chart: its name, values and dash (so it is not told apart
    by colour alone)."""

    name: str
    values: Sequence[float]
    dash: str = "solid"
    width: float = 2


def per_step_spec(panels: Sequence[tuple[str, Sequence[Line]]], title: str,
                  ) -> dict[str, Any]:
    """One or two charts side by side on the step axis; each panel is (y title, lines).
    A line's colour follows its position, so the same loop has the same colour in both."""
    span = (1 - GAP * (len(panels) - 1)) / len(panels)
    traces = []
    layout: dict[str, Any] = {
        "title": {"text": title}, "height": 380, "hovermode": "x unified",
        "margin": {"l": 10, "r": 10, "t": 50, "b": 10},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0}}
    for index, (y_title, lines) in enumerate(panels):
        suffix = "" if index == 0 else str(index + 1)
        left = index * (span + GAP)
        layout[f"xaxis{suffix}"] = {"title": {"text": "step"}, "domain": [left, left + span],
                                    "anchor": f"y{suffix}"}
        layout[f"yaxis{suffix}"] = {"title": {"text": y_title}, "anchor": f"x{suffix}"}
        for number, line in enumerate(lines):
            steps = list(range(1, len(line.values) + 1))
            traces.append({
                "type": "scatter", "x": steps, "y": _gaps(line.values), "mode": "lines",
                "name": line.name, "legendgroup": line.name, "showlegend": index == 0,
                "xaxis": f"x{suffix}", "yaxis": f"y{suffix}",
                "line": {"color": PALETTE[number % len(PALETTE)], "width": line.width,
                         "dash": line.dash},
                "hovertemplate": f"{line.name}: %{{y:.6g}}<extra></extra>"})
    return {"data": traces, "layout": layout}


def _gaps(values: Sequence[float]) -> list[float | None]:
    return [float(v) if math.isfinite(v) else None for v in values]


def describe_per_step(panels: Sequence[tuple[str, Sequence[Line]]]) -> str:
    """Each line in words: where it starts and ends, and its lowest and highest value."""
    parts = []
    for y_title, lines in panels:
        for line in lines:
            finite = [(v, i) for i, v in enumerate(line.values, start=1) if math.isfinite(v)]
            if not finite:
                parts.append(f"{line.name}: no finite values")
                continue
            low, high = min(finite), max(finite)
            parts.append(f"{y_title}, {line.name}: step 1 {format_number(finite[0][0])}, "
                         f"step {finite[-1][1]} {format_number(finite[-1][0])}, lowest "
                         f"{format_number(low[0])} at step {low[1]}, highest "
                         f"{format_number(high[0])} at step {high[1]}")
    steps = max(len(line.values) for _, lines in panels for line in lines)
    return f"Line chart over steps 1 to {steps}. " + "; ".join(parts) + "."
