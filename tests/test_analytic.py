"""The derivative by hand (engine.teaching.analytic) against independent references only.

References are hand-derived formulas, the seed notebook's printed numbers, central finite
differences of NumPy code written here, and torch.autograd on torch expressions built
here; never the module's own output.
"""

from __future__ import annotations

import math
import pickle
import re
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine import DEFAULT_LIMITS, Formula, analytic_derivative, hand_gradients
from engine.errors import ProgramRefused
from engine.language import tables as L
from engine.language.checker import check_program
from engine.sandbox import wire
from engine.teaching.analytic.rules import RULES
from tests.test_hostile import BOMBS, ESCAPES
from tests.test_seed import BCE_AUTOGRAD, BCE_FORWARD

ROOT = Path(__file__).resolve().parent.parent


def formula(source: str, inputs=None, wrt: str = "x", **options) -> Formula:
    return analytic_derivative(source, inputs, wrt, isolate=False, **options)


def refusal(source: str, inputs=None, wrt: str = "x", **options):
    with pytest.raises(ProgramRefused) as caught:
        formula(source, inputs, wrt, **options)
    error = caught.value.error
    assert error.message.strip(), "every refusal says why"
    return error


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def central_difference(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / (2 * h)


def autograd_derivative(fn, x0: float) -> tuple[float, float]:
    """(f, df/dx) at x0 by torch.autograd in float64, for a torch function ``fn``."""
    x = torch.tensor(float(x0), dtype=torch.float64, requires_grad=True)
    y = fn(x)
    (dy,) = torch.autograd.grad(y, x)
    return y.item(), dy.item()


# --- the seed notebook ---------------------------------------------------------------------
def test_x_squared_at_3():
    f = formula("y = x**2", {"x": 3})
    assert f.df_value == 6.0 and f.f_value == 9.0
    assert "x^{2}" in f.f_latex
    assert f.df_latex == "2 x"
    assert f.output_name == "y" and f.wrt == "x" and not f.too_long_to_show
    assert f.values == {"x": 3.0}


def test_sin_of_x_squared_at_4_seed_program():
    f = formula("x = torch.tensor(4.0, requires_grad=True)\n"
                "y = x ** 2\ny\nz = torch.sin(y)\nz\nz.backward()\nx.grad\ny.grad\n")
    # seed cell 9: dz/dx = 2 x cos(x^2) at 4
    assert f.df_value == pytest.approx(-7.661275842587077, rel=1e-12)
    assert f.f_value == pytest.approx(math.sin(16.0), rel=1e-12)
    assert f.output_name == "z"  # what backward() was called on
    assert r"\sin" in f.f_latex and "x^{2}" in f.f_latex  # y substituted: sin(x^2)
    assert "y" not in f.f_latex


@pytest.mark.parametrize("wrt, expected", [("w", 6.691762447357178),
                                           ("b", 0.998770534992218)])
def test_seed_bce_neuron_matches_the_manual_chain_rule(wrt, expected):
    f = formula(BCE_AUTOGRAD, wrt=wrt)
    # the seed's manual chain rule printed these (float32); by hand in float64:
    # dL/dw = (sigmoid(wx + b) - y) x, dL/db = sigmoid(wx + b) - y at x=6.7, y=0, w=1, b=0
    assert f.df_value == pytest.approx(expected, rel=1e-5)
    s = 1 / (1 + math.exp(-6.7))
    assert f.df_value == pytest.approx(s * 6.7 if wrt == "w" else s, rel=1e-12)
    assert f.f_value == pytest.approx(-math.log(1 - s), rel=1e-12)
    assert f.output_name == "loss"
    assert f.values == {"b": 0.0, "w": 1.0, "x": 6.7, "y": 0.0}
    assert r"\min" in f.f_latex and r"\max" in f.f_latex  # the clamp, as written
    assert f.notes == ()  # w and b require grad; nothing stops autograd


def test_seed_bce_without_requires_grad_still_differentiates_and_says_why():
    f = formula(BCE_FORWARD, wrt="w")
    assert f.df_value == pytest.approx(6.691762447357178, rel=1e-5)
    assert f.output_name == "loss"
    assert any("`w` does not require grad" in note for note in f.notes)


def test_bce_interior_derivatives_equal_autograd():
    """At points where clamp is not active, every leaf's derivative equals autograd's."""
    source = BCE_AUTOGRAD.replace("6.7", "0.8").replace("0.0, requires", "0.3, requires")

    def loss(w, b, x=0.8, t=0.0):
        p = torch.clamp(torch.sigmoid(w * x + b), 1e-8, 1 - 1e-8)
        return -(t * torch.log(p) + (1 - t) * torch.log(1 - p))

    w = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    dw, db = torch.autograd.grad(loss(w, b), (w, b))
    assert formula(source, wrt="w").df_value == pytest.approx(float(dw), rel=1e-12)
    assert formula(source, wrt="b").df_value == pytest.approx(float(db), rel=1e-12)


def test_vector_mean_of_squares_gives_the_gradient_components():
    f = formula("x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)\n"
                "y = (x**2).mean()\ny.backward()\nx.grad\n")
    assert f.f_value == pytest.approx(14 / 3)
    assert f.df_values == pytest.approx((2 / 3, 4 / 3, 2.0))  # d/dx_i mean(x^2) = 2x_i/3
    assert math.isnan(f.df_value)
    assert "x_{0}" in f.f_latex and f.df_latex.count(",") == 2
    assert f.values == {"x[0]": 1.0, "x[1]": 2.0, "x[2]": 3.0}
    boxed = formula("y = (x**2).mean()", {"x": "[1, 2, 3]"})
    assert boxed.df_values == f.df_values


# --- curves against NumPy written here --------------------------------------------------------
CURVES = [
    ("y = torch.sin(x**2)", {"x": 4.0}, "x", lambda x: np.sin(x**2)),
    ("y = torch.tanh(x) * torch.exp(-x**2 / 2) + x / 3", {"x": 0.0}, "x",
     lambda x: np.tanh(x) * np.exp(-x**2 / 2) + x / 3),
    ("p = torch.sigmoid(w * x + b)\nloss = -(t * torch.log(p) + (1 - t) * torch.log(1 - p))",
     {"w": 0.8, "x": 1.5, "b": -0.3, "t": 1.0}, "w",
     lambda w: -np.log(sigmoid(w * 1.5 - 0.3))),
    ("y = F.softplus(x) + torch.sqrt(x**2 + 1) * torch.cos(x)", {"x": 1.0}, "x",
     lambda x: np.log1p(np.exp(x)) + np.sqrt(x**2 + 1) * np.cos(x)),
    ("def f(a, c):\n    return a * c + torch.atan(a)\ny = f(x, 2.0) ** 2", {"x": 0.5}, "x",
     lambda x: (2 * x + np.arctan(x)) ** 2),
    ("y = F.mse_loss(torch.sigmoid(x), torch.tensor(0.25))", {"x": 0.1}, "x",
     lambda x: (sigmoid(x) - 0.25) ** 2),
]


@pytest.mark.parametrize("source, inputs, wrt, numpy_f", CURVES,
                         ids=[c[0].splitlines()[-1][:30] for c in CURVES])
def test_curves_equal_numpy_and_finite_differences(source, inputs, wrt, numpy_f):
    f = formula(source, inputs, wrt, lo=-2.0, hi=2.5, n=451)
    xs = np.linspace(-2.0, 2.5, 451)
    assert f.xs.dtype == np.float64 and np.array_equal(f.xs, xs)
    np.testing.assert_allclose(f.fs, numpy_f(xs), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(f.dfs, central_difference(numpy_f, xs), rtol=1e-6, atol=1e-7)
    # the values at the point are the curve's at the current value of wrt
    x0 = inputs[wrt]
    assert f.f_value == pytest.approx(float(numpy_f(np.float64(x0))), rel=1e-12, abs=1e-12)


def test_curve_with_clamp_away_from_its_bounds():
    f = formula("y = torch.clamp(x, -1.0, 2.0) ** 2 + torch.relu(x - 0.5)", {"x": 0.0},
                lo=-3, hi=3, n=600)  # the grid avoids -1, 0.5 and 2 exactly

    def numpy_f(x):
        return np.clip(x, -1, 2) ** 2 + np.maximum(x - 0.5, 0)

    np.testing.assert_allclose(f.fs, numpy_f(f.xs), rtol=1e-12)
    np.testing.assert_allclose(f.dfs, central_difference(numpy_f, f.xs, 1e-7), atol=1e-5)


def test_curve_of_a_constant_derivative_and_of_a_wrt_not_in_the_formula():
    f = formula("y = 3 * x + b", {"x": 1.0, "b": 2.0}, lo=0, hi=1, n=5)
    assert f.dfs.tolist() == [3.0] * 5 and f.fs.tolist() == [2.0, 2.75, 3.5, 4.25, 5.0]
    zero = formula("y = x**2", {"x": 1.0, "b": 2.0}, "b", lo=0, hi=1, n=3)
    assert zero.df_value == 0.0 and zero.df_latex == "0" and zero.dfs.tolist() == [0, 0, 0]
    assert zero.fs.tolist() == [1.0, 1.0, 1.0]


def test_no_curve_unless_asked():
    f = formula("y = x**2", {"x": 1.0})
    assert f.xs.size == f.fs.size == f.dfs.size == 0


# --- every function in the table against torch.autograd ---------------------------------------
_POSITIVE = {"log", "log2", "log10", "sqrt", "rsqrt", "logit", "acosh"}
_MATH_AS_TORCH = {"fabs": "abs", "radians": "deg2rad", "degrees": "rad2deg"}


def _unary_cases():
    cases = []
    for key, rule in sorted(RULES.items()):
        name = key.rsplit(".", 1)[-1]
        if rule.kind != "map" or rule.required != 1 or name in ("clamp", "clip"):
            continue
        for x0 in (0.37, -0.8):
            if name in _POSITIVE and x0 < 0:
                continue
            cases.append(pytest.param(key, x0 + (1 if name == "acosh" else 0),
                                      id=f"{key}@{x0}"))
    return cases


def _torch_reference(key: str):
    name = key.rsplit(".", 1)[-1]
    if key.startswith("F."):
        return getattr(F, name)
    if key.startswith("."):
        return lambda t: getattr(t, name)()
    return getattr(torch, _MATH_AS_TORCH.get(name, name))


@pytest.mark.parametrize("key, x0", _unary_cases())
def test_every_one_argument_function_matches_autograd(key, x0):
    call = f"x.{key[1:]}()" if key.startswith(".") else f"{key}(x)"
    if key.startswith("math."):  # a Python float is never the output: make it a tensor
        call = f"torch.tensor(1.0) * {call}"
    f = formula(f"y = {call}", {"x": x0})
    value, derivative = autograd_derivative(_torch_reference(key), x0)
    assert f.f_value == pytest.approx(value, rel=1e-7, abs=1e-9)
    assert f.df_value == pytest.approx(derivative, rel=1e-7, abs=1e-9)


TWO_ARGUMENTS = [
    ("torch.pow(x, 3)", lambda x: torch.pow(x, 3)),
    ("(x + 1).pow(2.5)", lambda x: (x + 1).pow(2.5)),
    ("torch.pow(2.0, x)", lambda x: torch.pow(2.0, x)),
    ("math.pow(x, 2) * torch.tensor(1.0)", lambda x: x**2),
    ("torch.add(x, x**2, alpha=3)", lambda x: torch.add(x, x**2, alpha=3)),
    ("torch.sub(x**3, x, alpha=0.5)", lambda x: torch.sub(x**3, x, alpha=0.5)),
    ("x.mul(torch.sin(x)).div(x + 2)", lambda x: x.mul(torch.sin(x)).div(x + 2)),
    ("torch.true_divide(1, x)", lambda x: torch.true_divide(1, x)),
    ("torch.maximum(x, 1 - x)", lambda x: torch.maximum(x, 1 - x)),
    ("torch.minimum(x**2, torch.tensor(0.3))", lambda x: torch.minimum(x**2, torch.tensor(
        0.3, dtype=torch.float64))),
    ("torch.max(x, torch.cos(x))", lambda x: torch.max(x, torch.cos(x))),
    ("torch.atan2(x, torch.tensor(0.7))", lambda x: torch.atan2(x, torch.tensor(
        0.7, dtype=torch.float64))),
    ("torch.hypot(x, x + 1)", lambda x: torch.hypot(x, x + 1)),
    ("torch.clamp(3 * x, min=-0.2, max=0.9)", lambda x: torch.clamp(3 * x, -0.2, 0.9)),
    ("x.clamp(max=0.1)", lambda x: x.clamp(max=0.1)),
    ("torch.lerp(x, x**3, 0.25)", lambda x: torch.lerp(x, x**3, 0.25)),
    ("F.leaky_relu(x - 1, 0.2)", lambda x: F.leaky_relu(x - 1, 0.2)),
    ("F.elu(x - 1, alpha=0.5)", lambda x: F.elu(x - 1, alpha=0.5)),
    ("F.softplus(x, beta=2)", lambda x: F.softplus(x, beta=2)),
    ("F.gelu(x, approximate='tanh')", lambda x: F.gelu(x, approximate="tanh")),
    ("F.hardtanh(3 * x)", lambda x: F.hardtanh(3 * x)),
    ("F.mse_loss(x, torch.tensor(2.0))", lambda x: F.mse_loss(x, torch.tensor(
        2.0, dtype=torch.float64))),
    ("F.l1_loss(x, torch.tensor(2.0))", lambda x: F.l1_loss(x, torch.tensor(
        2.0, dtype=torch.float64))),
    ("F.binary_cross_entropy(torch.sigmoid(x), torch.tensor(0.3))",
     lambda x: F.binary_cross_entropy(torch.sigmoid(x), torch.tensor(0.3, dtype=x.dtype))),
    ("F.binary_cross_entropy_with_logits(x, torch.tensor(0.3), pos_weight=torch.tensor(2.0))",
     lambda x: F.binary_cross_entropy_with_logits(
         x, torch.tensor(0.3, dtype=x.dtype), pos_weight=torch.tensor(2.0, dtype=x.dtype))),
    ("x.detach() * x + x.item() + float(x)", lambda x: x * x + 2 * x),
    ("x.sum() + torch.mean(x) + x.prod(dim=0)", lambda x: 3 * x),
]


@pytest.mark.parametrize("call, reference", TWO_ARGUMENTS, ids=[c for c, _ in TWO_ARGUMENTS])
@pytest.mark.parametrize("x0", [0.45, -0.65])
def test_functions_with_more_arguments_match_autograd(call, reference, x0):
    f = formula(f"y = {call}", {"x": x0})
    value, derivative = autograd_derivative(reference, x0)
    assert f.f_value == pytest.approx(value, rel=1e-9, abs=1e-12)
    assert f.df_value == pytest.approx(derivative, rel=1e-9, abs=1e-12)


VECTORS = [
    ("F.mse_loss(v, t)", lambda v, t: F.mse_loss(v, t)),
    ("F.binary_cross_entropy(torch.sigmoid(v), t, reduction='sum')",
     lambda v, t: F.binary_cross_entropy(torch.sigmoid(v), t, reduction="sum")),
    ("F.binary_cross_entropy_with_logits(v, t)", F.binary_cross_entropy_with_logits),
    ("(torch.tanh(v) * t).sum() / v.mean()", lambda v, t: (torch.tanh(v) * t).sum() / v.mean()),
    ("torch.max(v * t) + v.min()", lambda v, t: torch.max(v * t) + v.min()),
    ("F.l1_loss(v, t, reduction='none').sum()",
     lambda v, t: F.l1_loss(v, t, reduction="none").sum()),
]


@pytest.mark.parametrize("expression, reference", VECTORS, ids=[c for c, _ in VECTORS])
def test_list_inputs_give_autograd_gradients(expression, reference):
    v0, t0 = [0.3, -1.2, 2.0], [0.0, 1.0, 0.25]
    f = formula(f"y = {expression}", {"v": v0, "t": t0}, "v")
    v = torch.tensor(v0, dtype=torch.float64, requires_grad=True)
    y = reference(v, torch.tensor(t0, dtype=torch.float64))
    (grad,) = torch.autograd.grad(y, v)
    assert f.f_value == pytest.approx(y.item(), rel=1e-12)
    assert f.df_values == pytest.approx(grad.tolist(), rel=1e-12, abs=1e-12)


def test_every_table_entry_is_a_name_of_the_language():
    language = ({f.name for f in L.TORCH_FUNCTIONS.values()}
                | {f.name for f in L.F_FUNCTIONS.values()}
                | {f.name for f in L.MATH_FUNCTIONS.values()}
                | set(L.BARE_FUNCTIONS) | {"." + m for m in L.TENSOR_METHODS})
    assert sorted(set(RULES) - language) == []


# --- property: random expressions against torch.autograd ----------------------------------------
def _trees():
    leaves = st.one_of(st.just(("x",)),
                       st.integers(-20, 20).map(lambda k: ("c", k / 10)))

    def grow(children):
        unary = st.tuples(st.sampled_from(["sin", "cos", "exp", "tanh", "sigmoid", "sq",
                                           "cube", "neg"]), children)
        binary = st.tuples(st.sampled_from(["+", "-", "*", "/"]), children, children)
        return st.one_of(unary, binary)

    return st.recursive(leaves, grow, max_leaves=8)


def _source(tree) -> str:
    """The tree as program text (torch functions, as a learner would write them)."""
    kind = tree[0]
    if kind == "x":
        return "x"
    if kind == "c":
        return f"({tree[1]!r})"
    if len(tree) == 3:
        a, b = _source(tree[1]), _source(tree[2])
        if kind == "/":  # the denominator stays in [0.5, 2.5]
            return f"({a} / (1.5 + torch.sin({b})))"
        return f"({a} {kind} {b})"
    a = _source(tree[1])
    return {"sin": f"torch.sin({a})", "cos": f"torch.cos({a})",
            "exp": f"torch.exp(torch.tanh({a}))", "tanh": f"torch.tanh({a})",
            "sigmoid": f"torch.sigmoid({a})", "sq": f"({a})**2", "cube": f"({a})**3",
            "neg": f"(-{a})"}[kind]


def _torch(tree, x: torch.Tensor) -> torch.Tensor:
    """The same tree computed directly with torch (no text involved)."""
    kind = tree[0]
    if kind == "x":
        return x
    if kind == "c":
        return torch.tensor(tree[1], dtype=torch.float64)
    if len(tree) == 3:
        a, b = _torch(tree[1], x), _torch(tree[2], x)
        return {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
                "/": lambda: a / (1.5 + torch.sin(b))}[kind]()
    a = _torch(tree[1], x)
    return {"sin": torch.sin, "cos": torch.cos, "exp": lambda t: torch.exp(torch.tanh(t)),
            "tanh": torch.tanh, "sigmoid": torch.sigmoid, "sq": lambda t: t**2,
            "cube": lambda t: t**3, "neg": lambda t: -t}[kind](a)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=_trees(), x0=st.floats(-2, 2, allow_nan=False))
def test_random_expressions_match_autograd(tree, x0):
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    y = _torch(tree, x) + 0 * x  # + 0*x: x is always in the graph
    (dy,) = torch.autograd.grad(y, x)
    assume(math.isfinite(y.item()) and math.isfinite(dy.item()) and abs(y.item()) < 1e12)
    f = formula(f"y = {_source(tree)} + 0 * x", {"x": x0})
    assert f.f_value == pytest.approx(y.item(), rel=1e-9, abs=1e-9)
    assert f.df_value == pytest.approx(dy.item(), rel=1e-7, abs=1e-8)


# --- what the formula is of ---------------------------------------------------------------
def test_output_rule_is_the_runs_rule():
    # backward() wins over a later assignment
    assert formula("y = x**2\ny.backward()\nz = x**3", {"x": 2.0}).output_name == "y"
    # else the last assignment, or a later expression line that is a tensor
    assert formula("y = x**2\nz = x**3", {"x": 2.0}).df_value == 12.0
    f = formula("y = x**2\nx * 5\nprint(y)\nx.grad", {"x": 2.0})
    assert f.output_name is None and f.df_value == 5.0
    assert formula("y = x**2\nz = x**3", {"x": 2.0}, output="y").df_value == 4.0
    message = refusal("y = x**2\nz = x**3", {"x": 2.0}, output="w").message
    assert "`w`" in message
    assert "no tensor output" in refusal("y = x**2\nlr = 0.1", {"x": 2.0}).message


def test_detach_no_grad_and_item_are_followed_and_noted():
    f = formula("z = x.detach()\nwith torch.no_grad():\n    y = z**2\nw = y.item() * x",
                {"x": 3.0}, output="w")
    assert f.df_value == 27.0  # d/dx x^3: the textbook derivative, as written
    assert len(f.notes) == 3
    assert any("detach" in n for n in f.notes) and any("no_grad" in n for n in f.notes)
    assert any("plain Python number" in n for n in f.notes)


def test_inplace_changes_every_name_of_the_tensor():
    f = formula("y = x * 1\na = y\na += 1\nz = y * 2", {"x": 2.0})
    assert f.f_value == 6.0 and f.df_value == 2.0  # z = 2(x + 1): y changed through a
    plain = formula("c = 2.0\nd = c\nd += 1\ny = x * c", {"x": 1.0})
    assert plain.f_value == 2.0  # Python numbers: += makes a new number


def test_user_function_with_intermediates_is_inlined():
    f = formula("def neuron(a, w, b):\n    z = w * a + b\n    return torch.sigmoid(z)\n"
                "y = neuron(x, 2.0, -1.0)", {"x": 0.5})
    s = sigmoid(0.0)
    assert f.df_value == pytest.approx(2 * s * (1 - s), rel=1e-12)
    assert "z" not in f.f_latex


def test_an_unused_refused_line_does_not_stop_the_formula():
    f = formula("noise = torch.randn(3)\nm = x @ x\ny = x**2", {"x": 2.0})
    assert f.df_value == 4.0


def test_a_leaf_created_twice_is_two_symbols():
    f = formula("x = torch.tensor(2.0)\ny = x**2\nx = torch.tensor(5.0)\nz = y", {},
                output="z")
    assert f.df_value == 4.0 and f.values == {"x": 2.0}
    assert "created twice" in refusal("x = torch.tensor(2.0)\ny = x**2\n"
                                      "x = torch.tensor(5.0)\nz = y * x").message


def test_long_formulas_are_not_written_out_but_still_computed():
    source = "y = x\n" + "y = torch.sin(y)\n" * 30
    f = formula(source, {"x": 0.3})
    assert f.too_long_to_show and f.df_latex == ""

    def nested(x):
        for _ in range(30):
            x = torch.sin(x)
        return x

    assert f.df_value == pytest.approx(autograd_derivative(nested, 0.3)[1], rel=1e-12)


def test_kinks_take_the_average_of_both_sides():
    """Documented: at a kink the formula's Heaviside(0) = 1/2 (autograd picks a side)."""
    assert formula("y = torch.relu(x)", {"x": 0.0}).df_value == 0.5
    assert formula("y = torch.abs(x)", {"x": 0.0}).df_value == 0.0


def test_formula_is_plain_data():
    f = formula(BCE_AUTOGRAD, wrt="b", lo=-1, hi=1, n=11)
    assert pickle.loads(pickle.dumps(f)) == f
    assert wire.decode_formula(wire.loads(wire.dumps(wire.encode_formula(f)))) == f


def test_worker_and_in_process_give_the_same_formula():
    isolated = analytic_derivative(BCE_AUTOGRAD, wrt="w", lo=-2, hi=2, n=101)
    local = formula(BCE_AUTOGRAD, wrt="w", lo=-2, hi=2, n=101)
    assert isolated == local
    assert isolated.df_value == pytest.approx(6.691762447357178, rel=1e-5)
    with pytest.raises(ProgramRefused) as caught:
        analytic_derivative("y = torch.randn(2)", {"x": 1.0})
    assert "torch.randn" in caught.value.error.message


# --- refusals -------------------------------------------------------------------------------
REFUSED = [
    ("random", "y = torch.randn(1) * x", {"x": 1.0}, {}, "`torch.randn`"),
    ("matmul operator", "y = x @ x", {"x": [1.0, 2.0]}, {}, "matrix product"),
    ("matmul function", "y = torch.matmul(x, x)", {"x": [1.0, 2.0]}, {}, "torch.matmul"),
    ("indexing", "y = x[0]", {"x": [1.0, 2.0]}, {}, "indexing"),
    ("comparison", "y = (x > 0) * x", {"x": 1.0}, {}, "comparisons"),
    ("where", "y = torch.where(x > 0, x, -x)", {"x": 1.0}, {}, "`torch.where`"),
    ("grad", "y = x**2\ny.backward()\nz = x.grad * x", {"x": 1.0}, {"output": "z"},
     "autograd computes"),
    ("unknown wrt", "y = x**2", {"x": 1.0}, {"wrt": "q"}, "no input or variable called `q`"),
    ("wrt intermediate", "y = x**2\nz = y + 1", {"x": 1.0}, {"wrt": "y"}, "nothing to vary"),
    ("too many points", "y = x**2", {"x": 1.0}, {"n": DEFAULT_LIMITS.max_curve_points + 1},
     "number of points"),
    ("lo == hi", "y = x**2", {"x": 1.0}, {"n": 10, "lo": 1.0, "hi": 1.0}, "lo < hi"),
    ("lo > hi", "y = x**2", {"x": 1.0}, {"n": 10, "lo": 2.0, "hi": -1.0}, "lo < hi"),
    ("lo nan", "y = x**2", {"x": 1.0}, {"n": 10, "lo": math.nan, "hi": 1.0}, "finite"),
    ("list output", "y = x * 2", {"x": [1.0, 2.0]}, {}, "y.sum()"),
    ("list curve", "y = (x * 2).sum()", {"x": [1.0, 2.0]}, {"n": 10}, "varies one number"),
    ("table input", "y = x.sum()", {"x": [[1.0, 2.0], [3.0, 4.0]]}, {}, "shape (2, 2)"),
    ("division by zero", "y = x / 0", {"x": 1.0}, {}, "division by zero"),
    ("huge power", "y = (2 * x) ** 1000000000000000", {"x": 1.0}, {}, "too large"),
    ("reduce along dim", "y = torch.max(x, 0)", {"x": [1.0, 2.0]}, {}, "along a dimension"),
    ("syntax", "y = (x", {"x": 1.0}, {}, "not valid Python"),
]


@pytest.mark.parametrize("source, inputs, options, expected", [c[1:] for c in REFUSED],
                         ids=[c[0] for c in REFUSED])
def test_refusals_say_why(source, inputs, options, expected):
    wrt = options.pop("wrt", "x")
    error = refusal(source, inputs, wrt, **dict(options))
    assert expected in error.message
    assert error.kind in ("refused", "input", "limit", "syntax")


def test_blow_up_is_refused_fast():
    started = time.perf_counter()
    error = refusal("x = torch.tensor(1.5, requires_grad=True)\n" + "x = x*x\n" * 40)
    assert time.perf_counter() - started < 1.0
    assert error.kind == "limit" and "too large" in error.message


@pytest.mark.parametrize("lines", [
    ["y = y * torch.sin(x + {i})"] * 90,
    ["y = torch.maximum(y, torch.sin(x + {i}))"] * 60,
    ["y = torch.sigmoid(w * y + {i})"] * 20,
    ["y = y * torch.sin(y) + torch.cos(y)"] * 20,
    ["y = y ** y"] * 20,
])
def test_large_formulas_answer_or_refuse_within_a_second(lines):
    source = "y = x\n" + "\n".join(line.format(i=i) for i, line in enumerate(lines, 1))
    started = time.perf_counter()
    try:
        formula(source, {"x": 0.7, "w": 1.1}, lo=-2, hi=2, n=2001)
    except ProgramRefused as refused:
        assert refused.error.kind == "limit"
    assert time.perf_counter() - started < 1.0


def test_hostile_program_gets_the_checkers_refusal_and_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for source in ["open('f', 'w')", "y = __import__('os').system('touch f')",
                   "y = x.__class__", "import os"]:
        error = refusal(source, {"x": 1.0})
        with pytest.raises(ProgramRefused) as checker:
            check_program(source, DEFAULT_LIMITS, {"x"})
        assert error == checker.value.error
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("case", ESCAPES + BOMBS)
def test_every_escape_and_bomb_of_the_hostile_corpus_is_refused(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = case.source.replace("SENTINEL", str(tmp_path / "sentinel"))
    started = time.perf_counter()
    with pytest.raises(ProgramRefused) as caught:
        analytic_derivative(source, case.inputs, "x", n=101, isolate=False,
                            limits=case.limits or DEFAULT_LIMITS)
    assert caught.value.error.message.strip()
    assert caught.value.error.kind != "internal"
    assert time.perf_counter() - started < 2.0
    assert list(tmp_path.iterdir()) == []


def test_the_package_never_turns_text_into_code():
    package = ROOT / "engine" / "teaching" / "analytic"
    files = sorted(package.rglob("*.py"))
    assert {f.name for f in files} >= {"__init__.py", "rules.py", "walker.py", "numeric.py"}
    for path in files:
        name, source = path.relative_to(ROOT).as_posix(), path.read_text()
        for word in ["sympify", "parse_expr", "lambdify", "eval(", "exec(", "compile(",
                     "S(\"", "S('", "getattr(sympy", "__import__"]:
            assert word not in source, f"{name} must not use {word}"
        assert not re.search(r"\bimport (os|subprocess|pickle)\b", source), name


# --- hand_gradients: every leaf's derivative at once, no LaTeX ----------------------------

def _sigmoid(t: float) -> float:
    return 1 / (1 + math.exp(-t))


@pytest.mark.parametrize("isolate", [False, True])
def test_hand_gradients_of_the_bce_neuron_are_the_hand_derived_ones(isolate: bool) -> None:
    from ui.examples import BCE_CODE

    x, y, w, b = 6.7, 0.0, 1.0, 0.0
    got = hand_gradients(BCE_CODE, {"x": x, "y": y}, ["w", "b", "x", "y", "nothing"],
                         isolate=isolate)
    p = _sigmoid(w * x + b)
    # dL/dz = p - y for BCE after a sigmoid; z = w x + b; dL/dy = log(1 - p) - log(p).
    assert got["w"] == pytest.approx((p - y) * x, rel=1e-9)
    assert got["b"] == pytest.approx(p - y, rel=1e-9)
    assert got["x"] == pytest.approx((p - y) * w, rel=1e-9)
    assert got["y"] == pytest.approx(math.log(1 - p) - math.log(p), rel=1e-9)
    assert got["nothing"] is None


def test_hand_gradients_agree_with_each_formula_and_skip_vectors() -> None:
    source = "z = torch.sin(x * a) + (v**2).sum() * a"
    inputs = {"x": 0.3, "a": 2.0, "v": [1.0, 2.0]}
    got = hand_gradients(source, inputs, ["x", "a", "v"], isolate=False)
    # d/dx = a cos(x a); d/da = x cos(x a) + sum(v^2)
    assert got["x"] == pytest.approx(2.0 * math.cos(0.6), rel=1e-12)
    assert got["a"] == pytest.approx(0.3 * math.cos(0.6) + 5.0, rel=1e-12)
    assert got["v"] is None  # two numbers: the formula's df_values, not one value


def test_hand_gradients_refuse_what_has_no_formula() -> None:
    with pytest.raises(ProgramRefused):
        hand_gradients("y = torch.randn(3).sum() * x", {"x": 1.0}, ["x"], isolate=False)


@pytest.mark.parametrize(("source", "what", "line"), [
    ("y = x\nfor i in range(3):\n    y = y * x\n", "a `for` loop", 2),
    ("y = x * 2\nif x > 0:\n    y = y + 1\n", "an `if`", 2),
    ("z = x * 2\nw = torch.zeros(2)\nw[0] = z\n", "an assignment into an attribute or an item", 3),
    ("f = lambda v: v * 2\ny = f(x)\n", "a `lambda`", 1),
    ("y = x ** 2\nprint(f'{y}')\n", "an f-string", 2),
])
def test_no_formula_for_the_rest_of_the_language_names_the_construct(source, what, line):
    """The language runs loops, ifs, item assignment...; the formula by hand follows
    straight-line math only and says which construct it does not follow, and where."""
    with pytest.raises(ProgramRefused) as caught:
        analytic_derivative(source, {"x": 1.5}, "x", isolate=False)
    error = caught.value.error
    assert error.kind != "internal"
    assert f"No formula by hand for {what} (line {line})" in error.message
