"""Record the autograd graph of a run as plain data, with the gradient through every node.

While a program runs, the interpreter tells the :class:`GraphRecorder` about every tensor
an operation produced (so unnamed intermediates keep their forward values) and every
variable it assigned (so nodes carry the learner's names). Before each ``backward()`` the
recorder puts a hook on every ``grad_fn`` node reachable from the root; torch calls it with
the gradient arriving at the node and the gradients it sends on, in the order it executes
them. :meth:`GraphRecorder.build` then walks ``next_functions`` iteratively and returns
nodes, edges and the program's own dataflow as dicts and lists: the graph drawing and the
pages never hold live torch objects.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import torch

from engine.running.objects.record import ModuleCall, ObjectRecord
from engine.running.summary import summarize
from engine.teaching.steps import MAX_STEPS, StepInput, box_tex, build_step, scalar

# Plain words for torch's backward node names (the part before "Backward").
OP_WORDS: dict[str, str] = {
    "Pow": "power", "Sin": "sin", "Cos": "cos", "Tan": "tan", "Exp": "exp", "Log": "log",
    "Sqrt": "square root", "Tanh": "tanh", "Sigmoid": "sigmoid", "Relu": "relu",
    "Add": "add", "Sub": "subtract", "Mul": "multiply", "Div": "divide", "Neg": "negate",
    "Mean": "mean", "Sum": "sum", "Prod": "product", "Clamp": "clamp", "Mm": "matrix multiply",
    "Mv": "matrix × vector", "Dot": "dot product", "Bmm": "batched matmul",
    "Unsqueeze": "unsqueeze", "Squeeze": "squeeze", "View": "view", "Reshape": "reshape",
    "Expand": "expand", "Select": "select", "Slice": "slice", "Index": "index",
    "Cat": "concatenate", "Stack": "stack", "Where": "where", "Abs": "abs",
    "Maximum": "maximum", "Minimum": "minimum", "Max": "max", "Min": "min",
    "Softmax": "softmax", "LogSoftmax": "log softmax", "BinaryCrossEntropy": "BCE loss",
    "MseLoss": "MSE loss", "Rsub": "subtract from", "Reciprocal": "reciprocal",
    "T": "transpose", "Transpose": "transpose", "Permute": "permute", "Clone": "clone",
    "Repeat": "repeat", "Norm": "norm", "Linalg_vector_norm": "norm", "Addmm": "linear",
    "AccumulateGrad": "leaf",
}
SMALL_ENOUGH_TO_COPY = 10_000  # elements; larger values are summarised when produced


def describe_op(grad_fn_name: str) -> str:
    """``PowBackward0`` -> ``power``; unknown names fall back to their stem."""
    if grad_fn_name == "AccumulateGrad":
        return "leaf"
    stem = grad_fn_name.split("Backward")[0]
    return OP_WORDS.get(stem, stem.lower() or grad_fn_name)


def _snapshot(t: torch.Tensor | None) -> Any:
    """A value frozen now: a detached copy when small, else its summary."""
    if t is None:
        return None
    t = t.detach()
    return t.clone() if t.numel() <= SMALL_ENOUGH_TO_COPY else summarize(t)


def _summary_of(snap: Any) -> Any:
    return summarize(snap) if isinstance(snap, torch.Tensor) else snap


@dataclass
class DataflowStep:
    """One assignment as the learner wrote it, and whether autograd recorded it."""

    line: int
    col: int
    target: str
    code: str
    reads: list[str]
    tracked: bool
    grad_fn: str | None
    reason: str | None  # why not tracked: no_grad | detach | detach_option | ...
    value: Any
    # reason "from_untracked": the unrecorded values it read, each with its own reason
    # and line (engine.teaching.untracked.source_entry)
    sources: list[dict[str, Any]] = field(default_factory=list)
    # reads that require grad whose use on this line autograd did not record (y.detach())
    cut_reads: list[dict[str, Any]] = field(default_factory=list)
    # The graph node the target and each read were at that moment (see graph_key); turned
    # into node ids by GraphRecorder.build, so a name assigned twice points at the right box.
    node_key: Any = None
    read_keys: dict[str, Any] = field(default_factory=dict)

    def as_data(self, ids: dict[Any, str]) -> dict[str, Any]:
        data = {k: v for k, v in vars(self).items() if k not in ("node_key", "read_keys")}
        data["node"] = ids.get(self.node_key) if self.node_key is not None else None
        return data


def graph_key(value: Any) -> Any:
    """What identifies a tensor's box in the graph: its grad_fn, or for a leaf that
    requires grad the leaf itself (by id; the recorder keeps leaves alive)."""
    if not isinstance(value, torch.Tensor):
        return None
    if value.grad_fn is not None:
        return value.grad_fn
    return ("leaf", id(value)) if value.requires_grad else None


@dataclass
class GraphRecorder:
    """Collects names, values and hooked gradients during one run."""

    node_values: dict[Any, Any] = field(default_factory=dict)
    node_names: dict[Any, str] = field(default_factory=dict)
    leaf_names: dict[int, tuple[str, torch.Tensor]] = field(default_factory=dict)
    grads_in: dict[Any, Any] = field(default_factory=dict)  # arriving at the node
    grads_out: dict[Any, list[Any]] = field(default_factory=dict)  # sent on
    order: dict[Any, int] = field(default_factory=dict)
    saved_in_backward: dict[Any, dict[str, Any]] = field(default_factory=dict)
    hooked: set[Any] = field(default_factory=set)
    hook_handles: list[Any] = field(default_factory=list)
    dataflow: list[DataflowStep] = field(default_factory=list)
    backward_roots: list[Any] = field(default_factory=list)
    objects: ObjectRecord = field(default_factory=ObjectRecord)  # modules, custom Functions
    # nodes whose saved values the program's own saved_tensors_hooks pack: reading them
    # would call its unpack hook, which the program would see (it prints, counts...)
    packed_by_program: set[Any] = field(default_factory=set)
    # A program's backward() calls (engine.running.training): after each, its leaves'
    # values (the ones its forward used) and .grad are kept, so a training loop's graph
    # shows the last step as it ran, not the parameters after the update that followed.
    # RunOptions.graph_step picks an earlier call: the recorder stops listening after it
    # (``stopped``), so later passes leave that one's gradients and order alone.
    step_root: torch.Tensor | None = None
    step_leaves: dict[int, tuple[Any, Any]] = field(default_factory=dict)
    step_values: dict[int, torch.Tensor] = field(default_factory=dict)
    step_dataflow: int = 0
    steps_taken: int = 0
    stopped: bool = False
    # The call to draw, when the run knows it (RunOptions.graph_step): the passes before
    # it are not hooked, since their gradients would only be overwritten by that call's.
    draw_call: int | None = None
    stop_call: int = 0  # the call the recorder stopped after (steps_taken then)
    _order_counter: int = 0
    _positions: dict[Any, int] = field(default_factory=dict)
    _iterations: dict[Any, int] = field(default_factory=dict)

    # -- during the run -----------------------------------------------------------------
    def produced(self, value: Any) -> None:
        """An operation produced ``value``: remember the forward value of its node."""
        if isinstance(value, torch.Tensor) and value.grad_fn is not None:
            self.node_values[value.grad_fn] = _snapshot(value)

    def named(self, name: str, value: Any, rename: bool = True) -> None:
        """The program assigned ``value`` to ``name`` (``rename=False``: a function
        parameter, which keeps the caller's name for the same tensor)."""
        if not isinstance(value, torch.Tensor):
            return
        if value.grad_fn is not None:
            if rename or value.grad_fn not in self.node_names:
                self.node_names[value.grad_fn] = name
            self.node_values[value.grad_fn] = _snapshot(value)
        elif value.requires_grad and id(value) not in self.leaf_names:
            # A leaf keeps the name it was made under: after ``y = x`` (or a loop that
            # starts ``y = x`` and rebinds y), the box is still the input x.
            self.leaf_names[id(value)] = (name, value)

    @property
    def module_names(self) -> dict[Any, str]:
        return self.objects.module_names

    def module_call_started(self, module: Any) -> ModuleCall:
        return self.objects.call_started(module)

    def module_call_ended(self, call: ModuleCall) -> None:
        self.objects.call_ended(call)

    def module_call_made(self, call: ModuleCall, inputs: list[Any], output: Any) -> None:
        self.objects.call_made(call, inputs, output)

    def custom_backward(self, ctx: Any, class_name: str, definition: Any, source: str,
                        received: tuple, returned: Any) -> None:
        self.objects.custom_backward(ctx, class_name, definition, source, received,
                                     returned)

    def before_backward(self, root: torch.Tensor) -> None:
        """Hook every node reachable from ``root`` so the gradients through it are kept."""
        if root.grad_fn is None or self.stopped:
            return
        if self.draw_call is not None and self.steps_taken + 1 < self.draw_call:
            return
        if len(self.saved_in_backward) >= MAX_STEPS:
            # a long loop: the numbers read in earlier passes make room for this one's
            self.saved_in_backward.clear()
        self.backward_roots.append(root.grad_fn)
        for node in walk_nodes([root.grad_fn]):
            if node in self.hooked:
                continue
            self.hooked.add(node)
            self.hook_handles.append(node.register_hook(self._hook_for(node)))

    def _hook_for(self, node: Any):
        def hook(grad_inputs: tuple, grad_outputs: tuple) -> None:
            if self.stopped:
                return
            # The latest pass wins: a leaf a training loop reaches in every backward()
            # runs last in the last one, after that pass's operations.
            self.order.pop(node, None)
            self.order[node] = self._order_counter
            self._order_counter += 1
            arriving = grad_outputs[0] if grad_outputs else None
            self.grads_in[node] = _snapshot(arriving)
            self.grads_out[node] = [_snapshot(g) for g in grad_inputs]
            if len(self.saved_in_backward) < MAX_STEPS \
                    and node not in self.packed_by_program:
                # Read now: a backward without retain_graph frees them right after. The
                # chain-rule text needs the single numbers only (x, exponent, min ...).
                self.saved_in_backward[node] = {
                    name: number for name, value in saved_values(node)
                    if value is not FREED and (number := scalar(value)) is not None}
        return hook

    def step_done(self, root: torch.Tensor, stop: bool) -> None:
        """The program's backward() from ``root`` has just run: keep its leaves' values
        and ``.grad`` as they are now (the update after it changes them). ``stop``: this
        is the step to draw; record nothing after it."""
        self.steps_taken += 1
        if root.grad_fn is None or self.stopped:
            return
        self.step_root, self.stopped = root, stop
        self.stop_call = self.steps_taken
        self.step_dataflow = len(self.dataflow)
        self.step_leaves.clear()
        self.step_values.clear()
        for node in walk_nodes([root.grad_fn]):
            if type(node).__name__ == "AccumulateGrad":
                leaf = node.variable
                self.step_values[id(leaf)] = leaf.detach().clone()
                self.step_leaves[id(leaf)] = (summarize(leaf), summarize(leaf.grad))

    def finish(self) -> None:
        """Remove the hooks so the tensors the program made stay plain torch tensors."""
        for handle in self.hook_handles:
            handle.remove()
        self.hook_handles.clear()

    # -- after the run --------------------------------------------------------------------
    def build(self, roots: list[torch.Tensor], output: torch.Tensor | None,
              variables: dict[str, Any], max_nodes: int = 20_000) -> dict[str, Any]:
        """Nodes, edges and dataflow as plain data, for every graph the variables hold
        and the graph the last ``backward()`` ran through. Earlier backward calls' graphs
        that no variable holds any more (a training loop's losses) are not drawn: the
        graph is the last pass's, as the Playground says above it."""
        start = [t.grad_fn for t in roots if isinstance(t, torch.Tensor) and t.grad_fn]
        start += [fn for fn in self.backward_roots[-1:] if fn not in start]
        output_fn = output.grad_fn if isinstance(output, torch.Tensor) else None
        if self.stopped and self.steps_taken > self.stop_call:  # an earlier step, as it was
            start = [output_fn] = [self.step_root.grad_fn]
            self.dataflow = self.dataflow[:self.step_dataflow]
            variables = {}
        ids: dict[Any, str] = {}
        nodes: list[dict[str, Any]] = []
        edges: list[dict[str, Any]] = []
        truncated = False
        for node in walk_nodes(start):
            if len(ids) >= max_nodes:
                truncated = True
                break
            ids[node] = f"n{len(ids)}"
        self._iterations = self._iteration_numbers()
        # Positions in the backward pass among the drawn nodes (steps count from these).
        self._positions = {node: position for position, node in enumerate(
            n for n in sorted(self.order, key=self.order.get) if n in ids)}
        for node, node_id in ids.items():
            nodes.append(self._node_data(node, node_id, node is output_fn))
            for index, (child, _) in enumerate(node.next_functions):
                if child is not None and child in ids:
                    edges.append({"source": ids[child], "target": node_id, "index": index,
                                  "recorded": True})
        keys: dict[Any, str] = dict(ids)
        keys.update({("leaf", id(fn.variable)): node_id for fn, node_id in ids.items()
                     if type(fn).__name__ == "AccumulateGrad"})
        # Leaves that require grad but feed no recorded operation still appear.
        for name, value in variables.items():
            if isinstance(value, torch.Tensor) and value.is_leaf and value.requires_grad \
                    and ("leaf", id(value)) not in keys:
                node_id = f"n{len(nodes)}"
                keys["leaf", id(value)] = node_id
                nodes.append(self._lonely_leaf(name, value, node_id, value is output))
        self._add_untracked(nodes, edges, keys, variables, output)
        modules, cluster_of = self.objects.clusters(ids)
        for node in nodes:
            if node["id"] in cluster_of:
                node["module"] = cluster_of[node["id"]]
        return {
            "modules": modules,
            "nodes": nodes,
            "edges": edges,
            "dataflow": [step.as_data(keys) for step in self.dataflow],
            "truncated": truncated,
            "backward_order": [ids[n] for n in sorted(self.order, key=self.order.get)
                               if n in ids],
            "steps": self._steps(ids, nodes, edges),
        }

    def _name_of(self, node: Any) -> str | None:
        if type(node).__name__ == "AccumulateGrad":
            return self.leaf_names.get(id(node.variable), (None,))[0]
        return self.node_names.get(node)

    def _iteration_numbers(self) -> dict[Any, int]:
        """Operation node -> k, for the box the k-th run of a loop's line made, while it
        still carries that line's name (a later ``z = y`` makes it z's box). A line
        whose runs all hold the same tensor (``w -= lr * w.grad``) numbers nothing."""
        runs: dict[tuple[int, int, str], list[Any]] = {}
        for step in self.dataflow:
            runs.setdefault((step.line, step.col, step.target), []).append(step.node_key)
        numbers: dict[Any, int] = {}
        for (_, _, target), keys in runs.items():
            if len(keys) < 2 or len(set(map(id, keys))) < len(keys):
                continue
            for number, key in enumerate(keys, start=1):
                if key is not None and not isinstance(key, tuple) \
                        and self.node_names.get(key) == target:
                    numbers[key] = number
        return numbers

    def _tex_name(self, node: Any) -> str | None:
        """The name in the chain rule's formulas: ``y_3`` for a loop's third y."""
        name = self._name_of(node)
        number = self._iterations.get(node)
        return f"{name}_{number}" if name and number else name

    def _steps(self, ids: dict[Any, str], nodes: list[dict[str, Any]],
               edges: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The backward pass in torch's order, one step per node, with the chain rule at
        each (see engine.teaching.steps). Gradients come as the summaries the nodes already hold."""
        data = {node["id"]: node for node in nodes}
        ordered = [n for n in sorted(self.order, key=self.order.get) if n in ids]
        if not ordered:
            return []
        readers: dict[str, int] = {}
        for edge in edges:
            if edge["recorded"]:
                readers[edge["source"]] = readers.get(edge["source"], 0) + 1
        root = ordered[0]
        root_tex = box_tex(self._tex_name(root), describe_op(type(root).__name__))
        steps = []
        for position, node in enumerate(ordered):
            children = [(ids.get(child), box_tex(self._tex_name(child),
                                                 describe_op(type(child).__name__))
                         if child is not None else None,
                         describe_op(type(child).__name__) if child is not None else "")
                        for child, _ in node.next_functions]
            child_values = [self._forward_value(child) for child, _ in node.next_functions]
            own = self._forward_value(node)
            leaf = type(node).__name__ == "AccumulateGrad"
            arriving = _summary_of(self.grads_in.get(node)) if leaf else \
                data[ids[node]]["grad"]
            steps.append(build_step(StepInput(
                node_id=ids[node], op=type(node).__name__, name=self._tex_name(node),
                words=describe_op(type(node).__name__), arriving=arriving,
                sent=data[ids[node]]["grads_sent"], children=children,
                child_values=child_values, own_value=own,
                saved=self.saved_in_backward.get(node, {}),
                consumers=[readers.get(ids.get(child, ""), 0) if child is not None else 0
                           for child, _ in node.next_functions]),
                root_tex, position))
        return steps

    def _forward_value(self, node: Any) -> Any:
        if node is None:
            return None
        if type(node).__name__ == "AccumulateGrad":
            return self._leaf_step(node.variable)[0]
        return self.node_values.get(node)

    def _leaf_step(self, leaf: torch.Tensor) -> tuple[torch.Tensor, tuple[Any, Any]]:
        """A leaf's value, and the summaries of its value and .grad, as the graph shows
        them: at the step drawn, for a program that called backward() more than once;
        else as the program left them."""
        if self.steps_taken > 1 and id(leaf) in self.step_values:
            return self.step_values[id(leaf)], self.step_leaves[id(leaf)]
        return leaf.detach(), (summarize(leaf), summarize(leaf.grad))

    def _node_data(self, node: Any, node_id: str, is_output: bool) -> dict[str, Any]:
        op = type(node).__name__
        if op == "AccumulateGrad":
            leaf = node.variable
            name = self.leaf_names.get(id(leaf), (None,))[0]
            value, grad = self._leaf_step(leaf)[1]
            if grad is None:
                grad = _summary_of(self.grads_in.get(node))
            kind = "leaf"
        else:
            name = self.node_names.get(node)
            value = _summary_of(self.node_values.get(node))
            grad = _summary_of(self.grads_in.get(node))
            kind = "output" if is_output else "op"
        return {
            "id": node_id,
            "kind": kind,
            "op": op,
            "label": describe_op(op),
            "name": name,
            "shape": value["shape"] if value else None,
            "value": value,
            "grad": grad,
            "grads_sent": [_summary_of(g) for g in self.grads_out.get(node, [])],
            "saved": [] if node in self.packed_by_program else _saved_tensors(node),
            "is_view": is_view_op(op),
            "order": self._positions.get(node),
            "iteration": self._iterations.get(node),
            "is_output": is_output,
            "custom": self.objects.custom.get(node),
        }

    def _lonely_leaf(self, name: str, value: torch.Tensor, node_id: str,
                     is_output: bool) -> dict[str, Any]:
        return {"id": node_id, "kind": "leaf", "op": "AccumulateGrad", "label": "leaf",
                "name": name, "shape": list(value.shape), "value": summarize(value),
                "grad": summarize(value.grad), "grads_sent": [], "saved": [],
                "is_view": False, "order": None, "is_output": is_output}

    def _add_untracked(self, nodes: list[dict[str, Any]], edges: list[dict[str, Any]],
                       keys: dict[Any, str], variables: dict[str, Any],
                       output: Any) -> None:
        """Values computed without recording (no_grad, detach): drawn from the dataflow.

        Each gets a node of kind ``untracked`` with the reason and dashed edges
        (``recorded: False``) from the boxes it read; where a recorded operation later
        reads it, a dashed ``constant`` edge shows the value entering as a constant. The
        steps are replayed in program order, so a reassigned name points at the box it
        held at that line.
        """
        untracked: dict[str, str] = {}  # name -> its untracked box, while it holds one
        last_step = {step.target: index for index, step in enumerate(self.dataflow)}
        for index, step in enumerate(self.dataflow):
            sources = {read: untracked.get(read) or keys.get(step.read_keys.get(read))
                       for read in step.reads}
            if step.tracked or step.reason is None:
                target = keys.get(step.node_key)
                for read in step.reads:
                    if read in untracked and target:
                        edges.append({"source": untracked[read], "target": target,
                                      "index": 0, "recorded": False, "reason": "constant",
                                      "constant": True})
                for cut in step.cut_reads if target else []:
                    if sources.get(cut["name"]) and cut["name"] not in untracked:
                        edges.append({"source": sources[cut["name"]], "target": target,
                                      "index": 0, "recorded": False, "reason": cut["reason"],
                                      "cut": cut})
                untracked.pop(step.target, None)
                continue
            node_id = f"u{len(nodes)}"
            value = variables.get(step.target) if last_step[step.target] == index else None
            nodes.append({
                "id": node_id, "kind": "untracked", "op": None, "label": step.code,
                "name": step.target, "shape": step.value["shape"] if step.value else None,
                "value": step.value, "grad": None, "grads_sent": [], "saved": [],
                "is_view": False, "order": None, "reason": step.reason,
                "sources": step.sources, "line": step.line,
                "is_output": value is output and value is not None,
            })
            for source in sources.values():
                if source:
                    edges.append({"source": source, "target": node_id, "index": 0,
                                  "recorded": False, "reason": step.reason})
            untracked[step.target] = node_id


def walk_nodes(start: list[Any]) -> Iterator[Any]:
    """Every grad_fn node reachable from ``start``: breadth-first over
    ``next_functions`` without recursion, each node once."""
    seen: set[Any] = set()
    queue: deque[Any] = deque(n for n in start if n is not None)
    while queue:
        node = queue.popleft()
        if node in seen:
            continue
        seen.add(node)
        yield node
        for child, _ in node.next_functions:
            if child is not None and child not in seen:
                queue.append(child)


_VIEW_STEMS = ("View", "Unsqueeze", "Squeeze", "Expand", "Select", "Slice", "T",
               "Transpose", "Permute", "Reshape", "Alias", "Diagonal", "AsStrided")


def is_view_op(op: str) -> bool:
    """Whether a grad_fn name belongs to an operation that returns a view of its input."""
    return op.split("Backward")[0] in _VIEW_STEMS


FREED = object()  # a saved value that a backward without retain_graph has freed


@cache
def _saved_attributes(node_type: type) -> tuple[str, ...]:
    """The ``_saved_*`` attribute names of a grad_fn class (``dir`` is slow, and the same
    for every node of a class)."""
    return tuple(attr for attr in dir(node_type) if attr.startswith("_saved_"))


def saved_values(node: Any):
    """``(name, value)`` for everything a grad_fn saved for backward (``_saved_self``,
    ``_saved_exponent``, ...); ``value`` is :data:`FREED` once backward freed it."""
    for attr in _saved_attributes(type(node)):
        try:
            value = getattr(node, attr)
        except RuntimeError:  # freed after backward without retain_graph
            value = FREED
        yield attr[len("_saved_"):], value


def _saved_tensors(node: Any) -> list[dict[str, Any]]:
    """What the node saved for backward (torchviz's orange boxes), as summaries."""
    saved = []
    for name, value in saved_values(node):
        if value is FREED:
            saved.append({"name": name, "freed": True})
        elif isinstance(value, (torch.Tensor, int, float, bool)):
            saved.append({"name": name, "freed": False, "value": summarize(value)})
    return saved
