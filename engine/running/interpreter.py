"""Run a checked program on real torch, one statement at a time, inside its limits.

The interpreter only ever calls what the checker resolved from :mod:`engine.language.tables`.
Before any operation that can make a tensor larger than its inputs it predicts the size
(broadcast shapes, or PyTorch's ``meta`` device for creation, matmul, expand, cat, ...)
and refuses before allocating. It counts operations and watches the clock between them.
It tells the :class:`~engine.running.graph.GraphRecorder` every value it produces and every name
it assigns, so the graph can show the learner's names, values and gradients.
"""

from __future__ import annotations

import ast
import math
import operator
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import torch

from engine.errors import refuse
from engine.language import tables as L
from engine.language.checker import CheckedProgram, UserFunction
from engine.limits import Limits
from engine.running import progress
from engine.running.graph import DataflowStep, GraphRecorder, graph_key
from engine.running.summary import summarize
from engine.teaching import explain, untracked

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow, ast.MatMult: operator.matmul,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}
_IN_PLACE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.iadd, ast.Sub: operator.isub, ast.Mult: operator.imul,
    ast.Div: operator.itruediv,
}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}
ECHO_CHARS = 2_000  # one displayed value at most
RANDOM_DRAWS_KEPT = 4  # a curve keeps at most this many largest tensors' worth of draws
# Operators in the words engine.teaching.explain uses for the operation that made a NaN.
_OPERATOR_WORDS: dict[type, str] = {
    ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "divide",
    ast.FloorDiv: "divide", ast.Mod: "remainder", ast.Pow: "power", ast.MatMult: "matmul",
}
# Methods whose call is bookkeeping, not a result: never taken as the program's output.
_BOOKKEEPING = frozenset({"backward", "retain_grad", "requires_grad_", "zero_", "fill_",
                          "detach_", "add_", "sub_", "mul_", "div_", "pow_", "copy_",
                          "clamp_", "neg_"})


class CurveModeStop(Exception):
    """Raised in curve mode once the output's statement has run."""

    def __init__(self, value: Any) -> None:
        super().__init__("output reached")
        self.value = value


