"""``python -m bench --quick`` works: the benchmarks' sizes are smallest and nothing here
looks at a time. A benchmark that silently broke (an API it calls changed, a comparison
that no longer computes the same curve) would otherwise be found only by the next full
run. The timing helpers are checked on known numbers."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.timing import ms, percentile

ROOT = Path(__file__).resolve().parent.parent


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 21)]  # 1..20
    assert percentile(values, 50) == 10.0
    assert percentile(values, 95) == 19.0
    assert percentile(values, 100) == 20.0
    assert percentile([3.0], 95) == 3.0


def test_milliseconds_keep_the_digits_that_matter() -> None:
    assert ms(0.0012345) == "1.23"
    assert ms(0.012345) == "12.3"
    assert ms(0.12345) == "123"


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("bench") / "benchmarks.md"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "curves", "graphs", "rerun",
         "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return out.read_text()


def test_the_quick_report_has_every_section_and_target(quick_report: str) -> None:
    for title in ("Derivative curves, 201 points", "Graph build", "server time of one rerun"):
        assert title in quick_report
    targets = quick_report.split("## Targets", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in targets.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) - 1 == 6  # the header, then one row per target of these sections
    assert all(row.rstrip(" |").endswith(("yes", "**no**")) for row in rows[1:])


def test_every_time_in_the_tables_is_a_positive_number(quick_report: str) -> None:
    table_rows = [line for line in quick_report.splitlines()
                  if line.startswith("| ") and "---" not in line]
    numbers = [float(cell) for row in table_rows for cell in row.strip("| ").split(" | ")
               if re.fullmatch(r"\d+(\.\d+)?", cell)]
    assert numbers and all(n > 0 for n in numbers)


def test_torchviz_is_recorded_failing_on_a_deep_chain(quick_report: str) -> None:
    assert re.search(r"\| chain 1,000 \| 1,001 \| [\d.]+ \| RecursionError", quick_report)


EARLIER = """# Benchmarks

## Targets

| | target | measured | met |
|---|---|---|---|
| 100 sessions, p95 edit latency | < 1 s | 6030 ms at K=100 (0 sessions with errors) | **no** |
| memory per session | < 5 MB | 0.73 MB (server + workers, K=100) | yes |

## Memory

| moment | sessions connected |
|---|---|
| before | 0 |
"""


def test_before_and_after_sets_each_target_beside_the_earlier_measurement() -> None:
    from bench.report import Section, Target, before_and_after, measured_targets

    assert measured_targets(EARLIER) == {
        "100 sessions, p95 edit latency": "6030 ms at K=100 (0 sessions with errors)",
        "memory per session": "0.73 MB (server + workers, K=100)"}
    now = Section("A classroom", "", ["K"], targets=[
        Target("100 sessions, p95 edit latency", "< 1 s", "420 ms at K=100", True),
        Target("server and worker CPU per run, 100 sessions", "≤ 35 ms", "40 ms", False)])
    table = before_and_after(EARLIER, "docs/earlier.md", [now])
    assert "`docs/earlier.md`" in table
    assert ("| 100 sessions, p95 edit latency | < 1 s | 6030 ms at K=100 (0 sessions with "
            "errors) | 420 ms at K=100 | yes |") in table
    assert ("| server and worker CPU per run, 100 sessions | ≤ 35 ms | not measured | 40 ms "
            "| **no** |") in table
