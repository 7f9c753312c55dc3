"""The path on the landscape, in the Training panel: the chosen step's loss as a function
of one parameter (the marble on its curve, each step's jump drawn) or of two (the path
across the contour map), the other parameters held at that step's values.

The engine derives the loss's own program from the training program and checks it gives
back the losses the run recorded (engine.teaching.landscape); a program where it does not
gets the engine's sentence instead of a curve that is not the one the steps descended.
Figures are plain specs (ui.training.plots), cached per program, step and parameters.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from engine import RunResult
from engine.teaching.landscape import LandscapeRefusal, landscape_program, loss_curve, loss_grid
from ui.plots import as_figure
from ui.show import Setup
from ui.training.plots import contour_spec, describe_contour, describe_marble, marble_spec

PARAMS_KEY = "pg_land"


def scalar_parameters(result: RunResult, step: int) -> list[str]:
    """The single-number leaves the chosen step recorded: what a landscape can vary."""
    leaves = result.training[step - 1]["leaves"]
    return [name for name, leaf in leaves.items()
            if "value" in leaf["value"] and "." not in name]


@st.cache_data(max_entries=64, show_spinner=False)
def landscape_figure(setup: Setup, step: int, params: tuple[str, ...], projector: bool,
                     _training: list[dict[str, Any]]) -> tuple[dict[str, Any], str] | str:
    """``(spec, description)`` of the landscape at ``step`` over ``params``, or the
    sentence saying why there is none. ``_training`` is ``setup``'s run's steps (not
    hashed: the setup determines them)."""
    made = landscape_program(setup.source, _training, step, params, setup.values,
                             requires_grad=setup.requires_grad)
    if isinstance(made, LandscapeRefusal):
        return made.message
    if len(params) == 1:
        curve = loss_curve(made)
        if isinstance(curve, LandscapeRefusal):
            return curve.message
        xs, ys = curve
        return (marble_spec(params[0], made.loss_name, xs, ys, made.path, made.chosen,
                            projector),
                describe_marble(params[0], made.loss_name, xs, ys, made.path, made.chosen))
    grid = loss_grid(made)
    if isinstance(grid, LandscapeRefusal):
        return grid.message
    xs, ys, values = grid
    names = (params[0], params[1])
    return (contour_spec(names, made.loss_name, xs, ys, values, made.path, made.chosen,
                         projector),
            describe_contour(names, made.loss_name, made.path, made.chosen, values))


def show_landscape(setup: Setup, result: RunResult, step: int, *, projector: bool = False,
                   preferred: tuple[str, ...] = ()) -> None:
    """The parameter picker (one or two) and the landscape at ``step``."""
    names = scalar_parameters(result, step)
    if not names:
        st.caption("The landscape varies single-number parameters; this program's leaves "
                   "are tensors.")
        return
    first = [n for n in preferred if n in names] + [n for n in names if n not in preferred]
    kept = [n for n in st.session_state.get(PARAMS_KEY, []) if n in names][:2]
    st.session_state[PARAMS_KEY] = kept or first[:2]
    params = st.multiselect("Landscape over", names, key=PARAMS_KEY, max_selections=2,
                            help="One parameter: the loss along it, a marble at each step. "
                                 "Two: the loss's contour map and the path the steps took.")
    if not params:
        return
    base = Setup(setup.source, setup.inputs, setup.constants, setup.no_grad, setup.detach,
                 setup.retain_grad, setup.output)
    with st.spinner("Drawing the landscape…"):
        drawn = landscape_figure(base, step, tuple(params), projector, result.training)
    if isinstance(drawn, str):
        st.caption(f"No landscape: {drawn}")
        return
    spec, description = drawn
    st.plotly_chart(as_figure(spec), width="stretch", key="pg_landscape",
                    alt=description)
