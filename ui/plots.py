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


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str, big: bool,
            y_range: list[float] | None) -> go.Figure:
    size = 20 if big else 14
    fig.update_layout(
        title={"text": title, "font": {"size": size + 4}},
        font={"size": size},
        height=500 if big else 400,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        # Below the axis: above it, the legend would cover the title.
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "x": 0},
        hovermode="x unified",
    )
    fig.update_xaxes(title_text=x_title, zeroline=True)
    fig.update_yaxes(title_text=y_title, zeroline=True)
    if y_range is not None:
        fig.update_yaxes(range=y_range)
    return fig


def function_figure(view: CurveView) -> go.Figure:
    """f over the range, the current point, and the tangent line there (slope f'(x0))."""
    ys = _finite(view.ys)
    width = 3 if view.big else 2
    fig = go.Figure()
    fig.add_scatter(x=view.xs, y=ys, mode="lines", name=f"{view.output}({view.wrt})",
                    line={"color": AUTOGRAD_COLOUR, "width": width})
    if view.dy0 is not None and np.isfinite(view.dy0):
        half = (view.xs[-1] - view.xs[0]) / 6
        tx = np.array([view.x0 - half, view.x0 + half])
        fig.add_scatter(x=tx, y=view.y0 + view.dy0 * (tx - view.x0), mode="lines",
                        name=f"tangent, slope {view.dy0:.4g}",
                        line={"color": TANGENT_COLOUR, "width": width, "dash": "dash"})
    fig.add_scatter(x=[view.x0], y=[view.y0], mode="markers",
                    name=f"{view.wrt} = {view.x0:.4g}",
                    marker={"color": POINT_COLOUR, "size": 16 if view.big else 12})
    return _layout(fig, f"{view.output} as a function of {view.wrt}", view.wrt, view.output,
                   view.big, _y_range(ys))


def derivative_figure(view: CurveView) -> go.Figure:
    """f' from autograd (solid), the formula by hand (dashed, on top) and the current
    gradient as a point, so a learner sees the two agree everywhere, not just at x0."""
    dys = _finite(view.dys)
    width = 3 if view.big else 2
    title = f"d{view.output}/d{view.wrt}"
    fig = go.Figure()
    fig.add_scatter(x=view.xs, y=dys, mode="lines", name="autograd",
                    line={"color": AUTOGRAD_COLOUR, "width": width + 2})
    hand = None if view.hand_dys is None else _finite(view.hand_dys)
    if hand is not None:
        fig.add_scatter(x=view.xs, y=hand, mode="lines", name="by hand (sympy)",
                        line={"color": HAND_COLOUR, "width": width, "dash": "dash"})
    if view.dy0 is not None:
        fig.add_scatter(x=[view.x0], y=[view.dy0], mode="markers",
                        name=f"{view.wrt}.grad = {view.dy0:.4g}",
                        marker={"color": POINT_COLOUR, "size": 16 if view.big else 12})
    return _layout(fig, title, view.wrt, title, view.big, _y_range(dys, hand))
