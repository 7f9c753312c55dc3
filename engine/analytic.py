"""The derivative by hand: a learner's program as a textbook formula, and its derivative.

Beside autograd's numbers the app shows what a learner would write on paper: the output
as a formula of the program's inputs (``y = x**2; z = torch.sin(y)`` gives sin(x²)), its
derivative (``sympy.diff``, nothing else), their values, and f' over a range to lay over
autograd's curve.

Security. Nothing here turns text into code: no eval, exec, compile, sympy's text parsers
or its code generator (which execs the source it writes). The program first passes
:func:`engine.checker.check_program`; this module then walks the checked ``ast`` and builds
sympy objects directly, from the table :data:`RULES` and the checker's resolution of each
call. Numbers come from :data:`NUMPY`, a small walker from sympy node classes to numpy.
Symbols are ``sympy.Symbol(..., real=True)`` named after the program's identifiers.

Semantics: the mathematics of what is written. ``.detach()``, ``torch.no_grad()``,
``requires_grad`` flags, ``.item()``, ``float()``, ``math.*`` and ``torch.tensor(value)`` of
a computed value pass their values on: they stop autograd, not the formula. So the
formula is the derivative autograd would give had it followed every path; each place
where autograd stops is listed in ``Formula.notes``, so a page can say why the numbers
differ. Every input box and every name assigned from ``torch.tensor(number, ...)`` is a
symbol; every other variable is substituted. At a kink (relu at 0, clamp at a bound, abs
at 0) there is no textbook derivative; the formula's Heaviside(0) = 1/2 gives the average
of the two sides there, where autograd picks one side.

Bounds (programs come from public share links). Every sympy operation runs on bounded
trees: the formula written out may have at most :data:`MAX_WRITTEN` nodes (``x = x*x``
forty times is refused at its tenth, before sympy folds it into x**(2**40)); sympy's
own tree at most :data:`MAX_NODES` nodes and :data:`MAX_DEPTH` levels before ``diff``
(``diff`` is recursive and quadratic in depth); integer powers may not build numbers over
:data:`MAX_BITS` bits. Curves cost (formula size) x (points) array operations, bounded by
``Limits.max_curve_elements``. By default all of it runs in a worker process
(:func:`engine.analytic_derivative`), where a hard deadline backs these bounds up.
"""

from __future__ import annotations

import ast
import functools
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import sympy

from engine.checker import CheckedProgram, UserFunction, check_program
from engine.curve import check_range
from engine.errors import ProgramError, ProgramRefused
from engine.formula import Formula
from engine.inputs import make_input
from engine.limits import Limits

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
    # language's own names (engine/language.py): ``torch.sin``, ``F.relu``, ``math.sin``,
    # bare ``sin``, and ``.sin`` for the tensor method. A key missing here is refused with
    # "No formula by hand for ...". tests/test_analytic.py checks every key is in the
    # language, and the numbers against torch.autograd. A builder may use any sympy
    # function the evaluator table NUMPY below knows (add it there too if not).
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
# engine.interpreter): the receiver's variable takes the new value (its aliases too), and
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

# === numbers: sympy node classes to numpy ===========================================
def _erf(x: Any) -> Any:
    return np.vectorize(math.erf, otypes=[float])(x)


def _heaviside(x: Any, at_zero: Any = 0.5) -> Any:
    return np.heaviside(x, at_zero)


NUMPY: dict[type, Callable[..., Any]] = {
    sympy.Add: lambda *args: functools.reduce(np.add, args),
    sympy.Mul: lambda *args: functools.reduce(np.multiply, args),
    sympy.Pow: np.power,
    sympy.exp: np.exp,
    sympy.log: np.log,
    sympy.sin: np.sin,
    sympy.cos: np.cos,
    sympy.tan: np.tan,
    sympy.asin: np.arcsin,
    sympy.acos: np.arccos,
    sympy.atan: np.arctan,
    sympy.sinh: np.sinh,
    sympy.cosh: np.cosh,
    sympy.tanh: np.tanh,
    sympy.asinh: np.arcsinh,
    sympy.acosh: np.arccosh,
    sympy.atanh: np.arctanh,
    sympy.atan2: np.arctan2,
    sympy.erf: _erf,
    sympy.Abs: np.abs,
    sympy.sign: np.sign,
    sympy.Heaviside: _heaviside,
    sympy.Max: lambda *args: functools.reduce(np.maximum, args),
    sympy.Min: lambda *args: functools.reduce(np.minimum, args),
}

# === bounds ==========================================================================
MAX_WRITTEN = 2_000  # nodes of the formula written out, every variable substituted
MAX_NODES = 300  # nodes of sympy's tree (shared parts counted each time) before diff
MAX_DEPTH = 40  # levels of sympy's tree before diff (diff recurses ~10 frames a level)
MAX_BITS = 4_096  # exact numbers an integer power may build
MAX_ELEMENTS = 16  # elements of a list input or torch.tensor([...])
MAX_DERIVATIVE_WORK = 200_000  # distinct nodes and arguments of f and f' together
LATEX_MAX_NODES = 250  # longer formulas are not written out ("too long to show")
LATEX_MAX_CHARS = 700


# === values the walk handles =========================================================
@dataclass(frozen=True)
class Value:
    """A number or a short list as mathematics: one sympy expression per element.

    ``tensor`` follows torch (a Python number stays a number), so the output is chosen by
    the same rule as a run; ``written`` is the size of the formula written out, every
    variable substituted; ``notes`` are the places on the way where autograd stops."""

    items: tuple[Any, ...]
    shape: tuple[int, ...] = ()
    tensor: bool = True
    written: int = 1
    notes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Opaque:
    """A value that is not a number: None, a dtype, a shape."""

    what: str
    tensor: bool = False


