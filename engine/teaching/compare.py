"""Where the program as the learner wrote it and the graph autograd recorded part ways.

A learner reads their program line by line: one assignment, one value. Autograd records
something else: no box for a line under ``torch.no_grad()`` or for an input with
``requires_grad=False``, and several boxes for one line (``w * x + b`` is a multiply and
an add; a call to the learner's own ``def`` records every operation inside it).
:func:`differences` lists each such place with a sentence that names the line and the
variable, so a page can explain why the two drawings do not match.

Everything here reads the plain data of a run (``RunResult.graph``: nodes, edges and the
``dataflow`` of top-level assignments), never live tensors, and knows nothing of
Streamlit or Graphviz. The helpers (:func:`program_inputs`, :func:`read_sources`,
:func:`statement_operations`) are shared with
``graphviz_utils.written``, which draws the program as written from the same facts.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from engine.language import parsing
from engine.language.tables import BARE_FUNCTIONS
from engine.running.summary import summarize
from engine.teaching.explain import WHY_NOT_RECORDED, why


@dataclass(frozen=True)
class Difference:
    """One place where what was written and what autograd recorded part ways.

    ``kind`` is one of :data:`KINDS`; ``line`` is None where no single line is meant
    (an input, operations no assignment holds)."""

    line: int | None
    name: str
    kind: str
    sentence: str


# A statement autograd did not record has the engine's reason as its kind.
NOT_RECORDED_KINDS: tuple[str, ...] = tuple(WHY_NOT_RECORDED)
KINDS: dict[str, str] = {
    **{reason: "a line autograd did not record" for reason in NOT_RECORDED_KINDS},
    "input_off": "an input with requires_grad=False: no box in the recorded graph",
    "several_operations": "one line, several recorded operations",
    "inside_function": "one line calling your function: its operations are recorded",
    "same_tensor": "a line that only gives an existing tensor another name",
    "not_assigned": "recorded operations that no assignment holds",
    "cut_read": "a recorded line that reads a value without recording that use",
    "loop": "one line that ran many times (a loop): its operations recorded every time",
    "never_ran": "a line that ran 0 times (an if branch not taken, a loop over nothing)",
}

# What the learner can change, per reason (said after the reason itself).
_FIX: dict[str, str] = {
    "no_grad": "Move the line out of the `with torch.no_grad():` block to record it.",
    "no_grad_option": "Switch the no_grad option off to record it.",
    "detach": "Leave out .detach() to let the gradient through.",
    "detach_option": "Switch detach off for {name} to let the gradient through.",
    "requires_grad_off": "Turn requires_grad on for {off} to record it.",
    "integer": "Write a decimal point (3.0, not 3) to make a floating-point tensor.",
    "item": "Keep the tensor (leave out .item(), float(), int()) to let the gradient "
            "through.",
}
# How a recorded line used a value without recording that use ({name}: the value).
_CUT_HOW: dict[str, str] = {
    "detach": "{name}.detach() is a copy autograd does not follow",
    "item": "{name}.item() (or float(), int()) is a plain Python number autograd does not "
            "follow",
    "constant": "what it reads of {name} (.grad, .shape) is a constant to autograd",
    "not_differentiable": "the operation it goes through has no gradient",
}
_CUT_INSIDE: dict[str, str] = {
    "no_grad": "inside torch.no_grad()", "detach": "through .detach()",
    "item": "as a plain number (.item())",
}
_CALL = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\s*\(")
_GRAD = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\.grad\b(?!_)")
_NOT_USER_FUNCTIONS = frozenset(BARE_FUNCTIONS) | {"print"}


@dataclass(frozen=True)
class Input:
    """A name the program read before assigning it (or never assigned): an input.

    ``is_tensor`` is False for a plain number the program made (``a = 2``: not a
    dataflow step, since only tensors are). ``leaf`` is the recorded graph's box for an
    input that requires grad."""

    name: str
    requires_grad: bool
    is_tensor: bool
    value: dict[str, Any] | None
    leaf: str | None


# Where a statement's read came from: a step index (int) or an input name (str).
Source = int | str


def reads_of(step: dict[str, Any]) -> list[str]:
    """The names a step read, its own target included when the line reads it too
    (``x = x * 2``: the engine leaves the target out of ``reads``)."""
    reads = list(step["reads"])
    target = step["target"]
    if target not in reads and target.isidentifier() and _mentions(step["code"], target):
        reads.append(target)
    return sorted(reads)


def graph_of(result: Any) -> dict[str, Any]:
    """The graph dict of a RunResult, or the dict itself."""
    graph = getattr(result, "graph", result)
    if graph is None:
        return {"nodes": [], "edges": [], "dataflow": []}
    if not isinstance(graph, dict) or "nodes" not in graph:
        raise TypeError("expected a run_program result or its .graph dict")
    return graph


def program_inputs(result: Any) -> list[Input]:
    """The program's inputs, in the order the run made them.

    With a RunResult, every tensor variable no statement assigned is an input (also one
    no line reads) and a read name that is no tensor is a plain number. With only the
    graph dict, an input is a name read before any assignment, or a leaf no statement
    made; it requires grad when the graph holds its leaf."""
    graph = graph_of(result)
    steps = graph.get("dataflow", [])
    variables = getattr(result, "variables", None)
    grads = getattr(result, "grads", None) or {}
    leaves = _leaf_ids(graph)
    targets = {step["target"] for step in steps}
    names = list(dict.fromkeys(
        [n for n in (variables or {}) if n not in targets] + _read_before_assigned(steps)
        + ([] if variables is not None else [n for n in leaves if n not in targets])))
    inputs = []
    for name in names:
        is_tensor = variables is None or name in variables
        leaf = leaves.get(name) or _aliased_leaf(steps, name, graph)
        requires_grad = is_tensor and (leaf is not None or name in grads)
        value = _input_value(graph, leaf, variables, name, targets)
        inputs.append(Input(name, requires_grad, is_tensor, value, leaf))
    return inputs


def read_sources(steps: list[dict[str, Any]], inputs: list[Input]) -> list[dict[str, Source]]:
    """For each step, where each name it read came from: the step that assigned it last
    before that line, or the input. Replayed in program order, as the recorder does, so
    a name assigned twice points at the assignment it held at that line."""
    holder: dict[str, Source] = {i.name: i.name for i in inputs}
    sources = []
    for index, step in enumerate(steps):
        sources.append({read: holder[read] for read in reads_of(step) if read in holder})
        holder[step["target"]] = index
    return sources


def statement_operations(graph: dict[str, Any],
                         inputs: list[Input] | None = None) -> dict[int, list[dict[str, Any]]]:
    """The recorded operation boxes each step alone made, in forward order.

    From a step's box back along the recorded edges, stopping at leaves and at the
    boxes of other steps: ``z = w * x + b`` owns its Add and the unnamed Mul. A step
    whose box an earlier step or an input already owns (``y = x``) gets an empty list.
    """
    nodes = {node["id"]: node for node in graph["nodes"]}
    inputs_of = _recorded_inputs(graph)
    steps = graph.get("dataflow", [])
    claimed = {step["node"] for step in steps if step.get("node")}
    owner: dict[str, Source] = {i.leaf: i.name for i in inputs or [] if i.leaf}
    owned: dict[int, list[dict[str, Any]]] = {}
    for index, step in enumerate(steps):
        start = step.get("node")
        if not step["tracked"] or start not in nodes:
            continue
        if start in owner:
            owned[index] = []
            continue
        members = []
        stack = [start]
        while stack:
            node_id = stack.pop()
            if node_id in owner or (node_id != start and node_id in claimed) \
                    or nodes[node_id]["kind"] not in ("op", "output"):
                continue
            owner[node_id] = index
            members.append(nodes[node_id])
            stack.extend(inputs_of.get(node_id, []))
        owner.setdefault(start, index)
        owned[index] = _forward_order(members, inputs_of)
    return owned


def box_owner(graph: dict[str, Any], inputs: list[Input]) -> dict[str, Source]:
    """Which step (or input) first made each recorded box a step points at."""
    owner: dict[str, Source] = {i.leaf: i.name for i in inputs if i.leaf}
    for index, step in enumerate(graph.get("dataflow", [])):
        if step.get("node"):
            owner.setdefault(step["node"], index)
    return owner


def user_functions(code: str) -> list[str]:
    """The learner's own functions a line calls: bare names before ``(`` that are not
    the built-in math (``sin(x)``) or print."""
    return [n for n in dict.fromkeys(_CALL.findall(code)) if n not in _NOT_USER_FUNCTIONS]


def gradient_read(code: str) -> str | None:
    """``x.grad`` if the line reads a gradient: a plain tensor that does not require grad
    even though x does, which is why ``first = x.grad.clone()`` is not recorded."""
    match = _GRAD.search(code)
    return f"{match.group(1)}.grad" if match else None


def operation_words(operations: list[dict[str, Any]]) -> str:
    """``clamp, log ×2, multiply ×2, add``: each operation once, in forward order."""
    counts = Counter(op["label"] for op in operations)
    return ", ".join(w if counts[w] == 1 else f"{w} ×{counts[w]}" for w in counts)


def statement_text(step: dict[str, Any]) -> str:
    """The line as written: ``z = torch.sin(y)``; ``y += 1`` reads its own target and
    the engine keeps only the right side, so it says so instead of guessing the sign."""
    if step["target"] in step["reads"]:  # only an augmented assignment reads its target
        return f"{step['target']} updated in place with {step['code']}"
    return f"{step['target']} = {step['code']}"


# -- the differences ----------------------------------------------------------------------
def differences(result: Any, source: str | None = None) -> list[Difference]:
    """Every place where the program as written and the recorded graph part ways, inputs
    first, then line by line (one entry per line and kind, however often a loop ran
    it); empty when every line is exactly one recorded box. With the program's
    ``source``, assignments that never ran (an ``if`` branch not taken) are named too."""
    graph = graph_of(result)
    steps = graph.get("dataflow", [])
    inputs = program_inputs(result)
    owned = statement_operations(graph, inputs)
    owner = box_owner(graph, inputs)
    found = [_input_off(i, steps) for i in inputs if i.is_tensor and not i.requires_grad]
    by_line: list[Difference] = []
    for runs in line_runs(steps):
        each = [_step_differences(graph, steps, index, inputs, owned, owner)
                for index in runs]
        by_line += each[0] if len(runs) == 1 else \
            _repeated_line(steps, runs, each, [owned.get(i) for i in runs],
                           module_labels(graph))
    if source is not None:
        by_line += [Difference(line, name, "never_ran", (
            f"Line {line}: `{text}` ran 0 times (an `if` branch not taken, or a loop "
            "over nothing): autograd recorded nothing for it, and the recorded graph "
            "has no box for it.")) for line, name, text in never_ran(source, result)]
    by_line.sort(key=lambda difference: difference.line or 0)
    return found + by_line + _not_assigned(graph, owned)


def line_runs(steps: list[dict[str, Any]]) -> list[list[int]]:
    """The dataflow's steps grouped by the written assignment that made them (its line,
    column and name), in the order each first ran: a loop's line is one group."""
    groups: dict[tuple[int, int, str], list[int]] = {}
    for index, step in enumerate(steps):
        groups.setdefault((step["line"], step["col"], step["target"]), []).append(index)
    return list(groups.values())


