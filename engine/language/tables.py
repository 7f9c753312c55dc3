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

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
import torch.utils.data


@dataclass(frozen=True)
class Function:
    """A callable a program may call, as the learner writes it (``torch.sin``, ``F.relu``)."""

    name: str
    call: Callable[..., Any]
    sizes: str = "same"  # "same" | "broadcast" | "predict"
    creates: bool = False  # takes sizes, allocates fresh storage (meta check gets device=)
    random: bool = False
    numbers: bool = False
    # Handled by the interpreter itself, not by calling ``call`` as is: the autograd API
    # that calls the program's own functions, grad modes, legacy spellings (see
    # engine.running.calls.SPECIAL).
    special: str = ""


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
    reshape flip roll detach clone allclose isfinite isnan isinf all any
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
    **_table("torch.", torch, "randperm randint_like normal", sizes="predict", random=True),
    **_table("torch.", torch, "empty empty_like", sizes="predict", creates=True),
    **_table("torch.", torch, """
        is_tensor is_floating_point numel sgn square clamp_min clamp_max addmm addmv
        einsum chunk split unbind topk sort argsort cumsum flatten gather index_select
        masked_select nonzero count_nonzero equal sinc xlogy log_softmax erfinv
        logaddexp std_mean var_mean dist cdist cosine_similarity
        broadcast_to broadcast_tensors meshgrid diff heaviside signbit is_grad_enabled
        is_inference_mode_enabled get_default_dtype
    """, sizes="predict"),
    # Grad mode as a call: ``torch.set_grad_enabled(False)`` on its own line switches
    # recording off for the rest of the run (undone after it, as every process-wide
    # setting is); ``with torch.set_grad_enabled(False):`` for a block.
    "set_grad_enabled": Function("torch.set_grad_enabled", torch.set_grad_enabled,
                                 special="grad_mode_call"),
    # Older tutorials' spellings: the legacy constructors build float/int tensors from
    # data or sizes, as they do in torch.
    **{n: Function(f"torch.{n}", getattr(torch, n), sizes="predict", special="legacy")
       for n in "Tensor FloatTensor DoubleTensor LongTensor IntTensor BoolTensor".split()},
    "device": Function("torch.device", torch.device, special="device"),
    "Generator": Function("torch.Generator", torch.Generator, special="generator"),
}

# --- torch.autograd: autograd's own API; the program's functions are called back ---------
AUTOGRAD_FUNCTIONS: dict[str, Function] = {
    "grad": Function("torch.autograd.grad", torch.autograd.grad, special="autograd_grad"),
    "backward": Function("torch.autograd.backward", torch.autograd.backward,
                         special="autograd_backward"),
    "Variable": Function("torch.autograd.Variable", torch.autograd.Variable,
                         special="variable"),
    "set_detect_anomaly": Function("torch.autograd.set_detect_anomaly",
                                   torch.autograd.set_detect_anomaly, special="anomaly"),
    # gradcheck(f, inputs): finite differences against autograd, calling the program's f
    "gradcheck": Function("torch.autograd.gradcheck", torch.autograd.gradcheck,
                          special="functional"),
    "gradgradcheck": Function("torch.autograd.gradgradcheck", torch.autograd.gradgradcheck,
                              special="functional"),
}
FUNCTIONAL_FUNCTIONS: dict[str, Function] = {
    n: Function(f"torch.autograd.functional.{n}", getattr(torch.autograd.functional, n),
                special="functional")
    for n in "jacobian hessian vjp jvp hvp vhp".split()
}
FUNC_TRANSFORMS: dict[str, Function] = {
    n: Function(f"torch.func.{n}", getattr(torch.func, n), special="transform")
    for n in "grad grad_and_value vmap jacrev jacfwd hessian".split()
}
FUNC_CALLS: dict[str, Function] = {
    n: Function(f"torch.func.{n}", getattr(torch.func, n), special="func_call")
    for n in "vjp jvp".split()
}
# Forward-mode AD: a dual tensor carries its tangent forward through every operation.
FORWARD_AD_FUNCTIONS: dict[str, Function] = _table(
    "torch.autograd.forward_ad.", torch.autograd.forward_ad, "make_dual unpack_dual")
