"""The results table: one row per judged item of the plan, turning to its verdict as the run
goes."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal

from labbench.criteria.band import describe_limits
from labbench.protocols.slots import join_slot
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
        self.plan: Plan | None = None
        # Rows changed by the update being applied: told to the view as one span, not one
        # signal per row (a sled's 256 rows changing in one tick were 256 view updates).
        self._changed: list[int] = []

    def set_plan(self, plan: Plan | None, slots: dict[int, str] | None = None) -> None:
        """One row per item of ``plan``; with a sled run's ``slots`` (slot -> chip), an item
        on a per-slot channel is one row per chip (``vdd_core[2]``, ``vdd_core_mean[2]``)."""
        self.beginResetModel()  # a new plan: everything changes at once
        self._rows, self._index = [], {}
        self.plan = plan
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
                ]
                items += [("result", s.name, *(_band(s.band)), s.equals, "") for s in step.results]
                items += [
                    ("manual", s.name, *(_band(s.band)), s.equals, s.unit) for s in step.manuals
                ]
                items += [
                    ("timing", s.name, s.low_ms, s.high_ms, None, None, None, "ms")
                    for s in step.timings
                ]
                per_slot = {s.channel for s in step.limits} | {s.name for s in step.measures}
                per_slot = {n for n in per_slot if _on_per_slot(plan, step, n)}
                for kind, name, low, high, ml, mh, equals, unit in items:
                    limits = describe_limits(low, high, ml, mh, equals=equals, unit=unit)
                    # Per-chip rows need the placement; without it (a plan shown before its
                    # run) they come as the chips' records arrive: no row pending for ever.
                    chips = [(None, "")]
                    if name in per_slot:
                        chips = sorted(slots.items()) if slots else []
                    for slot, chip in chips:
                        row = {"step": step.name, "kind": kind, "unit": unit, "limits": limits}
                        self._add_row(position, row, join_slot(name, slot), slot, chip)
        self.endResetModel()

    def _add_row(
        self,
        position: int,
        row: dict,
        name: str,
        slot: int | None,
        chip: str,
        at: int | None = None,
    ) -> int:
        row.update(name=name, slot=slot, chip=chip, value="", verdict="pending", violations=0)
        row["position"] = position
        if at is None:
            self._index[(position, row["kind"], name)] = len(self._rows)
            self._rows.append(row)
            return len(self._rows) - 1
        self._rows.insert(at, row)
        self._index = {(r["position"], r["kind"], r["name"]): k for k, r in enumerate(self._rows)}
        return at

    def _row_for(self, step: StepRecord, c: CriterionRecord) -> int | None:
        """The row of an item; a per-chip item the plan's rows do not name (a slot judged
        that was not known when the rows were made) gets a row of its own."""
        row = self._index.get((step.position, c.kind, c.name))
        if row is not None or c.slot is None:
            return row
        # After its step's rows of its kind (limits before measurements, as in the plan).
        kinds = ("limit",) if c.kind == "limit" else ("limit", "measure")
        at = 0
        for k, r in enumerate(self._rows):
            if r["position"] < step.position or (
                r["position"] == step.position and r["kind"] in kinds
            ):
                at = k + 1
        self.beginInsertRows(QModelIndex(), at, at)
        limits = describe_limits(
            c.low, c.high, c.marginal_low, c.marginal_high, equals=c.equals, unit=c.unit
        )
        new = {"step": step.name, "kind": c.kind, "unit": c.unit, "limits": limits}
        row = self._add_row(step.position, new, c.name, c.slot, c.chip, at)
        self.endInsertRows()
        return row

    def slot_of(self, row: int) -> int | None:
        """The slot of a per-chip row (None for the sled's own items and chip runs)."""
        return self._rows[row].get("slot")

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
            updates = [(self._row_for(step, c), c) for c in step.criteria]
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
                "Item": row["name"] + (f" · {row['chip']}" if row.get("chip") else ""),
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


def _on_per_slot(plan: Plan, step, name: str) -> bool:
    """Whether a limit's channel or a measurement's name is judged per chip."""
    channel = next((s.channel for s in step.measures if s.name == name), name)
    return plan.is_per_slot(channel)


def _band(band):
    if band is None:
        return (None, None, None, None)
    return (band.low, band.high, band.marginal_low, band.marginal_high)


def _value_text(c: CriterionRecord) -> str:
    if c.value is not None:
        return f"{c.value:.6g}" + (f" {c.unit}" if c.unit else "")
    return c.text_value
