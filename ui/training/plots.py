"""Plotly figures of a training run, step by step, as plain specs (see ui.plots.as_figure).

Pure functions of RunResult.training (engine.running.training): no Streamlit, no torch.
One figure holds three charts stacked on one step axis (the loss, each parameter's value,
each ``.grad``), so hovering a step shows all its numbers at once; the landscape figures
put the path the parameters took on the loss as a function of them. Lines differ by dash
as well as colour (Okabe and Ito's palette, safe for colour-blind readers).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.running.summary import format_number

# Okabe & Ito (2008), without yellow (too light on white) and black (the axes' colour)
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00")
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
LOSS_COLOUR = "#0072B2"
CHOSEN_COLOUR = "#C0392B"
MAX_LINES = 6  # parameters drawn per chart; the rest are listed in the table


def steps_axis(steps: Sequence[dict[str, Any]]) -> list[int]:
    """Step numbers as a learner counts them: the first backward() call is step 1."""
    return list(range(1, len(steps) + 1))


def part_number(part: dict[str, Any] | None) -> float | None:
    """What a chart draws of a value or grad: the number itself, or a tensor's norm."""
    if part is None:
        return None
    return part["value"] if "value" in part else part.get("norm")


def leaf_label(name: str, part: dict[str, Any] | None) -> str:
    """``w`` for a single number, ``‖W‖`` for a tensor (its norm is drawn)."""
    return name if part is None or "value" in part else f"‖{name}‖"


def leaf_names(steps: Sequence[dict[str, Any]]) -> list[str]:
    """Every leaf followed in any step, in the order the program made them."""
    names: dict[str, None] = {}
    for step in steps:
        names.update(dict.fromkeys(step["leaves"]))
    return list(names)


def _gaps(values: Sequence[float | None]) -> list[float | None]:
    """NaN and infinities as gaps: plotly would draw a wall to the axis' edge."""
    return [v if v is not None and math.isfinite(v) else None for v in values]


def _series(steps: Sequence[dict[str, Any]], name: str, part: str) -> list[float | None]:
    return _gaps([part_number(step["leaves"].get(name, {}).get(part)) for step in steps])


def _line(xs: list[int], ys: list[float | None], name: str, index: int, axis: str,
          width: float) -> dict[str, Any]:
    return {"type": "scatter", "x": xs, "y": ys, "name": name, "mode": "lines",
            "yaxis": axis, "legendgroup": name,
            "line": {"color": PALETTE[index % len(PALETTE)], "width": width,
                     "dash": DASHES[index % len(DASHES)]},
            "hovertemplate": "%{y:.4g}"}


def training_spec(steps: Sequence[dict[str, Any]], chosen: int | None = None,
                  big: bool = False) -> dict[str, Any]:
    """Loss, parameter values and .grad per step, stacked on one shared step axis."""
    xs = steps_axis(steps)
    width = 3 if big else 2
    names = leaf_names(steps)[:MAX_LINES]
    root = next((s["root"] for s in steps if s["root"]), None) or "loss"
    loss = _line(xs, _gaps([s["loss"] for s in steps]), root, 0, "y", width + 1)
    loss["showlegend"] = False
    traces = [loss]
    for index, name in enumerate(names, start=1):  # colour 0 is the loss's
        label = leaf_label(name, steps[-1]["leaves"].get(name, {}).get("value"))
        value = _line(xs, _series(steps, name, "value"), label, index, "y2", width)
        grad = _line(xs, _series(steps, name, "grad"), f"{label}.grad", index, "y3", width)
        grad["showlegend"] = False
        traces += [value, grad]
    size = 18 if big else 13
    layout: dict[str, Any] = {
        "height": 640 if big else 520,
        "font": {"size": size},
        "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
        "hovermode": "x unified",
        "hoversubplots": "axis",
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
        "xaxis": {"title": {"text": "step (backward() call)"}, "anchor": "y3",
                  "range": [0.5, len(xs) + 0.5]},
        "yaxis": {"title": {"text": root}, "domain": [0.70, 1.0]},
        "yaxis2": {"title": {"text": "value"}, "domain": [0.36, 0.64]},
        "yaxis3": {"title": {"text": ".grad"}, "domain": [0.0, 0.30], "zeroline": True},
    }
    if _spans_decades([s["loss"] for s in steps]):
        layout["yaxis"] |= {"type": "log", "title": {"text": f"{root} (log scale)"}}
    if chosen is not None:
        layout["shapes"] = [{"type": "line", "xref": "x", "yref": "paper", "x0": chosen,
                             "x1": chosen, "y0": 0, "y1": 1,
                             "line": {"color": CHOSEN_COLOUR, "width": 2, "dash": "dot"}}]
    return {"data": traces, "layout": layout}


