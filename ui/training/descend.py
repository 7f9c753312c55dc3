"""Descend's controls on the Playground: switch it on, choose the leaves to move, the
optimizer, the learning rate and the number of steps; get back the loop Descend wrote.

Descend never trains behind the learner's back: engine.teaching.descend writes the loop as
program text around the learner's lines, and the page runs that text like any program. So
the Training panel, the graph views and the exported snippet all show the loop that ran,
and the loop itself is one click away under the controls.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from engine import RunResult
from engine.teaching.descend import (
    MAX_LEAVES,
    MAX_LR,
    MAX_STEPS,
    OPTIMIZERS,
    DescendChoice,
    DescendRefused,
    descend_program,
    movable,
)
from engine.teaching.learning import Verdict, divergence

ON_KEY, LEAVES_KEY = "pg_descend", "pg_dleaf"
OPTIMIZER_KEY, LR_KEY, STEPS_KEY = "pg_dopt", "pg_dlr", "pg_dsteps"
MIN_LR = 1e-6


@dataclass(frozen=True)
class Descent:
    """A Descend the page runs: what was chosen and the program text it wrote."""

    choice: DescendChoice
    source: str

    def verdict(self, result: RunResult) -> Verdict:
        """Did it descend? Read from the run's steps, naming the learning rate."""
        return divergence(result.training, lr=self.choice.lr, leaves=self.choice.leaves,
                          optimizer=self.choice.optimizer)


def offered(result: RunResult) -> str | None:
    """Why Descend is not offered for this run, or None when it is: the output must be one
    number that the app (not the program) called backward() on. (A run with an error
    says nothing either way: see :func:`descend_controls`.)"""
    if result.backward_called and not result.auto_backward:
        return ("The program calls backward() itself: its own loop is what the Training "
                "panel shows. Remove the backward() call to let Descend write the loop.")
    if result.output is None or result.output.numel() != 1:
        return ("Descend makes one number smaller: end the program with a single-number "
                "loss, e.g. `loss = (y**2).mean()`.")
    if not movable(result.grads):
        return ("Descend moves leaves: give the program an input that requires grad, or "
                "make one with `torch.tensor(1.0, requires_grad=True)`.")
    return None


def descend_controls(result: RunResult, source: str) -> Descent | None:
    """The Descend toggle and, when it is on, its choices; returns the loop to run, or
    None (off, or refused: the sentence saying why is shown). While the program has an
    error (a half-typed line) the controls stay, greyed, so nothing chosen is lost."""
    broken = result.error is not None
    why_not = None if broken else offered(result)
    st.markdown("**Descend**")
    if why_not is not None:
        st.caption(why_not)
        return None
    on = st.toggle("Descend: train the leaves by gradient descent", key=ON_KEY,
                   disabled=broken,
                   help="Writes a training loop around your program (optimizer.zero_grad(), "
                        "your lines, backward(), optimizer.step()) and runs it: the Training "
                        "panel shows every step, Export gives you the loop.")
    if not on:
        return None
    chosen = [n for n in st.session_state.get(LEAVES_KEY, []) if isinstance(n, str)]
    leaves = tuple(chosen) if broken else movable(result.grads)[:MAX_LEAVES]
    st.session_state[LEAVES_KEY] = [n for n in chosen if n in leaves]
    st.multiselect("Leaves to move", leaves, key=LEAVES_KEY, placeholder="all of them",
                   disabled=broken,
                   help="The leaves the optimizer changes. Empty: all of them.")
    optimizer_col, lr_col, steps_col = st.columns(3, vertical_alignment="bottom")
    optimizer = optimizer_col.selectbox("Optimizer", list(OPTIMIZERS), key=OPTIMIZER_KEY,
                                        format_func=lambda k: OPTIMIZERS[k].label,
                                        disabled=broken)
    lr = lr_col.number_input("Learning rate", min_value=MIN_LR, max_value=MAX_LR,
                             step=0.05, format="%g", key=LR_KEY, disabled=broken)
    steps = steps_col.number_input("Steps", min_value=1, max_value=MAX_STEPS, step=10,
                                   key=STEPS_KEY, disabled=broken)
    if broken:
        return None
    try:
        choice = DescendChoice(tuple(st.session_state[LEAVES_KEY]) or leaves,
                               optimizer or "sgd", float(lr), int(steps))
        loop = descend_program(source, result.output_name, leaves, choice)
    except DescendRefused as refused:
        st.info(refused.sentence, icon=":material/block:")
        return None
    with st.expander("The loop Descend wrote and runs"):
        st.code(loop, language="python", wrap_lines=True)
    return Descent(choice, loop)
