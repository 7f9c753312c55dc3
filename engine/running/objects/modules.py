"""torch.nn modules in a program: making layers, calling them, reading and setting them.

A module is a :class:`~engine.language.values.ModuleValue` around a real
``torch.nn.Module``. For torch's layers that is the layer itself (made by
:mod:`engine.running.objects.layers` from the run's generator); for the program's own
``nn.Module`` subclass it is a :class:`ProgramModule`, an empty module named after the
class, in which torch registers what the program's ``__init__`` assigns: parameters and
submodules, so ``parameters()``, ``state_dict()``, ``zero_grad()``, optimizers and
``print(model)`` are torch's own. The program's other attributes (numbers, lists, plain
tensors, functions) stay in the value's ``attrs``; its ``forward`` is run by the
interpreter. A call of any module is recorded with the graph nodes it made, so the graph
can draw the call as a box around its operations.
"""

from __future__ import annotations

import ast
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from engine.errors import refuse
from engine.language import tables as L
from engine.language.values import (
    ClassValue,
    Closure,
    IteratorValue,
    ModuleValue,
    Opaque,
)
from engine.running.objects import layers

_LAYERS_THAT_GROW = (nn.Linear, nn.Bilinear, nn.Embedding, nn.Conv1d, nn.Conv2d,
                     nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.Unflatten)
_VALUE_KEY = "_autograd_explorer_value"  # where a real module keeps its ModuleValue