LOG_SPAN = 1e3  # a positive loss over more than this ratio is drawn on a log axis


def _spans_decades(values: Sequence[float | None]) -> bool:
    """Whether a positive series spans orders of magnitude: a diverging loss (1 to 1e12)
    on a linear axis shows its first steps as a flat 0, on a log axis each step."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return bool(finite) and min(finite) > 0 and max(finite) / min(finite) > LOG_SPAN


def _range_text(values: Sequence[float | None]) -> str:
    finite = [v for v in values if v is not None]
    if not finite:
        return "no finite values"
    return f"from {format_number(finite[0])} to {format_number(finite[-1])}"


def describe_training(steps: Sequence[dict[str, Any]], chosen: int | None = None) -> str:
    """The training figure in words (its ``alt``): each line's start and end, the
    lowest loss, and the chosen step's numbers."""
    n = len(steps)
    root = next((s["root"] for s in steps if s["root"]), None) or "loss"
    losses = _gaps([s["loss"] for s in steps])
    parts = [f"Three line charts sharing the step axis, steps 1 to {n}: {root} "
             f"{_range_text(losses)}"]
    finite = [(v, i) for i, v in enumerate(losses, start=1) if v is not None]
    if finite:
        low, at = min(finite)
        parts[0] += f" (lowest {format_number(low)} at step {at})"
    for name in leaf_names(steps)[:MAX_LINES]:
        label = leaf_label(name, steps[-1]["leaves"].get(name, {}).get("value"))
        parts.append(f"{label} {_range_text(_series(steps, name, 'value'))}, its .grad "
                     f"{_range_text(_series(steps, name, 'grad'))}")
    text = "; ".join(parts) + "."
    if chosen is not None and 1 <= chosen <= n:
        text += f" Marked: step {chosen}, {step_text(steps[chosen - 1])}."
    return text


def step_text(step: dict[str, Any]) -> str:
    """One step's numbers in a line: ``loss 0.6931, w 0 (grad -0.5833), b 0 (grad 0)``."""
    items = [f"{step['root'] or 'loss'} {number_text(step['loss'])}"]
    for name, leaf in list(step["leaves"].items())[:MAX_LINES]:
        label = leaf_label(name, leaf["value"])
        items.append(f"{label} {number_text(part_number(leaf['value']))} "
                     f"(grad {number_text(part_number(leaf['grad']))})")
    return ", ".join(items)


def number_text(value: float | None) -> str:
    """A recorded number as the panel writes it ("None" for a step without one)."""
    return "None" if value is None else format_number(value)


def marble_spec(name: str, loss_name: str, xs: np.ndarray, ys: np.ndarray,
                path: Sequence[tuple[float, float]], chosen: int, big: bool = False,
                others: bool = True) -> dict[str, Any]:
    """The loss as a function of one parameter (the others at the chosen step), and the
    marble: each step's (parameter, loss) joined in order, so every jump shows."""
    width = 3 if big else 2
    path_x = _gaps([p[0] for p in path])
    path_y = _gaps([p[1] for p in path])
    k = min(max(chosen, 1), len(path)) - 1
    traces = [
        {"type": "scatter", "x": np.asarray(xs, dtype=float), "y": _finite(ys),
         "mode": "lines", "name": f"{loss_name}({name})"
                                  + (f", other parameters at step {k + 1}" if others else ""),
         "line": {"color": LOSS_COLOUR, "width": width}, "hoverinfo": "skip"},
        {"type": "scatter", "x": path_x, "y": path_y, "mode": "lines+markers",
         "name": "each step", "text": [f"step {i}" for i in range(1, len(path) + 1)],
         "line": {"color": PALETTE[1], "width": 1, "dash": "dot"},
         "marker": {"color": PALETTE[1], "size": 7 if big else 5},
         "hovertemplate": f"%{{text}}: {name} %{{x:.4g}}, {loss_name} %{{y:.4g}}"
                          "<extra></extra>"},
        {"type": "scatter", "x": [path_x[k]], "y": [path_y[k]], "mode": "markers",
         "name": f"step {k + 1}", "marker": {"color": CHOSEN_COLOUR, "size": 18 if big
                                              else 14, "symbol": "circle"}},
    ]
    return {"data": traces, "layout": _landscape_layout(
        f"{loss_name} as a function of {name}", name, loss_name, big)}


