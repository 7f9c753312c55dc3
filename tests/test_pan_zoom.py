"""pan_zoom_html and ui.zoom without a browser: what the page holds and what it must not.

The page is read as text and its SVG part as XML, so these checks see exactly what a
browser would be handed; tests/e2e/test_pan_zoom.py watches the same page run.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import graphviz
import pytest
from graphviz import nohtml
from streamlit.testing.v1 import AppTest

import graphviz_utils
from engine import run_program
from graphviz_utils import export, pan_zoom_html, to_dot, to_html
from tests.test_graphviz_utils import BCE

SVG_NS = "{http://www.w3.org/2000/svg}"
IMG = "<img src=x onerror=window.pwned=1>"
SCRIPT = "</script><script>window.pwned=2</script>"
STYLE = "</style><style>* { visibility hidden }</style>"  # no ":" (a DOT port)
HOSTILE = [IMG, SCRIPT, STYLE, "a & b <!-- c -->", "x --> y"]

needs_dot = pytest.mark.skipif(not graphviz_utils.dot_installed(),
                               reason="Graphviz's dot program is not installed")


def page_of(dot: graphviz.Digraph | str, theme: str = "light") -> str:
    look = graphviz_utils.THEMES[theme]
    return pan_zoom_html(dot, height_px=560, background=look.background,
                         text_colour=look.text)


def svg_part(page: str) -> str:
    """The markup between ``<div id="graph">`` and its end: the SVG dot drew."""
    match = re.search(r'<div id="graph"[^>]*>(.*?)</div>\n<div id="message"', page, re.S)
    assert match, "no graph container"
    return match.group(1)


def drawn_texts(page: str) -> list[str]:
    """Every <text> of the SVG part, entities decoded, as a browser's textContent reads."""
    root = ET.fromstring(svg_part(page))
    return [element.text or "" for element in root.iter(f"{SVG_NS}text")]


def node_groups(page: str) -> list[ET.Element]:
    root = ET.fromstring(svg_part(page))
    return [g for g in root.iter(f"{SVG_NS}g") if g.get("class") == "node"]


def hostile_digraph() -> graphviz.Digraph:
    """Hostile text as node names (drawn as the label when there is none) and as labels;
    ``nohtml`` keeps graphviz from reading ``<...>`` as an HTML-like label."""
    graph = graphviz.Digraph()
    for i, text in enumerate(HOSTILE):
        graph.node(nohtml(text))  # the name is the label
        graph.node(f"labelled{i}", label=nohtml(text))
        graph.edge(nohtml(text), f"labelled{i}")
    return graph


def hostile_graph_dict() -> dict:
    """A run's graph dict by hand: a leaf and an output whose names, operation words and
    op names are hostile."""
    def node(id_: str, kind: str, name: str, op: str, order: int) -> dict:
        value = {"shape": [], "dtype": "float32", "numel": 1, "data": 2.0}
        return {"id": id_, "kind": kind, "op": op, "label": name, "name": name,
                "shape": [], "value": value, "grad": value, "saved": [],
                "is_view": False, "order": order, "is_output": kind == "output"}

    return {"nodes": [node("n0", "output", IMG, SCRIPT, 0),
                      node("n1", "leaf", SCRIPT, "AccumulateGrad", 1),
                      node("n2", "op", STYLE, IMG, 2)],
            "edges": [{"source": "n1", "target": "n2", "recorded": True},
                      {"source": "n2", "target": "n0", "recorded": True}],
            "dataflow": []}


@pytest.fixture(scope="module")
def bce_dot() -> graphviz.Digraph:
    result = run_program(BCE, isolate=False)
    assert result.error is None, result.error
    return to_dot(result)


@needs_dot
def test_the_page_lists_one_option_source_per_node(bce_dot):
    """Each DOT node is one ``<g class="node">`` with its own id (the option's value);
    the script builds the options from them as DOM text, never as markup."""
    page = page_of(bce_dot)
    statements = re.findall(r"^\t(\w+) \[", bce_dot.source, re.M)
    declared = [name for name in statements if name not in {"graph", "node", "edge"}]
    groups = node_groups(page)
    assert len(groups) == len(declared) == 7  # 6 boxes and the legend
    ids = [g.get("id") for g in groups]
    assert len(set(ids)) == len(ids) and all(ids)
    assert sorted(g.find(f"{SVG_NS}title").text for g in groups) == sorted(declared)
    assert 'querySelectorAll("g.node[id]")' in page and "new Option(nodeText(node)" in page
    assert "textContent" in page and "innerHTML" not in page
    assert '<select id="zoom-to"' in page and page.count("<option") == 1  # the prompt


