"""Driving the app in a Playwright page: wait on Streamlit's own run state, act on widgets
by their labels, and read back what the browser drew (graph, tables, plots, errors).

Never a fixed sleep. Every action waits for the server's own message that the script run
it caused has finished (``script_finished`` on the app's websocket, decoded with
Streamlit's protobuf classes), then for the app to show itself idle. Watching the
``data-test-script-state`` attribute alone is not enough: a quick run can go
notRunning -> running -> notRunning within one React render, and the attribute never
changes. Every read of something drawn after a run (Graphviz lays the graph out in
WebAssembly, plotly.js draws plots) waits for the expected content to appear.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from playwright.sync_api import Locator, Page, WebSocket, expect
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

APP = "[data-testid='stApp']"
IDLE = f"{APP}[data-test-script-state='notRunning']"
GRAPH = "[data-testid='stGraphVizChart'] svg"
PLOT = "[data-testid='stPlotlyChart'] .js-plotly-plot"
RUN_TIMEOUT_MS = 60_000
_INTERRUPTED = ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN


@dataclass
class _Runs:
    """The app's websocket in one page and how many script runs the server finished."""

    socket: WebSocket | None = None
    finished: int = 0

    def on_socket(self, socket: WebSocket) -> None:
        if socket.url.endswith("/_stcore/stream"):
            self.socket = socket
            socket.on("framereceived", self.on_frame)

    def on_frame(self, payload: bytes | str) -> None:
        if isinstance(payload, bytes):
            message = ForwardMsg()
            message.ParseFromString(payload)
            if (message.WhichOneof("type") == "script_finished"
                    and message.script_finished != _INTERRUPTED):
                self.finished += 1


_runs: WeakKeyDictionary[Page, _Runs] = WeakKeyDictionary()


def _watch(page: Page) -> _Runs:
    if page not in _runs:
        _runs[page] = runs = _Runs()
        page.on("websocket", runs.on_socket)
    return _runs[page]


def _wait_for_run_after(page: Page, before: int) -> None:
    """Block until the server has finished a run after ``before`` and the app is idle.

    Playwright's sync API delivers events only while it waits, so checking the count and
    then waiting for the next frame cannot miss the frame in between."""
    runs = _runs[page]
    if runs.socket is None:
        page.wait_for_event("websocket", predicate=lambda _: runs.socket is not None,
                            timeout=RUN_TIMEOUT_MS)
    if runs.finished <= before:
        runs.socket.wait_for_event("framereceived", predicate=lambda _: runs.finished > before,
                                   timeout=RUN_TIMEOUT_MS)
    page.wait_for_selector(IDLE, state="attached", timeout=RUN_TIMEOUT_MS)


def open_app(page: Page, url: str) -> Page:
    """Go to ``url`` and wait until the app's first script run there has finished."""
    runs = _watch(page)
    before, runs.socket = runs.finished, None
    page.goto(url)
    _wait_for_run_after(page, before)
    return page


@contextmanager
def rerun(page: Page) -> Iterator[None]:
    """Wrap an action that makes Streamlit rerun; return once that run has finished."""
    before = _runs[page].finished
    yield
    _wait_for_run_after(page, before)


# --- acting on widgets, found by the label a learner reads ------------------------------

def set_program(page: Page, code: str) -> None:
    """Type a program into the Playground's editor and run it (Ctrl+Enter)."""
    editor = page.get_by_label("Program", exact=True)
    with rerun(page):
        editor.fill(code)
        editor.press("Control+Enter")


def set_text(page: Page, label: str, text: str) -> None:
    """Fill a text input (an input box of the Playground) and press Enter."""
    box = page.get_by_role("textbox", name=label, exact=True)
    with rerun(page):
        box.fill(text)
        box.press("Enter")


def set_number(page: Page, label: str, value: float) -> None:
    """Fill a number input (the curve's range) and press Enter."""
    box = page.get_by_label(label, exact=True)
    with rerun(page):
        box.fill(str(value))
        box.press("Enter")


def switch(page: Page, label: str, index: int = 0) -> None:
    """Flip a toggle or checkbox (the ``index``-th of that label) by clicking its label."""
    with rerun(page):
        page.get_by_label(label, exact=True).nth(index).locator("xpath=ancestor::label").click()


def is_on(page: Page, label: str) -> bool:
    return page.get_by_label(label, exact=True).is_checked()


def choose(page: Page, label: str, option: str) -> None:
    """Pick ``option`` in a selectbox or add it to a multiselect, as a mouse user does.

    The list closes when the page scrolls, and focusing an option scrolls it into view:
    near the bottom of the window the list opens, scrolls and closes at once. So the box
    is scrolled to the middle first (two frames let the scroll event pass), then opened."""
    box = page.get_by_label(label, exact=True)
    box.evaluate("e => e.scrollIntoView({block: 'center'})")
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    with rerun(page):
        box.click()
        page.get_by_role("option", name=option, exact=True).click()
    page.keyboard.press("Escape")  # a multiselect keeps its list open


