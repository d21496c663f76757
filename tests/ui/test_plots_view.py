"""The run's plots as an operator uses them: every judged rail against its own limits, band
colours, the plot keys, cursors, saving the view, stored runs drawn like live ones."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit, QVBoxLayout, QWidget

from labbench.criteria.limits import Band
from labbench.protocols.profile import load_profile
from labbench.runs.plan import parse_plan
from labbench.runs.sequencer import RunRequest
from labbench.storage import inventory as inventory_store
from labbench.ui.plots import PlotStack
from labbench.ui.theme import DARK, LIGHT, verdict_colors

TWO_RAILS = """\
[plan]
name = "two-rails"
version = "1"
dut_kind = "chip"

[[channel]]
name = "vdd_core"
unit = "V"
[[channel]]
name = "vdd_io"
unit = "V"

[[step]]
name = "power-on"
duration_s = 1.2
send = ["PWR ON"]
  [[step.limit]]
  channel = "vdd_core"
  low = 0.72
  high = 0.78
  marginal_low = 0.73
  marginal_high = 0.77
  settle_s = 0.5
  hold_s = 0.05
  [[step.limit]]
  channel = "vdd_io"
  nominal = 1.8
  tolerance = 0.09
  settle_s = 0.5

[[step]]
name = "hold"
duration_s = 1.5
send = ["LOAD 50"]
  [[step.limit]]
  channel = "vdd_core"
  low = 0.72
  high = 0.78
  hold_s = 0.05
  [[step.limit]]
  channel = "vdd_io"
  nominal = 1.8
  tolerance = 0.09
"""
DROOP = "mock://rail-droop?rate=200&power=off&droop_at=1.5&droop_s=0.3"


@pytest.fixture
def window(window):
    """The shared window (tests/ui/conftest.py) on a 1280 x 720 laptop screen."""
    window.resize(1280, 720)
    return window


def _run(qtbot, window, device: str):
    plan = parse_plan(TWO_RAILS, "two-rails.toml")
    dut = inventory_store.find_dut(window.db, "CHP-PLOT") or inventory_store.add_dut(
        window.db, "chip", "CHP-PLOT"
    )
    with qtbot.waitSignal(window.controller.run_finished, timeout=30_000) as finished:
        window.start_request(
            RunRequest(plan, dut, device, load_profile("default"), "ana", "bench-1")
        )
    return finished.args[0]


def _band_fraction(stack: PlotStack, channel: str) -> float:
    """How much of the channel's plot height its shaded band (pass + guards) covers."""
    plot = stack.plot_of(channel)
    rects = stack.band_items(channel)
    assert rects, f"{channel} has no band drawn"
    low = min(r.rect().top() for r in rects)
    high = max(r.rect().bottom() for r in rects)
    y0, y1 = plot.vb.viewRange()[1]
    shown = min(high, y1) - max(low, y0)
    return max(shown, 0.0) / (y1 - y0)


def test_band_brushes_have_the_theme_colours_and_alpha(qtbot):
    for theme, pass_rgba, guard_rgba in (
        (LIGHT, (0x16, 0xA3, 0x4A, 0x22), (0xF5, 0x9E, 0x0B, 0x33)),
        (DARK, (0x22, 0xC5, 0x5E, 0x26), (0xFB, 0xBF, 0x24, 0x33)),
    ):
        stack = PlotStack(theme)
        qtbot.addWidget(stack)
        stack.set_limits({"vdd_core": [Band(0.72, 0.78, 0.73, 0.77)]})
        stack.ensure_channel("vdd_core", "V")
        items = stack.add_limit_band("vdd_core", Band(0.72, 0.78, 0.73, 0.77), 0.0, 2.0)
        rects = {r.data(0): [] for r in items if hasattr(r, "rect")}
        for r in stack.band_items("vdd_core"):
            rects[r.data(0)].append(r.brush().color().getRgb())
        assert rects["pass"] == [pass_rgba]
        assert rects["guard"] == [guard_rgba, guard_rgba]
        # The pass band lies between the guard bands, not under them.
        spans = sorted(
            (r.rect().top(), r.rect().bottom(), r.data(0)) for r in stack.band_items("vdd_core")
        )
        assert [(round(a, 3), round(b, 3), k) for a, b, k in spans] == [
            (0.72, 0.73, "guard"),
            (0.73, 0.77, "pass"),
            (0.77, 0.78, "guard"),
        ]


