"""Descend in real Chromium: switched on and steered from the widgets, it takes the steps
plain torch's optimizers take, says when they diverge (above the chart), keeps all of it
in the link, and draws the path on the landscape where plain torch puts it.

Every expected number comes from torch run in this test: ``torch.optim.SGD``/``Adam`` on a
fresh ``x``, and the logistic neuron's loop and BCE loss written out by hand.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import torch
import torch.nn.functional as F
from playwright.sync_api import Page, expect

from tests.e2e.driver import (
    RUN_TIMEOUT_MS,
    choose,
    chosen,
    is_on,
    open_app,
    plots,
    set_number,
    switch,
)
from tests.test_training import XS, YS, neuron_loop, plain_neuron
from ui.share import PlaygroundState, query_string

PROGRAM, START, STEPS = "y = x**2", 2.0, 20  # Descend's default: 20 steps
TOGGLE = "Descend: train the leaves by gradient descent"
STEP_AXIS = "step (backward() call)"
WARNING = "[data-testid='stAlertContentWarning']"
SUCCESS = "[data-testid='stAlertContentSuccess']"


def plain_descent(lr: float, optimizer: str = "sgd", steps: int = STEPS) -> list[dict]:
    """``y = x**2`` from x = 2 with torch's own optimizer: per step x and y as that
    backward() saw them (before the update) and x.grad."""
    x = torch.tensor(START, requires_grad=True)
    make = {"sgd": lambda: torch.optim.SGD([x], lr=lr),
            "adam": lambda: torch.optim.Adam([x], lr=lr)}[optimizer]
    opt = make()
    seen = []
    for _ in range(steps):
        opt.zero_grad()
        y = x**2
        y.backward()
        seen.append({"x": x.item(), "y": y.item(), "x.grad": x.grad.item()})
        opt.step()
    return seen


def training_traces(page: Page, count: int = 2, before: list | None = None) -> dict:
    """The Training chart's traces by name. With ``before`` (the loss trace's y of the
    last read), wait until plotly.js has drawn a different one: a rerun has finished on
    the server a moment before the browser redraws the figure."""
    if before is not None:
        page.wait_for_function(
            """([axis, old]) => [...document.querySelectorAll(
                   "[data-testid='stPlotlyChart'] .js-plotly-plot")].some(g =>
                g.layout?.xaxis?.title?.text === axis && g._fullData &&
                JSON.stringify(Array.from(g._fullData[0].y)) !== JSON.stringify(old))""",
            arg=[STEP_AXIS, before], timeout=60_000)
    found = [p for p in plots(page, count) if p["xaxis"] == STEP_AXIS]
    assert len(found) == 1, [p["xaxis"] for p in plots(page, count)]
    return {t["name"]: t for t in found[0]["traces"]}


def assert_steps_match(traces: dict, want: list[dict]) -> None:
    assert traces["y"]["x"] == list(range(1, len(want) + 1))
    for name in ("y", "x", "x.grad"):
        assert traces[name]["y"] == pytest.approx([s[name] for s in want], rel=1e-6), name


def first_step_staying_above(losses: list[float]) -> int:
    """The step from which every loss is above the first one."""
    k = len(losses)
    while k > 1 and losses[k - 1] > losses[0]:
        k -= 1
    return k + 1


def verdict_is_above_the_chart(page: Page, box: str) -> None:
    verdict = page.locator(box).first.bounding_box()
    chart = page.locator("[data-testid='stPlotlyChart']").first.bounding_box()
    assert verdict is not None and chart is not None
    assert verdict["y"] + verdict["height"] <= chart["y"]


def test_descend_from_the_widgets_diverges_then_converges(server, page, browser):
    state = PlaygroundState(code=PROGRAM, values={"x": str(START)})
    open_app(page, f"{server}/?{query_string(state)}")
    assert not is_on(page, TOGGLE)
    assert page.get_by_role("heading", name="Training").count() == 0
    switch(page, TOGGLE)
    assert is_on(page, TOGGLE)
    assert "descend=sgd" in page.url
    set_number(page, "Learning rate", 1.5)

    # the page says it diverged, naming the learning rate, above the chart
    want = plain_descent(1.5)
    warning = page.locator(WARNING)
    expect(warning).to_have_count(1, timeout=RUN_TIMEOUT_MS)  # after the run, however busy
    text = warning.inner_text()
    assert "the learning rate 1.5 is so large" in text, text
    step = first_step_staying_above([s["y"] for s in want])
    assert f"From step {step} the loss stays above where it started" in text, text
    assert page.locator(SUCCESS).count() == 0
    verdict_is_above_the_chart(page, WARNING)
    traces = training_traces(page)
    assert_steps_match(traces, want)
    # the loop it ran is the one it shows
    page.get_by_text("The loop Descend wrote and runs").click()
    expect(page.locator("[data-testid='stExpander'] code")).to_contain_text(
        "torch.optim.SGD([x], lr=1.5)")

    # the link holds the descent; a new browser (its own session) shows the same warning
    query = parse_qs(urlsplit(page.url).query)
    assert query["descend"] == ["sgd"] and query["dlr"] == ["1.5"], page.url
    assert query["dsteps"] == [str(STEPS)]
    other = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    try:
        open_app(other, page.url)
        assert is_on(other, TOGGLE)
        expect(other.locator(WARNING)).to_contain_text("the learning rate 1.5 is so large",
                                                       timeout=RUN_TIMEOUT_MS)
        assert other.locator(WARNING).inner_text() == text
        assert_steps_match(training_traces(other), want)
    finally:
        other.context.close()

    # a small learning rate converges, and the steps are torch's again
    set_number(page, "Learning rate", 0.1)
    want = plain_descent(0.1)
    success = page.locator(SUCCESS)
    expect(success).to_have_count(1, timeout=RUN_TIMEOUT_MS)
    assert "the descent is converging" in success.inner_text()
    assert page.locator(WARNING).count() == 0
    verdict_is_above_the_chart(page, SUCCESS)
    assert_steps_match(training_traces(page, before=traces["y"]["y"]), want)
    assert "dlr=0.1" in page.url


def test_adam_picked_with_the_mouse_takes_torchs_steps(server, page):
    state = PlaygroundState(code=PROGRAM, values={"x": str(START)}, descend="sgd",
                            descend_lr=0.5)
    open_app(page, f"{server}/?{query_string(state)}")
    before = training_traces(page)
    assert_steps_match(before, plain_descent(0.5))
    choose(page, "Optimizer", "Adam")
    assert_steps_match(training_traces(page, before=before["y"]["y"]),
                       plain_descent(0.5, "adam"))
    assert "descend=adam" in page.url


def test_the_marble_sits_where_torch_puts_each_step(server, page):
    state = PlaygroundState(code=PROGRAM, values={"x": str(START)}, descend="sgd",
                            descend_lr=0.3)
    open_app(page, f"{server}/?{query_string(state)}")
    want = plain_descent(0.3)
    marble = next(p for p in plots(page, 2) if p["xaxis"] == "x")
    traces = {t["name"]: t for t in marble["traces"]}
    curve = traces["y(x)"]  # x is the only leaf: no other parameters to hold
    xs = torch.tensor(curve["x"], dtype=torch.float32)
    assert curve["y"] == pytest.approx((xs**2).tolist(), rel=1e-6)
    path = traces["each step"]
    assert path["x"] == pytest.approx([s["x"] for s in want], rel=1e-6, abs=1e-12)
    assert path["y"] == pytest.approx([s["y"] for s in want], rel=1e-6, abs=1e-12)


def contour(page: Page) -> dict:
    """The contour map's grid (x, y, z rows) and each scatter trace's points."""
    plots(page, 2)
    return page.evaluate("""() => {
        const g = [...document.querySelectorAll("[data-testid='stPlotlyChart'] .js-plotly-plot")]
            .find(g => g._fullData?.some(t => t.type === 'contour'));
        if (!g) return null;
        const grid = g._fullData.find(t => t.type === 'contour');
        return {title: g.layout?.title?.text ?? '',
                x: Array.from(grid.x), y: Array.from(grid.y),
                z: Array.from(grid.z, row => Array.from(row)),
                traces: Object.fromEntries(g._fullData.filter(t => t.type === 'scatter')
                    .map(t => [t.name, {x: Array.from(t.x), y: Array.from(t.y)}]))};
    }""")


def bce(w: float, b: float) -> float:
    """The neuron's loss at (w, b), in float32 as the run computes it."""
    xs, ys = torch.tensor(XS), torch.tensor(YS)
    w_, b_ = torch.tensor(w, dtype=torch.float32), torch.tensor(b, dtype=torch.float32)
    return F.binary_cross_entropy(torch.sigmoid(w_ * xs + b_), ys).item()