def _step_differences(graph: dict[str, Any], steps: list[dict[str, Any]], index: int,
                      inputs: list[Input], owned: dict[int, list[dict[str, Any]]],
                      owner: dict[str, Source]) -> list[Difference]:
    step = steps[index]
    if not step["tracked"]:
        return _not_recorded(graph, steps, index, inputs)
    return (_recorded(step, owned.get(index), owner.get(step.get("node") or ""), steps,
                      index, module_labels(graph))
            + [_cut_read(step, cut) for cut in step.get("cut_reads") or []])


def _repeated_line(steps: list[dict[str, Any]], runs: list[int],
                   each: list[list[Difference]],
                   operations: list[list[dict[str, Any]] | None],
                   modules: dict[str, str] | None = None) -> list[Difference]:
    """One line that ran ``len(runs)`` times: a "loop" entry when its runs recorded more
    than one operation in all, then each other kind of difference once, saying how
    often the line ran."""
    step, times = steps[runs[0]], len(runs)
    drawn = [ops for ops in operations if ops]
    total = sum(len(ops) for ops in drawn)
    merged: dict[tuple[str, str], Difference] = {}
    for difference in (d for found in each for d in found):
        merged.setdefault((difference.kind, difference.name), difference)
    found = []
    if total > 1:
        found.append(_loop(step, times, drawn, total, modules or {}))
        for kind in ("several_operations", "inside_function"):
            merged.pop((kind, step["target"]), None)
    head = f"Line {step['line']}:"
    for difference in merged.values():
        sentence = difference.sentence.replace(
            head, f"Line {step['line']} (it ran {times} times):", 1)
        found.append(Difference(difference.line, difference.name, difference.kind,
                                sentence))
    return found


