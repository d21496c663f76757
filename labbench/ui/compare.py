"""Compare: one channel of several runs overlaid, aligned at run start or at a step's start
(this chip against a known-good run of its sibling)."""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from labbench.storage import Database
from labbench.storage import inventory as inventory_store
from labbench.storage import results as result_store
from labbench.storage import runs as run_store
from labbench.storage.telemetry_read import read_channel
from labbench.ui.envelope import envelope
from labbench.ui.loader import Loader
from labbench.ui.theme import LIGHT, Theme


def _load(db: Database, run_ids: list[int], channel: str, step: str):
    """(label, t aligned, v, note) per run; t is shifted so 0 is the run's or the step's start."""
    out = []
    for run_id in run_ids:
        run = run_store.get_run(db, run_id)
        dut = inventory_store.get_dut(db, run.dut_id)
        label = f"run {run_id} · {dut.serial} · {run.status}"
        try:
            t, v = read_channel(db, run_id, channel)
        except KeyError:
            out.append((label, np.empty(0), np.empty(0), f"run {run_id} has no channel {channel}"))
            continue
        offset = 0.0
        if step:
            starts = [s for s in result_store.run_results(db, run_id) if s.name == step]
            if not starts:
                out.append((label, np.empty(0), np.empty(0), f"run {run_id} has no step {step!r}"))
                continue
            offset = (starts[0].started_ns - run.t0_ns) / 1e9
        out.append((label, t - offset, v, ""))
    return out


class CompareView(QWidget):
    loaded = Signal()

    def __init__(self, db: Database, theme: Theme = LIGHT, parent=None):
        super().__init__(parent)
        self.db, self.theme = db, theme
        self.loader = Loader(self)
        self.runs = QListWidget()
        self.runs.setMaximumWidth(280)
        remove = QPushButton("Remove")
        remove.clicked.connect(self._on_remove)
        self.channel = QComboBox()
        self.channel.setEditable(True)
        self.channel.setMinimumWidth(140)
        self.align = QComboBox()
        self.align.addItem("Run start", "")
        self.channel.currentTextChanged.connect(lambda _: self.redraw())
        self.align.currentIndexChanged.connect(lambda _: self.redraw())
        self.plot = pg.PlotWidget()
        # The runs are named above the plot in their curves' colours: a legend box inside it
        # would lie over the data (and kept light-theme colours on a dark plot).
        self.key = QLabel("")
        self.key.setTextFormat(Qt.TextFormat.RichText)
        self.key.setWordWrap(True)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setLabel("bottom", "time since the aligned start", units="s")
        self.note = QLabel("")
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Channel"))
        bar.addWidget(self.channel)
        bar.addWidget(QLabel("Align at"))
        bar.addWidget(self.align)
        bar.addStretch(1)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("Runs"))
        left_layout.addWidget(self.runs)
        left_layout.addWidget(remove)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(bar)
        right_layout.addWidget(self.key)
        right_layout.addWidget(self.plot, 1)
        right_layout.addWidget(self.note)
        splitter = self.splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setSizes([240, 760])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(splitter)
        self.curves: list[pg.PlotDataItem] = []

    def run_ids(self) -> list[int]:
        return [self.runs.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.runs.count())]

    def add_runs(self, run_ids: list[int]) -> None:
        for run_id in run_ids:
            if run_id in self.run_ids():
                continue
            item = QListWidgetItem(f"run {run_id}")
            item.setData(Qt.ItemDataRole.UserRole, run_id)
            self.runs.addItem(item)
        self._refresh_choices()

    def _on_remove(self) -> None:
        for item in self.runs.selectedItems():
            self.runs.takeItem(self.runs.row(item))
        self._refresh_choices()

    def _refresh_choices(self) -> None:
        run_ids = self.run_ids()

        def work():
            channels, steps = [], []
            for run_id in run_ids:
                for c in run_store.run_channels(self.db, run_id):
                    if c.name not in channels:
                        channels.append(c.name)
                for s in result_store.run_results(self.db, run_id):
                    if s.name not in steps:
                        steps.append(s.name)
            return channels, steps

        self.loader.submit(work, self._on_choices)

    def _on_choices(self, data) -> None:
        if isinstance(data, Exception):
            self.note.setText(str(data))
            return
        channels, steps = data
        current_channel, current_step = self.channel.currentText(), self.align.currentData()
        self.channel.blockSignals(True)
        self.align.blockSignals(True)
        self.channel.clear()
        self.channel.addItems([c for c in channels if c != "seq"])
        if current_channel in channels:
            self.channel.setCurrentText(current_channel)
        elif "vdd_core" in channels:
            self.channel.setCurrentText("vdd_core")
        self.align.clear()
        self.align.addItem("Run start", "")
        for step in steps:
            self.align.addItem(f"Step: {step}", step)
        if current_step:
            self.align.setCurrentIndex(max(self.align.findData(current_step), 0))
        self.channel.blockSignals(False)
        self.align.blockSignals(False)
        self.redraw()

    def set_alignment(self, step: str | None) -> None:
        self.align.setCurrentIndex(max(self.align.findData(step or ""), 0))

    def redraw(self) -> None:
        run_ids, channel, step = (
            self.run_ids(),
            self.channel.currentText(),
            self.align.currentData() or "",
        )
        if not run_ids or not channel:
            return
        self.loader.submit(lambda: _load(self.db, run_ids, channel, step), self._show)

    def _show(self, data) -> None:
        self.plot.clear()
        self.curves = []
        if isinstance(data, Exception):
            self.note.setText(str(data))
            return
        notes = []
        width = max(self.plot.width(), 400)
        for i, (label, t, v, note) in enumerate(data):
            if note:
                notes.append(note)
                continue
            et, ev = envelope(t, v, -np.inf, np.inf, width) if t.size else (t, v)
            color = self.theme.curves[i % len(self.theme.curves)]
            self.curves.append(self.plot.plot(et, ev, pen=pg.mkPen(color, width=1), name=label))
        self.note.setText("; ".join(notes))
        self._show_key()
        self.loaded.emit()

    def _show_key(self) -> None:
        self.key.setText(
            " &nbsp; ".join(
                f'<span style="color:{curve.opts["pen"].color().name()}">━━</span> '
                f"{html.escape(curve.name() or '')}"
                for curve in self.curves
            )
        )

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.plot.setBackground(theme.plot_background)
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setPen(pg.mkPen(theme.plot_foreground))
            axis.setTextPen(pg.mkPen(theme.plot_foreground))
        for i, curve in enumerate(self.curves):
            curve.setPen(pg.mkPen(theme.curves[i % len(theme.curves)], width=1))
        self._show_key()

    def shutdown(self) -> None:
        self.loader.shutdown()
