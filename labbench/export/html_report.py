"""A run as one self-contained HTML page for people: a ticket attachment or a bring-up review
(docs/architecture.md §9).

The page fetches nothing: its style is inline, its plots are PNG ``data:`` URIs, it has no
script and no external font, so it reads the same offline, from a mail attachment or printed
to PDF from a browser. Every text that comes from the lab (serials, names, notes, rig text) is
escaped; control bytes are written as a visible ``\\xNN``.

Plots come from the ``render_plots`` callable the caller hands in, and a sweep's shmoo grid
from ``render_shmoo`` (``labbench.export`` may not draw: see ``report_plots``); without one the
page says where the plots would be and writes the grid as a table of letters.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from pathlib import Path

from labbench import __version__
from labbench.criteria.band import g
from labbench.criteria.shmoo import Shmoo
from labbench.export.html_style import STYLE, VERDICT_CLASS, esc
from labbench.export.html_sweeps import sweep_sections
from labbench.export.report_plots import (
    PlotSpec,
    RenderedPlot,
    RenderPlots,
    RenderShmoo,
    overview_plots,
    violation_plots,
)
from labbench.export.run_context import (
    RunContext,
    error_reason,
    failure_reason,
    item_title,
    limits_text,
    load_run,
    open_output,
    value_text,
)
from labbench.records import CriterionRecord, StepRecord, ViolationRecord
from labbench.storage import Database
from labbench.storage import events as event_store
from labbench.storage import runs as run_store
from labbench.storage.sweeps import sweeps_of
from labbench.storage.telemetry import PARSED_EVENT_KINDS

__all__ = [
    "MAX_EVENTS",
    "MAX_OPEN_SWEEP_ITEMS",
    "MAX_SWEEP_ITEMS",
    "MAX_VIOLATION_PLOTS",
    "html_report",
    "write_html_report",
]

# A plot per violation up to this many (each is a read of the chunks around it and a PNG of
# some 40 kB); a rail that droops a thousand times is told by the table and the first 20.
MAX_VIOLATION_PLOTS = 20
# Events listed (commands, steps, disconnects...); a run that sent a command a second for an
# hour has them in its JSON record, and the page stays one a browser opens at once.
MAX_EVENTS = 500

# A sweep's items: its failed and error items listed open up to this many, and every item of
# its points under a closed <details> up to MAX_SWEEP_ITEMS (a 40 x 20 shmoo of four items is
# 3,200 rows, some 1 MB of page; the CSV report and the JSON record list them all).
MAX_OPEN_SWEEP_ITEMS = 100
MAX_SWEEP_ITEMS = 2000


def _utc(moment: dt.datetime | None) -> str:
    if moment is None:
        return "not ended"
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _verdict(word: str | None) -> str:
    word = word or "not judged"
    return f'<span class="verdict {VERDICT_CLASS.get(word, "other")}">{esc(word)}</span>'


def _first_problem(ctx: RunContext) -> str:
    items = [c for s in ctx.steps for c in s.criteria]
    failed = next((c for c in items if c.verdict == "failed"), None)
    if failed is not None:
        return failure_reason(failed)
    errored = next((c for c in items if c.verdict == "error"), None)
    if errored is not None:
        return error_reason(errored)
    if ctx.run.error_message:
        return ctx.run.error_message
    marginal = sum(c.verdict == "marginal" for c in items)
    if ctx.run.status in ("passed", "marginal"):
        return f"{len(items)} items judged, {marginal} in a guard band."
    return f"The run is {ctx.run.status}."


def _banner(ctx: RunContext) -> str:
    status = ctx.run.status
    return (
        f'<section class="banner {VERDICT_CLASS.get(status, "other")}">'
        f'<div class="word">{esc(status.upper())}</div>'
        f"<div><h1>{esc(ctx.title)}: {esc(ctx.dut.serial)}</h1>"
        f'<p class="reason">{esc(_first_problem(ctx))}</p></div></section>'
    )


def _metadata(ctx: RunContext) -> str:
    run, dut, plan = ctx.run, ctx.dut, ctx.plan
    duration = ctx.duration_s
    rows = [
        ("DUT", f"{dut.serial} ({dut.kind}{', ' + dut.part if dut.part else ''})"),
        ("plan", f"{plan.name} version {plan.version}" if plan else "none (a recording)"),
        ("station", ctx.station or run.host or ""),
        ("operator", run.operator),
        ("rig device", run.device),
        ("profile", run.profile),
        ("software version", run.software_version),
        ("start", _utc(run.started_at)),
        ("end", _utc(run.ended_at)),
        ("duration", "" if duration is None else f"{duration:.3f} s"),
        ("samples", f"{run.sample_count:,}"),
        ("run id", str(run.id)),
    ]
    if run.error_message:
        rows.append(("error", run.error_message))
    cells = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return f'<section><h2>Run</h2><table class="meta">{cells}</table></section>'


def _sled_map(ctx: RunContext) -> str:
    if not ctx.slots and ctx.dut.kind != "sled":
        return ""
    placed = {s.slot: s for s in ctx.slots}
    count = max([ctx.dut.slot_count or 0, *(s + 1 for s in placed)])
    columns = min(8, max(1, math.ceil(math.sqrt(count)))) if count > 4 else max(count, 1)
    cells = []
    for slot in range(count):
        s = placed.get(slot)
        if s is None:
            cells.append(f'<div class="slot empty"><b>slot {slot}</b><span>empty</span></div>')
            continue
        word = s.chip_verdict or "not judged"
        cells.append(
            f'<div class="slot {VERDICT_CLASS.get(word, "other")}"><b>slot {slot}</b>'
            f"<span>{esc(s.chip_serial)}</span>{_verdict(word)}</div>"
        )
    return (
        '<section><h2>Sled map</h2><div class="sled" '
        f'style="grid-template-columns: repeat({columns}, minmax(9em, 1fr))">'
        + "".join(cells)
        + "</div></section>"
    )


def _step_rows(step: StepRecord, anchors: dict[int, str], only=None) -> list[str]:
    """A step's rows of the items table (only its items whose verdict is in ``only``)."""
    rows = []
    if step.verdict == "skipped" and not step.criteria:
        rows.append(
            f"<tr><td>{esc(step.name)}</td><td colspan=3>step not run: the run stopped "
            f"on a failure</td><td>{_verdict('skipped')}</td><td></td><td></td><td></td></tr>"
        )
    for c in step.criteria:
        if only is not None and c.verdict not in only:
            continue
        first = "" if c.first_violation_s is None else f"{c.first_violation_s:.3f} s"
        link = anchors.get(id(c))
        if link and first:
            first = f'<a href="#{link}">{first}</a>'
        why = ""
        if c.verdict == "failed":
            why = failure_reason(c)
        elif c.verdict == "error":
            why = error_reason(c)
        rows.append(
            f'<tr class="{VERDICT_CLASS.get(c.verdict, "other")}">'
            f"<td>{esc(step.name)}</td><td>{esc(item_title(c))}</td>"
            f"<td>{esc(limits_text(c))}</td><td class=num>{esc(value_text(c))}</td>"
            f"<td>{_verdict(c.verdict)}</td><td class=num>{len(c.violations) or ''}</td>"
            f"<td class=num>{first}</td><td class=why>{esc(why)}</td></tr>"
        )
    return rows


