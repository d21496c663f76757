"""A sweep from the command line to every file: ``labbench run --json`` of the example shmoo
plan against the simulated chip gives the ``sweep`` object (Vmin rising with the clock), and
``labbench export --shmoo/--report/--json`` write its grid, its points' rows and its record
(docs/architecture.md §4 Sweeps, §5, §6, §9)."""

from __future__ import annotations

import json

import jsonschema
import pandas as pd
import pytest

from labbench import paths
from labbench.cli import main
from labbench.devices.chip_model import bist_passes
from labbench.export.cells import cell_text

from .conftest import RECORD_SCHEMA, load_json

XS = [575, 600, 625, 650, 675, 700, 725, 750, 775, 800]
YS = [1000, 1200, 1400, 1600]


@pytest.fixture(scope="module")
def shmoo_run(tmp_path_factory):
    """The example plan with a short dwell, run once against a chip with no holes."""
    folder = tmp_path_factory.mktemp("shmoo")
    text = (paths.resources_dir() / "plans" / "chip-shmoo.toml").read_text(encoding="utf-8")
    assert "dwell_s = 0.3" in text
    plan = folder / "chip-shmoo-fast.toml"
    plan.write_text(text.replace("dwell_s = 0.3", "dwell_s = 0.08"), encoding="utf-8")
    return plan, str(folder / "shmoo.sqlite3")


@pytest.fixture(scope="module")
def run_json(shmoo_run):
    plan, db = shmoo_run
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["run", "--plan", str(plan), "--dut", "CHP-SHMOO", "--new-dut", "chip",
                     "--device", "mock://nominal?rate=200&hole_rate=0", "--db", db,
                     "--json"])  # fmt: skip
    return code, json.loads(out.getvalue())


def test_run_json_carries_the_sweep_with_vmin_rising_with_frequency(run_json):
    code, summary = run_json
    sweep = summary["sweep"]
    assert summary["sweeps"] == [sweep]
    assert (sweep["step"], sweep["x"], sweep["y"]) == ("shmoo", "vdd_mv", "freq_mhz")
    assert len(sweep["points"]) == 40
    assert [p["order"] for p in sweep["points"]] == list(range(40))  # in the order they ran
    assert [(p["x"], p["y"]) for p in sweep["points"][:3]] == [
        (575, 1000),
        (600, 1000),
        (625, 1000),
    ]
    for p in sweep["points"]:
        expected = bist_passes(0, 0, p["x"], p["y"], 0)
        assert p["verdict"] == ("passed" if expected else "failed"), p
    vmin = sweep["vmin"]
    assert list(vmin) == ["1000", "1200", "1400", "1600"]
    values = [vmin[k] for k in vmin]
    assert all(v is not None for v in values) and values == sorted(values), vmin
    assert values[-1] > values[0]
    assert sweep["holes"] == []
    # Below Vmin the BIST fails, so the run fails: exit 1.
    assert summary["verdict"] == "failed" and code == 1
    names = [s["name"] for s in summary["steps"]]
    assert names[0] == "power-on" and names[1] == "shmoo vdd_mv=575 freq_mhz=1000"
    assert names[-1] == "restore" and len(names) == 42


