"""AppTest: the Playground runs programs, shows torch's numbers, graph and curves, reacts
to every toggle as torch says, and round-trips its whole state through a share link.

Expected numbers come from hand-derived formulas (2x, 2x cos x², ...), never from the
page's own output.
"""

from __future__ import annotations

import math
import re

import plotly.graph_objects as go
import plotly.io as pio
import pytest
from streamlit.testing.v1 import AppTest

from graphviz_utils.theme import LIGHT, PROJECTOR
from tests.apptest_tools import dot, open_menu, plotly_array, start, table
from ui.share import SHARE_MENU_KEY

pytestmark = pytest.mark.usefixtures("fresh_caches")



@pytest.fixture
def app() -> AppTest:
    return start()


def grads(at: AppTest) -> dict[str, float | str]:
    """The grads table as {tensor: .grad}, numbers as floats where they are numbers."""
    frame = table(at)
    out: dict[str, float | str] = {}
    for name, text in zip(frame["tensor"], frame[".grad (autograd)"]):
        try:
            out[name] = float(text)
        except ValueError:
            out[name] = text
    return out


def by_hand(at: AppTest) -> dict[str, str]:
    frame = table(at)
    return dict(zip(frame["tensor"], frame["by hand"]))


def figures(at: AppTest) -> list[go.Figure]:
    return [pio.from_json(chart.proto.spec) for chart in at.get("plotly_chart")]


def trace(figure: go.Figure, name: str) -> dict[str, list[float]]:
    found = next(t for t in figure.data if t.name == name)
    return {"x": plotly_array(found.x).tolist(), "y": plotly_array(found.y).tolist()}


def link(at: AppTest) -> dict[str, list[str]]:
    """The page's URL parameters, each as the list of its values."""
    return {k: v if isinstance(v, list) else [v] for k, v in at.query_params.items()}


def healthy(at: AppTest) -> None:
    assert not at.exception, at.exception


# --- the default view ---------------------------------------------------------------


def test_default_view_shows_output_grads_graph_and_curves(app):
    healthy(app)
    assert not app.error
    assert app.metric[0].value == f"{math.sin(16):.4g}"
    assert grads(app)["x"] == pytest.approx(8 * math.cos(16), rel=1e-3)
    assert float(by_hand(app)["x"]) == pytest.approx(8 * math.cos(16), rel=1e-3)
    graph = dot(app)
    assert "<B>x</B>" in graph and "<B>z</B>" in graph
    assert f"value {math.sin(16):.4g}" in graph and f".grad {8 * math.cos(16):.4g}" in graph
    assert len(figures(app)) == 2


def test_curves_are_f_and_its_derivative_with_the_formula_by_hand(app):
    f_fig, df_fig = figures(app)
    f = trace(f_fig, "z(x)")
    for x, y in list(zip(f["x"], f["y"]))[::97]:
        assert y == pytest.approx(math.sin(x * x), abs=1e-5)
    autograd = trace(df_fig, "autograd")
    hand = trace(df_fig, "by hand (sympy)")
    for x, dy, hy in list(zip(autograd["x"], autograd["y"], hand["y"]))[::97]:
        assert dy == pytest.approx(2 * x * math.cos(x * x), abs=1e-3)
        assert hy == pytest.approx(2 * x * math.cos(x * x), abs=1e-9)
    point = trace(df_fig, f"x.grad = {8 * math.cos(16):.4g}")
    assert point["x"] == [4.0]
    formulas = [m.value for m in app.markdown if m.value.startswith(r"$\displaystyle")]
    assert r"\sin" in formulas[0] and r"\cos" in formulas[1]  # f, then df/dx


def test_tangent_touches_f_at_the_current_point(app):
    f_fig = figures(app)[0]
    name = next(t.name for t in f_fig.data if t.name.startswith("tangent"))
    (x1, x2), (y1, y2) = trace(f_fig, name)["x"], trace(f_fig, name)["y"]
    assert (y2 - y1) / (x2 - x1) == pytest.approx(8 * math.cos(16), rel=1e-3)
    assert y1 + (4 - x1) * (y2 - y1) / (x2 - x1) == pytest.approx(math.sin(16), abs=1e-4)


# --- editing --------------------------------------------------------------------------


def test_edit_program_makes_an_input_box_per_name_and_reruns(app):
    app.text_area(key="pg_code").input("y = w * x + b").run()
    healthy(app)
    assert [t.label for t in app.text_input] == ["w", "x", "b"]
    app.text_input(key="pg_in_w").input("2").run()
    app.text_input(key="pg_in_x").input("5").run()
    healthy(app)
    g = grads(app)
    assert (g["w"], g["x"], g["b"]) == (5.0, 2.0, 1.0)  # dy/dw = x, dy/dx = w, dy/db = 1
    assert app.metric[0].value == "11"  # 2*5 + 1 (b defaults to 1.0)


def test_a_name_the_program_assigns_gets_no_input_box(app):
    app.text_area(key="pg_code").input("x = torch.tensor(3.0, requires_grad=True)\n"
                                       "y = x**3").run()
    healthy(app)
    assert not app.text_input
    assert grads(app)["x"] == pytest.approx(27.0)


