"""Check a program before anything runs: plain text, Python syntax, then the allow-list.

The checker is the first half of the security boundary (the interpreter, checking each
value's kind as it runs, is the second). It walks the ``ast`` with an explicit stack for
expressions, allows only the node kinds Python programs about autograd need, resolves
every module name and dotted path statically against :mod:`engine.language.tables`, and
refuses anything else with a sentence a learner understands and the line and column it
is at, every problem of the program at once (one per statement). Modules, torch's
functions and Python's builtins can be called but never become values; attribute names
come from the tables (no underscores but autograd's ``_saved_*``); names a program reads
must be bound somewhere in it, be an input, or be part of the language.

Its result, :class:`CheckedProgram`, carries the resolution of each call and dotted name,
so the interpreter never looks anything up by the program's text.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from engine.errors import ProgramError, ProgramRefused, refuse
from engine.language import parsing
from engine.language import tables as L
from engine.language.values import SAVED_NAME, TableFunction
from engine.limits import Limits

# Statements and expressions refused outright, with what to write instead.
_REFUSED_STATEMENTS: dict[type, str] = {
    ast.AsyncFunctionDef: "async functions are not available here: use def",
    ast.AsyncFor: "async loops are not available here: use for",
    ast.AsyncWith: "async with is not available here: use with",
}
if hasattr(ast, "TryStar"):
    _REFUSED_STATEMENTS[ast.TryStar] = "except* is not available here: use except"
_REFUSED_EXPRESSIONS: dict[type, str] = {
    ast.Await: "`await` is not available here",
    ast.Yield: "`yield` (generators) is not available here: build a list and return it",
    ast.YieldFrom: "`yield from` is not available here: build a list and return it",
}
_SHIFTS = (ast.LShift, ast.RShift)


@dataclass(frozen=True)
class Callee:
    """What a call node calls, resolved from the tables (never from the program's text).

    ``kind``: "function" (a table entry), "method" (on a value, by its kind at run time),
    "print", "builtin" (Python's, engine.running.builtins), "exception" (building one),
    "user" (a top-level def with plain parameters, never reassigned), "name" (a name
    whose value decides at run time: a variable holding the program's function, else
    a builtin), "grad_mode" (``with``/decorator), "value" (any other callee expression).
    """

    kind: str
    function: L.Function | None = None
    name: str = ""


@dataclass
class UserFunction:
    """A top-level ``def`` with plain positional parameters (the derivative by hand and
    the explanations read these)."""

    name: str
    params: list[str]
    body: list[ast.stmt]
    node: ast.FunctionDef


@dataclass
class CheckedProgram:
    """A program that passed every check, with what each call and dotted name resolves to."""

    source: str
    tree: ast.Module
    callees: dict[int, Callee] = field(default_factory=dict)
    constants: dict[int, Any] = field(default_factory=dict)
    functions: dict[str, UserFunction] = field(default_factory=dict)
    # id(FunctionDef or Lambda) -> the names its body binds (Python's locals)
    local_names: dict[int, frozenset[str]] = field(default_factory=dict)
    global_names: dict[int, frozenset[str]] = field(default_factory=dict)
    nonlocal_names: dict[int, frozenset[str]] = field(default_factory=dict)
    decorators: dict[int, str] = field(default_factory=dict)  # id(def) -> grad mode name
    types: dict[int, Any] = field(default_factory=dict)  # id(node) -> type (except, isinstance)
    aliases: dict[str, str] = field(default_factory=dict)  # imported name -> dotted path
    # id(ClassDef) -> what it derives from: "plain", "module", "function", or the name of
    # another of the program's classes (looked up when the class statement runs)
    class_bases: dict[int, str] = field(default_factory=dict)
    static_methods: set[int] = field(default_factory=set)  # id(def) marked @staticmethod
    type_names: set[int] = field(default_factory=set)  # id(x.__class__.__name__) nodes
    # id(expression) -> (names it mentions, calls autograd's API): filled by the
    # interpreter the first time a line runs (engine.running.interpreter._line_facts)
    line_facts: dict[int, tuple[frozenset[str], bool]] = field(default_factory=dict)

    def callee(self, node: ast.Call) -> Callee:
        return self.callees[id(node)]


def check_text(source: str, limits: Limits) -> None:
    """Refuse text that is too long, too deeply bracketed, or not plain ASCII outside
    comments (look-alike letters such as ``＿`` normalise to ``_`` inside Python)."""
    if not isinstance(source, str):
        raise ProgramRefused(ProgramError("The program must be text.", "refused"))
    if len(source) > limits.max_source_chars:
        raise ProgramRefused(ProgramError(
            f"The program is {len(source):,} characters long; the limit is "
            f"{limits.max_source_chars:,}. Programs here are small experiments.", "limit"))
    if "\x00" in source:
        line = source[: source.index("\x00")].count("\n") + 1
        raise ProgramRefused(ProgramError(
            "The program contains a NUL character, which is not allowed.", "refused", line, 1))
    depth = 0
    for index, char in enumerate(source):
        if char in "([{":
            depth += 1
            if depth > limits.max_bracket_depth:
                line, col = _place(source, index)
                raise ProgramRefused(ProgramError(
                    f"Brackets are nested more than {limits.max_bracket_depth} deep.",
                    "limit", line, col))
        elif char in ")]}":
            depth = max(0, depth - 1)
    if source.isascii():
        return
    for line_no, col, char in _non_ascii_outside_comments(source):
        raise ProgramRefused(ProgramError(
            f"The character {char!r} (U+{ord(char):04X}) is not allowed: programs use plain "
            "ASCII letters, digits and symbols (look-alike letters can hide other names). "
            "Comments may use any characters.", "refused", line_no, col))


def _place(source: str, index: int) -> tuple[int, int]:
    line = source.count("\n", 0, index) + 1
    return line, index - (source.rfind("\n", 0, index) + 1) + 1


def _non_ascii_outside_comments(source: str) -> list[tuple[int, int, str]]:
    """Non-ASCII characters that are not inside a ``#`` comment (found with tokenize)."""
    comment_spans: list[tuple[int, int, int]] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                comment_spans.append((tok.start[0], tok.start[1], tok.end[1]))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass  # a broken program: every non-ASCII character is reported as is
    found = []
    for line_no, line in enumerate(source.splitlines(), start=1):
        for col, char in enumerate(line):
            if char.isascii():
                continue
            if any(ln == line_no and a <= col < b for ln, a, b in comment_spans):
                continue
            found.append((line_no, col + 1, char))
    return found


def parse(source: str, limits: Limits) -> ast.Module:
    """``ast.parse`` after the text checks; any parser failure becomes a syntax error."""
    check_text(source, limits)
    try:
        return parsing.parse(source, mode="exec")
    except SyntaxError as exc:
        message = exc.msg[:1].upper() + exc.msg[1:] if exc.msg else "Invalid syntax"
        raise ProgramRefused(ProgramError(
            f"This is not valid Python: {message}.", "syntax", exc.lineno,
            exc.offset)) from None
    except (RecursionError, MemoryError, ValueError) as exc:
        raise ProgramRefused(ProgramError(
            f"The program is too complex to read ({type(exc).__name__}).", "limit")) from None


def check_program(source: str, limits: Limits, known_names: set[str] | None = None,
                  ) -> CheckedProgram:
    """Parse and check ``source``; ``known_names`` are the inputs defined before it runs.

    Raises :class:`ProgramRefused` with the first problem found, in source order, and
    the others (one per statement) in its error's ``more``.
    """
    return _checked(source, limits, frozenset(known_names or ()))


@lru_cache(maxsize=256)
def _checked(source: str, limits: Limits, known_names: frozenset[str]) -> CheckedProgram:
    """Cached: the same text is checked again for every run of it (a curve runs it twice,
    every student's new number runs it again), and a CheckedProgram is only ever read.
    Refusals raise, so they are not cached."""
    tree = parse(source, limits)
    checker = _Checker(source, tree, limits, set(known_names))
    try:
        checker.run()
    except _TooMany:
        first, *more = checker.problems
        raise ProgramRefused(ProgramError(first.message, first.kind, first.line, first.col,
                                          tuple(more))) from None
    return checker.program


MAX_PROBLEMS = 12  # a program with many problems gets this many at once


class _Checker:
    """One pass over the tree; see the module docstring. Each statement is checked on
    its own, so every problem (one per statement) is reported at once."""

    def __init__(self, source: str, tree: ast.Module, limits: Limits,
                 known: set[str]) -> None:
        self.limits = limits
        self.program = CheckedProgram(source, tree)
        self.known = set(known)
        self.bound = _bound_names(tree) | self.known
        self.nodes = 0
        self.statements = 0
        self.problems: list[ProgramError] = []
        self.class_names = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
        # attribute names the program gives values to (``self.fc1 = ...``) or defines as
        # methods: its own objects' attributes, readable wherever the tables' are
        self.own_attributes = _own_attribute_names(tree)
        self.method_depth = 0  # inside a method of a class: super() is available

    # -- statements ------------------------------------------------------------------
    def run(self) -> None:
        body = self.program.tree.body
        self._collect_imports(body)
        self._collect_functions(body)
        self._block(body, in_function=False, in_loop=False, depth=1)
        if self.problems:
            first, *more = self.problems
            raise ProgramRefused(ProgramError(first.message, first.kind, first.line,
                                              first.col, tuple(more)))

    def _block(self, body: list[ast.stmt], in_function: bool, in_loop: bool,
               depth: int) -> None:
        if depth > self.limits.max_depth:
            self._problem(refuse("Blocks are nested too deeply.", body[0] if body else None,
                                 "limit"))
            return
        for stmt in body:
            self.statements += 1
            if self.statements > self.limits.max_statements:
                self._problem(refuse(f"The program has more than {self.limits.max_statements}"
                                     " statements; keep experiments small.", stmt, "limit"))
                raise _TooMany
            try:
                self._statement(stmt, in_function, in_loop, depth)
            except ProgramRefused as refusal:
                self._problem(refusal)

    def _problem(self, refusal: ProgramRefused) -> None:
        self.problems.append(refusal.error)
        if len(self.problems) >= MAX_PROBLEMS or refusal.error.kind == "limit":
            raise _TooMany

    def _statement(self, stmt: ast.stmt, in_function: bool, in_loop: bool,
                   depth: int) -> None:
        if type(stmt) in _REFUSED_STATEMENTS:
            message = _REFUSED_STATEMENTS[type(stmt)]
            raise refuse(message[0].upper() + message[1:] + ".", stmt)
        inner = {"in_function": in_function, "in_loop": in_loop, "depth": depth + 1}
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            self._import(stmt)
        elif isinstance(stmt, ast.Assign):
            self._expression(stmt.value)
            for target in stmt.targets:
                self._target(target)
        elif isinstance(stmt, ast.AugAssign):
            if isinstance(stmt.op, _SHIFTS):
                raise refuse("The shift operators << and >> are not available here.", stmt)
            self._target(stmt.target)
            self._expression(stmt.value)
        elif isinstance(stmt, ast.AnnAssign):
            self._target(stmt.target)
            if stmt.value is not None:
                self._expression(stmt.value)
        elif isinstance(stmt, ast.Expr):
            self._expression(stmt.value)
        elif isinstance(stmt, (ast.Pass, ast.Break, ast.Continue)):
            if not isinstance(stmt, ast.Pass) and not in_loop:
                word = "break" if isinstance(stmt, ast.Break) else "continue"
                raise refuse(f"`{word}` can only be used inside a for or while loop.", stmt)
        elif isinstance(stmt, ast.For):
            self._expression(stmt.iter)
            self._target(stmt.target)
            self._block(stmt.body, in_function, True, depth + 1)
            self._block(stmt.orelse, **inner)
        elif isinstance(stmt, ast.While):
            self._expression(stmt.test)
            self._block(stmt.body, in_function, True, depth + 1)
            self._block(stmt.orelse, **inner)
        elif isinstance(stmt, ast.If):
            self._expression(stmt.test)
            self._block(stmt.body, **inner)
            self._block(stmt.orelse, **inner)
        elif isinstance(stmt, ast.With):
            for item in stmt.items:
                self._context(item)
            self._block(stmt.body, **inner)
        elif isinstance(stmt, ast.Try):
            self._block(stmt.body, **inner)
            for handler in stmt.handlers:
                if handler.type is not None:
                    self._exception_type(handler.type)
                if handler.name is not None:
                    self._check_bindable(handler.name, handler)
                self._block(handler.body, **inner)
            self._block(stmt.orelse, **inner)
            self._block(stmt.finalbody, **inner)
        elif isinstance(stmt, ast.Raise):
            bare_type = isinstance(stmt.exc, ast.Name) and stmt.exc.id in L.EXCEPTIONS \
                and stmt.exc.id not in self.bound  # raise NotImplementedError
            if stmt.exc is not None and not bare_type:
                self._expression(stmt.exc)
            if stmt.cause is not None:
                self._expression(stmt.cause)
        elif isinstance(stmt, ast.Assert):
            self._expression(stmt.test)
            if stmt.msg is not None:
                self._expression(stmt.msg)
        elif isinstance(stmt, ast.Delete):
            for target in stmt.targets:
                if isinstance(target, ast.Attribute):
                    raise refuse("Deleting an attribute is not available here.", target)
                self._target(target)
        elif isinstance(stmt, ast.FunctionDef):
            self._def(stmt, depth)
        elif isinstance(stmt, ast.ClassDef):
            if in_function or depth > 1:
                raise refuse("A class can only be defined at the top of the program, not "
                             "inside a def, a loop or an if.", stmt)
            self._class(stmt, depth)
        elif isinstance(stmt, ast.Return):
            if not in_function:
                raise refuse("`return` can only be used inside a def.", stmt)
            if stmt.value is not None:
                self._expression(stmt.value)
        elif isinstance(stmt, (ast.Global, ast.Nonlocal)):
            if not in_function:
                raise refuse(f"`{type(stmt).__name__.lower()}` can only be used inside a "
                             "def.", stmt)
            for name in stmt.names:
                self._check_bindable(name, stmt)
        else:
            raise refuse(f"`{type(stmt).__name__}` statements are not available here.", stmt)

    def _collect_imports(self, body: list[ast.stmt]) -> None:
        """Names bound by imports (anywhere), resolved before any use is checked."""
        assigned = _assigned_names(self.program.tree)
        for stmt in ast.walk(ast.Module(body=body, type_ignores=[])):
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                for binding, dotted in _import_bindings(stmt):
                    if dotted is not None and binding not in assigned:
                        self.program.aliases[binding] = dotted

    def _collect_functions(self, body: list[ast.stmt]) -> None:
        """Top-level defs with plain positional parameters, never reassigned: the
        derivative by hand and the explanations follow calls into these."""
        assigned = _assigned_names(self.program.tree)
        for stmt in body:
            if isinstance(stmt, ast.FunctionDef) and stmt.name not in assigned:
                args = stmt.args
                if not (args.vararg or args.kwarg or args.kwonlyargs or args.defaults
                        or args.posonlyargs or stmt.decorator_list):
                    self.program.functions[stmt.name] = UserFunction(
                        stmt.name, [a.arg for a in args.args], _without_docstring(stmt.body),
                        stmt)

    def _import(self, stmt: ast.Import | ast.ImportFrom) -> None:
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
            return
        for binding, dotted in _import_bindings(stmt):
            if dotted is not None:
                self._check_bindable(binding, stmt, module=True)
                continue
            module = stmt.module if isinstance(stmt, ast.ImportFrom) else binding
            full = (f"{stmt.module}.{binding}" if isinstance(stmt, ast.ImportFrom)
                    else next(a.name for a in stmt.names if (a.asname or a.name) == binding))
            hint = next((h for m, h in L.MISSING_MODULES.items()
                         if full == m or full.startswith(m + ".") or module == m
                         or (module or "").startswith(m + ".")), None)
            raise refuse(f"`import {full}` is not available: "
                         + (hint or "programs may import torch, math, torch.nn.functional, "
                            "torch.autograd and torch.func (torch, math and F are ready "
                            "without importing)") + ".", stmt)

    def _target(self, target: ast.expr) -> None:
        """An assignment (or for, or del) target: names, unpacking, attributes, items."""
        stack: list[ast.expr] = [target]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Name):
                self._check_bindable(node.id, node)
            elif isinstance(node, (ast.Tuple, ast.List)):
                stack.extend(reversed(node.elts))
            elif isinstance(node, ast.Starred):
                stack.append(node.value)  # type: ignore[arg-type]
            elif isinstance(node, ast.Subscript):
                self._expression(node.value)
                self._expression(node.slice)
            elif isinstance(node, ast.Attribute):
                # what may be set depends on the object (a tensor's .grad/.data/
                # .requires_grad, the program's own objects' attributes): decided when
                # it runs (engine.running.attributes.set_attribute)
                if node.attr.startswith("_"):
                    raise refuse(_underscore_message(f"`.{node.attr}`", node.attr),
                                 _attribute_place(node))
                self._expression(node.value)
            else:
                raise refuse("Only names, tuples of names, x[...] and attributes (x.grad, "
                             "self.fc1) can be assigned to.", node)

    def _check_bindable(self, name: str, node: object, module: bool = False) -> None:
        if name.startswith("__"):
            raise refuse(_underscore_message(f"`{name}`", name), node)
        if name in L.RESERVED and not module:
            raise refuse(f"`{name}` is part of the language and cannot be reassigned; "
                         "pick another variable name.", node)

    def _context(self, item: ast.withitem) -> None:
        expr = item.context_expr
        dotted = self._dotted_call(expr)
        if item.optional_vars is not None:
            raise refuse("`with ... as name` is not available here: write `with "
                         "torch.no_grad():`.", item.optional_vars)
        if dotted in L.GRAD_MODES and (not isinstance(expr, ast.Call) or not (
                expr.args or expr.keywords)):
            self.program.callees[id(expr)] = Callee("grad_mode", name=dotted)
            return
        if dotted in L.CONTEXT_CALLS and isinstance(expr, ast.Call):
            self.program.callees[id(expr)] = Callee("grad_mode", name=dotted)
            for arg in [*expr.args, *(k.value for k in expr.keywords)]:
                self._expression(arg)
            return
        raise refuse("Only the grad modes can be used with `with`: torch.no_grad(), "
                     "torch.enable_grad(), torch.set_grad_enabled(flag), "
                     "torch.inference_mode(), torch.autograd.set_detect_anomaly(True).", expr)

    def _dotted_call(self, expr: ast.expr) -> str | None:
        func = expr.func if isinstance(expr, ast.Call) else expr
        dotted = _dotted(func)
        return None if dotted is None else self._expand(dotted)

    def _expand(self, dotted: str) -> str:
        """``AF.jacobian`` -> ``torch.autograd.functional.jacobian`` (import aliases)."""
        root, _, rest = dotted.partition(".")
        if root in self.program.aliases and root not in self.known:
            return self.program.aliases[root] + ("." + rest if rest else "")
        return dotted

    def _def(self, stmt: ast.FunctionDef, depth: int, method: bool = False) -> None:
        if not (method and (stmt.name == "__init__" or stmt.name in _PROTOCOL)):
            self._check_bindable(stmt.name, stmt)
        for decorator in stmt.decorator_list:
            if method and isinstance(decorator, ast.Name) and decorator.id == "staticmethod":
                self.program.static_methods.add(id(stmt))
                continue
            dotted = self._dotted_call(decorator)
            if dotted not in L.GRAD_MODES:
                raise refuse("The decorators available are @torch.no_grad(), "
                             "@torch.enable_grad() and @torch.inference_mode().", decorator)
            self.program.decorators[id(stmt)] = dotted
        self._arguments(stmt.args, stmt)
        self._function_scope(stmt)
        body = stmt.body
        self.method_depth += method
        try:
            self._block(body, in_function=True, in_loop=False, depth=depth + 1)
        finally:
            self.method_depth -= method

    def _class(self, stmt: ast.ClassDef, depth: int) -> None:
        """``class Net(nn.Module)``, ``class Cube(torch.autograd.Function)`` or a plain
        class: a body of defs (and a docstring), nothing else of Python's class
        machinery (no metaclass, no class attributes, no operator methods)."""
        self._check_bindable(stmt.name, stmt)
        if stmt.decorator_list:
            raise refuse("A class cannot have decorators here.", stmt.decorator_list[0])
        if stmt.keywords:
            raise refuse("Class keywords (metaclass=...) are not available here.",
                         stmt.keywords[0].value)
        if len(stmt.bases) > 1:
            raise refuse("A class here derives from one class only (no multiple "
                         "inheritance).", stmt.bases[1])
        self.program.class_bases[id(stmt)] = self._class_base(stmt)
        for item in stmt.body:
            if isinstance(item, ast.Pass) or (isinstance(item, ast.Expr) and isinstance(
                    item.value, ast.Constant) and isinstance(item.value.value, str)):
                continue
            if not isinstance(item, ast.FunctionDef):
                raise refuse("A class body here holds defs only: give values to "
                             "attributes in __init__ (self.size = 3), not in the class "
                             "body.", item)
            protocol = L.PROTOCOL_METHODS.get(self.program.class_bases[id(stmt)],
                                              frozenset())
            if item.name.startswith("__") and item.name != "__init__" \
                    and item.name not in protocol:
                raise refuse(f"`{item.name}` is one of Python's special methods, which "
                             "classes here cannot define (only __init__): write an "
                             f"ordinary method instead, e.g. def add(self, other).", item)
            try:
                self._def(item, depth, method=True)
            except ProgramRefused as refusal:
                self._problem(refusal)

    def _class_base(self, stmt: ast.ClassDef) -> str:
        if not stmt.bases:
            return "plain"
        base = stmt.bases[0]
        dotted = _dotted(base)
        if isinstance(base, ast.Name) and base.id in self.class_names \
                and base.id != stmt.name:
            return base.id  # another of the program's classes (defined before it runs)
        if dotted == "object":
            return "plain"
        full = self._expand(dotted) if dotted else None
        if full in L.CLASS_BASES:
            return L.CLASS_BASES[full]
        raise refuse("A class here derives from torch.nn.Module, torch.autograd.Function, "
                     "another class of the program, or nothing.", base)

    def _arguments(self, args: ast.arguments, node: ast.AST) -> None:
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs,
                 *([args.vararg] if args.vararg else []), *([args.kwarg] if args.kwarg else [])]
        for arg in every:
            self._check_bindable(arg.arg, arg)
        for default in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
            self._expression(default)

    def _function_scope(self, node: ast.FunctionDef | ast.Lambda) -> None:
        local, globals_, nonlocals = _scope_names(node)
        self.program.local_names[id(node)] = local
        self.program.global_names[id(node)] = globals_
        self.program.nonlocal_names[id(node)] = nonlocals

    def _exception_type(self, node: ast.expr) -> None:
        """``except ValueError`` / ``except (A, B)``: names of Python's exception types."""
        names = node.elts if isinstance(node, ast.Tuple) else [node]
        types = []
        for item in names:
            name = _dotted(item)
            if name not in L.EXCEPTIONS:
                known = ", ".join(sorted(L.EXCEPTIONS)[:6])
                raise refuse(f"`except {name or '...'}` is not available: catch one of "
                             f"Python's exception types ({known}, ...).", item)
            types.append(L.EXCEPTIONS[name])
        self.program.types[id(node)] = tuple(types)

    # -- expressions -----------------------------------------------------------------
    def _expression(self, root: ast.expr) -> None:
        """Check one expression tree iteratively, in source order (children are pushed in
        reverse, so the first problem reported is the leftmost). Each entry carries the
        node, its depth and its role: "value", "call" (the callee of a call), "type" (what
        isinstance checks against), or an attribute's own name, checked after its
        receiver ("method name", "attribute name")."""
        stack: list[tuple[ast.AST, int, str]] = [(root, 1, "value")]
        while stack:
            node, depth, role = stack.pop()
            if role in _NAME_CHECKS:
                self._attribute_name(node, role)  # type: ignore[arg-type]
                continue
            self.nodes += 1
            if self.nodes > self.limits.max_nodes:
                raise refuse("The program is too large to run here.", node, "limit")
            if depth > self.limits.max_depth:
                raise refuse("This expression is nested too deeply.", node, "limit")
            for child, child_role in reversed(self._expression_node(node, role)):
                stack.append((child, depth + 1, child_role))

    def _expression_node(self, node: ast.AST, role: str) -> list[tuple[ast.AST, str]]:
        """Check ``node`` itself and return its children with their roles."""
        if type(node) in _REFUSED_EXPRESSIONS:
            message = _REFUSED_EXPRESSIONS[type(node)]
            raise refuse(message[0].upper() + message[1:] + ".", node)
        if isinstance(node, ast.Constant):
            self._constant(node)
            return []
        if isinstance(node, ast.Name):
            self._name(node, role)
            return []
        if isinstance(node, ast.Attribute):
            return self._attribute(node, role)
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, _SHIFTS):
                raise refuse("The shift operators << and >> are not available here.", node)
            return [(node.left, "value"), (node.right, "value")]
        if isinstance(node, ast.UnaryOp):
            return [(node.operand, "value")]
        if isinstance(node, (ast.BoolOp, ast.List, ast.Set)):
            return [(e, "value") for e in getattr(node, "values", None) or node.elts]
        if isinstance(node, ast.Tuple):
            return [(e, role if role == "type" else "value") for e in node.elts]
        if isinstance(node, ast.Compare):
            return [(node.left, "value"), *((c, "value") for c in node.comparators)]
        if isinstance(node, ast.IfExp):
            return [(node.test, "value"), (node.body, "value"), (node.orelse, "value")]
        if isinstance(node, ast.Subscript):
            return [(node.value, "value"), (node.slice, "value")]
        if isinstance(node, ast.Slice):
            return [(part, "value") for part in (node.lower, node.upper, node.step) if part]
        if isinstance(node, ast.Dict):
            return [(part, "value") for pair in zip(node.keys, node.values) for part in pair
                    if part is not None]
        if isinstance(node, ast.Starred):
            return [(node.value, "value")]
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            return self._comprehension(node)
        if isinstance(node, ast.Lambda):
            self._arguments(node.args, node)
            self._function_scope(node)
            return [(node.body, "value")]
        if isinstance(node, ast.JoinedStr):
            return [(v, "value") for v in node.values]
        if isinstance(node, ast.FormattedValue):
            return [(node.value, "value")] + ([(node.format_spec, "value")]
                                              if node.format_spec is not None else [])
        if isinstance(node, ast.NamedExpr):
            self._check_bindable(node.target.id, node.target)
            return [(node.value, "value")]
        raise refuse(f"`{type(node).__name__}` expressions are not available here.", node)

    def _comprehension(self, node: ast.AST) -> list[tuple[ast.AST, str]]:
        children: list[tuple[ast.AST, str]] = []
        for generator in node.generators:  # type: ignore[attr-defined]
            if generator.is_async:
                raise refuse("async comprehensions are not available here.", node)
            self._target(generator.target)
            children.append((generator.iter, "value"))
            children.extend((test, "value") for test in generator.ifs)
        if isinstance(node, ast.DictComp):
            children += [(node.key, "value"), (node.value, "value")]
        else:
            children.append((node.elt, "value"))  # type: ignore[attr-defined]
        return children

    def _constant(self, node: ast.Constant) -> None:
        value = node.value
        if value is None or value is Ellipsis or isinstance(value, (bool, str)):
            return
        if isinstance(value, (int, float)):
            if abs(value) > self.limits.max_constant:
                raise refuse(f"The number {value:g} is too large: numbers in programs are "
                             f"limited to ±{self.limits.max_constant:g}.", node, "limit")
            return
        raise refuse(f"Values of type {type(value).__name__} are not available here.", node)

    def _name(self, node: ast.Name, role: str) -> None:
        name = node.id
        if name == "super" and role == "call" and "super" not in self.bound:
            if not self.method_depth:
                raise refuse("super() can only be used inside a method of a class, as in "
                             "super().__init__().", node)
            return
        if name in _PYTHON_BUILTINS and name not in self.bound \
                and name not in L.BUILTIN_NAMES:
            raise refuse(_builtin_message(name), node)
        if name.startswith("__"):  # Python's machinery; `_` and `_x` are plain variables
            raise refuse(_underscore_message(f"`{name}`", name), node)
        if name in self.bound and name not in self.program.aliases:
            return  # a variable (or the program's function): its value decides
        if role == "type" and name in L.TYPES:
            self.program.types[id(node)] = L.TYPES[name]
            return
        if role == "call" and (name in L.BUILTIN_NAMES or name in L.BARE_FUNCTIONS
                               or name in L.EXCEPTIONS or name in self.program.aliases):
            return
        if name in L.MODULE_PREFIXES or self.program.aliases.get(name) in L.MODULE_ALIASES:
            raise refuse(f"`{name}` is a module: use it only to call one of its functions, "
                         f"as in {name}.sin(x); it cannot be stored or passed around.", node)
        if name in L.BUILTIN_NAMES or name in L.BARE_FUNCTIONS or name in L.EXCEPTIONS \
                or name in self.program.aliases:
            raise refuse(f"`{name}` is a function: it can be called, as in {name}(x), but "
                         "not stored or passed around (write a lambda: "
                         f"lambda v: {name}(v)).", node)
        if name in _PYTHON_BUILTINS:
            raise refuse(_builtin_message(name), node)
        raise refuse(f"`{name}` is used but never given a value (or is not available "
                     "here).", node)

    def _attribute(self, node: ast.Attribute, role: str) -> list[tuple[ast.AST, str]]:
        owner = _type_name_of(node)
        if owner is not None and role != "call":
            # x.__class__.__name__ / type(x).__name__: the name of x's type, as text;
            # the class itself never becomes a value
            self.program.type_names.add(id(node))
            return [(owner, "value")]
        dotted = _dotted(node)
        root = dotted.split(".")[0] if dotted else None
        if root is not None and (root not in self.bound or root in self.program.aliases) \
                and (root in L.MODULE_PREFIXES or root in self.program.aliases):
            return self._module_attribute(node, self._expand(dotted), role)  # type: ignore[arg-type]
        # An attribute of a value: its receiver is checked first, then its own name, so
        # the first problem in the order Python evaluates is the one reported: in
        # `open(...).read()` it is `open`, not `.read`.
        return [(node.value, "value"),
                (node, "method name" if role == "call" else "attribute name")]

    def _module_attribute(self, node: ast.Attribute, dotted: str,
                          role: str) -> list[tuple[ast.AST, str]]:
        if node.attr.startswith("_"):
            raise refuse(_underscore_message(f"`.{node.attr}`", node.attr),
                         _attribute_place(node))
        missing = next((h for m, h in L.MISSING_MODULES.items()
                        if dotted.startswith(m + ".")
                        and not dotted.startswith("torch.nn.functional.")), None)
        if missing is not None:
            raise refuse(f"`{dotted}` is not available: {missing}.", node)
        if role == "call":
            function = _function_of(dotted)
            if function is not None:
                return []
        if role == "type" and dotted in L.TYPES:
            self.program.types[id(node)] = L.TYPES[dotted]
            return []
        if _function_of(dotted) is not None:
            # a function of the tables as a value (loss_func = F.cross_entropy,
            # type(m) == nn.Linear): the interpreter calls it as when called by name
            self.program.constants[id(node)] = TableFunction(_function_of(dotted))
            return []
        resolved = L.resolve_dotted(dotted)
        if resolved is None and _function_of(dotted) is not None:
            resolved = ("function", _function_of(dotted))
        if resolved is None:
            raise refuse(f"`{dotted}` is not available here: programs can use the torch "
                         "math listed in the language table only.", node)
        kind, value = resolved
        if kind == "constant":
            self.program.constants[id(node)] = value
            return []
        if kind == "grad_mode":
            raise refuse(f"`{dotted}()` is available as `with {dotted}():` or as a "
                         "decorator of a def.", node)
        raise refuse(f"`{dotted}` cannot be used as a value here.", node)

    def _attribute_name(self, node: ast.Attribute, role: str) -> None:
        """A value's attribute: a method when called, else an attribute, by name."""
        where = _attribute_place(node)
        if node.attr == "__init__" and role == "method name" and _is_super_call(node.value):
            return  # super().__init__(): the parent's initialiser, the one dunder call
        if node.attr.startswith("_") and not SAVED_NAME.match(node.attr):
            raise refuse(_underscore_message(f"`.{node.attr}`", node.attr), where)
        if node.attr in self.own_attributes:
            return  # the program's own objects' attribute or method (its value decides)
        if role == "method name":
            if node.attr in L.REFUSED_METHODS:
                raise refuse(f"`.{node.attr}()` is not available: "
                             f"{L.REFUSED_METHODS[node.attr]}.", where)
            if node.attr not in L.TENSOR_METHODS and node.attr not in L.METHOD_NAMES:
                raise refuse(f"The method `.{node.attr}()` is not available here.", where)
        elif node.attr not in L.TENSOR_ATTRIBUTES and node.attr not in L.ATTRIBUTE_NAMES \
                and not SAVED_NAME.match(node.attr):
            hint = " (call it: add parentheses)" if node.attr in L.TENSOR_METHODS else ""
            raise refuse(f"The attribute `.{node.attr}` is not available here{hint}.", where)

    def _call(self, node: ast.Call) -> list[tuple[ast.AST, str]]:
        func = node.func
        children: list[tuple[ast.AST, str]] = []
        dotted = _dotted(func)
        root = dotted.split(".")[0] if dotted else None
        if isinstance(func, ast.Name):
            callee = self._name_callee(func.id)
            children.append((func, "call"))
        elif root is not None and (root not in self.bound or root in self.program.aliases) \
                and (root in L.MODULE_PREFIXES or root in self.program.aliases):
            full = self._expand(dotted)  # type: ignore[arg-type]
            children.append((func, "call"))
            function = _function_of(full)
            callee = Callee("function", function, full) if function is not None \
                else Callee("function", name=full)  # _module_attribute refuses it
        elif isinstance(func, ast.Attribute):
            children.append((func, "call"))
            callee = Callee("method", name=func.attr)
        else:
            children.append((func, "value"))
            callee = Callee("value")
        self.program.callees[id(node)] = callee
        if callee.kind == "builtin" and callee.name == "isinstance" and len(node.args) == 2:
            children += [(node.args[0], "value"), (node.args[1], "type")]
        else:
            children.extend((arg, "value") for arg in node.args)
        for keyword in node.keywords:
            children.extend(self._keyword(keyword, callee))
        return children

    def _name_callee(self, name: str) -> Callee:
        if name in self.bound and name not in self.program.aliases:
            if name in self.program.functions:
                return Callee("user", name=name)
            return Callee("name", name=name)
        if name in self.program.aliases:
            function = _function_of(self.program.aliases[name])
            return Callee("function", function, self.program.aliases[name])
        if name == "print":
            return Callee("print", name="print")
        if name == "super":
            return Callee("super", name="super")
        if name in L.BUILTIN_NAMES:
            return Callee("builtin", name=name)
        if name in L.BARE_FUNCTIONS:
            return Callee("function", L.BARE_FUNCTIONS[name], name)
        if name in L.EXCEPTIONS:
            return Callee("exception", name=name)
        return Callee("name", name=name)  # _name refuses it with the reason

    def _keyword(self, keyword: ast.keyword, callee: Callee) -> list[tuple[ast.AST, str]]:
        if keyword.arg is not None and keyword.arg.startswith("_"):
            raise refuse(f"Keyword names starting with `_` are not available "
                         f"(`{keyword.arg}=`).", keyword.value)
        if callee.kind in ("function", "method") and keyword.arg is not None:
            if callee.kind == "function" and keyword.arg not in L.KEYWORDS:
                raise refuse(f"The keyword argument `{keyword.arg}=` is not available "
                             "here.", keyword.value)
            if keyword.arg in L.STRING_KEYWORDS and isinstance(keyword.value, ast.Constant) \
                    and isinstance(keyword.value.value, str):
                allowed = L.STRING_KEYWORDS[keyword.arg]
                if keyword.value.value not in allowed:
                    choices = ", ".join(f"'{v}'" for v in sorted(allowed))
                    raise refuse(f"`{keyword.arg}=` must be one of {choices}.",
                                 keyword.value)
        return [(keyword.value, "value")]


