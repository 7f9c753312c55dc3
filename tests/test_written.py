"""The program as written beside the graph autograd recorded: graphviz_utils.written draws
the inputs and assignments, engine.teaching.compare says in sentences where the two part ways.

Each program's expected boxes, arrows and differences are written out by hand from the
program text (which line reads which name, which switch is on), never read back from
the code under test; the recorded graph is only used to count its operation boxes.
"""

from __future__ import annotations

import html

import graphviz
import pytest

from engine import Difference, differences, run_program
from engine.teaching.explain import WHY_NOT_RECORDED
from graphviz_utils import THEMES, to_dot, written_dot
from graphviz_utils.theme import KIND_MEANINGS, LINE_MEANINGS
from graphviz_utils.written import CAPTION, written_drawing
from tests.test_graphviz_utils import HOSTILE, draw, edges, nodes, rows, svg_nodes, svg_texts
from ui.examples import BCE_CODE

NEW_KINDS = ("input", "input_off", "statement", "statement_off")
SIN = "y = x**2\nz = torch.sin(y)\n"
NO_GRAD = "with torch.no_grad():\n    y = x**2\nz = y + x\n"
DETACH = "y = x.detach()**2\nz = y * x\n"
INTEGER = "n = torch.tensor(3)\ny = x * n\n"
OFF = "z = x * w\nq = x * 2\n"


def run(source: str, inputs: dict | None = None, **options):
    result = run_program(source, inputs, isolate=False, **options)
    assert result.error is None, result.error
    return result


def boxes(result) -> dict[str, tuple[str, str]]:
    """Box header (``x`` or ``line 2: y = x**2``) -> (id, kind) of the written drawing."""
    drawing = written_drawing(result)
    headers = [n.name for n in drawing.nodes.values()]
    assert len(headers) == len(set(headers)), headers
    return {n.name: (n.id, n.kind) for n in drawing.nodes.values()}


def arrows(result) -> set[tuple[str, str, str, str | None]]:
    """(source header, target header, line style, label) of every arrow."""
    drawing = written_drawing(result)
    header = {n.id: n.name for n in drawing.nodes.values()}
    return {(header[e.source], header[e.target], e.line, e.label) for e in drawing.edges}


def notes(result, header: str) -> str:
    node = next(n for n in written_drawing(result).nodes.values() if n.name == header)
    return " ".join(node.notes)


def recorded_operations(result) -> int:
    return sum(1 for n in result.graph["nodes"] if n["kind"] in ("op", "output"))


# ---------------------------------------------------------------------------------------
# 1. Programs where the two agree, and where they part ways


@pytest.mark.parametrize(("source", "inputs"), [(SIN, {"x": 4}), ("y = x**2\n", {"x": 3})])
def test_one_line_one_operation_agrees(source, inputs):
    """sin(x²) and x²: every line is one recorded operation, so no differences; the
    written graph is x -> line 1 -> line 2, solid (the gradient flows back)."""
    result = run(source, inputs)
    assert differences(result) == []
    drawn = boxes(result)
    assert drawn["x"][1] == "input"
    assert drawn["line 1: y = x**2"][1] in ("statement", "output")
    if source == SIN:
        assert drawn == {"x": ("i0", "input"), "line 1: y = x**2": ("s0", "statement"),
                         "line 2: z = torch.sin(y)": ("s1", "output")}
        assert arrows(result) == {("x", "line 1: y = x**2", "recorded", None),
                                  ("line 1: y = x**2", "line 2: z = torch.sin(y)",
                                   "recorded", None)}


def test_no_grad_line_is_dashed_with_its_reason():
    """``y = x**2`` inside no_grad: its box is dashed and says why, x -> y is dashed, y
    enters line 3 as a constant while x -> line 3 stays solid; one difference, line 2."""
    result = run(NO_GRAD, {"x": 2})
    drawn = boxes(result)
    assert drawn == {"x": ("i0", "input"), "line 2: y = x**2": ("s0", "statement_off"),
                     "line 3: z = y + x": ("s1", "output")}
    assert "not recorded: inside torch.no_grad()" in notes(result, "line 2: y = x**2")
    assert arrows(result) == {
        ("x", "line 2: y = x**2", "untracked", None),
        ("x", "line 3: z = y + x", "recorded", None),
        ("line 2: y = x**2", "line 3: z = y + x", "untracked", "used as a constant")}
    [difference] = differences(result)
    assert (difference.line, difference.name, difference.kind) == (2, "y", "no_grad")
    assert "Line 2: `y = x**2`" in difference.sentence
    assert WHY_NOT_RECORDED["no_grad"] in difference.sentence