FUNCTOOLS_FUNCTIONS: dict[str, Function] = {
    "partial": Function("functools.partial", functools.partial, special="partial"),
}
CUDA_FUNCTIONS: dict[str, Function] = {
    "is_available": Function("torch.cuda.is_available", lambda: False),
    "device_count": Function("torch.cuda.device_count", lambda: 0),
}

# --- torch.nn.functional.X (also F.X) --------------------------------------------------
F_FUNCTIONS: dict[str, Function] = {
    **_table("F.", F, """
        relu relu6 leaky_relu elu selu celu gelu silu mish softplus softsign hardtanh
        hardsigmoid hardswish tanhshrink logsigmoid sigmoid tanh softmax log_softmax
        normalize avg_pool1d avg_pool2d max_pool1d max_pool2d
    """),
    # dropout draws its mask from the run's generator (engine.running.objects.layers)
    "dropout": Function("F.dropout", F.dropout, special="dropout"),
    **_table("F.", F, """
        mse_loss l1_loss smooth_l1_loss huber_loss binary_cross_entropy
        binary_cross_entropy_with_logits cross_entropy nll_loss kl_div
        cosine_similarity
    """, sizes="broadcast"),
    **_table("F.", F, "linear one_hot pad conv1d conv2d adaptive_avg_pool1d "
             "adaptive_avg_pool2d", sizes="predict"),
}

# --- torch.nn: layers and Modules, built with the run's generator ----------------------
# Each layer is made as torch makes it, then its parameters are initialised the way its
# ``reset_parameters`` does but from the run's own generator (engine.running.objects.layers),
# so ``torch.manual_seed(0); nn.Linear(3, 4)`` gives plain torch's weights while the
# process's RNG never moves. The program calls a layer through the interpreter.
NN_LAYERS = """
    Linear Bilinear Embedding Conv1d Conv2d Sequential ModuleList ModuleDict Flatten
    Unflatten Identity Dropout LayerNorm BatchNorm1d BatchNorm2d MaxPool1d MaxPool2d
    AvgPool1d AvgPool2d AdaptiveAvgPool1d AdaptiveAvgPool2d ReLU LeakyReLU Tanh Sigmoid
    GELU SiLU ELU Softplus Softmax
    LogSoftmax MSELoss L1Loss BCELoss BCEWithLogitsLoss CrossEntropyLoss NLLLoss HuberLoss
    SmoothL1Loss
""".split()
NN_FUNCTIONS: dict[str, Function] = {
    **{n: Function(f"torch.nn.{n}", getattr(torch.nn, n), special="module")
       for n in NN_LAYERS},
    "Parameter": Function("torch.nn.Parameter", torch.nn.Parameter, special="parameter"),
}
# torch.nn.init: the random ones get the run's generator, the rest fill in place.
NN_INIT_FUNCTIONS: dict[str, Function] = {
    **_table("torch.nn.init.", torch.nn.init, """
        uniform_ normal_ xavier_uniform_ xavier_normal_ kaiming_uniform_ kaiming_normal_
        trunc_normal_ orthogonal_
    """, random=True),
    **_table("torch.nn.init.", torch.nn.init, "zeros_ ones_ constant_ eye_ calculate_gain"),
}
# torch.optim: torch's own optimizers and schedules, on the program's parameters.
OPTIMIZER_FUNCTIONS: dict[str, Function] = {
    n: Function(f"torch.optim.{n}", getattr(torch.optim, n), special="optimizer")
    for n in "SGD Adam AdamW RMSprop Adagrad".split()
}
# The keyword arguments each optimizer takes (torch's own switches that pick another
# implementation, foreach/fused/capturable/differentiable, are left out).
OPTIMIZER_OPTIONS: dict[str, frozenset[str]] = {
    "SGD": frozenset("lr momentum dampening weight_decay nesterov maximize".split()),
    "Adam": frozenset("lr betas eps weight_decay amsgrad maximize".split()),
    "AdamW": frozenset("lr betas eps weight_decay amsgrad maximize".split()),
    "RMSprop": frozenset("lr alpha eps weight_decay momentum centered maximize".split()),
    "Adagrad": frozenset("lr lr_decay weight_decay initial_accumulator_value eps "
                         "maximize".split()),
}
SCHEDULER_FUNCTIONS: dict[str, Function] = {
    n: Function(f"torch.optim.lr_scheduler.{n}", getattr(torch.optim.lr_scheduler, n),
                special="scheduler")
    for n in "StepLR ExponentialLR MultiStepLR".split()
}
# torch.utils.data: datasets of tensors and the loader of batches
# (engine.running.objects.data draws what torch draws, from the run's generator).
DATA_FUNCTIONS: dict[str, Function] = {
    "TensorDataset": Function("torch.utils.data.TensorDataset",
                              torch.utils.data.TensorDataset, special="dataset"),
    "DataLoader": Function("torch.utils.data.DataLoader", torch.utils.data.DataLoader,
                           special="dataloader"),
}
# Classes a program's class may derive from: what each makes of it.
CLASS_BASES: dict[str, str] = {"torch.nn.Module": "module",
                               "torch.autograd.Function": "function",
                               "torch.utils.data.Dataset": "dataset", "object": "plain"}