class _TooMany(Exception):
    """Enough problems found (or a limit): stop checking and report them."""


def _function_of(dotted: str) -> L.Function | None:
    module, _, name = dotted.rpartition(".")
    if module in L.MODULE_PREFIXES:
        return L.MODULE_PREFIXES[module][1].get(name)
    return None


def _import_bindings(stmt: ast.Import | ast.ImportFrom) -> list[tuple[str, str | None]]:
    """(name bound, the dotted path of the tables it means, or None if not available)."""
    found: list[tuple[str, str | None]] = []
    if isinstance(stmt, ast.ImportFrom):
        module = stmt.module or ""
        for alias in stmt.names:
            full = f"{module}.{alias.name}"
            binding = alias.asname or alias.name
            ok = alias.name != "*" and stmt.level == 0 and (
                full in L.MODULE_ALIASES or full == "torch.nn.functional"
                or _function_of(full) is not None or full in L.GRAD_MODES
                or full in L.CLASS_BASES)
            found.append((binding, ("F" if full == "torch.nn.functional" else full)
                          if ok else None))
        return found
    for alias in stmt.names:
        if alias.asname is None:
            root = alias.name.split(".")[0]
            ok = alias.name in L.MODULE_ALIASES or alias.name == "torch.nn.functional"
            found.append((root, root if ok else None))
        else:
            ok = alias.name in L.MODULE_ALIASES
            target = "F" if alias.name == "torch.nn.functional" else alias.name
            found.append((alias.asname, target if ok or target == "F" else None))
    return found


