"""The language: its tables, the checker, names, formatting and the values programs hold."""
