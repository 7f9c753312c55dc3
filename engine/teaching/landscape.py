"""The path on the landscape: a training step's loss as a function of one or two parameters.

A program that trains calls backward() once per step; ``RunResult.training`` holds each
step's loss and parameter values. The landscape is the loss the program computes at one
step, seen as a function of one chosen parameter (a curve, with a marble at every step's
(w, loss)) or of two (a contour map, with the path (w, b) the steps took), the other
parameters held at that step's values.

How: :mod:`engine.teaching.forward_program` reads the statements that compute the loss
from the program's tree and writes them as a program of their own whose parameters are
inputs (:func:`landscape_program`). That program is then evaluated with the engine's own
batched curve (:func:`engine.api.derivative_curve`, one ``torch.func.vmap`` pass): a
curve is one pass; a grid is one pass too, over the grid's points numbered row by row,
each point's two parameters computed from its number inside the program (measured on the
logistic neuron: 41 x 41 points in about 3 ms in this process and 5 ms through a worker,
against 75 and 140 ms for the same grid as 41 curves, one per row).

Honest before drawn: the derived program must give back the loss the run recorded, at the
chosen step and at the first and last steps of the path, each with that step's parameter
values. When it does not, the loss depends on something else that changes from step to
step, and :class:`LandscapeRefusal` says so in a sentence instead of drawing a curve that
is not the one the training descended.
"""

from __future__ import annotations

import ast
import keyword
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch

from engine import api
from engine.errors import ProgramRefused
from engine.language import parsing
from engine.limits import DEFAULT_LIMITS, Limits
from engine.running.training import FIRST_VALUES
from engine.teaching.forward_program import (
    NoLandscape,
    TrainingLoop,
    check_loss_made,
    check_not_reassigned,
    check_params_read,
    check_same_loss,
    find_training_loop,
    forward_source,
)
from engine.teaching.statement_names import every_name, fresh_name

CURVE_POINTS = 201
GRID_POINTS = 41  # per side: 41 x 41 = 1,681 points
REL_TOL = 1e-5  # the derived program's loss against the recorded one (float32)
ABS_TOL = 1e-7
RETRY_KINDS = ("limit", "timeout", "memory")  # a smaller batch of grid rows may fit


@dataclass(frozen=True)
class LandscapeRefusal:
    """Why there is no landscape to draw: one sentence for the learner."""

    message: str


@dataclass(frozen=True)
class LandscapeProgram:
    """One step's loss as a program of its parameters, checked against the run.

    ``forward`` is the derived program (Python text): the training program's statements
    before the loop, ``w = w_at_step`` for each parameter (and for the other small leaves
    the step recorded), then the loop body up to the backward() call; its output is
    ``output``. ``inputs`` are its inputs at the chosen step (the training run's own
    inputs too); ``param_inputs[i]`` is the input that stands for ``params[i]``.
    ``grid_forward`` (two parameters only) is the same program with both parameters
    computed from one number, the grid point's index (see :func:`loss_grid`).

    The path: ``path_steps`` are the steps (1-based, as in ``RunResult.training``) of
    the same backward() call, ``path_values[k]`` the parameters' values at each and
    ``path_losses[k]`` its loss; ``chosen`` is the position (1-based) of ``step`` in it.
    ``ranges`` are default ranges per parameter that hold the whole path with a margin.
    ``dtype``, ``seed`` and ``requires_grad`` are the run's, passed on to every pass.
    """

    params: tuple[str, ...]
    step: int
    loss_name: str
    loss: float
    values: tuple[float, ...]
    forward: str
    output: str
    inputs: dict[str, Any]
    param_inputs: tuple[str, ...]
    path_steps: tuple[int, ...]
    path_values: tuple[tuple[float | None, ...], ...]
    path_losses: tuple[float | None, ...]
    chosen: int
    ranges: tuple[tuple[float, float], ...]
    grid_forward: str | None = None
    grid_inputs: dict[str, Any] = field(default_factory=dict)
    grid_names: dict[str, str] = field(default_factory=dict)
    dtype: str = "float32"
    seed: int = 0
    requires_grad: dict[str, bool] = field(default_factory=dict)

    @property
    def path(self) -> list[tuple[float | None, float | None]]:
        """The marble's points for one parameter, ``(w_k, loss_k)``; the path across
        the contour map for two, ``(w_k, b_k)``."""
        if len(self.params) == 1:
            return [(v[0], loss) for v, loss in zip(self.path_values, self.path_losses,
                                                    strict=True)]
        return [(v[0], v[1]) for v in self.path_values]


