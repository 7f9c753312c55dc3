"""Presenting in real Chromium: projector style at a projector's sizes, stepping through
backward from the keyboard with the running node in view, and the step view on a phone.

Sizes are what the browser drew, read back: a graph label's type size is its
``font-size`` times the SVG's scale on screen (what the eye gets, however the SVG was
fitted), the program's is the editor's or code block's computed size against the page's
body text, and "in view" is the running node's box against the window.
"""

from __future__ import annotations

import re
import statistics

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.driver import IDLE, open_app, rerun, wait_for_graph
from tests.e2e.test_views import BCE, step_heading
from ui.share import VIEWS, PlaygroundState, query_string

PROJECTORS = [(1280, 720), (1920, 1080)]
PHONE = (390, 844)
MIN_PROJECTOR_TEXT_PX = 16.0

# Each label's type size on screen, in CSS px.
LABEL_SIZES = """root => [...root.querySelectorAll('svg text')].map(
    t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)"""


def link(server: str, **changes: object) -> str:
    return f"{server}/?{query_string(PlaygroundState(**{**BCE.__dict__, **changes}))}"


def sized(browser, width: int, height: int) -> Page:
    return browser.new_context(viewport={"width": width, "height": height}).new_page()


def label_sizes(page: Page, view: str) -> list[float]:
    """Every graph label's size in the view (inside the pan-and-zoom frame for "zoom")."""
    if view == "zoom":
        frame = page.frame_locator("iframe[title^='Autograd graph']").first
        expect(frame.locator("svg g.node").first).to_be_attached(timeout=60_000)
        return frame.locator("body").evaluate(LABEL_SIZES)
    wait_for_graph(page)
    return [size for graph in page.locator("[data-testid='stGraphVizChart']").all()
            for size in graph.evaluate(LABEL_SIZES)]


def body_px(page: Page) -> float:
    return float(page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)"))


@pytest.mark.parametrize(("width", "height"), PROJECTORS)
def test_projector_style_draws_every_view_and_the_program_large(server, browser, width,
                                                                height):
    page = sized(browser, width, height)
    for view in VIEWS:
        open_app(page, link(server, view=view, projector=True,
                            step=9 if view == "steps" else None))
        sizes = label_sizes(page, view)
        assert sizes and statistics.median(sizes) >= MIN_PROJECTOR_TEXT_PX, (view, sizes)
        # the sidebar starts folded: the views get the projector's width
        expect(page.locator("[data-testid='stSidebar']")).to_have_attribute(
            "data-collapsed", "true")
    editor = page.get_by_label("Program", exact=True)
    assert float(editor.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) \
        >= body_px(page)
    open_app(page, link(server, projector=True, hide_editor=True))
    code = page.locator("[data-testid='stCode'] code").first
    assert "binary_cross_entropy_loss" in code.inner_text()
    assert float(code.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) \
        >= body_px(page) >= 20
    page.context.close()


def running_node_box(page: Page) -> dict[str, float]:
    node = page.locator("[data-testid='stGraphVizChart'] svg g#backward-running")
    expect(node).to_be_attached()
    page.wait_for_function("""() => { const n = document.querySelector('g#backward-running');
        const r = n && n.getBoundingClientRect();
        return r && r.top >= 0 && r.bottom <= innerHeight && r.left >= 0
            && r.right <= innerWidth; }""", timeout=10_000)
    return node.bounding_box()


def formulas_never_cut(page: Page) -> bool:
    """Every formula on the page is drawn whole within its box, or its box scrolls."""
    return page.evaluate("""() => [...document.querySelectorAll(
            ".katex-display, [data-testid='stMarkdownContainer'] p:has(> .katex)")]
        .every(box => box.scrollWidth <= box.clientWidth + 1
                      || ['auto', 'scroll'].includes(getComputedStyle(box).overflowX))""")


