"""The walk: the checked program run over formulas instead of tensors.

:class:`Walker` runs the program statement by statement, as
:class:`engine.running.interpreter.Interpreter` runs it over tensors. It builds sympy objects
directly from the checked ``ast``, each call through the checker's resolution of its name
and the table :data:`engine.teaching.analytic.rules.RULES`, never from text. Symbols are
``sympy.Symbol(..., real=True)`` named after the program's identifiers.

Semantics: the mathematics of what is written. ``.detach()``, ``torch.no_grad()``,
``requires_grad`` flags, ``.item()``, ``float()``, ``math.*`` and ``torch.tensor(value)`` of
a computed value pass their values on: they stop autograd, not the formula. So the
formula is the derivative autograd would give had it followed every path; each place
where autograd stops is listed in ``Formula.notes``, so a page can say why the numbers
differ. Every input box and every name assigned from ``torch.tensor(number, ...)`` is a
symbol; every other variable is substituted.

Every step is bounded (:mod:`engine.teaching.analytic.bounds`): ``tick`` counts operations and
watches the clock, ``checked`` measures each new formula.
"""

from __future__ import annotations

import ast
import functools
import math
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import sympy

from engine.errors import ProgramRefused, refuse
from engine.language.checker import CheckedProgram, UserFunction
from engine.limits import Limits
from engine.teaching.analytic.bounds import MAX_DEPTH, MAX_ELEMENTS, MAX_NODES, MAX_WRITTEN
from engine.teaching.analytic.numeric import evaluate_number
from engine.teaching.analytic.rules import (
    BOOKKEEPING,
    COVERS,
    IGNORED_KEYWORDS,
    NOTES,
    RULES,
    Rule,
    Unsupported,
    _div,
    _mean,
    _pow,
)
from engine.teaching.analytic.values import (
    NONE,
    Box,
    Content,
    Leaf,
    Opaque,
    Refusal,
    Value,
    usable,
)

# Calls that give Python numbers, never the output (used when they are refused).
_NON_TENSOR_CALLS = frozenset({"len", "int", "round", "float", ".item", ".numel", ".dim",
                               ".size", "torch.numel", "torch.allclose"})
_WHOLE = (None, 0, -1, (0,), (-1,))  # dim= values that reduce a list to one number


