"""What a run says beyond its numbers: the notebook's ``Out`` of a last expression line,
names of leaves made with ``requires_grad_()``, where a NaN came from, and the time and
memory limit messages (which limit, the line, what to change).

References are plain torch: the program run with Python's ``exec`` in a fresh namespace
(in this test only; the engine never evaluates program text), or formulas by hand.
"""

from __future__ import annotations

import ast
import json

import pytest
import torch

from engine import Limits, run_program
from tests.apptest_tools import start


def run(source, inputs=None, **options):
    return run_program(source, inputs, isolate=False, **options)


def notebook_out(source: str) -> str:
    """What a notebook's ``Out`` shows for ``source``'s last line: torch's repr of its
    value, computed by plain Python and torch in a fresh namespace."""
    tree = ast.parse(source)
    namespace: dict[str, object] = {"torch": torch}
    exec(compile(ast.Module(body=tree.body[:-1], type_ignores=[]), "<notebook>", "exec"),
         namespace)
    last = tree.body[-1]
    assert isinstance(last, ast.Expr)
    value = eval(compile(ast.Expression(last.value), "<notebook>", "eval"), namespace)
    return repr(value)


def out_of(result) -> dict | None:
    return next((echo for echo in result.echoes if echo.get("out")), None)


SEEN_AFTER_BACKWARD = "x = torch.tensor(2.0, requires_grad=True)\ny = x**2\ny.backward()\n"


# -- Out: the last expression line, as a notebook shows it ------------------------------
@pytest.mark.parametrize("last", [
    "x.grad", "x.grad == 4*x", "y", "x.grad.item()", "x.grad.item() == 4.0", "x.shape",
    "x.grad * torch.tensor([1.0, 2.0, 3.0])", "torch.arange(2000.)",
    "torch.tensor([1., 2.]).requires_grad_()", "x.dtype", "x.is_leaf",
])
def test_out_is_what_plain_torch_shows(last):
    source = SEEN_AFTER_BACKWARD + last
    r = run(source)
    assert r.error is None, r.error
    out = out_of(r)
    assert out is not None, r.echoes
    assert out["line"] == 4 and out["code"] == last
    assert out["text"] == notebook_out(source)


def test_out_only_for_the_last_line_and_not_for_calls_giving_none():
    r = run("y = x**2\ny\nprint(y)", {"x": 3})
    assert out_of(r) is None  # print is last: a notebook shows no Out
    assert out_of(run("y = x**2\ny.backward()", {"x": 3})) is None
    assert out_of(run("y = x**2\ny", {"x": 3}))["line"] == 2
    assert out_of(run("y = x**2\nz = y + 1", {"x": 3})) is None
    with_block = "with torch.no_grad():\n    y = x * 2\n    y"
    assert out_of(run(with_block, {"x": 3})) is None  # a notebook shows no Out either


def test_out_is_plain_text_through_the_worker():
    source = SEEN_AFTER_BACKWARD + "x.grad"
    r = run_program(source)
    assert r.error is None, r.error
    assert out_of(r)["text"] == notebook_out(source) == "tensor(4.)"


def test_playground_shows_the_last_line_as_out():
    at = start()
    source = SEEN_AFTER_BACKWARD + "x.grad == 2*x"
    at.text_area(key="pg_code").input(source).run()
    assert not at.exception and not at.error, (at.exception, at.error)
    assert any(c.value.startswith("Out") for c in at.caption), [c.value for c in at.caption]
    assert notebook_out(source) == "tensor(True)"
    assert "tensor(True)" in [c.value for c in at.code]


# -- requires_grad_(): the leaf keeps its name in the graph -----------------------------
@pytest.mark.parametrize("source", [
    "w = torch.tensor(2.0).requires_grad_()\ny = w * 3",
    "w = torch.tensor([1., 2.])\nw.requires_grad_()\ny = (w * 3).sum()",
    "w = torch.tensor([1., 2.]); w.requires_grad_()\ny = (w * 3).sum()",
    "w = torch.tensor([1., 2.])\nw.requires_grad_(True)\ny = (w * 3).sum()",
])
def test_leaf_made_with_requires_grad_is_named(source):
    r = run(source)
    assert r.error is None, r.error
    leaves = [n for n in r.graph["nodes"] if n["kind"] == "leaf"]
    assert [n["name"] for n in leaves] == ["w"]
    grad = torch.tensor(leaves[0]["grad"]["data"]).reshape(-1)
    assert grad.tolist() == pytest.approx([3.0] * grad.numel())  # d(3w)/dw, by hand
    from graphviz_utils import to_dot

    assert "<B>w</B>" in to_dot(r).source


def test_leaf_made_with_requires_grad_can_be_plotted():
    from engine import derivative_curve

    xs, ys, dys = derivative_curve("w = torch.tensor(2.0)\nw.requires_grad_()\ny = w**2",
                                   wrt="w", lo=-1, hi=1, n=5, isolate=False)
    assert ys.tolist() == pytest.approx((xs**2).tolist())
    assert dys.tolist() == pytest.approx((2 * xs).tolist())


# -- where a NaN or an infinity came from -------------------------------------------------
def origin_sentences(result) -> list[str]:
    return [w for w in result.warnings if "first appeared" in w]


def test_nan_output_says_line_and_log_of_a_negative_number():
    source = "torch.log(torch.tensor(-1.0))"
    assert notebook_out(source) == "tensor(nan)"  # plain torch: the output is NaN
    r = run(source)
    assert r.error is None and torch.isnan(r.output)
    [sentence] = origin_sentences(r)
    assert sentence.startswith("NaN first appeared on line 1, in `torch.log(torch.tensor(-1.0))`")
    assert "log of a negative number is not a real number" in sentence


