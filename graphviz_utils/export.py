"""Exports: DOT text, SVG from the ``dot`` program, and self-contained HTML pages.

Two pages share one toolbar (zoom in, zoom out, Fit, Reset, "Zoom to…" a node) and one
pan-and-zoom wiring (svg-pan-zoom), so they look and behave the same:

* :func:`to_html` lays the graph out in the browser with Graphviz compiled to WebAssembly
  (@hpcc-js/wasm-graphviz, the engine Streamlit's own graph element uses). A teacher can
  save the file and open it offline, on a machine without Graphviz installed.
* :func:`pan_zoom_html` embeds the SVG that ``dot`` drew on the server: about 30 KB of
  script instead of 800 KB, for a view inside a Streamlit page that is rebuilt often.

Both libraries are inlined from ``vendor/``; the pages fetch nothing.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from functools import cache
from pathlib import Path

import graphviz

VENDOR = Path(__file__).parent / "vendor"
GRAPHVIZ_WASM_JS = VENDOR / "hpcc-js-wasm-graphviz-1.29.2.js"
PAN_ZOOM_JS = VENDOR / "svg-pan-zoom-3.6.2.min.js"

NO_DOT_MESSAGE = (
    "SVG export needs Graphviz's `dot` program, which is not installed on this machine "
    "(install the `graphviz` system package: apt-get install graphviz, brew install "
    "graphviz or conda install graphviz). The DOT text and the HTML export work without "
    "it: the HTML page lays the graph out in the browser.")


class DotNotInstalled(RuntimeError):
    """SVG was asked for but the ``dot`` program is not on PATH."""


def dot_source(dot: graphviz.Digraph | str) -> str:
    return dot if isinstance(dot, str) else dot.source


def dot_installed() -> bool:
    return shutil.which("dot") is not None


def to_svg(dot: graphviz.Digraph | str) -> str:
    """SVG text laid out by the ``dot`` program; :class:`DotNotInstalled` without it."""
    if not dot_installed():
        raise DotNotInstalled(NO_DOT_MESSAGE)
    try:
        return graphviz.Source(dot_source(dot)).pipe(format="svg", encoding="utf-8")
    except graphviz.ExecutableNotFound as exc:
        raise DotNotInstalled(NO_DOT_MESSAGE) from exc


@cache
def _vendored(path: Path) -> str:
    code = path.read_text(encoding="utf-8")
    code = "\n".join(line for line in code.splitlines()
                     if not line.startswith("//# sourceMappingURL="))
    if "</script" in code.lower():  # would end the <script> element it is inlined into
        raise ValueError(f"{path.name} cannot be inlined")
    return code


def _script_json(value: str) -> str:
    """A JSON string literal that is safe inside <script>: no <, > or & survive."""
    return (json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026"))


def _css_colour(value: str) -> str:
    """A colour for the style sheet: only the characters colours are written with, so a
    value cannot end a rule or the <style> element (an invalid colour is just ignored)."""
    return re.sub(r"[^#\w(),.%\s-]", "", value)


def to_html(dot: graphviz.Digraph | str, title: str = "Autograd graph",
            background: str = "white", text_colour: str = "#222222") -> str:
    """A self-contained page that lays the graph out in the browser (no ``dot`` needed):
    pan (drag), zoom (wheel, buttons), Fit, Reset and "Zoom to…" a node."""
    return _page(title, background, text_colour, height="100%", svg="", wheel="zoom",
                 layout=_browser_layout(dot))


def pan_zoom_html(dot: graphviz.Digraph | str, *, height_px: int, background: str,
                  text_colour: str, title: str = "Autograd graph") -> str:
    """A small self-contained page, ``height_px`` tall, for an iframe in a Streamlit page:
    the SVG ``dot`` drew, with the toolbar and pan-and-zoom of :func:`to_html`. The plain
    wheel scrolls the Streamlit page; Ctrl/⌘ + wheel, a trackpad's pinch, or the wheel
    after a click on the graph zooms (until Escape or a click elsewhere), as on a map.

    Without ``dot`` (the app itself does not need it, so a deployment may lack it) the
    graph is laid out in the browser as :func:`to_html` does: the page is then about
    800 KB instead of about 30 KB plus the SVG, but it still works offline.
    """
    if height_px < 100:
        raise ValueError(f"height_px must be at least 100, not {height_px}")
    try:
        svg = _svg_for_body(to_svg(dot))
    except (DotNotInstalled, graphviz.CalledProcessError):
        # dot missing or failing: the browser lays out (and reports a broken source).
        return _page(title, background, text_colour, height=f"{int(height_px)}px", svg="",
                     wheel="page", layout=_browser_layout(dot))
    return _page(title, background, text_colour, height=f"{int(height_px)}px", svg=svg,
                 wheel="page", start='\nshowGraph(document.querySelector("#graph svg"));')


# Markup that would run, or end an element the SVG sits in. In dot's SVG every label is
# text with <, > and & written as entities, so a match here is markup dot was asked for.
_ACTIVE_MARKUP = re.compile(
    r"<\s*/?\s*(script|style|foreignobject|iframe|object|embed)\b|<!--|<!\[cdata\[|<\?",
    re.IGNORECASE)


def _svg_for_body(svg: str) -> str:
    """dot's SVG ready to sit in the page's body: without the XML prolog, DOCTYPE and
    comments (HTML has no use for them, and the comments repeat node names)."""
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.DOTALL)
    start = re.search(r"<svg[\s>]", svg)
    if start is None:
        raise ValueError("dot's output holds no <svg> element")
    body = svg[start.start():].strip()
    if _ACTIVE_MARKUP.search(body):
        raise ValueError("the SVG holds markup that could run; it is not inlined")
    return body


def _page(title: str, background: str, text_colour: str, *, height: str, svg: str,
          wheel: str, start: str = "", layout: str = "") -> str:
    """The one page both exports are: toolbar, graph, message, then the scripts.
    ``wheel`` is "zoom" for a page of its own, "page" for a view inside a page (see
    _WIRING's wheelZoom)."""
    return _PAGE.format(
        title=html.escape(title),
        wheel=wheel,
        css=_CSS.format(background=_css_colour(background), text=_css_colour(text_colour),
                        height=height),
        toolbar=_TOOLBAR,
        svg=svg,
        pan_zoom=_vendored(PAN_ZOOM_JS),
        wiring=_WIRING,
        start=start,
        layout=layout,
    )


def _browser_layout(dot: graphviz.Digraph | str) -> str:
    """The scripts that lay the DOT out in the browser; the DOT only as a JSON literal."""
    return _BROWSER_LAYOUT.format(graphviz_module=_vendored(GRAPHVIZ_WASM_JS),
                                  source=_script_json(dot_source(dot)))


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>{css}</style>
</head>
<body data-state="loading" data-wheel="{wheel}">
{toolbar}
<div id="graph" tabindex="-1">{svg}</div>
<div id="message" role="alert"></div>
<script>{pan_zoom}
{wiring}{start}</script>{layout}
</body>
</html>
"""

# Large targets (at least 44 px) and type: the view is used on a projector.
_CSS = """
  html, body {{ margin: 0; height: {height}; background: {background}; color: {text};
               overflow: hidden; font-family: Helvetica, Arial, sans-serif; }}
  body {{ display: flex; flex-direction: column; }}
  #toolbar {{ display: flex; flex-wrap: wrap; align-items: center; gap: 8px; padding: 8px;
             border-bottom: 1px solid color-mix(in srgb, currentColor 25%, transparent); }}
  #toolbar button, #toolbar select {{
    font: inherit; font-size: 20px; min-height: 44px; border-radius: 8px; cursor: pointer;
    color: inherit; background: color-mix(in srgb, currentColor 7%, {background});
    border: 2px solid color-mix(in srgb, currentColor 45%, transparent); }}
  #toolbar button {{ min-width: 56px; padding: 0 14px; }}
  #toolbar button:hover, #toolbar select:hover {{
    background: color-mix(in srgb, currentColor 16%, {background}); }}
  #toolbar select {{ flex: 1 1 10em; min-width: 8em; max-width: 30em; padding: 0 10px; }}
  #hint {{ position: fixed; z-index: 1; right: 10px; bottom: 8px; font-size: 15px;
          padding: 2px 6px;
          border-radius: 4px; pointer-events: none; opacity: 0.8;
          background: color-mix(in srgb, {background} 85%, transparent); }}
  #graph {{ flex: 1; min-height: 0; position: relative; cursor: grab; }}
  #graph:active {{ cursor: grabbing; }}
  #graph:focus {{ outline: none; }}
  #graph.wheel-zooms {{ box-shadow: inset 0 0 0 3px color-mix(in srgb, currentColor 45%,
                                                             transparent); }}
  #graph svg {{ display: block; width: 100%; height: 100%; }}
  #graph .node.picked {{ filter: drop-shadow(0 0 3px #f59e0b) drop-shadow(0 0 8px #f59e0b); }}
  #message {{ position: fixed; bottom: 12px; left: 12px; color: #b3261e; font-size: 18px; }}