def _loop(step: dict[str, Any], times: int, drawn: list[list[dict[str, Any]]],
          total: int, modules: dict[str, str]) -> Difference:
    """``y = y * x + 1`` run 5 times: one written line, 10 recorded operations. Where
    the graph holds only some runs (each backward() of a training loop drew its own),
    it says which."""
    name, line, written = step["target"], step["line"], f"`{statement_text(step)}`"
    sizes = {len(ops) for ops in drawn}
    size = len(drawn[0])
    functions = user_functions(step["code"])
    inside = f" inside {_callees(functions, modules)}" if functions else ""
    if len(drawn) < times:
        runs = "run" if len(drawn) == 1 else "runs"
        return Difference(line, name, "loop", (
            f"Line {line}: {written} is one line, but it ran {times} times (a loop), and "
            f"each run recorded its own operations{inside} ({total} in the {len(drawn)} "
            f"{runs} drawn: {operation_words([op for ops in drawn for op in ops])}). The "
            f"graph drawn is the last backward()'s, so it holds the boxes of {len(drawn)} "
            f"of the {times} runs; the last box of a run is called {name} (iteration k)."))
    each = (f"{size} operation{'s' if size > 1 else ''} each time ({_then(drawn[0])})"
            if len(sizes) == 1 else operation_words([op for ops in drawn for op in ops]))
    return Difference(line, name, "loop", (
        f"Line {line}: {written} is one line, {total} operations (a loop): it ran "
        f"{times} times, and autograd recorded {each}{inside}. The recorded graph has a "
        f"box for each operation, and the last of each run is called {name} (iteration "
        f"1) to {name} (iteration {times})."))


