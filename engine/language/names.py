"""Which names a program reads from outside (its inputs) and which it assigns.

The Playground offers one input box per name the program reads before (or without)
assigning it, so a learner types ``y = w * x + b`` and gets boxes for w, x and b, and a
name the program assigns itself (``x = torch.tensor(3.0, requires_grad=True)``) never gets
a box it would silently ignore. The detach toggle offers the names the program assigns.

Only ``ast.parse`` runs on the text (it builds a tree and executes nothing); a program
that does not parse has no names here, and the engine reports why when it runs.
"""

from __future__ import annotations

import ast
from functools import lru_cache

from engine.language import parsing
from engine.language.tables import BARE_FUNCTIONS, BUILTIN_NAMES, EXCEPTIONS, RESERVED
from engine.limits import DEFAULT_LIMITS


@lru_cache(maxsize=64)
def _parse(source: str) -> ast.Module | None:
    """The program's tree, or None. Cached per text: the Playground asks on every rerun
    for inputs, assigned names and whether it parses, of a text that rarely changed
    (the trees are only read)."""
    if not isinstance(source, str) or "\x00" in source \
            or len(source) > DEFAULT_LIMITS.max_source_chars:  # the engine refuses it anyway
        return None
    try:
        return parsing.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _stores(node: ast.AST) -> list[str]:
    """Names a statement binds at its own level (not inside a nested def)."""
    if isinstance(node, ast.FunctionDef):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    targets: list[ast.AST] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        targets = [node.target]
    elif isinstance(node, ast.With):
        targets = [item.optional_vars for item in node.items if item.optional_vars]
    elif isinstance(node, ast.For):
        targets = [node.target]
    elif isinstance(node, ast.ExceptHandler):
        return [node.name] if node.name else []
    names: list[str] = []
    for target in targets:
        names += [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
    return names


def _reads(node: ast.AST) -> list[ast.Name]:
    """Loaded names in source order, skipping the bodies of nested defs and names that are
    called (``open(...)`` is a function the language lacks, not an input to type), and
    the names a lambda or a comprehension binds for itself (``lambda g: g * 2``)."""
    found: list[ast.Name] = []
    stack: list[ast.AST] = [node]
    called = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    own: set[str] = set()  # bound by a lambda or comprehension inside this statement
    for inner in ast.walk(node):
        if isinstance(inner, ast.Lambda):
            own.update(a.arg for a in ast.walk(inner.args) if isinstance(a, ast.arg))
        elif isinstance(inner, ast.comprehension):
            own.update(n.id for n in ast.walk(inner.target) if isinstance(n, ast.Name))
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Name) and isinstance(current.ctx, ast.Load) \
                and id(current) not in called and current.id not in own:
            found.append(current)
        children = list(ast.iter_child_nodes(current))
        if isinstance(current, ast.FunctionDef):
            children = current.decorator_list + current.args.defaults
        stack.extend(reversed(children))
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def _statements(body: list[ast.stmt]) -> list[ast.stmt]:
    """Top-level statements in order, with the bodies of blocks (with, for, while, if,
    try) spliced in after their own header."""
    out: list[ast.stmt] = []
    for stmt in body:
        where = {"lineno": stmt.lineno, "col_offset": stmt.col_offset}
        if isinstance(stmt, ast.With):
            out += [ast.With(items=stmt.items, body=[], **where)]
            out += _statements(stmt.body)
        elif isinstance(stmt, ast.For):
            out += [ast.For(target=stmt.target, iter=stmt.iter, body=[], orelse=[], **where)]
            out += _statements(stmt.body) + _statements(stmt.orelse)
        elif isinstance(stmt, (ast.While, ast.If)):
            out += [ast.Expr(value=stmt.test, **where)]
            out += _statements(stmt.body) + _statements(stmt.orelse)
        elif isinstance(stmt, ast.Try):
            out += _statements(stmt.body)
            for handler in stmt.handlers:
                out += [ast.ExceptHandler(type=handler.type, name=handler.name, body=[],
                                          lineno=handler.lineno,
                                          col_offset=handler.col_offset)]
                out += _statements(handler.body)
            out += _statements(stmt.orelse) + _statements(stmt.finalbody)
        else:
            out.append(stmt)
    return out


def program_inputs(source: str) -> list[str]:
    """Names the program reads before assigning them, in order of first use.

    Language names (torch, F, math, sin, print, ...) and the program's own functions are
    not inputs. A def's parameters and locals are its own; a name a def body reads from
    outside counts when the program never assigns it.
    """
    return list(_program_inputs(source))


@lru_cache(maxsize=64)
def _program_inputs(source: str) -> tuple[str, ...]:
    tree = _parse(source)
    if tree is None:
        return ()
    defined: set[str] = set(RESERVED) | BUILTIN_NAMES | set(BARE_FUNCTIONS) | set(EXCEPTIONS)
    inputs: list[str] = []
    all_stores = {name for stmt in ast.walk(tree)
                  if isinstance(stmt, (ast.stmt, ast.ExceptHandler))
                  for name in _stores(stmt)}
    for stmt in _statements(tree.body):
        if isinstance(stmt, ast.FunctionDef):
            local = {a.arg for a in stmt.args.args} | {
                name for inner in ast.walk(stmt) if isinstance(inner, ast.stmt)
                and inner is not stmt for name in _stores(inner)}
            for node in _reads(ast.Module(body=stmt.body, type_ignores=[])):
                if (isinstance(node, ast.Name)
                        and node.id not in local | defined | all_stores
                        and node.id not in inputs):
                    inputs.append(node.id)
        else:
            value_part = stmt.value if isinstance(stmt, ast.AugAssign) else stmt
            for node in _reads(value_part):
                if node.id not in defined and node.id not in inputs:
                    inputs.append(node.id)
            if isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name) \
                    and stmt.target.id not in defined and stmt.target.id not in inputs:
                inputs.append(stmt.target.id)  # x += 1 reads x first
        defined.update(_stores(stmt))
    return tuple(inputs)


def assigned_names(source: str) -> list[str]:
    """Variables the program assigns at top level (or inside ``with``), in order."""
    tree = _parse(source)
    if tree is None:
        return []
    names: list[str] = []
    for stmt in _statements(tree.body):
        if isinstance(stmt, (ast.FunctionDef, ast.Import, ast.ImportFrom)):
            continue
        for name in _stores(stmt):
            if name not in names and name not in RESERVED:
                names.append(name)
    return names


def parses(source: str) -> bool:
    """Whether the text is a Python program at all. While a learner types, a line is
    often half written: the page then keeps the inputs and switches it had."""
    return _parse(source) is not None