def test_detach_call_is_not_recorded():
    """``y = x.detach()**2``: line 1 dashed ("from a .detach()ed tensor"), read by line 2
    as a constant; the difference names y, line 1 and .detach()."""
    result = run(DETACH, {"x": 2})
    assert boxes(result)["line 1: y = x.detach()**2"][1] == "statement_off"
    assert "from a .detach()ed tensor" in notes(result, "line 1: y = x.detach()**2")
    assert ("line 1: y = x.detach()**2", "line 2: z = y * x", "untracked",
            "used as a constant") in arrows(result)
    [difference] = differences(result)
    assert (difference.line, difference.name, difference.kind) == (1, "y", "detach")
    assert "`y = x.detach()**2`" in difference.sentence and ".detach()" in difference.sentence


def test_detach_switch_names_the_detached_line_and_what_followed():
    """detach=["y"]: y (line 1) was detached by the switch; z (line 2) is not detached
    itself but computed from y, and its box and sentence say so instead."""
    result = run(SIN, {"x": 4}, detach=["y"])
    drawn = boxes(result)
    assert drawn["line 1: y = x**2"][1] == drawn["line 2: z = torch.sin(y)"][1] == \
        "statement_off"
    assert "detached (switch)" in notes(result, "line 1: y = x**2")
    assert "computed only from y (detached by the switch, line 1)" in notes(
        result, "line 2: z = torch.sin(y)")
    y, z = differences(result)
    assert (y.line, y.name, y.kind) == (1, "y", "detach_option")
    assert "detach switch" in y.sentence and "Switch detach off for y" in y.sentence
    assert (z.line, z.name, z.kind) == (2, "z", "from_untracked")
    assert "computed only from y, which you detached on line 1" in z.sentence
    assert "Switch detach off for z" not in z.sentence


def test_input_with_requires_grad_off_is_marked():
    """x off, w on: x is a dashed input read as a constant by both lines; z = x * w is
    recorded (through w), q = x * 2 is not. The differences: x (no box in the recorded
    graph, read on lines 1 and 2) and q (line 2, because x has requires_grad=False)."""
    result = run(OFF, {"x": 2, "w": 3}, requires_grad={"x": False})
    drawn = boxes(result)
    assert drawn["x"] == ("i0", "input_off") and drawn["w"] == ("i1", "input")
    assert drawn["line 1: z = x * w"][1] == "statement"
    assert drawn["line 2: q = x * 2"][1] == "statement_off"
    assert "not recorded: x has requires_grad=False" in notes(result, "line 2: q = x * 2")
    assert arrows(result) == {
        ("x", "line 1: z = x * w", "untracked", "used as a constant (requires_grad=False)"),
        ("w", "line 1: z = x * w", "recorded", None),
        ("x", "line 2: q = x * 2", "untracked", None)}
    x, q = differences(result)
    assert (x.line, x.name, x.kind) == (None, "x", "input_off")
    assert "Input x has requires_grad=False" in x.sentence and "Lines 1 and 2" in x.sentence
    assert (q.line, q.name, q.kind) == (2, "q", "requires_grad_off")
    assert "x has requires_grad=False" in q.sentence


def test_input_off_is_found_from_the_graph_dict_alone():
    """Without the RunResult, an input is a name read before any line assigned it; x has
    no leaf in the recorded graph, so it is drawn with requires_grad off."""
    result = run(OFF, {"x": 2, "w": 3}, requires_grad={"x": False})
    drawing = written_drawing(result.graph)
    kinds = {n.name: n.kind for n in drawing.nodes.values()}
    assert kinds["x"] == "input_off" and kinds["w"] == "input"
    assert [d.kind for d in differences(result.graph)] == ["input_off", "requires_grad_off"]


def test_unread_input_with_requires_grad_off_is_still_an_input():
    """An input the program never reads is still drawn (from the RunResult's variables)."""
    result = run("y = w * 2\n", {"x": 1, "w": 3}, requires_grad={"x": False})
    assert boxes(result)["x"][1] == "input_off"
    assert [(d.name, d.kind) for d in differences(result)] == [("x", "input_off")]


def test_integer_tensor_is_marked():
    """``n = torch.tensor(3)`` holds integers: dashed, "integer values (int64)", read by
    line 2 as a constant; the difference names n, line 1 and the fix (3.0)."""
    result = run(INTEGER, {"x": 2})
    assert boxes(result)["line 1: n = torch.tensor(3)"][1] == "statement_off"
    assert "integer values (int64)" in notes(result, "line 1: n = torch.tensor(3)")
    assert ("line 1: n = torch.tensor(3)", "line 2: y = x * n", "untracked",
            "used as a constant") in arrows(result)
    [difference] = differences(result)
    assert (difference.line, difference.name, difference.kind) == (1, "n", "integer")
    assert "integers" in difference.sentence and "3.0" in difference.sentence


