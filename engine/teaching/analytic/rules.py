"""The functions of the language as mathematics: add a function here.

:data:`RULES` is the one table to edit to give the derivative by hand a new function: one
entry per spelling in the language (``torch.sin``, ``F.relu``, ``math.sin``, bare ``sin``,
``.sin`` for the tensor method), each a :class:`Rule` saying how the arguments become
sympy expressions. When no sympy function fits, write a small builder above the table
(sympy expressions in, one out, as ``_sigmoid`` or ``_clamp``), using only sympy functions
the evaluator table :data:`engine.teaching.analytic.numeric.NUMPY` knows (add it there too if not).

At a kink (relu at 0, clamp at a bound, abs at 0) there is no textbook derivative; the
formula's Heaviside(0) = 1/2 gives the average of the two sides there, where autograd
picks one side.

Also here, for the walk: :data:`IGNORED_KEYWORDS`, :data:`BOOKKEEPING` (in-place
methods), :data:`NOTES` (why autograd stops where the formula goes on) and :data:`COVERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import sympy

from engine.teaching.analytic.bounds import MAX_BITS

# The line every "no formula" refusal ends with: what the derivative by hand does cover.
COVERS = "the derivative by hand covers scalar math (+ - * / **, sin, exp, log, sigmoid, relu, ...)"


class Unsupported(Exception):
    """Raised by a rule's builder: this call has no formula (the walker adds the line)."""


@dataclass(frozen=True)
class Rule:
    """How one function of the language becomes mathematics.

    ``kind`` says how ``build`` is applied to the arguments' elements:

    - ``"map"``: ``build(*numbers)`` element by element (numbers broadcast over lists);
    - ``"reduce"``: ``build(elements)`` of the first argument: one number (sum, mean);
    - ``"extreme"``: max/min: with one argument a reduction, with two elementwise;
    - ``"loss"``: ``build`` element by element, then ``reduction=`` ('mean' by default);
    - ``"pass"``: the first argument itself (detach, clone, item, float, ...);
    - ``"create"``: ``torch.tensor(data)``: a symbol when assigned to a name, else the data.

    ``params`` name the arguments in order (a method's tensor binds to the first);
    ``required`` of them must be given, the rest default to None (the builder decides).
    ``positional`` caps how many may be given by position (torch's later positional
    parameters are deprecated ones). ``options`` are keywords whose literal text goes to
    ``build`` (``approximate='tanh'``). ``tensor`` says whether the result is a tensor
    (False for ``math.*``, ``.item()``, ``float()``; None: as the first argument), and
    ``stops`` names the note to add when autograd stops here but the formula does not.
    """

    kind: str
    build: Callable[..., Any] | None = None
    params: tuple[str, ...] = ("input",)
    required: int = 1
    positional: int | None = None
    options: tuple[str, ...] = ()
    tensor: bool | None = True
    stops: str = ""


# --- the builders: one number (a sympy expression) in, one out ------------------------
def _sigmoid(x: Any) -> Any:
    return sympy.Integer(1) / (1 + sympy.exp(-x))


def _softplus(x: Any, beta: Any = None, threshold: Any = None) -> Any:
    # threshold only switches torch to x itself where the two agree to float precision
    beta = 1 if beta is None else beta
    return sympy.log(1 + sympy.exp(beta * x)) / beta


def _exact(value: Any) -> Any:
    """A Python int written in a builder (``max(0, x)``) as a sympy Integer."""
    return sympy.Integer(value) if isinstance(value, int) else value


def _max(a: Any, b: Any) -> Any:
    """max(a, b) with two arguments, as written. Left to itself sympy merges nested maxima
    and compares every pair of arguments (slow), and differentiates an n-argument max by
    building n more maxima; it still works out numbers and drops -oo."""
    a, b = _exact(a), _exact(b)
    if (a.is_number and b.is_number) or -sympy.oo in (a, b):
        return sympy.Max(a, b)
    return sympy.Max(a, b, evaluate=False)


def _min(a: Any, b: Any) -> Any:
    """min(a, b) with two arguments, as written (see _max)."""
    a, b = _exact(a), _exact(b)
    if (a.is_number and b.is_number) or sympy.oo in (a, b):
        return sympy.Min(a, b)
    return sympy.Min(a, b, evaluate=False)


def _relu(x: Any) -> Any:
    return _max(0, x)


def _clamp(x: Any, lo: Any = None, hi: Any = None) -> Any:
    if lo is None and hi is None:
        raise Unsupported("clamp needs a min or a max")
    if lo is not None:
        x = _max(x, lo)
    if hi is not None:
        x = _min(x, hi)
    return x


