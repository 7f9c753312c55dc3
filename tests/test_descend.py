"""Descend: the training loop it writes, run by the engine, against plain torch running the
same descent by hand in the test; the verdict on a descent against the hand formula of
gradient descent on x**2; every refusal's sentence; hostile choices and programs."""

from __future__ import annotations

import ast
import itertools
import math
import os
from collections.abc import Callable

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine import run_program
from engine.teaching.descend import (
    MAX_STEPS,
    DescendChoice,
    DescendRefused,
    descend_program,
    lr_text,
    movable,
)
from engine.teaching.learning import KINDS, divergence
from ui.examples import BCE_CODE

# The optimizers as a learner writes them, independent of engine.teaching.descend's table.
TORCH_OPTIMIZERS: dict[str, Callable[[list[torch.Tensor], float], torch.optim.Optimizer]] = {
    "sgd": lambda params, lr: torch.optim.SGD(params, lr=lr),
    "momentum": lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9),
    "adam": lambda params, lr: torch.optim.Adam(params, lr=lr),
}


@pytest.fixture(scope="module", autouse=True)
def _warm_optimizers():
    """torch's first optimizer imports torch._dynamo (over a second). The engine's worker
    pays that in its warm-up; in-process runs here pay it once, before the timed ones."""
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)


def descend(source: str, output: str | None, leaves: tuple[str, ...], optimizer: str = "sgd",
            lr: float = 0.1, steps: int = 20, available: tuple[str, ...] | None = None) -> str:
    choice = DescendChoice(leaves, optimizer, lr, steps)
    return descend_program(source, output, available or leaves, choice)


# --- (a) the loop it writes gives plain torch's numbers -------------------------------------
def plain_x2(opt: str, lr: float, steps: int):
    x = torch.tensor(3.0, requires_grad=True)
    optimizer = TORCH_OPTIMIZERS[opt]([x], lr)
    seen = []
    for _ in range(steps):
        optimizer.zero_grad()
        y = x**2
        y.backward()
        seen.append((y.item(), {"x": x.item()}))
        optimizer.step()
    return seen, {"x": x.detach()}


def plain_sin(opt: str, lr: float, steps: int):
    x = torch.tensor(1.5, requires_grad=True)
    optimizer = TORCH_OPTIMIZERS[opt]([x], lr)
    seen = []
    for _ in range(steps):
        optimizer.zero_grad()
        z = torch.sin(x**2)
        z.backward()
        seen.append((z.item(), {"x": x.item()}))
        optimizer.step()
    return seen, {"x": x.detach()}


def plain_bce(opt: str, lr: float, steps: int):
    x, y = torch.tensor(6.7), torch.tensor(0.0)
    w = torch.tensor(1.0, requires_grad=True)
    b = torch.tensor(0.0, requires_grad=True)
    optimizer = TORCH_OPTIMIZERS[opt]([w, b], lr)
    seen = []
    for _ in range(steps):
        optimizer.zero_grad()
        p = torch.clamp(torch.sigmoid(w * x + b), 1e-8, 1 - 1e-8)
        loss = -(y * torch.log(p) + (1 - y) * torch.log(1 - p))
        loss.backward()
        seen.append((loss.item(), {"w": w.item(), "b": b.item()}))
        optimizer.step()
    return seen, {"w": w.detach(), "b": b.detach()}


def plain_two(opt: str, lr: float, steps: int):
    x = torch.tensor(-1.0, requires_grad=True)
    y = torch.tensor(1.0, requires_grad=True)
    optimizer = TORCH_OPTIMIZERS[opt]([x, y], lr)
    seen = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = (1 - x)**2 + 5 * (y - x**2)**2
        loss.backward()
        seen.append((loss.item(), {"x": x.item(), "y": y.item()}))
        optimizer.step()
    return seen, {"x": x.detach(), "y": y.detach()}


def plain_mixed(opt: str, lr: float, steps: int):
    x = torch.tensor(2.0, requires_grad=True)
    w = torch.tensor(0.5, requires_grad=True)
    optimizer = TORCH_OPTIMIZERS[opt]([w, x], lr)
    seen = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = (w * x - 3)**2 + 0.1 * x**2
        loss.backward()
        seen.append((loss.item(), {"w": w.item(), "x": x.item()}))
        optimizer.step()
    return seen, {"w": w.detach(), "x": x.detach()}


def plain_vector(opt: str, lr: float, steps: int):
    x = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    target = torch.tensor([1.0, 2.0, 3.0])
    optimizer = TORCH_OPTIMIZERS[opt]([x], lr)
    seen = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = ((x - target)**2).mean()
        loss.backward()
        seen.append((loss.item(), {}))
        optimizer.step()
    return seen, {"x": x.detach()}