class Walker:
    """Runs the checked program over formulas instead of tensors, statement by statement,
    as :class:`engine.running.interpreter.Interpreter` runs it over tensors."""

    def __init__(self, program: CheckedProgram, limits: Limits) -> None:
        self.program = program
        self.limits = limits
        self.env: dict[str, Box] = {}
        self.leaves: list[Leaf] = []
        self.leaf_of: dict[sympy.Symbol, Leaf] = {}
        self.grad_enabled = True
        self.candidate: tuple[str | None, Content] | None = None
        self.roots: list[tuple[str | None, Content]] = []
        self.call_depth = 0
        self.operations = 0
        self.deadline = time.monotonic() + limits.time_limit_s
        self.measured: dict[Any, tuple[int, int]] = {}

    # -- symbols ------------------------------------------------------------------------
    def new_leaves(self, name: str, numbers: list[float], listed: bool, line: int | None,
                   requires_grad: bool) -> Value:
        """Fresh symbols for ``name`` (one per element when ``listed``). Their sympy names
        hold characters no identifier has (``x[0]``, ``x#2`` when ``x`` is made again),
        so they can never meet another variable's symbol."""
        generation = len({leaf.generation for leaf in self.leaves if leaf.name == name})
        symbols = []
        for index, number in enumerate(numbers):
            element = index if listed else None
            label = name if element is None else f"{name}[{element}]"
            symbol = sympy.Symbol(f"{label}#{generation + 1}" if generation else label,
                                  real=True)
            leaf = Leaf(name, element, generation, symbol, float(number), line,
                        requires_grad)
            self.leaves.append(leaf)
            self.leaf_of[symbol] = leaf
            symbols.append(symbol)
        if not listed:
            return Value((symbols[0],))
        return Value(tuple(symbols), (len(symbols),), written=len(symbols))

    def add_input(self, name: str, tensor: Any) -> None:
        """An input box: a number, or a list of up to MAX_ELEMENTS numbers."""
        data = tensor.detach().double()
        if data.dim() == 0:
            content: Content = self.new_leaves(name, [float(data)], False, None, True)
        elif data.dim() == 1 and 0 < data.numel() <= MAX_ELEMENTS:
            content = self.new_leaves(name, data.tolist(), True, None, True)
        else:
            content = Refusal(refuse(
                f"No formula by hand for the input `{name}` of shape {tuple(data.shape)}: "
                f"the derivative by hand covers numbers and lists of up to {MAX_ELEMENTS} "
                "numbers."))
        self.env[name] = Box(content)

    # -- bounds -------------------------------------------------------------------------
    def tick(self, node: ast.AST) -> None:
        self.operations += 1
        if self.operations > self.limits.max_operations:
            raise refuse(f"The formula takes more than {self.limits.max_operations:,} "
                         "steps to build.", node, "limit")
        if time.monotonic() > self.deadline:
            raise refuse(f"Building the formula took longer than "
                         f"{self.limits.time_limit_s:g} s.", node, "timeout")

    def measure(self, expr: Any) -> tuple[int, int]:
        """(nodes, depth) of sympy's tree, shared parts counted each time, remembered per
        distinct node so each check costs only the nodes that are new."""
        memo = self.measured
        stack: list[tuple[Any, bool]] = [(expr, False)]
        while stack:
            node, children_done = stack.pop()
            if node in memo:
                continue
            if children_done:
                sizes = [memo[a] for a in node.args]
                memo[node] = (min(1 + sum(s for s, _ in sizes), 10**9),
                              1 + max((d for _, d in sizes), default=0))
            else:
                stack.append((node, True))
                stack.extend((a, False) for a in node.args if a not in memo)
        return memo[expr]

    def checked(self, value: Value, node: ast.AST) -> Value:
        """``value``, unless its formula has grown past the bounds (see bounds.py)."""
        too_large = value.written > MAX_WRITTEN
        for item in value.items:
            nodes, depth = self.measure(item)
            too_large = too_large or nodes > MAX_NODES or depth > MAX_DEPTH
        if too_large:
            raise refuse(f"The formula grows too large to work out by hand (line "
                         f"{_line(node)}): written out it is nested too deeply or has "
                         "too many parts.", node, "limit")
        return value

    # -- statements -----------------------------------------------------------------------
    def run(self) -> None:
        found = _beyond_straight_line(self.program.tree)
        if found is not None:
            what, node = found
            raise self.no_formula(what, node)
        self.block(self.program.tree.body, self.env, top=True)

    def block(self, body: list[ast.stmt], scope: dict[str, Box], top: bool,
              ) -> Content | None:
        for stmt in body:
            self.tick(stmt)
            if isinstance(stmt, ast.Return):
                return self.expression(stmt.value, scope)  # type: ignore[arg-type]
            if isinstance(stmt, ast.Assign):
                self.assign(stmt, scope, top)
            elif isinstance(stmt, ast.AugAssign):
                self.augmented(stmt, scope, top)
            elif isinstance(stmt, ast.Expr):
                self.expression_line(stmt, scope, top)
            elif isinstance(stmt, ast.With):
                mode = self.program.callee(stmt.items[0].context_expr).name
                enabled, self.grad_enabled = self.grad_enabled, mode == "torch.enable_grad"
                try:
                    self.block(stmt.body, scope, top)
                finally:
                    self.grad_enabled = enabled
            # def, import, pass: nothing to compute (the checker collected the defs)
        return None

    def assign(self, stmt: ast.Assign, scope: dict[str, Box], top: bool) -> None:
        target = stmt.targets[0]
        if isinstance(target, ast.Tuple):
            refused = Refusal(refuse(f"No formula by hand for unpacking into several "
                                     f"names (line {stmt.lineno}): {COVERS}.", stmt))
            names = [element.id for element in target.elts]  # type: ignore[attr-defined]
            for name in names:
                scope[name] = Box(refused)
            if top:
                self.candidate = (names[-1], refused)
            return
        name = target.id  # type: ignore[attr-defined]
        if isinstance(stmt.value, ast.Name):  # a second name for the same value
            scope[name] = self.lookup(stmt.value, scope)
        else:
            try:
                content: Content = self.assigned_value(stmt.value, name, scope)
                if isinstance(content, Value) and not self.grad_enabled:
                    content = self.noted(content, "no_grad", stmt)
            except ProgramRefused as refused:
                content = Refusal(refused, _tensor_guess(self.program, stmt.value))
            scope[name] = Box(content)
        if top:
            self.candidate = (name, scope[name].content)

    def augmented(self, stmt: ast.AugAssign, scope: dict[str, Box], top: bool) -> None:
        name = stmt.target.id  # type: ignore[attr-defined]
        if name not in scope:  # Python: UnboundLocalError
            raise refuse(f"`{name}` belongs to the program outside this function; it "
                         "cannot be changed inside it.", stmt, "runtime")
        box = scope[name]
        in_place = box.content.tensor
        try:
            old = usable(box.content)
            right = self.expression(stmt.value, scope)
            content: Content = self.arithmetic(stmt, type(stmt.op), old, right)
            if isinstance(content, Value) and not self.grad_enabled:
                content = self.noted(content, "no_grad", stmt)
        except ProgramRefused as refused:
            content = Refusal(refused, in_place)
        if in_place:
            box.content = content  # the tensor changes; every name for it sees that
        else:
            scope[name] = Box(content)  # a Python number: += makes a new one
        if top:
            self.candidate = (name, content)

    def expression_line(self, stmt: ast.Expr, scope: dict[str, Box], top: bool) -> None:
        """An expression line: the output candidate when it gives a tensor, as in a run.
        print(...), attribute reads (``x.grad``) and bookkeeping calls (``y.backward()``,
        ``x.grad.zero_()``) are never candidates."""
        expr = stmt.value
        if isinstance(expr, ast.Attribute):
            return
        callee = self.program.callees.get(id(expr)) if isinstance(expr, ast.Call) else None
        if callee is not None and callee.kind == "print":
            return
        if callee is not None and callee.kind == "method" and callee.name in BOOKKEEPING:
            self.bookkeeping(expr, scope, statement=True)  # type: ignore[arg-type]
            return
        try:
            content: Content = self.expression(expr, scope)
        except ProgramRefused as refused:
            content = Refusal(refused, _tensor_guess(self.program, expr))
        if top and content.tensor:
            self.candidate = (expr.id if isinstance(expr, ast.Name) else None, content)

    # -- expressions ------------------------------------------------------------------------
    def expression(self, node: ast.expr, scope: dict[str, Box]) -> Content:
        """The value of ``node``; raises ProgramRefused where there is no formula."""
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return usable(self.lookup(node, scope).content)
        if isinstance(node, ast.Attribute):
            if id(node) in self.program.constants:
                return self.named_constant(node)
            if node.attr == "grad":
                raise refuse(f"`{_code(self.program, node)}` (line {node.lineno}) is what "
                             "autograd computes: the formula by hand cannot use it.", node)
            raise self.no_formula(f"`.{node.attr}`", node)
        if isinstance(node, ast.Call):
            return self.call(node, scope)
        if isinstance(node, ast.BinOp):
            left = self.expression(node.left, scope)
            right = self.expression(node.right, scope)
            return self.arithmetic(node, type(node.op), left, right)
        if isinstance(node, ast.UnaryOp):
            operand = self.expression(node.operand, scope)
            if isinstance(node.op, ast.UAdd):
                return operand
            return self.elementwise(node, lambda x: -x, [self.number(operand, node)])
        if isinstance(node, (ast.List, ast.Tuple)):
            return self.listed(node, scope)
        if isinstance(node, ast.Compare):
            raise self.no_formula("comparisons", node)
        if isinstance(node, ast.Subscript):
            raise self.no_formula(f"indexing `{_code(self.program, node)}`", node)
        raise self.no_formula(f"`{_code(self.program, node)}`", node)

    def lookup(self, node: ast.Name, scope: dict[str, Box]) -> Box:
        if node.id in scope:
            return scope[node.id]
        if node.id in self.env:
            return self.env[node.id]
        raise refuse(f"`{node.id}` has no value here.", node, "runtime")

    def constant(self, node: ast.Constant) -> Content:
        value = node.value
        if value is None:
            return NONE
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return Opaque(repr(value))
        return Value((_number(value),), tensor=False)

    def named_constant(self, node: ast.Attribute) -> Content:
        value = self.program.constants[id(node)]
        if not isinstance(value, float):
            return Opaque(f"`{_code(self.program, node)}`")  # torch.float32 and other dtypes
        exact = {math.pi: sympy.pi, math.e: sympy.E, math.tau: 2 * sympy.pi,
                 math.inf: sympy.oo}
        return Value((exact.get(value, _number(value)),), tensor=False)

    def listed(self, node: ast.List | ast.Tuple, scope: dict[str, Box]) -> Value:
        """``[a, b, c]`` (an argument, e.g. of torch.tensor): a list of numbers."""
        if not 0 < len(node.elts) <= MAX_ELEMENTS:
            raise refuse(f"No formula by hand for a list of {len(node.elts)} numbers "
                         f"(line {node.lineno}): lists may have 1 to {MAX_ELEMENTS}.", node)
        items: list[Any] = []
        written, notes = 0, frozenset[str]()
        for element in node.elts:
            value = self.number(self.expression(element, scope), element)
            if value.shape:
                raise self.no_formula("lists of lists (tables of numbers)", element)
            items.append(value.items[0])
            written += value.written
            notes |= value.notes
        return Value(tuple(items), (len(items),), False, written, notes)

    def number(self, content: Content, node: ast.AST) -> Value:
        """``content`` as mathematics, or the reason it is not."""
        if isinstance(content, Value):
            return content
        raise refuse(f"No formula by hand for {content.what} used as a number (line "  # type: ignore[union-attr]
                     f"{_line(node)}).", node)

    def optional(self, content: Content | None, node: ast.AST) -> Value | None:
        """An optional argument: None when left out or given as None."""
        return None if content is None or content is NONE else self.number(content, node)

    def noted(self, value: Value, kind: str, node: ast.AST) -> Value:
        """``value`` with the note ``kind`` when it depends on something that varies."""
        if not any(item.free_symbols for item in value.items):
            return value
        text = NOTES[kind].format(code=_code(self.program, node), line=_line(node))
        return replace(value, notes=value.notes | {text})

    def no_formula(self, what: str, node: ast.AST) -> ProgramRefused:
        return refuse(f"No formula by hand for {what} (line {_line(node)}): {COVERS}.",
                      node)

    # -- arithmetic -------------------------------------------------------------------------
    def arithmetic(self, node: ast.AST, op: type, left: Content, right: Content) -> Value:
        builders: dict[type, Callable[[Any, Any], Any]] = {
            ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
            ast.Mult: lambda a, b: a * b, ast.Div: _div, ast.Pow: _pow,
        }
        if op not in builders:
            symbol = {ast.MatMult: "`@` (matrix product)", ast.FloorDiv: "`//`",
                      ast.Mod: "`%`"}.get(op, f"`{op.__name__}`")
            raise self.no_formula(symbol, node)
        return self.elementwise(node, builders[op],
                                [self.number(left, node), self.number(right, node)])

    def elementwise(self, node: ast.AST, build: Callable[..., Any],
                    values: list[Value | None], tensor: bool | None = None,
                    **options: Any) -> Value:
        """``build`` element by element; a single number broadcasts over a list. None
        (an optional argument left out) reaches ``build`` as None."""
        self.tick(node)
        present = [v for v in values if v is not None]
        lengths = sorted({v.shape[0] for v in present if v.shape})
        if len(lengths) > 1:
            raise refuse(f"The lists on line {_line(node)} have different lengths "
                         f"({', '.join(map(str, lengths))}).", node, "runtime")
        count = lengths[0] if lengths else 1
        try:
            items = tuple(build(*[None if v is None else v.items[i if v.shape else 0]
                                  for v in values], **options) for i in range(count))
        except Unsupported as problem:
            raise refuse(f"No formula by hand here (line {_line(node)}): {problem}.",
                         node) from None
        written = 1 + sum(v.written * (1 if v.shape else count) for v in present)
        result = Value(items, (count,) if lengths else (),
                       any(v.tensor for v in present) if tensor is None else tensor,
                       written, frozenset[str]().union(*(v.notes for v in present)))
        return self.checked(result, node)

    def reduced(self, node: ast.AST, build: Callable[[tuple[Any, ...]], Any],
                value: Value) -> Value:
        """One number from all the elements of ``value``."""
        self.tick(node)
        result = Value((build(value.items),), (), True, value.written + len(value.items),
                       value.notes)
        return self.checked(result, node)

    # -- calls --------------------------------------------------------------------------------
    def call(self, node: ast.Call, scope: dict[str, Box]) -> Content:
        callee = self.program.callee(node)
        if callee.kind == "print":
            return NONE
        if callee.kind == "user":
            return self.user_call(node, self.program.functions[callee.name], scope)
        if callee.kind == "method" and callee.name in BOOKKEEPING:
            return self.bookkeeping(node, scope, statement=False)
        if callee.kind == "method":
            key, spelled = "." + callee.name, f"`.{callee.name}()`"
        else:
            key = callee.function.name if callee.function else callee.name
            spelled = f"`{key}`"
        rule = RULES.get(key)
        if rule is None:
            raise self.no_formula(spelled, node)
        return self.apply(node, rule, self.bind(node, rule, spelled, scope), spelled)

    def bind(self, node: ast.Call, rule: Rule, spelled: str, scope: dict[str, Box],
             ) -> dict[str, Any]:
        """Arguments by parameter name: values for math parameters, literal values for
        options; ignored keywords (dtype=, keepdim=, ...) are not evaluated at all."""
        positional: list[ast.expr] = list(node.args)
        if self.program.callee(node).kind == "method":
            positional.insert(0, node.func.value)  # type: ignore[attr-defined]
        options: dict[str, Any] = {}
        if rule.kind == "reduce" and len(positional) == 2:  # x.sum(0): dim by position
            options["dim"] = _literal(positional.pop())
        limit = len(rule.params) if rule.positional is None else rule.positional
        if len(positional) > limit:
            raise self.no_formula(f"{spelled} with {len(positional)} arguments", node)
        nodes: dict[str, ast.expr] = dict(zip(rule.params, positional))
        literal_keywords = set(rule.options) | (
            {"dim"} if rule.kind in ("reduce", "extreme") else set()) | (
            {"reduction"} if rule.kind == "loss" else set())
        for keyword in node.keywords:
            name = keyword.arg or ""
            if name in IGNORED_KEYWORDS:
                continue
            if name in literal_keywords:
                options[name] = _literal(keyword.value)
            elif name in rule.params and name not in nodes:
                nodes[name] = keyword.value
            else:
                raise self.no_formula(f"{spelled} with `{name}=`", keyword.value)
        if any(p not in nodes for p in rule.params[:rule.required]):
            raise self.no_formula(f"{spelled} with these arguments", node)
        values: dict[str, Any] = {name: self.expression(arg, scope)
                                  for name, arg in nodes.items()}
        return {**values, **options}

    def apply(self, node: ast.Call, rule: Rule, args: dict[str, Any], spelled: str,
              ) -> Value:
        """The rule's mathematics on bound arguments (see :class:`Rule` for the kinds)."""
        values = [self.optional(args.get(p), node) for p in rule.params]
        value = values[0]
        assert value is not None  # bind() saw the required parameters
        if rule.kind == "map":
            options = {k: args[k] for k in rule.options if k in args}
            result = self.elementwise(node, rule.build, values,  # type: ignore[arg-type]
                                      rule.tensor, **options)
        elif rule.kind == "extreme" and values[1] is not None:
            if not values[1].tensor or "dim" in args:  # torch.max(x, 0): along dim 0
                raise self.no_formula(f"{spelled} along a dimension", node)
            result = self.elementwise(node, rule.build, values[:2])  # type: ignore[arg-type]
        elif rule.kind in ("reduce", "extreme"):
            if args.get("dim") not in _WHOLE or (rule.kind == "extreme" and "dim" in args):
                raise self.no_formula(f"{spelled} along a dimension", node)
            build = rule.build if rule.kind == "reduce" else (
                lambda items: functools.reduce(rule.build, items))  # type: ignore[arg-type]
            result = self.reduced(node, build, value)  # type: ignore[arg-type]
        elif rule.kind == "loss":
            reduction = args.get("reduction", "mean")
            if reduction not in ("mean", "sum", "none"):
                raise self.no_formula(f"{spelled} with reduction='{reduction}'", node)
            result = self.elementwise(node, rule.build, values)  # type: ignore[arg-type]
            if reduction != "none":
                total = _mean if reduction == "mean" else (lambda items: sympy.Add(*items))
                result = self.reduced(node, total, result)
        else:  # "pass", "create": the value itself
            if rule.tensor is False and len(value.items) != 1:
                raise refuse(f"{spelled} needs a single number, but this value has "
                             f"{len(value.items)} (line {node.lineno}).", node, "runtime")
            result = replace(value, tensor=value.tensor if rule.tensor is None
                             else rule.tensor)
            if rule.kind == "create":
                result = self.noted(result, "copy", node)
        if rule.stops and (value.tensor or rule.stops == "detach"):
            result = self.noted(result, rule.stops, node)
        return result

    def user_call(self, node: ast.Call, fn: UserFunction, scope: dict[str, Box]) -> Content:
        """A ``def`` inlined: its parameters take the arguments (a variable passed by
        name shares its box, as Python shares the tensor), its body runs in its own scope."""
        self.tick(node)
        if self.call_depth >= self.limits.max_function_depth:
            raise refuse("Functions call each other too deeply.", node, "limit")
        local: dict[str, Box] = {}
        for param, arg in zip(fn.params, node.args):
            local[param] = (self.lookup(arg, scope) if isinstance(arg, ast.Name)
                            else Box(self.expression(arg, scope)))
            usable(local[param].content)
        self.call_depth += 1
        try:
            result = self.block(fn.body, local, top=False)
        finally:
            self.call_depth -= 1
        return NONE if result is None else result

    def bookkeeping(self, node: ast.Call, scope: dict[str, Box], statement: bool,
                    ) -> Content:
        """``y.backward()``, ``x.add_(1)``, ``x.zero_()``, ``w.requires_grad_()``: the
        receiver's box takes the new value. As a statement, a receiver that is not a
        variable (``x.grad.zero_()``) changes nothing in the formula and is skipped."""
        name = self.program.callee(node).name
        receiver = node.func.value  # type: ignore[attr-defined]
        if name == "backward":
            try:
                root: Content = self.expression(receiver, scope)
            except ProgramRefused as refused:
                root = Refusal(refused)
            self.roots.append((receiver.id if isinstance(receiver, ast.Name) else None, root))
            return NONE
        if name == "retain_grad":
            return NONE
        if not isinstance(receiver, ast.Name):
            if statement:
                return NONE
            raise self.no_formula(f"`.{name}()` on `{_code(self.program, receiver)}`", node)
        box = self.lookup(receiver, scope)
        try:
            content: Content = self.changed(node, name, box.content, scope)
        except ProgramRefused as refused:
            if not statement:
                raise
            content = Refusal(refused)
        box.content = content
        return content

    def changed(self, node: ast.Call, name: str, old: Content, scope: dict[str, Box],
                ) -> Value:
        """The new value of a tensor after the in-place method ``name``."""
        old = self.number(usable(old), node)
        if not old.tensor:
            raise refuse(f"`.{name}()` is a tensor method, but this value is a plain "
                         f"number (line {node.lineno}).", node, "runtime")
        if name == "requires_grad_":
            flag = _literal(node.args[0] if node.args else next(
                (k.value for k in node.keywords if k.arg == "requires_grad"), None), True)
            for item in old.items:
                if item in self.leaf_of:
                    self.leaf_of[item].requires_grad = flag is True
            return old
        if name == "detach_":
            return self.noted(old, "detach", node)
        if name == "zero_":
            return Value((sympy.Integer(0),) * len(old.items), old.shape)
        if name in ("fill_", "copy_"):
            if len(node.args) != 1 or node.keywords:
                raise self.no_formula(f"`.{name}()` with these arguments", node)
            new = self.number(self.expression(node.args[0], scope), node)
            return self.elementwise(node, lambda _, v: v, [old, new], True)
        rule = RULES["." + name[:-1]]  # add_ -> .add, clamp_ -> .clamp, ...
        spelled = f"`.{name}()`"
        return self.apply(node, rule, self.bind(node, rule, spelled, scope), spelled)

    def assigned_value(self, expr: ast.expr, name: str, scope: dict[str, Box]) -> Content:
        """``name = torch.tensor(6.7, requires_grad=True)`` makes the symbol ``name``
        (numbers only: ``torch.tensor(x)`` of a computed x is that value, noted)."""
        creation = _creation(self.program, expr)
        if creation is None:
            return self.expression(expr, scope)
        data_node, requires_grad = creation
        data = self.number(self.expression(data_node, scope), data_node)
        if any(item.free_symbols for item in data.items):
            return replace(self.noted(data, "copy", expr), tensor=True)
        numbers = [evaluate_number(item) for item in data.items]
        return self.new_leaves(name, numbers, bool(data.shape), expr.lineno, requires_grad)

    # -- the output ---------------------------------------------------------------------------
    def output(self, wanted: str | None) -> tuple[str | None, Value]:
        """The output by the rule of :func:`engine.running.run.choose_output`: ``output`` if given,
        else what backward() was last called on, else the last expression line or
        assignment (when it is a tensor)."""
        if wanted:
            box = self.env.get(wanted)
            if box is None or not box.content.tensor:
                raise refuse(f"The output `{wanted}` is not a tensor variable of this "
                             "program.")
            name, content = wanted, box.content
        elif self.roots:
            name, content = self.roots[-1]
        elif self.candidate is not None and self.candidate[1].tensor:
            name, content = self.candidate
        else:
            raise refuse("The program has no tensor output to write as a formula.")
        value = self.number(usable(content), self.program.tree)
        if len(value.items) != 1:
            label = f"`{name}`" if name else "The output"
            hint = f" Use {name}.sum() or {name}.mean()." if name else ""
            raise refuse(f"{label} has {len(value.items)} elements; the formula by hand "
                         f"needs a single number.{hint}")
        return name, value


