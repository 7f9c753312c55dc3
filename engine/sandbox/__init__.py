"""The worker processes that run programs with real time and memory limits."""
