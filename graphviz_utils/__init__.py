"""The autograd graph as DOT, with names, values and gradients. No Streamlit here.

    to_dot(result, **style)            a run_program result -> graphviz.Digraph
    written_dot(result, **style)       the program as written: inputs and assignments
    make_dot(tensor, params, ...)      drop-in for torchviz.make_dot, values and grads added
    to_svg(dot) / to_html(dot)         exports (SVG needs the dot program; HTML does not)
    pan_zoom_html(dot, height_px=...)  a small pan-and-zoom page for an iframe (dot's SVG)

Style keywords (see :class:`Style`): ``theme`` ("light", "dark", "projector"),
``direction`` ("TB" top-down or "LR" left-right), ``compact`` (names and operations only),
``legend``, ``max_nodes`` (beyond it chains and repeated blocks fold). How each kind of
box looks lives in :mod:`graphviz_utils.theme`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import graphviz
import torch

from graphviz_utils.describe import describe_dot
from graphviz_utils.export import (
    NO_DOT_MESSAGE,
    DotNotInstalled,
    dot_installed,
    dot_source,
    pan_zoom_html,
    to_html,
    to_svg,
)
from graphviz_utils.from_result import from_result
from graphviz_utils.from_tensor import from_tensor
from graphviz_utils.render import Style, render
from graphviz_utils.theme import THEMES, Theme
from graphviz_utils.written import written_dot

__all__ = ["NO_DOT_MESSAGE", "THEMES", "DotNotInstalled", "Style", "Theme", "describe_dot",
           "dot_installed", "dot_source", "make_dot", "pan_zoom_html", "to_dot", "to_html",
           "to_svg", "written_dot"]


def to_dot(result: Any, *, show_saved: bool = False, show_attrs: bool = False,
           step: int | None = None, **style: Any) -> graphviz.Digraph:
    """The graph of a ``run_program`` result (or its ``.graph`` dict): one box per value
    the program computed, named as the program named it, with its value and the gradient
    that reached it; what autograd did not record drawn dashed with the reason.

    ``step`` (1 to the number of backward steps) draws the backward pass as it stands
    after that many nodes ran: the node running now highlighted, the gradients it sends
    written on its input arrows, and the nodes backward has not reached yet without
    their gradient."""
    return render(from_result(result, show_saved, show_attrs, step), Style(**style))


def make_dot(var: torch.Tensor | tuple[torch.Tensor, ...],
             params: Mapping[str, torch.Tensor] | None = None, show_attrs: bool = False,
             show_saved: bool = False, **style: Any) -> graphviz.Digraph:
    """Drop-in for ``torchviz.make_dot``: the same nodes and edges, walked without
    recursion (no RecursionError on deep graphs), with torchviz's colours, plus values
    and ``.grad`` where they exist. ``params`` names leaves, e.g.
    ``dict(model.named_parameters())``."""
    return render(from_tensor(var, params, show_attrs, show_saved), Style(**style))
