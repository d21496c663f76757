"""The shmoo grid, Vmin per row and holes, against grids worked out by hand."""

from __future__ import annotations

from labbench.criteria.shmoo import SweepPoint, axis_text, build_shmoo, shmoo_csv_rows

XS = (650.0, 675.0, 700.0, 725.0)


def _grid(rows: dict, order: str = "x-fastest") -> list[SweepPoint]:
    """Points from rows of letters (one per x), in the given execution order."""
    letters = {"P": "passed", "M": "marginal", "F": "failed", "E": "error", "-": None}
    ys = list(rows)
    coords = (
        [(x, y) for y in ys for x in XS]
        if order == "x-fastest"
        else [(x, y) for x in XS for y in ys]
    )
    points = []
    for n, (x, y) in enumerate(coords):
        verdict = letters[rows[y][XS.index(x)]]
        points.append(SweepPoint(x, y, n if verdict else None, verdict))
    return points


def test_vmin_and_holes_in_either_order():
    rows = {1000.0: "FPPP", 1200.0: "FFPM", 1400.0: "PFPP", 1600.0: "FFFF"}
    for order in ("x-fastest", "y-fastest"):
        shmoo = build_shmoo("vdd_mv", "freq_mhz", _grid(rows, order))
        assert shmoo.xs == XS and shmoo.ys == (1000.0, 1200.0, 1400.0, 1600.0)
        # A marginal point passes; a column that never passes has no Vmin.
        assert shmoo.vmin == {1000.0: 675.0, 1200.0: 700.0, 1400.0: 700.0, 1600.0: None}
        # 675 at 1400 MHz failed with 650 passing below it: a hole.  Nothing else is.
        assert shmoo.holes == ((675.0, 1400.0),)
        assert shmoo.cell(725.0, 1200.0) == "M" and shmoo.cell(650.0, 1600.0) == "F"


def test_one_axis_has_a_single_null_row():
    points = [
        SweepPoint(x, None, i, v)
        for i, (x, v) in enumerate(zip(XS, ("failed", "passed", "error", "passed"), strict=True))
    ]
    shmoo = build_shmoo("vdd_mv", None, points)
    assert shmoo.ys == (None,)
    assert shmoo.vmin == {None: 725.0}
    assert shmoo.holes == ()  # 700 is an error (the rig lost, no reply): not a hole
    record = shmoo.as_json()
    assert record["y"] is None and record["vmin"] == {"null": 725}
    assert record["holes"] == []
    assert [p["x"] for p in record["points"]] == [650, 675, 700, 725]  # as written in the plan
    assert [p["order"] for p in record["points"]] == [0, 1, 2, 3]


def test_aborted_sweep_points_not_run_are_never_passed():
    # The sweep was stopped after 6 of 8 points: the last two never ran.
    rows = {1000.0: "FPPP", 1200.0: "FP--"}
    shmoo = build_shmoo("vdd_mv", "freq_mhz", _grid(rows))
    assert shmoo.cell(700.0, 1200.0) == "-" and shmoo.cell(725.0, 1200.0) == "-"
    assert shmoo.vmin[1200.0] is None
    assert shmoo.holes == ()
    record = shmoo.as_json()
    assert [p["verdict"] for p in record["points"]][-2:] == ["not run", "not run"]


def test_csv_rows_grid_then_vmin():
    rows = {1000.0: "FPPP", 1400.0: "PFPE"}
    shmoo = build_shmoo("vdd_mv", "freq_mhz", _grid(rows))
    assert shmoo_csv_rows(shmoo) == [
        ["freq_mhz \\ vdd_mv", "650", "675", "700", "725"],
        ["1000", "F", "P", "P", "P"],
        ["1400", "P", "F", "P", "E"],
        [],
        ["freq_mhz", "vmin vdd_mv", "holes"],
        ["1000", "675", ""],
        ["1400", "", "675"],  # an error is no hole,
    ]


def test_axis_text():
    assert axis_text(650.0) == "650" and axis_text(0.85) == "0.85" and axis_text(None) == ""
