"""Property tests for the program language (hypothesis, in-process runs).

(a) No text at all makes ``run_program`` raise: random unicode, printable ASCII, and token
    soup close to real programs, in the program and in the input boxes.
(b) Programs generated from a small grammar (scalar inputs x, y; + - * / ** with small
    constants; unary -; sin/cos/exp/tanh/sigmoid; weighted sum/mean over a vector) never
    raise and, when they run, autograd's gradients match a central finite difference of the
    same expression evaluated by an independent pure-Python rendering of the tree (float64).
(c) Random character mutations of valid programs never make ``run_program`` raise.

Every run must also leave torch's process-wide state as it found it.
"""

from __future__ import annotations

import math
import os
import string
from dataclasses import dataclass

import pytest
import torch
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st

from engine import run_program
from engine.running.run import RunResult

KINDS = {"syntax", "refused", "input", "limit", "memory", "timeout", "autograd", "runtime"}
# HYPOTHESIS_EXAMPLES=5000 for a long exploratory run; the default keeps the file under ~30 s.
SETTINGS = settings(max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "150")),
                    deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _state():
    return (torch.get_default_dtype(), torch.get_num_threads(), torch.is_grad_enabled(),
            torch.is_anomaly_enabled(), torch.are_deterministic_algorithms_enabled())


def safe_run(source, inputs=None, **kw) -> RunResult:
    """run_program in-process; it must return a RunResult whatever the text, with a known
    error kind (never 'internal', which means the engine itself failed), and leave torch's
    process-wide state alone."""
    state, rng = _state(), torch.get_rng_state()
    try:
        result = run_program(source, inputs, isolate=False, **kw)
    except BaseException as exc:  # noqa: BLE001 - the property under test
        pytest.fail(f"run_program raised {type(exc).__name__}: {exc} for {source!r} "
                    f"with {inputs!r}")
    assert isinstance(result, RunResult)
    if result.error is not None:
        assert result.error.kind in KINDS, (source, inputs, result.error)
        assert isinstance(result.error.message, str) and result.error.message.strip()
    assert _state() == state
    assert torch.equal(torch.get_rng_state(), rng)
    return result


# -- (a) random text never raises --------------------------------------------------------
TOKENS = [
    "x", "y", "z", "w", " ", " ", "\n", "    ", "=", "(", ")", "[", "]", ",", ".", ":", "+",
    "-", "*", "/", "**", "@", "//", "%", "<", "==", "1", "2.5", "0", "-1", "1e3", "10**",
    "torch", "F", "math", "sin", "exp", "sum", "mean", "backward", "grad", "grad_fn",
    "requires_grad", "=True", "retain_grad", "detach", "no_grad", "with ", "def ", "return ",
    "lambda", "import ", "print", "'a'", '"b"', "f'", "{", "}", "__class__", "_", "#", "\\",
    "tensor", "ones", "zeros", "arange", "rand", "cat", "expand", "repeat", "view", "shape",
    "reduction=", "'sum'", "dim=", "T", "...", "None", "True", "not ", "and ", "if ", "else ",
    "for ", "in ", "while ", "\t", "\x00", "ｘ", "＿", ";",
]
token_soup = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)


@SETTINGS
@given(st.text(max_size=300))
def test_random_unicode_never_raises(source):
    safe_run(source, {"x": "[1.0, 2.0]"})


@SETTINGS
@given(st.text(alphabet=string.printable, max_size=300))
def test_random_printable_ascii_never_raises(source):
    safe_run(source, {"x": "3"})


@SETTINGS
@given(token_soup)
@example("x.grad_fn.next_functions")
@example("y = x.sum()\ny.backward()\nz = x.grad")
def test_token_soup_never_raises(source):
    safe_run(source, {"x": "[1.0, 2.0]", "y": "2"})


@SETTINGS
@given(st.one_of(st.text(max_size=200), st.text(alphabet="[](),.-+e0123456789 ", max_size=200),
                 token_soup))
def test_random_input_box_never_raises(text):
    r = safe_run("y = x * 2", {"x": text})
    if r.error is not None:
        assert r.error.kind == "input", (text, r.error)
        assert "`x`" in r.error.message


