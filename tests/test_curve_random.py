"""Curves of programs that draw random numbers (torch.randn, rand, randint, *_like).

The reference is what a learner would do in plain torch: for every x, seed the generator
as the app does (``torch.manual_seed(0)``), run the program, and take the derivative with
``torch.autograd.grad``. So every point sees the numbers the single run drew. The global
generator is seeded only inside ``torch.random.fork_rng``, which puts it back.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest
import torch

from engine import Limits, derivative_curve, run_program, second_derivative_curve
from engine.errors import ProgramRefused
from tests.apptest_tools import plotly_array, start

Reference = Callable[[torch.Tensor], torch.Tensor]


def _noisy_twice(x: torch.Tensor) -> torch.Tensor:
    def noisy(t: torch.Tensor) -> torch.Tensor:
        return t + torch.randn(())
    return noisy(x) * noisy(x)


def _random_leaf_then_draw(x: torch.Tensor) -> torch.Tensor:
    torch.randn((), requires_grad=True)  # the program's own x, replaced by the point
    w = torch.rand(2)
    return (w * x**3).sum()


# (program, inputs, wrt, the same program in plain torch as a function of the point)
PROGRAMS: list[tuple[str, dict[str, str], str, Reference]] = [
    ("w = torch.randn(3)\ny = (w * x).sum() * x\n", {"x": "2"}, "x",
     lambda x: (torch.randn(3) * x).sum() * x),
    ("r = torch.rand(())\ny = x**2 * r\n", {"x": "1.5"}, "x",
     lambda x: x**2 * torch.rand(())),
    ("y = torch.sin(x) + torch.randn(())\n", {"x": "0.5"}, "x",
     lambda x: torch.sin(x) + torch.randn(())),
    ("w = torch.randn(3, requires_grad=True)\ny = (w * x**2).sum()\n", {"x": "1"}, "x",
     lambda x: (torch.randn(3, requires_grad=True) * x**2).sum()),
    ("n = torch.randn_like(x * torch.ones(4))\ny = (n * torch.tanh(x)).mean()\n",
     {"x": "2"}, "x", lambda x: (torch.randn_like(x * torch.ones(4)) * torch.tanh(x)).mean()),
    ("torch.manual_seed(3)\nk = torch.randint(0, 5, (2,))\n"
     "y = x * k.sum() + torch.rand(2).sum() * x**2\n", {"x": "-1"}, "x",
     lambda x: (torch.manual_seed(3), x * torch.randint(0, 5, (2,)).sum()
                + torch.rand(2).sum() * x**2)[1]),
    ("def noisy(t):\n    return t + torch.randn(())\ny = noisy(x) * noisy(x)\n",
     {"x": "0.3"}, "x", _noisy_twice),
    ("x = torch.randn((), requires_grad=True)\nw = torch.rand(2)\ny = (w * x**3).sum()\n",
     {}, "x", _random_leaf_then_draw),
]
XS = np.linspace(-2.0, 2.0, 9)


def plain_torch(reference: Reference, x: float, order: int = 1) -> list[float]:
    """f(x), f'(x) (and f''(x)) by rerunning the program at x, seeded as the app seeds."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        point = torch.tensor(x, dtype=torch.float32, requires_grad=True)
        y = reference(point)
        (dy,) = torch.autograd.grad(y, point, create_graph=order == 2)
        values = [y.item(), dy.item()]
        if order == 2:
            values.append(torch.autograd.grad(dy, point)[0].item())
    return values


@pytest.mark.parametrize(("source", "inputs", "wrt", "reference"), PROGRAMS,
                         ids=[p[0].splitlines()[0] for p in PROGRAMS])