def _bound_names(tree: ast.AST) -> set[str]:
    """Every name the program binds anywhere (assignment, loop, def, parameter, except,
    import, comprehension): a name read that is in none of these is refused up front."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(b for b, _ in _import_bindings(node))
    return names


def _type_name_of(node: ast.Attribute) -> ast.expr | None:
    """The ``x`` of ``x.__class__.__name__`` or ``type(x).__name__``, else None."""
    if node.attr != "__name__":
        return None
    inner = node.value
    if isinstance(inner, ast.Attribute) and inner.attr == "__class__":
        return inner.value
    if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Name) \
            and inner.func.id == "type" and len(inner.args) == 1 and not inner.keywords:
        return inner.args[0]
    return None


def _is_super_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
        and node.func.id == "super"


def _own_attribute_names(tree: ast.AST) -> frozenset[str]:
    """Attribute names the program assigns (``self.fc1 = ...``, ``ctx.constant = c``)
    and its classes' method names: the attributes of its own objects. Names starting
    with ``_`` are never among them (the checker refuses those where they are written)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            names.add(node.attr)
        elif isinstance(node, ast.ClassDef):
            names.update(item.name for item in node.body if isinstance(item, ast.FunctionDef))
    return frozenset(n for n in names if not n.startswith("_"))


