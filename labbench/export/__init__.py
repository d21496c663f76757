"""CSV writers (DESIGN.md §6): streamed, constant memory, safe to open in a spreadsheet."""
