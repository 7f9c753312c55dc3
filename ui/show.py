"""Showing one run: its error, numbers, warnings, graph and curves, the same on every page.

Each function draws one part where the page calls it (pages choose the layout). Runs,
curves and formulas are shared by every session that asks for the same thing (ui.memo):
a class opening one link computes them once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import graphviz
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
import streamlit as st
import sympy

import engine
from engine import Formula, ProgramError, RunResult
from engine.errors import ProgramRefused
from engine.running.summary import format_number, format_summary, summarize
from graphviz_utils import describe_dot, to_dot
from ui import presenter
from ui.memo import SharedStore, frozen, shared
from ui.plots import (
    CurveView,
    as_figure,
    derivative_figure,
    describe_derivative,
    describe_function,
    describe_second_derivative,
    function_figure,
    grad_note,
    second_derivative_spec,
)
from ui.share import PlaygroundState, to_query

CURVE_POINTS = 801


@dataclass(frozen=True)
class Setup:
    """One program and its switches, as the engine takes them (hashable for caching)."""

    source: str
    inputs: tuple[tuple[str, str], ...] = ()
    constants: frozenset[str] = frozenset()
    no_grad: bool = False
    detach: tuple[str, ...] = ()
    retain_grad: bool | tuple[str, ...] = False
    output: str | None = None
    graph_step: int | None = None  # a training program: the backward() call to draw

    @property
    def values(self) -> dict[str, str]:
        return dict(self.inputs)

    @property
    def requires_grad(self) -> dict[str, bool]:
        return {name: name not in self.constants for name, _ in self.inputs}

    def run(self) -> RunResult:
        """The engine's run, shared by every session that asks for the same setup: a
        class opening one link runs the program once. Runs are deterministic (seeded
        random numbers, fixed inputs), so a shared result is the one each would get;
        results are only read, never changed. A run stopped by the clock, memory or our
        own bug is not shared: on a quieter server it may well finish."""
        shared = _RUNS.get(self)
        if shared is not None:
            return shared
        result = engine.run_program(self.source, self.values, output=self.output,
                                    no_grad=self.no_grad, detach=self.detach,
                                    requires_grad=self.requires_grad,
                                    retain_grad=self.retain_grad, graph_step=self.graph_step)
        if result.error is None or result.error.kind not in ("timeout", "memory", "internal",
                                                             "limit"):
            _RUNS.put(self, result, freeze=False)  # tensors: read, never written
        return result


# Runs are a few kilobytes to a few megabytes (a long loop's graph and training steps).
_RUNS = SharedStore(maxsize=32)


def presenting(projector: bool | None = None) -> bool:
    """``projector`` as a page asked, or the presenter's choice (the sidebar's Projector
    style) when it did not say: lessons draw in the projector's type without asking."""
    return presenter.current().projector if projector is None else projector


def formulas(*equations: str, breakable: bool = False) -> None:
    """Equations side by side, centred, that wrap onto the next line where the column is
    narrower than they are (a phone, the projector's type): each is display-style inline
    math, and a line breaks between equations, not inside one (a braced group keeps
    KaTeX from breaking it; ``breakable`` lets a long generated formula break after its
    top-level signs). One still too wide scrolls in its own box (app.py), never cut off
    at the column's edge as ``st.latex``'s display math is."""
    def one(equation: str) -> str:
        return rf"$\displaystyle {equation}$" if breakable else rf"$\displaystyle {{{equation}}}$"

    st.markdown("\u2003\u2003".join(one(e) for e in equations), text_alignment="center")


def for_the_room(figure: go.Figure) -> go.Figure:
    """A lesson's own chart in the projector's type (20 px, titles 24) when presenting,
    as the Playground's curves are; the figure unchanged otherwise."""
    if presenting():
        figure.update_layout(font_size=20, title_font_size=24)
    return figure


def graph_theme(projector: bool | None = None) -> str:
    """The graph's colours: the projector theme when presenting, else the app's theme."""
    if presenting(projector):
        return "projector"
    return "dark" if st.context.theme.type == "dark" else "light"