@pytest.fixture(scope="module")
def bce():
    return run(BCE_CODE, {"x": "6.7", "y": "0"}, requires_grad={"x": False, "y": False})


def test_bce_written_graph(bce):
    """The seed's logistic neuron with x, y constants: two dashed inputs, w and b leaves
    (blue as in the recorded graph), z, y_pred and the loss, each arrow from the name it
    reads; the loss line says it recorded 8 operations inside the function."""
    drawn = boxes(bce)
    w = "line 6: w = torch.tensor(1.0, requires_grad=True)"
    b = "line 7: b = torch.tensor(0.0, requires_grad=True)"
    z, y_pred = "line 8: z = w * x + b", "line 9: y_pred = torch.sigmoid(z)"
    loss = "line 10: loss = binary_cross_entropy_loss(y_pred, y)"
    assert {h: k for h, (_, k) in drawn.items()} == {
        "x": "input_off", "y": "input_off", w: "leaf", b: "leaf", z: "statement",
        y_pred: "statement", loss: "output"}
    assert arrows(bce) == {
        (w, z, "recorded", None), (b, z, "recorded", None),
        ("x", z, "untracked", "used as a constant (requires_grad=False)"),
        (z, y_pred, "recorded", None), (y_pred, loss, "recorded", None),
        ("y", loss, "untracked", "used as a constant (requires_grad=False)")}
    assert "recorded as 8 operations inside binary_cross_entropy_loss" in notes(bce, loss)
    assert "multiply, add" in notes(bce, z)


def test_bce_differences(bce):
    """x and y are constants; z = w * x + b is one line and two operations; the loss line
    calls the learner's function, whose 8 operations (clamp, log, ...) are all boxes."""
    found = differences(bce)
    assert [(d.line, d.name, d.kind) for d in found] == [
        (None, "x", "input_off"), (None, "y", "input_off"),
        (8, "z", "several_operations"), (10, "loss", "inside_function")]
    assert "Line 8 uses it" in found[0].sentence and "Line 10 uses it" in found[1].sentence
    several, inside = found[2].sentence, found[3].sentence
    assert "`z = w * x + b` is one line" in several and "2 operations" in several
    assert "multiply, then add" in several
    assert "binary_cross_entropy_loss" in inside and "8 operations" in inside
    for word in ("clamp", "log ×2", "multiply ×2", "negate", "prediction"):
        assert word in inside, word


PROGRAMS = [
    (SIN, {"x": 4}, {}), (NO_GRAD, {"x": 2}, {}), (DETACH, {"x": 2}, {}),
    (SIN, {"x": 4}, {"detach": ["y"]}), (INTEGER, {"x": 2}, {}),
    (OFF, {"x": 2, "w": 3}, {"requires_grad": {"x": False}}),
    (BCE_CODE, {"x": "6.7", "y": "0"}, {"requires_grad": {"x": False, "y": False}}),
    ("y = x * 2\ny += 1\nq = y\n(q * x).sum().backward()\n", {"x": 2}, {}),
    ("y = (x**2).mean()\nz = y * w + torch.sin(y)\n", {"x": [1.0, 2.0], "w": 1}, {}),
]


@pytest.mark.parametrize(("source", "inputs", "options"), PROGRAMS)
def test_every_recorded_operation_is_accounted_for(source, inputs, options):
    """Each recorded operation box belongs to exactly one line or to the "not_assigned"
    difference: one per one-operation line, the count a several-operation sentence gives,
    none for a line that only renames a tensor or that autograd did not record."""
    result = run(source, inputs, **options)
    found = differences(result)
    several = {d.line: d for d in found if d.kind in ("several_operations",
                                                      "inside_function")}
    renamed = {d.line for d in found if d.kind == "same_tensor"}
    counted = 0
    for step in result.graph["dataflow"]:
        if step["tracked"] and step["grad_fn"] is not None and step["line"] not in renamed:
            sentence = several.get(step["line"])
            counted += int(sentence.sentence.split(" operations")[0].split()[-1]) \
                if sentence else 1
    loose = [d for d in found if d.kind == "not_assigned"]
    if loose:
        counted += int(loose[0].sentence.split()[2])
    assert counted == recorded_operations(result)


