"""The language's allow-list: every name, function, method and attribute a program may use.

This is the one table to edit to let learners use another torch function. Nothing outside
these tables is reachable: the checker resolves every name and attribute in a program
against them before anything runs, and the interpreter calls only the callables stored here.
No entry is ever looked up with ``getattr(torch, user_text)``.

Each function entry says how the interpreter must guard it:

- ``sizes``: ``"same"`` (result no larger than its inputs: elementwise math, reductions),
  ``"broadcast"`` (result has the broadcast shape of its tensor arguments) or
  ``"predict"`` (result size is predicted on PyTorch's ``meta`` device before allocating:
  creation functions, matmul, expand, repeat, cat, ...).
- ``random``: draws random numbers, so it is handed the run's own ``torch.Generator``
  (the process-wide RNG is shared by every viewer and must never move).
- ``numbers``: Python numbers are turned into tensors first (bare ``sin(2.0)`` works).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Function:
    """A callable a program may call, as the learner writes it (``torch.sin``, ``F.relu``)."""

    name: str
    call: Callable[..., Any]
    sizes: str = "same"  # "same" | "broadcast" | "predict"
    creates: bool = False  # takes sizes, allocates fresh storage (meta check gets device=)
    random: bool = False
    numbers: bool = False


def _table(prefix: str, module: Any, names: str, **flags: Any) -> dict[str, Function]:
    """Entries for ``names`` (whitespace separated) of a trusted module, fixed at import."""
    return {n: Function(f"{prefix}{n}", getattr(module, n), **flags) for n in names.split()}


# --- torch.X -------------------------------------------------------------------------
_ELEMENTWISE = """
    abs neg negative reciprocal sign sqrt rsqrt square exp exp2 expm1 log log2 log10 log1p
    sin cos tan asin acos atan sinh cosh tanh asinh acosh atanh sigmoid relu erf erfc
    floor ceil round trunc frac clamp clip logit sinc deg2rad rad2deg nan_to_num
    softmax log_softmax cumsum cumprod
"""
_REDUCTIONS = """
    sum mean prod std var norm amax amin argmax argmin median logsumexp
    numel dot vdot trace diagonal tril triu transpose t flatten squeeze unsqueeze
    reshape flip roll detach clone allclose isfinite isnan isinf
"""
_BROADCASTING = """
    max min add sub subtract mul multiply div divide true_divide pow maximum minimum atan2 where
    hypot fmod remainder lerp eq ne lt le gt ge logical_and logical_or logical_not
"""
_PREDICTED = "diag diag_embed matmul mm mv bmm outer cat concat stack hstack vstack kron cross tile"

TORCH_FUNCTIONS: dict[str, Function] = {
    **_table("torch.", torch, _ELEMENTWISE),
    **_table("torch.", torch, _REDUCTIONS),
    **_table("torch.", torch, _BROADCASTING, sizes="broadcast"),
    **_table("torch.", torch, _PREDICTED, sizes="predict"),
    # Creation. ``tensor`` copies a literal whose size the checker already bounded.
    **_table("torch.", torch, "tensor as_tensor"),
    **_table("torch.", torch, "ones zeros full arange linspace logspace eye",
             sizes="predict", creates=True),
    **_table("torch.", torch, "rand randn randint", sizes="predict", creates=True,
             random=True),
    **_table("torch.", torch, "ones_like zeros_like full_like"),
    **_table("torch.", torch, "rand_like randn_like", random=True),
    **_table("torch.", torch, "manual_seed", random=True),
}

# --- torch.nn.functional.X (also F.X) --------------------------------------------------
F_FUNCTIONS: dict[str, Function] = {
    **_table("F.", F, """
        relu relu6 leaky_relu elu selu celu gelu silu mish softplus softsign hardtanh
        hardsigmoid hardswish tanhshrink logsigmoid sigmoid tanh softmax log_softmax
        normalize
    """),
    **_table("F.", F, """
        mse_loss l1_loss smooth_l1_loss huber_loss binary_cross_entropy
        binary_cross_entropy_with_logits cross_entropy nll_loss kl_div
        cosine_similarity
    """, sizes="broadcast"),
    **_table("F.", F, "linear", sizes="predict"),
}

# --- math.X: Python floats ---------------------------------------------------------------
MATH_FUNCTIONS: dict[str, Function] = _table(
    "math.", math, "sin cos tan asin acos atan atan2 sinh cosh tanh exp log log2 log10 log1p "
    "sqrt fabs floor ceil erf hypot pow radians degrees",
)

# --- bare names: the math a learner writes without a module ---------------------------
BARE_FUNCTIONS: dict[str, Function] = {
    **{n: Function(n, getattr(torch, n), numbers=True) for n in (
        "sin cos tan exp log log2 log10 log1p sqrt tanh sigmoid relu asin acos atan "
        "sinh cosh erf square").split()},
    "abs": Function("abs", abs),
    "float": Function("float", float),
    "int": Function("int", int),
    "round": Function("round", lambda number, ndigits=None: _bounded_round(number, ndigits)),
    "len": Function("len", len),
}

def _bounded_round(number: Any, ndigits: Any = None) -> Any:
    """Python's round, with ndigits bounded: ``round(5, -10**9)`` would compute 10**(10**9)."""
    if ndigits is None:
        return round(number)
    if isinstance(ndigits, bool) or not isinstance(ndigits, int) or abs(ndigits) > 30:
        raise OverflowError("round(x, n) takes a whole number n between -30 and 30")
    return round(number, ndigits)


