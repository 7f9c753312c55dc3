"""Run a checked program on real torch, one statement at a time, inside its limits.

The interpreter walks the program's ``ast`` with one handler per kind of node: statements
in :mod:`engine.running.statements`, expressions in :mod:`engine.running.expressions`,
calls in :mod:`engine.running.calls`, attributes and items in
:mod:`engine.running.attributes`, Python's builtins in :mod:`engine.running.builtins`.
This module holds the run's state and what every handler shares: the clock and the
operation count (:meth:`Interpreter.tick`), size checks before anything grows (broadcast
shapes, or PyTorch's ``meta`` device for creation, matmul, expand, cat, ...), the record of
names and values for the graph (:class:`~engine.running.graph.GraphRecorder`), and how a
Python error becomes one the program can catch or the learner reads.
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

from engine.errors import ProgramRefused, as_sentence, refuse
from engine.language import tables as L
from engine.language.checker import CheckedProgram
from engine.language.formatting import (
    FormatLimit,
    FormatRefused,
    display_repr,
    display_str,
    percent_format,
)
from engine.language.values import CONTAINER_TYPES, PLAIN_TYPES, ModuleValue, Opaque, TorchMade
from engine.limits import Limits
from engine.running import progress, training
from engine.running.attributes import Attributes
from engine.running.calls import UNINITIALISED, Calls, scrub
from engine.running.expressions import Expressions
from engine.running.graph import DataflowStep, GraphRecorder, graph_key
from engine.running.objects.classes import Classes
from engine.running.objects.data import Data
from engine.running.objects.functions import CustomFunctions
from engine.running.objects.modules import Modules
from engine.running.objects.optimizers import Optimizers
from engine.running.scope import Scope
from engine.running.statements import Statements, statement_handler
from engine.running.summary import summarize
from engine.teaching import explain, untracked

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
                          "clamp_", "neg_", "register_hook"})
_SEQUENCES = (str, list, tuple)


class CurveModeStop(Exception):
    """Raised in curve mode once the output's statement has run."""

    def __init__(self, value: Any) -> None:
        super().__init__("output reached")
        self.value = value