def test_reassigned_name_arrow_comes_from_the_assignment_it_held():
    """``y`` assigned twice: line 3 reads the second y, not the first; ``x = x * 3`` reads
    the input x before replacing it, and line 4 reads the new x."""
    result = run("y = x * 2\ny = y + 1\nx = x * 3\nz = y * x\n", {"x": 2})
    assert arrows(result) == {
        ("x", "line 1: y = x * 2", "recorded", None),
        ("line 1: y = x * 2", "line 2: y = y + 1", "recorded", None),
        ("x", "line 3: x = x * 3", "recorded", None),
        ("line 2: y = y + 1", "line 4: z = y * x", "recorded", None),
        ("line 3: x = x * 3", "line 4: z = y * x", "recorded", None)}
    assert differences(result) == []


def test_in_place_update_and_a_second_name():
    """``y += 1`` is drawn as an update of y (the engine keeps only the right side);
    ``q = y`` makes no box of its own; the sum and multiply of an expression line belong
    to no assignment."""
    result = run("y = x * 2\ny += 1\nq = y\n(q * x).sum().backward()\n", {"x": 2})
    drawn = boxes(result)
    assert "line 2: y updated in place with 1" in drawn
    assert "the same tensor as y" in notes(result, "line 3: q = y")
    assert [(d.line, d.name, d.kind) for d in differences(result)] == [
        (3, "q", "same_tensor"), (None, "", "not_assigned")]
    assert "multiply, sum" in differences(result)[1].sentence


def test_constant_tensor_and_plain_number():
    """A tensor made without requires_grad and a plain number are constants to autograd:
    c is a dashed line, a is a dashed "plain number" box, and both are differences only
    where a tensor is meant (c, and d computed from it)."""
    result = run("a = 2\nc = torch.tensor(2.0)\nd = c * 3\ny = x * a + d\n", {"x": 2})
    drawn = boxes(result)
    assert drawn["a"][1] == "input_off" and "not a tensor" in notes(result, "a")
    assert drawn["line 2: c = torch.tensor(2.0)"][1] == "statement_off"
    assert [(d.line, d.name, d.kind) for d in differences(result)] == [
        (2, "c", "constant"), (3, "d", "constant"),
        (4, "y", "several_operations")]
    assert "nothing it was computed from (c)" in differences(result)[1].sentence


def test_no_grad_switch_marks_every_line():
    """The no_grad switch: every line is dashed with "no_grad switch is on"."""
    result = run(SIN, {"x": 4}, no_grad=True)
    assert [(d.line, d.name, d.kind) for d in differences(result)] == [
        (1, "y", "no_grad_option"), (2, "z", "no_grad_option")]
    for header in ("line 1: y = x**2", "line 2: z = torch.sin(y)"):
        assert "no_grad switch is on" in notes(result, header)


def test_differences_are_dataclasses_with_sentences():
    found = differences(run(NO_GRAD, {"x": 2}))
    assert all(isinstance(d, Difference) and d.sentence.endswith(".") for d in found)


# ---------------------------------------------------------------------------------------
# 2. Rendering: DOT, escaping, legend, themes


def test_written_dot_is_a_digraph_with_one_box_per_input_and_line():
    """The DOT has the same boxes (and arrows) as the drawing, the caption, a legend."""
    dot = written_dot(run(NO_GRAD, {"x": 2}))
    assert isinstance(dot, graphviz.Digraph)
    assert set(nodes(dot.source)) == {"i0", "s0", "s1"}
    assert {(s, d) for s, d, _ in edges(dot.source)} == {("i0", "s0"), ("i0", "s1"),
                                                          ("s0", "s1")}
    header = {i: rows(a)[0] for i, a in nodes(dot.source).items()}
    assert header == {"i0": "x", "s0": "line 2: y = x**2", "s1": "line 3: z = y + x"}
    assert html.escape(CAPTION) in dot.source.replace('<BR ALIGN="LEFT"/>', " ")  # wrapped


def test_written_dot_accepts_the_graph_dict_and_refuses_other_things():
    result = run(SIN, {"x": 4})
    assert written_dot(result.graph).source == written_dot(result).source
    with pytest.raises(TypeError):
        written_dot("y = x**2")


def test_failed_program_draws_nothing_and_says_so():
    result = run_program("y = undefined_name * 2\n", {"x": 1}, isolate=False)
    assert result.error is not None
    drawing = written_drawing(result)
    assert not drawing.nodes and "nothing to draw" in drawing.notes[0]
    assert differences(result) == []


