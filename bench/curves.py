"""derivative_curve against a per-point backward loop and bare batched torch.

Ratios, measured side by side in one run (absolute times drift on shared machines).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from functools import partial

import torch

from engine import derivative_curve

FUNCTIONS: dict[str, tuple[str, dict[str, float], Callable[[torch.Tensor], torch.Tensor]]] = {
    "x**2": ("y = x**2", {"x": 3.0}, lambda x: x**2),
    "sin(x**2)": ("z = torch.sin(x**2)", {"x": 4.0}, lambda x: torch.sin(x**2)),
    "BCE neuron (wrt w)": (
        "p = torch.sigmoid(w * 6.7 + 0.0)\nloss = -(0.0 * torch.log(p) + 1.0 * torch.log(1 - p))",
        {"w": 1.0},
        lambda w: -torch.log(1 - torch.sigmoid(w * 6.7)),
    ),
}


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def per_point_loop(f: Callable[[torch.Tensor], torch.Tensor], n: int) -> None:
    """What a learner writes: one forward and one backward per point."""
    for value in torch.linspace(-3, 3, n).tolist():
        x = torch.tensor(value, requires_grad=True)
        f(x).backward()
        _ = x.grad.item()


def bare_batched(f: Callable[[torch.Tensor], torch.Tensor], n: int) -> None:
    """The limit: every point in one tensor, one forward, one backward."""
    x = torch.linspace(-3, 3, n).requires_grad_(True)
    f(x).sum().backward()


def run(n: int = 2001, repeats: int = 5, loop: bool = True) -> list[dict[str, object]]:
    rows = []
    for label, (source, inputs, f) in FUNCTIONS.items():
        wrt = next(iter(inputs))
        ours = median_seconds(partial(derivative_curve, source, inputs, wrt=wrt, lo=-3, hi=3,
                                      n=n, isolate=False), repeats)
        bare = median_seconds(partial(bare_batched, f, n), repeats)
        row = {"function": label, "n": n, "derivative_curve_ms": ours * 1e3,
               "bare_batched_ms": bare * 1e3, "vs_bare": ours / bare}
        if loop:
            looped = median_seconds(partial(per_point_loop, f, n), max(1, repeats // 2))
            row.update(loop_ms=looped * 1e3, speedup_vs_loop=looped / ours)
        rows.append(row)
    return rows
