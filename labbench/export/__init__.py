"""CSV writers (docs/architecture.md §6): streamed, constant memory, safe in a spreadsheet."""
