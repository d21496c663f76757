"""A sled run in the live view: the sled map beside the banner, turning each chip's cell to its
verdict as its items are judged, and narrowing the plots, rail tiles and results to the chip
picked on the map.

Picking a chip keeps the sled's own items (fan, inlet, BIST) in sight: they are every chip's
conditions.  The rail tiles of per-slot channels show one chip's at a time (16 chips x 3 judged
rails would fill the window): with no chip picked only the sled's own tiles show and the map is
each chip's summary.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from labbench.criteria.limits import worst
from labbench.protocols.slots import join_slot
from labbench.runs.judgement import chip_verdicts
from labbench.ui.sled_map import SledMap
from labbench.ui.slot_plots import split_channel


class LiveSled(QObject):
    """The live view's sled map and what picking a slot on it narrows."""

    slot_selected = Signal(object)  # int or None, after the view has been narrowed

    def __init__(self, view):
        super().__init__(view)
        self.view = view
        self.map = SledMap(view.theme)
        self.slots: dict[int, str] = {}
        self.per_slot: frozenset[str] = frozenset()
        self._items: dict[tuple[int, str], tuple[int, str]] = {}  # (step, item) -> slot, verdict
        self.map.slot_selected.connect(self._on_slot_selected)
        view.controller.item_verdict_changed.connect(self._on_item_verdict)

    @property
    def active(self) -> bool:
        return bool(self.slots)

    def clear(self) -> None:
        self.slots, self._items = {}, {}
        self.map.clear()
        self.view.plots.show_slot(None)

    def start(self, session, plan) -> None:
        """A run started: show its sled's map if it runs on a sled with chips placed."""
        self.clear()
        dut = getattr(session, "dut", None)
        slots = dict(getattr(session, "slots", {}) or {})
        if dut is None or dut.kind != "sled" or not slots:
            return
        self.slots = slots
        self.per_slot = plan.per_slot_channels if plan is not None else frozenset()
        self.map.set_sled(dut.serial, dut.slot_count, slots)
        self.map.set_running(True)
        if plan is not None:
            self.view.results.set_plan(plan, slots)
            tiles = self.view.tiles
            units = {name: tile.unit for name, tile in tiles.tiles.items()}
            tiles.set_channels(
                {ch: unit for name, unit in units.items() for ch in self.expand(name)}
            )
        self._apply(None)

    def expand(self, channel: str) -> list[str]:
        """A judged channel's stored channels: one per chip if it is per slot."""
        if channel not in self.per_slot or not self.slots:
            return [channel]
        return [join_slot(channel, slot) for slot in sorted(self.slots)]

    def step_bands(self, bands: dict, judged_from: dict) -> tuple[dict, dict]:
        """A step's bands and settle times per tile: a per-slot channel's for each chip."""
        return (
            {ch: band for name, band in bands.items() for ch in self.expand(name)},
            {ch: at for name, at in judged_from.items() for ch in self.expand(name)},
        )

    def _on_item_verdict(self, event) -> None:
        item = event.item
        if not self.slots or item.slot is None:
            return
        self._items[(event.position, item.name)] = (item.slot, item.verdict)
        verdicts: dict[int, list[str]] = {}
        for slot, verdict in self._items.values():
            verdicts.setdefault(slot, []).append(verdict)
        self.map.set_verdicts({slot: worst(v) for slot, v in verdicts.items()})

    def update(self, steps) -> None:
        """Judged items so far (or the final ones): each chip's worst."""
        if self.slots:
            self.map.set_verdicts(chip_verdicts(steps, self.slots))

    def finish(self, steps) -> None:
        if self.slots:
            self.update(steps)
            self.map.set_running(False)

    def _on_slot_selected(self, slot: int | None) -> None:
        self._apply(slot)
        self.view.refresh_plots()  # folds in what the chip's channels received meanwhile
        self.view.tiles.refresh()
        self.slot_selected.emit(slot)

    def _apply(self, slot: int | None) -> None:
        self.view.plots.show_slot(slot)
        tiles = self.view.tiles
        tiles.show_only(
            {
                name
                for name in tiles.tiles
                if split_channel(name)[1] is not None and split_channel(name)[1] != slot
            }
        )
