"""Python's builtins and the methods of Python's own values, for the program's values.

One table, :data:`BUILTINS`, name -> how the interpreter does it: to add a builtin, add
a function here and its name to ``engine.language.tables.BUILTIN_NAMES``. Each takes the
interpreter, the call node and the evaluated arguments; each works on the program's own
values and keeps the interpreter's limits: anything that consumes an iterable counts its
items against the size limit, anything that calls the program's function (``key=``,
``map``) calls it through the interpreter.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch

from engine.language import tables as L
from engine.language.formatting import display_repr, display_str, str_format
from engine.language.values import (
    ArrayValue,
    CaughtError,
    ClassValue,
    Closure,
    DataLoaderValue,
    IteratorValue,
    ModuleValue,
    Opaque,
)
from engine.running.objects.data import is_dataset

Builtin = Callable[[Any, ast.Call, list[Any], dict[str, Any]], Any]


@dataclass(frozen=True)
class NamedBuiltin:
    """A builtin named in call position (never a value a program holds)."""

    name: str
    exception: bool = False


@dataclass(eq=False)
class TypeName(Opaque):
    """``type(x)``: prints as Python does (``<class 'torch.Tensor'>``); compares equal
    to the type of another value of the same kind. Not a class: nothing to call."""

    qualified: str
    kind = "type"

    def __eq__(self, other: object) -> bool:
        # another type(...), or a class of the tables (type(m) == nn.Linear)
        return getattr(other, "qualified", None) == self.qualified

    def __hash__(self) -> int:
        return hash(self.qualified)

    def shown(self) -> str:
        return f"<class '{self.qualified}'>"


def _no_kwargs(interp: Any, node: ast.Call, name: str, kwargs: dict[str, Any],
               allowed: tuple[str, ...] = ()) -> None:
    extra = [k for k in kwargs if k not in allowed]
    if extra:
        raise interp.python_error(TypeError(
            f"{name}() got an unexpected keyword argument '{extra[0]}'"), node)


def _key(interp: Any, node: ast.Call, kwargs: dict[str, Any]) -> Callable[[Any], Any] | None:
    key = kwargs.get("key")
    return None if key is None else interp.as_python(node, key, "key=")


_CONTAINERS = (torch.nn.Sequential, torch.nn.ModuleList, torch.nn.ModuleDict)


def _len(interp: Any, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> int:
    _no_kwargs(interp, node, "len", kwargs)
    (value,) = _exactly(interp, node, "len", args, 1)
    if isinstance(value, ModuleValue) and isinstance(value.module, _CONTAINERS):
        return len(value.module)
    if isinstance(value, DataLoaderValue):
        return interp.loader_length(node, value)
    if is_dataset(value):
        return interp.dataset_length(node, value)
    if isinstance(value, Opaque) and not isinstance(value, ArrayValue):
        raise interp.python_error(TypeError(
            f"object of type '{interp.kind_name(value)}' has no len()"), node)
    return interp.guarded(node, lambda: len(value.array if isinstance(value, ArrayValue)
                                             else value))


def _range(interp: Any, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> range:
    _no_kwargs(interp, node, "range", kwargs)
    numbers = [interp.as_index(a, node) for a in args]
    return interp.guarded(node, lambda: range(*numbers))


def _extreme(which: Callable[..., Any], name: str) -> Builtin:
    def extreme(interp: Any, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> Any:
        _no_kwargs(interp, node, name, kwargs, ("key", "default"))
        values = interp.materialize(args[0], node) if len(args) == 1 else list(args)
        options: dict[str, Any] = {}
        key = _key(interp, node, kwargs)
        if key is not None:
            options["key"] = key
        if "default" in kwargs:
            options["default"] = kwargs["default"]
        return interp.produced(node, interp.guarded(node, lambda: which(values, **options)))
    return extreme


def _sum(interp: Any, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> Any:
    _no_kwargs(interp, node, "sum", kwargs, ("start",))
    if not args:
        raise interp.python_error(TypeError("sum() takes at least 1 positional argument"),
                                  node)
    total = args[1] if len(args) > 1 else kwargs.get("start", 0)
    for item in interp.iterate(args[0], node):
        total = interp.operate(node, lambda a, b: a + b, total, item)
    return total


def _sorted(interp: Any, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> list:
    _no_kwargs(interp, node, "sorted", kwargs, ("key", "reverse"))
    (values,) = _exactly(interp, node, "sorted", args, 1)
    items = interp.materialize(values, node)
    key = _key(interp, node, kwargs)
    reverse = bool(kwargs.get("reverse", False))
    return interp.guarded(node, lambda: sorted(items, key=key, reverse=reverse))


def _lazy(name: str, make: Callable[..., Iterator[Any]]) -> Builtin:
    def lazy(interp: Any, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> Any:
        return IteratorValue(name, make(interp, node, args, kwargs))
    return lazy


def _enumerate(interp: Any, node: ast.Call, args: list[Any],
               kwargs: dict[str, Any]) -> Iterator[Any]:
    _no_kwargs(interp, node, "enumerate", kwargs, ("start",))
    start = interp.as_index(args[1] if len(args) > 1 else kwargs.get("start", 0), node)
    return enumerate(interp.iterate(args[0], node), start)


def _zip(interp: Any, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> Iterator:
    _no_kwargs(interp, node, "zip", kwargs, ("strict",))
    return zip(*(interp.iterate(a, node) for a in args), strict=bool(kwargs.get("strict")))


def _reversed(interp: Any, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> Iterator:
    _no_kwargs(interp, node, "reversed", kwargs)
    (value,) = _exactly(interp, node, "reversed", args, 1)
    if isinstance(value, torch.Tensor):
        return reversed(list(interp.iterate(value, node)))
    if not isinstance(value, (list, tuple, range, str)):
        raise interp.python_error(TypeError(
            f"'{interp.kind_name(value)}' object is not reversible"), node)
    return reversed(value)


def _map(interp: Any, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> Iterator:
    _no_kwargs(interp, node, "map", kwargs)
    function = interp.as_python(node, args[0] if args else None, "map()")
    return map(function, *(interp.iterate(a, node) for a in args[1:]))


def _filter(interp: Any, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> Iterator:
    _no_kwargs(interp, node, "filter", kwargs)
    test = None if args[0] is None else interp.as_python(node, args[0], "filter()")
    items = interp.iterate(args[1], node)
    if test is None:
        return (v for v in items if interp.truth(v, node))
    return (v for v in items if interp.truth(test(v), node))


def _collection(kind: type) -> Builtin:
    def collect(interp: Any, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if kind is dict:
            result = dict(interp.materialize(args[0], node, pairs=True)) if args else {}
            result.update(kwargs)
            return interp.check_size(node, result)
        _no_kwargs(interp, node, kind.__name__, kwargs)
        if not args:
            return kind()
        return interp.check_size(node, interp.guarded(
            node, lambda: kind(interp.materialize(args[0], node))))
    return collect


def _str(interp: Any, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> str:
    _no_kwargs(interp, node, "str", kwargs)
    return interp.formatted(node, lambda: display_str(args[0])) if args else ""


def _repr(interp: Any, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> str:
    _no_kwargs(interp, node, "repr", kwargs)
    (value,) = _exactly(interp, node, "repr", args, 1)
    return interp.formatted(node, lambda: display_repr(value))


def _number(kind: type) -> Builtin:
    def convert(interp: Any, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> Any:
        _no_kwargs(interp, node, kind.__name__, kwargs)
        if not args:
            return kind()
        value = args[0]
        if isinstance(value, Opaque):
            raise interp.python_error(TypeError(
                f"{kind.__name__}() argument must be a string or a number, not "
                f"'{interp.kind_name(value)}'"), node)
        if kind is int and len(args) > 1:
            return interp.guarded(node, lambda: int(value, args[1]))
        if kind is bool:
            return interp.truth(value, node)
        if isinstance(value, str) and len(value) > 100:
            raise interp.python_error(ValueError(f"text too long for {kind.__name__}()"), node)
        return interp.guarded(node, lambda: kind(value))
    return convert


def _isinstance(interp: Any, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> bool:
    _no_kwargs(interp, node, "isinstance", kwargs)
    types = interp.program.types.get(id(node.args[1])) if len(node.args) == 2 else None
    if types is None:
        types = _types_of(interp, node.args[1]) if len(node.args) == 2 else None
    if types is None and len(args) == 2 and isinstance(args[1], ClassValue):
        return interp.is_instance_of(args[0], args[1])  # isinstance(m, Net)
    if types is None:
        raise interp.python_error(TypeError(
            "isinstance() arg 2 must be a type name such as int, float, list or "
            "torch.Tensor"), node)
    value = args[0]
    if isinstance(value, CaughtError):
        value = value.error
    if isinstance(value, ModuleValue):
        value = value.module  # isinstance(m, nn.Linear)
    return isinstance(value, types)


def _types_of(interp: Any, node: ast.AST) -> tuple[type, ...] | None:
    if isinstance(node, ast.Tuple):
        found = [interp.program.types.get(id(e)) for e in node.elts]
        if all(t is not None for t in found):
            flat: list[type] = []
            for t in found:
                flat.extend(t if isinstance(t, tuple) else (t,))
            return tuple(flat)
    return None


def _truth_of_all(all_items: bool) -> Builtin:
    def check(interp: Any, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> bool:
        _no_kwargs(interp, node, "all" if all_items else "any", kwargs)
        for item in interp.iterate(args[0], node):
            interp.tick(node)
            if interp.truth(item, node) != all_items:
                return not all_items
        return all_items
    return check


def _type(interp: Any, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> TypeName:
    (value,) = _exactly(interp, node, "type", args, 1)
    if isinstance(value, torch.nn.Parameter):
        return TypeName("torch.nn.parameter.Parameter")
    if isinstance(value, torch.Tensor):
        return TypeName("torch.Tensor")
    if isinstance(value, ModuleValue):
        if value.cls is not None:
            return value.cls  # type(model) == Net
        kind = type(value.module)
        return TypeName(f"{kind.__module__}.{kind.__qualname__}")
    if isinstance(value, CaughtError):
        return TypeName(type(value.error).__name__)
    if isinstance(value, Opaque):
        return TypeName(value.kind)
    kind = type(value)
    module = "" if kind.__module__ == "builtins" else kind.__module__ + "."
    return TypeName(module + kind.__qualname__)


def _divmod(interp: Any, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> Any:
    a, b = _exactly(interp, node, "divmod", args, 2)
    return (interp.operate(node, lambda x, y: x // y, a, b),
            interp.operate(node, lambda x, y: x % y, a, b))


def _pow(interp: Any, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if len(args) == 3:
        return interp.guarded(node, lambda: pow(*[interp.as_index(a, node) for a in args]))
    a, b = _exactly(interp, node, "pow", args, 2)
    return interp.operate(node, lambda x, y: x ** y, a, b)


def _iter(interp: Any, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> Any:
    (value,) = _exactly(interp, node, "iter", args, 1)
    return value if isinstance(value, IteratorValue) else IteratorValue(
        "iterator", interp.iterate(value, node))


def _next(interp: Any, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if not args or not isinstance(args[0], IteratorValue):
        raise interp.python_error(TypeError("next() needs an iterator: iter(x)"), node)
    try:
        return next(args[0].items)
    except StopIteration:
        if len(args) > 1:
            return args[1]
        raise interp.python_error(StopIteration(), node) from None


def _abs(interp: Any, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> Any:
    (value,) = _exactly(interp, node, "abs", args, 1)
    return interp.operate(node, lambda v, _: abs(v), value, None)


def _round(interp: Any, node: ast.Call, args: list[Any], kwargs: dict[str, Any]) -> Any:
    return interp.function(node, L.BARE_FUNCTIONS["round"], args, kwargs)


def _exactly(interp: Any, node: ast.Call, name: str, args: list[Any], count: int) -> list:
    if len(args) != count:
        raise interp.python_error(TypeError(
            f"{name}() takes exactly {count} argument{'s' if count > 1 else ''} "
            f"({len(args)} given)"), node)
    return args


BUILTINS: dict[str, Builtin] = {
    "len": _len, "range": _range, "min": _extreme(min, "min"), "max": _extreme(max, "max"),
    "sum": _sum, "sorted": _sorted, "reversed": _lazy("list_reverseiterator", _reversed),
    "enumerate": _lazy("enumerate", _enumerate), "zip": _lazy("zip", _zip),
    "map": _lazy("map", _map), "filter": _lazy("filter", _filter),
    "list": _collection(list), "tuple": _collection(tuple), "dict": _collection(dict),
    "set": _collection(set), "str": _str, "repr": _repr, "int": _number(int),
    "float": _number(float), "bool": _number(bool), "isinstance": _isinstance,
    "any": _truth_of_all(False), "all": _truth_of_all(True), "type": _type,
    "divmod": _divmod, "pow": _pow, "iter": _iter, "next": _next, "abs": _abs,
    "round": _round,
}


def make_exception(interp: Any, node: ast.Call, name: str, args: list[Any],
                   kwargs: dict[str, Any]) -> CaughtError:
    """``ValueError("bad input")``: an exception value holding text and numbers only."""
    _no_kwargs(interp, node, name, kwargs)
    plain = [a if isinstance(a, (str, int, float, bool, type(None))) else display_str(a)
             for a in args]
    return CaughtError(L.EXCEPTIONS[name](*plain))


def bind_arguments(interp: Any, node: ast.AST, fn: Closure, args: list[Any],
                   kwargs: dict[str, Any]) -> dict[str, Any]:
    """Python's rules for matching a call's arguments to a def's parameters (positional,
    defaults, keyword, ``*args``, ``**kwargs``, keyword-only), with Python's errors."""
    spec = fn.args
    positional = [a.arg for a in [*spec.posonlyargs, *spec.args]]
    bound: dict[str, Any] = {}
    for name, value in zip(positional, args):
        bound[name] = value
    extra = args[len(positional):]
    if extra and spec.vararg is None:
        raise interp.python_error(TypeError(
            f"{fn.name}() takes {len(positional)} positional argument"
            f"{'s' if len(positional) != 1 else ''} but {len(args)} were given"), node)
    if spec.vararg is not None:
        bound[spec.vararg.arg] = tuple(extra)
    keyword_names = set(positional[len(spec.posonlyargs):]) | {a.arg for a in spec.kwonlyargs}
    rest: dict[str, Any] = {}
    for name, value in kwargs.items():
        if name in keyword_names:
            if name in bound:
                raise interp.python_error(TypeError(
                    f"{fn.name}() got multiple values for argument '{name}'"), node)
            bound[name] = value
        elif spec.kwarg is not None:
            rest[name] = value
        else:
            raise interp.python_error(TypeError(
                f"{fn.name}() got an unexpected keyword argument '{name}'"), node)
    defaults = dict(zip(positional[len(positional) - len(fn.defaults):], fn.defaults))
    for name in positional:
        if name not in bound:
            if name not in defaults:
                raise interp.python_error(TypeError(
                    f"{fn.name}() missing 1 required positional argument: '{name}'"), node)
            bound[name] = defaults[name]
    for arg in spec.kwonlyargs:
        if arg.arg not in bound:
            if arg.arg not in fn.kw_defaults:
                raise interp.python_error(TypeError(
                    f"{fn.name}() missing 1 required keyword-only argument: '{arg.arg}'"),
                    node)
            bound[arg.arg] = fn.kw_defaults[arg.arg]
    if spec.kwarg is not None:
        bound[spec.kwarg.arg] = rest
    return bound


