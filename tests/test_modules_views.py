"""Issue 17's views: a model's module calls drawn as labelled frames (Graphviz clusters),
collapsed to one box each on request or when the drawing folds, a custom
autograd.Function's node named after its class, its backward's source and numbers in the
step-through, written vs recorded for a module call, and the exported snippet naming a
module's parameters.

Numbers are checked against plain torch run in a fresh namespace (the program is plain
PyTorch), never against the engine's own output.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import engine
from engine import run_program
from engine.teaching.snippet import build_snippet, parameter_expression
from engine.teaching.steps import custom_backward
from graphviz_utils import THEMES, pan_zoom_html, to_dot, to_html, to_svg
from graphviz_utils.fold import collapse_modules, fold
from graphviz_utils.from_result import from_result
from graphviz_utils.size import NODE_STATEMENT

NET = """\
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.fc2 = nn.Linear(4, 1)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))

torch.manual_seed(0)
model = Net()
x = torch.tensor([[1.0, 2.0, 3.0]])
target = torch.tensor([[0.5]])
loss_fn = nn.MSELoss()
y = model(x)
loss = loss_fn(y, target)
loss.backward()
"""

LEGENDRE = """\
import torch

class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)

x = torch.tensor([0.5, -1.0, 2.0])
a = torch.tensor(0.1, requires_grad=True)
b = torch.tensor(0.7, requires_grad=True)
P3 = LegendrePolynomial3.apply
y_pred = P3(a + b * x)
loss = y_pred.sum()
loss.backward()
"""


def plain_torch(source: str) -> dict:
    """The program run by Python itself, in a fresh namespace: the reference."""
    namespace: dict = {}
    exec(compile(source, "<reference>", "exec"), namespace)  # the test's own text
    return namespace


@pytest.fixture(scope="module")
def net():
    return run_program(NET, auto_backward=False)


@pytest.fixture(scope="module")
def legendre():
    return run_program(LEGENDRE, auto_backward=False)


def frames(source: str) -> list[tuple[int, str, str]]:
    """Every cluster as (nesting depth, id, label text), in the order written."""
    found, depth = [], 0
    lines = source.splitlines()
    for index, line in enumerate(lines):
        opened = re.match(r"\s*subgraph (\S+) \{", line)
        if opened:
            label = re.search(r"label=<(.*?)> ", lines[index + 1]).group(1)
            found.append((depth, opened.group(1),
                          html.unescape(re.sub(r"<[^>]+>", "", label))))
            depth += 1
        elif line.strip() == "}" and depth:
            depth -= 1
    return found


def node_frame(source: str) -> dict[str, str | None]:
    """Each node's innermost enclosing cluster id (None at the top)."""
    where: dict[str, str | None] = {}
    stack: list[str] = []
    for line in source.splitlines():
        opened = re.match(r"\s*subgraph (\S+) \{", line)
        if opened:
            stack.append(opened.group(1))
        elif line.strip() == "}" and stack:
            stack.pop()
        else:
            node = NODE_STATEMENT.match(line)
            if node:
                where[node.group(1)] = stack[-1] if stack else None
    return where


def label_of(source: str, node: str) -> str:
    line = next(li for li in source.splitlines() if re.match(rf"\s*{node} \[label=<", li))
    return html.unescape(re.sub(r"<[^>]+>", " ", line.split("label=<", 1)[1]))


# -- 1. frames -----------------------------------------------------------------------------
def test_net_frames_nest_as_the_calls_did(net):
    source = to_dot(net).source
    assert frames(source) == [
        (0, "cluster_c0", "model: Net"),
        (1, "cluster_c1", "fc1: Linear(3 → 4)"),
        (1, "cluster_c2", "fc2: Linear(4 → 1)"),
        (0, "cluster_c3", "loss_fn: MSELoss")]
    where = node_frame(source)
    names = {n["name"]: n["id"] for n in net.graph["nodes"] if n.get("name")}
    assert where[names["fc1.weight"]] == where[names["fc1.bias"]] == "cluster_c1"
    assert where[names["fc2.weight"]] == where[names["y"]] == "cluster_c2"
    assert where[names["loss"]] == "cluster_c3"
    relu = next(n["id"] for n in net.graph["nodes"] if n.get("op") == "ReluBackward0")
    assert where[relu] == "cluster_c0"  # torch.relu in Net.forward, outside both layers
    assert where["legend"] is None
    assert "frame: one call of a module" in html.unescape(label_of(source, "legend"))


