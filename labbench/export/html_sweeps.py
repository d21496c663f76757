"""The HTML report's section per sweep (docs/architecture.md §4 Sweeps, §9): the shmoo grid
drawn by the ``render_shmoo`` callable the caller hands in (the app's shmoo widget, offscreen:
``labbench.export`` may not draw), or a table of letters without one; Vmin, holes and the
points by verdict of each row as text, so the page is searchable and prints them.
"""

from __future__ import annotations

import base64

from labbench.criteria.shmoo import CELL_LETTERS, NOT_RUN, Shmoo, axis_text
from labbench.export.html_style import VERDICT_CLASS, esc
from labbench.export.report_plots import RenderShmoo
from labbench.storage.sweeps import RunSweep

__all__ = [
    "SHMOO_MAX_PX",
    "SHMOO_PX",
    "SHMOO_WIDTH_PX",
    "letter_grid",
    "sweep_sections",
    "vmin_table",
]

# The shmoo's picture: as wide as the plots; a grid of many rows gets taller, up to a page.
SHMOO_WIDTH_PX = 1100
SHMOO_PX = 520
SHMOO_MAX_PX = 1400
_WORDS = {letter: word for word, letter in CELL_LETTERS.items()} | {NOT_RUN: "not run"}


def _vmin_text(shmoo: Shmoo, y: float | None) -> str:
    value = shmoo.vmin.get(y)
    if value is not None:
        return axis_text(value)
    if not shmoo.xs:
        return ""
    return "not run" if shmoo.verdict(shmoo.xs[-1], y) is None else "none"


def _where(shmoo: Shmoo, x: float, y: float | None) -> str:
    text = f"{shmoo.x_name}={axis_text(x)}"
    return text if shmoo.y_name is None else f"{text} {shmoo.y_name}={axis_text(y)}"


def _shmoo_height(shmoo: Shmoo) -> int:
    return min(SHMOO_MAX_PX, max(SHMOO_PX, 220 + 28 * len(shmoo.ys)))


def letter_grid(shmoo: Shmoo) -> str:
    """The grid as a table of letters (rows y from the largest down, as the app draws it),
    each cell with its verdict's class; Vmin cells marked, holes outlined."""
    holes = set(shmoo.holes)
    corner = f"{esc(shmoo.y_name)} \\ {esc(shmoo.x_name)}" if shmoo.y_name else ""
    head = "".join(f'<th scope="col">{esc(axis_text(x))}</th>' for x in shmoo.xs)
    rows = []
    for y in reversed(shmoo.ys):
        cells = []
        for x in shmoo.xs:
            letter = shmoo.cell(x, y)
            word = _WORDS[letter]
            classes = [VERDICT_CLASS.get(shmoo.verdict(x, y) or "", "other")]
            if (x, y) in holes:
                classes.append("hole")
                word += ", a hole"
            if shmoo.vmin.get(y) == x:
                classes.append("vmin")
                word += ", Vmin"
            cells.append(
                f'<td class="{" ".join(classes)}" title="{esc(_where(shmoo, x, y))}: '
                f'{esc(word)}">{letter}</td>'
            )
        label = esc(axis_text(y)) if shmoo.y_name else esc(shmoo.x_name)
        rows.append(f'<tr><th scope="row">{label}</th>{"".join(cells)}</tr>')
    return (
        f'<table class="shmoo"><thead><tr><th>{corner}</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def vmin_table(shmoo: Shmoo) -> str:
    """Vmin and the holes of each row, and its points by verdict, as text."""
    axis = esc(shmoo.x_name)
    first = f'<th scope="col">{esc(shmoo.y_name)}</th>' if shmoo.y_name else ""
    head = (
        f'<tr>{first}<th scope="col">Vmin ({axis})</th><th scope="col">holes ({axis})</th>'
        '<th scope="col">passed</th><th scope="col">marginal</th><th scope="col">failed</th>'
        '<th scope="col">error</th><th scope="col">not run</th></tr>'
    )
    rows = []
    for y in shmoo.ys:
        letters = [shmoo.cell(x, y) for x in shmoo.xs]
        holes = ", ".join(axis_text(hx) for hx, hy in shmoo.holes if hy == y) or "none"
        label = f'<th scope="row">{esc(axis_text(y))}</th>' if shmoo.y_name else ""
        counts = "".join(f"<td class=num>{letters.count(k)}</td>" for k in "PMFE-")
        rows.append(
            f"<tr>{label}<td class=num>{esc(_vmin_text(shmoo, y))}</td><td>{esc(holes)}</td>"
            f"{counts}</tr>"
        )
    return f'<table class="vmin"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def sweep_sections(
    sweeps: list[RunSweep], anchors: dict[str, str], render: RenderShmoo | None
) -> str:
    """A section per sweep: the grid (the app's widget drawn as a PNG, or a table of letters
    without a renderer), Vmin and holes per row as text, the points run and not run."""
    parts = []
    for sweep in sweeps:
        s = sweep.shmoo
        total = len(s.points)
        ran = sum(p.verdict is not None for p in s.points)
        axes = f"{s.x_name} × {s.y_name}" if s.y_name else s.x_name
        holes = len(s.holes)
        summary = (
            f"{axes}: {total:,} points, {ran:,} run, {total - ran:,} not run; "
            f"{holes} hole{'' if holes == 1 else 's'}"
        )
        if holes:
            summary += " (" + ", ".join(_where(s, x, y) for x, y in s.holes[:20])
            summary += f" and {holes - 20} more)" if holes > 20 else ")"
        summary += "."
        png = render(s, SHMOO_WIDTH_PX, _shmoo_height(s)) if render is not None else None
        if png:
            data = base64.b64encode(png).decode("ascii")
            alt = f"Shmoo {sweep.name}, {summary} Vmin per row in the table below."
            grid = (
                f'<figure><img alt="{esc(alt)}" src="data:image/png;base64,{data}"></figure>'
                f"<details><summary>The grid as letters</summary>{letter_grid(s)}</details>"
            )
        else:
            grid = letter_grid(s)
        key = " · ".join(f"{letter} {word}" for letter, word in _WORDS.items())
        parts.append(
            f'<section class="sweep" id="{anchors[sweep.name]}"><h2>Sweep {esc(sweep.name)}</h2>'
            f"<p>{esc(summary)}</p>{grid}"
            f'<p class="note">Cells: {esc(key)}. Vmin: the smallest {esc(s.x_name)} from which '
            f"every point up to the largest passed (marginal counts as a pass); none when the "
            f"largest did not pass. A hole: a point that failed with a passing point at a "
            f"smaller {esc(s.x_name)} in its row.</p>"
            f"{vmin_table(s)}</section>"
        )
    return "".join(parts)
