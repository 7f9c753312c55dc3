"""The bounds every run is held to. One public link serves a whole lecture hall from one
process, so no program may take more than its share of time or memory."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Defaults fit the seed curriculum with wide margins; all are checked before work."""

    max_source_chars: int = 10_000
    max_bracket_depth: int = 40
    max_statements: int = 400
    max_nodes: int = 4_000
    max_depth: int = 60
    max_constant: float = 1e15
    max_tensor_elements: int = 1_000_000
    max_curve_elements: int = 40_000_000
    max_curve_points: int = 1_000_001
    max_operations: int = 100_000  # each operation, call and loop iteration
    max_backward_calls: int = 1_000  # a training loop calls it once per step
    max_function_depth: int = 30
    max_parameters: int = 1_000_000  # numbers in all the layers one run makes
    max_items: int = 100_000  # in one list, tuple, dict or set
    max_text_chars: int = 100_000  # in one piece of text
    max_print_chars: int = 20_000
    max_input_chars: int = 20_000
    max_input_elements: int = 100_000
    time_limit_s: float = 2.0
    memory_limit_mb: int = 768


DEFAULT_LIMITS = Limits()
