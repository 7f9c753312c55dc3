"""The path on the landscape, in the Training panel: the chosen step's loss as a function
of one parameter (the marble on its curve, each step's jump drawn) or of two (the path
across the contour map), the other parameters held at that step's values.

The engine derives the loss's own program from the training program and checks it gives
back the losses the run recorded (engine.teaching.landscape); a program where it does not
gets the engine's sentence instead of a curve that is not the one the steps descended.
Figures are plain specs (ui.training.plots), cached per program, step and parameters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
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


@dataclass(frozen=True)
class Surface:
    """The loss over one or two parameters with the others held, and the path the steps
    took on it: the same for every step that holds the others at the same values."""

    params: tuple[str, ...]
    loss_name: str
    xs: np.ndarray
    ys: np.ndarray  # the loss along params[0]; for two parameters, params[1]'s values
    grid: np.ndarray | None  # two parameters: grid[i, j] at ys[i], xs[j]
    path: tuple[tuple[float | None, float | None], ...]
    path_steps: tuple[int, ...]
    others: bool = True  # other leaves held at the step's values

    def position(self, step: int) -> int:
        """``step``'s place on the path (1-based), or the nearest step before it."""
        before = [i for i, s in enumerate(self.path_steps, 1) if s <= step]
        return before[-1] if before else 1


def held_values(result: RunResult, step: int, params: tuple[str, ...]) -> str:
    """The other leaves' values at ``step``, as text: a landscape over ``params`` is the
    same function at every step where these are the same (a pick of another step with
    both parameters chosen draws the same contours, so it is not computed again)."""
    leaves = result.training[step - 1]["leaves"]
    return json.dumps({n: leaf["value"] for n, leaf in leaves.items() if n not in params},
                      sort_keys=True)


@st.cache_data(max_entries=64, show_spinner=False)
def landscape_surface(setup: Setup, params: tuple[str, ...], held: str,
                      _training: list[dict[str, Any]], _step: int) -> Surface | str:
    """The surface over ``params`` with the other leaves at ``held``, or the sentence
    saying why there is none. ``_training`` and ``_step`` are not hashed: ``setup``
    determines the steps, and ``held`` every step with the same surface."""
    made = landscape_program(setup.source, _training, _step, params, setup.values,
                             requires_grad=setup.requires_grad)
    if isinstance(made, LandscapeRefusal):
        return made.message
    grid = None
    if len(params) == 1:
        drawn = loss_curve(made)
        if isinstance(drawn, LandscapeRefusal):
            return drawn.message
        xs, ys = drawn
    else:
        drawn = loss_grid(made)
        if isinstance(drawn, LandscapeRefusal):
            return drawn.message
        xs, ys, grid = drawn
    return Surface(params, made.loss_name, xs, ys, grid, tuple(made.path), made.path_steps,
                   others=held != "{}")


def landscape_figure(surface: Surface, step: int, projector: bool,
                     ) -> tuple[dict[str, Any], str]:
    """``(spec, description)``: the surface with the path and ``step`` marked."""
    chosen = surface.position(step)
    path = list(surface.path)
    if surface.grid is None:
        name, loss = surface.params[0], surface.loss_name
        return (marble_spec(name, loss, surface.xs, surface.ys, path, chosen, projector,
                            others=surface.others),
                describe_marble(name, loss, surface.xs, surface.ys, path, chosen))
    names = (surface.params[0], surface.params[1])
    return (contour_spec(names, surface.loss_name, surface.xs, surface.ys, surface.grid,
                         path, chosen, projector),
            describe_contour(names, surface.loss_name, path, chosen, surface.grid))


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
    base = replace(setup, graph_step=None)  # every step's landscape comes from one run
    chosen = tuple(params)
    with st.spinner("Drawing the landscape…"):
        surface = landscape_surface(base, chosen, held_values(result, step, chosen),
                                    result.training, step)
    if isinstance(surface, str):
        st.caption(f"No landscape: {surface}")
        return
    spec, description = landscape_figure(surface, step, projector)
    st.plotly_chart(as_figure(spec), width="stretch", key="pg_landscape",
                    alt=description)
