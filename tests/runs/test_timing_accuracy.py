"""Timing accuracy of power-sequencing items through a real pseudo-terminal at 2 kHz: with the
rig's own clock (a device time field) rise times land within one sample period of the
simulated truth; timed on arrival, the lines of each read are spread over the interval since
the previous read, so a crossing is only known to within its read's interval.

The measured figures are logged: ``pytest tests/runs/test_timing_accuracy.py -o log_cli=true
--log-cli-level=INFO``."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import numpy as np
import pytest

from labbench import paths
from labbench.criteria.timing import find_crossing
from labbench.storage import open_database
from labbench.storage import runs as run_store
from labbench.storage.telemetry_read import read_channel, read_raw

log = logging.getLogger(__name__)

RATE = 2000
PERIOD_MS = 1e3 / RATE
PLAN = paths.resources_dir() / "plans" / "power-sequencing.toml"
RAILS = {"vdd_io": 1.8, "vdd_hbm": 1.1, "vdd_core": 0.75}
RISE_MS, DELAY_MS = 5.0, 10.0  # the simulated truth (labbench.devices.simulation defaults)


def _run(mock_rig_process, tmp_path, clock: str):
    scenario = "nominal?channels=vdd_io+vdd_hbm+vdd_core"
    scenario += "&device_time=ms" if clock == "device" else ""
    path = mock_rig_process(scenario, rate=RATE, seed=3)
    profile = tmp_path / "rig.toml"
    profile.write_text(
        '[line]\ndevice_time = "t_ms"\ndevice_time_unit = "ms"\n'
        if clock == "device"
        else "[line]\n"
    )
    db_path = tmp_path / "timing.sqlite3"
    result = subprocess.run(
        [
            sys.executable, "-m", "labbench", "run", "--plan", str(PLAN), "--device", path,
            "--dut", "CHP-TIME", "--new-dut", "chip", "--db", str(db_path),
            "--profile", str(profile), "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    summary = json.loads(result.stdout)
    steps = {s["name"]: s for s in summary["steps"]}
    timing = {t["name"]: t for t in steps["power-on"]["timing"]}
    return summary["run_id"], timing, db_path


@pytest.mark.slow
def test_with_the_rigs_clock_rise_times_are_within_one_sample_period(mock_rig_process, tmp_path):
    _, timing, _ = _run(mock_rig_process, tmp_path, "device")
    errors = {rail: timing[f"{rail}_rise"]["value_ms"] - RISE_MS for rail in RAILS}
    delay = timing["vdd_hbm_to_vdd_core_delay"]["value_ms"] - DELAY_MS
    log.info(f"device time: rise errors {errors} ms, hbm→core delay error {delay:.4f} ms")
    assert all(abs(e) < PERIOD_MS for e in errors.values()), errors
    assert abs(delay) < PERIOD_MS
    assert all(t["verdict"] == "passed" for t in timing.values())


@pytest.mark.slow
def test_on_arrival_a_rise_time_is_known_to_within_the_read_interval(mock_rig_process, tmp_path):
    run_id, timing, db_path = _run(mock_rig_process, tmp_path, "arrival")
    db = open_database(str(db_path))
    try:
        t0_ns = run_store.get_run(db, run_id).t0_ns
        reads = np.array([received for received, _ in read_raw(db, run_id)], np.int64)
        rails = {rail: read_channel(db, run_id, rail) for rail in RAILS}
    finally:
        db.dispose()
    intervals_ms = np.diff(reads) / 1e6
    report = []
    for rail, nominal in RAILS.items():
        t, v = rails[rail]
        on = t >= 0.4  # the power-on step (after the 0.5 s power-off step)
        t10 = find_crossing(t[on], v[on], 0.1 * nominal).t_s
        t90 = find_crossing(t[on], v[on], 0.9 * nominal).t_s
        # The read that delivered each crossing's later sample, and the interval it spread
        # its lines over: a crossing's time is off by at most that interval.
        bound = 0.0
        for crossing in (t10, t90):
            k = int(np.searchsorted(reads, t0_ns + crossing * 1e9))
            bound += intervals_ms[max(k - 1, 0)]
        error = timing[f"{rail}_rise"]["value_ms"] - RISE_MS
        report.append(f"{rail}: error {error:+.3f} ms, read intervals {bound:.3f} ms")
        assert abs(error) <= bound + PERIOD_MS, report
    log.info(
        "arrival: " + "; ".join(report) + f"; reads: median {np.median(intervals_ms):.2f} ms, "
        f"p99 {np.percentile(intervals_ms, 99):.2f} ms, max {intervals_ms.max():.2f} ms"
    )