# --- reading the syntax tree -------------------------------------------------------
# What the formula by hand follows: straight-line programs of assignments to names,
# expression lines, one grad mode per `with`, and defs with plain parameters. The rest of
# the language runs (engine.running) but has no formula: it is named, with its line.
_NOT_FOLLOWED: dict[type, str] = {
    ast.For: "a `for` loop", ast.While: "a `while` loop", ast.If: "an `if`",
    ast.Try: "a `try`", ast.Raise: "`raise`", ast.Assert: "`assert`", ast.Delete: "`del`",
    ast.Global: "`global`", ast.Nonlocal: "`nonlocal`", ast.Lambda: "a `lambda`",
    ast.ListComp: "a comprehension", ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension", ast.GeneratorExp: "a generator expression",
    ast.JoinedStr: "an f-string", ast.Dict: "a dict", ast.Set: "a set",
    ast.BoolOp: "`and`/`or`", ast.IfExp: "`a if c else b`", ast.Starred: "`*` unpacking",
    ast.NamedExpr: "`:=`", ast.AnnAssign: "an annotated assignment",
}


def _beyond_straight_line(tree: ast.Module) -> tuple[str, ast.AST] | None:
    """The first construct (in source order) the formula by hand does not follow."""
    found: list[tuple[str, ast.AST]] = []
    for node in ast.walk(tree):
        what = _NOT_FOLLOWED.get(type(node))
        if isinstance(node, ast.Assign) and (len(node.targets) != 1 or not isinstance(
                node.targets[0], (ast.Name, ast.Tuple))):
            what = "an assignment into an attribute or an item"
        elif isinstance(node, ast.AugAssign) and not isinstance(node.target, ast.Name):
            what = "an update of an attribute or an item"
        elif isinstance(node, ast.With) and (len(node.items) != 1 or not isinstance(
                node.items[0].context_expr, ast.Call) or node.items[0].context_expr.args):
            what = "this `with`"
        elif isinstance(node, ast.FunctionDef) and (
                node.decorator_list or node.args.defaults or node.args.vararg
                or node.args.kwarg or node.args.kwonlyargs
                or any(isinstance(inner, ast.FunctionDef) for inner in ast.walk(node)
                       if inner is not node)):
            what = "a def with defaults, *args, decorators or a nested def"
        elif isinstance(node, ast.Compare) and len(node.ops) > 1:
            what = "a chained comparison"
        if what is not None and hasattr(node, "lineno"):
            found.append((what, node))
    if not found:
        return None
    return min(found, key=lambda item: (item[1].lineno, item[1].col_offset))


