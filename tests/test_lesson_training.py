"""AppTest: lesson 7, "The training loop".

Every expected number comes from plain torch run here (the same neuron and points, the
loop written out by hand, torch.optim.SGD, the loop without zero_()) or from the
derivative by hand; never from the page's own output.
"""

from __future__ import annotations

import json
import math
from typing import Any

import plotly.graph_objects as go
import pytest
import torch
import torch.nn.functional as F
from streamlit.testing.v1 import AppTest

from engine.running.summary import format_number
from tests.apptest_tools import dot, numbers, open_page, plotly_array
from tests.apptest_tools import table as read_table
from ui.training import lesson

pytestmark = pytest.mark.usefixtures("fresh_caches")

XS = [0.5, 1.5, 2.0, 3.0, 3.5, 4.5]
YS = [0.0, 0.0, 1.0, 0.0, 1.0, 1.0]
F32 = {"rel": 1e-6, "abs": 1e-7}  # the page's float32 numbers against plain torch's
SHOWN = {"rel": 1e-3, "abs": 1e-4}  # numbers shown to 4 significant digits
TORCH_REFUSAL = "a leaf Variable that requires grad is being used in an in-place operation"


# --- plain torch ------------------------------------------------------------------------

def plain_loop(lr: float, steps: int, *, zero: bool = True, sgd: bool = False,
               ) -> dict[str, Any]:
    """The loop in plain torch: per step the loss, w, b (before the update) and .grad
    (after that backward), the fresh gradient at that w, b, and the final w, b."""
    xs, ys = torch.tensor(XS), torch.tensor(YS)
    w = torch.tensor(0.0, requires_grad=True)
    b = torch.tensor(0.0, requires_grad=True)
    optimizer = torch.optim.SGD([w, b], lr=lr) if sgd else None
    seen: dict[str, list[float]] = {k: [] for k in ("loss", "w", "b", "w.grad", "b.grad",
                                                     "fresh w")}
    for _ in range(steps):
        loss = F.binary_cross_entropy(torch.sigmoid(w * xs + b), ys)
        fresh, = torch.autograd.grad(loss, w, retain_graph=True)
        if optimizer is not None:
            optimizer.zero_grad()
        loss.backward()
        for name, value in (("loss", loss), ("w", w), ("b", b), ("w.grad", w.grad),
                            ("b.grad", b.grad), ("fresh w", fresh)):
            seen[name].append(value.item())
        if optimizer is not None:
            optimizer.step()
            continue
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        if zero:
            w.grad.zero_()
            b.grad.zero_()
    return seen | {"final w": w.item(), "final b": b.item()}


def plain_passes(lr: float, zero: bool) -> dict[str, float]:
    """Parts 1 to 3 in plain torch: one pass, one update, (zero_()), a second pass."""
    xs, ys = torch.tensor(XS), torch.tensor(YS)
    w = torch.tensor(0.0, requires_grad=True)
    b = torch.tensor(0.0, requires_grad=True)
    loss = F.binary_cross_entropy(torch.sigmoid(w * xs + b), ys)
    loss.backward()
    out = {"loss": loss.item(), "w.grad": w.grad.item(), "b.grad": b.grad.item()}
    with torch.no_grad():
        w -= lr * w.grad
        b -= lr * b.grad
    out |= {"w after": w.item(), "b after": b.item()}
    if zero:
        w.grad.zero_()
        b.grad.zero_()
    loss = F.binary_cross_entropy(torch.sigmoid(w * xs + b), ys)
    out["loss after"] = loss.item()
    loss.backward()
    return out | {"w.grad 2": w.grad.item(), "b.grad 2": b.grad.item()}


def hand_gradient(w: float, b: float) -> tuple[float, float]:
    """dL/dw and dL/db of the mean BCE by hand: mean((p - y) x) and mean(p - y)."""
    ps = [1 / (1 + math.exp(-(w * x + b))) for x in XS]
    n = len(XS)
    return (sum((p - y) * x for p, y, x in zip(ps, YS, XS)) / n,
            sum(p - y for p, y in zip(ps, YS)) / n)


