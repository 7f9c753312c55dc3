"""The graph width estimate (graphviz_utils.size) against Graphviz's own layout, and the
Playground's use of it: a graph that fits beside the editor at its own size is drawn
there, a wider one across the page (never a slice of it in a narrow column)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from engine import run_program
from graphviz_utils import to_dot, written_dot
from graphviz_utils.size import estimated_width_px
from tests.apptest_tools import start
from ui.examples import EXAMPLES
from ui.graph_views import BESIDE_EDITOR_PX


def dot_width_px(source: str) -> float:
    """The width ``dot`` lays the graph out at, in CSS pixels (96 per inch)."""
    svg = subprocess.run(["dot", "-Tsvg"], input=source, capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return float(re.search(r'width="([\d.]+)pt"', svg).group(1)) * 96 / 72


needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None and os.environ.get("CI", "").lower() != "true",
    reason="Graphviz's dot is not installed (.ci/run installs it)")


@needs_dot
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.title[:24])
@pytest.mark.parametrize("theme", ["light", "projector"])
def test_the_estimate_is_within_a_quarter_of_dots_layout(example, theme):
    result = run_program(example.code, example.values)
    for dot in (to_dot(result, theme=theme), written_dot(result, theme=theme)):
        actual = dot_width_px(dot.source)
        assert 0.7 <= estimated_width_px(dot.source) / actual <= 1.3, (example.title, actual)


PROGRAMS = {
    "chain": ("y = x\n" + "y = torch.sin(y)\n" * 40, {"x": "1"}),
    "fan": ("y = " + " + ".join(f"x * {i}.5" for i in range(12)), {"x": "1"}),
    "two inputs": ("z = torch.sin(x) * torch.cos(w)", {"x": "1", "w": "2"}),
    "vector": ("y = (x**2 + 1).log().sum()", {"x": "[1, 2, 3, 4, 5, 6, 7, 8]"}),
    "matrix": ("y = (W @ x).tanh().sum()", {"W": "[[1, 2], [3, 4]]", "x": "[1, -1]"}),
}


@needs_dot
@pytest.mark.parametrize("name", list(PROGRAMS))
@pytest.mark.parametrize("theme", ["light", "dark", "projector"])
def test_the_placement_agrees_with_dots_layout(name, theme):
    """Where the estimate decides (beside the editor or across the page), it decides as
    dot's real width would, unless that width is within 15% of the column."""
    source = to_dot(run_program(*PROGRAMS[name]), theme=theme).source
    actual = dot_width_px(source)
    if abs(actual - BESIDE_EDITOR_PX) > 0.15 * BESIDE_EDITOR_PX:
        assert (estimated_width_px(source) <= BESIDE_EDITOR_PX) == \
            (actual <= BESIDE_EDITOR_PX), (name, actual, estimated_width_px(source))


def _graph_beside_editor(at) -> bool:
    """Whether the page's first graph is inside the editor's row of columns."""
    return any(column.get("graphviz_chart") for column in at.columns)


def test_a_small_graph_sits_beside_the_editor_and_a_wide_one_below():
    at = start()  # sin(x**2): about 410 px
    assert _graph_beside_editor(at)
    wide = next(e for e in EXAMPLES if "MLP" in e.title)
    assert estimated_width_px(to_dot(run_program(wide.code, wide.values)).source) \
        > BESIDE_EDITOR_PX
    at.selectbox(key="pg_example").set_value(wide.title).run()
    assert not at.exception
    assert at.get("graphviz_chart") and not _graph_beside_editor(at)
