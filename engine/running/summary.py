"""Tensors as plain data: what the graph and the pages show of a value or a gradient.

Results leave the engine as plain Python data (the worker process sends them, pages cache
them), so every tensor the graph mentions is summarised here once: shape, dtype, the
numbers themselves when there are few, and min/max/mean otherwise.
"""

from __future__ import annotations

from typing import Any

import torch

FULL_VALUES_UP_TO = 64  # elements; larger tensors are shown as shape and min/max


def summarize(value: Any) -> dict[str, Any] | None:
    """Plain-data summary of a tensor (or number); None stays None."""
    if value is None:
        return None
    if not isinstance(value, torch.Tensor):
        if isinstance(value, (bool, int, float)):
            return {"shape": [], "dtype": type(value).__name__, "numel": 1, "data": value}
        return None
    t = value.detach()
    numel = t.numel()
    summary: dict[str, Any] = {
        "shape": list(t.shape),
        "dtype": str(t.dtype).removeprefix("torch."),
        "numel": numel,
        "data": t.tolist() if numel <= FULL_VALUES_UP_TO else None,
    }
    if numel and numel > FULL_VALUES_UP_TO:
        as_float = t if t.is_floating_point() else t.double()
        summary.update(min=as_float.min().item(), max=as_float.max().item(),
                       mean=as_float.mean().item())
    return summary


def format_number(x: float | int | bool, digits: int = 4) -> str:
    """A number to ``digits`` significant digits, as a learner reads it (6, -7.661, 1e-08).
    Floats first: a graph's labels format thousands of them (``g`` writes inf and nan as
    ``str`` does)."""
    if type(x) is float:
        text = f"{x:.{digits}g}"
        return "0" if text == "-0" else text
    if isinstance(x, (bool, int)):
        return str(x)
    return format_number(float(x), digits)


def format_summary(summary: dict[str, Any] | None, digits: int = 4) -> str:
    """Short text for a summary: ``6``, ``[0.6667, 1.333, 2]``, ``[1000] min -3 max 3``."""
    if summary is None:
        return "None"
    data = summary.get("data")
    if data is not None:
        return _format_nested(data, digits)
    shape = "×".join(str(s) for s in summary["shape"])
    return (f"[{shape}] min {format_number(summary['min'], digits)} "
            f"max {format_number(summary['max'], digits)}")


def _format_nested(data: Any, digits: int) -> str:
    if not isinstance(data, list):
        return format_number(data, digits)
    if all(type(d) is float for d in data):  # the innermost rows: no call per number
        texts = list(map(f"{{:.{digits}g}}".format, data))
        if "-0" in texts:
            texts = ["0" if t == "-0" else t for t in texts]
        return "[" + ", ".join(texts) + "]"
    return "[" + ", ".join(_format_nested(d, digits) for d in data) + "]"
