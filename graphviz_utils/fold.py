"""Shrink a drawing to a node budget, and say in the drawing what was folded.

Module calls (a model's layers) drawn as frames can be collapsed, each frame to one box
named by its label ("fc1: Linear(3 → 4)"): on the learner's request, or as the first
pass below when the drawing is over budget. Then three passes, each only if the drawing
is still over budget:

0. a loop's iterations between its first and its last, when they repeat the same block
   of operations, become one box ("the same 2-operation block ×18"): the graph autograd
   recorded unrolls the loop, and its first and last runs show what one run does;
1. chains of unnamed operations (one input, one consumer) become one box, listing the
   operations it holds; an operation's small private inputs (a weight's leaf and its
   transpose, a bias) travel with it, so an MLP's repeated layers fold like a chain, and a
   chain that repeats the same block says "the same 3-operation step ×40";
2. the same for chains of named operations;
3. everything farthest from the outputs beyond the budget becomes one box.

The learner's outputs and the boxes nearest them always stay visible. Every pass is a
linear walk over plain data: a 10,000-node drawing folds in milliseconds.
"""

from __future__ import annotations

from collections import Counter, deque

from graphviz_utils.model import Cluster, Drawing, Edge, Loop, Node

MIN_RUN = 3  # shorter chains are clearer drawn out
MAX_SIDE_TREE = 4  # nodes in a private input that folds with its operation
MIN_FOLDED_ITERATIONS = 2  # fewer iterations between a loop's first and last stay drawn
_IN_A_BLOCK = frozenset({"op", "view", "leaf", "untracked"})


def fold(drawing: Drawing, budget: int = 300, loops: bool = True,
         collapse: bool = False) -> Drawing:
    """``drawing`` within ``budget`` boxes; with ``loops``, a loop's middle iterations
    fold first, whatever the budget (see :func:`fold_loops`); with ``collapse``, every
    innermost module frame becomes one box (see :func:`collapse_modules`)."""
    if loops and drawing.loops:
        drawing = fold_loops(drawing)
    if collapse:
        drawing = collapse_modules(drawing)
    # Over budget, a model's layers collapse first, innermost frames first: a layer's
    # box says more than a chain's purple fold of the same operations.
    while len(drawing.nodes) > budget and (smaller := collapse_modules(drawing)) \
            is not drawing:
        drawing = smaller
    if len(drawing.nodes) <= budget:
        return drawing
    for allow_named in (False, True):
        drawing = fold_chains(drawing, allow_named, need=len(drawing.nodes) - budget)
        if len(drawing.nodes) <= budget:
            return drawing
    return fold_far(drawing, budget)


class _Structure:
    """Inputs and consumers of every node, over the edges that carry values (saved
    tensors hang off their operation and go wherever it goes)."""

    def __init__(self, drawing: Drawing) -> None:
        self.drawing = drawing
        self.inputs: dict[str, list[str]] = {n: [] for n in drawing.nodes}
        self.consumers: dict[str, set[str]] = {n: set() for n in drawing.nodes}
        self.attached: dict[str, list[str]] = {}
        for edge in drawing.edges:
            if edge.line == "saved":
                # A saved tensor drawn as its own box goes wherever its operation goes;
                # one that is also a leaf or output is a box of its own and stays put.
                if drawing.nodes[edge.target].kind == "saved":
                    self.attached.setdefault(edge.source, []).append(edge.target)
                elif drawing.nodes[edge.source].kind == "saved":
                    self.attached.setdefault(edge.target, []).append(edge.source)
                continue
            self.inputs[edge.target].append(edge.source)
            self.consumers[edge.source].add(edge.target)

    def weight(self, node_ids: list[str]) -> int:
        """How many boxes disappear with ``node_ids`` (their saved tensors included)."""
        return sum(1 + len(self.attached.get(n, ())) for n in node_ids)

    def side_tree(self, start: str, consumer: str, allow_named: bool) -> list[str] | None:
        """``start`` and everything upstream of it, if only ``consumer`` uses it and it
        is small; else None."""
        nodes = self.drawing.nodes
        members: list[str] = []
        stack, user = [start], consumer
        seen: set[str] = set()
        while stack:
            node_id = stack.pop()
            if node_id in seen:
                continue
            seen.add(node_id)
            node = nodes[node_id]
            if node.kind not in ("op", "view", "leaf") or (node.name and not allow_named):
                return None
            if node_id == start and self.consumers[node_id] != {user}:
                return None
            if node_id != start and len(self.consumers[node_id]) != 1:
                return None
            members.append(node_id)
            if len(members) > MAX_SIDE_TREE:
                return None
            stack.extend(self.inputs[node_id])
        return members


