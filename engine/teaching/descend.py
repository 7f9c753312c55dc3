"""Descend: k steps of gradient descent on chosen leaves, written as a program.

Descend does not train behind the learner's back: it writes the training loop as program
text around the learner's own lines and that text runs through the normal engine (its
checker, its interpreter, its limits). So the Training panel, the graph views and the
snippet export show exactly the loop that ran, and a learner can copy it. For
``y = x**2`` / ``z = torch.sin(y)`` with output ``z`` and the input ``x`` chosen::

    # Descend: each step runs the lines below and moves x downhill
    optimizer = torch.optim.SGD([x], lr=0.1)
    for step in range(20):
        optimizer.zero_grad()
        y = x**2
        z = torch.sin(y)
        z.backward()
        optimizer.step()

Where the loop starts. Inputs are leaves made outside the program, so with only inputs
chosen every statement goes in the loop. A leaf the program makes
(``w = torch.tensor(1.0, requires_grad=True)``) must be made once: the statements up to
and including the last top-level statement that assigns a chosen leaf stay before the
loop, and so do the defs, classes and imports right after it (they define, they do not
compute); the rest is repeated by the loop.

The one rule about what may stay before the loop. A statement before the loop runs once,
with the leaves' first values. If it reads a chosen leaf (directly, through a variable
such a statement assigned or changed, or by calling a def whose body reads one), the
variables it assigns or changes keep values computed from the first leaves, so the loop
may not read them (unless the loop assigns them again first): Descend refuses and says
which line to move below the line that makes the last leaf. The rule is read from the
syntax (:mod:`engine.teaching.statement_names`) and errs on the side of refusing.

The learner's lines are copied verbatim (comments included), only indented; Descend
parses what it wrote and checks that its statements are the program's own, unchanged,
before handing it back. Nothing here evaluates program text.
"""

from __future__ import annotations

import ast
import keyword
import math
import numbers
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from engine.language import parsing
from engine.limits import DEFAULT_LIMITS, Limits
from engine.teaching import statement_names as S


@dataclass(frozen=True)
class Optimizer:
    """An optimizer Descend offers: its name for people and the line that makes it
    (``{leaves}`` and ``{lr}`` are filled in)."""

    label: str
    template: str


OPTIMIZERS: dict[str, Optimizer] = {
    "sgd": Optimizer("SGD", "torch.optim.SGD([{leaves}], lr={lr})"),
    "momentum": Optimizer("SGD with momentum 0.9",
                          "torch.optim.SGD([{leaves}], lr={lr}, momentum=0.9)"),
    "adam": Optimizer("Adam", "torch.optim.Adam([{leaves}], lr={lr})"),
}
MAX_STEPS = 500  # a run allows 1,000 backward() calls; each step is one
MAX_LR = 1e6
MAX_LEAVES = 16
MAX_NAME_CHARS = 40
HEADER = "# Descend: each step runs the lines below and moves {leaves} downhill"
# The names Descend gives its optimizer and its loop counter: the first the program
# does not use (then these with 2, 3, ... after them).
OPTIMIZER_NAMES = ("optimizer", "opt", "descend_optimizer")
STEP_NAMES = ("step", "descend_step")
# Module names of the language: a statement that calls ``torch.sin(w)`` does not change
# ``torch``.
_MODULE_NAMES = frozenset({"torch", "F", "nn", "math", "functools", "functorch", "optim"})


class DescendRefused(Exception):
    """Descend cannot write its loop for this program or choice; ``sentence`` says what,
    why and what to write instead, ``line`` (1-based) where in the program, if anywhere."""

    def __init__(self, sentence: str, line: int | None = None) -> None:
        super().__init__(sentence)
        self.sentence = sentence
        self.line = line


