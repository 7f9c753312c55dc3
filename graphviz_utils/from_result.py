"""A run's plain graph data (``run_program(...).graph``) as a :class:`Drawing`.

One box per tensor the program computed: a leaf, an operation (its grad_fn, named after
the variable that holds it) or a value autograd did not record, dashed, with the reason.
The engine already merged each leaf with its AccumulateGrad node, so the app's drawing is
the learner's program, not torch's bookkeeping.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from engine.running.summary import format_summary
from engine.teaching.compare import graph_of
from engine.teaching.explain import cut_words
from graphviz_utils.labels import SHORT_WHY, why_short
from graphviz_utils.model import Cluster, Drawing, Edge, Loop, Node


def from_result(result: Any, show_saved: bool = False, show_attrs: bool = False,
                step: int | None = None) -> Drawing:
    graph = graph_of(result)
    drawing = Drawing()
    backward_ran = bool(graph.get("backward_order"))
    kept = set(getattr(result, "retained", None) or ())  # intermediates with retain_grad()
    for data in graph["nodes"]:
        node = drawing.add(_node(data, show_attrs))
        if node.kind in ("op", "view", "output") and data.get("name") in kept:
            node.grad_label = ".grad"  # torch kept it: y.grad now holds this value
        node.grad_missing = backward_ran and node.kind != "untracked"
        if show_saved:
            _add_saved(drawing, node, data)
    for edge in graph["edges"]:
        if edge["recorded"]:
            drawing.connect(edge["source"], edge["target"])
        elif edge.get("constant"):
            drawing.connect(edge["source"], edge["target"], "untracked", "used as a constant")
        elif edge.get("cut"):  # a recorded line used this value without recording it
            drawing.connect(edge["source"], edge["target"], "untracked", cut_words(edge["cut"]))
        else:  # into a box computed only from unrecorded values: the box says which
            reason = edge.get("reason") or ""
            drawing.connect(edge["source"], edge["target"], "untracked",
                            None if reason == "from_untracked" else SHORT_WHY.get(reason))
    drawing.loops = loops_of(graph.get("dataflow", []), drawing)
    drawing.clusters = [Cluster(str(box["id"]), str(box["label"]), box.get("parent"))
                        for box in graph.get("modules") or ()]
    if step is not None and graph.get("steps"):
        _show_step(drawing, graph["steps"], step)
    if graph.get("truncated"):
        drawing.notes.append(f"The engine stopped recording the graph at "
                             f"{len(graph['nodes']):,} nodes.")
    return drawing


def _show_step(drawing: Drawing, steps: list[dict[str, Any]], step: int) -> None:
    """The backward pass after ``step`` nodes ran (clamped to the steps there are)."""
    step = min(max(step, 1), len(steps))
    current = steps[step - 1]
    for node in drawing.nodes.values():
        if node.order is not None and node.order >= step:
            node.grad, node.pending = None, True
    drawing.nodes[current["node"]].current = True
    sent = {send["to"]: send for send in current["sends"] if send["to"]}
    edges = []
    for edge in drawing.edges:
        if edge.target == current["node"] and edge.source in sent and edge.line == "recorded":
            grad = sent[edge.source]["grad"]
            edge = Edge(edge.source, edge.target, "flowing",
                        f"sends {format_summary(grad)}" if grad else "sends nothing")
        edges.append(edge)
    drawing.edges = edges


def _node(data: dict[str, Any], show_attrs: bool) -> Node:
    kind = data["kind"]
    if kind == "op" and data.get("is_view"):
        kind = "view"
    name = data.get("name")
    if name and data.get("iteration"):  # the box the k-th run of a loop's line made
        name = f"{name} (iteration {data['iteration']})"
    node = Node(id=data["id"], kind=kind, name=name, op=data.get("op"),
                words=data.get("label"), shape=data.get("shape"), value=data.get("value"),
                grad=data.get("grad"), order=data.get("order"))
    if kind == "leaf":
        node.grad_label = ".grad"
    node.module = data.get("module")
    custom = data.get("custom")
    if custom:  # the program's own autograd.Function: named after its class
        node.kind = "custom" if kind in ("op", "view") else kind
        node.custom = str(custom["class"])
    if kind == "untracked":
        node.words = None
        node.notes = [f"{data.get('label')}   (line {data.get('line')})",
                      "not recorded: " + why_short(data.get("reason"), data.get("sources"))]
    if show_attrs:
        node.attrs = [(s["name"], str(s["value"]["data"])) for s in data.get("saved", [])
                      if not s.get("freed") and _is_attribute(s)]
    return node


def _is_attribute(saved: dict[str, Any]) -> bool:
    """Saved numbers (``exponent = 2``) are attributes; saved tensors get their own box."""
    value = saved.get("value") or {}
    return value.get("dtype") in ("int", "float", "bool")


def _add_saved(drawing: Drawing, node: Node, data: dict[str, Any]) -> None:
    for index, saved in enumerate(data.get("saved", [])):
        if _is_attribute(saved):
            continue
        saved_id = f"{node.id}_saved{index}"
        value = None if saved.get("freed") else saved.get("value")
        notes = ["freed after backward"] if saved.get("freed") else []
        drawing.add(Node(saved_id, "saved", name=saved["name"], value=value, notes=notes,
                         shape=value["shape"] if value else None))
        drawing.connect(node.id, saved_id, "saved")


def loops_of(steps: list[dict[str, Any]], drawing: Drawing) -> list[Loop]:
    """Every written assignment that ran more than once (a loop's body, or a line
    inside it), with the box each run made. A run whose value is not a box of its own
    (``w -= lr * w.grad`` changes the same leaf every time) makes no loop: there is
    nothing to count."""
    runs: dict[tuple[int, int, str], list[str | None]] = defaultdict(list)
    for step in steps:
        node = step.get("node") if step.get("tracked") else None
        runs[step["line"], step["col"], step["target"]].append(
            node if node in drawing.nodes else None)
    loops = []
    for (line, _, target), boxes in runs.items():
        drawn = [b for b in boxes if b is not None]
        if len(boxes) > 1 and drawn and len(set(drawn)) == len(drawn):
            loops.append(Loop(line, target, tuple(boxes)))
    return loops
