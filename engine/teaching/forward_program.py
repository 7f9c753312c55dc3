"""One training step's loss as a program of its own, read from the training program's tree.

A training loop computes the loss from its parameters, calls ``backward()`` and updates
them. The statements that lead up to that loss (the program's statements before the loop,
then the loop body's statements before the one that calls backward) are the loss as a
function of the parameters: :func:`find_training_loop` picks them out, and
:func:`forward_source` writes them back as a program whose parameters are set by assignments
placed just after the statements before the loop (so the data and random draws made there
stay the same). Everything here reads and writes syntax trees (``ast.parse``,
``ast.unparse``): nothing of the learner's text is run in this module.

What cannot be read this way is refused with a sentence (:class:`NoLandscape`): a backward()
outside any loop, in a function, in a loop within a loop, and a loss computed from something
the loop changes every time round (its counter, a batch, a running total).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from engine.language import parsing

LOOPS = (ast.For, ast.While)
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
DEFINITIONS = FUNCTIONS  # scopes of their own: what they bind stays inside
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
NO_PATH = "so every step has its own loss function and there is no one landscape to draw"


class NoLandscape(Exception):
    """Why a step's loss cannot be drawn as a landscape: a sentence for the learner."""

    def __init__(self, sentence: str) -> None:
        super().__init__(sentence)
        self.sentence = sentence


@dataclass(frozen=True)
class TrainingLoop:
    """The parts of a training program that compute one step's loss.

    ``prefix``: the top-level statements before the loop; ``body``: the loop body's
    statements before the one holding the backward() call (prints and gradient resets left
    out: they change no value the loss reads); ``loss``: the expression backward() ran
    from when the statement is just that call (``loss.backward()``,
    ``(w * x).sum().backward()``), else None; ``changed``: names
    the loop assigns (its target included), with the line where each is first assigned;
    ``targets``: the names the loop header sets (``header``, in short); ``line``: the
    backward() call's line."""

    prefix: tuple[ast.stmt, ...]
    body: tuple[ast.stmt, ...]
    loss: ast.expr | None
    changed: dict[str, int]
    targets: frozenset[str]
    line: int
    header: str = ""


def find_training_loop(source: str, line: int) -> TrainingLoop:
    """The loop around the backward() call on ``line``; raises NoLandscape."""
    try:
        tree = parsing.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise NoLandscape("The program could not be read as Python.") from None
    chain = _chain(tree, line)
    if not chain:
        raise NoLandscape(f"There is no backward() call on line {line} of the program.")
    for stmt in chain:
        if isinstance(stmt, FUNCTIONS):
            raise NoLandscape(
                f"The backward() call on line {line} is inside the function `{stmt.name}`: "
                "the landscape reads the loss from a training loop written at the top level "
                "of the program (for step in range(...): loss = ...; loss.backward()), "
                "not inside a def.")
    loops = [stmt for stmt in chain if isinstance(stmt, LOOPS)]
    if not loops:
        raise NoLandscape(
            f"The backward() call on line {line} is not inside a loop, so the program does "
            "not train step by step: there is no path of steps to draw on a landscape.")
    if len(loops) > 1:
        raise NoLandscape(
            f"The backward() call on line {line} is in a loop within a loop: the landscape "
            "needs one loop around the training step (for step in range(...)), where each "
            "step computes the same loss from the parameters.")
    loop = chain[0]
    if not isinstance(loop, LOOPS):
        raise NoLandscape(
            f"The training loop around line {line} is inside {_block_name(loop)}: the "
            "landscape needs the loop at the top level of the program.")
    held = chain[1] if len(chain) > 1 else None
    if held is None or not any(held is stmt for stmt in loop.body):
        raise NoLandscape(
            f"The backward() call on line {line} is not in the loop's body: the landscape "
            "needs loss.backward() inside the loop.")
    index = next(i for i, stmt in enumerate(loop.body) if stmt is held)
    prefix = tuple(s for s in tree.body[:tree.body.index(loop)] if not _housekeeping(s))
    body = tuple(s for s in loop.body[:index] if not _housekeeping(s))
    targets = frozenset(_stored([loop.target])) if isinstance(loop, ast.For) else frozenset()
    changed: dict[str, int] = {name: loop.lineno for name in targets}
    for stmt in loop.body:
        for name, at in _stored_lines(stmt).items():
            changed.setdefault(name, at)
    header = f"for {_target_text(loop.target)} in ..." if isinstance(loop, ast.For) \
        else "while ..."
    return TrainingLoop(prefix, body, _backward_receiver(held, line), changed, targets, line,
                        header)


