"""reparse rebuilds a run from its raw reads with the very times the live run stored."""

from __future__ import annotations

import numpy as np

from labbench.acquisition.record import reparse
from labbench.protocols.profile import load_profile
from labbench.runs.recording import record
from labbench.storage import events as event_store
from labbench.storage import inventory as inventory_store
from labbench.storage import open_database
from labbench.storage import runs as run_store
from labbench.storage.telemetry import CONSOLE_EVENT_KINDS
from labbench.storage.telemetry_read import read_channel


def _stored(db, run_id: int):
    channels = [c.name for c in run_store.run_channels(db, run_id)]
    data = {name: read_channel(db, run_id, name) for name in channels}
    events = [
        (e.at_ns, e.kind, e.detail)
        for e in event_store.run_events(db, run_id)
        if e.kind in CONSOLE_EVENT_KINDS
    ]
    return data, events


def test_reparse_reproduces_live_times_and_text_events(tmp_path):
    db = open_database(str(tmp_path / "reparse.sqlite3"))
    try:
        dut = inventory_store.add_dut(db, "chip", "CHP-REPARSE")
        profile = load_profile("default")
        summary = record(
            db,
            device="mock://nominal?rate=5000&format=teleplot-full",
            dut=dut,
            duration_s=1.0,
            profile=profile,
        )
        assert summary.status == "recorded" and summary.samples > 0
        live, live_events = _stored(db, summary.run_id)
        t, _ = live["vdd_core"]
        assert np.all(np.diff(t) > 0)
        assert any(kind == "text" and detail == "state=ON" for _, kind, detail in live_events)

        reparse(db, summary.run_id, profile, user="tester")
        again, again_events = _stored(db, summary.run_id)
        assert sorted(again) == sorted(live)
        for name, (t, v) in live.items():
            np.testing.assert_array_equal(again[name][0], t, err_msg=name)
            np.testing.assert_array_equal(again[name][1], v, err_msg=name)
        assert sorted(again_events) == sorted(live_events)
    finally:
        db.dispose()


def test_reparse_spreads_from_the_read_before_the_first_bytes(tmp_path):
    """Arrival-timed lines: a read's lines are spread from the previous (empty) read, which
    the raw log keeps as an empty row, so reparse puts them at the same times."""
    db = open_database(str(tmp_path / "spread.sqlite3"))
    try:
        dut = inventory_store.add_dut(db, "chip", "CHP-SPREAD")
        profile = load_profile("default")
        summary = record(
            db, device="mock://nominal?rate=300", dut=dut, duration_s=1.0, profile=profile
        )
        live, _ = _stored(db, summary.run_id)
        reparse(db, summary.run_id, profile, user="tester")
        again, _ = _stored(db, summary.run_id)
        for name, (t, _) in live.items():
            assert np.all(np.diff(t) > 0), name
            np.testing.assert_array_equal(again[name][0], t, err_msg=name)
    finally:
        db.dispose()
