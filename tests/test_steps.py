"""Stepping through backward (engine.teaching.steps, graph["steps"], to_dot(step=k)).

References are independent of the code under test: torch's execution order is captured
here with our own hooks on a hand-written torch program, gradients are derived by hand,
and every local derivative in the table is checked against a float64 central difference.
"""

from __future__ import annotations

import math
import re

import pytest
import torch

import engine
from engine.teaching.steps import LOCAL_RULES, Context, Operand
from graphviz_utils import THEMES, to_dot
from ui.examples import BCE_CODE


def run(code: str, inputs: dict[str, str], **options):
    result = engine.run_program(code, inputs, isolate=False, **options)
    assert result.error is None, result.error
    return result


def bce():
    return run(BCE_CODE, {"x": "6.7", "y": "0"}, requires_grad={"x": False, "y": False})


def torch_order(make_output) -> list[str]:
    """The grad_fn names in the order torch runs them, from our own hooks."""
    seen: list[str] = []
    output = make_output()
    stack, visited = [output.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or node in visited:
            continue
        visited.add(node)
        node.register_hook(lambda gi, go, node=node: seen.append(type(node).__name__))
        stack.extend(child for child, _ in node.next_functions)
    output.backward()
    return seen


def bce_by_hand():
    w = torch.tensor(1.0, requires_grad=True)
    b = torch.tensor(0.0, requires_grad=True)
    x, y = torch.tensor(6.7), torch.tensor(0.0)
    p = torch.clamp(torch.sigmoid(w * x + b), 1e-8, 1 - 1e-8)
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p))


def test_steps_follow_torchs_own_execution_order():
    steps = bce().graph["steps"]
    assert [s["op"] for s in steps] == torch_order(bce_by_hand)
    assert [s["order"] for s in steps] == list(range(len(steps)))
    assert steps[0]["name"] == "loss" and steps[0]["arriving"]["data"] == 1.0


def test_sin_of_square_steps_carry_the_chain_rule_by_hand():
    steps = run("y = x**2\nz = torch.sin(y)\n", {"x": "4"}).graph["steps"]
    assert [(s["op"], s["name"]) for s in steps] == [
        ("SinBackward0", "z"), ("PowBackward0", "y"), ("AccumulateGrad", "x")]
    sin_step, pow_step, leaf = steps
    assert sin_step["sends"][0]["grad"]["data"] == pytest.approx(math.cos(16), rel=1e-6)
    assert pow_step["arriving"]["data"] == pytest.approx(math.cos(16), rel=1e-6)
    assert pow_step["sends"][0]["grad"]["data"] == pytest.approx(8 * math.cos(16), rel=1e-6)
    assert leaf["arriving"]["data"] == pytest.approx(8 * math.cos(16), rel=1e-6)
    # The chain rule written out, with the numbers put in (the table agreed with torch).
    assert r"\cos(y)" in sin_step["latex"][0] and r"\cos(16)" in sin_step["latex"][0]
    assert r"2\,x" in pow_step["latex"][0] and r"(-0.9577) \cdot 2 \cdot 4" in \
        pow_step["latex"][0]
    assert pow_step["latex"][0].endswith(r"-7.661\end{aligned}")
    assert leaf["latex"] == [r"\texttt{x.grad} \mathrel{+}= \frac{\partial z}{\partial x}"
                             " = -7.661"]


def test_bce_leaf_steps_receive_the_textbook_gradient():
    steps = {s["name"]: s for s in bce().graph["steps"] if s["op"] == "AccumulateGrad"}
    p = 1 / (1 + math.exp(-6.7))
    assert steps["w"]["arriving"]["data"] == pytest.approx((p - 0) * 6.7, rel=1e-5)
    assert steps["b"]["arriving"]["data"] == pytest.approx(p - 0, rel=1e-5)


def test_every_bce_step_shows_its_numbers_put_in():
    """Each chain line with single numbers has the "g · local" line, i.e. the textbook
    derivative in the table times the arriving gradient equalled what torch sent."""
    for step in bce().graph["steps"]:
        assert step["rule"] in ("table", "leaf"), step["op"]
        for line in step["latex"]:
            if step["rule"] == "table":
                assert line.count(r"\\ &=") == 3, (step["op"], line)


def test_a_gradient_shared_by_two_paths_is_written_as_adding_up():
    steps = run("y = x * x\n", {"x": "3"}).graph["steps"]
    mul = steps[0]
    assert all(r"\mathrel{+}=" in line for line in mul["latex"])
    assert [s["grad"]["data"] for s in mul["sends"]] == [3.0, 3.0]


def test_vector_steps_use_the_elementwise_product_and_torchs_numbers():
    steps = run("y = (x**2).mean()\n", {"x": "[1, 2, 3]"}).graph["steps"]
    mean, power, leaf = steps
    assert r"\frac{1}{3}" in mean["latex"][0] and r"\odot" in mean["latex"][0]
    assert power["sends"][0]["grad"]["data"] == pytest.approx([2 / 3, 4 / 3, 2])


