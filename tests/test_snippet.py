"""engine.teaching.snippet: the exported script, run for real, gives the numbers the page shows.

Every state below is run twice: by the engine in this process, and as the exported script
in a fresh Python (one subprocess for all of them, torch's import costs seconds). The
script's output, leaf values and every printed .grad must equal the engine's bit for bit,
and match a reference the engine did not compute: a formula derived by hand or central
finite differences in float64.
"""

from __future__ import annotations

import ast
import json
import math
import struct
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

from engine import RunResult, run_program
from engine.teaching.snippet import (
    FILENAME,
    HEADER,
    Snippet,
    build_snippet,
    float32_literal,
    snippet_filename,
    to_python,
)
from tests.test_training import plain_neuron
from ui.examples import BCE_CODE, EXAMPLES


@dataclass(frozen=True)
class State:
    """One state of the Playground: the program, its boxes and its switches."""

    source: str
    values: dict[str, str]
    constants: frozenset[str] = frozenset()
    no_grad: bool = False
    detach: tuple[str, ...] = ()
    retain_grad: bool | tuple[str, ...] = False
    output: str | None = None

    def options(self) -> dict[str, Any]:
        return {"constants": self.constants, "no_grad": self.no_grad,
                "detach": self.detach, "retain_grad": self.retain_grad,
                "output": self.output}

    def run(self) -> RunResult:
        return run_program(self.source, self.values, output=self.output,
                           no_grad=self.no_grad, detach=self.detach,
                           retain_grad=self.retain_grad,
                           requires_grad={n: n not in self.constants for n in self.values},
                           isolate=False)


SIN = "y = x**2\nz = torch.sin(y)\n"
HOSTILE = '''\
# a "quoted" comment with 'quotes', a \\ backslash and a """ triple
y = (x *  # it's "fine"
     2 +
     x ** 2)  # end ' "
z = y * 3; q = z + 1  # two "statements" on a line
with torch.no_grad(): u = x * 2
print("""multi
  line "text" # not a comment""", 'it\\'s')
v = q * u + y * x
'''
LOOP = """\
y = x
for i in range(4):
    y = y * x + 1  # y_{k+1} = y_k x + 1
z = y * 0
total = torch.tensor(0.0)
while total < 3:
    total = total + 1
out = y + z * total
"""
IF_ELSE = """\
if x > 1:
    y = x ** 2
elif x < -1:
    y = -x
else:
    y = x ** 3
for k in range(0):
    y = y * 100
"""
DEF_DEFAULTS = """\
def f(a, b=2.0, *, c=1.0):
    return a * b + c * torch.sin(a)
square = lambda t, p=2: t ** p
y = f(x)
z = f(y, 3.0, c=0.5) + square(x)
"""
F_STRINGS = """\
y = x ** 2
print(f"y = {y.item():.3f}, {'big' if y > 1 else 'small'}, {x.shape!r:>12}")
print("%s has %d element" % ("x", x.numel()), "{:+.2e}".format(y.item()))
z = y * 3
"""
STATES: dict[str, State] = {
    **{f"example-{i}": State(e.code, dict(e.values), e.constants)
       for i, e in enumerate(EXAMPLES)},
    "no-grad": State(SIN, {"x": "4"}, no_grad=True),
    "detach": State("y = x**2\nz = y * x\n", {"x": "3"}, detach=("y",)),
    "retain": State(SIN, {"x": "4"}, retain_grad=True),
    "retain-names": State(SIN + "w = z * 2\n", {"x": "4"}, retain_grad=("y",)),
    "constant": State("y = a * b\n", {"a": "2", "b": "5"}, frozenset({"a"})),
    "nested-list": State("y = (x * x).sum()\n", {"x": "[[1, 2], [3, 4.5]]"}),
    "own-backward": State("y = (x**3).sum()\ny.backward()\n", {"x": "[1, 2]"}),
    "bce-detach": State(BCE_CODE, {"x": "6.7", "y": "0"}, frozenset({"x", "y"}),
                        detach=("z",)),
    "randn-no-seed": State("w = torch.randn(3, requires_grad=True)\nloss = (w * x).sum()\n",
                           {"x": "[1, 2, 3]"}),
    "unnamed-output": State("(x**2).sum()\n", {"x": "[1, 2, 3]"}),
    "output-option": State("y = x**2\nz = y * 3\n", {"x": "3"}, output="y"),
    "bare-math": State("y = sin(2.0) * x + math.cos(1.0) * F.relu(x)\n", {"x": "1.5"}),
    "hostile": State(HOSTILE, {"x": "1.5"}, detach=("y", "z"), retain_grad=True),
    "hostile-no-grad": State(HOSTILE, {"x": "1.5"}, no_grad=True),
    "continued-line": State("with torch.no_grad():\n    a = x * 1; \\\n  b = a * 2\n"
                            "c = b * x\n", {"x": "1.5"}, detach=("b",)),
    "unnamed-backward-root": State("(x**2).sum().backward()\n", {"x": "[1, 2]"}),
    "output-renamed-later": State("y = x * 2\ny.backward()\ny = x * 5\n", {"x": "1"}),
    "vector-output": State("x**2\n", {"x": "[1, 2, 3]"}),
    "tuple-unpacking": State("a, b = x * 2\nc = a * b\n", {"x": "[2, 3]"}, detach=("a",),
                             retain_grad=True),
    "line-break-lookalikes": State("y = x * 2  # odd\u2028break\x0c here\nz = y * y\n",
                                   {"x": "0.1"}),
    # Python's control flow, written as the learner wrote it (issue 16)
    "loop": State(LOOP, {"x": "1.5"}, detach=("z",)),
    "if-else": State(IF_ELSE, {"x": "2"}),
    "def-defaults": State(DEF_DEFAULTS, {"x": "0.5"}),
    "f-strings": State(F_STRINGS, {"x": "1.5"}),
    "loop-switches": State("y = x\nfor i in range(3):\n    y = y * x + 1\n    if i == 1:\n"
                           "        w = y * 2\nz = y + w\n", {"x": "1.5"}, detach=("w",),
                           retain_grad=True),
}


