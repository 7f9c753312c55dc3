"""torch.nn's layers, made as plain torch makes them but from the run's own generator.

``torch.manual_seed(0); nn.Linear(3, 4)`` must give the learner the weights plain torch
gives, yet the process-wide RNG belongs to every viewer and must never move. So a layer
is built without initialising (``torch.nn.utils.skip_init``: on the meta device, then
memory on the CPU), its size is known before any memory is taken, and its parameters are
then filled the way its ``reset_parameters`` does, with torch.nn.init's own functions
given the run's generator (:data:`INITIALISERS`, one entry per layer kind that draws).
Dropout's mask is drawn the way torch's CPU kernel draws it (``bernoulli_(1 - p)`` then
``/ (1 - p)``), from the same generator; the graph is torch's own (a ``MulBackward0``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn import init

# What a layer's construction may be given: sizes, flags, numbers, shapes, text options.
PLAIN_ARGUMENTS = (bool, int, float, str, type(None), torch.dtype)


def _linear_like(module: Any, generator: torch.Generator) -> None:
    """nn.Linear / Conv*d.reset_parameters, from ``generator``."""
    init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
    if module.bias is not None:
        fan_in, _ = init._calculate_fan_in_and_fan_out(module.weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        init.uniform_(module.bias, -bound, bound, generator=generator)


def _bilinear(module: nn.Bilinear, generator: torch.Generator) -> None:
    bound = 1 / math.sqrt(module.weight.size(1))
    init.uniform_(module.weight, -bound, bound, generator=generator)
    if module.bias is not None:
        init.uniform_(module.bias, -bound, bound, generator=generator)


def _embedding(module: nn.Embedding, generator: torch.Generator) -> None:
    init.normal_(module.weight, generator=generator)
    if module.padding_idx is not None:
        with torch.no_grad():
            module.weight[module.padding_idx].fill_(0)


def _no_draws(module: Any, generator: torch.Generator) -> None:
    """LayerNorm, BatchNorm: ones and zeros, no random numbers."""
    module.reset_parameters()


# One entry per layer kind with parameters: how its reset_parameters draws them.
INITIALISERS: dict[type, Callable[[Any, torch.Generator], None]] = {
    nn.Linear: _linear_like,
    nn.Conv1d: _linear_like,
    nn.Conv2d: _linear_like,
    nn.Bilinear: _bilinear,
    nn.Embedding: _embedding,
    nn.LayerNorm: _no_draws,
    nn.BatchNorm1d: _no_draws,
    nn.BatchNorm2d: _no_draws,
}
CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def parameter_count(kind: type, args: list[Any], kwargs: dict[str, Any]) -> int:
    """Elements the layer's parameters and buffers will hold, found on the meta device
    (no memory): ``nn.Linear(10**6, 10**6)`` is refused before it is made."""
    if kind not in INITIALISERS:
        return 0
    with torch.no_grad():
        meta = kind(*args, **{**kwargs, "device": "meta"})
    return sum(t.numel() for t in [*meta.parameters(), *meta.buffers()])


def make_layer(kind: type, args: list[Any], kwargs: dict[str, Any],
               generator: torch.Generator) -> nn.Module:
    """The layer, its parameters drawn from ``generator`` as plain torch draws them from
    its global RNG."""
    initialise = INITIALISERS.get(kind)
    if initialise is None:
        return kind(*args, **kwargs)  # no parameters: nothing is drawn
    module = nn.utils.skip_init(kind, *args, **kwargs)
    initialise(module, generator)
    return module


def reset_parameters(module: nn.Module, generator: torch.Generator) -> None:
    """``layer.reset_parameters()``: drawn again, from the run's generator."""
    initialise = INITIALISERS.get(type(module))
    if initialise is not None:
        initialise(module, generator)


def dropout(x: torch.Tensor, p: float, training: bool,
            generator: torch.Generator) -> torch.Tensor:
    """F.dropout on the CPU, as torch computes it, with the run's generator."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return x
    if p == 1:
        return x * torch.zeros_like(x)
    noise = torch.empty_like(x).bernoulli_(1 - p, generator=generator)
    noise.div_(1 - p)
    return x * noise


def describe(module: nn.Module, class_name: str | None = None) -> str:
    """A layer in a few characters, for its box in the graph: ``Linear(3 → 4)``."""
    name = class_name or type(module).__name__
    if isinstance(module, nn.Linear):
        return f"{name}({module.in_features} → {module.out_features})"
    if isinstance(module, nn.Bilinear):
        return f"{name}({module.in1_features}, {module.in2_features} → {module.out_features})"
    if isinstance(module, (nn.Conv1d, nn.Conv2d)):
        size = "×".join(str(k) for k in module.kernel_size)
        return f"{name}({module.in_channels} → {module.out_channels}, {size})"
    if isinstance(module, nn.Embedding):
        return f"{name}({module.num_embeddings}, {module.embedding_dim})"
    if isinstance(module, nn.Dropout):
        return f"{name}(p={module.p:g})"
    return name