# -- (b) generated programs: autograd against finite differences ----------------------------
@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class Const:
    value: float


@dataclass(frozen=True)
class Neg:
    arg: object


@dataclass(frozen=True)
class Bin:
    op: str
    left: object
    right: object


@dataclass(frozen=True)
class Pow:
    base: object
    exponent: float


@dataclass(frozen=True)
class RPow:
    base: float
    exponent: object


@dataclass(frozen=True)
class Func:
    name: str
    spelling: str  # "{}" is replaced by the argument
    arg: object


@dataclass(frozen=True)
class Reduce:
    how: str  # "sum" | "mean"
    weights: tuple[float, ...]
    arg: object


CONSTANTS = [0.5, 1, 1.5, 2, 3, 0.25, 2.5, -1, -0.5]
EXPONENTS = [2, 3, -1, 0.5, 1.5, 2.0]
FUNCTION_SPELLINGS = {
    "sin": ["torch.sin({})", "({}).sin()", "sin({})"],
    "cos": ["torch.cos({})", "({}).cos()", "cos({})"],
    "exp": ["torch.exp({})", "({}).exp()", "exp({})"],
    "tanh": ["torch.tanh({})", "({}).tanh()", "F.tanh({})", "tanh({})"],
    "sigmoid": ["torch.sigmoid({})", "({}).sigmoid()", "F.sigmoid({})", "sigmoid({})"],
}


@st.composite
def expressions(draw, depth: int = 4, need_var: bool = True):
    """An expression tree; with ``need_var`` it mentions x or y, so functions and reductions
    always receive a tensor (torch.sin(2.0) is a TypeError in PyTorch too)."""
    if depth == 0 or draw(st.integers(0, 4)) == 0:
        if need_var or draw(st.booleans()):
            return Var(draw(st.sampled_from(["x", "y"])))
        return Const(draw(st.sampled_from(CONSTANTS)))
    kind = draw(st.sampled_from(["neg", "bin", "bin", "bin", "pow", "rpow", "func", "func",
                                 "reduce"]))
    sub = depth - 1
    if kind == "neg":
        return Neg(draw(expressions(sub, need_var)))
    if kind == "bin":
        op = draw(st.sampled_from(["+", "-", "*", "/"]))
        if draw(st.booleans()):
            return Bin(op, draw(expressions(sub, need_var)), draw(expressions(sub, False)))
        return Bin(op, draw(expressions(sub, False)), draw(expressions(sub, need_var)))
    if kind == "pow":
        return Pow(draw(expressions(sub, need_var)), draw(st.sampled_from(EXPONENTS)))
    if kind == "rpow":
        return RPow(draw(st.sampled_from([0.5, 2, 3, 1.5])), draw(expressions(sub, True)))
    if kind == "func":
        name = draw(st.sampled_from(sorted(FUNCTION_SPELLINGS)))
        return Func(name, draw(st.sampled_from(FUNCTION_SPELLINGS[name])),
                    draw(expressions(sub, True)))
    weights = tuple(draw(st.lists(st.sampled_from([1.0, -2.0, 0.5, 3.0, 0.25]), min_size=1,
                                  max_size=4)))
    return Reduce(draw(st.sampled_from(["sum", "mean"])), weights, draw(expressions(sub, True)))


def render(e) -> str:
    """The program text of a tree, fully parenthesised."""
    if isinstance(e, Var):
        return e.name
    if isinstance(e, Const):
        return f"({e.value!r})" if e.value < 0 else repr(e.value)  # -1 ** 2 is -(1 ** 2)
    if isinstance(e, Neg):
        return f"(-{render(e.arg)})"
    if isinstance(e, Bin):
        return f"({render(e.left)} {e.op} {render(e.right)})"
    if isinstance(e, Pow):
        return f"({render(e.base)} ** {e.exponent!r})"
    if isinstance(e, RPow):
        return f"({e.base!r} ** {render(e.exponent)})"
    if isinstance(e, Func):
        return e.spelling.format(render(e.arg))
    weights = ", ".join(repr(float(w)) for w in e.weights)
    return f"(torch.tensor([{weights}], dtype=torch.float64) * {render(e.arg)}).{e.how}()"


