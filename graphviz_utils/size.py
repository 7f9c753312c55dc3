"""How wide a graph will be drawn, estimated from its DOT text without laying it out.

The Playground draws the annotated graph beside the editor when it fits there and across
the page when it does not: graphs keep their natural size (text never shrinks below
readable), so a graph twice the column's width would show a slice of itself. The browser
lays the graph out (Graphviz in WebAssembly), after the page has chosen where to put it,
and the app does not need Graphviz's ``dot``; so the page decides from this estimate.

Graphviz's ``dot`` puts each node on a rank (top to bottom, edges pointing down) and the
ranks side by side; the estimate does the same with longest-path ranks and each box's
widest text row at the fonts the renderer chose (Helvetica about 0.55 em a character,
Courier 0.6 em). tests/test_graph_size.py holds it to ``dot``'s own layout.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from functools import lru_cache

_GRAPH_ATTRS = re.compile(r"^\s*graph \[(.*)\]\s*$", re.M)
_NODE_DEFAULTS = re.compile(r"^\s*node \[(.*)\]\s*$", re.M)
_EDGE_DEFAULTS = re.compile(r"^\s*edge \[(.*)\]\s*$", re.M)
_EDGE_LABEL = re.compile(r'\blabel="((?:[^"\\]|\\.)*)"')
_EDGE_PASSING_PT = 8.0  # an edge crossing a rank: its line and a little room
NODE_STATEMENT = re.compile(r"^\s*(\w+) \[label=<(.*)>(.*)\]\s*$", re.M)
EDGE_STATEMENT = re.compile(r"^\s*(\w+) -> (\w+)(?: \[(.*)\])?\s*$", re.M)
_ROW = re.compile(r"<TR[^>]*>(.*?)</TR>", re.S)
_CELL = re.compile(r"<TD([^>]*)>(.*?)</TD>", re.S)
_POINT_SIZE = re.compile(r'POINT-SIZE="([\d.]+)"')
_TAG = re.compile(r"<[^>]+>")
_BREAK = re.compile(r"<BR[^>]*/?>")
POINTS_PER_INCH = 72.0
CSS_PX_PER_POINT = 96.0 / 72.0  # how the browser draws Graphviz's points


def _attribute(attributes: str, name: str, default: float) -> float:
    found = re.search(rf"\b{name}=\"?([\d.]+)", attributes)
    return float(found.group(1)) if found else default


def _text_width(cell: str, font_size: float) -> float:
    """Points taken by the widest line of one table cell."""
    sizes = [float(s) for s in _POINT_SIZE.findall(cell)] or [font_size]
    size = max(sizes)
    em = 0.6 if "Courier" in cell else 0.58 if "<B>" in cell else 0.55
    lines = [html.unescape(_TAG.sub("", line)) for line in _BREAK.split(cell)]
    return max((len(line) for line in lines), default=0) * size * em


def _box_width(label: str, attributes: str, font_size: float) -> float:
    """A node's width in points: its widest row (cells side by side) and its margin."""
    font_size = _attribute(attributes, "fontsize", font_size)
    rows = _ROW.findall(label) or [label]
    widest = 0.0
    for row in rows:
        cells = _CELL.findall(row) or [("", row)]
        widest = max(widest, sum(max(_text_width(text, font_size),
                                     _attribute(cell_attributes, "WIDTH", 0.0))
                                 for cell_attributes, text in cells))
    margin = 0.0 if "shape=plain" in attributes else 2 * 0.2 * POINTS_PER_INCH
    return widest + margin + 4.0


