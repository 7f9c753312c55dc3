"""run_program's options, explained errors and warnings, the graph data, inputs and curves."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine import Limits, derivative_curve, run_program
from engine.errors import ProgramRefused


def run(source, inputs=None, **options):
    return run_program(source, inputs, isolate=False, **options)


# -- output choice and automatic backward ----------------------------------------------
def test_auto_backward_from_last_assignment():
    r = run("y = x**2\nz = torch.sin(y)", {"x": 4})
    assert r.error is None and r.auto_backward and r.output_name == "z"
    assert r.grads["x"].item() == pytest.approx(2 * 4 * math.cos(16), rel=1e-5)


def test_output_option_picks_the_variable():
    r = run("y = x**3\nz = y * 2", {"x": 2}, output="y")
    assert r.output_name == "y" and r.grads["x"].item() == pytest.approx(12.0)


def test_last_expression_is_output():
    r = run("(x**2).mean()", {"x": "[1, 2, 3]"})
    assert r.error is None and r.output.item() == pytest.approx(14 / 3, rel=1e-6)
    assert r.grads["x"].tolist() == pytest.approx([2 / 3, 4 / 3, 2.0], rel=1e-6)


def test_non_scalar_output_is_explained_not_an_error():
    r = run("y = x**2", {"x": "[1, 2, 3]"})
    assert r.error is None and r.grads["x"] is None
    assert any("3 elements" in w and ".sum()" in w for w in r.warnings)


def test_program_backward_on_vector_is_explained():
    r = run("y = x**2\ny.backward()", {"x": [1, 2]})
    assert r.error.kind == "autograd" and r.error.line == 2
    assert "needs a single number" in r.error.message and "2 elements" in r.error.message


# -- the switches ---------------------------------------------------------------------------
def test_no_grad_option_records_nothing_and_says_why():
    r = run("y = x**2", {"x": 3}, no_grad=True)
    assert r.error is None and r.grads["x"] is None
    assert any("no_grad switch" in w for w in r.warnings)
    assert r.graph["dataflow"][0]["reason"] == "no_grad_option"
    assert torch.is_grad_enabled()


def test_enable_grad_inside_no_grad_option_records_again():
    r = run("with torch.enable_grad():\n    y = x**2", {"x": 3}, no_grad=True)
    assert r.grads["x"].item() == 6.0


def test_detach_option_cuts_the_graph_where_assigned():
    r = run("y = x**2\nz = y * x", {"x": 3.0}, detach=["y"])
    # z = detach(x^2) * x: only the direct x path remains, dz/dx = y = 9
    assert r.error is None and r.grads["x"].item() == 9.0
    steps = {s["target"]: s for s in r.graph["dataflow"]}
    assert steps["y"]["reason"] == "detach_option" and steps["z"]["tracked"]
    untracked = [n for n in r.graph["nodes"] if n["kind"] == "untracked"]
    assert [n["name"] for n in untracked] == ["y"]


def test_requires_grad_off_per_input():
    r = run("y = x * w", {"x": 2.0, "w": 5.0}, requires_grad={"x": False})
    assert "x" not in r.grads and r.grads["w"].item() == 2.0


def test_requires_grad_off_for_the_only_input_explains_backward_failure():
    r = run("y = x**2\ny.backward()", {"x": 2.0}, requires_grad={"x": False})
    assert r.error.kind == "autograd" and "requires_grad=False" in r.error.message


def test_retain_grad_option_keeps_intermediate_grads():
    r = run("y = x**2\nz = torch.sin(y)\nprint(y.grad)", {"x": 4.0}, retain_grad=True,
            output="z")
    node = next(n for n in r.graph["nodes"] if n["name"] == "y")
    assert node["grad"]["data"] == pytest.approx(math.cos(16), rel=1e-5)
    assert r.variables["y"].item() == 16.0


def test_program_retain_grad_then_read():
    r = run("y = x**2\ny.retain_grad()\nz = y * 3\nz.backward()\nprint(y.grad)", {"x": 2.0})
    assert r.printed == "tensor(3.)\n" and not r.warnings


def test_float64_inputs():
    r = run("y = x / 3", {"x": 1.0}, dtype="float64")
    assert r.output.dtype == torch.float64 and r.grads["x"].item() == pytest.approx(1 / 3,
                                                                                    rel=1e-15)


# -- errors torch raises, explained ----------------------------------------------------------
def test_in_place_on_leaf_is_explained():
    r = run("x = torch.tensor(1.0, requires_grad=True)\nx += 1")
    assert r.error.kind == "autograd" and r.error.line == 2
    assert "in place" in r.error.message and "torch.no_grad()" in r.error.message


def test_in_place_update_under_no_grad_is_the_sgd_step():
    r = run("w = torch.tensor(1.0, requires_grad=True)\nloss = (w * 3 - 1) ** 2\n"
            "loss.backward()\nwith torch.no_grad():\n    w -= 0.1 * w.grad\nw")
    # dL/dw = 2 (3w - 1) 3 = 12 at w = 1, so w becomes 1 - 1.2
    assert r.error is None and r.variables["w"].item() == pytest.approx(-0.2, rel=1e-6)


def test_backward_twice_through_freed_graph_is_explained():
    r = run("y = torch.sin(x)\ny.backward()\ny.backward()", {"x": 1.0})
    assert r.error.kind == "autograd" and r.error.line == 3
    assert "retain_graph=True" in r.error.message


def test_backward_twice_with_retain_graph_accumulates():
    r = run("y = x**2\ny.backward(retain_graph=True)\ny.backward()", {"x": 3.0})
    assert r.error is None and r.grads["x"].item() == 12.0


def test_shape_mismatch_has_line_and_torch_reason():
    r = run("a = torch.ones(2)\nb = torch.ones(3)\nc = a + b")
    assert r.error.kind == "runtime" and r.error.line == 3 and "size" in r.error.message


def test_errors_stop_but_keep_what_ran():
    r = run("y = x * 2\nz = y @ y", {"x": [1.0, 2.0]}, output=None)
    assert r.error is None  # dot product of vectors is fine
    r = run("y = x * 2\nq = torch.ones(3)\nz = y + q", {"x": [1.0, 2.0]})
    assert r.error.line == 3 and "y" in r.variables


# -- the program's own randomness -----------------------------------------------------------
def test_manual_seed_is_reproducible_and_private():
    before = torch.get_rng_state()
    a = run("torch.manual_seed(7)\nr = torch.rand(3)")
    b = run("torch.manual_seed(7)\nr = torch.rand(3)")
    c = run("torch.manual_seed(8)\nr = torch.rand(3)")
    assert torch.equal(a.variables["r"], b.variables["r"])
    assert not torch.equal(a.variables["r"], c.variables["r"])
    assert torch.equal(torch.get_rng_state(), before)
    g = torch.Generator().manual_seed(7)
    assert torch.equal(a.variables["r"], torch.rand(3, generator=g))


# -- print and echoes -------------------------------------------------------------------------
def test_print_is_captured(capsys):
    r = run("print('value', x, 2 * 3, sep=' | ')", {"x": 1.5})
    assert r.printed == "value | tensor(1.5000, requires_grad=True) | 6\n"
    assert capsys.readouterr().out == ""


# -- graph data -------------------------------------------------------------------------------
def test_graph_nodes_carry_names_values_and_grads():
    r = run("y = x**2\nz = torch.sin(y)", {"x": 4.0})
    nodes = {n["name"]: n for n in r.graph["nodes"] if n["name"]}
    assert nodes["x"]["kind"] == "leaf" and nodes["x"]["grad"]["data"] == pytest.approx(
        8 * math.cos(16), rel=1e-5)
    assert nodes["y"]["op"] == "PowBackward0" and nodes["y"]["value"]["data"] == 16.0
    assert nodes["y"]["grad"]["data"] == pytest.approx(math.cos(16), rel=1e-5)
    assert nodes["z"]["kind"] == "output" and nodes["z"]["label"] == "sin"
    assert nodes["z"]["grad"]["data"] == 1.0
    ids = {n["id"]: n["name"] for n in r.graph["nodes"]}
    edges = {(ids[e["source"]], ids[e["target"]]) for e in r.graph["edges"]}
    assert edges == {("x", "y"), ("y", "z")}
    order = [ids[i] for i in r.graph["backward_order"]]
    assert order == ["z", "y", "x"]
    saved = {s["name"] for s in nodes["y"]["saved"]}
    assert "self" in saved


def test_graph_of_unnamed_intermediates_has_values():
    r = run("loss = -(t * torch.log(p) + (1 - t) * torch.log(1 - p))", {"p": 0.8, "t": 1.0})
    logs = [n for n in r.graph["nodes"] if n["op"] == "LogBackward0"]
    values = sorted(n["value"]["data"] for n in logs)
    assert values == pytest.approx(sorted([math.log(0.8), math.log(0.2)]), rel=1e-6)


def test_large_tensors_are_summarised():
    r = run("y = (torch.linspace(-1, 1, 1000) * x).sum()", {"x": 2.0})
    big = [n for n in r.graph["nodes"] if n["value"] and n["value"]["numel"] == 1000]
    assert big and big[0]["value"]["data"] is None
    assert big[0]["value"]["min"] == pytest.approx(-2.0) and big[0]["value"]["max"] == 2.0


# -- inputs -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("3", 3.0), ("-7.5", -7.5), ("[1, 2, 3]", [1.0, 2.0, 3.0]),
    ("[[1, 2], [3, 4]]", [[1.0, 2.0], [3.0, 4.0]]), (" 1e-3 ", 0.001), ("(1, 2)", [1.0, 2.0]),
])
def test_input_text_parses(text, expected):
    r = run("y = x * 1", {"x": text})
    assert r.error is None
    assert torch.equal(r.variables["x"], torch.tensor(expected, dtype=torch.float32))
    assert r.variables["x"].dtype == torch.float32


@pytest.mark.parametrize("text", ["", "abc", "1e999", "nan", "[1, 'a']", "[[1, 2], [3]]",
                                  "1 + 2", "x", "[1, [2, 3]]"])
def test_bad_input_text_names_the_input(text):
    r = run("y = speed * 2", {"speed": text})
    assert r.error.kind == "input" and "`speed`" in r.error.message


# -- curves ---------------------------------------------------------------------------------------
def test_curve_of_program_created_leaf_with_own_backward():
    source = ("x = torch.tensor(3.0, requires_grad=True)\ny = x**2\ny.backward()\nx.grad")
    xs, ys, dys = derivative_curve(source, wrt="x", lo=-2, hi=2, n=5, isolate=False)
    assert xs.tolist() == [-2, -1, 0, 1, 2]
    assert ys.tolist() == [4, 1, 0, 1, 4] and dys.tolist() == [-4, -2, 0, 2, 4]


def test_curve_through_a_reduction_keeps_points_apart():
    xs, ys, dys = derivative_curve("v = torch.tensor([1.0, 2.0, 3.0])\nL = ((w * v - 1)**2).mean()",
                                   {"w": 0.5}, wrt="w", lo=0, hi=1, n=3, isolate=False)
    for w, y, dy in zip(xs, ys, dys):
        v = np.array([1.0, 2.0, 3.0])
        assert y == pytest.approx(np.mean((w * v - 1) ** 2), rel=1e-6)
        assert dy == pytest.approx(np.mean(2 * (w * v - 1) * v), rel=1e-5, abs=1e-6)


def test_curve_refuses_vector_output_clearly():
    with pytest.raises(ProgramRefused) as info:
        derivative_curve("y = x * torch.ones(3)", {"x": 1.0}, isolate=False)
    assert "3 elements" in info.value.error.message and ".sum()" in info.value.error.message


def test_curve_refuses_vector_input_clearly():
    with pytest.raises(ProgramRefused) as info:
        derivative_curve("y = (x**2).sum()", {"x": [1.0, 2.0]}, isolate=False)
    assert "varies one number" in info.value.error.message


def test_curve_without_recorded_path_has_no_derivative():
    xs, ys, dys = derivative_curve("y = x**2", {"x": 1.0}, n=3, lo=-1, hi=1,
                                   requires_grad={"x": False}, isolate=False)
    assert ys.tolist() == [1, 0, 1] and np.isnan(dys).all()


def test_curve_bad_range():
    with pytest.raises(ProgramRefused):
        derivative_curve("y = x", {"x": 1.0}, lo=1, hi=-1, isolate=False)
    with pytest.raises(ProgramRefused):
        derivative_curve("y = x", {"x": 1.0}, n=10**9, isolate=False)


def test_curve_respects_element_budget():
    with pytest.raises(ProgramRefused) as info:
        derivative_curve("y = (torch.ones(1000) * x).sum()", {"x": 1.0}, n=100_001,
                         limits=Limits(max_curve_elements=10_000_000), isolate=False)
    assert info.value.error.kind == "limit"


# -- the worker process --------------------------------------------------------------------------
def test_isolated_run_gives_the_same_numbers():
    r = run_program("y = torch.sin(x**2)", {"x": "4"})
    assert r.error is None and r.grads["x"].item() == pytest.approx(8 * math.cos(16), rel=1e-5)
    assert r.graph["nodes"] and isinstance(r.graph["nodes"][0]["id"], str)
    xs, ys, dys = derivative_curve("y = x**3", {"x": 1.0}, lo=-1, hi=1, n=3)
    assert dys.tolist() == [3, 0, 3]