@dataclass(frozen=True)
class DescendChoice:
    """What the learner chose: the leaves to move, the optimizer (a key of
    :data:`OPTIMIZERS`), the learning rate and the number of steps.

    Checked when made (raises :class:`DescendRefused` with a sentence): 1 to
    :data:`MAX_LEAVES` distinct leaves, each a plain variable name; ``lr`` a finite number
    above 0 and at most :data:`MAX_LR`; ``steps`` a whole number from 1 to
    :data:`MAX_STEPS`. ``leaves`` becomes a tuple, ``lr`` a float, ``steps`` an int."""

    leaves: tuple[str, ...]
    optimizer: str = "sgd"
    lr: float = 0.1
    steps: int = 20

    def __post_init__(self) -> None:
        leaves, lr, steps = _checked_choice(self.leaves, self.optimizer, self.lr, self.steps)
        object.__setattr__(self, "leaves", leaves)
        object.__setattr__(self, "lr", lr)
        object.__setattr__(self, "steps", steps)

    @property
    def label(self) -> str:
        """``"SGD, lr 0.1, 20 steps"``: the choice in words."""
        return f"{OPTIMIZERS[self.optimizer].label}, lr {lr_text(self.lr)}, {self.steps} steps"


def lr_text(lr: float) -> str:
    """The learning rate as the program writes it: the shortest text that reads back as
    the same float (``0.1``, not ``0.1000000000000000055``)."""
    return repr(float(lr))


def movable(names: Iterable[str]) -> tuple[str, ...]:
    """The names among ``names`` (a run's leaves: ``RunResult.grads``) Descend can move:
    plain variables, not module parameters (``fc1.weight``)."""
    return tuple(n for n in dict.fromkeys(names) if isinstance(n, str) and _is_name(n))


def descend_program(source: str, output: str | None, leaves_available: Collection[str],
                    choice: DescendChoice, *, limits: Limits = DEFAULT_LIMITS) -> str:
    """The program with Descend's training loop written around it (see the module's
    docstring for where the loop starts and what may stay before it).

    ``output`` is the name of the single number to make smaller (the run's
    ``output_name``; None when the output is an unnamed expression line);
    ``leaves_available`` the leaves the learner may choose from (inputs that require
    grad and leaves the program makes: see :func:`movable`). The text still has to be
    run (``engine.run_program`` checks it like any program). Raises
    :class:`DescendRefused` with a sentence, and nothing else, whatever it is given.
    """
    try:
        return _write(source, output, leaves_available, choice, limits)
    except DescendRefused:
        raise
    except (RecursionError, MemoryError):
        raise DescendRefused("The program is nested too deeply for Descend to read.") \
            from None
    except Exception as exc:  # noqa: BLE001 - refuse with a sentence, never crash a page
        raise DescendRefused(f"Descend could not write its loop for this program "
                             f"({type(exc).__name__}): a bug in the app, not in the "
                             "program.") from None


# --- the choice ---------------------------------------------------------------------------
def _is_name(text: str) -> bool:
    return (0 < len(text) <= MAX_NAME_CHARS and text.isascii() and text.isidentifier()
            and not keyword.iskeyword(text) and not text.startswith("__"))


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= MAX_NAME_CHARS else text[:MAX_NAME_CHARS] + "..."


def _checked_choice(leaves: object, optimizer: object, lr: object, steps: object,
                    ) -> tuple[tuple[str, ...], float, int]:
    if isinstance(leaves, str):
        leaves = (leaves,)
    if not isinstance(leaves, (tuple, list)):
        raise DescendRefused("Choose the leaves to move as a list of names, e.g. ('w', 'b').")
    for odd in leaves:
        if not isinstance(odd, str):
            raise DescendRefused(f"A leaf is chosen by its name, not {_shown(odd)}.")
    names = tuple(dict.fromkeys(leaves))
    if not names:
        raise DescendRefused("Choose at least one leaf to move: Descend changes the leaves "
                             "(tensors made with requires_grad=True, or inputs) to make the "
                             "output smaller.")
    if len(names) > MAX_LEAVES:
        raise DescendRefused(f"Descend moves at most {MAX_LEAVES} leaves at once; "
                             f"{len(names)} were chosen.")
    for name in names:
        if not _is_name(name):
            parts = name.split(".")
            if len(parts) > 1 and all(part.isidentifier() for part in parts):
                raise DescendRefused(
                    f"`{name[:MAX_NAME_CHARS]}` is a parameter of a module: Descend moves "
                    "tensors the program names itself (x, w). To train a module, write the loop: "
                    "optimizer = torch.optim.SGD(model.parameters(), lr=0.1).")
            raise DescendRefused(f"{_shown(name)} is not a variable name (letters, digits "
                                 "and _, not starting with a digit), so it cannot be a "
                                 "leaf to move.")
    if not isinstance(optimizer, str) or optimizer not in OPTIMIZERS:
        raise DescendRefused(f"Descend offers the optimizers {', '.join(OPTIMIZERS)}, not "
                             f"{_shown(optimizer)}.")
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real):
        raise DescendRefused(f"The learning rate must be a number, not {_shown(lr)}.")
    rate = float(lr)
    if not math.isfinite(rate) or not 0 < rate <= MAX_LR:
        raise DescendRefused(f"The learning rate must be a finite number above 0 and at most "
                             f"{MAX_LR:,.0f}; {_shown(lr)} is not.")
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) \
            or not 1 <= int(steps) <= MAX_STEPS:
        raise DescendRefused(f"The number of steps must be a whole number from 1 to "
                             f"{MAX_STEPS}, not {_shown(steps)}.")
    return names, rate, int(steps)