_NOT_TENSOR_CALLS = frozenset({"item", "float", "int", "bool", "len", "str", "tolist",
                               "range", "list", "tuple", "dict", "print", "format"})


def never_ran(source: str, result: Any) -> list[tuple[int, str, str]]:
    """``(line, name, text)`` of each assignment at the program's top level (inside its
    loops and ifs, not its functions) that never ran.

    Runs count how often each top-level line started (``line_runs``). For a result
    without the count (plain data from before it), an inference: the run records a
    step each time a top-level line assigns a tensor, so a line that
    would assign one and has no step did not run. Which lines would: those whose name
    holds a tensor elsewhere in the run and whose right side reads a tensor (``y = 3``
    or ``n = x.item()`` make no step even when they run, and are left out)."""
    try:
        tree = parsing.parse(source)
    except (SyntaxError, ValueError):
        return []
    runs = getattr(result, "line_runs", None)
    if runs:  # the interpreter counted every top-level line it started
        return [(stmt.lineno, _targets(stmt)[0].id if isinstance(_targets(stmt)[0], ast.Name)
                 else "", (ast.get_source_segment(source, stmt) or "").splitlines()[0][:80])
                for stmt in _top_level_assignments(tree.body)
                if runs.get(stmt.lineno, 0) == 0 and isinstance(_targets(stmt)[0], ast.Name)]
    steps = graph_of(result).get("dataflow", [])
    ran = {step["line"] for step in steps}
    tensors = {step["target"] for step in steps} | set(getattr(result, "variables", None)
                                                      or {})
    found = []
    for stmt in _top_level_assignments(tree.body):
        names = [t.id for t in _targets(stmt) if isinstance(t, ast.Name)]
        value = stmt.value
        if stmt.lineno in ran or not names or value is None \
                or not any(name in tensors for name in names):
            continue
        reads = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)}
        calls = {c.func.attr if isinstance(c.func, ast.Attribute) else
                 getattr(c.func, "id", "") for c in ast.walk(value) if isinstance(c, ast.Call)}
        if reads & tensors and not calls & _NOT_TENSOR_CALLS:
            text = ast.get_source_segment(source, stmt) or names[0]
            found.append((stmt.lineno, names[0], text.splitlines()[0][:80]))
    return found


