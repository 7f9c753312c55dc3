"""The Playground's current state as a plain PyTorch script: paste it into a notebook cell
and get the numbers the page shows, bit for bit (same float32 operations in the same order).

The learner's program is not enough on its own, because the app adds to it:

- input boxes become float32 leaf tensors (requires_grad unless switched off), written
  here as ``torch.tensor(...)`` with literals that give the same float32 bits;
- every run draws random numbers from a private generator seeded with 0, which the
  global generator reproduces after ``torch.manual_seed(0)``;
- ``math``, ``F`` and bare ``sin()``, ``exp()``, ... need no import, and the bare ones
  take plain numbers: the script imports and defines them;
- the switches act inside the run (``no_grad`` around the program, ``detach`` and
  ``retain_grad`` where a top-level statement assigns a name): the script writes them as
  the lines a learner would write, next to the statements they act on;
- unless the program called ``backward()`` itself, the app runs it from the output.

The learner's text, comments included, is kept: changes are inserted at places found
with ``ast.parse``, never by unparsing, and which statements the switches acted on is
read from the run itself (``RunResult.graph["dataflow"]``). Nothing here evaluates the
program text.
"""

from __future__ import annotations

import ast
import io
import keyword
import re
import struct
import textwrap
import tokenize
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from engine.language import parsing
from engine.language import tables as L
from engine.limits import DEFAULT_LIMITS
from engine.running.inputs import make_input
from engine.running.run import RunResult

FILENAME = "autograd_explorer.py"
HEADER = "# Made by Autograd Explorer: paste into a notebook cell (needs torch)"
INDENT = "    "
WIDTH = 88  # comment lines are wrapped to this width
# The interpreter's own list (engine.running.interpreter._BOOKKEEPING): method calls on an
# expression line that never become the program's output.
_BOOKKEEPING = frozenset({"backward", "retain_grad", "requires_grad_", "zero_", "fill_",
                          "detach_", "add_", "sub_", "mul_", "div_", "pow_", "copy_",
                          "clamp_", "neg_"})
_RANDOM = frozenset(name.removeprefix("torch.") for name, fn in L.TORCH_FUNCTIONS.items()
                    if fn.random and name != "torch.manual_seed")
_NUMBER_FUNCTIONS = frozenset(name for name, fn in L.BARE_FUNCTIONS.items() if fn.numbers)
# Characters Python reads inside a line but editors and notebooks may break lines at.
_LINE_BREAKS = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


@dataclass(frozen=True)
class Snippet:
    """The script, and what its last lines print (the names a test or a page may read)."""

    text: str
    output: str | None  # the variable holding the output in the script (None: unnamed)
    printed: tuple[str, ...] = ()  # the expressions printed at the end, in order


def snippet_filename() -> str:
    """The name offered for the download."""
    return FILENAME


def to_python(source: str, inputs: Mapping[str, Any], *,
              constants: Iterable[str] = frozenset(), no_grad: bool = False,
              detach: Iterable[str] = (), retain_grad: bool | Iterable[str] = False,
              output: str | None = None, result: RunResult | None = None,
              isolate: bool = True) -> str:
    """The text of a self-contained script that reproduces this state of the page.

    Arguments are the page's state as :func:`engine.run_program` takes them (``constants``:
    inputs with requires_grad off). ``result`` is the run of exactly this state; without
    it the state is run here first (in a worker process unless ``isolate`` is False),
    because only the run knows which statements made tensors, which of them autograd
    recorded, and what the output was. Raises :class:`engine.errors.ProgramRefused` for an
    input box that is not a number or a list of numbers (there is no value to write).
    """
    return build_snippet(source, inputs, constants=constants, no_grad=no_grad,
                         detach=detach, retain_grad=retain_grad, output=output,
                         result=result, isolate=isolate).text