"""

_TOOLBAR = """<div id="toolbar" role="toolbar" aria-label="Graph view">
  <button id="zoom-in" title="Zoom in" aria-label="Zoom in">+</button>
  <button id="zoom-out" title="Zoom out" aria-label="Zoom out">&minus;</button>
  <button id="fit" title="Fit the whole graph">Fit</button>
  <button id="reset" title="Back to the start">Reset</button>
  <select id="zoom-to" title="Zoom to a node" aria-label="Zoom to a node">
    <option value="">Zoom to&hellip;</option>
  </select>
  <span id="hint">Drag to move, scroll to zoom</span>
</div>"""

# Plain JavaScript, no braces to double: showGraph(svg) adds pan and zoom to a drawn SVG
# and wires the toolbar. Node names reach the page only as DOM text (textContent, new
# Option), never as markup.
_WIRING = r"""
// Zooms are svg-pan-zoom's "real" ones: px per pt of dot's drawing, so at zoom 1 a
// 12 pt label is 12 px tall. `var`, not `const`: a page written again into the same
// window (document.write) must not fail on a second declaration.
var READABLE_ZOOM = 1;    // a graph that fits only smaller starts at this zoom instead
var MAX_START_ZOOM = 2;   // and a small one is not blown up past this at the start
var MAX_NODE_ZOOM = 4;    // "Zoom to…" magnifies at most this much
var NODE_FILL = 0.35;     // ...to make the node about this share of the view
var WHEEL_ZOOM_PER_PX = 0.002;  // a 100 px wheel notch zooms by e^0.2, about 1.22

