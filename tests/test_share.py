"""Share links (ui.share) and the Playground's input names (engine.language.names), without a
server: every state survives the trip through a real URL, and any query string a stranger
types is turned into a valid state plus sentences, never an exception."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.language.names import assigned_names, program_inputs
from ui.share import (
    DESCEND_OPTIMIZERS,
    MAX_DESCEND_STEPS,
    MAX_INPUTS,
    MAX_LEARNING_RATE,
    MAX_STEP,
    VIEWS,
    PlaygroundState,
    from_query,
    query_string,
    to_query,
)

NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,9}", fullmatch=True)
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
               max_size=200)
STATES = st.builds(
    PlaygroundState,
    code=TEXT,
    values=st.dictionaries(NAMES, TEXT.map(str.strip), max_size=MAX_INPUTS),
    no_grad=st.booleans(),
    detach=st.lists(NAMES, unique=True, max_size=4).map(tuple),
    retain_grad=st.booleans(),
    wrt=st.none() | NAMES,
    hide_editor=st.booleans(),
    projector=st.booleans(),
    view=st.sampled_from(list(VIEWS)),
    second=st.booleans(),
    train_step=st.none() | st.integers(1, MAX_STEP),
    descend=st.none() | st.sampled_from(DESCEND_OPTIMIZERS),
    descend_lr=st.floats(1e-6, MAX_LEARNING_RATE, allow_nan=False),
    descend_steps=st.integers(1, MAX_DESCEND_STEPS),
    descend_leaves=st.lists(NAMES, unique=True, max_size=4).map(tuple),
).map(lambda s: s if s.descend else replace(s, descend_lr=0.1, descend_steps=20,
                                             descend_leaves=())
).flatmap(lambda s: st.builds(
    lambda constants, bounds, step: PlaygroundState(**{
        **s.__dict__, "constants": frozenset(constants),
        "lo": bounds[0] if bounds else None, "hi": bounds[1] if bounds else None,
        "step": step}),
    st.sets(st.sampled_from(sorted(s.values))) if s.values else st.just(set()),
    st.none() | st.tuples(st.floats(-1e6, 0, allow_nan=False),
                          st.floats(1e-3, 1e6, allow_nan=False)),
    st.none() | st.integers(1, MAX_STEP) if s.view == "steps" else st.none(),
))


def through_a_url(state: PlaygroundState) -> dict[str, list[str]]:
    """What the browser sends back for the link the page shows."""
    url = f"http://localhost:8501/?{query_string(state)}"
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


@settings(max_examples=300, deadline=None)
@given(STATES)
def test_every_state_survives_a_real_url(state):
    back, problems = from_query(through_a_url(state))
    assert problems == []
    assert back == state


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["code", "in", "const", "no_grad", "retain_grad",
                                        "detach", "wrt", "lo", "hi", "editor", "style",
                                        "view", "step", "second", "other", "__proto__"]),
                       st.lists(TEXT, min_size=1, max_size=4)))
def test_any_query_gives_a_valid_state_and_reasons(query):
    state, problems = from_query(query)
    assert all(isinstance(p, str) and p for p in problems)
    assert len(state.values) <= MAX_INPUTS
    assert all(name.isidentifier() and name.isascii() for name in state.values)
    assert state.constants <= set(state.values)
    if state.lo is not None and state.hi is not None:
        assert state.lo < state.hi
    assert state.view in VIEWS
    assert state.step is None or 1 <= state.step <= MAX_STEP
    round_trip = from_query(to_query(state))[0]
    assert round_trip == (state if state.view == "steps" else replace(state, step=None))


def test_a_step_link_opens_the_steps_view_at_that_step():
    state, problems = from_query({"code": "y = x**2\n", "in": "x:3", "step": "2"})
    assert problems == [] and state.view == "steps" and state.step == 2
    assert "step=2" in query_string(state) and "view=steps" in query_string(state)


@pytest.mark.parametrize("bad", ["0", "-1", "1.5", "two", "9" * 7, "", "１"])
def test_a_bad_step_is_dropped_with_a_reason(bad):
    state, problems = from_query({"code": "y = x**2\n", "step": bad})
    assert state.step is None and state.view == "graph"
    assert any("`step`" in p for p in problems)


def test_an_unknown_view_is_dropped_with_a_reason():
    state, problems = from_query({"view": "<script>"})
    assert state.view == "graph" and any("`view`" in p for p in problems)


def test_default_link_is_short_and_readable():
    assert query_string(PlaygroundState()) == \
        "code=y%20%3D%20x%2A%2A2%0Az%20%3D%20torch.sin%28y%29%0A&in=x%3A4"


def test_values_keep_colons_and_brackets():
    state, problems = from_query({"code": ["y = x.sum()"], "in": ["x:[1, 2]", "t:a:b"]})
    assert problems == [] and state.values == {"x": "[1, 2]", "t": "a:b"}


def test_overlong_code_is_refused_with_a_reason():
    state, problems = from_query({"code": ["y = x\n" * 2000]})
    assert state.code == PlaygroundState().code and "longer than" in problems[0]


def test_program_inputs_are_read_before_assigned_in_order():
    assert program_inputs("y = w * x + b\nz = torch.sin(y)") == ["w", "x", "b"]
    assert program_inputs("x = torch.tensor(3.0, requires_grad=True)\ny = x**2") == []
    assert program_inputs("x += 1") == ["x"]
    assert program_inputs("with torch.no_grad():\n    y = x * k\nz = y") == ["x", "k"]


def test_program_inputs_skip_language_names_functions_and_calls():
    source = ("import torch.nn.functional as F\n"
              "def loss(p, t):\n    eps = 1e-8\n    return -(t * torch.log(p + eps))\n"
              "y = loss(F.sigmoid(w * x), label) + sin(x) + open(x)")
    assert program_inputs(source) == ["w", "x", "label"]


def test_program_inputs_of_text_that_does_not_parse_is_empty():
    assert program_inputs("y = (x") == [] and program_inputs("\x00") == []
    assert assigned_names("y = (x") == []


def test_assigned_names_include_with_blocks_and_tuples():
    assert assigned_names("a, b = x, 2*x\nwith torch.no_grad():\n    c = a\n") == \
        ["a", "b", "c"]


@pytest.mark.parametrize(("query", "problem"), [
    ({"tstep": ["0"]}, "`tstep` must be a whole number"),
    ({"descend": ["lbfgs"]}, "`descend` must be one of sgd, momentum, adam"),
    ({"descend": ["sgd"], "dlr": ["-1"]}, "must be above 0"),
    ({"descend": ["sgd"], "dlr": ["nan"]}, "`dlr` must be a finite number"),
    ({"descend": ["sgd"], "dsteps": ["100000"]}, f"from 1 to {MAX_DESCEND_STEPS}"),
])
def test_training_parameters_are_checked(query, problem):
    """Training step and Descend settings from a crafted link: dropped with a reason."""
    state, problems = from_query({"code": ["y = x**2"], **query})
    assert any(problem in p for p in problems), problems
    assert state.train_step is None and 0 < state.descend_lr <= MAX_LEARNING_RATE
    assert 1 <= state.descend_steps <= MAX_DESCEND_STEPS
