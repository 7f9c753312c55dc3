"""f, f' (and f'') over a range of one scalar input, exactly and in one batched pass.

A learner would loop: set x, run forward, call backward, read x.grad, for every point.
Here the program runs once normally (to find its output and the leaf to vary), then once
more under ``torch.func.vmap(torch.func.grad_and_value(...))``: every point's value and
exact autograd derivative in one batched forward and backward. Reductions in the program
(``(w * xs).mean()``) stay per point, because vmap keeps each point's computation apart.
Random numbers (``torch.randn(3)``) are the ones the normal run drew from the run's own
seeded generator, replayed at every point: the curve is the function a learner gets by
rerunning the program, seed and all, at each x.

The second derivative (``order=2``) is ``grad`` of that ``grad``: torch.func differentiates
the backward pass itself, which is what ``backward(create_graph=True)`` followed by a
second backward computes, for every point at once.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from engine.errors import ProgramError, ProgramRefused
from engine.limits import Limits
from engine.running.higher import missing_derivative_sentence
from engine.running.interpreter import CurveModeStop
from engine.running.run import RunOptions, TorchState, choose_output, new_interpreter, prepare

ORDERS = (1, 2)  # derivatives a curve can carry: f' and f''


def curve_in_process(source: str, inputs: Mapping[str, Any] | None, wrt: str, lo: float,
                     hi: float, n: int, options: RunOptions, limits: Limits,
                     order: int = 1) -> tuple[np.ndarray, ...]:
    """(xs, ys, dys), or (xs, ys, dys, d2ys) for ``order=2``, as float64 arrays; raises
    ProgramRefused with a clear reason."""
    xs, *values = _guarded_curve(source, inputs, wrt, lo, hi, n, options, limits, order)
    return (xs, *(v.astype(np.float64) for v in values))


def curve_grid(lo: float, hi: float, n: int) -> np.ndarray:
    """The points a curve is computed at. The server recomputes them instead of receiving
    them from the worker: the same call gives the same numbers, and 200,001 points are
    1.6 MB less on the pipe."""
    return torch.linspace(float(lo), float(hi), int(n), dtype=torch.float64).numpy()


def curve_values(source: str, inputs: Mapping[str, Any] | None, wrt: str, lo: float,
                 hi: float, n: int, options: RunOptions, limits: Limits,
                 order: int = 1) -> tuple[np.ndarray, ...]:
    """(ys, dys) or (ys, dys, d2ys) at :func:`curve_grid`'s points, in the dtype they
    were computed in (float32 unless the program asked for float64: a worker sends half
    the bytes)."""
    return _guarded_curve(source, inputs, wrt, lo, hi, n, options, limits, order)[1:]


def _guarded_curve(source: str, inputs: Mapping[str, Any] | None, wrt: str, lo: float,
                   hi: float, n: int, options: RunOptions, limits: Limits,
                   order: int = 1) -> tuple[np.ndarray, ...]:
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, not {order!r}")
    check_range(lo, hi, n, limits)
    state = TorchState()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _curve(source, inputs, wrt, float(lo), float(hi), int(n), options,
                          limits, order)
    except ProgramRefused:
        raise
    except (RuntimeError, ValueError, TypeError, IndexError) as exc:
        raise ProgramRefused(ProgramError(f"This curve cannot be drawn: "
                                          f"{_curve_error_text(exc)}.", "runtime")) from None
    finally:
        state.restore()


def _curve_error_text(exc: Exception) -> str:
    """Torch's complaint about a batched run, in a learner's words where we know them."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if ".item()" in text or ("item" in text and "vmap" in text):
        return ("the program turns a tensor into a plain number (.item(), float()), "
                "which cannot be done for many points at once")
    return missing_derivative_sentence(text) or text.rstrip(".")


def check_range(lo: float, hi: float, n: int, limits: Limits) -> None:
    """Refuse a curve range that is not finite, not lo < hi, or has too many points
    (shared with engine.teaching.analytic, whose curves have the same bounds)."""
    problems = []
    if not (isinstance(n, int) and 2 <= n <= limits.max_curve_points):
        problems.append(f"the number of points must be 2 to {limits.max_curve_points:,}")
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        problems.append("the range must be finite numbers with lo < hi")
    elif max(abs(lo), abs(hi)) > limits.max_constant:
        problems.append(f"the range must lie within ±{limits.max_constant:g}")
    if problems:
        raise ProgramRefused(ProgramError("Curve: " + "; ".join(problems) + ".", "input"))