CASES = {
    "x**2": ("y = x**2\n", "y", ("x",), {"x": 3.0}, {}, plain_x2),
    "sin(x**2)": ("y = x**2\nz = torch.sin(y)\n", "z", ("x",), {"x": 1.5}, {}, plain_sin),
    "BCE neuron, w and b made in the program": (
        BCE_CODE, "loss", ("w", "b"), {"x": "6.7", "y": "0"}, {"x": False, "y": False},
        plain_bce),
    "two leaves": ("loss = (1 - x)**2 + 5 * (y - x**2)**2\n", "loss", ("x", "y"),
                   {"x": -1.0, "y": 1.0}, {}, plain_two),
    "an input and a made leaf": (
        "w = torch.tensor(0.5, requires_grad=True)  # the weight\n"
        "loss = (w * x - 3)**2 + 0.1 * x**2\n", "loss", ("w", "x"), {"x": 2.0}, {},
        plain_mixed),
    "a vector leaf": ("target = torch.tensor([1.0, 2.0, 3.0])\n"
                      "loss = ((x - target)**2).mean()\n", "loss", ("x",),
                      {"x": "[0.5, -1, 2]"}, {}, plain_vector),
}
RATES = {"sgd": 0.05, "momentum": 0.02, "adam": 0.1}


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("case", list(CASES))
def test_written_loop_matches_plain_torch(case, optimizer):
    source, output, leaves, inputs, requires, plain = CASES[case]
    steps, lr = 15, RATES[optimizer]
    text = descend(source, output, leaves, optimizer, lr, steps)
    result = run_program(text, inputs, requires_grad=requires, isolate=False)
    assert result.error is None, (text, result.error)
    expected, final = plain(optimizer, lr, steps)
    assert len(result.training) == steps
    # the same float32 operations in the same order: equal bit for bit
    for got, (loss, values) in zip(result.training, expected, strict=True):
        assert got["root"] == output
        assert got["loss"] == loss
        for name, value in values.items():
            assert got["leaves"][name]["value"]["value"] == value
    for name, tensor in final.items():
        assert torch.equal(result.variables[name], tensor), name
    assert result.output_name == output
    # the learner's lines are in the text, verbatim
    for line in source.splitlines():
        assert line.strip() in text


def test_the_brief_example_text():
    text = descend("y = x**2\nz = torch.sin(y)\n", "z", ("x",), "sgd", 0.1, 20)
    assert text.splitlines()[1:] == [
        "optimizer = torch.optim.SGD([x], lr=0.1)",
        "for step in range(20):",
        "    optimizer.zero_grad()",
        "    y = x**2",
        "    z = torch.sin(y)",
        "    z.backward()",
        "    optimizer.step()",
    ]
    assert text.splitlines()[0].startswith("# Descend:")


def test_leaves_made_in_the_program_stay_before_the_loop():
    text = descend(BCE_CODE, "loss", ("w", "b"), "adam", 0.05, 30)
    before, _, loop = text.partition("optimizer = torch.optim.Adam([w, b], lr=0.05)\n")
    assert "w = torch.tensor(1.0, requires_grad=True)" in before
    assert "b = torch.tensor(0.0, requires_grad=True)" in before
    assert "def binary_cross_entropy_loss" in before
    assert "    z = w * x + b\n" in loop and "    loss.backward()\n" in loop
    assert "epsilon = 1e-8  # to prevent log(0)" in before  # comments kept


def test_definitions_right_after_the_split_are_made_once():
    source = ("def square(a):\n    return a**2\n\n# the loss\nloss = square(x - 1)\n")
    text = descend(source, "loss", ("x",))
    lines = text.splitlines()
    assert lines[0] == "def square(a):"
    assert lines.index("    # the loss") > lines.index("for step in range(20):")
    result = run_program(text, {"x": 3.0}, isolate=False)
    assert result.error is None
    x = 3.0
    for got in result.training:  # SGD on (x - 1)**2 by hand: x <- x - 0.1 * 2 (x - 1)
        assert got["loss"] == pytest.approx((x - 1)**2, rel=1e-5)
        x -= 0.1 * 2 * (x - 1)


@pytest.mark.parametrize("lr", [0.1, 1e-05, 3.0, 1e6, 0.30000000000000004, 2.5e-3])
def test_learning_rate_text_reads_back_as_the_same_float(lr):
    text = lr_text(lr)
    assert float(text) == lr
    assert f"lr={text})" in descend("y = x**2\n", "y", ("x",), lr=lr)
    assert lr_text(0.1) == "0.1"