@needs_dot
def test_the_page_inlines_svg_pan_zoom_once_and_fetches_nothing(bce_dot):
    page = page_of(bce_dot)
    code = export.PAN_ZOOM_JS.read_text(encoding="utf-8")
    for start in (0, len(code) // 2, len(code) - 400):
        assert page.count(code[start:start + 400]) == 1
    assert page.lower().count("<script") == 1 and page.lower().count("</script") == 1
    assert "graphviz-module" not in page  # dot laid it out: no 800 KB WebAssembly
    assert not re.search(r"""\s(src|href)=["']?(https?:|//)""", page)
    assert len(page) < 100_000


@needs_dot
def test_the_svg_is_ready_for_the_body(bce_dot):
    """No XML prolog, DOCTYPE or comments; nothing that runs or ends <script>/<style>."""
    page = page_of(bce_dot)
    svg = svg_part(page)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    for marker in ("<?xml", "<!DOCTYPE", "<!--", "<script", "</script", "<style",
                   "</style", "<foreignObject"):
        assert marker.lower() not in svg.lower(), marker
    assert page.count("<svg") == 1 and page.lower().count("</style") == 1


@needs_dot
@pytest.mark.parametrize("make", [hostile_digraph, lambda: to_dot(hostile_graph_dict())],
                         ids=["digraph", "graph-dict"])
def test_hostile_names_and_labels_stay_text(make):
    """The hostile strings are drawn as text (entities in the markup, literal in the
    decoded text) and add no element: one script, one style sheet, no <img>."""
    page = page_of(make())
    svg = svg_part(page)
    assert "&lt;img src=x onerror=window.pwned=1&gt;" in svg
    assert "&lt;/script&gt;" in svg and "&lt;/style&gt;" in svg
    for marker in ("<img", "<script", "</script", "<style", "</style", "<!--"):
        assert marker not in svg.lower(), marker
    assert page.lower().count("<script") == 1 and page.lower().count("</script") == 1
    assert page.lower().count("<style") == 1 and page.lower().count("</style") == 1
    texts = "\n".join(drawn_texts(page))
    for text in (IMG, SCRIPT, STYLE):
        assert text in texts


@needs_dot
def test_both_pages_share_one_toolbar_and_one_wiring(bce_dot):
    """to_html and pan_zoom_html carry the same toolbar, style sheet and script: one
    definition in export.py, not two copies."""
    small, big = page_of(bce_dot), to_html(bce_dot, background="white",
                                           text_colour="#222222")
    for shared in (export._TOOLBAR, export._WIRING):
        assert small.count(shared) == big.count(shared) == 1
    style = re.compile(r"<style>(.*?)</style>", re.S)
    assert style.search(small).group(1).replace("560px", "100%") == style.search(big).group(1)
    assert 'showGraph(document.querySelector("#graph svg"))' in small
    # Inside the app the plain wheel is the app's (it scrolls); a page of its own zooms.
    assert '<body data-state="loading" data-wheel="page">' in small
    assert '<body data-state="loading" data-wheel="zoom">' in big
    assert "showGraph(container.querySelector" in big


def test_without_dot_the_browser_lays_the_graph_out(monkeypatch, bce_dot):
    """No dot: the page is to_html's browser layout at the asked height, with the DOT only
    as a script-safe JSON literal."""
    monkeypatch.setattr(export.shutil, "which", lambda name: None)
    page = page_of(hostile_digraph())
    assert 'id="graphviz-module"' in page and svg_part(page) == ""
    literal = re.search(r"const source = (.*);\n", page).group(1)
    assert "<" not in literal and ">" not in literal and "&" not in literal
    assert literal == export._script_json(hostile_digraph().source)
    assert page.lower().count("<script") == 3 and page.lower().count("</script") == 3
    assert "height: 560px" in page


def test_colours_and_height_cannot_break_the_style_sheet():
    page = pan_zoom_html("digraph { a }", height_px=400, background="red;}</style><script>",
                         text_colour="#fff} body { display: none")
    assert page.lower().count("</style") == 1 and page.lower().count("<script") == 1
    assert "display: none" not in page and "height: 400px" in page
    with pytest.raises(ValueError, match="height_px"):
        pan_zoom_html("digraph { a }", height_px=20, background="white", text_colour="black")


def test_pan_zoom_html_is_exported():
    assert "pan_zoom_html" in graphviz_utils.__all__
    assert "pan_zoom_html" in graphviz_utils.__doc__


# --- ui.zoom.show_zoomable -------------------------------------------------------------

def _zoomable_app() -> None:
    from ui.zoom import show_zoomable

    show_zoomable("digraph { a -> b }", "dark", height=480)


@needs_dot
def test_show_zoomable_puts_the_page_in_an_iframe():
    at = AppTest.from_function(_zoomable_app, default_timeout=60).run()
    assert not at.exception and not at.info
    page = at.get("iframe")[0].proto.srcdoc
    assert "<svg" in page and "height: 480px" in page
    assert "background: #0e1117" in page and "color: #e6e6e6" in page  # the dark theme


def test_show_zoomable_says_why_when_neither_layout_can_work(monkeypatch):
    monkeypatch.setattr(export.shutil, "which", lambda name: None)
    monkeypatch.setattr(export, "GRAPHVIZ_WASM_JS", Path("/nonexistent/graphviz.js"))
    at = AppTest.from_function(_zoomable_app, default_timeout=60).run()
    assert not at.exception and not at.get("iframe")
    assert len(at.info) == 1
    assert "dot" in at.info[0].value and "apt-get install graphviz" in at.info[0].value