@dataclass(frozen=True)
class Refusal:
    """A variable whose value has no formula: raised again where it is used, so an unused
    ``noise = torch.randn(3)`` does not stop the formula of the output."""

    refused: ProgramRefused
    tensor: bool = True


Content = Value | Opaque | Refusal


@dataclass
class Box:
    """A variable's current value. Two names share a box after ``a = b``, as two Python
    names share a tensor, so ``a += 1`` (in place) changes ``b`` too."""

    content: Content


@dataclass
class Leaf:
    """A symbol: an input box, or a name assigned from ``torch.tensor(number, ...)``
    (each element of a list is one). ``generation`` counts earlier creations of the same
    name, so ``x`` made twice gives two different symbols."""

    name: str
    index: int | None  # the element of a list, else None
    generation: int
    symbol: sympy.Symbol
    value: float
    line: int | None
    requires_grad: bool

    @property
    def key(self) -> str:
        return self.name if self.index is None else f"{self.name}[{self.index}]"


_NONE = Opaque("None")
# Calls that give Python numbers, never the output (used when they are refused).
_NON_TENSOR_CALLS = frozenset({"len", "int", "round", "float", ".item", ".numel", ".dim",
                               ".size", "torch.numel", "torch.allclose"})
_WHOLE = (None, 0, -1, (0,), (-1,))  # dim= values that reduce a list to one number


