"""AppTest: lessons 1-3 (derivatives, the BCE neuron's chain rule, vectors).

Every expected number comes from the hand-derived formula written here (2x, 2x·cos(x²),
the chain rule with math.exp, 2·x_i/n), never from the page's own output. Pages show
numbers to 4 significant digits (metrics, tables, the graph); the plots carry the full
float32 gradient at the current point, which is checked to float32 tolerance.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest_tools import dot, open_page, plotly_array, start
from tests.apptest_tools import table as read_table

pytestmark = pytest.mark.usefixtures("fresh_caches")

FLOAT32 = {"rel": 1e-5, "abs": 1e-5}  # float32 autograd against a float64 formula
SHOWN = {"rel": 1e-3, "abs": 1e-4}  # numbers shown to 4 significant digits


def metric(at: AppTest, label: str) -> float:
    return float(next(m for m in at.metric if m.label == label).value)


def plots(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def trace(figure: dict, name_start: str) -> dict:
    return next(t for t in figure["data"] if t.get("name", "").startswith(name_start))


def grad_at_point(at: AppTest, wrt: str) -> float:
    """The full-precision .grad the derivative plot marks at the current point."""
    return float(plotly_array(trace(plots(at)[1], f"{wrt}.grad =")["y"])[0])


def f32(x: float) -> float:
    """The number torch holds for an input box (float32)."""
    return float(np.float32(x))


# 1. Derivatives ---------------------------------------------------------------------------

def test_derivatives_shows_the_seed_point_x3():
    at = open_page("derivatives")
    assert at.slider(key="deriv_x").value == 3.0
    assert at.code[0].value.strip() == "y = x**2\ny.backward()\nx.grad"
    assert metric(at, "x.grad (autograd)") == 6
    assert metric(at, "by hand: 2x") == 6
    graph = dot(at)
    assert "<B>x</B>" in graph and "<B>y</B>" in graph
    assert "value 3" in graph and "value 9" in graph and ".grad 6<" in graph
    function, derivative = plots(at)
    assert function["layout"]["title"]["text"] == "y as a function of x"
    assert derivative["layout"]["title"]["text"] == "dy/dx"
    assert grad_at_point(at, "x") == 6.0


@pytest.mark.parametrize("x", [-4.3, -0.5, 0.7, 2.5, 5.0])
def test_derivatives_slider_gives_2x(x):
    at = open_page("derivatives")
    at.slider(key="deriv_x").set_value(x).run()
    assert not at.exception
    assert grad_at_point(at, "x") == pytest.approx(2 * x, **FLOAT32)
    assert metric(at, "x.grad (autograd)") == pytest.approx(2 * x, **SHOWN)
    assert metric(at, "by hand: 2x") == pytest.approx(2 * x, **SHOWN)
    assert abs(metric(at, "difference")) < 1e-5
    # the plotted derivative is 2x over the whole range, not just at the point
    curve = trace(plots(at)[1], "autograd")
    xs, dys = plotly_array(curve["x"]), plotly_array(curve["y"])
    assert xs.min() < x < xs.max()
    np.testing.assert_allclose(dys, 2 * xs, rtol=1e-5, atol=1e-5)


def test_derivatives_sin_starts_at_the_seed_point_x4():
    at = open_page("derivatives")
    at.segmented_control(key="deriv_fn").set_value("sin(x**2)").run()
    assert not at.exception
    assert at.slider(key="deriv_x").value == 4.0
    seed = 2 * 4 * math.cos(16)  # the seed's dz_dx(4) = -7.661275842587077
    assert grad_at_point(at, "x") == pytest.approx(seed, **FLOAT32)
    assert metric(at, "x.grad (autograd)") == -7.661
    assert metric(at, "by hand: 2x·cos(x²)") == -7.661
    graph = dot(at)
    assert all(f"<B>{name}</B>" in graph for name in "xyz")
    assert "value 16" in graph and f"value {math.sin(16):.4g}" in graph
    assert ".grad -7.661" in graph
    assert plots(at)[1]["layout"]["title"]["text"] == "dz/dx"


@pytest.mark.parametrize("x", [-2.2, 0.3, 1.7, 3.1])
def test_derivatives_sin_slider_gives_2x_cos_x2(x):
    at = open_page("derivatives")
    at.segmented_control(key="deriv_fn").set_value("sin(x**2)").run()
    at.slider(key="deriv_x").set_value(x).run()
    assert not at.exception
    x32 = f32(x)  # sin(x²) moves fast: compare at the float32 x torch used
    assert grad_at_point(at, "x") == pytest.approx(2 * x32 * math.cos(x32**2), rel=1e-4,
                                                   abs=1e-4)
    assert metric(at, "x.grad (autograd)") == pytest.approx(2 * x * math.cos(x**2), **SHOWN)


def test_derivatives_open_in_playground():
    at = open_page("derivatives")
    at.segmented_control(key="deriv_fn").set_value("sin(x**2)").run()
    at.slider(key="deriv_x").set_value(2.5).run()
    at.button(key="deriv_open").click().run()
    assert not at.exception
    assert at.text_area(key="pg_code").value == "y = x**2\nz = torch.sin(y)\nz.backward()\nx.grad\n"
    assert at.text_input(key="pg_in_x").value == "2.5"


# 2. Chain rule: the BCE neuron ---------------------------------------------------------------

def chain_rule(x: float, y: float, w: float, b: float) -> tuple[float, float]:
    """dL/dw and dL/db by the chain rule, as seed cell 20 writes it, in float64."""
    y_pred = 1 / (1 + math.exp(-(w * x + b)))
    dloss_dy_pred = (y_pred - y) / (y_pred * (1 - y_pred))
    dy_pred_dz = y_pred * (1 - y_pred)
    return dloss_dy_pred * dy_pred_dz * x, dloss_dy_pred * dy_pred_dz * 1


def test_chain_rule_shows_the_seed_numbers():
    at = open_page("chain_rule")
    dw, db = chain_rule(6.7, 0.0, 1.0, 0.0)
    assert dw == pytest.approx(6.691762447357178, rel=1e-7)  # the seed's manual numbers
    assert db == pytest.approx(0.998770534992218, rel=1e-7)
    assert metric(at, "w.grad (autograd)") == 6.692
    assert metric(at, "b.grad (autograd)") == 0.9988
    table = read_table(at).set_index("derivative")
    assert float(table.loc["dL/dw", "by hand"]) == 6.692
    assert float(table.loc["dL/db", "by hand"]) == 0.9988
    assert float(table.loc["dz/dw", "by hand"]) == 6.7
    assert "w = torch.tensor(1.0, requires_grad=True)" in at.code[0].value
    graph = dot(at)
    assert all(f"<B>{name}</B>" in graph for name in ("w", "b", "z", "y_pred", "loss"))
    assert ".grad 6.692" in graph and ".grad 0.9988" in graph and "value 6.701" in graph
    function, derivative = plots(at)
    assert function["layout"]["title"]["text"] == "loss as a function of w"
    assert grad_at_point(at, "w") == pytest.approx(dw, **FLOAT32)
    # the range -2..4 reaches w·x = 26.8, where float32 rounds sigmoid to 1: explained
    assert any("float32 rounds y_pred to exactly 1" in c.value for c in at.caption)


@pytest.mark.parametrize(("w", "y"), [(0.3, 0), (-0.4, 0), (0.2, 1), (-1.0, 1)])
def test_chain_rule_w_slider_matches_the_hand_chain_rule(w, y):
    at = open_page("chain_rule")
    at.segmented_control(key="chain_y").set_value(y).run()
    at.slider(key="chain_w").set_value(w).run()
    assert not at.exception
    assert f"w = torch.tensor({w!r}, requires_grad=True)" in at.code[0].value
    dw, db = chain_rule(f32(6.7), y, w, 0.0)
    assert grad_at_point(at, "w") == pytest.approx(dw, rel=1e-4, abs=1e-5)
    assert metric(at, "w.grad (autograd)") == pytest.approx(dw, **SHOWN)
    assert metric(at, "b.grad (autograd)") == pytest.approx(db, **SHOWN)
    table = read_table(at).set_index("derivative")
    assert float(table.loc["dL/dw", "by hand"]) == pytest.approx(dw, **SHOWN)
    assert float(table.loc["dL/dw", "autograd"]) == pytest.approx(dw, **SHOWN)


def test_chain_rule_x_and_b_change_the_numbers():
    at = open_page("chain_rule")
    at.slider(key="chain_x").set_value(-2.0).run()
    at.slider(key="chain_b").set_value(1.5).run()
    assert not at.exception
    dw, db = chain_rule(-2.0, 0.0, 1.0, 1.5)
    assert metric(at, "w.grad (autograd)") == pytest.approx(dw, **SHOWN)
    assert metric(at, "b.grad (autograd)") == pytest.approx(db, **SHOWN)
    assert "b = torch.tensor(1.5, requires_grad=True)" in at.code[0].value


def test_chain_rule_saturated_float32_is_explained():
    """w·x = 20.1: float32 rounds y_pred to 1, so log(1 - y_pred) is log 0 (nan grads)."""
    at = open_page("chain_rule")
    at.slider(key="chain_w").set_value(3.0).run()
    assert not at.exception
    assert math.isnan(metric(at, "w.grad (autograd)"))
    assert any("rounds to exactly 1 in float32" in c.value for c in at.caption)


def test_chain_rule_open_in_playground():
    at = open_page("chain_rule")
    at.slider(key="chain_w").set_value(0.5).run()
    at.button(key="chain_open").click().run()
    assert not at.exception
    code = at.text_area(key="pg_code").value
    assert "w = torch.tensor(0.5, requires_grad=True)" in code
    assert "loss = binary_cross_entropy_loss(y_pred, y)" in code
    assert at.text_input(key="pg_in_x").value == "6.7"
    assert at.text_input(key="pg_in_y").value == "0"
    assert at.checkbox(key="pg_rg_x").value is False
    assert at.checkbox(key="pg_rg_y").value is False


def test_chain_rule_steps_through_its_backward_pass_in_the_playground():
    """The lesson's second button opens the same neuron at backward's first step; its
    last step adds dL/dw = (p - y)·x to w.grad (p = sigmoid(w·x + b), by hand)."""
    at = open_page("chain_rule")
    at.slider(key="chain_w").set_value(0.5).run()
    at.button(key="chain_steps").click().run()
    assert not at.exception
    heading = next(m.value for m in at.markdown if m.value.startswith("#### Step "))
    assert heading == "#### Step 1 of 13"
    # AppTest runs the lesson again on the next interaction (its switch_page does not
    # persist), so go on from the link the button opened, as a browser would.
    at = start(dict(at.query_params))
    at.button(key="pg_step_last").click().run()
    p = 1 / (1 + math.exp(-(0.5 * 6.7)))
    leaf = next(m.value for m in at.latex if r"\texttt{w.grad}" in m.value)
    assert float(leaf.split("=")[-1].strip(" $\n")) == pytest.approx(p * 6.7, rel=1e-3)


# 3. Vectors ---------------------------------------------------------------------------------

def grads_table(at: AppTest) -> tuple[list[float], list[float]]:
    table = read_table(at)
    return ([float(v) for v in table["x.grad[i] (autograd)"]],
            [float(v) for v in table[next(c for c in table if c.startswith("by hand"))]])


def test_vectors_shows_the_seed_grads():
    at = open_page("vectors")
    autograd, hand = grads_table(at)
    expected = [2 * v / 3 for v in (1, 2, 3)]  # seed cell 36: [0.6667, 1.3333, 2.0]
    assert autograd == pytest.approx(expected, **SHOWN)
    assert hand == pytest.approx(expected, **SHOWN)
    graph = dot(at)
    assert "<B>x</B>" in graph and "<B>y</B>" in graph
    assert "value [1, 2, 3]" in graph and ".grad [0.6667, 1.333, 2]" in graph
    assert not at.get("plotly_chart")


def test_vectors_values_give_2x_over_n():
    at = open_page("vectors")
    at.slider(key="vec_n").set_value(5).run()
    values = [-3.5, 0.0, 2.5, 7.0, -10.0]
    for i, v in enumerate(values):
        at.number_input(key=f"vec_x{i}").set_value(v)
    at.run()
    assert not at.exception
    autograd, hand = grads_table(at)
    assert autograd == pytest.approx([2 * v / 5 for v in values], **SHOWN)
    assert hand == pytest.approx([2 * v / 5 for v in values], **SHOWN)
    assert any("torch.tensor([-3.5, 0, 2.5, 7, -10], requires_grad=True)" in m.value
               for m in at.markdown)


def test_vectors_drop_mean_explains_the_error_and_has_no_grads():
    at = open_page("vectors")
    at.toggle(key="vec_drop_mean").set_value(True).run()
    assert not at.exception
    assert at.code[0].value.strip() == "y = x**2\ny.backward()\nx.grad"
    error = at.error[0].value
    assert "grad can be implicitly created only for scalar outputs" in error
    assert "needs a single number" in error and "line 2" in error
    assert any(m.value.startswith("**In words:**") for m in at.markdown)
    assert any("y.backward(torch.ones_like(y))" in c.value for c in at.code)
    assert not at.table  # no gradients to show


def test_vectors_gradient_ones_gives_2x():
    at = open_page("vectors")
    at.toggle(key="vec_drop_mean").set_value(True).run()
    at.toggle(key="vec_gradient").set_value(True).run()
    assert not at.exception and not at.error
    assert "y.backward(torch.ones_like(y))" in at.code[0].value
    autograd, hand = grads_table(at)
    assert autograd == pytest.approx([2.0, 4.0, 6.0], **SHOWN)
    assert hand == pytest.approx([2.0, 4.0, 6.0], **SHOWN)
    assert ".grad [2, 4, 6]" in dot(at)


def test_vectors_open_in_playground():
    at = open_page("vectors")
    at.toggle(key="vec_drop_mean").set_value(True).run()
    at.button(key="vec_open").click().run()
    assert not at.exception
    assert at.text_area(key="pg_code").value == "y = x**2\ny.backward()\nx.grad\n"
    assert at.text_input(key="pg_in_x").value == "[1, 2, 3]"
