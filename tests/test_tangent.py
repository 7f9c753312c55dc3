"""The tangent and the point on f' are the derivative at the current x, not ``.grad``.

``.grad`` is what the program's calls left in it: a second backward() adds to it,
``x.grad.zero_()`` clears it, ``backward(gradient)`` scales it. The plots draw the
derivative (d/dx x² = 2x, by hand) and show ``.grad`` beside it with one sentence on why
it differs. Expected numbers come from the hand formula or plain torch, never the page.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from engine import run_program
from tests.apptest_tools import plotly_array, start
from ui.examples import EXAMPLES
from ui.plots import CurveView, derivative_spec, function_spec, grad_note

TWICE = next(e for e in EXAMPLES if e.title == "Gradients add up: backward twice")
ZEROED = "y = x**2\ny.backward()\nx.grad.zero_()\n"
SCALED = "y = x**2\ny.backward(torch.tensor(3.0))\n"


# -- what the run records ------------------------------------------------------------------
def test_the_run_records_the_calls_that_touch_grad_in_order():
    r = run_program(TWICE.code, TWICE.values)
    assert [(e["kind"], e["code"], e["of"]) for e in r.grad_events] == [
        ("backward", "y.backward(retain_graph=True)", "y"), ("backward", "y.backward()", "y")]
    r = run_program(ZEROED, {"x": "2"}, isolate=False)
    assert [(e["kind"], e["code"], e["of"]) for e in r.grad_events] == [
        ("backward", "y.backward()", "y"), ("changed", "x.grad.zero_()", "x")]
    r = run_program(SCALED, {"x": "2"}, isolate=False)
    assert [e["scaled"] for e in r.grad_events] == [True]
    assert run_program("y = x**2", {"x": "2"}, isolate=False).grad_events == []  # the app's


# -- the figure specs ----------------------------------------------------------------------
XS = np.linspace(-1, 5, 601)


def view(grad0: float | None, x0: float = 2.0) -> CurveView:
    return CurveView("x", "y", XS, XS**2, 2 * XS, x0, x0**2, 2 * x0, grad0=grad0)


def slope(trace: dict) -> float:
    (x1, x2), (y1, y2) = trace["x"], trace["y"]
    return (y2 - y1) / (x2 - x1)


@pytest.mark.parametrize("grad0", [8.0, 0.0, None])
def test_the_tangent_has_the_derivatives_slope_whatever_grad_holds(grad0):
    traces = function_spec(view(grad0))["data"]
    tangent = next(t for t in traces if t["name"].startswith("tangent"))
    assert tangent["name"] == "tangent, slope 4" and slope(tangent) == pytest.approx(4.0)


def test_f_prime_shows_the_derivative_and_grad_beside_it_where_they_differ():
    names = {t["name"]: t for t in derivative_spec(view(8.0))["data"]}
    assert names["dy/dx = 4"]["y"] == [4.0] and names["x.grad = 8"]["y"] == [8.0]
    agree = [t["name"] for t in derivative_spec(view(4.0))["data"]]
    assert agree == ["autograd", "x.grad = 4"]  # one point: .grad is the derivative


@pytest.mark.parametrize(("grad0", "events", "words"), [
    (8.0, [("backward", "y.backward(retain_graph=True)", "y", False),
           ("backward", "y.backward()", "y", False)],
     ["`x.grad` is 8, twice the derivative dy/dx = 4 at x = 2", "ran twice", "adds"]),
    (12.0, [("backward", "y.backward()", "y", False)] * 3, ["3 times the derivative"]),
    (0.0, [("backward", "y.backward()", "y", False), ("changed", "x.grad.zero_()", "x", False)],
     ["`x.grad` is 0, not the derivative dy/dx = 4", "`x.grad.zero_()`"]),
    (12.0, [("backward", "y.backward(torch.tensor(3.0))", "y", True)],
     ["is 12, not", "was given a gradient"]),
    (1.0, [("backward", "z.backward()", "z", False)], ["backward() ran from `z`, not from `y`"]),
    (None, [], ["`x.grad` is None", "no backward() call reached x"]),
    (5.0, [("backward", "y.backward()", "y", False), ("changed", "x.grad.add_(1)", "x", False),
           ("backward", "y.backward()", "y", False)],
     ["keeps whatever", "`y.backward()`, then `x.grad.add_(1)`, then `y.backward()`"]),
])
def test_one_sentence_says_why_grad_is_not_the_derivative(grad0, events, words):
    events = [dict(zip(("kind", "code", "of", "scaled"), e)) for e in events]
    note = grad_note(view(grad0), events)
    assert note is not None and note.count(". ") == 0 and note.endswith(".")
    for word in words:
        assert word in note


def test_no_sentence_when_grad_is_the_derivative_or_there_is_none():
    assert grad_note(view(4.0), [{"kind": "backward", "code": "y.backward()", "of": "y",
                                  "scaled": False}]) is None
    no_path = CurveView("x", "y", XS, XS**2, XS * np.nan, 2.0, 4.0, None, grad0=None)
    assert grad_note(no_path, []) is None


# -- the Playground ------------------------------------------------------------------------
def curves(at: AppTest) -> tuple[dict[str, dict], dict[str, dict]]:
    """The f and derivative charts (a program calling backward() twice also has a Training
    panel: its chart has a step axis, not x)."""
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    f, df = [s for s in specs if "yaxis3" not in s["layout"]][:2]
    return ({t["name"]: t for t in f["data"]}, {t["name"]: t for t in df["data"]})


def tangent_of(traces: dict[str, dict]) -> tuple[str, float, float]:
    """The tangent's name, slope, and its height at the current point x0."""
    name = next(n for n in traces if n.startswith("tangent"))
    xs, ys = plotly_array(traces[name]["x"]), plotly_array(traces[name]["y"])
    rise = (ys[1] - ys[0]) / (xs[1] - xs[0])
    return name, float(rise), float(ys[0] + rise * ((xs[0] + xs[1]) / 2 - xs[0]))