# === the walk ==========================================================================
class _Walker:
    """Runs the checked program over formulas instead of tensors, statement by statement,
    as :class:`engine.interpreter.Interpreter` runs it over tensors."""

    def __init__(self, program: CheckedProgram, limits: Limits) -> None:
        self.program = program
        self.limits = limits
        self.env: dict[str, Box] = {}
        self.leaves: list[Leaf] = []
        self.leaf_of: dict[sympy.Symbol, Leaf] = {}
        self.grad_enabled = True
        self.candidate: tuple[str | None, Content] | None = None
        self.roots: list[tuple[str | None, Content]] = []
        self.call_depth = 0
        self.operations = 0
        self.deadline = time.monotonic() + limits.time_limit_s
        self.measured: dict[Any, tuple[int, int]] = {}

    # -- symbols ------------------------------------------------------------------------
    def new_leaves(self, name: str, numbers: list[float], listed: bool, line: int | None,
                   requires_grad: bool) -> Value:
        """Fresh symbols for ``name`` (one per element when ``listed``). Their sympy names
        hold characters no identifier has (``x[0]``, ``x#2`` when ``x`` is made again),
        so they can never meet another variable's symbol."""
        generation = len({leaf.generation for leaf in self.leaves if leaf.name == name})
        symbols = []
        for index, number in enumerate(numbers):
            element = index if listed else None
            label = name if element is None else f"{name}[{element}]"
            symbol = sympy.Symbol(f"{label}#{generation + 1}" if generation else label,
                                  real=True)
            leaf = Leaf(name, element, generation, symbol, float(number), line,
                        requires_grad)
            self.leaves.append(leaf)
            self.leaf_of[symbol] = leaf
            symbols.append(symbol)
        if not listed:
            return Value((symbols[0],))
        return Value(tuple(symbols), (len(symbols),), written=len(symbols))

    def add_input(self, name: str, tensor: Any) -> None:
        """An input box: a number, or a list of up to MAX_ELEMENTS numbers."""
        data = tensor.detach().double()
        if data.dim() == 0:
            content: Content = self.new_leaves(name, [float(data)], False, None, True)
        elif data.dim() == 1 and 0 < data.numel() <= MAX_ELEMENTS:
            content = self.new_leaves(name, data.tolist(), True, None, True)
        else:
            content = Refusal(_refusal(
                f"No formula by hand for the input `{name}` of shape {tuple(data.shape)}: "
                f"the derivative by hand covers numbers and lists of up to {MAX_ELEMENTS} "
                "numbers."))
        self.env[name] = Box(content)

    # -- bounds -------------------------------------------------------------------------
    def tick(self, node: ast.AST) -> None:
        self.operations += 1
        if self.operations > self.limits.max_operations:
            raise _refusal(f"The formula takes more than {self.limits.max_operations:,} "
                           "steps to build.", node, "limit")
        if time.monotonic() > self.deadline:
            raise _refusal(f"Building the formula took longer than "
                           f"{self.limits.time_limit_s:g} s.", node, "timeout")

    def measure(self, expr: Any) -> tuple[int, int]:
        """(nodes, depth) of sympy's tree, shared parts counted each time, remembered per
        distinct node so each check costs only the nodes that are new."""
        memo = self.measured
        stack: list[tuple[Any, bool]] = [(expr, False)]
        while stack:
            node, children_done = stack.pop()
            if node in memo:
                continue
            if children_done:
                sizes = [memo[a] for a in node.args]
                memo[node] = (min(1 + sum(s for s, _ in sizes), 10**9),
                              1 + max((d for _, d in sizes), default=0))
            else:
                stack.append((node, True))
                stack.extend((a, False) for a in node.args if a not in memo)
        return memo[expr]

    def checked(self, value: Value, node: ast.AST) -> Value:
        """``value``, unless its formula has grown past the bounds (see the module doc)."""
        too_large = value.written > MAX_WRITTEN
        for item in value.items:
            nodes, depth = self.measure(item)
            too_large = too_large or nodes > MAX_NODES or depth > MAX_DEPTH
        if too_large:
            raise _refusal(f"The formula grows too large to work out by hand (line "
                           f"{_line(node)}): written out it is nested too deeply or has "
                           "too many parts.", node, "limit")
        return value

    # -- statements -----------------------------------------------------------------------
    def run(self) -> None:
        self.block(self.program.tree.body, self.env, top=True)

    def block(self, body: list[ast.stmt], scope: dict[str, Box], top: bool,
              ) -> Content | None:
        for stmt in body:
            self.tick(stmt)
            if isinstance(stmt, ast.Return):
                return self.expression(stmt.value, scope)  # type: ignore[arg-type]
            if isinstance(stmt, ast.Assign):
                self.assign(stmt, scope, top)
            elif isinstance(stmt, ast.AugAssign):
                self.augmented(stmt, scope, top)
            elif isinstance(stmt, ast.Expr):
                self.expression_line(stmt, scope, top)
            elif isinstance(stmt, ast.With):
                mode = self.program.callee(stmt.items[0].context_expr).name
                enabled, self.grad_enabled = self.grad_enabled, mode == "torch.enable_grad"
                try:
                    self.block(stmt.body, scope, top)
                finally:
                    self.grad_enabled = enabled
            # def, import, pass: nothing to compute (the checker collected the defs)
        return None

    def assign(self, stmt: ast.Assign, scope: dict[str, Box], top: bool) -> None:
        target = stmt.targets[0]
        if isinstance(target, ast.Tuple):
            refused = Refusal(_refusal(f"No formula by hand for unpacking into several "
                                       f"names (line {stmt.lineno}): {COVERS}.", stmt))
            names = [element.id for element in target.elts]  # type: ignore[attr-defined]
            for name in names:
                scope[name] = Box(refused)
            if top:
                self.candidate = (names[-1], refused)
            return
        name = target.id  # type: ignore[attr-defined]
        if isinstance(stmt.value, ast.Name):  # a second name for the same value
            scope[name] = self.lookup(stmt.value, scope)
        else:
            try:
                content: Content = self.assigned_value(stmt.value, name, scope)
                if isinstance(content, Value) and not self.grad_enabled:
                    content = self.noted(content, "no_grad", stmt)
            except ProgramRefused as refused:
                content = Refusal(refused, _tensor_guess(self.program, stmt.value))
            scope[name] = Box(content)
        if top:
            self.candidate = (name, scope[name].content)

    def augmented(self, stmt: ast.AugAssign, scope: dict[str, Box], top: bool) -> None:
        name = stmt.target.id  # type: ignore[attr-defined]
        if name not in scope:  # Python: UnboundLocalError
            raise _refusal(f"`{name}` belongs to the program outside this function; it "
                           "cannot be changed inside it.", stmt, "runtime")
        box = scope[name]
        in_place = box.content.tensor
        try:
            old = _usable(box.content)
            right = self.expression(stmt.value, scope)
            content: Content = self.arithmetic(stmt, type(stmt.op), old, right)
            if isinstance(content, Value) and not self.grad_enabled:
                content = self.noted(content, "no_grad", stmt)
        except ProgramRefused as refused:
            content = Refusal(refused, in_place)
        if in_place:
            box.content = content  # the tensor changes; every name for it sees that
        else:
            scope[name] = Box(content)  # a Python number: += makes a new one
        if top:
            self.candidate = (name, content)

    def expression_line(self, stmt: ast.Expr, scope: dict[str, Box], top: bool) -> None:
        """An expression line: the output candidate when it gives a tensor, as in a run.
        print(...), attribute reads (``x.grad``) and bookkeeping calls (``y.backward()``,
        ``x.grad.zero_()``) are never candidates."""
        expr = stmt.value
        if isinstance(expr, ast.Attribute):
            return
        callee = self.program.callees.get(id(expr)) if isinstance(expr, ast.Call) else None
        if callee is not None and callee.kind == "print":
            return
        if callee is not None and callee.kind == "method" and callee.name in BOOKKEEPING:
            self.bookkeeping(expr, scope, statement=True)  # type: ignore[arg-type]
            return
        try:
            content: Content = self.expression(expr, scope)
        except ProgramRefused as refused:
            content = Refusal(refused, _tensor_guess(self.program, expr))
        if top and content.tensor:
            self.candidate = (expr.id if isinstance(expr, ast.Name) else None, content)

    # -- expressions ------------------------------------------------------------------------
    def expression(self, node: ast.expr, scope: dict[str, Box]) -> Content:
        """The value of ``node``; raises ProgramRefused where there is no formula."""
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return _usable(self.lookup(node, scope).content)
        if isinstance(node, ast.Attribute):
            if id(node) in self.program.constants:
                return self.named_constant(node)
            if node.attr == "grad":
                raise _refusal(f"`{_code(self.program, node)}` (line {node.lineno}) is what "
                               "autograd computes: the formula by hand cannot use it.", node)
            raise self.no_formula(f"`.{node.attr}`", node)
        if isinstance(node, ast.Call):
            return self.call(node, scope)
        if isinstance(node, ast.BinOp):
            left = self.expression(node.left, scope)
            right = self.expression(node.right, scope)
            return self.arithmetic(node, type(node.op), left, right)
        if isinstance(node, ast.UnaryOp):
            operand = self.expression(node.operand, scope)
            if isinstance(node.op, ast.UAdd):
                return operand
            return self.elementwise(node, lambda x: -x, [self.number(operand, node)])
        if isinstance(node, (ast.List, ast.Tuple)):
            return self.listed(node, scope)
        if isinstance(node, ast.Compare):
            raise self.no_formula("comparisons", node)
        if isinstance(node, ast.Subscript):
            raise self.no_formula(f"indexing `{_code(self.program, node)}`", node)
        raise self.no_formula(f"`{_code(self.program, node)}`", node)

    def lookup(self, node: ast.Name, scope: dict[str, Box]) -> Box:
        if node.id in scope:
            return scope[node.id]
        if node.id in self.env:
            return self.env[node.id]
        raise _refusal(f"`{node.id}` has no value here.", node, "runtime")

    def constant(self, node: ast.Constant) -> Content:
        value = node.value
        if value is None:
            return _NONE
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return Opaque(repr(value))
        return Value((_number(value),), tensor=False)

    def named_constant(self, node: ast.Attribute) -> Content:
        value = self.program.constants[id(node)]
        if not isinstance(value, float):
            return Opaque(f"`{_code(self.program, node)}`")  # torch.float32 and other dtypes
        exact = {math.pi: sympy.pi, math.e: sympy.E, math.tau: 2 * sympy.pi,
                 math.inf: sympy.oo}
        return Value((exact.get(value, _number(value)),), tensor=False)

    def listed(self, node: ast.List | ast.Tuple, scope: dict[str, Box]) -> Value:
        """``[a, b, c]`` (an argument, e.g. of torch.tensor): a list of numbers."""
        if not 0 < len(node.elts) <= MAX_ELEMENTS:
            raise _refusal(f"No formula by hand for a list of {len(node.elts)} numbers "
                           f"(line {node.lineno}): lists may have 1 to {MAX_ELEMENTS}.", node)
        items: list[Any] = []
        written, notes = 0, frozenset[str]()
        for element in node.elts:
            value = self.number(self.expression(element, scope), element)
            if value.shape:
                raise self.no_formula("lists of lists (tables of numbers)", element)
            items.append(value.items[0])
            written += value.written
            notes |= value.notes
        return Value(tuple(items), (len(items),), False, written, notes)

    def number(self, content: Content, node: ast.AST) -> Value:
        """``content`` as mathematics, or the reason it is not."""
        if isinstance(content, Value):
            return content
        raise _refusal(f"No formula by hand for {content.what} used as a number (line "  # type: ignore[union-attr]
                       f"{_line(node)}).", node)

    def optional(self, content: Content | None, node: ast.AST) -> Value | None:
        """An optional argument: None when left out or given as None."""
        return None if content is None or content is _NONE else self.number(content, node)

    def noted(self, value: Value, kind: str, node: ast.AST) -> Value:
        """``value`` with the note ``kind`` when it depends on something that varies."""
        if not any(item.free_symbols for item in value.items):
            return value
        text = NOTES[kind].format(code=_code(self.program, node), line=_line(node))
        return replace(value, notes=value.notes | {text})

    def no_formula(self, what: str, node: ast.AST) -> ProgramRefused:
        return _refusal(f"No formula by hand for {what} (line {_line(node)}): {COVERS}.",
                        node)

    # -- arithmetic -------------------------------------------------------------------------
    def arithmetic(self, node: ast.AST, op: type, left: Content, right: Content) -> Value:
        builders: dict[type, Callable[[Any, Any], Any]] = {
            ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
            ast.Mult: lambda a, b: a * b, ast.Div: _div, ast.Pow: _pow,
        }
        if op not in builders:
            symbol = {ast.MatMult: "`@` (matrix product)", ast.FloorDiv: "`//`",
                      ast.Mod: "`%`"}.get(op, f"`{op.__name__}`")
            raise self.no_formula(symbol, node)
        return self.elementwise(node, builders[op],
                                [self.number(left, node), self.number(right, node)])

    def elementwise(self, node: ast.AST, build: Callable[..., Any],
                    values: list[Value | None], tensor: bool | None = None,
                    **options: Any) -> Value:
        """``build`` element by element; a single number broadcasts over a list. None
        (an optional argument left out) reaches ``build`` as None."""
        self.tick(node)
        present = [v for v in values if v is not None]
        lengths = sorted({v.shape[0] for v in present if v.shape})
        if len(lengths) > 1:
            raise _refusal(f"The lists on line {_line(node)} have different lengths "
                           f"({', '.join(map(str, lengths))}).", node, "runtime")
        count = lengths[0] if lengths else 1
        try:
            items = tuple(build(*[None if v is None else v.items[i if v.shape else 0]
                                  for v in values], **options) for i in range(count))
        except Unsupported as problem:
            raise _refusal(f"No formula by hand here (line {_line(node)}): {problem}.",
                           node) from None
        written = 1 + sum(v.written * (1 if v.shape else count) for v in present)
        result = Value(items, (count,) if lengths else (),
                       any(v.tensor for v in present) if tensor is None else tensor,
                       written, frozenset[str]().union(*(v.notes for v in present)))
        return self.checked(result, node)

    def reduced(self, node: ast.AST, build: Callable[[tuple[Any, ...]], Any],
                value: Value) -> Value:
        """One number from all the elements of ``value``."""
        self.tick(node)
        result = Value((build(value.items),), (), True, value.written + len(value.items),
                       value.notes)
        return self.checked(result, node)

    # -- calls --------------------------------------------------------------------------------
    def call(self, node: ast.Call, scope: dict[str, Box]) -> Content:
        callee = self.program.callee(node)
        if callee.kind == "print":
            return _NONE
        if callee.kind == "user":
            return self.user_call(node, self.program.functions[callee.name], scope)
        if callee.kind == "method" and callee.name in BOOKKEEPING:
            return self.bookkeeping(node, scope, statement=False)
        if callee.kind == "method":
            key, spelled = "." + callee.name, f"`.{callee.name}()`"
        else:
            key = callee.function.name if callee.function else callee.name
            spelled = f"`{key}`"
        rule = RULES.get(key)
        if rule is None:
            raise self.no_formula(spelled, node)
        return self.apply(node, rule, self.bind(node, rule, spelled, scope), spelled)

    def bind(self, node: ast.Call, rule: Rule, spelled: str, scope: dict[str, Box],
             ) -> dict[str, Any]:
        """Arguments by parameter name: values for math parameters, literal values for
        options; ignored keywords (dtype=, keepdim=, ...) are not evaluated at all."""
        positional: list[ast.expr] = list(node.args)
        if self.program.callee(node).kind == "method":
            positional.insert(0, node.func.value)  # type: ignore[attr-defined]
        options: dict[str, Any] = {}
        if rule.kind == "reduce" and len(positional) == 2:  # x.sum(0): dim by position
            options["dim"] = _literal(positional.pop())
        limit = len(rule.params) if rule.positional is None else rule.positional
        if len(positional) > limit:
            raise self.no_formula(f"{spelled} with {len(positional)} arguments", node)
        nodes: dict[str, ast.expr] = dict(zip(rule.params, positional))
        literal_keywords = set(rule.options) | (
            {"dim"} if rule.kind in ("reduce", "extreme") else set()) | (
            {"reduction"} if rule.kind == "loss" else set())
        for keyword in node.keywords:
            name = keyword.arg or ""
            if name in IGNORED_KEYWORDS:
                continue
            if name in literal_keywords:
                options[name] = _literal(keyword.value)
            elif name in rule.params and name not in nodes:
                nodes[name] = keyword.value
            else:
                raise self.no_formula(f"{spelled} with `{name}=`", keyword.value)
        if any(p not in nodes for p in rule.params[:rule.required]):
            raise self.no_formula(f"{spelled} with these arguments", node)
        values: dict[str, Any] = {name: self.expression(arg, scope)
                                  for name, arg in nodes.items()}
        return {**values, **options}

    def apply(self, node: ast.Call, rule: Rule, args: dict[str, Any], spelled: str,
              ) -> Value:
        """The rule's mathematics on bound arguments (see :class:`Rule` for the kinds)."""
        values = [self.optional(args.get(p), node) for p in rule.params]
        value = values[0]
        assert value is not None  # bind() saw the required parameters
        if rule.kind == "map":
            options = {k: args[k] for k in rule.options if k in args}
            result = self.elementwise(node, rule.build, values,  # type: ignore[arg-type]
                                      rule.tensor, **options)
        elif rule.kind == "extreme" and values[1] is not None:
            if not values[1].tensor or "dim" in args:  # torch.max(x, 0): along dim 0
                raise self.no_formula(f"{spelled} along a dimension", node)
            result = self.elementwise(node, rule.build, values[:2])  # type: ignore[arg-type]
        elif rule.kind in ("reduce", "extreme"):
            if args.get("dim") not in _WHOLE or (rule.kind == "extreme" and "dim" in args):
                raise self.no_formula(f"{spelled} along a dimension", node)
            build = rule.build if rule.kind == "reduce" else (
                lambda items: functools.reduce(rule.build, items))  # type: ignore[arg-type]
            result = self.reduced(node, build, value)  # type: ignore[arg-type]
        elif rule.kind == "loss":
            reduction = args.get("reduction", "mean")
            if reduction not in ("mean", "sum", "none"):
                raise self.no_formula(f"{spelled} with reduction='{reduction}'", node)
            result = self.elementwise(node, rule.build, values)  # type: ignore[arg-type]
            if reduction != "none":
                total = _mean if reduction == "mean" else (lambda items: sympy.Add(*items))
                result = self.reduced(node, total, result)
        else:  # "pass", "create": the value itself
            if rule.tensor is False and len(value.items) != 1:
                raise _refusal(f"{spelled} needs a single number, but this value has "
                               f"{len(value.items)} (line {node.lineno}).", node, "runtime")
            result = replace(value, tensor=value.tensor if rule.tensor is None
                             else rule.tensor)
            if rule.kind == "create":
                result = self.noted(result, "copy", node)
        if rule.stops and (value.tensor or rule.stops == "detach"):
            result = self.noted(result, rule.stops, node)
        return result

    def user_call(self, node: ast.Call, fn: UserFunction, scope: dict[str, Box]) -> Content:
        """A ``def`` inlined: its parameters take the arguments (a variable passed by
        name shares its box, as Python shares the tensor), its body runs in its own scope."""
        self.tick(node)
        if self.call_depth >= self.limits.max_function_depth:
            raise _refusal("Functions call each other too deeply.", node, "limit")
        local: dict[str, Box] = {}
        for param, arg in zip(fn.params, node.args):
            local[param] = (self.lookup(arg, scope) if isinstance(arg, ast.Name)
                            else Box(self.expression(arg, scope)))
            _usable(local[param].content)
        self.call_depth += 1
        try:
            result = self.block(fn.body, local, top=False)
        finally:
            self.call_depth -= 1
        return _NONE if result is None else result

    def bookkeeping(self, node: ast.Call, scope: dict[str, Box], statement: bool,
                    ) -> Content:
        """``y.backward()``, ``x.add_(1)``, ``x.zero_()``, ``w.requires_grad_()``: the
        receiver's box takes the new value. As a statement, a receiver that is not a
        variable (``x.grad.zero_()``) changes nothing in the formula and is skipped."""
        name = self.program.callee(node).name
        receiver = node.func.value  # type: ignore[attr-defined]
        if name == "backward":
            try:
                root: Content = self.expression(receiver, scope)
            except ProgramRefused as refused:
                root = Refusal(refused)
            self.roots.append((receiver.id if isinstance(receiver, ast.Name) else None, root))
            return _NONE
        if name == "retain_grad":
            return _NONE
        if not isinstance(receiver, ast.Name):
            if statement:
                return _NONE
            raise self.no_formula(f"`.{name}()` on `{_code(self.program, receiver)}`", node)
        box = self.lookup(receiver, scope)
        try:
            content: Content = self.changed(node, name, box.content, scope)
        except ProgramRefused as refused:
            if not statement:
                raise
            content = Refusal(refused)
        box.content = content
        return content

    def changed(self, node: ast.Call, name: str, old: Content, scope: dict[str, Box],
                ) -> Value:
        """The new value of a tensor after the in-place method ``name``."""
        old = self.number(_usable(old), node)
        if not old.tensor:
            raise _refusal(f"`.{name}()` is a tensor method, but this value is a plain "
                           f"number (line {node.lineno}).", node, "runtime")
        if name == "requires_grad_":
            flag = _literal(node.args[0] if node.args else next(
                (k.value for k in node.keywords if k.arg == "requires_grad"), None), True)
            for item in old.items:
                if item in self.leaf_of:
                    self.leaf_of[item].requires_grad = flag is True
            return old
        if name == "detach_":
            return self.noted(old, "detach", node)
        if name == "zero_":
            return Value((sympy.Integer(0),) * len(old.items), old.shape)
        if name in ("fill_", "copy_"):
            if len(node.args) != 1 or node.keywords:
                raise self.no_formula(f"`.{name}()` with these arguments", node)
            new = self.number(self.expression(node.args[0], scope), node)
            return self.elementwise(node, lambda _, v: v, [old, new], True)
        rule = RULES["." + name[:-1]]  # add_ -> .add, clamp_ -> .clamp, ...
        spelled = f"`.{name}()`"
        return self.apply(node, rule, self.bind(node, rule, spelled, scope), spelled)

    def assigned_value(self, expr: ast.expr, name: str, scope: dict[str, Box]) -> Content:
        """``name = torch.tensor(6.7, requires_grad=True)`` makes the symbol ``name``
        (numbers only: ``torch.tensor(x)`` of a computed x is that value, noted)."""
        creation = _creation(self.program, expr)
        if creation is None:
            return self.expression(expr, scope)
        data_node, requires_grad = creation
        data = self.number(self.expression(data_node, scope), data_node)
        if any(item.free_symbols for item in data.items):
            return replace(self.noted(data, "copy", expr), tensor=True)
        numbers = [_evaluate_number(item) for item in data.items]
        return self.new_leaves(name, numbers, bool(data.shape), expr.lineno, requires_grad)

    # -- the output ---------------------------------------------------------------------------
    def output(self, wanted: str | None) -> tuple[str | None, Value]:
        """The output by the rule of :func:`engine.run.choose_output`: ``output`` if given,
        else what backward() was last called on, else the last expression line or
        assignment (when it is a tensor)."""
        if wanted:
            box = self.env.get(wanted)
            if box is None or not box.content.tensor:
                raise _refusal(f"The output `{wanted}` is not a tensor variable of this "
                               "program.")
            name, content = wanted, box.content
        elif self.roots:
            name, content = self.roots[-1]
        elif self.candidate is not None and self.candidate[1].tensor:
            name, content = self.candidate
        else:
            raise _refusal("The program has no tensor output to write as a formula.")
        value = self.number(_usable(content), self.program.tree)
        if len(value.items) != 1:
            label = f"`{name}`" if name else "The output"
            hint = f" Use {name}.sum() or {name}.mean()." if name else ""
            raise _refusal(f"{label} has {len(value.items)} elements; the formula by hand "
                           f"needs a single number.{hint}")
        return name, value


