"""The shmoo grid as a bring-up engineer sees it: cells filling live with their verdict's colour
and letter, Vmin marked per row, holes outlined and counted, a click naming the point, another
run's Vmin overlaid and named, one-axis sweeps, aborted sweeps (docs/architecture.md §4)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest

from labbench.criteria.shmoo import SweepPoint, build_shmoo
from labbench.ui.shmoo_paint import HOLE_COLOR, OVERLAY_COLOR
from labbench.ui.shmoo_view import ShmooView, render_shmoo_png
from labbench.ui.theme import DARK, LIGHT, verdict_colors

XS = (650.0, 700.0, 750.0, 800.0)
YS = (1000.0, 1400.0)


def _view(qtbot, theme=LIGHT, size=(800, 420)) -> ShmooView:
    view = ShmooView(theme)
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    return view


def _image(view: ShmooView) -> QImage:
    image = view.grab().toImage()
    assert image.devicePixelRatio() == 1.0
    return image


def _background(image: QImage, view: ShmooView, x, y) -> QColor:
    """The colour of a cell's background: right of its letter, inside any frame."""
    rect = view.cell_rect(x, y)
    return image.pixelColor(QPoint(rect.left() + int(rect.width() * 0.8), rect.center().y()))


def _bg(verdict: str, theme=LIGHT) -> str:
    return verdict_colors(theme, verdict)[0].name()


def test_cells_fill_live_in_the_order_points_are_judged(qtbot):
    view = _view(qtbot)
    view.set_sweep("vdd_mv", "freq_mhz", XS, YS)
    assert view.run_count() == (0, 8)
    assert {view.cell_text(x, y) for x in XS for y in YS} == {"-"}
    assert view.caption().startswith("Shmoo vdd_mv × freq_mhz: 0 of 8 points run")
    order = [(x, y) for y in YS for x in XS]  # x fastest
    verdicts = ["failed", "passed", "passed", "passed", "failed", "failed", "marginal", "passed"]
    for k, ((x, y), verdict) in enumerate(zip(order, verdicts, strict=True)):
        view.set_point(SweepPoint(x, y, k, verdict))
        image = _image(view)
        for j, (xj, yj) in enumerate(order):
            letter = view.cell_text(xj, yj)
            seen = _background(image, view, xj, yj).name()
            if j <= k:
                assert letter == {"passed": "P", "failed": "F", "marginal": "M"}[verdicts[j]]
                assert seen == _bg(verdicts[j]), (k, j)
            else:
                assert letter == "-"
                assert seen == _bg("pending"), (k, j)
    assert view.run_count() == (8, 8)
    # x to the right, y upward: the first row is the lowest on screen.
    assert view.cell_rect(700.0, 1000.0).left() > view.cell_rect(650.0, 1000.0).left()
    assert view.cell_rect(650.0, 1400.0).top() < view.cell_rect(650.0, 1000.0).top()


def test_vmin_marker_moves_when_a_lower_point_of_its_row_passes(qtbot):
    view = _view(qtbot)
    view.set_sweep("vdd_mv", "freq_mhz", XS, YS)
    mark = QColor(LIGHT.text).name()

    def bar(x, y) -> str:  # the left edge of a cell, where the Vmin bar is drawn
        rect = view.cell_rect(x, y)
        return _image(view).pixelColor(QPoint(rect.left() + 1, rect.center().y())).name()

    # The row swept from the top voltage down: Vmin follows each passing point.
    view.set_point(SweepPoint(800.0, 1000.0, 0, "passed"))
    assert view.vmin(1000.0) == 800.0 and view.vmin_text(1000.0) == "800"
    assert bar(800.0, 1000.0) == mark
    view.set_point(SweepPoint(750.0, 1000.0, 1, "passed"))
    assert view.vmin_text(1000.0) == "750"
    assert bar(750.0, 1000.0) == mark and bar(800.0, 1000.0) == _bg("passed")
    view.set_point(SweepPoint(700.0, 1000.0, 2, "passed"))
    assert view.vmin_text(1000.0) == "700" and bar(700.0, 1000.0) == mark
    view.set_point(SweepPoint(650.0, 1000.0, 3, "failed"))
    assert view.vmin_text(1000.0) == "700" and bar(700.0, 1000.0) == mark
    # A row whose top point has not run yet has no Vmin to tell.
    assert view.vmin_text(1400.0) == "…"
    view.set_running(False)
    assert view.vmin_text(1400.0) == "not run"


def test_a_hole_is_outlined_and_counted(qtbot):
    view = _view(qtbot)
    points = [
        SweepPoint(x, y, k, v)
        for k, (x, y, v) in enumerate(
            [
                (650.0, 1000.0, "failed"),
                (700.0, 1000.0, "passed"),
                (750.0, 1000.0, "failed"),  # the hole: 700 passed below it
                (800.0, 1000.0, "passed"),
                (650.0, 1400.0, "failed"),
                (700.0, 1400.0, "failed"),
                (750.0, 1400.0, "passed"),
                (800.0, 1400.0, "passed"),
            ]
        )
    ]
    view.set_shmoo(build_shmoo("vdd_mv", "freq_mhz", points))
    assert view.holes() == ((750.0, 1000.0),)
    assert "1 hole (outlined): vdd_mv 750 @ freq_mhz 1000" in view.caption()
    assert view.vmin_text(1000.0) == "800" and view.vmin_text(1400.0) == "750"
    image = _image(view)
    hole = view.cell_rect(750.0, 1000.0)
    frame = image.pixelColor(QPoint(hole.left() + 3, hole.center().y())).name()
    assert frame == QColor(HOLE_COLOR).name()
    assert _background(image, view, 750.0, 1000.0).name() == _bg("failed")
    # A failed cell that is no hole has no frame.
    other = view.cell_rect(650.0, 1000.0)
    assert image.pixelColor(QPoint(other.left() + 3, other.center().y())).name() == _bg("failed")
    assert view.cell_text(750.0, 1000.0) == "F"