def longest_path_ranks(nodes: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Each node's rank: the longest path to it from a node with no incoming edge."""
    incoming: dict[str, list[str]] = defaultdict(list)
    for source, target in edges:
        incoming[target].append(source)
    rank: dict[str, int] = {}
    for start in nodes:
        stack = [start]
        while stack:  # iterative depth-first: graphs can be thousands of nodes deep
            node = stack[-1]
            if node in rank:
                stack.pop()
                continue
            waiting = [s for s in incoming[node] if s not in rank and s not in stack]
            if waiting:
                stack.extend(waiting)
                continue
            rank[node] = 1 + max((rank[s] for s in incoming[node] if s in rank), default=-1)
            stack.pop()
    return rank


def tight_ranks(nodes: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Ranks as ``dot`` packs them: longest-path ranks from the top, then every node with
    more edges out than in moved down as far as its uses allow. ``dot`` minimises the total
    length of the edges, so a leaf read late in the program sits just above its use (``b``
    beside ``w * x``), not on the top rank with the other leaves."""
    rank = longest_path_ranks(nodes, edges)
    incoming: dict[str, list[str]] = defaultdict(list)
    outgoing: dict[str, list[str]] = defaultdict(list)
    for source, target in edges:
        if source != target:
            incoming[target].append(source)
            outgoing[source].append(target)
    for _ in range(len(nodes)):  # each pass settles at least one more node
        moved = False
        for node in nodes:
            if outgoing[node] and len(outgoing[node]) > len(incoming[node]):
                lowest = min(rank[t] for t in outgoing[node]) - 1
                if lowest > rank[node]:
                    rank[node], moved = lowest, True
        if not moved:
            break
    # A node with as many edges in as out is as short wherever it sits between its inputs
    # and its uses; dot's balancing puts it on the least crowded of those ranks.
    crowd: dict[int, int] = defaultdict(int)
    for node in nodes:
        crowd[rank[node]] += 1
    for node in nodes:
        if incoming[node] and len(incoming[node]) == len(outgoing[node]):
            highest = max(rank[s] for s in incoming[node]) + 1
            lowest = min(rank[t] for t in outgoing[node]) - 1
            best = min(range(highest, lowest + 1), key=lambda r: (crowd[r], r), default=None)
            if best is not None and crowd[best] < crowd[rank[node]] - 1:
                crowd[rank[node]] -= 1
                rank[node] = best
                crowd[best] += 1
    return rank


@lru_cache(maxsize=256)
def estimated_width_px(dot_source: str) -> float:
    """The width, in CSS pixels, the browser will draw ``dot_source`` at (top-to-bottom
    graphs as graphviz_utils renders them). Cached per source: a class opening one link
    asks about the same graph a hundred times."""
    graph = _GRAPH_ATTRS.search(dot_source)
    graph_attributes = graph.group(1) if graph else ""
    defaults = _NODE_DEFAULTS.search(dot_source)
    font_size = _attribute(defaults.group(1) if defaults else "", "fontsize", 14.0)
    widths = {name: _box_width(label, attributes, font_size)
              for name, label, attributes in NODE_STATEMENT.findall(dot_source)}
    if not widths:
        return 0.0
    edge_font = _EDGE_DEFAULTS.search(dot_source)
    edge_font_size = _attribute(edge_font.group(1) if edge_font else "", "fontsize",
                                font_size)
    edges = [(s, t, attributes or "") for s, t, attributes in EDGE_STATEMENT.findall(dot_source)
             if s in widths and t in widths]
    node_gap = _attribute(graph_attributes, "nodesep", 0.25) * POINTS_PER_INCH
    pad = _attribute(graph_attributes, "pad", 0.0555) * POINTS_PER_INCH
    ranks = tight_ranks(list(widths), [(s, t) for s, t, _ in edges])
    # Ranks are doubled: a box on rank r sits on row 2r; what runs between ranks (an edge's
    # label, an edge passing a rank on its way down) takes room on the rows between.
    rows: dict[int, list[float]] = defaultdict(list)
    for name, rank in ranks.items():
        rows[2 * rank].append(widths[name])
    for source, target, attributes in edges:
        if "invis" in attributes or source == target:
            continue
        top, bottom = sorted((ranks[source], ranks[target]))
        label = _EDGE_LABEL.search(attributes)
        if label:
            rows[2 * top + 1].append(_text_width(label.group(1), edge_font_size))
        for row in range(2 * top + 2, 2 * bottom, 2):  # a long edge's virtual node
            rows[row].append(_EDGE_PASSING_PT)
    widest = max(sum(row) + node_gap * (len(row) - 1) for row in rows.values())
    return (widest + 2 * pad) * CSS_PX_PER_POINT