@pytest.mark.parametrize("theme", list(THEMES))
def test_frames_use_the_themes_colours_with_readable_labels(net, theme):
    look = THEMES[theme].cluster
    source = to_dot(net, theme=theme).source
    assert f'fontcolor="{look.text}"' in source and f'color="{look.border}"' in source
    # the label's colour against the frame's fill: WCAG contrast of at least 4.5
    for fill in look.fills:
        assert contrast(look.text, fill) >= 4.5, (theme, fill)
    for kind in ("custom", "module"):
        node = THEMES[theme].nodes[kind]
        assert contrast(node.text, node.fill) >= 4.5, (theme, kind)


def contrast(a: str, b: str) -> float:
    def luminance(colour: str) -> float:
        rgb = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_frames_reach_svg_html_and_pan_zoom_exports(net):
    dot = to_dot(net)
    svg = to_svg(dot)
    for label in ("model: Net", "fc1: Linear(3 → 4)", "fc2: Linear(4 → 1)"):
        assert f">{label}<" in html.unescape(svg), label
    assert svg.count('class="cluster"') == 4
    assert "subgraph cluster_c1" in to_html(dot)
    assert "fc1: Linear(3 → 4)" in html.unescape(
        pan_zoom_html(dot, height_px=400, background="white", text_colour="#222"))


# -- collapsed -------------------------------------------------------------------------------
def test_collapsed_layers_are_one_box_each_with_edges_kept(net):
    source = to_dot(net, modules="collapsed").source
    assert [f[2] for f in frames(source)] == ["model: Net", "loss_fn: MSELoss"]
    boxes = {n: label_of(source, n) for n in node_frame(source) if n.startswith("module_")}
    assert sorted(re.split(r"\s{2,}", b.strip())[0] for b in boxes.values()) == [
        "fc1: Linear(3 → 4)", "fc2: Linear(4 → 1)"]
    assert "weight" not in " ".join(node_frame(source))  # parameters are inside
    edges = set(re.findall(r"^\s*(\w+) -> (\w+)", source, re.M))
    relu = next(n["id"] for n in net.graph["nodes"] if n.get("op") == "ReluBackward0")
    loss = next(n["id"] for n in net.graph["nodes"] if n.get("name") == "loss")
    assert {("module_c1", relu), (relu, "module_c2"), ("module_c2", loss)} <= edges
    # the box shows what fc2 returned: y, as plain torch computes it
    reference = plain_torch(NET)
    fc2 = boxes["module_c2"]
    assert "returns y" in fc2
    assert f"value [[{reference['y'].item():.4g}]]" in fc2
    # d loss / d y = 2 (y - target), the gradient that reached fc2's output
    grad = 2 * (reference["y"] - reference["target"]).item()
    assert f"grad [[{grad:.4g}]]" in fc2


def test_folding_over_budget_collapses_layers_first(net):
    drawing = fold(from_result(net), budget=8)
    assert {n.name for n in drawing.nodes.values() if n.kind == "module"} == {
        "fc1: Linear(3 → 4)", "fc2: Linear(4 → 1)"}
    assert len(drawing.nodes) <= 8


def test_a_frame_holding_the_output_or_a_single_box_stays_drawn(net):
    collapsed = collapse_modules(from_result(net))
    assert any(c.label == "loss_fn: MSELoss" for c in collapsed.clusters)
    assert any(n.name == "loss" for n in collapsed.nodes.values())