def _sigmoid(v: float) -> float:
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    z = math.exp(v)
    return z / (1.0 + z)


PY_FUNCTIONS = {"sin": math.sin, "cos": math.cos, "exp": math.exp, "tanh": math.tanh,
                "sigmoid": _sigmoid}


def evaluate(e, env: dict[str, float]) -> float:
    """The same tree with plain Python floats: an independent reference for torch."""
    if isinstance(e, Var):
        return env[e.name]
    if isinstance(e, Const):
        return float(e.value)
    if isinstance(e, Neg):
        return -evaluate(e.arg, env)
    if isinstance(e, Bin):
        a, b = evaluate(e.left, env), evaluate(e.right, env)
        if e.op == "+":
            return a + b
        if e.op == "-":
            return a - b
        if e.op == "*":
            return a * b
        return a / b
    if isinstance(e, Pow):
        base = evaluate(e.base, env)
        if base < 0 and float(e.exponent) != int(e.exponent):
            return math.nan
        return base ** e.exponent
    if isinstance(e, RPow):
        return e.base ** evaluate(e.exponent, env)
    if isinstance(e, Func):
        return PY_FUNCTIONS[e.name](evaluate(e.arg, env))
    v = evaluate(e.arg, env)
    total = sum(w * v for w in e.weights)
    return total if e.how == "sum" else total / len(e.weights)


def reference(e, env: dict[str, float]) -> float:
    try:
        value = evaluate(e, env)
    except (ZeroDivisionError, OverflowError, ValueError):
        return math.nan
    if isinstance(value, complex):
        return math.nan
    return float(value)


def central_difference(e, env: dict[str, float], name: str, h: float) -> float:
    up, down = dict(env), dict(env)
    up[name] += h
    down[name] -= h
    return (reference(e, up) - reference(e, down)) / (2 * h)


def singular(e, env: dict[str, float]) -> bool:
    """A power whose base is (nearly) 0 with an exponent below 1 (or not whole): autograd's
    chain rule gives 0 * inf = nan there even where the whole function is flat, as in
    (x - x) ** 0.5. Not a point to compare derivatives at."""
    stack = [e]
    while stack:
        node = stack.pop()
        if isinstance(node, Pow):
            base = reference(node.base, env)
            if not math.isfinite(base) or (abs(base) < 1e-6 and (
                    node.exponent < 1 or float(node.exponent) != int(node.exponent))):
                return True
        stack.extend(child for child in vars(node).values()
                     if not isinstance(child, (str, int, float, tuple)))
    return False


def mentions(e, name: str) -> bool:
    if isinstance(e, Var):
        return e.name == name
    return any(mentions(child, name) for child in vars(e).values()
               if not isinstance(child, (str, int, float, tuple)))


POINT = {"x": 0.7, "y": -1.3}


@SETTINGS
@given(expressions())
@example(Func("sigmoid", "F.sigmoid({})", Bin("*", Var("x"), Var("y"))))
@example(Reduce("mean", (1.0, -2.0), Pow(Var("x"), 3)))
@example(RPow(2, Neg(Bin("/", Var("x"), Const(3)))))
@example(Neg(Bin("+", Pow(Const(-1), 2), Var("x"))))
@example(Pow(Bin("-", Var("x"), Var("x")), 0.5))
def test_generated_program_gradients_match_finite_differences(tree):
    source = f"out = {render(tree)}"
    r = safe_run(source, {"x": POINT["x"], "y": POINT["y"]}, dtype="float64")
    value = reference(tree, POINT)
    if r.error is not None:
        # Only a bound or a genuine non-finite number may stop a grammar program.
        assert r.error.kind in ("limit", "runtime", "autograd"), (source, r.error)
        event(f"stopped: {r.error.kind}")
        return
    assume(math.isfinite(value) and abs(value) < 1e6 and not singular(tree, POINT))
    assert r.output is not None and r.output.dtype == torch.float64, source
    assert r.output.item() == pytest.approx(value, rel=1e-9, abs=1e-12), source
    for name in ("x", "y"):
        grad = r.grads.get(name)
        got = 0.0 if grad is None else grad.item()
        if not mentions(tree, name):
            assert got == 0.0, (source, name, got)
            continue
        fd = central_difference(tree, POINT, name, 1e-6)
        fd_coarse = central_difference(tree, POINT, name, 1e-4)
        assume(math.isfinite(fd) and math.isfinite(fd_coarse) and abs(fd) < 1e6)
        # A smooth function has agreeing differences at both steps; skip near poles/kinks.
        assume(abs(fd - fd_coarse) <= 1e-3 * max(1.0, abs(fd)))
        assert got == pytest.approx(fd, rel=1e-5, abs=1e-6), (source, name, got, fd)
        event(f"gradient checked: {name}")


