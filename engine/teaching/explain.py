"""Torch's errors and warnings, explained in words a learner understands.

Each explanation keeps torch's own sentence at the end, so the learner can connect it with
what they will see in a notebook.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine.running import progress

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
            f"(torch: {text.rstrip('.')})")
    if "grad can be implicitly created only for scalar outputs" in text:
        return "autograd", (
            f"{who}.backward() needs a single number, but {who} has {numel} elements. "
            f"Reduce it first, e.g. {name or 'y'}.sum().backward() or "
            f"{name or 'y'}.mean().backward(), or pass gradient=torch.ones_like("
            f"{name or 'y'}). (torch: {text.rstrip('.')})")
    if "backward through the graph a second time" in text:
        return "autograd", (
            f"{who}.backward() was already run through this graph, and torch frees the "
            "values it saved for backward after the first pass. Call "
            "backward(retain_graph=True) the first time to keep them, or recompute "
            f"{who} before calling backward again. (torch: {text.rstrip('.')})")
    if "modified by an inplace operation" in text:
        return "autograd", (
            "A value autograd saved for the backward pass was changed in place afterwards "
            "(with +=, add_, zero_ ...), so the gradient can no longer be computed. Use "
            f"`y = y + 1` instead of `y += 1`. (torch: {text.rstrip('.')})")
    return "runtime", f"{who}.backward() failed: {text}"


def explain_runtime_error(exc: Exception, line: int | None = None,
                          budget_mb: int | None = None) -> tuple[str, str]:
    """(kind, message) for an error torch (or Python arithmetic) raised during a step
    (at ``line``, if known; ``budget_mb`` is the memory limit, for running out of it)."""
    text = str(exc).strip()
    first = torch_sentence(exc)
    if "a leaf Variable that requires grad is being used in an in-place operation" in text:
        return "autograd", (
            "This changes a leaf tensor that requires grad in place (+=, add_, ...). "
            "Autograd forbids it because the leaf is where gradients end up. Do the update "
            "inside `with torch.no_grad():`, or write `x = x + 1` to make a new tensor. "
            f"(torch: {first.rstrip('.')})")
    if "can't allocate memory" in text or isinstance(exc, MemoryError):
        stage = progress.RUNNING if line else progress.AFTER_RUN
        return "memory", memory_limit_message(budget_mb, stage, line)
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


# -- where a NaN or an infinity came from --------------------------------------------------
_LOGS = frozenset({"log", "log2", "log10"})
_DIVISIONS = frozenset({"divide", "div", "true_divide", "reciprocal", "fmod", "remainder"})
_DOMAINS: dict[str, str] = {  # op: the numbers it is defined for
    "acos": "numbers from -1 to 1", "asin": "numbers from -1 to 1",
    "acosh": "numbers of at least 1", "atanh": "numbers strictly between -1 and 1",
    "logit": "numbers from 0 to 1",
}


def non_finite_cause(op: str, inputs: list[Any], result: Any) -> str:
    """Why ``op`` gave NaN or an infinity from finite ``inputs`` (tensors and numbers), in
    a learner's words: the domain of the function, a division by zero, or an overflow."""
    import torch

    stem = op.rsplit(".", 1)[-1]
    tensors = [torch.as_tensor(v, dtype=torch.float64) for v in inputs
               if isinstance(v, (int, float, torch.Tensor)) and not isinstance(v, bool)]
    first = tensors[0] if tensors else torch.zeros(0)
    has_nan = bool(torch.isnan(result).any())
    if stem in _LOGS | {"log1p"}:
        edge = -1.0 if stem == "log1p" else 0.0
        if bool((first < edge).any()):
            below = "a negative number" if edge == 0 else f"a number below {edge:g}"
            return f"{stem} of {below} is not a real number"
        return f"{stem} of {edge:g} is minus infinity"
    if stem in ("sqrt", "rsqrt") and bool((first < 0).any()):
        return f"{stem} of a negative number is not a real number"
    if stem in _DOMAINS:
        return f"{stem} is defined only for {_DOMAINS[stem]}"
    if stem in _DIVISIONS or stem == "rsqrt":
        zero_by_zero = len(tensors) > 1 and bool(((tensors[0] == 0) & (tensors[1] == 0)).any())
        if zero_by_zero and has_nan:
            return "0 divided by 0 has no value"
        return "dividing by 0 gives an infinity"
    if stem in ("power", "pow") and len(tensors) > 1:
        base, exponent = tensors[0], tensors[1]
        if has_nan and bool(((base < 0) & (exponent != exponent.round())).any()):
            return "a negative number to a fractional power is not a real number"
        if bool(((base == 0) & (exponent < 0)).any()):
            return "0 to a negative power is an infinity"
    if not has_nan and isinstance(result, torch.Tensor) and result.is_floating_point():
        largest = torch.finfo(result.dtype).max
        return (f"the result is larger than the largest {str(result.dtype).split('.')[-1]} "
                f"number (about {largest:.2g}), so it became an infinity")
    return "it gave NaN from finite numbers"


def non_finite_warning(origin: Mapping[str, Any]) -> str:
    """The sentence saying where the first NaN or infinity of a run appeared and why;
    ``origin`` is what the interpreter recorded at the first operation that made one."""
    target = f" (assigned to `{origin['target']}`)" if origin.get("target") else ""
    if origin["nan"]:
        what, spreads = "NaN", "Arithmetic on a NaN gives NaN, so it spreads to the values " \
                               "computed from it"
    else:
        what, spreads = "An infinity", ("Arithmetic on an infinity gives infinities or NaN "
                                        "(inf - inf, 0 * inf) in what is computed from it")
    # Gradients are not mentioned: they may well be finite (d log(x)/dx = 1/x at x = -3).
    return (f"{what} first appeared on line {origin['line']}, in `{origin['code']}`{target}: "
            f"{origin['cause']}. {spreads}.")


# -- the time and memory limits ---------------------------------------------------------------
def _while(stage: int, line: int | None) -> str:
    """When a limit hit, from engine.running.progress's stage and line."""
    if stage == progress.RUNNING and line:
        return f"while line {line} was running"
    if stage == progress.AFTER_RUN:
        return "after its last line, while autograd computed the gradients and the graph"
    return "while it was being checked, before it ran"


def time_limit_message(seconds: float, stage: int, line: int | None = None) -> str:
    """Which limit, when, and what to change."""
    advice = ("Make it shorter: fewer lines." if stage == progress.CHECKING else
              "Make it do less work: smaller tensors (products of large matrices are the "
              "slowest), fewer lines that repeat the same work, fewer backward() calls.")
    return (f"The program ran longer than {seconds:g} s, its time limit, and was stopped "
            f"{_while(stage, line)}. {advice}")


def operations_limit_message(limit: int, line: int) -> str:
    return (f"The program ran more than {limit:,} operations, its limit, and was stopped "
            f"while line {line} was running. Compute on whole tensors at once (x.sum(), "
            "x * y) instead of many single numbers, or repeat fewer lines.")


def memory_limit_message(budget_mb: int | None, stage: int, line: int | None = None) -> str:
    budget = f"its memory budget of {budget_mb:,} MB" if budget_mb else "its memory budget"
    return (f"The program needed more than {budget} and was stopped "
            f"{_while(stage, line)}. Make the tensors smaller: a 1000 × 1000 tensor takes "
            "4 MB, and each operation on it makes another, which autograd may keep for "
            "backward.")