# Methods of Python's own values, by type (engine.language.tables lists their names).
METHOD_TABLES: dict[type, frozenset[str]] = {
    list: L.LIST_METHODS, dict: L.DICT_METHODS, set: L.SET_METHODS, str: L.STR_METHODS,
    int: L.NUMBER_METHODS, float: L.NUMBER_METHODS, torch.Size: frozenset({"numel"}),
    tuple: frozenset({"index", "count"}),
}
_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})


def python_method(interp: Any, node: ast.Call, obj: Any, name: str, args: list[Any],
                  kwargs: dict[str, Any]) -> Any:
    """A method of a list, dict, set, text or number, by the table's name, with sizes
    checked: a width is bounded before, a grown container measured after."""
    if isinstance(obj, str) and name == "format":
        return interp.formatted(node, lambda: str_format(obj, list(args), dict(kwargs)))
    if isinstance(obj, str) and name in _WIDTH_METHODS:
        width = args[0] if args else 0
        interp.check_text_size(node, width if isinstance(width, int) else 0)
    if isinstance(obj, str) and name == "replace" and len(args) >= 2 \
            and isinstance(args[0], str) and isinstance(args[1], str):
        count = obj.count(args[0]) if args[0] else len(obj) + 1
        interp.check_text_size(node, len(obj) + count * max(0, len(args[1]) - len(args[0])))
    if isinstance(obj, str) and name == "join":
        parts = interp.materialize(args[0], node) if args else []
        interp.check_text_size(node, sum(len(p) for p in parts if isinstance(p, str))
                               + len(obj) * len(parts))
        args = [parts]
    if isinstance(obj, list) and name == "sort":
        key = _key(interp, node, kwargs)
        return interp.guarded(node, lambda: obj.sort(key=key,
                                                     reverse=bool(kwargs.get("reverse"))))
    if isinstance(obj, (list, set, dict)) and name in ("extend", "update", "union"):
        args = [interp.materialize(a, node, pairs=isinstance(obj, dict)) if not isinstance(
            a, dict) else a for a in args]
    method = getattr(obj, name)  # name is in METHOD_TABLES[type(obj)] (checked)
    result = interp.guarded(node, lambda: method(*args, **kwargs))
    if isinstance(obj, (list, dict, set)):
        interp.check_size(node, obj)
    return interp.check_size(node, result)


def array_method(interp: Any, node: ast.Call, obj: ArrayValue, name: str,
                 args: list[Any], kwargs: dict[str, Any]) -> Any:
    """numpy's readers on a ``.numpy()`` view; results are plain numbers or views."""
    method = getattr(obj.array, name)  # name is in ArrayValue.methods
    result = interp.guarded(node, lambda: method(*args, **kwargs))
    if hasattr(result, "shape") and getattr(result, "shape", ()) != ():
        return ArrayValue(result)
    if hasattr(result, "item"):
        return result.item()
    return result


