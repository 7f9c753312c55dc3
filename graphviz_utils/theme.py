"""Colours, fonts and line styles of the graph: the one place to change how a kind looks.

Every node of a drawing has a *kind* and every edge a *line*; a :class:`Theme` maps each
to its look, and the legend is written from the same table, so a colour can never be
drawn without its explanation. The meanings follow torchviz (leaves blue, outputs green,
saved tensors orange, operations grey) so notebook users recognise them. To add a kind,
add it to ``KIND_MEANINGS`` and to each theme's ``nodes``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

# What each node kind means, in the legend's words (order = legend order).
KIND_MEANINGS: dict[str, str] = {
    "leaf": "leaf: a tensor you made with requires_grad=True; backward fills its .grad",
    # The program as written (graphviz_utils.written): inputs and the lines that assign.
    "input": "input with requires_grad=True: autograd follows it",
    "input_off": "input with requires_grad=False (or a plain number): a constant to "
                 "autograd",
    "statement": "a line you wrote that autograd recorded",
    "statement_off": "a line you wrote that autograd did not record (the box says why)",
    "op": "operation autograd recorded (its grad_fn)",
    "view": "view operation (rounded box): shares memory with its input",
    "output": "output (double border): backward starts here with gradient 1",
    "base": "base tensor of an output that is a view (cut corners)",
    "saved": "tensor saved for backward (folded corner, like a note)",
    "untracked": "not recorded by autograd: no gradient flows through it",
    "folded": "folded: many operations drawn as one box",
    "custom": "your own autograd.Function: backward runs the backward you wrote",
    "module": "a module call drawn as one box (its operations and parameters inside)",
}

# What each line style means.
LINE_MEANINGS: dict[str, str] = {
    "recorded": "recorded: the gradient flows back along this arrow",
    "untracked": "not recorded (no_grad, detach, requires_grad off): no gradient",
    "saved": "saved for backward",
    "base": "view of its base tensor",
    "flowing": "this step: the gradient sent back to this input (against the arrow)",
}

# The box backward is running at the current step (drawn with the theme's highlight).
CURRENT_MEANING = "this step: the node backward is running now"

# The frame drawn around one call of a module (``model(x)``, ``self.fc1(x)``).
CLUSTER_MEANING = ("frame: one call of a module (model(x), self.fc1(x)); its operations "
                   "and its own parameters are inside")


@dataclass(frozen=True)
class NodeLook:
    """Fill, border and text colour of one kind, and its Graphviz style words.

    Colour is never the only difference between two kinds that can be drawn together:
    style, shape or peripheries (a double border) tell them apart too, or the box's own
    words do (tests/test_theme_access.py checks it, and every text colour's contrast on
    its fill)."""

    fill: str
    border: str
    text: str
    style: str = "filled"  # e.g. "filled,dashed", "filled,rounded"
    shape: str = "box"
    peripheries: int = 1  # 2: a double border


@dataclass(frozen=True)
class LineLook:
    colour: str
    style: str = "solid"  # solid | dashed | dotted
    arrow: bool = True


@dataclass(frozen=True)
class ClusterLook:
    """The frame around a module call: its fill by nesting depth (outermost first, the
    last repeats), its border and its label's colour. Fills stay pale (dark: deep) so the
    boxes inside keep their contrast."""

    fills: tuple[str, ...]
    border: str
    text: str
    style: str = "filled,rounded"


@dataclass(frozen=True)
class Theme:
    """Everything the renderer needs to know about looks."""

    name: str
    background: str
    text: str  # graph notes and the legend's words
    grad_text: str  # the gradient row stands out from the value row
    highlight: str  # the current step's box and the gradients it sends
    nodes: dict[str, NodeLook]
    lines: dict[str, LineLook]
    cluster: ClusterLook
    font: str = "Helvetica"  # single names: Graphviz in the browser sizes text by them
    mono_font: str = "Courier"
    font_size: float = 12.0
    bold_numbers: bool = False  # values and gradients in bold (reads better from afar)
    pen_width: float = 1.2
    node_sep: float = 0.35
    rank_sep: float = 0.45


LIGHT = Theme(
    name="light",
    background="white",
    text="#222222",
    grad_text="#b3261e",
    highlight="#c2185b",
    nodes={
        "leaf": NodeLook("#cfe8ff", "#1f5fa8", "#0b2545"),
        "op": NodeLook("#ececec", "#6b6b6b", "#1a1a1a"),
        "view": NodeLook("#ececec", "#6b6b6b", "#1a1a1a", style="filled,rounded"),
        "output": NodeLook("#d4f5a3", "#4a7a12", "#1d3306", peripheries=2),
        "base": NodeLook("#c0e592", "#4a7a12", "#1d3306", style="filled,diagonals"),
        "saved": NodeLook("#ffd8a8", "#c46a00", "#3d2200", shape="note"),
        "untracked": NodeLook("#ffffff", "#8a8a8a", "#555555", style="filled,dashed"),
        "input": NodeLook("#cfe8ff", "#1f5fa8", "#0b2545"),
        "input_off": NodeLook("#f0f6fc", "#6f94bf", "#33475c", style="filled,dashed"),
        "statement": NodeLook("#ececec", "#6b6b6b", "#1a1a1a"),
        "statement_off": NodeLook("#fff4cc", "#9a7400", "#3d2e00", style="filled,dashed"),
        "folded": NodeLook("#f3e8ff", "#7e57c2", "#2e1a47", style="filled,rounded",
                           shape="box3d"),
        "custom": NodeLook("#fde2cf", "#b5470b", "#3b1500", style="filled,bold",
                           shape="component"),
        "module": NodeLook("#e3f2ef", "#00695c", "#00332c", style="filled,bold",
                           shape="box3d"),
    },
    cluster=ClusterLook(fills=("#f4f8fb", "#e9f1f7"), border="#4f7391", text="#1c3549"),
    lines={
        "recorded": LineLook("#333333"),
        "untracked": LineLook("#8a8a8a", "dashed"),
        "saved": LineLook("#c46a00", "dotted", arrow=False),
        "base": LineLook("#4a7a12", "dotted"),
        "flowing": LineLook("#c2185b"),
    },
)

DARK = Theme(
    name="dark",
    background="#0e1117",  # Streamlit's dark background
    text="#e6e6e6",
    grad_text="#ff8a80",
    highlight="#ff4f9a",
    nodes={
        "leaf": NodeLook("#163a5f", "#6cb4ff", "#e8f3ff"),
        "op": NodeLook("#2b2f38", "#9aa0aa", "#f0f0f0"),
        "view": NodeLook("#2b2f38", "#9aa0aa", "#f0f0f0", style="filled,rounded"),
        "output": NodeLook("#27400f", "#a5d65a", "#f1ffe0", peripheries=2),
        "base": NodeLook("#22400c", "#a5d65a", "#f1ffe0", style="filled,diagonals"),
        "saved": NodeLook("#5a3500", "#ffb35c", "#fff1e0", shape="note"),
        "untracked": NodeLook("#0e1117", "#9aa0aa", "#c0c4cc", style="filled,dashed"),
        "input": NodeLook("#163a5f", "#6cb4ff", "#e8f3ff"),
        "input_off": NodeLook("#0f1e2e", "#5f8fbf", "#c8dcf0", style="filled,dashed"),
        "statement": NodeLook("#2b2f38", "#9aa0aa", "#f0f0f0"),
        "statement_off": NodeLook("#3a2f00", "#e0b43c", "#fff3cc", style="filled,dashed"),
        "folded": NodeLook("#33234d", "#b39ddb", "#f3ecff", style="filled,rounded",
                           shape="box3d"),
        "custom": NodeLook("#4a2410", "#ff9e5e", "#fff0e4", style="filled,bold",
                           shape="component"),
        "module": NodeLook("#0f3b35", "#4fd1bd", "#e0fffa", style="filled,bold",
                           shape="box3d"),
    },
    cluster=ClusterLook(fills=("#151b24", "#1c2431"), border="#8fb3d9", text="#dbe9f7"),
    lines={
        "recorded": LineLook("#d0d4dc"),
        "untracked": LineLook("#9aa0aa", "dashed"),
        "saved": LineLook("#ffb35c", "dotted", arrow=False),
        "base": LineLook("#a5d65a", "dotted"),
        "flowing": LineLook("#ff4f9a"),
    },
)

# For a lecture hall: the light colours with big type, thick lines and stronger borders.
PROJECTOR = replace(
    LIGHT,
    name="projector",
    text="#000000",
    grad_text="#a00000",
    font_size=16.0,  # 21 px in the browser: the projector page's body size (22 px)
    bold_numbers=True,
    pen_width=3.0,
    node_sep=0.5,
    rank_sep=0.7,
    nodes={kind: replace(look, border="#555555" if "dashed" in look.style else "#000000",
                         text="#000000")
           for kind, look in LIGHT.nodes.items()},
    lines={line: replace(look, colour="#000000" if line == "recorded" else look.colour)
           for line, look in LIGHT.lines.items()},
    cluster=replace(LIGHT.cluster, border="#1c3549", text="#000000"),
)

THEMES: dict[str, Theme] = {theme.name: theme for theme in (LIGHT, DARK, PROJECTOR)}


def get_theme(theme: str | Theme) -> Theme:
    """A theme by name (``light``, ``dark``, ``projector``) or the theme itself."""
    if isinstance(theme, Theme):
        return theme
    try:
        return THEMES[theme]
    except KeyError:
        raise ValueError(f"unknown theme {theme!r}; choose one of {sorted(THEMES)}") \
            from None
