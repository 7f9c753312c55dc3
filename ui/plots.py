"""Plotly figures of f and f' over a range, with the current point and its tangent.

Plain functions of arrays (no Streamlit, no torch): the page computes the curves with
``engine.derivative_curve`` (autograd) and ``engine.analytic_derivative`` (by hand) and
hands the numbers here. Colours come from Streamlit's chart theme (light or dark), so only
what carries meaning is styled: the autograd curve solid, the formula by hand dashed on
top of it, the current point as a large marker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from _plotly_utils.utils import to_typed_array_spec

AUTOGRAD_COLOUR = "#1f77b4"
HAND_COLOUR = "#ff7f0e"
POINT_COLOUR = "#d62728"
TANGENT_COLOUR = "#2ca02c"


@dataclass(frozen=True)
class CurveView:
    """What the two plots show. ``dy0`` is the derivative at ``x0`` (the tangent's
    slope), None when autograd recorded no path from ``wrt`` to the output (no_grad,
    detach, requires_grad off). ``grad0`` is ``wrt``'s .grad after the program ran: the
    same number after one backward(), but added up by a second backward(), zeroed by
    ``.grad.zero_()`` or scaled by ``gradient=``; where it differs it is drawn beside
    the derivative, never as the slope."""

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
    grad0: float | None = None


def grad_is_derivative(view: CurveView) -> bool:
    """Whether ``wrt``.grad is the derivative at x0 (up to float32 rounding: the curve
    is computed batched, .grad by one backward)."""
    return view.grad0 is not None and view.dy0 is not None and bool(
        np.isclose(view.grad0, view.dy0, rtol=1e-4, atol=1e-6))


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
    layout = spec.get("layout", {})
    if "template" in layout:
        return go.Figure(spec, _validate=False)
    return _TemplatedLater({**spec, "layout": {**layout, "template": {}}}, _validate=False)


class _TemplatedLater(go.Figure):
    """A figure that takes the default template (Streamlit's, whose placeholder colours
    its frontend swaps for the theme's) only when it is turned into data for the page,
    and turns itself into that data in one pass.

    Left to plotly, every figure copies the template object into its layout when it is
    made and deep-copies it again into its dict, then walks the copy asking of every
    value whether it is an array (through narwhals): most of the 3 ms a figure costs, on
    every rerun of every session, for the same few kilobytes. Here the template is made
    into plain data once per name and put into each dict as it is (orjson writes it
    without changing it), and the figure's own properties are copied once, numpy arrays
    encoded as plotly's typed arrays on the way. Changes made through plotly's API
    (``update_layout``) are in those properties, so they are sent. The JSON is the same
    as plotly's (tests/test_plots.py)."""

    def to_dict(self) -> dict:
        figure = {"data": [_sendable(trace) for trace in self._data],
                  "layout": _sendable(self._layout)}
        if not figure["layout"].get("template"):
            figure["layout"]["template"] = _template(pio.templates.default)
        return figure


# Keys whose arrays plotly itself never encodes (_plotly_utils.utils.is_skipped_key).
_NOT_ENCODED = frozenset({"geojson", "layer", "layers", "range"})


def _sendable(value: Any, key: str | None = None) -> Any:
    """A copy of a figure's property as plotly's ``to_dict`` makes it: containers copied,
    numpy arrays as typed-array specs (base64) except under the keys plotly skips."""
    if isinstance(value, dict):
        return {k: _sendable(v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_sendable(v) for v in value]
    if isinstance(value, np.ndarray) and key not in _NOT_ENCODED:
        return to_typed_array_spec(value)
    return value


@cache
def _template(name: str | None) -> dict:
    """A named template as plain JSON data, made once per name (never modified)."""
    return pio.templates[name].to_plotly_json() if name else {}


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
        same = grad_is_derivative(view)
        name = f"{view.wrt}.grad = {view.dy0:.4g}" if same else f"{title} = {view.dy0:.4g}"
        traces.append(_point(view.x0, view.dy0, name, view.big))
        if view.grad0 is not None and not same:
            grad = _point(view.x0, view.grad0, f"{view.wrt}.grad = {view.grad0:.4g}",
                          view.big)
            grad["marker"] |= {"color": TANGENT_COLOUR, "symbol": "x"}
            traces.append(grad)
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


def grad_note(view: CurveView, events: Sequence[Mapping[str, Any]]) -> str | None:
    """One sentence on why ``wrt``.grad is not the derivative the tangent shows, from
    what the run did (``events``: RunResult.grad_events, in order); None when they agree
    or there is no derivative to compare with."""
    if view.dy0 is None or not np.isfinite(view.dy0) or grad_is_derivative(view):
        return None
    wrt, d = view.wrt, f"{view.dy0:.4g}"
    derivative = f"the derivative d{view.output}/d{wrt} = {d} at {wrt} = {view.x0:.4g}"
    if view.grad0 is None:
        return f"`{wrt}.grad` is None: no backward() call reached {wrt}; {derivative}."
    head = f"`{wrt}.grad` is {view.grad0:.4g}, not {derivative}"
    backwards = [e for e in events if e["kind"] == "backward"]
    changes = [e for e in events if e["kind"] == "changed" and e["of"] == wrt]
    last = max((i for i, e in enumerate(events) if e["kind"] == "backward"), default=-1)
    later = [e["code"] for e in events[last + 1:] if e in changes]
    if later:
        return f"{head}: after backward() the program changed it with `{later[-1]}`."
    k = len(backwards)
    if k > 1 and not changes and not any(e["scaled"] for e in backwards) \
            and all(e["of"] == view.output for e in backwards) \
            and np.isclose(view.grad0, k * view.dy0, rtol=1e-4, atol=1e-6):
        times = "twice" if k == 2 else f"{k} times"
        return (f"`{wrt}.grad` is {view.grad0:.4g}, {times} {derivative}: backward() ran "
                f"{times} and each call adds its gradient to `{wrt}.grad`.")
    if k == 1 and not changes and backwards[0]["scaled"]:
        return (f"{head}: `{backwards[0]['code']}` was given a gradient, which multiplies "
                f"what it adds to `{wrt}.grad`.")
    if k == 1 and not changes and backwards[0]["of"] not in (None, view.output):
        return (f"{head}: backward() ran from `{backwards[0]['of']}`, not from "
                f"`{view.output}`, so `{wrt}.grad` holds d{backwards[0]['of']}/d{wrt}.")
    calls = ", then ".join(f"`{e['code']}`" for e in events) or "no backward() call"
    return (f"{head}: `.grad` keeps whatever the program's own calls left in it "
            f"({calls}), which need not be the derivative at this point.")


def _number(value: float | None) -> str:
    return "undefined" if value is None or not np.isfinite(value) else f"{value:.4g}"


def _over(view: CurveView) -> str:
    return f"over {view.wrt} from {view.xs[0]:.4g} to {view.xs[-1]:.4g}"


def describe_function(view: CurveView) -> str:
    """The f plot in words (its ``alt``): the curve, the range, the point and its slope."""
    text = (f"Line chart of {view.output} as a function of {view.wrt} {_over(view)}. "
            f"At the current point {view.wrt} = {view.x0:.4g}, {view.output} = "
            f"{_number(view.y0)}")
    if view.dy0 is None:
        return f"{text}; autograd recorded no path from {view.wrt}, so no tangent."
    return f"{text}, and the tangent there has slope {_number(view.dy0)}."


def describe_derivative(view: CurveView) -> str:
    """The f' plot in words: autograd's curve, the formula by hand, the point."""
    title = f"d{view.output}/d{view.wrt}"
    hand = (" with the derivative by hand drawn dashed over it"
            if view.hand_dys is not None else "")
    text = f"Line chart of {title} from autograd {_over(view)}{hand}."
    if view.dy0 is not None:
        text += f" At {view.wrt} = {view.x0:.4g} it is {_number(view.dy0)}."
    if view.grad0 is not None and not grad_is_derivative(view):
        text += f" {view.wrt}.grad, marked beside it, is {_number(view.grad0)}."
    return text


def describe_second_derivative(view: CurveView, d2ys: np.ndarray) -> str:
    """The f'' plot in words, with its value at the current point."""
    at = float(np.interp(view.x0, view.xs, d2ys))
    return (f"Line chart of d²{view.output}/d{view.wrt}² from autograd differentiating its "
            f"own backward pass {_over(view)}. At {view.wrt} = {view.x0:.4g} it is "
            f"{_number(at)}.")
