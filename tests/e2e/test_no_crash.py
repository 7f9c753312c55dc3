"""The clicks that crashed pages (issue 15, items 1 and 2), made in real Chromium: clearing
the example picker with Escape or its ✕, and clicking the chosen option of a segmented
control (which deselects it in Streamlit). The page must stay whole: no exception box,
the program and its graph still there, the choice still made."""

from __future__ import annotations

from tests.e2e.driver import (
    choose,
    editor_text,
    errors,
    open_app,
    rerun,
    wait_for_graph,
)
from ui.examples import EXAMPLES

EXCEPTION = "[data-testid='stException']"
BCE = next(e for e in EXAMPLES if "BCE" in e.title)


def whole(page) -> None:
    assert page.locator(EXCEPTION).count() == 0
    assert not [e for e in errors(page) if "went wrong" in e or "encountered" in e]


def test_clearing_the_example_picker_keeps_the_example(server, page):
    open_app(page, server)
    choose(page, "Start from an example", BCE.title)
    wait_for_graph(page, "loss")
    assert editor_text(page) == BCE.code
    picker = page.get_by_label("Start from an example", exact=True)
    picker.click()
    page.keyboard.press("Escape")
    clear = page.locator("[data-testid='stSelectbox']").filter(has=picker).get_by_role(
        "button", name="Clear")
    if clear.count():  # the picker shows its placeholder again, so there may be no ✕
        with rerun(page):
            clear.first.click()
    whole(page)
    assert editor_text(page) == BCE.code
    wait_for_graph(page, "loss")


def test_clicking_the_chosen_option_keeps_it(server, page):
    open_app(page, f"{server}/derivatives")
    wait_for_graph(page, "x")
    group = page.locator("[data-testid='stButtonGroup']").first
    chosen = group.locator("button[aria-checked='true']")
    label = chosen.inner_text()
    chosen.click()  # a required control ignores it in the browser; the server would too
    page.wait_for_timeout(1_500)
    whole(page)
    assert group.locator("button[aria-checked='true']").inner_text() == label
    other = group.locator("button[aria-checked='false']").first
    other_label = other.inner_text()
    with rerun(page):
        other.click()
    whole(page)
    assert group.locator("button[aria-checked='true']").inner_text() == other_label
    wait_for_graph(page, "x")