def _top_level_assignments(body: list[ast.stmt]) -> list[ast.Assign | ast.AugAssign]:
    """Assignments in ``body`` and in its if/for/while/with/try blocks (not in a def)."""
    found: list[ast.Assign | ast.AugAssign] = []
    for stmt in body:
        if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            found.append(stmt)  # type: ignore[arg-type]
        elif not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for block in ("body", "orelse", "finalbody"):
                found += _top_level_assignments(getattr(stmt, block, None) or [])
            for handler in getattr(stmt, "handlers", None) or []:
                found += _top_level_assignments(handler.body)
    return found


def _targets(stmt: ast.stmt) -> list[ast.expr]:
    if isinstance(stmt, ast.Assign):
        return [t for target in stmt.targets for t in
                (target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target])]
    return [stmt.target]  # type: ignore[attr-defined]


def _input_off(item: Input, steps: list[dict[str, Any]]) -> Difference:
    readers = sorted({s["line"] for s in steps if item.name in reads_of(s)})
    read = (f" Line{'s' if len(readers) > 1 else ''} {_join(map(str, readers))} "
            f"use{'' if len(readers) > 1 else 's'} it as a fixed number." if readers else "")
    return Difference(None, item.name, "input_off", (
        f"Input {item.name} has requires_grad=False: autograd treats it as a constant, so "
        f"{item.name} gets no .grad and the recorded graph has no box for it.{read}"))


def _not_recorded(graph: dict[str, Any], steps: list[dict[str, Any]], index: int,
                  inputs: list[Input]) -> list[Difference]:
    step = steps[index]
    name, line, written = step["target"], step["line"], f"`{statement_text(step)}`"
    reason = step["reason"]
    if reason is None:  # made without requires_grad from nothing: a constant
        if _became_leaf(graph, steps, index):
            return []
        return [Difference(line, name, "constant", (
            f"Line {line}: {written} makes a tensor that does not require grad, so "
            f"autograd records no box for it: it enters the lines that use {name} as a "
            "fixed number."))]
    off = [r for r in reads_of(step) if r in {i.name for i in inputs if not i.requires_grad}]
    if reason == "from_untracked":  # not its own reason: the values it read say theirs
        because = (f"{why(reason, step.get('sources'))}, so there is nothing to follow "
                   "back")
    elif reason == "requires_grad_off" and off:
        because = (f"{_join(off)} {'has' if len(off) == 1 else 'have'} requires_grad=False, "
                   "so there was nothing to record")
    elif reason == "constant" and gradient_read(step["code"]):
        because = (f"{gradient_read(step['code'])}, the gradient backward filled in, is a "
                   "plain tensor that does not require grad")
    elif reason == "constant" and reads_of(step):
        because = (f"nothing it was computed from ({_join(reads_of(step))}) requires grad: "
                   "make an input with requires_grad=True to record the computation")
    else:
        because = why(reason, step.get("sources"))
    fix = "" if reason == "from_untracked" else \
        " " + _FIX.get(reason, "").format(name=name, off=_join(off or ["its inputs"]))
    return [Difference(line, name, reason, (
        f"Line {line}: {written} was not recorded by autograd, because {because}. No "
        f"gradient flows back through {name}.{fix}".rstrip()))]


def _cut_read(step: dict[str, Any], cut: dict[str, Any]) -> Difference:
    """``z = y.detach() * x``: the line is recorded, but not through y."""
    name, line, read = step["target"], step["line"], cut["name"]
    how = _CUT_HOW.get(cut["reason"], _CUT_HOW["not_differentiable"]).format(name=read)
    if cut.get("function"):
        how = (f"your function {cut['function']} uses it "
               f"{_CUT_INSIDE.get(cut['reason'], 'through an operation without a gradient')}")
    return Difference(line, name, "cut_read", (
        f"Line {line}: `{statement_text(step)}` reads {read}, but autograd did not record "
        f"that use: {how}. The recorded graph has no arrow from {read} to {name}, and no "
        f"gradient flows back from {name} to {read} through this line."))


