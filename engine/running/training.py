"""What a program that trains did at every ``backward()``: the numbers of each step.

A training loop calls backward once per step. After each call the run notes, as plain
data: the value backward ran from (the loss), the program's named single numbers at that
moment (the loss, a learning rate), and every named leaf that requires grad with its value
and its ``.grad`` just after this backward (before the update that usually follows). The
Playground's Training panel draws these per step; its step picker asks for one step's graph
with ``RunOptions.graph_step`` (see :class:`engine.running.graph.GraphRecorder`).

Bounded: at most ``Limits.max_backward_calls`` steps (the run refuses more), at most
:data:`MAX_TRACKED` leaves and :data:`MAX_TRACKED` numbers per step, and tensors as a
few numbers (their first :data:`FIRST_VALUES` elements and their norm), never in full.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from engine.language.values import ModuleValue
from engine.running.objects.modules import qualified_name

MAX_TRACKED = 24  # leaves, and named numbers, followed per step
FIRST_VALUES = 8  # elements of a tensor leaf kept per step


def number(value: Any) -> float | None:
    """A Python float for a one-element tensor or a real number, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1 and (
            value.is_floating_point() or not value.is_complex()):
        return float(value.detach().reshape(()).item())
    return None


def tensor_numbers(value: torch.Tensor | None) -> dict[str, Any] | None:
    """A leaf's value or grad at one step: all of a single number, else its shape, first
    elements and norm (what a per-step chart can draw)."""
    if value is None:
        return None
    t = value.detach()
    if t.numel() == 1:
        return {"shape": list(t.shape), "value": float(t.reshape(()).item())}
    flat = t.reshape(-1)
    as_float = flat if flat.is_floating_point() else flat.double()
    return {"shape": list(t.shape), "first": as_float[:FIRST_VALUES].tolist(),
            "norm": float(torch.linalg.vector_norm(as_float).item())}


def named_leaves(env: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Leaves that require grad, by the name the program gives them: variables, then
    the parameters of the modules it holds (``fc1.weight``), in the program's order."""
    found: dict[str, torch.Tensor] = {}
    seen: set[int] = set()
    for name, value in env.items():
        if isinstance(value, torch.Tensor) and value.is_leaf and value.requires_grad \
                and id(value) not in seen:
            found[name] = value
            seen.add(id(value))
        elif isinstance(value, ModuleValue):
            for path, parameter in value.module.named_parameters():
                if id(parameter) not in seen:
                    found[qualified_name(name, path, "." not in path)] = parameter
                    seen.add(id(parameter))
        if len(found) >= MAX_TRACKED:
            break
    return found


def named_numbers(env: dict[str, Any], leaves: dict[str, torch.Tensor]) -> dict[str, float]:
    """The program's named single numbers that are not leaves: the loss, a learning
    rate, an accuracy. Loop counters (ints) are left out: they are the step axis."""
    found: dict[str, float] = {}
    leaf_ids = {id(t) for t in leaves.values()}
    for name, value in env.items():
        if isinstance(value, (bool, int)) or id(value) in leaf_ids:
            continue
        if isinstance(value, torch.Tensor) and (value.numel() != 1
                                                or not value.is_floating_point()):
            continue
        got = number(value)
        if got is not None:
            found[name] = got
            if len(found) >= MAX_TRACKED:
                break
    return found


def step_record(env: dict[str, Any], root_name: str | None, root: torch.Tensor,
                line: int | None) -> dict[str, Any]:
    """The numbers of one backward() call, taken right after it ran."""
    leaves = named_leaves(env)
    return {
        "line": line,
        "root": root_name,
        "loss": number(root) if root.numel() == 1 else None,
        "numbers": named_numbers(env, leaves),
        "leaves": {name: {"value": tensor_numbers(t), "grad": tensor_numbers(t.grad)}
                   for name, t in leaves.items()},
    }


def finite(step: dict[str, Any]) -> bool:
    """Whether every number of a step is finite (no NaN or infinity yet)."""
    values = [step["loss"]] if step["loss"] is not None else []
    for leaf in step["leaves"].values():
        for part in (leaf["value"], leaf["grad"]):
            if part is not None:
                values.append(part.get("value", part.get("norm")))
    return all(v is None or math.isfinite(v) for v in values)