@pytest.mark.parametrize(("source", "inputs", "where", "why"), [
    ("y = x * 2\nz = torch.log(y - 5)\nw = z * 3", {"x": 1},
     "NaN first appeared on line 2, in `torch.log(y - 5)` (assigned to `z`)",
     "log of a negative number"),
    ("y = (x - 1) / (x - 1)", {"x": 1}, "NaN first appeared on line 1", "0 divided by 0"),
    ("y = x / (x - x)\nz = y - y", {"x": 2}, "An infinity first appeared on line 1",
     "dividing by 0"),
    ("y = torch.exp(x)", {"x": 100}, "An infinity first appeared on line 1",
     "larger than the largest float32 number"),
    ("y = (x ** 0.5).sum()", {"x": "[4, -4]"}, "NaN first appeared on line 1, in `x ** 0.5`",
     "a negative number to a fractional power"),
    ("y = torch.acos(x)", {"x": 2}, "NaN first appeared on line 1", "acos is defined only"),
    ("def f(a):\n    return torch.sqrt(a)\ny = f(x) + 1", {"x": -1},
     "NaN first appeared on line 2, in `torch.sqrt(a)`", "sqrt of a negative number"),
])
def test_first_nan_or_infinity_is_located_and_explained(source, inputs, where, why):
    namespace = {"torch": torch, **{name: torch.tensor(json.loads(str(value)), dtype=torch.float32)
                                    for name, value in inputs.items()}}
    exec(source, namespace)  # plain torch: the program does make a NaN or an infinity
    assert any(isinstance(v, torch.Tensor) and not torch.isfinite(v).all()
               for v in namespace.values())
    r = run(source, inputs)
    assert r.error is None, r.error
    [sentence] = origin_sentences(r)
    assert sentence.startswith(where), sentence
    assert why in sentence, sentence


def test_no_origin_sentence_when_all_is_finite_or_the_program_wrote_the_infinity():
    assert origin_sentences(run("y = torch.log(x)\nz = torch.sqrt(y)", {"x": 3})) == []
    # -inf written on purpose (a mask) is not a surprise to explain
    r = run("m = torch.tensor(-math.inf)\ny = torch.maximum(x, m)", {"x": 1})
    assert origin_sentences(r) == []


# -- the time and memory limits: which limit, the line, what to change ----------------------
RUNAWAY = "a = torch.rand(300, 300)\n" + "b = a @ a @ a @ a\n" * 190
HINT = "smaller tensors"


def test_time_limit_in_process_names_limit_line_and_what_to_change():
    limits = Limits(time_limit_s=0.2)
    r = run(RUNAWAY, limits=limits)
    assert r.error is not None and r.error.kind == "timeout", r.error
    line = r.error.line
    assert line is not None and line >= 2
    message = r.error.message
    assert "ran longer than 0.2 s, its time limit" in message, message
    assert f"while line {line} was running" in message, message
    assert HINT in message, message


def test_operations_limit_names_line_and_what_to_change():
    source = "y = x * 1\n" + "y = y * 2\n" * 30
    r = run(source, {"x": 1}, limits=Limits(max_operations=10))
    assert r.error is not None and r.error.kind == "limit", r.error
    assert r.error.line == 11  # the 11th operation, one per line
    assert "more than 10 operations, its limit" in r.error.message
    assert "while line 11 was running" in r.error.message
    assert "whole tensors" in r.error.message


@pytest.fixture(scope="module")
def pool():
    from engine.sandbox.pool import WorkerPool

    pool = WorkerPool(size=1, memory_mb=1000)
    yield pool
    pool.close()


def pool_run(pool, source, limits):
    from engine.running.run import RunOptions

    return pool.run(source, {}, RunOptions(), limits)


def test_hard_kill_names_the_line_that_was_running(pool):
    """One matrix product that alone outlives the time limit and its grace: the
    interpreter cannot stop it between operations, so the server kills the worker, and
    still says which line was running (read from the memory the worker shared)."""
    assert pool_run(pool, "y = torch.ones(2).sum()", Limits()).error is None
    pid = pool.workers[0].proc.pid
    source = "a = torch.ones(5000, 5000)\nb = torch.ones(2)\nc = a @ a\nd = c.sum()"
    limits = Limits(time_limit_s=0.5, max_tensor_elements=30_000_000)
    r = pool_run(pool, source, limits)
    assert r.error is not None and r.error.kind == "timeout", r.error
    assert pool_run(pool, "y = torch.ones(2).sum()", Limits()).error is None
    assert pool.workers[0].proc.pid != pid, "the worker was not killed"
    assert (r.error.line, r.error.col) == (3, 5), r.error
    assert "while line 3 was running" in r.error.message
    assert HINT in r.error.message


def test_memory_limit_names_budget_line_and_what_to_change():
    from engine.sandbox.pool import WorkerPool

    small = WorkerPool(size=1, memory_mb=200)
    try:
        source = "".join(f"a{i} = torch.ones(1000, 1000) * 2\n" for i in range(80))
        r = pool_run(small, source, Limits())
    finally:
        small.close()
    assert r.error is not None and r.error.kind == "memory", r.error
    assert r.error.line is not None and 1 < r.error.line < 80  # 80 x 4 MB > 200 MB
    assert "more than its memory budget of 200 MB" in r.error.message
    assert f"while line {r.error.line} was running" in r.error.message
    assert "Make the tensors smaller" in r.error.message


def test_a_quoted_torch_sentence_is_not_given_a_second_full_stop():
    from engine import run_program
    result = run_program("x -= 0.1 * x", {"x": "1"}, isolate=False)
    message = result.error.message
    assert message.endswith("in-place operation).") and not message.endswith(".).")
