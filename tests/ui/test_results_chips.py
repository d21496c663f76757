"""The results table of a sled plan judged per chip: one row per chip's item (named with its
chip), added as the chip's records arrive when the placement was not known; the sled's own
items keep their rows from the plan."""

from __future__ import annotations

import numpy as np

from labbench import paths
from labbench.runs.judgement import Judgement
from labbench.runs.plan import load_plan
from labbench.ui.results_model import ResultsModel


def test_per_chip_items_get_a_row_each_and_the_failing_chip_turns_failed(qapp):
    plan = load_plan(paths.resources_dir() / "plans" / "sled-chips.toml")
    model = ResultsModel()
    model.set_plan(plan)
    names = [model.data(model.index(r, 1)) for r in range(model.rowCount())]
    assert "fan_rpm" in names and "vdd_core" not in names and "vdd_core_mean" not in names
    failed_rows = []
    model.item_failed.connect(failed_rows.append)

    judgement = Judgement(plan, {0: "CHP-0", 2: "CHP-2"})
    judgement.begin(0, 0, 0.0)
    t = np.linspace(0.6, 1.9, 100)
    judgement.samples("vdd_core[0]", t, np.full(100, 0.75))
    judgement.samples("vdd_core[2]", t, np.where(t > 1.0, 0.60, 0.75))
    judgement.end(1, 2.0)
    model.update_steps([judgement.record(0, {})])
    model.update_steps([judgement.record(0, {})])  # again: no second row
    rows = {
        model.data(model.index(r, 1)): model.data(model.index(r, 2))
        for r in range(model.rowCount())
        if model.data(model.index(r, 0)) == "power-on"
    }
    assert rows == {
        "vdd_core[0] · CHP-0": "PASSED",
        "vdd_core[2] · CHP-2": "FAILED",
        "vdd_core_mean[0] · CHP-0": "PASSED",
        "vdd_core_mean[2] · CHP-2": "FAILED",
    }
    order = [model.data(model.index(r, 1)) for r in range(model.rowCount())][:4]
    assert [name.split(" · ")[0] for name in order] == [
        "vdd_core[0]",
        "vdd_core[2]",
        "vdd_core_mean[0]",
        "vdd_core_mean[2]",
    ]
    assert [model.data(model.index(r, 1)) for r in failed_rows] == ["vdd_core[2] · CHP-2"]
    assert "vdd_core[2]" in model.row_sentence(failed_rows[0])