# --- reading the page -------------------------------------------------------------------

def opened(lr: float | None = None, steps: int | None = None) -> AppTest:
    at = open_page("training_loop")
    if lr is not None:
        at.select_slider(key="loop_lr").set_value(lr)
    if steps is not None:
        at.slider(key="loop_steps").set_value(steps)
    if lr is not None or steps is not None:
        at.run()
    assert not at.exception, at.exception
    return at


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def by_hand(at: AppTest, label: str) -> float:
    """The "by hand N" under a metric."""
    delta = next(m.proto.delta for m in at.metric if m.label == label)
    assert delta.startswith("by hand ")
    return float(delta.removeprefix("by hand "))


def charts(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def chart(at: AppTest, key: str) -> dict[str, Any]:
    """A chart by its Streamlit key (the page gives every chart one)."""
    found = next(c for c in at.get("plotly_chart") if c.proto.id.endswith(f"-{key}"))
    return json.loads(found.proto.spec)


def trace(figure: dict[str, Any], name: str, axis: str = "y") -> list[float]:
    found = next(t for t in figure["data"] if t["name"] == name
                 and t.get("yaxis", "y") == axis)
    return [math.nan if v is None else float(v) for v in plotly_array_or_list(found["y"])]


def plotly_array_or_list(data: object) -> list[float | None]:
    if isinstance(data, list):
        return data
    return plotly_array(data).tolist()


def training_chart(at: AppTest) -> dict[str, Any]:
    """The shared Training panel's figure: the one with three stacked y axes."""
    return next(c for c in charts(at) if c["layout"].get("yaxis3"))


def text(at: AppTest) -> str:
    return "\n".join([m.value for m in at.markdown] + [e.value for e in at.error]
                     + [e.value for e in at.info] + [e.value for e in at.success]
                     + [e.value for e in at.warning])


# --- the page ---------------------------------------------------------------------------

def test_the_page_runs_and_shows_its_programs_and_parts():
    at = opened()
    headings = [s.value for s in at.subheader]
    assert headings[:5] == ["1. One forward and one backward pass",
                            "2. One update, under torch.no_grad()",
                            "3. zero_() before the next pass", "4. The loop",
                            "5. The same with torch.optim.SGD"]
    code = [c.value for c in at.code]
    assert all("xs = torch.tensor([0.5, 1.5, 2.0, 3.0, 3.5, 4.5])" in c for c in code[:7])
    assert sum("for step in range(50):" in c for c in code) == 4  # loop, SGD, (a), (b)
    assert any("optimizer = torch.optim.SGD([w, b], lr=lr)" in c for c in code)


def test_one_pass_equals_plain_torch_and_the_chain_rule():
    at = opened()
    want = plain_passes(0.5, True)
    hand_w, hand_b = hand_gradient(0.0, 0.0)
    assert hand_w == pytest.approx(want["w.grad"], **F32)  # the reference agrees with itself
    assert metric(at, "loss") == format_number(want["loss"])
    assert metric(at, "w.grad") == format_number(want["w.grad"])
    assert metric(at, "b.grad") == format_number(want["b.grad"])
    assert by_hand(at, "loss") == pytest.approx(math.log(2), **SHOWN)
    assert by_hand(at, "w.grad") == pytest.approx(hand_w, **SHOWN)
    assert by_hand(at, "b.grad") == pytest.approx(hand_b, abs=1e-12)
    graph = dot(at)
    assert "<B>w</B>" in graph and "<B>loss</B>" in graph
    assert f".grad {format_number(want['w.grad'])}" in graph


@pytest.mark.parametrize("lr", [0.5, 0.1, 5.0])
def test_one_update_equals_plain_torch(lr: float):
    at = opened(lr=lr)
    want = plain_passes(lr, True)
    assert "lr = " + format_number(lr) in at.code[1].value
    assert metric(at, "loss before") == format_number(want["loss"])
    assert metric(at, "loss after") == format_number(want["loss after"])
    assert metric(at, "w after") == format_number(want["w after"])
    assert metric(at, "b after") == format_number(want["b after"])
    hand_w, _ = hand_gradient(0.0, 0.0)
    assert by_hand(at, "w after") == pytest.approx(-lr * hand_w, **SHOWN)
    went_up = want["loss after"] > want["loss"]
    assert ("went **up**" in text(at)) == went_up
    assert ("lowered the loss" in text(at)) == (not went_up)


@pytest.mark.parametrize("zero", [True, False])
@pytest.mark.parametrize("lr", [0.5, 2.0])
def test_zero_before_the_second_pass(zero: bool, lr: float):
    at = opened(lr=lr)
    at.toggle(key="loop_zero").set_value(zero).run()
    assert not at.exception
    want = plain_passes(lr, zero)
    assert ("w.grad.zero_()" in at.code[2].value) == zero
    assert metric(at, "w.grad after the 2nd backward()") == format_number(want["w.grad 2"])
    assert metric(at, "b.grad after the 2nd backward()") == format_number(want["b.grad 2"])
    fresh_w, fresh_b = hand_gradient(want["w after"], want["b after"])
    first_w, first_b = hand_gradient(0.0, 0.0)
    expected = fresh_w if zero else fresh_w + first_w
    assert want["w.grad 2"] == pytest.approx(expected, rel=1e-5, abs=1e-6)
    assert by_hand(at, "w.grad after the 2nd backward()") == pytest.approx(expected, **SHOWN)
    assert by_hand(at, "b.grad after the 2nd backward()") == pytest.approx(
        fresh_b if zero else fresh_b + first_b, **SHOWN)
    table = read_table(at, 0)
    assert numbers(table["w.grad (autograd)"]) == pytest.approx(
        [want["w.grad"], want["w.grad 2"]], **SHOWN)


@pytest.mark.parametrize(("lr", "steps"), [(0.5, 50), (0.1, 30), (2.0, 200)])
def test_the_loop_equals_plain_torch(lr: float, steps: int):
    at = opened(lr=lr, steps=steps)
    want = plain_loop(lr, steps)
    figure = training_chart(at)
    assert trace(figure, "loss") == pytest.approx(want["loss"], **F32)
    assert trace(figure, "w", "y2") == pytest.approx(want["w"], **F32)
    assert trace(figure, "b", "y2") == pytest.approx(want["b"], **F32)
    assert trace(figure, "w.grad", "y3") == pytest.approx(want["w.grad"], **F32)
    assert metric(at, "loss, step 1") == format_number(want["loss"][0])
    assert metric(at, f"loss, step {steps}") == format_number(want["loss"][-1])
    assert metric(at, "final w") == format_number(want["final w"])
    assert metric(at, "final b") == format_number(want["final b"])
    # the fitted curve is sigmoid(w x + b) with torch's final w and b
    fit = chart(at, "loop_fit")
    curve = next(t for t in fit["data"] if t["name"].startswith("p(x) = sigmoid("))
    xs, ps = plotly_array(curve["x"]), plotly_array(curve["y"])
    w, b = want["final w"], want["final b"]
    for x, p in list(zip(xs, ps))[::40]:
        assert p == pytest.approx(1 / (1 + math.exp(-(w * x + b))), rel=1e-6)
    points = next(t for t in fit["data"] if t["name"] == "the points (x, label)")
    assert list(plotly_array(points["x"])) == XS and list(plotly_array(points["y"])) == YS


@pytest.mark.parametrize(("lr", "exact"), [(0.5, True), (0.1, False)])
def test_sgd_equals_the_loop_by_hand(lr: float, exact: bool):
    at = opened(lr=lr, steps=60)
    manual, sgd = plain_loop(lr, 60), plain_loop(lr, 60, sgd=True)
    figure = chart(at, "loop_sgd_chart")
    shown_manual = trace(figure, "by hand (part 4)")
    shown_sgd = trace(figure, "torch.optim.SGD")
    assert shown_manual == pytest.approx(manual["loss"], **F32)
    assert shown_sgd == pytest.approx(sgd["loss"], **F32)
    assert shown_sgd == pytest.approx(shown_manual, **F32)  # the same loop, two ways
    gaps = [abs(a - b) for a, b in zip(manual["loss"], sgd["loss"])]
    assert (max(gaps) == 0) == exact  # plain torch: bit-equal exactly when lr is 2^k
    assert metric(at, "largest difference in loss") == format_number(max(gaps))
    assert metric(at, "final w (SGD)") == format_number(sgd["final w"])
    if exact:
        assert "All 60 losses are the same float32 numbers" in text(at)
    else:
        first = next(i for i, gap in enumerate(gaps) if gap) + 1
        assert f"first differ at step {first}, by {format_number(gaps[first - 1])}" in text(at)
        assert max(gaps) < 1e-6


@pytest.mark.parametrize(("lr", "steps"), [(0.5, 50), (1.0, 12)])
def test_forgetting_zero_piles_gradients_up(lr: float, steps: int):
    at = opened(lr=lr, steps=steps)
    piled, clean = plain_loop(lr, steps, zero=False), plain_loop(lr, steps)
    # plain torch: without zero_(), .grad is the running sum of the fresh gradients
    for k in range(steps):
        assert piled["w.grad"][k] == pytest.approx(math.fsum(piled["fresh w"][:k + 1]),
                                                   rel=1e-5, abs=1e-6)
    figure = chart(at, "loop_nozero_chart")
    assert trace(figure, "without zero_()") == pytest.approx(piled["loss"], **F32)
    assert trace(figure, "with zero_()") == pytest.approx(clean["loss"], **F32)
    assert trace(figure, "without zero_()", "y2") == pytest.approx(piled["w"], **F32)
    table = read_table(at, 1)
    shown = min(10, steps)
    assert numbers(table["step"]) == list(range(1, shown + 1))
    assert numbers(table["w.grad (autograd)"]) == pytest.approx(piled["w.grad"][:shown],
                                                                **SHOWN)
    running = [math.fsum(piled["fresh w"][:k + 1]) for k in range(shown)]
    assert numbers(table["sum of dL/dw so far (by hand)"]) == pytest.approx(running, **SHOWN)
    assert numbers(table["dL/dw at this w, b (by hand)"]) == pytest.approx(piled["fresh w"][:shown],
                                                                   **SHOWN)
    words = text(at)
    assert (f"By step {shown}, `w.grad` holds the sum of all {shown} gradients computed so "
            f"far, {format_number(piled['w.grad'][shown - 1])}") in words
    low = min(range(steps), key=lambda i: piled["loss"][i])
    high = max(range(low, steps), key=lambda i: piled["loss"][i])
    if piled["loss"][high] > piled["loss"][low] + 1e-3:
        assert (f"lowest at step {low + 1} ({format_number(piled['loss'][low])}) and "
                f"climbed back to {format_number(piled['loss'][high])}") in words


def test_updating_outside_no_grad_shows_torchs_refusal_and_why():
    with pytest.raises(RuntimeError, match=TORCH_REFUSAL):  # plain torch refuses too
        w = torch.tensor(0.0, requires_grad=True)
        w -= 0.5 * torch.tensor(1.0)
    at = opened()
    code = at.code[-2].value
    assert "    w -= lr * w.grad\n" in code and "no_grad" not in code
    line = code.splitlines().index("    w -= lr * w.grad") + 1  # the first update
    refusal = " ".join(e.value for e in at.error)
    assert TORCH_REFUSAL in refusal and f"line {line}, column 5" in refusal
    assert "with torch.no_grad():" in refusal
    why = next(m.value for m in at.markdown if m.value.startswith("**Why.**"))
    assert "leaf" in why and "grad_fn" in why and "not part of the model" in why
    caret = at.code[-1].value
    assert caret.startswith(f"{line} |     w -= lr * w.grad")


def test_the_sliders_change_the_numbers():
    at = opened()
    before = {m.label: m.value for m in at.metric}
    at.select_slider(key="loop_lr").set_value(0.2)
    at.slider(key="loop_steps").set_value(120).run()
    assert not at.exception
    after = {m.label: m.value for m in at.metric}
    want = plain_loop(0.2, 120)
    assert after["loss, step 120"] == format_number(want["loss"][-1])
    assert after["final w"] == format_number(want["final w"]) != before["final w"]
    assert after["w after"] != before["w after"]
    assert "for step in range(120):" in at.code[3].value and "lr = 0.2" in at.code[3].value
    assert len(training_chart(at)["data"][0]["x"]) == 120


def test_every_chart_is_described_in_words():
    at = opened()
    alts = [c.proto.alt for c in [*at.get("graphviz_chart"), *at.get("plotly_chart")]]
    assert len(alts) == 5 and all(alt.strip() for alt in alts)
    want = plain_loop(0.5, 50)
    w, b = want["final w"], want["final b"]
    fit_alt = next(a for a in alts if a.startswith("Line chart of p(x)"))
    assert f"crosses 0.5 at x = {format_number(-b / w)}" in fit_alt
    nozero = next(a for a in alts if "without zero_()" in a)
    assert f"step 50 {format_number(plain_loop(0.5, 50, zero=False)['loss'][-1])}" in nozero


@pytest.mark.parametrize(("key", "index"), [("loop_open_pass", 0), ("loop_open_loop", 3),
                                            ("loop_open_sgd", 4)])
def test_each_part_opens_in_the_playground(key: str, index: int):
    at = opened(lr=0.2, steps=20)
    code = at.code[index].value + "\n"  # st.code drops the program's last newline
    at.button(key=key).click().run()
    assert not at.exception
    assert at.text_area(key="pg_code").value == code
    if "for step in range(20):" in code:  # the Playground shows its Training panel
        assert trace(training_chart(at), "loss") == pytest.approx(
            plain_loop(0.2, 20, sgd="optimizer" in code)["loss"], **F32)


# --- the figures, validated by plotly ---------------------------------------------------

def test_the_figures_are_valid_plotly():
    go.Figure(lesson.fit_spec(1.2, -3.0))
    go.Figure(lesson.fit_spec(0.0, 0.0))  # no crossing to mark
    panels = [("loss", [lesson.Line("a", [0.7, 0.5, math.nan]), lesson.Line("b", [1, 2, 3])]),
              ("w", [lesson.Line("a", [0, 1, 2])])]
    figure = go.Figure(lesson.per_step_spec(panels, "t"))
    assert figure.layout.xaxis.domain[1] < figure.layout.xaxis2.domain[0]
    assert "no finite" not in lesson.describe_per_step(panels)


@pytest.mark.parametrize(("w", "b"), [(0.0, 0.0), (1.3, -3.2), (-2.0, 4.0)])
def test_by_hand_equals_torch_near_the_start(w: float, b: float):
    tw = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    loss = F.binary_cross_entropy(torch.sigmoid(tw * torch.tensor(XS, dtype=torch.float64)
                                                + tb), torch.tensor(YS, dtype=torch.float64))
    loss.backward()
    got = lesson.by_hand(w, b)
    assert (got.loss, got.dw, got.db) == pytest.approx(
        (loss.item(), tw.grad.item(), tb.grad.item()), rel=1e-12, abs=1e-14)
