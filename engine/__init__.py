"""Autograd Explorer's engine: a safe PyTorch program language and the runs behind the app.

    from engine import run_program, derivative_curve
    r = run_program("y = x**2", {"x": "3"})
    r.grads["x"]            # tensor(6.)

No Streamlit here: pages call the engine, never the other way round.
"""

from engine.api import (
    analytic_derivative,
    derivative_curve,
    hand_gradients,
    run_program,
    warm_up,
)
from engine.errors import ProgramError
from engine.formula import Formula
from engine.limits import DEFAULT_LIMITS, Limits
from engine.run import RunResult

__all__ = [
           "DEFAULT_LIMITS",
           "Formula",
           "Limits",
           "ProgramError",
           "RunResult",
           "analytic_derivative",
           "derivative_curve",
           "hand_gradients",
           "run_program",
           "warm_up",
]
