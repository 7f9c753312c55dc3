"""AppTest: the app starts, runs the program in the Playground, and shows errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parent.parent / "app.py"


@pytest.fixture
def app():
    return AppTest.from_file(str(APP), default_timeout=60).run()


def test_playground_shows_output_and_grads(app):
    assert not app.exception and not app.error
    assert app.metric[0].value == f"{math.sin(16):.4g}"
    grads = app.dataframe[-1].value
    assert list(grads["leaf"]) == ["x"]
    assert float(grads[".grad"][0]) == pytest.approx(8 * math.cos(16), rel=1e-3)


def test_playground_draws_the_graph_with_names_values_and_grads(app):
    dot = app.get("graphviz_chart")[0].proto.spec
    assert "<B>x</B>" in dot and "<B>z</B>" in dot
    assert f"value {math.sin(16):.4g}" in dot
    assert f".grad {8 * math.cos(16):.4g}" in dot


def test_edit_reruns_with_torch_numbers(app):
    app.text_area(key="source").input("y = (x**3).mean()").run()
    assert not app.exception and not app.error
    assert float(app.dataframe[-1].value[".grad"][0]) == pytest.approx(48.0)


def test_hostile_program_shows_error_only(app, tmp_path):
    target = tmp_path / "pwned"
    app.text_area(key="source").input(f"open('{target}', 'w')").run()
    assert not app.exception
    assert "`open` is not available here" in app.error[0].value
    assert "line 1, column 1" in app.error[0].value
    assert not target.exists() and not app.metric and not app.get("graphviz_chart")
