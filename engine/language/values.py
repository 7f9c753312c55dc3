"""The values a program can hold that are not plain data: each is the interpreter's own.

A program computes with tensors, numbers, text, tuples, lists and dicts. A few more kinds
of value appear in real tutorial code: its own functions (``def``, ``lambda``) passed to
``torch.autograd.functional.jacobian`` or ``register_hook``; ``y.grad_fn`` and its
``next_functions``; a caught exception (``except RuntimeError as e: print(e)``); ``zip``
and ``enumerate`` objects; ``torch.func.grad(f)``. Each is a small class here that holds
plain data or a torch object behind a fixed table of what a program may read or call
(:data:`Opaque.attributes`, :data:`Opaque.methods`). None of them is a real Python function,
frame, code object or module, and none hands one out: ``shown()`` is their text, for
``print`` and f-strings alike.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

SAVED_NAME = re.compile(r"^_saved_[a-z][a-z0-9_]*$")  # grad_fn._saved_self, _saved_result


class Opaque:
    """Base of the interpreter's own values: what a program may read (``attributes``) and
    call (``methods``) on one, both by fixed name; everything else is refused."""

    attributes: ClassVar[frozenset[str]] = frozenset()
    methods: ClassVar[frozenset[str]] = frozenset()
    kind: ClassVar[str] = "value"

    def shown(self) -> str:
        return f"<{self.kind}>"


@dataclass(eq=False)
class Closure(Opaque):
    """A function the program defined (``def`` or ``lambda``), with the scope it was
    defined in (Python's closures: a nested def sees its enclosing function's names)."""

    name: str
    args: ast.arguments
    body: list[ast.stmt] | ast.expr  # an expression for a lambda
    defaults: list[Any]
    kw_defaults: dict[str, Any]
    outer: Any  # the defining Scope (engine.running.scope.Scope)
    local_names: frozenset[str]
    global_names: frozenset[str] = frozenset()
    nonlocal_names: frozenset[str] = frozenset()
    grad_mode: str | None = None  # a decorator: "no_grad" | "enable_grad" | "inference_mode"
    node: ast.AST | None = None
    static: bool = False  # a method marked @staticmethod: called without the object
    kind: ClassVar[str] = "function"

    @property
    def is_lambda(self) -> bool:
        return isinstance(self.body, ast.expr)

    def shown(self) -> str:
        return f"<function {self.name}>"


@dataclass(eq=False)
class Transformed(Opaque):
    """``torch.func.grad(f)``, ``vmap(f)``, ``jacrev(f)``...: a function made from the
    program's function by one of torch.func's transforms, called later with its inputs."""

    transform: str  # the table's name, e.g. "torch.func.grad"
    function: Any  # a Closure or another Transformed
    options: dict[str, Any] = field(default_factory=dict)
    kind: ClassVar[str] = "function"

    def shown(self) -> str:
        return f"<function {self.transform}({self.function.shown()[1:-1]})>"


@dataclass(eq=False)
class Partial(Opaque):
    """``functools.partial(f, a)``: the program's function with its first arguments
    given now, the rest at the call."""

    function: Any  # a Closure, Transformed or Partial
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    kind: ClassVar[str] = "functools.partial"

    def shown(self) -> str:
        return f"functools.partial({self.function.shown()})"


@dataclass(eq=False)
class TorchMade(Opaque):
    """A function torch itself returned (``torch.func.vjp``'s ``vjp_fn``): the program
    can call it with tensors and nothing else; nothing of it can be read."""

    name: str
    call: Any
    kind: ClassVar[str] = "function"

    def shown(self) -> str:
        return f"<function {self.name}>"


class GradFnView(Opaque):
    """Read-only view of a ``grad_fn`` node: its name, ``next_functions``, the leaf of an
    ``AccumulateGrad`` (``variable``), the saved values autograd keeps for backward
    (``_saved_self``...), and hooks. Printed as torch prints it."""

    attributes = frozenset({"next_functions", "variable"})
    methods = frozenset({"name", "register_hook", "register_prehook"})
    kind = "grad_fn"

    def __init__(self, node: Any) -> None:
        self.node = node

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GradFnView) and other.node is self.node

    def __hash__(self) -> int:
        return hash(id(self.node))

    def shown(self) -> str:
        return repr(self.node)  # torch's own: <PowBackward0 object at 0x...>


def grad_fn_view(node: Any) -> GradFnView | None:
    return None if node is None else GradFnView(node)


@dataclass(eq=False)
class CaughtError(Opaque):
    """An exception the program caught (``except ValueError as e``): its text and args."""

    error: BaseException
    attributes: ClassVar[frozenset[str]] = frozenset({"args"})
    kind: ClassVar[str] = "exception"

    def shown(self) -> str:
        return str(self.error)

    def shown_repr(self) -> str:
        return repr(self.error)


@dataclass(eq=False)
class IteratorValue(Opaque):
    """``zip``, ``enumerate``, ``reversed``, ``map``, ``filter`` and generator expressions:
    a Python iterator over the program's own values, consumed once as in Python."""

    name: str
    items: Iterator[Any]
    kind: ClassVar[str] = "iterator"

    def __iter__(self) -> Iterator[Any]:
        return self.items

    def __next__(self) -> Any:
        return next(self.items)

    def shown(self) -> str:
        return f"<{self.name} object>"


@dataclass(eq=False)
class HookHandle(Opaque):
    """What ``register_hook`` returns: ``.remove()`` takes the hook off again."""

    handle: Any
    methods: ClassVar[frozenset[str]] = frozenset({"remove"})
    kind: ClassVar[str] = "hook handle"

    def shown(self) -> str:
        return "<torch.utils.hooks.RemovableHandle>"


@dataclass(eq=False)
class ArrayValue(Opaque):
    """``t.numpy()``: the numbers as numpy shows them, with its harmless readers only
    (``tolist``, ``shape``...): no file methods, no buffers."""

    array: Any
    attributes: ClassVar[frozenset[str]] = frozenset({"shape", "ndim", "size", "dtype", "T"})
    methods: ClassVar[frozenset[str]] = frozenset({"tolist", "item", "sum", "mean", "max",
                                                   "min", "round"})
    kind: ClassVar[str] = "numpy array"

    def shown(self) -> str:
        return str(self.array)

    def shown_repr(self) -> str:
        return repr(self.array)


def shown_repr(value: Opaque) -> str:
    """``repr`` of an interpreter value (most show the same text for str and repr)."""
    method = getattr(type(value), "shown_repr", None)
    return method(value) if method is not None else value.shown()


# Every kind of value a program may hold; anything else reaching user code is a bug.
PLAIN_TYPES: tuple[type, ...] = (
    torch.Tensor, bool, int, float, complex, str, type(None), torch.Size, torch.dtype,
    torch.device, torch.Generator, range, slice, type(Ellipsis),
)
CONTAINER_TYPES: tuple[type, ...] = (tuple, list, dict, set, frozenset)


# --- the program's own classes, and torch.nn / torch.optim objects (issue 17) -------------
@dataclass(eq=False)
class ClassValue(Opaque):
    """A class the program defined: its name, what it derives from (``base``: "plain",
    "module" for ``nn.Module``, "function" for ``torch.autograd.Function``, or the
    program's own parent class) and its methods (the program's defs). Nothing else of
    Python's class machinery exists here: no metaclass, no class attributes, no
    ``__dict__``."""

    name: str
    base: Any  # "plain" | "module" | "function" | ClassValue
    methods: dict[str, Closure]
    node: ast.ClassDef | None = None
    # torch.autograd.Function subclasses: the real class torch calls (made once per class)
    torch_function: Any = None
    kind: ClassVar[str] = "class"

    @property
    def root(self) -> str:
        """"plain", "module" or "function": what the chain of parents starts from."""
        base = self.base
        while isinstance(base, ClassValue):
            base = base.base
        return base

    def lookup(self, name: str) -> tuple[Closure, ClassValue] | None:
        """The method ``name`` and the class that defines it (parents searched in order)."""
        cls: Any = self
        while isinstance(cls, ClassValue):
            if name in cls.methods:
                return cls.methods[name], cls
            cls = cls.base
        return None

    def is_subclass_of(self, other: ClassValue) -> bool:
        cls: Any = self
        while isinstance(cls, ClassValue):
            if cls is other:
                return True
            cls = cls.base
        return False

    def shown(self) -> str:
        return f"<class '__main__.{self.name}'>"


@dataclass(eq=False)
class InstanceValue(Opaque):
    """An object of one of the program's plain classes: its attributes live here."""

    cls: ClassValue
    attrs: dict[str, Any] = field(default_factory=dict)
    kind: ClassVar[str] = "object"

    def shown(self) -> str:
        return f"<__main__.{self.cls.name} object>"


@dataclass(eq=False)
class ModuleValue(Opaque):
    """A torch.nn module: one of torch's layers, or an object of the program's own
    ``nn.Module`` subclass (``cls``), whose real module holds its registered parameters
    and submodules (so ``parameters()``, ``state_dict()``, optimizers and printing are
    torch's own) while the program's other attributes live in ``attrs``. The program
    reaches the real module only through the interpreter's tables."""

    module: Any  # torch.nn.Module
    cls: ClassValue | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    initialised: bool = True  # False until the program's __init__ calls super().__init__()
    kind: ClassVar[str] = "module"

    def shown(self) -> str:
        return repr(self.module)


@dataclass(eq=False)
class BoundMethod(Opaque):
    """``model.forward`` or ``self.helper``: the program's method with its object."""

    owner: Any  # InstanceValue | ModuleValue
    function: Closure
    defined_in: ClassValue  # where super() inside it starts looking
    kind: ClassVar[str] = "method"

    def shown(self) -> str:
        owner = self.owner.cls.name if getattr(self.owner, "cls", None) else "object"
        return f"<bound method {owner}.{self.function.name}>"


@dataclass(eq=False)
class SuperValue(Opaque):
    """``super()`` inside a method: the object, seen from the parent of ``cls``."""

    owner: Any
    cls: ClassValue
    kind: ClassVar[str] = "super"

    def shown(self) -> str:
        return f"<super: <class '{self.cls.name}'>>"


@dataclass(eq=False)
class ContextValue(Opaque):
    """The ``ctx`` a custom autograd Function's forward and backward receive: what it
    saved for backward, which inputs need a gradient, and the program's own attributes
    (``ctx.constant = 2``). The real context object stays with torch."""

    ctx: Any
    attrs: dict[str, Any] = field(default_factory=dict)
    attributes: ClassVar[frozenset[str]] = frozenset({"saved_tensors", "needs_input_grad"})
    methods: ClassVar[frozenset[str]] = frozenset({
        "save_for_backward", "mark_non_differentiable", "mark_dirty",
        "set_materialize_grads"})
    kind: ClassVar[str] = "ctx"

    def shown(self) -> str:
        return f"<{type(self.ctx).__name__} object>"


@dataclass(eq=False)
class OptimizerValue(Opaque):
    """One of torch.optim's optimizers on the program's parameters; ``step()`` and
    ``zero_grad()`` are torch's own."""

    optimizer: Any
    attributes: ClassVar[frozenset[str]] = frozenset({"param_groups", "defaults"})
    methods: ClassVar[frozenset[str]] = frozenset({"step", "zero_grad", "add_param_group"})
    kind: ClassVar[str] = "optimizer"

    def shown(self) -> str:
        return repr(self.optimizer)


@dataclass(eq=False)
class ParamGroupView(Opaque):
    """``optimizer.param_groups[0]``: its parameters and its numbers (``lr``...), which a
    program may read and change by key, as schedules written by hand do."""

    group: dict[str, Any]
    methods: ClassVar[frozenset[str]] = frozenset({"keys", "items", "values", "get"})
    kind: ClassVar[str] = "param group"

    def shown(self) -> str:
        return "{" + ", ".join(f"'{k}': ..." for k in self.group) + "}"


@dataclass(eq=False)
class SchedulerValue(Opaque):
    """A learning-rate scheduler of torch.optim.lr_scheduler on a program's optimizer."""

    scheduler: Any
    attributes: ClassVar[frozenset[str]] = frozenset({"last_epoch", "base_lrs"})
    methods: ClassVar[frozenset[str]] = frozenset({"step", "get_last_lr"})
    kind: ClassVar[str] = "lr scheduler"

    def shown(self) -> str:
        return f"<torch.optim.lr_scheduler.{type(self.scheduler).__name__} object>"


class TableFunction(Opaque):
    """One of the language's functions used as a value (``loss_func = F.cross_entropy``,
    ``vmap(torch.sin)``, ``type(m) == nn.Linear``): the table's entry, called only through
    the interpreter, which guards it as when it is called by name."""

    kind = "function"

    def __init__(self, function: Any) -> None:
        self.function = function  # an engine.language.tables.Function

    @property
    def qualified(self) -> str | None:
        """``torch.nn.modules.linear.Linear`` for a class: ``type(layer)`` equals it."""
        call = self.function.call
        return f"{call.__module__}.{call.__qualname__}" if isinstance(call, type) else None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TableFunction):
            return other.function.name == self.function.name
        qualified = getattr(other, "qualified", None)
        return qualified is not None and qualified == self.qualified

    def __hash__(self) -> int:
        return hash(self.function.name)

    def shown(self) -> str:
        qualified = self.qualified
        return f"<class '{qualified}'>" if qualified else f"<function {self.function.name}>"


@dataclass(eq=False)
class TensorDatasetValue(Opaque):
    """``torch.utils.data.TensorDataset(x, y)``: item ``i`` is ``(x[i], y[i])``."""

    tensors: tuple
    kind: ClassVar[str] = "TensorDataset"

    def shown(self) -> str:
        return "<torch.utils.data.dataset.TensorDataset object>"


@dataclass(eq=False)
class DataLoaderValue(Opaque):
    """``DataLoader(dataset, batch_size, shuffle, drop_last)``: batches of a dataset,
    drawn and stacked as torch's DataLoader does (engine.running.objects.data)."""

    dataset: Any  # TensorDatasetValue or an object of the program's Dataset subclass
    batch_size: int = 1
    shuffle: bool = False
    drop_last: bool = False
    attributes: ClassVar[frozenset[str]] = frozenset({"dataset", "batch_size", "drop_last"})
    kind: ClassVar[str] = "DataLoader"

    def shown(self) -> str:
        return "<torch.utils.data.dataloader.DataLoader object>"