def landscape_program(source: str, training: Sequence[Mapping[str, Any]], step: int,
                      params: Sequence[str], inputs: Mapping[str, Any] | None = None, *,
                      dtype: str = "float32", seed: int = 0,
                      requires_grad: Mapping[str, bool] | None = None,
                      limits: Limits = DEFAULT_LIMITS, isolate: bool = True,
                      ) -> LandscapeProgram | LandscapeRefusal:
    """The loss at training step ``step`` (1-based) as a program of ``params`` (one or
    two names of single-number parameters), or a refusal with a sentence.

    ``source``, ``inputs``, ``dtype``, ``seed`` and ``requires_grad`` are those of the
    run whose ``RunResult.training`` is ``training``. The derived program is run (in a
    worker process unless ``isolate`` is False) at the chosen step and at the first and
    last steps of the path, each with that step's recorded values; it must give the
    recorded loss each time (relative tolerance 1e-5), or the landscape is refused.
    Never raises for anything a program does.
    """
    try:
        chosen = (params,) if isinstance(params, str) else tuple(params)
        return _landscape_program(source, list(training), step, chosen,
                                  dict(inputs or {}), dtype, seed, dict(requires_grad or {}),
                                  limits, isolate)
    except NoLandscape as refusal:
        return LandscapeRefusal(refusal.sentence)
    except RecursionError:
        return LandscapeRefusal("The program is nested too deeply to read its loss.")


def loss_curve(program: LandscapeProgram, lo: float | None = None, hi: float | None = None,
               n: int = CURVE_POINTS, *, param: str | None = None,
               limits: Limits = DEFAULT_LIMITS, isolate: bool = True,
               ) -> tuple[np.ndarray, np.ndarray] | LandscapeRefusal:
    """``(xs, losses)``: the step's loss at ``n`` values of ``param`` (default: the first
    parameter) from ``lo`` to ``hi`` (default: its range in ``program.ranges``), every
    other parameter at the step's value. One batched pass. ``xs`` are the values the loss
    was computed at (in the run's dtype), as float64."""
    if param is not None and param not in program.params:
        return LandscapeRefusal(f"This landscape varies {' and '.join(program.params)}, "
                                f"not `{param}`.")
    index = program.params.index(param) if param is not None else 0
    default_lo, default_hi = program.ranges[index]
    lo = default_lo if lo is None else float(lo)
    hi = default_hi if hi is None else float(hi)
    try:
        xs, ys, _ = api.derivative_curve(
            program.forward, program.inputs, program.param_inputs[index], lo, hi, int(n),
            output=program.output, requires_grad=program.requires_grad,
            dtype=program.dtype, seed=program.seed, limits=limits, isolate=isolate)
    except ProgramRefused as refused:
        return _from_engine(refused)
    return _as_computed(xs, program.dtype), ys