def _usable(content: Content) -> Content:
    """``content``, or the refusal it stands for when it has no formula."""
    if isinstance(content, Refusal):
        raise content.refused
    return content


def _refusal(message: str, node: ast.AST | None = None, kind: str = "refused",
             ) -> ProgramRefused:
    line = getattr(node, "lineno", None)
    col = getattr(node, "col_offset", None)
    return ProgramRefused(ProgramError(message, kind, line, None if col is None else col + 1))


def _line(node: ast.AST | None) -> str:
    return str(getattr(node, "lineno", "?"))


def _code(program: CheckedProgram, node: ast.AST) -> str:
    text = " ".join((ast.get_source_segment(program.source, node) or "").split())
    return text if len(text) <= 40 else text[:37] + "..."


def _literal(node: ast.expr | None, default: Any = None) -> Any:
    """A keyword's literal value (``reduction='sum'``, ``dim=-1``, ``True``), else a
    marker that equals no accepted value."""
    if node is None:
        return default
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) \
            and isinstance(node.operand, ast.Constant) \
            and isinstance(node.operand.value, (int, float)):
        return -node.operand.value
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Tuple) and len(node.elts) == 1:
        return (_literal(node.elts[0]),)
    return object()


def _number(value: int | float) -> Any:
    """A literal as sympy sees it: whole numbers exact (``x**2.0`` reads x²), halves and
    quarters as fractions (``x**0.5`` reads √x), the rest as floats (6.7, 1e-8, 1e15)."""
    if isinstance(value, int):
        return sympy.Integer(value)
    if not math.isfinite(value):
        return sympy.oo if value > 0 else (-sympy.oo if value < 0 else sympy.nan)
    if value.is_integer() and abs(value) < 1e9:
        return sympy.Integer(int(value))
    numerator, denominator = value.as_integer_ratio()
    if denominator <= 4 and abs(value) < 10:
        return sympy.Rational(numerator, denominator)
    return sympy.Float(value)