# -- (c) mutations of valid programs never raise ---------------------------------------------
SEEDS = [
    "y = x**2",
    "y = torch.sin(x) * w + b\nloss = F.mse_loss(y, torch.ones(3))\nloss.backward()",
    "z = (x * w).sum()\nwith torch.no_grad():\n    u = z * 2\nprint('z is', z)",
    "def f(a):\n    return torch.tanh(a) ** 2\nout = f(x).mean()\nout.backward()\ng = x.grad",
    "h = x.retain_grad()\nm = torch.stack([x, x]).T @ torch.ones(2, 1)\ns = m.sum()",
    "p = torch.sigmoid(x)\nl = F.binary_cross_entropy(p, torch.ones(3), reduction='sum')",
    "torch.manual_seed(0)\nr = torch.rand(3)\nq = torch.where(x > 0, x, r)\nq.sum().backward()",
    "import torch\nimport torch.nn.functional as F\na = x.detach().requires_grad_()\nb = a[0:2]",
]
MUTATION_CHARS = string.printable + "＿ｘ\x00é\u202e"


@st.composite
def mutated(draw):
    source = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["delete", "insert", "replace", "duplicate"]))
        at = draw(st.integers(0, len(source)))
        if kind == "delete" and source:
            end = min(len(source), at + draw(st.integers(1, 4)))
            source = source[:at] + source[end:]
        elif kind == "insert":
            text = draw(st.one_of(st.text(alphabet=MUTATION_CHARS, min_size=1, max_size=3),
                                  st.sampled_from(TOKENS)))
            source = source[:at] + text + source[at:]
        elif kind == "replace" and at < len(source):
            source = source[:at] + draw(st.sampled_from(MUTATION_CHARS)) + source[at + 1:]
        elif kind == "duplicate":
            end = min(len(source), at + draw(st.integers(1, 12)))
            source = source[:end] + source[at:end] + source[end:]
    return source


@SETTINGS
@given(mutated())
def test_mutated_program_never_raises(source):
    safe_run(source, {"x": "[0.5, -1.0, 2.0]", "w": "[1.0, 2.0, 3.0]", "b": "0.5"})


def test_seed_programs_run():
    """The mutation seeds are valid programs (so the mutations start from real code)."""
    for source in SEEDS:
        r = safe_run(source, {"x": "[0.5, -1.0, 2.0]", "w": "[1.0, 2.0, 3.0]", "b": "0.5"})
        assert r.error is None, (source, r.error)


# -- (d) programs from the extended grammar: never raise, and agree with Python ---------
# Statements and expressions of issue 16's language (loops, if, try, def with defaults,
# lambdas, lists, dicts, comprehensions, f-strings, % formatting, .data, .grad = None,
# x[mask] = ...). Each program is run by run_program and by plain Python + torch in a fresh
# namespace: run_program never raises, and when Python runs the program without an error,
# the engine prints exactly what Python printed.
_NAMES = ("a", "b", "t", "w")
_ATOMS = st.sampled_from(["a", "b", "1", "2.5", "-3", "t", "t.sum()", "len(xs)", "xs[0]",
                          "d['k']", "w.item()"])
