"""``parse``: Python's ``ast.parse``, one thread at a time in this process.

The server runs every session's script in its own thread, and a class of 100 parses
programs in many of them at once. CPython 3.11's parser builds the Python tree with a
recursion counter kept in the interpreter's state, not the thread's; a thread switch in
the middle (a garbage collection running a finaliser is enough) lets another thread's
parse move that counter, and one of them fails with ``SystemError: AST constructor
recursion depth mismatch`` (python/cpython#106905). The classroom benchmark met it about
once in 600 runs, as "Something went wrong" on a student's page. Parses take well under a
millisecond, so taking turns costs nothing measurable; every ``ast.parse`` in ``engine``
goes through here (tests/test_parsing.py checks that none bypasses it).
"""

from __future__ import annotations

import ast
from threading import Lock
from typing import Literal, overload

_ONE_AT_A_TIME = Lock()


@overload
def parse(source: str, mode: Literal["exec"] = "exec") -> ast.Module: ...


@overload
def parse(source: str, mode: Literal["eval"]) -> ast.Expression: ...


def parse(source: str, mode: str = "exec") -> ast.AST:
    """``ast.parse(source, mode=mode)``, with the same errors, taking turns with every
    other thread of this process that parses."""
    with _ONE_AT_A_TIME:
        return ast.parse(source, mode=mode)