def _creation(program: CheckedProgram, expr: ast.expr) -> tuple[ast.expr, bool] | None:
    """For ``torch.tensor(data, requires_grad=...)``, possibly followed by
    ``.requires_grad_()``, ``.float()``, ``.double()``, ``.clone()``: (data, requires grad)."""
    requires_grad = False
    while isinstance(expr, ast.Call):
        callee = program.callees.get(id(expr))
        if callee is None:
            return None
        if callee.kind == "method" and callee.name in ("requires_grad_", "float", "double",
                                                       "clone") and not expr.keywords:
            if callee.name == "requires_grad_":
                requires_grad = _literal(expr.args[0] if expr.args else None, True) is True
            expr = expr.func.value  # type: ignore[attr-defined]
            continue
        function = callee.function
        if callee.kind == "function" and function is not None and expr.args \
                and function.name in RULES and RULES[function.name].kind == "create":
            flag = next((k.value for k in expr.keywords if k.arg == "requires_grad"), None)
            return expr.args[0], requires_grad or _literal(flag, False) is True
        return None
    return None


def _tensor_guess(program: CheckedProgram, expr: ast.expr) -> bool:
    """Whether a refused expression would have given a tensor in a run (most do; len(),
    int(), .item() and friends give Python numbers, which are never the output)."""
    if isinstance(expr, ast.Call):
        callee = program.callees.get(id(expr))
        if callee is not None:
            key = "." + callee.name if callee.kind == "method" else (
                callee.function.name if callee.function else callee.name)
            return key not in _NON_TENSOR_CALLS
    return not isinstance(expr, (ast.Constant, ast.Attribute))


