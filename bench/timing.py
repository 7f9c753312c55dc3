"""Medians and percentiles of wall-clock time; nothing here asserts a time."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def times_of(fn: Callable[[], object], repeats: int, warm: int = 1) -> list[float]:
    """Seconds per call for ``repeats`` calls after ``warm`` untimed ones."""
    for _ in range(warm):
        fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def median_seconds(fn: Callable[[], object], repeats: int, warm: int = 1) -> float:
    return statistics.median(times_of(fn, repeats, warm))


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (0-100), nearest-rank, so p95 of 20 values is the 19th."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * p // 100))  # ceil
    return ordered[int(rank) - 1]


def ms(seconds: float) -> str:
    """Milliseconds, with the precision the number deserves."""
    value = seconds * 1e3
    return f"{value:.2f}" if value < 10 else f"{value:.1f}" if value < 100 else f"{value:.0f}"