def build_snippet(source: str, inputs: Mapping[str, Any], *,
                  constants: Iterable[str] = frozenset(), no_grad: bool = False,
                  detach: Iterable[str] = (), retain_grad: bool | Iterable[str] = False,
                  output: str | None = None, result: RunResult | None = None,
                  isolate: bool = True) -> Snippet:
    """:func:`to_python`, with the names the script prints at the end."""
    constants, detach = frozenset(constants), frozenset(detach)
    retain = retain_grad if isinstance(retain_grad, bool) else frozenset(retain_grad)
    if result is None:
        from engine.api import run_program

        result = run_program(source, dict(inputs), output=output, no_grad=no_grad,
                             detach=detach, retain_grad=retain,
                             requires_grad={n: n not in constants for n in inputs},
                             isolate=isolate)
    source = source.replace("\r\n", "\n").replace("\r", "\n")
    tree = _parse(source)
    program = _Program(source, tree, inputs)
    if tree is not None:
        program.switch_lines(result, detach, retain)
        program.name_output(result)
    body = program.text_lines()
    if no_grad:
        body = _under_no_grad(body)
    ending, printed = _ending(result, program.output_var, no_grad, tree)
    parts = [[HEADER, *_imports(tree)], _helpers(tree, set(inputs)),
             _input_lines(inputs, constants), ["# The program", *body], *ending]
    if tree is not None and _needs_seed(tree):
        parts[0].append("torch.manual_seed(0)  # the app starts every run's random numbers "
                        "from seed 0")
    text = "\n\n".join("\n".join(part) for part in parts if part) + "\n"
    return Snippet(_plain_comments(text), program.output_var, printed)


# -- the program's text ------------------------------------------------------------------
def _parse(source: str) -> ast.Module | None:
    try:
        return parsing.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None  # the page shows why; the script keeps the text as it is


def _top_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements the interpreter runs with ``top=True``, in order: the module's and those
    inside ``with`` blocks, never a function's body (it runs at a call, with top False)."""
    for stmt in body:
        if isinstance(stmt, ast.With):
            yield from _top_statements(stmt.body)
        elif not isinstance(stmt, ast.FunctionDef):
            yield stmt


def _top_assignments(body: list[ast.stmt]) -> Iterator[ast.Assign | ast.AugAssign]:
    """The assignments the switches act on: the module's and those inside its ``with``,
    ``for``, ``while``, ``if`` and ``try`` blocks (a loop's line is a top-level
    assignment each time it runs, and the interpreter detaches it each time), never in
    a function's or a class's body (it runs at a call, not at the top level)."""
    for stmt in body:
        if isinstance(stmt, (ast.Assign, ast.AugAssign)):
            yield stmt
        elif not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for block in ("body", "orelse", "finalbody"):
                yield from _top_assignments(getattr(stmt, block, None) or [])
            for handler in getattr(stmt, "handlers", None) or []:
                yield from _top_assignments(handler.body)


def _char_col(line: str, byte_col: int) -> int:
    """ast columns count UTF-8 bytes; text is edited by characters."""
    return len(line.encode()[:byte_col].decode(errors="ignore"))


@dataclass
class _After:
    """Lines to run right after a statement; each ``(code, comment)``."""

    stmt: ast.stmt
    code: list[tuple[str, str]] = field(default_factory=list)