def test_names_the_program_uses_are_not_taken():
    source = ("optimizer = torch.tensor(2.0)\nstep = 0.5\nopt = 1.0\n"
              "loss = optimizer * (x - step)**2 + opt\n")
    text = descend(source, "loss", ("x",), lr=0.1, steps=10)
    assert "descend_optimizer = torch.optim.SGD([x], lr=0.1)" in text
    assert "for descend_step in range(10):" in text
    result = run_program(text, {"x": 3.0}, isolate=False)
    assert result.error is None
    x = 3.0
    for got in result.training:  # SGD on 2 (x - 0.5)**2 + 1 by hand
        assert got["loss"] == pytest.approx(2 * (x - 0.5)**2 + 1, rel=1e-5)
        x -= 0.1 * 4 * (x - 0.5)
    assert result.variables["optimizer"].item() == 2.0  # the program's own, untouched


def test_tricky_statements_run_and_match_plain_torch():
    source = (
        "def f(a):\n"
        "    return a * 2\n"
        "class Scale:\n"
        "    def __init__(self, k):\n"
        "        self.k = k\n"
        "total = 0.0\n"
        "for i in range(3):\n"
        "    total = total + i\n"
        "try:\n"
        "    shift = 1.0\n"
        "except ValueError:\n"
        "    shift = 0.0\n"
        "with torch.no_grad():\n"
        "    c = torch.tensor(2.0)\n"
        "note = '''two\n"
        "  lines'''\n"
        "a = 1; b = 2  # one line, two statements\n"
        "loss = (f(x) * Scale(0.5).k - c)**2 + shift + total + a + b\n")
    for optimizer in TORCH_OPTIMIZERS:
        text = descend(source, "loss", ("x",), optimizer, 0.1, 12)
        assert "note = '''two\n  lines'''" in text  # the string's text is not indented
        assert text.index("class Scale") < text.index("for step in range(12)")
        result = run_program(text, {"x": 0.5}, isolate=False)
        assert result.error is None, result.error
        x = torch.tensor(0.5, requires_grad=True)
        opt = TORCH_OPTIMIZERS[optimizer]([x], 0.1)
        for got in result.training:  # the same function, written plainly
            opt.zero_grad()
            loss = (x - 2.0)**2 + 1.0 + 3.0 + 1 + 2
            loss.backward()
            assert got["loss"] == pytest.approx(loss.item(), rel=1e-6)
            opt.step()
        assert result.variables["x"].item() == pytest.approx(x.item(), rel=1e-6)


@pytest.mark.parametrize("source", [
    "a = 1; w = torch.tensor(2.0, requires_grad=True); k = 3  # shared line\nl = (w - k)**2\n",
    "w = torch.tensor(2.0, requires_grad=True)\nif True:\n\tk = 3\n\tl = (w - k)**2\n",
    "w = torch.tensor(2.0, requires_grad=True)\nk = 1 + \\\n    2\nl = (w - k)**2\n",
    "w = torch.tensor(2.0, requires_grad=True)\n@torch.no_grad()\ndef g(a):\n    return a\n"
    "k = g(torch.tensor(3.0))\nl = (w - k)**2\n",
    "w = torch.tensor(2.0, requires_grad=True)\r\nk = 3\r\nl = (w - k)**2\r\n",
])
def test_layouts_are_copied_exactly(source):
    text = descend(source, "l", ("w",), "sgd", 0.25, 6)
    result = run_program(text, isolate=False)
    assert result.error is None, (text, result.error)
    w = 2.0
    for got in result.training:  # SGD on (w - 3)**2 by hand
        assert got["loss"] == pytest.approx((w - 3)**2, rel=1e-5)
        w -= 0.25 * 2 * (w - 3)


def test_movable_names():
    result = run_program("w = torch.tensor(1.0, requires_grad=True)\nlin = torch.nn.Linear(2, 1)\n"
                         "loss = (lin(torch.ones(2)) * w + x).sum()\n", {"x": 1.0},
                         isolate=False)
    assert result.error is None
    names = movable(result.grads)
    assert set(names) == {"w", "x"}


def test_most_steps_allowed_run():
    text = descend("y = x**2\n", "y", ("x",), "adam", 0.01, MAX_STEPS)
    result = run_program(text, {"x": 3.0}, isolate=False)
    assert result.error is None
    expected, final = plain_x2("adam", 0.01, MAX_STEPS)
    assert [s["loss"] for s in result.training] == pytest.approx([e[0] for e in expected],
                                                                 rel=1e-6, abs=1e-7)


# --- (b) the verdict, against gradient descent on x**2 by hand ------------------------------
def run_x2(lr: float, steps: int, x0: float = 4.0, optimizer: str = "sgd") -> list[dict]:
    text = descend("loss = x**2\n", "loss", ("x",), optimizer, lr, steps)
    result = run_program(text, {"x": x0}, isolate=False)
    assert result.error is None
    return result.training


