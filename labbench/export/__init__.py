"""CSV writers (docs/architecture.md §6): streamed, constant memory, safe to open in a spreadsheet."""
