"""Calls: torch's functions from the tables, methods by the value's kind, Python's
builtins, the program's own functions, and autograd's API that calls them back.

A call's callee was resolved by the checker (:class:`engine.language.checker.Callee`):
a table entry, a method name, a builtin, or a name whose value decides at run time. The
program's own functions (``def``, ``lambda``) run here in a new scope
(:meth:`Calls.call_function`); when torch must call one (``jacobian(f, x)``,
``x.register_hook(fn)``, ``torch.func.grad(f)``) it gets :meth:`Calls.as_python`: a
Python function of ours that runs the program's function in the interpreter, under the
same limits. Neither a builtin nor a torch function ever becomes a program's value.
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Callable
from typing import Any

import torch

from engine.errors import refuse
from engine.language import tables as L
from engine.language.values import (
    ArrayValue,
    BoundMethod,
    ClassValue,
    Closure,
    ContextValue,
    GradFnView,
    HookHandle,
    InstanceValue,
    ModuleValue,
    OptimizerValue,
    ParamGroupView,
    Partial,
    SchedulerValue,
    SuperValue,
    TableFunction,
    TorchMade,
    Transformed,
)
from engine.running import builtins as B
from engine.running.scope import Scope
from engine.running.statements import ReturnValue

ANOMALY_NOTE = (
    "Anomaly detection (torch.autograd.set_detect_anomaly) is not switched on here: it is "
    "one setting for the whole process, which every learner's program shares. The app "
    "finds the first NaN or infinity for you instead (its line and cause are in these "
    "notes).")
MAX_JACOBIAN_ROWS = 10_000  # backward passes torch.autograd.functional.jacobian may run


class Calls:
    """Mixed into :class:`engine.running.interpreter.Interpreter`."""

    def on_call(self, node: ast.Call, scope: Scope) -> Any:
        callee = self.program.callee(node)
        if callee.kind == "method":
            owner = self.evaluate(node.func.value, scope)  # type: ignore[attr-defined]
            args, kwargs = self.arguments(node, scope)
            return self.method(node, owner, callee.name, args, kwargs)
        if callee.kind in ("name", "user"):
            target = self.callable_named(node, callee.name, scope)
            args, kwargs = self.arguments(node, scope)
            return self.call_value(node, target, args, kwargs)
        if callee.kind == "value":
            target = self.evaluate(node.func, scope)
            args, kwargs = self.arguments(node, scope)
            return self.call_value(node, target, args, kwargs)
        args, kwargs = self.arguments(node, scope)
        if callee.kind == "print":
            return self.print_values(node, args, kwargs)
        if callee.kind == "builtin":
            self.tick(node)
            return B.BUILTINS[callee.name](self, node, args, kwargs)
        if callee.kind == "exception":
            return B.make_exception(self, node, callee.name, args, kwargs)
        if callee.kind == "super":
            return self.make_super(node, args)
        assert callee.function is not None
        return self.function(node, callee.function, args, kwargs)

    def callable_named(self, node: ast.Call, name: str, scope: Scope) -> Any:
        """What a name in call position means now: the program's variable if it has one
        (its own function, or a value that is not callable), else the language's."""
        if scope.has(name):
            return scope.lookup(name)
        if name == "print":
            return B.NamedBuiltin("print")
        if name in L.BUILTIN_NAMES:
            return B.NamedBuiltin(name)
        if name in L.BARE_FUNCTIONS:
            return L.BARE_FUNCTIONS[name]
        if name in L.EXCEPTIONS:
            return B.NamedBuiltin(name, exception=True)
        return self.lookup(node.func, scope)  # type: ignore[arg-type]  (NameError)

    def call_value(self, node: ast.Call, target: Any, args: list[Any],
                   kwargs: dict[str, Any]) -> Any:
        if isinstance(target, (Closure, Transformed, Partial)):
            return self.call_function(node, target, args, kwargs)
        if isinstance(target, BoundMethod):
            return self.call_bound(node, target, args, kwargs)
        if isinstance(target, TableFunction):
            return self.function(node, target.function, args, kwargs)
        if isinstance(target, ModuleValue):
            return self.call_module(node, target, args, kwargs)
        if isinstance(target, ClassValue):
            return self.instantiate(node, target, args, kwargs)
        if isinstance(target, L.Function):
            return self.function(node, target, args, kwargs)
        if isinstance(target, TorchMade):
            self.tick(node)
            for value in [*args, *kwargs.values()]:
                if not isinstance(value, (torch.Tensor, int, float, bool, tuple, list)):
                    raise self.python_error(TypeError(
                        f"{target.name} takes tensors, not {self.kind_words(value)}"), node)
            return self.produced(node, self.guarded(node, lambda: target.call(*args,
                                                                              **kwargs)))
        if isinstance(target, B.NamedBuiltin):
            if target.exception:
                return B.make_exception(self, node, target.name, args, kwargs)
            if target.name == "print":
                return self.print_values(node, args, kwargs)
            self.tick(node)
            return B.BUILTINS[target.name](self, node, args, kwargs)
        raise self.python_error(TypeError(
            f"'{self.kind_name(target)}' object is not callable"), node,
            f"{self.kind_words(target).capitalize()} is not a function: it cannot be "
            "called.")

    def arguments(self, node: ast.Call, scope: Scope) -> tuple[list[Any], dict[str, Any]]:
        args: list[Any] = []
        for arg in node.args:
            if _names_a_type(self.program, arg):
                args.append(None)  # isinstance(x, int): the checker resolved the type
            elif isinstance(arg, ast.Starred):
                args.extend(self.materialize(self.evaluate(arg.value, scope), arg))
            else:
                args.append(self.evaluate(arg, scope))
        kwargs: dict[str, Any] = {}
        for keyword in node.keywords:
            value = self.evaluate(keyword.value, scope)
            if keyword.arg is None:
                if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                    raise self.python_error(TypeError(
                        "argument after ** must be a mapping with text keys"), keyword.value)
                kwargs.update(value)
            else:
                kwargs[keyword.arg] = value
        return args, kwargs

    # -- the program's own functions -----------------------------------------------------------
    def call_function(self, node: ast.AST, fn: Closure | Transformed | Partial,
                      args: list[Any], kwargs: dict[str, Any]) -> Any:
        if isinstance(fn, Partial):
            return self.call_value(node, fn.function, [*fn.args, *args],
                                   {**fn.kwargs, **kwargs})
        if isinstance(fn, Transformed):
            return self.call_transformed(node, fn, args, kwargs)
        self.tick(node)
        if self.call_depth >= self.limits.max_function_depth:
            raise refuse(f"Functions call each other more than {self.limits.max_function_depth}"
                         " deep (a recursion without an end?).", node, "limit")
        local = B.bind_arguments(self, node, fn, args, kwargs)
        scope = Scope(local, outer=fn.outer, local_names=fn.local_names,
                      global_names=fn.global_names, nonlocal_names=fn.nonlocal_names,
                      owner=fn.name)
        if self.recording:
            for name, value in local.items():
                self.recorder.named(name, value, rename=False)
        self.call_depth += 1
        try:
            with self.function_grad_mode(fn):
                if fn.is_lambda:
                    return self.evaluate(fn.body, scope)  # type: ignore[arg-type]
                try:
                    self.block(fn.body, scope)  # type: ignore[arg-type]
                except ReturnValue as returned:
                    return returned.value
                return None
        finally:
            self.call_depth -= 1

    def function_grad_mode(self, fn: Closure) -> contextlib.AbstractContextManager:
        if fn.grad_mode is None:
            return contextlib.nullcontext()
        if fn.grad_mode == "torch.inference_mode" and not self.curve_mode:
            return torch.inference_mode()
        return torch.set_grad_enabled(L.GRAD_MODES[fn.grad_mode])

    def as_python(self, node: ast.AST, fn: Any, what: str,
                  transform: bool = False) -> Callable[..., Any]:
        """A Python function torch can call that runs the program's function ``fn`` (or
        one of the tables' functions, through the interpreter's guards). ``transform``: torch
        calls it with its own kind of tensors (torch.func, jacobian), which stay out of
        the graph's record."""
        if isinstance(fn, TorchMade):  # gradcheck(MyFn.apply, ...): torch's own
            return fn.call
        if not isinstance(fn, (Closure, Transformed, Partial, TableFunction, BoundMethod)):
            raise self.python_error(TypeError(
                f"{what} needs one of the program's own functions (a def or a lambda), "
                f"not {self.kind_words(fn)}"), node)

        def run(*args: Any, **kwargs: Any) -> Any:
            self.transform_depth += transform
            try:
                return self.call_value(node, fn, list(args), kwargs)
            finally:
                self.transform_depth -= transform
        return run

    def call_transformed(self, node: ast.AST, fn: Transformed, args: list[Any],
                         kwargs: dict[str, Any]) -> Any:
        """``torch.func.grad(f)(x)``: torch's transform of our Python function."""
        self.tick(node)
        transform = L.FUNC_TRANSFORMS[fn.transform.rpartition(".")[2]].call
        inner = self.as_python(node, fn.function, fn.transform, transform=True)
        result = self.guarded(node, lambda: transform(inner, **fn.options)(*args, **kwargs))
        return self.produced(node, result)

    # -- torch's functions -----------------------------------------------------------------
    def special(self, node: ast.Call, fn: L.Function, args: list[Any],
                kwargs: dict[str, Any]) -> Any:
        """The table entries the interpreter handles itself (``Function.special``)."""
        kind = fn.special
        if kind == "grad_mode_call":  # torch.set_grad_enabled(False) on its own line
            flag = args[0] if args else kwargs.get("mode", True)
            torch.set_grad_enabled(self.truth(flag, node))
            return None
        if kind == "anomaly":
            self.note_once(ANOMALY_NOTE)
            return None
        if kind == "legacy":
            return self.legacy_tensor(node, fn, args, kwargs)
        if kind == "variable":
            self.note_once("torch.autograd.Variable is the old spelling (before PyTorch "
                           "0.4): a tensor does it all now; write torch.tensor(..., "
                           "requires_grad=True).")
            data = args[0] if args else kwargs.get("data")
            if not isinstance(data, torch.Tensor):
                raise self.python_error(TypeError("Variable data has to be a tensor"), node)
            flag = self.truth(kwargs.get("requires_grad", args[1] if len(args) > 1 else False),
                              node)
            return self.produced(node, data.detach().requires_grad_(flag) if flag else data)
        if kind == "device":
            device = self.guarded(node, lambda: torch.device(*args, **kwargs))
            if device.type != "cpu":
                raise self.python_error(RuntimeError(
                    f"Torch not compiled with CUDA enabled (device '{device}')"), node,
                    f"This app runs on the CPU: there is no '{device}' device here. Use "
                    "the CPU (leave device= out, or write device='cpu').")
            return device
        if kind == "generator":
            return torch.Generator()
        if kind == "module":  # engine.running.objects: torch.nn and torch.optim
            return self.make_module(node, fn, args, kwargs)
        if kind == "parameter":
            return self.make_parameter(node, args, kwargs)
        if kind == "dropout":
            return self.dropout_call(node, args, kwargs)
        if kind == "optimizer":
            return self.make_optimizer(node, fn, args, kwargs)
        if kind == "scheduler":
            return self.make_scheduler(node, fn, args, kwargs)
        if kind == "dataset":
            return self.make_tensor_dataset(node, args, kwargs)
        if kind == "dataloader":
            return self.make_data_loader(node, args, kwargs)
        if kind == "autograd_grad":
            return self.autograd_grad(node, fn, args, kwargs)
        if kind == "autograd_backward":
            roots = args[0] if args else kwargs.get("tensors")
            gradient = args[1] if len(args) > 1 else kwargs.get("grad_tensors")
            if isinstance(roots, torch.Tensor):
                extra = {k: v for k, v in kwargs.items() if k in ("retain_graph",
                                                                 "create_graph", "inputs")}
                if gradient is not None:
                    extra["gradient"] = gradient
                return self.backward(node, roots, None, [], extra)
            self.tick(node)
            return self.guarded(node, lambda: fn.call(*args, **kwargs))
        if kind == "functional":
            return self.functional(node, fn, args, kwargs)
        if kind == "transform":
            if not args:
                raise self.python_error(TypeError(f"{fn.name}() needs a function"), node)
            self.as_python(node, args[0], fn.name)  # refuses anything but the program's
            return Transformed(fn.name, args[0], {**dict(zip(_TRANSFORM_ARGS, args[1:])),
                                                  **kwargs})
        if kind == "partial":
            self.tick(node)
            if not args:
                raise self.python_error(TypeError("partial() needs a function"), node)
            self.as_python(node, args[0], "functools.partial")  # the program's only
            return Partial(args[0], list(args[1:]), dict(kwargs))
        if kind == "func_call":  # torch.func.vjp(f, x) / jvp(f, (x,), (v,))
            self.tick(node)
            inner = self.as_python(node, args[0] if args else None, fn.name, transform=True)
            result = self.guarded(node, lambda: fn.call(inner, *args[1:], **kwargs))
            if isinstance(result, tuple):  # vjp: (output, vjp_fn)
                result = tuple(TorchMade(f"{fn.name}_fn", item) if callable(item)
                               and not isinstance(item, torch.Tensor) else item
                               for item in result)
            return self.produced(node, result)
        raise refuse(f"`{fn.name}` is not available here.", node)  # pragma: no cover

    def autograd_grad(self, node: ast.Call, fn: L.Function, args: list[Any],
                      kwargs: dict[str, Any]) -> Any:
        """``torch.autograd.grad(outputs, inputs, ...)``: gradients returned, not added
        to ``.grad``; ``create_graph=True`` records the backward pass as a graph."""
        self.tick(node)
        if self.curve_mode:
            return self.guarded(node, lambda: fn.call(*args, **kwargs))
        outputs = args[0] if args else kwargs.get("outputs")
        for root in (outputs if isinstance(outputs, (list, tuple)) else [outputs]):
            if isinstance(root, torch.Tensor) and root.grad_fn is not None:
                self.recorder.before_backward(root)
        result = self.guarded(node, lambda: fn.call(*args, **kwargs))
        return self.produced(node, tuple(result))

    def functional(self, node: ast.Call, fn: L.Function, args: list[Any],
                   kwargs: dict[str, Any]) -> Any:
        """``torch.autograd.functional.jacobian(f, x)`` and friends: torch calls the
        program's ``f``; the result's size is checked before torch builds it."""
        self.tick(node)
        name = fn.name.rpartition(".")[2]
        function = args[0] if args else kwargs.pop("func", None)
        inputs = args[1] if len(args) > 1 else kwargs.get("inputs")
        tensors = [inputs] if isinstance(inputs, torch.Tensor) else [
            t for t in (inputs or ()) if isinstance(t, torch.Tensor)]
        in_numel = sum(t.numel() for t in tensors)
        if name in ("hessian",):
            self.check_numel(node, in_numel * in_numel)
        inner = self.as_python(node, function, fn.name, transform=True)

        def measured(*call_args: Any, **call_kwargs: Any) -> Any:
            out = inner(*call_args, **call_kwargs)
            if name == "jacobian":
                outs = out if isinstance(out, (tuple, list)) else [out]
                rows = sum(o.numel() for o in outs if isinstance(o, torch.Tensor))
                if rows > MAX_JACOBIAN_ROWS:
                    raise refuse(f"This Jacobian has {rows:,} rows, one backward pass "
                                 f"each; the limit is {MAX_JACOBIAN_ROWS:,}.", node, "limit")
                self.check_numel(node, rows * in_numel)
            return out
        rest = args[1:] if args else []
        result = self.guarded(node, lambda: fn.call(measured, *rest, **kwargs))
        return self.produced(node, result)

    def legacy_tensor(self, node: ast.Call, fn: L.Function, args: list[Any],
                      kwargs: dict[str, Any]) -> Any:
        """``torch.Tensor([1., 2.])`` copies data; ``torch.Tensor(2, 3)`` makes an
        uninitialised tensor of that size (as torch does: its numbers are whatever was in
        memory). Sizes are checked first."""
        self.tick(node)
        sizes = bool(args) and all(isinstance(a, int) and not isinstance(a, bool)
                                   for a in args)
        if sizes:
            self.check_numel(node, _product(args))
        elif args:
            self.check_numel(node, self.literal_numel(args[0]))
        result = self.guarded(node, lambda: fn.call(*args, **kwargs))
        if sizes:
            scrub(result)
        return self.produced(node, result, fn.name, list(args))

    # -- methods by the value's kind -------------------------------------------------------
    def method(self, node: ast.Call, obj: Any, name: str, args: list[Any],
               kwargs: dict[str, Any]) -> Any:
        if isinstance(obj, torch.Tensor) and name in L.TENSOR_METHODS:
            return self.tensor_method(node, obj, name, args, kwargs)
        if isinstance(obj, (ModuleValue, InstanceValue, ClassValue, SuperValue,
                            ContextValue, OptimizerValue, SchedulerValue, ParamGroupView)):
            return self.object_method(node, obj, name, args, kwargs)
        self.tick(node)
        if isinstance(obj, GradFnView) and name in GradFnView.methods:
            if name == "name":
                return obj.node.name()
            hook = self.as_python(node, args[0] if args else None, f"grad_fn.{name}")
            register = obj.node.register_hook if name == "register_hook" \
                else obj.node.register_prehook
            return HookHandle(register(_hook_returning_data(hook, node, self)))
        if isinstance(obj, HookHandle) and name == "remove":
            obj.handle.remove()
            return None
        if isinstance(obj, ArrayValue) and name in ArrayValue.methods:
            return B.array_method(self, node, obj, name, args, kwargs)
        if isinstance(obj, torch.Generator) and name in L.GENERATOR_METHODS:
            return self.guarded(node, lambda: getattr(obj, name)(*args, **kwargs))
        table = B.METHOD_TABLES.get(type(obj))
        if table is not None and name in table:
            return B.python_method(self, node, obj, name, args, kwargs)
        raise self.python_error(AttributeError(
            f"'{self.kind_name(obj)}' object has no attribute '{name}'"), node,
            f"`.{name}()` is not a method of {self.kind_words(obj)}.")

    def object_method(self, node: ast.Call, obj: Any, name: str, args: list[Any],
                      kwargs: dict[str, Any]) -> Any:
        """Methods of the program's objects and classes, modules, a custom Function's
        ctx, optimizers and schedules (engine.running.objects)."""
        if isinstance(obj, ModuleValue):
            return self.module_method(node, obj, name, args, kwargs)
        if isinstance(obj, InstanceValue):
            if name in obj.attrs:
                return self.call_value(node, obj.attrs[name], args, kwargs)
            found = obj.cls.lookup(name)
            if found is None:
                raise self.python_error(AttributeError(
                    f"'{obj.cls.name}' object has no attribute '{name}'"), node)
            if found[0].static:
                return self.call_function(node, found[0], args, kwargs)
            return self.call_method(node, obj, found[0], found[1], args, kwargs)
        if isinstance(obj, ClassValue):
            if name == "apply" and obj.root == "function":
                return self.apply_function(node, obj, args, kwargs)
            found = obj.lookup(name)
            if found is None:
                raise self.python_error(AttributeError(
                    f"type object '{obj.name}' has no attribute '{name}'"), node)
            return self.call_function(node, found[0], args, kwargs)
        if isinstance(obj, SuperValue):
            return self.super_method(node, obj, name, args, kwargs)
        if isinstance(obj, ContextValue):
            return self.context_method(node, obj, name, args, kwargs)
        if isinstance(obj, OptimizerValue):
            return self.optimizer_method(node, obj, name, args, kwargs)
        if isinstance(obj, SchedulerValue):
            return self.scheduler_method(node, obj, name, args, kwargs)
        return self.group_method(node, obj, name, args)

    def register_hook(self, node: ast.Call, obj: torch.Tensor, args: list[Any]) -> Any:
        hook = self.as_python(node, args[0] if args else None, "register_hook")
        return HookHandle(self.guarded(node, lambda: obj.register_hook(
            _hook_returning_data(hook, node, self))))

    def numpy_of(self, node: ast.Call, obj: torch.Tensor) -> ArrayValue:
        return ArrayValue(self.guarded(node, lambda: obj.numpy()))


