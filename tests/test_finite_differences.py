"""Gradients from run_program against central finite differences of independent code.

Each case is a program, its inputs, and the same function written in plain NumPy. The
engine's output must equal the NumPy value, and every ``.grad`` it reports must equal the
finite-difference derivative of the NumPy function (float64 throughout).
"""

from __future__ import annotations

import numpy as np
import pytest

from engine import derivative_curve, run_program


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


CASES = [
    ("square", "y = x**2", {"x": 3.0}, lambda x: x**2),
    ("sin of square", "z = torch.sin(x**2)", {"x": 4.0}, lambda x: np.sin(x**2)),
    ("bare math names", "y = exp(-x) * cos(3 * x) + sqrt(x)", {"x": 0.7},
     lambda x: np.exp(-x) * np.cos(3 * x) + np.sqrt(x)),
    ("two inputs", "y = x * w + torch.tanh(w / x)", {"x": 1.3, "w": -0.4},
     lambda x, w: x * w + np.tanh(w / x)),
    ("logistic neuron BCE",
     "p = torch.sigmoid(w * x + b)\n"
     "loss = -(t * torch.log(p) + (1 - t) * torch.log(1 - p))",
     {"w": 0.8, "x": 1.5, "b": -0.3, "t": 1.0},
     lambda w, x, b, t: -(t * np.log(sigmoid(w * x + b))
                          + (1 - t) * np.log(1 - sigmoid(w * x + b)))),
    ("F.binary_cross_entropy", "loss = F.binary_cross_entropy(torch.sigmoid(w * x), t)",
     {"w": 0.5, "x": 2.0, "t": 0.0},
     lambda w, x, t: -(t * np.log(sigmoid(w * x)) + (1 - t) * np.log(1 - sigmoid(w * x)))),
    ("vector mean of squares", "y = (x**2).mean()", {"x": [1.0, 2.0, 3.0]},
     lambda x: np.mean(x**2)),
    ("matrix-vector", "y = torch.relu(W @ v).sum()",
     {"W": [[1.0, -2.0], [0.5, 3.0]], "v": [0.3, 0.9]},
     lambda W, v: np.maximum(W @ v, 0).sum()),
    ("where (leaky relu)", "y = torch.where(x > 0, x, 0.1 * x).sum()",
     {"x": [-1.5, 0.5, 2.0]}, lambda x: np.where(x > 0, x, 0.1 * x).sum()),
    ("softmax cross entropy",
     "loss = F.cross_entropy(z.unsqueeze(0), torch.tensor([1]))",
     {"z": [0.2, 1.0, -0.5]}, lambda z: -(z[1] - np.log(np.exp(z).sum()))),
    ("mse loss", "loss = F.mse_loss(w * x, t)", {"w": 0.7, "x": [1.0, 2.0], "t": [1.0, 1.0]},
     lambda w, x, t: np.mean((w * x - t) ** 2)),
    ("indexing and slicing", "y = (x[1:] * x[:-1]).sum() + x[0] ** 3",
     {"x": [0.5, -1.0, 2.0, 1.5]}, lambda x: (x[1:] * x[:-1]).sum() + x[0] ** 3),
    ("norm and division", "y = x.norm() / (1 + x.abs().sum())", {"x": [3.0, -4.0]},
     lambda x: np.linalg.norm(x) / (1 + np.abs(x).sum())),
    ("augmented assignment", "y = x * 2\ny += x ** 2\ny *= 3", {"x": 1.7},
     lambda x: 3 * (2 * x + x**2)),
    ("function def", "def f(a):\n    return a * torch.exp(a)\ny = f(x) + f(2 * x)",
     {"x": 0.3}, lambda x: x * np.exp(x) + 2 * x * np.exp(2 * x)),
    ("clamp and pow", "y = (torch.clamp(x, -1, 1) ** 3).sum() + x.pow(2).sum()",
     {"x": [0.5, 2.0, -0.2]}, lambda x: (np.clip(x, -1, 1) ** 3).sum() + (x**2).sum()),
    ("linear layer", "y = F.linear(x, W, bias).tanh().sum()",
     {"x": [1.0, -1.0], "W": [[0.1, 0.2], [0.3, -0.4], [0.5, 0.6]], "bias": [0.0, 0.1, -0.1]},
     lambda x, W, bias: np.tanh(W @ x + bias).sum()),
]


def finite_difference(fn, values: dict[str, np.ndarray], name: str,
                      eps: float = 1e-6) -> np.ndarray:
    base = values[name]
    grad = np.zeros_like(base)
    for index in np.ndindex(base.shape):
        plus, minus = base.copy(), base.copy()
        plus[index] += eps
        minus[index] -= eps
        grad[index] = (fn(**{**values, name: plus}) - fn(**{**values, name: minus})) / (2 * eps)
    return grad


@pytest.mark.parametrize(("label", "source", "inputs", "reference"), CASES,
                         ids=[c[0] for c in CASES])
def test_grads_match_finite_differences(label, source, inputs, reference):
    r = run_program(source, inputs, dtype="float64", isolate=False)
    assert r.error is None, r.error
    values = {k: np.array(v, dtype=np.float64) for k, v in inputs.items()}
    assert r.output.item() == pytest.approx(float(reference(**values)), rel=1e-10, abs=1e-12)
    for name in inputs:
        expected = finite_difference(reference, values, name)
        assert r.grads[name] is not None, name
        np.testing.assert_allclose(r.grads[name].numpy(), expected, rtol=1e-6, atol=1e-7,
                                   err_msg=f"d output / d {name}")


@pytest.mark.parametrize(("label", "source", "inputs", "reference"),
                         [c for c in CASES if np.ndim(next(iter(c[2].values()))) == 0],
                         ids=[c[0] for c in CASES if np.ndim(next(iter(c[2].values()))) == 0])
def test_curves_match_finite_differences(label, source, inputs, reference):
    wrt = next(iter(inputs))
    lo, hi = 0.1, 2.0  # away from 0, where some cases divide by their input
    xs, ys, dys = derivative_curve(source, inputs, wrt=wrt, lo=lo, hi=hi, n=201,
                                   dtype="float64", isolate=False)
    values = {k: np.array(v, dtype=np.float64) for k, v in inputs.items()}
    assert len(xs) == len(ys) == len(dys) == 201
    for x, y, dy in list(zip(xs, ys, dys))[::20]:
        point = {**values, wrt: np.array(x)}
        want = reference(**point)
        if not np.isfinite(want):
            continue
        assert y == pytest.approx(float(want), rel=1e-9, abs=1e-12)
        assert dy == pytest.approx(float(finite_difference(reference, point, wrt)),
                                   rel=1e-5, abs=1e-6)
