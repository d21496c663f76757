"""Limits, measurements and verdict rules: pure functions over arrays (DESIGN.md §4)."""
