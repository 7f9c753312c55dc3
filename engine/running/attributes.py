"""Reading and writing what is after a dot or inside brackets: ``x.grad``, ``p.data``,
``y.grad_fn.next_functions``, ``w.grad = None``, ``x[mask] = 0``, ``d['loss']``.

Every attribute a program reads or sets is one of the tables' names (the checker made
sure) and is read here by the interpreter's own code for the value's kind, never with
``getattr`` on a name from the program: a tensor's attributes, the read-only grad_fn view,
a caught exception's ``args``, a numpy view's shape.
"""

from __future__ import annotations

import ast
from typing import Any

import torch

from engine.language import tables as L
from engine.language.values import (
    SAVED_NAME,
    ArrayValue,
    CaughtError,
    ClassValue,
    ContextValue,
    DataLoaderValue,
    GradFnView,
    InstanceValue,
    ModuleValue,
    OptimizerValue,
    ParamGroupView,
    SchedulerValue,
    grad_fn_view,
)
from engine.running.objects.data import is_dataset
from engine.teaching import explain


def _result_field(result: tuple, name: str) -> int | None:
    """Where ``name`` is in one of torch's named results: ``torch.max(x, 1).values``
    (torch.return_types) or ``unpack_dual(y).tangent`` (a namedtuple)."""
    if type(result).__module__ == "torch.return_types":
        return ("values", "indices").index(name) if name in ("values", "indices") else None
    fields = type(result).__dict__.get("_fields", ())
    return fields.index(name) if name in fields else None