# The special methods a class may define besides __init__, by what it derives from: the
# protocol torch's API asks of it (the interpreter calls them for len(ds) and ds[i]).
PROTOCOL_METHODS: dict[str, frozenset[str]] = {
    "dataset": frozenset({"__len__", "__getitem__"})}
# What a program may call and read on a module, besides its parameters and submodules by
# name (``model.fc1``, ``layer.weight``) and the program's own methods and attributes.
MODULE_METHODS: frozenset[str] = frozenset("""
    parameters named_parameters children named_children modules named_modules buffers
    named_buffers zero_grad train eval requires_grad_ state_dict forward apply to cpu float
    double add_module register_parameter register_buffer reset_parameters append extend
    insert keys values items
""".split())
MODULE_ATTRIBUTES: frozenset[str] = frozenset("""
    training weight bias in_features out_features in1_features in2_features
    num_embeddings embedding_dim padding_idx in_channels out_channels kernel_size stride
    padding dilation groups normalized_shape eps elementwise_affine num_features momentum
    affine track_running_stats running_mean running_var num_batches_tracked p inplace
    negative_slope dim start_dim end_dim approximate reduction ignore_index label_smoothing
    delta beta apply
""".split())

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
    "torch.autograd": ("torch.autograd.", AUTOGRAD_FUNCTIONS),
    "torch.autograd.functional": ("torch.autograd.functional.", FUNCTIONAL_FUNCTIONS),
    "torch.func": ("torch.func.", {**FUNC_TRANSFORMS, **FUNC_CALLS}),
    "functorch": ("torch.func.", {**FUNC_TRANSFORMS, **FUNC_CALLS}),
    "torch.cuda": ("torch.cuda.", CUDA_FUNCTIONS),
    "functools": ("functools.", FUNCTOOLS_FUNCTIONS),
    "torch.autograd.forward_ad": ("torch.autograd.forward_ad.", FORWARD_AD_FUNCTIONS),
    "torch.nn": ("torch.nn.", NN_FUNCTIONS),
    "torch.nn.init": ("torch.nn.init.", NN_INIT_FUNCTIONS),
    "torch.optim": ("torch.optim.", OPTIMIZER_FUNCTIONS),
    "torch.optim.lr_scheduler": ("torch.optim.lr_scheduler.", SCHEDULER_FUNCTIONS),
    "torch.utils.data": ("torch.utils.data.", DATA_FUNCTIONS),
}

# Imports accepted (so notebook cells paste cleanly): each binds one name to a fixed
# module path of the tables above (``import torch.autograd.functional as AF``) or to one
# entry (``from torch.autograd import grad``). The module never becomes a value.
IMPORTS: dict[tuple[str, str | None], str] = {
    ("torch", None): "torch",
    ("math", None): "math",
    ("torch.nn.functional", "F"): "F",
}
MODULE_ALIASES: frozenset[str] = frozenset(
    {"torch", "math", "torch.nn.functional", "torch.autograd", "torch.autograd.functional",
     "torch.func", "functorch", "torch.cuda", "functools", "torch.autograd.forward_ad",
     "torch.nn", "torch.nn.init", "torch.optim", "torch.optim.lr_scheduler",
     "torch.utils.data"})
