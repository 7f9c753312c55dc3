"""second_derivative_curve: f'' from one batched grad-of-grad pass, against independent math.

References are never the engine's own output: textbook second derivatives written in
NumPy, and central finite differences of a central-difference first derivative of the
same function written in plain ``math`` (float64). Float32 is checked only where float32
can be accurate (see the BCE neuron). Refusals must say what went wrong in words.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine import derivative_curve, second_derivative_curve
from engine.errors import ProgramRefused
from ui.examples import EXAMPLES


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def curve(source: str, inputs: dict | None = None, **options):
    """The in-process curve (the worker is checked once, below)."""
    options = {"lo": -3.0, "hi": 3.0, "n": 61, **options}
    return second_derivative_curve(source, inputs or {"x": 1.0}, isolate=False, **options)


# -- 1. textbook second derivatives ------------------------------------------------------------
HAND = [
    ("x**2", "y = x**2", lambda x: np.full_like(x, 2.0)),
    ("sin(x²)", "y = torch.sin(x**2)",
     lambda x: 2 * np.cos(x**2) - 4 * x**2 * np.sin(x**2)),
    ("exp", "y = torch.exp(x)", np.exp),
    ("tanh", "y = torch.tanh(x)", lambda x: -2 * np.tanh(x) / np.cosh(x) ** 2),
    ("x**3", "y = x**3", lambda x: 6 * x),
    ("sigmoid", "y = torch.sigmoid(x)",
     lambda x: sigmoid(x) * (1 - sigmoid(x)) * (1 - 2 * sigmoid(x))),
    ("linear: recorded, but f'' = 0", "y = 3 * x + 1", lambda x: np.zeros_like(x)),
]


@pytest.mark.parametrize(("label", "source", "second"), HAND, ids=[h[0] for h in HAND])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_second_derivative_matches_the_textbook(label, source, second, dtype):
    xs, ys, dys, d2ys = curve(source, dtype=dtype)
    assert xs.shape == ys.shape == dys.shape == d2ys.shape == (61,)
    tight = dtype == "float64"
    # float32: sin(x²) near x = 3 has |f''| up to ~36 and x² rounded to 2^-20 relative.
    np.testing.assert_allclose(d2ys, second(xs), rtol=1e-10 if tight else 1e-4,
                               atol=1e-10 if tight else 2e-4, err_msg=label)


def test_first_derivative_and_values_come_with_it():
    """The same pass also gives f and f' (sin(x²): 2x cos(x²))."""
    xs, ys, dys, _ = curve("y = torch.sin(x**2)", dtype="float64")
    np.testing.assert_allclose(ys, np.sin(xs**2), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dys, 2 * xs * np.cos(xs**2), rtol=1e-12, atol=1e-12)


def test_bce_neuron_of_the_examples_in_float32():
    """The Playground's BCE neuron (x = 6.7, y = 0 held as constants), varied in w:
    loss = -log(1 - σ(wx + b)), so d²loss/dw² = x² σ (1 - σ). In float32, 1 - σ cancels
    once wx passes ~2 (relative error ~1e-7 / (1 - σ)) and the program's clamp to 1e-8
    takes over below w ≈ -2.75, so the range is where float32 can be accurate."""
    example = next(e for e in EXAMPLES if "BCE" in e.title)
    off = dict.fromkeys(example.constants, False)
    xs, ys, dys, d2ys = second_derivative_curve(example.code, example.values, "w", -2.5, 1.0,
                                                71, requires_grad=off, isolate=False)
    s = sigmoid(6.7 * xs)
    np.testing.assert_allclose(ys, -np.log(1 - s), rtol=1e-4, atol=1e-6)  # 1 - s rounds
    np.testing.assert_allclose(dys, 6.7 * s, rtol=1e-4)
    np.testing.assert_allclose(d2ys, 6.7**2 * s * (1 - s), rtol=1e-4)


# -- 2. central finite differences of the first derivative, float64, random ranges -------------
def fd_second(f, x: float, h: float = 1e-4) -> float:
    """f'' as the central difference of the central-difference f' (plain floats)."""
    def slope(t: float) -> float:
        return (f(t + h) - f(t - h)) / (2 * h)
    return (slope(x + h) - slope(x - h)) / (2 * h)


def _sig(v: float) -> float:
    return 1 / (1 + math.exp(-v))


