"""The program's own autograd Functions: ``class Cube(torch.autograd.Function)``.

torch needs a real ``torch.autograd.Function`` subclass to put a node in the graph and
call its backward during ``loss.backward()``. :func:`make_torch_function` makes one per
class statement, named after the program's class (so the node is ``CubeBackward``, as in
plain torch), whose ``forward`` and ``backward`` are ours: each runs the program's
staticmethod in the interpreter, under the same limits, with a
:class:`~engine.language.values.ContextValue` in place of torch's ``ctx``. An error in
the program's backward reaches the learner with its line, through torch's engine. Each
backward call is recorded (what it received, what it returned) for the step-through view.
"""

from __future__ import annotations

import ast
from typing import Any

import torch

from engine.language.values import ClassValue, ContextValue

_VIEW_KEY = "_autograd_explorer_ctx"  # where torch's ctx keeps the program's view of it


def context_of(ctx: Any) -> ContextValue:
    """The program's ``ctx``: one per torch context, the same in forward and backward."""
    view = getattr(ctx, _VIEW_KEY, None)
    if view is None:
        view = ContextValue(ctx)
        setattr(ctx, _VIEW_KEY, view)
    return view


def make_torch_function(interp: Any, cls: ClassValue) -> type:
    """A torch.autograd.Function subclass that runs ``cls``'s staticmethods."""
    forward, _ = cls.lookup("forward")  # type: ignore[misc]
    backward, _ = cls.lookup("backward")  # type: ignore[misc]
    setup = cls.lookup("setup_context")
    node: ast.AST = cls.node  # type: ignore[assignment]

    def run(function: Any, args: list[Any]) -> Any:
        return interp.call_function(function.node or node, function, args, {})

    def backward_step(ctx: Any, *grads: Any) -> Any:
        returned = run(backward, [context_of(ctx), *grads])
        interp.custom_backward_ran(ctx, cls, backward, grads, returned)
        return checked_gradients(interp, backward.node or node, returned)

    members: dict[str, Any] = {"backward": staticmethod(backward_step)}
    if setup is None:
        members["forward"] = staticmethod(
            lambda ctx, *args: run(forward, [context_of(ctx), *args]))
    else:
        members["forward"] = staticmethod(lambda *args: run(forward, list(args)))
        members["setup_context"] = staticmethod(
            lambda ctx, inputs, output: run(setup[0], [context_of(ctx), tuple(inputs),
                                                      output]))
    return type(cls.name, (torch.autograd.Function,), members)


def checked_gradients(interp: Any, node: ast.AST, returned: Any) -> Any:
    """What a backward hands torch: tensors or None, one per input (or a tuple of them)."""
    items = returned if isinstance(returned, tuple) else (returned,)
    for item in items:
        if item is not None and not isinstance(item, torch.Tensor):
            raise interp.python_error(TypeError(
                f"backward returned {interp.kind_words(item)}; it returns a tensor (or "
                "None) for each input of forward"), node)
    return returned


class CustomFunctions:
    """Mixed into :class:`engine.running.interpreter.Interpreter`."""

    def apply_function(self, node: ast.Call, cls: ClassValue, args: list[Any],
                       kwargs: dict[str, Any]) -> Any:
        """``Cube.apply(x)``: torch runs the program's forward and records one node."""
        self.tick(node)
        if kwargs:
            raise self.python_error(TypeError("apply() takes positional arguments only"),
                                    node)
        for value in args:
            if not isinstance(value, (torch.Tensor, int, float, bool, type(None), str)):
                raise self.python_error(TypeError(
                    f"{cls.name}.apply takes tensors and numbers, not "
                    f"{self.kind_words(value)}"), node)
        result = self.guarded(node, lambda: cls.torch_function.apply(*args))
        return self.produced(node, result, cls.name, list(args))

    def context_method(self, node: ast.Call, view: ContextValue, name: str,
                       args: list[Any], kwargs: dict[str, Any]) -> Any:
        self.tick(node)
        if name in view.attrs:
            return self.call_value(node, view.attrs[name], args, kwargs)
        if name not in ContextValue.methods:
            raise self.python_error(AttributeError(
                f"'{type(view.ctx).__name__}' object has no attribute '{name}'"), node)
        for value in [*args, *kwargs.values()]:
            if not isinstance(value, (torch.Tensor, bool, type(None))):
                raise self.python_error(TypeError(
                    f"ctx.{name}() takes tensors, not {self.kind_words(value)}"), node)
        method = getattr(view.ctx, name)  # one of ContextValue.methods
        self.guarded(node, lambda: method(*args, **kwargs))
        return None

    def context_attribute(self, node: ast.Attribute, view: ContextValue) -> Any:
        name = node.attr
        if name in view.attrs:
            return view.attrs[name]
        if name == "saved_tensors":
            return self.guarded(node, lambda: tuple(view.ctx.saved_tensors))
        if name == "needs_input_grad":
            return tuple(bool(flag) for flag in view.ctx.needs_input_grad)
        raise self.python_error(AttributeError(
            f"'{type(view.ctx).__name__}' object has no attribute '{name}'"), node)

    def custom_backward_ran(self, ctx: Any, cls: ClassValue, backward: Any,
                            grads: tuple, returned: Any) -> None:
        if self.recording:
            self.recorder.custom_backward(ctx, cls.name, backward.node, self.program.source,
                                          grads, returned)