def _elu(x: Any, alpha: Any = None) -> Any:
    alpha = 1 if alpha is None else alpha
    return _relu(x) + _min(0, alpha * (sympy.exp(x) - 1))


def _celu(x: Any, alpha: Any = None) -> Any:
    alpha = 1 if alpha is None else alpha
    return _relu(x) + _min(0, alpha * (sympy.exp(x / alpha) - 1))


def _selu(x: Any) -> Any:
    alpha = sympy.Float("1.6732632423543772848170429916717")
    scale = sympy.Float("1.0507009873554804934193349852946")
    return scale * (_relu(x) + _min(0, alpha * (sympy.exp(x) - 1)))


def _leaky_relu(x: Any, slope: Any = None) -> Any:
    slope = sympy.Float(0.01) if slope is None else slope
    return _relu(x) + slope * _min(0, x)


def _gelu(x: Any, approximate: str = "none") -> Any:
    if approximate == "tanh":
        inner = sympy.sqrt(2 / sympy.pi) * (x + sympy.Float(0.044715) * x**3)
        return x / 2 * (1 + sympy.tanh(inner))
    return x / 2 * (1 + sympy.erf(x / sympy.sqrt(2)))


def _hardsigmoid(x: Any) -> Any:
    return _clamp(x / 6 + sympy.Rational(1, 2), 0, 1)


def _hardtanh(x: Any, lo: Any = None, hi: Any = None) -> Any:
    return _clamp(x, -1 if lo is None else lo, 1 if hi is None else hi)


def _log(x: Any, base: Any = None) -> Any:
    return sympy.log(x) if base is None else sympy.log(x) / sympy.log(base)


def _add(a: Any, b: Any, alpha: Any = None) -> Any:
    return a + (b if alpha is None else alpha * b)


def _sub(a: Any, b: Any, alpha: Any = None) -> Any:
    return a - (b if alpha is None else alpha * b)


def _div(a: Any, b: Any) -> Any:
    return a / b


def _lerp(a: Any, b: Any, weight: Any) -> Any:
    return a + weight * (b - a)


def _pow(base: Any, exponent: Any) -> Any:
    """``base ** exponent``, refusing integer powers that would build huge exact numbers:
    sympy folds (2*x)**n into 2**n * x**n, and 2**(10**15) would never finish."""
    if isinstance(exponent, sympy.Rational):
        bits = max((abs(a.p).bit_length() + a.q.bit_length()
                    for a in sympy.preorder_traversal(base) if isinstance(a, sympy.Rational)),
                   default=0)
        if bits * abs(exponent.p) > MAX_BITS:
            raise Unsupported("this power makes numbers too large to write down")
    return sympy.Pow(base, exponent)


def _bce(p: Any, t: Any, weight: Any = None) -> Any:
    loss = -(t * sympy.log(p) + (1 - t) * sympy.log(1 - p))
    return loss if weight is None else weight * loss


def _bce_with_logits(z: Any, t: Any, weight: Any = None, pos_weight: Any = None) -> Any:
    # = -(t log sigmoid(z) + (1 - t) log(1 - sigmoid(z))), in torch's own form
    log_term = sympy.log(1 + sympy.exp(-z))
    if pos_weight is not None:
        log_term = (1 + (pos_weight - 1) * t) * log_term
    loss = (1 - t) * z + log_term
    return loss if weight is None else weight * loss


def _mean(items: tuple[Any, ...]) -> Any:
    return sympy.Add(*items) / len(items)


def _spell(name: str, rule: Rule, where: str) -> dict[str, Rule]:
    """``rule`` under each spelling in ``where``: ``torch`` (torch.sin), ``bare`` (sin),
    ``math`` (math.sin: plain Python numbers, so autograd stops), ``F`` (F.relu) and
    ``method`` (x.sin(): the tensor binds to the first parameter)."""
    prefixes = {"torch": "torch.", "bare": "", "math": "math.", "F": "F.", "method": "."}
    entries = {}
    for spelling in where.split():
        entries[prefixes[spelling] + name] = (
            replace(rule, tensor=False, stops="math") if spelling == "math" else rule)
    return entries


_2 = ("input", "other")