def test_export_shmoo_report_and_record(run_json, shmoo_run, tmp_path, capsys):
    _, summary = run_json
    _, db = shmoo_run
    run_id = str(summary["run_id"])
    grid, report, record = tmp_path / "grid.csv", tmp_path / "report.csv", tmp_path / "r.json"
    assert main(["export", run_id, "--shmoo", str(grid), "--report", str(report),
                 "--json", str(record), "--db", db]) == 0  # fmt: skip
    assert f"shmoo {grid} (40 points)" in capsys.readouterr().out

    lines = grid.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# sweep: shmoo"
    assert lines[1] == "freq_mhz \\ vdd_mv," + ",".join(map(str, XS))
    for y, line in zip(YS, lines[2:6], strict=True):
        cells = "".join("P" if bist_passes(0, 0, x, y, 0) else "F" for x in XS)
        assert line == f"{y}," + ",".join(cells)
    assert lines[6] == "" and lines[7] == "freq_mhz,vmin vdd_mv,holes"
    vmin = summary["sweep"]["vmin"]
    assert lines[8:] == [f"{y},{int(vmin[str(y)])}," for y in YS]
    frame = pd.read_csv(grid, comment="#", nrows=4)
    assert list(frame.columns)[1:] == [str(x) for x in XS]

    rows = pd.read_csv(report, comment="#", keep_default_na=False)
    points = rows[rows["sweep"] == "shmoo"]
    # One row per point and item: BIST and three rails at each of the 40 points.
    assert len(points) == 40 * 4
    bist = points[points["name"] == "bist"]
    assert [int(k) for k in bist["sweep_order"]] == list(range(40))
    first = bist.iloc[0]
    assert (float(first["sweep_x"]), float(first["sweep_y"]), first["step"]) == (
        575.0, 1000.0, "shmoo vdd_mv=575 freq_mhz=1000",
    )  # fmt: skip
    plain = rows[rows["sweep"] == ""]
    assert set(plain["step"]) == {"power-on", "restore"}
    assert (plain["sweep_x"] == "").all()
    preamble = [line for line in report.read_text(encoding="utf-8").splitlines() if line[0] == "#"]
    assert "# sweep shmoo: x vdd_mv, y freq_mhz" in preamble

    data = load_json(record)
    jsonschema.Draft202012Validator(json.loads(RECORD_SCHEMA.read_text("utf-8"))).validate(data)
    (sweep,) = data["sweeps"]
    assert sweep == summary["sweep"]
    assert data["steps"][1]["sweep_point"] == {
        "sweep": "shmoo", "x_name": "vdd_mv", "x": 575.0, "y_name": "freq_mhz", "y": 1000.0,
        "order": 0,
    }  # fmt: skip
    assert data["steps"][0]["sweep_point"] is None


def test_shmoo_of_a_run_without_a_sweep_is_one_sentence(shmoo_run, tmp_path, capsys):
    _, db = shmoo_run
    plan = tmp_path / "plain.toml"
    plan.write_text(
        '[plan]\nname = "plain"\nversion = "1"\ndut_kind = "chip"\n'
        '[[step]]\nname = "hold"\nduration_s = 0.3\n'
        '[[step.limit]]\nchannel = "temp_die"\nhigh = 85.0\n'
    )
    assert main(["run", "--plan", str(plan), "--dut", "CHP-PLAIN", "--new-dut", "chip",
                 "--device", "mock://nominal?rate=200", "--db", db, "--json"]) == 0  # fmt: skip
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    report, grid = tmp_path / "report.csv", tmp_path / "grid.csv"
    code = main(["export", str(run_id), "--report", str(report), "--shmoo", str(grid),
                 "--db", db])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 2 and "Traceback" not in captured.err
    assert captured.err.strip().splitlines() == [
        f"labbench: Run {run_id} has no sweep points stored (its plan has no sweep step, or it was "
        f"interrupted), so it has no shmoo to write."
    ]
    assert not report.exists() and not grid.exists()  # nothing written


def test_grid_names_are_safe_text(tmp_path):
    from labbench.criteria.shmoo import SweepPoint, build_shmoo, shmoo_csv_rows
    from labbench.export.shmoo_csv import _escaped

    shmoo = build_shmoo("=cmd", "-y", [SweepPoint(-5.0, 1.0, 0, None)])
    rows = _escaped(shmoo_csv_rows(shmoo))
    assert rows[0][0].startswith("'") and cell_text(rows[0][0]) == "-y \\ =cmd"
    assert rows[0][1] == "-5" and rows[1] == ["1", "-"]  # numbers and letters as they are
    assert rows[3] == ["'-y", "vmin =cmd", "holes"] and rows[4] == ["1", "", ""]