def test_no_backward_gives_no_steps():
    result = run("y = x**2\n", {"x": "3"}, no_grad=True)
    assert result.graph.get("steps", []) == []


def test_an_op_without_a_textbook_rule_still_shows_torchs_numbers():
    steps = run("y = torch.atan(x)\n", {"x": "2"}).graph["steps"]
    atan = steps[0]
    assert atan["rule"] == "torch"
    assert atan["sends"][0]["grad"]["data"] == pytest.approx(1 / 5, rel=1e-6)
    assert atan["latex"][0].endswith(r"0.2\end{aligned}")


# -- the table of local derivatives against central differences ----------------------
FORWARD = {
    "AddBackward0": [lambda a, b: a + b] * 2,
    "SubBackward0": [lambda a, b: a - b] * 2,
    "MulBackward0": [lambda a, b: a * b] * 2,
    "DivBackward0": [lambda a, b: a / b] * 2,
    "PowBackward0": [lambda a, b: a ** 3],
    "SinBackward0": [lambda a, b: math.sin(a)],
    "CosBackward0": [lambda a, b: math.cos(a)],
    "ExpBackward0": [lambda a, b: math.exp(a)],
    "LogBackward0": [lambda a, b: math.log(a)],
    "SqrtBackward0": [lambda a, b: math.sqrt(a)],
    "TanhBackward0": [lambda a, b: math.tanh(a)],
    "SigmoidBackward0": [lambda a, b: 1 / (1 + math.exp(-a))],
    "ReluBackward0": [lambda a, b: max(a, 0.0)],
    "AbsBackward0": [lambda a, b: abs(a)],
    "ReciprocalBackward0": [lambda a, b: 1 / a],
    "NegBackward0": [lambda a, b: -a],
    "RsubBackward1": [lambda a, b: 1 - a],
    "ClampBackward1": [lambda a, b: min(max(a, -1.0), 2.0)],
}


@pytest.mark.parametrize("op", sorted(FORWARD))
@pytest.mark.parametrize("a, b", [(0.7, 1.3), (1.9, -0.4), (-0.6, 2.5)])
def test_each_local_derivative_matches_a_central_difference(op, a, b):
    if op in ("LogBackward0", "SqrtBackward0") and a <= 0:
        a = -a
    h = 1e-6
    for index, forward in enumerate(FORWARD[op]):
        o = forward(a, b)
        ctx = Context(Operand("a", a), Operand("b", b), Operand("o", o),
                      {"exponent": 3.0, "alpha": 1.0, "min": -1.0, "max": 2.0,
                       "self_sym_numel": 1.0})
        local = LOCAL_RULES[op][index](ctx)
        if index == 0:
            numeric = (forward(a + h, b) - forward(a - h, b)) / (2 * h)
        else:
            numeric = (forward(a, b + h) - forward(a, b - h)) / (2 * h)
        assert local.value == pytest.approx(numeric, rel=1e-5, abs=1e-7), (op, index)
        assert local.symbolic and local.numeric


def test_the_table_covers_every_op_it_is_tested_for():
    assert set(FORWARD) | {"MeanBackward0", "SumBackward0"} == set(LOCAL_RULES)


# -- the drawing ------------------------------------------------------------------------
def node_line(source: str, node_id: str) -> str:
    return next(line for line in source.splitlines() if line.strip().startswith(node_id + " "))


@pytest.mark.parametrize("theme", sorted(THEMES))
def test_the_current_node_is_highlighted_and_its_sends_are_labelled(theme):
    result = bce()
    steps = result.graph["steps"]
    k = 9  # sigmoid: y_pred
    current = steps[k - 1]
    assert current["name"] == "y_pred"
    source = to_dot(result, step=k, theme=theme).source
    assert f'color="{THEMES[theme].highlight}"' in node_line(source, current["node"]) \
        or f"color={THEMES[theme].highlight}" in node_line(source, current["node"])
    assert "penwidth" in node_line(source, current["node"])
    flowing = [line for line in source.splitlines() if f"-> {current['node']} " in line]
    assert len(flowing) == 1 and "sends 0.9988" in flowing[0]
    # Nodes torch runs later have no gradient yet; those it ran keep theirs.
    later = {s["node"] for s in steps[k:]}
    for node_id in later:
        assert "not reached yet" in node_line(source, node_id)
    for done in steps[:k - 1]:
        assert "not reached yet" not in node_line(source, done["node"])
    # the legend wraps its sentences (<BR/>) to stay narrow
    assert "the node backward is running now" in source.replace('<BR ALIGN="LEFT"/>', " ")


@pytest.mark.parametrize("step, expected", [(-5, 1), (0, 1), (3, 3), (10_000, 13)])
def test_a_step_beyond_the_ends_is_clamped(step, expected):
    result = bce()
    source = to_dot(result, step=step).source
    current = result.graph["steps"][expected - 1]["node"]
    assert "penwidth" in node_line(source, current)
    assert len(re.findall(r"penwidth=\d", source)) >= 1


def test_without_a_step_nothing_is_highlighted():
    source = to_dot(bce()).source
    assert "not reached yet" not in source and "running now" not in source
