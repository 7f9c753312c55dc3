"""The Playground with a program that trains: the Training panel's numbers against plain
torch, and the step picker changing the graph (Streamlit's AppTest)."""

from __future__ import annotations

import json

import pytest

from engine.running.summary import format_number
from tests.apptest_tools import dot, numbers, plotly_array, start, table
from tests.test_training import neuron_loop, plain_neuron
from ui.share import PlaygroundState, to_query
from ui.training.panel import TRAIN_STEP_KEY

pytestmark = pytest.mark.usefixtures("fresh_caches")
STEPS, LR = 12, 0.5


def training_chart(at) -> dict:
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return next(c for c in charts if c["layout"].get("yaxis3"))


def opened(train_step: int | None = None):
    at = start(to_query(PlaygroundState(code=neuron_loop(STEPS, LR), values={},
                                        train_step=train_step)))
    assert not at.exception, at.exception
    return at


def test_the_panel_draws_plain_torchs_steps():
    at = opened()
    want = plain_neuron(STEPS, LR)
    assert "Training" in [s.value for s in at.subheader]
    chart = training_chart(at)
    by_name = {trace["name"]: plotly_array(trace["y"]) for trace in chart["data"]}
    assert list(by_name["loss"]) == pytest.approx([s["loss"] for s in want], rel=1e-6)
    assert list(by_name["w"]) == pytest.approx([s["w"] for s in want], rel=1e-6, abs=1e-7)
    assert list(by_name["b.grad"]) == pytest.approx([s["b.grad"] for s in want], rel=1e-6)
    # one step axis: every trace on the x axis, each chart on its own y axis
    assert {trace.get("xaxis", "x") for trace in chart["data"]} == {"x"}
    assert {trace["yaxis"] for trace in chart["data"]} == {"y", "y2", "y3"}
    assert "steps 1 to 12" in at.get("plotly_chart")[0].proto.alt
    # the chosen step's table: the last step by default
    shown = table(at, next(i for i, t in enumerate(at.table)
                       if "name" in t.value.columns))
    row = dict(zip(shown["name"], numbers(shown["value"]), strict=True))
    assert row["loss"] == pytest.approx(want[-1]["loss"], rel=1e-3)


def test_the_step_picker_changes_the_graph_and_the_link():
    at = opened()
    picker = at.slider(key=TRAIN_STEP_KEY)
    assert (picker.min, picker.max, picker.value) == (1, STEPS, STEPS)
    last = dot(at)
    picker.set_value(3).run()
    assert not at.exception
    want = plain_neuron(STEPS, LR)[2]
    third = dot(at)
    assert third != last
    for number in (want["w"], want["b"], want["w.grad"], want["loss"]):
        assert format_number(number) in third
    assert at.query_params.get("tstep") in (["3"], "3")
    assert any("call 3's" in c.value for c in at.caption)
    # the link opens on the same step, with the same graph
    assert dot(opened(train_step=3)) == third


def test_a_program_without_a_loop_has_no_training_panel():
    at = start(to_query(PlaygroundState()))
    assert "Training" not in [s.value for s in at.subheader]
    assert not [s for s in at.slider if s.key == TRAIN_STEP_KEY]


def test_a_loop_with_fewer_steps_after_an_edit_draws_its_own_last_step():
    """The page asks the engine for the previous run's last call (12); the edited loop
    stops at 7 and at 20: the graph is still each one's last step, as plain torch has it."""
    at = opened()
    for steps in (7, 20):
        at.text_area(key="pg_code").set_value(neuron_loop(steps, LR)).run()
        assert not at.exception
        want = plain_neuron(steps, LR)[-1]
        drawn = dot(at)
        for number in (want["w"], want["b"], want["w.grad"], want["loss"]):
            assert format_number(number) in drawn
        assert any("the last one's" in c.value for c in at.caption)
