"""AppTest: the Playground's graph views (step through backward, written vs recorded,
pan and zoom, the gradient's own graph), the f'' curve and the Export menu.

Expected numbers are derived by hand (sigmoid and BCE derivatives, d²/dx² sin x²), never
read from the page's own output; the exported snippet is run for real in a fresh Python.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest_tools import dot, numbers, open_menu, plotly_array, start, table
from ui.examples import BCE_CODE
from ui.export_view import EXPORT_MENU_KEY

pytestmark = pytest.mark.usefixtures("fresh_caches")

BCE_LINK = {"code": BCE_CODE, "in": ["x:6.7", "y:0"], "const": ["x", "y"]}
SIGMA = 1 / (1 + math.exp(-6.7))  # the neuron's prediction at w=1, b=0, x=6.7


def param(at: AppTest, key: str) -> str | None:
    """The link parameter as the address bar has it (AppTest keeps a str or a list)."""
    value = at.query_params.get(key)
    return value[-1] if isinstance(value, list) else value


def step_heading(at: AppTest) -> tuple[int, int]:
    heading = next(m.value for m in at.markdown if m.value.startswith("#### Step "))
    k, n = re.match(r"#### Step (\d+) of (\d+)", heading).groups()
    return int(k), int(n)


def highlighted_node(source: str) -> str:
    """The label text of the box drawn with the step highlight (thick border)."""
    line = next(line for line in source.splitlines() if "penwidth=" in line and "->" not in
                line and "label=<" in line)
    return re.sub(r"<[^>]+>", " ", line.split("label=<", 1)[1])


def last_number(latex: str) -> float:
    body = latex.replace(r"\end{aligned}", "").replace("$$", "")
    return float(re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", body.split("&=")[-1])[-1])


def test_a_step_link_opens_the_bce_backward_at_that_step():
    at = start({**BCE_LINK, "step": "9"})
    assert not at.exception
    assert step_heading(at) == (9, 13)
    assert "y_pred" in highlighted_node(dot(at))
    # At sigmoid, dL/dz = dL/dp · p(1 - p) = (1/(1-p)) · p(1-p) = p (y = 0).
    chain = [m.value for m in at.latex if r"\begin{aligned}" in m.value]
    assert len(chain) == 1
    assert last_number(chain[0]) == pytest.approx(SIGMA, abs=1e-4)
    assert r"\sigma(z)\,(1 - \sigma(z))" in chain[0]
    assert param(at, "step") == "9" and param(at, "view") == "steps"


def test_next_back_first_and_last_walk_the_steps_and_the_link_follows():
    at = start({**BCE_LINK, "step": "9"})
    at.button(key="pg_step_next").click().run()
    assert step_heading(at) == (10, 13)
    assert param(at, "step") == "10"
    assert "z" in highlighted_node(dot(at)).split()
    at.button(key="pg_step_back").click().run()
    at.button(key="pg_step_back").click().run()
    assert step_heading(at) == (8, 13)
    at.button(key="pg_step_last").click().run()
    assert step_heading(at) == (13, 13)
    assert "w" in highlighted_node(dot(at)).split()
    leaf_line = next(m.value for m in at.latex if r"\texttt{w.grad}" in m.value)
    assert float(leaf_line.split("=")[-1].strip(" $\n")) == pytest.approx(SIGMA * 6.7,
                                                                          rel=1e-3)
    assert any("last node" in c.value for c in at.caption)
    at.button(key="pg_step_first").click().run()
    assert step_heading(at) == (1, 13)
    assert "loss" in highlighted_node(dot(at)).split()


def test_the_slider_picks_a_step_and_nodes_not_reached_have_no_gradient_yet():
    at = start({**BCE_LINK, "view": "steps"})
    assert step_heading(at) == (1, 13)
    at.slider(key="pg_step").set_value(12).run()
    assert step_heading(at) == (12, 13)
    source = dot(at)
    assert source.count("not reached yet") == 1  # only w's leaf runs after step 12
    # The multiply box sends w its gradient: x · dL/dz = 6.7 p.
    sends = [line for line in source.splitlines() if "sends" in line]
    assert len(sends) == 1
    assert float(re.search(r"sends (-?[\d.]+)", sends[0]).group(1)) == pytest.approx(
        6.7 * SIGMA, rel=1e-3)


def test_a_step_beyond_the_last_is_clamped_in_the_page_and_the_link():
    at = start({**BCE_LINK, "step": "999"})
    assert step_heading(at) == (13, 13)
    assert param(at, "step") == "13"


def test_steps_view_without_backward_says_why():
    at = start({"code": "y = x**2\n", "in": "x:3", "no_grad": "1", "view": "steps"})
    assert not at.exception
    assert any("nothing to step through" in i.value for i in at.info)


def test_written_vs_recorded_marks_the_no_grad_line():
    at = start({"code": "with torch.no_grad():\n    y = x**2\nz = y + x\n", "in": "x:2",
                "view": "written"})
    assert not at.exception
    written, recorded = dot(at, 0), dot(at, 1)
    assert "y = x**2" in written and "z = y + x" in written
    assert "PowBackward0" not in recorded and "AddBackward0" in recorded
    notes = " ".join(m.value for m in at.markdown if m.value.startswith("- "))
    assert "Line 2" in notes and "no_grad" in notes


def test_written_vs_recorded_agree_for_sin_of_square():
    at = start({"view": "written"})
    assert any("agree" in s.value for s in at.success)


def test_zoom_view_embeds_the_graph_with_its_controls():
    at = start({**BCE_LINK, "view": "zoom"})
    assert not at.exception
    frames = [e for e in at.get("iframe")] or [e for e in at.get("html")]
    assert frames, "no embedded pan-and-zoom view"


def test_the_gradients_own_graph_and_f_second():
    """sin(x²) at x = 4: the gradient 2x cos(x²) is the root of its own graph, and the
    second backward gives d²/dx² = 2cos(x²) - 4x² sin(x²) as x.grad."""
    at = start({"view": "gradient", "second": "1"})
    assert not at.exception
    source = dot(at)
    first = 8 * math.cos(16)
    second = 2 * math.cos(16) - 64 * math.sin(16)
    assert f"{first:.4g}" in source
    assert f"{second:.4g}" in source
    # The third plot is f'' by autograd; compare with the hand formula over the range.
    figure = json.loads(at.get("plotly_chart")[2].proto.spec)
    xs = plotly_array(figure["data"][0]["x"])
    d2 = plotly_array(figure["data"][0]["y"])
    hand = 2 * __import__("numpy").cos(xs**2) - 4 * xs**2 * __import__("numpy").sin(xs**2)
    assert abs(d2 - hand).max() < 1e-3 * max(1.0, abs(hand).max())


def test_the_f_second_toggle_adds_a_third_plot_and_the_link_keeps_it():
    at = start()
    assert len(at.get("plotly_chart")) == 2
    at.toggle(key="pg_second").set_value(True).run()
    assert len(at.get("plotly_chart")) == 3
    assert param(at, "second") == "1"


def run_snippet(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    return done.stdout


def test_the_exported_snippet_prints_the_numbers_the_page_shows():
    at = open_menu(start(BCE_LINK), EXPORT_MENU_KEY)
    snippet = next(c.value for c in at.code if c.language == "python"
                   and "import torch" in c.value)
    printed = run_snippet(snippet)
    frame = table(at)
    shown = dict(zip(frame["tensor"], numbers(frame[".grad (autograd)"])))
    for name in ("w", "b"):
        match = re.search(rf"{name}\.grad = tensor\((-?[\d.e+-]+)\)", printed)
        assert match, printed
        assert float(match.group(1)) == pytest.approx(shown[name], rel=1e-3)
    assert shown["w"] == pytest.approx(SIGMA * 6.7, rel=1e-3)


def test_export_offers_the_graph_on_the_screen_as_dot_svg_and_html():
    at = start({**BCE_LINK, "step": "3"})
    assert not at.get("download_button")  # filled only while open: most reruns never open it
    labels = [b.label for b in open_menu(at, EXPORT_MENU_KEY).get("download_button")]
    assert any(label.startswith("Download .py") for label in labels)
    assert any(label.startswith("DOT") for label in labels)
    assert any(label.startswith("SVG") for label in labels)
    assert any(label.startswith("HTML") for label in labels)
    assert any("backward step 3" in m.value for m in at.markdown)


def test_detach_switch_on_y_blames_y_not_z():
    """Issue 15, item 4: the default program with y detached by the switch. z is not
    recorded only because all it reads is y: the warning names y and line 1, never says
    z was detached, and the written view's sentence for line 2 says the same."""
    at = start({"code": "y = x**2\nz = torch.sin(y)\n", "in": "x:4", "detach": "y",
                "view": "written"})
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "computed only from y, which you detached on line 1" in warnings
    assert "detached where it was assigned" not in warnings
    notes = [m.value for m in at.markdown if m.value.startswith("- Line 2")]
    assert len(notes) == 1 and "computed only from y, which you detached on line 1" in \
        notes[0]
    written = dot(at, 0)
    z_box = next(line for line in written.splitlines() if "z = torch.sin(y)" in line
                 and "label=" in line)
    assert "detached (switch)" not in z_box
