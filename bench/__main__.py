"""``python -m bench [--quick] [--only NAME ...] [--out FILE]``.

The full run writes docs/benchmarks.md: the machine, the versions, every target with what
was measured, then one table per section. ``--quick`` runs every section at its smallest
size (seconds, not minutes) and prints the report instead; the test suite runs it as a
check that the benchmarks still work, never as a timing assertion.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

from bench.machine import describe
from bench.report import Section, before_and_after, targets_table

ROOT = Path(__file__).resolve().parent.parent
# Run in this order: the in-process sections first, then the ones that start a server.
SECTIONS = ["curves", "graphs", "rerun", "browser", "classroom", "replicas"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="smallest sizes, few repeats; print instead of writing docs/")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run these sections")
    parser.add_argument("--out", type=Path, help="write the report here "
                        "(default: docs/benchmarks.md for a full run, stdout for --quick)")
    parser.add_argument("--before", type=Path, help="an earlier report (the same "
                        "benchmarks on the code before a change): its targets are set "
                        "beside this run's")
    args = parser.parse_args(argv)
    out = args.out or (None if args.quick else ROOT / "docs" / "benchmarks.md")

    started = time.monotonic()
    sections: list[Section] = []
    for name in args.only or SECTIONS:
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        module = importlib.import_module(f"bench.{name}")
        sections += module.run(quick=args.quick)
    before = (args.before.read_text(), args.before.as_posix()) if args.before else None
    report = render(sections, args.quick, time.monotonic() - started, before)
    if out is None:
        print(report)
    else:
        out.write_text(report)
        print(f"bench: wrote {out}", file=sys.stderr)
    return 0


def render(sections: list[Section], quick: bool, seconds: float,
           before: tuple[str, str] | None = None) -> str:
    """The report; ``before``: an earlier report's text and its file's name."""
    mode = "quick run (smallest sizes: a check, not a measurement)" if quick else "full run"
    parts = ["# Benchmarks", "",
             "Written by `python -m bench` (" + mode + f", {seconds / 60:.1f} min). "
             "Times are medians of wall-clock time on the machine below; the tables lead "
             "with ratios against what a user would use instead, measured side by side in "
             "the same run, because absolute times drift on shared machines.", "",
             describe(), "", "## Targets", "", targets_table(sections)]
    if before is not None:
        parts.append(before_and_after(*before, sections))
    parts += [s.markdown() for s in sections]
    return "\n".join(parts)


if __name__ == "__main__":
    raise SystemExit(main())
