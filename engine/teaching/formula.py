"""The derivative by hand as plain data: what :func:`engine.analytic_derivative` returns.

Kept apart from :mod:`engine.teaching.analytic` (which needs sympy) so the server process, which
only receives formulas from its workers, never imports sympy. Every field is plain data
(text, floats, tuples, a dict of floats, float64 arrays): a Formula pickles, crosses the
worker pipe through :mod:`engine.sandbox.wire`, and can be cached with ``st.cache_data``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np


@dataclass(frozen=True, eq=False)
class Formula:
    """The output of a program as a textbook formula, and its derivative.

    - ``wrt``: the input (or ``torch.tensor`` leaf) differentiated against;
      ``output_name``: the variable the formula is of (None for an expression line).
    - ``f_latex`` / ``df_latex``: LaTeX of the output and of d output / d wrt, written with
      the program's names (intermediate variables substituted). ``""`` when too long to
      read, and then ``too_long_to_show`` is True. For a list input ``df_latex`` is the
      gradient, one component per element.
    - ``f_value`` / ``df_value``: their values at the current inputs (float64). For a list
      input ``df_value`` is NaN and ``df_values`` holds the components; for a number,
      ``df_values == (df_value,)``.
    - ``values``: the value used for every symbol of the formula (``"x"``, ``"v[0]"``).
    - ``notes``: where the program stops autograd (``.detach()``, ``torch.no_grad()``,
      ``.item()``, no ``requires_grad``) but the formula goes on, so a page can say why
      autograd's number differs.
    - ``xs``, ``fs``, ``dfs``: float64 arrays of ``n`` points over ``[lo, hi]`` for ``wrt``,
      everything else held at its value; empty when no curve was asked for.
    """

    wrt: str
    output_name: str | None
    f_latex: str
    df_latex: str
    too_long_to_show: bool
    f_value: float
    df_value: float
    df_values: tuple[float, ...]
    values: dict[str, float]
    notes: tuple[str, ...]
    xs: np.ndarray
    fs: np.ndarray
    dfs: np.ndarray

    def __eq__(self, other: object) -> bool:
        """Field by field; arrays and floats compare equal when both are NaN."""
        if not isinstance(other, Formula):
            return NotImplemented
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if not np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True):
                    return False
            elif f.name in ("f_value", "df_value", "df_values"):
                if not np.array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                                      equal_nan=True):
                    return False
            elif a != b:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]  # holds arrays: compared, never hashed