@dataclass
class Interpreter:
    """State of one run. ``run()`` executes the program; the fields hold what it did."""

    program: CheckedProgram
    limits: Limits
    generator: torch.Generator
    recorder: GraphRecorder
    deadline: float
    env: dict[str, Any] = field(default_factory=dict)
    detach_names: frozenset[str] = frozenset()
    retain_grad: bool | frozenset[str] = False
    switched_off: set[str] = field(default_factory=set)  # requires_grad off, by name
    no_grad_option: bool = False
    # curve mode: {statement place: value to use instead}, and where to stop
    overrides: dict[tuple[int, int], Any] = field(default_factory=dict)
    stop_at: tuple[int, int] | None = None
    curve_mode: bool = False
    per_tensor_limit: int | None = None
    # Random draws by call place, in call order: a curve's probe run records them
    # (``draws = {}``), its batched run replays them (``replay``), so every point sees the
    # numbers the single run drew, as a per-point loop reseeding each time would.
    draws: dict[tuple[int, int], list[torch.Tensor]] | None = None
    drawn_numbers: int = 0  # how many numbers ``draws`` keeps
    replay: dict[tuple[int, int], list[torch.Tensor]] | None = None
    # False: no dataflow steps or produced tensors for the graph (a curve's probe run only
    # needs names, origins and leaves, and the graph's bookkeeping was half its time)
    record_graph: bool = True
    # what happened
    printed: list[str] = field(default_factory=list)
    echoes: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    backward_roots: list[tuple[str | None, torch.Tensor]] = field(default_factory=list)
    # Every call that put something into a .grad or changed one, in order, as plain data
    # ({"kind": "backward" | "changed", "code", "of", "scaled"}): why a leaf's .grad can
    # differ from the derivative (added up twice, zeroed, scaled by gradient=).
    grad_events: list[dict[str, Any]] = field(default_factory=list)
    candidate: tuple[str | None, Any, tuple[int, int]] | None = None
    origins: dict[int, tuple[int, int]] = field(default_factory=dict)
    leaf_places: dict[int, tuple[str, tuple[int, int]]] = field(default_factory=dict)
    # the graph boxes earlier top-level lines made (their dataflow steps' node_key)
    recorded_keys: set[Any] = field(default_factory=set)
    assigned_at: dict[str, tuple[int, int]] = field(default_factory=dict)  # latest, by name
    operations: int = 0
    call_depth: int = 0
    printed_chars: int = 0
    current: ast.AST | None = None
    statement: ast.stmt | None = None  # the statement running now
    # the first operation that made a NaN or an infinity from finite numbers (plain data)
    non_finite: dict[str, Any] | None = None

    # -- statements ----------------------------------------------------------------------
    def run(self) -> None:
        self._block(self.program.tree.body, self.env, top=True)
        progress.CURRENT.mark(progress.AFTER_RUN)

    def _block(self, body: list[ast.stmt], scope: dict[str, Any], top: bool) -> Any:
        for stmt in body:
            self.current = self.statement = stmt
            if isinstance(stmt, ast.Return):
                return self.evaluate(stmt.value, scope)
            self._statement(stmt, scope, top)
        return None

    def _statement(self, stmt: ast.stmt, scope: dict[str, Any], top: bool) -> None:
        place = (stmt.lineno, stmt.col_offset)
        if isinstance(stmt, ast.Assign):
            value = self.overrides[place] if place in self.overrides else \
                self.evaluate(stmt.value, scope)
            self._assign(stmt.targets[0], value, stmt, scope, top)
            if top and place == self.stop_at:
                raise CurveModeStop(value)
        elif isinstance(stmt, ast.AugAssign):
            name = stmt.target.id  # type: ignore[attr-defined]
            right = self.evaluate(stmt.value, scope)
            value = self._operate(stmt, _IN_PLACE[type(stmt.op)], scope[name], right)
            self._assign(stmt.target, value, stmt, scope, top)
            if top and place == self.stop_at:
                raise CurveModeStop(value)
        elif isinstance(stmt, ast.Expr):
            value = self.evaluate(stmt.value, scope)
            if top:
                self._expression_statement(stmt, value)
                if place == self.stop_at:
                    raise CurveModeStop(value)
        elif isinstance(stmt, ast.With):
            enabled = L.GRAD_MODES[self.program.callee(stmt.items[0].context_expr).name]
            with torch.set_grad_enabled(enabled):
                self._block(stmt.body, scope, top)
        elif isinstance(stmt, (ast.Import, ast.ImportFrom, ast.Pass, ast.FunctionDef)):
            pass  # imports bind fixed names; defs were collected by the checker
        else:  # the checker refuses everything else
            raise refuse("This statement is not available here.", stmt)

    def _assign(self, target: ast.expr, value: Any, stmt: ast.stmt, scope: dict[str, Any],
                top: bool) -> None:
        if isinstance(target, ast.Tuple):
            values = self._unpack(value, len(target.elts), stmt)
            for element, item in zip(target.elts, values):
                self._assign(element, item, stmt, scope, top)
            return
        name = target.id  # type: ignore[attr-defined]
        reason_override = None
        if top and name in self.detach_names and isinstance(value, torch.Tensor):
            value = value.detach()
            reason_override = "detach_option"
        if isinstance(value, torch.Tensor) and not self.curve_mode and value.requires_grad \
                and not value.is_leaf and self._wants_retain(name):
            value.retain_grad()
        scope[name] = value
        if isinstance(value, torch.Tensor) and value.is_leaf and value.requires_grad:
            self.leaf_places.setdefault(id(value), (name, (stmt.lineno, stmt.col_offset)))
            self.switched_off.discard(name)
        self.recorder.named(name, value)
        if top:
            self.assigned_at[name] = (stmt.lineno, stmt.col_offset)
            self._remember_origin(value, stmt)
            self.candidate = (name, value, (stmt.lineno, stmt.col_offset))
            self._dataflow(name, value, stmt, reason_override)

    def _wants_retain(self, name: str) -> bool:
        if isinstance(self.retain_grad, bool):
            return self.retain_grad
        return name in self.retain_grad

    def _unpack(self, value: Any, count: int, stmt: ast.stmt) -> list[Any]:
        if isinstance(value, (tuple, list, torch.Size)) or (
                isinstance(value, torch.Tensor) and value.dim() > 0):
            items = list(value) if not isinstance(value, torch.Tensor) else list(value.unbind(0))
            if len(items) == count:
                return items
            raise refuse(f"Cannot unpack {len(items)} values into {count} names.", stmt,
                         "runtime")
        raise refuse("Only tuples and tensors can be unpacked into several names.", stmt,
                     "runtime")

    def _expression_statement(self, stmt: ast.Expr, value: Any) -> None:
        expr = stmt.value
        call = self.program.callees.get(id(expr)) if isinstance(expr, ast.Call) else None
        if call is not None and call.kind == "print":
            return
        is_attribute = isinstance(expr, ast.Attribute)
        bookkeeping = call is not None and call.kind == "method" and call.name in _BOOKKEEPING
        if call is not None and call.kind == "method" and call.name.endswith("_"):
            target = self._lookup_quietly(expr.func.value)  # type: ignore[attr-defined]
            self._remember_origin(target, stmt)  # changed in place here
        if value is not None or is_attribute:
            self._echo(stmt, expr, value)
        if isinstance(value, torch.Tensor) and not is_attribute and not bookkeeping:
            self._remember_origin(value, stmt)
            self.candidate = (expr.id if isinstance(expr, ast.Name) else None, value,
                              (stmt.lineno, stmt.col_offset))

    def _echo(self, stmt: ast.Expr, expr: ast.expr, value: Any) -> None:
        """What a notebook would show for an expression line, within the print budget."""
        if self.printed_chars > self.limits.max_print_chars:
            return  # already over budget (and said so): formatting costs time
        text = _display(value)
        if len(text) > ECHO_CHARS:
            text = text[: ECHO_CHARS - 1] + "…"
        self.printed_chars += len(text)
        if self.printed_chars > self.limits.max_print_chars:
            note = (f"Only the first {len(self.echoes)} displayed values are shown: the "
                    f"display limit is {self.limits.max_print_chars:,} characters.")
            if note not in self.warnings:
                self.warnings.append(note)
            return
        # "out": the program's last statement, which a notebook shows as the cell's Out
        self.echoes.append({"line": stmt.lineno, "code": _segment(self.program, expr),
                            "text": text, "out": stmt is self.program.tree.body[-1]})

    def _remember_origin(self, value: Any, stmt: ast.stmt) -> None:
        """The latest top-level statement that made or changed ``value`` (a curve stops
        there; in-place updates keep the tensor's identity, so later statements win)."""
        if isinstance(value, torch.Tensor):
            self.origins[id(value)] = (stmt.lineno, stmt.col_offset)

    def _lookup_quietly(self, node: ast.AST) -> Any:
        return self.env.get(node.id) if isinstance(node, ast.Name) else None

    def _dataflow(self, name: str, value: Any, stmt: ast.stmt, reason: str | None) -> None:
        if self.curve_mode or not self.record_graph or not isinstance(value, torch.Tensor):
            return
        expr = getattr(stmt, "value", None)
        reads = sorted({n.id for n in ast.walk(expr) if isinstance(n, ast.Name)
                        and n.id in self.env and n.id != name}) if expr is not None else []
        if isinstance(stmt, ast.AugAssign):
            reads = sorted(set(reads) | {name})
        tracked = value.requires_grad
        cut: list[dict[str, Any]] = []
        sources: list[dict[str, Any]] = []
        if reason is None and torch.is_grad_enabled():
            cut = self._cut_reads(value, expr, reads)
        if not tracked and reason is None:
            reason, sources = self._why_untracked(value, expr, reads, cut)
        self.recorder.dataflow.append(DataflowStep(
            line=stmt.lineno, col=stmt.col_offset + 1, target=name,
            code=_segment(self.program, expr) if expr is not None else name,
            reads=reads, tracked=tracked,
            grad_fn=type(value.grad_fn).__name__ if value.grad_fn is not None else None,
            reason=None if tracked else reason, value=summarize(value),
            sources=sources, cut_reads=cut, node_key=graph_key(value),
            read_keys={r: graph_key(self.env[r]) for r in reads if r in self.env}))
        if self.recorder.dataflow[-1].node_key is not None:
            self.recorded_keys.add(self.recorder.dataflow[-1].node_key)

    def _cut_reads(self, value: torch.Tensor, expr: ast.AST | None,
                   reads: list[str]) -> list[dict[str, Any]]:
        """Reads that require grad but whose use on this line autograd did not record
        (``y.detach() * x``), each with what cut it."""
        values = {r: self.env[r] for r in reads if r in self.env}
        return [untracked.cut_reason(expr, r, self.program)
                for r in untracked.unreached_reads(value, values, self.recorded_keys)]

    def _why_untracked(self, value: torch.Tensor, expr: ast.AST | None, reads: list[str],
                       cut: list[dict[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
        """The line's own reason, else one worked out from the unrecorded values it read
        (never their reason passed on as if it were this line's: see engine.teaching.untracked)."""
        own = untracked.own_reason(value, expr, self.program, self.no_grad_option, cut)
        if own is not None:
            return own, []
        sources = [untracked.source_entry(r, self.recorder.dataflow, self.switched_off)
                   for r in reads if isinstance(self.env.get(r), torch.Tensor)]
        return untracked.reason_from_sources(sources, reads), sources

    def why_of(self, name: str | None) -> str:
        """Why the variable ``name`` was not recorded, in words (explain.why)."""
        return explain.why(self.reason_of(name), self.sources_of(name))

    def sources_of(self, name: str | None) -> list[dict[str, Any]]:
        """The unrecorded values ``name`` was computed from (reason from_untracked)."""
        for step in reversed(self.recorder.dataflow):
            if step.target == name:
                return step.sources
        return []

    def reason_of(self, name: str | None) -> str | None:
        """Why the variable ``name`` was not recorded, from its latest dataflow step."""
        if name in self.switched_off:
            return "requires_grad_off"
        for step in reversed(self.recorder.dataflow):
            if step.target == name:
                return step.reason
        return None

    # -- expressions ------------------------------------------------------------------------
    def evaluate(self, node: ast.AST, scope: dict[str, Any]) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self._lookup(node, scope)
        if isinstance(node, ast.Attribute):
            if id(node) in self.program.constants:
                return self.program.constants[id(node)]
            return self._attribute(node, self.evaluate(node.value, scope))
        if isinstance(node, ast.Call):
            return self._call(node, scope)
        if isinstance(node, ast.BinOp):
            left = self.evaluate(node.left, scope)
            right = self.evaluate(node.right, scope)
            return self._operate(node, _BINARY[type(node.op)], left, right)
        if isinstance(node, ast.UnaryOp):
            value = self.evaluate(node.operand, scope)
            if isinstance(node.op, ast.UAdd):
                return value
            return self._operate(node, lambda v, _: -v, value, None)
        if isinstance(node, ast.Compare):
            left = self.evaluate(node.left, scope)
            right = self.evaluate(node.comparators[0], scope)
            return self._operate(node, _COMPARE[type(node.ops[0])], left, right)
        if isinstance(node, ast.Subscript):
            return self._subscript(node, scope)
        if isinstance(node, ast.Slice):
            return slice(*(None if part is None else self._index_number(part, scope)
                           for part in (node.lower, node.upper, node.step)))
        if isinstance(node, ast.List):
            return [self.evaluate(e, scope) for e in node.elts]
        if isinstance(node, ast.Tuple):
            return tuple(self.evaluate(e, scope) for e in node.elts)
        raise refuse("This expression is not available here.", node)

    def _lookup(self, node: ast.Name, scope: dict[str, Any]) -> Any:
        if node.id in scope:
            return scope[node.id]
        if node.id in self.env:
            return self.env[node.id]
        raise refuse(f"`{node.id}` has no value here (it is assigned only in a block that "
                     "did not run).", node, "runtime")

    def _index_number(self, node: ast.AST, scope: dict[str, Any]) -> Any:
        value = self.evaluate(node, scope)
        if isinstance(value, torch.Tensor) and value.numel() == 1 and not self.curve_mode:
            return int(value.item())
        return value

    def _subscript(self, node: ast.Subscript, scope: dict[str, Any]) -> Any:
        value = self.evaluate(node.value, scope)
        index = self.evaluate(node.slice, scope)
        if not isinstance(value, (torch.Tensor, tuple, torch.Size)):
            raise refuse("Only tensors, shapes and tuples can be indexed.", node, "runtime")
        parts = index if isinstance(index, tuple) else (index,)
        for part in parts:
            if not isinstance(part, (int, slice, torch.Tensor, list, type(None),
                                     type(Ellipsis))) or isinstance(part, float):
                raise refuse("Indices must be whole numbers, slices, None or tensors.", node,
                             "runtime")
        if isinstance(value, torch.Tensor) and any(
                isinstance(p, (torch.Tensor, list)) for p in parts):
            self._predict(node, lambda v, i: v[i], [value, index], {})  # advanced indexing
        return self._produced(node, value[index])

    def _attribute(self, node: ast.Attribute, obj: Any) -> Any:
        name = node.attr
        if not isinstance(obj, torch.Tensor):
            raise refuse(f"`.{name}` is a tensor attribute, but this value is "
                         f"{_kind_of(obj)}.", node, "runtime")
        if name == "grad_fn":
            return None if obj.grad_fn is None else type(obj.grad_fn).__name__
        if name == "grad":
            if self.curve_mode:
                raise refuse("A curve cannot be drawn through a program that reads .grad "
                             "before its output.", node, "refused")
            if not obj.is_leaf and not obj.retains_grad:
                who = node.value.id if isinstance(node.value, ast.Name) else "this tensor"
                message = explain.non_leaf_grad_warning(who)
                if message not in self.warnings:
                    self.warnings.append(message)
                return None
            return obj.grad
        if name in ("shape",):
            return obj.shape
        return getattr(obj, name)  # name is one of L.TENSOR_ATTRIBUTES (checked)

    # -- operations -------------------------------------------------------------------------
    def _tick(self, node: ast.AST) -> None:
        self.current = node
        line = getattr(node, "lineno", 0)
        # where a server that has to kill this worker will say it was (engine.running.progress)
        progress.CURRENT.mark(progress.RUNNING, line, getattr(node, "col_offset", -1) + 1)
        self.operations += 1
        if self.operations > self.limits.max_operations:
            raise refuse(explain.operations_limit_message(self.limits.max_operations, line),
                         node, "limit")
        if time.monotonic() > self.deadline:
            raise refuse(explain.time_limit_message(self.limits.time_limit_s,
                                                    progress.RUNNING, line), node, "timeout")

    def _operate(self, node: ast.AST, op: Callable[[Any, Any], Any], left: Any,
                 right: Any) -> Any:
        self._tick(node)
        for value in (left, right):
            if value is not None and not isinstance(value, (torch.Tensor, int, float, bool)):
                raise refuse(f"Arithmetic works on tensors and numbers, not on "
                             f"{_kind_of(value)}.", node, "runtime")
        tensors = [v for v in (left, right) if isinstance(v, torch.Tensor)]
        if not tensors:
            return self._number(node, op, left, right)
        if op is operator.matmul:
            self._predict(node, operator.matmul, [left, right], {})
        elif len(tensors) == 2:
            self._check_numel(node, _broadcast_numel([t.shape for t in tensors]))
        return self._produced(node, op(left, right),
                              _OPERATOR_WORDS.get(type(getattr(node, "op", None)), ""),
                              [left, right])

    def _number(self, node: ast.AST, op: Callable[[Any, Any], Any], left: Any,
                right: Any) -> Any:
        """Plain-number arithmetic, bounded so ``10**10**10`` cannot hang the server."""
        if op in (operator.pow, operator.ipow) and isinstance(left, (int, float)) \
                and isinstance(right, (int, float)) and abs(left) > 1 and right > 0:
            if right * math.log10(abs(left)) > math.log10(self.limits.max_constant) + 300:
                raise refuse("This power of numbers is too large to compute.", node, "limit")
        result = op(left, right)
        if isinstance(result, int) and not isinstance(result, bool) \
                and abs(result) > self.limits.max_constant:
            raise refuse(f"The whole number {result:.3g} is too large: whole numbers are "
                         f"limited to ±{self.limits.max_constant:g}.", node, "limit")
        return result

    def _call(self, node: ast.Call, scope: dict[str, Any]) -> Any:
        callee = self.program.callee(node)
        if callee.kind == "method":
            obj = self.evaluate(node.func.value, scope)  # type: ignore[attr-defined]
            args, kwargs = self._arguments(node, scope)
            return self._method(node, obj, callee.name, args, kwargs)
        args, kwargs = self._arguments(node, scope)
        if callee.kind == "print":
            return self._print(node, args, kwargs)
        if callee.kind == "user":
            return self._user_call(node, self.program.functions[callee.name], args)
        assert callee.function is not None
        return self._function(node, callee.function, args, kwargs)

    def _arguments(self, node: ast.Call, scope: dict[str, Any],
                   ) -> tuple[list[Any], dict[str, Any]]:
        args = [self.evaluate(a, scope) for a in node.args]
        kwargs = {k.arg: self.evaluate(k.value, scope) for k in node.keywords}
        is_print = self.program.callee(node).kind == "print"
        # Text reaches a function only as a checked literal (reduction='sum'); a string
        # computed at run time (``.grad_fn`` names) may only be printed.
        literal = {k.arg for k in node.keywords if isinstance(k.value, ast.Constant)}
        for key, value in [*enumerate(args), *kwargs.items()]:
            _check_argument(value, node)
            if not is_print and key not in literal and _holds_text(value):
                raise refuse("Text can only be printed or given as reduction='mean' / "
                             "'sum' / 'none'.", node, "refused")
        return args, kwargs  # type: ignore[return-value]

    def _function(self, node: ast.Call, fn: L.Function, args: list[Any],
                  kwargs: dict[str, Any]) -> Any:
        self._tick(node)
        if fn.name == "torch.manual_seed":
            if len(args) != 1 or not isinstance(args[0], int) or isinstance(args[0], bool):
                raise refuse("torch.manual_seed takes one whole number.", node, "runtime")
            self.generator.manual_seed(args[0])  # the run's own generator, not torch's
            return None
        if fn.numbers:
            args = [torch.tensor(float(a)) if isinstance(a, (int, float))
                    and not isinstance(a, bool) else a for a in args]
        if fn.name in ("torch.tensor", "torch.as_tensor") and args:
            self._check_numel(node, _literal_numel(args[0]))
        if fn.creates:
            args, kwargs = _sizes_as_numbers(args), _sizes_as_numbers(kwargs)
        if fn.sizes == "broadcast":
            shapes = [a.shape for a in [*args, *kwargs.values()] if isinstance(a, torch.Tensor)]
            if len(shapes) > 1:
                self._check_numel(node, _broadcast_numel(shapes))
        elif fn.sizes == "predict":
            self._predict(node, fn.call, args, kwargs, creates=fn.creates)
        if fn.random and self.replay is not None:
            return self._produced(node, self._replayed(node))
        if fn.random:
            kwargs = {**kwargs, "generator": self.generator}
        value = self._produced(node, fn.call(*args, **kwargs), fn.name,
                               [*args, *kwargs.values()])
        if fn.random and self.draws is not None and isinstance(value, torch.Tensor):
            self._record_draw(node, value)
        return value

    def _record_draw(self, node: ast.Call, value: torch.Tensor) -> None:
        """Keep a copy of a draw for the curve to replay (a later in-place change must
        not reach it), within a budget: the single run frees its draws as it goes, the
        record keeps them all."""
        budget = RANDOM_DRAWS_KEPT * self.limits.max_tensor_elements
        self.drawn_numbers += value.numel()
        if self.drawn_numbers > budget:
            raise refuse(f"This curve cannot be drawn: the program draws more than {budget:,} "
                         "random numbers, more than a curve keeps to give every point the "
                         "same ones.", node, "limit")
        self.draws.setdefault((node.lineno, node.col_offset), []).append(  # type: ignore[union-attr]
            value.detach().clone().requires_grad_(value.requires_grad))

    def _replayed(self, node: ast.Call) -> torch.Tensor:
        """The next number(s) the recorded run drew at this call (the caller hands fresh
        copies: inside torch.func's transforms a tensor cannot be made a leaf)."""
        drawn = self.replay.get((node.lineno, node.col_offset)) if self.replay else None
        if not drawn:
            raise refuse("This curve cannot be drawn: the program draws random numbers "
                         "here that the run at the current value did not draw.", node,
                         "refused")
        return drawn.pop(0)

    def _method(self, node: ast.Call, obj: Any, name: str, args: list[Any],
                kwargs: dict[str, Any]) -> Any:
        self._tick(node)
        if not isinstance(obj, torch.Tensor):
            raise refuse(f"`.{name}()` is a tensor method, but this value is "
                         f"{_kind_of(obj)}.", node, "runtime")
        who = _name_of(node.func.value)  # type: ignore[attr-defined]
        if name == "backward":
            return self._backward(node, obj, who, args, kwargs)
        if self.curve_mode and name in ("retain_grad", "requires_grad_"):
            return obj
        owner = node.func.value  # type: ignore[attr-defined]
        if name.endswith("_") and isinstance(owner, ast.Attribute) and owner.attr == "grad":
            self.grad_events.append({"kind": "changed", "code": _segment(self.program, node),
                                     "of": _name_of(owner.value), "scaled": False})
        if name == "requires_grad_" and who:
            flag = args[0] if args else kwargs.get("requires_grad", True)
            (self.switched_off.discard if flag else self.switched_off.add)(who)
        if name in L.TENSOR_METHODS_BROADCAST:
            shapes = [a.shape for a in [obj, *args, *kwargs.values()]
                      if isinstance(a, torch.Tensor)]
            self._check_numel(node, _broadcast_numel(shapes))
        elif name in L.TENSOR_METHODS_PREDICT:
            args, kwargs = _sizes_as_numbers(args), _sizes_as_numbers(kwargs)
            self._predict(node, lambda s, *a, **k: getattr(s, name)(*a, **k),
                          [obj, *args], kwargs)
        result = getattr(obj, name)(*args, **kwargs)  # name is in L.TENSOR_METHODS
        if name == "requires_grad_" and who:
            self._became_leaf(who, obj)
        return self._produced(node, result, name, [obj, *args, *kwargs.values()])

    def _became_leaf(self, name: str, value: torch.Tensor) -> None:
        """``w.requires_grad_()`` made the tensor already called ``name`` a leaf that
        requires grad. Names reach the graph when assigned, and at its assignment it did
        not require grad yet: tell the recorder now, so the leaf's box carries its name,
        and remember where it was assigned, so a curve can vary it there."""
        if not (value.is_leaf and value.requires_grad):
            return
        self.recorder.named(name, value, rename=False)
        if self.call_depth == 0 and name in self.assigned_at:  # a top-level variable
            self.leaf_places.setdefault(id(value), (name, self.assigned_at[name]))

    def _backward(self, node: ast.Call, root: torch.Tensor, who: str | None,
                  args: list[Any], kwargs: dict[str, Any]) -> None:
        if self.curve_mode:
            return None  # curves differentiate the output themselves
        if len(self.backward_roots) >= self.limits.max_backward_calls:
            raise refuse(f"backward() was called more than {self.limits.max_backward_calls} "
                         "times.", node, "limit")
        self.recorder.before_backward(root)
        try:
            root.backward(*args, **kwargs)
        except RuntimeError as exc:
            kind, message = explain.explain_backward_error(exc, who, self.reason_of(who),
                                                           root.numel(), self.sources_of(who))
            raise refuse(message, node, kind) from None
        self.backward_roots.append((who, root))
        self.grad_events.append({"kind": "backward", "code": _segment(self.program, node),
                                 "of": who, "scaled": bool(args) or "gradient" in kwargs})
        return None

    def _user_call(self, node: ast.Call, fn: UserFunction, args: list[Any]) -> Any:
        self._tick(node)
        if self.call_depth >= self.limits.max_function_depth:
            raise refuse("Functions call each other too deeply.", node, "limit")
        self.call_depth += 1
        try:
            local = dict(zip(fn.params, args))
            for name, value in local.items():
                self.recorder.named(name, value, rename=False)
            return self._block(fn.body, local, top=False)
        finally:
            self.call_depth -= 1

    def _print(self, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> None:
        sep = kwargs.get("sep", " ")
        end = kwargs.get("end", "\n")
        text = sep.join(_display(a) if not isinstance(a, str) else a for a in args) + end
        self.printed_chars += len(text)
        if self.printed_chars > self.limits.max_print_chars:
            raise refuse(f"The program printed more than {self.limits.max_print_chars:,} "
                         "characters.", node, "limit")
        if not self.curve_mode:
            self.printed.append(text)
        return None

    # -- size guards -------------------------------------------------------------------------
    def _produced(self, node: ast.AST, value: Any, op: str = "",
                  inputs: list[Any] | None = None) -> Any:
        """Every operation's result passes here: type check, size check, graph record,
        and the watch for the first NaN or infinity (``op`` made it from ``inputs``)."""
        if isinstance(value, tuple) and not isinstance(value, torch.Size):
            value = tuple(value)  # torch.return_types.* become plain tuples
            for item in value:
                _check_value(item, node)
        else:
            _check_value(value, node)
        if isinstance(value, torch.Tensor):
            self._check_numel(node, value.numel())
            if not self.curve_mode and self.record_graph:
                self.recorder.produced(value)
                if self.non_finite is None and op:
                    self._watch_non_finite(node, value, op, inputs or [])
        return value

    def _watch_non_finite(self, node: ast.AST, value: torch.Tensor, op: str,
                          inputs: list[Any]) -> None:
        """Remember the first operation whose result holds NaN or an infinity although
        its inputs held none: that is where the NaN came from (everything after only
        passes it on). Checked until the first one is found, on results only, then on
        the inputs of that one result."""
        if not value.is_floating_point() or _surely_finite(value):
            return
        with torch.no_grad():
            if bool(torch.isfinite(value).all()) or not _all_finite(inputs):
                return
            nan = bool(torch.isnan(value).any())
            cause = explain.non_finite_cause(op, inputs, value)
        stmt = self.statement
        target = None
        if self.call_depth == 0 and isinstance(stmt, ast.Assign) \
                and isinstance(stmt.targets[0], ast.Name) and stmt.value is node:
            target = stmt.targets[0].id
        self.non_finite = {"line": getattr(node, "lineno", None),
                           "code": _segment(self.program, node), "target": target,
                           "nan": nan, "cause": cause}
        self.warnings.append(explain.non_finite_warning(self.non_finite))

    def _tensor_limit(self) -> int:
        return self.per_tensor_limit or self.limits.max_tensor_elements

    def _check_numel(self, node: ast.AST, numel: int | None) -> None:
        limit = self._tensor_limit()
        if numel is not None and numel > limit:
            raise refuse(f"This would make a tensor of {numel:,} elements; the limit is "
                         f"{limit:,}.", node, "limit")

    def _predict(self, node: ast.AST, call: Callable[..., Any], args: list[Any],
                 kwargs: dict[str, Any], creates: bool = False) -> None:
        """Run ``call`` on PyTorch's meta device (shapes only, no data) and check sizes."""
        if not _META_READY:
            self.deadline += _load_meta_kernels()  # once per process, not the program's time
        meta_args = [_to_meta(a) for a in args]
        meta_kwargs = {k: _to_meta(v) for k, v in kwargs.items() if k != "requires_grad"}
        if creates:
            meta_kwargs["device"] = "meta"
        try:
            with torch.no_grad():
                result = call(*meta_args, **meta_kwargs)
        except Exception:  # noqa: BLE001 - the real call will raise the learner's error
            return
        results = result if isinstance(result, (tuple, list)) else (result,)
        self._check_numel(node, sum(r.numel() for r in results
                                    if isinstance(r, torch.Tensor)))


# -- helpers ------------------------------------------------------------------------------
_META_READY = False


def _load_meta_kernels() -> float:
    """torch loads its Python shape functions on first use of the meta device (about 2 s);
    do it once, and say how long it took."""
    global _META_READY
    started = time.monotonic()
    m = torch.empty(2, 2, device="meta")
    torch.matmul(m, m)
    torch.cat([m, m])
    _META_READY = True
    return time.monotonic() - started


_VALUE_TYPES = (torch.Tensor, bool, int, float, str, torch.Size, torch.dtype, type(None))


def _check_value(value: Any, node: ast.AST) -> None:
    """Defence in depth: an operation's result must be data, never a callable or module."""
    if isinstance(value, tuple) and not isinstance(value, torch.Size):
        for item in value:
            _check_value(item, node)
        return
    if not isinstance(value, _VALUE_TYPES):
        raise refuse(f"This operation gave a {type(value).__name__}, which programs cannot "
                     "use.", node, "refused")


def _surely_finite(value: torch.Tensor) -> bool:
    """A quick test of a float tensor: a NaN or an infinity anywhere makes the sum NaN or
    infinite, so a finite sum proves all finite (a tenth of torch.isfinite's time; a sum
    that overflowed is checked properly by the caller)."""
    return math.isfinite(value.detach().sum().item())


def _all_finite(values: list[Any]) -> bool:
    """No NaN or infinity in these arguments (tensors, numbers, lists of them)."""
    stack: list[Any] = list(values)
    while stack:
        item = stack.pop()
        if isinstance(item, torch.Tensor):
            if item.is_floating_point() and not bool(torch.isfinite(item).all()):
                return False
        elif isinstance(item, float):
            if not math.isfinite(item):
                return False
        elif isinstance(item, (list, tuple)) and not isinstance(item, torch.Size):
            stack.extend(item)
    return True


def _holds_text(value: Any) -> bool:
    if isinstance(value, str):
        return True
    if isinstance(value, (list, tuple)) and not isinstance(value, torch.Size):
        return any(_holds_text(v) for v in value)
    return False


def _check_argument(value: Any, node: ast.AST) -> None:
    if isinstance(value, (list, tuple)) and not isinstance(value, torch.Size):
        stack = [value]
        while stack:
            for item in stack.pop():
                if isinstance(item, (list, tuple)) and not isinstance(item, torch.Size):
                    stack.append(item)
                else:
                    _check_value(item, node)
        return
    if isinstance(value, (slice, type(Ellipsis))):
        return
    _check_value(value, node)


def _sizes_as_numbers(values: Any) -> Any:
    """Whole-number tensors holding one element, given as sizes (``torch.ones(n)`` with
    ``n = torch.tensor(5)``), become plain ints, as torch would read them; then the size
    can be predicted before anything is allocated."""
    if isinstance(values, dict):
        return {k: _sizes_as_numbers(v) for k, v in values.items()}
    if isinstance(values, (list, tuple)) and not isinstance(values, torch.Size):
        return type(values)(_sizes_as_numbers(v) for v in values)
    if isinstance(values, torch.Tensor) and values.numel() == 1 \
            and not values.is_floating_point() and values.dtype != torch.bool:
        return int(values.item())
    return values


def _to_meta(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return torch.empty_strided(value.size(), value.stride(), dtype=value.dtype,
                                   device="meta")
    if isinstance(value, list):
        return [_to_meta(v) for v in value]
    if isinstance(value, tuple) and not isinstance(value, torch.Size):
        return tuple(_to_meta(v) for v in value)
    if isinstance(value, torch.Generator):
        return None
    return value


def _broadcast_numel(shapes: list[Any]) -> int | None:
    """Elements of the broadcast of ``shapes``; None when they do not broadcast (torch
    will say why). Plain Python: ``torch.broadcast_shapes`` costs 20 µs a call."""
    ndim = max(len(s) for s in shapes)
    numel = 1
    for axis in range(1, ndim + 1):
        size = 1
        for shape in shapes:
            if axis <= len(shape):
                dim = shape[-axis]
                if dim != 1:
                    if size not in (1, dim):
                        return None
                    size = dim
        numel *= size
    return numel


def _literal_numel(data: Any) -> int:
    """Elements in a (nested) list literal, counted without recursion."""
    if isinstance(data, torch.Tensor):
        return data.numel()
    count, stack = 0, [data]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        else:
            count += 1
    return count


def _name_of(node: ast.AST) -> str | None:
    return node.id if isinstance(node, ast.Name) else None


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "True/False"
    if isinstance(value, (int, float)):
        return "a plain number"
    if value is None:
        return "None"
    return f"a {type(value).__name__}"


def _segment(program: CheckedProgram, node: ast.AST) -> str:
    return _source_text(program.source, node.lineno, node.col_offset,
                        getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None))


@lru_cache(maxsize=1024)
def _source_text(source: str, lineno: int, col: int, end_lineno: int | None,
                 end_col: int | None) -> str:
    """A node's code on one line, at most 80 characters. Cached: ast.get_source_segment
    splits the whole source on every call, and the same program runs again and again
    (the run, the curve's probe, every student's edit of a number)."""
    where = ast.AST()
    where.lineno, where.col_offset = lineno, col
    where.end_lineno, where.end_col_offset = end_lineno, end_col
    text = " ".join((ast.get_source_segment(source, where) or "").split())
    return text if len(text) <= 80 else text[:77] + "..."


def _display(value: Any) -> str:
    """How a notebook would show the value (torch's repr for tensors)."""
    if isinstance(value, torch.Tensor):
        with torch.no_grad():
            return repr(value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


__all__ = ["CurveModeStop", "Interpreter"]
