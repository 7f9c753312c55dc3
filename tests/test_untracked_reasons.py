"""Why a value was not recorded, per variable (issue 15, items 4 and 5).

Item 4: with y detached by the switch, ``z = torch.sin(y)`` is untracked only because all
it reads is; the warning, the sentences and the boxes must blame y (and its line), never
say that z was detached. The same for a line outside ``torch.no_grad()`` that reads only
values computed inside it, and for values computed only from inputs switched off.

Item 5: a recorded line can use a value without autograd recording that use
(``y.detach() * x``, ``y.item() * x``, your function computing under ``no_grad``, a
constant made with ``requires_grad=False``); both drawings show that use as a dashed
arrow with what cut it.

The expected words are written out by hand from the program text; whether a use really
was cut is checked against plain torch, written out in each test (a fresh computation,
not the engine's), and the gradient against the derivative by hand.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
import torch

from engine import differences, run_program
from graphviz_utils import to_dot, written_dot
from tests.test_graphviz_utils import attr, by_name, edges, name_of, nodes, rows

SIN = "y = x**2\nz = torch.sin(y)\n"
NO_GRAD_THEN_READ = "with torch.no_grad():\n    y = x**2\nz = torch.sin(y)\n"


def run(source: str, inputs: dict | None = None, **options: Any):
    result = run_program(source, inputs or {"x": 4}, isolate=False, **options)
    assert result.error is None, result.error
    return result


def reaches(output: torch.Tensor, wanted: Any) -> bool:
    """Whether plain torch's graph behind ``output`` contains the node ``wanted``."""
    stack, seen = [output.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        if node is wanted:
            return True
        seen.add(node)
        stack.extend(child for child, _ in node.next_functions)
    return False


def label(attrs: str) -> str:
    found = re.search(r"label=<(.*?)>(?:\s|$)", attrs or "")
    return html.unescape(found.group(1)) if found else ""


def written_boxes(source: str) -> dict[str, tuple[str, str]]:
    """``line 2: z = ...`` / an input's name -> (node id, attributes) in written DOT."""
    return {name_of(a): (i, a) for i, a in nodes(source).items() if name_of(a)}


def arrow(source: str, tail: str, head: str) -> str:
    """The attributes of the one drawn arrow tail -> head (invisible ones left out)."""
    found = [a for s, d, a in edges(source) if (s, d) == (tail, head)
             and attr(a, "style") != "invis"]
    assert len(found) == 1, (tail, head, edges(source))
    return found[0]


def box_text(attrs: str) -> str:
    return " ".join(rows(attrs))


# ---------------------------------------------------------------------------------------
# Item 4: the detach switch, no_grad and requires_grad off blame the right variable


def test_detach_switch_warning_names_y_and_its_line():
    """The reference first: in plain torch y = (x**2).detach() has no grad_fn, and
    sin(y) has none either although nothing detached it."""
    x = torch.tensor(4.0, requires_grad=True)
    y = (x**2).detach()
    z = torch.sin(y)
    assert not y.requires_grad and not z.requires_grad and z.grad_fn is None
    result = run(SIN, detach=["y"])
    [warning] = [w for w in result.warnings if "was not recorded by autograd" in w]
    assert warning.startswith("`z` was not recorded by autograd, because it was computed "
                              "only from y, which you detached on line 1")
    assert "detached where it was assigned" not in warning


def test_detach_switch_boxes_mark_only_y_as_detached():
    """Both drawings: y's box says detached (switch); z's says it was computed only
    from y, never that it was detached."""
    result = run(SIN, detach=["y"])
    recorded = by_name(to_dot(result).source)
    assert "not recorded: detached (switch)" in box_text(recorded["y"][1])
    z_box = box_text(recorded["z"][1])
    assert "detached (switch)" not in z_box
    assert "computed only from y (detached by the switch, line 1)" in z_box
    written = written_boxes(written_dot(result).source)
    assert "detached (switch)" in box_text(written["line 1: y = x**2"][1])
    z_written = box_text(written["line 2: z = torch.sin(y)"][1])
    assert "computed only from y (detached by the switch, line 1)" in z_written
    assert "not recorded: detached" not in z_written


def test_detach_switch_dataflow_keeps_the_reason_with_y():
    steps = {s["target"]: s for s in run(SIN, detach=["y"]).graph["dataflow"]}
    assert steps["y"]["reason"] == "detach_option"
    assert steps["z"]["reason"] == "from_untracked"
    assert [(s["name"], s["line"], s["reason"]) for s in steps["z"]["sources"]] == [
        ("y", 1, "detach_option")]


def test_a_chain_after_the_switch_goes_back_to_y():
    """w = z * 2 reads z, which reads y: w's sentence names z and, in the end, y."""
    result = run(SIN + "w = z * 2\n", detach=["y"])
    w = next(d for d in differences(result) if d.name == "w")
    assert w.kind == "from_untracked"
    assert ("computed only from z (line 2), which was computed only from y, which you "
            "detached on line 1") in w.sentence
    assert "Switch detach off for w" not in w.sentence


def test_backward_on_z_after_the_switch_blames_y():
    result = run_program(SIN + "z.backward()\n", {"x": 4}, isolate=False, detach=["y"])
    assert result.error is not None and result.error.line == 3
    assert "computed only from y, which you detached on line 1" in result.error.message
    assert "detached where it was assigned" not in result.error.message


def test_a_line_after_no_grad_is_not_inside_no_grad():
    """z = torch.sin(y) runs with recording on; it is untracked because y (line 2, inside
    the block) is. Plain torch agrees: sin of a no_grad value has no grad_fn."""
    x = torch.tensor(4.0, requires_grad=True)
    with torch.no_grad():
        y = x**2
    assert torch.is_grad_enabled() and torch.sin(y).grad_fn is None
    result = run(NO_GRAD_THEN_READ)
    [warning] = [w for w in result.warnings if "was not recorded by autograd" in w]
    assert ("computed only from y, which was computed inside torch.no_grad() on line 2"
            in warning)
    y_difference, z_difference = differences(result)
    assert (y_difference.name, y_difference.kind) == ("y", "no_grad")
    assert (z_difference.line, z_difference.name, z_difference.kind) == (
        3, "z", "from_untracked")
    assert "Move the line out of" not in z_difference.sentence
    z_box = box_text(by_name(to_dot(result).source)["z"][1])
    assert "inside torch.no_grad()" not in z_box.replace("(in torch.no_grad(), line 2)", "")
    assert "computed only from y (in torch.no_grad(), line 2)" in z_box
    # Under the switch, by contrast, every line ran without recording: its own reason.
    switched = run(SIN, no_grad=True)
    assert [s["reason"] for s in switched.graph["dataflow"]] == ["no_grad_option"] * 2


def test_values_from_an_input_switched_off_name_the_input():
    """x off: q = x * 2 is untracked because x has requires_grad=False; r = q + 1 because
    q is (not because r's inputs have requires_grad=False: q is a line)."""
    result = run("q = x * 2\nr = q + 1\n", requires_grad={"x": False})
    found = {d.name: d for d in differences(result)}
    assert found["q"].kind == "requires_grad_off" and "x has requires_grad=False" in \
        found["q"].sentence
    assert found["r"].kind == "from_untracked"
    assert ("computed only from q (line 1), which was computed only from x, which has "
            "requires_grad=False") in found["r"].sentence
    # A constant computed from a constant stays "constant" (c = torch.tensor(2.0)).
    constants = run("c = torch.tensor(2.0)\nd = c * 3\n")
    assert [s["reason"] for s in constants.graph["dataflow"]] == [None, "constant"]


# ---------------------------------------------------------------------------------------
# Item 5: uses that autograd did not record inside a recorded line


def _inline_detach(x):
    y = x**2
    return y, y.detach() * x


def _inline_item(x):
    y = x**2
    return y, y.item() * x


def _no_grad_function(x):
    def f(a):
        with torch.no_grad():
            return a * 2
    y = x**2
    return y, f(y) * x


DEF_NO_GRAD = ("def f(a):\n    with torch.no_grad():\n        b = a * 2\n    return b\n"
               "y = x**2\nz = f(y) * x\n")
CUTS = [
    # program, plain torch, y's line, z's line, the words on the arrow, dz/dx by hand
    ("y = x**2\nz = y.detach() * x\n", _inline_detach, "line 1: y = x**2",
     "line 2: z = y.detach() * x", "y.detach(): not recorded", lambda x: x**2),
    ("y = x**2\nz = torch.detach(y) * x\n", _inline_detach, "line 1: y = x**2",
     "line 2: z = torch.detach(y) * x", "y.detach(): not recorded", lambda x: x**2),
    ("y = x**2\nz = y.item() * x\n", _inline_item, "line 1: y = x**2",
     "line 2: z = y.item() * x", "y.item(): a plain number, not recorded", lambda x: x**2),
    (DEF_NO_GRAD, _no_grad_function, "line 5: y = x**2", "line 6: z = f(y) * x",
     "f(y): torch.no_grad() inside, not recorded", lambda x: 2 * x**2),
]


@pytest.mark.parametrize(("source", "plain", "y_line", "z_line", "words", "dz_dx"), CUTS,
                         ids=["detach", "torch.detach", "item", "def-no_grad"])
def test_a_cut_use_is_a_dashed_arrow_with_its_reason(source, plain, y_line, z_line,
                                                     words, dz_dx):
    x = torch.tensor(4.0, requires_grad=True)
    y, z = plain(x)
    assert z.grad_fn is not None and not reaches(z, y.grad_fn)  # torch: the use was cut
    result = run(source)
    assert result.grads["x"].item() == pytest.approx(dz_dx(4.0))
    written = written_dot(result).source
    boxes = written_boxes(written)
    drawn = arrow(written, boxes[y_line][0], boxes[z_line][0])
    assert attr(drawn, "style") == "dashed" and label(drawn) == words
    recorded = written_boxes(to_dot(result).source)
    cut = arrow(to_dot(result).source, recorded["y"][0], recorded["z"][0])
    assert attr(cut, "style") == "dashed" and label(cut) == words


@pytest.mark.parametrize(("source", "plain", "y_line", "z_line", "words", "dz_dx"), CUTS,
                         ids=["detach", "torch.detach", "item", "def-no_grad"])
def test_a_cut_use_is_a_difference_naming_both(source, plain, y_line, z_line, words,
                                               dz_dx):
    line = int(z_line.split(":")[0].split()[1])
    [cut] = [d for d in differences(run(source)) if d.kind == "cut_read"]
    assert (cut.line, cut.name) == (line, "z")
    assert "reads y, but autograd did not record that use" in cut.sentence
    assert "no gradient flows back from z to y" in cut.sentence


def test_a_value_also_used_whole_stays_recorded():
    """z = y.detach() * x + y: the second use is recorded, so the arrow stays solid and
    nothing is said (plain torch reaches y's node; dz/dx = x² + 2x by hand), while
    z = y.detach() * x + x has the dashed arrow (dz/dx = x² + 1)."""
    cut = run("y = x**2\nz = y.detach() * x + x\n")
    assert cut.grads["x"].item() == pytest.approx(16 + 1)
    written = written_dot(cut).source
    boxes = written_boxes(written)
    assert attr(arrow(written, boxes["line 1: y = x**2"][0],
                      boxes["line 2: z = y.detach() * x + x"][0]), "style") == "dashed"
    x = torch.tensor(4.0, requires_grad=True)
    y = x**2
    assert reaches(y.detach() * x + y, y.grad_fn)
    result = run("y = x**2\nz = y.detach() * x + y\n")
    assert result.grads["x"].item() == pytest.approx(16 + 8)
    written = written_dot(result).source
    boxes = written_boxes(written)
    solid = arrow(written, boxes["line 1: y = x**2"][0],
                  boxes["line 2: z = y.detach() * x + y"][0])
    assert attr(solid, "style") == "solid" and label(solid) == ""
    assert not [d for d in differences(result) if d.kind == "cut_read"]


def test_a_requires_grad_false_constant_says_so_on_its_arrow():
    """c = torch.tensor(2.0, requires_grad=False) and an input c switched off: each
    enters z = c * y as a constant, and the arrow says why."""
    made = run("c = torch.tensor(2.0, requires_grad=False)\ny = x**2\nz = c * y\n")
    written = written_dot(made).source
    boxes = written_boxes(written)
    drawn = arrow(written, boxes["line 1: c = torch.tensor(2.0, requires_grad=False)"][0],
                  boxes["line 3: z = c * y"][0])
    assert attr(drawn, "style") == "dashed"
    assert label(drawn) == "used as a constant (requires_grad=False)"
    switched = run("y = x**2\nz = c * y\n", {"x": 4, "c": 2}, requires_grad={"c": False})
    assert switched.grads["x"].item() == pytest.approx(2 * 2 * 4)  # d(c x²)/dx = 2cx
    written = written_dot(switched).source
    boxes = written_boxes(written)
    drawn = arrow(written, boxes["c"][0], boxes["line 2: z = c * y"][0])
    assert attr(drawn, "style") == "dashed"
    assert label(drawn) == "used as a constant (requires_grad=False)"


def test_a_gradient_from_autograd_grad_is_not_cut_from_the_output_it_reads():
    """`g = torch.autograd.grad(y, x)` is a derivative made from the graph: it reads y
    but was never meant to be computed from it, so no arrow says y was cut."""
    from engine import run_program

    r = run_program("x = torch.tensor(2.0, requires_grad=True)\ny = x ** 3\n"
                    "(g,) = torch.autograd.grad(y, x, create_graph=True)\ng.backward()\n",
                    isolate=False)
    assert r.error is None, r.error
    step = next(s for s in r.graph["dataflow"] if s["target"] == "g")
    assert step["cut_reads"] == []
    assert r.grads["x"].item() == 6 * 2.0  # d/dx (3x^2) at 2, as plain torch gives