class ProgramModule(nn.Module):
    """The real module behind an object of the program's ``nn.Module`` subclass: torch
    registers its parameters and submodules; it prints under the program's class name.
    Its forward is the program's, run by the interpreter, never by torch."""

    def __init__(self, class_name: str) -> None:
        super().__init__()
        self.__dict__["_class_name"] = class_name

    def _get_name(self) -> str:
        return self.__dict__["_class_name"]

    def extra_repr(self) -> str:
        """The program's own ``extra_repr`` (what print(model) shows inside the
        brackets), run by the interpreter."""
        describe = self.__dict__.get("_describe")
        return describe() if describe is not None else ""

    def forward(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - never called
        raise RuntimeError("a program's module is called through the interpreter")


def module_value(module: nn.Module, cls: ClassValue | None = None) -> ModuleValue:
    """The one ModuleValue of a real module (``model.fc1 is model.fc1`` holds)."""
    existing = module.__dict__.get(_VALUE_KEY)
    if existing is not None:
        return existing
    value = ModuleValue(module, cls)
    module.__dict__[_VALUE_KEY] = value
    return value


def qualified_name(variable: str, path: str, direct: bool = False) -> str:
    """A parameter's or submodule's name in the app: torch's path (``fc1.weight``,
    ``fc1``), with the variable in front where the path alone says little: the module
    itself (``model``), its own parameters (``direct``: ``linear.weight``) and a
    Sequential's numbered layers (``model.0.weight``)."""
    if not path:
        return variable
    if direct or path[0].isdigit():
        return f"{variable}.{path}"
    return path


class Modules:
    """Mixed into :class:`engine.running.interpreter.Interpreter`."""

    # -- making -------------------------------------------------------------------------------
    def make_module(self, node: ast.Call, fn: L.Function, args: list[Any],
                    kwargs: dict[str, Any]) -> ModuleValue:
        """``nn.Linear(3, 4)``, ``nn.Sequential(...)``, ``nn.MSELoss()``."""
        self.tick(node)
        kind = fn.call
        if issubclass(kind, layers.CONTAINERS):
            return module_value(self._container(node, kind, args, kwargs))
        for value in [*args, *kwargs.values()]:
            self._plain_argument(node, value, fn.name)
        if isinstance(kwargs.get("device"), str) and kwargs["device"] != "cpu":
            raise self.python_error(RuntimeError("Torch not compiled with CUDA enabled"),
                                    node, "This app runs on the CPU: leave device= out.")
        count = self.guarded(node, lambda: layers.parameter_count(kind, args, kwargs))
        self.parameters_made += count
        if self.parameters_made > self.limits.max_parameters:
            raise refuse(f"This layer would make the program's parameters "
                         f"{self.parameters_made:,} numbers; the limit is "
                         f"{self.limits.max_parameters:,}.", node, "limit")
        module = self.guarded(node, lambda: layers.make_layer(kind, args, kwargs,
                                                              self.generator))
        return module_value(module)

    def _plain_argument(self, node: ast.AST, value: Any, name: str) -> None:
        items = list(value) if isinstance(value, (tuple, list)) else [value]
        for item in items:
            if isinstance(item, torch.Tensor):
                if item.numel() > self.limits.max_tensor_elements:
                    raise refuse("This tensor is too large for a layer.", node, "limit")
                continue
            if not isinstance(item, layers.PLAIN_ARGUMENTS):
                raise self.python_error(TypeError(
                    f"{name}() takes sizes and options, not {self.kind_words(item)}"), node)

    def _container(self, node: ast.Call, kind: type, args: list[Any],
                   kwargs: dict[str, Any]) -> nn.Module:
        """Sequential(a, b), ModuleList([a, b]), ModuleDict({'a': a}): of modules only."""
        if kwargs:
            raise self.python_error(TypeError(
                f"{kind.__name__}() takes modules only, no keyword arguments"), node)

        def real(value: Any) -> nn.Module:
            if not isinstance(value, ModuleValue):
                raise self.python_error(TypeError(
                    f"{kind.__name__} holds modules, not {self.kind_words(value)}"), node)
            return value.module
        if kind is nn.ModuleDict:
            given = args[0] if args else {}
            if not isinstance(given, dict):
                raise self.python_error(TypeError("ModuleDict takes a dict of modules"), node)
            return nn.ModuleDict({str(k): real(v) for k, v in given.items()})
        if kind is nn.ModuleList:
            items = self.materialize(args[0], node) if args else []
            return nn.ModuleList([real(v) for v in items])
        if len(args) == 1 and isinstance(args[0], dict):
            return nn.Sequential(OrderedDict((str(k), real(v)) for k, v in args[0].items()))
        return nn.Sequential(*[real(v) for v in args])

    def make_parameter(self, node: ast.Call, args: list[Any],
                       kwargs: dict[str, Any]) -> nn.Parameter:
        """``nn.Parameter(torch.randn(3))``: a leaf that a module registers."""
        self.tick(node)
        data = args[0] if args else kwargs.get("data", torch.empty(0))
        flag = args[1] if len(args) > 1 else kwargs.get("requires_grad", True)
        if not isinstance(data, torch.Tensor):
            raise self.python_error(TypeError(
                f"Parameter takes a tensor, not {self.kind_words(data)}"), node)
        return self.produced(node, self.guarded(
            node, lambda: nn.Parameter(data, requires_grad=self.truth(flag, node))))

    def dropout_call(self, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """``F.dropout(x, p=0.5, training=True)``, drawn from the run's generator."""
        self.tick(node)
        x = args[0] if args else kwargs.get("input")
        p = args[1] if len(args) > 1 else kwargs.get("p", 0.5)
        training = args[2] if len(args) > 2 else kwargs.get("training", True)
        if not isinstance(x, torch.Tensor) or not isinstance(p, (int, float)):
            raise self.python_error(TypeError("dropout takes a tensor and a probability p"),
                                    node)
        return self.produced(node, self.guarded(node, lambda: layers.dropout(
            x, float(p), self.truth(training, node), self.generator)), "dropout", [x])

    # -- calling ----------------------------------------------------------------------------
    def call_module(self, node: ast.AST, mv: ModuleValue, args: list[Any],
                    kwargs: dict[str, Any]) -> Any:
        """``model(x)``: the program's forward, or torch's layer; recorded as one call."""
        self.tick(node)
        module = mv.module
        frame = self.recorder.module_call_started(module) if self.recording else None
        try:
            if mv.cls is not None:
                found = mv.cls.lookup("forward")
                if found is None:
                    raise self.python_error(NotImplementedError(
                        f'Module [{mv.cls.name}] is missing the required "forward" '
                        "function"), node)
                result = self.call_method(node, mv, found[0], found[1], args, kwargs)
            elif isinstance(module, nn.Sequential):
                if len(args) != 1 or kwargs:
                    raise self.python_error(TypeError(
                        "Sequential.forward() takes exactly one input"), node)
                result = args[0]
                for child in module:
                    result = self.call_module(node, module_value(child), [result], {})
            elif isinstance(module, (nn.ModuleList, nn.ModuleDict)):
                raise self.python_error(NotImplementedError(
                    f'Module [{type(module).__name__}] is missing the required "forward" '
                    "function"), node, f"A {type(module).__name__} holds modules but is not "
                    "called itself: call its modules in a loop, e.g. for layer in "
                    "self.layers: x = layer(x).")
            else:
                result = self._layer_call(node, module, args, kwargs)
        finally:
            if frame is not None:
                self.recorder.module_call_ended(frame)
        if frame is not None:
            self.recorder.module_call_made(frame, args, result)
        return result

    def _layer_call(self, node: ast.AST, module: nn.Module, args: list[Any],
                    kwargs: dict[str, Any]) -> Any:
        for value in [*args, *kwargs.values()]:
            if not isinstance(value, (torch.Tensor, int, float, bool, type(None))):
                raise self.python_error(TypeError(
                    f"{type(module).__name__} takes tensors, not {self.kind_words(value)}"),
                    node)
        if isinstance(module, nn.Dropout):
            if len(args) != 1 or kwargs:
                raise self.python_error(TypeError("Dropout takes one tensor"), node)
            return self.produced(node, self.guarded(node, lambda: layers.dropout(
                args[0], module.p, module.training, self.generator)), "dropout", args)
        if isinstance(module, _LAYERS_THAT_GROW):
            self._predict_layer(node, module, args, kwargs)
        result = self.guarded(node, lambda: module(*args, **kwargs))
        return self.produced(node, result, type(module).__name__, list(args))

    def _predict_layer(self, node: ast.AST, module: nn.Module, args: list[Any],
                       kwargs: dict[str, Any]) -> None:
        """The output's size, on the meta device, before a layer makes it."""
        meta = {name: torch.empty_like(t, device="meta")
                for name, t in [*module.named_parameters(), *module.named_buffers()]}
        self.predict(node, lambda *a, **k: torch.func.functional_call(module, meta, a, k),
                     list(args), kwargs)

    # -- methods ----------------------------------------------------------------------------
    def module_method(self, node: ast.Call, mv: ModuleValue, name: str, args: list[Any],
                      kwargs: dict[str, Any], own: bool = True) -> Any:
        """The program's own method first (``own``), then torch's, from the table."""
        if own and mv.cls is not None:
            if name in mv.attrs:
                return self.call_value(node, mv.attrs[name], args, kwargs)
            found = mv.cls.lookup(name)
            if found is not None:
                if found[0].static:
                    return self.call_function(node, found[0], args, kwargs)
                return self.call_method(node, mv, found[0], found[1], args, kwargs)
        if name in mv.module._modules and mv.module._modules[name] is not None:
            child = module_value(mv.module._modules[name])  # self.fc1(x)
            return self.call_module(node, child, args, kwargs)
        self.tick(node)
        if name not in L.MODULE_METHODS:
            raise self.python_error(AttributeError(
                f"'{mv.module._get_name()}' object has no attribute '{name}'"), node)
        self._require_initialised(node, mv)
        module = mv.module
        if name == "forward":
            return self.call_module(node, mv, args, kwargs)
        if name in ("parameters", "buffers", "children", "modules"):
            items = list(getattr(module, name)(*args, **kwargs))
            wrap = module_value if name in ("children", "modules") else (lambda v: v)
            return IteratorValue("generator", iter([wrap(v) for v in items]))
        if name in ("named_parameters", "named_buffers", "named_children", "named_modules"):
            items = list(getattr(module, name)(*args, **kwargs))
            wrap = module_value if name in ("named_children", "named_modules") \
                else (lambda v: v)
            return IteratorValue("generator", iter([(k, wrap(v)) for k, v in items]))
        if name == "state_dict":
            return self.guarded(node, lambda: module.state_dict())
        if name in ("zero_grad", "requires_grad_"):
            self.guarded(node, lambda: getattr(module, name)(*args, **kwargs))
            if name == "zero_grad":
                self.grad_events.append({"kind": "changed", "code": self.segment(node),
                                         "of": None, "scaled": False})
            return None if name == "zero_grad" else mv
        if name in ("train", "eval", "float", "double", "cpu"):
            self.guarded(node, lambda: getattr(module, name)(*args, **kwargs))
            return mv
        if name == "to":
            for value in [*args, *kwargs.values()]:
                if (isinstance(value, str) and value != "cpu") or (
                        isinstance(value, torch.device) and value.type != "cpu"):
                    raise self.python_error(RuntimeError(
                        "Torch not compiled with CUDA enabled"), node,
                        "This app runs on the CPU: leave .to(device) out.")
            self.guarded(node, lambda: module.to(*args, **kwargs))
            return mv
        if name == "apply":
            return self._apply(node, mv, args)
        if name == "reset_parameters":
            self.guarded(node, lambda: layers.reset_parameters(module, self.generator))
            return None
        if name in ("add_module", "register_parameter", "register_buffer"):
            if len(args) != 2 or not isinstance(args[0], str) or args[0].startswith("_"):
                raise self.python_error(TypeError(
                    f"{name}() takes a name (not starting with _) and a value"), node)
            value = args[1]
            real = value.module if isinstance(value, ModuleValue) else value
            if isinstance(real, Opaque) or not isinstance(real, (nn.Module, torch.Tensor,
                                                                 type(None))):
                raise self.python_error(TypeError(
                    f"{name}() takes a module or a tensor"), node)
            self.guarded(node, lambda: getattr(module, name)(args[0], real))
            return None
        return self._container_method(node, mv, name, args, kwargs)

    def _container_method(self, node: ast.Call, mv: ModuleValue, name: str,
                          args: list[Any], kwargs: dict[str, Any]) -> Any:
        module = mv.module
        if isinstance(module, nn.ModuleDict) and name in ("keys", "values", "items"):
            items = list(getattr(module, name)())
            if name == "values":
                items = [module_value(v) for v in items]
            elif name == "items":
                items = [(k, module_value(v)) for k, v in items]
            return IteratorValue(f"odict_{name}", iter(items))
        if isinstance(module, (nn.ModuleList, nn.Sequential)) and name in (
                "append", "extend", "insert"):
            values = [args[-1]] if name != "extend" else self.materialize(args[0], node)
            reals = []
            for value in values:
                if not isinstance(value, ModuleValue):
                    raise self.python_error(TypeError(
                        f"{type(module).__name__} holds modules, not "
                        f"{self.kind_words(value)}"), node)
                reals.append(value.module)
            if name == "append":
                self.guarded(node, lambda: module.append(reals[0]))
            elif name == "extend":
                self.guarded(node, lambda: module.extend(reals))
            else:
                self.guarded(node, lambda: module.insert(args[0], reals[0]))
            return mv if name != "insert" else None
        raise self.python_error(AttributeError(
            f"'{type(module).__name__}' object has no attribute '{name}'"), node)

    def _apply(self, node: ast.Call, mv: ModuleValue, args: list[Any]) -> ModuleValue:
        """``model.apply(init_weights)``: the program's function on every submodule, then
        on the module itself (torch's order)."""
        if len(args) != 1 or not isinstance(args[0], Closure):
            raise self.python_error(TypeError(
                "apply() takes one of the program's own functions"), node)
        for child in mv.module.children():
            self._apply(node, module_value(child), args)
        self.call_function(node, args[0], [mv], {})
        return mv

    def _require_initialised(self, node: ast.AST, mv: ModuleValue) -> None:
        if not mv.initialised:
            raise self.python_error(AttributeError(
                f"'{mv.module._get_name()}' object has no attribute '_parameters'"), node,
                f"{mv.module._get_name()}'s __init__ must call super().__init__() first.")

    # -- attributes -------------------------------------------------------------------------
    def module_attribute(self, node: ast.Attribute, mv: ModuleValue) -> Any:
        """``self.fc1``, ``layer.weight``, ``model.training``, ``layer.in_features``."""
        name = node.attr
        module = mv.module
        if name in mv.attrs:
            return mv.attrs[name]
        if name in module._parameters:
            return module._parameters[name]
        if name in module._buffers:
            return module._buffers[name]
        if name in module._modules:
            child = module._modules[name]
            return None if child is None else module_value(child)
        found, value = self.class_attribute(node, mv, mv.cls)
        if found:
            return value
        if name == "training":
            return module.training
        if mv.cls is None and name in L.MODULE_ATTRIBUTES and name in vars(module):
            value = vars(module)[name]
            if isinstance(value, (bool, int, float, str, type(None), tuple, list)):
                return value
        raise self.python_error(AttributeError(
            f"'{module._get_name()}' object has no attribute '{name}'"), node)

    def set_module_attribute(self, node: ast.Attribute, mv: ModuleValue, value: Any) -> None:
        """``self.fc1 = nn.Linear(3, 4)`` registers a submodule, ``self.w =
        nn.Parameter(...)`` a parameter (torch's own rules and errors); anything else is
        one of the program's attributes. torch's layers take modules and parameters only."""
        name = node.attr
        module = mv.module
        if name == "training":
            module.training = self.truth(value, node)
            return
        real = value.module if isinstance(value, ModuleValue) else value
        registered = name in module._parameters or name in module._modules \
            or name in module._buffers
        if isinstance(real, (nn.Module, nn.Parameter)) or registered:
            if not mv.initialised:
                what = "module" if isinstance(real, nn.Module) else "parameters"
                raise self.python_error(AttributeError(
                    f"cannot assign {what} before Module.__init__() call"), node,
                    f"Call super().__init__() at the start of {module._get_name()}'s "
                    "__init__, before giving it layers or parameters.")
            if isinstance(real, Opaque) or not isinstance(
                    real, (nn.Module, torch.Tensor, type(None))):
                raise self.python_error(TypeError(
                    f"cannot assign '{self.kind_name(value)}' as child module or "
                    f"parameter '{name}'"), node)
            mv.attrs.pop(name, None)
            self.guarded(node, lambda: setattr(module, name, real))
            return
        if mv.cls is None:
            raise self.python_error(AttributeError(
                f"cannot set '{name}' of {type(module).__name__}"), node,
                f"A torch layer's settings are fixed when it is made: make a new "
                f"nn.{type(module).__name__}(...) instead of setting .{name}.")
        mv.attrs[name] = value

    # -- items, len and iteration ------------------------------------------------------------
    def module_item(self, node: ast.AST, mv: ModuleValue, index: Any) -> Any:
        module = mv.module
        if not isinstance(module, (nn.Sequential, nn.ModuleList, nn.ModuleDict)):
            raise self.python_error(TypeError(
                f"'{module._get_name()}' object is not subscriptable"), node)
        item = self.guarded(node, lambda: module[index])
        return module_value(item)

    def module_items(self, mv: ModuleValue) -> Iterator[Any]:
        module = mv.module
        if isinstance(module, nn.ModuleDict):
            return iter(list(module.keys()))
        if isinstance(module, (nn.Sequential, nn.ModuleList)):
            return iter([module_value(m) for m in module])
        return None  # type: ignore[return-value]

    def name_module(self, name: str, mv: ModuleValue) -> None:
        """A top-level variable holds a module: its parameters and submodules are named
        in the graph and the tables by their path (``fc1.weight``)."""
        for path, sub in mv.module.named_modules():
            self.recorder.module_names.setdefault(sub, qualified_name(name, path))
        for path, parameter in mv.module.named_parameters():
            self.recorder.named(qualified_name(name, path, "." not in path), parameter,
                                rename=False)

