"""Where a name's value lives while a program runs: Python's scoping rules, small.

The module's names are one dict (the interpreter's ``env``, which the graph and the
results read). A call of the program's own function gets a new Scope whose ``outer`` is
the scope the function was defined in (so a nested ``def`` or a ``lambda`` sees the names
around it, as Python's closures do), and whose ``local_names`` are the names its body
assigns (Python decides that statically: reading one before it is assigned is an
UnboundLocalError, not a read of the global). ``global``/``nonlocal`` names go outward.
A comprehension's loop variables live in a Scope of their own, as in Python 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class Unbound(Exception):
    """A name read before it has a value: Python's NameError / UnboundLocalError."""

    def __init__(self, name: str, local: bool) -> None:
        super().__init__(name)
        self.name = name
        self.local = local


@dataclass(eq=False)
class Scope:
    vars: dict[str, Any]
    outer: Scope | None = None
    local_names: frozenset[str] | None = None  # None: the module (every name is local)
    global_names: frozenset[str] = frozenset()
    nonlocal_names: frozenset[str] = frozenset()
    is_module: bool = False
    comprehension: bool = False
    owner: str = ""  # the function's name, for messages

    @property
    def module(self) -> Scope:
        scope = self
        while scope.outer is not None:
            scope = scope.outer
        return scope

    def lookup(self, name: str) -> Any:
        """The value of ``name`` here, Python's LEGB order (builtins are the caller's)."""
        if name in self.global_names:
            return self._read(self.module, name)
        scope: Scope | None = self
        while scope is not None:
            if name in scope.vars:
                return scope.vars[name]
            if scope.local_names is not None and name in scope.local_names \
                    and name not in scope.nonlocal_names and not scope.comprehension:
                raise Unbound(name, local=True)
            scope = scope.outer
        raise Unbound(name, local=False)

    def has(self, name: str) -> bool:
        try:
            self.lookup(name)
        except Unbound:
            return False
        return True

    @staticmethod
    def _read(scope: Scope, name: str) -> Any:
        if name in scope.vars:
            return scope.vars[name]
        raise Unbound(name, local=False)

    def target(self, name: str) -> Scope:
        """The scope an assignment to ``name`` writes to."""
        if name in self.global_names:
            return self.module
        if name in self.nonlocal_names:
            scope = self.outer
            while scope is not None and not scope.is_module:
                if scope.local_names is not None and name in scope.local_names:
                    return scope
                scope = scope.outer
        return self

    def assign(self, name: str, value: Any) -> None:
        self.target(name).vars[name] = value

    def delete(self, name: str) -> None:
        scope = self.target(name)
        if name not in scope.vars:
            raise Unbound(name, local=not scope.is_module)
        del scope.vars[name]
