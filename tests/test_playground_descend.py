"""The Playground's Descend and the loss landscape (Streamlit's AppTest): the steps the
page draws against plain torch's optimizers and a hand formula, the verdict at a small and
a large learning rate, the loop in the link and the export, refusals in sentences, hostile
links; the landscape's curve and contour against plain torch's loss at those points."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F

from tests.apptest_tools import open_menu, plotly_array, start
from tests.test_training import XS, YS, neuron_loop, plain_neuron
from ui.export_view import EXPORT_MENU_KEY
from ui.share import PlaygroundState, to_query
from ui.training import descend
from ui.training.panel import TRAIN_STEP_KEY

pytestmark = pytest.mark.usefixtures("fresh_caches")

NEURON = ("xs = torch.tensor(" + repr(XS) + ")\nys = torch.tensor(" + repr(YS) + ")\n"
          "loss = F.binary_cross_entropy(torch.sigmoid(w * xs + b), ys)\n")


def plain_descent(loss_of: Callable[..., torch.Tensor], start_values: dict[str, float],
                  optimizer: str, lr: float, steps: int) -> list[dict[str, float]]:
    """Plain torch's optimizer on fresh leaves: per step the loss, each leaf's value
    (before the update) and its .grad."""
    leaves = {n: torch.tensor(v, requires_grad=True) for n, v in start_values.items()}
    make = {"sgd": lambda p: torch.optim.SGD(p, lr=lr),
            "momentum": lambda p: torch.optim.SGD(p, lr=lr, momentum=0.9),
            "adam": lambda p: torch.optim.Adam(p, lr=lr)}[optimizer]
    opt = make(list(leaves.values()))
    seen = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_of(**leaves)
        loss.backward()
        row = {"loss": loss.item()}
        for name, leaf in leaves.items():
            row[name], row[f"{name}.grad"] = leaf.item(), leaf.grad.item()
        seen.append(row)
        opt.step()
    return seen


def opened(code: str, values: dict[str, str], **descent: object):
    at = start(to_query(PlaygroundState(code=code, values=values, **descent)))
    assert not at.exception, at.exception
    return at


def param(at, key: str) -> list[str]:
    """A link parameter as a list (AppTest gives one value as a plain string)."""
    value = at.query_params[key]
    return value if isinstance(value, list) else [value]


def charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def training_traces(at) -> dict[str, list[float]]:
    chart = next(c for c in charts(at) if c["layout"].get("yaxis3"))
    return {t["name"]: plotly_array(t["y"]).tolist() for t in chart["data"]}


def assert_steps(at, want: list[dict[str, float]], loss: str, leaves: list[str]) -> None:
    got = training_traces(at)
    assert got[loss] == pytest.approx([s["loss"] for s in want], rel=1e-5, abs=1e-6)
    for name in leaves:
        assert got[name] == pytest.approx([s[name] for s in want], rel=1e-5, abs=1e-6)
        assert got[f"{name}.grad"] == pytest.approx([s[f"{name}.grad"] for s in want],
                                                    rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_descend_draws_plain_torchs_optimizer_steps(optimizer):
    at = opened("y = x**2", {"x": "2"}, descend=optimizer, descend_lr=0.1, descend_steps=15)
    want = plain_descent(lambda x: x**2, {"x": 2.0}, optimizer, 0.1, 15)
    assert_steps(at, want, "y", ["x"])
    if optimizer == "sgd":  # by hand: x_k = 2 (1 - 2 lr)^k for y = x**2
        assert training_traces(at)["x"] == pytest.approx([2 * 0.8**k for k in range(15)],
                                                         rel=1e-5)


def test_a_large_learning_rate_diverges_and_the_page_says_so():
    at = opened("y = x**2", {"x": "2"}, descend="sgd", descend_lr=1.5, descend_steps=20)
    assert_steps(at, plain_descent(lambda x: x**2, {"x": 2.0}, "sgd", 1.5, 20), "y", ["x"])
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 1 and "learning rate 1.5" in warnings[0]
    assert not at.success
    # a small one converges, and the page says that instead
    at.number_input(key=descend.LR_KEY).set_value(0.1).run()
    assert not at.exception and not at.warning
    assert [s.value for s in at.success] and "converging" in at.success[0].value
    assert param(at, "dlr") == ["0.1"]


def test_switching_descend_on_from_the_widgets_writes_the_link_and_the_loop():
    at = opened("y = x**2", {"x": "2"})
    assert "Training" not in [s.value for s in at.subheader]
    at.toggle(key=descend.ON_KEY).set_value(True).run()
    assert not at.exception
    at.selectbox(key=descend.OPTIMIZER_KEY).set_value("adam").run()
    at.number_input(key=descend.STEPS_KEY).set_value(30).run()
    assert not at.exception
    assert "Training" in [s.value for s in at.subheader]
    assert {k: param(at, k) for k in ("descend", "dlr", "dsteps")} == \
        {"descend": ["adam"], "dlr": ["0.1"], "dsteps": ["30"]}
    assert_steps(at, plain_descent(lambda x: x**2, {"x": 2.0}, "adam", 0.1, 30), "y", ["x"])
    loops = [c.value for c in at.code if c.value.startswith("# Descend")]
    assert loops and "torch.optim.Adam([x], lr=0.1)" in loops[0]
    assert "for step in range(30):" in loops[0]


def test_the_exported_script_is_the_loop_and_plain_python_gives_the_same_numbers(tmp_path):
    at = opened(NEURON, {"w": "0.5", "b": "-1"}, descend="momentum", descend_lr=0.3,
                descend_steps=25, descend_leaves=("w", "b"))
    open_menu(at, EXPORT_MENU_KEY)
    script = next(c.value for c in at.code if c.value.startswith("# Made by"))
    assert "optimizer = torch.optim.SGD([w, b], lr=0.3, momentum=0.9)" in script
    path = tmp_path / "exported.py"
    path.write_text(script + "\nprint(repr(w.item()), repr(b.item()), repr(loss.item()))\n")
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                         check=True, timeout=120).stdout.strip().splitlines()[-1]
    w_end, b_end, loss_end = (float(v) for v in out.split())

    def bce(w, b):
        return F.binary_cross_entropy(torch.sigmoid(w * torch.tensor(XS) + b),
                                      torch.tensor(YS))

    want = plain_descent(bce, {"w": 0.5, "b": -1.0}, "momentum", 0.3, 26)
    assert_steps(at, want[:25], "loss", ["w", "b"])
    # the script ends after its 25th update: where plain torch's 26th step starts
    assert loss_end == pytest.approx(want[24]["loss"], rel=1e-6)
    assert (w_end, b_end) == (pytest.approx(want[25]["w"], rel=1e-6),
                              pytest.approx(want[25]["b"], rel=1e-6))


def test_only_the_chosen_leaves_move():
    at = opened(NEURON, {"w": "0.5", "b": "-1"}, descend="sgd", descend_lr=0.5,
                descend_steps=10, descend_leaves=("w",))
    got = training_traces(at)
    assert set(got["b"]) == {-1.0}
    assert len(set(got["w"])) == 10


@pytest.mark.parametrize(("code", "values", "says"), [
    ("y = x**2\ny.backward()", {"x": "2"}, "calls backward() itself"),
    ("y = x * 2", {"x": "[1, 2]"}, "single-number loss"),
    ("y = torch.tensor(3.0) ** 2", {}, "requires grad"),
])
def test_programs_descend_cannot_move_get_a_sentence(code, values, says):
    at = opened(code, values, descend="sgd")
    assert any(says in c.value for c in at.caption), [c.value for c in at.caption]
    assert not [t for t in at.toggle if t.key == descend.ON_KEY]


def test_a_program_descend_refuses_gets_its_sentence_and_runs_as_written():
    # line 2 reads w before the last leaf is made: it cannot stay before the loop
    code = ("w = torch.tensor(1.0, requires_grad=True)\ns = w * 2\n"
            "b = torch.tensor(0.5, requires_grad=True)\nloss = (s + b - 3)**2\n")
    at = opened(code, {}, descend="sgd")
    said = [i.value for i in at.info if "Move line 2 below line 3" in i.value]
    assert len(said) == 1 and said[0].startswith("Line 2 computes `s` from `w`")
    assert "Training" not in [s.value for s in at.subheader]
    w, b = torch.tensor(1.0), torch.tensor(0.5)
    assert float(at.metric[0].value) == pytest.approx(((w * 2 + b - 3) ** 2).item())


@pytest.mark.parametrize("query", [
    {"descend": "sgd", "dleaf": ["os", "__class__", "x.grad", "x"]},
    {"descend": "adam", "dlr": "1e6", "dsteps": "500"},
    {"descend": "momentum", "dlr": "nan"},
    {"descend": "evil", "dsteps": "-3"},
    {"descend": "sgd", "dlr": "1e-30"},
])
def test_hostile_descend_links_never_crash(query):
    at = start({"code": "y = x**2", "in": ["x:2"], **query})
    assert not at.exception, at.exception
    assert not at.error


def test_a_typo_keeps_descends_choices():
    at = opened("y = x**2", {"x": "2"}, descend="adam", descend_lr=0.05, descend_steps=40)
    at.text_area(key="pg_code").set_value("y = x**").run()
    assert not at.exception
    assert at.toggle(key=descend.ON_KEY).disabled
    at.text_area(key="pg_code").set_value("y = x**4").run()
    assert param(at, "descend") == ["adam"] and param(at, "dsteps") == ["40"]
    assert_steps(at, plain_descent(lambda x: x**4, {"x": 2.0}, "adam", 0.05, 40), "y", ["x"])


# -- the landscape ------------------------------------------------------------------------
def landscape(at) -> dict:
    return next(c for c in charts(at) if "over" in c["layout"].get("title", {}).get("text", "")
                or "function of" in c["layout"].get("title", {}).get("text", ""))


def test_the_contour_is_plain_torchs_loss_and_the_path_its_steps():
    steps, lr = 30, 0.5
    at = start(to_query(PlaygroundState(code=neuron_loop(steps, lr), values={},
                                        train_step=12)))
    assert not at.exception
    spec = landscape(at)
    contour, path, marker = spec["data"]
    xs, ys = plotly_array(contour["x"]), plotly_array(contour["y"])
    grid = plotly_array(contour["z"]).reshape(len(ys), len(xs))
    data, labels = torch.tensor(XS), torch.tensor(YS)
    for i, j in [(0, 0), (5, 30), (40, 40), (20, 7)]:
        w, b = torch.tensor(float(xs[j])), torch.tensor(float(ys[i]))
        want = F.binary_cross_entropy(torch.sigmoid(w * data + b), labels).item()
        assert grid[i, j] == pytest.approx(want, rel=1e-5)
    plain = plain_neuron(steps, lr)
    assert plotly_array(path["x"]).tolist() == pytest.approx([s["w"] for s in plain],
                                                           rel=1e-6, abs=1e-7)
    assert plotly_array(path["y"]).tolist() == pytest.approx([s["b"] for s in plain],
                                                           rel=1e-6, abs=1e-7)
    assert plotly_array(marker["x"]).tolist() == pytest.approx([plain[11]["w"]], rel=1e-6)
    alt = [c.proto.alt for c in at.get("plotly_chart") if "Contour map" in c.proto.alt]
    assert alt and "step 12" in alt[0]
    # another step: the same contours (w and b are all the leaves), the marker moves
    at.slider(key=TRAIN_STEP_KEY).set_value(25).run()
    assert not at.exception
    contour_25, _, marker_25 = landscape(at)["data"]
    assert plotly_array(contour_25["z"]).tolist() == plotly_array(contour["z"]).tolist()
    assert plotly_array(marker_25["x"]).tolist() == pytest.approx([plain[24]["w"]], rel=1e-6)
    assert plotly_array(marker_25["y"]).tolist() == pytest.approx([plain[24]["b"]], rel=1e-6)


def test_one_parameter_draws_the_marble_on_plain_torchs_curve():
    steps, lr = 20, 0.5
    at = start(to_query(PlaygroundState(code=neuron_loop(steps, lr), values={})))
    at.multiselect(key="pg_land").set_value(["b"]).run()
    assert not at.exception
    curve, marbles, _ = landscape(at)["data"]
    plain = plain_neuron(steps, lr)
    w_last = torch.tensor(plain[-1]["w"])
    xs, ys = plotly_array(curve["x"]), plotly_array(curve["y"])
    for k in (0, 100, 200):
        b = torch.tensor(float(xs[k]))
        want = F.binary_cross_entropy(torch.sigmoid(w_last * torch.tensor(XS) + b),
                                      torch.tensor(YS)).item()
        assert ys[k] == pytest.approx(want, rel=1e-5)
    assert plotly_array(marbles["x"]).tolist() == pytest.approx([s["b"] for s in plain],
                                                              rel=1e-6, abs=1e-7)
    assert plotly_array(marbles["y"]).tolist() == pytest.approx([s["loss"] for s in plain],
                                                              rel=1e-6)


def test_backward_twice_on_a_fixed_x_has_a_panel_but_no_landscape():
    at = opened("y = x**3\ny.backward(retain_graph=True)\ny.backward()\n", {"x": "2"})
    assert "Training" in [s.value for s in at.subheader]
    assert not [m for m in at.multiselect if m.key == "pg_land"]
    boxes = [b.value for b in (*at.success, *at.warning, *at.info)]
    assert not [b for b in boxes if "descent" in b or "never moved" in b], boxes
    assert "f and its derivative" in [s.value for s in at.subheader]
