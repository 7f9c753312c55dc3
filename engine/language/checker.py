"""Check a program before anything runs: plain text, Python syntax, then the allow-list.

The checker is the security boundary. It walks the ``ast`` with an explicit stack (no
recursion, so no nesting can overflow it), resolves every name and attribute statically
against the tables in :mod:`engine.language.tables`, and refuses anything else with a sentence a
learner understands and the line and column it is at. What it accepts can only compute
with tensors and numbers: modules and functions can be called but never become values,
text appears only in ``print`` and in a few enumerated keyword values, and there are no
loops, comprehensions, lambdas, imports of other modules or attribute names with
underscores.

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
from engine.language import tables as L
from engine.limits import Limits

# What each kind of AST node is, for the message when it is refused.
_REFUSED_STATEMENTS: dict[type, str] = {
    ast.For: "`for` loops are not available: use tensor operations on whole tensors instead",
    ast.While: "`while` loops are not available: programs run straight through, top to bottom",
    ast.If: "`if` statements are not available: use torch.where(condition, a, b) instead",
    ast.ClassDef: "classes are not available: programs use torch math only",
    ast.Try: "`try` is not available: errors are explained for you below the program",
    ast.Delete: "`del` is not available here",
    ast.Global: "`global` is not available here",
    ast.Nonlocal: "`nonlocal` is not available here",
    ast.Raise: "`raise` is not available here",
    ast.Assert: "`assert` is not available here",
    ast.AsyncFunctionDef: "async functions are not available here",
}
_REFUSED_EXPRESSIONS: dict[type, str] = {
    ast.Lambda: "`lambda` is not available: write the formula directly",
    ast.JoinedStr: "f-strings are not available: print values with print('text', value)",
    ast.ListComp: "list comprehensions are not available: use tensor operations instead",
    ast.SetComp: "set comprehensions are not available here",
    ast.DictComp: "dict comprehensions are not available here",
    ast.GeneratorExp: "generator expressions are not available here",
    ast.Dict: "dictionaries are not available: programs use tensors and numbers",
    ast.Set: "sets are not available: programs use tensors and numbers",
    ast.IfExp: "`a if c else b` is not available: use torch.where(c, a, b) instead",
    ast.BoolOp: "`and` / `or` are not available: use torch.logical_and / torch.logical_or",
    ast.NamedExpr: "`:=` is not available: assign with `=` on its own line",
    ast.Await: "`await` is not available here",
    ast.Yield: "`yield` is not available here",
    ast.YieldFrom: "`yield` is not available here",
    ast.Starred: "`*args` unpacking is not available: pass arguments one by one",
}
_BINARY_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.MatMult, ast.FloorDiv,
               ast.Mod)
_AUG_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div)
_COMPARE_OPS = (ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq)


@dataclass(frozen=True)
class Callee:
    """What a call node calls, resolved from the tables (never from the program's text)."""

    kind: str  # "function" | "method" | "print" | "user" | "grad_mode"
    function: L.Function | None = None
    name: str = ""


@dataclass
class UserFunction:
    """A ``def`` in the program: called by name only, never passed around as a value."""

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
        return ast.parse(source, mode="exec")
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

    Raises :class:`ProgramRefused` with the first problem found, in source order.
    """
    return _checked(source, limits, frozenset(known_names or ()))


@lru_cache(maxsize=256)
def _checked(source: str, limits: Limits, known_names: frozenset[str]) -> CheckedProgram:
    """Cached: the same text is checked again for every run of it (a curve runs it twice,
    every student's new number runs it again), and a CheckedProgram is only ever read.
    Refusals raise, so they are not cached."""
    tree = parse(source, limits)
    checker = _Checker(source, tree, limits, set(known_names))
    checker.run()
    return checker.program


class _Checker:
    """One pass over the tree with an explicit stack; see the module docstring."""

    def __init__(self, source: str, tree: ast.Module, limits: Limits,
                 known: set[str]) -> None:
        self.limits = limits
        self.program = CheckedProgram(source, tree)
        self.variables: set[str] = set(known)  # assigned so far, in source order
        self.nodes = 0
        self.statements = 0
        self.def_body_depth = -1  # the block depth where `return` may stand

    # -- statements ------------------------------------------------------------------
    def run(self) -> None:
        self._statements(self.program.tree.body, scope=self.variables, in_function=False,
                         depth=1)

    def _statements(self, body: list[ast.stmt], scope: set[str], in_function: bool,
                    depth: int) -> None:
        # Statement lists nest only through `with` and `def`, both bounded by max_depth;
        # the walk below them (expressions) is iterative.
        if depth > self.limits.max_depth:
            raise refuse("Blocks are nested too deeply.", body[0] if body else None, "limit")
        for index, stmt in enumerate(body):
            self.statements += 1
            if self.statements > self.limits.max_statements:
                raise refuse(f"The program has more than {self.limits.max_statements} "
                             "statements; keep experiments small.", stmt, "limit")
            self._statement(stmt, scope, in_function, depth,
                            is_last=index == len(body) - 1)

    def _statement(self, stmt: ast.stmt, scope: set[str], in_function: bool, depth: int,
                   is_last: bool) -> None:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            self._import(stmt)
        elif isinstance(stmt, ast.Assign):
            if len(stmt.targets) != 1:
                raise refuse("Chained assignment (a = b = ...) is not available: assign "
                             "one name per line.", stmt)
            self._expression(stmt.value, scope)
            for name_node in self._targets(stmt.targets[0]):
                scope.add(name_node.id)
        elif isinstance(stmt, ast.AugAssign):
            if not isinstance(stmt.target, ast.Name):
                raise refuse("`+=` and friends work on a plain variable name only.", stmt)
            if not isinstance(stmt.op, _AUG_OPS):
                raise refuse("Only += -= *= /= are available.", stmt)
            self._name_target(stmt.target)
            if stmt.target.id not in scope:
                raise refuse(f"`{stmt.target.id}` is used before it is given a value.",
                             stmt.target)
            self._expression(stmt.value, scope)
        elif isinstance(stmt, ast.AnnAssign):
            raise refuse("Type annotations are not available: write `name = value`.", stmt)
        elif isinstance(stmt, ast.Expr):
            self._expression(stmt.value, scope)
        elif isinstance(stmt, ast.With):
            self._with(stmt, scope, in_function, depth)
        elif isinstance(stmt, ast.Pass):
            pass
        elif isinstance(stmt, ast.FunctionDef):
            self._def(stmt, scope, in_function, depth)
        elif isinstance(stmt, ast.Return):
            if not in_function or not is_last or depth != self.def_body_depth:
                raise refuse("`return` is only available as the last line of a def.", stmt)
            if stmt.value is None:
                raise refuse("`return` needs a value here.", stmt)
            self._expression(stmt.value, scope)
        else:
            message = _REFUSED_STATEMENTS.get(
                type(stmt), f"`{type(stmt).__name__}` statements are not available here")
            raise refuse(message[0].upper() + message[1:] + ".", stmt)

    def _import(self, stmt: ast.Import | ast.ImportFrom) -> None:
        if isinstance(stmt, ast.ImportFrom):
            names = [(f"{stmt.module}.{a.name}", a.asname) for a in stmt.names]
        else:
            names = [(a.name, a.asname) for a in stmt.names]
        for module, alias in names:
            if (module, alias) not in L.IMPORTS:
                raise refuse(
                    f"`import {module}{' as ' + alias if alias else ''}` is not available: "
                    "programs may import only torch, math and torch.nn.functional as F "
                    "(all three are ready without importing).", stmt)

    def _targets(self, target: ast.expr) -> list[ast.Name]:
        if isinstance(target, ast.Name):
            return [self._name_target(target)]
        if isinstance(target, ast.Tuple) and all(isinstance(e, ast.Name) for e in target.elts):
            return [self._name_target(e) for e in target.elts]  # type: ignore[arg-type]
        if isinstance(target, ast.Subscript):
            raise refuse("Assigning into part of a tensor (x[0] = ...) is not available: "
                         "build a new tensor instead, e.g. with torch.where.", target)
        if isinstance(target, ast.Attribute):
            raise refuse(f"Setting `.{target.attr}` is not available: use methods such "
                         "as requires_grad_() instead.", target)
        raise refuse("Only plain variable names can be assigned to.", target)

    def _name_target(self, node: ast.Name) -> ast.Name:
        name = node.id
        if name.startswith("_"):
            raise refuse(f"Names starting with `_` are not available (`{name}`).", node)
        if name in L.RESERVED or name in self.program.functions:
            raise refuse(f"`{name}` is part of the language and cannot be reassigned; "
                         "pick another variable name.", node)
        return node

    def _with(self, stmt: ast.With, scope: set[str], in_function: bool, depth: int) -> None:
        if len(stmt.items) != 1:
            raise refuse("Use one context per `with`.", stmt)
        item = stmt.items[0]
        expr = item.context_expr
        dotted = _dotted(expr.func) if isinstance(expr, ast.Call) else None
        if (dotted is None or dotted not in L.GRAD_MODES or expr.args or expr.keywords
                or item.optional_vars is not None):
            raise refuse("Only `with torch.no_grad():` and `with torch.enable_grad():` "
                         "are available.", expr)
        self.program.callees[id(expr)] = Callee("grad_mode", name=dotted)
        self._statements(stmt.body, scope, in_function, depth + 1)

    def _def(self, stmt: ast.FunctionDef, scope: set[str], in_function: bool,
             depth: int) -> None:
        if in_function:
            raise refuse("Functions inside functions are not available.", stmt)
        self._name_target(ast.Name(id=stmt.name, lineno=stmt.lineno,
                                   col_offset=stmt.col_offset))
        if stmt.name in self.variables:
            raise refuse(f"`{stmt.name}` is already a variable; pick another name for "
                         "the function.", stmt)
        args = stmt.args
        if (args.vararg or args.kwarg or args.kwonlyargs or args.defaults
                or args.posonlyargs or args.kw_defaults):
            raise refuse("Functions here take plain positional parameters only.", stmt)
        if stmt.decorator_list:
            raise refuse("Decorators are not available.", stmt.decorator_list[0])
        params = [a.arg for a in args.args]
        for a in args.args:
            self._name_target(ast.Name(id=a.arg, lineno=a.lineno, col_offset=a.col_offset))
        body = stmt.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            body = body[1:]  # a docstring
        if not body or not isinstance(body[-1], ast.Return):
            raise refuse(f"The function `{stmt.name}` must end with `return ...`.", stmt)
        # Inside, names are the parameters, its own assignments, and the program's
        # variables so far. Its own name is not yet defined: no recursion.
        local_scope = set(self.variables) | set(params)
        self.def_body_depth = depth + 1
        self._statements(body, scope=local_scope, in_function=True, depth=depth + 1)
        self.program.functions[stmt.name] = UserFunction(stmt.name, params, body, stmt)

    # -- expressions -----------------------------------------------------------------
    def _expression(self, root: ast.expr, scope: set[str]) -> None:
        """Check one expression tree iteratively, in source order (children are pushed in
        reverse, so the first problem reported is the leftmost). Each stack entry carries
        the node, its depth and its role: "value", "call" (the callee of a call), "arg" (a call
        argument: lists and tuples allowed), "index" (inside a subscript), or one of
        _NAME_CHECKS: an attribute's own name, checked after its receiver."""
        stack: list[tuple[ast.AST, int, str]] = [(root, 1, "value")]
        while stack:
            node, depth, role = stack.pop()
            if role in _NAME_CHECKS:  # an attribute seen before: now its own name
                self._attribute_name(node, role)  # type: ignore[arg-type]
                continue
            self.nodes += 1
            if self.nodes > self.limits.max_nodes:
                raise refuse("The program is too large to run here.", node, "limit")
            if depth > self.limits.max_depth:
                raise refuse("This expression is nested too deeply.", node, "limit")
            for child, child_role in reversed(self._expression_node(node, role, scope)):
                stack.append((child, depth + 1, child_role))

    def _expression_node(self, node: ast.AST, role: str, scope: set[str],
                         ) -> list[tuple[ast.AST, str]]:
        """Check ``node`` itself and return its children with their roles."""
        if type(node) in _REFUSED_EXPRESSIONS:
            message = _REFUSED_EXPRESSIONS[type(node)]
            raise refuse(message[0].upper() + message[1:] + ".", node)
        if isinstance(node, ast.Constant):
            self._constant(node, role)
            return []
        if isinstance(node, ast.Name):
            self._name(node, role, scope)
            return []
        if isinstance(node, ast.Attribute):
            return self._attribute(node, role)
        if isinstance(node, ast.Call):
            return self._call(node, scope)
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, _BINARY_OPS):
                raise refuse(f"The operator `{_op_symbol(node.op)}` is not available: use "
                             "+ - * / ** @ // %.", node)
            return [(node.left, "value"), (node.right, "value")]
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise refuse("Only unary - and + are available (use torch.logical_not for "
                             "`not`).", node)
            return [(node.operand, role if role in ("arg", "index") else "value")]
        if isinstance(node, ast.Compare):
            if len(node.ops) != 1:
                raise refuse("Chained comparisons (a < x < b) are not available: compare "
                             "two values at a time.", node)
            if not isinstance(node.ops[0], _COMPARE_OPS):
                raise refuse("Only < <= > >= == != comparisons are available.", node)
            return [(node.left, "value"), (node.comparators[0], "value")]
        if isinstance(node, ast.Subscript):
            return [(node.value, "value"), (node.slice, "index")]
        if isinstance(node, ast.Slice):
            if role != "index":
                raise refuse("Slices can only be used inside [ ].", node)
            return [(part, "value") for part in (node.lower, node.upper, node.step) if part]
        if isinstance(node, (ast.List, ast.Tuple)):
            if role not in ("arg", "index"):
                kind = "Lists" if isinstance(node, ast.List) else "Tuples"
                raise refuse(f"{kind} can only be passed to functions, as in "
                             "torch.tensor([1.0, 2.0]).", node)
            child_role = "arg" if role == "arg" else "index"
            if isinstance(node, ast.List) and role == "index":
                child_role = "arg"
            return [(element, child_role) for element in node.elts]
        raise refuse(f"`{type(node).__name__}` expressions are not available here.", node)

    def _constant(self, node: ast.Constant, role: str) -> None:
        value = node.value
        if isinstance(value, bool) or value is None:
            return
        if value is Ellipsis:
            if role != "index":
                raise refuse("`...` can only be used inside [ ].", node)
            return
        if isinstance(value, (int, float)):
            if abs(value) > self.limits.max_constant:
                raise refuse(f"The number {value:g} is too large: numbers in programs are "
                             f"limited to ±{self.limits.max_constant:g}.", node, "limit")
            return
        if isinstance(value, str):
            if role == "print":
                return
            raise refuse("Text in quotes is only available inside print(...) and as "
                         "reduction='mean' / 'sum' / 'none'.", node)
        raise refuse(f"Values of type {type(value).__name__} are not available here.", node)

    def _name(self, node: ast.Name, role: str, scope: set[str]) -> None:
        name = node.id
        if name in _PYTHON_BUILTINS and name not in scope:
            raise refuse(_builtin_message(name), node)
        if name.startswith("_"):
            raise refuse(_underscore_message(f"`{name}`", name), node)
        if name in scope:
            return
        if name in L.MODULE_PREFIXES:
            raise refuse(f"`{name}` is a module: use it only to call one of its functions, "
                         f"as in {name}.sin(x); it cannot be stored or passed around.", node)
        if name in L.BARE_FUNCTIONS or name == "print" or name in self.program.functions:
            raise refuse(f"`{name}` is a function: it can be called, as in {name}(x), but "
                         "not stored or passed around.", node)
        raise refuse(f"`{name}` is used before it is given a value (or is not available "
                     "here).", node)

    def _attribute(self, node: ast.Attribute, role: str) -> list[tuple[ast.AST, str]]:
        dotted = _dotted(node)
        if dotted is not None and dotted.split(".")[0] in ("torch", "F", "math"):
            if node.attr.startswith("_"):
                raise refuse(_underscore_message(f"`.{node.attr}`", node.attr),
                             _attribute_place(node))
            resolved = L.resolve_dotted(dotted)
            if resolved is None:
                raise refuse(f"`{dotted}` is not available here: programs can use the torch "
                             "math listed in the language table only.", node)
            kind, value = resolved
            if kind == "constant":
                self.program.constants[id(node)] = value
                return []
            if role != "call":
                raise refuse(f"`{dotted}` is a function: it can be called, as in "
                             f"{dotted}(x), but not stored or passed around.", node)
            return []
        # An attribute of a value: its receiver is checked first, then its own name, so
        # the first problem in the order Python evaluates is the one reported: in
        # `open(...).read()` it is `open`, not `.read`.
        return [(node.value, "value"),
                (node, "method name" if role == "call" else "attribute name")]

    def _attribute_name(self, node: ast.Attribute, role: str) -> None:
        """A value's attribute: a tensor attribute, or a tensor method when called."""
        where = _attribute_place(node)
        if node.attr.startswith("_"):
            raise refuse(_underscore_message(f"`.{node.attr}`", node.attr), where)
        if role == "method name":
            if node.attr not in L.TENSOR_METHODS:
                raise refuse(f"The tensor method `.{node.attr}()` is not available here.",
                             where)
        elif node.attr not in L.TENSOR_ATTRIBUTES:
            hint = " (call it: add parentheses)" if node.attr in L.TENSOR_METHODS else ""
            raise refuse(f"The attribute `.{node.attr}` is not available here{hint}.", where)

    def _call(self, node: ast.Call, scope: set[str]) -> list[tuple[ast.AST, str]]:
        func = node.func
        children: list[tuple[ast.AST, str]] = []
        dotted = _dotted(func)
        if isinstance(func, ast.Name):
            name = func.id
            if name == "print":
                callee = Callee("print", name="print")
            elif name in self.program.functions:
                callee = Callee("user", name=name)
                expected = len(self.program.functions[name].params)
                if len(node.args) != expected or node.keywords:
                    raise refuse(f"`{name}` takes {expected} argument(s), given by "
                                 "position.", node)
            elif name in L.BARE_FUNCTIONS and name not in scope:
                callee = Callee("function", L.BARE_FUNCTIONS[name], name)
            elif name in scope:
                raise refuse(f"`{name}` is a value, not a function: it cannot be called.",
                             func)
            else:
                children.append((func, "call"))  # refused by _name with the reason
                callee = Callee("function")
        elif dotted is not None and dotted.split(".")[0] in ("torch", "F", "math"):
            children.append((func, "call"))
            resolved = L.resolve_dotted(dotted)
            if resolved is not None and resolved[0] == "function":
                callee = Callee("function", resolved[1], dotted)
            elif resolved is not None and resolved[0] == "grad_mode":
                raise refuse(f"`{dotted}()` is available only as `with {dotted}():`.", node)
            else:
                callee = Callee("function", name=dotted)  # _attribute refuses it
        elif isinstance(func, ast.Attribute):
            children.append((func, "call"))
            callee = Callee("method", name=func.attr)
        else:
            raise refuse("Only functions and tensor methods can be called.", node)
        self.program.callees[id(node)] = callee
        arg_role = "print" if callee.kind == "print" else "arg"
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise refuse(_REFUSED_EXPRESSIONS[ast.Starred].capitalize() + ".", arg)
            children.append((arg, arg_role))
        for keyword in node.keywords:
            children.extend(self._keyword(keyword, callee))
        return children

    def _keyword(self, keyword: ast.keyword, callee: Callee) -> list[tuple[ast.AST, str]]:
        if keyword.arg is None:
            raise refuse("`**kwargs` unpacking is not available.", keyword.value)
        if callee.kind == "print":
            if keyword.arg in ("sep", "end") and isinstance(keyword.value, ast.Constant) \
                    and isinstance(keyword.value.value, str):
                return []
            raise refuse("print(...) takes values, and sep='...' or end='...' only.",
                         keyword.value)
        if keyword.arg not in L.KEYWORDS:
            raise refuse(f"The keyword argument `{keyword.arg}=` is not available here.",
                         keyword.value)
        if keyword.arg in L.STRING_KEYWORDS and isinstance(keyword.value, ast.Constant) \
                and isinstance(keyword.value.value, str):
            allowed = L.STRING_KEYWORDS[keyword.arg]
            if keyword.value.value not in allowed:
                choices = ", ".join(f"'{v}'" for v in sorted(allowed))
                raise refuse(f"`{keyword.arg}=` must be one of {choices}.", keyword.value)
            return []
        return [(keyword.value, "arg")]


_NAME_CHECKS = frozenset({"method name", "attribute name"})

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
    "range list tuple dict set zip map filter enumerate sorted reversed iter next": (
        "programs compute on whole tensors, without loops or Python collections. Make "
        "the tensor directly, e.g. torch.arange(5.0) or torch.tensor([1.0, 2.0])"),
    "str repr format chr ord bytes bytearray": "text is only for print(...). Write "
                                               "print(x) to show a value",
    "any all": "use the tensor methods instead: (x > 0).any(), (x > 0).all()",
    "type object super isinstance issubclass callable id hash memoryview classmethod "
    "staticmethod property input help breakpoint exit quit": (
        "programs can use torch math only (see the language table)"),
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
