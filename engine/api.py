"""The public entry points; they run programs in a worker process unless told not to."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from engine.limits import DEFAULT_LIMITS, Limits
from engine.running.run import RunOptions, RunResult, run_in_process
from engine.teaching.formula import Formula


def run_program(source: str, inputs: Mapping[str, Any] | None = None, *,
                output: str | None = None, no_grad: bool = False,
                detach: Iterable[str] = (), requires_grad: Mapping[str, bool] | None = None,
                retain_grad: bool | Iterable[str] = False, dtype: str = "float32",
                auto_backward: bool = True, seed: int = 0, graph_step: int | None = None,
                limits: Limits = DEFAULT_LIMITS, isolate: bool = True) -> RunResult:
    """Check and run ``source`` forward and backward; never raises for a bad program.

    ``inputs`` maps names to numbers, nested lists or box text (``"[1, 2]"``); each
    becomes a float leaf (``dtype`` ``"float32"`` or ``"float64"``) that requires grad
    unless ``requires_grad[name]`` is False. ``output`` names the variable to treat as the
    output (default: what the program called ``backward()`` on, else its last expression
    or assignment). ``no_grad`` runs the whole program under ``torch.no_grad()``;
    ``detach`` names variables detached where assigned; ``retain_grad`` (True or names)
    keeps ``.grad`` of intermediates. Unless the program called ``backward()`` itself,
    backward runs from a scalar output that requires grad (``auto_backward``).
    ``result.training`` holds the numbers of every backward() the program called (a
    training loop's steps); ``graph_step=k`` makes ``result.graph`` the k-th call's graph
    (its values and gradients as they were then) instead of the last one's.
    ``isolate`` runs in a worker process whose time and memory are enforced; with
    ``isolate=False`` the run happens in this process (limits are then checked between
    operations only).
    """
    options = RunOptions.build(output, no_grad, detach, requires_grad, retain_grad, dtype,
                               auto_backward, seed, graph_step)
    if isolate:
        from engine.sandbox.pool import shared_pool

        return shared_pool().run(source, dict(inputs or {}), options, limits)
    return run_in_process(source, inputs, options, limits)


def derivative_curve(source: str, inputs: Mapping[str, Any] | None = None, wrt: str = "x",
                     lo: float = -3.0, hi: float = 3.0, n: int = 2001, *,
                     output: str | None = None, no_grad: bool = False,
                     detach: Iterable[str] = (),
                     requires_grad: Mapping[str, bool] | None = None,
                     dtype: str = "float32", seed: int = 0,
                     limits: Limits = DEFAULT_LIMITS, isolate: bool = True,
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(xs, ys, dys)``: the output and its exact autograd derivative with respect to the
    scalar ``wrt`` at ``n`` points in ``[lo, hi]``, other inputs held at their values.

    ``wrt`` is an input name or a leaf the program creates
    (``x = torch.tensor(3.0, requires_grad=True)``). One batched forward and backward
    (``torch.func.vmap`` of ``grad``), not a loop. Arrays are float64 numpy arrays;
    ``dys`` is all NaN when autograd recorded no path from ``wrt`` to the output (no_grad,
    detach, requires_grad off). Raises :class:`engine.errors.ProgramRefused` (whose
    ``.error`` is a ProgramError) when the output is not a scalar function of ``wrt``.
    For f'' as well, see :func:`second_derivative_curve`.
    """
    return _curve(source, inputs, wrt, lo, hi, n, 1, output, no_grad, detach,
                  requires_grad, dtype, seed, limits, isolate)  # type: ignore[return-value]


def second_derivative_curve(source: str, inputs: Mapping[str, Any] | None = None,
                            wrt: str = "x", lo: float = -3.0, hi: float = 3.0,
                            n: int = 2001, *, output: str | None = None,
                            no_grad: bool = False, detach: Iterable[str] = (),
                            requires_grad: Mapping[str, bool] | None = None,
                            dtype: str = "float32", seed: int = 0,
                            limits: Limits = DEFAULT_LIMITS, isolate: bool = True,
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(xs, ys, dys, d2ys)``: :func:`derivative_curve` plus the exact second derivative,
    all from one batched pass (``torch.func.vmap`` of ``grad`` of ``grad``: autograd
    differentiates its own backward pass, as ``backward(create_graph=True)`` and a second
    backward would, at every point at once). A separate function rather than a flag, so
    the first-derivative callers keep their three-array result.

    Arguments, limits and worker process as in :func:`derivative_curve` (each point gets
    half the tensor budget: the second pass keeps the first one's values). ``d2ys`` is
    all NaN exactly when ``dys`` is (no recorded path from ``wrt``); where the gradient
    is recorded but does not change with ``wrt`` (``3 * x``) it is 0. Raises
    :class:`engine.errors.ProgramRefused` where the first curve would, and where torch
    has no second derivative for an operation the program uses (``F.hardsigmoid``) or
    the program turns a tensor into a number (``.item()``), with a sentence saying so.
    """
    return _curve(source, inputs, wrt, lo, hi, n, 2, output, no_grad, detach,
                  requires_grad, dtype, seed, limits, isolate)  # type: ignore[return-value]


def _curve(source: str, inputs: Mapping[str, Any] | None, wrt: str, lo: float, hi: float,
           n: int, order: int, output: str | None, no_grad: bool, detach: Iterable[str],
           requires_grad: Mapping[str, bool] | None, dtype: str, seed: int,
           limits: Limits, isolate: bool) -> tuple[np.ndarray, ...]:
    options = RunOptions.build(output, no_grad, detach, requires_grad, False, dtype, True,
                               seed)
    if isolate:
        from engine.sandbox.pool import shared_pool

        return shared_pool().curve(source, dict(inputs or {}), wrt, lo, hi, n, options,
                                   limits, order)
    from engine.running.curve import curve_in_process

    return curve_in_process(source, inputs, wrt, lo, hi, n, options, limits, order)


def gradient_graph(source: str, inputs: Mapping[str, Any] | None = None, wrt: str = "x", *,
                   output: str | None = None, no_grad: bool = False,
                   detach: Iterable[str] = (),
                   requires_grad: Mapping[str, bool] | None = None,
                   dtype: str = "float32", seed: int = 0,
                   limits: Limits = DEFAULT_LIMITS, isolate: bool = True) -> RunResult:
    """The graph of the gradient itself (double backward); never raises for a program.

    Runs the program, takes ``g = d output / d wrt`` with
    ``torch.autograd.grad(..., create_graph=True)`` (so autograd records the backward
    pass as a new graph whose root is ``g``) and runs backward from ``g``. The result is a
    :class:`RunResult`: ``output`` is ``g``, named ``"dz/dx"`` (output ``z``, wrt ``x``);
    ``grads`` is ``{wrt: d²z/dx²}``; ``graph`` is g's graph in run_program's format (draw
    it with ``graphviz_utils.to_dot``): backward's operations, the forward values they
    read with the program's names (``y``), the leaf ``wrt`` with ``.grad`` = the second
    derivative (other leaves in it: mixed second derivatives), the gradient of this second
    backward at every node, and a value wherever torch computed one (gradients passed
    between nodes are named like ``dz/dy``; purely internal values stay None).

    ``wrt`` is a one-number input or a leaf the program makes with requires_grad=True;
    ``output`` and the switches as in :func:`run_program`. ``.error`` says why in a
    sentence when there is nothing to differentiate (the output does not depend on
    ``wrt``, was not recorded, is not one number), when the program's own backward()
    freed the graph, or when torch has no second derivative for an operation.
    ``isolate`` runs it in a worker process with the usual time and memory limits.
    """
    options = RunOptions.build(output, no_grad, detach, requires_grad, False, dtype, False,
                               seed)
    if isolate:
        from engine.sandbox.pool import shared_pool

        return shared_pool().gradient_graph(source, dict(inputs or {}), wrt, options,
                                            limits)
    from engine.running.higher import gradient_graph_in_process

    return gradient_graph_in_process(source, inputs, wrt, options, limits)


def analytic_derivative(source: str, inputs: Mapping[str, Any] | None = None,
                        wrt: str = "x", *, lo: float | None = None, hi: float | None = None,
                        n: int = 0, output: str | None = None,
                        limits: Limits = DEFAULT_LIMITS, isolate: bool = True) -> Formula:
    """The derivative by hand: the output as a textbook formula of the program's inputs
    and its derivative with respect to ``wrt``, in LaTeX, with their values, and (for
    ``n`` > 0) both over ``n`` points in ``[lo, hi]`` (default -3 to 3), the rest held.

    Built with sympy from the checked program's syntax tree, never from text. The
    mathematics of what is written: ``.detach()``, ``torch.no_grad()``, ``requires_grad``
    flags and ``.item()`` are read as the values they pass on, so the formula is what
    autograd would give had it followed every path (``Formula.notes`` lists where it does
    not). ``inputs`` and ``output`` as in :func:`run_program`; every input and every name
    assigned from ``torch.tensor(number, ...)`` is a symbol. A list input (up to 16
    numbers) gives the gradient's components (``Formula.df_values``) and no curve.

    Raises :class:`engine.errors.ProgramRefused` with a sentence for a learner where there
    is no formula (random numbers, indexing, matrix products, comparisons, programs
    too large to differentiate by hand) and for the checker's own refusals. ``isolate``
    computes in a worker process (hard time and memory limits), as run_program does.
    """
    if isolate:
        from engine.sandbox.pool import shared_pool

        return shared_pool().formula(source, dict(inputs or {}), wrt, lo, hi, n, output,
                                     limits)
    from engine.teaching.analytic import formula_in_process

    return formula_in_process(source, inputs, wrt, lo, hi, n, output, limits)


def hand_gradients(source: str, inputs: Mapping[str, Any] | None = None,
                   names: Iterable[str] = (), *, output: str | None = None,
                   limits: Limits = DEFAULT_LIMITS, isolate: bool = True,
                   ) -> dict[str, float | None]:
    """d output / d ``name`` by hand (sympy) at the inputs' values for each of ``names``:
    ``analytic_derivative(...).df_value`` for every name at once, from one walk of the
    program and without the LaTeX, so a table of every leaf's gradient costs one formula,
    not one per leaf. None for a name that is not one number or has no formula; raises
    :class:`engine.errors.ProgramRefused` when the program has no formula at all."""
    names = list(names)
    if isolate:
        from engine.sandbox.pool import shared_pool

        return shared_pool().gradients(source, dict(inputs or {}), names, output, limits)
    from engine.teaching.analytic import gradients_in_process

    return gradients_in_process(source, inputs, names, output, limits)


def warm_up() -> None:
    """Start the worker processes in the background (the app calls this once at start)."""
    from engine.sandbox.pool import shared_pool

    shared_pool().warm_up()