def _line(node: ast.AST | None) -> str:
    return str(getattr(node, "lineno", "?"))


def _code(program: CheckedProgram, node: ast.AST) -> str:
    text = " ".join((ast.get_source_segment(program.source, node) or "").split())
    return text if len(text) <= 40 else text[:37] + "..."


def _literal(node: ast.expr | None, default: Any = None) -> Any:
    """A keyword's literal value (``reduction='sum'``, ``dim=-1``, ``True``), else a
    marker that equals no accepted value."""
    if node is None:
        return default
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) \
            and isinstance(node.operand, ast.Constant) \
            and isinstance(node.operand.value, (int, float)):
        return -node.operand.value
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Tuple) and len(node.elts) == 1:
        return (_literal(node.elts[0]),)
    return object()


def _number(value: int | float) -> Any:
    """A literal as sympy sees it: whole numbers exact (``x**2.0`` reads x²), halves and
    quarters as fractions (``x**0.5`` reads √x), the rest as floats (6.7, 1e-8, 1e15)."""
    if isinstance(value, int):
        return sympy.Integer(value)
    if not math.isfinite(value):
        return sympy.oo if value > 0 else (-sympy.oo if value < 0 else sympy.nan)
    if value.is_integer() and abs(value) < 1e9:
        return sympy.Integer(int(value))
    numerator, denominator = value.as_integer_ratio()
    if denominator <= 4 and abs(value) < 10:
        return sympy.Rational(numerator, denominator)
    return sympy.Float(value)


