"""Values typed in the input boxes (``3``, ``-7.5``, ``[1, 2, 3]``) as tensors, without eval.

The text is parsed with ``ast.parse(mode="eval")`` and only number literals, unary minus
and (nested) lists or tuples of them are accepted; everything else is refused with the
name of the input, so a learner knows which box to fix.
"""

from __future__ import annotations

import ast
import math
from typing import Any

import torch

from engine.errors import ProgramError, ProgramRefused
from engine.language import parsing
from engine.limits import Limits

MAX_INPUT_DIMS = 8
DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "float64": torch.float64}


def _fail(name: str, message: str) -> ProgramRefused:
    return ProgramRefused(ProgramError(f"Input `{name}`: {message}", "input"))


def parse_input_text(name: str, text: str, limits: Limits) -> Any:
    """``"[1, 2.5]"`` -> ``[1.0, 2.5]``; refuses anything but numbers in (nested) lists."""
    if len(text) > limits.max_input_chars:
        raise _fail(name, f"the text is longer than {limits.max_input_chars:,} characters.")
    if not text.strip():
        raise _fail(name, "the box is empty: type a number such as 3 or a list such as "
                          "[1, 2, 3].")
    if not text.isascii():
        raise _fail(name, "use plain digits, '.', '-', ',' and brackets only.")
    if text.count("[") + text.count("(") > limits.max_input_elements:
        raise _fail(name, "too many brackets.")
    try:
        tree = parsing.parse(text.strip(), mode="eval")
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        raise _fail(name, f"{text.strip()[:40]!r} is not a number or a list of numbers, "
                          "e.g. 3, -7.5 or [1, 2, 3].") from None
    return _literal(name, tree.body, limits)


def _literal(name: str, root: ast.AST, limits: Limits) -> Any:
    """Numbers and nested lists from the tree, built without recursion."""
    count = 0

    def number(node: ast.AST) -> float | None:
        sign = 1.0
        while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            sign = -sign if isinstance(node.op, ast.USub) else sign
            node = node.operand
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            value = sign * float(node.value)
            if not math.isfinite(value):
                raise _fail(name, "numbers must be finite (no inf or nan).")
            if abs(value) > limits.max_constant:
                raise _fail(name, f"{value:g} is too large (limit ±{limits.max_constant:g}).")
            return value
        return None

    single = number(root)
    if single is not None:
        return single
    if not isinstance(root, (ast.List, ast.Tuple)):
        raise _fail(name, "expected a number or a list of numbers, e.g. [1, 2, 3].")
    result: list[Any] = []
    stack: list[tuple[ast.AST, list[Any]]] = [(root, result)]
    while stack:
        node, into = stack.pop()
        for element in node.elts:  # type: ignore[attr-defined]
            value = number(element)
            if value is not None:
                count += 1
                if count > limits.max_input_elements:
                    raise _fail(name, f"more than {limits.max_input_elements:,} numbers.")
                into.append(value)
            elif isinstance(element, (ast.List, ast.Tuple)):
                inner: list[Any] = []
                into.append(inner)
                stack.append((element, inner))
            else:
                raise _fail(name, "lists may contain only numbers (and lists of numbers).")
    return result


def make_input(name: str, value: Any, requires_grad: bool, dtype: str,
               limits: Limits) -> torch.Tensor:
    """A fresh leaf tensor for one input box (text, number, nested list or tensor)."""
    if not isinstance(name, str):
        raise _fail(repr(name), "input names must be text, such as x or w1.")
    if not name.isidentifier() or not name.isascii() or name.startswith("_"):
        raise _fail(name, "input names must be plain variable names such as x or w1.")
    if dtype not in DTYPES:
        raise _fail(name, f"dtype must be one of {', '.join(DTYPES)}.")
    if isinstance(value, str):
        value = parse_input_text(name, value, limits)
    if isinstance(value, torch.Tensor):
        if value.numel() > limits.max_input_elements:
            raise _fail(name, f"more than {limits.max_input_elements:,} numbers.")
        tensor = value.detach().clone().to(DTYPES[dtype])
    else:
        if isinstance(value, bool) or not isinstance(value, (int, float, list, tuple)):
            raise _fail(name, "expected a number or a list of numbers.")
        if isinstance(value, (list, tuple)) and not _is_plain(value, limits):
            raise _fail(name, "lists may contain only numbers (and lists of numbers), "
                              f"at most {limits.max_input_elements:,} of them.")
        try:
            tensor = torch.tensor(value, dtype=DTYPES[dtype])
        except (ValueError, TypeError, RuntimeError, OverflowError) as exc:
            raise _fail(name, "the lists must be rectangular and at most "
                              f"{MAX_INPUT_DIMS} levels deep ({exc}).") from None
    if tensor.dim() > MAX_INPUT_DIMS:
        raise _fail(name, f"at most {MAX_INPUT_DIMS} levels of nested lists.")
    if not torch.isfinite(tensor).all():
        raise _fail(name, "numbers must be finite (no inf or nan).")
    if tensor.numel() and tensor.abs().max().item() > limits.max_constant:
        raise _fail(name, f"numbers are limited to ±{limits.max_constant:g}.")
    return tensor.requires_grad_(requires_grad)


def _is_plain(value: Any, limits: Limits) -> bool:
    """Only numbers in (nested) lists, and not too many of them."""
    stack, count = [value], 0
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
            continue
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            return False
        count += 1
        if count > limits.max_input_elements:
            return False
    return True