@dataclass
class Outcome:
    """One state: the engine's run, the script, and what the script did."""

    result: RunResult
    snippet: Snippet
    values: dict[str, Any]  # expression in the script -> tensor.tolist() (or a flag)
    stdout: str
    error: str | None


def dump_lines(result: RunResult, snippet: Snippet, path: Path) -> str:
    """Lines appended to a script: its output, leaf values and .grads as JSON."""
    names = [snippet.output] if snippet.output else []
    for name in result.grads:
        names += [name, f"{name}.grad"]
    names += [f"{name}.grad" for name in result.retained]
    lines = ["import json as _json", "_dump = {}"]
    for expr in names:
        lines.append(f"_dump[{expr!r}] = None if {expr} is None else {expr}.tolist()")
    for name in result.variables:
        lines.append(f"_dump[{name + '.requires_grad'!r}] = {name}.requires_grad")
    lines.append(f"_json.dump(_dump, open({str(path)!r}, 'w'))")
    return "\n".join(lines) + "\n"


DRIVER = """\
import contextlib, io, json, runpy, sys, traceback
jobs = json.load(open(sys.argv[1]))
out = {}
for key, path in jobs.items():
    buffer = io.StringIO()
    error = None
    try:
        with contextlib.redirect_stdout(buffer):
            runpy.run_path(path, run_name="__main__")
    except BaseException:
        error = traceback.format_exc()
    out[key] = {"stdout": buffer.getvalue(), "error": error}
json.dump(out, open(sys.argv[2], "w"))
"""


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Every state's script, run in one fresh Python with torch."""
    folder = tmp_path_factory.mktemp("snippets")
    made: dict[str, tuple[RunResult, Snippet]] = {}
    jobs: dict[str, str] = {}
    for key, state in STATES.items():
        result = state.run()
        snippet = build_snippet(state.source, state.values, result=result, **state.options())
        script = folder / f"{key}.py"
        script.write_text(snippet.text + dump_lines(result, snippet, folder / f"{key}.json"))
        made[key], jobs[key] = (result, snippet), str(script)
    (folder / "jobs.json").write_text(json.dumps(jobs))
    (folder / "driver.py").write_text(DRIVER)
    subprocess.run([sys.executable, str(folder / "driver.py"), str(folder / "jobs.json"),
                    str(folder / "out.json")], check=True, cwd=folder, timeout=120)
    ran = json.loads((folder / "out.json").read_text())
    outcomes = {}
    for key, (result, snippet) in made.items():
        dump = folder / f"{key}.json"
        values = json.loads(dump.read_text()) if dump.exists() else {}
        outcomes[key] = Outcome(result, snippet, values, ran[key]["stdout"],
                                ran[key]["error"])
    return outcomes