class _Program:
    """The learner's lines, with the switches written in and the output given a name."""

    def __init__(self, source: str, tree: ast.Module | None, inputs: Mapping[str, Any]):
        self.source = source
        self.tree = tree
        self.lines = source.split("\n")
        while self.lines and not self.lines[-1].strip():
            self.lines.pop()
        self.after: dict[int, _After] = {}  # by id of the statement
        self.prefix: tuple[ast.stmt, str] | None = None
        self.output_var: str | None = None
        self.inputs = set(inputs)

    def _add_after(self, stmt: ast.stmt, code: str, comment: str) -> None:
        self.after.setdefault(id(stmt), _After(stmt)).code.append((code, comment))

    def switch_lines(self, result: RunResult, detach: frozenset[str],
                     retain: bool | frozenset[str]) -> None:
        """``name = name.detach()`` and ``name.retain_grad()`` after the statements the
        run applied the switches to. The interpreter detaches a top-level assignment of a
        tensor to a detach name, then keeps the .grad of what is still recorded and not a
        leaf; the run's dataflow says, per statement, which names got tensors and which
        of those autograd recorded (after the detach), so no guess is needed."""
        assert self.tree is not None
        steps = _dataflow(result)
        assignments = list(_top_assignments(self.tree.body))
        last = {name: s for s in assignments for name in _assigned_names(s)}
        for stmt in assignments:
            here = {} if steps is None else steps.get((stmt.lineno, stmt.col_offset + 1), {})
            for name in _assigned_names(stmt):
                step = here.get(name)
                if name in detach and (step is not None or steps is None):
                    self._add_after(stmt, f"{name} = {name}.detach()",
                                    'the app\'s "detach" switch')
                wanted = retain if isinstance(retain, bool) else name in retain
                if wanted and (step is not None or steps is None) and _retains(
                        step, last[name] is stmt, name in result.retained):
                    self._add_after(stmt, f"{name}.retain_grad()",
                                    'the app\'s "retain_grad" switch')

    def name_output(self, result: RunResult) -> None:
        """The variable holding the output in the script. The app's output may be an
        expression line (``(x**2).sum()``): the script assigns it to a new name there,
        since backward() and the print need to reach it."""
        if result.error is not None or result.output is None:
            return
        if result.output_name is not None:
            if _same(result.variables.get(result.output_name), result.output):
                self.output_var = result.output_name
            return
        if result.backward_called:
            return  # backward() on an unnamed expression: the script leaves it so
        stmt = _output_statement(self.tree, self.source, result)
        if stmt is not None:
            self.output_var = _free_name("output", self.tree, self.inputs)
            self.prefix = (stmt, f"{self.output_var} = ")

    def text_lines(self) -> list[str]:
        """The program's lines with the additions: each on a line of its own, indented
        like its statement, where the statement has its lines to itself; otherwise after
        a ``;`` on the statement's last line (``with torch.no_grad(): y = x**2``). When
        that does not parse (a statement continued with ``\\``), all go after a ``;``."""
        text = self._edited(own_lines=True)
        if self.tree is not None and _parse("\n".join(text)) is None:
            text = self._edited(own_lines=False)
        return text or ["pass"]

    def _edited(self, own_lines: bool) -> list[str]:
        lines = list(self.lines)
        inline: list[tuple[int, int, str]] = []  # (line index, char column, text)
        below: dict[int, list[str]] = {}
        for item in self.after.values():
            stmt = item.stmt
            end_line = lines[stmt.end_lineno - 1]  # type: ignore[operator]
            end = _char_col(end_line, stmt.end_col_offset)  # type: ignore[arg-type]
            first = lines[stmt.lineno - 1]
            start = _char_col(first, stmt.col_offset)
            alone = not first[:start].strip() and (
                not end_line[end:].strip() or end_line[end:].lstrip().startswith("#"))
            if own_lines and alone:
                below.setdefault(stmt.end_lineno - 1, []).extend(  # type: ignore[operator]
                    f"{first[:start]}{code}  # {comment}" for code, comment in item.code)
            else:
                inline.append((stmt.end_lineno - 1, end,  # type: ignore[operator]
                               "".join(f"; {code}" for code, _ in item.code)))
        if self.prefix is not None:
            stmt, text = self.prefix
            inline.append((stmt.lineno - 1, _char_col(lines[stmt.lineno - 1],
                                                      stmt.col_offset), text))
        for index, col, text in sorted(inline, reverse=True):
            lines[index] = lines[index][:col] + text + lines[index][col:]
        out: list[str] = []
        for index, line in enumerate(lines):
            out.append(line)
            out.extend(below.get(index, []))
        return out


def _dataflow(result: RunResult) -> dict[tuple[int, int], dict[str, dict[str, Any]]] | None:
    """The run's top-level assignments of tensors, by statement place and name; None when
    the run recorded no dataflow (the graph failed), and the statements must be read from
    the text alone."""
    if any(w.startswith("The graph could not be recorded") for w in result.warnings):
        return None
    steps: dict[tuple[int, int], dict[str, dict[str, Any]]] = {}
    for step in result.graph.get("dataflow", []):
        steps.setdefault((step["line"], step["col"]), {})[step["target"]] = step
    return steps


def _assigned_names(stmt: ast.Assign | ast.AugAssign) -> list[str]:
    target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
    elements = target.elts if isinstance(target, ast.Tuple) else [target]
    return [e.id for e in elements if isinstance(e, ast.Name)]


