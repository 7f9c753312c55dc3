"""Every page in real Chromium: it loads without an error, its graphs are laid out (SVG
node boxes) and its plots drawn (plotly traces with data), and the numbers drawn in the
graph are the ones hand-derived formulas give."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.e2e.driver import (
    errors,
    graph_nodes,
    node,
    open_app,
    plots,
    tooltip_value,
    wait_for_graph,
)

PAGES = Path(__file__).resolve().parents[2] / "app_pages"


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


# url path: (graphs, plots, errors shown on purpose,
#            {node name: hand-derived gradient in the first graph})
EXPECTED: dict[str, tuple[int, int, int, dict[str, object]]] = {
    "": (1, 2, 0, {"x": 2 * 4 * math.cos(16)}),                 # sin(x**2) at 4
    "derivatives": (1, 2, 0, {"x": 2 * 3}),                     # x**2 at 3
    "chain_rule": (1, 2, 0, {"w": (sigmoid(6.7) - 0) * 6.7,     # (σ(wx+b) - y) x, the seed's
                          "b": sigmoid(6.7) - 0}),           # manual chain rule
    "vectors": (1, 0, 0, {"x": [2 * v / 3 for v in (1, 2, 3)]}),  # mean(x**2): 2 x_i / n
    "accumulation": (1, 1, 0, {"x": 3 * 2 * 2}),                # 3 backward calls of x**2 at 2
    "leaves": (1, 2, 0, {"x": 2 * 4 * math.cos(16)}),
    "stopping_gradients": (3, 0, 3, {}),  # the error backward raises after each way
    # one pass over the six points at w = b = 0: every p is 0.5, dL/dw = mean((p - y) x),
    # dL/db = mean(p - y) = 0; the error is torch refusing the update outside no_grad
    "training_loop": (1, 4, 1, {"w": sum((0.5 - y) * x for x, y in zip(
        (0.5, 1.5, 2.0, 3.0, 3.5, 4.5), (0, 0, 1, 0, 1, 1))) / 6}),
}


def test_every_page_file_is_covered():
    assert {p.stem for p in PAGES.glob("*.py")} == {k or "playground" for k in EXPECTED}


@pytest.mark.parametrize("path", list(EXPECTED), ids=lambda p: p or "playground")
def test_page_draws_its_graphs_and_plots(server, page, path):
    graphs, figures, shown_errors, grads = EXPECTED[path]
    open_app(page, f"{server}/{path}")
    assert len(errors(page)) == shown_errors
    assert page.locator("[data-testid='stException']").count() == 0
    for index in range(graphs):
        wait_for_graph(page, index=index)
        assert graph_nodes(page, index)
    assert page.locator("[data-testid='stGraphVizChart'] svg").count() == graphs
    for figure in plots(page, figures) if figures else []:
        assert figure["drawn"] >= 1 and figure["traces"], figure["title"]
        assert all(len(trace["y"]) >= 1 for trace in figure["traces"]), figure["title"]
    assert page.locator("[data-testid='stPlotlyChart']").count() == figures
    for name, expected in grads.items():
        assert tooltip_value(node(page, name), "grad") == pytest.approx(expected, rel=1e-6)