def _assigned_names(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree)
            if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))}


def _scope_names(node: ast.FunctionDef | ast.Lambda,
                 ) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """Python's rule: the names a function's body binds are its locals (minus those it
    declares global or nonlocal); nested functions and comprehensions keep their own."""
    args = node.args
    local = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs,
                             *([args.vararg] if args.vararg else []),
                             *([args.kwarg] if args.kwarg else [])]}
    declared_global: set[str] = set()
    declared_nonlocal: set[str] = set()
    body = node.body if isinstance(node.body, list) else [node.body]
    stack: list[ast.AST] = list(body)
    while stack:
        current = stack.pop()
        if isinstance(current, ast.FunctionDef):
            local.add(current.name)
            stack.extend(current.decorator_list + current.args.defaults)
            continue
        if isinstance(current, ast.Lambda):
            stack.extend(current.args.defaults)
            continue
        if isinstance(current, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            stack.append(current.generators[0].iter)
            continue
        if isinstance(current, ast.Global):
            declared_global.update(current.names)
        elif isinstance(current, ast.Nonlocal):
            declared_nonlocal.update(current.names)
        elif isinstance(current, ast.Name) and isinstance(current.ctx, (ast.Store, ast.Del)):
            local.add(current.id)
        elif isinstance(current, ast.ExceptHandler) and current.name:
            local.add(current.name)
        elif isinstance(current, (ast.Import, ast.ImportFrom)):
            local.update(b for b, _ in _import_bindings(current))
        stack.extend(ast.iter_child_nodes(current))
    return (frozenset(local - declared_global - declared_nonlocal),
            frozenset(declared_global), frozenset(declared_nonlocal))


def _without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[1:]
    return body


_NAME_CHECKS = frozenset({"method name", "attribute name"})
_PROTOCOL = frozenset().union(*L.PROTOCOL_METHODS.values())

# Python's own functions a program may try, each with why it is refused and what to write
# instead (any other is refused as an unknown name).
_BUILTIN_HINTS: dict[str, str] = {
    "open": "programs cannot read or write files. Type the numbers in instead, e.g. "
            "torch.tensor([1.0, 2.0]), or give them in an input box",
    "__import__": "programs cannot import modules. torch, math and F are ready without "
                  "importing: write torch.sin(x)",
    "eval exec compile": "programs cannot run text as code. Write the expression itself, "
                         "e.g. y = x**2",
    "getattr setattr delattr hasattr vars dir globals locals": "programs cannot look up "
        "names or attributes by text. Write the attribute itself, e.g. x.grad",
    "format chr ord bytes bytearray ascii": "write text with an f-string instead, e.g. "
                                            "print(f'{x:.3f}')",
    "object super issubclass callable id hash memoryview classmethod staticmethod "
    "property input help breakpoint exit quit slice frozenset complex bin hex oct": (
        "programs can use torch math and the Python builtins of the language table "
        "only"),
}
_BUILTIN_HINT = {name: hint for names, hint in _BUILTIN_HINTS.items()
                 for name in names.split()}
_PYTHON_BUILTINS = frozenset(_BUILTIN_HINT)


def _builtin_message(name: str) -> str:
    return f"The function `{name}` is not available here: {_BUILTIN_HINT[name]}."


def _underscore_message(shown: str, name: str) -> str:
    """Why ``_x`` and ``__class__`` are refused: double-underscore names are Python's
    own machinery (the way out of any sandbox), named as such."""
    if name.startswith("__") and name.endswith("__") and len(name) > 4:
        return (f"{shown} is one of Python's internal double-underscore names, which "
                "programs cannot use: they reach into Python itself, not into the math. "
                "Use the tensor attributes and methods of the language table, e.g. "
                "x.shape or x.grad.")
    return f"Names starting with `_` are not available ({shown})."


class _Place:
    """A line and column to report that is not a node's own start."""

    def __init__(self, lineno: int, col_offset: int) -> None:
        self.lineno, self.col_offset = lineno, col_offset


def _attribute_place(node: ast.Attribute) -> object:
    """Where the attribute's name is written (``x.foo`` points at ``foo``, not at ``x``,
    where the node itself starts)."""
    end_line, end_col = getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None)
    if end_line is None or end_col is None or end_col < len(node.attr):
        return node
    return _Place(end_line, end_col - len(node.attr))


def _dotted(node: ast.AST) -> str | None:
    """``torch.nn.functional.relu`` for a chain of attributes on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _op_symbol(op: ast.AST) -> str:
    return {ast.LShift: "<<", ast.RShift: ">>", ast.BitOr: "|", ast.BitXor: "^",
            ast.BitAnd: "&", ast.Invert: "~", ast.Not: "not"}.get(type(op), type(op).__name__)
