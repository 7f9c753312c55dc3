"""Section 1: f and f' over a range, three ways a learner could get them, and the limit.

- ``derivative_curve`` (ours): the program checked, run once to find its output, then one
  batched forward and backward under ``torch.func.vmap``; timed in this process (the
  engine's own work) and through a worker process (what the app pays: a pipe, plain data).
- The per-point loop a learner writes: set x, forward, ``backward()``, read ``x.grad``.
- sympy: differentiate the formula, ``lambdify`` it to numpy, evaluate f and f' on the
  grid (what a learner reaches for to get "the derivative" of a formula).
- Bare batched torch: every point in one tensor, one forward, one backward, no checking,
  no interpreter: the limit nothing can beat.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
import sympy
import torch

from bench.report import Section, Target
from bench.timing import median_seconds, ms
from engine import derivative_curve


@dataclass(frozen=True)
class Function:
    """One of the seed's functions, written three ways: as a learner's program for the
    app, as a torch function for the loop and bare torch, and as a sympy expression."""

    label: str
    program: str
    inputs: dict[str, float]
    torch_f: Callable[[torch.Tensor], torch.Tensor]
    sympy_f: Callable[[sympy.Symbol], sympy.Expr]
    lo: float = -3.0
    hi: float = 3.0

    @property
    def wrt(self) -> str:
        return next(iter(self.inputs))


# The seed notebook's functions (cells 1-3) and its logistic neuron with BCE loss
# (x = 6.7, y = 0, b = 0), as a function of the weight w.
FUNCTIONS = [
    Function("x**2", "y = x**2", {"x": 3.0}, lambda x: x**2, lambda x: x**2),
    Function("sin(x**2)", "z = torch.sin(x**2)", {"x": 4.0}, lambda x: torch.sin(x**2),
             lambda x: sympy.sin(x**2)),
    Function("BCE neuron, wrt w",
             "p = torch.sigmoid(w * 6.7 + 0.0)\n"
             "loss = -(0.0 * torch.log(p) + 1.0 * torch.log(1 - p))",
             {"w": 1.0},
             lambda w: -(0.0 * torch.log(torch.sigmoid(w * 6.7))
                         + 1.0 * torch.log(1 - torch.sigmoid(w * 6.7))),
             lambda w: -(0 * sympy.log(1 / (1 + sympy.exp(-6.7 * w)))
                         + sympy.log(1 - 1 / (1 + sympy.exp(-6.7 * w)))),
             # Beyond |w| = 1.5, w * 6.7 saturates sigmoid in float32 and log(1 - p) is
             # -inf for every method alike: the seed's point w = 1 is well inside.
             lo=-1.5, hi=1.5),
]


def ours(f: Function, n: int, isolate: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return derivative_curve(f.program, f.inputs, wrt=f.wrt, lo=f.lo, hi=f.hi, n=n,
                            isolate=isolate)


def per_point_loop(f: Function, n: int) -> tuple[list[float], list[float]]:
    """What a learner writes: one forward and one backward per point."""
    ys, dys = [], []
    for value in torch.linspace(f.lo, f.hi, n).tolist():
        x = torch.tensor(value, requires_grad=True)
        y = f.torch_f(x)
        y.backward()
        ys.append(y.item())
        dys.append(x.grad.item())
    return ys, dys


def with_sympy(f: Function, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Differentiate the formula, lambdify f and f' to numpy, evaluate on the grid."""
    x = sympy.Symbol("x")
    expr = f.sympy_f(x)
    f_np = sympy.lambdify(x, expr, "numpy")
    df_np = sympy.lambdify(x, sympy.diff(expr, x), "numpy")
    xs = np.linspace(f.lo, f.hi, n)
    return np.broadcast_to(f_np(xs), xs.shape), np.broadcast_to(df_np(xs), xs.shape)