def module_labels(graph: dict[str, Any]) -> dict[str, str]:
    """The program's modules a line may call by name -> their frame's label
    (``model`` -> ``model: Net``), from the module calls the graph draws."""
    labels: dict[str, str] = {}
    for box in graph.get("modules") or ():
        name, colon, _ = str(box.get("label", "")).partition(": ")
        if colon and name.isidentifier():
            labels.setdefault(name, box["label"])
    return labels


def _callees(functions: list[str], modules: dict[str, str]) -> str:
    """``your function f`` or ``the module model (model: Net)``: a module's forward is
    the program's code too, and its frame in the recorded graph carries that label."""
    called = [f"the module {f} (drawn as the frame `{modules[f]}`)" if f in modules
              else f"your function {f}" for f in functions]
    return _join(called)


def _recorded(step: dict[str, Any], operations: list[dict[str, Any]] | None,
              first_owner: Source | None, steps: list[dict[str, Any]],
              index: int, modules: dict[str, str] | None = None) -> list[Difference]:
    name, line, written = step["target"], step["line"], f"`{statement_text(step)}`"
    if operations is None:
        return []
    if not operations:
        same = _same_tensor_as(first_owner, steps, index)
        if same is None:
            return []
        if same == name:  # ``w -= lr * w.grad``: the same tensor, changed in place
            return [Difference(line, name, "same_tensor", (
                f"Line {line}: {written} changes {name}'s tensor in place without "
                f"recording it (torch allows that for a leaf only with recording off, as "
                f"under torch.no_grad()): {name} stays the same box, and autograd "
                "recorded no operation for this line."))]
        return [Difference(line, name, "same_tensor", (
            f"Line {line}: {written} makes no new box: {name} is another name for the "
            f"tensor {same}, so autograd recorded no operation for this line."))]
    if len(operations) == 1:
        return []
    count, words = len(operations), operation_words(operations)
    functions = user_functions(step["code"])
    if functions:
        inner = sorted({op["name"] for op in operations if op.get("name")} - {name})
        named = (f" Boxes named inside the function ({_join(inner)}) appear there too."
                 if inner else "")
        return [Difference(line, name, "inside_function", (
            f"Line {line}: {written} is one line, but it calls "
            f"{_callees(functions, modules or {})}, and autograd recorded the {count} "
            f"operations inside it "
            f"({words}): the recorded graph has a box for each, and only the last is "
            f"called {name}.{named}"))]
    return [Difference(line, name, "several_operations", (
        f"Line {line}: {written} is one line, but autograd recorded {count} operations "
        f"for it ({_then(operations)}): the recorded graph has a box for each, and only "
        f"the last is called {name}."))]


def _not_assigned(graph: dict[str, Any],
                  owned: dict[int, list[dict[str, Any]]]) -> list[Difference]:
    taken = {op["id"] for ops in owned.values() for op in ops}
    taken |= {step["node"] for step in graph.get("dataflow", []) if step.get("node")}
    loose = [n for n in graph["nodes"] if n["kind"] in ("op", "output") and n["id"] not in taken]
    if not loose:
        return []
    loose = _forward_order(loose, _recorded_inputs(graph))
    count = len(loose)
    return [Difference(None, loose[-1].get("name") or "", "not_assigned", (
        f"Autograd recorded {count} operation{'s' if count > 1 else ''} "
        f"({operation_words(loose)}) that no assignment holds: they come from lines that "
        "are not assignments, such as `(x**2).sum().backward()`, or from changing a "
        "tensor in place (y.add_(1)). The recorded graph draws them; the written one "
        "has no line for them."))]


# -- helpers ------------------------------------------------------------------------------
def _read_before_assigned(steps: list[dict[str, Any]]) -> list[str]:
    """Names read before any line assigned them; a name a line only calls (the
    learner's own ``def``) is a function, not an input."""
    assigned: set[str] = set()
    found: list[str] = []
    for step in steps:
        called = set(user_functions(step["code"]))
        found += [r for r in reads_of(step)
                  if r not in assigned and r not in found and r not in called]
        assigned.add(step["target"])
    return found