def hand_x2(lr: float, steps: int, x0: float = 4.0) -> list[float]:
    """x_k = x0 (1 - 2 lr)^k: SGD on x**2 (gradient 2x), the values at steps 1..n."""
    return [x0 * (1 - 2 * lr)**k for k in range(steps)]


def test_too_large_a_rate_diverges_where_the_formula_says():
    lr, steps = 1.5, 20
    training = run_x2(lr, steps)
    xs = hand_x2(lr, steps)
    assert [s["leaves"]["x"]["value"]["value"] for s in training] == pytest.approx(xs)
    losses = [x * x for x in xs]
    start = next(k for k in range(1, steps + 1) if all(v > losses[0] for v in losses[k - 1:]))
    verdict = divergence(training, lr=lr, leaves=("x",))
    assert verdict.kind == "diverged"
    assert verdict.step == start == 2
    assert "learning rate 1.5" in verdict.sentence and "step 2" in verdict.sentence


def test_divergence_to_infinity_at_the_step_float32_overflows():
    lr, steps = 1.5, 100
    training = run_x2(lr, steps)
    xs = hand_x2(lr, steps)  # powers of two: exact in float32 until they overflow
    biggest = float(np.finfo(np.float32).max)
    first_inf = next(k for k, x in enumerate(xs, start=1) if x * x > biggest)
    verdict = divergence(training, lr=lr, leaves=("x",))
    assert verdict.kind == "diverged" and verdict.step == first_inf == 63
    assert verdict.sentence.startswith("At step 63 the loss became inf")


def test_a_small_rate_converges():
    lr, steps = 0.1, 20
    training = run_x2(lr, steps)
    losses = [x * x for x in hand_x2(lr, steps)]
    assert all(b < a for a, b in itertools.pairwise(losses))
    assert [s["loss"] for s in training] == pytest.approx(losses, rel=1e-5)
    verdict = divergence(training, lr=lr, leaves=("x",))
    assert verdict.kind == "converging" and verdict.step is None
    assert "goes down at every step" in verdict.sentence


def test_a_rate_past_one_half_overshoots_but_converges():
    lr, steps = 0.9, 20
    xs = hand_x2(lr, steps)
    assert abs(1 - 2 * lr) < 1 and xs[-1]**2 < xs[0]**2  # converges, by the formula
    crossing = next(k for k in range(2, steps + 1) if xs[k - 1] * xs[k - 2] < 0)
    verdict = divergence(run_x2(lr, steps), lr=lr, leaves=("x",))
    assert verdict.kind == "overshoot" and verdict.step == crossing == 2
    assert "jumped past the minimum" in verdict.sentence and "ends lower" in verdict.sentence


def test_a_rate_of_one_bounces_without_descending():
    verdict = divergence(run_x2(1.0, 10), lr=1.0, leaves=("x",))  # x_k = 4 (-1)^k
    assert verdict.kind == "stuck" and "other without getting lower" in verdict.sentence


def test_starting_at_the_minimum_never_moves():
    verdict = divergence(run_x2(0.1, 5, x0=0.0), lr=0.1, leaves=("x",))
    assert verdict.kind == "stuck" and "never moved" in verdict.sentence


def test_nan_where_the_function_has_no_value():
    """SGD on sqrt(x) from 1 with lr 1 by hand: x <- x - 1 / (2 sqrt(x)) until x < 0."""
    lr = 1.0
    text = descend("loss = torch.sqrt(x)\n", "loss", ("x",), "sgd", lr, 10)
    result = run_program(text, {"x": 1.0}, isolate=False)
    assert result.error is None
    x, step = 1.0, 1
    while x >= 0:
        x -= lr / (2 * math.sqrt(x))
        step += 1
    verdict = divergence(result.training, lr=lr, leaves=("x",))
    assert verdict.kind == "diverged" and verdict.step == step == 3
    assert "nan (not a number)" in verdict.sentence
    assert f"{x:.4g}" in verdict.sentence  # where step 2 moved x


def test_momentum_overshoot_matches_the_heavy_ball_by_hand():
    """torch's momentum: buf = 0.9 buf + g (buf = g at first), x -= lr buf; the verdict's
    step is where x first lies on the other side of 0 or the loss first goes up."""
    lr, steps = 0.1, 30
    x, buf, xs = 4.0, None, []
    for _ in range(steps):
        xs.append(x)
        g = 2 * x
        buf = g if buf is None else 0.9 * buf + g
        x -= lr * buf
    losses = [v * v for v in xs]
    rise = next(k for k in range(2, steps + 1) if losses[k - 1] > losses[k - 2])
    turn = next(k for k in range(2, steps) if (xs[k] - xs[k - 1]) * (xs[k - 1] - xs[k - 2]) < 0)
    verdict = divergence(run_x2(lr, steps, optimizer="momentum"), lr=lr, leaves=("x",),
                         optimizer="momentum")
    assert verdict.kind == "overshoot" and verdict.step == min(rise, turn)
    assert "momentum" in verdict.sentence