def number_text(value: float, *, literal: bool = False) -> str:
    """A slider's float as the text a learner reads: rounded to 4 decimals
    (0.30000000000000004 -> "0.3"), "3" for 3.0, or "3.0" with ``literal`` (a float
    literal inside code, ``torch.tensor(3.0, ...)``)."""
    text = repr(round(float(value), 4) + 0.0)
    return text if literal else text.removesuffix(".0")


def tex(name: str) -> str:
    """A variable name as LaTeX the way sympy writes it (``y_pred`` as y with subscript)."""
    return sympy.latex(sympy.Symbol(name))


def where(error: ProgramError) -> str:
    return f"line {error.line}, column {error.col}: " if error.line else ""


def show_error(error: ProgramError, source: str) -> None:
    """The refusal or failure in one sentence, with the line it points at and a caret;
    a program with several problems gets every one of them, each with its own caret."""
    problems = [error, *error.more]
    heading = f"{len(problems)} problems to fix:\n\n" if len(problems) > 1 else ""
    st.error(heading + "\n\n".join(f"{where(p)}{p.message}" for p in problems),
             icon=":material/error:")
    lines = source.splitlines()
    carets = [_caret(p, lines) for p in problems]
    if any(carets):
        st.code("\n".join(c for c in carets if c), language=None)


def _caret(error: ProgramError, lines: list[str]) -> str:
    if not error.line or not 1 <= error.line <= len(lines):
        return ""
    text = lines[error.line - 1]
    caret = " " * (max(error.col or 1, 1) - 1 + len(f"{error.line} | ")) + "^"
    return f"{error.line} | {text}\n{caret}"


def show_output(result: RunResult) -> None:
    if result.output is not None:
        st.metric(f"output {result.output_name or ''}".strip(),
                  format_summary(summarize(result.output)))


def show_out(result: RunResult) -> None:
    """The value of the program's last line when it is an expression (``x.grad``,
    ``x.grad == 4*x``), shown as a notebook shows a cell's ``Out``: torch's own text, so
    it reads exactly as in a notebook."""
    out = next((echo for echo in result.echoes if echo.get("out")), None)
    if out is not None:
        st.caption(f"Out: the value of the last line (line {out['line']})")
        st.code(out["text"], language=None)


def grads_rows(result: RunResult, by_hand: Mapping[str, float | None] | None = None,
               ) -> list[dict[str, str]]:
    """One row per leaf that requires grad (its value, autograd's .grad and, when given,
    the derivative by hand at the same point), then the intermediates whose .grad was
    kept with retain_grad()."""
    rows = []
    # A module's parameters (fc1.weight) are no variable of the program: their value is
    # their leaf's in the graph (taken when the run ended, as the variables are).
    leaves = {node.get("name"): node.get("value") for node in
              (result.graph or {}).get("nodes", []) if node.get("kind") == "leaf"}
    for name, grad in result.grads.items():
        value = result.variables.get(name)
        row = {"tensor": name, "kind": "leaf" if name in result.variables or "." not in name
               else "parameter",
               "value": format_summary(summarize(value) if value is not None
                                       else leaves.get(name)),
               ".grad (autograd)": "None" if grad is None else format_summary(summarize(grad))}
        if by_hand is not None:
            hand = by_hand.get(name)
            row["by hand"] = "—" if hand is None else format_number(hand)
        rows.append(row)
    for name, grad in result.retained.items():
        rows.append({"tensor": name, "kind": "kept by retain_grad()",
                     "value": format_summary(summarize(result.variables.get(name))),
                     ".grad (autograd)": format_summary(summarize(grad))}
                    | ({"by hand": ""} if by_hand is not None else {}))
    return rows


def show_grads(result: RunResult, by_hand: Mapping[str, float | None] | None = None) -> None:
    if result.grads:
        table(grads_rows(result, by_hand))


MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]<>~|$#])")


