"""The Training panel: a program that calls backward() more than once, step by step.

A training loop's run records every backward() call (RunResult.training); this panel
draws them: the loss, each parameter and each ``.grad`` per step on one shared step axis
(ui.training.plots), the chosen step's numbers as a table, and the step picker whose value
the Playground passes to the engine as ``graph_step``, so the graph views show that step's
backward as it ran.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from engine import RunResult
from engine.teaching.learning import Verdict
from ui.plots import as_figure
from ui.show import table
from ui.training.plots import (
    MAX_LINES,
    describe_training,
    leaf_label,
    number_text,
    part_number,
    training_spec,
)

TRAIN_STEP_KEY = "pg_train_step"


def has_training(result: RunResult) -> bool:
    """Whether the program trained: more than one backward() call."""
    return len(result.training) > 1


def moves_parameters(result: RunResult) -> bool:
    """Whether a leaf's value changed between backward() calls: a loop that learns, where
    "f as a function of x" is a different function at every step. Calling backward twice
    on one graph (gradients adding up) keeps x fixed, and its f-curve still means f."""
    steps = result.training
    first = {name: leaf["value"] for name, leaf in steps[0]["leaves"].items()} if steps else {}
    return any(step["leaves"].get(name, {}).get("value") != value
               for name, value in first.items() for step in steps[1:])


def clamp_train_step(step: int | None, count: int) -> int:
    """A step that exists: 1 to ``count``, the last when none was picked."""
    if step is None:
        return count
    return min(max(int(step), 1), max(count, 1))


def call_to_draw(picked: int | None, last_count: int | None) -> int | None:
    """The backward() call to ask the engine to draw: the picked step, else the last call
    of the previous run (a rerun after an edit usually has as many calls). Knowing the
    call, the engine leaves the passes before it unhooked: about a fifth of a 200-step
    loop's run. None when there is nothing to go by."""
    if picked is not None:
        return picked
    return last_count if last_count is not None and last_count > 1 else None


def missed_call(result: RunResult, asked: int | None, picked: int | None) -> bool:
    """Whether the run did not draw what was meant: fewer calls than the one asked for (its
    passes went unhooked), or a guessed last call that was not the last. Run again with
    ``graph_step=None`` then."""
    if asked is None:
        return False
    made = len(result.training)
    return made < asked or (picked is None and made != asked)


def step_picker(result: RunResult, key: str = TRAIN_STEP_KEY) -> int:
    """The slider picking which backward() call the graph views show; returns it."""
    count = len(result.training)
    st.session_state[key] = clamp_train_step(st.session_state.get(key), count)
    st.slider("Training step: the graph shows this backward() call", 1, count, key=key,
              help="Each backward() call is one step. The graph views below draw the "
                   "chosen step's backward with the values and gradients it had then.")
    return st.session_state[key]


def step_frame(step: dict[str, Any]) -> pd.DataFrame:
    """One step's numbers: the loss and named numbers, then each leaf's value and .grad."""
    rows = [{"name": step["root"] or "loss", "value": step["loss"], ".grad": None}]
    rows += [{"name": name, "value": value, ".grad": None}
             for name, value in step["numbers"].items() if name != step["root"]]
    for name, leaf in step["leaves"].items():
        rows.append({"name": leaf_label(name, leaf["value"]),
                     "value": part_number(leaf["value"]),
                     ".grad": part_number(leaf["grad"])})
    return pd.DataFrame(rows, columns=["name", "value", ".grad"])


def show_training(result: RunResult, *, key: str, projector: bool = False,
                  chosen: int | None = None) -> None:
    """The per-step figure (hover a step for all its numbers) and the chosen step's
    table. ``chosen`` marks a step (the picker's); None marks none."""
    steps = result.training
    n = len(steps)
    first, last = steps[0], steps[-1]
    root = last["root"] or "the output"
    st.caption(f"backward() ran {n} times. `{root}` went from {number_text(first['loss'])} at "
               f"step 1 to {number_text(last['loss'])} at step {n}. Values are as each "
               "backward() saw them, before the update that followed it.")
    st.plotly_chart(as_figure(training_spec(steps, chosen, projector)), width="stretch",
                    key=f"{key}-figure", alt=describe_training(steps, chosen))
    hidden = len({name for s in steps for name in s["leaves"]}) - MAX_LINES
    if hidden > 0:
        st.caption(f"{hidden} more parameters are in the table, not drawn.")
    if chosen is not None:
        st.markdown(f"**Step {chosen}**")
        table(step_frame(steps[chosen - 1]))


VERDICT_BOXES = {"converging": (st.success, ":material/trending_down:"),
                 "overshoot": (st.info, ":material/swap_vert:"),
                 "diverged": (st.warning, ":material/trending_up:"),
                 "stuck": (st.info, ":material/horizontal_rule:")}


def show_verdict(verdict: Verdict) -> None:
    """Did it learn? The verdict's sentence, as a warning when the steps diverged."""
    box = VERDICT_BOXES.get(verdict.kind)
    if box is not None:
        show_box, icon = box
        show_box(verdict.sentence, icon=icon)
