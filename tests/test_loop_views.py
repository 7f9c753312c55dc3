"""The views of a program with loops, ifs and functions (issue 16 §4).

A loop unrolls in the graph autograd records: each run of a line makes its own boxes.
Every expected number comes from plain torch run here on the same program written as
ordinary Python, and every count of iterations from the program's text (its range()).
"""

from __future__ import annotations

import re

import pytest
import torch

import engine
from engine.teaching.compare import differences
from graphviz_utils import to_dot, written_dot
from tests.apptest_tools import dot, start

pytestmark = pytest.mark.usefixtures("fresh_caches")

TRAINING = """\
w = torch.tensor(1.0, requires_grad=True)
for i in range(20):
    loss = (w * 3 - 2) ** 2
    loss.backward()
    with torch.no_grad():
        w -= 0.05 * w.grad
        w.grad.zero_()
"""
UNROLLED = """\
x = torch.tensor(2.0, requires_grad=True)
y = x
for i in range(5):
    y = y * x + 1
y.backward()
"""
THREE_OPS = """\
x = torch.tensor(0.5, requires_grad=True)
y = x
for i in range(20):
    y = torch.sin(y * x) + 1
y.backward()
"""
IF_ELSE = """\
x = torch.tensor(2.0, requires_grad=True)
if x > 1:
    y = x ** 2
else:
    y = x ** 3
for k in range(0):
    y = y * x
y.backward()
"""
DEF_TWICE = """\
def f(a, b=2.0):
    return a * b + torch.sin(a)
x = torch.tensor(0.5, requires_grad=True)
y = f(x)
z = f(y, 3.0)
z.backward()
"""
GRAD_OF_GRAD = """\
x = torch.tensor(2.0, requires_grad=True)
y = x ** 3
(g,) = torch.autograd.grad(y, x, create_graph=True)
g.backward()
"""


def runs_of(source: str) -> int:
    """The loop's iteration count, read from the program's ``range(n)``."""
    return int(re.search(r"range\((\d+)\)", source).group(1))


def labels(source: str) -> dict[str, str]:
    """Box id -> its label's text, tags stripped."""
    found = {}
    for line in source.splitlines():
        match = re.match(r'\s*(\w+) \[label=<(.*)> ', line)
        if match and match.group(1) != "legend":
            found[match.group(1)] = re.sub(r"<[^>]+>", " ", match.group(2))
    return found


def named(source: str, name: str) -> str:
    """The label of the box whose bold name is exactly ``name``."""
    hits = [text for text in labels(source).values()
            if re.search(rf"^\s*{re.escape(name)}\s", text)]
    assert len(hits) == 1, (name, hits)
    return hits[0]


def value_in(label: str) -> float:
    return float(re.search(r"value (-?[\d.e+-]+)", label).group(1))


def plain_unrolled(source: str, step) -> list[float]:
    """Each run's y, in plain torch: y = x, then ``step(y, x)`` once per iteration."""
    x = torch.tensor(2.0 if "2.0" in source else 0.5, requires_grad=True)
    y, values = x, []
    for _ in range(runs_of(source)):
        y = step(y, x)
        values.append(y.item())
    return values


# -- 1. the annotated graph --------------------------------------------------------------------
def test_a_loops_middle_iterations_fold_into_one_block_first_and_last_drawn():
    runs = runs_of(THREE_OPS)
    ys = plain_unrolled(THREE_OPS, lambda y, x: torch.sin(y * x) + 1)
    source = to_dot(engine.run_program(THREE_OPS)).source
    folded = [t for t in labels(source).values() if "folded" in t]
    assert len(folded) == 1
    assert f"the same 3-operation block ×{runs - 2}" in folded[0]
    assert f"iterations 2–{runs - 1}" in folded[0]
    assert value_in(named(source, "y (iteration 1)")) == pytest.approx(ys[0], rel=1e-3)
    assert value_in(named(source, f"y (iteration {runs})")) == pytest.approx(ys[-1], rel=1e-3)
    assert len(labels(source)) < 15  # 61 boxes unrolled


def test_unfolded_every_iteration_is_named_with_its_value():
    runs = runs_of(THREE_OPS)
    ys = plain_unrolled(THREE_OPS, lambda y, x: torch.sin(y * x) + 1)
    source = to_dot(engine.run_program(THREE_OPS), fold_loops=False).source
    assert not any("folded" in t for t in labels(source).values())
    for k in range(1, runs + 1):
        assert value_in(named(source, f"y (iteration {k})")) == pytest.approx(ys[k - 1],
                                                                            rel=1e-3)


def test_five_runs_of_two_operations_fold_the_middle_three():
    runs = runs_of(UNROLLED)
    ys = plain_unrolled(UNROLLED, lambda y, x: y * x + 1)
    source = to_dot(engine.run_program(UNROLLED)).source
    [folded] = [t for t in labels(source).values() if "folded" in t]
    assert f"the same 2-operation block ×{runs - 2}" in folded
    assert value_in(folded) == pytest.approx(ys[-2])  # the last folded run's y
    assert value_in(named(source, f"y (iteration {runs})")) == pytest.approx(ys[-1])
    assert re.search(r"^\s*x\s", named(source, "x"))  # y = x does not rename the input