def fold_chains(drawing: Drawing, allow_named: bool, need: int) -> Drawing:
    """Pass 1 or 2: fold chain runs, longest first, until ``need`` boxes are gone.

    Only as much as needed: a run longer than that keeps its first and last links
    visible and folds its middle, so the learner still sees where the chain starts and
    what it ends with."""
    s = _Structure(drawing)
    nodes = drawing.nodes
    main_input: dict[str, str] = {}
    sides: dict[str, list[str]] = {}
    for node_id, node in nodes.items():
        if not node.foldable or (node.name and not allow_named) \
                or len(s.consumers[node_id]) != 1:
            continue
        main, side = [], []
        for source in dict.fromkeys(s.inputs[node_id]):
            tree = s.side_tree(source, node_id, allow_named)
            if tree is None:
                main.append(source)
            else:
                side += tree
        if len(main) == 1:
            main_input[node_id], sides[node_id] = main[0], side

    # An operation folded as another's private input cannot also be a chain link.
    for side in sides.values():
        for member in side:
            main_input.pop(member, None)

    def next_link(node_id: str) -> str | None:
        (consumer,) = s.consumers[node_id]
        return consumer if main_input.get(consumer) == node_id else None

    runs: list[list[str]] = []
    for node_id in main_input:
        before = main_input[node_id]
        if before in main_input and next_link(before) == node_id:
            continue  # not the start of a run
        run = [node_id]
        while (following := next_link(run[-1])) is not None:
            run.append(following)
        if len(run) >= MIN_RUN:
            runs.append(run)
    runs.sort(key=len, reverse=True)
    chosen: list[list[str]] = []
    for run in runs:
        if need <= 0:
            break
        weights = [s.weight([link, *sides[link]]) for link in run]
        middle = _middle(run, weights, need)
        need -= s.weight([m for link in middle for m in (link, *sides[link])]) - 1
        chosen.append(middle)
    runs = chosen
    if not runs:
        return drawing
    removed: dict[str, str] = {}  # node -> the fold that swallowed it
    folded = Drawing(notes=list(drawing.notes))
    new_edges: list[Edge] = []
    for index, run in enumerate(runs):
        fold_id = f"fold{index}_{run[0]}"
        members = [m for link in run for m in (link, *sides[link])]
        for member in members:
            removed[member] = fold_id
            for saved in s.attached.get(member, ()):
                removed[saved] = fold_id
        last = nodes[run[-1]]
        box = Node(fold_id, "folded", shape=last.shape, value=last.value,
                   notes=_fold_notes(run, sides, nodes))
        folded.nodes[fold_id] = box
        new_edges.append(Edge(main_input[run[0]], fold_id))
        (consumer,) = s.consumers[run[-1]]
        new_edges.append(Edge(fold_id, consumer))
    for node_id, node in nodes.items():
        if node_id not in removed:
            folded.nodes[node_id] = node
    folded.edges = [e for e in drawing.edges
                    if e.source not in removed and e.target not in removed] + new_edges
    total = sum(1 for m in removed if nodes[m].kind not in ("leaf", "saved"))
    folded.notes.append(f"{total:,} operations in {len(runs):,} chain"
                        f"{'s' if len(runs) > 1 else ''} are folded into purple boxes.")
    return folded


def _middle(run: list[str], weights: list[int], need: int) -> list[str]:
    """The shortest centred stretch of ``run`` (at least ``MIN_RUN`` links) whose folding
    removes ``need`` boxes; the whole run if even that is not enough."""
    if sum(weights) - 1 <= need:
        return run
    start = end = len(run) // 2
    total, grow_right = 0, True
    while end - start < MIN_RUN or total - 1 < need:
        if (grow_right and end < len(run)) or start == 0:
            total += weights[end]
            end += 1
        else:
            start -= 1
            total += weights[start]
        grow_right = not grow_right
    return run[start:end]


