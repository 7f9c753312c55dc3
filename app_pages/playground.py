"""Playground: type a small PyTorch program and its inputs; see the output, every .grad,
the annotated autograd graph and the curves of f and f', and share all of it as a link.

UI only. The page state lives in one PlaygroundState (ui.share): widgets are filled from
it, it is rebuilt from the widgets after each edit, and it is written to the URL, so the
address bar is always a link to exactly this view.
"""

from __future__ import annotations

import math
from dataclasses import astuple, replace

import streamlit as st

from engine import RunResult
from engine.language.names import assigned_names, parses, program_inputs
from engine.teaching.learning import divergence
from ui import graph_views, presenter, show
from ui.choices import one_choice
from ui.examples import EXAMPLES
from ui.export_view import EXPORT_MENU_KEY, show_export
from ui.guard import guarded
from ui.share import (
    MAX_RANGE,
    SHARE_MENU_KEY,
    VIEWS,
    PlaygroundState,
    from_query,
    link_too_long,
    query_string,
    resolve_range,
    to_query,
)
from ui.steps_view import STEP_KEY
from ui.training import descend
from ui.training.landscape import show_landscape
from ui.training.panel import (
    TRAIN_STEP_KEY,
    call_to_draw,
    has_training,
    missed_call,
    moves_parameters,
    show_training,
    show_verdict,
    step_picker,
)

STATE, SYNCED, PROBLEMS = "pg_state", "pg_synced", "pg_problems"
SHOWN = "pg_shown"  # the graph on the screen (graph_views.Shown), for the Export menu
TRAIN_COUNT = "pg_train_count"  # backward() calls in the last run: which step is the last
# The last program that parsed: its input names and assigned names, and every input's
# last value and requires_grad (kept by name, so a typo or a rename loses nothing).
NAMES, ASSIGNED, KEPT = "pg_names", "pg_assigned", "pg_kept"
EXAMPLE_TITLES = [e.title for e in EXAMPLES]


def _view_part(query: dict) -> dict[str, list[str]]:
    """A link's parameters as lists, without the presenter's (app.py takes those on
    every page): whether a link is new is a question about the view it shows."""
    return {k: list(v) if isinstance(v, list) else [v] for k, v in query.items()
            if k not in (presenter.EDITOR_PARAM, presenter.STYLE_PARAM)}


def _put(state: PlaygroundState, *, overwrite: bool) -> None:
    """Fill the widgets from ``state``: all of them when a link or example replaces the
    view, else only those Streamlit forgot (after a page switch or a hidden editor)."""
    st.session_state[STATE] = state
    wanted = {"pg_code": state.code, "pg_no_grad": state.no_grad,
              "pg_retain": state.retain_grad, "pg_detach": list(state.detach),
              "pg_lo": state.lo, "pg_hi": state.hi, "pg_view": state.view,
              "pg_second": state.second}
    if state.step is not None:
        wanted[STEP_KEY] = state.step
    if state.train_step is not None:
        wanted[TRAIN_STEP_KEY] = state.train_step
    if state.wrt:
        wanted["pg_wrt"] = state.wrt
    wanted |= {descend.ON_KEY: state.descend is not None,
               descend.OPTIMIZER_KEY: state.descend or "sgd",
               descend.LR_KEY: min(max(float(state.descend_lr), descend.MIN_LR),
                                   descend.MAX_LR),
               descend.STEPS_KEY: min(max(int(state.descend_steps), 1), descend.MAX_STEPS),
               descend.LEAVES_KEY: list(state.descend_leaves)}
    for name, value in state.values.items():
        wanted[f"pg_in_{name}"] = value
        wanted[f"pg_rg_{name}"] = name not in state.constants
    if overwrite:
        for key in [k for k in st.session_state if str(k).startswith("pg_")]:
            if key not in (STATE, SYNCED, PROBLEMS, "pg_example"):
                del st.session_state[key]
    for key, value in wanted.items():
        if overwrite or key not in st.session_state:
            st.session_state[key] = value


