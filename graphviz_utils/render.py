"""A :class:`Drawing` to a ``graphviz.Digraph``: looks from the theme, labels from
:mod:`graphviz_utils.labels`, a legend for every colour and line style used.

Nothing here writes user text except through :mod:`graphviz_utils.labels`: ``text`` for
HTML-like labels (nodes, edges, notes) and ``quoted_attribute`` for tooltips.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, replace
from functools import cache

import graphviz
from graphviz.quoting import a_list, quote, quote_edge

from graphviz_utils.fold import fold
from graphviz_utils.labels import (
    as_summary,
    edge_label,
    node_label,
    quoted_attribute,
    text,
    tooltip,
)
from graphviz_utils.model import Cluster, Drawing, Node
from graphviz_utils.theme import (
    CLUSTER_MEANING,
    CURRENT_MEANING,
    KIND_MEANINGS,
    LINE_MEANINGS,
    LineLook,
    NodeLook,
    Theme,
    get_theme,
)

DIRECTIONS = {"TB": "TB", "LR": "LR", "top-down": "TB", "left-right": "LR"}
MODULE_MODES = ("boxes", "collapsed")
LINE_SAMPLES = {"solid": "━━━━▶", "dashed": "╍ ╍ ╍ ▶", "dotted": "┈┈┈┈┈"}
# The legend's sentences and the notes under a graph wrap at this many characters: on
# one line each, they were the widest thing in a small graph and pushed it past the
# column beside the editor (graphs are drawn at their own size, never squeezed).
WRAP_CHARS = 40


@dataclass(frozen=True)
class Style:
    """How to draw: ``theme`` light/dark/projector, ``direction`` TB (top-down) or LR,
    ``compact`` (operations and names only) or detailed (shape, value, gradient),
    ``legend`` on or off, ``max_nodes`` before folding starts, ``fold_loops``: a
    loop's repeated middle iterations drawn as one box (off: every iteration drawn), and
    ``modules``: each module call drawn as a labelled frame around its boxes ("boxes")
    or, innermost frames, as one box named by the frame's label ("collapsed")."""

    theme: str | Theme = "light"
    direction: str = "TB"
    compact: bool = False
    legend: bool = True
    max_nodes: int = 300
    fold_loops: bool = True  # a loop's middle iterations as one box (see fold.fold_loops)
    modules: str = "boxes"  # "boxes" (frames) or "collapsed" (see fold.collapse_modules)

    def __post_init__(self) -> None:
        get_theme(self.theme)  # raises for an unknown name
        if self.modules not in MODULE_MODES:
            raise ValueError(f"modules must be one of {MODULE_MODES}, not {self.modules!r}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {sorted(DIRECTIONS)}, "
                             f"not {self.direction!r}")
        if not 2 <= self.max_nodes <= 100_000:
            raise ValueError("max_nodes must be between 2 and 100000")


def render(drawing: Drawing, style: Style) -> graphviz.Digraph:
    theme = get_theme(style.theme)
    drawing = fold(drawing, style.max_nodes, style.fold_loops,
                   collapse=style.modules == "collapsed")
    dot = graphviz.Digraph(
        graph_attr={
            "rankdir": DIRECTIONS[style.direction], "bgcolor": theme.background,
            "fontname": theme.font, "fontcolor": theme.text,
            "fontsize": f"{theme.font_size:g}", "nodesep": f"{theme.node_sep:g}",
            "ranksep": f"{theme.rank_sep:g}", "pad": "0.25", "labelloc": "b",
            "labeljust": "l",
        },
        node_attr={
            "shape": "box", "style": "filled", "fontname": theme.font,
            "fontsize": f"{theme.font_size:g}", "penwidth": f"{theme.pen_width:g}",
            "margin": "0.2,0.08",
        },
        edge_attr={
            "penwidth": f"{theme.pen_width:g}", "arrowsize": "0.8",
            "fontname": theme.font, "fontsize": f"{theme.font_size * 0.85:g}",
            "fontcolor": theme.text,
        },
    )
    _write_boxes(dot, drawing, theme, style)
    if drawing.notes:
        dot.attr(label="<" + "".join(_wrapped(note) + '<BR ALIGN="LEFT"/>'
                                     for note in drawing.notes) + ">")
    if style.legend and drawing.nodes:
        kinds = {n.kind for n in drawing.nodes.values()}
        lines = {e.line for e in drawing.edges}
        current = any(n.current for n in drawing.nodes.values())
        frames = bool(_frames_drawn(drawing))
        dot.node("legend", legend_label(theme, kinds, lines, current, frames), shape="plain",
                 style="", fontcolor=theme.text, tooltip="legend")
        # After the last box (below it top-down, right of it left-right), so the wide
        # legend never shares a rank with the leaves and stretches their column.
        dot.edge(_last_box(drawing), "legend", style="invis")
    return dot


