"""Limits, measurements and verdict rules: pure functions over arrays (docs/architecture.md §4)."""