def test_a_program_without_modules_draws_no_frame():
    result = run_program("y = x * 2\nz = y.sin()\n", {"x": "1.5"})
    source = to_dot(result).source
    assert "subgraph" not in source
    assert to_dot(result, modules="collapsed").source == source


def test_unknown_modules_mode_is_refused(net):
    with pytest.raises(ValueError, match="modules must be one of"):
        to_dot(net, modules="exploded")


# -- escaping --------------------------------------------------------------------------------
HOSTILE_NET = """\
import torch
import torch.nn as nn

class N_amp_lt_B(nn.Module):
    def __init__(self):
        super().__init__()
        self.B_gt_lt_script = nn.Linear(2, 2)
        self.N_G_L = nn.Linear(2, 1)

    def forward(self, x):
        return self.N_G_L(self.B_gt_lt_script(x))

torch.manual_seed(0)
model = N_amp_lt_B()
out = model(torch.tensor([[1.0, 2.0]])).sum()
"""


def test_hostile_module_labels_are_escaped_everywhere():
    """Labels are the program's names; here fake them hostile after the run (Python
    names cannot hold markup) and check the DOT and the SVG hold them as text."""
    result = run_program(HOSTILE_NET)
    assert result.error is None, result.error
    hostile = ['x" <B>&amp;</B> \\N', '</FONT>> ]; evil [label="x', "<script>alert(1)</script>"]
    result.graph["modules"] = [dict(box, label=hostile[i % 3])
                               for i, box in enumerate(result.graph["modules"])]
    for mode in ("boxes", "collapsed"):
        source = to_dot(result, modules=mode).source
        plain = to_dot(run_program(HOSTILE_NET), modules=mode).source
        svg = to_svg(source)
        assert "<script" not in svg
        # the same boxes and frames as with harmless names: nothing broke out of a label
        assert svg.count('class="node"') == to_svg(plain).count('class="node"')
        assert svg.count('class="cluster"') == to_svg(plain).count('class="cluster"') > 0
        text = html.unescape(re.sub(r"<[^>]+>", "", svg))
        for label in hostile[:len(result.graph["modules"])]:
            assert label in text, (mode, label)


# -- 2. custom Function ------------------------------------------------------------------------
def test_custom_function_node_is_named_after_its_class(legendre):
    source = to_dot(legendre).source
    node = next(n["id"] for n in legendre.graph["nodes"] if n.get("custom"))
    label = label_of(source, node)
    assert "LegendrePolynomial3 · your autograd.Function" in label
    line = next(li for li in source.splitlines() if re.match(rf"\s*{node} \[", li))
    assert f'fillcolor="{THEMES["light"].nodes["custom"].fill}"' in line
    assert "your own autograd.Function" in label_of(source, "legend")


def test_custom_backward_step_shows_its_source_and_torchs_numbers(legendre):
    steps = legendre.graph["steps"]
    nodes = {n["id"]: n for n in legendre.graph["nodes"]}
    names = {i: n.get("name") for i, n in nodes.items()}
    shown = [custom_backward(s, nodes[s["node"]], names, steps[0]["name"]) for s in steps]
    assert [c is not None for c in shown].count(True) == 1
    custom = next(c for c in shown if c is not None)
    lines = LEGENDRE.splitlines()
    start = next(i for i, li in enumerate(lines, 1) if "def backward" in li)
    assert custom.numbered_source.splitlines() == [
        f"{n}  {lines[n - 1][4:]}" for n in range(start, start + 3)]
    # plain torch: grad_output = d sum / d y_pred = ones; returned 1.5 (5 u² - 1)
    u = torch.tensor([0.1 + 0.7 * 0.5, 0.1 - 0.7, 0.1 + 0.7 * 2.0])
    returned = 1.5 * (5 * u ** 2 - 1)
    assert "called your `LegendrePolynomial3.backward` with grad_output = [1, 1, 1]" \
        in custom.sentence
    numbers = [float(v) for v in re.search(r"It returned \[(.*?)\]",
                                            custom.sentence).group(1).split(",")]
    assert numbers == pytest.approx(returned.tolist(), rel=1e-3)
    assert "dloss/dy_pred" in custom.sentence


