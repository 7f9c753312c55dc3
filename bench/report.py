"""What every benchmark section returns, and how the report is written.

A section is a titled markdown table with a sentence on what it measures against what;
targets are the issue's promises, each with what was measured and whether it was met.
Absolute times drift on shared machines, so tables lead with ratios measured side by side
in the same run.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Target:
    what: str  # "derivative_curve vs per-point loop, 2,001 points"
    target: str  # "at least 30x faster"
    measured: str  # "152x (sin(x**2), worst of 3)"
    met: bool


@dataclass
class Section:
    title: str
    about: str  # one paragraph: what is timed, against what, how many repeats
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"## {self.title}", "", self.about, ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "---|" * len(self.columns))
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in self.rows]
        if self.notes:
            lines.append("")
            lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"


def targets_table(sections: list[Section]) -> str:
    lines = ["| | target | measured | met |", "|---|---|---|---|"]
    for section in sections:
        for t in section.targets:
            lines.append(f"| {t.what} | {t.target} | {t.measured} | "
                         f"{'yes' if t.met else '**no**'} |")
    return "\n".join(lines) + "\n"


def measured_targets(report: str) -> dict[str, str]:
    """The Targets table of a report written earlier: what was measured, by target."""
    table = report.split("## Targets", 1)[-1].split("\n## ", 1)[0]
    found = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] and not set(cells[1]) <= {"-"}:
            found[cells[0]] = cells[2]
    return found


def before_and_after(before: str, name: str, sections: list[Section]) -> str:
    """This run's targets beside an earlier report's (``before``, read from the file
    ``name``; the same benchmarks run on the code before a change). A target the earlier
    report did not measure says so instead of inventing a number."""
    earlier = measured_targets(before)
    lines = ["## Before and after", "",
             f"Each target of this run beside what `{name}` measured (the same benchmarks "
             "on the code before the change it names, on this machine).", "",
             "| | target | before | after | met |", "|---|---|---|---|---|"]
    for section in sections:
        for t in section.targets:
            lines.append(f"| {t.what} | {t.target} | {earlier.get(t.what, 'not measured')} "
                         f"| {t.measured} | {'yes' if t.met else '**no**'} |")
    return "\n".join(lines) + "\n"
