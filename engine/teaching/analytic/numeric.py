"""Numbers from formulas: sympy trees evaluated with numpy, through the table NUMPY.

No code generation (sympy's code generator execs the source it writes): :func:`evaluate`
walks the tree itself, each distinct node once, children first, with :data:`NUMPY`, a
small table from sympy node classes to numpy functions. A builder in
:mod:`engine.teaching.analytic.rules` may use only the sympy functions this table knows.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import sympy

from engine.errors import refuse


# === the table: sympy node classes to numpy ===========================================
def _erf(x: Any) -> Any:
    return np.vectorize(math.erf, otypes=[float])(x)


def _heaviside(x: Any, at_zero: Any = 0.5) -> Any:
    return np.heaviside(x, at_zero)


NUMPY: dict[type, Callable[..., Any]] = {
    sympy.Add: lambda *args: functools.reduce(np.add, args),
    sympy.Mul: lambda *args: functools.reduce(np.multiply, args),
    sympy.Pow: np.power,
    sympy.exp: np.exp,
    sympy.log: np.log,
    sympy.sin: np.sin,
    sympy.cos: np.cos,
    sympy.tan: np.tan,
    sympy.asin: np.arcsin,
    sympy.acos: np.arccos,
    sympy.atan: np.arctan,
    sympy.sinh: np.sinh,
    sympy.cosh: np.cosh,
    sympy.tanh: np.tanh,
    sympy.asinh: np.arcsinh,
    sympy.acosh: np.arccosh,
    sympy.atanh: np.arctanh,
    sympy.atan2: np.arctan2,
    sympy.erf: _erf,
    sympy.Abs: np.abs,
    sympy.sign: np.sign,
    sympy.Heaviside: _heaviside,
    sympy.Max: lambda *args: functools.reduce(np.maximum, args),
    sympy.Min: lambda *args: functools.reduce(np.minimum, args),
}


# === evaluating formulas with numpy ====================================================
def _leaf_number(node: Any) -> float:
    try:
        return float(node)
    except (TypeError, ValueError):
        return math.nan  # zoo, nan
    except OverflowError:
        return math.inf if node > 0 else -math.inf


def plan(roots: Iterable[Any]) -> tuple[list[Any], dict[Any, int], int]:
    """Distinct nodes, children first; how many times each is an argument; and the work
    (nodes plus arguments) of evaluating them all once."""
    order: list[Any] = []
    uses: dict[Any, int] = {}
    seen: set[Any] = set()
    stack: list[tuple[Any, bool]] = [(root, False) for root in roots]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for arg in node.args:
            uses[arg] = uses.get(arg, 0) + 1
            if arg not in seen:
                stack.append((arg, False))
    return order, uses, sum(1 + len(node.args) for node in order)


def evaluate(exprs: list[Any], at: Mapping[Any, Any]) -> list[Any]:
    """The formulas' values, symbols taking ``at`` (floats or arrays): each distinct node
    once, children first, through the table NUMPY. A value is dropped as soon as every
    node using it is done, so memory stays near the width of the tree."""
    roots = set(exprs)
    order, uses, _ = plan(exprs)
    values: dict[Any, Any] = {}
    with np.errstate(all="ignore"):
        for node in order:
            if node.is_Symbol:
                values[node] = at[node]
            elif node.is_Number or node.is_NumberSymbol or node in (sympy.zoo, sympy.nan):
                values[node] = _leaf_number(node)
            else:
                function = NUMPY.get(node.func)
                if function is None:
                    raise refuse(f"The derivative by hand contains `{node.func.__name__}`,"
                                 " which cannot be evaluated here.", None, "internal")
                values[node] = function(*[values[arg] for arg in node.args])
            for arg in node.args:
                uses[arg] -= 1
                if uses[arg] == 0 and arg not in roots:
                    values.pop(arg, None)
    return [values[expr] for expr in exprs]


def evaluate_number(expr: Any) -> float:
    """A formula without symbols as a float (inf or nan where it has no value)."""
    return float(evaluate([expr], {})[0])
