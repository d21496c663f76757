"""hold_s means the same at 20 k lines/s: a 5 ms droop through a real pty fails a 4 ms hold and
passes a 6 ms hold, timed by arrival (lines spread over each read) or by the rig's clock."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from labbench.criteria.limits import Band, judge_limit
from labbench.storage import open_database
from labbench.storage.telemetry_read import read_channel

RATE = 20_000
DROOP = "rail-droop?droop_at=2.0&droop_s=0.005&droop_v=0.68&rail_tau=0&channels=vdd_core"
BAND = Band(low=0.72, high=0.78)


@pytest.mark.slow
@pytest.mark.alone
@pytest.mark.parametrize("clock", ["arrival", "device"])
def test_a_5_ms_droop_at_20k_lines_per_second(mock_rig_process, tmp_path, clock):
    scenario = DROOP + ("&device_time=ms" if clock == "device" else "")
    path = mock_rig_process(scenario, rate=RATE, seed=5)
    profile = tmp_path / "rig.toml"
    profile.write_text(
        '[line]\ndevice_time = "t_ms"\ndevice_time_unit = "ms"\n'
        if clock == "device"
        else "[line]\n"
    )
    db_path = tmp_path / "hold.sqlite3"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "labbench",
            "record",
            "--device",
            path,
            "--dut",
            "CHP-HOLD",
            "--new-dut",
            "chip",
            "--duration",
            "3.5",
            "--db",
            str(db_path),
            "--profile",
            str(profile),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    run_id = json.loads(result.stdout)["run_id"]
    db = open_database(str(db_path))
    try:
        t, v = read_channel(db, run_id, "vdd_core")
        _, seq = read_channel(db, run_id, "seq")
    finally:
        db.dispose()
    assert np.all(np.diff(seq) == 1), "the rig's lines arrived complete and in order"
    assert np.all(np.diff(t) > 0)
    out = np.flatnonzero(v < BAND.low)
    seen = f"seq {seq[0]:.0f}..{seq[-1]:.0f}, vdd_core {v.min():.4f}..{v.max():.4f}"
    assert out.size in (100, 101) and np.all(np.diff(out) == 1), (
        f"one droop of 5 ms (100 lines at 20 kHz); {seen}"
    )
    window = (float(t[0]), float(t[-1]) + 1.0)
    assert judge_limit(t, v, BAND, window, hold_s=0.004).verdict == "failed"
    assert judge_limit(t, v, BAND, window, hold_s=0.006).verdict == "passed"
    lasted = t[out[-1] + 1] - t[out[0]]
    assert 0.004 < lasted < 0.006, lasted