def _fold_notes(run: list[str], sides: dict[str, list[str]],
                nodes: dict[str, Node]) -> list[str]:
    members = [m for link in run for m in (link, *sides[link])]
    ops = Counter(nodes[m].words or nodes[m].op or nodes[m].kind for m in members
                  if nodes[m].kind != "leaf")
    leaves = len(members) - ops.total()
    notes = [f"{ops.total():,} operations folded"]
    period = _period([_signature(link, sides[link], nodes) for link in run])
    if period:
        repeats, rest = divmod(len(run), period)
        block = "operation" if period == 1 else f"{period}-operation block"
        notes.append(f"the same {block} ×{repeats:,}" + (f" (+{rest})" if rest else ""))
    notes.append(", ".join(f"{op} ×{count:,}" for op, count in ops.most_common(4))
                 + (" …" if len(ops) > 4 else ""))
    if leaves:
        notes.append(f"with {leaves:,} leaf tensor{'s' if leaves > 1 else ''}")
    return notes


def _signature(link: str, side: list[str], nodes: dict[str, Node]) -> str:
    """An operation and its private inputs: equal for every layer of a repeated block."""
    own = nodes[link].op or nodes[link].kind
    return own + "+" + ",".join(sorted(nodes[m].op or nodes[m].kind for m in side))


