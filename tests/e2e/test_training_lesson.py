"""Lesson 7 in real Chromium: both mistakes are on the page and explained, with the numbers
plain torch gives for the same loops, and they follow the Steps slider moved from the
keyboard. (tests/e2e/test_pages.py already checks that the page draws its graph, its four
plots and its one error box, and the first pass's w.grad.)"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from playwright.sync_api import Page, expect

from engine.running.summary import format_number
from tests.e2e.driver import errors, open_app, rerun, table

# The lesson's six points as its page prints them (two break the pattern), and its defaults.
XS = [0.5, 1.5, 2.0, 3.0, 3.5, 4.5]
YS = [0.0, 0.0, 1.0, 0.0, 1.0, 1.0]
LR, STEPS, SHOWN = 0.5, 50, 10  # the text about piling up reads step 10
LEAF_ERROR = "a leaf Variable that requires grad is being used in an in-place operation"


def main_text(page: Page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def piled_up(steps: int) -> dict[str, list[float]]:
    """The loop without zero_() in plain torch: per step the loss, w and w.grad (the sum so
    far), and the fresh dL/dw at that step's w and b (float64, like the lesson's by-hand
    formula)."""
    xs, ys = torch.tensor(XS), torch.tensor(YS)
    w = torch.tensor(0.0, requires_grad=True)
    b = torch.tensor(0.0, requires_grad=True)
    seen: dict[str, list[float]] = {"loss": [], "w": [], "grad": [], "fresh": []}
    for _ in range(steps):
        w64 = torch.tensor(w.item(), dtype=torch.float64, requires_grad=True)
        b64 = torch.tensor(b.item(), dtype=torch.float64)
        F.binary_cross_entropy(torch.sigmoid(w64 * xs.double() + b64), ys.double()).backward()
        loss = F.binary_cross_entropy(torch.sigmoid(w * xs + b), ys)
        loss.backward()
        seen["loss"].append(loss.item())
        seen["w"].append(w.item())
        seen["grad"].append(w.grad.item())
        seen["fresh"].append(w64.grad.item())
        with torch.no_grad():
            w -= LR * w.grad
            b -= LR * b.grad
    return seen


def with_zero(steps: int) -> list[float]:
    """The losses of the correct loop (zero_() every pass), in plain torch."""
    xs, ys = torch.tensor(XS), torch.tensor(YS)
    w = torch.tensor(0.0, requires_grad=True)
    b = torch.tensor(0.0, requires_grad=True)
    losses = []
    for _ in range(steps):
        loss = F.binary_cross_entropy(torch.sigmoid(w * xs + b), ys)
        loss.backward()
        losses.append(loss.item())
        with torch.no_grad():
            w -= LR * w.grad
            b -= LR * b.grad
        w.grad.zero_()
        b.grad.zero_()
    return losses


def torch_refuses_the_update() -> str:
    """What plain torch says to ``w -= lr * w.grad`` outside no_grad."""
    w = torch.tensor(0.0, requires_grad=True)
    F.binary_cross_entropy(torch.sigmoid(w * torch.tensor(XS)), torch.tensor(YS)).backward()
    with pytest.raises(RuntimeError) as raised:
        w -= LR * w.grad
    return str(raised.value)


def piling_table(page: Page) -> list[dict[str, str]]:
    """The table of part (a): w.grad beside the sum of the fresh gradients, per step."""
    expect(page.locator("[data-testid='stTable'] table").first).to_be_visible()
    found = [rows for index in range(page.locator("[data-testid='stTable'] table").count())
             if (rows := table(page, index)) and "sum of dL/dw so far (by hand)" in rows[0]]
    assert len(found) == 1
    return found[0]


def assert_piling_up_explained(page: Page, steps: int) -> None:
    run = piled_up(steps)
    g = format_number
    rows = piling_table(page)
    assert [row["step"] for row in rows] == [str(k) for k in range(1, SHOWN + 1)]
    assert [row["w"] for row in rows] == [g(w) for w in run["w"][:SHOWN]]
    assert [row["w.grad (autograd)"] for row in rows] == [g(v) for v in run["grad"][:SHOWN]]
    sums = [sum(run["fresh"][:k]) for k in range(1, SHOWN + 1)]
    assert [float(row["sum of dL/dw so far (by hand)"]) for row in rows] == pytest.approx(
        sums, rel=1e-3, abs=1e-4)  # four significant digits shown
    text = main_text(page)
    assert (f"By step {SHOWN}, w.grad holds the sum of all {SHOWN} gradients computed so far, "
            f"{g(run['grad'][SHOWN - 1])}, while the gradient at that step's w and b is "
            f"{g(run['fresh'][SHOWN - 1])}") in text
    assert "w overshoots and swings back and forth instead of settling" in text
    losses = run["loss"]
    low = min(range(steps), key=losses.__getitem__)
    high = max(range(low, steps), key=losses.__getitem__)
    assert (f"The loss was lowest at step {low + 1} ({g(losses[low])}) and climbed back to "
            f"{g(losses[high])} at step {high + 1}; with zero_() it ended at "
            f"{g(with_zero(steps)[-1])}.") in text


def test_lesson7_shows_and_explains_both_mistakes(server, page):
    open_app(page, f"{server}/training_loop")
    expect(page.get_by_role("heading", name="The training loop")).to_be_visible()
    expect(page.get_by_role("heading", name="Two mistakes to make once")).to_be_attached()

    # (a) no zero_(): w.grad is the running sum, and the loss climbs back
    expect(page.get_by_role("heading", name="(a) Forgetting zero_()")).to_be_attached()
    assert_piling_up_explained(page, STEPS)

    # (b) the update outside no_grad: torch's own refusal, at the update's line, explained
    expect(page.get_by_role("heading", name="(b) Updating outside torch.no_grad()")
           ).to_be_attached()
    assert LEAF_ERROR in torch_refuses_the_update()
    shown = errors(page)
    assert len(shown) == 1 and LEAF_ERROR in shown[0], shown
    assert "line 11" in shown[0] and "with torch.no_grad():" in shown[0]
    text = main_text(page)
    assert "What the engine says (torch raises this at the first update):" in text
    assert ("Recording the change would give w a history (a grad_fn), and it would no "
            "longer be the leaf .grad belongs to, so torch refuses.") in text


def test_the_mistakes_follow_the_steps_slider(server, page):
    open_app(page, f"{server}/training_loop")
    thumb = page.locator("[data-testid='stSlider']").filter(
        has_text="Steps (passes through the loop)").get_by_role("slider")
    expect(thumb).to_have_value(str(STEPS))
    thumb.focus()
    with rerun(page):
        page.keyboard.press("End")
    expect(thumb).to_have_value("200")
    assert_piling_up_explained(page, 200)
    assert len(errors(page)) == 1