def test_the_neuron_path_crosses_torchs_contours(server, page):
    steps, lr = 60, 0.5
    state = PlaygroundState(code=neuron_loop(steps, lr), values={})
    open_app(page, f"{server}/?{query_string(state)}")
    drawn = contour(page)
    assert drawn is not None, "no contour map drawn"
    assert chosen(page, "Landscape over") == ["w", "b"]  # two parameters: the default
    assert "loss over w and b" in drawn["title"]
    xs, ys, z = drawn["x"], drawn["y"], drawn["z"]
    assert len(z) == len(ys) and all(len(row) == len(xs) for row in z)
    n, m = len(ys), len(xs)
    for i, j in [(0, 0), (0, m - 1), (n - 1, 0), (n - 1, m - 1), (n // 2, m // 2),
                 (n // 3, 2 * m // 3), (7, 29)]:
        assert z[i][j] == pytest.approx(bce(xs[j], ys[i]), rel=1e-5), (i, j)
    want = plain_neuron(steps, lr)
    path = drawn["traces"]["each step"]
    assert path["x"] == pytest.approx([s["w"] for s in want], rel=1e-6, abs=1e-7)
    assert path["y"] == pytest.approx([s["b"] for s in want], rel=1e-6, abs=1e-7)
    marked = drawn["traces"][f"step {steps}"]
    assert (marked["x"][0], marked["y"][0]) == pytest.approx(
        (want[-1]["w"], want[-1]["b"]), rel=1e-6)
    # the whole path lies inside the map
    assert min(xs) <= min(path["x"]) and max(path["x"]) <= max(xs)
    assert min(ys) <= min(path["y"]) and max(path["y"]) <= max(ys)