@pytest.mark.parametrize(("width", "height"), PROJECTORS)
def test_stepping_from_the_keyboard_keeps_the_running_node_in_view(server, browser, width,
                                                                   height):
    page = sized(browser, width, height)
    open_app(page, link(server, view="steps", step=1, projector=True))
    wait_for_graph(page)
    count = int(re.search(r"of (\d+)", step_heading(page)).group(1))
    assert count == 13  # the BCE neuron's backward: 13 nodes
    for k in range(2, count + 1):
        # N, the right arrow and a clicker's Page Down all step on
        key = ("n", "ArrowRight", "PageDown")[k % 3]
        with rerun(page):
            page.keyboard.press(key)
        expect(page.locator("h4").filter(has_text=re.compile(rf"^Step {k} of {count}"))) \
            .to_be_visible()
        running_node_box(page)
        # the chain rule at this step fits its column whole (KaTeX's aligned lines
        # reach 2 px past their box: struts, not text)
        page.wait_for_function("""() => [...document.querySelectorAll(
            '.st-key-pg_steps_row .katex-display')]
            .every(b => b.scrollWidth <= b.clientWidth + 3)""", timeout=10_000)
        # the explanation and the step buttons stay on screen beside the graph
        expect(page.get_by_role("button", name="Next", exact=True)).to_be_in_viewport()
        expect(page.locator("h4").filter(has_text=f"Step {k} of")).to_be_in_viewport()
    with rerun(page):
        page.keyboard.press("b")
    expect(page.locator("h4").filter(has_text=f"Step {count - 1} of")).to_be_visible()
    # keys typed into a control are the control's: the slider keeps its arrows
    page.get_by_role("slider").focus()
    with rerun(page):
        page.keyboard.press("ArrowLeft")
    expect(page.locator("h4").filter(has_text=f"Step {count - 2} of")).to_be_visible()
    page.context.close()


def test_keys_type_into_the_editor_and_do_not_step(server, browser):
    page = sized(browser, 1280, 900)
    open_app(page, link(server, view="steps", step=3))
    wait_for_graph(page)
    editor = page.get_by_label("Program", exact=True)
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("n")
    assert editor.input_value().endswith("n")
    page.wait_for_selector(IDLE, state="attached")
    expect(page.locator("h4").filter(has_text="Step 3 of")).to_be_visible()
    page.context.close()


def no_sideways_scroll(page: Page) -> bool:
    return page.evaluate("""() => [document.scrollingElement,
        document.querySelector("[data-testid='stMain']")]
        .every(e => !e || e.scrollWidth <= e.clientWidth + 1)""")


def test_on_a_phone_the_step_buttons_sit_by_the_explanation(server, browser):
    page = sized(browser, *PHONE)
    open_app(page, link(server, view="steps", step=9))
    wait_for_graph(page)
    next_button = page.get_by_role("button", name="Next", exact=True).bounding_box()
    back_button = page.get_by_role("button", name="Back", exact=True).bounding_box()
    heading = page.locator("h4").filter(has_text="Step 9 of").bounding_box()
    graph = page.locator("[data-testid='stGraphVizChart']").first.bounding_box()
    assert abs(next_button["y"] - back_button["y"]) < 2  # the buttons on one row
    # the explanation right under its buttons, the graph after it
    assert 0 < heading["y"] - (next_button["y"] + next_button["height"]) < 120
    assert graph["y"] > heading["y"]
    assert no_sideways_scroll(page)
    with rerun(page):
        page.get_by_role("button", name="Next", exact=True).click()
    expect(page.locator("h4").filter(has_text="Step 10 of")).to_be_in_viewport()
    assert no_sideways_scroll(page)
    page.context.close()


@pytest.mark.parametrize("path", ["", "chain_rule", "training_loop"])
def test_on_a_phone_no_page_scrolls_sideways(server, browser, path):
    page = sized(browser, *PHONE)
    open_app(page, f"{server}/{path}")
    wait_for_graph(page)
    expect(page.locator("[data-testid='stPlotlyChart'] .main-svg").first).to_be_visible()
    assert no_sideways_scroll(page)
    assert formulas_never_cut(page)
    assert formulas_never_cut(page)
    page.context.close()


def test_a_lesson_link_opens_in_projector_style(server, browser):
    page = sized(browser, 1280, 720)
    open_app(page, f"{server}/chain_rule?style=projector")
    wait_for_graph(page)
    assert body_px(page) >= 20
    sizes = label_sizes(page, "graph")
    assert statistics.median(sizes) >= MIN_PROJECTOR_TEXT_PX
    assert formulas_never_cut(page)
    assert "style=projector" in page.url
    page.context.close()