def _load() -> PlaygroundState:
    """The state to show: the link's, when the URL is not the one this page wrote last
    (a shared link, or "open in Playground" from a lesson), else this session's."""
    query = {k: st.query_params.get_all(k) for k in st.query_params}
    view = _view_part(query)
    if view and view != st.session_state.get(SYNCED):
        state, problems = from_query(query)
        st.session_state[PROBLEMS] = problems
        _put(state, overwrite=True)
        return state
    state = st.session_state.get(STATE, PlaygroundState())
    _put(state, overwrite=False)
    return state


@guarded
def _pick_example() -> None:
    """Load the picked example, then show the picker empty again: picking the same example
    after editing it must load it afresh, and clearing the picker (its ✕, or Escape)
    changes nothing."""
    title = st.session_state.get("pg_example")
    st.session_state["pg_example"] = None
    if title not in EXAMPLE_TITLES:
        return
    example = EXAMPLES[EXAMPLE_TITLES.index(title)]
    state = st.session_state.get(STATE, PlaygroundState()).with_program(
        example.code, example.values)
    _put(replace(state, constants=example.constants), overwrite=True)
    st.session_state[PROBLEMS] = []


def _stepped(shown: graph_views.Shown) -> None:
    """A backward step the steps view drew, maybe in a rerun of that view alone: the
    link and the Export menu follow it."""
    st.session_state[SHOWN] = shown
    state = st.session_state.get(STATE)
    if state is None or state.step == shown.step:
        return
    state = replace(state, step=shown.step)
    st.session_state[STATE] = state
    _write_link(state)


def _write_link(state: PlaygroundState) -> None:
    """Put ``state`` in the address bar, unless it is there already."""
    query = _view_part(to_query(state))
    if query != st.session_state.get(SYNCED):
        st.query_params.from_dict(to_query(state))
        st.session_state[SYNCED] = query


@st.fragment
def _export_menu(setup: show.Setup, result: RunResult) -> None:
    """The Export menu, filled only while it is open: its buttons and script are about a
    tenth of a rerun's work and messages, and most reruns never open it. Opening it
    reruns this fragment alone, with the run the page last drew and the graph on the
    screen now (a step may have redrawn it since)."""
    menu = st.popover("Export", icon=":material/download:", width="stretch",
                      key=EXPORT_MENU_KEY, on_change="rerun")
    if menu.open:
        with menu:
            show_export(setup, result, st.session_state.get(SHOWN, graph_views.Shown()))


@st.fragment
def _share_menu() -> None:
    """The Share menu, filled only while it is open (as Export), with the view as it is
    now (a step may have changed it since the page ran)."""
    menu = st.popover("Share", icon=":material/link:", width="stretch", key=SHARE_MENU_KEY,
                      on_change="rerun")
    if not menu.open:
        return
    base = (st.context.url or "http://localhost:8501/").split("?")[0]
    link = f"{base}?{query_string(st.session_state.get(STATE, PlaygroundState()))}"
    with menu:
        too_long = link_too_long(link)
        if too_long:
            st.warning(too_long, icon=":material/link_off:")
        else:
            st.caption("This link opens exactly this view:")
            st.code(link, language=None, wrap_lines=True)


state = _load()

hide_editor, projector = astuple(presenter.current())  # the sidebar's (app.py draws it)

title, export, share = st.columns([3, 1, 1], vertical_alignment="bottom")
title.title("Playground")
for problem in st.session_state.get(PROBLEMS, []):
    st.warning(f"Share link: {problem}", icon=":material/link_off:")