def _creation(program: CheckedProgram, expr: ast.expr) -> tuple[ast.expr, bool] | None:
    """For ``torch.tensor(data, requires_grad=...)``, possibly followed by
    ``.requires_grad_()``, ``.float()``, ``.double()``, ``.clone()``: (data, requires grad)."""
    requires_grad = False
    while isinstance(expr, ast.Call):
        callee = program.callees.get(id(expr))
        if callee is None:
            return None
        if callee.kind == "method" and callee.name in ("requires_grad_", "float", "double",
                                                       "clone") and not expr.keywords:
            if callee.name == "requires_grad_":
                requires_grad = _literal(expr.args[0] if expr.args else None, True) is True
            expr = expr.func.value  # type: ignore[attr-defined]
            continue
        function = callee.function
        if callee.kind == "function" and function is not None and expr.args \
                and function.name in RULES and RULES[function.name].kind == "create":
            flag = next((k.value for k in expr.keywords if k.arg == "requires_grad"), None)
            return expr.args[0], requires_grad or _literal(flag, False) is True
        return None
    return None


def _tensor_guess(program: CheckedProgram, expr: ast.expr) -> bool:
    """Whether a refused expression would have given a tensor in a run (most do; len(),
    int(), .item() and friends give Python numbers, which are never the output)."""
    if isinstance(expr, ast.Call):
        callee = program.callees.get(id(expr))
        if callee is not None:
            key = "." + callee.name if callee.kind == "method" else (
                callee.function.name if callee.function else callee.name)
            return key not in _NON_TENSOR_CALLS
    return not isinstance(expr, (ast.Constant, ast.Attribute))