def _leaf_ids(graph: dict[str, Any]) -> dict[str, str]:
    """Leaf name -> its box; the first box of a name wins (inputs are made first)."""
    leaves: dict[str, str] = {}
    for node in graph["nodes"]:
        if node["kind"] == "leaf" and node.get("name"):
            leaves.setdefault(node["name"], node["id"])
    return leaves


def _aliased_leaf(steps: list[dict[str, Any]], name: str, graph: dict[str, Any]) -> str | None:
    """``y = x`` renames x's leaf to y in the recorded graph; it is still x's box."""
    kinds = {node["id"]: node["kind"] for node in graph["nodes"]}
    for step in steps:
        if step["code"] == name and step["reads"] == [name] and step.get("node") \
                and kinds.get(step["node"]) == "leaf":
            return step["node"]
    return None


def _input_value(graph: dict[str, Any], leaf: str | None, variables: dict[str, Any] | None,
                 name: str, targets: set[str]) -> dict[str, Any] | None:
    """The input's value when the run began: its leaf's, or the variable's if no line
    assigned the name again."""
    if leaf is not None:
        return next((n.get("value") for n in graph["nodes"] if n["id"] == leaf), None)
    if variables and name in variables and name not in targets:
        return summarize(variables[name])
    return None


def _recorded_inputs(graph: dict[str, Any]) -> dict[str, list[str]]:
    inputs_of: dict[str, list[str]] = {}
    for edge in graph["edges"]:
        if edge.get("recorded"):
            inputs_of.setdefault(edge["target"], []).append(edge["source"])
    return inputs_of


def _forward_order(members: list[dict[str, Any]],
                   inputs_of: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Inputs before the operations that use them (Kahn); ties by recording order,
    where a larger id was found farther from the output, so it ran earlier."""
    by_id = {m["id"]: m for m in members}
    waiting = {i: sum(1 for s in inputs_of.get(i, []) if s in by_id) for i in by_id}
    users: dict[str, list[str]] = {}
    for node_id in by_id:
        for source in inputs_of.get(node_id, []):
            if source in by_id:
                users.setdefault(source, []).append(node_id)
    ready = [i for i, n in waiting.items() if n == 0]
    order: list[dict[str, Any]] = []
    while ready:
        ready.sort(key=_id_number)
        node_id = ready.pop()  # the largest id: recorded farthest from the output
        order.append(by_id[node_id])
        for user in users.get(node_id, []):
            waiting[user] -= 1
            if waiting[user] == 0:
                ready.append(user)
    return order + [m for m in members if m not in order]  # a cycle cannot happen


def _id_number(node_id: str) -> int:
    digits = node_id.lstrip("nu")
    return int(digits) if digits.isdigit() else 0


def _same_tensor_as(first_owner: Source | None, steps: list[dict[str, Any]],
                    index: int) -> str | None:
    """The name whose tensor this step only renames, or None (its own leaf; or the
    second name of one multi-output operation such as ``a, b = x.unbind(0)``)."""
    if first_owner is None or first_owner == index:
        return None
    if isinstance(first_owner, str):
        return first_owner
    earlier, step = steps[first_owner], steps[index]
    if (earlier["line"], earlier["col"]) == (step["line"], step["col"]):
        return None
    return earlier["target"]


def _became_leaf(graph: dict[str, Any], steps: list[dict[str, Any]], index: int) -> bool:
    """``w = torch.tensor(1.0)`` then ``w.requires_grad_()``: the graph has w's leaf."""
    name = steps[index]["target"]
    last = max(i for i, s in enumerate(steps) if s["target"] == name)
    return last == index and name in _leaf_ids(graph)


@lru_cache(maxsize=4096)  # every helper asks again for the same step
def _mentions(code: str, name: str) -> bool:
    """Whether ``code`` reads the variable ``name`` (a Name, not an attribute or a
    keyword). The engine cuts code at 80 characters and keeps a line continuation's
    backslash; such text does not parse, and a word match stands in."""
    try:
        tree = parsing.parse(code, mode="eval")
    except SyntaxError:
        return re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)(?!\s*=[^=])", code) is not None
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(tree))


def _then(operations: list[dict[str, Any]]) -> str:
    words = [op["label"] for op in operations]
    return ", then ".join(words) if len(words) <= 3 else operation_words(operations)


def _join(names: Any) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
