"""Every chart's description for screen readers (``alt``): the graph in words from its
own boxes, in running order, with values and gradients equal to plain torch's; each plot's
function, range, point and slope; and every chart on every page and view carries one."""

from __future__ import annotations

import re

import pytest
import torch

from engine import run_program
from graphviz_utils import describe_dot, to_dot, written_dot
from graphviz_utils.describe import MAX_CHARS
from tests.apptest_tools import open_page, start
from ui.share import VIEWS


def numbers_after(text: str, label: str) -> list[float]:
    return [float(v) for v in re.findall(rf"{re.escape(label)} (-?\d+(?:\.\d+)?(?:e-?\d+)?)", text)]


def test_the_graph_is_read_from_inputs_to_output_with_torchs_numbers():
    x = torch.tensor(4.0, requires_grad=True)
    y = x**2
    z = torch.sin(y)
    y.retain_grad()
    z.backward()
    text = describe_dot(to_dot(run_program("y = x**2\nz = torch.sin(y)", {"x": "4"})).source,
                        "Annotated autograd graph")
    assert text.startswith("Annotated autograd graph: 3 boxes")
    assert text.index("x: leaf") < text.index("y: PowBackward0") < text.index("z: SinBackward0")
    assert numbers_after(text, "value") == pytest.approx([4.0, 16.0, z.item()], rel=1e-6)
    assert numbers_after(text, ".grad") == pytest.approx([float(x.grad)], rel=1e-6)
    assert numbers_after(text, " grad") == pytest.approx([float(y.grad), 1.0], rel=1e-6)


def test_what_autograd_did_not_record_is_said_with_its_reason():
    result = run_program("y = x**2\nz = y.detach() * x", {"x": "4"})
    for dot in (to_dot(result), written_dot(result)):
        text = describe_dot(dot.source, "graph")
        assert "Not recorded:" in text and "y.detach(): not recorded" in text


def test_a_large_graph_is_summarised_within_bounds():
    result = run_program("y = x\n" + "y = torch.sin(y) * 1.5\n" * 60, {"x": "[1, 2, 3, 4]"})
    text = describe_dot(to_dot(result).source, "graph")
    assert len(text) <= MAX_CHARS + 40 and re.search(r"… and \d+ more items\.$", text)


def test_the_plots_say_function_range_point_and_slope():
    at = start({"code": "y = x**3", "in": "x:2", "lo": "-1", "hi": "3"})
    f_alt, df_alt = (chart.proto.alt for chart in at.get("plotly_chart")[:2])
    assert "y as a function of x over x from -1 to 3" in f_alt
    assert "x = 2, y = 8" in f_alt and "slope 12" in f_alt  # d(x³)/dx = 3x² = 12
    assert "dy/dx" in df_alt and "by hand" in df_alt and "it is 12" in df_alt


def _alts(at) -> list[str]:
    charts = [*at.get("graphviz_chart"), *at.get("plotly_chart"), *at.get("iframe")]
    return [chart.proto.alt for chart in charts]


@pytest.mark.parametrize("page", ["derivatives", "chain_rule", "vectors", "accumulation",
                                  "leaves", "stopping_gradients", "training_loop"])
def test_every_chart_of_every_lesson_is_described(page):
    alts = _alts(open_page(page))
    assert alts and all(alt.strip() for alt in alts), alts


@pytest.mark.parametrize("view", list(VIEWS))
def test_every_chart_of_every_playground_view_is_described(view):
    at = start({"code": "y = x**2\nz = torch.sin(y)", "in": "x:4", "view": view,
                "second": "1"})
    alts = _alts(at)
    assert alts and all(alt.strip() for alt in alts), (view, alts)
