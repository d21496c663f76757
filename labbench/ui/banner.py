"""Why a run failed, at once: the banner turns to the failing colour the moment an item fails
and names the first failure; the results table scrolls to the failing row; the step list
shows each step's state; a run that ended in error says which item and why.

The banner widget itself belongs to the live view; this module only tells it what to say.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QTableView

from labbench.criteria.band import describe_limits
from labbench.protocols.slots import split_slot
from labbench.records import CriterionRecord, StepRecord
from labbench.runs.plan import Plan
from labbench.storage import Database
from labbench.storage import runs as run_store
from labbench.ui.loader import Loader
from labbench.ui.results_model import ResultsModel
from labbench.ui.theme import LIGHT, Theme, verdict_colors

STEP_MARKS = {
    "pending": "○",
    "running": "▶",
    "passed": "✓",
    "marginal": "≈",
    "failed": "✗",
    "error": "!",
    "skipped": "–",
}


def _num(x: float, unit: str) -> str:
    return f"{x:.4g}" + (f" {unit}" if unit else "")


def violation_sentence(
    step: str, channel: str, extreme: float, bound: str, low, high, unit: str, at_s: float
) -> str:
    """ "load-50: vdd_core 0.679 V < 0.72 V at 3.04 s"."""
    if bound == "nan" or math.isnan(extreme):
        what = f"{channel} gave no number (NaN)"
    elif bound == "low" and low is not None:
        what = f"{channel} {_num(extreme, unit)} < {_num(low, unit)}"
    elif high is not None:
        what = f"{channel} {_num(extreme, unit)} > {_num(high, unit)}"
    else:
        what = f"{channel} {_num(extreme, unit)} out of limits"
    return f"{step}: {what} at {at_s:.2f} s"


def criterion_sentence(step: str, c: CriterionRecord) -> str:
    """One sentence for a failed or error item of a stored or live step result."""
    if c.violations:
        v = c.violations[0]
        return violation_sentence(
            step, v.channel, v.extreme, v.bound, c.low, c.high, c.unit, v.start_s
        )
    if c.kind == "timing":  # its reason names the rails, the time and the limits
        return f"{step}: {c.name}: {c.text_value}"
    if c.verdict == "error" and c.kind in ("limit", "measure") and c.sample_count == 0:
        return f"{step}: {c.name} got no {c.channel} samples"
    if (
        c.verdict == "error"
        and c.kind in ("result", "manual")
        and c.value is None
        and not c.text_value
    ):
        missing = "reported by the rig" if c.kind == "result" else "entered"
        return f"{step}: {c.name} was never {missing}"
    shown = _num(c.value, c.unit) if c.value is not None else repr(c.text_value)
    expected = describe_limits(c.low, c.high, equals=c.equals, unit=c.unit)
    return f"{step}: {c.name} = {shown}, expected {expected}"


def first_failure(steps: list[StepRecord]) -> tuple[str, str] | None:
    """(verdict, sentence) of the first failed or error item, in step order then time."""
    for step in steps:
        bad = [c for c in step.criteria if c.verdict in ("failed", "error")]
        if bad:
            bad.sort(key=lambda c: (c.first_violation_s is None, c.first_violation_s or 0.0))
            return bad[0].verdict, criterion_sentence(step.name, bad[0])
    return None


class StepList(QListWidget):
    """One line per step of the plan: pending, running, passed, marginal, failed, error, skipped."""

    def __init__(self, theme: Theme = LIGHT, parent=None):
        super().__init__(parent)
        self.theme = theme
        self.states: list[str] = []
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setToolTip("Each step of the plan and its state")

    def set_plan(self, plan: Plan | None) -> None:
        self.clear()
        self.states = []
        for step in plan.steps if plan else ():
            self.addItem(QListWidgetItem(step.name))
            self.states.append("pending")
            self._paint(len(self.states) - 1)

    def set_state(self, position: int, state: str) -> None:
        if 0 <= position < len(self.states) and self.states[position] != state:
            self.states[position] = state
            self._paint(position)

    def _paint(self, position: int) -> None:
        item = self.item(position)
        state = self.states[position]
        name = item.text().split("  ", 1)[-1] if "  " in item.text() else item.text()
        item.setText(f"{STEP_MARKS.get(state, '?')}  {name}")
        item.setToolTip(f"{name}: {state}")
        if state in ("pending", "running"):
            item.setBackground(Qt.GlobalColor.transparent)
            item.setForeground(self.palette().text())
        else:
            bg, fg = verdict_colors(self.theme, state)
            item.setBackground(bg)
            item.setForeground(fg)
        font = item.font()
        font.setBold(state == "running")
        item.setFont(font)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        for position in range(len(self.states)):
            self._paint(position)


class FailureWatcher(QObject):
    """Follows a run (through the controller's signals and the results model) and keeps the
    banner, the results table and the step list saying why it failed."""

    def __init__(
        self,
        db: Database,
        controller,
        banner,
        results: ResultsModel,
        results_view: QTableView,
        steps: StepList,
        parent=None,
    ):
        super().__init__(parent)
        self.db, self.controller, self.banner = db, controller, banner
        self.results, self.results_view, self.steps = results, results_view, steps
        self.loader = Loader(self, name="labbench-failure")
        # A long first-failure sentence wraps instead of widening the window past the screen.
        banner.setWordWrap(True)
        self.plan: Plan | None = None
        self.first: str | None = None  # the first failure's sentence, once there is one
        controller.step_started.connect(self._on_step_started)
        controller.violation.connect(self._on_violation)
        controller.run_finished.connect(self._on_run_finished)
        results.item_failed.connect(self._on_item_failed)
        results.steps_updated.connect(self._on_steps_updated)

    def prepare(self, plan: Plan) -> None:
        self.plan = plan
        self.first = None
        self.steps.set_plan(plan)

    # --- live -----------------------------------------------------------------------------

    def _on_step_started(self, position: int) -> None:
        self.steps.set_state(position, "running")

    def _on_steps_updated(self, records: list) -> None:
        current = self.controller.current_step
        for step in records:
            state = step.verdict
            if (
                step.position == current
                and self.controller.running
                and state not in ("failed", "error")
            ):
                state = "running"  # not judged to the end yet
            self.steps.set_state(step.position, state)

    def _on_violation(
        self, position: int, channel: str, start: float, end: float, extreme: float
    ) -> None:
        if self.first is not None or self.plan is None:
            return
        step = self.plan.steps[position]
        # A per-chip limit's violation names the slot's channel (vdd_core[2]), its spec the
        # per-slot channel (vdd_core).
        base = split_slot(channel)[0]
        spec = next(
            (
                s
                for s in step.limits
                if s.channel == channel or (s.channel == base and self.plan.is_per_slot(base))
            ),
            None,
        )
        low, high = (spec.band.low, spec.band.high) if spec else (None, None)
        bound = (
            "nan" if math.isnan(extreme) else "low" if low is not None and extreme < low else "high"
        )
        self._fail(
            "failed",
            violation_sentence(
                step.name, channel, extreme, bound, low, high, self.plan.unit(channel), start
            ),
        )
        self.steps.set_state(position, "failed")

    def _on_item_failed(self, row: int) -> None:
        index = self.results.index(row, 0)
        self.results_view.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        self.results_view.selectRow(row)
        if self.first is None and self.results.verdict_of(row) == "failed":
            self._fail("failed", self.results.row_sentence(row))

    def _fail(self, verdict: str, sentence: str) -> None:
        self.first = sentence
        self.banner.show_verdict(verdict, f"{verdict.upper()} — {sentence}")
        self.banner.setToolTip(sentence)

    # --- at the end -----------------------------------------------------------------------

    def _on_run_finished(self, outcome) -> None:
        for step in outcome.steps:
            self.steps.set_state(step.position, step.verdict)
        found = first_failure(outcome.steps)
        if outcome.status == "failed" and found:
            self._fail("failed", found[1])
        elif outcome.status == "error":
            if found and found[0] == "error":
                self._fail("error", found[1])
            run_id = outcome.run_id
            self.loader.submit(
                lambda: run_store.get_run(self.db, run_id).error_message,
                lambda message: self._on_error_message(outcome, message),
            )
        elif outcome.status == "aborted":
            self.banner.show_verdict(
                "aborted", f"ABORTED — run {outcome.run_id} (stopped by the operator; data kept)"
            )

    def _on_error_message(self, outcome, message) -> None:
        if isinstance(message, Exception) or not message:
            if self.first is None:
                self._fail("error", f"run {outcome.run_id} ended in error")
            return
        sentence = (
            f"{self.first} ({message})"
            if self.first and self.banner.verdict == "error"
            else message
        )
        self._fail("error", sentence)

    def set_theme(self, theme: Theme) -> None:
        self.steps.set_theme(theme)

    def shutdown(self) -> None:
        self.loader.shutdown()