FD_CASES = [
    ("bare math names", "y = exp(-x) * cos(3 * x) + sqrt(x)", {"x": 0.7},
     lambda x: math.exp(-x) * math.cos(3 * x) + math.sqrt(x)),
    ("two inputs", "y = x * w + torch.tanh(w / x)", {"x": 1.3, "w": -0.4},
     lambda x: x * -0.4 + math.tanh(-0.4 / x)),
    ("logistic neuron BCE", "p = torch.sigmoid(w * x + b)\n"
     "loss = -(t * torch.log(p) + (1 - t) * torch.log(1 - p))",
     {"w": 0.8, "x": 1.5, "b": -0.3, "t": 1.0},
     lambda w: -math.log(_sig(w * 1.5 - 0.3))),
    ("F.binary_cross_entropy", "loss = F.binary_cross_entropy(torch.sigmoid(w * x), t)",
     {"w": 0.5, "x": 2.0, "t": 0.3},
     lambda w: -(0.3 * math.log(_sig(2 * w)) + 0.7 * math.log(1 - _sig(2 * w)))),
    ("function def", "def f(a):\n    return a * torch.exp(a)\ny = f(x) + f(2 * x)",
     {"x": 0.3}, lambda x: x * math.exp(x) + 2 * x * math.exp(2 * x)),
    ("augmented assignment", "y = x * 2\ny += x ** 3\ny *= torch.sin(x)", {"x": 1.7},
     lambda x: (2 * x + x**3) * math.sin(x)),
    ("quotient", "y = x / (1 + x**2)", {"x": 0.5}, lambda x: x / (1 + x**2)),
    ("softplus and gelu", "y = F.softplus(x) * F.gelu(x)", {"x": 0.5},
     lambda x: math.log1p(math.exp(x)) * x * 0.5 * (1 + math.erf(x / math.sqrt(2)))),
    ("reduction over a constant vector", "v = torch.tensor([1.0, 2.0, 3.0])\n"
     "L = ((w * v - 1)**3).mean()", {"w": 0.5},
     lambda w: sum((w * v - 1) ** 3 for v in (1.0, 2.0, 3.0)) / 3),
    ("log times power", "y = torch.log(x) * x**2.5", {"x": 1.0},
     lambda x: math.log(x) * x**2.5),
]


@pytest.mark.parametrize(("label", "source", "inputs", "reference"), FD_CASES,
                         ids=[c[0] for c in FD_CASES])
def test_second_derivative_matches_finite_differences(label, source, inputs, reference):
    wrt = next(iter(inputs))
    rng = np.random.default_rng(sum(map(ord, label)))  # a fixed, different range per case
    lo = float(rng.uniform(0.1, 1.0))
    hi = lo + float(rng.uniform(0.2, 1.0))
    xs, _, _, d2ys = second_derivative_curve(source, inputs, wrt, lo, hi, 17,
                                             dtype="float64", isolate=False)
    for x, d2 in zip(xs, d2ys):
        assert d2 == pytest.approx(fd_second(reference, float(x)), rel=1e-5, abs=1e-6), \
            f"{label} at {wrt} = {x}"


# -- 3. the worker, and what has no second derivative ---------------------------------------------
def test_worker_and_in_process_give_the_same_arrays():
    example = next(e for e in EXAMPLES if "BCE" in e.title)
    off = dict.fromkeys(example.constants, False)
    for source, inputs, wrt, options in [
            ("y = x**2\nz = torch.sin(y)", {"x": "4"}, "x", {}),
            (example.code, example.values, "w", {"requires_grad": off})]:
        isolated = second_derivative_curve(source, inputs, wrt, -2, 2, 101, **options)
        here = second_derivative_curve(source, inputs, wrt, -2, 2, 101, isolate=False,
                                       **options)
        assert len(isolated) == len(here) == 4
        for a, b in zip(isolated, here):
            assert a.dtype == b.dtype == np.float64
            np.testing.assert_array_equal(a, b)


def test_worker_refuses_like_in_process():
    with pytest.raises(ProgramRefused) as info:
        second_derivative_curve("y = F.hardsigmoid(x)", {"x": 0.0}, n=5)
    assert "second derivative" in info.value.error.message


def test_first_derivative_curve_keeps_three_arrays():
    assert len(derivative_curve("y = x**2", {"x": 1.0}, n=5, isolate=False)) == 3


def test_no_second_derivative_in_torch_is_refused_in_words():
    with pytest.raises(ProgramRefused) as info:
        curve("y = F.hardsigmoid(x) * x")
    message = info.value.error.message
    assert message.startswith("This curve cannot be drawn: torch has no second derivative "
                              "for `hardsigmoid`"), message
    assert "cannot itself be differentiated" in message
    # Its first derivative exists: the f' curve still draws.
    assert np.isfinite(derivative_curve("y = F.hardsigmoid(x) * x", {"x": 0.0}, n=5,
                                        isolate=False)[2]).all()


@pytest.mark.parametrize("source", ["y = x * x.item()", "y = x * float(x)"])
def test_item_is_refused_in_words(source):
    with pytest.raises(ProgramRefused) as info:
        curve(source)
    assert "plain number" in info.value.error.message


def test_vector_output_is_refused_as_for_the_first_curve():
    with pytest.raises(ProgramRefused) as info:
        curve("y = x * torch.ones(3)")
    assert "3 elements" in info.value.error.message


@pytest.mark.parametrize("options", [{"no_grad": True}, {"detach": ["y"]},
                                     {"requires_grad": {"x": False}}],
                         ids=["no_grad", "detach", "requires_grad off"])
def test_no_recorded_path_gives_nan_for_both_derivatives(options):
    xs, ys, dys, d2ys = curve("y = x**2", n=5, **options)
    np.testing.assert_allclose(ys, xs**2)
    assert np.isnan(dys).all() and np.isnan(d2ys).all()


def test_each_point_gets_half_the_tensor_budget():
    """grad of grad keeps the first pass's values alive, so a point's tensors may be half
    as large as for f' (the same program draws as an f' curve)."""
    from engine import Limits

    source, limits = "y = (torch.ones(60) * x).sum()", Limits(max_curve_elements=10_000)
    assert len(derivative_curve(source, {"x": 1.0}, n=101, limits=limits,
                                isolate=False)) == 3
    with pytest.raises(ProgramRefused) as info:
        curve(source, n=101, limits=limits)
    assert info.value.error.kind == "limit"
