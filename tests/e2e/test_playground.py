"""The Playground in real Chromium, as a learner uses it: type a program, run it, switch on
no_grad, detach a variable, plot against another input. Every number read from the drawn
graph, the grads table and the plots is compared with plain torch run here and with the
derivative worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tests.e2e.driver import (
    choose,
    chosen,
    errors,
    is_on,
    node,
    open_app,
    plots,
    set_program,
    set_text,
    switch,
    table,
    tooltip_value,
    wait_for_graph,
)

CUBE = "y = x**2\nz = y * x"
NO_GRAD = "Run the whole program under torch.no_grad()"
DETACH = "Detach these variables where they are assigned"


def torch_cube(x: float, *, no_grad: bool = False, detach_y: bool = False):
    """The same program in plain torch: (z, x.grad)."""
    x_t = torch.tensor(x, requires_grad=True)
    with torch.set_grad_enabled(not no_grad):
        y = x_t**2
        if detach_y:
            y = y.detach()
        z = y * x_t
    if z.requires_grad:
        z.backward()
    return float(z.detach()), None if x_t.grad is None else float(x_t.grad)


def grads_row(page, name: str) -> dict[str, str]:
    rows = [row for row in table(page) if row["tensor"] == name]
    assert len(rows) == 1, table(page)
    return rows[0]


@pytest.fixture
def cube(server, page):
    """The Playground with ``y = x**2; z = y * x`` typed in and x set to 3."""
    open_app(page, server)
    set_program(page, CUBE)
    set_text(page, "x", "3")
    wait_for_graph(page, "value 27")
    return page


def test_typed_program_draws_its_graph_and_grads(cube):
    z, x_grad = torch_cube(3.0)
    assert (z, x_grad) == (27.0, 27.0) == (3.0**3, 3 * 3.0**2)  # z = x³, dz/dx = 3x²
    assert tooltip_value(node(cube, "z"), "value") == z
    assert tooltip_value(node(cube, "y"), "value") == 9
    assert tooltip_value(node(cube, "x"), "grad") == x_grad
    assert not any(n["dashed"] for n in (node(cube, "x"), node(cube, "y"), node(cube, "z")))
    row = grads_row(cube, "x")
    assert float(row[".grad (autograd)"]) == x_grad and float(row["by hand"]) == 27
    assert errors(cube) == []


def test_no_grad_then_detach_change_graph_and_grads_as_torch_says(cube):
    switch(cube, NO_GRAD)
    wait_for_graph(cube, "no_grad switch is on")
    z, x_grad = torch_cube(3.0, no_grad=True)
    assert x_grad is None  # torch: nothing recorded, so no .grad
    assert node(cube, "y")["dashed"] and node(cube, "z")["dashed"]
    assert tooltip_value(node(cube, "z"), "value") == z == 27
    assert grads_row(cube, "x")[".grad (autograd)"] == "None"
    warnings = cube.locator("[data-testid='stAlertContentWarning']").all_inner_texts()
    assert any("no_grad" in w for w in warnings), warnings

    switch(cube, NO_GRAD)
    choose(cube, DETACH, "y")
    wait_for_graph(cube, ".grad 9")
    assert not is_on(cube, NO_GRAD) and chosen(cube, DETACH) == ["y"]
    z, x_grad = torch_cube(3.0, detach_y=True)
    assert x_grad == 9.0 == 3.0**2  # y is a constant now: dz/dx = y
    assert node(cube, "y")["dashed"] and not node(cube, "z")["dashed"]
    assert tooltip_value(node(cube, "x"), "grad") == x_grad
    row = grads_row(cube, "x")
    assert float(row[".grad (autograd)"]) == x_grad
    assert float(row["by hand"]) == 27  # the textbook's 3x²: the page shows where they part


def test_picking_another_plotted_input_redraws_the_curves(server, page):
    open_app(page, server)
    set_program(page, "z = torch.sin(w * x)")
    set_text(page, "w", "0.5")
    set_text(page, "x", "3")
    wait_for_graph(page, "value 0.9975")  # sin(1.5)
    choose(page, "With respect to", "w")
    page.wait_for_function("""() => [...document.querySelectorAll(
        "[data-testid='stPlotlyChart'] .js-plotly-plot")].some(
        g => (g.layout?.title?.text ?? '').includes('dz/dw'))""")
    function, derivative = plots(page, 2)
    assert "w" in function["xaxis"] and "dz/dw" in derivative["title"]
    curve = next(t for t in function["traces"] if t["name"] == "z(w)")
    ws = np.asarray(curve["x"])
    assert ws.min() < 0.5 < ws.max() and len(ws) > 100
    assert curve["y"] == pytest.approx(np.sin(ws * 3), abs=1e-6)
    autograd = next(t for t in derivative["traces"] if t["name"] == "autograd")
    assert autograd["x"] == pytest.approx(ws)
    assert autograd["y"] == pytest.approx(3 * np.cos(ws * 3), abs=1e-5)  # d/dw sin(3w)
    point = next(t for t in derivative["traces"] if t["name"].startswith("w.grad"))
    assert point["x"] == [0.5] and point["y"][0] == pytest.approx(3 * math.cos(1.5), abs=1e-6)
