"""gradient_graph: the graph autograd records for a gradient (create_graph=True), and the
second backward through it.

Numbers are checked against hand formulas (sin(x²): dz/dx = 2x cos(x²), d²z/dx² =
2 cos(x²) - 4x² sin(x²)) and against central finite differences of plain-``math``
functions, never against the engine's own output; the graph's operations against what
the chain rule says backward must compute.
"""

from __future__ import annotations

import math

import pytest

from engine import gradient_graph
from graphviz_utils import to_dot
from ui.examples import EXAMPLES

SIN_OF_SQUARE = "y = x**2\nz = torch.sin(y)\n"


def grad_graph(source: str, inputs: dict | None = None, wrt: str = "x", **options):
    result = gradient_graph(source, {"x": 4} if inputs is None else inputs, wrt,
                            isolate=False, **options)
    assert result.error is None, result.error
    return result


def by_name(result) -> dict[str, dict]:
    named = [n for n in result.graph["nodes"] if n["name"]]
    assert len({n["name"] for n in named}) == len(named), [n["name"] for n in named]
    return {n["name"]: n for n in named}


def number(summary: dict | None) -> float:
    assert summary is not None
    return float(summary["data"])


@pytest.fixture(scope="module")
def sin_square():
    return grad_graph(SIN_OF_SQUARE)


def sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v))


# -- sin(x²) at x = 4 --------------------------------------------------------------------------
def test_root_is_the_first_derivative_named_dz_dx(sin_square):
    root = [n for n in sin_square.graph["nodes"] if n["is_output"]]
    assert len(root) == 1 and root[0]["name"] == "dz/dx" and root[0]["kind"] == "output"
    assert number(root[0]["value"]) == pytest.approx(8 * math.cos(16), rel=1e-5)
    assert number(root[0]["grad"]) == 1  # the second backward starts at g with 1
    assert sin_square.output_name == "dz/dx"
    assert sin_square.output.item() == pytest.approx(8 * math.cos(16), rel=1e-5)


def test_leaf_gets_the_second_derivative(sin_square):
    hand = 2 * math.cos(16) - 4 * 16 * math.sin(16)
    assert sin_square.grads["x"].item() == pytest.approx(hand, rel=1e-5)
    x = by_name(sin_square)["x"]
    assert x["kind"] == "leaf" and number(x["grad"]) == pytest.approx(hand, rel=1e-5)
    assert number(x["value"]) == 4


def test_graph_holds_the_operations_backward_ran(sin_square):
    """Backward of sin(y) computes grad · cos(y); backward of x**2 computes 2 · x**1 and
    multiplies: so Cos, Mul (twice: grad · cos, then · 2x), Mul by the number 2 and two
    Pows (the forward y = x**2 that cos reads, and backward's x**1)."""
    ops = sorted(n["op"] for n in sin_square.graph["nodes"])
    assert ops == sorted(["MulBackward0", "MulBackward0", "MulBackward1", "CosBackward0",
                          "PowBackward0", "PowBackward0", "AccumulateGrad"])
    assert "SinBackward0" not in ops  # sin itself is not part of its derivative


def test_forward_values_and_gradients_passed_between_nodes_are_known(sin_square):
    named = by_name(sin_square)
    assert number(named["y"]["value"]) == 16  # the forward value cos reads
    assert named["y"]["op"] == "PowBackward0"
    # What backward sent into y's node: dz/dy = cos(y), a node of the gradient's graph.
    assert number(named["dz/dy"]["value"]) == pytest.approx(math.cos(16), rel=1e-5)
    # The second backward's gradient at dz/dy: d(dz/dx)/d(dz/dy) = 2x = 8.
    assert number(named["dz/dy"]["grad"]) == pytest.approx(8, rel=1e-6)
    # d(dz/dx)/dy through cos only: 2x · (-sin(y)) = -8 sin(16).
    assert number(named["y"]["grad"]) == pytest.approx(-8 * math.sin(16), rel=1e-5)


def test_every_node_got_a_gradient_in_the_second_backward(sin_square):
    nodes = sin_square.graph["nodes"]
    assert all(n["grad"] is not None for n in nodes)
    assert sorted(sin_square.graph["backward_order"]) == sorted(n["id"] for n in nodes)
    ids = {n["id"] for n in nodes}
    assert all(e["source"] in ids and e["target"] in ids for e in sin_square.graph["edges"])


def test_to_dot_draws_it(sin_square):
    source = to_dot(sin_square).source
    assert "dz/dx" in source and "dz/dy" in source and "CosBackward0" in source
    assert source.count("->") >= len(sin_square.graph["edges"])


# -- x**2 and other programs ---------------------------------------------------------------------
def test_x_squared_second_derivative_is_2():
    r = grad_graph("y = x**2", {"x": 3})
    assert r.output.item() == 6 and r.grads["x"].item() == 2
    assert to_dot(r).source


@pytest.mark.parametrize("backward", ["z.backward(retain_graph=True)",
                                      "z.backward(create_graph=True)"])
def test_program_that_keeps_its_graph_may_call_backward(backward):
    """x.grad starts afresh for the second backward: it shows d²z/dx², not f' + f''."""
    r = grad_graph(SIN_OF_SQUARE + backward + "\n")
    assert r.grads["x"].item() == pytest.approx(2 * math.cos(16) - 64 * math.sin(16),
                                                rel=1e-5)
    assert r.backward_called


def fd_first(f, x: float, h: float = 1e-5) -> float:
    return (f(x + h) - f(x - h)) / (2 * h)