# Modules a tutorial may import that are not available, with what to write instead.
MISSING_MODULES: dict[str, str] = {
    "numpy": "use torch instead: torch.tensor, torch.arange and torch's math cover what "
             "autograd needs (and only torch records gradients)",
    "matplotlib": "the app draws the function, its derivative and the graph for you; "
                  "remove the plotting lines",
    "torchviz": "the app draws the autograd graph for you: remove make_dot",
}

# Methods of torch's objects left out on purpose, with what to write instead.
_REFUSED_METHODS: dict[str, str] = {
    "register_forward_hook register_forward_pre_hook register_full_backward_hook "
    "register_backward_hook register_full_backward_pre_hook": (
        "module hooks are not available here (torch would call them inside every call of "
        "the layer): put a hook on a tensor instead, e.g. y.register_hook(lambda g: "
        "print(g))"),
    "load_state_dict": ("a program cannot load saved weights here: set them under "
                        "torch.no_grad(), e.g. layer.weight.copy_(torch.ones(2, 2))"),
    "register_step_pre_hook register_step_post_hook": (
        "optimizer hooks are not available here: write what the hook does after "
        "optimizer.step()"),
}
REFUSED_METHODS: dict[str, str] = {name: hint for names, hint in _REFUSED_METHODS.items()
                                   for name in names.split()}

# Context managers for ``with`` (and decorators of a def): the grad modes of autograd.
GRAD_MODES: dict[str, bool] = {"torch.no_grad": False, "torch.enable_grad": True,
                               "torch.inference_mode": False,
                               "torch.autograd.no_grad": False,
                               "torch.autograd.enable_grad": True}
# Context managers that take an argument: ``with torch.set_grad_enabled(is_train):``.
CONTEXT_CALLS: frozenset[str] = frozenset({
    "torch.set_grad_enabled", "torch.autograd.set_detect_anomaly",
    "torch.autograd.detect_anomaly", "torch.autograd.set_grad_enabled",
    "torch.autograd.forward_ad.dual_level",
    # the program's pack/unpack functions for what autograd saves (torch keeps this per
    # thread, and takes it off at the end of the block)
    "torch.autograd.graph.saved_tensors_hooks"})

# Python's exception types: caught by ``except``, raised by ``raise``, matched by
# ``isinstance``; errors torch raises are caught as the type torch raised.
EXCEPTIONS: dict[str, type[BaseException]] = {
    e.__name__: e for e in (
        Exception, ArithmeticError, LookupError, RuntimeError, ValueError, TypeError,
        IndexError, KeyError, ZeroDivisionError, OverflowError, AssertionError, NameError,
        UnboundLocalError, AttributeError, NotImplementedError, StopIteration,
        FloatingPointError)
}
# Types ``isinstance`` checks against (by name; never values a program holds).
TYPES: dict[str, type | tuple[type, ...]] = {
    "int": int, "float": float, "bool": bool, "str": str, "list": list, "tuple": tuple,
    "dict": dict, "set": set, "complex": complex, "torch.Tensor": torch.Tensor,
    "torch.Size": torch.Size, "torch.dtype": torch.dtype,
    "torch.nn.Parameter": torch.nn.Parameter, "torch.nn.Module": torch.nn.Module,
    **{f"torch.nn.{n}": getattr(torch.nn, n) for n in NN_LAYERS},
    **EXCEPTIONS,
}