# In projector style the program gets the wider column: at the room's type size a
# tutorial's 60-character line needs ~800 px, and the graph goes below anyway.
left, right = st.columns([3, 2] if projector else [5, 6], gap="large")
with left:
    if hide_editor:
        source = state.code
        st.code(source, language="python", wrap_lines=True)
    else:
        st.selectbox("Start from an example", EXAMPLE_TITLES, index=None,
                     placeholder="Pick an example program…", key="pg_example",
                     on_change=_pick_example)
        source = st.text_area("Program", key="pg_code", height=240,
                              help="A small PyTorch program. Ctrl+Enter runs it.")
    error_box = st.container()

    # A half-typed line does not parse: keep the inputs and detach choices the program
    # had, so a typo never hides the boxes or resets what the learner typed in them.
    written = parses(source)
    names = program_inputs(source) if written else st.session_state.get(NAMES, [])
    values: dict[str, str] = {}
    constants: set[str] = set()
    kept = st.session_state.setdefault(KEPT, {})
    if names:
        st.markdown("**Inputs**: each becomes a float tensor leaf")
    for name in names:
        value_col, grad_col = st.columns([3, 2], vertical_alignment="bottom")
        if f"pg_in_{name}" not in st.session_state:
            st.session_state[f"pg_in_{name}"], st.session_state[f"pg_rg_{name}"] = \
                kept.get(name, ("1.0", True))
        values[name] = value_col.text_input(name, key=f"pg_in_{name}",
                                            help="A number or a list, e.g. [1, 2, 3]")
        requires_grad = grad_col.checkbox("requires_grad", key=f"pg_rg_{name}")
        if not requires_grad:
            constants.add(name)
        kept[name] = (values[name], requires_grad)
    st.session_state[NAMES] = names

    st.markdown("**Stop tracking**")
    no_grad = st.toggle("Run the whole program under torch.no_grad()", key="pg_no_grad")
    assigned = assigned_names(source) if written else st.session_state.get(ASSIGNED, [])
    st.session_state[ASSIGNED] = assigned
    st.session_state["pg_detach"] = [d for d in st.session_state.get("pg_detach", [])
                                     if d in assigned]
    detach = st.multiselect("Detach these variables where they are assigned", assigned,
                            key="pg_detach")
    retain = st.toggle("Keep .grad of intermediates (retain_grad)", key="pg_retain")

# A training program's graph views show the step picked below; the last step is the
# engine's own choice (None), so a link without a picked step opens on it.
picked, count = st.session_state.get(TRAIN_STEP_KEY), st.session_state.get(TRAIN_COUNT)
train_step = picked if picked is not None and (count is None or picked < count) else None
asked = call_to_draw(train_step, count)
setup = show.Setup(source, tuple(values.items()), frozenset(constants), no_grad,
                   tuple(detach), retain, graph_step=asked)
result = setup.run()
with left:
    descent = descend.descend_controls(result, source)
if descent is not None:  # the page runs the loop Descend wrote, as any program
    setup = replace(setup, source=descent.source)
    result = setup.run()
if missed_call(result, asked, train_step):  # the number of backward() calls changed
    setup = replace(setup, graph_step=None)
    result = setup.run()
st.session_state[TRAIN_COUNT] = len(result.training)
trains = has_training(result)
learns = trains and moves_parameters(result)  # a loop that changes its parameters

with error_box:
    if result.error is not None:
        show.show_error(result.error, setup.source)

showable = result.error is None or result.error.kind in ("autograd", "runtime")
with right:
    if result.error is None:
        show.show_output(result)
        grads_box = st.container()  # filled after the curves: it reuses their formula
    if showable:
        show.show_out(result)
        show.show_warnings(result)
    below_note = st.container()  # where the graph is, said before the Training panel
    if trains:
        st.subheader("Training")
        chosen = train_step or len(result.training)
        if descent or learns:  # gradients taken twice on a fixed x are not a descent
            show_verdict(descent.verdict(result) if descent else divergence(result.training))
        show_training(result, key="pg_training", projector=projector, chosen=chosen)
        if learns:
            show_landscape(setup, result, chosen, projector=projector,
                           preferred=descent.choice.leaves if descent else ())
# The annotated graph sits beside the editor when it fits there at its own size; a wider
# one, the other views (two graphs side by side, a graph beside its chain rule, a
# pan-and-zoom canvas) and a projector's large type take the full width.
view = st.session_state.get("pg_view") or "graph"
shown = graph_views.Shown()
has_graph = showable and bool(result.graph and result.graph.get("nodes"))
annotated = show.annotated_dot(result, projector, fold_loops=graph_views.fold_loops(),
                               modules=graph_views.module_mode()) \
    if has_graph and view == "graph" else None