# === numbers: evaluating formulas with numpy ==============================================
def _leaf_number(node: Any) -> float:
    try:
        return float(node)
    except (TypeError, ValueError):
        return math.nan  # zoo, nan
    except OverflowError:
        return math.inf if node > 0 else -math.inf


def _plan(roots: Iterable[Any]) -> tuple[list[Any], dict[Any, int], int]:
    """Distinct nodes, children first; how many times each is an argument; and the work
    (nodes plus arguments) of evaluating them all once."""
    order: list[Any] = []
    uses: dict[Any, int] = {}
    seen: set[Any] = set()
    stack: list[tuple[Any, bool]] = [(root, False) for root in roots]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for arg in node.args:
            uses[arg] = uses.get(arg, 0) + 1
            if arg not in seen:
                stack.append((arg, False))
    return order, uses, sum(1 + len(node.args) for node in order)


def evaluate(exprs: list[Any], at: Mapping[Any, Any]) -> list[Any]:
    """The formulas' values, symbols taking ``at`` (floats or arrays): each distinct node
    once, children first, through the table NUMPY. A value is dropped as soon as every
    node using it is done, so memory stays near the width of the tree."""
    roots = set(exprs)
    order, uses, _ = _plan(exprs)
    values: dict[Any, Any] = {}
    with np.errstate(all="ignore"):
        for node in order:
            if node.is_Symbol:
                values[node] = at[node]
            elif node.is_Number or node.is_NumberSymbol or node in (sympy.zoo, sympy.nan):
                values[node] = _leaf_number(node)
            else:
                function = NUMPY.get(node.func)
                if function is None:
                    raise _refusal(f"The derivative by hand contains `{node.func.__name__}`,"
                                   " which cannot be evaluated here.", None, "internal")
                values[node] = function(*[values[arg] for arg in node.args])
            for arg in node.args:
                uses[arg] -= 1
                if uses[arg] == 0 and arg not in roots:
                    values.pop(arg, None)
    return [values[expr] for expr in exprs]


