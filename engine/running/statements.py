"""The interpreter's statements: one handler per kind of ``ast`` statement.

To add a statement kind, add its handler here and its entry in :data:`HANDLERS` (and
let the checker accept it). Loops, ``try``, functions and ``with`` follow Python's own
rules; what only this app adds is bookkeeping for the graph (names, where each value
was made) and the limits: every loop iteration is an operation on the clock.
"""

from __future__ import annotations

import ast
import contextlib
import operator
from collections.abc import Callable, Iterator
from typing import Any

import torch

from engine.errors import ProgramRefused, refuse
from engine.language import tables as L
from engine.language.values import (
    CaughtError,
    Closure,
    DataLoaderValue,
    IteratorValue,
    ModuleValue,
)
from engine.running.objects.data import is_dataset
from engine.running.scope import Scope, Unbound

_IN_PLACE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.iadd, ast.Sub: operator.isub, ast.Mult: operator.imul,
    ast.Div: operator.itruediv, ast.FloorDiv: operator.ifloordiv, ast.Mod: operator.imod,
    ast.Pow: operator.ipow, ast.MatMult: operator.imatmul, ast.BitAnd: operator.iand,
    ast.BitOr: operator.ior, ast.BitXor: operator.ixor,
}
# Errors Python or torch raise that a program's ``except`` may catch. RecursionError and
# MemoryError never are (the interpreter's own frames and the memory budget), nor any
# refusal without a Python exception (limits, the language's boundary).
CATCHABLE = (RuntimeError, ValueError, TypeError, IndexError, KeyError, ZeroDivisionError,
             OverflowError, AssertionError, NameError, AttributeError, NotImplementedError,
             StopIteration, ArithmeticError, LookupError)
_NEVER_CAUGHT = ("can't allocate memory", "not enough memory")


_DONE = object()  # the end of a for loop's items


class BreakLoop(Exception):
    """``break``: leaves the innermost loop."""


class ContinueLoop(Exception):
    """``continue``: on to the loop's next iteration."""


class ReturnValue(Exception):
    """``return``: leaves the function with its value."""

    def __init__(self, value: Any) -> None:
        super().__init__("return")
        self.value = value