def bits(value: Any) -> Any:
    """Nested floats as their exact bits (NaN and -0.0 compare as themselves)."""
    if isinstance(value, list):
        return [bits(v) for v in value]
    if value is None or isinstance(value, bool):
        return value
    return struct.pack("<d", float(value)).hex()


def plain(tensor: torch.Tensor | None) -> Any:
    return None if tensor is None else tensor.tolist()


# -- 1. the script runs and gives the engine's numbers, bit for bit ------------------------
@pytest.mark.parametrize("key", list(STATES))
def test_script_gives_the_pages_numbers_bit_for_bit(outcomes: dict[str, Outcome],
                                                    key: str) -> None:
    o = outcomes[key]
    assert o.result.error is None, o.result.error
    assert o.error is None, f"{o.error}\n--- script ---\n{o.snippet.text}"
    if o.snippet.output is not None:
        assert bits(o.values[o.snippet.output]) == bits(plain(o.result.output))
    else:
        assert o.result.output is None or o.result.backward_called
    for name, grad in o.result.grads.items():
        assert bits(o.values[name]) == bits(plain(o.result.variables[name])), name
        assert bits(o.values[f"{name}.grad"]) == bits(plain(grad)), f"{name}.grad"
    for name, grad in o.result.retained.items():
        assert bits(o.values[f"{name}.grad"]) == bits(plain(grad)), f"{name}.grad"
    # leaves that require grad, and inputs switched off that do not, as on the page
    for name in o.result.variables:
        if name in o.result.grads or name in STATES[key].constants:
            assert o.values[f"{name}.requires_grad"] is (name in o.result.grads), name


@pytest.mark.parametrize("key", list(STATES))
def test_script_prints_what_the_program_printed_then_the_table(
        outcomes: dict[str, Outcome], key: str) -> None:
    o = outcomes[key]
    assert o.stdout.startswith(o.result.printed)
    shown = [line.split(" = ")[0] for line in o.stdout[len(o.result.printed):].splitlines()
             if " = " in line]
    table = [*(f"{n}.grad" for n in o.result.grads), *(f"{n}.grad" for n in o.result.retained)]
    expected = ([o.snippet.output] if o.snippet.output else []) + table
    assert shown == expected == list(o.snippet.printed)


@pytest.mark.parametrize("key", list(STATES))
def test_script_is_valid_python_with_the_header_first(outcomes: dict[str, Outcome],
                                                      key: str) -> None:
    text = outcomes[key].snippet.text
    ast.parse(text)
    assert text.splitlines()[:2] == [HEADER, "import torch"]
    assert "\u2028" not in text and "\x0c" not in text


# -- 2. independent references ----------------------------------------------------------------
def close(got: Any, expected: Any, rel: float = 1e-5, abs_: float = 1e-6) -> None:
    assert torch.allclose(torch.tensor(got, dtype=torch.float64),
                          torch.tensor(expected, dtype=torch.float64), rtol=rel, atol=abs_), \
        (got, expected)


def is_none(value: Any) -> None:
    assert value is None


def is_false(value: Any) -> None:
    assert value is False


def sigmoid(t: float) -> float:
    return 1 / (1 + math.exp(-t))


def central_differences(f: Callable[[dict[str, torch.Tensor]], torch.Tensor],
                        point: dict[str, torch.Tensor], h: float = 1e-6,
                        ) -> dict[str, torch.Tensor]:
    """d f / d each tensor of ``point`` in float64, one element at a time."""
    grads = {}
    for name, value in point.items():
        grad = torch.zeros_like(value)
        for index in range(value.numel()):
            moved = []
            for step in (h, -h):
                shifted = value.clone()
                shifted.view(-1)[index] += step
                moved.append(f({**point, name: shifted}))
            grad.view(-1)[index] = (moved[0] - moved[1]) / (2 * h)
        grads[name] = grad
    return grads


def f64(values: dict[str, Any], name: str) -> torch.Tensor:
    return torch.tensor(values[name], dtype=torch.float64)


def check_sin_of_square(v: dict[str, Any]) -> None:
    close(v["x.grad"], 2 * 4 * math.cos(16))  # d/dx sin(x²) = 2x cos(x²)