def contour_spec(names: tuple[str, str], loss_name: str, xs: np.ndarray, ys: np.ndarray,
                 grid: np.ndarray, path: Sequence[tuple[float, float]], chosen: int,
                 big: bool = False) -> dict[str, Any]:
    """The loss over two parameters as contours (``grid[i, j]`` at ``ys[i], xs[j]``)
    and the path the steps took across it."""
    k = min(max(chosen, 1), len(path)) - 1
    path_x = _gaps([p[0] for p in path])
    path_y = _gaps([p[1] for p in path])
    traces = [
        {"type": "contour", "x": np.asarray(xs, dtype=float),
         "y": np.asarray(ys, dtype=float), "z": _finite(grid), "colorscale": "Viridis",
         "ncontours": 24, "contours": {"coloring": "heatmap", "showlines": True},
         "colorbar": {"title": {"text": loss_name}}, "name": loss_name,
         "hovertemplate": f"{names[0]} %{{x:.4g}}, {names[1]} %{{y:.4g}}: {loss_name} "
                          "%{z:.4g}<extra></extra>"},
        {"type": "scatter", "x": path_x, "y": path_y, "mode": "lines+markers",
         "name": "each step", "text": [f"step {i}" for i in range(1, len(path) + 1)],
         "line": {"color": "#FFFFFF", "width": 2}, "marker": _path_markers(len(path), big),
         "hovertemplate": f"%{{text}}: {names[0]} %{{x:.4g}}, {names[1]} %{{y:.4g}}"
                          "<extra></extra>"},
        {"type": "scatter", "x": [path_x[k]], "y": [path_y[k]], "mode": "markers",
         "name": f"step {k + 1}", "marker": {"color": CHOSEN_COLOUR, "size": 16 if big
                                              else 12, "line": {"color": "#FFFFFF",
                                                                "width": 2}}},
    ]
    return {"data": traces, "layout": _landscape_layout(
        f"{loss_name} over {names[0]} and {names[1]}", names[0], names[1], big)}


CROWDED_PATH = 40  # more steps than this: small markers without outlines


def _path_markers(count: int, big: bool) -> dict[str, Any]:
    """The path's step markers: outlined dots for a few steps; for many, small plain dots
    (200 outlined dots merge into a black band that hides the contours)."""
    if count > CROWDED_PATH:
        return {"color": "#FFFFFF", "size": 4 if big else 3}
    return {"color": "#FFFFFF", "size": 7 if big else 5,
            "line": {"color": "#000000", "width": 1}}


def _finite(values: np.ndarray) -> np.ndarray:
    out = np.asarray(values, dtype=float).copy()
    out[~np.isfinite(out)] = np.nan
    return out


def _landscape_layout(title: str, x_title: str, y_title: str, big: bool) -> dict[str, Any]:
    size = 18 if big else 13
    return {"title": {"text": title, "font": {"size": size + 3}}, "font": {"size": size},
            "height": 520 if big else 420, "margin": {"l": 10, "r": 10, "t": 50, "b": 10},
            "legend": {"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0},
            "xaxis": {"title": {"text": x_title}}, "yaxis": {"title": {"text": y_title}}}


def describe_marble(name: str, loss_name: str, xs: np.ndarray, ys: np.ndarray,
                    path: Sequence[tuple[float, float]], chosen: int) -> str:
    """The marble chart in words: the curve's range and lowest point, and the path."""
    finite = np.isfinite(ys)
    text = (f"Line chart of {loss_name} as a function of {name} from "
            f"{format_number(float(xs[0]))} to {format_number(float(xs[-1]))}")
    if finite.any():
        low = int(np.nanargmin(np.where(finite, ys, np.nan)))
        text += (f", lowest {format_number(float(ys[low]))} at {name} = "
                 f"{format_number(float(xs[low]))}")
    return text + ". " + _path_text((name,), path, chosen, loss_name)


def describe_contour(names: tuple[str, str], loss_name: str, path: Sequence[tuple[float, float]],
                     chosen: int, grid: np.ndarray) -> str:
    finite = grid[np.isfinite(grid)]
    span = (f" from {format_number(float(finite.min()))} to "
            f"{format_number(float(finite.max()))}") if finite.size else ""
    return (f"Contour map of {loss_name}{span} over {names[0]} and {names[1]}. "
            + _path_text(names, path, chosen, None))


def _path_text(names: tuple[str, ...], path: Sequence[tuple[float, float]], chosen: int,
               loss_name: str | None) -> str:
    def point(p: tuple[float, float]) -> str:
        if loss_name is not None:
            return f"{names[0]} = {number_text(p[0])}, {loss_name} = {number_text(p[1])}"
        return f"{names[0]} = {number_text(p[0])}, {names[1]} = {number_text(p[1])}"

    k = min(max(chosen, 1), len(path))
    return (f"The path of {len(path)} steps starts at {point(path[0])} and ends at "
            f"{point(path[-1])}; step {k} is at {point(path[k - 1])}.")
