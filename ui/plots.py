"""Plotly figures of f and f' over a range, with the current point and its tangent.

Plain functions of arrays (no Streamlit, no torch): the page computes the curves with
``engine.derivative_curve`` (autograd) and ``engine.analytic_derivative`` (by hand) and
hands the numbers here. Colours come from Streamlit's chart theme (light or dark), so only
what carries meaning is styled: the autograd curve solid, the formula by hand dashed on
top of it, the current point as a large marker.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

AUTOGRAD_COLOUR = "#1f77b4"
HAND_COLOUR = "#ff7f0e"
POINT_COLOUR = "#d62728"
TANGENT_COLOUR = "#2ca02c"


@dataclass(frozen=True)
class CurveView:
    """What the two plots show. ``dy0`` is None when autograd recorded no path from
    ``wrt`` to the output (no_grad, detach, requires_grad off)."""

    wrt: str
    output: str
    xs: np.ndarray
    ys: np.ndarray
    dys: np.ndarray
    x0: float
    y0: float
    dy0: float | None
    hand_dys: np.ndarray | None = None
    big: bool = False


def _finite(values: np.ndarray) -> np.ndarray:
    """Non-finite values as gaps (log near 0 gives -inf; plotly would draw a wall)."""
    out = np.asarray(values, dtype=float).copy()
    out[~np.isfinite(out)] = np.nan
    return out


def _y_range(*series: np.ndarray) -> list[float] | None:
    """A y range that is not squashed by a pole (1/x, log): the 1st to 99th percentile,
    padded, when the extremes are far outside it; else plotly's own autorange."""
    values = np.concatenate([s[np.isfinite(s)] for s in series if s is not None])
    if values.size == 0:
        return None
    lo, hi = np.percentile(values, [1, 99])
    span = max(hi - lo, 1e-9)
    if values.min() >= lo - span and values.max() <= hi + span:
        return None
    return [float(lo - 0.15 * span), float(hi + 0.15 * span)]


def _layout(title: str, x_title: str, y_title: str, big: bool,
            y_range: list[float] | None) -> dict:
    size = 20 if big else 14
    y_axis: dict = {"title": {"text": y_title}, "zeroline": True}
    if y_range is not None:
        y_axis["range"] = y_range
    return {
        "title": {"text": title, "font": {"size": size + 4}},
        "font": {"size": size},
        "height": 500 if big else 400,
        "margin": {"l": 10, "r": 10, "t": 50, "b": 10},
        # Below the axis: above it, the legend would cover the title.
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0},
        "hovermode": "x unified",
        "xaxis": {"title": {"text": x_title}, "zeroline": True},
        "yaxis": y_axis,
    }


def as_figure(spec: dict) -> go.Figure:
    """A figure from its plain spec, without plotly's validation. Validating walks every
    property through plotly's object tree: 20-40 ms per figure, a third of a Playground
    rerun. These specs are fixed shapes filled with numbers and names; tests/test_plots.py
    validates every one of them (``go.Figure(spec)`` raises on anything invalid)."""
    return go.Figure(spec, _validate=False)


def _line(xs: np.ndarray, ys: np.ndarray, name: str, colour: str, width: float,
          dash: str | None = None) -> dict:
    line = {"color": colour, "width": width}
    if dash:
        line["dash"] = dash
    return {"type": "scatter", "x": np.asarray(xs, dtype=float),
            "y": np.asarray(ys, dtype=float), "mode": "lines", "name": name, "line": line}


def _point(x: float, y: float, name: str, big: bool) -> dict:
    return {"type": "scatter", "x": [float(x)], "y": [float(y)], "mode": "markers",
            "name": name, "marker": {"color": POINT_COLOUR, "size": 16 if big else 12}}


def function_spec(view: CurveView) -> dict:
    """f over the range, the current point, and the tangent line there (slope f'(x0))."""
    ys = _finite(view.ys)
    width = 3 if view.big else 2
    traces = [_line(view.xs, ys, f"{view.output}({view.wrt})", AUTOGRAD_COLOUR, width)]
    if view.dy0 is not None and np.isfinite(view.dy0):
        half = (view.xs[-1] - view.xs[0]) / 6
        tx = np.array([view.x0 - half, view.x0 + half])
        traces.append(_line(tx, view.y0 + view.dy0 * (tx - view.x0),
                            f"tangent, slope {view.dy0:.4g}", TANGENT_COLOUR, width, "dash"))
    traces.append(_point(view.x0, view.y0, f"{view.wrt} = {view.x0:.4g}", view.big))
    return {"data": traces,
            "layout": _layout(f"{view.output} as a function of {view.wrt}", view.wrt,
                              view.output, view.big, _y_range(ys))}


def derivative_spec(view: CurveView) -> dict:
    """f' from autograd (solid), the formula by hand (dashed, on top) and the current
    gradient as a point, so a learner sees the two agree everywhere, not just at x0."""
    dys = _finite(view.dys)
    width = 3 if view.big else 2
    title = f"d{view.output}/d{view.wrt}"
    traces = [_line(view.xs, dys, "autograd", AUTOGRAD_COLOUR, width + 2)]
    hand = None if view.hand_dys is None else _finite(view.hand_dys)
    if hand is not None:
        traces.append(_line(view.xs, hand, "by hand (sympy)", HAND_COLOUR, width, "dash"))
    if view.dy0 is not None:
        traces.append(_point(view.x0, view.dy0, f"{view.wrt}.grad = {view.dy0:.4g}",
                             view.big))
    return {"data": traces,
            "layout": _layout(title, view.wrt, title, view.big, _y_range(dys, hand))}


def second_derivative_spec(view: CurveView, d2ys: np.ndarray) -> dict:
    """f'' from autograd differentiating its own backward pass (create_graph=True), with
    a dotted line at the current point (where f' has the slope f'' shows)."""
    d2 = _finite(d2ys)
    width = 3 if view.big else 2
    title = f"d²{view.output}/d{view.wrt}²"
    traces = [_line(view.xs, d2, "autograd, create_graph=True", AUTOGRAD_COLOUR, width + 2)]
    finite = d2[np.isfinite(d2)]
    if finite.size:
        low, high = float(finite.min()), float(finite.max())
        pad = max(high - low, 1.0) * 0.05
        marker = _line(np.array([view.x0, view.x0]), np.array([low - pad, high + pad]),
                       f"{view.wrt} = {view.x0:.4g}", POINT_COLOUR, width, "dot")
        traces.append(marker)
    return {"data": traces,
            "layout": _layout(title, view.wrt, title, view.big, _y_range(d2))}


def function_figure(view: CurveView) -> go.Figure:
    return as_figure(function_spec(view))


def derivative_figure(view: CurveView) -> go.Figure:
    return as_figure(derivative_spec(view))
