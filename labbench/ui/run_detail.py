"""A stored run opened from History: plots from its chunks (the overview first for long runs),
violations (click to zoom), results, events, console and notes added as audit entries."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHeaderView,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from labbench.records import RunInfo
from labbench.runs.judgement import chip_verdicts
from labbench.runs.plan import PlanError, parse_plan
from labbench.storage import Database
from labbench.storage import events as event_store
from labbench.storage import inventory as inventory_store
from labbench.storage import plans as plan_store
from labbench.storage import results as result_store
from labbench.storage import runs as run_store
from labbench.storage.sweeps import run_sweeps, sweep_runs
from labbench.storage.telemetry import CONSOLE_EVENT_KINDS
from labbench.storage.telemetry_read import overview_summary, read_channel
from labbench.ui.loader import Loader
from labbench.ui.plot_limits import draw_stored_limits, judged_bands
from labbench.ui.plots import PlotStack
from labbench.ui.results_model import ResultsModel
from labbench.ui.shmoo_panel import ShmooPanel
from labbench.ui.sled_map import SledMap, SlotRowFilter
from labbench.ui.theme import LIGHT, Theme
from labbench.ui.timing_marks import TimingMarks, timing_marks

log = logging.getLogger(__name__)

EXTREME_ROLE = Qt.ItemDataRole.UserRole + 1  # a violation's extreme value, for zooming onto it
# A channel with more stored samples than this opens as its chunk min/max overview first.
OVERVIEW_ABOVE = 500_000


class RunDetail(QWidget):
    """A stored run: plots from chunks, violations (click to zoom), results, events, console and
    notes."""

    def __init__(self, db: Database, loader: Loader, theme: Theme = LIGHT, parent=None):
        super().__init__(parent)
        self.db, self.loader, self.theme = db, loader, theme
        self.run: RunInfo | None = None
        self.stamp_info: tuple = (None, "", "", "pending")
        self._violation_row = -1
        self.title = QLabel("Open a run from the list")
        font = self.title.font()
        font.setPointSize(font.pointSize() + 2)
        font.setBold(True)
        self.title.setFont(font)
        self.plots = PlotStack(theme)
        self.timing = TimingMarks(self.plots)  # power-sequencing crossings and times
        self.violations = QListWidget()
        self.violations.itemActivated.connect(self._on_violation_clicked)
        self.violations.itemClicked.connect(self._on_violation_clicked)
        self.results = ResultsModel(theme)
        results_view = self.results_view = QTableView()
        results_view.setModel(self.results)
        results_view.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.events = QListWidget()
        self.console = QListWidget()
        self.notes = QListWidget()
        add_note = QPushButton("Add note…")
        add_note.clicked.connect(self._on_add_note)
        notes_box = QWidget()
        notes_layout = QVBoxLayout(notes_box)
        notes_layout.addWidget(self.notes)
        notes_layout.addWidget(add_note)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.violations, "Violations")
        self.tabs.addTab(results_view, "Results")
        self.tabs.addTab(self.events, "Events")
        self.tabs.addTab(self.console, "Console")
        self.tabs.addTab(notes_box, "Notes")
        # A run with sweeps: their shmoo; a cell clicked zooms the plots onto its point.
        self.shmoo = ShmooPanel(theme)
        self.shmoo.point_picked.connect(self.show_step)
        self.tabs.addTab(self.shmoo, "Shmoo")
        self.tabs.setTabVisible(self.tabs.indexOf(self.shmoo), False)
        self._steps: list = []
        self.plots.cursor_moved.connect(self._on_cursor)
        splitter = self.body_split = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.plots)
        splitter.addWidget(self.tabs)
        # The tabs' pages ask for ~250 px (the results table's rows); on a 720 px screen under
        # a sled's map that left the plots ~60 px.  The plots get the room, the tabs scroll.
        self.tabs.setMinimumHeight(110)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setCollapsible(0, False)
        splitter.setSizes([500, 220])
        # A sled run: its chips and their verdicts; a chip picked narrows the views to it.
        self.sled_map = SledMap(theme)
        self.results_filter = SlotRowFilter(results_view, self)
        self.sled_map.slot_selected.connect(self.show_slot)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.sled_map)
        layout.addWidget(splitter, 1)
        self._console_times: list[float] = []
        self.overview: dict = {}
        self.detail_range: tuple[float, float] | None = None
        # After a zoom settles, fetch the samples behind the overview (no fetch per wheel tick).
        self._zoom_timer = QTimer(self)
        self._zoom_timer.setSingleShot(True)
        self._zoom_timer.setInterval(150)
        self._zoom_timer.timeout.connect(self._on_zoom_settled)

    detail_loaded = Signal()

    def _on_zoom_settled(self) -> None:
        """Overview first, detail as you zoom: load the samples of the visible span once it
        holds few enough of them; zoomed out again, the overview comes back."""
        if not self.overview or self.run is None:
            return
        first = next(iter(self.plots.plots.values()))
        x0, x1 = first.vb.viewRange()[0]
        if self.detail_range and self.detail_range[0] <= x0 and x1 <= self.detail_range[1]:
            return
        visible = max(
            int(s.count[(s.t_last >= x0) & (s.t_first <= x1)].sum())
            for _, _, s in self.overview.values()
        )
        if visible > OVERVIEW_ABOVE:
            if self.detail_range is not None:
                self.detail_range = None
                for name, (t, v, _) in self.overview.items():
                    self.plots.set_data(name, t, v)
                self.plots.redraw(x0, x1)
            return
        span = x1 - x0
        a, b = x0 - span, x1 + span  # a margin so small pans need no new read
        run_id, names = self.run.id, list(self.overview)
        self.loader.submit(
            lambda: {n: read_channel(self.db, run_id, n, a, b) for n in names},
            lambda data: self._show_detail(run_id, a, b, data),
        )

    def _show_detail(self, run_id: int, a: float, b: float, data) -> None:
        if isinstance(data, Exception) or self.run is None or self.run.id != run_id:
            return
        for name, (t, v) in data.items():
            self.plots.set_data(name, t, v)
        self.detail_range = (a, b)
        first = next(iter(self.plots.plots.values()))
        x0, x1 = first.vb.viewRange()[0]
        self.plots.redraw(x0, x1)
        self.detail_loaded.emit()

    def open_run(
        self, run_id: int, on_loaded: Callable[[], None] | None = None, slot: int | None = None
    ) -> None:
        """Show a stored run; ``slot``: with that chip picked on the sled map."""

        def loaded() -> None:
            self.sled_map.select(slot)
            if on_loaded:
                on_loaded()

        self.loader.submit(
            lambda: _load_run(self.db, run_id), lambda data: self._show(data, loaded)
        )

    def show_slot(self, slot: int | None) -> None:
        """Narrow the plots, results and violations to one chip (and the sled's own)."""
        self.plots.show_slot(slot)
        self.results_filter.set_slot(slot)
        for row in range(self.violations.count()):
            item = self.violations.item(row)
            item.setHidden(not self.plots.slot_shown(item.data(Qt.ItemDataRole.UserRole)[0]))
        first = next(iter(self.plots.plots.values()), None)
        if first is not None:
            self.plots.redraw(*first.vb.viewRange()[0])
        # The chip's first judged plot into sight (the sled's own plots come first).
        judged = [n for n in self.plots.curves if n.endswith(f"[{slot}]")]
        judged.sort(key=lambda n: not self.plots.channel_key[n].startswith("channel:"))
        if slot is not None and judged:
            QTimer.singleShot(0, lambda: self.plots.scroll_to(judged[0]))  # once laid out

    def _show(self, data, on_loaded) -> None:
        if isinstance(data, Exception):
            self.title.setText(f"Could not open the run: {data}")
            return
        run, dut, plan, steps, channels, events, run_slots, marks, others = data
        self.run = run
        self._steps = steps
        self.stamp_info = (
            run.id,
            f"{dut.serial} ({dut.kind})",
            f"{plan.name} v{plan.version}" if plan else "no plan",
            run.status,
        )
        self._violation_row = -1
        self.overview = {
            name: (t, v, summary) for name, _, t, v, summary in channels if summary is not None
        }
        self.detail_range: tuple[float, float] | None = None
        self.title.setText(
            f"Run {run.id} — {dut.serial} ({dut.kind}) — "
            f"{plan.name + ' v' + plan.version if plan else 'no plan'} — {run.status.upper()}"
        )
        parsed = None
        if plan is not None:
            try:
                parsed = parse_plan(plan.text, f"{plan.name} v{plan.version}")
            except PlanError:
                parsed = None
        self.plots.clear()
        self.timing.clear(remove=False)
        if parsed is not None:
            self.plots.set_limits(judged_bands(parsed))
        for name, unit, t, v, _ in channels:
            self.plots.ensure_channel(name, unit)
            self.plots.set_data(name, t, v)
        if parsed is not None:
            draw_stored_limits(self.plots, parsed, steps, run.t0_ns)
        self.timing.update(marks)
        for event in events:
            if event.kind == "command":
                self.plots.add_marker(
                    (event.at_ns - run.t0_ns) / 1e9, "▸ " + event.detail, "command"
                )
        end = max((t[-1] for _, _, t, _, _ in channels if t.size), default=1.0)
        first = next(iter(self.plots.plots.values()), None)
        if first is not None and self.overview:
            first.sigXRangeChanged.connect(lambda *_: self._zoom_timer.start())
        self.plots.redraw(0.0, end)
        self.plots.set_x_range(0.0, end)
        self.violations.clear()
        for step in steps:
            for c in step.criteria:
                for v in c.violations:
                    item = QListWidgetItem(
                        f"{step.name}: {v.channel} {v.bound} from {v.start_s:.3f} s "
                        f"to {v.end_s:.3f} s (extreme {v.extreme:.6g})"
                    )
                    item.setData(Qt.ItemDataRole.UserRole, (v.channel, v.start_s, v.end_s))
                    item.setData(EXTREME_ROLE, v.extreme)
                    self.violations.addItem(item)
                    self.plots.add_violation(v.channel, v.start_s, v.end_s, v.extreme)
        self._show_shmoo(parsed, steps, others)
        chips = {s.slot: s.chip_serial for s in run_slots}
        self.results.set_plan(parsed, chips)
        self.results.update_steps(steps)
        self.sled_map.clear()
        if chips:
            self.sled_map.set_sled(dut.serial, dut.slot_count, chips)
            # As stored; a run stored before it was judged per chip: from its per-chip items.
            verdicts = chip_verdicts(steps, chips)
            self.sled_map.set_verdicts(
                {s.slot: s.chip_verdict or verdicts.get(s.slot) for s in run_slots}
            )
        self.events.clear()
        self.console.clear()
        self._console_times = []
        for event in events:
            t = (event.at_ns - run.t0_ns) / 1e9
            if event.kind in CONSOLE_EVENT_KINDS:  # text values (status=Running) included
                self.console.addItem(
                    f"{t:10.3f}  {'!! ' if event.kind == 'malformed' else '   '}{event.detail}"
                )
                self._console_times.append(t)
            else:
                self.events.addItem(f"{t:10.3f}  {event.kind}: {event.detail}")
        self._refresh_notes()
        if on_loaded:
            on_loaded()

    def _show_shmoo(self, parsed, steps, others) -> None:
        swept = parsed is not None and bool(parsed.sweeps)
        index = self.tabs.indexOf(self.shmoo)
        self.tabs.setTabVisible(index, swept)
        self.shmoo.show_plan(parsed if swept else None, {s.position: s.verdict for s in steps})
        db = self.db
        self.shmoo.set_overlays(
            [
                (
                    f"run {run_id} {serial}",
                    lambda run_id=run_id: {s.name: s.shmoo for s in run_sweeps(db, run_id)},
                )
                for run_id, serial, _ in others
            ]
        )
        if swept:  # the grid needs about as much height as the plots
            self.tabs.setCurrentIndex(index)
            total = sum(self.body_split.sizes())
            self.body_split.setSizes([total * 30 // 100, total - total * 30 // 100])

    def show_step(self, position: int) -> None:
        """Zoom the plots onto step ``position``'s window (a sweep point's dwell)."""
        step = next((s for s in self._steps if s.position == position), None)
        if step is None or self.run is None or step.ended_ns is None:
            return
        start = (step.started_ns - self.run.t0_ns) / 1e9
        end = (step.ended_ns - self.run.t0_ns) / 1e9
        if end <= start:
            return  # a point that never ran has no window
        margin = max((end - start) * 0.1, 0.005)
        self.plots.redraw(start - margin, end + margin)
        self.plots.set_x_range(start - margin, end + margin)
        self.plots.fit_y(start - margin, end + margin)
        total = sum(self.body_split.sizes())  # the plots get the room to be read
        self.body_split.setSizes([total * 55 // 100, total - total * 55 // 100])

    def _on_violation_clicked(self, item: QListWidgetItem) -> None:
        channel, start, end = item.data(Qt.ItemDataRole.UserRole)
        extreme = item.data(EXTREME_ROLE)
        self._violation_row = self.violations.row(item)
        self.plots.zoom_to(channel, start, end, extreme)

    def step_violation(self, direction: int) -> bool:
        """Select the next (+1) or previous (-1) violation in the list and zoom onto it."""
        count = self.violations.count()
        if not count:
            return False
        self._violation_row = (self._violation_row + direction) % count
        item = self.violations.item(self._violation_row)
        self.violations.setCurrentItem(item)
        self._on_violation_clicked(item)
        return True

    def zoom_to(self, start: float, end: float) -> None:
        margin = max((end - start) * 2.0, 0.5)
        x0, x1 = start - margin, end + margin
        self.plots.redraw(x0, x1)
        self.plots.set_x_range(x0, x1)

    def _on_cursor(self, x: float) -> None:
        """Keep the console in step with the plot cursor."""
        if not self._console_times:
            return
        row = max(int(np.searchsorted(self._console_times, x, side="right")) - 1, 0)
        self.console.setCurrentRow(row)
        self.console.scrollToItem(self.console.item(row))

    notes_changed = Signal()

    def _refresh_notes(self) -> None:
        self.notes.clear()
        if self.run is None:
            return
        run_id = self.run.id
        self.loader.submit(
            lambda: event_store.audit_trail(self.db, "run", run_id),
            lambda entries: self._show_notes(run_id, entries),
        )

    def _show_notes(self, run_id: int, entries) -> None:
        if self.run is None or self.run.id != run_id:
            return
        self.notes.clear()
        if isinstance(entries, Exception):
            self.notes.addItem(f"Could not read the notes: {entries}")
        else:
            for entry in entries:
                self.notes.addItem(
                    f"{entry.at:%Y-%m-%d %H:%M} {entry.user}: {entry.action} {entry.reason}"
                )
        self.notes_changed.emit()

    def _on_add_note(self) -> None:
        if self.run is None:
            return
        text, ok = QInputDialog.getMultiLineText(
            self, "Add a note", f"Note on run {self.run.id} (kept in the audit trail):"
        )
        if ok and text.strip():
            self.add_note(text.strip())

    def add_note(self, text: str, user: str | None = None) -> None:
        """Write the note on the worker, then show the notes again."""
        import getpass

        run_id, who = self.run.id, user or getpass.getuser() or "unknown"

        def saved(result) -> None:
            if isinstance(result, Exception):
                self.notes.addItem(f"The note was not saved: {result}")
                self.notes_changed.emit()
                return
            self._refresh_notes()

        self.loader.submit(
            lambda: event_store.add_audit_entry(
                self.db, user=who, entity="run", entity_id=run_id, action="note", reason=text
            ),
            saved,
        )


def _overview(summary) -> tuple[np.ndarray, np.ndarray]:
    t = np.repeat(summary.t_first, 2)
    t[1::2] = summary.t_last
    v = np.empty(t.size)
    v[0::2], v[1::2] = summary.v_min, summary.v_max
    return t, v


def _load_run(db: Database, run_id: int):
    """Everything the detail view shows, read on the worker thread."""
    run = run_store.get_run(db, run_id)
    dut = inventory_store.get_dut(db, run.dut_id)
    plan = plan_store.get_plan_version(db, run.plan_id) if run.plan_id else None
    steps = result_store.run_results(db, run_id)
    channels = []
    for channel in run_store.run_channels(db, run_id):
        summary = overview_summary(db, run_id, channel.name)
        if int(summary.count.sum()) > OVERVIEW_ABOVE:
            # Overview from the overview rows' and chunks' min/max columns: no blob is read.
            t, v = _overview(summary)
            channels.append((channel.name, channel.unit, t, v, summary))
        else:
            t, v = read_channel(db, run_id, channel.name)
            channels.append((channel.name, channel.unit, t, v, None))
    events = event_store.run_events(db, run_id)
    marks = _timing_marks(db, run, plan, steps)
    swept = any(step.point is not None for step in steps)
    others = sweep_runs(db, plan.name, exclude=run_id) if plan is not None and swept else []
    slots = run_store.run_slots(db, run_id)
    return run, dut, plan, steps, channels, events, slots, marks, others


def _timing_marks(db: Database, run, plan, steps) -> list:
    """The crossings of the run's timing items, from the stored samples of each step."""
    try:
        parsed = parse_plan(plan.text, f"{plan.name} v{plan.version}") if plan else None
    except PlanError:
        parsed = None
    if parsed is None or not any(step.timings for step in parsed.steps):
        return []

    def window(step) -> tuple[float, float]:
        end = math.inf if step.ended_ns is None else (step.ended_ns - run.t0_ns) / 1e9
        return (step.started_ns - run.t0_ns) / 1e9, end

    def samples(rail: str, t0: float, t1: float):
        return read_channel(db, run.id, rail, t0, None if math.isinf(t1) else t1)

    return timing_marks(parsed, steps, samples, window)