def _evaluate_number(expr: Any) -> float:
    """A formula without symbols as a float (inf or nan where it has no value)."""
    return float(evaluate([expr], {})[0])


# === the derivative ======================================================================
def formula_in_process(source: str, inputs: Mapping[str, Any] | None, wrt: str,
                       lo: float | None, hi: float | None, n: int, output: str | None,
                       limits: Limits) -> Formula:
    """The :class:`Formula` of ``source`` in this process (see
    :func:`engine.analytic_derivative`); raises ProgramRefused with a sentence."""
    if n:
        lo = -3.0 if lo is None else lo
        hi = 3.0 if hi is None else hi
        check_range(lo, hi, n, limits)
    try:
        return _formula(source, inputs, wrt, float(lo or 0.0), float(hi or 0.0), n, output,
                        limits)
    except ProgramRefused:
        raise
    except RecursionError:
        raise _refusal("The formula is nested too deeply to work out by hand.",
                       kind="limit") from None
    except (TypeError, ValueError, ArithmeticError) as exc:  # sympy on an edge case
        raise _refusal(f"No formula by hand for this program ({type(exc).__name__}: "
                       f"{str(exc)[:120]}).") from None
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - a page must get a sentence, never a crash
        raise _refusal(f"Internal error ({type(exc).__name__}): {str(exc)[:120]}", None,
                       "internal") from None