def check_mlp(v: dict[str, Any]) -> None:
    point = {n: f64(v, n) for n in ("x", "W1", "w2")}

    def loss(p: dict[str, torch.Tensor]) -> torch.Tensor:
        return (torch.tanh(p["x"] @ p["W1"]) @ p["w2"] - 1.0) ** 2

    close(v["loss"], loss(point).item())
    for name, grad in central_differences(loss, point).items():
        close(v[f"{name}.grad"], grad.tolist(), rel=1e-4, abs_=1e-5)


def check_bce(v: dict[str, Any], through_z: bool = True) -> None:
    p = sigmoid(1.0 * 6.7 + 0.0)
    close(v["loss"], -math.log(1 - p), rel=1e-4)
    if through_z:  # dL/dw = (σ(wx+b) - y)·x, dL/db = σ(wx+b) - y
        close(v["w.grad"], (p - 0) * 6.7)
        close(v["b.grad"], p - 0)
    else:  # z detached: nothing reaches w or b
        assert v["w.grad"] is None and v["b.grad"] is None


def check_hostile(v: dict[str, Any]) -> None:
    x = 1.5
    y = 2 * x + x**2
    # y (and z = 3y) detached: v = q·u + y·x has only y·x's x left recorded
    close(v["x.grad"], y)
    close(v["v.grad"], 1.0)  # the output itself, kept by retain_grad


def check_loop(v: dict[str, Any]) -> None:
    """y after 4 runs of y = y·x + 1 from y = x, by Horner: x⁵ + x³ + x² + x + 1, its
    derivative by hand; z is detached (the switch), so out = y + 0·3 gives y's."""
    x = 1.5
    close(v["out"], x**5 + x**3 + x**2 + x + 1)
    close(v["x.grad"], 5 * x**4 + 3 * x**2 + 2 * x + 1)


def check_def_defaults(v: dict[str, Any]) -> None:
    def z(p: dict[str, torch.Tensor]) -> torch.Tensor:
        x = p["x"]
        y = x * 2.0 + torch.sin(x)
        return y * 3.0 + 0.5 * torch.sin(y) + x ** 2

    point = {"x": f64(v, "x")}
    close(v["z"], z(point).item())
    close(v["x.grad"], central_differences(z, point)["x"].item(), rel=1e-4)


REFERENCES: dict[str, Callable[[dict[str, Any]], None]] = {
    "example-0": check_sin_of_square,
    "example-1": lambda v: close(v["x.grad"], 2 * 3),
    "example-2": check_bce,
    "example-3": lambda v: close(v["x.grad"], [2 * t / 3 for t in (1, 2, 3)]),
    "example-4": lambda v: close(v["x.grad"], 2 * 2 + 2 * 2),  # 2x, accumulated twice
    "example-5": lambda v: (check_sin_of_square(v), close(v["y.grad"], math.cos(16))),
    "example-6": lambda v: close(v["x.grad"], 1.0),  # y = x² made under no_grad
    "example-7": lambda v: close(v["x.grad"], 2.0**2),  # z = y·x, y = x² a constant
    "example-8": check_mlp,
    "example-9": lambda v: (close(v["loss"], plain_neuron(200, 0.5)[-1]["loss"]),
                            close(v["w.grad"], 0.0), close(v["b.grad"], 0.0)),  # zeroed
    "no-grad": lambda v: (close(v["z"], math.sin(16)), is_none(v["x.grad"])),
    "detach": lambda v: close(v["x.grad"], 3.0**2),  # x² rather than 3x²
    "retain": lambda v: (check_sin_of_square(v), close(v["y.grad"], math.cos(16))),
    "retain-names": lambda v: (close(v["x.grad"], 2 * 2 * 4 * math.cos(16)),
                               close(v["y.grad"], 2 * math.cos(16))),
    "constant": lambda v: (close(v["b.grad"], 2.0), is_false(v["a.requires_grad"])),
    "nested-list": lambda v: close(v["x.grad"], [[2.0, 4.0], [6.0, 9.0]]),
    "own-backward": lambda v: close(v["x.grad"], [3.0, 12.0]),
    "bce-detach": lambda v: check_bce(v, through_z=False),
    "randn-no-seed": lambda v: (close(v["w.grad"], [1.0, 2.0, 3.0]),
                                close(v["x.grad"], v["w"])),
    "unnamed-output": lambda v: (close(v["output"], 14.0), close(v["x.grad"], [2.0, 4.0, 6.0])),
    "output-option": lambda v: close(v["x.grad"], 6.0),
    "bare-math": lambda v: close(v["x.grad"], math.sin(2.0) + math.cos(1.0)),
    "hostile": check_hostile,
    "hostile-no-grad": lambda v: is_none(v["x.grad"]),
    "continued-line": lambda v: close(v["x.grad"], 2 * 1.5),  # c = b·x, b = 2x constant
    "unnamed-backward-root": lambda v: close(v["x.grad"], [2.0, 4.0]),
    "output-renamed-later": lambda v: close(v["x.grad"], 2.0),
    "vector-output": lambda v: (close(v["output"], [1.0, 4.0, 9.0]), is_none(v["x.grad"])),
    # a = 2·x[0] detached, b = 2·x[1]: c = a·b gives x.grad = [0, 2a], b.grad = a
    "tuple-unpacking": lambda v: (close(v["x.grad"], [0.0, 8.0]), close(v["b.grad"], 4.0),
                                  close(v["c.grad"], 1.0)),
    "line-break-lookalikes": lambda v: close(v["x.grad"], 8 * 0.1),  # (2x)² -> 8x
    "loop": check_loop,
    # x = 2 takes the first branch; the empty loop changes nothing: d(x²)/dx = 2x
    "if-else": lambda v: (close(v["y"], 4.0), close(v["x.grad"], 4.0)),
    "def-defaults": check_def_defaults,
    "f-strings": lambda v: close(v["x.grad"], 6 * 1.5),  # z = 3x²
    # y = x⁴ + x² + x + 1 after three runs; w = 2(x³ + x + 1) detached inside the loop
    "loop-switches": lambda v: (close(v["x.grad"], 4 * 1.5**3 + 2 * 1.5 + 1),
                                close(v["y.grad"], 1.0), close(v["z.grad"], 1.0)),
}