_ITEM_HEAD = "".join(
    f"<th>{h}</th>"
    for h in ("step", "item", "limits", "value", "verdict", "violations", "first violation", "why")
)


def _item_table(rows: list[str]) -> str:
    return (
        f'<table class="items"><thead><tr>{_ITEM_HEAD}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _counted(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {word}" for word, n in counts.items() if n)


def _sweep_items(name: str, anchor: str, points: list[StepRecord], anchors) -> str:
    """A sweep's points in the items table: their failed and error items listed open (the
    first ``MAX_OPEN_SWEEP_ITEMS``), every item of every point that ran under a closed
    ``<details>`` (the first ``MAX_SWEEP_ITEMS``): an 800-point sweep of four items is 3,200
    rows, which the CSV report and the JSON record list in full."""
    ran = [p for p in points if p.criteria or p.verdict != "skipped"]
    items = [c for p in ran for c in p.criteria]
    counts = {w: sum(c.verdict == w for c in items) for w in ("passed", "marginal", "failed")}
    counts["in error"] = sum(c.verdict == "error" for c in items)
    bad = sum(p.verdict in ("failed", "error") for p in ran)
    head = (
        f'<div class="sweep-items"><h3>Sweep {esc(name)}: {len(points):,} points, '
        f"{len(items):,} items</h3><p>{len(ran):,} points ran ({bad:,} failed or in error)"
    )
    if len(ran) < len(points):
        head += f", {len(points) - len(ran):,} did not run"
    head += f'; the grid and Vmin per row are in <a href="#{anchor}">the sweep\'s section</a>.</p>'
    parts = [head]
    problems = [r for p in ran for r in _step_rows(p, anchors, only=("failed", "error"))]
    if problems:
        shown = problems[:MAX_OPEN_SWEEP_ITEMS]
        parts.append(f"<p>Items that failed or are in error at its points ({len(problems):,}):</p>")
        parts.append(_item_table(shown))
        if len(problems) > len(shown):
            parts.append(
                f'<p class="note">{len(problems) - len(shown):,} more are in the list of every '
                "item below.</p>"
            )
    rows = [r for p in ran for r in _step_rows(p, anchors)]
    if rows:
        shown = rows[:MAX_SWEEP_ITEMS]
        listed = (
            f"All {len(rows):,} items"
            if len(rows) == len(shown)
            else f"The first {len(shown):,} of its {len(rows):,} items (the CSV report and the "
            "JSON record list them all)"
        )
        parts.append(
            f"<details><summary>{listed} of the points that ran: {_counted(counts)}</summary>"
            f"{_item_table(shown)}</details>"
        )
    return "".join(parts) + "</div>"


def _items(ctx: RunContext, anchors: dict[int, str], sweep_anchors: dict[str, str]) -> str:
    """Every judged item in the report's order; a sweep's points collapsed in one block."""
    runs: list[tuple[str | None, list[StepRecord]]] = []
    for step in ctx.steps:
        key = step.point.sweep if step.point is not None else None
        if runs and runs[-1][0] == key:
            runs[-1][1].append(step)
        else:
            runs.append((key, [step]))
    parts = ['<section class="items"><h2>Judged items</h2>']
    for sweep, steps in runs:
        if sweep is None:
            parts.append(_item_table([r for step in steps for r in _step_rows(step, anchors)]))
        else:
            parts.append(_sweep_items(sweep, sweep_anchors.get(sweep, ""), steps, anchors))
    return "".join(parts) + "</section>"


def _legend(image: RenderedPlot) -> str:
    if len(image.colors) < 2:
        return ""
    keys = "".join(
        f'<span class="key"><i style="background:{esc(color)}"></i>{esc(name)}</span>'
        for name, color in image.colors
    )
    return f'<div class="legend">{keys}</div>'


def _figure(spec: PlotSpec, image: RenderedPlot | None, drawn: bool, anchor="", caption="") -> str:
    if image is None and drawn:
        return ""  # nothing drawable (only bookkeeping channels such as the line counter)
    ident = f' id="{anchor}"' if anchor else ""
    if image is None:
        body = '<p class="note">Not drawn here (this report was written without a renderer).</p>'
    else:
        data = base64.b64encode(image.png).decode("ascii")
        body = f'<img alt="{esc(spec.title)}" src="data:image/png;base64,{data}">'
        body += _legend(image)
    note = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f"<figure{ident}><h3>{esc(spec.title)}</h3>{body}{note}</figure>"


def _drawn(specs: list[PlotSpec], render: RenderPlots | None) -> list[RenderedPlot | None]:
    return render(specs) if render is not None and specs else [None] * len(specs)


def _violations(db, ctx, channels, events, violations, anchors, render) -> str:
    if not violations:
        return ""
    shown = violations[:MAX_VIOLATION_PLOTS]
    parts = [
        '<section class="big"><h2>Violations</h2>',
        f"<p>{len(violations)} in all; shaded red where out of limits, the pass band green, "
        "guard bands amber, limits dashed.</p>",
    ]
    specs = list(violation_plots(db, ctx, channels, events, shown))
    for (c, v), spec, image in zip(shown, specs, _drawn(specs, render), strict=True):
        caption = (
            f"{v.channel} out from {v.start_s:.6g} s to {v.end_s:.6g} s, extreme "
            f"{g(v.extreme)} {c.unit} ({v.bound} bound); limits {limits_text(c)}"
        )
        parts.append(_figure(spec, image, render is not None, anchors.get(id(v), ""), caption))
    if len(violations) > len(shown):
        more = len(violations) - len(shown)
        parts.append(
            f'<p class="note">{more} more {"violation is" if more == 1 else "violations are"} '
            "not drawn; the table above counts them per item, the JSON record lists them all."
            "</p>"
        )
    return "".join(parts) + "</section>"


def _overview(db, ctx, channels, events, violations, render) -> str:
    parts = ['<section class="big"><h2>Telemetry over the whole run</h2>']
    if not channels:
        parts.append("<p>The run stored no telemetry.</p>")
    specs = list(overview_plots(db, ctx, channels, events, violations))
    for spec, image in zip(specs, _drawn(specs, render), strict=True):
        caption = ""
        if spec.envelope:
            caption = "Drawn from the min and max of each stored block of samples."
        parts.append(_figure(spec, image, render is not None, caption=caption))
    return "".join(parts) + "</section>"


def _events(ctx: RunContext, events, counts: dict[str, int]) -> str:
    rows = "".join(
        f"<tr><td class=num>{ctx.seconds(e.at_ns):.3f} s</td><td>{esc(e.kind)}</td>"
        f"<td>{esc(e.detail)}</td></tr>"
        for e in events[:MAX_EVENTS]
    )
    more = ""
    if len(events) > MAX_EVENTS:
        more = f'<p class="note">{len(events) - MAX_EVENTS} more events are in the JSON record.</p>'
    counted = ", ".join(
        f"{counts[k]:,} {esc(k)}" for k in sorted(counts) if k in PARSED_EVENT_KINDS
    )
    told = f"<p>The rig's own text is counted, not listed: {counted}.</p>" if counted else ""
    table = (
        f'<table class="events"><thead><tr><th>time</th><th>event</th><th>detail</th></tr>'
        f"</thead><tbody>{rows}</tbody></table>"
        if rows
        else "<p>No events.</p>"
    )
    return f'<section class="big"><h2>Events</h2>{told}{table}{more}</section>'


def _notes(notes) -> str:
    if not notes:
        return "<section><h2>Operator notes</h2><p>No notes.</p></section>"
    rows = "".join(
        f"<tr><td>{esc(_utc(a.at))}</td><td>{esc(a.user)}</td><td>{esc(a.reason)}</td></tr>"
        for a in notes
    )
    return (
        '<section><h2>Operator notes</h2><table class="notes"><thead><tr><th>when</th>'
        f"<th>who</th><th>note</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def html_report(
    db: Database,
    run_id: int,
    render_plots: RenderPlots | None = None,
    render_shmoo: RenderShmoo | None = None,
) -> str:
    """The page of one run; an unknown run is an ``ExportError``. ``render_shmoo`` draws each
    sweep's grid (without it, the grid is a table of letters)."""
    ctx = load_run(db, run_id)
    sweeps = sweeps_of(ctx.steps)
    sweep_anchors = {s.name: f"sweep-{k}" for k, s in enumerate(sweeps)}
    channels = run_store.run_channels(db, run_id)
    events = event_store.run_events(db, run_id, except_kinds=PARSED_EVENT_KINDS)
    notes = [a for a in event_store.audit_trail(db, "run", run_id) if a.action == "note"]
    violations: list[tuple[CriterionRecord, ViolationRecord]] = [
        (c, v) for s in ctx.steps for c in s.criteria for v in c.violations
    ]
    # The drawn violations' figures, and each item's first drawn one, are linked from the table.
    anchors: dict[int, str] = {}
    for k, (c, v) in enumerate(violations[:MAX_VIOLATION_PLOTS]):
        anchors[id(v)] = f"violation-{k}"
        anchors.setdefault(id(c), f"violation-{k}")
    body = [
        _banner(ctx),
        _metadata(ctx),
        _sled_map(ctx),
        sweep_sections(sweeps, sweep_anchors, render_shmoo),
        _items(ctx, anchors, sweep_anchors),
        _violations(db, ctx, channels, events, violations, anchors, render_plots),
        _overview(db, ctx, channels, events, violations, render_plots),
        _events(ctx, events, event_store.event_counts(db, run_id)),
        _notes(notes),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(ctx.title)}: {esc(ctx.dut.serial)} {esc(ctx.run.status)}</title>"
        f"<style>{STYLE}</style></head><body>{''.join(body)}"
        f"<footer>Written by labbench {esc(__version__)} at "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M:%S} UTC.</footer></body></html>\n"
    )


def write_html_report(
    db: Database,
    run_id: int,
    path: str | Path,
    render_plots: RenderPlots | None = None,
    render_shmoo: RenderShmoo | None = None,
) -> int:
    """Write one run's page; returns the number of plots drawn (shmoo grids included). The
    page is built before the file is opened, so an unknown run writes nothing."""
    drawn = 0

    def counting(specs: list[PlotSpec]) -> list[RenderedPlot | None]:
        nonlocal drawn
        images = render_plots(specs)
        drawn += sum(image is not None for image in images)
        return images

    def counting_shmoo(shmoo: Shmoo, width: int, height: int) -> bytes:
        nonlocal drawn
        png = render_shmoo(shmoo, width, height)
        drawn += bool(png)
        return png

    page = html_report(
        db, run_id, counting if render_plots else None, counting_shmoo if render_shmoo else None
    )
    with open_output(path) as f:
        f.write(page)
    return drawn