# --- tensors ---------------------------------------------------------------------------
# Methods that cannot grow a tensor (math, reductions, views of the same elements,
# autograd bookkeeping). ``backward`` and the in-place ones are handled like any other.
TENSOR_METHODS_SAME: frozenset[str] = frozenset("""
    abs neg reciprocal sign sqrt rsqrt square exp expm1 log log2 log10 log1p sin cos tan
    asin acos atan sinh cosh tanh asinh acosh atanh sigmoid relu erf floor ceil round trunc
    frac clamp clip logit softmax log_softmax cumsum cumprod clamp_min clamp_max
    sum mean prod std var norm amax amin argmax argmin median logsumexp topk sort argsort
    view reshape view_as reshape_as flatten squeeze unsqueeze t transpose permute flip roll
    diagonal tril triu contiguous clone detach float double half long int bool numel dim
    size item tolist numpy cpu to type type_as element_size is_contiguous nelement
    backward zero_ requires_grad_ retain_grad detach_ fill_ clamp_ neg_ abs_ exp_ log_
    sigmoid_ tanh_ relu_ sqrt_ t_ squeeze_ unsqueeze_ normal_ uniform_ bernoulli_
    register_hook isfinite isnan isinf all any equal allclose chunk split unbind nonzero
    count_nonzero sgn cuda is_floating_point index_select gather masked_select unfold
    is_inference
""".split())
TENSOR_METHODS_BROADCAST: frozenset[str] = frozenset("""
    max min add sub mul div pow maximum minimum atan2 eq ne lt le gt ge where lerp
    add_ sub_ mul_ div_ pow_ copy_ masked_fill masked_fill_ addcmul_ addcdiv_
    true_divide floor_divide remainder fmod logical_and logical_or logical_xor
    logical_not dist xlogy
""".split())
TENSOR_METHODS_PREDICT: frozenset[str] = frozenset(
    "diag matmul mm mv dot outer expand expand_as repeat tile repeat_interleave new_zeros "
    "new_ones new_full new_tensor new_empty addmm bmm".split()
)
# Methods that draw random numbers: handed the run's own generator.
TENSOR_METHODS_RANDOM: frozenset[str] = frozenset("normal_ uniform_ bernoulli_".split())
TENSOR_METHODS: frozenset[str] = (
    TENSOR_METHODS_SAME | TENSOR_METHODS_BROADCAST | TENSOR_METHODS_PREDICT
)

# Attributes read without a call. ``grad_fn`` is a read-only view
# (engine.language.values.GradFnView): its name, next_functions, saved values and hooks.
TENSOR_ATTRIBUTES: frozenset[str] = frozenset(
    "grad is_leaf requires_grad grad_fn shape dtype ndim T mT H data device is_cuda "
    "retains_grad output_nr is_sparse layout".split()
)
# Attributes a program may assign (``w.grad = None``, ``p.data = ...``,
# ``x.requires_grad = True``): each is set by the interpreter's own code for it.
TENSOR_SETTABLE: frozenset[str] = frozenset({"grad", "data", "requires_grad"})

# --- Python's own values ------------------------------------------------------------------
# Methods of lists, dicts, sets and text a program may call (Python's own, on the
# program's own values; sizes are checked after each call that can grow one).
LIST_METHODS: frozenset[str] = frozenset(
    "append extend insert pop remove index count reverse sort copy clear".split())
DICT_METHODS: frozenset[str] = frozenset(
    "keys values items get pop update setdefault copy clear".split())
SET_METHODS: frozenset[str] = frozenset(
    "add discard remove pop union intersection difference copy clear update".split())
STR_METHODS: frozenset[str] = frozenset("""
    format join split rsplit strip lstrip rstrip upper lower title capitalize replace
    startswith endswith find count center ljust rjust zfill isdigit isalpha splitlines
""".split())
NUMBER_METHODS: frozenset[str] = frozenset("is_integer conjugate bit_length".split())
NUMBER_ATTRIBUTES: frozenset[str] = frozenset("real imag".split())
# Fields of what torch.max(x, dim=0), torch.sort, torch.topk... return (named tuples).
# and of forward_ad.unpack_dual (primal, tangent).
RESULT_FIELDS: frozenset[str] = frozenset("values indices primal tangent".split())
GENERATOR_METHODS: frozenset[str] = frozenset("manual_seed initial_seed".split())

# Every method name and attribute name a program may write after a dot, for the checker
# (the interpreter checks the value's kind at run time).
def _opaque_names(kind: str) -> frozenset[str]:
    from engine.language import values as V

    names: set[str] = set()
    for cls in (V.GradFnView, V.CaughtError, V.HookHandle, V.ArrayValue, V.ContextValue,
                V.OptimizerValue, V.ParamGroupView, V.SchedulerValue, V.DataLoaderValue):
        names |= getattr(cls, kind)
    return frozenset(names)


METHOD_NAMES: frozenset[str] = frozenset().union(
    LIST_METHODS, DICT_METHODS, SET_METHODS, STR_METHODS, NUMBER_METHODS,
    GENERATOR_METHODS, MODULE_METHODS, _opaque_names("methods"))