function failed(error) {
  document.getElementById("message").textContent = "Could not draw the graph: " + error;
  document.body.dataset.state = "error";
}

function nodeText(node) {
  const lines = Array.from(node.querySelectorAll("text"), (t) => t.textContent.trim())
    .filter((line) => line);
  const text = lines.join(" · ") || node.querySelector("title")?.textContent || node.id;
  return text.length > 90 ? text.slice(0, 89) + "…" : text;
}

function listNodes(svg, picker) {
  const nodes = Array.from(svg.querySelectorAll("g.node[id]"));
  const boxes = new Map(nodes.map((node) => [node, node.getBBox()]));
  nodes.sort((a, b) => boxes.get(a).y - boxes.get(b).y || boxes.get(a).x - boxes.get(b).x);
  for (const node of nodes) picker.add(new Option(nodeText(node), node.id));
}

function zoomToNode(view, svg, node) {
  // The node's box in the pan-zoom viewport's units, from the live state (the DOM
  // transform catches up on the next frame, so screen rectangles may be stale).
  const viewport = svg.querySelector(".svg-pan-zoom_viewport");
  const toViewport = viewport.getCTM().inverse().multiply(node.getCTM());
  const box = node.getBBox();
  const corner = (x, y) => new DOMPoint(x, y).matrixTransform(toViewport);
  const a = corner(box.x, box.y), b = corner(box.x + box.width, box.y + box.height);
  const width = Math.abs(b.x - a.x), height = Math.abs(b.y - a.y);
  const sizes = view.getSizes();
  const wanted = Math.min(MAX_NODE_ZOOM, NODE_FILL * sizes.width / width,
                          NODE_FILL * sizes.height / height);
  view.zoom(view.getZoom() * wanted / sizes.realZoom);
  const zoom = view.getSizes().realZoom;
  view.pan({ x: sizes.width / 2 - zoom * (a.x + b.x) / 2,
             y: sizes.height / 2 - zoom * (a.y + b.y) / 2 });
}

function startView(view) {
  // The whole graph when it reads that way (a small one not blown up past
  // MAX_START_ZOOM); a bigger one at READABLE_ZOOM from its top-left corner, as a page
  // is read. Each axis that fits is centred. Fit still shows it all; Reset comes here.
  const sizes = view.getSizes(), box = sizes.viewBox, fitted = sizes.realZoom;
  const zoom = Math.min(Math.max(fitted, READABLE_ZOOM), MAX_START_ZOOM);
  const place = (room, start, length) =>
    (room > zoom * length ? (room - zoom * length) / 2 : 0) - zoom * start;
  view.zoom(view.getZoom() * zoom / fitted);
  view.pan({ x: place(sizes.width, box.x, box.width),
             y: place(sizes.height, box.y, box.height) });
  return { zoom: view.getZoom(), pan: view.getPan() };
}

