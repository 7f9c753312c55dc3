"""The pan-and-zoom view in real headless Chromium: buttons, drag, "Zoom to…", safety.

The page is loaded with ``page.set_content`` (no Streamlit needed: in the app it is the
same document inside an iframe). svg-pan-zoom updates its state at once and the drawing
on the next animation frame, so every reading of the screen waits two frames first.
"""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest

from engine import run_program
from graphviz_utils import THEMES, export, pan_zoom_html, to_dot
from tests.test_graphviz_utils import BCE
from tests.test_pan_zoom import IMG, hostile_digraph, hostile_graph_dict, needs_dot

CHAIN = "x = torch.tensor(0.5, requires_grad=True)\ny = x\n" + "y = torch.sin(y)\n" * 40
SCREENSHOT = "/tmp/pan_zoom.png"


def chain_dot(theme: str = "light"):
    result = run_program(CHAIN, isolate=False)
    assert result.error is None, result.error
    return to_dot(result, theme=theme)


def open_view(page, dot, height: int, theme: str = "light") -> list[str]:
    """Load the view; returns the dialogs it opened (alert, confirm...), kept up to date."""
    dialogs: list[str] = []

    def refuse(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", refuse)
    look = THEMES[theme]
    page.set_content(pan_zoom_html(dot, height_px=height, background=look.background,
                                   text_colour=look.text))
    page.wait_for_selector("body[data-state='ready'], body[data-state='error']",
                           timeout=30_000)
    assert page.get_attribute("body", "data-state") == "ready", page.inner_text("#message")
    settle(page)
    return dialogs


def settle(page) -> None:
    """Two animation frames: svg-pan-zoom has drawn what its state says."""
    page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def state(page) -> dict:
    return page.evaluate("({zoom: graphView.getZoom(), ...graphView.getPan()})")


def same_state(a: dict, b: dict) -> bool:
    """The same view, up to rounding (a hundredth of a pixel)."""
    return abs(a["zoom"] - b["zoom"]) < 1e-5 and abs(a["x"] - b["x"]) < 0.01 \
        and abs(a["y"] - b["y"]) < 0.01


def rect(page, selector: str) -> dict:
    return page.evaluate(f"""(() => {{
        const r = document.querySelector({selector!r}).getBoundingClientRect();
        return {{x: r.x, y: r.y, width: r.width, height: r.height,
                 cx: r.x + r.width / 2, cy: r.y + r.height / 2}};
    }})()""")


def click(page, selector: str) -> None:
    page.click(selector)
    settle(page)


@pytest.fixture
def wide_page(browser) -> Iterator[object]:
    """1400 x 800, the size of the screenshot."""
    context = browser.new_context(viewport={"width": 1400, "height": 800})
    yield context.new_page()
    context.close()


@needs_dot
def test_buttons_zoom_fit_and_reset_and_drag_pans(page):
    """On the 40-node chain: + zooms in, Fit shows the whole graph, Reset brings back the
    start exactly, a drag moves the view by the drag (and retires the "Drag to move"
    hint)."""
    open_view(page, chain_dot(), height=560)
    start = state(page)
    click(page, "#zoom-in")
    assert state(page)["zoom"] > start["zoom"] * 1.2
    click(page, "#zoom-out")
    assert state(page)["zoom"] == pytest.approx(start["zoom"])

    click(page, "#fit")
    assert state(page)["zoom"] == pytest.approx(1.0)  # svg-pan-zoom's fitted zoom
    graph, view = rect(page, "#graph"), rect(page, ".svg-pan-zoom_viewport")
    assert view["y"] >= graph["y"] - 1 and view["y"] + view["height"] <= graph["y"] + graph[
        "height"] + 1
    click(page, "#reset")
    assert same_state(state(page), start)

    graph = rect(page, "#graph")
    assert page.is_visible("#hint")
    page.mouse.move(graph["cx"], graph["cy"])
    page.mouse.down()
    page.mouse.move(graph["cx"] + 120, graph["cy"] - 80, steps=6)
    page.mouse.up()
    moved = state(page)
    assert moved["x"] - start["x"] == pytest.approx(120, abs=2)
    assert moved["y"] - start["y"] == pytest.approx(-80, abs=2)
    assert page.is_hidden("#hint")  # learnt: the hint no longer covers the graph
    click(page, "#fit")
    click(page, "#reset")
    assert same_state(state(page), start)


@needs_dot
def test_a_graph_readable_whole_starts_fitted_and_a_tiny_one_is_not_blown_up(page):
    """The seed's neuron in a tall view starts as Fit shows it, so Fit and Reset agree;
    two nodes start at twice their drawn size, not filling the view."""
    open_view(page, to_dot(run_program(BCE, isolate=False)), height=880)
    start = state(page)
    assert start["zoom"] == pytest.approx(1.0)
    click(page, "#zoom-in")
    click(page, "#fit")
    assert same_state(state(page), start)
    click(page, "#zoom-in")
    click(page, "#reset")
    assert same_state(state(page), start)

    open_view(page, "digraph { a -> b }", height=560)
    assert page.evaluate("graphView.getSizes().realZoom") == pytest.approx(2.0)
    click(page, "#fit")
    assert page.evaluate("graphView.getSizes().realZoom") > 2.5


@needs_dot
def test_zoom_to_a_node_centres_it_and_makes_it_bigger(page):
    """Every node is an option, named by its drawn text; choosing one puts its centre in
    the centre of the view, larger than before, and marks it."""
    open_view(page, chain_dot(), height=560)
    nodes = page.locator("#graph svg g.node").count()
    options = page.locator("#zoom-to option").all_text_contents()
    assert nodes == 42 and len(options) == nodes + 1  # 41 boxes, the legend; the prompt
    assert options[0] == "Zoom to…"
    assert options[1] == "x · scalar · value 0.5 · .grad 0.1036"  # the top box: the leaf x
    assert any(o.startswith("Legend · ") for o in options)

    click(page, "#fit")
    for label in ("value 0.3082", "value 0.2381", "Legend"):
        option = next(o for o in options if label in o)
        node_id = page.eval_on_selector(
            "#zoom-to", "(s, text) => [...s.options].find(o => o.text === text).value", option)
        before = rect(page, f"#{node_id}")
        page.select_option("#zoom-to", label=option)
        settle(page)
        after, graph = rect(page, f"#{node_id}"), rect(page, "#graph")
        assert after["cx"] == pytest.approx(graph["cx"], abs=3), label
        assert after["cy"] == pytest.approx(graph["cy"], abs=3), label
        assert after["width"] > before["width"] * 1.5, label
        assert page.locator(".node.picked").count() == 1
        assert page.get_attribute(".node.picked", "id") == node_id
        click(page, "#fit")  # and Fit clears the choice
        assert page.locator(".node.picked").count() == 0
        assert page.input_value("#zoom-to") == ""


@needs_dot
@pytest.mark.parametrize("make", [hostile_digraph, lambda: to_dot(hostile_graph_dict())],
                         ids=["digraph", "graph-dict"])
def test_hostile_labels_show_as_text_and_run_nothing(page, make):
    dialogs = open_view(page, make(), height=560)
    text = page.inner_text("#graph")
    assert IMG in text and "</script><script>window.pwned=2</script>" in text
    assert page.locator("#graph img, #graph script, #graph style").count() == 0
    options = page.locator("#zoom-to option").all_text_contents()
    assert any(IMG in option for option in options)
    page.select_option("#zoom-to", label=next(o for o in options if IMG in o))
    settle(page)
    page.wait_for_timeout(200)  # a broken image's onerror would have fired by now
    assert page.evaluate("window.pwned") is None
    assert dialogs == []
    assert page.locator("script").count() == 1


@needs_dot
def test_screenshot_of_a_40_node_graph_is_readable(wide_page):
    """The chain at 1400 x 800: too long to read fitted, so it starts readable (1 px per
    pt) from the top; labels at least 12 px, toolbar targets at least 40 px."""
    page = wide_page
    open_view(page, chain_dot(), height=800)
    page.screenshot(path=SCREENSHOT)
    name = page.locator("#graph svg g.node text").first.bounding_box()
    assert name["height"] >= 12
    for control in ("#zoom-in", "#zoom-out", "#fit", "#reset", "#zoom-to"):
        box = page.locator(control).bounding_box()
        assert box["height"] >= 40 and box["width"] >= 40, control
    graph = rect(page, "#graph")
    top = page.evaluate("""Math.min(...Array.from(document.querySelectorAll('g.node'),
                                               (n) => n.getBoundingClientRect().y))""")
    assert graph["y"] <= top < graph["y"] + 60  # the top box, at the top of the view


def test_without_dot_the_browser_draws_the_same_view(page, monkeypatch):
    """No dot on the server: Graphviz-WASM lays the graph out in the page, and the
    toolbar and "Zoom to…" work the same."""
    monkeypatch.setattr(export.shutil, "which", lambda name: None)
    dialogs = open_view(page, hostile_digraph(), height=560)
    assert page.locator("#graph svg g.node").count() == 10
    assert page.locator("#zoom-to option").count() == 11
    page.select_option("#zoom-to", index=3)
    settle(page)
    assert page.locator(".node.picked").count() == 1
    assert page.evaluate("window.pwned") is None and dialogs == []


# --- item 13: the wheel scrolls the page around the view unless asked to zoom ----------

def open_in_a_page(page, dot) -> object:
    """The view in an iframe 300 px down a page taller than the window, as in the app;
    returns the view's frame."""
    look = THEMES["light"]
    view = pan_zoom_html(dot, height_px=500, background=look.background,
                         text_colour=look.text)
    page.set_content(
        '<body style="margin: 0"><p style="height: 300px; margin: 0">Above</p>'
        f'<iframe id="view" srcdoc="{html.escape(view, quote=True)}" '
        'style="width: 900px; height: 500px; border: 0"></iframe>'
        '<p style="height: 2000px">Below</p></body>')
    page.frame_locator("#view").locator("body[data-state='ready']").wait_for(
        state="attached", timeout=30_000)
    view = page.frame(url="about:srcdoc")
    settle(view)
    return view


def over_the_graph(view) -> tuple[float, float]:
    """The middle of the graph, in the window's coordinates (the page may have moved)."""
    box = view.locator("#graph").bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def wheel(page, view, delta: float) -> None:
    """A wheel turn with the mouse over the middle of the graph."""
    page.mouse.move(*over_the_graph(view))
    page.mouse.wheel(0, delta)
    page.wait_for_timeout(150)  # a scroll is asynchronous; let it start
    settle(view)


def scrolled_from(page, top: float) -> float:
    """Wait until the page has scrolled away from ``top`` (it may scroll smoothly)."""
    page.wait_for_function("top => window.scrollY !== top", arg=top, timeout=5_000)
    return page.evaluate("window.scrollY")


@needs_dot
def test_the_plain_wheel_scrolls_the_page_and_ctrl_or_a_click_makes_it_zoom(page):
    """Over the view inside a page: the plain wheel scrolls the page and leaves the zoom
    alone (it used to zoom the graph to a speck and trap the page); Ctrl + wheel zooms
    without scrolling; after a click on the graph the plain wheel zooms, until Escape,
    and again until a click outside the view."""
    view = open_in_a_page(page, chain_dot())
    start, top = state(view), page.evaluate("window.scrollY")
    wheel(page, view, 200)
    top = scrolled_from(page, top)
    assert same_state(state(view), start)
    assert view.is_visible("#hint")
    assert "Ctrl + wheel or click to zoom" in view.inner_text("#hint")

    page.keyboard.down("Control")
    wheel(page, view, -200)
    page.keyboard.up("Control")
    assert state(view)["zoom"] > start["zoom"] * 1.2
    assert page.evaluate("window.scrollY") == top

    view.click("#reset")
    page.mouse.click(*over_the_graph(view))
    assert "Esc" in view.inner_text("#hint")
    zoom = state(view)["zoom"]
    wheel(page, view, -200)
    assert state(view)["zoom"] > zoom * 1.2
    assert page.evaluate("window.scrollY") == top

    page.keyboard.press("Escape")
    zoom = state(view)["zoom"]
    wheel(page, view, 200)
    top = scrolled_from(page, top)
    assert state(view)["zoom"] == pytest.approx(zoom)

    page.mouse.click(*over_the_graph(view))
    wheel(page, view, -100)
    assert state(view)["zoom"] > zoom * 1.1
    page.mouse.click(1100, 20)  # the page beside the view
    zoom = state(view)["zoom"]
    wheel(page, view, 200)
    scrolled_from(page, top)
    assert state(view)["zoom"] == pytest.approx(zoom)


@needs_dot
def test_a_drag_pans_without_making_the_wheel_zoom(page):
    """Only a click arms the wheel: the end of a drag is not one."""
    view = open_in_a_page(page, chain_dot())
    x, y = over_the_graph(view)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 100, y + 60, steps=5)
    page.mouse.up()
    moved, top = state(view), page.evaluate("window.scrollY")
    wheel(page, view, 200)
    scrolled_from(page, top)
    assert same_state(state(view), moved)
