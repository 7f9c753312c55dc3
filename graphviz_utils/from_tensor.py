"""A live tensor's autograd graph as a :class:`Drawing`, for notebook users.

The same nodes and edges torchviz draws (node ids are ``str(id(...))`` of the same
objects), found with an explicit stack instead of recursion, so a graph 10,000 operations
deep is drawn instead of raising RecursionError. On top, each box carries what exists at
that moment: leaf values and ``.grad``, the output's value, and an operation's output
value when its node saved it (``_saved_result``, e.g. sigmoid, exp, tanh).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch.autograd.function import BackwardCFunction

from engine.running.graph import FREED, describe_op, is_view_op, saved_values
from graphviz_utils.model import Drawing, Node


def from_tensor(outputs: torch.Tensor | tuple[torch.Tensor, ...] | list[torch.Tensor],
                params: Mapping[str, torch.Tensor] | None = None, show_attrs: bool = False,
                show_saved: bool = False) -> Drawing:
    if isinstance(outputs, torch.Tensor):
        outputs = (outputs,)
    names = {id(v): k for k, v in (params or {}).items()}
    walk = _Walk(Drawing(), names, show_attrs, show_saved)
    for tensor in outputs:
        walk.add_output(tensor)
    return walk.drawing


class _Walk:
    """torchviz's traversal, iterative; ``keep`` holds objects whose ids name nodes."""

    def __init__(self, drawing: Drawing, names: dict[int, str], show_attrs: bool,
                 show_saved: bool) -> None:
        self.drawing = drawing
        self.names = names
        self.show_attrs = show_attrs
        self.show_saved = show_saved
        self.seen: set[int] = set()
        self.keep: list[Any] = []

    def add_output(self, var: torch.Tensor) -> None:
        # Outputs that are views also draw their base tensor (dotted), as torchviz does.
        pending: list[tuple[torch.Tensor, str, torch.Tensor | None]] = [(var, "output", None)]
        while pending:
            tensor, tensor_kind, view = pending.pop()
            if id(tensor) in self.seen:
                if view is not None:
                    self.drawing.connect(str(id(tensor)), str(id(view)), "base")
                continue
            self._remember(tensor)
            name = self.names.get(id(tensor)) or tensor_kind  # "output" or "base"
            self.drawing.add(self._tensor_node(tensor, tensor_kind, name))
            if tensor.grad_fn is not None:
                self.add_functions(tensor.grad_fn)
                self.drawing.connect(str(id(tensor.grad_fn)), str(id(tensor)))
            if view is not None:
                self.drawing.connect(str(id(tensor)), str(id(view)), "base")
            if tensor._is_view():
                pending.append((tensor._base, "base", tensor))

    def add_functions(self, root: Any) -> None:
        stack = [root]
        while stack:
            fn = stack.pop()
            if id(fn) in self.seen:
                continue
            self._remember(fn)
            fn_id = str(id(fn))
            if self.show_saved:
                self._add_saved(fn)
            op = type(fn).__name__
            if op == "AccumulateGrad":
                var = fn.variable
                self._remember(var)
                self.drawing.add(self._tensor_node(var, "leaf"))
                self.drawing.connect(str(id(var)), fn_id)
            self.drawing.add(self._function_node(fn))
            children = [child for child, _ in getattr(fn, "next_functions", ())
                        if child is not None]
            for child in children:
                self.drawing.connect(str(id(child)), fn_id)
            stack.extend(reversed(children))
            # Custom autograd.Function nodes keep ctx.save_for_backward tensors here.
            saved_tensors = fn.saved_tensors if isinstance(fn, BackwardCFunction) else ()
            for saved in saved_tensors or ():
                self._remember(saved)
                self.drawing.add(self._tensor_node(saved, "saved"))
                self.drawing.connect(str(id(saved)), fn_id, "saved")

    def _remember(self, obj: Any) -> None:
        self.seen.add(id(obj))
        self.keep.append(obj)

    def _tensor_node(self, t: torch.Tensor, kind: str, name: str | None = None) -> Node:
        """A tensor's box, named ``name`` (a saved tensor's attribute), else from
        ``params``."""
        grad = t.grad if (t.is_leaf or t.retains_grad) else None
        return Node(str(id(t)), kind, name=name or self.names.get(id(t)),
                    shape=list(t.shape), value=t.detach(), grad=grad,
                    grad_label=".grad")

    def _function_node(self, fn: Any) -> Node:
        op = type(fn).__name__
        kind = "view" if is_view_op(op) else "op"
        words = "accumulate into .grad" if op == "AccumulateGrad" else describe_op(op)
        node = Node(str(id(fn)), kind, op=op, words=words, value=_saved_result(fn))
        if self.show_attrs:
            node.attrs = _attributes(fn)
        return node

    def _add_saved(self, fn: Any) -> None:
        for name, value in saved_values(fn):
            if torch.is_tensor(value):
                tensors = [(name, value)]
            elif isinstance(value, tuple):
                tensors = [(f"{name}[{i}]", t) for i, t in enumerate(value)
                           if torch.is_tensor(t)]
            else:
                continue
            for label, tensor in tensors:
                self._remember(tensor)
                self.drawing.connect(str(id(fn)), str(id(tensor)), "saved")
                self.drawing.add(self._tensor_node(tensor, "saved", label))


def _saved_result(fn: Any) -> torch.Tensor | None:
    """The node's own output value, when its backward needs it (sigmoid, exp, tanh)."""
    try:
        value = getattr(fn, "_saved_result", None)
    except RuntimeError:
        return None
    return value if torch.is_tensor(value) else None


def _attributes(fn: Any) -> list[tuple[str, str]]:
    """Non-tensor saved attributes (``exponent = 2``), as torchviz's show_attrs."""
    rows = []
    for name, value in saved_values(fn):
        if value is FREED:
            text = "[freed]"
        elif torch.is_tensor(value):
            text = "[saved tensor]"
        elif isinstance(value, tuple) and any(torch.is_tensor(t) for t in value):
            text = "[saved tensors]"
        else:
            text = str(value)
        rows.append((name, text[:50]))
    return rows