function wheelZoom(view, svg, graph, hint) {
  // A page of its own (data-wheel="zoom") zooms with the wheel. Inside another page
  // ("page") the plain wheel is left to that page, which scrolls, as under a map: the
  // graph zooms with Ctrl/⌘ held (a trackpad's pinch arrives so) or after a click on
  // it, until Escape or a click anywhere else (the graph loses focus). svg-pan-zoom's
  // own wheel handler is off: it took every wheel and the page never scrolled.
  const always = document.body.dataset.wheel !== "page";
  let clicked = false, down = null;
  const say = () => {
    hint.textContent = always ? "Drag to move, scroll to zoom"
      : clicked ? "The wheel zooms: Esc or click outside to stop"
      : "Drag to move · Ctrl + wheel or click to zoom";
    graph.classList.toggle("wheel-zooms", clicked);
  };
  const choose = (on) => { clicked = on; say(); };
  graph.addEventListener("wheel", (event) => {
    if (!always && !clicked && !event.ctrlKey && !event.metaKey) {
      hint.hidden = false;  // the page scrolls; say how to zoom instead
      return;
    }
    event.preventDefault();
    const px = event.deltaY * (event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? 400 : 1);
    const at = new DOMPoint(event.clientX, event.clientY)
      .matrixTransform(svg.getScreenCTM().inverse());
    view.zoomAtPointBy(Math.exp(-px * WHEEL_ZOOM_PER_PX), { x: at.x, y: at.y });
  }, { passive: false });
  if (!always) {
    graph.addEventListener("pointerdown", (event) => { down = [event.clientX, event.clientY]; });
    graph.addEventListener("click", (event) => {  // a click, not the end of a drag
      if (down && Math.hypot(event.clientX - down[0], event.clientY - down[1]) < 5) {
        graph.focus({ preventScroll: true });
        choose(true);
        hint.hidden = false;
      }
    });
    graph.addEventListener("keydown", (event) => { if (event.key === "Escape") choose(false); });
    graph.addEventListener("blur", () => choose(false));
  }
  say();
}

function pick(svg, node) {
  for (const old of svg.querySelectorAll(".node.picked")) old.classList.remove("picked");
  if (node) node.classList.add("picked");
}

function showGraph(svg) {
  try {
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    const view = svgPanZoom(svg, { zoomScaleSensitivity: 0.3, minZoom: 0.05, maxZoom: 50,
                                   fit: true, center: true, mouseWheelZoomEnabled: false });
    // Deep in a big graph a node may need more than 50x the fitted size.
    view.setMaxZoom(Math.max(50, 2 * MAX_NODE_ZOOM / view.getSizes().realZoom));
    const start = startView(view);
    const byId = (id) => document.getElementById(id);
    const picker = byId("zoom-to");
    const unpick = () => { picker.value = ""; pick(svg, null); };
    byId("zoom-in").onclick = () => view.zoomIn();
    byId("zoom-out").onclick = () => view.zoomOut();
    byId("fit").onclick = () => { view.fit(); view.center(); unpick(); };
    byId("reset").onclick = () => { view.zoom(start.zoom); view.pan(start.pan); unpick(); };
    listNodes(svg, picker);
    picker.onchange = () => {
      const node = picker.value && svg.getElementById(picker.value);
      pick(svg, node);
      if (node) zoomToNode(view, svg, node);
    };
    wheelZoom(view, svg, byId("graph"), byId("hint"));
    const hideHint = () => { byId("hint").hidden = true; };  // learnt: out of the way
    svg.addEventListener("pointerdown", hideHint, { once: true });
    if (document.body.dataset.wheel !== "page") {
      svg.addEventListener("wheel", hideHint, { once: true, passive: true });
    }
    window.addEventListener("resize", () => view.resize());
    window.graphView = view;
    document.body.dataset.state = "ready";
  } catch (error) {
    failed(error);
  }
}
"""

_BROWSER_LAYOUT = """
<script id="graphviz-module" type="text/plain">{graphviz_module}</script>
<script type="module">
const source = {source};
try {{
  const code = document.getElementById("graphviz-module").textContent;
  const url = URL.createObjectURL(new Blob([code], {{ type: "text/javascript" }}));
  const {{ Graphviz }} = await import(url);
  const graphviz = await Graphviz.load();
  const container = document.getElementById("graph");
  container.innerHTML = graphviz.layout(source, "svg", "dot");
  showGraph(container.querySelector("svg"));
}} catch (error) {{
  failed(error);
}}
</script>"""