def test_requires_grad_off_removes_that_gradient(app):
    app.text_area(key="pg_code").input("y = w * x").run()
    app.checkbox(key="pg_rg_x").uncheck().run()
    healthy(app)
    assert "x" not in grads(app)
    assert grads(app)["w"] == pytest.approx(4.0)  # x kept the 4 typed for the last program


def test_vector_input_gives_per_element_grads(app):
    app.text_area(key="pg_code").input("y = (x**2).mean()").run()
    app.text_input(key="pg_in_x").input("[1, 2, 3]").run()
    healthy(app)
    assert grads(app)["x"] == "[0.6667, 1.333, 2]"  # 2 x_i / 3
    assert app.metric[0].value == f"{14 / 3:.4g}"
    assert not app.get("plotly_chart")  # a curve varies one number
    assert any("single-number input" in c.value for c in app.caption)


def test_example_picker_loads_the_bce_neuron(app):
    app.selectbox(key="pg_example").select("Logistic neuron with BCE loss").run()
    healthy(app)
    g = grads(app)
    assert g["w"] == pytest.approx(6.691762447357178, rel=1e-4)  # the seed's manual values
    assert g["b"] == pytest.approx(0.998770534992218, rel=1e-4)
    assert "x" not in g and "y" not in g  # data, not parameters
    assert app.metric[0].value == "6.701"


# --- the toggles ------------------------------------------------------------------------


def test_no_grad_leaves_no_gradients_and_says_why(app):
    app.toggle(key="pg_no_grad").set_value(True).run()
    healthy(app)
    assert grads(app)["x"] == "None"
    assert any("no_grad" in w.value for w in app.warning)
    assert "dashed" in dot(app) or "style=dashed" in dot(app) or "untracked" in dot(app)
    assert all(math.isnan(v) for v in trace(figures(app)[1], "autograd")["y"])


def test_detach_makes_a_variable_a_constant_for_autograd(app):
    app.text_area(key="pg_code").input("y = x**2\nz = y * x").run()
    assert grads(app)["x"] == pytest.approx(48.0)  # d(x^3)/dx = 3x^2 at 4
    app.multiselect(key="pg_detach").select("y").run()
    healthy(app)
    assert grads(app)["x"] == pytest.approx(16.0)  # y is a constant 16: dz/dx = y
    assert "used as a constant" in dot(app)


def test_retain_grad_shows_intermediate_grads(app):
    app.toggle(key="pg_retain").set_value(True).run()
    healthy(app)
    g = grads(app)
    assert g["y"] == pytest.approx(math.cos(16), rel=1e-3)  # dz/dy = cos(y)
    assert g["z"] == 1.0


def test_plot_another_input(app):
    app.text_area(key="pg_code").input("y = torch.sin(w * x)").run()
    app.selectbox(key="pg_wrt").select("w").run()
    healthy(app)
    df_fig = figures(app)[1]
    autograd = trace(df_fig, "autograd")
    for w, dy in list(zip(autograd["x"], autograd["y"]))[::101]:
        assert dy == pytest.approx(4.0 * math.cos(w * 4.0), abs=1e-4)  # x kept its 4


def test_range_inputs_set_the_plotted_range(app):
    app.number_input(key="pg_lo").set_value(-1.0).run()
    app.number_input(key="pg_hi").set_value(2.0).run()
    healthy(app)
    xs = trace(figures(app)[0], "z(x)")["x"]
    assert xs[0] == pytest.approx(-1.0) and xs[-1] == pytest.approx(2.0)


# --- errors -----------------------------------------------------------------------------


def test_error_sits_next_to_the_editor_with_line_and_caret(app):
    app.text_area(key="pg_code").input("y = x**2\nz = y +* 2").run()
    healthy(app)
    assert "line 2" in app.error[0].value
    assert any("^" in c.value and "2 | z = y +* 2" in c.value for c in app.code)
    assert not app.metric and not app.get("graphviz_chart")


def test_hostile_program_shows_error_only(app, tmp_path):
    target = tmp_path / "pwned"
    app.text_area(key="pg_code").input(f"open('{target}', 'w')").run()
    healthy(app)
    assert "`open` is not available here" in app.error[0].value
    assert "line 1, column 1" in app.error[0].value
    assert not target.exists() and not app.metric and not app.get("graphviz_chart")
    assert not app.get("plotly_chart")


def test_backward_error_keeps_the_graph_it_explains(app):
    app.text_area(key="pg_code").input("with torch.no_grad():\n    y = x**2\ny.backward()").run()
    healthy(app)
    assert "does not require grad" in app.error[0].value or "not recorded" in \
        app.error[0].value
    assert app.get("graphviz_chart")


# --- share links ------------------------------------------------------------------------


def test_the_url_follows_every_edit(app):
    app.text_area(key="pg_code").input("y = w * x").run()
    app.text_input(key="pg_in_w").input("3").run()
    app.toggle(key="pg_no_grad").set_value(True).run()
    params = link(app)
    assert params["code"] == ["y = w * x"]
    assert params["in"] == ["w:3", "x:4"]
    assert params["no_grad"] == ["1"]