# === THE TABLE: language functions as mathematics ===================================
RULES: dict[str, Rule] = {
    # This is the one place to add a function to the derivative by hand. Keys are the
    # language's own names (engine/language/tables.py): ``torch.sin``, ``F.relu``, ``math.sin``,
    # bare ``sin``, and ``.sin`` for the tensor method. A key missing here is refused with
    # "No formula by hand for ...". tests/test_analytic.py checks every key is in the
    # language, and the numbers against torch.autograd. A builder may use any sympy
    # function the evaluator table NUMPY (numeric.py) knows (add it there too if not).
    **_spell("sin", Rule("map", sympy.sin), "torch bare math method"),
    **_spell("cos", Rule("map", sympy.cos), "torch bare math method"),
    **_spell("tan", Rule("map", sympy.tan), "torch bare math method"),
    **_spell("asin", Rule("map", sympy.asin), "torch bare math method"),
    **_spell("acos", Rule("map", sympy.acos), "torch bare math method"),
    **_spell("atan", Rule("map", sympy.atan), "torch bare math method"),
    **_spell("sinh", Rule("map", sympy.sinh), "torch bare math method"),
    **_spell("cosh", Rule("map", sympy.cosh), "torch bare math method"),
    **_spell("tanh", Rule("map", sympy.tanh), "torch bare math method F"),
    **_spell("asinh", Rule("map", sympy.asinh), "torch method"),
    **_spell("acosh", Rule("map", sympy.acosh), "torch method"),
    **_spell("atanh", Rule("map", sympy.atanh), "torch method"),
    **_spell("exp", Rule("map", sympy.exp), "torch bare math method"),
    **_spell("expm1", Rule("map", lambda x: sympy.exp(x) - 1), "torch method"),
    **_spell("exp2", Rule("map", lambda x: sympy.Pow(2, x)), "torch"),
    **_spell("log", Rule("map", sympy.log), "torch bare method"),
    "math.log": Rule("map", _log, ("x", "base"), tensor=False, stops="math"),
    **_spell("log2", Rule("map", lambda x: sympy.log(x, 2)), "torch bare math method"),
    **_spell("log10", Rule("map", lambda x: sympy.log(x, 10)), "torch bare math method"),
    **_spell("log1p", Rule("map", lambda x: sympy.log(1 + x)), "torch bare math method"),
    **_spell("sqrt", Rule("map", sympy.sqrt), "torch bare math method"),
    **_spell("rsqrt", Rule("map", lambda x: 1 / sympy.sqrt(x)), "torch method"),
    **_spell("square", Rule("map", lambda x: x**2), "torch bare method"),
    **_spell("reciprocal", Rule("map", lambda x: 1 / x), "torch method"),
    **_spell("neg", Rule("map", lambda x: -x), "torch method"),
    **_spell("negative", Rule("map", lambda x: -x), "torch"),
    **_spell("abs", Rule("map", sympy.Abs), "torch method"),
    "abs": Rule("map", sympy.Abs, tensor=None),  # Python's abs: a number stays a number
    "math.fabs": Rule("map", sympy.Abs, tensor=False, stops="math"),
    **_spell("erf", Rule("map", sympy.erf), "torch bare math method"),
    **_spell("erfc", Rule("map", lambda x: 1 - sympy.erf(x)), "torch"),
    **_spell("deg2rad", Rule("map", lambda x: x * sympy.pi / 180), "torch"),
    **_spell("rad2deg", Rule("map", lambda x: x * 180 / sympy.pi), "torch"),
    "math.radians": Rule("map", lambda x: x * sympy.pi / 180, tensor=False, stops="math"),
    "math.degrees": Rule("map", lambda x: x * 180 / sympy.pi, tensor=False, stops="math"),
    **_spell("logit", Rule("map", lambda x: sympy.log(x / (1 - x))), "torch method"),
    # activations
    **_spell("sigmoid", Rule("map", _sigmoid), "torch bare method F"),
    **_spell("relu", Rule("map", _relu), "torch bare method F"),
    "F.relu6": Rule("map", lambda x: _clamp(x, 0, 6)),
    "F.leaky_relu": Rule("map", _leaky_relu, ("input", "negative_slope")),
    "F.elu": Rule("map", _elu, ("input", "alpha")),
    "F.celu": Rule("map", _celu, ("input", "alpha")),
    "F.selu": Rule("map", _selu),
    "F.silu": Rule("map", lambda x: x * _sigmoid(x)),
    "F.gelu": Rule("map", _gelu, options=("approximate",)),
    "F.softplus": Rule("map", _softplus, ("input", "beta", "threshold")),
    "F.softsign": Rule("map", lambda x: x / (1 + sympy.Abs(x))),
    "F.logsigmoid": Rule("map", lambda x: -sympy.log(1 + sympy.exp(-x))),
    "F.tanhshrink": Rule("map", lambda x: x - sympy.tanh(x)),
    "F.hardtanh": Rule("map", _hardtanh, ("input", "min_val", "max_val")),
    "F.hardsigmoid": Rule("map", _hardsigmoid),
    "F.hardswish": Rule("map", lambda x: x * _hardsigmoid(x)),
    "F.mish": Rule("map", lambda x: x * sympy.tanh(sympy.log(1 + sympy.exp(x)))),
    # two or more arguments
    **_spell("pow", Rule("map", _pow, ("input", "exponent"), 2), "torch method"),
    "math.pow": Rule("map", _pow, ("x", "y"), 2, tensor=False, stops="math"),
    **_spell("add", Rule("map", _add, ("input", "other", "alpha"), 2, 2), "torch method"),
    **_spell("sub", Rule("map", _sub, ("input", "other", "alpha"), 2, 2), "torch method"),
    **_spell("subtract", Rule("map", _sub, ("input", "other", "alpha"), 2, 2), "torch"),
    **_spell("mul", Rule("map", lambda a, b: a * b, _2, 2), "torch method"),
    **_spell("multiply", Rule("map", lambda a, b: a * b, _2, 2), "torch"),
    **_spell("div", Rule("map", _div, _2, 2), "torch method"),
    **_spell("divide", Rule("map", _div, _2, 2), "torch"),
    **_spell("true_divide", Rule("map", _div, _2, 2), "torch"),
    **_spell("maximum", Rule("map", _max, _2, 2), "torch method"),
    **_spell("minimum", Rule("map", _min, _2, 2), "torch method"),
    **_spell("atan2", Rule("map", sympy.atan2, _2, 2), "torch method math"),
    **_spell("hypot", Rule("map", lambda a, b: sympy.sqrt(a**2 + b**2), _2, 2),
             "torch math"),
    **_spell("clamp", Rule("map", _clamp, ("input", "min", "max")), "torch method"),
    **_spell("clip", Rule("map", _clamp, ("input", "min", "max")), "torch method"),
    **_spell("lerp", Rule("map", _lerp, ("input", "end", "weight"), 3), "torch method"),
    **_spell("max", Rule("extreme", _max, _2), "torch method"),
    **_spell("min", Rule("extreme", _min, _2), "torch method"),
    # reductions (a single number's sum or mean is itself)
    **_spell("sum", Rule("reduce", lambda items: sympy.Add(*items)), "torch method"),
    **_spell("mean", Rule("reduce", _mean), "torch method"),
    **_spell("prod", Rule("reduce", lambda items: sympy.Mul(*items)), "torch method"),
    # losses, with reduction='mean' (default), 'sum' or 'none'
    "F.mse_loss": Rule("loss", lambda p, t: (p - t) ** 2, ("input", "target"), 2),
    "F.l1_loss": Rule("loss", lambda p, t: sympy.Abs(p - t), ("input", "target"), 2),
    "F.binary_cross_entropy": Rule("loss", _bce, ("input", "target", "weight"), 2),
    "F.binary_cross_entropy_with_logits": Rule(
        "loss", _bce_with_logits, ("input", "target", "weight", "pos_weight"), 2, 3),
    # values passed on as they are
    **_spell("detach", Rule("pass", stops="detach"), "torch method"),
    **_spell("clone", Rule("pass"), "torch method"),
    ".contiguous": Rule("pass"),
    ".float": Rule("pass"),
    ".double": Rule("pass"),
    ".item": Rule("pass", tensor=False, stops="item"),
    "float": Rule("pass", tensor=False, stops="item"),
    # creation: torch.tensor(6.7) assigned to a name is the symbol of that name
    **_spell("tensor", Rule("create", params=("data",)), "torch"),
    **_spell("as_tensor", Rule("create", params=("data",)), "torch"),
}

