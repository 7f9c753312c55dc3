"""The program as the learner wrote it: one box per input and per assignment, as DOT.

The recorded graph (:func:`graphviz_utils.to_dot`) shows what autograd kept: a box per
operation, none for what it did not record. Beside it, this drawing shows the lines the
learner wrote, in their order, with an arrow from each name to every line that reads it,
so the two can be compared box for box. A line autograd did not record is dashed in its
own colour with the reason; an input with requires_grad off is dashed too; a line that
became several recorded operations says which. The facts (inputs, who read what, which
operations a line made) come from :mod:`engine.teaching.compare`, which words the differences.

No Streamlit here; the drawing goes through the same renderer, theme and label escaping
as the recorded graph, so the legend explains every box.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import graphviz

from engine.teaching.compare import (
    Input,
    gradient_read,
    graph_of,
    line_runs,
    never_ran,
    operation_words,
    program_inputs,
    read_sources,
    statement_operations,
    statement_text,
    user_functions,
)
from engine.teaching.explain import cut_words
from graphviz_utils.labels import why_short
from graphviz_utils.model import Drawing, Node
from graphviz_utils.render import Style, render
from graphviz_utils.theme import Theme

CAPTION = "As you wrote it: an arrow goes from a name to each line that reads it."
FLOAT_DTYPES = ("float", "double", "half", "bfloat", "complex")
RECORDED_KINDS = frozenset({"input", "leaf", "statement", "output"})  # gradient flows


def written_dot(result: Any, theme: str | Theme = "light", source: str | None = None,
                **style: Any) -> graphviz.Digraph:
    """The program as written (a ``run_program`` result or its ``.graph`` dict) as a
    ``graphviz.Digraph``. Style keywords as for :func:`graphviz_utils.to_dot`
    (``direction``, ``compact``, ``legend``, ``max_nodes``). Pass the RunResult rather
    than the dict where you can: only it knows inputs no line reads and plain numbers.
    With the program's ``source``, a line that never ran gets a box saying so."""
    chosen = Style(theme=theme, **style)
    drawing = written_drawing(result, source)
    dot = render(drawing, chosen)
    if len(drawing.nodes) <= chosen.max_nodes:  # not folded: every line's box is drawn
        steps = graph_of(result).get("dataflow", [])
        _keep_program_order(dot, [(_line_of(node_id, steps), node_id)
                                  for node_id in drawing.nodes if node_id[0] in "sn"])
    return dot


def _line_of(box: str, steps: list[dict[str, Any]]) -> int:
    """The line of a statement box: ``s<k>`` is the k-th step's, ``never<line>`` says it."""
    return int(box.removeprefix("never")) if box.startswith("never") \
        else steps[int(box[1:])]["line"]


def _keep_program_order(dot: graphviz.Digraph, boxes: list[tuple[int, str]]) -> None:
    """Invisible arrows from each line's box to the next line's, so the boxes read
    top-down in the order of the code; without them dot puts independent lines side by
    side in any order (line 2 left of line 1). Lines that share a line number stay side
    by side."""
    boxes = sorted(boxes)
    for (before_line, before), (line, box) in pairwise(boxes):
        if line != before_line:
            dot.edge(before, box, style="invis")


