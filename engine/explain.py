"""Torch's errors and warnings, explained in words a learner understands.

Each explanation keeps torch's own sentence at the end, so the learner can connect it with
what they will see in a notebook.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# Why a value was not recorded by autograd, as the dataflow names it.
WHY_NOT_RECORDED: dict[str, str] = {
    "no_grad": "it was computed inside torch.no_grad(), which switches recording off",
    "no_grad_option": "the whole program ran with the no_grad switch on, which switches "
                      "recording off",
    "detach": "it was computed from a .detach()ed tensor, a copy autograd does not follow",
    "detach_option": "it was detached where it was assigned (the detach switch), so "
                     "autograd stops there",
    "requires_grad_off": "the tensors it was computed from have requires_grad=False, so "
                         "there was nothing to record",
    "integer": "it holds integers; only floating-point tensors can have gradients",
    "constant": "nothing it was computed from requires grad: create an input with "
                "requires_grad=True to record the computation",
    "item": "it was computed from a plain Python number (.item(), float() or int()), "
            "which autograd does not follow",
    "not_differentiable": "the operation on this line has no gradient (a comparison, "
                          "rounding, argmax ...), so autograd does not follow it",
    "from_untracked": "everything it was computed from was not recorded either",
}

# What happened to a value a later line read, as "y, which <this>" ({where}: " on line 1").
# The line of a value computed only from others is where it was computed; roots follow.
_SOURCE_WORDS: dict[str, str] = {
    "detach_option": "you detached{where} (the detach switch)",
    "detach": "was .detach()ed{where}",
    "no_grad": "was computed inside torch.no_grad(){where}",
    "no_grad_option": "was computed with the no_grad switch on{where}",
    "requires_grad_off": "has requires_grad=False",
    "integer": "holds integers{where}",
    "item": "was made from a plain number (.item()){where}",
    "not_differentiable": "came from an operation without a gradient{where}",
    "constant": "does not require grad{where}",
}
# The same in a few words, for a box: "y (detached by the switch, line 1)".
_SOURCE_SHORT: dict[str, str] = {
    "detach_option": "detached by the switch",
    "detach": ".detach()ed",
    "no_grad": "in torch.no_grad()",
    "no_grad_option": "no_grad switch",
    "requires_grad_off": "requires_grad=False",
    "integer": "integers",
    "item": ".item()",
    "not_differentiable": "no gradient",
    "constant": "a constant",
    "from_untracked": "not recorded",
}
# A read whose use on a recorded line autograd did not record, on the arrow ("{name}":
# the read); inside your own function, what the function does to it.
CUT_WORDS: dict[str, str] = {
    "detach": "{name}.detach(): not recorded",
    "item": "{name}.item(): a plain number, not recorded",
    "constant": "{name}.grad or .shape: a constant, not recorded",
    "not_differentiable": "no gradient through this use",
}
_CUT_INSIDE: dict[str, str] = {
    "detach": ".detach()", "item": ".item()", "no_grad": "torch.no_grad()",
    "not_differentiable": "an operation without a gradient",
}


def torch_sentence(exc: Exception) -> str:
    """The first sentence of torch's message: the part a learner needs."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    first = text.splitlines()[0]
    head, dot, _ = first.partition(". ")
    return head + "." if dot else first


def why(reason: str | None, sources: list[dict[str, Any]] | None = None) -> str:
    """Why a value was not recorded, as "because ...": its own reason, or for a value
    computed only from unrecorded ones (``from_untracked``, or inputs switched off)
    those values and what happened to each, so the sentence blames the variable that was
    cut, not this one."""
    if reason in ("from_untracked", "requires_grad_off") and sources:
        return "it was computed only from " + join_words(source_phrase(s) for s in sources)
    return WHY_NOT_RECORDED.get(reason or "constant", WHY_NOT_RECORDED["constant"])


def source_phrase(source: dict[str, Any]) -> str:
    """``y, which you detached on line 1 (the detach switch)``; for a value that was
    itself computed only from unrecorded ones, where those came from in the end."""
    where = f" on line {source['line']}" if source.get("line") else ""
    if source["reason"] == "from_untracked":
        roots = source.get("roots") or []
        line = f" (line {source['line']})" if source.get("line") else ""
        if not roots:
            return f"{source['name']}{line}, which was not recorded either"
        return (f"{source['name']}{line}, which was computed only from "
                + join_words(source_phrase(root) for root in roots))
    words = _SOURCE_WORDS.get(source["reason"] or "constant", _SOURCE_WORDS["constant"])
    return f"{source['name']}, which {words.format(where=where)}"