def cell_text(value: object) -> str:
    """A table cell as a learner reads it: numbers to 4 digits, a missing .grad as None."""
    if value is None or (isinstance(value, (float, np.floating)) and np.isnan(value)):
        return "None"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return format_number(value.item() if isinstance(value, np.generic) else value)
    return str(value)


def table(data: pd.DataFrame | Sequence[Mapping[str, object]]) -> None:
    """A small table as HTML text (``st.table``), not ``st.dataframe``'s canvas: it grows
    with the projector's type, can be selected and copied, and a browser test can read it.
    ``st.table`` renders Markdown in cells, so every cell and header is escaped
    (``dL/dw = (p - y) * x`` must not turn into italics). ``data``: a DataFrame, or rows
    (a missing cell reads None).

    Sent as an Arrow table of strings built cell by cell: through pandas (apply, then its
    Arrow conversion) these few cells cost a few milliseconds of every rerun."""
    def escape(value: object) -> str:
        return MARKDOWN_SPECIALS.sub(r"\\\1", cell_text(value))

    if isinstance(data, pd.DataFrame):
        names = list(data.columns)
        columns = [data.iloc[:, i].tolist() for i in range(data.shape[1])]
    else:
        names = list(dict.fromkeys(name for row in data for name in row))
        columns = [[row.get(name) for row in data] for name in names]
    arrays = [pa.array([escape(value) for value in column], type=pa.string())
              for column in columns]
    st.table(pa.Table.from_arrays(arrays, names=[escape(name) for name in names]),
             hide_index=True)


def show_warnings(result: RunResult) -> None:
    for warning in result.warnings:
        st.warning(warning, icon=":material/info:")
    if result.printed:
        st.code(result.printed, language=None)


def annotated_dot(result: RunResult, projector: bool | None = None, **style: object,
                  ) -> graphviz.Digraph:
    """The annotated graph in the page's theme (the projector's when presenting)."""
    return to_dot(result, theme=graph_theme(projector), **style)


def show_graph(result: RunResult, projector: bool | None = None,
               dot: graphviz.Digraph | None = None, **style: object,
               ) -> graphviz.Digraph | None:
    """The annotated autograd graph with its legend (nothing when nothing ran); returns
    what it drew."""
    if result.graph and result.graph.get("nodes"):
        if dot is None:
            dot = annotated_dot(result, projector, **style)
        st.graphviz_chart(dot.source, width="content",
                          alt=describe_dot(dot.source, "Annotated autograd graph"))
        return dot
    return None


@shared(maxsize=256)
def _curve(setup: Setup, wrt: str, lo: float, hi: float, n: int, second: bool,
           ) -> tuple[np.ndarray, ...] | ProgramError:
    curve = engine.second_derivative_curve if second else engine.derivative_curve
    try:
        return frozen(curve(setup.source, setup.values, wrt=wrt, lo=lo, hi=hi, n=n,
                            output=setup.output, no_grad=setup.no_grad,
                            detach=setup.detach, requires_grad=setup.requires_grad))
    except ProgramRefused as refusal:
        return refusal.error


def cached_curve(setup: Setup, wrt: str, lo: float, hi: float, n: int = CURVE_POINTS,
                 second: bool = False) -> tuple[np.ndarray, ...] | ProgramError:
    """f and autograd's f' at n points (plain arrays, safe to cache), and f'' with
    ``second``, or why not. retain_grad cannot change a curve, so toggling it reuses the
    cached one; nor can the number ``wrt`` holds now, once a curve was drawn (below)."""
    setup = replace(setup, retain_grad=False)
    anywhere = _wrt_anywhere(setup, wrt)
    key = (anywhere, wrt, lo, hi, n, second)
    if anywhere is not None and (drawn := _CURVES_FROM_ANY_POINT.get(key)) is not None:
        return drawn
    curve = _curve(setup, wrt, lo, hi, n, second)
    if anywhere is not None and not isinstance(curve, ProgramError):
        _CURVES_FROM_ANY_POINT.put(key, curve)
    return curve


