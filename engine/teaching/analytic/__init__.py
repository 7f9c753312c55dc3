"""The derivative by hand: a learner's program as a textbook formula, and its derivative.

Beside autograd's numbers the app shows what a learner would write on paper: the output
as a formula of the program's inputs (``y = x**2; z = torch.sin(y)`` gives sin(x²)), its
derivative (``sympy.diff``, nothing else), their values, and f' over a range to lay over
autograd's curve. The entry is :func:`formula_in_process`, which
:func:`engine.analytic_derivative` calls in a worker process by default.

One job per module:

- ``rules.py``: the table ``RULES``, the language's functions as mathematics: the one
  place to add a function;
- ``walker.py``: the walk, running the checked program over formulas (``values.py``:
  what a variable holds meanwhile);
- ``numeric.py``: numbers from formulas, with numpy (the table ``NUMPY``);
- ``bounds.py``: the size bounds every step is held to;
- here: the entry, the derivative, its values, curve and LaTeX.

Security. Nothing here turns text into code: no eval, exec, compile, sympy's text parsers
or its code generator (which execs the source it writes); a test greps every file of this
package for them. The program first passes :func:`engine.language.checker.check_program`; the walk
then goes over the checked ``ast`` and builds sympy objects directly, from the table
``RULES`` and the checker's resolution of each call. Numbers come from ``NUMPY``, a small
walker from sympy node classes to numpy. Symbols are ``sympy.Symbol(..., real=True)``
named after the program's identifiers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np
import sympy

from engine.errors import ProgramRefused, refuse
from engine.language.checker import check_program
from engine.limits import Limits
from engine.running.curve import check_range
from engine.running.inputs import make_input
from engine.teaching.analytic.bounds import LATEX_MAX_CHARS, LATEX_MAX_NODES, MAX_DERIVATIVE_WORK
from engine.teaching.analytic.numeric import evaluate, plan
from engine.teaching.analytic.rules import NOTES, RULES
from engine.teaching.analytic.values import Leaf
from engine.teaching.analytic.walker import Walker
from engine.teaching.formula import Formula

__all__ = ["RULES", "formula_in_process", "gradients_in_process"]


def formula_in_process(source: str, inputs: Mapping[str, Any] | None, wrt: str,
                       lo: float | None, hi: float | None, n: int, output: str | None,
                       limits: Limits) -> Formula:
    """The :class:`Formula` of ``source`` in this process (see
    :func:`engine.analytic_derivative`); raises ProgramRefused with a sentence."""
    if n:
        lo = -3.0 if lo is None else lo
        hi = 3.0 if hi is None else hi
        check_range(lo, hi, n, limits)
    return _guarded(_formula, source, inputs, wrt, float(lo or 0.0), float(hi or 0.0), n,
                    output, limits)


def gradients_in_process(source: str, inputs: Mapping[str, Any] | None,
                         names: list[str], output: str | None,
                         limits: Limits) -> dict[str, float | None]:
    """d output / d ``name`` by hand at the inputs' values, for each of ``names`` that is
    one number (None for the others, and for names with no formula): what a table of
    gradients needs beside autograd's, from one walk of the program and without LaTeX,
    which is most of a formula's time. Raises ProgramRefused as formula_in_process."""
    return _guarded(_gradients, source, inputs, names, output, limits)


def _guarded(compute: Any, *args: Any) -> Any:
    """``compute(*args)``, every failure turned into a ProgramRefused with a sentence."""
    try:
        return compute(*args)
    except ProgramRefused:
        raise
    except RecursionError:
        raise refuse("The formula is nested too deeply to work out by hand.",
                     kind="limit") from None
    except (TypeError, ValueError, ArithmeticError) as exc:  # sympy on an edge case
        raise refuse(f"No formula by hand for this program ({type(exc).__name__}: "
                     f"{str(exc)[:120]}).") from None
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - a page must get a sentence, never a crash
        raise refuse(f"Internal error ({type(exc).__name__}): {str(exc)[:120]}", None,
                     "internal") from None


def _walk(source: str, inputs: Mapping[str, Any] | None, output: str | None,
          limits: Limits) -> tuple[Walker, str | None, Any, Any]:
    """The program walked over formulas: (walker, output name, its value, its formula)."""
    tensors = {name: make_input(name, value, False, "float64", limits)
               for name, value in (inputs or {}).items()}
    program = check_program(source, limits, known_names=set(tensors))
    walker = Walker(program, limits)
    for name, tensor in tensors.items():
        walker.add_input(name, tensor)
    walker.run()
    output_name, value = walker.output(output)
    f = value.items[0]
    if f.has(sympy.oo, -sympy.oo, sympy.zoo, sympy.nan):
        raise refuse("The formula contains an infinite or undefined number (such as a "
                     "division by zero), so it has no derivative by hand.")
    _check_names(walker, f)
    return walker, output_name, value, f


def _gradients(source: str, inputs: Mapping[str, Any] | None, names: list[str],
               output: str | None, limits: Limits) -> dict[str, float | None]:
    walker, _, _, f = _walk(source, inputs, output, limits)
    derivatives: dict[str, Any] = {}
    for name in names:
        try:
            symbols = _wrt_symbols(walker, f, name)
        except ProgramRefused:
            continue
        if len(symbols) == 1:
            s = symbols[0]
            derivatives[name] = derivative(f, s)
    if not derivatives or plan(list(derivatives.values()))[2] > MAX_DERIVATIVE_WORK:
        return dict.fromkeys(names)
    at = {leaf.symbol: leaf.value for leaf in walker.leaves}
    values = dict(zip(derivatives, evaluate(list(derivatives.values()), at), strict=True))
    return {name: float(values[name]) if name in values else None for name in names}