# --- the program --------------------------------------------------------------------------
@dataclass
class _Source:
    """The program's text as lines (``\\r\\n`` and ``\\r`` read as ``\\n``, as Python
    does) and its statements."""

    lines: list[str]
    body: list[ast.stmt]
    tree: ast.Module

    @classmethod
    def parse(cls, source: object, limits: Limits) -> _Source:
        if not isinstance(source, str):
            raise DescendRefused("The program must be text.")
        if len(source) > limits.max_source_chars:
            raise DescendRefused(f"The program is {len(source):,} characters long; programs "
                                 f"run here have at most {limits.max_source_chars:,}.")
        text = source.replace("\r\n", "\n").replace("\r", "\n")
        try:
            tree = parsing.parse(text)
        except SyntaxError as exc:
            raise DescendRefused(f"The program is not valid Python yet ({exc.msg}): fix it "
                                 "first, then descend.", exc.lineno) from None
        except ValueError as exc:  # a NUL character
            raise DescendRefused(f"The program cannot be read ({exc}).") from None
        return cls(text.split("\n"), tree.body, tree)

    def segment(self, stmt: ast.stmt) -> str:
        return ast.get_source_segment("\n".join(self.lines), stmt) or ""


def _write(source: str, output: str | None, leaves_available: Collection[str],
           choice: DescendChoice, limits: Limits) -> str:
    if not isinstance(choice, DescendChoice):
        raise DescendRefused("Choose the leaves, the optimizer, the learning rate and the "
                             "number of steps first.")
    leaves, lr, steps = _checked_choice(choice.leaves, choice.optimizer, choice.lr,
                                        choice.steps)
    program = _Source.parse(source, limits)
    available = _available(leaves_available)
    for leaf in leaves:
        if leaf not in available:
            offer = ", ".join(sorted(movable(available))[:MAX_LEAVES]) or "none"
            raise DescendRefused(f"`{leaf}` is not a leaf of this program, so Descend cannot "
                                 f"move it. The leaves it has: {offer}.")
    _refuse_training(program.tree)
    _refuse_globals(program.tree, leaves, output if isinstance(output, str) else None)
    output = _checked_output(program, output, leaves)
    split = _split(program.body, leaves)
    before, inside = program.body[:split], program.body[split:]
    _refuse_output_before(program, output, leaves, before, inside)
    _refuse_loop_statements(inside, before, leaves)
    _refuse_stale(before, inside, leaves)
    used = S.every_name(program.tree) | available | set(leaves)
    names = _Names(_fresh(OPTIMIZER_NAMES, used), _fresh(STEP_NAMES, used))
    text = _render(program, split, output, leaves, lr, steps, choice.optimizer, names)
    _same_statements(text, program.body, split)
    if len(text) > limits.max_source_chars:
        raise DescendRefused(f"With Descend's loop the program would be {len(text):,} "
                             f"characters, over the {limits.max_source_chars:,} a program "
                             "may have: shorten the program a little.")
    return text