def test_training_loop_draws_the_last_backwards_graph():
    """20 backward() calls: the graph is the last one's (w, w·3, −2, **2), not 20 copies,
    and the backward steps are that pass's, output first and w last."""
    w = torch.tensor(1.0, requires_grad=True)
    for _ in range(runs_of(TRAINING)):
        loss = (w * 3 - 2) ** 2
        loss.backward()
        with torch.no_grad():
            w -= 0.05 * w.grad
            w.grad.zero_()
    result = engine.run_program(TRAINING)
    graph = result.graph
    assert sorted(n["op"] for n in graph["nodes"]) == sorted(
        ["PowBackward0", "SubBackward0", "MulBackward0", "AccumulateGrad"])
    assert [s["op"] for s in graph["steps"]] == [
        "PowBackward0", "SubBackward0", "MulBackward0", "AccumulateGrad"]
    assert sorted(n["order"] for n in graph["nodes"]) == [0, 1, 2, 3]
    source = to_dot(result).source
    assert named(source, "w")  # not renamed by the loop
    assert value_in(named(source, "w")) == pytest.approx(w.item(), rel=1e-3)
    assert value_in(named(source, f"loss (iteration {runs_of(TRAINING)})")) == \
        pytest.approx(loss.item(), abs=1e-4)


# -- 2. written vs recorded --------------------------------------------------------------------
def test_a_loops_line_is_one_difference_with_its_count():
    runs = runs_of(UNROLLED)
    found = differences(engine.run_program(UNROLLED), UNROLLED)
    lines = [d.line for d in found]
    assert len(lines) == len(set(lines))  # one entry per line
    [loop] = [d for d in found if d.line == 4]
    assert loop.kind == "loop"
    assert f"one line, {2 * runs} operations (a loop)" in loop.sentence
    assert f"ran {runs} times" in loop.sentence


def test_training_loop_differences_stay_short():
    runs = runs_of(TRAINING)
    found = differences(engine.run_program(TRAINING), TRAINING)
    assert [d.line for d in found] == [3, 6]
    assert all(f"ran {runs} times" in d.sentence for d in found)
    assert "the last backward()'s" in found[0].sentence
    assert "another name for the tensor w" not in found[1].sentence  # it is w itself


def test_lines_that_never_ran_are_said():
    found = differences(engine.run_program(IF_ELSE), IF_ELSE)
    never = {d.line: d.sentence for d in found if d.kind == "never_ran"}
    assert set(never) == {5, 7}  # the else branch, and the loop over range(0)
    assert all("ran 0 times" in s for s in never.values())
    written = labels(written_dot(engine.run_program(IF_ELSE), source=IF_ELSE).source)
    assert sum("ran 0 times" in text for text in written.values()) == 2


def test_written_graph_has_one_box_per_line_that_says_how_often_it_ran():
    runs = runs_of(TRAINING)
    written = labels(written_dot(engine.run_program(TRAINING), source=TRAINING).source)
    boxes = [t for t in written.values() if "line " in t]
    assert len(boxes) == 3  # lines 1, 3 and 6, not 41 boxes
    assert sum(f"ran {runs} times (a loop)" in t for t in boxes) == 2


# -- 3. stepping through a loop's backward -------------------------------------------------
def test_steps_name_a_loops_boxes_by_iteration():
    steps = engine.run_program(UNROLLED).graph["steps"]
    runs = runs_of(UNROLLED)
    assert rf"\partial y_{{{runs}}}}}{{\partial y_{{{runs - 1}}}}}" in steps[2]["received"]
    source = to_dot(engine.run_program(UNROLLED), step=6).source
    assert any("penwidth" in line and "label=<" in line for line in source.splitlines())


# -- 4 and 5. the Playground -----------------------------------------------------------------
@pytest.mark.parametrize("program", [TRAINING, UNROLLED, IF_ELSE, DEF_TWICE, GRAD_OF_GRAD])
@pytest.mark.parametrize("view", ["graph", "written", "steps", "zoom"])
def test_playground_shows_control_flow_programs_without_an_exception(program, view):
    at = start({"code": program, "view": view})
    assert not at.exception, at.exception
    assert not [e for e in at.error], [e.value for e in at.error]


def test_playground_says_backward_ran_many_times_and_unfolds_on_request():
    at = start({"code": TRAINING})
    notes = " ".join(c.value for c in at.caption)
    assert f"backward() ran {runs_of(TRAINING)} times; this graph is the last one's" in notes
    assert not [t for t in at.toggle if t.key == "pg_unfold_loops"]  # one run drawn
    at = start({"code": THREE_OPS})
    assert "the same 3-operation block" in dot(at)
    at.toggle(key="pg_unfold_loops").set_value(True).run()
    assert "the same 3-operation block" not in dot(at)
    assert f"y (iteration {runs_of(THREE_OPS) // 2})" in dot(at)


def test_one_backward_says_nothing_about_backward_calls():
    at = start({"code": UNROLLED})
    assert not any("backward() ran" in c.value for c in at.caption)


def test_the_run_counts_how_often_each_line_ran():
    """Counted by the interpreter (from the program text: range(4) runs its body 4 times;
    the untaken branch 0 times), so even a line assigning a plain number is said."""
    source = ("x = torch.tensor(1.0, requires_grad=True)\nfor i in range(4):\n"
              "    x = x * 2\nif x.item() < 0:\n    n = 3\ny = x + 1\n")
    result = engine.run_program(source, isolate=False)
    assert result.line_runs == {1: 1, 2: 1, 3: 4, 4: 1, 6: 1}
    never = [d for d in differences(result, source) if d.kind == "never_ran"]
    assert [(d.line, d.name) for d in never] == [(5, "n")]