# --- constants reachable as attributes of modules -----------------------------------------
CONSTANTS: dict[str, Any] = {
    "torch.pi": math.pi,
    "torch.e": math.e,
    "torch.inf": math.inf,
    "torch.float32": torch.float32,
    "torch.float": torch.float32,
    "torch.float64": torch.float64,
    "torch.double": torch.float64,
    "torch.int64": torch.int64,
    "torch.long": torch.int64,
    "torch.bool": torch.bool,
    "math.pi": math.pi,
    "math.e": math.e,
    "math.tau": math.tau,
    "math.inf": math.inf,
}

# --- how a program may name a module -------------------------------------------------
# The modules themselves never become values: they may only start a dotted name that
# resolves to an entry above. These prefixes are what each spelling means.
MODULE_PREFIXES: dict[str, tuple[str, dict[str, Function]]] = {
    "torch": ("torch.", TORCH_FUNCTIONS),
    "torch.nn.functional": ("F.", F_FUNCTIONS),
    "F": ("F.", F_FUNCTIONS),
    "math": ("math.", MATH_FUNCTIONS),
}

# The only imports accepted (so notebook cells paste cleanly); each binds one fixed name.
IMPORTS: dict[tuple[str, str | None], str] = {
    ("torch", None): "torch",
    ("math", None): "math",
    ("torch.nn.functional", "F"): "F",
}

# Context managers for ``with``: the grad modes of autograd.
GRAD_MODES: dict[str, bool] = {"torch.no_grad": False, "torch.enable_grad": True}

# --- tensors ---------------------------------------------------------------------------
# Methods that cannot grow a tensor (math, reductions, views of the same elements,
# autograd bookkeeping). ``backward`` and the in-place ones are handled like any other.
TENSOR_METHODS_SAME: frozenset[str] = frozenset("""
    abs neg reciprocal sign sqrt rsqrt square exp expm1 log log2 log10 log1p sin cos tan
    asin acos atan sinh cosh tanh asinh acosh atanh sigmoid relu erf floor ceil round trunc
    frac clamp clip logit softmax log_softmax cumsum cumprod
    sum mean prod std var norm amax amin argmax argmin median logsumexp
    view reshape view_as reshape_as flatten squeeze unsqueeze t transpose permute flip roll
    diagonal tril triu contiguous clone detach float double numel dim size item
    backward zero_ requires_grad_ retain_grad detach_ fill_ clamp_ neg_
    isfinite isnan all any
""".split())
TENSOR_METHODS_BROADCAST: frozenset[str] = frozenset("""
    max min add sub mul div pow maximum minimum atan2 eq ne lt le gt ge where lerp
    add_ sub_ mul_ div_ pow_ copy_ masked_fill
""".split())
TENSOR_METHODS_PREDICT: frozenset[str] = frozenset(
    "diag matmul mm mv dot outer expand expand_as repeat tile repeat_interleave".split()
)
TENSOR_METHODS: frozenset[str] = (
    TENSOR_METHODS_SAME | TENSOR_METHODS_BROADCAST | TENSOR_METHODS_PREDICT
)

# Attributes read without a call. ``grad_fn`` is given as its name only (a string), so
# ``next_functions`` and the rest of autograd's internals stay out of reach.
TENSOR_ATTRIBUTES: frozenset[str] = frozenset(
    "grad is_leaf requires_grad grad_fn shape dtype ndim T mT".split()
)

# --- keyword arguments ---------------------------------------------------------------------
# Keyword names a call may use. Values are ordinary checked expressions; text in quotes is
# accepted only for the keywords below, and only from their enumerations.
KEYWORDS: frozenset[str] = frozenset("""
    dim keepdim requires_grad dtype min max steps start end step p eps negative_slope alpha
    beta weight pos_weight reduction retain_graph create_graph gradient inplace unbiased
    correction approximate diagonal dim0 dim1 size fill_value low high lambd threshold
    beta1 margin num_classes other input target exponent out_features bias label_smoothing
    base rounding_mode nan posinf neginf
""".split())
STRING_KEYWORDS: dict[str, frozenset[str]] = {
    "reduction": frozenset({"mean", "sum", "none", "batchmean"}),
    "approximate": frozenset({"none", "tanh"}),
    "rounding_mode": frozenset({"trunc", "floor"}),
}

# Names a program may not assign: they would shadow the language itself.
RESERVED: frozenset[str] = frozenset(
    {"torch", "F", "math", "print", "True", "False", "None"} | set(BARE_FUNCTIONS)
)


def resolve_dotted(dotted: str) -> tuple[str, Function | Any] | None:
    """Resolve ``torch.sin`` / ``torch.nn.functional.relu`` / ``math.pi`` from the tables.

    Returns ``("function", Function)``, ``("constant", value)``, ``("grad_mode", bool)`` or
    None when the name is not in the language.
    """
    if dotted in CONSTANTS:
        return "constant", CONSTANTS[dotted]
    if dotted in GRAD_MODES:
        return "grad_mode", GRAD_MODES[dotted]
    module, _, name = dotted.rpartition(".")
    if module in MODULE_PREFIXES:
        table = MODULE_PREFIXES[module][1]
        if name in table:
            return "function", table[name]
    return None