def _available(leaves_available: object) -> set[str]:
    if isinstance(leaves_available, str):
        leaves_available = (leaves_available,)
    try:
        return {n for n in leaves_available if isinstance(n, str)}  # type: ignore[union-attr]
    except TypeError:
        return set()


def _refuse_training(tree: ast.Module) -> None:
    """A program that calls backward() or makes an optimizer trains itself already."""
    call = S.backward_call(tree)
    if call is not None:
        raise DescendRefused(
            f"The program already calls backward() (line {call.lineno}): it takes its own "
            "gradients or trains itself. Descend writes its own loop around a program that "
            "only computes the loss: remove the backward() call, or keep your own loop and "
            "switch Descend off.", call.lineno)
    use = S.optimizer_use(tree)
    if use is not None:
        line = getattr(use, "lineno", None)
        raise DescendRefused(
            f"The program already uses torch.optim (line {line}): it trains itself. Descend "
            "writes its own optimizer and loop around a program that only computes the "
            "loss: remove the optimizer, or keep your own loop and switch Descend off.", line)


def _refuse_globals(tree: ast.Module, leaves: tuple[str, ...], output: str | None) -> None:
    declared = S.declared_global(tree)
    for name in (*leaves, output):
        if name is not None and name in declared:
            stmt = declared[name]
            raise DescendRefused(
                f"`{name}` is assigned inside a def through `global` (line {stmt.lineno}), "
                "so Descend cannot tell where it is made. Assign it at the top level of the "
                f"program instead, e.g. {name} = ...", stmt.lineno)


def _checked_output(program: _Source, output: object, leaves: tuple[str, ...]) -> str:
    """The output's name, or a refusal that says how to name it."""
    last = program.body[-1] if program.body else None
    if output is None or output == "":
        if isinstance(last, ast.Expr):
            raise DescendRefused(_name_it(program, last), last.lineno)
        raise DescendRefused("The program has no output to make smaller: end it with the "
                             "number to minimise, with a name, e.g. loss = (y - 1)**2.")
    if not isinstance(output, str) or not _is_name(output):
        raise DescendRefused(f"The output {_shown(output)} is not a variable name: Descend "
                             "calls backward() on a name the program assigns, e.g. "
                             "loss = (y - 1)**2.")
    if output in leaves:
        raise DescendRefused(f"The output `{output}` is one of the leaves to move: Descend "
                             "makes smaller a number computed from the leaves, e.g. "
                             f"loss = ({output} - 3)**2; choose other leaves or another "
                             "output.")
    if not any(output in S.binds(stmt) for stmt in program.body):
        if isinstance(last, ast.Expr):
            raise DescendRefused(_name_it(program, last), last.lineno)
        raise DescendRefused(f"`{output}` is not assigned at the top level of the program "
                             "(outside any def), so Descend has no number to call backward() "
                             f"on: compute it there, e.g. {output} = (y - 1)**2.")
    return output


def _name_it(program: _Source, last: ast.Expr) -> str:
    text = program.segment(last)
    example = text if text and "\n" not in text and len(text) <= 60 else "..."
    return (f"The program's last line (line {last.lineno}) is an expression without a "
            "name, and Descend calls backward() on a name: give it a name, e.g. "
            f"loss = {example}")


def _split(body: list[ast.stmt], leaves: tuple[str, ...]) -> int:
    """How many statements run once, before the loop: up to the last one that assigns a
    chosen leaf, and the definitions (def, class, import) right after it."""
    split = 0
    for index, stmt in enumerate(body):
        if S.binds(stmt) & set(leaves):
            split = index + 1
    while split < len(body) and isinstance(body[split], S.DEFINITIONS):
        stmt = body[split]
        if S.reads_now(stmt) & set(leaves):
            break
        split += 1
    return split


def _leaf_line(before: list[ast.stmt], leaves: tuple[str, ...]) -> tuple[int, str] | None:
    """The line of the last statement that makes a chosen leaf, and that leaf."""
    for stmt in reversed(before):
        made = S.binds(stmt) & set(leaves)
        if made:
            return stmt.lineno, sorted(made)[0]
    return None


