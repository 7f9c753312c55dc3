"""Section 2: drawing a live tensor's autograd graph, ours against torchviz.

``graphviz_utils.make_dot`` is a drop-in for ``torchviz.make_dot`` that also carries
each box's value and gradient. Both build a ``graphviz.Digraph`` (the DOT text; layout is
Graphviz's job and the same for both), so the time compared is the walk plus the DOT.
torchviz walks the graph recursively and raises RecursionError on deep graphs; ours
walks with a stack and folds what is beyond its node budget (300 boxes by default, the
most a page can show legibly).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
from typing import Any

import torch
import torchviz

import graphviz_utils
from bench.report import Section, Target
from bench.timing import median_seconds, ms

SIZES = [10, 100, 500, 1_000, 10_000]


def chain(ops: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """x -> sin -> *1.01 -> sin -> ... : ``ops`` recorded operations in a line, backward run."""
    x = torch.tensor(0.5, requires_grad=True)
    y = x
    for i in range(ops):
        y = torch.sin(y) if i % 2 == 0 else y * 1.01
    y.backward()
    return y, {"x": x}


def mlp(ops: int, width: int = 4) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Tanh layers of ``width`` units (5 graph nodes per layer: addmm, the weight's
    transpose, tanh, two AccumulateGrads) until about ``ops`` nodes, then an MSE loss."""
    torch.manual_seed(0)
    layers = max(1, ops // 5)
    model = torch.nn.Sequential(*[m for _ in range(layers)
                                  for m in (torch.nn.Linear(width, width), torch.nn.Tanh())])
    x = torch.randn(2, width)
    loss = (model(x) ** 2).mean()
    loss.backward()
    return loss, dict(model.named_parameters())


def count_nodes(output: torch.Tensor) -> int:
    """grad_fn nodes reachable from ``output`` (what both tools draw a box for)."""
    seen, stack = set(), [output.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        stack.extend(child for child, _ in fn.next_functions)
    return len(seen)


def dot_text(make_dot: Callable[..., Any], output: torch.Tensor,
             params: dict[str, torch.Tensor]) -> str:
    """What is timed: the graph walked and its whole DOT text written."""
    return make_dot(output, params).source


def torchviz_time(output: torch.Tensor, params: dict[str, torch.Tensor],
                  repeats: int) -> tuple[float | None, str]:
    """torchviz's median time, or None and why it failed."""
    try:
        return median_seconds(partial(dot_text, torchviz.make_dot, output, params),
                              repeats), ""
    except RecursionError:
        return None, f"RecursionError (Python's recursion limit, {sys.getrecursionlimit()})"


def run(quick: bool = False) -> list[Section]:
    sizes, repeats = ([10, 100, 1_000], 1) if quick else (SIZES, 7)
    section = Section(
        "Graph build: graphviz_utils.make_dot against torchviz.make_dot",
        "The DOT text of a live tensor's graph after backward (`make_dot(...).source`: the "
        f"walk and the text, not the layout), median of {repeats} after a warm-up. Chains "
        "alternate sin and a multiply; MLPs are Linear(4, 4) + tanh layers with an MSE "
        "loss (`params` = "
        "`dict(model.named_parameters())` for both). Ours also writes each box's value "
        "and .grad, and folds beyond 300 boxes (a note in the graph says what was "
        "folded), so its DOT stays readable where torchviz's grows with the graph.",
        ["graph", "grad_fn nodes", "ours ms", "torchviz ms", "torchviz / ours",
         "ours boxes", "torchviz boxes"])
    ratios = []
    for kind, build in (("chain", chain), ("MLP", mlp)):
        for size in sizes:
            output, params = build(size)
            ours = median_seconds(partial(dot_text, graphviz_utils.make_dot, output, params),
                                  repeats)
            theirs, failure = torchviz_time(output, params, repeats)
            ours_boxes = _boxes(partial(graphviz_utils.make_dot, output, params))
            if theirs is None:
                section.rows.append([f"{kind} {size:,}", f"{count_nodes(output):,}",
                                     ms(ours), failure, "", ours_boxes, ""])
                continue
            ratios.append(theirs / ours)
            section.rows.append([f"{kind} {size:,}", f"{count_nodes(output):,}", ms(ours),
                                 ms(theirs), f"{theirs / ours:.2f}x", ours_boxes,
                                 _boxes(partial(torchviz.make_dot, output, params))])
    worst = min(ratios)
    section.targets.append(Target(
        "make_dot vs torchviz.make_dot where torchviz works", "no slower (ratio ≥ 1)",
        f"torchviz / ours ≥ {worst:.2f}x (worst size)", worst >= 1))
    return [section]


def _boxes(make: Callable[[], object]) -> str:
    """Node statements in the DOT: boxes a reader would have to look at."""
    dot = make()
    return f"{sum(1 for line in dot.body if ' [' in line and ' -> ' not in line):,}"