_BINOPS = st.sampled_from(["+", "-", "*", "/", "//", "%", "**"])


@st.composite
def _expression(draw, depth: int = 0):
    if depth > 2 or draw(st.booleans()):
        return draw(_ATOMS)
    kind = draw(st.integers(0, 6))
    left, right = draw(_expression(depth + 1)), draw(_expression(depth + 1))
    if kind == 0:
        return f"({left} {draw(_BINOPS)} {right})"
    if kind == 1:
        return f"({left} if {left} > {right} else {right})"
    if kind == 2:
        return f"torch.sin(torch.as_tensor({left}))"
    if kind == 3:
        return f"sum([{left}, {right}])"
    if kind == 4:
        return f"max({left}, {right})"
    if kind == 5:
        return f"(lambda v, k=2: v * k)({left})"
    return f"abs({left})"


@st.composite
def _statement(draw, depth: int = 0):
    kind = draw(st.integers(0, 11 if depth < 2 else 7))
    name = draw(st.sampled_from(_NAMES[:2]))
    expression = draw(_expression())
    pad = "    "
    if kind == 0:
        return [f"{name} = {expression}"]
    if kind == 1:
        return [f"print(f'{{{name}}} {{{expression}!r}}')"]
    if kind == 2:
        return [f"print('%s %.3f' % ({name}, float({expression})))"]
    if kind == 3:
        return [f"xs.append({expression})"]
    if kind == 4:
        return [f"d['k'] = {expression}"]
    if kind == 5:
        return ["loss = (w * t).sum()", "loss.backward()",
                "w.data -= 0.1 * w.grad", "w.grad = None"]
    if kind == 6:
        return ["t[t > 1] = 0"]
    if kind == 7:
        return [f"print([v * 2 for v in xs if v != {expression}], {{k: v for k, v in d.items()}})"]
    body = [pad + line for line in draw(_statement(depth + 1))]
    if kind == 8:
        return [f"for i in range({draw(st.integers(0, 3))}):", *body]
    if kind == 9:
        return [f"if {expression} > {draw(_expression())}:"] + body + ["else:"] + \
            [pad + line for line in draw(_statement(depth + 1))]
    if kind == 10:
        return ["try:", *body,
                "except (ZeroDivisionError, RuntimeError, ValueError, TypeError, "
                "OverflowError, IndexError, KeyError) as e:",
                pad + "print('error', e)"]
    # one counter per depth: nested loops sharing `n` would never end, in Python too
    counter = f"n{depth}"
    return [f"{counter} = 0", f"while {counter} < {draw(st.integers(0, 3))}:", *body,
            pad + f"{counter} += 1"]


@st.composite
def extended_programs(draw):
    lines = ["a = 1.5", "b = 2", "t = torch.tensor([0.5, 1.5, 2.5])",
             "w = torch.tensor([1.0, -1.0, 2.0], requires_grad=True)", "xs = [1, 2]",
             "d = {'k': 3}"]
    for _ in range(draw(st.integers(1, 6))):
        lines += draw(_statement())
    return "\n".join(lines) + "\n"


def _plain_python(source: str) -> tuple[str, BaseException | None]:
    import contextlib
    import io

    import torch.nn.functional as F

    out = io.StringIO()
    namespace = {"torch": torch, "math": math, "F": F}
    error = None
    with torch.random.fork_rng(), contextlib.redirect_stdout(out):
        torch.manual_seed(0)
        try:
            exec(compile(source, "<plain>", "exec"), namespace)
        except Exception as exc:  # noqa: BLE001 - the reference may fail like the engine
            error = exc
    return out.getvalue(), error


@SETTINGS
@given(extended_programs())
def test_extended_grammar_never_raises_and_agrees_with_python(source):
    result = safe_run(source, auto_backward=False)
    printed, error = _plain_python(source)
    event("python raised" if error else "python ran")
    if error is None and result.error is None:
        assert result.printed == printed, source
    if error is None and result.error is not None:
        # Python ran it; the engine may only stop it for one of its limits.
        assert result.error.kind in ("limit", "timeout"), (source, result.error)