def _retains(step: dict[str, Any] | None, last: bool, kept: bool) -> bool:
    """Whether the interpreter called retain_grad() on what a statement assigned to a
    name: a recorded tensor that is not a leaf (it has a grad_fn). Without the run's
    dataflow (``step`` None): the names whose .grad the run kept, at their ``last``
    assignment."""
    if step is not None:
        return bool(step["tracked"]) and step["grad_fn"] is not None
    return kept and last


def _same(value: Any, output: torch.Tensor) -> bool:
    """Whether the output's name still holds the output at the end (a name assigned again
    after backward() ran from it does not: then the script does not print it)."""
    return isinstance(value, torch.Tensor) and value.shape == output.shape \
        and value.dtype == output.dtype \
        and bool(torch.equal(torch.nan_to_num(value), torch.nan_to_num(output)))


def _output_statement(tree: ast.Module | None, source: str,
                      result: RunResult) -> ast.Expr | None:
    """The expression line the app took as the output: the last top-level expression
    line after the last assignment whose value was a tensor (the interpreter's rule;
    its echoes say which lines showed a tensor)."""
    if tree is None:
        return None
    shown = {(e["line"], e["code"]): e["text"] for e in result.echoes}
    chosen = None
    for stmt in _top_statements(tree.body):
        if isinstance(stmt, (ast.Assign, ast.AugAssign)):
            chosen = None
        elif isinstance(stmt, ast.Expr) and _may_be_output(stmt.value):
            text = shown.get((stmt.lineno, _echo_code(source, stmt.value)))
            if text is None or text.startswith("tensor("):
                chosen = stmt
    return chosen


def _may_be_output(expr: ast.expr) -> bool:
    if isinstance(expr, (ast.Name, ast.Attribute, ast.Constant)):
        return False  # a name is the output by its name; attributes never are
    if isinstance(expr, ast.Call):
        func = expr.func
        if isinstance(func, ast.Name) and func.id == "print":
            return False
        if isinstance(func, ast.Attribute) and func.attr in _BOOKKEEPING:
            return False
    return True


def _echo_code(source: str, node: ast.expr) -> str:
    """The code an echo carries for ``node`` (the interpreter's ``_segment``)."""
    text = " ".join((ast.get_source_segment(source, node) or "").split())
    return text if len(text) <= 80 else text[:77] + "..."


def _free_name(base: str, tree: ast.Module | None, taken: set[str]) -> str:
    used = set(taken)
    if tree is not None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                used.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.arg)):
                used.add(node.name if isinstance(node, ast.FunctionDef) else node.arg)
    name, count = base, 1
    while name in used:
        name, count = f"{base}_{count}", count + 1
    return name


def _under_no_grad(lines: list[str]) -> list[str]:
    """Every line one level in, under ``with torch.no_grad():``, except the lines that
    continue a string across lines (indenting them would change the text)."""
    inside = _string_continuations("\n".join(lines))
    body = [line if not line.strip() or number in inside else INDENT + line
            for number, line in enumerate(lines, start=1)]
    if not any(line.strip() and not line.lstrip().startswith("#") for line in lines):
        body.append(INDENT + "pass")
    return ['with torch.no_grad():  # the app\'s "no_grad" switch', *body]


def _string_continuations(text: str) -> set[int]:
    rows: set[int] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
                rows.update(range(tok.start[0] + 1, tok.end[0] + 1))
    except (tokenize.TokenError, SyntaxError):
        pass
    return rows


# -- around the program ---------------------------------------------------------------
def _imports(tree: ast.Module | None) -> list[str]:
    """``import torch``, and math and F when the program uses them without importing
    (the app has them ready)."""
    lines = ["import torch"]
    if tree is None:
        return lines
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    imported = {alias.asname or alias.name for n in ast.walk(tree)
                if isinstance(n, (ast.Import, ast.ImportFrom)) for alias in n.names}
    if "math" in used and "math" not in imported:
        lines.append("import math")
    if "F" in used and "F" not in imported:
        lines.append("import torch.nn.functional as F")
    return lines