def _period(signatures: list[str]) -> int | None:
    """The shortest block that the run repeats at least twice (a partial block may end
    it), or None."""
    n = len(signatures)
    for p in range(1, n // 2 + 1):
        if all(signatures[i] == signatures[i - p] for i in range(p, n)):
            return p
    return None


def fold_far(drawing: Drawing, budget: int) -> Drawing:
    """Pass 3: keep the ``budget - 1`` boxes nearest the outputs, fold the rest into one."""
    s = _Structure(drawing)
    nodes = drawing.nodes
    attached = {saved for owned in s.attached.values() for saved in owned}
    sinks = [n for n in nodes if not s.consumers[n] and n not in attached]
    sinks.sort(key=lambda n: nodes[n].kind != "output")
    keep: dict[str, None] = {}
    queue = deque(sinks)
    shown = 0
    while queue:
        node_id = queue.popleft()
        if node_id in keep:
            continue
        if shown + s.weight([node_id]) > budget - 1:
            break
        shown += s.weight([node_id])
        keep[node_id] = None
        keep.update(dict.fromkeys(s.attached.get(node_id, ())))
        queue.extend(i for i in s.inputs[node_id] if i not in keep)
    dropped = [n for n in nodes if n not in keep]
    fold_id = "fold_far"
    ops = Counter(nodes[n].words or nodes[n].op or nodes[n].kind for n in dropped)
    box = Node(fold_id, "folded", notes=[
        f"{len(dropped):,} earlier nodes folded",
        ", ".join(f"{op} ×{c:,}" for op, c in ops.most_common(4))
        + (" …" if len(ops) > 4 else "")])
    result = Drawing(nodes={n: nodes[n] for n in keep}, notes=list(drawing.notes))
    result.nodes[fold_id] = box
    seen: set[tuple[str, str, str]] = set()
    for edge in drawing.edges:
        source = edge.source if edge.source in keep else fold_id
        target = edge.target if edge.target in keep else fold_id
        if source == target == fold_id:
            continue
        if source == fold_id or target == fold_id:
            key = (source, target, edge.line)
            if key in seen:
                continue
            seen.add(key)
            result.edges.append(Edge(source, target, edge.line))
        else:
            result.edges.append(edge)
    result.notes.append(f"Showing the {len(keep):,} nodes nearest the output; "
                        f"{len(dropped):,} earlier ones are folded into one box.")
    return result


# -- pass 0: a loop's repeated iterations ------------------------------------------------
def fold_loops(drawing: Drawing) -> Drawing:
    """Fold each loop's middle iterations into one box per stretch that repeats the
    same block, longest loops first; the first and last iteration stay drawn.

    What iteration k added is everything its box reaches back to that no earlier
    iteration's box reaches (a run's own operations and the leaves made in it); blocks
    with the same operations are "the same block". One walk per loop, linear in the
    graph: a 1,000-iteration loop folds as fast as a short one."""
    s = _Structure(drawing)
    taken: set[str] = set()
    stretches: list[tuple[Loop, int, list[list[str]]]] = []
    for loop in sorted(drawing.loops, key=lambda lp: len(lp.boxes), reverse=True):
        for first, boxes in _drawn_stretches(loop):
            blocks = _iteration_blocks(s, boxes)
            for start, run in _repeated_blocks(blocks, drawing, taken):
                stretches.append((loop, first + start, run))
                taken.update(m for block in run for m in block)
    if not stretches:
        return drawing
    removed: dict[str, str] = {}
    folded = Drawing(notes=list(drawing.notes), loops=drawing.loops)
    for loop, start, run in stretches:
        fold_id = f"loop{len(folded.nodes)}_{run[-1][0]}"
        for member in (m for block in run for m in block):
            removed[member] = fold_id
            for saved in s.attached.get(member, ()):
                removed[saved] = fold_id
        last = drawing.nodes[run[-1][0]]
        folded.nodes[fold_id] = Node(
            fold_id, "folded", name=f"{loop.target} (iterations {start + 1}–{start + len(run)})",
            shape=last.shape, value=last.value,
            notes=_loop_notes(loop, start, run, drawing.nodes))
    for node_id, node in drawing.nodes.items():
        if node_id not in removed:
            folded.nodes[node_id] = node
    folded.edges = _edges_around(drawing.edges, removed)
    lines = sorted({loop.line for loop, _, _ in stretches})
    where = ", ".join(str(line) for line in lines)
    folded.notes.append(f"A loop's repeated iterations (line{'s' if len(lines) > 1 else ''}"
                        f" {where}) are folded into purple boxes; its first and last "
                        "iterations are drawn in full.")
    return folded


def _drawn_stretches(loop: Loop) -> list[tuple[int, list[str]]]:
    """Runs of consecutive iterations whose boxes are all drawn: (index of the first,
    their boxes)."""
    stretches: list[tuple[int, list[str]]] = []
    current: list[str] = []
    for index, box in enumerate([*loop.boxes, None]):
        if box is not None:
            current.append(box)
            continue
        if current:
            stretches.append((index - len(current), current))
        current = []
    return stretches


def _iteration_blocks(s: _Structure, boxes: list[str]) -> list[list[str]]:
    """What each iteration added: its box first, then what only it reaches (the first
    iteration's block is everything before the loop too, so it is never folded)."""
    seen: set[str] = set()
    blocks: list[list[str]] = []
    for box in boxes:
        block: list[str] = []
        stack = [box]
        while stack:
            node_id = stack.pop()
            if node_id in seen:
                continue
            seen.add(node_id)
            block.append(node_id)
            stack.extend(s.inputs[node_id])
        blocks.append(block)
    return blocks


def _repeated_blocks(blocks: list[list[str]], drawing: Drawing,
                     taken: set[str]) -> list[tuple[int, list[list[str]]]]:
    """Stretches of at least MIN_FOLDED_ITERATIONS middle iterations (never the first or
    the last) that add the same operations, each as (its index, its blocks)."""
    nodes = drawing.nodes
    signatures: list[tuple[str, ...] | None] = [None]
    for block in blocks[1:-1]:
        # The node backward runs at the step shown stays drawn (graphviz_utils.to_dot's
        # step): its stretch folds around it.
        foldable = block and all(nodes[m].kind in _IN_A_BLOCK and m not in taken
                                 and not nodes[m].current for m in block)
        signatures.append(tuple(sorted(f"{nodes[m].kind}:{nodes[m].op}" for m in block))
                          if foldable else None)
    found: list[tuple[int, list[list[str]]]] = []
    start = 1
    for index in range(2, len(signatures) + 1):
        if index < len(signatures) and signatures[index] == signatures[start]:
            continue
        if signatures[start] is not None and index - start >= MIN_FOLDED_ITERATIONS:
            found.append((start, blocks[start:index]))
        start = index
    return found


def _loop_notes(loop: Loop, start: int, run: list[list[str]],
                nodes: dict[str, Node]) -> list[str]:
    """What the box holds: which iterations of which line, and the block they repeat."""
    ops = Counter(nodes[m].words or nodes[m].op or nodes[m].kind
                  for block in run for m in block if nodes[m].kind != "leaf")
    per_block = ops.total() // len(run)
    block = "operation" if per_block == 1 else f"{per_block}-operation block"
    return [f"value: iteration {start + len(run)}'s",
            f"{len(run):,} runs of line {loop.line}, folded:",
            f"the same {block} ×{len(run):,}",
            ", ".join(f"{op} ×{count:,}" for op, count in ops.most_common(4))
            + (" …" if len(ops) > 4 else "")]


def _edges_around(edges: list[Edge], removed: dict[str, str]) -> list[Edge]:
    """The edges with folded ends moved to their fold, once each; none inside a fold."""
    kept: list[Edge] = []
    seen: set[tuple[str, str, str]] = set()
    for edge in edges:
        source, target = removed.get(edge.source, edge.source), \
            removed.get(edge.target, edge.target)
        if source == target and (edge.source in removed or edge.target in removed):
            continue
        if edge.source in removed or edge.target in removed:
            key = (source, target, edge.line)
            if key in seen:
                continue
            seen.add(key)
            edge = Edge(source, target, edge.line, edge.label)
        kept.append(edge)
    return kept


# -- module frames as single boxes -------------------------------------------------------
def collapse_modules(drawing: Drawing) -> Drawing:
    """Each innermost module frame (one with no frame drawn inside it) as ONE box named
    by its label, carrying the value and gradient of what the call returned; arrows in
    and out are kept, arrows inside disappear. A frame holding the learner's output or
    the box backward runs at the step shown stays drawn, and so does a frame of a single
    box (nothing to gain). Returns ``drawing`` itself when no frame collapses."""
    members: dict[str, list[str]] = {}
    for node in drawing.nodes.values():
        if node.module is not None:
            members.setdefault(node.module, []).append(node.id)
    parents = {c.parent for c in drawing.clusters if c.id in _drawn_frames(drawing)}
    chosen = [c for c in drawing.clusters if c.id not in parents
              and _collapsible(members.get(c.id, []), drawing.nodes)]
    if not chosen:
        return drawing
    s = _Structure(drawing)
    removed: dict[str, str] = {}
    boxes: list[Node] = []
    for cluster in chosen:
        box = _module_box(cluster, members[cluster.id], s)
        boxes.append(box)
        for member in members[cluster.id]:
            removed[member] = box.id
            for saved in s.attached.get(member, ()):
                removed[saved] = box.id
    gone = {c.id for c in chosen}
    result = Drawing(notes=list(drawing.notes), loops=drawing.loops,
                     clusters=[c for c in drawing.clusters if c.id not in gone])
    result.nodes = {n: node for n, node in drawing.nodes.items() if n not in removed}
    result.nodes.update((box.id, box) for box in boxes)
    result.edges = _edges_around(drawing.edges, removed)
    return result


def _drawn_frames(drawing: Drawing) -> set[str]:
    """The frames that hold a drawn box, and every frame around them."""
    by_id = {c.id: c for c in drawing.clusters}
    drawn: set[str] = set()
    for node in drawing.nodes.values():
        frame = node.module
        while frame is not None and frame not in drawn and frame in by_id:
            drawn.add(frame)
            frame = by_id[frame].parent
    return drawn


def _collapsible(member_ids: list[str], nodes: dict[str, Node]) -> bool:
    return len(member_ids) >= 2 and not any(
        nodes[m].kind == "output" or nodes[m].current for m in member_ids)


def _module_box(cluster: Cluster, member_ids: list[str], s: _Structure) -> Node:
    """The box a collapsed frame becomes: named by the frame's label, showing what the
    call returned (the box whose result leaves the frame) and listing what it holds."""
    nodes = s.drawing.nodes
    inside = set(member_ids)
    leaving = [m for m in member_ids
               if not s.consumers[m] or not s.consumers[m] <= inside]
    returned = nodes[leaving[0]] if len(leaving) == 1 else None
    ops = Counter((nodes[m].name if nodes[m].kind == "module" else None)
                  or nodes[m].words or nodes[m].op or nodes[m].kind for m in member_ids
                  if nodes[m].kind not in ("leaf", "saved"))
    parameters = [nodes[m].name or m for m in member_ids if nodes[m].kind == "leaf"]
    notes = [f"{ops.total():,} operation{'s' if ops.total() != 1 else ''}: "
             + ", ".join(op if count == 1 else f"{op} ×{count:,}"
                         for op, count in ops.most_common(4)) + (" …" if len(ops) > 4 else "")]
    if parameters:
        notes.append("parameters: " + ", ".join(parameters))
    if returned is not None and returned.name:
        notes.append(f"returns {returned.name}")
    box = Node(f"module_{cluster.id}", "module", name=cluster.label, notes=notes,
               module=cluster.parent)
    if returned is not None:
        box.shape, box.value, box.grad = returned.shape, returned.value, returned.grad
        box.grad_missing, box.pending = returned.grad_missing, returned.pending
        box.order = returned.order
    return box