def bare_batched(f: Function, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The limit: every point in one tensor, one forward, one backward."""
    x = torch.linspace(f.lo, f.hi, n).requires_grad_(True)
    y = f.torch_f(x)
    y.sum().backward()
    return y.detach(), x.grad


def check_agreement(f: Function, n: int) -> None:
    """The four ways must give the same curve, or timing them means nothing."""
    _, ys, dys = ours(f, n, isolate=False)
    loop_ys, loop_dys = per_point_loop(f, n)
    s_ys, s_dys = with_sympy(f, n)
    b_ys, b_dys = bare_batched(f, n)
    for other_ys, other_dys in ((loop_ys, loop_dys), (s_ys, s_dys),
                                (b_ys.numpy(), b_dys.numpy())):
        np.testing.assert_allclose(ys, other_ys, rtol=2e-3, atol=1e-3)  # float32
        np.testing.assert_allclose(dys, other_dys, rtol=2e-3, atol=1e-3)


def run(quick: bool = False) -> list[Section]:
    torch.set_num_threads(1)  # what each worker uses; bare torch gets the same
    n, big, repeats = (201, 20_001, 1) if quick else (2001, 200_001, 9)
    for f in FUNCTIONS:
        check_agreement(f, n)
    return [_at_n(n, repeats), _at_big(big, repeats), _fixed_cost(repeats)]


def _at_n(n: int, repeats: int) -> Section:
    section = Section(
        f"Derivative curves, {n:,} points",
        f"f and f' at {n:,} points in [-3, 3] ([-1.5, 1.5] for the neuron) for the seed's "
        "functions, four ways "
        "(each checked to give the same numbers first). Median of "
        f"{repeats} calls after a warm-up; torch on one thread, as in the app's workers. "
        "\"in a worker\" is what the app pays: the run in a worker process and the arrays "
        "back over a pipe.",
        ["function", "ours ms", "ours in a worker ms", "per-point loop ms", "loop / ours",
         "sympy diff+lambdify ms", "sympy / ours", "bare batched torch ms", "ours / bare"])
    speedups = []
    for f in FUNCTIONS:
        t_ours = median_seconds(partial(ours, f, n, False), repeats)
        t_worker = median_seconds(partial(ours, f, n, True), repeats)
        t_loop = median_seconds(partial(per_point_loop, f, n), max(1, repeats // 3))
        t_sympy = median_seconds(partial(with_sympy, f, n), repeats)
        t_bare = median_seconds(partial(bare_batched, f, n), repeats)
        speedups.append(t_loop / t_ours)
        section.rows.append([f.label, ms(t_ours), ms(t_worker), ms(t_loop),
                             f"{t_loop / t_ours:.0f}x", ms(t_sympy),
                             f"{t_sympy / t_ours:.1f}x", ms(t_bare),
                             f"{t_ours / t_bare:.1f}x"])
    worst = min(speedups)
    section.targets.append(Target(f"derivative_curve vs the per-point loop, {n:,} points",
                                  "at least 30x faster", f"{worst:.0f}x (slowest function)",
                                  worst >= 30))
    return section


def _at_big(n: int, repeats: int) -> Section:
    section = Section(
        f"Derivative curves, {n:,} points: the per-point work",
        "Where the work per point, not the fixed cost of checking and interpreting, "
        "dominates: ours against bare batched torch (the limit).",
        ["function", "ours ms", "ours in a worker ms", "bare batched torch ms", "ours / bare",
         "in a worker / bare"])
    ratios = []
    for f in FUNCTIONS:
        t_ours = median_seconds(partial(ours, f, n, False), repeats)
        t_worker = median_seconds(partial(ours, f, n, True), repeats)
        t_bare = median_seconds(partial(bare_batched, f, n), repeats)
        ratios.append(t_ours / t_bare)
        section.rows.append([f.label, ms(t_ours), ms(t_worker), ms(t_bare),
                             f"{t_ours / t_bare:.2f}x", f"{t_worker / t_bare:.2f}x"])
    worst = max(ratios)
    section.targets.append(Target(f"derivative_curve vs bare batched torch, {n:,} points",
                                  "within 2x", f"{worst:.2f}x (slowest function)",
                                  worst <= 2))
    return section


def _fixed_cost(repeats: int) -> Section:
    section = Section(
        "Derivative curves: the fixed cost per call",
        "derivative_curve at 2 points: parsing, checking, the probe run, setting up vmap; "
        "what every curve pays whatever its size.",
        ["function", "ours ms", "ours in a worker ms"])
    costs = []
    for f in FUNCTIONS:
        t_ours = median_seconds(partial(ours, f, 2, False), repeats * 3)
        t_worker = median_seconds(partial(ours, f, 2, True), repeats * 3)
        costs.append(t_ours)
        section.rows.append([f.label, ms(t_ours), ms(t_worker)])
    worst = max(costs)
    section.targets.append(Target("derivative_curve fixed cost per call", "under 2 ms",
                                  f"{worst * 1e3:.2f} ms in process (slowest function)",
                                  worst < 2e-3))
    return section