def _helpers(tree: ast.Module | None, inputs: set[str]) -> list[str]:
    """Plain-PyTorch versions of the bare functions the program calls: the app's
    ``sin(2.0)`` turns the number into a tensor first, ``torch.sin(2.0)`` would refuse."""
    if tree is None:
        return []
    called = sorted({n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call)
                     and isinstance(n.func, ast.Name) and n.func.id in _NUMBER_FUNCTIONS
                     and n.func.id not in inputs})
    if not called:
        return []
    names = ", ".join(f"{n}()" for n in called)
    lines = [f"# The app's {names} {'takes' if len(called) == 1 else 'take'} plain numbers "
             "too; the same in plain PyTorch:"]
    for name in called:
        lines += [f"def {name}(value):",
                  f"    return torch.{name}"
                  "(value if torch.is_tensor(value) else torch.tensor(float(value)))"]
    return lines


def _needs_seed(tree: ast.Module) -> bool:
    """Whether the program draws random numbers before seeding the generator itself."""
    seeds = {id(s.value) for s in _top_statements(tree.body) if isinstance(s, ast.Expr)}
    calls = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Call)
                    and _torch_name(n.func) in _RANDOM | {"manual_seed"}),
                   key=lambda n: (n.lineno, n.col_offset))
    if not any(_torch_name(n.func) in _RANDOM for n in calls):
        return False
    first = calls[0]
    return not (_torch_name(first.func) == "manual_seed" and id(first) in seeds)


def _torch_name(func: ast.expr) -> str | None:
    """``randn`` for ``torch.randn``, else None."""
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
            and func.value.id == "torch":
        return func.attr
    return None


def _input_lines(inputs: Mapping[str, Any], constants: frozenset[str]) -> list[str]:
    """The input boxes as the engine makes them: float32 leaves, parsed the same way."""
    if not inputs:
        return []
    off = [n for n in inputs if n in constants]
    lines = ["# The input boxes, as leaf tensors (float32)"
             + (f"; requires_grad is off for {', '.join(off)}" if off else "")]
    for name, value in inputs.items():
        tensor = make_input(name, value, name not in constants, "float32", DEFAULT_LIMITS)
        flag = ", requires_grad=True" if tensor.requires_grad else ""
        lines.append(f"{name} = torch.tensor({_literal(tensor.detach().tolist())}{flag})")
    return lines


def _literal(data: Any) -> str:
    if isinstance(data, list):
        return "[" + ", ".join(_literal(item) for item in data) + "]"
    return float32_literal(data)


def _f32_bits(value: float) -> bytes:
    return struct.pack("<f", value)


def float32_literal(value: float) -> str:
    """The shortest Python float literal that becomes exactly this float32
    (0.30000001192092896 -> ``0.3``, 6.699999809265137 -> ``6.7``, 4 -> ``4.0``).
    Checked through float64, the way ``torch.tensor(literal)`` reads it."""
    value = float(value)
    bits = _f32_bits(value)
    for digits in range(1, 18):
        candidate = float(f"{value:.{digits}g}")
        if _f32_bits(candidate) == bits:
            return repr(candidate)
    return repr(value)


# -- after the program -----------------------------------------------------------------
def _ending(result: RunResult, output_var: str | None, no_grad: bool,
            tree: ast.Module | None = None) -> tuple[list[list[str]], tuple[str, ...]]:
    """The backward() the app ran (or why none ran), then the page's numbers as prints:
    the output, each leaf's .grad (the table's order), each .grad kept by retain_grad()."""
    if result.error is not None:
        return [_comment("The app stopped this program with an error: "
                         f"{str(result.error).rstrip('.')}. There are no numbers to show.")], ()
    if result.auto_backward and output_var is not None:
        backward = ["# The program does not call backward(), so the app runs it from the "
                    f"output, {output_var}", f"{output_var}.backward()"]
    elif result.auto_backward:  # not expected: the output is always found
        backward = _comment("The app ran backward() from the output, the program's last "
                            "expression: give it a name and call .backward() on it.")
    elif result.backward_called:
        backward = []
    else:
        backward = _comment("No backward(): " + _no_backward_reason(result, no_grad))
    printed: list[str] = []
    expressions: dict[str, str] = {}
    unnamed: list[str] = []
    if output_var is not None:
        printed.append(output_var)
    for name in result.grads:
        expression = parameter_expression(name, tree)
        if expression is None:
            unnamed.append(name)
            continue
        printed.append(f"{name}.grad")
        expressions[f"{name}.grad"] = f"{expression}.grad"
    printed += [f"{name}.grad" for name in result.retained]
    prints = _unprinted_output(result, output_var) + [
        f'print("{p} =", {expressions.get(p, p)})' for p in printed]
    if unnamed:
        prints += _comment("The page also shows the .grad of " + ", ".join(unnamed)
                           + ": parameters inside a module this script cannot name "
                           "(print them with model.named_parameters()).")
    if printed:
        prints.insert(0, "# The numbers the page shows")
    return [backward, prints], tuple(printed)