def record(loss, value, grad=1.0, name="x"):
    return {"line": 1, "root": "loss", "loss": loss, "numbers": {},
            "leaves": {name: {"value": {"shape": [], "value": value},
                              "grad": {"shape": [], "value": grad}}}}


def test_verdicts_on_made_up_records():
    assert divergence([]).kind == "unknown"
    assert divergence([record(1.0, 1.0)]).kind == "unknown"
    assert divergence([record(None, 1.0), record(None, 0.5)]).kind == "unknown"
    nan_leaf = divergence([record(4.0, 2.0), record(1.0, 1.0), record(3.0, math.nan)])
    assert nan_leaf.kind == "diverged" and nan_leaf.step == 3 and "`x` became nan" in \
        nan_leaf.sentence
    nan_grad = divergence([record(4.0, 2.0), record(1.0, 1.0, grad=math.inf)])
    assert nan_grad.step == 2 and "gradient of `x`" in nan_grad.sentence
    already = divergence([record(math.nan, 2.0), record(math.nan, 1.0)])
    assert already.step == 1 and "already" in already.sentence
    # another leaf's jumps do not count when leaves= names the moved ones
    other = [record(4.0 - k, 1.0 - 0.1 * k) for k in range(4)]
    for k, step in enumerate(other):
        step["leaves"]["y"] = {"value": {"shape": [], "value": (-1.0)**k}, "grad": None}
    assert divergence(other, leaves=("x",)).kind == "converging"
    assert divergence(other).kind == "overshoot"
    tensor = [{"line": 1, "root": "loss", "loss": 3.0 - k, "numbers": {},
               "leaves": {"v": {"value": {"shape": [9], "first": [1.0 - k] * 8, "norm": 3.0},
                                "grad": {"shape": [9], "first": [0.5] * 8, "norm": 1.5}}}}
              for k in range(3)]
    assert divergence(tensor).kind == "converging"
    for verdict in (nan_leaf, nan_grad, already):
        assert verdict.kind in KINDS and verdict.sentence.endswith(".")


# --- (c) refusals, each with its sentence ---------------------------------------------------
def refusal(source, output, leaves, available=None, **choice) -> DescendRefused:
    with pytest.raises(DescendRefused) as caught:
        descend(source, output, leaves, available=available, **choice)
    assert caught.value.sentence.endswith((".", "**2")) or "=" in caught.value.sentence
    return caught.value


def test_refuses_an_unnamed_output_and_says_how_to_name_it():
    refused = refusal("y = x + 1\n(y**2).sum()\n", None, ("x",))
    assert "give it a name" in refused.sentence and "loss = (y**2).sum()" in refused.sentence
    assert refused.line == 2


def test_refuses_an_output_the_program_does_not_assign():
    refused = refusal("y = x**2\n", "q", ("x",))
    assert "`q` is not assigned at the top level" in refused.sentence
    inside_def = refusal("def f():\n    q = x**2\n    return q\ny = f()\n", "q", ("x",))
    assert "outside any def" in inside_def.sentence


def test_refuses_a_leaf_as_the_output():
    assert "one of the leaves to move" in refusal("y = x**2\n", "x", ("x",)).sentence


def test_refuses_an_output_computed_before_the_leaves_are_all_made():
    source = ("w = torch.tensor(1.0, requires_grad=True)\nloss = w**2\n"
              "b = torch.tensor(0.0, requires_grad=True)\n")
    refused = refusal(source, "loss", ("w", "b"))
    assert "`loss` is computed at line 2" in refused.sentence
    assert "Compute `loss` after line 3" in refused.sentence and refused.line == 2


@pytest.mark.parametrize(("source", "words"), [
    ("y = x**2\nw = torch.tensor(1.0, requires_grad=True)\nz = y * w\n",
     "Line 1 computes `y` from `x` before the loop"),
    ("w = torch.tensor(1.0, requires_grad=True)\ndef f():\n    return w * 2\nc = f()\n"
     "b = torch.tensor(0.0, requires_grad=True)\nz = c + b\n",
     "Line 4 computes `c` from `f`, which reads a leaf,"),
    ("w = torch.tensor(1.0, requires_grad=True)\nparts = []\nparts.append(w * 2)\n"
     "b = torch.tensor(0.0, requires_grad=True)\nz = parts[0] + b\n",
     "Line 3 computes `parts` from `w`"),
    ("w = torch.tensor(1.0, requires_grad=True)\nh = w * 2\ng = h + 1\n"
     "b = torch.tensor(0.0, requires_grad=True)\nz = g * b\n",
     "Line 3 computes `g` from `h`, which comes from a leaf,"),
])
def test_refuses_what_would_keep_the_first_steps_value(source, words):
    refused = refusal(source, "z", ("x", "w", "b") if "x" in source else ("w", "b"))
    assert words in refused.sentence and "runs in every step" in refused.sentence