def _curve(source: str, inputs: Mapping[str, Any] | None, wrt: str, lo: float, hi: float,
           n: int, options: RunOptions, limits: Limits, order: int,
           ) -> tuple[np.ndarray, ...]:
    program, leaves = prepare(source, inputs, options, limits)
    # 1. A normal run at the current values: which tensor is the output, where it is made,
    #    and where the leaf called `wrt` comes from.
    probe = new_interpreter(program, leaves, options, limits)
    probe.record_graph = False
    probe.draws = {}
    with torch.set_grad_enabled(not options.no_grad):
        probe.run()
    out_name, output = choose_output(probe, options)
    label = f"`{out_name}`" if out_name else "The output"
    if output is None:
        raise _refuse("the program has no tensor output to plot.")
    if output.numel() != 1:
        raise _refuse(f"{label} has {output.numel()} elements; a curve needs one number "
                      f"per value of {wrt}. Plot {out_name or 'it'}.sum() or "
                      f"{out_name or 'it'}.mean() instead.")
    stop_at = probe.origins.get(id(output))
    if stop_at is None:
        raise _refuse(f"{label} is not made by a top-level statement of the program.")
    start = _find_input(probe, leaves, wrt, output)
    # 2. The batched run: one forward and backward for every point.
    grid = curve_grid(lo, hi, n)
    xs = torch.from_numpy(grid)
    # Each further derivative keeps the previous pass's values alive too: a smaller share.
    per_point = max(1, limits.max_curve_elements // (n * order))
    deadline = time.monotonic() + limits.time_limit_s
    draws = _fresh_copies(probe.draws)

    def f(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        run = new_interpreter(program, leaves, options, limits)
        run.curve_mode = True
        run.per_tensor_limit = min(per_point, limits.max_tensor_elements)
        run.deadline = deadline
        run.stop_at = stop_at
        run.replay = {place: list(drawn) for place, drawn in draws.items()}
        if start is None:
            run.env[wrt] = x
        else:
            run.overrides[start] = x
        try:
            with torch.set_grad_enabled(not options.no_grad):
                run.run()
        except CurveModeStop as stop:
            y = stop.value
        else:
            raise _refuse(f"{label} was not reached in the batched run.")
        if not isinstance(y, torch.Tensor):
            raise _refuse(f"{label} is not a tensor.")
        y = y.reshape(())
        if not y.is_floating_point():
            raise _refuse(f"{label} is not a floating-point tensor.")
        return y, y.detach()

    dtype = leaves[wrt].dtype if start is None else _leaf_dtype(probe, wrt, output)
    if not _depends_on(output, probe, leaves, wrt):
        ys = torch.func.vmap(lambda x: f(x)[1])(xs.to(dtype)).detach().numpy()
        nothing = np.full(n, np.nan, dtype=ys.dtype)  # nothing recorded: no derivative
        return (grid, ys, *[nothing] * order)
    values = _batched_derivatives(f, xs.to(dtype), order)
    return (grid, *(v.detach().numpy() for v in values))


def _fresh_copies(draws: dict[tuple[int, int], list[torch.Tensor]],
                  ) -> dict[tuple[int, int], list[torch.Tensor]]:
    """The probe's random draws as new leaves for the batched run, made here because
    inside torch.func's transforms requires_grad_() is refused; the probe's own tensors
    stay untouched (its backward gave them .grad)."""
    return {place: [d.detach().clone().requires_grad_(d.requires_grad) for d in drawn]
            for place, drawn in draws.items()}


def _batched_derivatives(f: Any, xs: torch.Tensor, order: int,
                         ) -> tuple[torch.Tensor, ...]:
    """(ys, dys) or (ys, dys, d2ys) in one vmapped pass. ``f(x)`` returns ``(y, y
    detached)``; the detached copy rides along as ``aux``, so the value comes out of the
    same pass that differentiates it. For f'' the first derivative is itself the function
    differentiated (``grad`` of ``grad``), with f carried along as ``aux``."""
    first = torch.func.grad_and_value(f, has_aux=True)  # x -> (dy, (y, y detached))
    if order == 1:
        dys, (ys, _) = torch.func.vmap(first)(xs)
        return ys, dys

    def slope(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        dy, (_, y) = first(x)
        return dy, y

    d2ys, (dys, ys) = torch.func.vmap(torch.func.grad_and_value(slope, has_aux=True))(xs)
    return ys, dys, d2ys


def _find_input(probe: Any, leaves: dict[str, torch.Tensor], wrt: str,
                output: torch.Tensor) -> tuple[int, int] | None:
    """None when ``wrt`` is an input box; else the place of the statement that created
    the leaf called ``wrt`` that the output was computed from."""
    if wrt in leaves:
        if leaves[wrt].numel() != 1:
            raise _refuse(f"the input `{wrt}` has {leaves[wrt].numel()} elements; a curve "
                          "varies one number.")
        return None
    candidates = [(name, place) for key, (name, place) in probe.leaf_places.items()
                  if name == wrt]
    if not candidates:
        if wrt in probe.env:
            raise _refuse(f"`{wrt}` is not a tensor the program creates with "
                          "requires_grad=True, so there is nothing to vary.")
        raise _refuse(f"there is no input or variable called `{wrt}`.")
    in_graph = _leaf_ids(output)
    for key, (name, place) in probe.leaf_places.items():
        if name == wrt and key in in_graph:
            value = probe.env.get(wrt)
            if isinstance(value, torch.Tensor) and id(value) == key and value.numel() != 1:
                raise _refuse(f"`{wrt}` has {value.numel()} elements; a curve varies one "
                              "number.")
            return place
    return candidates[-1][1]


def _leaf_ids(output: torch.Tensor) -> set[int]:
    ids: set[int] = set()
    stack = [output.grad_fn] if output.grad_fn is not None else []
    seen: set[Any] = set()
    if output.is_leaf:
        ids.add(id(output))
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if hasattr(node, "variable"):
            ids.add(id(node.variable))
        stack.extend(child for child, _ in node.next_functions if child is not None)
    return ids


def _leaf_dtype(probe: Any, wrt: str, output: torch.Tensor) -> torch.dtype:
    value = probe.env.get(wrt)
    return value.dtype if isinstance(value, torch.Tensor) and value.is_floating_point() \
        else torch.float32


def _depends_on(output: torch.Tensor, probe: Any, leaves: dict[str, torch.Tensor],
                wrt: str) -> bool:
    """Whether autograd recorded a path from ``wrt`` to the output at the probe point."""
    ids = _leaf_ids(output)
    if wrt in leaves:
        return id(leaves[wrt]) in ids
    return any(name == wrt and key in ids for key, (name, _) in probe.leaf_places.items())


def _refuse(message: str) -> ProgramRefused:
    return ProgramRefused(ProgramError(f"This curve cannot be drawn: {message}", "refused"))