def parameter_expression(name: str, tree: ast.Module | None) -> str | None:
    """The Python expression of what the page calls ``name``: a variable as it is; a
    module's parameter by its path from the variable that holds the module
    (``linear.weight``, ``model.0.weight`` -> ``model[0].weight``, and ``fc1.weight``
    -> ``model.fc1.weight`` when one variable holds a module of the program's own
    class); None when no single variable can be named."""
    if "." not in name:
        return name
    parts = name.split(".")
    if not all((p.isidentifier() and not keyword.iskeyword(p)) or p.isdigit()
               for p in parts):
        return None
    assigned = _assigned_at_top(tree)
    if parts[0] in assigned:
        base, path = parts[0], parts[1:]
    else:
        holders = _model_variables(tree)
        if len(holders) != 1:
            return None
        base, path = holders[0], parts
    return base + "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in path)


def _assigned_at_top(tree: ast.Module | None) -> set[str]:
    if tree is None:
        return set()
    return {name for stmt in _top_assignments(tree.body) for name in _assigned_names(stmt)}


def _model_variables(tree: ast.Module | None) -> list[str]:
    """Top-level variables assigned a new object of a class the program defines
    (``model = Net()``): the modules whose parameters the page names by path alone."""
    if tree is None:
        return []
    classes = {stmt.name for stmt in tree.body if isinstance(stmt, ast.ClassDef)}
    found: list[str] = []
    for stmt in _top_assignments(tree.body):
        value = stmt.value
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) \
                and value.func.id in classes:
            found += [n for n in _assigned_names(stmt) if n not in found]
    return found


def _unprinted_output(result: RunResult, output_var: str | None) -> list[str]:
    """Why the page shows an output the script does not print."""
    if result.output is None or output_var is not None:
        return []
    if result.output_name is None:
        return _comment("The output, the expression backward() was called on, has no "
                        "name here, so it is not printed.")
    return _comment(f"The output is `{result.output_name}` as it was when backward() ran "
                    "from it; the name was given a new value later, so it is not printed.")


def _no_backward_reason(result: RunResult, no_grad: bool) -> str:
    label = f"`{result.output_name}`" if result.output_name else "the output"
    if result.output is None:
        return "the program has no tensor output to start it from."
    if result.output.numel() != 1:
        return (f"{label} has {result.output.numel()} elements, and backward() starts from "
                "one number (reduce it first, e.g. with .sum() or .mean()).")
    said = next((w for w in result.warnings if "was not recorded by autograd" in w), None)
    if said is not None:
        return said
    if no_grad:
        return f"{label} was computed under torch.no_grad(), so autograd did not record it."
    return f"{label} does not require grad, so autograd has nothing to run backward through."


def _comment(text: str) -> list[str]:
    return textwrap.wrap(" ".join(text.split()), WIDTH - 2, initial_indent="# ",
                         subsequent_indent="# ", break_long_words=False,
                         break_on_hyphens=False)


def _plain_comments(text: str) -> str:
    """Line-break look-alikes (form feed, U+2028, ...) in comments as spaces: Python reads
    them inside the comment, but a notebook may split the cell there."""
    if not _LINE_BREAKS.search(text):
        return text
    lines = text.split("\n")
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                row, col = tok.start
                line = lines[row - 1]
                lines[row - 1] = line[:col] + _LINE_BREAKS.sub(" ", line[col:])
    except (tokenize.TokenError, SyntaxError):
        return text
    return "\n".join(lines)
