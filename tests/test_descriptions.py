"""Every graph, plot and frame on every page carries a description a screen reader reads.

WCAG 1.1.1 (non-text content): Streamlit writes ``alt=`` as the chart's aria-label (an
iframe's title). Each page is opened as a learner opens it (the Playground in each graph
view, on the BCE neuron; every lesson), and every graphviz chart, plotly chart and iframe
must have a description that names something the picture really shows: a box of the
graph (a name or operation from the DOT's own tooltips), or a number the plot draws.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest_tools import open_page, plotly_array, start
from ui.examples import BCE_CODE
from ui.share import VIEWS

pytestmark = pytest.mark.usefixtures("fresh_caches")

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted(p.stem for p in (ROOT / "app_pages").glob("*.py") if p.stem != "playground")
BCE_LINK = {"code": BCE_CODE, "in": ["x:6.7", "y:0"], "const": ["x", "y"]}
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
# A box's tooltip: in DOT (tooltip="z | AddBackward0 | ...") and in dot's SVG, which the
# pan-and-zoom frame holds (xlink:title="z | AddBackward0 | ...").
TOOLTIP = re.compile(r'(?:tooltip|xlink:title)="((?:[^"\\]|\\.)*)"')


def charts(at: AppTest) -> list[tuple[str, object]]:
    found = [(kind, element.proto) for kind in ("graphviz_chart", "plotly_chart", "iframe")
             for element in at.get(kind)]
    assert found, "the page shows no chart at all: is it the page meant?"
    return found


def box_names(text: str) -> set[str]:
    """The first field of every box's tooltip (its variable name, else its operation)."""
    return {t.split(" | ")[0].strip() for t in TOOLTIP.findall(text)} - {""}


def plotted_numbers(spec: str) -> list[float]:
    figure = json.loads(spec)
    values: list[float] = []
    for trace in figure["data"]:
        for axis in ("x", "y", "z"):
            if trace.get(axis) is not None:
                data = np.asarray(plotly_array(trace[axis]), dtype=float).ravel()
                values += [float(v) for v in data if math.isfinite(v)]
    return values


def names_something_real(kind: str, proto: object) -> bool:
    alt = proto.alt
    if kind == "plotly_chart":
        plotted = plotted_numbers(proto.spec)
        said = [float(n) for n in NUMBER.findall(alt)]
        return any(math.isclose(s, p, rel_tol=1e-3, abs_tol=1e-3) for s in said
                   for p in plotted)
    shown = box_names(proto.spec if kind == "graphviz_chart" else proto.srcdoc)
    return any(re.search(rf"(?<!\w){re.escape(name)}(?!\w)", alt) for name in shown)


def check(at: AppTest) -> None:
    assert not at.exception, at.exception
    for kind, proto in charts(at):
        assert proto.alt.strip(), f"a {kind} without a description"
        assert names_something_real(kind, proto), (kind, proto.alt)


@pytest.mark.parametrize("view", list(VIEWS))
def test_every_playground_view_describes_its_charts(view):
    check(start({**BCE_LINK, "view": view}))


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_lesson_describes_its_charts(lesson):
    check(open_page(lesson))


def test_the_check_refuses_a_description_that_names_nothing_shown():
    """The rule itself: a description of another graph, or of numbers not plotted, fails."""
    at = start(BCE_LINK)
    graph = at.get("graphviz_chart")[0].proto
    plot = at.get("plotly_chart")[0].proto
    graph.alt, plot.alt = "Annotated autograd graph: 2 boxes. q: leaf.", "A curve at 123456."
    assert not names_something_real("graphviz_chart", graph)
    assert not names_something_real("plotly_chart", plot)