ATTRIBUTE_NAMES: frozenset[str] = frozenset().union(NUMBER_ATTRIBUTES, RESULT_FIELDS,
                                                    MODULE_ATTRIBUTES,
                                                    _opaque_names("attributes"))

# --- keyword arguments ---------------------------------------------------------------------
# Keyword names a call may use. Values are ordinary checked expressions; text in quotes is
# accepted only for the keywords below, and only from their enumerations.
KEYWORDS: frozenset[str] = frozenset("""
    dim keepdim requires_grad dtype min max steps start end step p eps negative_slope alpha
    beta weight pos_weight reduction retain_graph create_graph gradient inplace unbiased
    correction approximate diagonal dim0 dim1 size fill_value low high lambd threshold
    beta1 margin num_classes other input target exponent out_features bias label_smoothing
    base rounding_mode nan posinf neginf device generator outputs inputs grad_outputs
    allow_unused only_inputs is_grads_batched pack_hook unpack_hook materialize_grads
    grad_tensors func
    vectorize strategy strict v argnums has_aux in_dims out_dims randomness chunk_size
    mode descending largest sorted k split_size_or_sections sections index mask value
    mean std mat1 mat2 vec tensors tensor data non_blocking copy memory_format
    return_counts atol rtol equal_nan indexing check_nan pad training tensor1 tensor2
    source axis keepdims n m num out
    in_features out_features in1_features in2_features num_embeddings embedding_dim
    padding_idx max_norm in_channels out_channels kernel_size stride padding dilation
    groups padding_mode normalized_shape elementwise_affine num_features momentum affine
    track_running_stats start_dim end_dim unflattened_size ignore_index delta lr betas
    weight_decay nesterov dampening amsgrad centered lr_decay initial_accumulator_value
    maximize step_size gamma milestones last_epoch gain nonlinearity a b val set_to_none
    recurse prefix params ceil_mode count_include_pad batch_size shuffle drop_last
    num_workers dataset
""".split())
STRING_KEYWORDS: dict[str, frozenset[str]] = {
    "reduction": frozenset({"mean", "sum", "none", "batchmean"}),
    "approximate": frozenset({"none", "tanh"}),
    "rounding_mode": frozenset({"trunc", "floor"}),
    "device": frozenset({"cpu", "cuda", "cuda:0", "mps"}),
    "strategy": frozenset({"reverse-mode", "forward-mode"}),
    "randomness": frozenset({"error", "different", "same"}),
    "indexing": frozenset({"ij", "xy"}),
    "mode": frozenset({"constant", "reflect", "replicate", "circular", "fan_in", "fan_out"}),
    "nonlinearity": frozenset({"linear", "relu", "leaky_relu", "tanh", "sigmoid", "selu",
                               "conv1d", "conv2d"}),
    "padding_mode": frozenset({"zeros", "reflect", "replicate", "circular"}),
    "padding": frozenset({"same", "valid"}),
}

# Names a program may not assign: they would shadow the language's modules.
RESERVED: frozenset[str] = frozenset({"torch", "F", "math", "True", "False", "None"})


def resolve_dotted(dotted: str) -> tuple[str, Function | Any] | None:
    """Resolve ``torch.sin`` / ``torch.nn.functional.relu`` / ``math.pi`` from the tables.

    Returns ``("function", Function)``, ``("constant", value)``, ``("grad_mode", bool)`` or
    None when the name is not in the language.
    """
    if dotted in CONSTANTS:
        return "constant", CONSTANTS[dotted]
    if dotted in GRAD_MODES:
        return "grad_mode", GRAD_MODES[dotted]
    if dotted in TYPES and "." in dotted:
        return "type", TYPES[dotted]
    module, _, name = dotted.rpartition(".")
    if module in MODULE_PREFIXES:
        table = MODULE_PREFIXES[module][1]
        if name in table:
            return "function", table[name]
    return None


# --- Python's builtins a program may call (engine.running.builtins implements them) -------
BUILTIN_NAMES: frozenset[str] = frozenset("""
    print len range min max sum abs round sorted reversed enumerate zip list tuple dict set
    str repr int float bool isinstance any all map filter type divmod pow iter next
""".split())