def test_backward_parameters_named_as_written():
    node = {"custom": {"class": "Mul2", "line": 7, "code":
                       "    def backward(ctx, g_a, *rest):\n        return g_a, None",
                       "received": [None, None, None], "returned": [None, None]}}
    custom = custom_backward({"sends": [{"index": 0, "to": "n1"}, {"index": 1, "to": None}]},
                             node, {"n1": "w"})
    assert "g_a = None, rest[0] = None, rest[1] = None" in custom.sentence
    assert "None for `w`; None for an input that needs no gradient" in custom.sentence
    assert custom.numbered_source.splitlines()[0] == "7  def backward(ctx, g_a, *rest):"


# -- 3. written vs recorded -------------------------------------------------------------------
def test_a_module_call_line_is_one_written_line_many_recorded_operations(net):
    found = {d.line: d for d in engine.differences(net, NET)}
    call = found[18]
    assert call.kind == "inside_function"
    assert "`y = model(x)` is one line" in call.sentence
    assert "the module model (drawn as the frame `model: Net`)" in call.sentence
    assert "5 operations" in call.sentence and "linear ×2" in call.sentence
    assert 19 not in found  # loss_fn(y, target): one recorded operation, as written


# -- 4. parameter names with dots --------------------------------------------------------------
@pytest.mark.parametrize(("name", "expected"), [
    ("x", "x"), ("fc1.weight", "model.fc1.weight"), ("linear.weight", "linear.weight"),
    ("seq.0.weight", "seq[0].weight"), ("fc1.class", None), ("fc1.a b", None)])
def test_parameter_expressions(name, expected):
    import ast
    tree = ast.parse("class Net: pass\nmodel = Net()\nlinear = 1\nseq = 2\n")
    assert parameter_expression(name, tree) == expected


def test_parameter_of_an_unknown_holder_is_not_guessed():
    import ast
    tree = ast.parse("class Net: pass\na = Net()\nb = Net()\n")
    assert parameter_expression("fc1.weight", tree) is None


SEQUENTIAL = """\
import torch
import torch.nn as nn
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
head = nn.Linear(1, 1)
loss = head(model(torch.tensor([[0.5, -1.0]]))).pow(2).sum()
"""


@pytest.mark.parametrize("source", [NET, SEQUENTIAL], ids=["net", "sequential"])
def test_exported_snippet_prints_parameter_grads_as_plain_torch(source, tmp_path: Path):
    result = run_program(source, {}, isolate=False)
    snippet = build_snippet(source, {}, result=result)
    script = tmp_path / "snippet.py"
    script.write_text(snippet.text)
    ran = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr + snippet.text
    printed = dict(line.split(" = ", 1) for line in ran.stdout.splitlines() if " = " in line)
    reference = plain_torch(source)
    if "backward" not in source:
        reference["loss"].backward()
    params = {**{f"{k}": v for k, v in dict(reference["model"].named_parameters()).items()}}
    for name in result.grads:
        assert f"{name}.grad" in printed, (name, snippet.text)
    expected_names = set(result.grads)
    if source is NET:
        assert expected_names == {f"{k}" for k in params}
        assert "model.fc1.weight.grad" in snippet.text
        grads = {k: v.grad for k, v in params.items()}
    else:
        assert expected_names >= {f"model.{k}" for k in params} | {"head.weight"}
        assert "model[0].weight.grad" in snippet.text
        grads = {f"model.{k}": v.grad for k, v in params.items()}
        grads["head.weight"] = reference["head"].weight.grad
    for name, grad in grads.items():
        # the printed tensor's text equals what plain torch prints for the same grad
        assert printed[f"{name}.grad"].split("\n")[0] == str(grad).split("\n")[0], name
        assert torch.equal(result.grads[name], grad), name