def test_clicking_a_cell_emits_its_coordinates(qtbot):
    view = _view(qtbot)
    view.set_sweep("vdd_mv", "freq_mhz", XS, YS)
    view.set_point(SweepPoint(700.0, 1400.0, 0, "passed"))
    for x, y in ((700.0, 1400.0), (650.0, 1000.0), (800.0, 1400.0)):
        with qtbot.waitSignal(view.pointClicked, timeout=2_000) as clicked:
            QTest.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.cell_rect(x, y).center())
        assert clicked.args == [x, y]
    # Outside the grid (the Vmin column): nothing.
    seen = []
    view.pointClicked.connect(lambda x, y: seen.append((x, y)))
    rect = view.cell_rect(800.0, 1000.0)
    QTest.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(rect.right() + 30, rect.top()))
    assert seen == []


def test_an_overlay_draws_the_other_runs_vmin_named_in_the_legend(qtbot):
    view = _view(qtbot)
    mine = [SweepPoint(x, y, 0, "passed" if x >= 700 else "failed") for y in YS for x in XS]
    theirs = [SweepPoint(x, y, 0, "passed" if x >= 750 else "failed") for y in YS for x in XS]
    view.set_shmoo(build_shmoo("vdd_mv", "freq_mhz", mine))
    assert "chip B" not in " ".join(view.legend_entries())
    view.set_overlay("chip B Vmin", build_shmoo("vdd_mv", "freq_mhz", theirs))
    assert view.legend_entries()[-1] == "◆ chip B Vmin"
    # Drawn at the left edge of chip B's Vmin cell of every row, in the overlay colour.
    image = _image(view)
    color = QColor(OVERLAY_COLOR["light"]).name()
    points = view.overlay_points()
    assert set(points) == set(YS)
    for y, p in points.items():
        assert abs(p.x() - view.cell_rect(750.0, y).left()) <= 1
        assert image.pixelColor(p.toPoint()).name() == color
    # The legend sits above the grid, never on the data.
    legend = view.legend_rect()
    assert legend.bottom() < view.cell_rect(650.0, YS[-1]).top()
    assert _ink(image, legend, color), "the legend's entry shows the overlay's mark"
    view.set_overlay(None)
    assert "chip B Vmin" not in " ".join(view.legend_entries())
    image = _image(view)
    for p in points.values():
        assert image.pixelColor(p.toPoint()).name() != color


def _ink(image: QImage, rect, color: str) -> bool:
    return any(
        image.pixelColor(QPoint(x, y)).name() == color
        for x in range(rect.left(), rect.right())
        for y in range(rect.top(), rect.bottom())
    )


def test_a_one_axis_sweep_draws_a_single_row(qtbot):
    view = _view(qtbot)
    view.set_sweep("vdd_mv", None, XS, None)
    for k, x in enumerate(XS):
        view.set_point(SweepPoint(x, None, k, "failed" if x < 700 else "passed"))
    tops = {view.cell_rect(x, None).top() for x in XS}
    assert len(tops) == 1
    assert [view.cell_text(x, None) for x in XS] == ["F", "P", "P", "P"]
    assert view.vmin_text(None) == "700"
    assert view.caption().startswith("Shmoo vdd_mv: 4 of 4 points run")
    image = _image(view)
    assert _background(image, view, 650.0, None).name() == _bg("failed")
    assert _background(image, view, 800.0, None).name() == _bg("passed")


def test_an_aborted_sweep_shows_points_not_run_as_dashes_never_passed(qtbot):
    view = _view(qtbot, DARK)
    view.set_sweep("vdd_mv", "freq_mhz", XS, YS)
    for k, x in enumerate(XS):
        view.set_point(SweepPoint(x, 1000.0, k, "passed"))
    view.set_point(SweepPoint(650.0, 1400.0, 4, "failed"))
    view.set_running(False)  # the operator stopped the run
    assert [view.cell_text(x, 1400.0) for x in XS] == ["F", "-", "-", "-"]
    assert "3 not run" in view.caption()
    assert view.vmin_text(1400.0) == "not run"
    image = _image(view)
    for x in XS[1:]:
        seen = _background(image, view, x, 1400.0).name()
        assert seen == _bg("pending", DARK) != _bg("passed", DARK)
    assert "not run" in view.describe(700.0, 1400.0)


def test_the_report_png_is_the_grid_at_the_size_asked(qapp):
    points = [SweepPoint(x, y, 0, "passed" if x >= 700 else "failed") for y in YS for x in XS]
    png = render_shmoo_png(build_shmoo("vdd_mv", "freq_mhz", points), 900, 400)
    image = QImage.fromData(png, "PNG")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert (image.width(), image.height()) == (900, 400)
    greens = sum(
        image.pixelColor(QPoint(x, y)).name() == _bg("passed")
        for x in range(0, 900, 10)
        for y in range(0, 400, 10)
    )
    assert greens > 50


def test_a_one_axis_report_png_is_cut_to_its_band(qapp):
    points = [SweepPoint(x, None, k, "passed") for k, x in enumerate(XS)]
    image = QImage.fromData(render_shmoo_png(build_shmoo("vdd_mv", None, points), 900, 600))
    assert image.width() == 900 and 100 < image.height() < 300
