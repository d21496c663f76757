"""Run reports, telemetry and run lists as CSV (docs/architecture.md §6).

* UTF-8, RFC 4180 quoting by the ``csv`` module, ``.`` decimal point, full precision
  (``repr``), ``nan`` for NaN; every file loads with ``pandas.read_csv(path, comment="#")``.
* Only the report has ``#`` lines (its preamble); no cell of any file contains ``#``, and no
  text cell is a formula: see :mod:`labbench.export.cells` for the reversible form of text.
* Telemetry is merged across channels chunk by chunk: memory holds about one chunk per
  channel, whatever the run's length.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from labbench.criteria.band import describe_limits
from labbench.export.cells import cell_text, number, preamble_text, safe_text
from labbench.records import RUN_STATUSES, ChannelInfo, RunInfo, RunListRow, StepRecord
from labbench.storage import Database, RecordError
from labbench.storage import history as history_store
from labbench.storage import inventory as inventory_store
from labbench.storage import plans as plan_store
from labbench.storage import results as result_store
from labbench.storage import runs as run_store
from labbench.storage.telemetry_read import iter_channel_chunks

__all__ = [
    "REPORT_COLUMNS",
    "RUN_LIST_COLUMNS",
    "ExportCancelled",
    "ExportError",
    "cell_text",
    "export_run",
    "number",
    "run_list_rows",
    "run_preamble",
    "safe_text",
    "write_report",
    "write_run_list",
    "write_telemetry",
]

REPORT_COLUMNS = (
    "step", "kind", "name", "channel", "unit", "value", "low", "high", "marginal_low",
    "marginal_high", "verdict", "violations", "first_violation_s", "limits", "slot", "chip",
    "sweep", "sweep_x", "sweep_y", "sweep_order",
)  # fmt: skip
RUN_LIST_COLUMNS = (
    "run_id", "dut", "dut_kind", "plan", "plan_version", "station", "operator", "start_utc",
    "end_utc", "duration_s", "verdict", "failed_items", "slot", "chip_verdict",
)  # fmt: skip


class ExportError(Exception):
    """An export that cannot be done; one sentence naming the run or file."""


class ExportCancelled(ExportError):
    """The user cancelled; the partial file was removed."""


def _iso(moment: dt.datetime | None) -> str:
    return "" if moment is None else moment.astimezone(dt.UTC).isoformat()


def _open(path: str | Path):
    try:
        return open(path, "w", newline="", encoding="utf-8")
    except OSError as exc:
        raise ExportError(f"Cannot write {path}: {exc.strerror or exc}.") from None


def run_preamble(db: Database, run: RunInfo) -> list[tuple[str, str]]:
    dut = inventory_store.get_dut(db, run.dut_id)
    plan = plan_store.get_plan_version(db, run.plan_id) if run.plan_id else None
    station = inventory_store.station_name(db, run.station_id)
    return [
        ("run_id", str(run.id)),
        ("dut_serial", dut.serial),
        ("dut_kind", dut.kind),
        ("plan", plan.name if plan else ""),
        ("plan_version", plan.version if plan else ""),
        ("station", station),
        ("operator", run.operator),
        ("device", run.device),
        ("profile", run.profile),
        ("software_version", run.software_version),
        ("start_utc", _iso(run.started_at)),
        ("end_utc", _iso(run.ended_at)),
        ("verdict", run.status),
        ("samples", str(run.sample_count)),
        ("malformed_lines", str(run.malformed_count)),
    ] + [
        # A sled run's chips as placed at its start, each with its own verdict.
        (f"slot {s.slot}", " ".join(x for x in (s.chip_serial, s.chip_verdict) if x))
        for s in run_store.run_slots(db, run.id)
    ]


def write_report(db: Database, run_id: int, path: str | Path) -> int:
    """The run report: ``# key: value`` preamble, then one row per judged item.

    The ``limits`` column says what the item was judged against, in the words of
    :meth:`labbench.criteria.band.Band.describe` (``0.72 … 0.78 V (guard 0.73 / 0.77)``).
    An item of a sweep's point carries the sweep step's name, the point's ``sweep_x`` and
    ``sweep_y`` values and its ``sweep_order``; the preamble names each sweep's axes
    (``# sweep shmoo: x vdd_mv, y freq_mhz``)."""
    run = _get_run(db, run_id)
    rows = 0
    steps = result_store.run_results(db, run_id)
    with _open(path) as f:
        for key, value in run_preamble(db, run) + _sweep_preamble(steps):
            f.write(f"# {key}: {preamble_text(value)}\n")
        writer = csv.writer(f)
        writer.writerow(REPORT_COLUMNS)
        for step in steps:
            point = step.point
            where = (
                ["", "", "", ""]
                if point is None
                else [safe_text(point.sweep), number(point.x), number(point.y), point.order]
            )
            for c in step.criteria:
                value = number(c.value) if c.value is not None else safe_text(c.text_value)
                writer.writerow(
                    [
                        safe_text(step.name),
                        c.kind,
                        safe_text(c.name),
                        safe_text(c.channel),
                        safe_text(c.unit),
                        value,
                        number(c.low),
                        number(c.high),
                        number(c.marginal_low),
                        number(c.marginal_high),
                        c.verdict,
                        len(c.violations),
                        number(c.first_violation_s),
                        safe_text(
                            describe_limits(
                                c.low,
                                c.high,
                                c.marginal_low,
                                c.marginal_high,
                                equals=c.equals,
                                unit=c.unit,
                            )
                        ),
                        "" if c.slot is None else c.slot,
                        safe_text(c.chip),
                        *where,
                    ]
                )
                rows += 1
    return rows


def _sweep_preamble(steps: list[StepRecord]) -> list[tuple[str, str]]:
    """``sweep NAME: x AXIS, y AXIS`` for each sweep of the run, in the order they ran."""
    axes: dict[str, str] = {}
    for step in steps:
        p = step.point
        if p is not None and p.sweep not in axes:
            axes[p.sweep] = f"x {p.x_name}" + (f", y {p.y_name}" if p.y_name else "")
    return [(f"sweep {name}", text) for name, text in axes.items()]


def _get_run(db: Database, run_id: int) -> RunInfo:
    try:
        return run_store.get_run(db, run_id)
    except RecordError as exc:
        raise ExportError(str(exc)) from None


# --- telemetry ----------------------------------------------------------------------------


class _ChannelStream:
    """One channel's samples, chunk by chunk, with a look-ahead buffer."""

    def __init__(self, chunks: Iterator[tuple[np.ndarray, np.ndarray]]):
        self._chunks = chunks
        self.t = np.empty(0)
        self.v = np.empty(0)
        self.exhausted = False

    def refill(self) -> None:
        for t, v in self._chunks:
            self.t = np.concatenate((self.t, t)) if self.t.size else t
            self.v = np.concatenate((self.v, v)) if self.v.size else v
            return
        self.exhausted = True

    def take_before(self, cut: float) -> tuple[np.ndarray, np.ndarray]:
        k = int(np.searchsorted(self.t, cut, side="left")) if math.isfinite(cut) else self.t.size
        t, v = self.t[:k], self.v[:k]
        self.t, self.v = self.t[k:], self.v[k:]
        return t, v


def iter_telemetry_slices(
    db: Database, run_id: int, channels: list[ChannelInfo]
) -> Iterator[list[tuple[np.ndarray, np.ndarray]]]:
    """Time-ordered slices of every channel: each slice holds, per channel, the samples
    before a cut time that no later chunk can undercut.  Samples sharing a time stay in
    one slice."""
    streams = [_ChannelStream(iter_channel_chunks(db, run_id, c.name)) for c in channels]
    while True:
        for s in streams:
            # Keep at least one sample beyond everything taken so far: refill an empty
            # buffer, or one holding a single time only (its next chunk may repeat it).
            while not s.exhausted and (s.t.size == 0 or s.t[0] == s.t[-1]):
                before = s.t.size
                s.refill()
                if s.t.size == before:
                    break
        live = [s for s in streams if not s.exhausted and s.t.size]
        cut = min(s.t[-1] for s in live) if live else math.inf
        piece = [s.take_before(cut) for s in streams]
        if any(t.size for t, _ in piece):
            yield piece
        elif not live:
            return


def _occurrence(t: np.ndarray) -> np.ndarray:
    """For each sample, how many earlier samples of the channel share its time."""
    return np.arange(t.size) - np.searchsorted(t, t, side="left")


def write_telemetry(
    db: Database,
    run_id: int,
    path: str | Path,
    layout: str = "wide",
    progress: Callable[[int], bool] | None = None,
) -> int:
    """Telemetry CSV; returns the number of samples written.

    ``progress(samples_so_far)`` is called after each slice; returning False cancels the
    export and removes the partial file."""
    if layout not in ("wide", "long"):
        raise ExportError(f"Unknown telemetry layout {layout!r}; use wide or long.")
    _get_run(db, run_id)
    channels = run_store.run_channels(db, run_id)
    written = 0
    with _open(path) as f:
        writer = csv.writer(f)
        if layout == "wide":
            writer.writerow(
                ["t_s"]
                + [safe_text(f"{c.name} ({c.unit})" if c.unit else c.name) for c in channels]
            )
        else:
            writer.writerow(["t_s", "channel", "value", "unit"])
        # Long rows are written by hand for speed: the numbers never need quoting, and the
        # text fields are quoted once per channel by the csv module itself.
        names = [_csv_field(safe_text(c.name)) for c in channels]
        units = [_csv_field(safe_text(c.unit)) for c in channels]
        for piece in iter_telemetry_slices(db, run_id, channels):
            written += sum(t.size for t, _ in piece)
            if layout == "wide":
                writer.writerows(_wide_rows(piece))
            else:
                f.write("".join(map("{},{},{},{}\r\n".format, *_long_columns(piece, names, units))))
            if progress is not None and progress(written) is False:
                cancelled = True
                break
        else:
            cancelled = False
    if cancelled:
        Path(path).unlink(missing_ok=True)
        raise ExportCancelled(f"Export of run {run_id} cancelled; {path} was removed.")
    return written


def _csv_field(text: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([text])
    return buffer.getvalue()


def _wide_rows(piece: list[tuple[np.ndarray, np.ndarray]]):
    # A row per (time, occurrence): a channel with three samples at one time fills three rows.
    keys_t = np.concatenate([t for t, _ in piece])
    keys_o = np.concatenate([_occurrence(t) for t, _ in piece])
    order = np.lexsort((keys_o, keys_t))
    keys_t, keys_o = keys_t[order], keys_o[order]
    distinct = np.ones(keys_t.size, bool)
    distinct[1:] = (keys_t[1:] != keys_t[:-1]) | (keys_o[1:] != keys_o[:-1])
    row_t = keys_t[distinct]
    n = row_t.size
    columns = [list(map(repr, row_t.tolist()))]
    # Rows are sorted by (t, occurrence): a sample's row is its time's first row + occurrence.
    for t, v in piece:
        cells = [""] * n
        if t.size:
            rows = np.searchsorted(row_t, t, side="left") + _occurrence(t)
            for r, text in zip(rows.tolist(), map(repr, v.tolist()), strict=True):
                cells[r] = text
        columns.append(cells)
    return zip(*columns, strict=True)


def _long_columns(piece, names: list[str], units: list[str]):
    t = np.concatenate([t for t, _ in piece])
    v = np.concatenate([v for _, v in piece])
    which = np.concatenate([np.full(t_.size, i) for i, (t_, _) in enumerate(piece)])
    order = np.argsort(t, kind="stable")
    which = which[order]
    return (
        map(repr, t[order].tolist()),
        np.array(names, dtype=object)[which].tolist(),
        map(repr, v[order].tolist()),
        np.array(units, dtype=object)[which].tolist(),
    )


def export_run(
    db: Database,
    run_id: int,
    *,
    report: str | Path,
    telemetry: str | Path | None = None,
    layout: str = "wide",
    progress: Callable[[int], bool] | None = None,
) -> int:
    """Write the report (and telemetry); returns the telemetry samples written."""
    write_report(db, run_id, report)
    return write_telemetry(db, run_id, telemetry, layout, progress) if telemetry else 0


# --- run lists ----------------------------------------------------------------------------


def run_list_rows(
    db: Database,
    *,
    dut: str | None = None,
    plan: str | None = None,
    verdict: str | None = None,
    since: dt.datetime | None = None,
) -> Iterator[tuple]:
    """One tuple per run (RUN_LIST_COLUMNS), oldest first, streamed from the database."""
    if verdict and verdict not in RUN_STATUSES:
        raise ExportError(f"Unknown verdict {verdict!r} (known: {', '.join(RUN_STATUSES)}).")
    for row in history_store.iter_run_list(db, dut=dut, plan=plan, verdict=verdict, since=since):
        yield _run_row(row)


def _run_row(row: RunListRow) -> tuple:
    started, ended = row.started_at, row.ended_at
    duration = (ended - started).total_seconds() if ended else None
    return (
        row.run_id,
        row.dut,
        row.dut_kind,
        row.plan,
        row.plan_version,
        row.station,
        row.operator,
        _iso(started),
        _iso(ended),
        duration,
        row.status,
        row.failed_items,
        row.slot,
        row.chip_verdict,
    )


def write_run_list(db: Database, path: str | Path, **filters) -> int:
    count = 0
    with _open(path) as f:
        writer = csv.writer(f)
        writer.writerow(RUN_LIST_COLUMNS)
        for row in run_list_rows(db, **filters):
            (
                rid,
                serial,
                kind,
                plan_name,
                version,
                station,
                operator,
                start,
                end,
                duration,
                status,
                failed,
                slot,
                chip_verdict,
            ) = row
            writer.writerow(
                [
                    rid,
                    safe_text(serial),
                    kind,
                    safe_text(plan_name),
                    safe_text(version),
                    safe_text(station),
                    safe_text(operator),
                    start,
                    end,
                    number(duration),
                    status,
                    failed,
                    "" if slot is None else slot,
                    chip_verdict or "",
                ]
            )
            count += 1
    return count