def _write_boxes(dot: graphviz.Digraph, drawing: Drawing, theme: Theme,
                 style: Style) -> None:
    """Every node and edge statement, appended to ``dot.body`` (the package's verbatim
    lines) exactly as ``dot.node``/``dot.edge`` would write them. Each kind's and line's
    look is the same for hundreds of boxes, so it is quoted once (and cached) instead of
    once per box: the package's per-call quoting was most of the time on a 500-box graph."""
    ids = {node_id: quote(node_id) for node_id in drawing.nodes}
    body = dot.body
    frames = _frames_drawn(drawing)
    inside: dict[str | None, list[Node]] = {}
    for node in drawing.nodes.values():
        inside.setdefault(node.module if node.module in frames else None, []).append(node)
    children: dict[str | None, list[Cluster]] = {}
    for cluster in frames.values():
        children.setdefault(cluster.parent if cluster.parent in frames else None,
                            []).append(cluster)

    def write_frame(frame: str | None, depth: int) -> None:
        indent = "\t" * (depth + 1)
        for node in inside.get(frame, ()):
            body.append(indent + _node_statement(node, ids[node.id], theme, style))
        for cluster in children.get(frame, ()):
            body.append(f"{indent}subgraph {quote('cluster_' + cluster.id)} {{\n"
                        f"{indent}\t{_frame_attributes(cluster, depth, theme)}\n")
            write_frame(cluster.id, depth + 1)
            body.append(f"{indent}}}\n")

    write_frame(None, 0)
    for edge in drawing.edges:
        label = (f"label={edge_label(edge.label)} " if edge.label and not style.compact
                 else "")
        tail = ids.get(edge.source) or quote_edge(edge.source)
        head = ids.get(edge.target) or quote_edge(edge.target)
        body.append(f"\t{tail} -> {head} [{label}"
                    f"{_edge_attributes(theme.lines[edge.line], edge.line, theme.pen_width)}]\n")


def _node_statement(node: Node, quoted_id: str, theme: Theme, style: Style) -> str:
    node.value, node.grad = as_summary(node.value), as_summary(node.grad)
    look = theme.nodes[node.kind]
    attributes = (_node_attributes(look) if not node.current else
                  _node_attributes(replace(look, border=theme.highlight))
                  + f" penwidth={theme.pen_width * 3:g} id=\"backward-running\"")
    return (f"{quoted_id} [label={node_label(node, theme, not style.compact)} "
            f"{attributes} tooltip={quoted_attribute(tooltip(node))}]\n")


def _frames_drawn(drawing: Drawing) -> dict[str, Cluster]:
    """The module frames to draw, outermost first: those around a drawn box (a frame
    whose boxes all folded away is not drawn empty)."""
    by_id = {c.id: c for c in drawing.clusters}
    drawn: set[str] = set()
    for node in drawing.nodes.values():
        frame = node.module
        while frame in by_id and frame not in drawn:
            drawn.add(frame)
            frame = by_id[frame].parent
    return {c.id: c for c in drawing.clusters if c.id in drawn}


