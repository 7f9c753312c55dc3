"""Issue 17 in real Chromium: a two-layer model's graph drawn with its module frames
(the SVG Graphviz drew in the browser has the frames and their labels), collapsed with
the Modules control, and stepping backward into a custom autograd.Function's backward.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.driver import GRAPH, open_app, rerun, wait_for_graph
from tests.test_modules_views import LEGENDRE, NET, plain_torch
from ui.share import PlaygroundState, query_string

FRAMES = ["model: Net", "fc1: Linear(3 → 4)", "fc2: Linear(4 → 1)", "loss_fn: MSELoss"]
CLUSTER_TITLES = """svg => [...svg.querySelectorAll('g.cluster')].map(
    c => [...c.querySelectorAll('text')].map(t => t.textContent).join(' '))"""


def test_a_two_layer_model_is_drawn_in_labelled_frames(server, page):
    open_app(page, f"{server}/?{query_string(PlaygroundState(code=NET))}")
    wait_for_graph(page, *FRAMES)
    graph = page.locator(GRAPH).first
    assert graph.evaluate(CLUSTER_TITLES) == FRAMES
    with rerun(page):
        page.locator("[data-testid='stButtonGroup'] button").filter(
            has_text=re.compile(r"^\s*Collapsed\s*$")).click()
    page.wait_for_function(f"() => ({CLUSTER_TITLES})(document.querySelector(\"{GRAPH}\"))"
                           ".length === 2", timeout=30_000)
    assert graph.evaluate(CLUSTER_TITLES) == ["model: Net", "loss_fn: MSELoss"]
    fc2 = graph.locator("g.node").filter(has_text="fc2: Linear(4 → 1)")
    expect(fc2).to_have_count(1)
    y = plain_torch(NET)["y"].item()
    expect(fc2).to_contain_text(f"value [[{y:.4g}]]")


def test_stepping_into_a_custom_backward_shows_the_programs_source(server, page):
    state = PlaygroundState(code=LEGENDRE, view="steps", step=2)
    open_app(page, f"{server}/?{query_string(state)}")
    wait_for_graph(page, "LegendrePolynomial3 · your autograd.Function")
    source = page.locator("[data-testid='stCode']").filter(has_text="def backward")
    expect(source).to_have_count(1)
    text = source.inner_text()
    assert re.search(r"10\s+def backward\(ctx, grad_output\):", text), text
    assert "return grad_output * 1.5 * (5 * input ** 2 - 1)" in text
    expect(page.get_by_text(re.compile(
        r"Torch called your LegendrePolynomial3\.backward with grad_output = \[1, 1, 1\]"))
    ).to_be_visible()
