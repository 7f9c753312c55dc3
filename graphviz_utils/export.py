"""Exports: DOT text, SVG from the ``dot`` program, and a standalone HTML page.

The HTML page lays the graph out in the browser with Graphviz compiled to WebAssembly
(@hpcc-js/wasm-graphviz, the engine Streamlit's own graph element uses) and adds pan and
zoom (svg-pan-zoom). Both libraries are inlined from ``vendor/``, so a teacher can save
the file and open it offline, on a machine without Graphviz installed.
"""

from __future__ import annotations

import html
import json
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


def to_html(dot: graphviz.Digraph | str, title: str = "Autograd graph",
            background: str = "white") -> str:
    """A self-contained HTML page: the graph, pan (drag), zoom (wheel, buttons), fit."""
    return _PAGE.format(
        title=html.escape(title),
        background=html.escape(background, quote=True),
        pan_zoom=_vendored(PAN_ZOOM_JS),
        graphviz_module=_vendored(GRAPHVIZ_WASM_JS),
        source=_script_json(dot_source(dot)),
    )


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
  html, body {{ margin: 0; height: 100%; background: {background}; overflow: hidden;
               font-family: Helvetica, Arial, sans-serif; }}
  #graph {{ position: absolute; inset: 0; }}
  #graph svg {{ width: 100%; height: 100%; }}
  #toolbar {{ position: fixed; top: 12px; right: 12px; z-index: 1; display: flex; gap: 6px; }}
  #toolbar button {{ font-size: 18px; min-width: 44px; min-height: 40px; border-radius: 6px;
                    border: 1px solid #888; background: #fafafa; cursor: pointer; }}
  #message {{ position: fixed; bottom: 12px; left: 12px; color: #b3261e; }}
</style>
</head>
<body data-state="loading">
<div id="toolbar">
  <button id="zoom-in" title="Zoom in">+</button>
  <button id="zoom-out" title="Zoom out">&minus;</button>
  <button id="fit" title="Fit the whole graph">Fit</button>
  <button id="reset" title="Back to the start">Reset</button>
</div>
<div id="graph"></div>
<div id="message"></div>
<script>{pan_zoom}</script>
<script id="graphviz-module" type="text/plain">{graphviz_module}</script>
<script type="module">
const source = {source};
const message = document.getElementById("message");
try {{
  const code = document.getElementById("graphviz-module").textContent;
  const url = URL.createObjectURL(new Blob([code], {{ type: "text/javascript" }}));
  const {{ Graphviz }} = await import(url);
  const graphviz = await Graphviz.load();
  const container = document.getElementById("graph");
  container.innerHTML = graphviz.layout(source, "svg", "dot");
  const svg = container.querySelector("svg");
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  const view = svgPanZoom(svg, {{ zoomScaleSensitivity: 0.3, minZoom: 0.05, maxZoom: 50,
                                  fit: true, center: true }});
  document.getElementById("zoom-in").onclick = () => view.zoomIn();
  document.getElementById("zoom-out").onclick = () => view.zoomOut();
  document.getElementById("fit").onclick = () => {{ view.fit(); view.center(); }};
  document.getElementById("reset").onclick = () => view.reset();
  window.graphView = view;
  document.body.dataset.state = "ready";
}} catch (error) {{
  message.textContent = "Could not draw the graph: " + error;
  document.body.dataset.state = "error";
}}
</script>
</body>
</html>
"""