beside = annotated is not None and not projector and graph_views.fits_beside_editor(annotated)
if annotated is not None and not beside and not projector:
    below_note.caption(
        ":material/south: The autograd graph is below the inputs: at a readable size it is "
        "wider than this column.")
with right if beside else st.container():
    if has_graph:
        st.subheader("Autograd graph")
        # wrap: beside the editor the five views do not fit one row, and a row that
        # scrolls hides the last ones from a learner.
        if trains:
            picked = step_picker(result)
            train_step = picked if picked < len(result.training) else None
        view = one_choice(st, "Graph view", list(VIEWS), key="pg_view", default="graph",
                          format_func=VIEWS.__getitem__, label_visibility="collapsed",
                          wrap=True)
        leaves = show.scalar_leaves(result) if result.error is None else []
        wrt_now = st.session_state.get("pg_wrt") if st.session_state.get("pg_wrt") \
            in leaves else (leaves[0] if leaves else None)
        shown = graph_views.show_view(view, setup, result, projector, wrt_now, annotated,
                                      on_shown=_stepped)

wrt, lo, hi = state.wrt, state.lo, state.hi
plotted: tuple[str, float, float] | None = None
if result.error is None and learns:
    # A training loop's output is its last step's loss: the landscape in the Training
    # panel is the curve that means something, and .grad is not a derivative by hand.
    with grads_box:
        show.show_grads(result)
elif result.error is None:
    st.subheader("f and its derivative")
    choices = show.scalar_leaves(result)
    if not choices:
        st.caption("Curves vary one number: give the program a single-number input that "
                   "requires grad.")
    else:
        if st.session_state.get("pg_wrt") not in choices:
            st.session_state["pg_wrt"] = choices[0]
        pick, lo_col, hi_col, second_col = st.columns([2, 1, 1, 1.3],
                                                      vertical_alignment="bottom")
        wrt = pick.selectbox("With respect to", choices, key="pg_wrt")
        auto_lo, auto_hi = show.default_range(float(result.variables[wrt].reshape(())))
        lo = lo_col.number_input("from", key="pg_lo", placeholder=f"{auto_lo:g}")
        hi = hi_col.number_input("to", key="pg_hi", placeholder=f"{auto_hi:g}")
        lo, hi = (v if v is not None and math.isfinite(v) and abs(v) <= MAX_RANGE else None
                  for v in (lo, hi))
        plot_lo, plot_hi, range_note = resolve_range(lo, hi, (auto_lo, auto_hi))
        if range_note:
            st.caption(range_note)
        if lo is not None and hi is not None and not lo < hi:
            lo, hi = None, None
        second = second_col.toggle("Show f''", key="pg_second",
                                   help="The second derivative, from autograd "
                                        "differentiating its own backward pass.")
        plotted = (wrt, plot_lo, plot_hi)
        show.show_curves(setup, result, *plotted, projector, second)
    with grads_box:
        show.show_grads(result, show.hand_gradients(setup, result, plotted))

state = PlaygroundState(code=source, values=values, constants=frozenset(constants),
                        no_grad=no_grad, detach=tuple(detach), retain_grad=retain,
                        wrt=wrt, lo=lo, hi=hi, hide_editor=hide_editor, projector=projector,
                        view=view, step=shown.step if view == "steps" else None,
                        second=bool(st.session_state.get("pg_second")),
                        train_step=train_step if trains else None,
                        descend=st.session_state.get(descend.OPTIMIZER_KEY) or "sgd"
                        if st.session_state.get(descend.ON_KEY) else None,
                        descend_lr=float(st.session_state.get(descend.LR_KEY, 0.1)),
                        descend_steps=int(st.session_state.get(descend.STEPS_KEY, 20)),
                        descend_leaves=tuple(st.session_state.get(descend.LEAVES_KEY, [])))
st.session_state[STATE] = state
st.session_state[SHOWN] = shown
_write_link(state)
with export:
    _export_menu(setup, result)
with share:
    _share_menu()