@pytest.mark.parametrize("source", [
    "w = torch.tensor(1.0, requires_grad=True)\nprint(w)\nb = torch.tensor(0.0, "
    "requires_grad=True)\nz = (w + b)**2\n",
    "w = torch.tensor(1.0, requires_grad=True)\nh = w * 2\nb = torch.tensor(0.0, "
    "requires_grad=True)\nh = b * 3\nz = (w + h)**2\n",
    "w = torch.tensor(1.0, requires_grad=True)\nh = w * 2\nb = torch.tensor(0.0, "
    "requires_grad=True)\nz = (w + b)**2\nh = z * 2\n",
    "w = torch.tensor(1.0, requires_grad=True)\nb = torch.zeros_like(w, requires_grad=True)\n"
    "z = (w + b - 1)**2\n",
])
def test_what_runs_once_without_feeding_the_loop_is_fine(source):
    text = descend(source, "z", ("w", "b"))
    assert run_program(text, isolate=False).error is None


def test_refuses_a_program_that_trains_itself():
    refused = refusal("y = x**2\ny.backward()\n", "y", ("x",))
    assert "already calls backward() (line 2)" in refused.sentence and refused.line == 2
    optim = refusal("opt = torch.optim.SGD([x], lr=0.1)\ny = x**2\n", "y", ("x",))
    assert "already uses torch.optim (line 1)" in optim.sentence


def test_refuses_leaves_made_through_global():
    source = ("def make():\n    global w\n    w = torch.tensor(1.0, requires_grad=True)\n"
              "make()\nloss = w**2\n")
    refused = refusal(source, "loss", ("w",))
    assert "through `global` (line 2)" in refused.sentence


def test_refuses_a_stray_break_and_a_late_class():
    assert "`break` outside any loop" in refusal("y = x**2\nbreak\n", "y", ("x",)).sentence
    late = refusal("y = x**2\nclass A:\n    pass\nz = y\n", "z", ("x",))
    assert "class `A` (line 2)" in late.sentence and "move it to the top" in late.sentence
    reads = refusal("class A:\n    k = x * 2\nz = x * A.k\n", "z", ("x",))
    assert "reads the leaf `x` when it is defined" in reads.sentence


def test_refuses_leaves_that_are_not_available():
    refused = refusal("y = x**2 + q\n", "y", ("q",), available=("x",))
    assert "`q` is not a leaf of this program" in refused.sentence and "x" in refused.sentence


@pytest.mark.parametrize(("leaves", "optimizer", "lr", "steps", "words"), [
    ((), "sgd", 0.1, 20, "at least one leaf"),
    (("x",), "lbfgs", 0.1, 20, "offers the optimizers sgd, momentum, adam"),
    (("x",), "sgd", math.nan, 20, "finite number above 0"),
    (("x",), "sgd", math.inf, 20, "finite number above 0"),
    (("x",), "sgd", 0.0, 20, "finite number above 0"),
    (("x",), "sgd", -0.1, 20, "finite number above 0"),
    (("x",), "sgd", 2e6, 20, "at most 1,000,000"),
    (("x",), "sgd", True, 20, "must be a number"),
    (("x",), "sgd", "0.1", 20, "must be a number"),
    (("x",), "sgd", 0.1, 0, "from 1 to 500"),
    (("x",), "sgd", 0.1, 10**9, "from 1 to 500"),
    (("x",), "sgd", 0.1, 2.5, "whole number"),
    (("x",), "sgd", 0.1, True, "whole number"),
    (("fc1.weight",), "sgd", 0.1, 20, "parameter of a module"),
    (("1x",), "sgd", 0.1, 20, "not a variable name"),
    (("x y",), "sgd", 0.1, 20, "not a variable name"),
    (("__class__",), "sgd", 0.1, 20, "not a variable name"),
    (("import",), "sgd", 0.1, 20, "not a variable name"),
    (("a" * 1000,), "sgd", 0.1, 20, "not a variable name"),
    ((3,), "sgd", 0.1, 20, "by its name"),
    ([["x"]], "sgd", 0.1, 20, "by its name"),
    (("x", None), "sgd", 0.1, 20, "by its name"),
    (None, "sgd", 0.1, 20, "list of names"),
    (tuple(f"v{i}" for i in range(40)), "sgd", 0.1, 20, "at most 16 leaves"),
])
def test_refuses_bad_choices(leaves, optimizer, lr, steps, words):
    with pytest.raises(DescendRefused) as caught:
        DescendChoice(leaves, optimizer, lr, steps)
    assert words in caught.value.sentence
    assert len(caught.value.sentence) < 400  # hostile text is not echoed in full