def test_every_judged_rail_gets_a_plot_its_band_fills_and_a_tile(qtbot, window):
    outcome = _run(qtbot, window, DROOP)
    assert outcome.status == "failed"
    plots = window.live.plots
    assert plots.plot_of("vdd_core") is not plots.plot_of("vdd_io"), (
        "each judged rail on its own axis"
    )
    for channel in ("vdd_core", "vdd_io"):
        assert _band_fraction(plots, channel) > 0.35, channel
    # The droop to 0.68 V is in view on vdd_core's plot, under its band.
    y0, y1 = plots.plot_of("vdd_core").vb.viewRange()[1]
    assert y0 < 0.68 < 0.72 < 0.78 < y1 and y1 - y0 < 0.3
    tiles = window.live.tiles.tiles
    assert set(tiles) == {"vdd_core", "vdd_io"}
    assert tiles["vdd_core"].verdict == "failed" and tiles["vdd_io"].verdict == "passed"
    assert "FAILED" in tiles["vdd_core"].text.text()
    assert tiles["vdd_core"].step_min < 0.72, "the tile's step minimum shows the droop"


def test_plot_keys_pause_window_and_violation(qtbot, window):
    _run(qtbot, window, DROOP)
    live = window.live
    assert not live.paused
    QTest.keyClick(window, Qt.Key.Key_Space)
    assert live.paused
    QTest.keyClick(window, Qt.Key.Key_P)
    assert not live.paused
    for key, index in ((Qt.Key.Key_2, 1), (Qt.Key.Key_3, 2), (Qt.Key.Key_4, 3), (Qt.Key.Key_1, 0)):
        QTest.keyClick(window, key)
        assert live.window_combo.currentIndex() == index
    QTest.keyClick(window, Qt.Key.Key_4)
    QTest.keyClick(window, Qt.Key.Key_N)
    channel, start, end, _ = live.plots.violation_items[0]
    x0, x1 = live.plots.plot_of(channel).vb.viewRange()[0]
    y0, y1 = live.plots.plot_of(channel).vb.viewRange()[1]
    assert live.paused, "looking at a violation stops following"
    assert x0 < start < end < x1 and x1 - x0 < 3.0
    assert y0 < 0.69 and 0.78 < y1 < 0.9
    QTest.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ShiftModifier)
    assert live.paused
    QTest.keyClick(window, Qt.Key.Key_C)
    assert live.plots.cursors.enabled and "Δt" in live.plots.cursor_readout.text()
    a, b = sorted(live.plots.cursors.positions)
    assert x0 <= a < b <= x1, "the cursors land in the part of the run on screen"


def test_cursors_give_delta_and_statistics(qtbot):
    stack = PlotStack(LIGHT)
    qtbot.addWidget(stack)
    stack.ensure_channel("vdd_core", "V")
    t = np.arange(0, 10, 0.01)
    v = 0.75 + 0.01 * np.sin(t)
    stack.set_data("vdd_core", t, v)
    stack.redraw(0, 10)
    stack.set_x_range(0, 10)
    stack.cursors.set_enabled(True)
    stack.cursors.set_positions(2.0, 5.0)
    inside = v[(t >= 2.0) & (t <= 5.0)]
    stats = stack.cursors.statistics()["vdd_core"]
    assert stats["min"] == pytest.approx(inside.min()) and stats["max"] == pytest.approx(
        inside.max()
    )
    assert stats["mean"] == pytest.approx(inside.mean()) and stats["delta"] == pytest.approx(
        inside[-1] - inside[0]
    )
    assert "Δt 3.000 s" in stack.cursor_readout.text() and stack.cursor_readout.isVisibleTo(stack)
    # Dragging one cursor on the plot moves it everywhere and updates the numbers.
    stack.cursors.lines[1][0].setValue(6.0)
    assert stack.cursors.positions[1] == 6.0 and "Δt 4.000 s" in stack.cursor_readout.text()


def test_readout_clears_when_a_new_run_starts_and_markers_name_steps(qtbot, window):
    _run(qtbot, window, "mock://nominal?rate=200&power=off")
    plots = window.live.plots
    assert [m.text for m in plots.markers("step")] == [
        "power-on",
        "hold",
    ]
    assert any("LOAD 50" in m.text for m in plots.markers("command"))
    plots.show_cursor(1.0)
    assert "vdd_core" in plots.readout.text()
    plan = parse_plan(TWO_RAILS, "two-rails.toml")
    with qtbot.waitSignal(window.controller.run_finished, timeout=30_000):
        window.start_request(
            RunRequest(
                plan,
                inventory_store.find_dut(window.db, "CHP-PLOT"),
                "mock://nominal?rate=200&power=off",
                load_profile("default"),
                "ana",
                "bench-1",
            )
        )
        assert plots.readout.text().strip() == ""


