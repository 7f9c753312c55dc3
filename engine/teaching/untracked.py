"""Why autograd did not record a value, worked out per variable from what its line read.

A line's value is untracked for a reason of its own (it ran under ``torch.no_grad()``, the
line calls ``.detach()`` or ``.item()``, it holds integers) or only because everything it
read was untracked already. The second is not the line's own reason: with y detached by
the switch, ``z = torch.sin(y)`` was not detached, it was computed only from y. Passing
y's reason on to z made the app say "z was detached"; here z gets the reason
``from_untracked`` and the list of what it read (``sources``), each with its own reason and
line, so every sentence names the variable that was really cut off, and where.

A recorded line can also read a value without recording that use: ``z = y.detach() * x``
records the multiply through x only. :func:`unreached_reads` finds such reads from the
recorded graph itself (the read's box is not behind the line's box), and
:func:`cut_reason` says from the line's syntax what cut them (``.detach()``, ``.item()``,
your function computing under ``torch.no_grad()``...).

Plain data out (dicts of names, lines and reason keys); the words are in
:mod:`engine.teaching.explain`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from typing import Any

import torch

from engine.language import tables as L
from engine.language.checker import CheckedProgram
from engine.running.graph import graph_key

# Reasons a line has of its own; anything else it read was untracked before it.
OWN_REASONS = ("no_grad", "no_grad_option", "detach", "detach_option", "integer", "item",
               "not_differentiable")
# Reads that leave nothing to say beyond "a constant" (made without requires_grad).
CONSTANT_REASONS = (None, "constant")
MAX_WALK = 20_000  # grad_fn nodes visited per line before giving up (and claiming no cut)

_DETACH_CALLS = frozenset({"detach", "detach_", "torch.detach"})
_NUMBER_CALLS = frozenset({"item", "tolist", "float", "int"})
# Attributes that read something other than the tensor's values: constants to autograd.
_CONSTANT_ATTRIBUTES = frozenset({"grad", "shape", "ndim", "dtype", "requires_grad",
                                  "is_leaf", "grad_fn"})


def cut_reason(expr: ast.AST | None, name: str, program: CheckedProgram) -> dict[str, Any]:
    """How the line ``expr`` used ``name`` without autograd recording the use:
    ``{"name", "reason", "function"}``. The innermost construct around an occurrence of
    the name decides: ``.detach()`` -> detach, ``.item()``/``float()``/``int()`` -> item,
    ``.grad``/``.shape`` -> constant, your function -> what its body does (no_grad,
    detach, item), a comparison -> not_differentiable; found nothing ->
    not_differentiable (argmax, rounding, ...)."""
    found = {"name": name, "reason": "not_differentiable", "function": None}
    if expr is None:
        return found
    parents = {id(child): node for node in ast.walk(expr)
               for child in ast.iter_child_nodes(node)}
    for occurrence in ast.walk(expr):
        if not (isinstance(occurrence, ast.Name) and occurrence.id == name):
            continue
        node: ast.AST | None = parents.get(id(occurrence))
        while node is not None:
            reason, function = _construct_reason(node, program)
            if reason is not None:
                return {"name": name, "reason": reason, "function": function}
            node = parents.get(id(node))
    return found


def _construct_reason(node: ast.AST, program: CheckedProgram) -> tuple[str | None, str | None]:
    """The reason ``node`` (a call or comparison around a read) stops autograd, if any."""
    if isinstance(node, ast.Compare):
        return "not_differentiable", None
    if isinstance(node, ast.Attribute) and node.attr in _CONSTANT_ATTRIBUTES:
        return "constant", None
    callee = program.callees.get(id(node)) if isinstance(node, ast.Call) else None
    if callee is None:
        return None, None
    if callee.name in _DETACH_CALLS:
        return "detach", None
    if callee.name in _NUMBER_CALLS:
        return "item", None
    if callee.kind == "user" and callee.name in program.functions:
        return _function_reason(program.functions[callee.name].node, program), callee.name
    return None, None


def _function_reason(definition: ast.FunctionDef, program: CheckedProgram) -> str:
    """What inside your own function stops autograd: a ``with torch.no_grad():`` block,
    a ``.detach()`` or a plain number, in that order of likelihood."""
    for node in ast.walk(definition):
        if isinstance(node, ast.With) and any(
                not L.GRAD_MODES.get(program.callees.get(id(item.context_expr)).name, True)
                for item in node.items if id(item.context_expr) in program.callees):
            return "no_grad"
    for node in ast.walk(definition):
        reason, _ = _construct_reason(node, program) if isinstance(node, ast.Call) else \
            (None, None)
        if reason in ("detach", "item"):
            return reason
    return "not_differentiable"


def own_reason(value: torch.Tensor, expr: ast.AST | None, program: CheckedProgram,
               no_grad_option: bool, cut: list[dict[str, Any]]) -> str | None:
    """The line's own reason for leaving ``value`` unrecorded, or None when it has none
    (then what it read decides). ``cut``: the reads that required grad, as cut_reason
    explains them: a line that read a tracked value and still is untracked cut it itself."""
    if not torch.is_grad_enabled():
        return "no_grad_option" if no_grad_option else "no_grad"
    if expr is not None and any(
            isinstance(n, ast.Call) and getattr(program.callees.get(id(n)), "name", "")
            in _DETACH_CALLS for n in ast.walk(expr)):
        return "detach"
    if not value.is_floating_point():
        return "integer"
    return cut[0]["reason"] if cut else None


def reason_from_sources(sources: list[dict[str, Any]], reads: list[str]) -> str | None:
    """The reason of a line that has none of its own, from the untracked values it read:
    "constant" when they were all constants (or it read only plain numbers),
    "requires_grad_off" when the only ones that matter are inputs switched off (the
    sentence names them), else "from_untracked" (the sentence names each)."""
    if not reads:
        return None  # made from nothing: torch.tensor(2.0)
    telling = [s for s in sources if s["reason"] not in CONSTANT_REASONS]
    if not telling:
        return "constant"
    if all(s["reason"] == "requires_grad_off" for s in telling):
        return "requires_grad_off"
    return "from_untracked"


def source_entry(name: str, steps: Iterable[Any], switched_off: set[str]) -> dict[str, Any]:
    """An untracked value a line read: ``{"name", "line", "reason", "roots"}``, from its
    latest step (``steps``: the DataflowSteps so far). A value that was itself only
    computed from unrecorded ones (``from_untracked``, or from inputs switched off) is
    ``from_untracked`` here, and ``roots`` are the values with a reason of their own it
    came from in the end: the sentence goes back to them."""
    latest = next((s for s in reversed(list(steps)) if s.target == name), None)
    line = latest.line if latest is not None else None
    if name in switched_off:
        return {"name": name, "line": line, "reason": "requires_grad_off", "roots": []}
    if latest is None:
        return {"name": name, "line": None, "reason": "constant", "roots": []}
    if latest.reason not in ("from_untracked", "requires_grad_off") or not latest.sources:
        return {"name": name, "line": line, "reason": latest.reason or "constant",
                "roots": []}
    roots: list[dict[str, Any]] = []
    for source in latest.sources:
        for root in source["roots"] or [source]:
            entry = {k: root[k] for k in ("name", "line", "reason")}
            if entry not in roots and entry["reason"] not in CONSTANT_REASONS:
                roots.append(entry)
    return {"name": name, "line": line, "reason": "from_untracked", "roots": roots}


def unreached_reads(value: torch.Tensor, read_values: Mapping[str, Any],
                    stop_keys: set[Any]) -> list[str]:
    """The reads that require grad whose box autograd did not record behind ``value``.

    Walks back from the line's box, stopping at the boxes of reads, at leaves and at the
    boxes earlier lines made (``stop_keys``): what is walked is the operations this line
    recorded, so the cost follows the line's size. A walk longer than MAX_WALK claims
    nothing."""
    wanted = {graph_key(v): name for name, v in read_values.items()
              if isinstance(v, torch.Tensor) and v.requires_grad}
    if not wanted:
        return []
    found: set[Any] = set()
    start = graph_key(value)
    stack = [start] if start is not None else []
    seen: set[Any] = set()
    while stack and len(found) < len(wanted):
        key = stack.pop()
        if key in seen:
            continue
        seen.add(key)
        if len(seen) > MAX_WALK:
            return []
        if key in wanted:
            found.add(key)
            continue
        if (key in stop_keys and key != start) or isinstance(key, tuple):
            continue
        for child, _ in key.next_functions:
            if child is not None:
                stack.append(_leaf_key(child))
    return sorted(name for key, name in wanted.items() if key not in found)


def _leaf_key(node: Any) -> Any:
    """A leaf's AccumulateGrad node stands for the leaf (graph_key's ``("leaf", id)``)."""
    if type(node).__name__ == "AccumulateGrad":
        return ("leaf", id(node.variable))
    return node
