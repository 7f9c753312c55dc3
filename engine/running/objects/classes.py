"""The program's own classes: ``class Net(nn.Module)``, plain classes, and their objects.

A class statement makes a :class:`~engine.language.values.ClassValue`: its name, its
parent and its methods (the program's defs, run by the interpreter like any function).
Calling it makes an object (an :class:`InstanceValue`, or for an ``nn.Module`` subclass a
:class:`ModuleValue` around a real module, so torch registers its parameters) and runs its
``__init__``. ``self.name`` reads the object's own attributes first, then its class's
methods, as Python does. ``super()`` is the object seen from the parent of the class whose
method is running (the interpreter keeps that class on :attr:`Classes.method_stack`).
"""

from __future__ import annotations

import ast
from typing import Any

import torch

from engine.errors import refuse
from engine.language.values import (
    BoundMethod,
    ClassValue,
    Closure,
    InstanceValue,
    ModuleValue,
    SuperValue,
    TorchMade,
)
from engine.running.objects.functions import make_torch_function
from engine.running.objects.modules import ProgramModule, module_value
from engine.running.scope import Scope


class Classes:
    """Mixed into :class:`engine.running.interpreter.Interpreter`."""

    def on_classdef(self, stmt: ast.ClassDef, scope: Scope) -> None:
        self.tick(stmt)
        base: Any = self.program.class_bases[id(stmt)]
        if base not in ("plain", "module", "function", "dataset"):
            parent = scope.lookup(base) if scope.has(base) else None
            if not isinstance(parent, ClassValue):
                raise self.python_error(TypeError(
                    f"the parent of {stmt.name} must be a class defined before it; "
                    f"{base} is {self.kind_words(parent)}"), stmt.bases[0])
            base = parent
        methods: dict[str, Closure] = {}
        for item in stmt.body:
            if isinstance(item, ast.FunctionDef):
                closure = self.make_closure(item.name, item.args, item.body, item, scope)
                closure.grad_mode = self.program.decorators.get(id(item))
                closure.static = id(item) in self.program.static_methods
                methods[item.name] = closure
        cls = ClassValue(stmt.name, base, methods, stmt)
        if cls.root == "function":
            for required in ("forward", "backward"):
                if cls.lookup(required) is None:
                    raise refuse(f"A torch.autograd.Function needs a @staticmethod "
                                 f"`{required}`.", stmt, "runtime")
            cls.torch_function = make_torch_function(self, cls)
        scope.assign(stmt.name, cls)

    # -- objects ---------------------------------------------------------------------------
    def instantiate(self, node: ast.AST, cls: ClassValue, args: list[Any],
                    kwargs: dict[str, Any]) -> Any:
        """``Net(3)``: a new object, then its ``__init__`` (the nearest one up the chain)."""
        self.tick(node)
        if cls.root == "function":
            raise self.python_error(RuntimeError(
                "Legacy autograd function with non-static forward method is deprecated"),
                node, f"A torch.autograd.Function is not made into an object: call "
                      f"{cls.name}.apply(...) instead of {cls.name}()(...).")
        found = cls.lookup("__init__")
        if cls.root == "module":
            obj: Any = module_value(ProgramModule(cls.name), cls)
            obj.initialised = found is None
            described = cls.lookup("extra_repr")
            if described is not None:
                obj.module.__dict__["_describe"] = lambda: self._described(node, obj,
                                                                           *described)
        else:
            obj = InstanceValue(cls)
        if found is None:
            if args or kwargs:
                raise self.python_error(TypeError(f"{cls.name}() takes no arguments"), node)
            return obj
        function, defined_in = found
        result = self.call_method(node, obj, function, defined_in, args, kwargs)
        if result is not None:
            raise self.python_error(TypeError(
                f"__init__() should return None, not '{self.kind_name(result)}'"), node)
        return obj

    def _described(self, node: ast.AST, obj: Any, function: Closure,
                   defined_in: ClassValue) -> str:
        text = self.call_method(node, obj, function, defined_in, [], {})
        if not isinstance(text, str):
            raise self.python_error(TypeError(
                f"extra_repr must return text, not {self.kind_words(text)}"), node)
        return text

    def call_method(self, node: ast.AST, owner: Any, function: Closure,
                    defined_in: ClassValue, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """Run one of the program's methods with ``owner`` as ``self``."""
        self.method_stack.append((defined_in, owner))
        try:
            return self.call_function(node, function, [owner, *args], kwargs)
        finally:
            self.method_stack.pop()

    def call_bound(self, node: ast.AST, method: BoundMethod, args: list[Any],
                   kwargs: dict[str, Any]) -> Any:
        return self.call_method(node, method.owner, method.function, method.defined_in,
                                args, kwargs)

    def class_attribute(self, node: ast.Attribute, owner: Any, cls: ClassValue | None,
                        ) -> tuple[bool, Any]:
        """A method of the object's class by name: ``(True, value)`` when there is one
        (bound to the object, or the function itself for a @staticmethod)."""
        if cls is None:
            return False, None
        found = cls.lookup(node.attr)
        if found is None:
            return False, None
        function, defined_in = found
        return True, function if function.static else BoundMethod(owner, function, defined_in)

    def instance_attribute(self, node: ast.Attribute, obj: InstanceValue) -> Any:
        if node.attr in obj.attrs:
            return obj.attrs[node.attr]
        found, value = self.class_attribute(node, obj, obj.cls)
        if found:
            return value
        raise self.python_error(AttributeError(
            f"'{obj.cls.name}' object has no attribute '{node.attr}'"), node)

    def class_value_attribute(self, node: ast.Attribute, cls: ClassValue) -> Any:
        """``Net.forward``: the function itself (called with the object first);
        ``Cube.apply``: the custom Function, to call later (``P3 = Legendre.apply``)."""
        if node.attr == "apply" and cls.root == "function":
            return TorchMade(f"{cls.name}.apply", cls.torch_function.apply)
        found = cls.lookup(node.attr)
        if found is None:
            raise self.python_error(AttributeError(
                f"type object '{cls.name}' has no attribute '{node.attr}'"), node)
        return found[0]

    # -- super() ------------------------------------------------------------------------------
    def make_super(self, node: ast.Call, args: list[Any]) -> SuperValue:
        """``super()`` or ``super(Net, self)``."""
        self.tick(node)
        if args:
            if len(args) != 2 or not isinstance(args[0], ClassValue):
                raise self.python_error(TypeError(
                    "super() takes no arguments here, or the class and self"), node)
            return SuperValue(args[1], args[0])
        if not self.method_stack:
            raise self.python_error(RuntimeError("super(): no arguments"), node,
                                    "super() works inside a method of a class.")
        defined_in, owner = self.method_stack[-1]
        return SuperValue(owner, defined_in)

    def super_method(self, node: ast.Call, sup: SuperValue, name: str, args: list[Any],
                     kwargs: dict[str, Any]) -> Any:
        """``super().__init__()`` and ``super().forward(x)``: the parent's method; at the
        top of the chain, torch.nn.Module's or object's own."""
        parent = sup.cls.base
        if isinstance(parent, ClassValue):
            found = parent.lookup(name)
            if found is not None:
                return self.call_method(node, sup.owner, found[0], found[1], args, kwargs)
        if name == "__init__":
            self.tick(node)
            if args or kwargs:
                what = "Module.__init__()" if isinstance(sup.owner, ModuleValue) \
                    else "object.__init__()"
                raise self.python_error(TypeError(
                    f"{what} takes exactly one argument (the instance to initialize)"), node)
            if isinstance(sup.owner, ModuleValue):
                sup.owner.initialised = True
            return None
        if isinstance(sup.owner, ModuleValue):
            return self.module_method(node, sup.owner, name, args, kwargs, own=False)
        raise self.python_error(AttributeError(f"'super' object has no attribute '{name}'"),
                                node)

    def set_object_attribute(self, node: ast.Attribute, obj: Any, value: Any) -> bool:
        """``self.size = 3`` on the program's own objects and ``ctx.constant = c``; False
        when ``obj`` is not one of those."""
        if isinstance(obj, InstanceValue):
            obj.attrs[node.attr] = value
            return True
        if isinstance(obj, ModuleValue):
            self.set_module_attribute(node, obj, value)
            return True
        return False

    def type_name(self, value: Any) -> str:
        """``type(value).__name__`` as Python gives it."""
        cls = getattr(value, "cls", None)
        if isinstance(value, (InstanceValue, ModuleValue)) and isinstance(cls, ClassValue):
            return cls.name
        if isinstance(value, ModuleValue):
            return type(value.module).__name__
        if isinstance(value, ClassValue):
            return "type"
        if isinstance(value, torch.Tensor):
            return type(value).__name__  # Tensor, Parameter
        return self.kind_name(value)

    def is_instance_of(self, value: Any, cls: ClassValue) -> bool:
        owner_cls = getattr(value, "cls", None)
        return isinstance(value, (InstanceValue, ModuleValue)) and isinstance(
            owner_cls, ClassValue) and owner_cls.is_subclass_of(cls)