def test_a_random_program_has_the_curve_of_its_seeded_run(source, inputs, wrt, reference):
    before = torch.get_rng_state().clone()
    xs, ys, dys = derivative_curve(source, inputs, wrt=wrt, lo=-2, hi=2, n=len(XS),
                                   isolate=False)
    assert torch.equal(torch.get_rng_state(), before), "the global generator moved"
    assert np.array_equal(xs, XS)
    expected = np.array([plain_torch(reference, x) for x in XS])
    np.testing.assert_allclose(ys, expected[:, 0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dys, expected[:, 1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("source", "inputs", "wrt", "reference"), PROGRAMS[:3])
def test_finite_differences_agree_with_the_random_curve(source, inputs, wrt, reference):
    """The same numbers at every point: f is a smooth function of x, so its difference
    quotient is the derivative (different numbers per point would make f jump)."""
    xs, ys, dys = derivative_curve(source, inputs, wrt=wrt, lo=-2, hi=2, n=401,
                                   isolate=False)
    quotient = np.gradient(ys, xs)  # central differences, step 0.01, float32 values
    np.testing.assert_allclose(quotient[1:-1], dys[1:-1], rtol=1e-3, atol=1e-3)


def test_the_value_at_the_current_point_is_the_single_runs_output():
    source, inputs, _, _ = PROGRAMS[0]
    single = run_program(source, inputs, isolate=False)
    xs, ys, dys = derivative_curve(source, inputs, lo=0, hi=2, n=3, isolate=False)
    assert ys[2] == pytest.approx(single.output.item(), rel=1e-6)
    assert dys[2] == pytest.approx(single.grads["x"].item(), rel=1e-6)


def test_second_derivative_of_a_random_program():
    source, inputs, wrt, reference = PROGRAMS[1]
    xs, ys, dys, d2ys = second_derivative_curve(source, inputs, wrt=wrt, lo=-2, hi=2,
                                                n=len(XS), isolate=False)
    expected = np.array([plain_torch(reference, x, order=2) for x in XS])
    np.testing.assert_allclose(np.stack([ys, dys, d2ys], 1), expected, rtol=1e-5, atol=1e-6)


def test_a_random_curve_in_the_worker_process():
    source, inputs, wrt, reference = PROGRAMS[0]
    xs, ys, dys = derivative_curve(source, inputs, wrt=wrt, lo=-2, hi=2, n=len(XS))
    expected = np.array([plain_torch(reference, x) for x in XS])
    np.testing.assert_allclose(dys, expected[:, 1], rtol=1e-5, atol=1e-6)


def test_a_draw_changed_in_place_by_the_run_is_replayed_as_drawn():
    """The run's in-place change after the output must not leak into the numbers the
    curve replays (they are copies taken when drawn)."""
    source = "w = torch.randn(2)\ny = (w * x).sum()\nw.mul_(100)\n"
    xs, ys, dys = derivative_curve(source, {"x": "1"}, output="y", lo=-1, hi=1, n=3,
                                   isolate=False)
    w = torch.randn(2, generator=torch.Generator().manual_seed(0))
    np.testing.assert_allclose(dys, [w.sum().item()] * 3, rtol=1e-6)


def test_a_random_curve_still_refuses_what_has_no_curve():
    with pytest.raises(ProgramRefused) as info:
        derivative_curve("y = x * torch.randn(3)", {"x": "1"}, isolate=False)
    assert "3 elements" in info.value.error.message


@pytest.mark.usefixtures("fresh_caches")
def test_the_playground_draws_a_random_programs_curves():
    source, inputs, wrt, reference = PROGRAMS[0]
    at = start({"code": source, "in": ["x:2"]})
    assert not at.exception
    assert not [i.value for i in at.info if "cannot be drawn" in i.value]
    charts = at.get("plotly_chart")
    assert len(charts) == 2
    figure = json.loads(charts[1].proto.spec)
    autograd = next(t for t in figure["data"] if t["name"] == "autograd")
    xs, dys = plotly_array(autograd["x"]), plotly_array(autograd["y"])
    for x, dy in list(zip(xs, dys))[::100]:
        assert dy == pytest.approx(plain_torch(reference, float(x))[1], rel=1e-5, abs=1e-6)


def test_too_many_random_numbers_to_keep_is_said_in_plain_words():
    """The record keeps every draw (the single run frees them as it goes): a budget of
    four largest tensors, said in words, not a vmap error."""
    limits = Limits(max_tensor_elements=1000)
    source = "def g(t):\n    return t + torch.randn(1000).sum()\ny = g(g(g(g(g(x)))))\n"
    assert run_program(source, {"x": "1"}, limits=limits, isolate=False).error is None
    with pytest.raises(ProgramRefused) as info:
        derivative_curve(source, {"x": "1"}, n=3, limits=limits, isolate=False)
    message = info.value.error.message
    assert "more than 4,000 random numbers" in message and "vmap" not in message
    xs, ys, dys = derivative_curve(source.replace("g(g(g(g(g(x)))))", "g(g(g(g(x))))"),
                                   {"x": "1"}, lo=-1, hi=1, n=3, limits=limits,
                                   isolate=False)
    np.testing.assert_allclose(dys, [1.0, 1.0, 1.0])
