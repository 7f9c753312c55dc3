"""What a variable holds while the walk runs the program over formulas.

A :class:`Value` (a number or a short list, as sympy expressions), an :class:`Opaque`
value that is not a number (None, a dtype), or a :class:`Refusal` (no formula: raised
again where it is used), in a :class:`Box` shared by the names of one value; a
:class:`Leaf` is a symbol: what the derivative can be taken with respect to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy

from engine.errors import ProgramRefused


@dataclass(frozen=True)
class Value:
    """A number or a short list as mathematics: one sympy expression per element.

    ``tensor`` follows torch (a Python number stays a number), so the output is chosen by
    the same rule as a run; ``written`` is the size of the formula written out, every
    variable substituted; ``notes`` are the places on the way where autograd stops."""

    items: tuple[Any, ...]
    shape: tuple[int, ...] = ()
    tensor: bool = True
    written: int = 1
    notes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Opaque:
    """A value that is not a number: None, a dtype, a shape."""

    what: str
    tensor: bool = False


@dataclass(frozen=True)
class Refusal:
    """A variable whose value has no formula: raised again where it is used, so an unused
    ``noise = torch.randn(3)`` does not stop the formula of the output."""

    refused: ProgramRefused
    tensor: bool = True


Content = Value | Opaque | Refusal


@dataclass
class Box:
    """A variable's current value. Two names share a box after ``a = b``, as two Python
    names share a tensor, so ``a += 1`` (in place) changes ``b`` too."""

    content: Content


@dataclass
class Leaf:
    """A symbol: an input box, or a name assigned from ``torch.tensor(number, ...)``
    (each element of a list is one). ``generation`` counts earlier creations of the same
    name, so ``x`` made twice gives two different symbols."""

    name: str
    index: int | None  # the element of a list, else None
    generation: int
    symbol: sympy.Symbol
    value: float
    line: int | None
    requires_grad: bool

    @property
    def key(self) -> str:
        return self.name if self.index is None else f"{self.name}[{self.index}]"


NONE = Opaque("None")


def usable(content: Content) -> Content:
    """``content``, or the refusal it stands for when it has no formula."""
    if isinstance(content, Refusal):
        raise content.refused
    return content
