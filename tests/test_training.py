"""A program that trains: every backward() call's numbers, and any step's graph, against
plain torch running the same loop by hand in the test."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
import torch.nn.functional as F

from engine import run_program
from engine.running.training import MAX_TRACKED
from ui.training.plots import (
    contour_spec,
    describe_training,
    marble_spec,
    training_spec,
)

XS = [0.5, 1.5, 2.0, 3.0, 3.5, 4.5]
YS = [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]


def neuron_loop(steps: int, lr: float, zero: bool = True) -> str:
    """The logistic neuron trained by hand, as a learner writes it."""
    zero_lines = "    w.grad.zero_()\n    b.grad.zero_()\n" if zero else ""
    return (f"xs = torch.tensor({XS})\nys = torch.tensor({YS})\n"
            "w = torch.tensor(0.0, requires_grad=True)\n"
            "b = torch.tensor(0.0, requires_grad=True)\n"
            f"lr = {lr}\n"
            f"for step in range({steps}):\n"
            "    z = w * xs + b\n"
            "    p = torch.sigmoid(z)\n"
            "    loss = F.binary_cross_entropy(p, ys)\n"
            "    loss.backward()\n"
            "    with torch.no_grad():\n"
            "        w -= lr * w.grad\n"
            "        b -= lr * b.grad\n"
            + zero_lines)


def plain_neuron(steps: int, lr: float, zero: bool = True) -> list[dict[str, float]]:
    """The same loop in plain torch: per step the loss, w, b (before the update) and
    their .grad (after that backward)."""
    xs, ys = torch.tensor(XS), torch.tensor(YS)
    w = torch.tensor(0.0, requires_grad=True)
    b = torch.tensor(0.0, requires_grad=True)
    seen = []
    for _ in range(steps):
        loss = F.binary_cross_entropy(torch.sigmoid(w * xs + b), ys)
        loss.backward()
        seen.append({"loss": loss.item(), "w": w.item(), "b": b.item(),
                     "w.grad": w.grad.item(), "b.grad": b.grad.item()})
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        if zero:
            w.grad.zero_()
            b.grad.zero_()
    return seen


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-7)


@pytest.mark.parametrize(("lr", "zero"), [(0.5, True), (2.0, True), (0.5, False)])
def test_every_step_matches_plain_torch(lr, zero):
    result = run_program(neuron_loop(25, lr, zero), isolate=False)
    assert result.error is None
    expected = plain_neuron(25, lr, zero)
    assert len(result.training) == 25
    for got, want in zip(result.training, expected, strict=True):
        assert got["root"] == "loss" and got["line"] == 10
        assert close(got["loss"], want["loss"])
        for name in ("w", "b"):
            assert close(got["leaves"][name]["value"]["value"], want[name])
            assert close(got["leaves"][name]["grad"]["value"], want[f"{name}.grad"])
        assert got["numbers"]["lr"] == lr and close(got["numbers"]["loss"], want["loss"])
        assert "step" not in got["numbers"]  # the loop counter is the step axis


def test_optimizer_loop_with_a_module_records_parameters_by_path():
    source = ("import torch.nn as nn\ntorch.manual_seed(0)\nmodel = nn.Linear(3, 2)\n"
              "opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)\n"
              "x = torch.tensor([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])\n"
              "for i in range(6):\n    opt.zero_grad()\n"
              "    loss = (model(x) ** 2).mean()\n    loss.backward()\n    opt.step()\n")
    result = run_program(source, isolate=False)
    assert result.error is None
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = torch.tensor([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])
    for step in result.training:
        opt.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        assert close(step["loss"], loss.item())
        weight = step["leaves"]["model.weight"]
        assert weight["value"]["shape"] == [2, 3]
        assert weight["value"]["first"] == pytest.approx(
            model.weight.detach().reshape(-1).tolist(), rel=1e-6)
        assert close(weight["grad"]["norm"], model.weight.grad.norm().item())
        assert close(step["leaves"]["model.bias"]["value"]["norm"], model.bias.norm().item())
        opt.step()


def leaf_boxes(result) -> dict[str, tuple[float, float]]:
    return {n["name"]: (n["value"]["data"], n["grad"]["data"])
            for n in result.graph["nodes"] if n["kind"] == "leaf"}


@pytest.mark.parametrize("k", [1, 4, 10])
def test_graph_step_draws_that_backward_as_it_ran(k):
    result = run_program(neuron_loop(10, 0.5), graph_step=k, isolate=False)
    want = plain_neuron(10, 0.5)[k - 1]
    assert result.graph_step == (k if k < 10 else None)  # None: the last call's graph
    boxes = leaf_boxes(result)
    assert close(boxes["w"][0], want["w"]) and close(boxes["w"][1], want["w.grad"])
    assert close(boxes["b"][0], want["b"]) and close(boxes["b"][1], want["b.grad"])
    output = next(n for n in result.graph["nodes"] if n["kind"] == "output")
    assert output["name"] == "loss" and close(output["value"]["data"], want["loss"])
    assert len(result.graph["steps"]) == 6  # one backward pass: loss, p, z, mul, w, b
    # the numbers are the whole run's whichever step is drawn
    assert result.training == run_program(neuron_loop(10, 0.5), isolate=False).training


def test_asking_for_the_last_call_draws_what_no_choice_draws():
    """The Playground asks for the previous run's last call, so the passes before it go
    unhooked: the graph must be the one a run without a choice draws, box for box."""
    source = neuron_loop(15, 0.5)
    assert run_program(source, graph_step=15, isolate=False).graph == \
        run_program(source, isolate=False).graph
    twice = "y = x**3\ny.backward(retain_graph=True)\ny.backward()\n"
    assert run_program(twice, {"x": "2"}, graph_step=2, isolate=False).graph == \
        run_program(twice, {"x": "2"}, isolate=False).graph


def test_without_graph_step_the_graph_is_the_last_step_before_its_update():
    """The loop zeroes .grad and updates w after the last backward: the graph still
    shows the w that backward's forward used and the gradient it gave."""
    result = run_program(neuron_loop(10, 0.5), isolate=False)
    want = plain_neuron(10, 0.5)[-1]
    assert result.graph_step is None
    boxes = leaf_boxes(result)
    assert close(boxes["w"][0], want["w"]) and close(boxes["w"][1], want["w.grad"])
    assert float(result.grads["w"]) == 0.0  # .grad itself was zeroed after it


