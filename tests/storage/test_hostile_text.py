"""Text from a rig that a database refuses (NUL, stray bytes, over-long channel names) is
escaped or refused alone, counted, and never costs the good lines around it."""

from __future__ import annotations

import os
import threading
import tty

import numpy as np

from labbench.acquisition.pipeline import Acquisition
from labbench.acquisition.record import reparse
from labbench.acquisition.rigs import make_rig
from labbench.protocols.profile import load_profile
from labbench.storage import events as event_store
from labbench.storage import inventory as inventory_store
from labbench.storage import runs as run_store
from labbench.storage.telemetry_read import read_channel

LONG = "x" * 200


def test_nul_bytes_and_long_channel_names_cost_nothing_else(db):
    master, slave = os.openpty()
    tty.setraw(slave)
    device = os.ttyname(slave)
    dut = inventory_store.add_dut(db, "chip", "CHP-NUL")
    run = run_store.start_run(db, dut.id)
    acquisition = Acquisition(
        db, run.id, run.t0_ns, make_rig(device, load_profile("default")), load_profile("default")
    )
    acquisition.start()
    try:
        os.write(master, b"seq=0,vdd=1.0\n")
        os.write(master, b"boot \x00 banner with a NUL\n")
        os.write(master, b"seq=1,ch\x00name=2.5\n")
        os.write(master, f"seq=2,{LONG}=7\n".encode())
        os.write(master, b"\xff\xfe stray bytes\n")
        os.write(master, b"seq=3,vdd=1.1\n")
        done = threading.Event()
        for _ in range(500):
            if acquisition.stats.lines >= 6:
                break
            done.wait(0.02)
    finally:
        stats = acquisition.stop()
        os.close(master)
        os.close(slave)
    run_store.finish_run(db, run.id, "recorded")
    assert stats.errors == []
    _, seq = read_channel(db, run.id, "seq")
    # the good lines, all of them (the parser does not take a NUL in a name: that line is kept
    # as text)
    np.testing.assert_array_equal(seq, [0, 2, 3])
    _, vdd = read_channel(db, run.id, "vdd")
    np.testing.assert_array_equal(vdd, [1.0, 1.1])
    names = {c.name for c in run_store.run_channels(db, run.id)}
    assert not any(len(n) > 128 for n in names)
    assert stats.refused_samples == 1 and len(stats.refused_channels) == 1
    assert stats.text_escaped >= 2
    events = event_store.run_events(db, run.id)
    assert any(e.kind == "channel_refused" and "200 characters" in e.detail for e in events)
    assert any("\\x00 banner" in e.detail for e in events)
    assert any("ch\\x00name" in e.detail for e in events)
    assert run_store.get_run(db, run.id).sample_count == 3 + 2


def _stored_texts(db, run_id: int) -> tuple[set[str], list[tuple[str, str]]]:
    names = {c.name for c in run_store.run_channels(db, run_id)}
    events = sorted(
        (e.kind, e.detail)
        for e in event_store.run_events(db, run_id)
        if e.kind in ("console", "malformed", "channel_refused")
    )
    return names, events


def test_reparse_stores_hostile_text_as_the_live_run_did(db):
    """A re-parse escapes NULs and refuses an overlong channel name exactly as live storage
    did: the same channels, the same console text, one refusal event (not one per parse)."""
    test_nul_bytes_and_long_channel_names_cost_nothing_else(db)
    (run,) = run_store.list_runs(db)
    live = _stored_texts(db, run.id)
    reparse(db, run.id, load_profile("default"), user="ana", reason="same profile")
    again = _stored_texts(db, run.id)
    assert again == live
    assert not any(len(n) > 128 for n in again[0])
    assert sum(kind == "channel_refused" for kind, _ in again[1]) == 1
    assert any("\\x00 banner" in detail for _, detail in again[1])