def _answer_save_dialog(qtbot, path):
    """Type the file name into the Save view dialog on screen and press Enter."""
    qtbot.waitUntil(
        lambda: isinstance(QApplication.activeModalWidget(), QFileDialog), timeout=20_000
    )
    dialog = QApplication.activeModalWidget()
    edit = dialog.findChild(QLineEdit, "fileNameEdit")
    edit.setText(str(path))
    QTest.keyClick(edit, Qt.Key.Key_Return)


@pytest.mark.parametrize("suffix", [".png", ".pdf"])
def test_save_view_writes_every_plot_stamped(qtbot, window, tmp_path, suffix):
    _run(qtbot, window, DROOP)
    action = window.findChild(type(window.view_actions.save_view), "action_save_view")
    assert action in window.menuBar().actions()[0].menu().actions(), "File → Save view…"
    path = tmp_path / f"view{suffix}"
    action.trigger()
    _answer_save_dialog(qtbot, path)
    qtbot.waitUntil(path.exists, timeout=20_000)
    lines = window.view_actions.stamp(window.live.plots)
    assert lines[0].startswith(
        f"Run {window.controller.run_id} · DUT CHP-PLOT (chip) · plan two-rails v1 · FAILED"
    )
    if suffix == ".png":
        image = QImage(str(path))
        stack = window.live.plots.layout_widget
        assert image.height() >= 2 * stack.sceneRect().height(), (
            "all plots, not just those scrolled into view"
        )
    else:
        assert path.read_bytes().startswith(b"%PDF") and path.stat().st_size > 5_000