_TRANSFORM_ARGS = ("argnums",)  # torch.func.grad(f, 0): the positional option


def _names_a_type(program: Any, node: ast.AST) -> bool:
    """``int``, ``torch.Tensor`` or ``(int, float)`` as isinstance's second argument."""
    if isinstance(node, ast.Tuple):
        return bool(node.elts) and all(id(e) in program.types for e in node.elts)
    return id(node) in program.types


UNINITIALISED = frozenset({"torch.empty", "torch.empty_like", "new_empty"})


def scrub(value: Any) -> None:
    """Zero a tensor torch left uninitialised (``torch.empty``, ``torch.Tensor(2, 3)``):
    its numbers would be whatever the worker's memory held, which may be another
    learner's values. Zeros are one of the values torch may give, so programs keep their
    meaning."""
    if isinstance(value, torch.Tensor):
        with torch.no_grad():
            value.zero_()


def _product(numbers: list[int]) -> int:
    total = 1
    for n in numbers:
        total *= max(n, 0)
    return total


def _hook_returning_data(hook: Callable[..., Any], node: ast.AST, interp: Any,
                         ) -> Callable[..., Any]:
    """A hook's result goes back into torch: only a tensor, None, or a tuple of them."""
    def checked(*values: Any) -> Any:
        result = hook(*values)
        items = result if isinstance(result, tuple) else (result,)
        if not all(v is None or isinstance(v, torch.Tensor) for v in items):
            raise interp.python_error(TypeError(
                "a hook must return a tensor or None"), node)
        return result
    return checked


