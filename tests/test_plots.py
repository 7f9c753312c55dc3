"""The plot specs are valid plotly figures: the app builds them without plotly's
validation (ui.plots.as_figure), so this is where they are validated, for every shape a
page can ask for."""

from __future__ import annotations

import itertools
import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from ui.plots import (
    CurveView,
    as_figure,
    derivative_spec,
    function_spec,
    second_derivative_spec,
)

XS = np.linspace(-3, 3, 201)
with np.errstate(divide="ignore"):
    POLE = 1 / XS  # an infinite value at 0: drawn as a gap, and a y range that ignores it

VIEWS = [CurveView("w", "loss", XS, ys, 2 * XS, 1.0, 0.5, dy0, hand, big)
         for ys, dy0, hand, big in itertools.product(
             [np.sin(XS**2), POLE], [2.0, None, float("nan")], [None, 2 * XS], [False, True])]


@pytest.mark.parametrize("view", VIEWS)
@pytest.mark.parametrize("spec_of", [function_spec, derivative_spec,
                                     lambda view: second_derivative_spec(view, view.ys),
                                     lambda view: second_derivative_spec(
                                         view, np.full_like(view.xs, np.nan))])
def test_specs_are_valid_plotly_and_unchanged_by_validation(view, spec_of) -> None:
    spec = spec_of(view)
    validated = go.Figure(spec)  # raises ValueError on any invalid property
    assert json.loads(pio.to_json(validated, validate=False)) == json.loads(
        pio.to_json(as_figure(spec), validate=False))


def test_the_function_plot_shows_the_point_and_its_tangent() -> None:
    view = CurveView("x", "y", XS, XS**2, 2 * XS, 1.5, 2.25, 3.0)
    traces = function_spec(view)["data"]
    assert [t["name"] for t in traces] == ["y(x)", "tangent, slope 3", "x = 1.5"]
    tangent = traces[1]
    # The tangent at x0 = 1.5 of x**2: y = 2.25 + 3 (x - 1.5), by hand.
    np.testing.assert_allclose(tangent["y"], 2.25 + 3.0 * (tangent["x"] - 1.5))
    assert traces[2]["x"] == [1.5] and traces[2]["y"] == [2.25]