@dataclass
class Interpreter(Statements, Expressions, Calls, Attributes, Classes, Modules,
                  CustomFunctions, Optimizers, Data):
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
    stop_name: str | None = None  # the output's name, when its statement is a block
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
    # the numbers of every backward() call, one dict per step (engine.running.training)
    training: list[dict[str, Any]] = field(default_factory=list)
    graph_step: int | None = None  # the backward() call whose graph to keep (1 = first)
    candidate: tuple[str | None, Any, tuple[int, int]] | None = None
    origins: dict[int, tuple[int, int]] = field(default_factory=dict)
    leaf_places: dict[int, tuple[str, tuple[int, int]]] = field(default_factory=dict)
    # the graph boxes earlier top-level lines made (their dataflow steps' node_key)
    recorded_keys: set[Any] = field(default_factory=set)
    assigned_at: dict[str, tuple[int, int]] = field(default_factory=dict)  # latest, by name
    operations: int = 0
    call_depth: int = 0
    transform_depth: int = 0  # inside a function torch calls (jacobian, torch.func, hooks)
    printed_chars: int = 0
    current: ast.AST | None = None
    statement: ast.stmt | None = None  # the statement running now
    module_statement: ast.stmt | None = None  # the top-level statement running now
    last_value: Any = None
    # how many times each line's statement started, top level and in loops and ifs (not
    # inside functions): what "this line ran 20 times" and "ran 0 times" are read from
    line_runs: dict[int, int] = field(default_factory=dict)
    handling: BaseException | None = None  # what a bare `raise` raises again
    # (class whose method is running, its object), innermost last: what super() means
    method_stack: list[tuple[Any, Any]] = field(default_factory=list)
    parameters_made: int = 0  # elements in the layers' parameters made so far
    packing: int = 0  # inside the program's saved_tensors_hooks block
    # the first operation that made a NaN or an infinity from finite numbers (plain data)
    non_finite: dict[str, Any] | None = None

    # -- running ------------------------------------------------------------------------
    def run(self) -> None:
        self.module_scope = Scope(self.env, is_module=True)
        self._cell = {id(s) for s in self.program.tree.body}
        self.block(self.program.tree.body, self.module_scope)
        progress.CURRENT.mark(progress.AFTER_RUN)

    def block(self, body: list[ast.stmt], scope: Scope) -> None:
        handler = statement_handler
        for stmt in body:
            self.current = self.statement = stmt
            direct = id(stmt) in self._cell and scope.is_module and self.call_depth == 0
            if direct:
                self.module_statement = stmt
            if self.call_depth == 0 and scope.is_module:
                self.line_runs[stmt.lineno] = self.line_runs.get(stmt.lineno, 0) + 1
            getattr(self, handler(stmt))(stmt, scope)
            if direct and (stmt.lineno, stmt.col_offset) == self.stop_at:
                raise CurveModeStop(self._stop_value(stmt))

    def _stop_value(self, stmt: ast.stmt) -> Any:
        if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.Expr, ast.AnnAssign)) \
                or self.stop_name is None:
            return self.last_value
        return self.env.get(self.stop_name)

    def is_cell_statement(self, stmt: ast.stmt) -> bool:
        """A statement directly in the program's body (a notebook shows its value)."""
        return stmt is self.module_statement and self.call_depth == 0

    @property
    def recording(self) -> bool:
        """Whether values go to the graph: not in curve mode, a probe run, or inside a
        function torch calls (torch.func's tensors are not plain tensors)."""
        return not self.curve_mode and self.record_graph and not self.transform_depth

    @property
    def transforming(self) -> bool:
        return self.curve_mode or self.transform_depth > 0

    # -- assignment ---------------------------------------------------------------------
    def assign_target(self, target: ast.expr, value: Any, stmt: ast.AST,
                      scope: Scope) -> None:
        if isinstance(target, ast.Name):
            self._assign_name(target.id, value, stmt, scope)
        elif isinstance(target, (ast.Tuple, ast.List)):
            starred = [i for i, e in enumerate(target.elts) if isinstance(e, ast.Starred)]
            values = self._unpack(value, len(target.elts), starred[0] if starred else None,
                                  target)
            for element, item in zip(target.elts, values):
                inner = element.value if isinstance(element, ast.Starred) else element
                self.assign_target(inner, item, stmt, scope)  # type: ignore[arg-type]
        elif isinstance(target, ast.Attribute):
            owner = self.evaluate(target.value, scope)
            self.set_attribute(target, owner, value, stmt)  # type: ignore[arg-type]
        elif isinstance(target, ast.Subscript):
            owner = self.evaluate(target.value, scope)
            index = self.index_value(target.slice, scope)
            self.set_item(target, owner, index, value, stmt)  # type: ignore[arg-type]
        else:
            raise refuse("Only names can be assigned to here.", target)

    def _assign_name(self, name: str, value: Any, stmt: ast.AST, scope: Scope) -> None:
        top = scope.is_module and self.call_depth == 0 and isinstance(stmt, ast.stmt)
        reason_override = None
        if top and name in self.detach_names and isinstance(value, torch.Tensor):
            value = value.detach()
            reason_override = "detach_option"
        if isinstance(value, torch.Tensor) and not self.transforming and value.requires_grad \
                and not value.is_leaf and self._wants_retain(name):
            value.retain_grad()
        scope.assign(name, value)
        if isinstance(value, ModuleValue) and top and not self.transform_depth:
            self.name_module(name, value)
        if not isinstance(value, torch.Tensor):
            return
        if value.is_leaf and value.requires_grad:
            self.leaf_places.setdefault(id(value), (name, (stmt.lineno, stmt.col_offset)))
            self.switched_off.discard(name)
        if not self.transform_depth:
            self.recorder.named(name, value)
        if top:
            self.assigned_at[name] = (stmt.lineno, stmt.col_offset)
            self._remember_origin(value, stmt)
            self.candidate = (name, value, (stmt.lineno, stmt.col_offset))
            self._dataflow(name, value, stmt, reason_override)  # type: ignore[arg-type]

    def env_changed(self, name: str) -> None:
        """A name was deleted: it is no longer the output candidate."""
        if self.candidate is not None and self.candidate[0] == name:
            self.candidate = None

    def changed_in_place(self, value: Any, stmt: ast.AST) -> None:
        """``x[0] = 1``, ``w.data = ...``: the tensor itself changed here."""
        if self.call_depth == 0 and isinstance(stmt, ast.stmt):
            self._remember_origin(value, stmt)

    def _wants_retain(self, name: str) -> bool:
        if isinstance(self.retain_grad, bool):
            return self.retain_grad
        return name in self.retain_grad

    def _unpack(self, value: Any, count: int, star: int | None, node: ast.AST) -> list[Any]:
        """Python's unpacking (``a, b = t``, ``first, *rest = items``) of any iterable."""
        items = self.materialize(value, node)
        if star is None:
            if len(items) == count:
                return items
            if len(items) > count:
                raise self.python_error(ValueError(
                    f"too many values to unpack (expected {count})"), node,
                    f"Cannot unpack {len(items)} values into {count} names.")
            raise self.python_error(ValueError(
                f"not enough values to unpack (expected {count}, got {len(items)})"), node,
                f"Cannot unpack {len(items)} values into {count} names.")
        after = count - star - 1
        if len(items) < count - 1:
            raise self.python_error(ValueError(
                f"not enough values to unpack (expected at least {count - 1}, got "
                f"{len(items)})"), node)
        return [*items[:star], list(items[star:len(items) - after]),
                *items[len(items) - after:]]

    def materialize(self, value: Any, node: ast.AST, pairs: bool = False) -> list[Any]:
        """All items of an iterable, counted against the size limit as they come."""
        if isinstance(value, (list, tuple)) and not pairs:
            return list(value)
        items: list[Any] = []
        for item in self.iterate(value, node):
            items.append(item)
            if len(items) % 1024 == 0:
                self.tick(node)
                self.check_size(node, items)
        return self.check_size(node, items)

    # -- expression statements ------------------------------------------------------------
    def expression_statement(self, stmt: ast.Expr, value: Any) -> None:
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
        text = self.formatted(expr, lambda: _display(value, repr_=True))
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
        there; in-place updates keep the tensor's identity, so later statements win).
        Inside a loop or an if, that is the whole top-level block."""
        if isinstance(value, torch.Tensor):
            where = self.module_statement or stmt
            self.origins[id(value)] = (where.lineno, where.col_offset)

    def _lookup_quietly(self, node: ast.AST) -> Any:
        return self.env.get(node.id) if isinstance(node, ast.Name) else None

    def segment(self, node: ast.AST) -> str:
        return _segment(self.program, node)

    def _dataflow(self, name: str, value: Any, stmt: ast.stmt, reason: str | None) -> None:
        if self.curve_mode or not self.record_graph or not isinstance(value, torch.Tensor):
            return
        expr = getattr(stmt, "value", None)
        names, differentiates = self._line_facts(expr)
        reads = sorted(n for n in names if n in self.env and n != name
                       and not isinstance(self.env[n], Opaque))
        if isinstance(stmt, ast.AugAssign):
            reads = sorted(set(reads) | {name})
        tracked = value.requires_grad
        cut: list[dict[str, Any]] = []
        sources: list[dict[str, Any]] = []
        if reason is None and torch.is_grad_enabled() and not differentiates:
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

    def _line_facts(self, expr: ast.AST | None) -> tuple[frozenset[str], bool]:
        """What a line's expression says of itself, worked out once per program (a loop
        runs the line many times, a classroom runs the program many times): the names it
        mentions, and whether it calls autograd's API (``torch.autograd.grad(y, x)``),
        whose result is a derivative made from the graph, not from what it reads, so the
        outputs it reads are not "cut" from it."""
        if expr is None:
            return frozenset(), False
        facts = self.program.line_facts.get(id(expr))
        if facts is None:
            nodes = list(ast.walk(expr))
            callees = [self.program.callees.get(id(n)) for n in nodes if isinstance(n, ast.Call)]
            facts = (frozenset(n.id for n in nodes if isinstance(n, ast.Name)),
                     any(c is not None and c.function is not None and c.function.special
                         in ("autograd_grad", "functional", "transform", "func_call")
                         for c in callees))
            self.program.line_facts[id(expr)] = facts
        return facts

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

    # -- the clock and errors ------------------------------------------------------------------
    def tick(self, node: ast.AST) -> None:
        """One operation: counted, and the clock checked (loops tick every iteration)."""
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

    def python_error(self, error: BaseException, node: ast.AST,
                     message: str | None = None) -> ProgramRefused:
        """The error Python would raise here, as a refusal the program's ``except`` can
        catch; uncaught, the learner reads ``message`` (or Python's own text)."""
        text = message or type(error).__name__ + (f": {error}" if str(error) else "")
        return refuse(as_sentence(text), node, "runtime", python=error)

    def guarded(self, node: ast.AST, action: Callable[[], Any]) -> Any:
        """Run ``action`` (a Python or torch operation on the program's values); its
        Python errors become errors the program can catch, with Python's text."""
        try:
            return action()
        except ProgramRefused:
            raise
        except RecursionError:
            raise
        except (TypeError, ValueError, IndexError, KeyError, ZeroDivisionError,
                AttributeError, StopIteration, NotImplementedError) as error:
            kind, message = explain.explain_runtime_error(error, getattr(node, "lineno", None),
                                                          self.limits.memory_limit_mb)
            raise refuse(as_sentence(message), node, kind, python=error) from None

    def formatted(self, node: ast.AST, action: Callable[[], str]) -> str:
        """Text made by engine.language.formatting: its bounds are limits, its refusals
        (a field walking an attribute) the language's; Python's own errors (a spec that
        does not fit the value) are errors the program can catch."""
        def checked() -> str:
            try:
                return action()
            except FormatLimit as error:
                raise refuse(as_sentence(str(error)), node, "limit") from None
            except FormatRefused as error:
                raise refuse(as_sentence(str(error)), node, "refused") from None
        text = self.guarded(node, checked)
        self.check_text_size(node, len(text))
        return text

    def note_once(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def kind_name(self, value: Any) -> str:
        """Python's name for the value's type, as its error messages say it."""
        if isinstance(value, torch.Tensor):
            return "Tensor"
        if isinstance(value, Opaque):
            return value.kind
        return type(value).__name__

    def kind_words(self, value: Any) -> str:
        return _kind_of(value)

    def as_index(self, value: Any, node: ast.AST) -> int:
        """A whole number for range(), enumerate(start=): ints, and one-element integer
        tensors (as Python's __index__ allows)."""
        if isinstance(value, torch.Tensor) and value.numel() == 1 \
                and not value.is_floating_point() and not self.transforming:
            return int(value.item())
        if isinstance(value, int):
            return value
        raise self.python_error(TypeError(
            f"'{self.kind_name(value)}' object cannot be interpreted as an integer"), node)

    # -- sizes of Python's values ------------------------------------------------------------
    def check_size(self, node: ast.AST, value: Any) -> Any:
        """Lists, dicts, sets and text are bounded like tensors are."""
        if isinstance(value, str):
            self.check_text_size(node, len(value))
        elif isinstance(value, (list, tuple, dict, set)) and len(value) > self.limits.max_items:
            raise refuse(f"This would make a {type(value).__name__} of {len(value):,} items; "
                         f"the limit is {self.limits.max_items:,}.", node, "limit")
        return value

    def check_text_size(self, node: ast.AST, size: int) -> None:
        if size > self.limits.max_text_chars:
            raise refuse(f"This would make text of {size:,} characters; the limit is "
                         f"{self.limits.max_text_chars:,}.", node, "limit")

    def literal_numel(self, data: Any) -> int:
        return _literal_numel(data)

    # -- operations -------------------------------------------------------------------------
    def operate(self, node: ast.AST, op: Callable[[Any, Any], Any], left: Any,
                right: Any) -> Any:
        self.tick(node)
        if isinstance(left, str) and op in (operator.mod, operator.imod):
            return self._sequence_operation(node, op, left, right)  # '%.3f' % loss
        tensors = [v for v in (left, right) if isinstance(v, torch.Tensor)]
        if not tensors:
            if isinstance(left, Opaque) or isinstance(right, Opaque):
                symbol = _OPERATOR_WORDS.get(type(getattr(node, "op", None)), "operate on")
                raise self.python_error(TypeError(
                    f"cannot {symbol} {self.kind_name(left)} and {self.kind_name(right)}"),
                    node)
            if isinstance(left, (*_SEQUENCES, dict, set)) \
                    or isinstance(right, (*_SEQUENCES, dict, set)):
                return self._sequence_operation(node, op, left, right)
            if not all(v is None or isinstance(v, (int, float, bool, complex))
                       for v in (left, right)):
                raise self.python_error(TypeError(
                    f"unsupported operand types: '{self.kind_name(left)}' and "
                    f"'{self.kind_name(right)}'"), node,
                    f"Arithmetic works on tensors and numbers, not on {_kind_of(left)}.")
            return self._number(node, op, left, right)
        for value in (left, right):
            if isinstance(value, (Opaque, str, dict, set)):
                raise self.python_error(TypeError(
                    f"unsupported operand type for a tensor: '{self.kind_name(value)}'"),
                    node, f"Arithmetic works on tensors and numbers, not on "
                          f"{_kind_of(value)}.")
        if op in (operator.matmul, operator.imatmul):
            self.predict(node, operator.matmul, [left, right], {})
        elif len(tensors) == 2:
            self.check_numel(node, _broadcast_numel([t.shape for t in tensors]))
        elif isinstance(left, (list, tuple)) or isinstance(right, (list, tuple)):
            self.check_numel(node, max(t.numel() for t in tensors) * max(
                _literal_numel(v) for v in (left, right) if isinstance(v, (list, tuple))))
        return self.produced(node, self.guarded(node, lambda: op(left, right)),
                             _OPERATOR_WORDS.get(type(getattr(node, "op", None)), ""),
                             [left, right])

    def _sequence_operation(self, node: ast.AST, op: Callable[[Any, Any], Any], left: Any,
                            right: Any) -> Any:
        """Text, lists and tuples: + and * (sizes predicted first), % formatting."""
        if isinstance(left, str) and op in (operator.mod, operator.imod):
            return self.formatted(node, lambda: percent_format(left, right))
        if op in (operator.mul, operator.imul):
            sequence, count = (left, right) if isinstance(left, _SEQUENCES) else (right, left)
            if isinstance(count, int) and isinstance(sequence, _SEQUENCES):
                predicted = len(sequence) * max(count, 0)
                if isinstance(sequence, str):
                    self.check_text_size(node, predicted)
                elif predicted > self.limits.max_items:
                    raise refuse(f"This would make a {type(sequence).__name__} of "
                                 f"{predicted:,} items; the limit is "
                                 f"{self.limits.max_items:,}.", node, "limit")
        elif op in (operator.add, operator.iadd) and isinstance(left, _SEQUENCES) \
                and isinstance(right, _SEQUENCES):
            size = len(left) + len(right)
            if isinstance(left, str):
                self.check_text_size(node, size)
            elif size > self.limits.max_items:
                raise refuse(f"This would make a list of {size:,} items; the limit is "
                             f"{self.limits.max_items:,}.", node, "limit")
        return self.check_size(node, self.guarded(node, lambda: op(left, right)))

    def _number(self, node: ast.AST, op: Callable[[Any, Any], Any], left: Any,
                right: Any) -> Any:
        """Plain-number arithmetic, bounded so ``10**10**10`` cannot hang the server."""
        if op in (operator.pow, operator.ipow) and isinstance(left, (int, float)) \
                and isinstance(right, (int, float)) and abs(left) > 1 and right > 0:
            if right * math.log10(abs(left)) > math.log10(self.limits.max_constant) + 300:
                raise refuse("This power of numbers is too large to compute.", node, "limit")
        result = self.guarded(node, lambda: op(left, right))
        if isinstance(result, int) and not isinstance(result, bool) \
                and abs(result) > self.limits.max_constant:
            raise refuse(f"The whole number {result:.3g} is too large: whole numbers are "
                         f"limited to ±{self.limits.max_constant:g}.", node, "limit")
        return result

    def function(self, node: ast.Call, fn: L.Function, args: list[Any],
                 kwargs: dict[str, Any]) -> Any:
        """A table entry: torch's, F's or math's function, guarded by its size kind."""
        if fn.special:
            return self.special(node, fn, args, kwargs)
        self.tick(node)
        if fn.name == "torch.manual_seed":
            if len(args) != 1 or not isinstance(args[0], int) or isinstance(args[0], bool):
                raise refuse("torch.manual_seed takes one whole number.", node, "runtime")
            self.generator.manual_seed(args[0])  # the run's own generator, not torch's
            return None
        for value in [*args, *kwargs.values()]:
            _check_argument(value, node)
        if fn.numbers:
            args = [torch.tensor(float(a)) if isinstance(a, (int, float))
                    and not isinstance(a, bool) else a for a in args]
        if fn.name in ("torch.tensor", "torch.as_tensor") and args:
            self.check_numel(node, _literal_numel(args[0]))
        if fn.creates:
            args, kwargs = _sizes_as_numbers(args), _sizes_as_numbers(kwargs)
        if fn.sizes == "broadcast":
            shapes = [a.shape for a in [*args, *kwargs.values()] if isinstance(a, torch.Tensor)]
            if len(shapes) > 1:
                self.check_numel(node, _broadcast_numel(shapes))
        elif fn.sizes == "predict":
            self.predict(node, fn.call, args, kwargs, creates=fn.creates)
        if isinstance(kwargs.get("device"), str) and kwargs["device"] != "cpu":
            raise self.python_error(RuntimeError(
                f"Torch not compiled with CUDA enabled (device='{kwargs['device']}')"), node,
                f"This app runs on the CPU: there is no '{kwargs['device']}' device here. "
                "Leave device= out, or write device='cpu'.")
        if fn.random and self.replay is not None:
            return self.produced(node, self._replayed(node))
        if fn.random and kwargs.get("generator") is None:
            kwargs = {**kwargs, "generator": self.generator}
        made = self.guarded(node, lambda: fn.call(*args, **kwargs))
        if fn.name in UNINITIALISED:
            scrub(made)
        value = self.produced(node, made, fn.name, [*args, *kwargs.values()])
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

    def tensor_method(self, node: ast.Call, obj: torch.Tensor, name: str, args: list[Any],
                      kwargs: dict[str, Any]) -> Any:
        self.tick(node)
        who = _name_of(node.func.value)  # type: ignore[attr-defined]
        if name == "backward":
            return self.backward(node, obj, who, args, kwargs)
        if name == "register_hook":
            return self.register_hook(node, obj, args)
        if name == "numpy":
            return self.numpy_of(node, obj)
        if name in ("cuda",) or (name == "to" and any(
                (isinstance(a, str) and a != "cpu")
                or (isinstance(a, torch.device) and a.type != "cpu")
                for a in [*args, kwargs.get("device")])):
            raise self.python_error(RuntimeError("Torch not compiled with CUDA enabled"), node,
                                    "This app runs on the CPU: there is no GPU here. Leave "
                                    f"`.{name}(...)` out, or write .to('cpu').")
        if self.transforming and name in ("retain_grad", "requires_grad_"):
            return obj
        for value in [*args, *kwargs.values()]:
            _check_argument(value, node)
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
            self.check_numel(node, _broadcast_numel(shapes))
        elif name in L.TENSOR_METHODS_PREDICT:
            args, kwargs = _sizes_as_numbers(args), _sizes_as_numbers(kwargs)
            self.predict(node, lambda s, *a, **k: getattr(s, name)(*a, **k),
                         [obj, *args], kwargs)
        if name in L.TENSOR_METHODS_RANDOM and kwargs.get("generator") is None:
            kwargs = {**kwargs, "generator": self.generator}
        method = getattr(obj, name)  # name is in L.TENSOR_METHODS (checked)
        result = self.guarded(node, lambda: method(*args, **kwargs))
        if name in UNINITIALISED:
            scrub(result)
        if name == "requires_grad_" and who:
            self.became_leaf(who, obj)
        if name == "tolist":
            return self.check_size(node, result)
        return self.produced(node, result, name, [obj, *args, *kwargs.values()])

    def became_leaf(self, name: str, value: torch.Tensor) -> None:
        """``w.requires_grad_()`` made the tensor already called ``name`` a leaf that
        requires grad. Names reach the graph when assigned, and at its assignment it did
        not require grad yet: tell the recorder now, so the leaf's box carries its name,
        and remember where it was assigned, so a curve can vary it there."""
        if not (value.is_leaf and value.requires_grad):
            return
        self.recorder.named(name, value, rename=False)
        if self.call_depth == 0 and name in self.assigned_at:  # a top-level variable
            self.leaf_places.setdefault(id(value), (name, self.assigned_at[name]))

    def backward(self, node: ast.Call, root: torch.Tensor, who: str | None,
                 args: list[Any], kwargs: dict[str, Any]) -> None:
        if self.transforming:
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
            raise refuse(message, node, kind, python=exc) from None
        self.backward_roots.append((who, root))
        self.grad_events.append({"kind": "backward", "code": _segment(self.program, node),
                                 "of": who, "scaled": bool(args) or "gradient" in kwargs})
        self.training.append(training.step_record(self.env, who, root, node.lineno))
        self.recorder.step_done(root, stop=len(self.backward_roots) == self.graph_step)
        return None

    def print_values(self, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> None:
        self.tick(node)
        unknown = [k for k in kwargs if k not in ("sep", "end", "flush")]
        if unknown:
            raise self.python_error(TypeError(
                f"'{unknown[0]}' is an invalid keyword argument for print()"), node,
                "print(...) takes values, and sep='...', end='...' or flush=True only.")
        sep = kwargs.get("sep", " ")
        end = kwargs.get("end", "\n")
        for name, value in (("sep", sep), ("end", end)):
            if value is not None and not isinstance(value, str):
                raise self.python_error(TypeError(
                    f"{name} must be None or a string, not {self.kind_name(value)}"), node)
        parts = [self.formatted(node, lambda a=a: _display(a)) for a in args]
        text = (" " if sep is None else sep).join(parts) + ("\n" if end is None else end)
        self.printed_chars += len(text)
        if self.printed_chars > self.limits.max_print_chars:
            raise refuse(f"The program printed more than {self.limits.max_print_chars:,} "
                         "characters.", node, "limit")
        if not self.curve_mode:
            self.printed.append(text)
        return None

    # -- size guards -------------------------------------------------------------------------
    def produced(self, node: ast.AST, value: Any, op: str = "",
                 inputs: list[Any] | None = None) -> Any:
        """Every operation's result passes here: type check, size check, graph record,
        and the watch for the first NaN or infinity (``op`` made it from ``inputs``)."""
        if isinstance(value, tuple) and not isinstance(value, torch.Size):
            for item in value:  # torch.return_types.* keep their .values / .indices
                if not isinstance(item, TorchMade):
                    _check_value(item, node)
                if isinstance(item, torch.Tensor) and self.recording:
                    self.recorder.produced(item)
            return value
        _check_value(value, node)
        if isinstance(value, torch.Tensor):
            self.check_numel(node, value.numel())
            if self.recording:
                self.recorder.produced(value)
                if self.packing and value.grad_fn is not None:
                    self.recorder.packed_by_program.add(value.grad_fn)
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

    def check_numel(self, node: ast.AST, numel: int | None) -> None:
        limit = self._tensor_limit()
        if numel is not None and numel > limit:
            raise refuse(f"This would make a tensor of {numel:,} elements; the limit is "
                         f"{limit:,}.", node, "limit")

    def predict(self, node: ast.AST, call: Callable[..., Any], args: list[Any],
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
        self.check_numel(node, sum(r.numel() for r in results
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


def _check_value(value: Any, node: ast.AST) -> None:
    """Defence in depth: an operation's result must be data (tensors, numbers, text and
    containers of them), never a callable, a module or another object."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, CONTAINER_TYPES) and not isinstance(item, torch.Size):
            stack.extend(item)
        elif not isinstance(item, PLAIN_TYPES):
            raise refuse(f"This operation gave a {type(item).__name__}, which programs "
                         "cannot use.", node, "refused")


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
    if isinstance(value, (Opaque, dict, set)):
        raise refuse(f"A torch function takes tensors, numbers and lists, not "
                     f"{_kind_of(value)}.", node, "runtime",
                     python=TypeError(f"unexpected argument of type {type(value).__name__}"))
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
    if isinstance(value, torch.Tensor):
        return "a tensor"
    if isinstance(value, Opaque):
        return f"a {value.kind}"
    if isinstance(value, str):
        return "text"
    return f"a {type(value).__name__}"


def _segment(program: CheckedProgram, node: ast.AST) -> str:
    return _source_text(program.source, node.lineno, node.col_offset,
                        getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None))


@lru_cache(maxsize=1024)
def _source_text(source: str, lineno: int, col: int, end_lineno: int | None,
                 end_col: int | None) -> str:
    """A node's code on one line, at most 80 characters, as ast.get_source_segment gives
    it (columns are UTF-8 byte offsets). Cached, and the source's lines too:
    get_source_segment splits the whole source on every call, which made a 1,000-line
    program quadratic."""
    if end_lineno is None or end_col is None:
        return ""
    lines = _source_lines(source)
    if not 1 <= lineno <= end_lineno <= len(lines):
        return ""
    if lineno == end_lineno:
        raw = lines[lineno - 1].encode()[col:end_col].decode(errors="replace")
    else:
        parts = [lines[lineno - 1].encode()[col:].decode(errors="replace"),
                 *lines[lineno:end_lineno - 1],
                 lines[end_lineno - 1].encode()[:end_col].decode(errors="replace")]
        raw = "\n".join(parts)
    text = " ".join(raw.split())
    return text if len(text) <= 80 else text[:77] + "..."


@lru_cache(maxsize=64)
def _source_lines(source: str) -> list[str]:
    return source.splitlines()


def _display(value: Any, repr_: bool = False) -> str:
    """How print (``str``) or a notebook's Out (``repr``) shows the value: torch's repr
    for tensors, Python's for the rest, made by engine.language.formatting."""
    with torch.no_grad():
        return display_repr(value) if repr_ else display_str(value)


__all__ = ["CurveModeStop", "Interpreter"]
