"""A training loop in real Chromium: the Training panel draws the steps plain torch takes,
and the step picker, worked from the keyboard, changes the graph and the link."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from engine.running.summary import format_number
from tests.e2e.driver import node, open_app, plots, rerun, tooltip_value, wait_for_graph
from tests.test_training import neuron_loop, plain_neuron
from ui.share import PlaygroundState, query_string

STEPS, LR = 30, 0.5
STEP_AXIS = "step (backward() call)"


def training_plot(page: Page) -> dict:
    found = [p for p in plots(page, 1) if p["xaxis"] == STEP_AXIS]
    assert len(found) == 1, [p["xaxis"] for p in plots(page, 1)]
    return found[0]


def picker(page: Page):
    return page.locator("[data-testid='stSlider']").filter(
        has_text="Training step").get_by_role("slider")


@pytest.fixture
def loop(server, page):
    state = PlaygroundState(code=neuron_loop(STEPS, LR), values={})
    open_app(page, f"{server}/?{query_string(state)}")
    wait_for_graph(page)
    return page


def test_the_panel_draws_the_steps_plain_torch_takes(loop):
    want = plain_neuron(STEPS, LR)
    traces = {t["name"]: t for t in training_plot(loop)["traces"]}
    assert traces["loss"]["x"] == list(range(1, STEPS + 1))
    assert traces["loss"]["y"] == pytest.approx([s["loss"] for s in want], rel=1e-6)
    assert traces["w"]["y"] == pytest.approx([s["w"] for s in want], rel=1e-6, abs=1e-7)
    assert traces["b.grad"]["y"] == pytest.approx([s["b.grad"] for s in want], rel=1e-6)
    # the graph shows the last step as it ran: w before its update, the grad it got
    w = node(loop, "w")
    assert tooltip_value(w, "value") == pytest.approx(want[-1]["w"], rel=1e-6)
    assert tooltip_value(w, "grad") == pytest.approx(want[-1]["w.grad"], rel=1e-6)


def test_the_step_picker_works_from_the_keyboard(loop):
    want = plain_neuron(STEPS, LR)
    thumb = picker(loop)
    expect(thumb).to_have_value(str(STEPS))
    thumb.focus()
    with rerun(loop):
        loop.keyboard.press("Home")
    expect(thumb).to_have_value("1")
    wait_for_graph(loop, f"value {format_number(want[0]['loss'])}")
    w = node(loop, "w")
    assert tooltip_value(w, "value") == 0.0
    assert tooltip_value(w, "grad") == pytest.approx(want[0]["w.grad"], rel=1e-6)
    assert "tstep=1" in loop.url
    with rerun(loop):
        loop.keyboard.press("ArrowRight")
    expect(thumb).to_have_value("2")
    wait_for_graph(loop, f"value {format_number(want[1]['loss'])}")
    assert "tstep=2" in loop.url
