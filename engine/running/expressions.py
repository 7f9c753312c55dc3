"""The interpreter's expressions: one handler per kind of ``ast`` expression.

To add an expression kind, add its handler here and its entry in :data:`HANDLERS`.
Values stay the program's own: numbers, text, tuples, lists, dicts, tensors and the
interpreter's values of :mod:`engine.language.values`. Anything that can grow (text,
lists, comprehensions) is measured before or right after it grows.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Iterator
from typing import Any

import torch

from engine.errors import refuse
from engine.language.formatting import conversion_of, format_field
from engine.language.values import GradFnView, IteratorValue, Opaque
from engine.running.scope import Scope, Unbound

BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.Pow: operator.pow, ast.MatMult: operator.matmul,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_, ast.BitXor: operator.xor,
}
COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}


class Expressions:
    """Mixed into :class:`engine.running.interpreter.Interpreter`."""

    def evaluate(self, node: ast.AST, scope: Scope) -> Any:
        handler = HANDLERS.get(type(node))
        if handler is None:
            raise refuse("This expression is not available here.", node)
        return getattr(self, handler)(node, scope)

    # -- names and constants ---------------------------------------------------------------
    def on_constant(self, node: ast.Constant, scope: Scope) -> Any:
        return node.value

    def on_name(self, node: ast.Name, scope: Scope) -> Any:
        return self.lookup(node, scope)

    def lookup(self, node: ast.Name, scope: Scope) -> Any:
        try:
            return scope.lookup(node.id)
        except Unbound as missing:
            if missing.local:
                raise self.python_error(UnboundLocalError(
                    f"cannot access local variable '{node.id}' where it is not associated "
                    "with a value"), node,
                    f"`{node.id}` is read inside its function before the function gives "
                    "it a value.") from None
            raise self.python_error(NameError(f"name '{node.id}' is not defined"), node,
                                    f"`{node.id}` has no value here (it is assigned only "
                                    "in a block that did not run, or later).") from None

    def on_attribute(self, node: ast.Attribute, scope: Scope) -> Any:
        if id(node) in self.program.constants:
            return self.program.constants[id(node)]
        if id(node) in self.program.type_names:  # x.__class__.__name__, type(x).__name__
            owner = node.value.value if isinstance(node.value, ast.Attribute) \
                else node.value.args[0]  # type: ignore[attr-defined]
            return self.type_name(self.evaluate(owner, scope))
        return self.read_attribute(node, self.evaluate(node.value, scope))

    # -- operators --------------------------------------------------------------------------
    def on_binop(self, node: ast.BinOp, scope: Scope) -> Any:
        left = self.evaluate(node.left, scope)
        right = self.evaluate(node.right, scope)
        return self.operate(node, BINARY[type(node.op)], left, right)

    def on_unaryop(self, node: ast.UnaryOp, scope: Scope) -> Any:
        value = self.evaluate(node.operand, scope)
        if isinstance(node.op, ast.Not):
            return not self.truth(value, node)
        if isinstance(node.op, ast.UAdd):
            if isinstance(value, (torch.Tensor, int, float)):
                return value
        op = operator.neg if isinstance(node.op, ast.USub) else operator.invert
        return self.operate(node, lambda v, _: op(v), value, None)

    def on_boolop(self, node: ast.BoolOp, scope: Scope) -> Any:
        """``and`` / ``or`` as Python: short-circuit, and the value is an operand."""
        is_and = isinstance(node.op, ast.And)
        value: Any = None
        for operand in node.values:
            value = self.evaluate(operand, scope)
            if self.truth(value, operand) != is_and:
                return value
        return value

    def on_compare(self, node: ast.Compare, scope: Scope) -> Any:
        """Chained as Python: ``a < b < c`` is ``a < b and b < c``, b evaluated once."""
        left = self.evaluate(node.left, scope)
        result: Any = True
        for op, right_node in zip(node.ops, node.comparators):
            right = self.evaluate(right_node, scope)
            result = self.compare(node, op, left, right)
            if len(node.ops) > 1 and not self.truth(result, node):
                return result
            left = right
        return result

    def compare(self, node: ast.AST, op: ast.cmpop, left: Any, right: Any) -> Any:
        self.tick(node)
        if isinstance(op, (ast.Is, ast.IsNot)):
            same = left is right or (isinstance(left, GradFnView) and left == right)
            return same if isinstance(op, ast.Is) else not same
        if isinstance(left, torch.Tensor) or isinstance(right, torch.Tensor):
            if not isinstance(op, (ast.In, ast.NotIn)):
                return self.operate(node, COMPARE[type(op)], left, right)
        return self.guarded(node, lambda: COMPARE[type(op)](left, right))

    def on_ifexp(self, node: ast.IfExp, scope: Scope) -> Any:
        test = self.truth(self.evaluate(node.test, scope), node.test)
        return self.evaluate(node.body if test else node.orelse, scope)

    def on_namedexpr(self, node: ast.NamedExpr, scope: Scope) -> Any:
        value = self.evaluate(node.value, scope)
        scope.assign(node.target.id, value)
        return value

    def truth(self, value: Any, node: ast.AST) -> bool:
        """``bool(value)`` as Python: a tensor of one element is its number; of more, the
        error torch raises ("Boolean value of Tensor with more than one value...")."""
        if isinstance(value, Opaque):
            return True
        if isinstance(value, torch.Tensor) and value.numel() != 1 and not self.transforming:
            raise self.python_error(RuntimeError(
                "Boolean value of Tensor with more than one value is ambiguous"), node,
                f"A tensor of {value.numel()} numbers is not one True or False here (in "
                "if, while, and, or, not, assert): say which you mean, e.g. "
                "(x > 0).all(), (x > 0).any(), or x.sum() > 0.")
        return self.guarded(node, lambda: bool(value))

    # -- items ---------------------------------------------------------------------------
    def on_subscript(self, node: ast.Subscript, scope: Scope) -> Any:
        value = self.evaluate(node.value, scope)
        index = self.index_value(node.slice, scope)
        return self.item_of(node, value, index)

    def on_slice(self, node: ast.Slice, scope: Scope) -> slice:
        return slice(*(None if part is None else self.index_number(part, scope)
                       for part in (node.lower, node.upper, node.step)))

    def index_value(self, node: ast.AST, scope: Scope) -> Any:
        if isinstance(node, ast.Tuple):
            return tuple(self.evaluate(e, scope) if not isinstance(e, ast.Slice)
                         else self.on_slice(e, scope) for e in node.elts)
        return self.evaluate(node, scope)

    def index_number(self, node: ast.AST, scope: Scope) -> Any:
        value = self.evaluate(node, scope)
        if isinstance(value, torch.Tensor) and value.numel() == 1 and not self.transforming:
            return int(value.item())
        return value

    # -- displays ------------------------------------------------------------------------
    def on_list(self, node: ast.List, scope: Scope) -> list[Any]:
        return self.check_size(node, self.elements(node.elts, scope))

    def on_tuple(self, node: ast.Tuple, scope: Scope) -> tuple[Any, ...]:
        return tuple(self.check_size(node, self.elements(node.elts, scope)))

    def on_set(self, node: ast.Set, scope: Scope) -> set[Any]:
        items = self.elements(node.elts, scope)
        return self.check_size(node, self.guarded(node, lambda: set(items)))

    def on_dict(self, node: ast.Dict, scope: Scope) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key, value in zip(node.keys, node.values):
            if key is None:  # {**other}
                other = self.evaluate(value, scope)
                if not isinstance(other, dict):
                    raise self.python_error(TypeError(
                        f"'{self.kind_name(other)}' object is not a mapping"), value)
                result.update(other)
            else:
                k = self.evaluate(key, scope)
                result_value = self.evaluate(value, scope)
                self.guarded(key, lambda k=k, v=result_value: result.__setitem__(k, v))
            self.check_size(node, result)
        return result

    def elements(self, nodes: list[ast.expr], scope: Scope) -> list[Any]:
        """Display elements, ``*iterable`` spliced in as Python does."""
        items: list[Any] = []
        for element in nodes:
            if isinstance(element, ast.Starred):
                items.extend(self.materialize(self.evaluate(element.value, scope), element))
            else:
                items.append(self.evaluate(element, scope))
            self.check_size(element, items)
        return items

    def on_starred(self, node: ast.Starred, scope: Scope) -> Any:
        raise refuse("`*` unpacking can be used in calls, lists and tuples only.", node)

    # -- comprehensions ------------------------------------------------------------------
    def on_listcomp(self, node: ast.ListComp, scope: Scope) -> list[Any]:
        items: list[Any] = []
        for inner in self.comprehension_scopes(node, scope):
            items.append(self.evaluate(node.elt, inner))
            self.check_size(node, items)
        return items

    def on_setcomp(self, node: ast.SetComp, scope: Scope) -> set[Any]:
        return self.check_size(node, self.guarded(node, lambda: set(
            self.evaluate(node.elt, inner) for inner in self.comprehension_scopes(node, scope))))

    def on_dictcomp(self, node: ast.DictComp, scope: Scope) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for inner in self.comprehension_scopes(node, scope):
            key = self.evaluate(node.key, inner)
            value = self.evaluate(node.value, inner)
            self.guarded(node, lambda k=key, v=value: result.__setitem__(k, v))
            self.check_size(node, result)
        return result

    def on_generatorexp(self, node: ast.GeneratorExp, scope: Scope) -> IteratorValue:
        """Lazy, as in Python: ``sum(x**2 for x in xs)`` evaluates one item at a time."""
        first = self.evaluate(node.generators[0].iter, scope)
        items = (self.evaluate(node.elt, inner)
                 for inner in self.comprehension_scopes(node, scope, first))
        return IteratorValue("generator", items)

    def comprehension_scopes(self, node: Any, scope: Scope,
                             first: Any = None) -> Iterator[Scope]:
        """One scope per combination of the comprehension's loops that passes its ifs.
        The first iterable is evaluated in the enclosing scope (as in Python)."""
        inner = Scope({}, outer=scope, local_names=frozenset(), comprehension=True)
        generators = node.generators
        iterable = first if first is not None else self.evaluate(generators[0].iter, scope)

        def walk(level: int, values: Any) -> Iterator[Scope]:
            generator = generators[level]
            for item in self.iterate(values, generator.iter):
                self.tick(node)
                self.assign_target(generator.target, item, node, inner)
                if all(self.truth(self.evaluate(test, inner), test) for test in generator.ifs):
                    if level + 1 == len(generators):
                        yield inner
                    else:
                        yield from walk(level + 1,
                                        self.evaluate(generators[level + 1].iter, inner))

        return walk(0, iterable)

    # -- functions and text --------------------------------------------------------------
    def on_lambda(self, node: ast.Lambda, scope: Scope) -> Any:
        return self.make_closure("<lambda>", node.args, node.body, node, scope)

    def on_joinedstr(self, node: ast.JoinedStr, scope: Scope) -> str:
        """An f-string: each field formatted by the interpreter itself
        (engine.language.formatting), never by Python's formatter on a program's value."""
        parts: list[str] = []
        size = 0
        for value in node.values:
            if isinstance(value, ast.Constant):
                text = str(value.value)
            else:
                assert isinstance(value, ast.FormattedValue)
                field = self.evaluate(value.value, scope)
                spec = self.on_joinedstr(value.format_spec, scope) \
                    if value.format_spec is not None else ""
                self.tick(value)
                text = self.formatted(value, lambda f=field, s=spec, c=value.conversion:
                                      format_field(f, s, conversion_of(c)))
            size += len(text)
            self.check_text_size(node, size)
            parts.append(text)
        return "".join(parts)

    def on_formattedvalue(self, node: ast.FormattedValue, scope: Scope) -> str:
        return self.on_joinedstr(ast.JoinedStr(values=[node]), scope)


HANDLERS: dict[type, str] = {
    ast.Constant: "on_constant", ast.Name: "on_name", ast.Attribute: "on_attribute",
    ast.BinOp: "on_binop", ast.UnaryOp: "on_unaryop", ast.BoolOp: "on_boolop",
    ast.Compare: "on_compare", ast.IfExp: "on_ifexp", ast.NamedExpr: "on_namedexpr",
    ast.Subscript: "on_subscript", ast.Slice: "on_slice", ast.List: "on_list",
    ast.Tuple: "on_tuple", ast.Set: "on_set", ast.Dict: "on_dict", ast.Starred: "on_starred",
    ast.ListComp: "on_listcomp", ast.SetComp: "on_setcomp", ast.DictComp: "on_dictcomp",
    ast.GeneratorExp: "on_generatorexp", ast.Lambda: "on_lambda",
    ast.JoinedStr: "on_joinedstr", ast.FormattedValue: "on_formattedvalue",
    ast.Call: "on_call",
}
