"""A run's sweeps in the app (docs/architecture.md §4, Sweeps): the shmoo grid of one sweep at a
time, filled live as points are judged or from a stored run, a click on a cell naming that
point's step (the views zoom their plots onto its dwell), and another run's Vmin overlaid.

One panel serves the live run view and History: the live view hands it each point's verdict as
it changes (``ItemVerdictChanged.step_verdict``), History the stored step records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from labbench.criteria.shmoo import Shmoo
from labbench.runs.plan import Plan
from labbench.runs.plan_sweep import plan_shmoos
from labbench.ui.shmoo_view import ShmooView
from labbench.ui.theme import LIGHT, Theme

# Another run whose sweep may be overlaid: its label ("run 12 CHP-0413") and how to read its
# shmoos (keyed by sweep name), called when it is picked.
OverlayChoice = tuple[str, Callable[[], Mapping[str, Shmoo]]]


class ShmooPanel(QWidget):
    point_picked = Signal(int)  # the plan step position of the clicked point

    def __init__(self, theme: Theme = LIGHT, parent=None):
        super().__init__(parent)
        self.plan: Plan | None = None
        self.verdicts: dict[int, str | None] = {}
        self._running = False
        self.sweep_combo = QComboBox()
        self.sweep_combo.setToolTip("Which sweep step of the plan the grid shows")
        self.sweep_combo.currentIndexChanged.connect(lambda _: self._show())
        self.overlay_combo = QComboBox()
        self.overlay_combo.setToolTip(
            "Draw another run's Vmin per row over this grid (compare two chips)"
        )
        self.overlay_combo.currentIndexChanged.connect(self._on_overlay)
        self._overlays: list[OverlayChoice] = []
        self._overlay_cache: dict[int, Mapping[str, Shmoo]] = {}
        self.view = ShmooView(theme)
        # Beside the live plots or in History's tabs: it may get narrow (it scales its cells)
        # rather than hold the run view so wide that History cannot widen beside it.
        self.view.setMinimumSize(160, 220)
        self.view.pointClicked.connect(self._on_clicked)
        head = QHBoxLayout()
        self.sweep_label = QLabel("Sweep:")
        head.addWidget(self.sweep_label)
        head.addWidget(self.sweep_combo, 1)
        self.overlay_label = QLabel("Overlay:")
        head.addWidget(self.overlay_label)
        head.addWidget(self.overlay_combo, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.view, 1)
        self.set_overlays([])

    # --- what is shown --------------------------------------------------------------------

    @property
    def has_sweeps(self) -> bool:
        return self.plan is not None and bool(self.plan.sweeps)

    def show_plan(
        self,
        plan: Plan | None,
        verdicts: Mapping[int, str | None] | None = None,
        *,
        running: bool = False,
    ) -> None:
        """Lay out the plan's sweeps (none: the panel is empty), with the verdicts known so
        far by step position; ``running`` while the points are still due."""
        if plan is not self.plan or running:
            self.view.selected = None  # another run: no point of it clicked yet
        self.plan = plan
        self.verdicts = dict(verdicts or {})
        self._running = running
        names = [spec.name for spec in plan.sweeps] if plan is not None else []
        self.sweep_combo.blockSignals(True)
        self.sweep_combo.clear()
        self.sweep_combo.addItems(names)
        self.sweep_combo.blockSignals(False)
        visible = len(names) > 1
        self.sweep_combo.setVisible(visible)
        self.sweep_label.setVisible(visible)
        self._show()

    def set_step_verdict(self, position: int, verdict: str | None) -> None:
        """A point's verdict changed (live): its cell follows."""
        if self.plan is None or position >= len(self.plan.steps):
            return
        point = self.plan.steps[position].point
        if point is None or self.verdicts.get(position) == verdict:
            return
        self.verdicts[position] = verdict
        if point.sweep == self.sweep_combo.currentText():
            self._show()

    def set_running(self, running: bool) -> None:
        self._running = running
        self.view.set_running(running)

    def set_overlays(self, choices: Sequence[OverlayChoice]) -> None:
        """Other runs that may be overlaid (History: the plan's other runs with sweeps)."""
        self._overlays = list(choices)
        self._overlay_cache = {}
        self.overlay_combo.blockSignals(True)
        self.overlay_combo.clear()
        self.overlay_combo.addItem("none")
        for label, _ in self._overlays:
            self.overlay_combo.addItem(label)
        self.overlay_combo.blockSignals(False)
        self.overlay_combo.setVisible(bool(self._overlays))
        self.overlay_label.setVisible(bool(self._overlays))
        self.view.set_overlay(None)

    def shown(self) -> Shmoo | None:
        return self.view.shmoo

    def _show(self) -> None:
        name = self.sweep_combo.currentText()
        if self.plan is None or not name:
            self.view.clear()
            return
        shmoo = plan_shmoos(self.plan, self.verdicts).get(name)
        if shmoo is None:
            self.view.clear()
            return
        self.view.set_shmoo(shmoo)
        self.view.set_running(self._running)
        self._on_overlay(self.overlay_combo.currentIndex())

    def _on_overlay(self, index: int) -> None:
        if index <= 0 or index > len(self._overlays):
            self.view.set_overlay(None)
            return
        shmoos = self._overlay_cache.get(index)
        if shmoos is None:
            shmoos = self._overlay_cache[index] = self._overlays[index - 1][1]()
        other = shmoos.get(self.sweep_combo.currentText())
        label = f"{self._overlays[index - 1][0]} Vmin"
        self.view.set_overlay(label if other is not None else None, other)

    def _on_clicked(self, x: float, y: float | None) -> None:
        if self.plan is None:
            return
        name = self.sweep_combo.currentText()
        for position, step in enumerate(self.plan.steps):
            point = step.point
            if point is not None and point.sweep == name and point.x == x and point.y == y:
                self.view.select(x, y)
                self.point_picked.emit(position)
                return

    def set_theme(self, theme: Theme) -> None:
        self.view.set_theme(theme)