def fd_second(f, x: float, h: float = 1e-4) -> float:
    """The central difference of the central-difference first derivative."""
    return (fd_first(f, x + h, h) - fd_first(f, x - h, h)) / (2 * h)


FD_CASES = [
    ("y = torch.exp(-x) * torch.cos(3 * x) + torch.sqrt(x)", 0.7,
     lambda x: math.exp(-x) * math.cos(3 * x) + math.sqrt(x)),
    ("def f(a):\n    return a * torch.tanh(a)\ny = f(x) + f(2 * x)", 0.3,
     lambda x: x * math.tanh(x) + 2 * x * math.tanh(2 * x)),
    ("y = x / (1 + x**2)\ny = y * torch.sigmoid(y)", 1.3,
     lambda x: x / (1 + x**2) * sigmoid(x / (1 + x**2))),
]


@pytest.mark.parametrize(("source", "at", "reference"), FD_CASES,
                         ids=["exp cos sqrt", "function", "reassigned"])
def test_second_derivative_matches_finite_differences(source, at, reference):
    r = grad_graph(source, {"x": at}, dtype="float64")
    assert r.output.item() == pytest.approx(fd_first(reference, at), rel=1e-8)
    assert r.grads["x"].item() == pytest.approx(fd_second(reference, at), rel=1e-6)


def test_bce_neuron_of_the_examples():
    """wrt w, with x = 6.7 and y = 0 constants: dloss/dw = x σ, d²loss/dw² = x² σ (1-σ),
    and b's .grad is the mixed second derivative d²loss/dw db = x σ (1-σ)."""
    example = next(e for e in EXAMPLES if "BCE" in e.title)
    r = grad_graph(example.code, example.values, "w",
                   requires_grad=dict.fromkeys(example.constants, False))
    s = sigmoid(6.7)
    assert r.output_name == "dloss/dw"
    assert r.output.item() == pytest.approx(6.7 * s, rel=1e-5)
    assert r.grads["w"].item() == pytest.approx(6.7**2 * s * (1 - s), rel=1e-3)  # float32
    named = by_name(r)
    assert number(named["b"]["grad"]) == pytest.approx(6.7 * s * (1 - s), rel=1e-3)
    assert number(named["z"]["value"]) == pytest.approx(6.7, rel=1e-6)
    assert number(named["dloss/dz"]["value"]) == pytest.approx(s, rel=1e-5)  # σ - y
    assert "SigmoidBackwardBackward0" in {n["op"] for n in r.graph["nodes"]}
    assert "dloss/dw" in to_dot(r).source


def test_worker_and_in_process_agree():
    example = next(e for e in EXAMPLES if "BCE" in e.title)
    constants = {"requires_grad": dict.fromkeys(example.constants, False)}
    for source, inputs, wrt, options in [(SIN_OF_SQUARE, {"x": 4}, "x", {}),
                                         (example.code, example.values, "w", constants)]:
        isolated = gradient_graph(source, inputs, wrt, **options)
        here = gradient_graph(source, inputs, wrt, isolate=False, **options)
        assert isolated.error is None and here.error is None
        assert isolated.output_name == here.output_name
        assert isolated.output.item() == here.output.item()
        assert isolated.grads[wrt].item() == here.grads[wrt].item()
        assert isolated.graph["nodes"] == here.graph["nodes"]
        assert isolated.graph["edges"] == here.graph["edges"]


# -- what cannot be differentiated twice ------------------------------------------------------
def refusal(source: str, inputs: dict | None = None, wrt: str = "x", **options) -> str:
    r = gradient_graph(source, {"x": 4} if inputs is None else inputs, wrt, isolate=False,
                       **options)
    assert r.error is not None
    return r.error.message


def test_output_that_does_not_reach_wrt_is_refused():
    message = refusal("w = torch.tensor(2.0, requires_grad=True)\ny = w**2")
    assert "`y` does not depend on `x`" in message


def test_refusals_say_why():
    assert "no_grad switch" in refusal("y = x**2", no_grad=True)
    assert "detached" in refusal("y = x**2", detach=["y"])
    assert "requires_grad=False" in refusal("y = x**2", requires_grad={"x": False})
    assert "`x` does not require grad (its requires_grad switch is off)" in refusal(
        "y = x**2 + w", {"x": 4, "w": 1}, requires_grad={"x": False})
    assert "no input or tensor variable called `q`" in refusal("y = x**2", wrt="q")
    assert "3 elements" in refusal("y = x * torch.ones(3)")
    freed = refusal(SIN_OF_SQUARE + "z.backward()\n")
    assert "already ran backward()" in freed and "retain_graph=True" in freed


def test_op_without_second_derivative_is_refused_but_its_graph_drawn():
    r = gradient_graph("y = F.hardsigmoid(x * 0.3)", {"x": 1.0}, isolate=False)
    assert "no second derivative for `hardsigmoid`" in r.error.message
    assert r.output_name == "dy/dx" and r.graph["nodes"]
    assert to_dot(r).source


def test_constant_gradient_has_an_empty_graph_and_zero_second_derivative():
    r = grad_graph("y = 3 * x + 1")
    assert r.output.item() == 3 and r.grads["x"].item() == 0
    assert r.graph["nodes"] == [] and "empty" in r.warnings[-1]
    assert to_dot(r).source


def test_other_leaves_get_mixed_second_derivatives():
    """y = x² w: dy/dx = 2xw, so x.grad = 2w and w.grad = d²y/dx dw = 2x."""
    r = grad_graph("y = x**2 * w", {"x": 3, "w": 5})
    named = by_name(r)
    assert r.grads["x"].item() == 10 and number(named["w"]["grad"]) == 6
