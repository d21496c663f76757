"""The HTML report's one inline stylesheet, for the screen and for print
(docs/architecture.md §9).

System fonts only (a font file would be a fetch or a megabyte); verdict colours are the app's
(``labbench.ui.theme``), pale fills with the word always written next to the colour, so a
black-and-white printout still says every verdict. Print: no dark fill anywhere, each big
section (violations, whole-run plots, events) on a new page, no figure or table row split
across pages, table headers repeated. And ``esc``, how every text from the lab is written on
the page.
"""

from __future__ import annotations

import html
import re

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def esc(text: object) -> str:
    """Lab text as HTML text: markup escaped, control bytes shown as ``\\xNN``."""
    return html.escape(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text)))


# Verdict (and run status) -> CSS class; anything else is "other".
VERDICT_CLASS = {
    "passed": "pass",
    "marginal": "marginal",
    "failed": "fail",
    "error": "error",
    "aborted": "error",
    "interrupted": "error",
    "skipped": "other",
    "running": "other",
    "recorded": "other",
    "not judged": "other",
}

STYLE = """
:root { color-scheme: light; }
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
  color: #111827; background: #ffffff; margin: 1.5em auto; max-width: 78em; padding: 0 1em; }
h1 { font-size: 1.35em; margin: 0 0 0.2em; }
h2 { font-size: 1.15em; margin: 1.6em 0 0.5em; border-bottom: 1px solid #d1d5db; }
h3 { font-size: 1em; margin: 0.8em 0 0.3em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 0.25em 0.5em;
  border-bottom: 1px solid #e5e7eb; overflow-wrap: break-word; }
/* Free text may be one long word (a rig's line, a pasted path): it wraps anywhere. */
td.why, table.events td, table.notes td { overflow-wrap: anywhere; }
thead th { background: #f3f4f6; white-space: nowrap; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.why { font-size: 0.9em; color: #374151; min-width: 12em; width: 32%; }
/* Room for a step name, an item with its slot and chip, and limits on a line or two. */
table.items td:nth-child(1) { min-width: 5.5em; }
table.items td:nth-child(2) { min-width: 13em; }
table.items td:nth-child(3) { min-width: 8em; }
table.meta { width: auto; }
table.meta th { font-weight: normal; color: #4b5563; white-space: nowrap; }
.banner { display: flex; gap: 1.2em; align-items: center; padding: 0.8em 1em;
  border: 2px solid; border-radius: 6px; }
.banner .word { font-size: 2em; font-weight: bold; letter-spacing: 0.05em; }
.banner .reason { margin: 0; font-size: 1.05em; }
.pass { --c: #15803d; --f: #dcfce7; }
.marginal { --c: #b45309; --f: #fef3c7; }
.fail { --c: #b91c1c; --f: #fee2e2; }
.error { --c: #6d28d9; --f: #ede9fe; }
.other { --c: #4b5563; --f: #f3f4f6; }
.banner { border-color: var(--c); background: var(--f); }
.banner .word { color: var(--c); }
.verdict { display: inline-block; padding: 0 0.45em; border-radius: 3px; font-weight: bold;
  color: var(--c); background: var(--f); border: 1px solid var(--c); white-space: nowrap; }
tr.fail td:first-child, tr.error td:first-child, tr.marginal td:first-child {
  box-shadow: inset 4px 0 0 var(--c); }
.sled { display: grid; gap: 0.5em; max-width: 60em; }
.slot { border: 2px solid var(--c); background: var(--f); border-radius: 5px; padding: 0.4em 0.6em;
  display: flex; flex-direction: column; gap: 0.15em; }
.slot.empty { border: 2px dashed #9ca3af; background: #ffffff; color: #6b7280; }
/* A sweep's grid of letters (no renderer, or under "the grid as letters"): the letter is the
   verdict, the fill its colour; a hole framed, Vmin a bar on its cell's left edge. */
table.shmoo { width: auto; border-collapse: separate; border-spacing: 2px; margin: 0.5em 0; }
table.shmoo td { text-align: center; min-width: 1.8em; padding: 0.1em 0.3em; border: 1px solid
  var(--c); background: var(--f); color: var(--c); font-weight: bold;
  font-variant-numeric: tabular-nums; }
table.shmoo th { font-weight: normal; color: #4b5563; text-align: right; border: 0;
  font-variant-numeric: tabular-nums; }
table.shmoo thead th { background: none; text-align: center; }
table.shmoo td.hole { outline: 3px solid #111827; outline-offset: -3px; }
table.shmoo td.vmin { box-shadow: inset 5px 0 0 #111827; }
table.vmin { width: auto; }
table.vmin td, table.vmin th { padding-right: 1.2em; }
.sweep-items { margin: 1em 0 1.4em; }
/* A sweep point's step name carries its coordinates ("shmoo vdd_mv=650 freq_mhz=1000"). */
.sweep-items table.items td:nth-child(1) { min-width: 11em; }
details > summary { cursor: pointer; margin: 0.4em 0; color: #1d4ed8; }
figure { margin: 0.8em 0 1.4em; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid #e5e7eb; }
.legend { display: flex; flex-wrap: wrap; gap: 0.2em 1em; margin: 0.3em 0 0 4.5em;
  font-size: 0.9em; }
.legend i { display: inline-block; width: 1.4em; height: 0.3em; margin-right: 0.35em;
  vertical-align: middle; }
figcaption, .note { color: #4b5563; font-size: 0.9em; }
footer { margin-top: 2em; color: #6b7280; font-size: 0.85em; }
a { color: #1d4ed8; }
* { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
@media print {
  @page { margin: 14mm 12mm; }
  body { margin: 0; max-width: none; font-size: 10.5pt; padding: 0; }
  section.big > h2 { break-before: page; }
  figure, tr, .slot, .banner, table.shmoo { break-inside: avoid; }
  details > summary { color: inherit; }
  thead { display: table-header-group; }
  /* A page is narrower than a screen: the items table's header wraps too. */
  table.items { font-size: 9pt; }
  thead th { white-space: normal; }
  td.why { min-width: 0; width: 30%; }
  table.items td:nth-child(2) { min-width: 9em; }
  a { color: inherit; text-decoration: none; }
}
"""