def _frame_attributes(cluster: Cluster, depth: int, theme: Theme) -> str:
    """A frame's graph attributes as one statement: its label (the program's names,
    escaped like every label), at the top left, in the theme's frame colours."""
    look = theme.cluster
    fill = look.fills[min(depth, len(look.fills) - 1)]
    size = f"{theme.font_size:g}"
    return a_list(kwargs={
        "label": f'<<FONT POINT-SIZE="{size}"><B>{text(cluster.label)}</B></FONT>>',
        "labelloc": "t", "labeljust": "l", "style": look.style, "fillcolor": fill,
        "color": look.border, "fontcolor": look.text, "penwidth": f"{theme.pen_width:g}",
        "margin": "12"}) + f" tooltip={quoted_attribute(cluster.label)}"


@cache
def _node_attributes(look: NodeLook) -> str:
    double = {"peripheries": str(look.peripheries)} if look.peripheries != 1 else {}
    return a_list(kwargs={"fillcolor": look.fill, "color": look.border,
                          "fontcolor": look.text, "style": look.style, "shape": look.shape,
                          **double})


@cache
def _edge_attributes(look: LineLook, line: str, pen_width: float) -> str:
    attrs = {"color": look.colour, "style": look.style}
    if line == "flowing":
        attrs |= {"penwidth": f"{pen_width * 2.5:g}", "fontcolor": look.colour}
    if not look.arrow:
        attrs["dir"] = "none"
    if line == "saved":
        attrs["constraint"] = "false"  # saved tensors must not reshape the layout
    return a_list(kwargs=attrs)


def legend_label(theme: Theme, kinds: set[str], lines: set[str],
                 current: bool = False, frames: bool = False) -> str:
    """An HTML-like table: a swatch and a sentence for every kind and line drawn."""
    size = f"{theme.font_size * 0.9:.0f}"
    rows = ['<TR><TD COLSPAN="2" ALIGN="LEFT"><B>Legend</B></TD></TR>']
    sentence = f'<TD ALIGN="LEFT" BALIGN="LEFT"><FONT POINT-SIZE="{size}">'  # then </FONT></TD>
    if current:
        rows.append(f'<TR><TD COLOR="{theme.highlight}" BORDER="3" WIDTH="34"> </TD>'
                    f"{sentence}{_wrapped(CURRENT_MEANING)}</FONT></TD></TR>")
    if frames:
        rows.append(f'<TR><TD BGCOLOR="{theme.cluster.fills[0]}" COLOR="{theme.cluster.border}"'
                    f' BORDER="2" WIDTH="34"> </TD>{sentence}{_wrapped(CLUSTER_MEANING)}'
                    "</FONT></TD></TR>")
    for kind, meaning in KIND_MEANINGS.items():
        if kind not in kinds:
            continue
        look = theme.nodes[kind]
        dashed = ' STYLE="dashed"' if "dashed" in look.style else ""
        rows.append(f'<TR><TD BGCOLOR="{look.fill}" COLOR="{look.border}" BORDER="1"'
                    f'{dashed} WIDTH="34"> </TD>{sentence}{_wrapped(meaning)}</FONT></TD></TR>')
    for line, meaning in LINE_MEANINGS.items():
        if line not in lines:
            continue
        look = theme.lines[line]
        rows.append(f'<TR><TD><FONT COLOR="{look.colour}">{LINE_SAMPLES[look.style]}</FONT>'
                    f"</TD>{sentence}{_wrapped(meaning)}</FONT></TD></TR>")
    return (f'<<TABLE BORDER="1" COLOR="{theme.lines["recorded"].colour}" CELLBORDER="0" '
            f'CELLSPACING="4" CELLPADDING="3" BGCOLOR="{theme.background}">'
            + "".join(rows) + "</TABLE>>")


def _wrapped(sentence: str) -> str:
    """A sentence as label text in left-aligned lines of at most WRAP_CHARS (a word
    longer than that keeps its own line)."""
    return '<BR ALIGN="LEFT"/>'.join(
        text(line) for line in textwrap.wrap(sentence, WRAP_CHARS, break_long_words=False,
                                             break_on_hyphens=False))


def _last_box(drawing: Drawing) -> str:
    """The output box if there is one, else a box nothing reads from."""
    sources = {e.source for e in drawing.edges if e.line != "saved"}
    sinks = [n for n in drawing.nodes.values() if n.id not in sources]
    outputs = [n for n in sinks if n.kind == "output"]
    return (outputs or sinks or list(drawing.nodes.values()))[0].id