def test_code_with_comparisons_quotes_and_a_backslash_is_drawn_literally():
    """Statement text is label text: < > = quotes and a line continuation's backslash
    (the hostile characters a program may hold) reach the drawing as typed."""
    program = ("with torch.no_grad():\n    m = (x > 1) * (x < 5)\n"
               "    q = F.mse_loss(x, x * 2, reduction=\"sum\") + \\\n        1\n"
               "y = x * m + q\n")
    result = run(program, {"x": 2})
    svg = draw(written_dot(result).source)
    texts = svg_texts(svg)
    assert "line 2: m = (x > 1) * (x < 5)" in texts
    assert 'line 3: q = F.mse_loss(x, x * 2, reduction="sum") + \\ 1' in texts
    assert "line 5: y = x * m + q" in texts


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_statement_text_stays_escaped(text):
    """A crafted graph whose name and code look like HTML, DOT or Graphviz escapes: dot
    draws them literally, and no box is added or lost."""
    step = {"line": 1, "col": 1, "target": text, "code": text, "reads": [], "tracked": False,
            "grad_fn": None, "reason": "no_grad", "value": None, "node": None}
    graph = {"nodes": [], "edges": [], "dataflow": [step]}
    svg = draw(written_dot(graph).source)
    assert f"line 1: {text} = {text}" in svg_texts(svg)
    assert svg.count('class="node"') == 2  # the line and the legend


def test_legend_lists_the_new_kinds():
    """Every kind the written graph uses has its sentence in the legend."""
    sources = [written_dot(run(NO_GRAD, {"x": 2})).source,
               written_dot(run(OFF, {"x": 2, "w": 3}, requires_grad={"x": False})).source]
    legend = "".join(s.split("\tlegend [", 1)[1] for s in sources)
    legend = legend.replace('<BR ALIGN="LEFT"/>', " ")  # sentences wrap to stay narrow
    for kind in NEW_KINDS:
        assert html.escape(KIND_MEANINGS[kind]) in legend, kind


def test_every_theme_has_a_look_for_every_kind_and_line():
    for theme in THEMES.values():
        assert set(theme.nodes) >= set(KIND_MEANINGS), theme.name
        assert set(theme.lines) >= set(LINE_MEANINGS), theme.name
        for kind in ("input_off", "statement_off"):
            assert "dashed" in theme.nodes[kind].style, (theme.name, kind)
        assert theme.nodes["input"].fill == theme.nodes["leaf"].fill  # leaves are blue
        assert theme.nodes["statement_off"].fill != theme.nodes["untracked"].fill


@pytest.mark.parametrize("theme", sorted(THEMES))
@pytest.mark.parametrize("compact", [False, True])
def test_every_theme_draws_the_written_graph(bce, theme, compact):
    """dot draws the BCE written graph in every theme, detailed and compact."""
    svg = draw(written_dot(bce, theme=theme, compact=compact).source)
    assert "line 8: z = w * x + b" in svg_texts(svg)


def test_recorded_and_written_graphs_side_by_side():
    """The no_grad example drawn both ways: y is a dashed box in each, with the reason."""
    result = run(NO_GRAD, {"x": 2})
    written = " ".join(svg_texts(draw(written_dot(result).source)))
    recorded = " ".join(svg_texts(draw(to_dot(result).source)))
    for text in (written, recorded):
        assert "inside" in text and "torch.no_grad()" in text


def test_lines_read_top_down_in_program_order():
    """Line 2 does not read line 1 (both read x), yet it is drawn below it: an invisible
    arrow joins each line to the next, so the drawing reads like the code."""
    source = written_dot(run(OFF, {"x": 2, "w": 3}, requires_grad={"x": False})).source
    assert "\ts0 -> s1 [style=invis]" in source
    centres = svg_nodes(draw(source))
    assert centres["s0"][1] < centres["s1"][1]  # SVG y grows downwards


def test_folded_written_graph_adds_no_order_arrows(bce):
    """Beyond max_nodes the drawing folds; the order arrows are left out rather than
    pointing at boxes the fold removed (which dot would draw as new, empty boxes)."""
    source = written_dot(bce, max_nodes=3).source
    assert "style=invis]" not in source.replace("legend [style=invis]", "")
    drawn = set(nodes(source))
    assert all(s in drawn and d in drawn for s, d, _ in edges(source))


def test_a_gradient_read_is_a_constant_because_of_grad_not_x():
    """``first = x.grad.clone()``: x requires grad, x.grad does not; the sentence and the
    box blame x.grad, not x."""
    result = run("y = x**2\ny.backward()\nfirst = x.grad.clone()\n", {"x": 2})
    [difference] = differences(result)
    assert (difference.line, difference.name, difference.kind) == (3, "first", "constant")
    assert "x.grad, the gradient backward filled in" in difference.sentence
    assert "nothing it was computed from" not in difference.sentence
    assert "x.grad does not require grad" in notes(result, "line 3: first = x.grad.clone()")