def _formula(source: str, inputs: Mapping[str, Any] | None, wrt: str, lo: float, hi: float,
             n: int, output: str | None, limits: Limits) -> Formula:
    tensors = {name: make_input(name, value, False, "float64", limits)
               for name, value in (inputs or {}).items()}
    program = check_program(source, limits, known_names=set(tensors))
    walker = _Walker(program, limits)
    for name, tensor in tensors.items():
        walker.add_input(name, tensor)
    walker.run()
    output_name, value = walker.output(output)
    f = value.items[0]
    if f.has(sympy.oo, -sympy.oo, sympy.zoo, sympy.nan):
        raise _refusal("The formula contains an infinite or undefined number (such as a "
                       "division by zero), so it has no derivative by hand.")
    _check_names(walker, f)
    symbols = _wrt_symbols(walker, f, wrt)
    wrt_leaf = walker.leaf_of[symbols[0]]
    scalar = len(symbols) == 1  # a number, or a list of one
    dfs = [sympy.diff(f, s) if s in f.free_symbols else sympy.Integer(0) for s in symbols]
    work = _plan([f, *dfs])[2]
    if work > MAX_DERIVATIVE_WORK:
        raise _refusal("The derivative is too large to work out by hand here.", kind="limit")
    names = {leaf.symbol: _latex_name(leaf) for leaf in walker.leaves}
    f_latex = _latex(f, names, walker)
    df_latex = _latex(dfs[0] if scalar else sympy.Tuple(*dfs), names, walker)
    at = {leaf.symbol: leaf.value for leaf in walker.leaves}
    f_value, *df_values = (float(v) for v in evaluate([f, *dfs], at))
    xs = fs = dfs_curve = np.empty(0)
    if n:
        if not scalar:
            raise _refusal(f"This curve cannot be drawn: `{wrt}` has {len(symbols)} "
                           "elements; a curve varies one number.")
        if work * n > limits.max_curve_elements:
            most = max(2, limits.max_curve_elements // work)
            raise _refusal(f"Curve: this formula is too large for {n:,} points; use at "
                           f"most {most:,}.", kind="input")
        xs = np.linspace(lo, hi, n, dtype=np.float64)
        fs, dfs_curve = (np.broadcast_to(np.asarray(v, dtype=np.float64), (n,)).copy()
                         for v in evaluate([f, dfs[0]], {**at, symbols[0]: xs}))
    notes = set(value.notes)
    if not wrt_leaf.requires_grad:
        notes.add(NOTES["requires_grad"].format(name=wrt, line=wrt_leaf.line or "?", code=""))
    used = sorted(f.free_symbols, key=lambda s: s.name)
    return Formula(
        wrt=wrt, output_name=output_name, f_latex=f_latex, df_latex=df_latex,
        too_long_to_show=not (f_latex and df_latex), f_value=f_value,
        df_value=df_values[0] if scalar else math.nan, df_values=tuple(df_values),
        values={walker.leaf_of[s].key: walker.leaf_of[s].value for s in used},
        notes=tuple(sorted(notes)), xs=xs, fs=fs, dfs=dfs_curve)


def _check_names(walker: _Walker, f: Any) -> None:
    """One symbol per name in the output: a tensor made twice under one name would make
    the formula ambiguous (both read ``x``)."""
    seen: dict[str, int] = {}
    for symbol in f.free_symbols:
        leaf = walker.leaf_of[symbol]
        if seen.setdefault(leaf.key, leaf.generation) != leaf.generation:
            raise _refusal(f"The output uses two different tensors called `{leaf.name}` "
                           "(it is created twice): rename one of them.")


def _wrt_symbols(walker: _Walker, f: Any, wrt: str) -> list[sympy.Symbol]:
    """The symbols of ``wrt``: the input or ``torch.tensor`` leaf of that name the output
    is made from (the latest one when it is made from none: its derivative is then 0)."""
    created = [leaf for leaf in walker.leaves if leaf.name == wrt]
    if not created:
        if wrt in walker.env:
            raise _refusal(f"`{wrt}` is not an input or a tensor the program creates with "
                           "torch.tensor(...), so there is nothing to vary.")
        raise _refusal(f"There is no input or variable called `{wrt}`.")
    generations: dict[int, list[sympy.Symbol]] = {}
    for leaf in created:
        generations.setdefault(leaf.generation, []).append(leaf.symbol)
    for symbols in generations.values():
        if any(s in f.free_symbols for s in symbols):
            return symbols  # _check_names made sure there is only one
    return generations[max(generations)]


def _latex_name(leaf: Leaf) -> str:
    base = sympy.latex(sympy.Symbol(leaf.name))
    if leaf.index is None:
        return base
    return f"{{{base}}}_{{{leaf.index}}}" if "_" in base or "^" in base \
        else f"{base}_{{{leaf.index}}}"


def _latex(expr: Any, names: dict[sympy.Symbol, str], walker: _Walker) -> str:
    """LaTeX of ``expr`` with the program's names, or "" when it is too long to read."""
    if walker.measure(expr)[0] > LATEX_MAX_NODES:
        return ""
    text = sympy.latex(expr, symbol_names=names)
    return text if len(text) <= LATEX_MAX_CHARS else ""
