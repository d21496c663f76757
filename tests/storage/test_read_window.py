"""``read_window``: the samples of a moment of a long run, found through the chunks' time
index, equal to what ``read_channel`` returns for the same window (SQLite and PostgreSQL)."""

from __future__ import annotations

import numpy as np
import pytest

from labbench.storage import inventory as inventory_store
from labbench.storage import runs as run_store
from labbench.storage.telemetry import TelemetryWriter
from labbench.storage.telemetry_read import read_channel, read_window


@pytest.fixture
def stored(db):
    run = run_store.start_run(db, inventory_store.add_dut(db, "chip", "WIN-1").id)
    writer = TelemetryWriter(db, run.id)
    for k in range(40):  # 40 chunks of 250 samples at 1 kHz, two channels
        t = (k * 250 + np.arange(250)) / 1000.0
        writer.append("vdd_core", t, np.sin(t), unit="V")
        writer.append("temp_die", t, 40.0 + t)
        writer.commit(malformed_count=0, console_count=0)
    writer.close()
    return db, run.id


@pytest.mark.parametrize(
    "window",
    [(0.0, 0.1), (3.1, 4.6), (2.25, 2.25), (2.2495, 2.2505), (9.8, 12.0), (-5.0, -1.0),
     (20.0, 30.0), (-1.0, 100.0)],
)  # fmt: skip
def test_same_samples_as_read_channel(stored, window):
    db, run_id = stored
    for channel in ("vdd_core", "temp_die"):
        t, v = read_window(db, run_id, channel, *window)
        t_all, v_all = read_channel(db, run_id, channel, *window)
        np.testing.assert_array_equal(t, t_all)
        np.testing.assert_array_equal(v, v_all)


def test_unknown_channel_is_a_key_error(stored):
    db, run_id = stored
    with pytest.raises(KeyError):
        read_window(db, run_id, "nope", 0.0, 1.0)