# A curve that was drawn is the same whatever number the varied input held: the batched
# run replaces it by every point of the range, and a program whose path depended on that
# number (``if x > 0``, ``int(x)``) cannot run batched and has no curve at all. Students
# each trying their own x over the same range share one curve. Refusals are not shared:
# their sentence can name the number (an index out of range at this x).
_CURVES_FROM_ANY_POINT = SharedStore(maxsize=256)


def _wrt_anywhere(setup: Setup, wrt: str) -> Setup | None:
    """``setup`` with the text of input ``wrt`` blanked when it is one plain number
    (``4``, ``-1.5e-3``; not a list, whose shape the curve depends on), else None."""
    text = setup.values.get(wrt)
    if text is None or "[" in text:
        return None
    try:
        float(text)
    except ValueError:
        return None
    return replace(setup, inputs=tuple((name, "" if name == wrt else value)
                                       for name, value in setup.inputs))


@shared(maxsize=256)
def _formula(source: str, inputs: tuple[tuple[str, str], ...], output: str | None, wrt: str,
             lo: float | None, hi: float | None, n: int) -> Formula | ProgramError:
    try:
        return frozen(engine.analytic_derivative(source, dict(inputs), wrt, lo=lo, hi=hi,
                                                 n=n, output=output))
    except ProgramRefused as refusal:
        return refusal.error


def cached_formula(setup: Setup, wrt: str, lo: float | None = None, hi: float | None = None,
                   n: int = 0) -> Formula | ProgramError:
    """The derivative by hand (sympy, from the checked program), or why there is none.
    It is the mathematics of the text alone: the toggles (no_grad, detach, requires_grad,
    retain_grad) do not change it, so they reuse the cached formula."""
    return _formula(setup.source, setup.inputs, setup.output, wrt, lo, hi, n)


@shared(maxsize=256)
def _gradients(source: str, inputs: tuple[tuple[str, str], ...], output: str | None,
               names: tuple[str, ...]) -> dict[str, float | None]:
    try:
        return engine.hand_gradients(source, dict(inputs), names, output=output)
    except ProgramRefused:
        return dict.fromkeys(names)


def hand_gradients(setup: Setup, result: RunResult,
                   plotted: tuple[str, float, float] | None = None,
                   ) -> dict[str, float | None]:
    """d output / d leaf by hand for every single-number leaf (None where no formula):
    the plotted leaf's (name, lo, hi) from the curve's formula, which is already cached,
    the others from one cached call for all of them. Like the formula, the mathematics of
    the text alone: the toggles reuse it."""
    scalars = scalar_leaves(result)
    others = tuple(name for name in scalars if plotted is None or name != plotted[0])
    hand: dict[str, float | None] = dict.fromkeys(result.grads)
    if others:
        hand.update(_gradients(setup.source, setup.inputs, setup.output, others))
    if plotted is not None and plotted[0] in scalars:
        formula = cached_formula(setup, plotted[0], plotted[1], plotted[2], CURVE_POINTS)
        hand[plotted[0]] = None if isinstance(formula, ProgramError) else formula.df_value
    return hand


def scalar_leaves(result: RunResult) -> list[str]:
    """Leaves a curve can vary: single numbers that require grad."""
    return [name for name in result.grads
            if (v := result.variables.get(name)) is not None and v.numel() == 1]


def default_range(x0: float) -> tuple[float, float]:
    """A window of width 6 around the current value, on whole numbers."""
    centre = float(np.round(x0)) if np.isfinite(x0) else 0.0
    return centre - 3.0, centre + 3.0