def loss_grid(program: LandscapeProgram, x_range: tuple[float, float] | None = None,
              y_range: tuple[float, float] | None = None, n: int = GRID_POINTS, *,
              limits: Limits = DEFAULT_LIMITS, isolate: bool = True,
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | LandscapeRefusal:
    """``(xs, ys, grid)`` for a two-parameter landscape: ``grid[i, j]`` is the step's
    loss at ``params[0] = xs[j]``, ``params[1] = ys[i]`` (rows follow the second
    parameter, as a contour plot reads them), ``n`` points per side over ``x_range`` and
    ``y_range`` (defaults: ``program.ranges``), every other parameter at the step's value.

    All ``n * n`` points in one batched pass when they fit the curve's element budget;
    otherwise in batches of rows, halved until they fit. ``xs`` and ``ys`` are the values
    the loss was computed at (in the run's dtype), as float64.
    """
    if program.grid_forward is None:
        return LandscapeRefusal("A contour map needs two parameters; this landscape has "
                                f"one ({program.params[0]}).")
    n = int(n)
    if not 2 <= n or n * n > limits.max_curve_points:
        return LandscapeRefusal(f"A grid needs 2 to {math.isqrt(limits.max_curve_points)} "
                                "points per side.")
    (x_lo, x_hi) = program.ranges[0] if x_range is None else map(float, x_range)
    (y_lo, y_hi) = program.ranges[1] if y_range is None else map(float, y_range)
    for lo, hi in ((x_lo, x_hi), (y_lo, y_hi)):
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            return LandscapeRefusal("The ranges must be finite numbers with lo < hi.")
    names = program.grid_names
    inputs = {**program.grid_inputs, names["columns"]: float(n),
              names["x_lo"]: x_lo, names["x_step"]: (x_hi - x_lo) / (n - 1),
              names["y_lo"]: y_lo, names["y_step"]: (y_hi - y_lo) / (n - 1)}
    switched_off = _switched_off(program)
    rows_per_pass = n
    while True:
        try:
            grid = np.concatenate([
                _grid_rows(program, inputs, switched_off, first, min(n, first + rows_per_pass),
                           n, limits, isolate)
                for first in range(0, n, rows_per_pass)])
            break
        except ProgramRefused as refused:
            if refused.error.kind not in RETRY_KINDS or rows_per_pass == 1:
                return _from_engine(refused)
            rows_per_pass = max(1, rows_per_pass // 2)
    xs, ys = _grid_axes(inputs, names, n, program.dtype)
    return xs, ys, grid.reshape(n, n)


# -- the derived program ------------------------------------------------------------------


def _landscape_program(source: str, training: list[Mapping[str, Any]], step: int,
                       params: tuple[str, ...], inputs: dict[str, Any], dtype: str,
                       seed: int, requires_grad: dict[str, bool], limits: Limits,
                       isolate: bool) -> LandscapeProgram:
    record = _chosen_record(training, step)
    _check_params(record, params, step)
    loop = find_training_loop(source, int(record["line"]))
    leaves = record["leaves"]
    settable = [name for name in leaves if _settable(name, leaves[name]["value"])]
    too_big = {name: _numel(leaves[name]["value"]) for name in leaves
               if name not in settable and leaves[name]["value"] is not None}
    check_same_loss(loop, settable, too_big)
    check_not_reassigned(loop, params)
    taken = every_name(parsing.parse(source)) | set(inputs)
    stands_for = {name: fresh_name(f"{name}_at_step", taken) for name in settable}
    output = _output_name(record, loop, taken)
    check_loss_made(loop, output)
    check_params_read(loop, params)
    settings = [(name, _shaped(stands_for[name], leaves[name]["value"]))
                for name in settable]
    forward = forward_source(loop, settings, output)
    steps = _path_steps(training, record, params)
    path_values = tuple(tuple(_value(training[k - 1], p) for p in params) for k in steps)
    path_losses = tuple(_finite_or_none(training[k - 1]["loss"]) for k in steps)
    program = LandscapeProgram(
        params=params, step=step, loss_name=record["root"] or "loss",
        loss=float(record["loss"]), values=tuple(_value(record, p) for p in params),
        forward=forward, output=output,
        inputs={**inputs, **_step_inputs(record, settable, stands_for)},
        param_inputs=tuple(stands_for[p] for p in params), path_steps=steps,
        path_values=path_values, path_losses=path_losses, chosen=steps.index(step) + 1,
        ranges=tuple(_default_range([v[i] for v in path_values])
                     for i in range(len(params))),
        dtype=dtype, seed=seed, requires_grad=requires_grad)
    if len(params) == 2:
        program = _with_grid(program, loop, settable, stands_for, leaves, taken)
    _verify(program, training, settable, stands_for, limits, isolate)
    return program


def _output_name(record: Mapping[str, Any], loop: TrainingLoop, taken: set[str]) -> str:
    """The derived program's output: the loss's name, else a new name for the expression
    backward() ran from."""
    if record["root"] is not None:
        return str(record["root"])
    if isinstance(loop.loss, ast.Name):
        return loop.loss.id
    if loop.loss is None:
        raise NoLandscape(
            f"The backward() call on line {loop.line} runs from an expression inside a "
            "block: name the loss first (loss = ..., then loss.backward()) so the "
            "landscape knows what to evaluate.")
    return fresh_name("loss", taken)


def _chosen_record(training: list[Mapping[str, Any]], step: int) -> Mapping[str, Any]:
    if not training:
        raise NoLandscape("The program did not call backward(), so there are no training "
                          "steps to draw on a landscape.")
    if isinstance(step, bool) or not isinstance(step, int) \
            or not 1 <= step <= len(training):
        raise NoLandscape(f"There is no step {step}: the program called backward() "
                          f"{len(training)} times (steps 1 to {len(training)}).")
    record = training[step - 1]
    if record.get("line") is None:
        raise NoLandscape(f"Step {step} has no line in the program to read its loss from.")
    if record.get("loss") is None:
        raise NoLandscape(f"At step {step} backward() ran from a tensor of more than one "
                          "number: there is no single loss to draw.")
    if not math.isfinite(record["loss"]):
        raise NoLandscape(f"The loss at step {step} is {record['loss']}: the training has "
                          "diverged by then. Pick an earlier step or a smaller learning "
                          "rate.")
    return record


def _check_params(record: Mapping[str, Any], params: tuple[str, ...], step: int) -> None:
    leaves = record["leaves"]
    if len(params) not in (1, 2) or len(set(params)) != len(params):
        raise NoLandscape("Pick one parameter for a curve, or two different ones for a "
                          "contour map.")
    singles = [name for name in leaves if _numel(leaves[name]["value"]) == 1]
    for name in params:
        if name not in leaves:
            known = ", ".join(singles) or "none that is a single number"
            raise NoLandscape(f"There is no parameter called `{name}` at step {step}; the "
                              f"parameters there are: {known}.")
        value = leaves[name]["value"]
        count = _numel(value)
        if count != 1:
            raise NoLandscape(
                f"`{name}` has {count:,} numbers: a landscape varies one number at a time. "
                "Pick a parameter that is a single number, like "
                "w = torch.tensor(0.0, requires_grad=True).")
        if not _plain_name(name):
            raise NoLandscape(
                f"`{name}` is a parameter of a layer: the landscape varies the program's "
                "own variables (w = torch.tensor(0.0, requires_grad=True)), not a layer's "
                "parameters.")
        if not math.isfinite(value["value"]):
            raise NoLandscape(f"`{name}` is {value['value']} at step {step}: the training "
                              "has diverged by then.")


def _settable(name: str, value: Mapping[str, Any] | None) -> bool:
    """A leaf the record holds in full (a few numbers, all finite) under a plain name."""
    if value is None or not _plain_name(name):
        return False
    numbers = [value["value"]] if "value" in value else list(value.get("first", []))
    return (0 < _numel(value) <= FIRST_VALUES and len(numbers) == _numel(value)
            and all(math.isfinite(x) for x in numbers))


def _plain_name(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_")


def _numel(value: Mapping[str, Any] | None) -> int:
    return math.prod(value["shape"]) if value is not None else 0


def _shaped(input_name: str, value: Mapping[str, Any]) -> str:
    """The expression that gives the leaf its shape back from the input: an input of
    one number is a scalar in the batched run."""
    shape = value["shape"]
    if not shape:
        return input_name
    return f"{input_name}.reshape({', '.join(str(int(s)) for s in shape)})"


def _step_inputs(record: Mapping[str, Any], settable: Sequence[str],
                 stands_for: Mapping[str, str]) -> dict[str, Any]:
    """The inputs that hold the settable leaves at this step's values."""
    found: dict[str, Any] = {}
    for name in settable:
        value = record["leaves"].get(name, {}).get("value")
        if value is None or not _settable(name, value):
            raise NoLandscape(f"`{name}` is not recorded as a few finite numbers at every "
                              "step of the path, so the landscape cannot hold it there.")
        found[stands_for[name]] = value["value"] if "value" in value else list(value["first"])
    return found


def _value(record: Mapping[str, Any], name: str) -> float | None:
    leaf = record["leaves"].get(name)
    value = None if leaf is None else leaf["value"]
    if value is None or "value" not in value:
        return None
    return _finite_or_none(value["value"])


def _finite_or_none(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _path_steps(training: list[Mapping[str, Any]], record: Mapping[str, Any],
                params: tuple[str, ...]) -> tuple[int, ...]:
    """The steps of the same backward() call (same line, same loss) that hold the
    parameters as single numbers: the path the training took."""
    return tuple(k for k, other in enumerate(training, start=1)
                 if other.get("line") == record["line"] and other.get("root") == record["root"]
                 and all(_numel((other["leaves"].get(p) or {}).get("value")) == 1
                         for p in params))


def _default_range(values: Sequence[float | None]) -> tuple[float, float]:
    """A range that holds every value with a margin on both sides: a quarter of the
    path's span, or, for a path that did not move, half the value's size (at least 0.5)."""
    finite = [v for v in values if v is not None]
    lo, hi = min(finite), max(finite)
    span = hi - lo
    margin = 0.25 * span if span > 1e-6 * max(1.0, abs(lo), abs(hi)) \
        else 0.5 * max(1.0, abs(lo))
    return lo - margin, hi + margin


# -- checking it against the run ------------------------------------------------------------


def _verify(program: LandscapeProgram, training: list[Mapping[str, Any]],
            settable: Sequence[str], stands_for: Mapping[str, str], limits: Limits,
            isolate: bool) -> None:
    """The derived program must give the recorded loss at the chosen step, and at the
    path's first and last steps (so a loss that changes from step to step is caught even
    when the chosen step happens to match), each with that step's own values; for two
    parameters the grid's program must too."""
    finite = [k for k, values, loss in zip(program.path_steps, program.path_values,
                                           program.path_losses, strict=True)
              if loss is not None and None not in values]
    checks = dict.fromkeys([program.step, *finite[:1], *finite[-1:]])
    for k in checks:
        record = training[k - 1]
        inputs = {**program.inputs, **_step_inputs(record, settable, stands_for)}
        want = float(record["loss"])
        got = _loss_at(program, inputs, False, limits, isolate)
        if program.grid_forward is not None and math.isclose(got, want, rel_tol=REL_TOL,
                                                             abs_tol=ABS_TOL):
            got = _loss_at(program, inputs, True, limits, isolate)
        if not math.isclose(got, want, rel_tol=REL_TOL, abs_tol=ABS_TOL):
            raise NoLandscape(
                f"The loss the loop computes before backward(), evaluated with the values "
                f"the parameters had at step {k}, gives {got:.7g}, but the run recorded "
                f"{want:.7g} at that step: the loss depends on something else that changes "
                "from step to step (a data loader, the step number, a schedule, random "
                "numbers drawn in the loop), so there is no one landscape to draw.")


def _loss_at(program: LandscapeProgram, inputs: dict[str, Any], grid: bool, limits: Limits,
             isolate: bool) -> float:
    """The derived program's loss at these inputs, through the same batched machinery
    that draws the landscape, so a program it cannot batch is refused here, not later:
    the curve's program varying the first parameter, or (``grid``) the grid's program
    varying both parameters (its point 0 set to the step's values)."""
    if grid and program.grid_forward is not None:
        names = program.grid_names
        at = [inputs[name] for name in program.param_inputs]
        held = set(program.param_inputs)
        grid_inputs = {**program.grid_inputs,
                       **{k: v for k, v in inputs.items() if k not in held},
                       names["columns"]: 2.0, names["x_lo"]: at[0], names["x_step"]: 1.0,
                       names["y_lo"]: at[1], names["y_step"]: 1.0}
        source, inputs, wrt, lo, hi = (program.grid_forward, grid_inputs, names["index"],
                                       0.0, 1.0)
    else:
        source, wrt = program.forward, program.param_inputs[0]
        lo = float(inputs[wrt])
        hi = lo + 1e-3 * max(1.0, abs(lo))
    try:
        _, ys, _ = api.derivative_curve(
            source, inputs, wrt, lo, hi, 2, output=program.output,
            requires_grad=_switched_off(program), dtype=program.dtype, seed=program.seed,
            limits=limits, isolate=isolate)
    except ProgramRefused as refused:
        raise NoLandscape(_from_engine(refused).message) from None
    return float(ys[0])


def _switched_off(program: LandscapeProgram) -> dict[str, bool]:
    """requires_grad for the derived programs' inputs: the run's own switches, and off
    for the grid's numbers (its ranges and size)."""
    return {**program.requires_grad,
            **{name: False for part, name in program.grid_names.items()
               if part not in ("index", "row")}}


def _from_engine(refused: ProgramRefused) -> LandscapeRefusal:
    message = refused.error.message
    for prefix in ("This curve cannot be drawn: ", "Curve: "):
        message = message.removeprefix(prefix)
    message = message[:1].upper() + message[1:]
    return LandscapeRefusal(f"The landscape cannot be drawn: {message}")


# -- the grid ---------------------------------------------------------------------------------


_GRID_PARTS = ("index", "row", "columns", "x_lo", "x_step", "y_lo", "y_step")


def _with_grid(program: LandscapeProgram, loop: TrainingLoop, settable: Sequence[str],
               stands_for: Mapping[str, str], leaves: Mapping[str, Any],
               taken: set[str]) -> LandscapeProgram:
    """Add the grid program: point ``index`` of the grid (row by row) sets
    ``params[0]`` to ``x_lo + x_step * column`` and ``params[1]`` to
    ``y_lo + y_step * row``, so one batched pass over the indices is the whole grid."""
    names = {part: fresh_name(f"grid_{part}", taken) for part in _GRID_PARTS}
    index, row, columns = names["index"], names["row"], names["columns"]
    x, y = program.params
    settings = [(row, f"torch.floor({index} / {columns})"),
                (x, _shaped(f"({names['x_lo']} + {names['x_step']} * ({index} - "
                            f"{columns} * {row}))", leaves[x]["value"])),
                (y, _shaped(f"({names['y_lo']} + {names['y_step']} * {row})",
                            leaves[y]["value"]))]
    others = [(name, _shaped(stands_for[name], leaves[name]["value"]))
              for name in settable if name not in program.params]
    source = forward_source(loop, [*others, *settings], program.output)
    held = {stands_for[p] for p in program.params}
    inputs = {k: v for k, v in program.inputs.items() if k not in held}
    return replace(program, grid_forward=source, grid_inputs={**inputs, index: 0.0},
                   grid_names=names)


def _grid_rows(program: LandscapeProgram, inputs: dict[str, Any],
               switched_off: dict[str, bool], first: int, last: int, n: int,
               limits: Limits, isolate: bool) -> np.ndarray:
    """Rows ``first`` to ``last - 1`` of the grid, flattened, in one batched pass."""
    points = (last - first) * n
    _, ys, _ = api.derivative_curve(
        program.grid_forward or "", inputs, program.grid_names["index"], float(first * n),
        float(last * n - 1), points, output=program.output, requires_grad=switched_off,
        dtype=program.dtype, seed=program.seed, limits=limits, isolate=isolate)
    return ys


def _grid_axes(inputs: Mapping[str, Any], names: Mapping[str, str], n: int,
               dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """The parameters' values along the grid, computed as the grid program computes
    them (``lo + step * k`` in the run's dtype)."""
    kind = torch.float64 if dtype == "float64" else torch.float32
    k = torch.arange(n, dtype=kind)
    axes = []
    for axis in ("x", "y"):
        lo = torch.tensor(inputs[names[f"{axis}_lo"]], dtype=kind)
        step = torch.tensor(inputs[names[f"{axis}_step"]], dtype=kind)
        axes.append((lo + step * k).double().numpy())
    return axes[0], axes[1]


def _as_computed(xs: np.ndarray, dtype: str) -> np.ndarray:
    return xs if dtype == "float64" else xs.astype(np.float32).astype(np.float64)
