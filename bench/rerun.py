"""Section 3a: the server's time for one Playground rerun (Streamlit's AppTest).

AppTest runs app.py as the server would, in this process, with the app's real worker
processes, caches and widgets, and no browser: what is timed is the script, the worker
round trips and Streamlit's own bookkeeping, not the network or the browser's drawing
(bench/browser.py measures those). AppTest also recompiles the page scripts on every run,
which a server does once; its cost on a two-line script is shown as a row of its own.

Each edit uses numbers no earlier run used, so the run, the curve, the formula and the
gradients by hand are computed, not read from the app's caches: what a classroom of
students each typing their own numbers costs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from streamlit.testing.v1 import AppTest

from bench.report import Section, Target
from bench.timing import ms, percentile
from tests.apptest_tools import start
from ui.examples import BCE_CODE, TRAINING_CODE
from ui.share import PlaygroundState, to_query

TARGET_S = 0.150
TRAINING_TARGET_S = 0.300  # issue 18: a 200-step training loop
TRAINING = "Training loop, 200 steps"


def _start(state: PlaygroundState) -> AppTest:
    """The Playground opened from ``state``'s share link, as the AppTests open it."""
    at = start(to_query(state))
    if at.exception:
        raise RuntimeError(f"the Playground failed: {at.exception}")
    return at


def _timed(at: AppTest, act: Callable[[AppTest, int], object], repeats: int) -> list[float]:
    """Seconds for each of ``repeats`` reruns caused by ``act(at, i)``, after two warm
    reruns (the workers' first sympy and vmap calls)."""
    times = []
    for i in range(repeats + 2):
        started = time.perf_counter()
        act(at, i)
        elapsed = time.perf_counter() - started
        if at.exception:
            raise RuntimeError(f"the Playground failed: {at.exception}")
        if i >= 2:
            times.append(elapsed)
    return times


def _scenarios() -> list[tuple[str, PlaygroundState, Callable[[AppTest, int], object]]]:
    bce = PlaygroundState(code=BCE_CODE, values={"x": "6.7", "y": "0"},
                          constants=frozenset({"x", "y"}))
    seed = PlaygroundState()  # y = x**2; z = torch.sin(y), x = 4
    training = PlaygroundState(code=TRAINING_CODE, values={})
    return [
        ("sin(x**2): type a new x", seed,
         lambda at, i: at.text_input(key="pg_in_x").set_value(f"{4 + 0.001 * i:g}").run()),
        ("sin(x**2): edit the program", seed,
         lambda at, i: at.text_area(key="pg_code").set_value(
             f"y = x**2\nz = torch.sin(y) + {i}\n").run()),
        ("BCE neuron: type a new x", bce,
         lambda at, i: at.text_input(key="pg_in_x").set_value(f"{6.7 + 0.001 * i:g}").run()),
        ("BCE neuron: toggle retain_grad (curves and formulas cached)", bce,
         lambda at, i: at.toggle(key="pg_retain").set_value(i % 2 == 0).run()),
        ("BCE neuron: toggle no_grad", bce,
         lambda at, i: at.toggle(key="pg_no_grad").set_value(i % 2 == 0).run()),
        (f"{TRAINING}: edit the learning rate", training,
         lambda at, i: at.text_area(key="pg_code").set_value(
             TRAINING_CODE.replace("lr = 0.5", f"lr = {0.5 + 0.001 * i:g}")).run()),
        (f"{TRAINING}: pick a step for the graph", training,
         lambda at, i: at.slider(key="pg_train_step").set_value(1 + (7 * i) % 199).run()),
    ]


def _apptest_overhead(repeats: int) -> list[float]:
    at = AppTest.from_string("import streamlit as st\nst.text_input('x', key='x')\n",
                             default_timeout=60).run()
    return _timed(at, lambda a, i: a.text_input(key="x").set_value(str(i)).run(), repeats)


def run(quick: bool = False) -> list[Section]:
    repeats = 2 if quick else 15
    section = Section(
        "The Playground: server time of one rerun",
        f"Streamlit's AppTest running app.py, median and 95th percentile of {repeats} "
        "reruns after two warm ones, each caused by one widget change as a learner makes "
        "it. " + __doc__.split("\n\n")[2].replace("\n", " "),
        ["rerun caused by", "median ms", "p95 ms", "min ms"])
    medians = {}
    for label, state, act in _scenarios():
        times = _timed(_start(state), act, repeats)
        medians[label] = statistics.median(times)
        section.rows.append([label, ms(medians[label]), ms(percentile(times, 95)),
                             ms(min(times))])
    overhead = _apptest_overhead(repeats)
    section.rows.append(["(AppTest's own cost: a two-line script, one text box)",
                         ms(statistics.median(overhead)), ms(percentile(overhead, 95)),
                         ms(min(overhead))])
    loops = {label: medians.pop(label) for label in list(medians) if label.startswith(TRAINING)}
    loop_label = max(loops, key=loops.get)
    section.targets.append(Target("Training loop rerun, server time (AppTest)", "< 300 ms",
                                  f"{loops[loop_label] * 1e3:.0f} ms median ({loop_label})",
                                  loops[loop_label] < TRAINING_TARGET_S))
    worst_label = max(medians, key=medians.get)
    worst = medians[worst_label]
    section.targets.append(Target("Playground rerun, server time (AppTest)", "< 150 ms",
                                  f"{worst * 1e3:.0f} ms median ({worst_label})",
                                  worst < TARGET_S))
    return [section]