def check_same_loss(loop: TrainingLoop, settable: Iterable[str],
                    tensors: dict[str, int]) -> None:
    """Refuse when the loss reads a name the loop changes that the landscape cannot hold
    at a step's values: the loop's counter or batch, a running total, a large tensor.
    ``settable``: the names set from the step's record; ``tensors``: the numbers of
    elements of the recorded leaves too large to set."""
    held = set(settable)
    for name in _free_reads(loop.body):
        if name in held or name not in loop.changed:
            continue
        if name in loop.targets:
            raise NoLandscape(
                f"The loss is computed from `{name}`, which the loop sets anew each time "
                f"round ({loop.header}, line {loop.changed[name]}), {NO_PATH}.")
        if name in tensors:
            raise NoLandscape(
                f"The loss is computed from `{name}`, a tensor of {tensors[name]:,} numbers "
                f"that the loop changes each time round (line {loop.changed[name]}); the "
                "training record keeps only a few of its numbers, so the landscape cannot "
                "hold it at a step's values. It can when every parameter is a single "
                "number or a few numbers.")
        raise NoLandscape(
            f"The loss is computed from `{name}`, which the loop changes each time round "
            f"(line {loop.changed[name]}), {NO_PATH}.")


def check_not_reassigned(loop: TrainingLoop, params: Sequence[str]) -> None:
    """Refuse a parameter the loop assigns anew before the loss: an assignment placed
    before the loop body would be overwritten, and the curve would be flat for no reason."""
    for stmt in loop.body:
        stored = _stored_lines(stmt)
        for name in params:
            if name in stored:
                raise NoLandscape(
                    f"`{name}` is assigned again inside the loop before the loss (line "
                    f"{stored[name]}), so the landscape cannot hold it at chosen values.")


def check_params_read(loop: TrainingLoop, params: Sequence[str]) -> None:
    """Refuse a parameter the loss's statements never mention by name (the loss reads it
    through a dict or a list, say): holding the name at other values would change
    nothing, and a flat line would be drawn for a loss that does depend on it."""
    parts = (*loop.prefix, *loop.body, *([loop.loss] if loop.loss is not None else []))
    read = {node.id for part in parts for node in ast.walk(part)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    for name in params:
        if name not in read:
            raise NoLandscape(
                f"The statements that compute the loss never use the name `{name}` (the "
                "loss reaches it some other way, through a list or a dict perhaps), so "
                f"the landscape cannot vary it: write the loss with `{name}` in it.")


def check_loss_made(loop: TrainingLoop, output: str) -> None:
    """Refuse a loss the derived program would not compute: one assigned inside the very
    block that calls backward() (``try: loss = ...; loss.backward()``)."""
    if loop.loss is not None and not isinstance(loop.loss, ast.Name):
        return  # the derived program assigns it from backward()'s own expression
    made = set().union(*(_stored_lines(stmt) for stmt in (*loop.prefix, *loop.body)))
    if output not in made:
        raise NoLandscape(
            f"`{output}` is computed inside the block that calls backward() on line "
            f"{loop.line}: write {output} = ... as its own line of the loop, before that "
            "block, so the landscape can compute it without running backward().")


def forward_source(loop: TrainingLoop, settings: Sequence[tuple[str, str]],
                   output: str) -> str:
    """The step's loss as a program: the statements before the loop, ``name = expression``
    for each of ``settings`` (expressions are our own text, parsed here), the loop body
    up to the backward() call and, when backward() ran from an expression rather than from
    ``output`` itself, ``output = <that expression>``."""
    middle = [parsing.parse(f"{name} = {expression}").body[0] for name, expression in settings]
    tail: list[ast.stmt] = []
    if loop.loss is not None and not (isinstance(loop.loss, ast.Name)
                                      and loop.loss.id == output):
        tail.append(ast.Assign(targets=[ast.Name(id=output, ctx=ast.Store())],
                               value=loop.loss))
    module = ast.Module(body=[*loop.prefix, *middle, *loop.body, *tail], type_ignores=[])
    return ast.unparse(ast.fix_missing_locations(module)) + "\n"


# -- reading the tree --------------------------------------------------------------------


def _is_backward(node: ast.AST, line: int) -> bool:
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "backward" and node.lineno == line)


def _contains(stmt: ast.stmt, line: int) -> bool:
    end = stmt.end_lineno or stmt.lineno
    return stmt.lineno <= line <= end and any(_is_backward(n, line) for n in ast.walk(stmt))


