"""Running a checked program on real torch: the interpreter, a run, curves, the graph it records."""