def test_a_choice_is_normalised():
    choice = DescendChoice(["x", "x", "w"], "adam", 1, np.int64(7))
    assert choice.leaves == ("x", "w") and choice.lr == 1.0 and choice.steps == 7
    assert isinstance(choice.lr, float) and type(choice.steps) is int
    assert choice.label == "Adam, lr 1.0, 7 steps"


# --- (d) hostile programs and arguments -----------------------------------------------------
@pytest.mark.parametrize(("source", "output", "available"), [
    (None, "y", ("x",)),
    (b"y = x**2", "y", ("x",)),
    ("y = x**2\n" * 3000, "y", ("x",)),
    ("y = x**2\x00\n", "y", ("x",)),
    ("y = (x**2\n", "y", ("x",)),
    ("(" * 1000 + ")" * 1000 + "\ny = x\n", "y", ("x",)),
    ("y = x**2\n", 5, ("x",)),
    ("y = x**2\n", ["y"], ("x",)),
    ("y = x**2\n", "y", ("q" * 10_000, 3, None)),
    ("y = x**2\n", "a.b", ("x",)),
    ("y = x**2\n", "__import__", ("x",)),
    ("y = x**2\n", "y", None),
    ("y = x**2\n", "y", 7),
    ("y = x**2\n", "y", "x"),
    ("", "y", ("x",)),
    ("\n\n# only a comment\n", None, ("x",)),
])
def test_hostile_arguments_get_a_sentence(source, output, available):
    try:
        text = descend_program(source, output, available, DescendChoice(("x",)))
    except DescendRefused as refused:
        assert refused.sentence and "bug in the app" not in refused.sentence
    else:
        assert isinstance(text, str)  # only the one-name string "x" is a fair leaf list
        assert available == "x"


def test_no_choice_gets_a_sentence():
    for choice in (None, "sgd", object()):
        with pytest.raises(DescendRefused, match="Choose the leaves"):
            descend_program("y = x**2\n", "y", ("x",), choice)  # type: ignore[arg-type]


def test_the_engine_still_checks_the_written_program():
    """Descend copies lines, it does not vouch for them: the checker refuses what it
    would refuse in the program itself, and nothing of it runs."""
    text = descend("y = x**2\nz = y.__class__\nloss = y\n", "loss", ("x",))
    result = run_program(text, {"x": 2.0}, isolate=False)
    assert result.error is not None and result.error.kind == "refused"
    assert result.training == []


def test_a_written_program_over_the_length_limit_is_refused_with_a_sentence():
    source = "y = x**2\n" + "# " + "a" * 9_900 + "\n"
    with pytest.raises(DescendRefused, match=r"would be .* characters"):
        descend(source, "y", ("x",))


# --- a property: never anything but a sentence or the program's own statements --------------
NAMES = ["x", "w", "b", "y", "loss", "step", "optimizer", "f", "acc"]
EXPRESSIONS = ["x * 2", "torch.sin(w)", "w + b", "f(x)", "[1, 2]", "loss", "1.5",
               "(x +\n    1)", "'''a\n  b'''", "lambda a: a * w", "[i for i in range(2)]",
               "(n := 3)", "f'{x}'", "acc[0]"]
TEMPLATES = [
    "{n} = {e}", "{n} += {e}", "{n} = torch.tensor(1.0, requires_grad=True)",
    "def {n}(a):\n    return a * w", "@torch.no_grad()\ndef {n}(a=w):\n    global b\n    return a",
    "class C:\n    k = {e}", "for i in range(2):\n    {n} = {e}\n    break",
    "while False:\n    continue", "if {e}:\n    {n} = {e}\nelse:\n    pass",
    "try:\n    {n} = {e}\nexcept Exception:\n    pass\nfinally:\n    pass",
    "with torch.no_grad():\n    {n} = {e}", "# a comment", "", "{n} = 1; {m} = {e}",
    "if True:\n\t{n} = 1", "{e}", "{n}.backward()", "print({n})", "del {n}", "import torch",
    "from torch import optim", "{n}[0] = {e}", "{n}.append({e})", "break", "return 1",
    "{n} = 1 + \\\n    2", "{n}: float = {e}", "global {n}",
]
TRAINING = ("{n}.backward()", "from torch import optim")