def _refuse_output_before(program: _Source, output: str, leaves: tuple[str, ...],
                          before: list[ast.stmt], inside: list[ast.stmt]) -> None:
    if any(output in S.binds(stmt) for stmt in inside):
        return
    made = _leaf_line(before, leaves)
    where = next(s.lineno for s in before if output in S.binds(s))
    line, leaf = made if made else (where, output)
    raise DescendRefused(
        f"`{output}` is computed at line {where}, which runs once, before the loop: Descend "
        f"makes the leaves once (the last, `{leaf}`, at line {line}) and repeats only the "
        f"lines after that, so `{output}` would never change. Compute `{output}` after "
        f"line {line}.", where)


def _refuse_loop_statements(inside: list[ast.stmt], before: list[ast.stmt],
                            leaves: tuple[str, ...]) -> None:
    """Statements that cannot be repeated by a loop as they are."""
    made = _leaf_line(before, leaves)
    for stmt in inside:
        jump = S.stray_jump(stmt)
        if jump is not None:
            word = "break" if isinstance(jump, ast.Break) else "continue"
            raise DescendRefused(
                f"Line {jump.lineno} has `{word}` outside any loop of the program: inside "
                f"Descend's loop it would {'stop' if word == 'break' else 'skip'} the "
                "training. Remove it.", jump.lineno)
        if isinstance(stmt, ast.ClassDef):
            read = sorted(S.reads_now(stmt) & set(leaves))
            if read:
                raise DescendRefused(
                    f"The class `{stmt.name}` (line {stmt.lineno}) reads the leaf `{read[0]}` "
                    "when it is defined, so Descend would have to repeat it inside its loop, "
                    f"and a class can only be defined at the top of a program: read "
                    f"`{read[0]}` inside a method instead.", stmt.lineno)
            move = f"above line {made[0]}, where `{made[1]}` is made" if made else \
                "to the top of the program, before the first line that computes"
            raise DescendRefused(
                f"The class `{stmt.name}` (line {stmt.lineno}) comes after a line that "
                "computes, so Descend would repeat it inside its loop, and a class can "
                f"only be defined at the top of a program: move it {move}.", stmt.lineno)


def _refuse_stale(before: list[ast.stmt], inside: list[ast.stmt],
                  leaves: tuple[str, ...]) -> None:
    """The rule of the module's docstring: what runs once may not feed the loop a value
    computed from the leaves' first values."""
    chosen = set(leaves)
    stale: dict[str, tuple[int, str]] = {}  # name -> (line that computed it, from what)
    leafy: set[str] = set()  # defs (and lambdas' names) whose bodies read the leaves
    for stmt in before:
        hot = chosen | stale.keys() | leafy
        now, later = S.reads_now(stmt) & hot, S.reads_later(stmt) & hot
        fresh = S.plainly_assigned(stmt)
        for name in fresh:
            stale.pop(name, None)
            leafy.discard(name)
        if now:
            source = sorted(now & chosen or now)[0]
            for name in (S.binds(stmt) | S.changes(stmt)) - chosen - _MODULE_NAMES:
                stale[name] = (stmt.lineno, source)
        elif later:
            leafy |= S.binds(stmt) - chosen
    if not stale:
        return
    made = _leaf_line(before, leaves)
    for stmt in inside:
        read = (S.reads_now(stmt) | S.reads_later(stmt)) & stale.keys()
        if read:
            name = sorted(read, key=lambda n: stale[n][0])[0]
            line, source = stale[name]
            last = f"line {made[0]}" if made else "the lines that make the leaves"
            via = "" if source in chosen else \
                ", which reads a leaf," if source in leafy else ", which comes from a leaf,"
            raise DescendRefused(
                f"Line {line} computes `{name}` from `{source}`{via} before the loop, so it "
                f"would keep the value of the first step while the leaves move, but line "
                f"{stmt.lineno} in the loop reads it. Move line {line} below {last} (the "
                "last line that makes a leaf), so it runs in every step.", line)
        for name in S.plainly_assigned(stmt):
            stale.pop(name, None)