def show_curves(setup: Setup, result: RunResult, wrt: str, lo: float, hi: float,
                projector: bool | None = None, second: bool = False) -> None:
    """f with its tangent and f' (autograd, with the formula by hand over it) side by
    side, f'' beside them with ``second``, and the formulas in LaTeX; a sentence instead
    where a curve cannot be drawn."""
    x0 = float(result.variables[wrt].reshape(()))
    curve = cached_curve(setup, wrt, lo, hi, second=second)
    if isinstance(curve, ProgramError) and second:
        st.info(f"No second derivative: {curve.message}", icon=":material/show_chart:")
        second, curve = False, cached_curve(setup, wrt, lo, hi)
    if isinstance(curve, ProgramError):
        st.info(curve.message, icon=":material/show_chart:")
        return
    xs, ys, dys = curve[:3]
    formula = cached_formula(setup, wrt, lo, hi, CURVE_POINTS)
    hand = None if isinstance(formula, ProgramError) else np.asarray(formula.dfs)
    output = result.output_name or "output"
    grad = result.grads.get(wrt)
    y0, dy0 = point_on_curve(setup, wrt, x0)
    y0 = float(np.interp(x0, xs, ys)) if y0 is None else y0
    view = CurveView(wrt, output, xs, ys, dys, x0, y0, dy0, hand, big=presenting(projector),
                     grad0=None if grad is None else float(grad.reshape(())))
    columns = st.columns(3 if second else 2)
    columns[0].plotly_chart(function_figure(view), width="stretch", key=f"f-{wrt}",
                            alt=describe_function(view))
    columns[1].plotly_chart(derivative_figure(view), width="stretch", key=f"df-{wrt}",
                            alt=describe_derivative(view))
    if second:
        columns[2].plotly_chart(as_figure(second_derivative_spec(view, curve[3])),
                                width="stretch", key=f"d2f-{wrt}",
                                alt=describe_second_derivative(view, curve[3]))
        st.caption(f"d²{output}/d{wrt}²: autograd differentiating its own backward pass "
                   "(backward with create_graph=True records the gradient as a graph, "
                   "and a second backward goes through it). The view \"The gradient's own "
                   "graph\" draws that graph.")
    if isinstance(formula, ProgramError):
        st.caption(f"No formula by hand: {formula.message}")
    elif formula.too_long_to_show:
        st.caption("The formula by hand is too long to show; its curve is drawn dashed.")
    else:
        out, var = tex(output), tex(wrt)
        formulas(f"{out} = {formula.f_latex}", breakable=True)
        formulas(rf"\frac{{\partial {out}}}{{\partial {var}}} = {formula.df_latex}",
                 breakable=True)
    if not isinstance(formula, ProgramError):
        for note in formula.notes:  # where autograd stops but the formula goes on
            st.caption(note)
    if np.all(np.isnan(dys)):
        st.caption(f"autograd recorded no path from {wrt} to {output}, so it has no "
                   "derivative to draw: see the warnings above.")
    if (note := grad_note(view, result.grad_events)) is not None:
        st.info(note, icon=":material/functions:")


def point_on_curve(setup: Setup, wrt: str, x0: float) -> tuple[float | None, float | None]:
    """f and autograd's f' at x0 exactly (not the nearest grid point): the curve at two
    points, x0 and one step towards 0 (linspace's ends are exact). This is the tangent's
    slope, not ``wrt``.grad, which a second backward() adds to and zero_() clears."""
    lo, hi = (x0 - 1.0, x0) if x0 >= 0 else (x0, x0 + 1.0)
    curve = cached_curve(setup, wrt, lo, hi, n=2)
    if isinstance(curve, ProgramError):
        return None, None
    at = 1 if x0 >= 0 else 0
    y0, dy0 = float(curve[1][at]), float(curve[2][at])
    return (y0 if np.isfinite(y0) else None), (dy0 if np.isfinite(dy0) else None)


def open_in_playground(code: str, values: Mapping[str, str],
                       constants: frozenset[str] = frozenset(), *, key: str,
                       label: str = "Open in Playground", icon: str = ":material/science:",
                       **options: object) -> None:
    """A button that opens ``code`` with these inputs (and toggles such as
    ``no_grad=True``, ``detach=("y",)``, ``retain_grad=True``, ``wrt="w"``, or a view:
    ``view="steps"``) in the Playground, through the same link parameters a share link
    uses."""
    state = replace(PlaygroundState(), code=code, values=dict(values),
                    constants=frozenset(constants), **options)
    if st.button(label, key=key, icon=icon):
        st.switch_page("app_pages/playground.py", query_params=to_query(state))