def written_drawing(result: Any, source: str | None = None) -> Drawing:
    """The boxes and arrows before rendering: ids ``i0..`` for inputs and ``s<k>`` for
    each written assignment, ``k`` the index in ``graph["dataflow"]`` of its first run
    (a line a loop ran many times is one box), ``never<line>`` for a line that never
    ran (only with ``source``)."""
    graph = graph_of(result)
    steps = graph.get("dataflow", [])
    inputs = program_inputs(result)
    drawing = Drawing()
    for number, item in enumerate(inputs):
        drawing.add(_input_box(f"i{number}", item))
    box_of_input = {item.name: f"i{number}" for number, item in enumerate(inputs)}
    operations = statement_operations(graph, inputs)
    output = _output_step(graph, steps)
    off = {item.name for item in inputs if not item.requires_grad}
    groups = line_runs(steps)
    box_of_step = {index: f"s{runs[0]}" for runs in groups for index in runs}
    sources_of = read_sources(steps, inputs)
    drawn: set[tuple[str, str]] = set()
    for runs in groups:
        index, last = runs[0], runs[-1]
        step = steps[last]
        sources = sources_of[index]
        why = None if step["tracked"] else _why_short(
            step, [r for r, source in sources.items() if isinstance(source, str) and r in off])
        drawing.add(_statement_box(index, step, operations.get(last), output in runs, why,
                                   [operations.get(i) for i in runs] if len(runs) > 1
                                   else None))
    for runs in groups:
        for index in runs:
            step = steps[index]
            cuts = {cut["name"]: cut for cut in step.get("cut_reads") or []}
            for read, origin in sources_of[index].items():
                source_id = box_of_step[origin] if isinstance(origin, int) \
                    else box_of_input[read]
                if (source_id, box_of_step[index]) in drawn:
                    continue
                drawn.add((source_id, box_of_step[index]))
                made_constant = isinstance(origin, int) and steps[origin]["reason"] is None
                _connect(drawing, source_id, box_of_step[index], bool(step["tracked"]),
                         cuts.get(read), made_constant)
    for line, _, text in never_ran(source, result) if source is not None else []:
        drawing.add(Node(f"never{line}", "statement_off", name=f"line {line}: {text}",
                         notes=["this line ran 0 times: nothing recorded"]))
    if drawing.nodes:
        drawing.notes.append(CAPTION)
    else:
        drawing.notes.append("No line assigns a tensor yet: nothing to draw.")
    return drawing


def _input_box(node_id: str, item: Input) -> Node:
    if not item.is_tensor:
        return Node(node_id, "input_off", name=item.name, words="plain number",
                    notes=["not a tensor: a constant to autograd"])
    words = "input, requires_grad=True" if item.requires_grad else \
        "input, requires_grad=False"
    notes = [] if item.requires_grad else ["a constant to autograd: no .grad"]
    return Node(node_id, "input" if item.requires_grad else "input_off", name=item.name,
                words=words, shape=_shape(item.value), value=item.value, notes=notes)


def _statement_box(index: int, step: dict[str, Any], operations: list[dict[str, Any]] | None,
                   is_output: bool, why: str | None,
                   runs: list[list[dict[str, Any]] | None] | None = None) -> Node:
    """``line 2: z = torch.sin(y)``, its value, and how autograd recorded it (or ``why``
    not). ``runs``: the operations of each run of a line a loop ran more than once
    (``step`` is its last run)."""
    value = step.get("value")
    node = Node(f"s{index}", "statement", name=f"line {step['line']}: {statement_text(step)}",
                shape=_shape(value), value=value)
    if not step["tracked"]:
        node.kind = "statement_off"
        node.notes.append(f"not recorded: {why}")
    elif runs is not None and any(runs):
        node.notes += _loop_notes(runs)
    elif operations is not None and len(operations) == 1:
        node.words, node.op = f"recorded as {operations[0]['label']}", operations[0]["op"]
    elif operations:
        # Notes, not the operation row: the renderer leaves that row out of an output box
        # that has no single grad_fn, and this is the line the learner must not miss.
        functions = user_functions(step["code"])
        where = f" inside {', '.join(functions)}" if functions else ""
        node.notes += [f"recorded as {len(operations)} operations{where}:",
                       operation_words(operations)]
    elif _is_new_leaf(step, operations):
        node.kind = "leaf"
        node.notes.append("a new leaf: requires grad")
    else:
        node.notes.append(_no_operation_words(step, operations))
    if _dtype_note(value) and step.get("reason") != "integer":
        node.notes.append(_dtype_note(value))
    if runs is not None:
        node.notes[:0] = [f"ran {len(runs)} times (a loop)", "value: the last run's"]
    if is_output and step["tracked"]:
        node.kind = "output"
    return node


def _loop_notes(runs: list[list[dict[str, Any]] | None]) -> list[str]:
    """What the runs of a loop's line recorded: ``10 recorded operations:`` ``multiply
    ×5, add ×5`` in all, or per run where the graph drawn holds only some of them (a
    training loop's earlier backward() calls drew their own graphs)."""
    drawn = [ops for ops in runs if ops]
    every = [op for ops in drawn for op in ops]
    if len(drawn) < len(runs) and len({len(ops) for ops in drawn}) == 1:
        size = len(drawn[0])
        return [f"{size} recorded operation{'s' if size > 1 else ''} per run:",
                operation_words(drawn[0])]
    return [f"{len(every)} recorded operation{'s' if len(every) > 1 else ''}:",
            operation_words(every)]