def test_stored_run_has_bands_and_a_violation_click_zooms_both_axes(qtbot, window):
    outcome = _run(qtbot, window, DROOP)
    detail = window.history.detail
    window.history_dock.show()
    window.history_dock.raise_()
    loaded = []
    detail.open_run(outcome.run_id, on_loaded=lambda: loaded.append(True))
    qtbot.waitUntil(lambda: bool(loaded), timeout=10_000)
    for channel in ("vdd_core", "vdd_io"):
        assert detail.plots.band_items(channel), f"{channel}: stored runs get limit bands"
    guards = [r for r in detail.plots.band_items("vdd_core") if r.data(0) == "guard"]
    assert len(guards) == 2
    assert detail.violations.count() >= 1
    item = detail.violations.item(0)
    rect = detail.violations.visualItemRect(item)
    qtbot.mouseClick(detail.violations.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    channel, start, end = item.data(Qt.ItemDataRole.UserRole)
    vb = detail.plots.plot_of(channel).vb
    (x0, x1), (y0, y1) = vb.viewRange()
    assert x0 < start < end < x1 and x1 - x0 < 3.0
    assert y0 < 0.69 and y1 < 0.9, "y zooms onto the limits and the extreme"
    assert QRectF(x0, y0, x1 - x0, y1 - y0).contains(start, 0.7)


def test_stored_run_violation_keys_when_the_history_has_focus(qtbot, window):
    outcome = _run(qtbot, window, DROOP)
    detail = window.history.detail
    window.history_dock.show()
    loaded = []
    detail.open_run(outcome.run_id, on_loaded=lambda: loaded.append(True))
    qtbot.waitUntil(lambda: bool(loaded), timeout=10_000)
    window.activateWindow()
    detail.violations.setFocus()
    qtbot.waitUntil(lambda: detail.violations.hasFocus(), timeout=5_000)
    QTest.keyClick(window, Qt.Key.Key_BracketRight)
    assert detail.violations.currentRow() == 0
    channel, start, end = detail.violations.item(0).data(Qt.ItemDataRole.UserRole)
    x0, x1 = detail.plots.plot_of(channel).vb.viewRange()[0]
    assert x0 < start < end < x1 and x1 - x0 < 3.0
    assert not window.live.paused, "the live plots were not the ones the key was for"


def test_dark_theme_reaches_plot_labels_tiles_and_compare_and_no_legend_box(qtbot, window):
    import pyqtgraph as pg

    _run(qtbot, window, "mock://nominal?rate=200&power=off")
    window.dark_action.trigger()
    assert window.theme is DARK
    plots = window.live.plots
    for plot in plots.plots.values():
        assert not [item for item in plot.scene().items() if isinstance(item, pg.LegendItem)], (
            "no legend box over the data"
        )
        assert DARK.plot_foreground in plot.getAxis("left").labelStyle.get("color", "")
    for tile in window.live.tiles.tiles.values():
        assert (
            tile.theme is DARK and verdict_colors(DARK, tile.verdict)[0].name() in tile.styleSheet()
        )
    compare = window.compare
    assert not [item for item in compare.plot.scene().items() if isinstance(item, pg.LegendItem)]
    assert compare.plot.backgroundBrush().color().name() == DARK.plot_background


def test_clicking_a_tile_brings_its_plot_into_sight(qtbot, window):
    plan = parse_plan(
        TWO_RAILS.replace('name = "two-rails"', 'name = "six"')
        + "".join(f'\n[[channel]]\nname = "aux{i}"\nunit = "V"\n' for i in range(4)),
        "six.toml",
    )
    window.live.prepare(plan)
    for i in range(4):
        window.live.plots.ensure_channel(f"aux{i}", "A" if i % 2 else "°C")
    scroll = window.live.plots.scroll
    qtbot.waitUntil(lambda: scroll.verticalScrollBar().maximum() > 0, timeout=5_000)
    scroll.verticalScrollBar().setValue(scroll.verticalScrollBar().maximum())
    plot = window.live.plots.plot_of("vdd_core")
    tile = window.live.tiles.tiles["vdd_core"]
    qtbot.mouseClick(tile, Qt.MouseButton.LeftButton)
    top = window.live.plots.layout_widget.mapFromScene(plot.sceneBoundingRect().center())
    shown = scroll.viewport().rect().translated(0, scroll.verticalScrollBar().value())
    assert shown.contains(top.x(), top.y())


def test_switching_theme_recolours_bands_already_drawn(qtbot):
    stack = PlotStack(LIGHT)
    qtbot.addWidget(stack)
    stack.set_limits({"vdd_core": [Band(0.72, 0.78, 0.73, 0.77)]})
    stack.ensure_channel("vdd_core", "V")
    stack.add_limit_band("vdd_core", Band(0.72, 0.78, 0.73, 0.77), 0.0, 2.0)
    stack.set_theme(DARK)
    colours = {r.data(0): r.brush().color().getRgb() for r in stack.band_items("vdd_core")}
    assert colours == {"pass": (0x22, 0xC5, 0x5E, 0x26), "guard": (0xFB, 0xBF, 0x24, 0x33)}


def test_a_plot_is_as_high_as_its_axis_title_and_the_stack_scrolls(qtbot):
    """Four channels of one unit share a plot whose title lists them up its axis: in a short
    window the plot keeps the height the title needs (the stack scrolls) instead of writing
    the names over the plot above."""
    stack = PlotStack(LIGHT)
    qtbot.addWidget(stack)
    stack.resize(900, 300)
    for name in ("vdd_core_rail", "vdd_io_rail", "vdd_hbm_rail", "vdd_pll_rail"):
        stack.ensure_channel(name, "V")
    stack.ensure_channel("temp_die", "°C")
    stack.show()
    t = np.linspace(0, 1, 50)
    for name in stack.curves:
        stack.set_data(name, t, np.ones_like(t))
    stack.redraw(0.0, 1.0)
    qtbot.waitUntil(lambda: stack.layout_widget.height() > stack.scroll.viewport().height())
    rails = stack.plot_of("vdd_core_rail")
    title = rails.getAxis("left").label.boundingRect().width()
    assert title > 110  # longer than the plot's usual least height: the case at hand
    qtbot.waitUntil(lambda: rails.geometry().height() >= title)


def test_rail_tiles_flow_onto_rows_when_the_run_view_narrows(qtbot):
    """Four tiles side by side in a wide run view, two rows of two in a narrow one (History
    widened beside it): never cut off, and never holding the run view 860 px wide."""
    from labbench.ui.rail_tiles import TILE_MIN_WIDTH, RailTiles

    holder = QWidget()
    layout = QVBoxLayout(holder)
    tiles = RailTiles(LIGHT)
    layout.addWidget(tiles)
    layout.addStretch(1)
    qtbot.addWidget(holder)
    tiles.set_channels({"vdd_core": "V", "vdd_io": "V", "vdd_hbm": "V", "temp_die": "°C"})
    holder.resize(1000, 400)
    holder.show()
    tile = tiles.tiles["vdd_core"]
    qtbot.waitUntil(lambda: tiles.height() >= tile.minimumHeight())
    assert holder.minimumSizeHint().width() < 2 * TILE_MIN_WIDTH
    qtbot.waitUntil(lambda: len({t.y() for t in tiles.tiles.values()}) == 1)  # one row
    holder.resize(2 * TILE_MIN_WIDTH + 40, 400)
    qtbot.waitUntil(lambda: len({t.y() for t in tiles.tiles.values()}) == 2)
    qtbot.waitUntil(lambda: tiles.height() >= 2 * tile.minimumHeight())
    for t in tiles.tiles.values():  # each whole inside the strip
        assert t.geometry().bottom() < tiles.height() and t.geometry().right() < tiles.width()


def test_markers_are_drawn_across_every_plot_wherever_the_axes_move(qtbot):
    """A step line at 6 s crosses each plot from top to bottom (a plot of volts and one of
    degrees alike) after the x axis has moved on, and its name is written in the lane."""
    stack = PlotStack(LIGHT, grid=False)  # as the live view's
    qtbot.addWidget(stack)
    stack.resize(900, 600)
    stack.show()
    t = np.linspace(0.0, 10.0, 500)
    for name, unit, level in (("vdd_core", "V", 0.75), ("temp_die", "°C", 55.0)):
        stack.ensure_channel(name, unit)
        stack.set_data(name, t, np.full(t.size, level))
    stack.add_marker(0.2, "power-on", "step")
    stack.set_x_range(0.0, 1.0)
    stack.redraw(0.0, 1.0)
    qtbot.waitUntil(lambda: stack.layout_widget.grab() is not None)
    stack.add_marker(6.0, "load-50", "step")
    for x1 in (4.0, 8.0, 10.0):  # as the live view's frames move it
        stack.set_x_range(x1 - 8.0, x1)
        stack.redraw(x1 - 8.0, x1)
        QApplication.processEvents()
    image = stack.layout_widget.grab().toImage()
    muted = QColor(LIGHT.muted)

    def column_has_marker(plot, x: float) -> bool:
        view = plot.vb
        (y0, y1) = view.viewRange()[1]
        hits = 0
        for frac in (0.15, 0.3, 0.85):  # off the flat curves at mid-height
            scene = view.mapViewToScene(QPointF(x, y0 + frac * (y1 - y0)))
            at = stack.layout_widget.mapFromScene(scene)
            colours = [QColor(image.pixel(at.x() + dx, at.y())) for dx in (-1, 0, 1)]
            hits += any(c == muted for c in colours)
        return hits == 3

    for key, plot in stack.plots.items():
        assert column_has_marker(plot, 6.0), f"{key}: the 6 s step line, top to bottom"
    lane = stack.lane
    scene = lane.vb.mapViewToScene(QPointF(6.0, 1.5))
    at = stack.layout_widget.mapFromScene(scene)
    background = QColor(image.pixel(at.x() + 40, at.y() - 12))
    inked = [
        QColor(image.pixel(at.x() + dx, at.y() + dy)) != background
        for dx in range(4, 60)
        for dy in range(-5, 6)
    ]
    assert sum(inked) > 20, "the step's name is written in the lane beside its line"


def test_marker_names_are_cut_short_before_the_next_line():
    from labbench.ui.marker_items import name_rooms

    # Lines at 100, 130 and 400 px in a 600 px lane: the first name gets 21 px, the second
    # 261, the last runs to the edge; a line off the right or left edge gets none.
    assert name_rooms([100.0, 130.0, 400.0], 600, 6) == [21, 261, 191]
    assert name_rooms([650.0], 600, 6) == [0]
    assert name_rooms([-5e9, -10.0, 50.0], 600, 6) == [0, 51, 541]


def test_following_the_live_x_range_does_not_re_announce_y_autorange(qtbot):
    """A live frame keeps y following the data: re-enabling an autorange that is on is a state
    signal pyqtgraph sends for nothing (7 a sled frame); one turned off (a zoom) comes back."""
    stack = PlotStack(LIGHT)
    qtbot.addWidget(stack)
    stack.ensure_channel("temp_die", "°C")
    t = np.arange(0, 10, 0.01)
    stack.set_data("temp_die", t, 40 + np.sin(t))
    stack.redraw(0, 10)
    vb = stack.plot_of("temp_die").vb
    calls = []
    enable = vb.enableAutoRange
    # pyqtgraph's own calls (x off while a range is set) are not ours
    vb.enableAutoRange = lambda *a, **k: (
        (k.get("enable") is True and calls.append(k)) or enable(*a, **k)
    )
    stack.set_x_range(0, 10, settle_y=False)
    for end in (10.5, 11.0, 11.5):
        stack.set_x_range(end - 10, end, settle_y=False)
    assert calls == [] and vb.state["autoRange"][1]
    vb.setYRange(0, 100)  # a zoom turns y autorange off
    assert not vb.state["autoRange"][1]
    stack.set_x_range(2, 12, settle_y=False)
    assert len(calls) == 1 and vb.state["autoRange"][1]