def test_a_step_past_the_end_draws_the_last():
    result = run_program(neuron_loop(3, 0.5), graph_step=50, isolate=False)
    assert result.graph_step is None and len(result.training) == 3


def test_one_backward_has_one_step_and_no_auto_record():
    assert len(run_program("y = x**2\ny.backward()\n", {"x": 3}, isolate=False).training) == 1
    assert run_program("y = x**2\n", {"x": 3}, isolate=False).training == []


def test_through_the_worker_the_numbers_arrive_unchanged():
    here = run_program(neuron_loop(5, 0.5), graph_step=2, isolate=False)
    there = run_program(neuron_loop(5, 0.5), graph_step=2)
    assert there.training == here.training and there.graph_step == 2


def test_many_leaves_and_numbers_are_bounded():
    names = [f"w{i}" for i in range(40)]
    source = "".join(f"{n} = torch.tensor(1.0, requires_grad=True)\n" for n in names)
    source += "".join(f"c{i} = {i}.5\n" for i in range(40))
    source += "for i in range(3):\n    loss = " + " + ".join(names) + "\n    loss.backward()\n"
    result = run_program(source, isolate=False)
    assert result.error is None
    step = result.training[-1]
    assert len(step["leaves"]) == MAX_TRACKED and len(step["numbers"]) <= MAX_TRACKED
    assert step["leaves"]["w0"]["grad"]["value"] == 3.0  # added up over three calls


def test_non_finite_steps_are_recorded_as_they_are():
    result = run_program("w = torch.tensor(1.0, requires_grad=True)\n"
                         "for i in range(4):\n    loss = w ** 2\n    loss.backward()\n"
                         "    with torch.no_grad():\n        w *= 1e15 * 1e15\n", isolate=False)
    losses = [s["loss"] for s in result.training]
    assert losses[0] == 1.0 and math.isinf(losses[-1])
    spec = training_spec(result.training)
    assert spec["data"][0]["y"][-1] is None  # drawn as a gap
    assert "from 1 to" in describe_training(result.training)


def test_figures_are_valid_plotly():
    steps = run_program(neuron_loop(8, 0.5), isolate=False).training
    go.Figure(training_spec(steps, chosen=3, big=True))
    go.Figure(training_spec(steps))
    import numpy as np

    xs = np.linspace(-1, 1, 5)
    go.Figure(marble_spec("w", "loss", xs, xs ** 2, [(0.5, 0.25), (0.1, 0.01)], 2))
    go.Figure(contour_spec(("w", "b"), "loss", xs, xs, np.outer(xs, xs),
                           [(0.5, 0.5), (0.1, 0.2)], 1, big=True))


def test_description_names_the_chosen_step_numbers():
    steps = run_program(neuron_loop(8, 0.5), isolate=False).training
    want = plain_neuron(8, 0.5)[2]
    text = describe_training(steps, chosen=3)
    assert "steps 1 to 8" in text and f"loss {want['loss']:.4g}" in text
    assert f"w {want['w']:.4g} (grad {want['w.grad']:.4g})" in text


def test_a_loss_over_orders_of_magnitude_is_drawn_on_a_log_axis():
    """x**2 by SGD at lr 1.5: the loss grows by 9x a step (x_k = 2(-2)^k, by hand), so on
    a linear axis its first steps would be a flat 0."""
    diverging = run_program("for step in range(12):\n    y = x**2\n    y.backward()\n"
                            "    with torch.no_grad():\n        x -= 1.5 * x.grad\n"
                            "    x.grad.zero_()\n", {"x": "2"}, isolate=False)
    assert [s["loss"] for s in diverging.training] == \
        pytest.approx([(2 * (-2) ** k) ** 2 for k in range(12)])
    spec = training_spec(diverging.training)
    assert spec["layout"]["yaxis"]["type"] == "log"
    assert "log scale" in spec["layout"]["yaxis"]["title"]["text"]
    converging = run_program(neuron_loop(30, 0.5), {}, isolate=False)
    assert "type" not in training_spec(converging.training)["layout"]["yaxis"]


def test_many_steps_draw_small_plain_markers_and_a_lone_parameter_names_no_others():
    xs = ys = np.linspace(0, 1, 3)
    grid = np.zeros((3, 3))
    many = contour_spec(("w", "b"), "loss", xs, ys, grid, [(0.1 * k, 0.1) for k in range(200)],
                        5)
    few = contour_spec(("w", "b"), "loss", xs, ys, grid, [(0.1 * k, 0.1) for k in range(10)], 5)
    assert "line" not in many["data"][1]["marker"] and "line" in few["data"][1]["marker"]
    alone = marble_spec("x", "y", xs, ys, [(0.0, 1.0)], 1, others=False)
    assert alone["data"][0]["name"] == "y(x)"
    assert marble_spec("w", "loss", xs, ys, [(0.0, 1.0)], 1)["data"][0]["name"] == \
        "loss(w), other parameters at step 1"
