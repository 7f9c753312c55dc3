"""The graph's colours are readable and never the only way to tell two kinds of box apart.

WCAG 2.1: text needs a contrast ratio of at least 4.5:1 with what is behind it (1.4.3),
and colour must not be the only visual means of conveying information (1.4.1). The ratio
is computed here from WCAG's own definition of relative luminance, not from any library
the app uses. Colour-vision deficiencies are simulated with colorspacious (Machado et
al. 2009, the model behind most simulators), and distances measured in CAM02-UCS.
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from colorspacious import cspace_convert, deltaE

from engine import run_program
from graphviz_utils.from_result import from_result
from graphviz_utils.labels import node_label
from graphviz_utils.theme import KIND_MEANINGS, THEMES, Theme
from graphviz_utils.written import written_drawing
from ui.examples import BCE_CODE, TRAINING_CODE

WCAG_TEXT = 4.5

# Kinds that can be drawn in one picture. The recorded graphs (annotated, step through,
# pan and zoom, the gradient's graph) come from graphviz_utils.from_result and fold.py;
# "Written vs recorded" draws the program as written (graphviz_utils.written) beside one.
TOGETHER = {
    "recorded": frozenset({"leaf", "op", "view", "output", "base", "saved", "untracked",
                           "folded", "custom", "module"}),
    "written": frozenset({"input", "input_off", "statement", "statement_off", "leaf",
                          "output"}),
}

# Kinds of one picture that look alike except for colour are told apart by their words: a
# pattern only the first kind's boxes show (checked on real drawings below).
WORDS = {
    ("recorded", "op", "leaf"): r"Backward",  # an operation names its grad_fn; a leaf none
    ("written", "statement", "input"): r"<B>line \d+: ",  # a line of the program
    ("written", "statement_off", "input_off"): r"<B>line \d+: ",
    ("written", "leaf", "input"): r"<B>line \d+: ",  # a leaf the program made: its line
    ("written", "leaf", "statement"): r"a new leaf",
}
PROGRAMS = [
    ("y = x**2\nz = torch.sin(y)\n", {"x": "4"}),
    (BCE_CODE, {"x": "6.7", "y": "0"}),
    ("w = torch.tensor(2.0, requires_grad=True)\nwith torch.no_grad():\n    c = x * 3\n"
     "y = w * c + x.view(1)[0]\n", {"x": "1.5"}),
    (TRAINING_CODE, {}),
]


def luminance(colour: str) -> float:
    """WCAG 2.1's relative luminance of an sRGB colour (#rrggbb or white)."""
    colour = {"white": "#ffffff", "black": "#000000"}.get(colour, colour)
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_formula_matches_published_values():
    """Black on white is 21:1; #767676 is the lightest grey passing 4.5:1 on white and
    #777777 just fails (WebAIM's checker); equal colours are 1:1."""
    assert contrast("#000000", "white") == pytest.approx(21.0)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert contrast("#777777", "#ffffff") < WCAG_TEXT
    assert contrast("#ee4c2c", "#ee4c2c") == pytest.approx(1.0)


def text_pairs(theme: Theme) -> list[tuple[str, str, str]]:
    """Every (what, text colour, colour behind it) the renderer draws: a box's rows in its
    kind's text colour, its gradient row in grad_text, the legend and arrow labels on the
    background or inside a module's frame, a frame's title, the gradient sent back at the
    current step (its arrow's colour) beside its arrow."""
    pairs = []
    for kind, look in theme.nodes.items():
        pairs += [(f"{kind} text", look.text, look.fill),
                  (f"{kind} gradient row", theme.grad_text, look.fill)]
    for behind in (theme.background, *theme.cluster.fills):
        pairs += [("notes and arrow labels", theme.text, behind),
                  ("gradient sent back", theme.lines["flowing"].colour, behind)]
    pairs += [("frame title", theme.cluster.text, fill) for fill in theme.cluster.fills]
    return pairs