def plain_torch_twice(x: float) -> tuple[float, float]:
    """The example in plain torch: (dy/dx by one fresh backward, x.grad after two)."""
    point = torch.tensor(x, requires_grad=True)
    (derivative,) = torch.autograd.grad(point**2, point)
    y = point**2
    y.backward(retain_graph=True)
    y.backward()
    return derivative.item(), point.grad.item()


def plain_torch_zeroed(x: float) -> tuple[float, float]:
    """ZEROED in plain torch: (dy/dx, x.grad after backward and zero_())."""
    point = torch.tensor(x, requires_grad=True)
    y = point**2
    y.backward()
    derivative = point.grad.item()
    point.grad.zero_()
    return derivative, point.grad.item()


@pytest.mark.usefixtures("fresh_caches")
def test_backward_twice_example_tangent_is_the_derivative_and_grad_is_explained():
    at = start()
    at.selectbox(key="pg_example").set_value(TWICE.title).run()
    assert not at.exception
    derivative, grad = plain_torch_twice(2.0)
    assert (derivative, grad) == (4.0, 8.0)
    f, df = curves(at)
    name, rise, height = tangent_of(f)
    assert name == "tangent, slope 4" and rise == pytest.approx(derivative)
    assert height == pytest.approx(4.0)  # it touches y = x² at x = 2
    assert plotly_array(df["dy/dx = 4"]["y"]).tolist() == [derivative]
    assert plotly_array(df["x.grad = 8"]["y"]).tolist() == [grad]
    notes = [i.value for i in at.info if "x.grad" in i.value]
    assert len(notes) == 1 and "is 8, twice the derivative dy/dx = 4" in notes[0]


@pytest.mark.usefixtures("fresh_caches")
def test_zeroed_grad_draws_no_flat_tangent():
    at = start({"code": ZEROED, "in": ["x:2"]})
    assert not at.exception
    derivative, grad = plain_torch_zeroed(2.0)
    f, df = curves(at)
    name, rise, _ = tangent_of(f)
    assert name == "tangent, slope 4" and rise == pytest.approx(derivative)
    assert plotly_array(df["x.grad = 0"]["y"]).tolist() == [grad] == [0.0]
    notes = [i.value for i in at.info if "x.grad" in i.value]
    assert len(notes) == 1 and "x.grad.zero_()" in notes[0]


@pytest.mark.usefixtures("fresh_caches")
def test_the_slope_is_exact_at_a_point_between_the_curves_samples():
    """x = 2.31 with the range -1..5 (801 points, step 0.0075) is not a sample: the slope
    is d/dx x³ = 3x² at 2.31 exactly, not read off the nearest points."""
    code = "y = x**3\ny.backward(retain_graph=True)\ny.backward()\n"
    at = start({"code": code, "in": ["x:2.31"], "lo": "-1", "hi": "5"})
    assert not at.exception
    x = torch.tensor(2.31)
    expected = (3 * x**2).item()
    name, rise, _ = tangent_of(curves(at)[0])
    assert rise == pytest.approx(expected, rel=1e-6)
    assert name == f"tangent, slope {expected:.4g}"
