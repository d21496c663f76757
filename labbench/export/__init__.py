"""Exports (docs/architecture.md §6, §9): CSV writers, streamed, constant memory, safe in a
spreadsheet; a run's JUnit XML and JSON record."""