def _formula(source: str, inputs: Mapping[str, Any] | None, wrt: str, lo: float, hi: float,
             n: int, output: str | None, limits: Limits) -> Formula:
    walker, output_name, value, f = _walk(source, inputs, output, limits)
    symbols = _wrt_symbols(walker, f, wrt)
    wrt_leaf = walker.leaf_of[symbols[0]]
    scalar = len(symbols) == 1  # a number, or a list of one
    dfs = [derivative(f, s) for s in symbols]
    work = plan([f, *dfs])[2]
    if work > MAX_DERIVATIVE_WORK:
        raise refuse("The derivative is too large to work out by hand here.", kind="limit")
    names = {leaf.symbol: _latex_name(leaf) for leaf in walker.leaves}
    f_latex = _latex(f, names, walker)
    df_latex = _latex(dfs[0] if scalar else sympy.Tuple(*dfs), names, walker)
    at = {leaf.symbol: leaf.value for leaf in walker.leaves}
    f_value, *df_values = (float(v) for v in evaluate([f, *dfs], at))
    xs = fs = dfs_curve = np.empty(0)
    if n:
        if not scalar:
            raise refuse(f"This curve cannot be drawn: `{wrt}` has {len(symbols)} "
                         "elements; a curve varies one number.")
        if work * n > limits.max_curve_elements:
            most = max(2, limits.max_curve_elements // work)
            raise refuse(f"Curve: this formula is too large for {n:,} points; use at "
                         f"most {most:,}.", kind="input")
        xs = np.linspace(lo, hi, n, dtype=np.float64)
        fs, dfs_curve = (np.broadcast_to(np.asarray(v, dtype=np.float64), (n,)).copy()
                         for v in evaluate([f, dfs[0]], {**at, symbols[0]: xs}))
    notes = set(value.notes)
    if not wrt_leaf.requires_grad:
        notes.add(NOTES["requires_grad"].format(name=wrt, line=wrt_leaf.line or "?", code=""))
    used = sorted(f.free_symbols, key=lambda s: s.name)
    return Formula(
        wrt=wrt, output_name=output_name, f_latex=f_latex, df_latex=df_latex,
        too_long_to_show=not (f_latex and df_latex), f_value=f_value,
        df_value=df_values[0] if scalar else math.nan, df_values=tuple(df_values),
        values={walker.leaf_of[s].key: walker.leaf_of[s].value for s in used},
        notes=tuple(sorted(notes)), xs=xs, fs=fs, dfs=dfs_curve)


@lru_cache(maxsize=512)
def derivative(f: Any, symbol: sympy.Symbol) -> Any:
    """d f / d ``symbol`` (0 where f does not contain it). Cached per expression, as the
    LaTeX is: every student of a class trying their own x asks for the derivative of the
    same expression, and sympy's diff is a third of a formula's time."""
    return sympy.diff(f, symbol) if symbol in f.free_symbols else sympy.Integer(0)


def _check_names(walker: Walker, f: Any) -> None:
    """One symbol per name in the output: a tensor made twice under one name would make
    the formula ambiguous (both read ``x``)."""
    seen: dict[str, int] = {}
    for symbol in f.free_symbols:
        leaf = walker.leaf_of[symbol]
        if seen.setdefault(leaf.key, leaf.generation) != leaf.generation:
            raise refuse(f"The output uses two different tensors called `{leaf.name}` "
                         "(it is created twice): rename one of them.")


def _wrt_symbols(walker: Walker, f: Any, wrt: str) -> list[sympy.Symbol]:
    """The symbols of ``wrt``: the input or ``torch.tensor`` leaf of that name the output
    is made from (the latest one when it is made from none: its derivative is then 0)."""
    created = [leaf for leaf in walker.leaves if leaf.name == wrt]
    if not created:
        if wrt in walker.env:
            raise refuse(f"`{wrt}` is not an input or a tensor the program creates with "
                         "torch.tensor(...), so there is nothing to vary.")
        raise refuse(f"There is no input or variable called `{wrt}`.")
    generations: dict[int, list[sympy.Symbol]] = {}
    for leaf in created:
        generations.setdefault(leaf.generation, []).append(leaf.symbol)
    for symbols in generations.values():
        if any(s in f.free_symbols for s in symbols):
            return symbols  # _check_names made sure there is only one
    return generations[max(generations)]


def _latex_name(leaf: Leaf) -> str:
    base = sympy.latex(sympy.Symbol(leaf.name))
    if leaf.index is None:
        return base
    return f"{{{base}}}_{{{leaf.index}}}" if "_" in base or "^" in base \
        else f"{base}_{{{leaf.index}}}"


def _latex(expr: Any, names: dict[sympy.Symbol, str], walker: Walker) -> str:
    """LaTeX of ``expr`` with the program's names, or "" when it is too long to read."""
    if walker.measure(expr)[0] > LATEX_MAX_NODES:
        return ""
    return _latex_text(expr, tuple(names.items()))


@lru_cache(maxsize=512)
def _latex_text(expr: Any, names: tuple[tuple[sympy.Symbol, str], ...]) -> str:
    """sympy's LaTeX printer is most of a formula's time, and its text depends only on
    the expression: a learner moving a number (every student of a class trying their own
    x) changes the values, not the formula, so the text is cached per expression."""
    text = sympy.latex(expr, symbol_names=dict(names))
    return text if len(text) <= LATEX_MAX_CHARS else ""
