"""The standalone HTML export in a real browser: offline, drawn, pannable, zoomable, safe."""

from __future__ import annotations

from pathlib import Path

from engine.api import run_program
from graphviz_utils import to_dot, to_html
from graphviz_utils.model import Drawing, Node
from graphviz_utils.render import Style, render
from tests.test_graphviz_utils import BCE  # the seed's logistic neuron


def open_offline(page, html: str, tmp_path: Path) -> list[str]:
    """Open ``html`` from a file with every network request refused; returns what the
    page tried to fetch from the network."""
    path = tmp_path / "graph.html"
    path.write_text(html, encoding="utf-8")
    attempts: list[str] = []

    def refuse(route):
        attempts.append(route.request.url)
        route.abort()

    page.route("http*://**/*", refuse)
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-state='ready'], body[data-state='error']",
                           timeout=30_000)
    return attempts


def test_html_export_draws_the_graph_offline_with_pan_and_zoom(page, tmp_path):
    result = run_program(BCE, isolate=False)
    attempts = open_offline(page, to_html(to_dot(result), title="BCE"), tmp_path)
    assert page.get_attribute("body", "data-state") == "ready", page.inner_text("#message")
    assert attempts == []
    # 6 boxes (w, b, multiply, z, y_pred, loss) and the legend.
    assert page.locator("#graph svg g.node").count() == 7
    text = page.inner_text("#graph")
    assert "loss" in text and "6.701" in text and ".grad 6.692" in text
    before = page.evaluate("window.graphView.getZoom()")
    page.click("#zoom-in")
    assert page.evaluate("window.graphView.getZoom()") > before
    page.click("#reset")
    assert abs(page.evaluate("window.graphView.getZoom()") - 1.0) < 1e-6
    pan = page.evaluate("window.graphView.getPan()")
    page.mouse.move(600, 450)
    page.mouse.down()
    page.mouse.move(700, 500, steps=5)
    page.mouse.up()
    moved = page.evaluate("window.graphView.getPan()")
    assert (moved["x"], moved["y"]) != (pan["x"], pan["y"])


def test_html_export_shows_hostile_text_literally_and_runs_none_of_it(page, tmp_path):
    hostile = "</script><script>window.pwned=1</script><img src=x onerror=window.pwned=2>"
    drawing = Drawing()
    drawing.add(Node("a", "leaf", name=hostile, notes=["<b>bold?</b> & \\N"]))
    drawing.add(Node("b", "output", name="out"))
    drawing.connect("a", "b")
    html = to_html(render(drawing, Style()), title=hostile)
    assert html.lower().count("<script") == 3  # pan-zoom, the Graphviz module, ours
    open_offline(page, html, tmp_path)
    assert page.get_attribute("body", "data-state") == "ready", page.inner_text("#message")
    assert page.evaluate("window.pwned") is None
    assert page.title() == hostile
    text = page.inner_text("#graph")
    assert hostile in text.replace("\n", "")
    assert "<b>bold?</b> & \\N" in text
    assert page.locator("#graph svg g.node").count() == 3


def test_html_export_zooms_with_the_plain_wheel(page, tmp_path):
    """The exported page is the graph alone, with no page around it to scroll, so the
    plain wheel zooms there (inside the app it scrolls the app until asked to zoom)."""
    open_offline(page, to_html(to_dot(run_program(BCE, isolate=False))), tmp_path)
    assert page.get_attribute("body", "data-state") == "ready", page.inner_text("#message")
    assert page.inner_text("#hint") == "Drag to move, scroll to zoom"
    before = page.evaluate("window.graphView.getZoom()")
    page.mouse.move(600, 450)
    page.mouse.wheel(0, -200)
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    assert page.evaluate("window.graphView.getZoom()") > before * 1.2