@pytest.mark.parametrize("name", sorted(THEMES))
def test_every_text_in_the_graph_has_contrast(name):
    poor = [(what, text, behind, round(contrast(text, behind), 2))
            for what, text, behind in text_pairs(THEMES[name])
            if contrast(text, behind) < WCAG_TEXT]
    assert not poor, poor


def look_without_colour(theme: Theme, kind: str) -> tuple:
    look = theme.nodes[kind]
    return frozenset(look.style.split(",")), look.shape, look.peripheries


@pytest.mark.parametrize("name", sorted(THEMES))
def test_kinds_drawn_together_differ_by_more_than_colour(name):
    """Two kinds of one picture differ in style, shape or border count, or their boxes'
    words differ (WORDS, checked on real drawings below)."""
    theme = THEMES[name]
    alike = []
    for view, group in TOGETHER.items():
        for a, b in itertools.combinations(sorted(group), 2):
            if (look_without_colour(theme, a) == look_without_colour(theme, b)
                    and (view, a, b) not in WORDS and (view, b, a) not in WORDS):
                alike.append((view, a, b))
    assert not alike, alike


def drawings():
    for code, values in PROGRAMS:
        result = run_program(code, values, isolate=False)
        assert result.error is None, result.error
        yield "recorded", from_result(result, show_saved=True)
        yield "written", written_drawing(result)


def test_the_words_that_tell_alike_kinds_apart_are_drawn():
    """On real drawings: each kind shown in ``TOGETHER`` is listed there, and every box of
    the first kind of a WORDS pair shows its words while no box of the second does."""
    shown: dict[tuple[str, str], list[str]] = {}
    for view, drawing in drawings():
        for node in drawing.nodes.values():
            assert node.kind in TOGETHER[view], (view, node.kind)
            shown.setdefault((view, node.kind), []).append(node_label(node, THEMES["light"]))
    for (view, first, second), pattern in WORDS.items():
        assert shown.get((view, first)), f"no {first} box drawn: add a program with one"
        assert all(re.search(pattern, label) for label in shown[view, first]), \
            (view, first, pattern)
        assert not any(re.search(pattern, label) for label in shown.get((view, second), [])), \
            (view, second, pattern)


def test_every_kind_has_legend_words():
    for theme in THEMES.values():
        assert set(theme.nodes) == set(KIND_MEANINGS)


def srgb(colour: str) -> np.ndarray:
    colour = {"white": "#ffffff"}.get(colour, colour)
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255


# Colour differences in CAM02-UCS: about 1 is just noticeable side by side; boxes of one
# graph are apart on the page, so ask for several times that.
DISTINCT = 6.0
DEFICIENCIES = ("deuteranomaly", "protanomaly", "tritanomaly")


@pytest.mark.parametrize("name", sorted(THEMES))
def test_kinds_told_apart_by_colour_stay_apart_for_colour_blind_eyes(name):
    """Kinds whose boxes differ only in colour and words (same style and shape) keep
    clearly different fills under full deuteranopia, protanopia and tritanopia; the
    others have a shape or border to go by."""
    theme = THEMES[name]
    close = []
    for group in TOGETHER.values():
        for a, b in itertools.combinations(sorted(group), 2):
            fill_a, fill_b = srgb(theme.nodes[a].fill), srgb(theme.nodes[b].fill)
            if (look_without_colour(theme, a) != look_without_colour(theme, b)
                    or np.allclose(fill_a, fill_b)):
                continue  # another look, or the same colour on purpose (words differ)
            for deficiency in DEFICIENCIES:
                space = {"name": "sRGB1+CVD", "cvd_type": deficiency, "severity": 100}
                seen = [np.clip(cspace_convert(f, space, "sRGB1"), 0, 1)
                        for f in (fill_a, fill_b)]
                distance = deltaE(*seen, input_space="sRGB1")
                if distance < DISTINCT:
                    close.append((a, b, deficiency, round(float(distance), 1)))
    assert not close, close
