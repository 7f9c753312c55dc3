"""Presenter options on every page: set once, kept across pages, carried by links.

Each test reads what a learner would see: the sidebar toggles, the graph's theme in its
DOT (the projector theme's type size, compared with the light theme's), the code shown
read-only, and the address bar (``at.query_params``) a lecturer would copy.
"""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from graphviz_utils.theme import LIGHT, PROJECTOR
from tests.apptest_tools import APP, dot, start

LESSONS = ["derivatives", "chain_rule", "vectors", "accumulation", "leaves",
           "stopping_gradients", "training_loop"]


def graph_font_size(at: AppTest, index: int = 0) -> float:
    """The type size the ``index``-th graph is laid out in (its graph-level fontsize)."""
    return float(re.search(r'graph \[[^]]*fontsize="?([\d.]+)', dot(at, index)).group(1))


def toggle(at: AppTest, label: str):
    found = [t for t in at.sidebar.toggle if t.label == label]
    assert len(found) == 1, [t.label for t in at.sidebar.toggle]
    return found[0]


def link(at: AppTest) -> dict[str, list[str]]:
    return {k: at.query_params[k] for k in at.query_params}


def lesson(page: str, query: dict[str, str] | None = None) -> AppTest:
    """A lesson opened straight from its link (``/<page>?query``)."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("page", LESSONS)
def test_every_lesson_has_the_presenter_options(page):
    at = lesson(page)
    assert not toggle(at, "Projector style").value
    assert not toggle(at, "Hide the editor").value


@pytest.mark.parametrize("page", ["derivatives", "chain_rule", "leaves", "accumulation"])
def test_a_lesson_link_with_style_projector_draws_for_the_room(page):
    at = lesson(page, {"style": "projector"})
    assert toggle(at, "Projector style").value
    assert graph_font_size(at) == PROJECTOR.font_size > LIGHT.font_size
    assert link(at).get("style") in ("projector", ["projector"])
    # the page's projector stylesheet: the body and the code at the room's size
    assert any("font-size: 22px" in h.proto.body for h in at.get("html"))


def test_projector_style_follows_the_lecturer_from_the_playground_to_a_lesson():
    at = start({"code": "y = x**2", "in": "x:3"})
    assert graph_font_size(at) == LIGHT.font_size
    toggle(at, "Projector style").set_value(True).run()
    assert graph_font_size(at) == PROJECTOR.font_size
    at.switch_page("app_pages/derivatives.py").run()
    assert not at.exception, at.exception
    assert toggle(at, "Projector style").value
    assert graph_font_size(at) == PROJECTOR.font_size
    assert at.query_params["style"] in ("projector", ["projector"])  # the lesson's link
    toggle(at, "Projector style").set_value(False).run()
    assert graph_font_size(at) == LIGHT.font_size
    assert "style" not in at.query_params


def test_a_page_switch_without_the_parameter_keeps_the_choice():
    at = lesson("vectors", {"style": "projector", "editor": "hidden"})
    at.query_params.clear()  # the menu's link to another page carries no parameters
    at.switch_page("app_pages/leaves.py").run()
    assert toggle(at, "Projector style").value and toggle(at, "Hide the editor").value
    assert graph_font_size(at) == PROJECTOR.font_size


def test_open_in_playground_from_a_lesson_keeps_the_editor_hidden():
    at = lesson("derivatives", {"editor": "hidden"})
    assert toggle(at, "Hide the editor").value
    [button] = [b for b in at.button if b.label == "Open in Playground"]
    button.click().run()
    assert not at.exception, at.exception
    assert not at.text_area  # the program as read-only text
    assert any("x" in c.value for c in at.code)
    assert toggle(at, "Hide the editor").value


def test_a_playground_link_can_switch_projector_style_off():
    at = lesson("chain_rule", {"style": "projector"})
    at.query_params.clear()
    at.query_params.update({"code": "y = x**3", "in": "x:2", "style": "normal"})
    at.switch_page("app_pages/playground.py").run()
    assert not at.exception, at.exception
    assert not toggle(at, "Projector style").value
    assert graph_font_size(at) == LIGHT.font_size


def test_a_bad_style_word_is_reported_and_changes_nothing():
    at = start({"code": "y = x**2", "in": "x:3", "style": "huge"})
    assert "`style` must be projector or normal" in " ".join(w.value for w in at.warning)
    assert not toggle(at, "Projector style").value


def test_hide_the_editor_in_the_playground_shows_the_program_as_text():
    at = start({"code": "y = x**3", "in": "x:2"})
    assert at.text_area
    toggle(at, "Hide the editor").set_value(True).run()
    assert not at.text_area
    assert any(c.value.strip() == "y = x**3" for c in at.code)
    assert at.query_params["editor"] in ("hidden", ["hidden"])