def programs_of(templates: list[str]) -> st.SearchStrategy[str]:
    statements = st.builds(lambda t, n, m, e: t.format(n=n, m=m, e=e),
                           st.sampled_from(templates), st.sampled_from(NAMES),
                           st.sampled_from(NAMES), st.sampled_from(EXPRESSIONS))
    return st.lists(statements, min_size=0, max_size=8).map(lambda s: "\n".join(s) + "\n")


programs = programs_of(TEMPLATES)
# programs that end by computing the output and do not train themselves: mostly written
computing = programs_of([t for t in TEMPLATES if t not in TRAINING])
HOSTILE_NAMES = [*NAMES, "", "1x", "a.b", "__x", "fc1.weight"]


EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "300"))


def check_written(source, output, leaves, available, choice) -> None:
    """descend_program refuses with a sentence, or its text is the program's statements,
    unchanged and in order, around Descend's own lines."""
    try:
        ast.parse(source)
    except SyntaxError:
        return
    try:
        text = descend_program(source, output, available, choice)
    except DescendRefused as refused:
        assert refused.sentence and "bug in the app" not in refused.sentence
        event(f"refused: {refused.sentence[:30]}")
        return
    event("written")
    written = ast.parse(text).body
    original = ast.parse(source).body
    loop = written[-1]
    assert isinstance(loop, ast.For)
    split = len(written) - 2
    kept = [*written[:split], *loop.body[1:-2]]
    assert [ast.dump(s) for s in kept] == [ast.dump(s) for s in original]
    made = written[split]
    assert isinstance(made, ast.Assign) and ast.unparse(made.value).startswith("torch.optim.")
    assert ast.unparse(made.value).count(",") >= len(choice.leaves)
    assert ast.unparse(loop.body[-2]) == f"{output}.backward()"
    assert ast.unparse(loop.iter) == f"range({choice.steps})"


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=computing, output=st.sampled_from(NAMES),
       leaves=st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True),
       others=st.lists(st.sampled_from(NAMES), max_size=3),
       optimizer=st.sampled_from(["sgd", "momentum", "adam"]),
       lr=st.floats(1e-6, 1e6), steps=st.integers(1, MAX_STEPS))
def test_never_crashes_and_keeps_the_statements(source, output, leaves, others, optimizer,
                                                lr, steps):
    leaves = [n for n in leaves if n != output] or ["x" if output != "x" else "w"]
    source += f"{output} = (w + x) * 2  # the output\n"
    choice = DescendChoice(tuple(leaves), optimizer, lr, steps)
    check_written(source, output, leaves, (*leaves, *others), choice)


@settings(max_examples=EXAMPLES // 3, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(source=programs, output=st.none() | st.sampled_from(HOSTILE_NAMES),
       leaves=st.lists(st.sampled_from(HOSTILE_NAMES), max_size=3),
       available=st.lists(st.sampled_from(HOSTILE_NAMES), max_size=5),
       lr=st.floats(allow_nan=True, allow_infinity=True), steps=st.integers(-5, 600))
def test_hostile_choices_get_a_sentence(source, output, leaves, available, lr, steps):
    try:
        choice = DescendChoice(tuple(leaves), "sgd", lr, steps)
    except DescendRefused as refused:
        assert refused.sentence and "bug in the app" not in refused.sentence
        return
    check_written(source, output, leaves, available, choice)



def test_gradients_taken_without_an_update_are_not_called_stuck():
    """backward() twice on a fixed x: the gradient is 12 (3x² at 2, by hand), not 0, and
    nothing moved because nothing updates: no verdict on a descent that never was."""
    from engine import run_program
    from engine.teaching.learning import divergence
    result = run_program("y = x**3\ny.backward(retain_graph=True)\ny.backward()\n",
                         {"x": "2"}, isolate=False)
    assert result.training[0]["leaves"]["x"]["grad"]["value"] == 12.0
    verdict = divergence(result.training)
    assert verdict.kind == "unknown" and "does not update anything" in verdict.sentence
    flat = run_program("for step in range(3):\n    y = (x - 2)**2\n    y.backward()\n"
                       "    with torch.no_grad():\n        x -= 0.1 * x.grad\n"
                       "    x.grad.zero_()\n", {"x": "2"}, isolate=False)
    assert divergence(flat.training).kind == "stuck"  # at the minimum: gradient 0


def test_when_every_candidate_name_is_taken_a_numbered_one_is_written():
    source = ("optimizer = opt = descend_optimizer = 1.0\nstep = descend_step = 0.5\n"
              "loss = (x - step)**2 * optimizer * opt * descend_optimizer * descend_step\n")
    text = descend(source, "loss", ("x",), lr=0.1, steps=3)
    assert "descend_optimizer_2 = torch.optim.SGD([x], lr=0.1)" in text
    assert "for descend_step_2 in range(3):" in text
    assert run_program(text, {"x": 3.0}, isolate=False).error is None
