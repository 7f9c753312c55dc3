"""The drawing as plain data: what both sources (a run's result, a live tensor) turn into.

``from_result`` and ``from_tensor`` build a :class:`Drawing`; ``fold`` shrinks it to a
node budget; ``render`` turns it into DOT. Values stay as they came (a summary dict or a
tensor) and are formatted only for the nodes that end up visible, so a 10,000-node graph
costs little more than its walk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Node:
    """One box: a tensor, an operation, or a fold of many."""

    id: str
    kind: str  # a key of theme.KIND_MEANINGS
    name: str | None = None  # the learner's variable name
    op: str | None = None  # PyTorch's name: SinBackward0, AccumulateGrad
    words: str | None = None  # the op in plain words: "sin"
    shape: list[int] | None = None
    value: Any = None  # summary dict, tensor or None
    grad: Any = None  # gradient arriving at the node (.grad for leaves)
    grad_label: str = "grad"  # ".grad" for leaves
    grad_missing: bool = False  # backward ran but no gradient reached this node
    notes: list[str] = field(default_factory=list)  # reason not recorded, fold summary
    attrs: list[tuple[str, str]] = field(default_factory=list)  # show_attrs rows
    order: int | None = None  # position in the backward pass
    current: bool = False  # the node backward runs at the step shown
    pending: bool = False  # backward has not reached it yet at the step shown
    module: str | None = None  # the id of the innermost Cluster it is drawn in
    custom: str | None = None  # the class of the program's own autograd.Function

    @property
    def foldable(self) -> bool:
        return self.kind in ("op", "view")


@dataclass
class Edge:
    source: str
    target: str
    line: str = "recorded"  # a key of theme.LINE_MEANINGS
    label: str | None = None


@dataclass(frozen=True)
class Loop:
    """One written line that ran many times: the box each run made, in the order they
    ran (None where a run's box is not drawn, e.g. freed by an earlier backward())."""

    line: int
    target: str
    boxes: tuple[str | None, ...]


@dataclass(frozen=True)
class Cluster:
    """One call of a module (``model(x)``, inside it ``self.fc1(x)``): a labelled frame
    around the boxes it made, inside the frame of the call it was made in (``parent``)."""

    id: str
    label: str  # "fc1: Linear(3 → 4)": the program's names, escaped when written
    parent: str | None = None


@dataclass
class Drawing:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # shown under the graph
    loops: list[Loop] = field(default_factory=list)  # lines that ran more than once
    clusters: list[Cluster] = field(default_factory=list)  # module calls, outermost first

    def add(self, node: Node) -> Node:
        """Add ``node`` unless its id is drawn already; a tensor that is both saved and a
        leaf or output is drawn as the leaf or output (torchviz's last colour wins too)."""
        existing = self.nodes.get(node.id)
        if existing is None or (existing.kind == "saved" and node.kind != "saved"):
            self.nodes[node.id] = node
        return self.nodes[node.id]

    def connect(self, source: str, target: str, line: str = "recorded",
                label: str | None = None) -> None:
        self.edges.append(Edge(source, target, line, label))