def _chain(node: ast.AST, line: int) -> list[ast.stmt]:
    """The statements from the top level down to the innermost one holding the
    backward() call on ``line`` (through except handlers and match cases too)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.stmt) and _contains(child, line):
            return [child, *_chain(child, line)]
        if isinstance(child, (ast.excepthandler, ast.match_case)):
            found = _chain(child, line)
            if found:
                return found
    return []


def _target_text(target: ast.expr) -> str:
    if isinstance(target, ast.Tuple) and target.elts:
        return ", ".join(ast.unparse(element) for element in target.elts)
    return ast.unparse(target)


def _block_name(stmt: ast.stmt) -> str:
    names = {ast.With: "a with block", ast.AsyncWith: "a with block", ast.If: "an if block",
             ast.Try: "a try block", ast.Match: "a match block"}
    try_star = getattr(ast, "TryStar", None)
    if try_star is not None and isinstance(stmt, try_star):
        return "a try block"
    return names.get(type(stmt), "another statement")


def _backward_receiver(held: ast.stmt, line: int) -> ast.expr | None:
    """What backward() runs from when the statement is exactly ``X.backward(...)`` or
    ``torch.autograd.backward(X, ...)``: ``X``; None for any other statement."""
    if not (isinstance(held, ast.Expr) and _is_backward(held.value, line)):
        return None
    call = held.value
    owner = call.func.value  # type: ignore[attr-defined]
    if getattr(owner, "attr", getattr(owner, "id", None)) == "autograd":
        given = call.args[:1] or [k.value for k in call.keywords if k.arg == "tensors"]
        return given[0] if given and not isinstance(given[0], ast.Starred) else None
    return owner


def _housekeeping(stmt: ast.stmt) -> bool:
    """A statement that changes no value the loss reads: a print, a gradient reset
    (``w.grad.zero_()``, ``w.grad = None``, ``opt.zero_grad()``), ``pass``, or an ``if``
    or ``with`` holding only those. Left in, a print would read the loop counter
    (``if step % 10 == 0: print(loss)``) or turn tensors into text at every point, and a
    reset would read ``.grad``, which the batched run cannot."""
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        func = stmt.value.func
        if isinstance(func, ast.Name):
            return func.id == "print"
        return isinstance(func, ast.Attribute) and (
            func.attr == "zero_grad" or (func.attr == "zero_" and _is_grad(func.value)))
    if isinstance(stmt, ast.Assign):
        return all(_is_grad(target) for target in stmt.targets) \
            and isinstance(stmt.value, ast.Constant) and stmt.value.value is None
    if isinstance(stmt, (ast.If, ast.With)):
        return all(_housekeeping(s) for s in [*stmt.body, *getattr(stmt, "orelse", [])])
    return False


def _is_grad(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "grad"


def _stored(nodes: Iterable[ast.AST]) -> list[str]:
    return [node.id for tree in nodes for node in ast.walk(tree)
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del))]


def _stored_lines(stmt: ast.stmt) -> dict[str, int]:
    """Names a statement binds in the scope it runs in (``x = ``, ``x += ``, ``for x in``,
    ``with ... as x``, ``except E as x``, ``(x := ...)``, ``def x``), with the first line;
    not the names a comprehension, lambda or def binds for itself."""
    found: dict[str, int] = {}

    def visit(node: ast.AST, own_scope: bool) -> None:
        name = None
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            name = node.id if own_scope else None
        elif isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
            name = node.target.id  # binds outside a comprehension too
        elif isinstance(node, ast.ExceptHandler) and node.name:
            name = node.name
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = node.name
        if name is not None and name not in found:
            found[name] = getattr(node, "lineno", stmt.lineno)
        if isinstance(node, DEFINITIONS):
            return
        inner = own_scope and not isinstance(node, COMPREHENSIONS)
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(stmt, True)
    return found


def _local_names(scope: ast.AST) -> set[str]:
    """The names a comprehension, lambda, def or class binds for itself."""
    if isinstance(scope, COMPREHENSIONS):
        return set(_stored(generator.target for generator in scope.generators))
    names: set[str] = set()
    arguments = getattr(scope, "args", None)
    if isinstance(arguments, ast.arguments):
        names |= {a.arg for a in [*arguments.posonlyargs, *arguments.args,
                                  *arguments.kwonlyargs, arguments.vararg, arguments.kwarg]
                  if a is not None}
    for stmt in getattr(scope, "body", []) if not isinstance(scope, ast.Lambda) else []:
        names |= set(_stored_lines(stmt))
    return names


def _reads(node: ast.AST, bound: frozenset[str] = frozenset()) -> Iterator[ast.Name]:
    """The names read in ``node`` from the scope it runs in: a name a comprehension,
    lambda or def binds for itself (``[x * w for x in xs]``) is not one of them."""
    if isinstance(node, ast.Name):
        if isinstance(node.ctx, ast.Load) and node.id not in bound:
            yield node
        return
    if isinstance(node, (*COMPREHENSIONS, *DEFINITIONS)):
        bound = bound | _local_names(node)
    for child in ast.iter_child_nodes(node):
        yield from _reads(child, bound)


def _free_reads(body: Sequence[ast.stmt]) -> list[str]:
    """Names the statements read before assigning them themselves, in order: what the
    loss takes from outside the loop body."""
    assigned: set[str] = set()
    free: list[str] = []
    for stmt in body:
        for node in sorted(_reads(stmt), key=lambda node: (node.lineno, node.col_offset)):
            if node.id not in assigned and node.id not in free:
                free.append(node.id)
        assigned.update(_stored_lines(stmt))
    return free