def _widget(page: Page, label: str) -> Locator:
    """The selectbox or multiselect whose input is labelled ``label``."""
    return page.locator("[data-testid='stSelectbox'], [data-testid='stMultiSelect']").filter(
        has=page.get_by_label(label, exact=True))


def chosen(page: Page, label: str) -> list[str]:
    """The options shown as chosen in a multiselect (its tags)."""
    return _widget(page, label).locator(
        ".react-aria-ComboBox [data-tag] > span[title]").all_inner_texts()


# --- reading what the browser drew ---------------------------------------------------------

def wait_for_graph(page: Page, *texts: str, index: int = 0) -> None:
    """Wait until the ``index``-th graph is drawn and shows every one of ``texts``."""
    graph = page.locator(GRAPH).nth(index)
    expect(graph.locator("g.node").first).to_be_attached(timeout=RUN_TIMEOUT_MS)
    for text in texts:
        expect(graph).to_contain_text(text, timeout=RUN_TIMEOUT_MS)


def graph_nodes(page: Page, index: int = 0) -> list[dict[str, Any]]:
    """Every node box of the ``index``-th drawn graph: its text rows, its tooltip (the
    full-precision ``name | op | shape | value | grad`` summary) and whether it is dashed
    (what autograd did not record)."""
    return page.locator(GRAPH).nth(index).evaluate("""svg => [...svg.querySelectorAll('g.node')]
        .map(n => ({rows: [...n.querySelectorAll('text')].map(t => t.textContent),
                    tooltip: [...(n.querySelector('a')?.attributes ?? [])].find(
                        a => a.localName === 'title')?.value ?? '',
                    dashed: [...n.querySelectorAll('polygon, path')].some(
                        s => (s.getAttribute('stroke-dasharray') ?? '') !== '')}))""")


def node(page: Page, name: str, index: int = 0) -> dict[str, Any]:
    """The graph node whose first row (the bold variable name) is ``name``."""
    found = [n for n in graph_nodes(page, index) if n["rows"] and n["rows"][0] == name]
    assert len(found) == 1, (name, graph_nodes(page, index))
    return found[0]


def tooltip_value(node: dict[str, Any], field: str) -> float | list | None:
    """``value`` or ``grad`` from a node's tooltip at full precision: a float, or nested
    lists for a tensor; None when the node has no such field (``grad`` also matches a
    leaf's ``.grad``)."""
    for part in node["tooltip"].split(" | "):
        name, _, text = part.partition(" ")
        if name.lstrip(".") == field and text:
            return json.loads(text)
    return None


def table(page: Page, index: int = 0) -> list[dict[str, str]]:
    """The ``index``-th table (``st.table``) as rows of {header: cell text}."""
    found = page.locator("[data-testid='stTable'] table").nth(index)
    expect(found).to_be_visible(timeout=RUN_TIMEOUT_MS)
    headers = found.locator("thead th").all_inner_texts()
    return [dict(zip(headers, row.locator("td").all_inner_texts(), strict=True))
            for row in found.locator("tbody tr").all()]


def plots(page: Page, count: int) -> list[dict[str, Any]]:
    """The page's plotly figures once ``count`` of them are drawn: title, axis titles and
    each trace's name and data, read from plotly.js's own graph objects."""
    expect(page.locator(f"{PLOT} .main-svg").first).to_be_attached(timeout=RUN_TIMEOUT_MS)
    page.wait_for_function(
        f"n => [...document.querySelectorAll(\"{PLOT}\")].filter(g => g._fullData).length >= n",
        arg=count, timeout=RUN_TIMEOUT_MS)
    return page.evaluate(f"""() => [...document.querySelectorAll("{PLOT}")].map(g => ({{
        title: g.layout?.title?.text ?? '',
        xaxis: g.layout?.xaxis?.title?.text ?? '',
        traces: g._fullData.map(t => ({{name: t.name, type: t.type, mode: t.mode ?? '',
                                       x: Array.from(t.x ?? []), y: Array.from(t.y ?? [])}})),
        drawn: g.querySelectorAll('.scatterlayer .trace, .barlayer .trace').length}}))""")


def editor_text(page: Page) -> str:
    return page.get_by_label("Program", exact=True).input_value()


def field_value(page: Page, label: str) -> str:
    """What a text, number or selectbox input shows."""
    return page.get_by_label(label, exact=True).input_value()


def errors(page: Page) -> list[str]:
    return page.locator("[data-testid='stAlertContentError']").all_inner_texts()
