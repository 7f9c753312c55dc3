"""What a refused or failed program reports: one sentence a learner understands, and where."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProgramError:
    """Why a program was refused or stopped.

    ``kind`` is one of: ``syntax`` (not Python), ``refused`` (outside the language),
    ``input`` (an input box), ``limit`` (a size, count or time bound), ``memory``,
    ``timeout``, ``autograd`` (torch refused a backward or ``.grad`` use), ``runtime``
    (any other error torch raised, e.g. mismatched shapes), ``internal`` (our bug).
    ``line`` and ``col`` are 1-based; None when the error has no place in the source.
    """

    message: str
    kind: str
    line: int | None = None
    col: int | None = None
    more: tuple[ProgramError, ...] = ()  # the program's other problems, found at once

    def __str__(self) -> str:
        where = f"line {self.line}, column {self.col}: " if self.line else ""
        return f"{where}{self.message}"


class ProgramRefused(Exception):
    """Raised inside the engine to stop a program; carries the ProgramError to report.

    ``python`` is the exception Python itself would raise here (a ValueError for
    ``a, b = 1, 2, 3``, torch's RuntimeError for a backward without a graph): a program's
    ``try/except`` catches the refusal as that exception, and ``print(e)`` shows its
    text. Refusals without one (limits, the language's boundary) cannot be caught."""

    def __init__(self, error: ProgramError, python: BaseException | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.python = python


def as_sentence(text: str) -> str:
    """A message as one sentence a learner reads: torch's and Python's own texts often
    start in lower case (``grad can be implicitly created...``) and end without a full
    stop; those are quoted as PyTorch's words."""
    text = text.strip()
    if text[:1].islower():
        text = "PyTorch says: " + text
    return text if text.endswith(".") else text + "."


def refuse(message: str, node: object = None, kind: str = "refused",
           python: BaseException | None = None) -> ProgramRefused:
    """Build the exception for ``message`` at the place of an ``ast`` node (if given)."""
    line = getattr(node, "lineno", None)
    col = getattr(node, "col_offset", None)
    return ProgramRefused(ProgramError(message, kind, line, None if col is None else col + 1),
                          python)