# Keywords that never change the mathematics of a single number or a short list.
IGNORED_KEYWORDS = frozenset({"dtype", "inplace", "keepdim", "requires_grad"})

# Tensor methods called for what they do to their tensor, not for a result (as in
# engine.running.interpreter): the receiver's variable takes the new value (its aliases too), and
# a line calling one is never the output. backward() records what it was called on.
BOOKKEEPING = frozenset({"add_", "sub_", "mul_", "div_", "pow_", "neg_", "clamp_",
                         "zero_", "fill_", "copy_", "detach_", "requires_grad_",
                         "retain_grad", "backward"})

# Why autograd stops where the formula goes on, for Formula.notes.
NOTES = {
    "detach": "`{code}` (line {line}) detaches: autograd sends no gradient back through "
              "it; the formula by hand does.",
    "item": "`{code}` (line {line}) makes a plain Python number: autograd stops there; "
            "the formula by hand does not.",
    "math": "`{code}` (line {line}) uses math, which works on plain numbers: autograd "
            "stops there; the formula by hand does not.",
    "copy": "`{code}` (line {line}) copies a computed value into a new tensor: autograd "
            "stops there; the formula by hand does not.",
    "no_grad": "Line {line} runs under torch.no_grad(): autograd does not record it; the "
               "formula by hand does.",
    "requires_grad": "`{name}` does not require grad (line {line}): autograd gives it no "
                     "gradient; the formula by hand still differentiates with respect "
                     "to it.",
}
