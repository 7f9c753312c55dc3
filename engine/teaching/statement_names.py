"""Which names a top-level statement binds, reads and changes: what Descend needs to know
to put a program's statements before or inside the training loop it writes; and the
names a program uses at all, so the programs Descend and the landscape derive add only
fresh ones (:func:`every_name`, :func:`fresh_name`).

All of it is read from the ``ast`` of the program, never by running it. The walks are
iterative (a deeply nested program cannot exhaust Python's stack here) and follow
Python's scoping where it matters for the split:

- a ``def`` or ``lambda`` runs its body later, when called: names its body reads are
  read *later* (:func:`reads_later`), while its decorators, defaults and annotations are
  read *now* (:func:`reads_now`), when the ``def`` statement runs;
- a ``class`` body runs when the class statement runs (read now), but the names it
  assigns are the class's attributes, not the program's variables;
- a comprehension's loop variables live in the comprehension, not in the program.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

# Statements that define rather than compute: moving them out of a loop changes nothing.
DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import,
               ast.ImportFrom)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)


def _walk(node: ast.AST) -> Iterator[tuple[ast.AST, bool, bool]]:
    """Every node under ``node`` with two flags: ``later`` (inside a def's or lambda's
    body: runs when called) and ``local`` (its stores bind a name of a function, a class
    body or a comprehension, not of the program)."""
    stack: list[tuple[ast.AST, bool, bool]] = [(node, False, False)]
    while stack:
        current, later, local = stack.pop()
        yield current, later, local
        if isinstance(current, _FUNCTIONS):
            now = [*current.decorator_list, *_signature(current.args)]
            if current.returns is not None:
                now.append(current.returns)
            stack.extend((child, later, local) for child in now)
            stack.extend((child, True, True) for child in current.body)
        elif isinstance(current, ast.Lambda):
            stack.extend((child, later, local) for child in _signature(current.args))
            stack.append((current.body, True, True))
        elif isinstance(current, ast.ClassDef):
            now = [*current.decorator_list, *current.bases, *current.keywords]
            stack.extend((child, later, local) for child in now)
            stack.extend((child, later, True) for child in current.body)
        elif isinstance(current, ast.comprehension):
            stack.append((current.target, later, True))
            stack.append((current.iter, later, local))
            stack.extend((child, later, local) for child in current.ifs)
        else:
            stack.extend((child, later, local) for child in ast.iter_child_nodes(current))


def _signature(args: ast.arguments) -> list[ast.expr]:
    """What a def or lambda evaluates when it is defined: defaults and annotations."""
    found: list[ast.expr] = [*args.defaults, *(d for d in args.kw_defaults if d)]
    for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
        if arg is not None and arg.annotation is not None:
            found.append(arg.annotation)
    return found


def import_bindings(node: ast.Import | ast.ImportFrom) -> set[str]:
    """The names an import statement binds (``import torch.nn as nn`` binds ``nn``,
    ``import torch.nn`` binds ``torch``)."""
    return {alias.asname or alias.name.partition(".")[0] for alias in node.names
            if alias.name != "*"}


def binds(stmt: ast.stmt) -> set[str]:
    """The program's variables that running ``stmt`` gives a value to (or deletes):
    assignment targets, loop and ``with ... as`` targets, ``except ... as``, imports,
    and the names of defs and classes, at any depth but never inside a def's body, a
    class body or a comprehension (those bind their own names)."""
    found: set[str] = set()
    for node, later, local in _walk(stmt):
        if later or local:
            if isinstance(node, ast.NamedExpr) and not later \
                    and isinstance(node.target, ast.Name):
                found.add(node.target.id)  # := in a comprehension binds outside it
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            found.add(node.id)
        else:
            found |= _declared(node)
    return found


def _declared(node: ast.AST) -> set[str]:
    """The names a def, class, ``except ... as`` or import statement binds."""
    if isinstance(node, (*_FUNCTIONS, ast.ClassDef)):
        return {node.name}
    if isinstance(node, ast.ExceptHandler) and node.name:
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return import_bindings(node)
    return set()


def reads_now(stmt: ast.stmt) -> set[str]:
    """Names ``stmt`` reads when it runs (not those read by a def's body later)."""
    return {node.id for node, later, _ in _walk(stmt)
            if not later and isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def reads_later(stmt: ast.stmt) -> set[str]:
    """Names read inside the bodies of the defs and lambdas ``stmt`` makes: they are read
    each time the function is called, not when ``stmt`` runs."""
    return {node.id for node, later, _ in _walk(stmt)
            if later and isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def root_name(node: ast.expr) -> str | None:
    """The variable under ``a.b[0].c``: ``a``; None when a call's result is in the way
    (``f(x).mul_(2)`` changes a new object, not ``f``)."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def changes(stmt: ast.stmt) -> set[str]:
    """Variables whose object ``stmt`` may change in place when it runs: the receiver of
    a method call (``xs.append(...)``, ``w.mul_(2)``) and the variable under an
    attribute or item it assigns or deletes (``d['k'] = ...``, ``m.scale = ...``)."""
    found: set[str] = set()
    for node, later, _ in _walk(stmt):
        if later:
            continue
        target: ast.expr | None = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            target = node.func.value
        elif isinstance(node, (ast.Attribute, ast.Subscript)) \
                and isinstance(node.ctx, (ast.Store, ast.Del)):
            target = node.value
        name = root_name(target) if target is not None else None
        if name is not None:
            found.add(name)
    return found


def plainly_assigned(stmt: ast.stmt) -> set[str]:
    """Names ``stmt`` always gives a new value without reading it first:
    ``y = ...``, ``a, b = ...``, ``y: T = ...`` (not ``y += ...``, not inside an if)."""
    if isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        targets = [stmt.target]
    else:
        return set()
    found: set[str] = set()
    while targets:
        target = targets.pop()
        if isinstance(target, ast.Name):
            found.add(target.id)
        elif isinstance(target, (ast.Tuple, ast.List)):
            targets.extend(target.elts)
        elif isinstance(target, ast.Starred):
            targets.append(target.value)
    return found


def every_name(tree: ast.AST) -> set[str]:
    """Every identifier the program spells as a variable, parameter, def, class, import
    or global: a name Descend adds must be none of these."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.arg):
            found.add(node.arg)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            found.update(node.names)
        else:
            found |= _declared(node)
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found |= {alias.name.partition(".")[0] for alias in node.names}
    return found


def fresh_name(wanted: str, taken: set[str]) -> str:
    """``wanted``, or ``wanted_2``, ``wanted_3``... the first one not in ``taken`` (which
    it joins): a name a derived program adds never shadows one of the learner's."""
    name, number = wanted, 1
    while name in taken:
        number += 1
        name = f"{wanted}_{number}"
    taken.add(name)
    return name


def declared_global(tree: ast.AST) -> dict[str, ast.stmt]:
    """Names some def declares ``global`` (so calling it may assign them), with where."""
    found: dict[str, ast.stmt] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            for name in node.names:
                found.setdefault(name, node)
    return found


def backward_call(tree: ast.AST) -> ast.Call | None:
    """The first ``something.backward(...)`` or ``backward(...)`` call, if any."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "backward")
                or (isinstance(node.func, ast.Name) and node.func.id == "backward")):
            return node
    return None


def optimizer_use(tree: ast.AST) -> ast.AST | None:
    """The first place the program reaches ``torch.optim`` (``torch.optim.SGD``,
    ``import torch.optim as optim``, ``from torch import optim``), if any."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "optim":
            return node
        if isinstance(node, ast.Name) and node.id == "optim":
            return node
        if isinstance(node, ast.Import) and any(
                "optim" in alias.name.split(".") for alias in node.names):
            return node
        if isinstance(node, ast.ImportFrom) and (
                "optim" in (node.module or "").split(".")
                or any(alias.name == "optim" for alias in node.names)):
            return node
    return None


def stray_jump(stmt: ast.stmt) -> ast.stmt | None:
    """A ``break`` or ``continue`` in ``stmt`` that belongs to no loop of its own: inside
    a loop Descend writes around it, it would stop or skip the training."""
    stack: list[ast.AST] = [stmt]
    while stack:
        current = stack.pop()
        if isinstance(current, (ast.Break, ast.Continue)):
            return current  # type: ignore[return-value]
        if isinstance(current, (*_LOOPS, *_FUNCTIONS, ast.ClassDef, ast.Lambda)):
            if isinstance(current, _LOOPS):
                stack.extend(current.orelse)  # a loop's else: is outside that loop
            continue
        stack.extend(ast.iter_child_nodes(current))
    return None


def string_lines(stmt: ast.stmt) -> set[int]:
    """Source lines (1-based) that begin inside a string literal of ``stmt`` (the second
    and later lines of a triple-quoted string): indenting them would change the text."""
    found: set[int] = set()
    for node in ast.walk(stmt):
        if isinstance(node, (ast.Constant, ast.JoinedStr)) and node.end_lineno \
                and node.end_lineno > node.lineno:
            found.update(range(node.lineno + 1, node.end_lineno + 1))
    return found


def start_of(stmt: ast.stmt) -> tuple[int, int]:
    """Where a statement's text begins (line 1-based, byte column): at its first
    decorator's line for a decorated def or class."""
    decorators = getattr(stmt, "decorator_list", None)
    if decorators:
        return min(d.lineno for d in decorators), 0
    return stmt.lineno, stmt.col_offset
