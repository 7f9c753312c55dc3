"""AppTest: the lessons "Gradients add up", "Leaves and .grad" and "Stopping gradients".

Every expected number comes from an independent reference written here (plain torch or
the derivative by hand), never from the page's own output.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from engine import run_program
from engine.running.summary import format_number
from tests.apptest_tools import dot, numbers, open_page, plotly_array
from tests.apptest_tools import table as read_table

pytestmark = pytest.mark.usefixtures("fresh_caches")

F32 = {"rel": 1e-6, "abs": 1e-6}  # float32 against float64 references
SHOWN = {"rel": 1e-3, "abs": 1e-4}  # numbers shown to 4 significant digits


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def assert_playground(at: AppTest, key: str, code: str, x: str) -> None:
    at.button(key=key).click().run()
    assert at.text_area(key="pg_code").value == code
    assert at.text_input(key="pg_in_x").value == x


# --- Gradients add up -------------------------------------------------------------------

def torch_accumulation(x: float, calls: int, zero: bool) -> list[float]:
    """x.grad after each of ``calls`` backward passes of y = x**2, in plain torch."""
    t = torch.tensor(x, requires_grad=True)
    y = t**2
    seen = []
    for i in range(calls):
        if zero and i > 0:
            t.grad.zero_()
        y.backward(retain_graph=True)
        seen.append(t.grad.item())
    return seen


def test_accumulation_default_shows_table_chart_and_graph():
    at = open_page("accumulation")
    table = read_table(at)
    assert list(table["after call"]) == ["1", "2", "3"]
    assert numbers(table["x.grad (autograd)"]) == pytest.approx(torch_accumulation(2.0, 3, False))
    assert numbers(table["by hand"]) == pytest.approx([4.0, 8.0, 12.0])
    assert metric(at, "x.grad now") == "12"
    graph = dot(at)
    assert "<B>x</B>" in graph and "<B>y</B>" in graph
    assert "value 4" in graph and ".grad 12" in graph
    bars = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert bars["type"] == "bar" and bars["y"] == pytest.approx([4.0, 8.0, 12.0])


@pytest.mark.parametrize("calls", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("zero", [False, True])
def test_accumulation_calls_match_torch(calls: int, zero: bool):
    at = open_page("accumulation")
    at.slider(key="accum_x").set_value(-1.5)
    at.slider(key="accum_calls").set_value(calls)
    at.toggle(key="accum_zero").set_value(zero).run()
    assert not at.exception
    reference = torch_accumulation(-1.5, calls, zero)
    by_hand = [(1 if zero else i) * 2 * -1.5 for i in range(1, calls + 1)]
    assert reference == pytest.approx(by_hand)
    table = read_table(at)
    assert numbers(table["x.grad (autograd)"]) == pytest.approx(reference, rel=1e-3)
    assert numbers(table["by hand"]) == pytest.approx(by_hand, rel=1e-3)
    code = at.code[0].value
    assert code.count("y.backward(retain_graph=True)") == calls
    assert code.count("x.grad.zero_()") == (calls - 1 if zero else 0)
    assert f".grad {format_number(reference[-1])}" in dot(at)
    assert metric(at, "x.grad now") == format_number(reference[-1])


def test_accumulation_opens_in_playground():
    at = open_page("accumulation")
    at.slider(key="accum_x").set_value(2.5)
    at.toggle(key="accum_zero").set_value(True).run()
    code = at.code[0].value + "\n"
    assert "x.grad.zero_()" in code
    assert_playground(at, "accum_open", code, "2.5")


# --- Leaves and .grad -------------------------------------------------------------------

def torch_leaves(x: float) -> tuple[float, float]:
    """(x.grad, y.grad) for y = x**2, z = sin(y) with y.retain_grad(), in plain torch."""
    t = torch.tensor(x, requires_grad=True)
    y = t**2
    y.retain_grad()
    torch.sin(y).backward()
    return t.grad.item(), y.grad.item()


def test_leaves_default_shows_leaf_facts_and_explained_none():
    at = open_page("leaves")
    assert metric(at, "x.is_leaf") == "True"
    assert metric(at, "y.is_leaf") == "False"
    assert metric(at, "y.grad_fn") == "<PowBackward0>"  # torch's repr, address left out
    assert metric(at, "y.grad") == "None"
    warning = " ".join(w.value for w in at.warning)
    assert "`y.grad` is None" in warning and "not a leaf" in warning
    assert "y.retain_grad()" in warning
    table = read_table(at)
    x_grad, _ = torch_leaves(4.0)
    assert numbers(table[".grad (autograd)"])[0] == pytest.approx(x_grad, **SHOWN)
    assert table[".grad (autograd)"][1] == "None"  # y.grad is None
    assert numbers(table["by hand"])[1] == pytest.approx(math.cos(16.0), **SHOWN)
    graph = dot(at)
    assert "<B>x</B>" in graph and "<B>y</B>" in graph and "<B>z</B>" in graph
    assert "value 16" in graph and f".grad {format_number(8 * math.cos(16))}" in graph
    assert "PowBackward0" in graph


@pytest.mark.parametrize("x", [4.0, 2.3, -1.7])
def test_leaves_retain_grad_keeps_dz_dy(x: float):
    at = open_page("leaves")
    at.slider(key="leaves_x").set_value(x)
    at.toggle(key="leaves_retain").set_value(True).run()
    assert not at.exception
    assert "y.retain_grad()" in at.code[0].value
    x_grad, y_grad = torch_leaves(x)
    assert y_grad == pytest.approx(math.cos(x**2), **F32)
    assert x_grad == pytest.approx(2 * x * math.cos(x**2), **F32)
    table = read_table(at)
    shown = numbers(table[".grad (autograd)"])
    assert shown[0] == pytest.approx(2 * x * math.cos(x**2), **SHOWN)
    assert shown[1] == pytest.approx(math.cos(x**2), **SHOWN)
    assert shown[1] == pytest.approx(y_grad, **SHOWN)
    assert metric(at, "y.grad = dz/dy") == format_number(y_grad)
    assert not any("is None" in w.value for w in at.warning)
    assert f"grad {format_number(y_grad)}" in dot(at)


def test_leaves_draws_curves_of_z_and_its_derivative():
    at = open_page("leaves")
    figures = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(figures) == 2
    autograd = next(t for t in figures[1]["data"] if t.get("name") == "autograd")
    xs, dys = plotly_array(autograd["x"]), plotly_array(autograd["y"])
    assert xs[0] == pytest.approx(1.0) and xs[-1] == pytest.approx(7.0)  # 4 ± 3
    assert dys == pytest.approx(2 * xs * np.cos(xs**2), rel=1e-4, abs=1e-3)


def test_leaves_opens_in_playground():
    at = open_page("leaves")
    at.slider(key="leaves_x").set_value(2.5)
    at.toggle(key="leaves_retain").set_value(True).run()
    assert_playground(at, "leaves_open", at.code[0].value + "\n", "2.5")


# --- Stopping gradients -----------------------------------------------------------------

PROGRAMS = {"a": "requires_grad_(False)", "b": "x.detach()", "c": "torch.no_grad()"}
REASONS = ["requires_grad=False", ".detach()ed", "torch.no_grad()"]


def column_programs(at: AppTest) -> list[str]:
    return [c.value + "\n" for c in at.code if "y.backward()" in c.value
            and not c.value[0].isdigit()]


def test_stopping_three_ways_each_fail_with_explained_error_and_graph():
    at = open_page("stopping_gradients")
    programs = column_programs(at)
    assert len(programs) == 3
    for program, needle in zip(programs, PROGRAMS.values(), strict=True):
        assert needle in program
    assert len(at.error) == 3
    assert len(at.get("graphviz_chart")) == 3
    for i, program in enumerate(programs):
        engine = run_program(program, {"x": "2"}, isolate=False)
        assert engine.error is not None and engine.error.kind == "autograd"
        shown = at.error[i].value
        assert engine.error.message in shown
        assert "does not require grad and does not have a grad_fn" in shown
        assert "was not recorded by autograd" in shown
        graph = dot(at, i)
        assert "<B>y</B>" in graph and "value 4" in graph and REASONS[i] in graph
        assert "dashed" in graph  # y is drawn as not recorded


def test_stopping_slider_changes_every_column():
    at = open_page("stopping_gradients")
    at.slider(key="stop_x").set_value(-2.5).run()
    for i in range(3):
        assert f"value {format_number((-2.5) ** 2)}" in dot(at, i)


def test_stopping_compare_shows_working_backward():
    at = open_page("stopping_gradients")
    at.slider(key="stop_x").set_value(-2.5)
    at.toggle(key="stop_compare").set_value(True).run()
    assert not at.exception
    t = torch.tensor(-2.5, requires_grad=True)
    (t**2).backward()
    assert metric(at, "x.grad (autograd)") == format_number(t.grad.item())
    assert metric(at, "2x (by hand)") == format_number(2 * -2.5)
    assert len(at.error) == 3 and len(at.get("graphviz_chart")) == 4
    assert f".grad {format_number(t.grad.item())}" in dot(at, 3)


@pytest.mark.parametrize("letter", ["a", "b", "c"])
def test_stopping_each_column_opens_in_playground(letter: str):
    at = open_page("stopping_gradients")
    at.slider(key="stop_x").set_value(1.5).run()
    program = column_programs(at)["abc".index(letter)]
    assert_playground(at, f"stop_open_{letter}", program, "1.5")