def test_share_link_round_trip_reproduces_the_view(app):
    app.text_area(key="pg_code").input("y = x**2\nz = torch.exp(y) * w").run()
    app.text_input(key="pg_in_x").input("0.5").run()
    app.text_input(key="pg_in_w").input("2").run()
    app.multiselect(key="pg_detach").select("y").run()
    app.toggle(key="pg_retain").set_value(True).run()
    app.selectbox(key="pg_wrt").select("w").run()
    app.number_input(key="pg_lo").set_value(-2.0).run()
    app.number_input(key="pg_hi").set_value(1.0).run()
    shared = start(link(app))
    healthy(shared)
    assert shared.text_area(key="pg_code").value == app.text_area(key="pg_code").value
    assert grads(shared) == grads(app)
    assert shared.metric[0].value == app.metric[0].value
    assert dot(shared) == dot(app)
    assert [c.proto.spec for c in shared.get("plotly_chart")] == \
        [c.proto.spec for c in app.get("plotly_chart")]
    assert shared.multiselect(key="pg_detach").value == ["y"]
    assert shared.selectbox(key="pg_wrt").value == "w"
    # the numbers are torch's: z = exp(x^2) w with y detached: dz/dx = 0 through y
    assert grads(shared)["w"] == pytest.approx(math.exp(0.25), rel=1e-3)
    assert grads(shared)["x"] == "None"


def test_share_control_shows_the_link():
    at = start()
    assert not any(c.value.startswith("http") for c in at.code)  # filled only while open
    text = open_menu(at, SHARE_MENU_KEY).code[-1].value
    assert text.startswith("http") and "code=y%20%3D%20x%2A%2A2" in text


def test_presenter_link_hides_the_editor_and_uses_the_projector_theme():
    at = start({"code": "y = x**3", "in": "x:2", "editor": "hidden", "style": "projector"})
    healthy(at)
    assert not at.text_area
    assert any(c.value.strip() == "y = x**3" for c in at.code)
    assert grads(at)["x"] == pytest.approx(12.0)
    # the projector theme: its type size, larger than the light theme's
    size = float(re.search(r'graph \[[^]]*fontsize="?([\d.]+)', dot(at)).group(1))
    assert size == PROJECTOR.font_size > LIGHT.font_size


def test_hostile_program_in_a_link_shows_an_error_and_nothing_else(tmp_path):
    target = tmp_path / "pwned"
    for code in (f"open('{target}', 'w').write('x')",
                 "().__class__.__bases__[0].__subclasses__()",
                 "torch.load('/etc/passwd')", "x = torch.ones(10**10)",
                 "import os\nos.system('touch " + str(target) + "')"):
        at = start({"code": code})
        healthy(at)
        assert at.error, code
        assert not at.metric and not at.get("graphviz_chart") and not at.get("plotly_chart")
    assert not target.exists()


def test_bad_link_parameters_are_dropped_with_a_reason():
    at = start({"code": "y = x**2", "in": ["x:2", "__class__:1", "nocolon"],
                "lo": "nan", "hi": "5", "no_grad": "maybe", "evil": "1"})
    healthy(at)
    shown = " ".join(w.value for w in at.warning)
    assert "`nocolon` is not `name:value`" in shown and "Unknown link parameters" in shown
    assert "`no_grad` must be 1 or 0" in shown and "`lo`" in shown
    assert grads(at)["x"] == pytest.approx(4.0)


def test_formula_notes_say_where_autograd_stops(app):
    app.text_area(key="pg_code").input("y = x.detach()**2 * x").run()
    healthy(app)
    assert grads(app)["x"] == pytest.approx(16.0)  # autograd: x.detach()**2 is a constant
    assert float(by_hand(app)["x"]) == pytest.approx(48.0)  # the textbook: d(x^3)/dx
    assert any("detaches" in c.value for c in app.caption)


def test_each_formula_is_built_once_and_toggles_reuse_it(app, monkeypatch):
    """The formula is the mathematics of the text: the plotted leaf's curve formula also
    gives its value in the grads table, the other leaves' come from one call for all of
    them, and no toggle rebuilds either."""
    import engine

    calls = []
    for name in ("analytic_derivative", "hand_gradients"):
        real = getattr(engine, name)
        monkeypatch.setattr(engine, name, lambda *a, _real=real, _name=name, **k:
                            calls.append((_name, a, k)) or _real(*a, **k))
    app.text_area(key="pg_code").input("y = torch.sin(w * x)").run()
    # x (plotted) with its curve; w by hand at a point
    assert sorted((name, a[2]) for name, a, _ in calls) == [
        ("analytic_derivative", "x"), ("hand_gradients", ("w",))]
    for key in ("pg_no_grad", "pg_retain"):
        app.toggle(key=key).set_value(True).run()
        healthy(app)
    app.checkbox(key="pg_rg_w").uncheck().run()
    assert len(calls) == 2