def _fresh(candidates: tuple[str, ...], used: set[str]) -> str:
    """The first candidate the program does not use, then ``<last>_2``, ``<last>_3``..."""
    for name in candidates:
        if name not in used:
            used.add(name)
            return name
    return S.fresh_name(candidates[-1], used)


# --- the text -----------------------------------------------------------------------------
@dataclass(frozen=True)
class _Names:
    optimizer: str
    step: str


def _char_index(line: str, byte_col: int) -> int:
    """``ast`` columns count UTF-8 bytes; the index of that place in the str."""
    return len(line.encode("utf-8")[:byte_col].decode("utf-8", "ignore"))


def _render(program: _Source, split: int, output: str, leaves: tuple[str, ...], lr: float,
            steps: int, optimizer: str, names: _Names) -> str:
    lines = program.lines
    body = program.body
    before_text, first_line, loop_lines = _cut(lines, body, split)
    keep = set().union(*(S.string_lines(stmt) for stmt in body[split:]))
    numbered = list(enumerate(loop_lines, start=first_line))
    tabs = any("\t" in _leading(text) for number, text in numbered if number not in keep)
    unit = "\t" if tabs else "    "
    inner = [text if number in keep else _indented(text, unit) for number, text in numbered]
    while inner and not inner[-1].strip():
        inner.pop()
    while inner and not inner[0].strip():
        inner.pop(0)
    call = OPTIMIZERS[optimizer].template.format(leaves=", ".join(leaves), lr=lr_text(lr))
    loop = [HEADER.format(leaves=", ".join(leaves)),
            f"{names.optimizer} = {call}",
            f"for {names.step} in range({steps}):",
            f"{unit}{names.optimizer}.zero_grad()",
            *inner,
            f"{unit}{output}.backward()",
            f"{unit}{names.optimizer}.step()"]
    head = [before_text, ""] if before_text else []
    return "\n".join([*head, *loop]) + "\n"


def _cut(lines: list[str], body: list[ast.stmt], split: int) -> tuple[str, int, list[str]]:
    """The text before the loop, and the lines of the loop's part (with the number of the
    first): cut after the last statement before the loop, or inside a line where
    statements share it (``a = 1; b = 2``). Comments between go with the loop's part."""
    if split == 0:
        return "", 1, list(lines)
    last = body[split - 1]
    end = last.end_lineno or last.lineno
    if split == len(body):
        return "\n".join(lines[:end]).rstrip(), end + 1, []
    line, col = S.start_of(body[split])
    if line > end:
        return "\n".join(lines[:end]).rstrip(), end + 1, lines[end:]
    cut = _char_index(lines[line - 1], col)
    before = "\n".join([*lines[:line - 1], lines[line - 1][:cut]]).rstrip()
    before = before.removesuffix(";").rstrip()
    return before, line, [lines[line - 1][cut:], *lines[line:]]


def _leading(text: str) -> str:
    return text[:len(text) - len(text.lstrip())]


def _indented(text: str, unit: str) -> str:
    """One line moved into the loop. Blank lines stay empty; a form feed in the leading
    space resets Python's column count, so only what follows the last one counts."""
    if not text.strip():
        return ""
    lead = _leading(text)
    if "\f" in lead:
        text = text[lead.rindex("\f") + 1:]
    return unit + text


def _same_statements(text: str, body: list[ast.stmt], split: int) -> None:
    """Descend's own check: the text parses, and its statements are the program's, in
    the same order, around Descend's lines (never hand back a changed program)."""
    try:
        written = parsing.parse(text).body
    except SyntaxError:
        written = []
    expected = [ast.dump(stmt) for stmt in body]
    loop = written[-1] if written else None
    got: list[str] = []
    if len(written) == split + 2 and isinstance(loop, ast.For) and len(loop.body) >= 3:
        got = [ast.dump(stmt) for stmt in [*written[:split], *loop.body[1:-2]]]
    if got != expected:
        raise DescendRefused("Descend could not copy this program's lines into a loop "
                             "unchanged (its layout is unusual): put each statement on a "
                             "line of its own and try again.")
