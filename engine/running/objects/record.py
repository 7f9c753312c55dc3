"""What the graph needs to know of modules and custom Functions, recorded as a run goes.

Each call of a module (``model(x)``, and inside it ``self.fc1(x)``) is a
:class:`ModuleCall`: the graph nodes it made, found after the call by walking back from
its output to its inputs (a layer's own parameters are its leaves), and the call it was
made inside. The graph draws each as a labelled box around its operations
(``fc1: Linear(3 → 4)``), nested as the calls were. Each run of a custom Function's
backward is kept with what it received and returned, for the step-through view.
"""

from __future__ import annotations

import ast
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import torch

from engine.running.objects.layers import describe
from engine.running.summary import summarize

MAX_CALLS_KEPT = 2_000  # a long training loop keeps its latest calls (the graph drawn)
MAX_NODES_PER_CALL = 5_000


@dataclass(eq=False)
class ModuleCall:
    number: int
    parent: ModuleCall | None
    module: Any
    nodes: set[Any] = field(default_factory=set)

    @property
    def depth(self) -> int:
        depth, call = 0, self.parent
        while call is not None:
            depth, call = depth + 1, call.parent
        return depth


@dataclass
class ObjectRecord:
    """Module calls and custom backward runs of one run (part of the GraphRecorder)."""

    module_names: dict[Any, str] = field(default_factory=dict)  # module -> "fc1"
    calls: list[ModuleCall] = field(default_factory=list)
    custom: dict[Any, dict[str, Any]] = field(default_factory=dict)  # ctx node -> record
    _stack: list[ModuleCall] = field(default_factory=list)
    _count: int = 0

    def call_started(self, module: Any) -> ModuleCall:
        call = ModuleCall(self._count, self._stack[-1] if self._stack else None, module)
        self._count += 1
        self._stack.append(call)
        return call

    def call_ended(self, call: ModuleCall) -> None:
        if self._stack and self._stack[-1] is call:
            self._stack.pop()

    def call_made(self, call: ModuleCall, inputs: list[Any], output: Any) -> None:
        """The nodes between the call's inputs and its output: its operations, and the
        leaves that are its own module's parameters."""
        stops = {t.grad_fn for t in _tensors(inputs) if t.grad_fn is not None}
        own = {id(p) for p in call.module.parameters()}
        queue = deque(t.grad_fn for t in _tensors([output]) if t.grad_fn is not None)
        while queue and len(call.nodes) < MAX_NODES_PER_CALL:
            node = queue.popleft()
            if node in call.nodes or node in stops:
                continue
            if type(node).__name__ == "AccumulateGrad":
                if id(node.variable) in own:
                    call.nodes.add(node)
                continue
            call.nodes.add(node)
            queue.extend(child for child, _ in node.next_functions if child is not None)
        if not call.nodes:
            return
        self.calls.append(call)
        if len(self.calls) > MAX_CALLS_KEPT:
            del self.calls[: MAX_CALLS_KEPT // 2]

    def custom_backward(self, ctx: Any, class_name: str, definition: ast.AST | None,
                        source: str, received: tuple, returned: Any) -> None:
        lines = source.splitlines()
        start = getattr(definition, "lineno", 1)
        end = getattr(definition, "end_lineno", start)
        sent = returned if isinstance(returned, tuple) else (returned,)
        self.custom[ctx] = {
            "class": class_name, "line": start, "end_line": end,
            "code": "\n".join(lines[start - 1:end]),
            "received": [summarize(g) if isinstance(g, torch.Tensor) else None
                         for g in received],
            "returned": [summarize(g) if isinstance(g, torch.Tensor) else None
                         for g in sent],
        }

    def clusters(self, ids: dict[Any, str]) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """The boxes to draw around drawn nodes (outermost first) and each drawn node's
        innermost box."""
        innermost: dict[str, tuple[int, ModuleCall]] = {}
        for call in self.calls:
            depth = call.depth
            for node in call.nodes:
                node_id = ids.get(node)
                if node_id is not None and (node_id not in innermost
                                            or innermost[node_id][0] <= depth):
                    innermost[node_id] = (depth, call)
        used: dict[int, ModuleCall] = {}
        for _, call in innermost.values():
            while call is not None and call.number not in used:
                used[call.number] = call
                call = call.parent
        boxes = []
        for call in sorted(used.values(), key=lambda c: (c.depth, c.number)):
            parent = call.parent if call.parent is not None \
                and call.parent.number in used else None
            boxes.append({"id": f"c{call.number}",
                          "parent": None if parent is None else f"c{parent.number}",
                          "label": self.label(call.module), "depth": call.depth})
        return boxes, {node_id: f"c{call.number}" for node_id, (_, call) in innermost.items()}

    def label(self, module: Any) -> str:
        """``fc1: Linear(3 → 4)``; a module no variable holds shows its kind only."""
        kind = describe(module, module._get_name())
        name = self.module_names.get(module)
        return f"{name}: {kind}" if name else kind


def _tensors(values: list[Any]) -> list[torch.Tensor]:
    found: list[torch.Tensor] = []
    stack = list(values)
    while stack:
        item = stack.pop()
        if isinstance(item, torch.Tensor):
            found.append(item)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return found
