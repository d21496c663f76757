"""The results table: one row per judged item of the plan, turning to its verdict as the run
goes.  A sled plan's per-slot items have one row per chip, added when the first record of
the chip's item arrives (which chips a run judges is known only once it started)."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal

from labbench.criteria.band import describe_limits
from labbench.records import CriterionRecord, StepRecord
from labbench.runs.plan import Plan
from labbench.ui.theme import LIGHT, Theme, verdict_colors

# The verdict comes early, so a narrow results panel still shows it without scrolling.
COLUMNS = ("Step", "Item", "Verdict", "Value", "Limits", "Kind", "Violations")


class ResultsModel(QAbstractTableModel):
    item_failed = Signal(int)  # a row turned failed or error (live or final)
    steps_updated = Signal(object)  # the StepRecords just applied

    def __init__(self, theme: Theme = LIGHT, parent=None):
        super().__init__(parent)
        self.theme = theme
        self._rows: list[dict] = []
        self._index: dict[tuple[int, str, str], int] = {}
        # Rows changed by the update being applied: told to the view as one span, not one
        # signal per row (a sled's 256 rows changing in one tick were 256 view updates).
        self._changed: list[int] = []

    def set_plan(self, plan: Plan | None) -> None:
        self.beginResetModel()  # a new plan: everything changes at once
        self._rows, self._index = [], {}
        if plan is not None:
            for position, step in enumerate(plan.steps):
                items = [
                    (
                        "limit",
                        s.channel,
                        s.band.low,
                        s.band.high,
                        s.band.marginal_low,
                        s.band.marginal_high,
                        None,
                        plan.unit(s.channel),
                    )
                    for s in step.limits
                    if not plan.is_per_slot(s.channel)
                ]
                items += [
                    (
                        "measure",
                        s.name,
                        s.band.low,
                        s.band.high,
                        s.band.marginal_low,
                        s.band.marginal_high,
                        None,
                        plan.unit(s.channel),
                    )
                    for s in step.measures
                    if not plan.is_per_slot(s.channel)
                ]
                items += [("result", s.name, *(_band(s.band)), s.equals, "") for s in step.results]
                items += [
                    ("manual", s.name, *(_band(s.band)), s.equals, s.unit) for s in step.manuals
                ]
                for kind, name, low, high, ml, mh, equals, unit in items:
                    self._index[(position, kind, name)] = len(self._rows)
                    self._rows.append(
                        _pending(step.name, position, kind, name, (low, high, ml, mh, equals), unit)
                    )
        self.endResetModel()

    def _add_row(self, step: StepRecord, c: CriterionRecord) -> int:
        """A row for a per-chip item (``vdd_core[2]``): after its step's rows of its kind,
        limits before measurements as in the plan."""
        kinds = ("limit",) if c.kind == "limit" else ("limit", "measure")
        at = 0
        for k, row in enumerate(self._rows):
            if row["position"] < step.position or (
                row["position"] == step.position and row["kind"] in kinds
            ):
                at = k + 1
        limits = (c.low, c.high, c.marginal_low, c.marginal_high, c.equals)
        self.beginInsertRows(QModelIndex(), at, at)
        self._rows.insert(at, _pending(step.name, step.position, c.kind, c.name, limits, c.unit))
        self._index = {(r["position"], r["kind"], r["name"]): k for k, r in enumerate(self._rows)}
        self.endInsertRows()
        return at

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        if self._rows:
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self._rows) - 1, len(COLUMNS) - 1)
            )

    def update_steps(self, steps: list[StepRecord]) -> None:
        """Apply (live or final) step results; only changed rows are signalled.  The items of
        a step that never ran (``skipped`` after stop_on_fail) turn skipped."""
        failed: list[int] = []
        for step in steps:
            for c in step.criteria:
                if c.slot is not None and (step.position, c.kind, c.name) not in self._index:
                    self._add_row(step, c)
            updates = [(self._index.get((step.position, c.kind, c.name)), c) for c in step.criteria]
            if step.verdict == "skipped":
                updates = [
                    (row, None)
                    for (position, _, _), row in self._index.items()
                    if position == step.position
                ]
            for row, c in updates:
                if row is None:
                    continue
                if c is None:
                    new = {"value": "", "verdict": "skipped", "violations": 0, "record": None}
                else:
                    new = {
                        "value": _value_text(c),
                        "verdict": c.verdict,
                        "violations": len(c.violations),
                        "record": (step.name, c),
                    }
                old = self._rows[row]
                if any(old.get(k) != v for k, v in new.items() if k != "record"):
                    turned_bad = new["verdict"] in ("failed", "error") and old["verdict"] not in (
                        "failed",
                        "error",
                    )
                    old.update(new)
                    self._changed.append(row)
                    if turned_bad:
                        failed.append(row)
                else:
                    old["record"] = new["record"]
        self._tell_changed()
        self.steps_updated.emit(list(steps))
        if failed:
            self.item_failed.emit(min(failed))

    def _tell_changed(self) -> None:
        if self._changed:
            first, last = min(self._changed), max(self._changed)
            self._changed = []
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))

    def row_sentence(self, row: int) -> str:
        """Why this row failed, in one sentence (see labbench.ui.banner)."""
        from labbench.ui.banner import criterion_sentence

        record = self._rows[row].get("record")
        if record is None:
            r = self._rows[row]
            return f"{r['step']}: {r['name']} {r['verdict']}"
        return criterion_sentence(*record)

    def verdict_of(self, row: int) -> str:
        return self._rows[row]["verdict"]

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return {
                "Step": row["step"],
                "Kind": row["kind"],
                "Item": row["name"],
                "Limits": row["limits"],
                "Value": row["value"],
                "Verdict": row["verdict"].upper(),
                "Violations": row["violations"] or "",
            }[column]
        if column == "Verdict" and role in (
            Qt.ItemDataRole.BackgroundRole,
            Qt.ItemDataRole.ForegroundRole,
        ):
            bg, fg = verdict_colors(self.theme, row["verdict"])
            return bg if role == Qt.ItemDataRole.BackgroundRole else fg
        if role == Qt.ItemDataRole.TextAlignmentRole and column in ("Value", "Violations"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def _pending(step: str, position: int, kind: str, name: str, limits: tuple, unit: str) -> dict:
    low, high, ml, mh, equals = limits
    return {
        "step": step,
        "position": position,
        "kind": kind,
        "name": name,
        "unit": unit,
        "limits": describe_limits(low, high, ml, mh, equals=equals, unit=unit),
        "value": "",
        "verdict": "pending",
        "violations": 0,
    }


def _band(band):
    if band is None:
        return (None, None, None, None)
    return (band.low, band.high, band.marginal_low, band.marginal_high)


def _value_text(c: CriterionRecord) -> str:
    if c.value is not None:
        return f"{c.value:.6g}" + (f" {c.unit}" if c.unit else "")
    return c.text_value
