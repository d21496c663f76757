"""A laptop's screen: the run view's head (banner, sled map, rail tiles) and the results table
leave the plots as much height as they can; a saved layout keeps its own."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from labbench.ui.live_head import HeadLayout
from labbench.ui.main_window import MainWindow
from labbench.ui.rail_tiles import TILE_MIN_WIDTH, RailTiles
from labbench.ui.sled_map import SledMap
from labbench.ui.theme import LIGHT

PLAN = Path(__file__).resolve().parents[2] / "resources" / "plans" / "sled-chips.toml"
SIX = dict.fromkeys(("vdd_core", "vdd_hbm", "vdd_io", "idd_core", "fan_rpm", "temp_die"), "V")


def _head(qtbot, slots: int, tiles: dict[str, str]):
    view = QWidget()
    qtbot.addWidget(view)
    status = QWidget()
    QVBoxLayout(status).addSpacing(130)  # the banner on two lines, the step and the progress
    sled_map = SledMap(LIGHT)
    rail_tiles = RailTiles(LIGHT)
    rail_tiles.set_channels(tiles)
    head = HeadLayout(status, sled_map, rail_tiles)
    layout = QVBoxLayout(view)
    layout.addLayout(head)
    layout.addStretch(1)
    if slots:
        sled_map.set_sled("SLD-1", slots, {s: f"CHP-{s}" for s in range(slots)})
    return view, head, status, sled_map, rail_tiles


def _laid_out() -> None:
    """Handle the layout requests that showing, hiding and resizing posted (twice: placing
    the head again posts one more)."""
    for _ in range(2):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)


def _settle(qtbot, view, width, height):
    view.resize(width, height)
    view.show()
    qtbot.waitExposed(view)
    _laid_out()


def _rows(tiles: RailTiles) -> int:
    return len({t.y() for t in tiles.tiles.values() if t.isVisible()})


def test_a_small_map_beside_the_banner_lets_the_tiles_run_across(qtbot):
    view, head, status, sled_map, tiles = _head(qtbot, 4, SIX)
    _settle(qtbot, view, 960, 400)
    assert head.placed == "across"
    assert sled_map.geometry().left() > status.geometry().right()  # beside the banner
    assert tiles.geometry().top() > sled_map.geometry().bottom()  # under both
    assert tiles.width() > 900
    assert _rows(tiles) == 2  # four to a row; beside the map they took three rows


def test_a_tall_map_keeps_the_tiles_beside_it(qtbot):
    view, head, status, sled_map, tiles = _head(qtbot, 16, SIX)
    _settle(qtbot, view, 960, 500)
    assert sled_map.height() > status.height()
    assert head.placed == "beside"
    assert tiles.geometry().right() < sled_map.geometry().left()
    assert tiles.geometry().top() < sled_map.geometry().bottom()  # in the room it leaves


def test_narrow_they_stack_and_without_a_sled_the_tiles_take_the_width(qtbot):
    view, head, status, sled_map, tiles = _head(qtbot, 4, SIX)
    _settle(qtbot, view, 700, 600)
    assert head.placed == "stacked"
    assert status.geometry().bottom() < sled_map.geometry().top()
    assert sled_map.geometry().bottom() < tiles.geometry().top()
    view.resize(960, 600)
    qtbot.waitUntil(lambda: head.placed == "across", timeout=2_000)
    sled_map.clear()  # a run on a chip: no map
    qtbot.waitUntil(lambda: tiles.width() > 900, timeout=2_000)
    assert head.placed == "across"


def test_one_tile_stays_a_tile_across_a_wide_view(qtbot):
    view, _, _, _, tiles = _head(qtbot, 0, {"fan_rpm": "rpm"})
    _settle(qtbot, view, 960, 300)
    tile = tiles.tiles["fan_rpm"]
    assert tiles.width() > 900
    assert tile.width() < 300  # a quarter of the row, not a bar the width of the window


def _results_height(window: MainWindow) -> int:
    return window.results_dock.height()


def test_the_results_table_leaves_a_laptop_screen_to_the_plots(qtbot, db):
    window = MainWindow(db)
    qtbot.addWidget(window)
    window.resize(1280, 720)
    window.show()
    qtbot.waitExposed(window)
    # A fifth of 720 px, not 200 (800 x 800 when the window was made: 160).
    qtbot.waitUntil(lambda: abs(_results_height(window) - 144) <= 4, timeout=2_000)
    # A table the user made taller is kept across a restart.
    window.resizeDocks([window.results_dock], [300], Qt.Orientation.Vertical)
    qtbot.waitUntil(lambda: abs(_results_height(window) - 300) <= 4, timeout=2_000)
    window.close()
    again = MainWindow(db)
    qtbot.addWidget(again)
    again.show()
    qtbot.waitExposed(again)
    assert abs(_results_height(again) - 300) <= 4
    # View > Reset layout gives the plots their room again.
    again.reset_layout_action.trigger()
    qtbot.waitUntil(lambda: abs(_results_height(again) - 144) <= 4, timeout=2_000)
    again.close()


def test_hiding_a_tall_map_puts_the_tiles_across(qtbot):
    view, head, _, sled_map, tiles = _head(qtbot, 16, SIX)
    _settle(qtbot, view, 960, 500)
    assert head.placed == "beside"
    sled_map.clear()  # the next run is on a chip
    qtbot.waitUntil(lambda: head.placed == "across", timeout=2_000)
    qtbot.waitUntil(lambda: tiles.width() > 900, timeout=2_000)
    assert _rows(tiles) == 2


class _Session:
    """What the live view reads of a run session at its start: a sled of ``slots`` chips,
    or a chip (0)."""

    ring_capacity = 64
    plan = None

    def __init__(self, slots: int):
        from types import SimpleNamespace

        self.t0_ns = time.time_ns()
        self.dut = (
            SimpleNamespace(kind="sled", serial="SLD-1", slot_count=slots)
            if slots
            else SimpleNamespace(kind="chip", serial="CHP-1")
        )
        self.slots = {s: f"CHP-{s:04d}" for s in range(slots)}

    def channels(self):
        return []

    def step_start_s(self, position):
        return None

    def live_records(self):
        return []


def test_a_chip_run_after_a_big_sleds_lays_its_tiles_across(qtbot):
    """The sled's map hides as the chip run's tiles are shown; showing them widened the tiles
    mid-layout, and they kept the columns of the width beside the map (two rows, not one)."""
    from labbench.runs.plan import load_plan
    from labbench.ui.live_view import LiveRunView
    from labbench.ui.results_model import ResultsModel
    from labbench.ui.run_controller import RunController

    plan = load_plan(PLAN)
    controller = RunController(db=None)
    view = LiveRunView(controller, ResultsModel(LIGHT), LIGHT)
    qtbot.addWidget(view)
    view.resize(1280, 700)
    view.show()
    qtbot.waitExposed(view)
    try:
        for slots in (16, 0):
            view.prepare(plan)
            controller.session = _Session(slots)
            view._on_run_started(1)
            _laid_out()
            qtbot.waitUntil(
                lambda s=slots: view.head.placed == ("beside" if s else "across"), timeout=2_000
            )
        shown = [t for t in view.tiles.tiles.values() if t.isVisible()]
        assert view.head.placed == "across"
        assert 1 < len(shown) <= view.tiles.width() // (TILE_MIN_WIDTH + 4)
        assert _rows(view.tiles) == 1, "as many tiles to a row as fit"
    finally:
        view.frame_timer.stop()
        view.text_timer.stop()