class Statements:
    """Mixed into :class:`engine.running.interpreter.Interpreter`."""

    # -- assignment -------------------------------------------------------------------
    def on_assign(self, stmt: ast.Assign, scope: Scope) -> None:
        place = (stmt.lineno, stmt.col_offset)
        value = self.overrides[place] if place in self.overrides else \
            self.evaluate(stmt.value, scope)
        for target in stmt.targets:
            self.assign_target(target, value, stmt, scope)
        self.last_value = value

    def on_annassign(self, stmt: ast.AnnAssign, scope: Scope) -> None:
        if stmt.value is not None:  # the annotation itself is not evaluated
            value = self.evaluate(stmt.value, scope)
            self.assign_target(stmt.target, value, stmt, scope)
            self.last_value = value

    def on_augassign(self, stmt: ast.AugAssign, scope: Scope) -> None:
        """``x += 1``, ``p.data -= lr * p.grad``, ``x[0] *= 2``: read, operate in place
        (tensors change in place, as in Python), write back."""
        target, op = stmt.target, _IN_PLACE[type(stmt.op)]
        if isinstance(target, ast.Name):
            current = self.lookup(target, scope)
            right = self.evaluate(stmt.value, scope)
            value = self.operate(stmt, op, current, right)
            self.assign_target(target, value, stmt, scope)
        elif isinstance(target, ast.Attribute):
            owner = self.evaluate(target.value, scope)
            current = self.read_attribute(target, owner)
            right = self.evaluate(stmt.value, scope)
            value = self.operate(stmt, op, current, right)
            self.set_attribute(target, owner, value, stmt)
        else:
            assert isinstance(target, ast.Subscript)
            owner = self.evaluate(target.value, scope)
            index = self.index_value(target.slice, scope)
            current = self.item_of(target, owner, index)
            right = self.evaluate(stmt.value, scope)
            value = self.operate(stmt, op, current, right)
            self.set_item(target, owner, index, value, stmt)
        self.last_value = value

    # -- expressions and simple statements ---------------------------------------------
    def on_expr(self, stmt: ast.Expr, scope: Scope) -> None:
        value = self.evaluate(stmt.value, scope)
        if self.is_cell_statement(stmt):
            self.expression_statement(stmt, value)
        self.last_value = value

    def on_pass(self, stmt: ast.Pass, scope: Scope) -> None:
        return None

    def on_break(self, stmt: ast.Break, scope: Scope) -> None:
        raise BreakLoop

    def on_continue(self, stmt: ast.Continue, scope: Scope) -> None:
        raise ContinueLoop

    def on_import(self, stmt: ast.stmt, scope: Scope) -> None:
        return None  # imports bind fixed names the checker resolved

    on_importfrom = on_import

    def on_global(self, stmt: ast.stmt, scope: Scope) -> None:
        return None  # the function's scope knows its global and nonlocal names

    on_nonlocal = on_global

    def on_delete(self, stmt: ast.Delete, scope: Scope) -> None:
        for target in stmt.targets:
            if isinstance(target, ast.Name):
                try:
                    scope.delete(target.id)
                except Unbound:
                    raise self.python_error(NameError(f"name '{target.id}' is not defined"),
                                            target) from None
                self.env_changed(target.id)
            elif isinstance(target, (ast.Tuple, ast.List)):
                self.on_delete(ast.Delete(targets=target.elts, lineno=stmt.lineno,
                                          col_offset=stmt.col_offset), scope)
            else:
                owner = self.evaluate(target.value, scope)  # type: ignore[attr-defined]
                index = self.index_value(target.slice, scope)  # type: ignore[attr-defined]
                self.tick(target)
                if not isinstance(owner, (list, dict)):
                    raise self.python_error(TypeError(
                        f"'{self.kind_name(owner)}' object doesn't support item deletion"),
                        target)
                self.guarded(target, lambda o=owner, i=index: o.__delitem__(i))

    # -- control flow -------------------------------------------------------------------
    def on_if(self, stmt: ast.If, scope: Scope) -> None:
        body = stmt.body if self.truth(self.evaluate(stmt.test, scope), stmt.test) \
            else stmt.orelse
        self.block(body, scope)

    def on_for(self, stmt: ast.For, scope: Scope) -> None:
        """Python's for: over ranges, lists, tuples, dicts, text, tensors (their first
        dimension, as ``iter(t)`` does: autograd records it), zip/enumerate/..."""
        items = self.iterate(self.evaluate(stmt.iter, scope), stmt.iter)

        def next_iteration() -> bool:
            item = next(items, _DONE)
            if item is _DONE:
                return False
            self.assign_target(stmt.target, item, stmt, scope)
            return True
        self._loop(stmt, next_iteration, scope)

    def on_while(self, stmt: ast.While, scope: Scope) -> None:
        self._loop(stmt, lambda: self.truth(self.evaluate(stmt.test, scope), stmt.test),
                   scope)

    def _loop(self, stmt: ast.For | ast.While, next_iteration: Callable[[], bool],
              scope: Scope) -> None:
        """Python's loop: the body while ``next_iteration()`` says so (each iteration an
        operation on the clock), ``break``/``continue``, and ``else`` when not broken."""
        while next_iteration():
            self.tick(stmt)
            try:
                self.block(stmt.body, scope)
            except ContinueLoop:
                continue
            except BreakLoop:
                return
        self.block(stmt.orelse, scope)

    def on_with(self, stmt: ast.With, scope: Scope) -> None:
        with contextlib.ExitStack() as stack:
            for item in stmt.items:
                stack.enter_context(self.grad_context(item.context_expr, scope))
            self.block(stmt.body, scope)

    def grad_context(self, expr: ast.expr, scope: Scope) -> contextlib.AbstractContextManager:
        """The grad mode a ``with`` item names (the checker allowed only these)."""
        name = self.program.callees[id(expr)].name
        if name in L.GRAD_MODES:
            if name == "torch.inference_mode" and not self.curve_mode:
                return torch.inference_mode()
            return torch.set_grad_enabled(L.GRAD_MODES[name])
        assert isinstance(expr, ast.Call)
        args = [self.evaluate(a, scope) for a in expr.args]
        kwargs = {k.arg: self.evaluate(k.value, scope) for k in expr.keywords}
        flag = args[0] if args else kwargs.get("mode", True)
        if name.endswith("dual_level"):
            return torch.autograd.forward_ad.dual_level()
        if name.endswith("saved_tensors_hooks"):
            return self.saved_tensors_hooks(expr, args, kwargs)
        if name.endswith("set_grad_enabled"):
            return torch.set_grad_enabled(bool(self.truth(flag, expr)))
        from engine.running.calls import ANOMALY_NOTE

        self.note_once(ANOMALY_NOTE)  # anomaly mode is process-wide: see the note
        return contextlib.nullcontext()

    def saved_tensors_hooks(self, node: ast.Call, args: list[Any],
                            kwargs: dict[str, Any]) -> contextlib.AbstractContextManager:
        """``with torch.autograd.graph.saved_tensors_hooks(pack, unpack):``: torch calls
        the program's pack on what an operation saves, and its unpack (which must give a
        tensor back) when backward needs it."""
        pack = args[0] if args else kwargs.get("pack_hook")
        unpack = args[1] if len(args) > 1 else kwargs.get("unpack_hook")
        pack_python = self.as_python(node, pack, "saved_tensors_hooks")
        unpack_python = self.as_python(node, unpack, "saved_tensors_hooks")

        def unpacked(value: Any) -> Any:
            result = unpack_python(value)
            if not isinstance(result, torch.Tensor):
                raise self.python_error(TypeError(
                    f"unpack_hook must return a tensor, not {self.kind_words(result)}"), node)
            return result
        return self._packing(torch.autograd.graph.saved_tensors_hooks(pack_python, unpacked))

    @contextlib.contextmanager
    def _packing(self, hooks: contextlib.AbstractContextManager) -> Iterator[None]:
        self.packing += 1
        try:
            with hooks:
                yield
        finally:
            self.packing -= 1

    def on_try(self, stmt: ast.Try, scope: Scope) -> None:
        """Python's try: the program catches the errors Python and torch raise (as the
        type they raised: ``except RuntimeError as e: print(e)`` prints torch's text);
        limits and refusals of the language are never caught."""
        try:
            try:
                self.block(stmt.body, scope)
            except ProgramRefused as refusal:
                if refusal.python is None or not self._handle(stmt, refusal.python,
                                                              refusal, scope):
                    raise
            except CATCHABLE as error:
                if any(text in str(error) for text in _NEVER_CAUGHT) \
                        or isinstance(error, RecursionError) \
                        or not self._handle(stmt, error, error, scope):
                    raise
            else:
                self.block(stmt.orelse, scope)
        finally:
            self.block(stmt.finalbody, scope)

    def _handle(self, stmt: ast.Try, error: BaseException, raised: BaseException,
                scope: Scope) -> bool:
        """Run the first handler matching ``error``; ``raised`` is what a bare ``raise``
        inside it raises again."""
        for handler in stmt.handlers:
            types = self.program.types.get(id(handler.type)) if handler.type else None
            if types is not None and not isinstance(error, types):
                continue
            self.tick(handler)
            if handler.name:
                scope.assign(handler.name, CaughtError(error))
            outer, self.handling = self.handling, raised
            try:
                self.block(handler.body, scope)
            finally:
                self.handling = outer
                if handler.name:
                    with contextlib.suppress(Unbound):
                        scope.delete(handler.name)  # as Python does after the handler
            return True
        return False

    def on_raise(self, stmt: ast.Raise, scope: Scope) -> None:
        if stmt.exc is None:
            if self.handling is None:
                raise self.python_error(RuntimeError("No active exception to reraise"), stmt)
            raise self.handling
        exc = stmt.exc
        if isinstance(exc, ast.Name) and exc.id in L.EXCEPTIONS and not scope.has(exc.id):
            error: Any = CaughtError(L.EXCEPTIONS[exc.id]())
        else:
            error = self.evaluate(exc, scope)
        if not isinstance(error, CaughtError):
            raise self.python_error(TypeError("exceptions must derive from BaseException"),
                                    stmt, "`raise` needs an exception, e.g. raise "
                                          "ValueError('what went wrong').")
        raise self.python_error(error.error, stmt)

    def on_assert(self, stmt: ast.Assert, scope: Scope) -> None:
        if not self.truth(self.evaluate(stmt.test, scope), stmt.test):
            message = self.evaluate(stmt.msg, scope) if stmt.msg is not None else None
            error = AssertionError(message) if message is not None else AssertionError()
            raise self.python_error(error, stmt)

    # -- functions ----------------------------------------------------------------------
    def on_functiondef(self, stmt: ast.FunctionDef, scope: Scope) -> None:
        closure = self.make_closure(stmt.name, stmt.args, stmt.body, stmt, scope)
        closure.grad_mode = self.program.decorators.get(id(stmt))
        scope.assign(stmt.name, closure)

    def make_closure(self, name: str, args: ast.arguments, body: Any, node: ast.AST,
                     scope: Scope) -> Closure:
        defaults = [self.evaluate(d, scope) for d in args.defaults]
        kw_defaults = {a.arg: self.evaluate(d, scope)
                       for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None}
        return Closure(name, args, body, defaults, kw_defaults, scope,
                       self.program.local_names.get(id(node), frozenset()),
                       self.program.global_names.get(id(node), frozenset()),
                       self.program.nonlocal_names.get(id(node), frozenset()), node=node)

    def on_return(self, stmt: ast.Return, scope: Scope) -> None:
        raise ReturnValue(None if stmt.value is None else self.evaluate(stmt.value, scope))

    # -- iteration ----------------------------------------------------------------------
    def iterate(self, value: Any, node: ast.AST) -> Iterator[Any]:
        """Python's ``iter(value)`` for the values a program holds."""
        if isinstance(value, torch.Tensor):
            if value.dim() == 0:
                raise self.python_error(TypeError("iteration over a 0-d tensor"), node)
            return iter(value.unbind(0)) if not self.curve_mode else iter(value)
        if isinstance(value, (list, tuple, range, str, dict, set, frozenset, torch.Size)) \
                or type(value).__name__ in ("dict_keys", "dict_values", "dict_items"):
            return iter(value)
        if isinstance(value, IteratorValue):
            return iter(value)
        if isinstance(value, ModuleValue) and self.module_items(value) is not None:
            return self.module_items(value)
        if isinstance(value, DataLoaderValue):
            return self.loader_batches(node, value)
        if is_dataset(value):
            return (self.dataset_item(node, value, i)
                    for i in range(self.dataset_length(node, value)))
        raise self.python_error(TypeError(f"'{self.kind_name(value)}' object is not "
                                          "iterable"), node)


HANDLERS: dict[type, str] = {
    ast.Assign: "on_assign", ast.AnnAssign: "on_annassign", ast.AugAssign: "on_augassign",
    ast.Expr: "on_expr", ast.Pass: "on_pass", ast.Break: "on_break",
    ast.Continue: "on_continue", ast.Import: "on_import", ast.ImportFrom: "on_importfrom",
    ast.Global: "on_global", ast.Nonlocal: "on_nonlocal", ast.Delete: "on_delete",
    ast.If: "on_if", ast.For: "on_for", ast.While: "on_while", ast.With: "on_with",
    ast.Try: "on_try", ast.Raise: "on_raise", ast.Assert: "on_assert",
    ast.FunctionDef: "on_functiondef", ast.Return: "on_return",
    ast.ClassDef: "on_classdef",  # engine.running.objects.classes
}


def statement_handler(stmt: ast.stmt) -> str:
    try:
        return HANDLERS[type(stmt)]
    except KeyError:
        raise refuse("This statement is not available here.", stmt) from None