def test_every_state_has_a_reference() -> None:
    assert set(REFERENCES) == set(STATES)


@pytest.mark.parametrize("key", list(STATES))
def test_script_matches_an_independent_reference(outcomes: dict[str, Outcome],
                                                 key: str) -> None:
    o = outcomes[key]
    assert o.error is None, o.error
    REFERENCES[key](o.values)


# -- what the script says -----------------------------------------------------------------
def test_bce_script_reads_like_the_lesson(outcomes: dict[str, Outcome]) -> None:
    text = outcomes["example-2"].snippet.text
    assert "x = torch.tensor(6.7)\ny = torch.tensor(0.0)\n" in text
    assert BCE_CODE.rstrip("\n") in text  # the program, comments and all, unchanged
    assert text.count(".backward()") == 1 and "\nloss.backward()\n" in text
    assert text.endswith('print("loss =", loss)\nprint("w.grad =", w.grad)\n'
                         'print("b.grad =", b.grad)\n')
    assert "manual_seed" not in text


def test_toggles_are_written_as_a_learner_would(outcomes: dict[str, Outcome]) -> None:
    detach = outcomes["detach"].snippet.text
    assert 'y = x**2\ny = y.detach()  # the app\'s "detach" switch\nz = y * x\n' in detach
    retain = outcomes["retain"].snippet.text
    assert 'y = x**2\ny.retain_grad()  # the app\'s "retain_grad" switch\n' in retain
    assert "z.retain_grad()" in retain  # z is kept too (the output)
    names = outcomes["retain-names"].snippet.text
    assert "y.retain_grad()" in names and "z.retain_grad()" not in names
    no_grad = outcomes["no-grad"].snippet.text
    assert "with torch.no_grad():  # the app's \"no_grad\" switch\n    y = x**2\n" in no_grad
    assert ".backward()" not in no_grad and "# No backward():" in no_grad


def test_statements_sharing_a_line_get_the_switch_after_a_semicolon(
        outcomes: dict[str, Outcome]) -> None:
    text = outcomes["hostile"].snippet.text
    assert 'x ** 2)  # end \' "\ny = y.detach()  # the app\'s "detach" switch\n' in text
    assert "z = y * 3; z = z.detach(); q = z + 1  # two" in text
    continued = outcomes["continued-line"].snippet.text
    assert "  b = a * 2; b = b.detach()\n" in continued


def test_no_grad_keeps_multiline_strings_as_they_are(outcomes: dict[str, Outcome]) -> None:
    o = outcomes["hostile-no-grad"]
    assert '\n  line "text" # not a comment"""' in o.snippet.text
    assert o.stdout.startswith('multi\n  line "text" # not a comment it\'s\n')


