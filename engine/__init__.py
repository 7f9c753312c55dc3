"""Autograd Explorer's engine: a safe PyTorch program language and the runs behind the app.

    from engine import run_program, derivative_curve
    r = run_program("y = x**2", {"x": "3"})
    r.grads["x"]            # tensor(6.)

Second derivatives, for pages on double backward:

    xs, ys, dys, d2ys = second_derivative_curve("y = x**3", {"x": 1.0})   # d2ys = 6 xs
    g = gradient_graph("y = x**2\nz = torch.sin(y)", {"x": 4})
    g.output, g.grads["x"]  # dz/dx = 8 cos(16), d²z/dx² = 2 cos(16) - 64 sin(16)
    g.graph                 # the graph autograd recorded for dz/dx (create_graph=True)

No Streamlit here: pages call the engine, never the other way round.
"""

from engine.api import (
    analytic_derivative,
    derivative_curve,
    gradient_graph,
    hand_gradients,
    run_program,
    second_derivative_curve,
    warm_up,
)
from engine.errors import ProgramError
from engine.limits import DEFAULT_LIMITS, Limits
from engine.running.run import RunResult
from engine.teaching.compare import Difference, differences
from engine.teaching.formula import Formula

__all__ = [
           "DEFAULT_LIMITS",
           "Difference",
           "Formula",
           "Limits",
           "ProgramError",
           "RunResult",
           "analytic_derivative",
           "derivative_curve",
           "differences",
           "gradient_graph",
           "hand_gradients",
           "run_program",
           "second_derivative_curve",
           "warm_up",
]