def short_sources(sources: list[dict[str, Any]]) -> str:
    """``computed only from y (detached by the switch, line 1)``: a box's few words."""
    parts = []
    for source in sources:
        words = _SOURCE_SHORT.get(source["reason"] or "constant", "not recorded")
        line = f", line {source['line']}" if source.get("line") else ""
        if source["reason"] == "from_untracked" and source.get("roots"):
            words, line = f"line {source['line']}" if source.get("line") else "", ""
            words += (", " if words else "") + "from " + join_words(
                r["name"] for r in source["roots"])
        parts.append(f"{source['name']} ({words}{line})")
    return "computed only from " + join_words(parts)


def cut_words(cut: dict[str, Any]) -> str:
    """The words on the arrow of a read a recorded line used without recording it:
    ``y.detach(): not recorded``, ``f(y): torch.no_grad() inside, not recorded``."""
    if cut.get("function"):
        inside = _CUT_INSIDE.get(cut["reason"], _CUT_INSIDE["not_differentiable"])
        return f"{cut['function']}({cut['name']}): {inside} inside, not recorded"
    words = CUT_WORDS.get(cut["reason"], CUT_WORDS["not_differentiable"])
    return words.format(name=cut["name"])


def join_words(items: Iterable[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def explain_backward_error(exc: Exception, name: str | None, reason: str | None,
                           numel: int | None, sources: list[dict[str, Any]] | None = None,
                           ) -> tuple[str, str]:
    """(kind, message) for a failed ``backward()`` on the tensor called ``name``."""
    text = torch_sentence(exc)
    who = f"`{name}`" if name else "this value"
    if "does not require grad and does not have a grad_fn" in text:
        return "autograd", (
            f"{who}.backward() cannot run: {who} was not recorded by autograd (it has no "
            f"grad_fn), because {why(reason, sources)}. There is no graph to go back through. "
            f"(torch: {text})")
    if "grad can be implicitly created only for scalar outputs" in text:
        return "autograd", (
            f"{who}.backward() needs a single number, but {who} has {numel} elements. "
            f"Reduce it first, e.g. {name or 'y'}.sum().backward() or "
            f"{name or 'y'}.mean().backward(), or pass gradient=torch.ones_like("
            f"{name or 'y'}). (torch: {text})")
    if "backward through the graph a second time" in text:
        return "autograd", (
            f"{who}.backward() was already run through this graph, and torch frees the "
            "values it saved for backward after the first pass. Call "
            "backward(retain_graph=True) the first time to keep them, or recompute "
            f"{who} before calling backward again. (torch: {text})")
    if "modified by an inplace operation" in text:
        return "autograd", (
            "A value autograd saved for the backward pass was changed in place afterwards "
            "(with +=, add_, zero_ ...), so the gradient can no longer be computed. Use "
            f"`y = y + 1` instead of `y += 1`. (torch: {text})")
    return "runtime", f"{who}.backward() failed: {text}"


def explain_runtime_error(exc: Exception) -> tuple[str, str]:
    """(kind, message) for an error torch (or Python arithmetic) raised during a step."""
    text = str(exc).strip()
    first = torch_sentence(exc)
    if "a leaf Variable that requires grad is being used in an in-place operation" in text:
        return "autograd", (
            "This changes a leaf tensor that requires grad in place (+=, add_, ...). "
            "Autograd forbids it because the leaf is where gradients end up. Do the update "
            "inside `with torch.no_grad():`, or write `x = x + 1` to make a new tensor. "
            f"(torch: {first})")
    if "can't allocate memory" in text or isinstance(exc, MemoryError):
        return "memory", "The program ran out of its memory budget and was stopped."
    if "modified by an inplace operation" in text:
        return explain_backward_error(exc, None, None, None)
    if isinstance(exc, ZeroDivisionError):
        return "runtime", "Division by zero (with plain numbers; tensors give inf instead)."
    if isinstance(exc, OverflowError):
        return "limit", f"A number grew too large to compute ({first})."
    if isinstance(exc, TypeError):
        return "runtime", f"Wrong kind of argument: {first}"
    if isinstance(exc, (IndexError, KeyError)):
        return "runtime", f"Index out of range: {first}"
    return "runtime", first


def non_leaf_grad_warning(name: str) -> str:
    return (f"`{name}.grad` is None: {name} is not a leaf (it was computed from other "
            "tensors), and autograd keeps .grad only for leaves, the tensors you create "
            f"with requires_grad=True. To see it, call {name}.retain_grad() before "
            "backward(). (torch warns: The .grad attribute of a Tensor that is not a leaf "
            "Tensor is being accessed.)")