def test_seed_only_where_the_engine_draws_before_the_program_seeds(
        outcomes: dict[str, Outcome]) -> None:
    assert "torch.manual_seed(0)  # the app" in outcomes["randn-no-seed"].snippet.text
    mlp = outcomes["example-8"].snippet.text
    assert mlp.count("torch.manual_seed(0)") == 1  # the program's own
    # the engine's private generator and torch's global one give the same numbers
    generator = torch.Generator().manual_seed(0)
    w = torch.randn(3, generator=generator)
    assert bits(outcomes["randn-no-seed"].values["w"]) == bits(w.tolist())


def test_programs_own_backward_is_not_repeated(outcomes: dict[str, Outcome]) -> None:
    text = outcomes["own-backward"].snippet.text
    assert text.count(".backward(") == 1
    assert outcomes["example-4"].snippet.text.count(".backward(") == 2


def test_unnamed_output_gets_a_name_where_it_is_computed(outcomes: dict[str, Outcome],
                                                         ) -> None:
    text = outcomes["unnamed-output"].snippet.text
    assert "output = (x**2).sum()\n" in text and "\noutput.backward()\n" in text


def comments(text: str) -> str:
    """The script's comment lines as one line of text (wherever they were wrapped)."""
    return " ".join(line.removeprefix("# ") for line in text.splitlines()
                    if line.startswith("# "))


def test_an_output_the_script_cannot_name_is_explained(outcomes: dict[str, Outcome],
                                                       ) -> None:
    assert "has no name here, so it is not printed" in \
        comments(outcomes["unnamed-backward-root"].snippet.text)
    assert "given a new value later" in comments(outcomes["output-renamed-later"].snippet.text)
    vector = outcomes["vector-output"].snippet.text
    assert "output = x**2\n" in vector and ".backward()" not in vector
    assert "No backward(): the output has 3 elements" in comments(vector)


def test_bare_functions_and_modules_the_app_has_ready(outcomes: dict[str, Outcome]) -> None:
    text = outcomes["bare-math"].snippet.text
    assert "import math\nimport torch.nn.functional as F\n" in text
    assert "def sin(value):" in text and "def cos(" not in text


def test_input_boxes_become_clean_float32_literals() -> None:
    values = {"x": " 4", "v": "[1,2]", "c": "0.1", "n": "-0", "m": "[[1e-8], [3.25]]"}
    source = "y = x * v.sum() + c + n + m.sum()\n"
    result = run_program(source, values, requires_grad={"c": False}, isolate=False)
    text = to_python(source, values, constants={"c"}, result=result)
    for line in ["x = torch.tensor(4.0, requires_grad=True)",
                 "v = torch.tensor([1.0, 2.0], requires_grad=True)",
                 "c = torch.tensor(0.1)",
                 "n = torch.tensor(-0.0, requires_grad=True)",
                 "m = torch.tensor([[1e-08], [3.25]], requires_grad=True)"]:
        assert f"\n{line}\n" in text


@pytest.mark.parametrize("value", [6.7, 0.1, 1 / 3, 4.0, -0.0, 1e-8, 123456.789, 3.4e38,
                                   1.4e-45, 0.30000000000000004, 16777217.0])
def test_float32_literal_is_short_and_gives_the_same_float32(value: float) -> None:
    literal = float32_literal(value)
    expected = torch.tensor(value, dtype=torch.float32)
    got = torch.tensor(float(literal), dtype=torch.float32)
    assert bits(got.tolist()) == bits(expected.tolist())
    assert len(literal) <= len(repr(float(expected)))


def test_without_a_result_the_state_is_run_first() -> None:
    state = STATES["retain"]
    text = to_python(state.source, state.values, isolate=False, **state.options())
    assert text == build_snippet(state.source, state.values, result=state.run(),
                                 **state.options()).text


def test_a_failed_run_gives_the_program_and_the_reason_but_no_numbers() -> None:
    values = {"x": "[1, 2, 3]", "w": "[[1, 2]]"}
    result = run_program("y = x @ w\n", values, isolate=False)
    assert result.error is not None
    text = to_python("y = x @ w\n", values, result=result)
    ast.parse(text)
    assert "\ny = x @ w\n" in text
    assert "# The app stopped this program with an error" in text
    assert "print(" not in text and ".backward()" not in text
    broken = to_python("y = (x\n", {"x": "1"}, isolate=False)  # not Python: kept as typed
    assert "\ny = (x\n" in broken and "# The app stopped" in broken


def test_filename() -> None:
    assert snippet_filename() == FILENAME == "autograd_explorer.py"
