"""torch.optim in a program: torch's own optimizers and schedules on its parameters.

``optim.SGD(model.parameters(), lr=0.1)`` makes torch's SGD over the program's tensors;
``step()`` and ``zero_grad()`` are torch's. What a program can reach is fixed: the
optimizer's keyword arguments (per optimizer, :data:`engine.language.tables.OPTIMIZER_OPTIONS`),
``step()`` without a closure, ``param_groups`` as views whose numbers (``lr``...) can be
read and changed, and the schedulers' ``step()`` and ``get_last_lr()``.
"""

from __future__ import annotations

import ast
from typing import Any

import torch

from engine.language import tables as L
from engine.language.values import (
    IteratorValue,
    OptimizerValue,
    ParamGroupView,
    SchedulerValue,
)

# The numbers of a parameter group a program may change (``g['lr'] = 0.01``).
# (every optimizer's options, and what a schedule adds)
GROUP_NUMBERS = frozenset().union(*L.OPTIMIZER_OPTIONS.values(), {"initial_lr"})


class Optimizers:
    """Mixed into :class:`engine.running.interpreter.Interpreter`."""

    def make_optimizer(self, node: ast.Call, fn: L.Function, args: list[Any],
                       kwargs: dict[str, Any]) -> OptimizerValue:
        self.tick(node)
        name = fn.name.rpartition(".")[2]
        allowed = L.OPTIMIZER_OPTIONS[name]
        unknown = [k for k in kwargs if k not in allowed]
        if unknown:
            raise self.python_error(TypeError(
                f"{name}() got an unexpected keyword argument '{unknown[0]}'"), node,
                f"{name} takes {', '.join(sorted(allowed))} here.")
        if not args and "params" not in kwargs:
            raise self.python_error(TypeError(
                f"{name}() missing 1 required positional argument: 'params'"), node)
        params = self._parameter_groups(node, args[0] if args else kwargs.pop("params"))
        options = {k: self._option(node, k, v) for k, v in kwargs.items()}
        rest = [self._option(node, "lr", v) for v in args[1:2]]
        return OptimizerValue(self.guarded(node, lambda: fn.call(params, *rest, **options)))

    def _option(self, node: ast.AST, key: str, value: Any) -> Any:
        if isinstance(value, tuple) and all(isinstance(v, (int, float)) for v in value):
            return value
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            return value.detach()
        if not isinstance(value, (bool, int, float)):
            raise self.python_error(TypeError(
                f"{key}= takes a number, not {self.kind_words(value)}"), node)
        return value

    def _parameter_groups(self, node: ast.AST, given: Any) -> list[Any]:
        """The tensors to optimise, or groups of them (``[{'params': ..., 'lr': ...}]``):
        leaf tensors only, as torch requires."""
        items = self.materialize(given, node) if not isinstance(given, torch.Tensor) \
            else [given]
        groups: list[Any] = []
        for item in items:
            if isinstance(item, dict):
                group = dict(item)
                group["params"] = self._tensors(node, group.get("params", []))
                for key, value in group.items():
                    if key != "params":
                        if key not in GROUP_NUMBERS:
                            raise self.python_error(KeyError(key), node,
                                                    f"A parameter group takes params and "
                                                    f"the optimizer's numbers, not '{key}'.")
                        group[key] = self._option(node, key, value)
                groups.append(group)
            else:
                groups.extend(self._tensors(node, [item]))
        return groups

    def _tensors(self, node: ast.AST, given: Any) -> list[torch.Tensor]:
        items = [given] if isinstance(given, torch.Tensor) else self.materialize(given, node)
        for item in items:
            if not isinstance(item, torch.Tensor):
                raise self.python_error(TypeError(
                    f"optimizer can only optimize Tensors, but one of the params is "
                    f"{self.kind_words(item)}"), node)
        return items

    def optimizer_method(self, node: ast.Call, opt: OptimizerValue, name: str,
                         args: list[Any], kwargs: dict[str, Any]) -> Any:
        self.tick(node)
        optimizer = opt.optimizer
        if name == "step":
            if args or kwargs:
                raise self.python_error(TypeError("step() takes no closure here"), node,
                                        "Call optimizer.step() with no arguments, after "
                                        "loss.backward().")
            self.guarded(node, optimizer.step)
            for group in optimizer.param_groups:
                for p in group["params"]:
                    self.changed_in_place(p, self.statement)
            return None
        if name == "zero_grad":
            flag = args[0] if args else kwargs.get("set_to_none", True)
            self.guarded(node, lambda: optimizer.zero_grad(set_to_none=self.truth(flag, node)))
            self.grad_events.append({"kind": "changed", "code": self.segment(node),
                                     "of": None, "scaled": False})
            return None
        if name == "add_param_group":
            group = self._parameter_groups(node, [args[0] if args else {}])[0]
            self.guarded(node, lambda: optimizer.add_param_group(group))
            return None
        raise self.python_error(AttributeError(
            f"'{type(optimizer).__name__}' object has no attribute '{name}'"), node)

    def optimizer_attribute(self, node: ast.Attribute, opt: OptimizerValue) -> Any:
        if node.attr == "param_groups":
            return [ParamGroupView(g) for g in opt.optimizer.param_groups]
        if node.attr == "defaults":
            return {k: v for k, v in opt.optimizer.defaults.items() if k in GROUP_NUMBERS}
        raise self.python_error(AttributeError(
            f"'{type(opt.optimizer).__name__}' object has no attribute '{node.attr}'"), node)

    # -- parameter groups -----------------------------------------------------------------
    def group_item(self, node: ast.AST, view: ParamGroupView, key: Any) -> Any:
        if key == "params":
            return list(view.group["params"])
        if key in GROUP_NUMBERS and key in view.group:
            return view.group[key]
        raise self.python_error(KeyError(key), node)

    def set_group_item(self, node: ast.AST, view: ParamGroupView, key: Any,
                       value: Any) -> None:
        if key not in GROUP_NUMBERS or key not in view.group:
            numbers = ", ".join(sorted(k for k in view.group if k in GROUP_NUMBERS))
            raise self.python_error(KeyError(key), node, f"A parameter group's numbers can "
                                    f"be changed ({numbers}), not '{key}'.")
        view.group[key] = self._option(node, key, value)

    def group_method(self, node: ast.Call, view: ParamGroupView, name: str,
                     args: list[Any]) -> Any:
        self.tick(node)
        keys = [k for k in view.group if k == "params" or k in GROUP_NUMBERS]
        if name == "keys":
            return IteratorValue("dict_keys", iter(keys))
        if name == "values":
            return IteratorValue("dict_values", iter([self.group_item(node, view, k)
                                                      for k in keys]))
        if name == "items":
            return IteratorValue("dict_items", iter([(k, self.group_item(node, view, k))
                                                     for k in keys]))
        if name != "get":
            raise self.python_error(AttributeError(
                f"'param group' object has no attribute '{name}'"), node,
                "A parameter group's numbers are changed one by one: g['lr'] = 0.01.")
        key = args[0] if args else None
        return self.group_item(node, view, key) if key in keys else (
            args[1] if len(args) > 1 else None)

    # -- schedulers ------------------------------------------------------------------------
    def make_scheduler(self, node: ast.Call, fn: L.Function, args: list[Any],
                       kwargs: dict[str, Any]) -> SchedulerValue:
        self.tick(node)
        optimizer = args[0] if args else kwargs.pop("optimizer", None)
        if not isinstance(optimizer, OptimizerValue):
            raise self.python_error(TypeError(
                f"{fn.name.rpartition('.')[2]} takes an optimizer first, not "
                f"{self.kind_words(optimizer)}"), node)
        rest = args[1:]
        for value in [*rest, *kwargs.values()]:
            if not isinstance(value, (int, float, list, tuple)) or isinstance(value, bool):
                raise self.python_error(TypeError(
                    f"a schedule takes numbers, not {self.kind_words(value)}"), node)
        return SchedulerValue(self.guarded(node, lambda: fn.call(optimizer.optimizer, *rest,
                                                                  **kwargs)))

    def scheduler_method(self, node: ast.Call, sched: SchedulerValue, name: str,
                         args: list[Any], kwargs: dict[str, Any]) -> Any:
        self.tick(node)
        if name == "step":
            if args or kwargs:
                raise self.python_error(TypeError("scheduler.step() takes no arguments here"),
                                        node)
            self.guarded(node, sched.scheduler.step)
            return None
        if name == "get_last_lr":
            return [float(v) for v in sched.scheduler.get_last_lr()]
        raise self.python_error(AttributeError(
            f"'{type(sched.scheduler).__name__}' object has no attribute '{name}'"), node)

    def scheduler_attribute(self, node: ast.Attribute, sched: SchedulerValue) -> Any:
        if node.attr == "last_epoch":
            return int(sched.scheduler.last_epoch)
        if node.attr == "base_lrs":
            return [float(v) for v in sched.scheduler.base_lrs]
        raise self.python_error(AttributeError(
            f"'{type(sched.scheduler).__name__}' object has no attribute '{node.attr}'"),
            node)
