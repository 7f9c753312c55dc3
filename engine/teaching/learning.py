"""Did the descent work? A verdict on a training run, read from the numbers of its steps
(``RunResult.training``: per backward() call the loss and each leaf's value just before
the update that follows it), with the step where it shows and a sentence for a learner.

The rule, in the order it is applied (step k is the k-th backward() call, as the
Training panel numbers them; ``p_k`` the leaves' values at step k, ``J_k = p_(k+1) - p_k``
the k-th jump):

1. **diverged** at the first step whose loss, or a leaf's value or gradient, is NaN or
   infinite: nothing after it means anything.
2. With fewer than two steps nothing can be said (**unknown**; also when the loss is
   not one number).
3. The loss ends lower than it started:
   **overshoot** if on the way the loss went up at some step (by more than float
   rounding: :data:`RISE_TOLERANCE`, relative) or the leaves turned back (two jumps in a
   row point in opposite directions, ``J_(k-1) · J_k < 0``: at step k the leaves are past
   the bottom of the valley); the verdict's step is the first such step. Otherwise
   **converging**.
4. The loss ends higher than it started and each of the last jumps (up to
   :data:`GROWING_JUMPS` of them) is longer than the one before: **diverged**, at the
   first step from which the loss stays above its start. This is what gradient descent
   with too large a step does near a minimum: on ``x**2`` SGD gives
   ``x_k = x_0 (1 - 2 lr)^k``, jumps grow by ``|1 - 2 lr| > 1`` each step when lr > 1.
5. Otherwise the loss did not go down (**stuck**): the leaves never moved (a zero
   gradient), or they move without getting lower (e.g. bouncing between two sides).

Tensor leaves are compared on the numbers the record keeps (their first elements).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

KINDS = ("converging", "overshoot", "diverged", "stuck", "unknown")
RISE_TOLERANCE = 1e-6  # a loss rise smaller than this (relative) is float rounding
GROWING_JUMPS = 3  # diverging: the last this many jumps each longer than the one before


@dataclass(frozen=True)
class Verdict:
    """``kind`` is one of :data:`KINDS`; ``step`` the step (1 = the first backward())
    where it shows, None when no single step does; ``sentence`` says it in words."""

    kind: str
    step: int | None
    sentence: str


def divergence(training_steps: Sequence[dict[str, Any]], *, lr: float | None = None,
               leaves: Iterable[str] | None = None, optimizer: str | None = None,
               ) -> Verdict:
    """The verdict on a run's steps (see the module docstring for the rule).

    ``lr`` (the learning rate, if known) is named in the sentences, and ``optimizer``
    (``"sgd"``, ``"momentum"``, ``"adam"``, if known) says why an overshoot happens;
    ``leaves`` restricts the jumps and the NaN check to the leaves that were moved
    (default: every leaf in the record)."""
    steps = list(training_steps)
    if not steps:
        return Verdict("unknown", None, "No step has run yet, so there is nothing to judge.")
    losses = [step.get("loss") for step in steps]
    if any(loss is None for loss in losses):
        return Verdict("unknown", None, "The loss is not one number at every step, so there "
                       "is no single value to follow.")
    names = tuple(leaves) if leaves is not None else tuple(steps[0].get("leaves", {}))
    points = [_point(step, names) for step in steps]
    broken = _first_broken(steps, names)
    if broken is not None:
        return _blown_up(steps, points, broken, lr)
    if len(steps) < 2:
        return Verdict("unknown", None, "One step shows where the descent starts, not where "
                       "it goes: run at least two.")
    jumps = [_difference(points[i + 1], points[i]) for i in range(len(points) - 1)]
    sizes = [math.sqrt(sum(v * v for v in jump)) for jump in jumps]
    first, last = losses[0], losses[-1]
    rises = [i + 1 for i in range(1, len(losses))
             if losses[i] - losses[i - 1] > RISE_TOLERANCE * max(abs(losses[i]),
                                                                 abs(losses[i - 1]))]
    turns = [k + 1 for k in range(1, len(jumps)) if _dot(jumps[k - 1], jumps[k]) < 0]
    where = _who(points)
    if last < first:
        events = [*rises[:1], *turns[:1]]
        if not events:
            return _converging(first, last, sizes, where)
        return _overshoot(min(events), rises, losses, points, first, last, where, lr,
                          optimizer)
    if last > first and _growing(sizes):
        return _diverged(losses, sizes, first, last, where, lr)
    if sizes and all(s == 0 for s in sizes) and any(
            g != 0 for name in names
            for g in _numbers(steps[0].get("leaves", {}).get(name, {}).get("grad"))):
        return Verdict("unknown", None, (
            f"{where[0].upper()}{where[1:]} never changed although the gradient is not 0: "
            "the program takes gradients but does not update anything (no optimizer.step(), "
            "no `w -= lr * w.grad`), so there is no descent to judge."))
    return _stuck(first, last, sizes, turns, where, lr)


# --- the numbers of a step ----------------------------------------------------------------
def _numbers(part: dict[str, Any] | None) -> list[float]:
    if part is None:
        return []
    return [part["value"]] if "value" in part else list(part.get("first", []))


def _point(step: dict[str, Any], names: tuple[str, ...]) -> dict[str, list[float]]:
    leaves = step.get("leaves", {})
    return {name: _numbers(leaves[name].get("value")) for name in names if name in leaves}


def _difference(after: dict[str, list[float]], before: dict[str, list[float]]) -> list[float]:
    found: list[float] = []
    for name, values in after.items():
        old = before.get(name)
        if old is not None and len(old) == len(values):
            found.extend(a - b for a, b in zip(values, old))
    return found


def _dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b)) if len(a) == len(b) else 0.0


def _growing(sizes: list[float]) -> bool:
    """Each of the last jumps (up to GROWING_JUMPS, at least two) longer than the one
    before."""
    count = min(GROWING_JUMPS, len(sizes))
    if count < 2:
        return False
    tail = sizes[-count:]
    return all(b > a for a, b in itertools.pairwise(tail))


def _first_broken(steps: list[dict[str, Any]], names: tuple[str, ...],
                  ) -> tuple[int, str, float] | None:
    """The first step (1-based) with a NaN or infinity, what became one, and its value."""
    for number, step in enumerate(steps, start=1):
        if not math.isfinite(step["loss"]):
            return number, "the loss", step["loss"]
        leaves = step.get("leaves", {})
        for name in names:
            leaf = leaves.get(name)
            if leaf is None:
                continue
            for part, label in ((leaf.get("value"), f"`{name}`"),
                                (leaf.get("grad"), f"the gradient of `{name}`")):
                if part is None:
                    continue
                value = part.get("value", part.get("norm"))
                if value is not None and not math.isfinite(value):
                    return number, label, value
                if any(not math.isfinite(v) for v in part.get("first", [])):
                    return number, label, next(v for v in part["first"]
                                               if not math.isfinite(v))
    return None


# --- the sentences ------------------------------------------------------------------------
def _g(value: float) -> str:
    return f"{value:.4g}"


def _who(points: list[dict[str, list[float]]]) -> str:
    """How to name what moves: `x` for one leaf, else "the leaves"."""
    names = list(points[0]) if points else []
    return f"`{names[0]}`" if len(names) == 1 else "the leaves"


def _single(point: dict[str, list[float]]) -> float | None:
    values = [v for numbers in point.values() for v in numbers]
    return values[0] if len(point) == 1 and len(values) == 1 else None


def _rate(lr: float | None) -> str:
    return f"the learning rate {lr:g}" if lr is not None else "the learning rate"


def _smaller(lr: float | None) -> str:
    return f"a learning rate smaller than {lr:g}" if lr is not None else \
        "a smaller learning rate"


def _kind_of(value: float) -> str:
    if math.isnan(value):
        return "nan (not a number)"
    return "inf (infinite)" if value > 0 else "-inf (minus infinity)"


def _blown_up(steps: list[dict[str, Any]], points: list[dict[str, list[float]]],
              broken: tuple[int, str, float], lr: float | None) -> Verdict:
    step, what, value = broken
    became = f"At step {step} {what} became {_kind_of(value)}"
    if step == 1:
        return Verdict("diverged", 1, f"At step 1, before any update, {what} is already "
                       f"{_kind_of(value)}: the program has no finite value where the "
                       "descent starts, so there is nothing to descend.")
    losses = [s["loss"] for s in steps[:step - 1]]
    jumps = [_difference(points[i + 1], points[i]) for i in range(step - 2)]
    sizes = [math.sqrt(sum(v * v for v in jump)) for jump in jumps]
    if len(losses) >= 3 and losses[-1] > losses[0] and _growing(sizes):
        return Verdict("diverged", step, (
            f"{became}: every step before it jumped further than the last (the last "
            f"jumps: {', '.join(_g(s) for s in sizes[-3:])}), because {_rate(lr)} is so "
            "large that each step jumps past the minimum further than the last, until the "
            "numbers no longer fit in a float. A learning rate several times smaller lets "
            "the steps shrink instead."))
    where = _single(points[step - 1])  # the values the broken step computed from
    moved = _who(points)
    place = f"moved {moved} to {_g(where)}," if where is not None and math.isfinite(where) \
        else f"moved {moved} to a point"
    return Verdict("diverged", step, (
        f"{became}: step {step - 1} {place} where the program's computation has no finite "
        "value (for example the square root or log of a negative number, log(0), 1/0 or "
        f"0/0). Shorter steps ({_smaller(lr)}) may stay where the function has values."))


def _converging(first: float, last: float, sizes: list[float], where: str) -> Verdict:
    sentence = f"The loss goes down at every step, from {_g(first)} to {_g(last)}"
    if _growing(sizes):
        sentence += (f", but the steps of {where} are still getting longer at the end, so "
                     "the descent has not settled yet: run more steps to see where it goes.")
    else:
        sentence += ": the descent is converging."
    return Verdict("converging", None, sentence)


def _overshoot(step: int, rises: list[int], losses: list[float],
               points: list[dict[str, list[float]]], first: float, last: float,
               where: str, lr: float | None, optimizer: str | None) -> Verdict:
    if rises and rises[0] == step:
        what = (f"At step {step} the loss went up (from {_g(losses[step - 2])} to "
                f"{_g(losses[step - 1])}): the step before jumped past the minimum to a "
                "higher point on the other side")
    else:
        value = _single(points[step - 1])
        before = _single(points[step - 2])
        numbers = f" ({_g(before)} at step {step - 1}, {_g(value)} at step {step})" \
            if value is not None and before is not None else ""
        what = (f"At step {step} {where} had jumped past the minimum{numbers}: the next "
                "step turns back")
    if optimizer == "momentum":
        why = ("momentum carries the steps on past the bottom. A smaller learning rate, or "
               "plain SGD, overshoots less.")
    elif optimizer == "adam":
        size = f"about {lr:g}" if lr is not None else "about the learning rate"
        why = (f"Adam's steps stay {size} long however small the gradient, so near the "
               "minimum they jump across it. A smaller learning rate lands closer.")
    else:
        why = (f"with {_rate(lr)} each step is a little long. A smaller learning rate goes "
               "down without overshooting.")
    return Verdict("overshoot", step, (
        f"{what}. The loss still ends lower ({_g(last)}, from {_g(first)}), so the descent "
        f"converges, but zig-zagging across the valley: {why}"))


def _diverged(losses: list[float], sizes: list[float], first: float, last: float,
              where: str, lr: float | None) -> Verdict:
    start = len(losses)
    while start > 1 and losses[start - 1] > first:
        start -= 1
    step = start + 1  # the first step from which the loss stays above where it started
    return Verdict("diverged", step, (
        f"From step {step} the loss stays above where it started and ends at {_g(last)} "
        f"(from {_g(first)}), while each step of {where} is longer than the last (the "
        f"last jumps: {', '.join(_g(s) for s in sizes[-3:])}): {_rate(lr)} is so large "
        "that each step jumps past the minimum and lands higher on the other side. A "
        "learning rate several times smaller lets the steps shrink instead."))


def _stuck(first: float, last: float, sizes: list[float], turns: list[int], where: str,
           lr: float | None) -> Verdict:
    if sizes and all(s == 0 for s in sizes):
        return Verdict("stuck", None, (
            f"{where[0].upper()}{where[1:]} never moved: the gradient is 0 where the "
            "descent starts (a minimum, a maximum or a flat spot), so every step is zero "
            f"and the loss stays at {_g(first)}."))
    how = ("the steps jump from one side of the minimum to the other without getting "
           "lower" if turns else "the steps do not lead downhill")
    return Verdict("stuck", None, (
        f"The loss ends at {_g(last)}, no lower than where it started ({_g(first)}): {how}. "
        f"Try {_smaller(lr)}."))