def _why_short(step: dict[str, Any], off: list[str]) -> str:
    """The reason in a few words, as the recorded graph says it; a line computed only
    from unrecorded values names them (z is not itself detached), and inputs switched
    off are named (``off``: those this line read)."""
    reason = step.get("reason")
    if reason == "requires_grad_off" and off:
        return f"{', '.join(off)} {'has' if len(off) == 1 else 'have'} requires_grad=False"
    if reason is None:
        return "a constant (requires_grad off)"
    if reason == "constant" and gradient_read(step["code"]):
        return f"{gradient_read(step['code'])} does not require grad"
    if reason == "integer" and _dtype_note(step.get("value")):
        return _dtype_note(step.get("value"))
    return why_short(reason, step.get("sources"))


def _is_new_leaf(step: dict[str, Any], operations: list[dict[str, Any]] | None) -> bool:
    """``w = torch.tensor(1.0, requires_grad=True)``: recorded, no grad_fn, reads nothing.
    Drawn as a leaf, blue as in the recorded graph."""
    return operations is not None and step.get("grad_fn") is None and not step["reads"]


def _no_operation_words(step: dict[str, Any], operations: list[dict[str, Any]] | None) -> str:
    """A recorded line that made no operation: another name for a tensor (None: the
    engine stopped recording before this line's box)."""
    if operations is None:
        return "recorded (the graph was cut short)"
    if len(step["reads"]) == 1 and step["code"] == step["reads"][0]:
        return f"no new operation: the same tensor as {step['code']}"
    return "no new operation: the same tensor"


def _connect(drawing: Drawing, source: str, target: str, target_tracked: bool,
             cut: dict[str, Any] | None = None, made_constant: bool = False) -> None:
    """Solid where the gradient flows back along the arrow; dashed where it cannot: with
    what cut it where a recorded line used the value without recording the use
    (``y.detach()``), "used as a constant" where a recorded line reads something autograd
    did not record (saying why for a tensor made without requires_grad, ``made_constant``,
    or an input: requires_grad off, a plain number)."""
    source_tracked = drawing.nodes[source].kind in RECORDED_KINDS
    if target_tracked and cut is not None:
        drawing.connect(source, target, "untracked", cut_words(cut))
    elif target_tracked and source_tracked:
        drawing.connect(source, target)
    elif target_tracked:
        drawing.connect(source, target, "untracked",
                        _constant_words(drawing.nodes[source], made_constant))
    else:
        drawing.connect(source, target, "untracked")


def _constant_words(source: Node, made_constant: bool) -> str:
    """``used as a constant (requires_grad=False)`` for an input switched off or a tensor
    made without requires_grad; a plain number says so."""
    if source.kind == "input_off" and source.words == "plain number":
        return "used as a constant (a plain number)"
    if source.kind == "input_off" or made_constant:
        return "used as a constant (requires_grad=False)"
    return "used as a constant"


def _output_step(graph: dict[str, Any], steps: list[dict[str, Any]]) -> int | None:
    """The last step that holds the output's box, if the output is a recorded line."""
    outputs = {n["id"] for n in graph["nodes"] if n.get("is_output") and n["kind"] != "untracked"}
    found = [i for i, step in enumerate(steps) if step.get("node") in outputs]
    return found[-1] if found else None


def _shape(value: dict[str, Any] | None) -> list[int] | None:
    return value.get("shape") if isinstance(value, dict) else None


def _dtype_note(value: dict[str, Any] | None) -> str | None:
    """``integer values (int64): no gradients`` for a tensor autograd cannot follow."""
    dtype = str(value.get("dtype", "")) if isinstance(value, dict) else ""
    if not dtype or dtype.startswith(FLOAT_DTYPES):
        return None
    kind = "True/False" if dtype == "bool" else "integer"
    return f"{kind} values ({dtype}): no gradients"