class Attributes:
    """Mixed into :class:`engine.running.interpreter.Interpreter`."""

    def read_attribute(self, node: ast.Attribute, obj: Any) -> Any:
        name = node.attr
        if isinstance(obj, torch.Tensor) and name in L.TENSOR_ATTRIBUTES:
            return self._tensor_attribute(node, obj, name)
        if isinstance(obj, GradFnView):
            return self._grad_fn_attribute(node, obj, name)
        if isinstance(obj, ModuleValue):
            return self.module_attribute(node, obj)
        if isinstance(obj, InstanceValue):
            return self.instance_attribute(node, obj)
        if isinstance(obj, ClassValue):
            return self.class_value_attribute(node, obj)
        if isinstance(obj, ContextValue):
            return self.context_attribute(node, obj)
        if isinstance(obj, OptimizerValue):
            return self.optimizer_attribute(node, obj)
        if isinstance(obj, SchedulerValue):
            return self.scheduler_attribute(node, obj)
        if isinstance(obj, DataLoaderValue) and name in DataLoaderValue.attributes:
            return {"dataset": obj.dataset, "batch_size": obj.batch_size,
                    "drop_last": obj.drop_last}[name]
        if isinstance(obj, CaughtError) and name == "args":
            return tuple(a if isinstance(a, (str, int, float, bool, type(None))) else str(a)
                         for a in obj.error.args)
        if isinstance(obj, ArrayValue) and name in ArrayValue.attributes:
            array = obj.array
            values = {"shape": tuple(array.shape), "ndim": int(array.ndim),
                      "size": int(array.size), "dtype": str(array.dtype)}
            return values[name] if name != "T" else ArrayValue(array.T)
        if name in L.RESULT_FIELDS and isinstance(obj, tuple):
            field = _result_field(obj, name)
            if field is not None:
                return obj[field]
        if isinstance(obj, (int, float)) and name in L.NUMBER_ATTRIBUTES:
            return obj.real if name == "real" else obj.imag
        raise self.python_error(AttributeError(
            f"'{self.kind_name(obj)}' object has no attribute '{name}'"), node,
            f"`.{name}` is not an attribute of {self.kind_words(obj)}.")

    def _tensor_attribute(self, node: ast.Attribute, obj: torch.Tensor, name: str) -> Any:
        if name == "grad_fn":
            return grad_fn_view(obj.grad_fn)
        if name == "grad":
            if self.curve_mode:
                from engine.errors import refuse

                raise refuse("A curve cannot be drawn through a program that reads .grad "
                             "before its output.", node, "refused")
            if not obj.is_leaf and not obj.retains_grad:
                who = node.value.id if isinstance(node.value, ast.Name) else "this tensor"
                message = explain.non_leaf_grad_warning(who)
                if message not in self.warnings:
                    self.warnings.append(message)
                return None
            return obj.grad
        if name == "layout":
            return str(obj.layout)  # torch.layout is not a value programs hold
        return getattr(obj, name)  # name is one of L.TENSOR_ATTRIBUTES (checked)

    def _grad_fn_attribute(self, node: ast.Attribute, view: GradFnView, name: str) -> Any:
        """What the autograd notes print of a node: its inputs' nodes, an AccumulateGrad's
        leaf, and the values it saved for backward (tensors and numbers only)."""
        grad_fn = view.node
        if name == "next_functions":
            return tuple((grad_fn_view(fn), int(index))
                         for fn, index in grad_fn.next_functions)
        if name == "variable" and type(grad_fn).__name__ == "AccumulateGrad":
            return grad_fn.variable
        if SAVED_NAME.match(name) and hasattr(grad_fn, name):
            value = self.guarded(node, lambda: getattr(grad_fn, name))  # a saved value
            return self.saved_value(node, value)
        raise self.python_error(AttributeError(
            f"'{type(grad_fn).__name__}' object has no attribute '{name}'"), node)

    def saved_value(self, node: ast.AST, value: Any) -> Any:
        """Saved values are tensors, numbers, shapes or tuples of them; anything else is
        shown as text."""
        if isinstance(value, (torch.Tensor, int, float, bool, type(None), str, torch.Size)):
            return value
        if isinstance(value, (tuple, list)):
            return tuple(self.saved_value(node, v) for v in value)
        return str(value)

    def set_attribute(self, node: ast.Attribute, obj: Any, value: Any,
                      stmt: ast.stmt) -> None:
        """``w.grad = None``, ``p.data = ...``, ``x.requires_grad = True``: tensors only,
        each set by the line written for it."""
        self.tick(node)
        name = node.attr
        if isinstance(obj, ContextValue):
            obj.attrs[name] = value  # ctx.constant = 2: kept for backward
            return
        if self.set_object_attribute(node, obj, value):
            return
        if not isinstance(obj, torch.Tensor):
            raise self.python_error(AttributeError(
                f"'{self.kind_name(obj)}' object has no attribute '{name}'"), node)
        if name not in L.TENSOR_SETTABLE:
            settable = ", ".join(f".{a}" for a in sorted(L.TENSOR_SETTABLE))
            raise self.python_error(AttributeError(
                f"'Tensor' object attribute '{name}' cannot be set here"), node,
                f"Setting `.{name}` of a tensor is not available: a program may set "
                f"{settable} of a tensor.")
        who = node.value.id if isinstance(node.value, ast.Name) else None
        if name == "grad":
            if value is not None and not isinstance(value, torch.Tensor):
                raise self.python_error(TypeError(
                    "assigned grad expected to be a Tensor or None but got grad of type "
                    f"{self.kind_name(value)}"), node)

            def set_grad() -> None:
                obj.grad = value
            self.guarded(node, set_grad)
            self.grad_events.append({"kind": "changed", "code": self.segment(stmt),
                                     "of": who, "scaled": False})
        elif name == "data":
            if not isinstance(value, torch.Tensor):
                raise self.python_error(TypeError(
                    f"Variable data has to be a tensor, but got {self.kind_name(value)}"), node)

            def set_data() -> None:
                obj.data = value
            self.guarded(node, set_data)
        else:  # requires_grad
            flag = self.truth(value, node)

            def set_flag() -> None:
                obj.requires_grad = flag
            self.guarded(node, set_flag)
            if who:
                (self.switched_off.discard if flag else self.switched_off.add)(who)
                self.became_leaf(who, obj)
        self.changed_in_place(obj, stmt)

    # -- items --------------------------------------------------------------------------
    def item_of(self, node: ast.AST, value: Any, index: Any) -> Any:
        self.tick(node)
        if isinstance(value, torch.Tensor):
            parts = index if isinstance(index, tuple) else (index,)
            for part in parts:
                if isinstance(part, float) or isinstance(part, str):
                    raise self.python_error(IndexError(
                        "only integers, slices (`:`), ellipsis (`...`), None and long or "
                        "byte Variables are valid indices"), node)
            if any(isinstance(p, (torch.Tensor, list)) for p in parts):
                self.predict(node, lambda v, i: v[i], [value, index], {})  # advanced
            return self.produced(node, self.guarded(node, lambda: value[index]), "index",
                                 [value])
        if isinstance(value, ModuleValue):
            return self.module_item(node, value, index)
        if is_dataset(value):
            return self.dataset_item(node, value, index)
        if isinstance(value, ParamGroupView):
            return self.group_item(node, value, index)
        if isinstance(value, ArrayValue):
            item = self.guarded(node, lambda: value.array[index])
            return ArrayValue(item) if hasattr(item, "shape") and item.shape else \
                (item.item() if hasattr(item, "item") else item)
        if isinstance(value, (list, tuple, str, dict, range, torch.Size)):
            result = self.guarded(node, lambda: value[index])
            return self.check_size(node, result)
        raise self.python_error(TypeError(
            f"'{self.kind_name(value)}' object is not subscriptable"), node)

    def set_item(self, node: ast.Subscript, owner: Any, index: Any, value: Any,
                 stmt: ast.stmt) -> None:
        """``x[0] = 1.0``, ``x[mask] = 0`` (in place: autograd records it, and refuses it
        on a leaf that requires grad, as torch does), ``d[key] = v``, ``items[i] = v``."""
        self.tick(node)
        if isinstance(owner, torch.Tensor):
            if isinstance(value, torch.Tensor):
                self.check_numel(node, value.numel())

            def write() -> None:
                owner[index] = value
            self.guarded(node, write)
            if not self.transforming and self.record_graph and not self.curve_mode:
                self.recorder.produced(owner)
            self.changed_in_place(owner, stmt)
            return
        if isinstance(owner, ParamGroupView):
            self.set_group_item(node, owner, index, value)
            return
        if isinstance(owner, (list, dict)):
            self.guarded(node, lambda: owner.__setitem__(index, value))
            self.check_size(node, owner)
            return
        raise self.python_error(TypeError(
            f"'{self.kind_name(owner)}' object does not support item assignment"), node)
