"""AppTest: the Playground with a model (issue 17): module frames and their labels, the
Modules boxes/collapsed control, the grads table's parameters, and stepping backward
into a custom autograd.Function's own backward.

Numbers are plain torch's, run in a fresh namespace from the same program text.
"""

from __future__ import annotations

import html
import re

import pytest
import torch

from tests.apptest_tools import dot, start, table
from tests.test_modules_views import LEGENDRE, NET, plain_torch

pytestmark = pytest.mark.usefixtures("fresh_caches")


def cluster_labels(source: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", label)) for label in
            re.findall(r"subgraph \S+ \{\n\s*[^\n]*?label=<(.*?)> ", source)]


def test_a_two_layer_net_is_drawn_in_labelled_frames_and_collapses_on_request():
    at = start({"code": NET})
    assert not at.exception, at.exception
    assert cluster_labels(dot(at)) == ["model: Net", "fc1: Linear(3 → 4)",
                                       "fc2: Linear(4 → 1)", "loss_fn: MSELoss"]
    control = at.segmented_control(key="pg_modules")
    assert control.value == "boxes"
    control.set_value("collapsed").run()
    assert not at.exception, at.exception
    source = dot(at)
    assert cluster_labels(source) == ["model: Net", "loss_fn: MSELoss"]
    boxes = re.findall(r"module_c\d+ \[label=<.*?<B>(.*?)</B>", source)
    assert sorted(html.unescape(b) for b in boxes) == ["fc1: Linear(3 → 4)",
                                                        "fc2: Linear(4 → 1)"]
    # the grads table names the parameters by path, with plain torch's numbers
    reference = dict(plain_torch(NET)["model"].named_parameters())
    shown = table(at)
    assert list(shown["tensor"]) == list(reference)
    assert set(shown["kind"]) == {"parameter"}
    bias = shown.set_index("tensor").loc["fc2.bias"]
    assert float(bias[".grad (autograd)"].strip("[]")) == pytest.approx(
        reference["fc2.bias"].grad.item(), abs=1e-4)
    assert float(bias["value"].strip("[]")) == pytest.approx(
        reference["fc2.bias"].item(), abs=1e-4)


def test_no_modules_control_without_modules():
    at = start({"code": "y = x ** 2\n", "in": "x:3"})
    assert not at.exception
    assert not [c for c in at.segmented_control if c.key == "pg_modules"]


def test_stepping_into_a_custom_backward_shows_its_source_and_numbers():
    at = start({"code": LEGENDRE, "view": "steps", "step": "2"})
    assert not at.exception, at.exception
    code = [c.value for c in at.code if c.language == "python"]
    assert any("def backward(ctx, grad_output):" in c and
               "return grad_output * 1.5 * (5 * input ** 2 - 1)" in c for c in code), code
    assert any(c.splitlines()[0].startswith("10  def backward") for c in code)
    words = " ".join(m.value for m in at.markdown)
    assert "Torch called your `LegendrePolynomial3.backward` with grad_output = [1, 1, 1]" \
        in words
    namespace = plain_torch(LEGENDRE)
    returned = re.search(r"It returned \[(.*?)\]", words).group(1)
    u = (namespace["a"] + namespace["b"] * namespace["x"]).detach()
    expected = 1.5 * (5 * u ** 2 - 1)
    assert [float(v) for v in returned.split(",")] == pytest.approx(expected.tolist(),
                                                                    rel=1e-3)
    assert torch.allclose(namespace["a"].grad, expected.sum())
    assert "LegendrePolynomial3 · your autograd.Function" in html.unescape(dot(at))
