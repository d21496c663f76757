"""Through a real pseudo-terminal and pyserial: nothing lost, unplug and replug, exclusivity."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest
import serial

from labbench.devices.simulation import RigParams, RigSimulation
from labbench.protocols.formats import parse_line
from labbench.protocols.profile import load_profile
from labbench.runs.recording import record
from labbench.storage import events as event_store
from labbench.storage import inventory as inventory_store
from labbench.storage import open_database
from labbench.storage import runs as run_store
from labbench.storage.telemetry_read import read_channel


def _cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "labbench", *args], capture_output=True, text=True, timeout=timeout
    )


def _expected_values(params: RigParams, last_seq: int) -> dict[str, np.ndarray]:
    """What the rig sent for seq 0..last_seq, parsed from the very bytes it would send."""
    sim = RigSimulation(params)
    columns: dict[str, list[float]] = {}
    while sim.seq <= last_seq:
        for line in sim.next_lines():
            for name, value in parse_line(line).values:
                columns.setdefault(name, []).append(value)
    return {name: np.array(values) for name, values in columns.items()}


@pytest.mark.slow
def test_record_through_pty_loses_no_line_and_keeps_every_value(mock_rig_process, tmp_path):
    path = mock_rig_process("nominal", rate=2000, seed=11)
    db_path = tmp_path / "pty.sqlite3"
    result = _cli(
        "record",
        "--device",
        path,
        "--dut",
        "CHP-PTY",
        "--new-dut",
        "chip",
        "--duration",
        "3",
        "--db",
        str(db_path),
        "--json",
    )
    assert result.returncode == 0, result.stderr
    import json

    summary = json.loads(result.stdout)
    assert summary["status"] == "recorded" and summary["samples"] > 0

    db = open_database(str(db_path))
    try:
        _, seq = read_channel(db, summary["run_id"], "seq")
        seq = seq.astype(np.int64)
        assert seq.size > 2000  # about 3 s at 2 kHz
        first, last = int(seq[0]), int(seq[-1])
        np.testing.assert_array_equal(seq, np.arange(first, last + 1))  # none missing, none twice
        expected = _expected_values(RigParams(scenario="nominal", rate=2000, seed=11), last)
        for name, values in expected.items():
            if name == "seq":
                continue
            _, stored = read_channel(db, summary["run_id"], name)
            np.testing.assert_array_equal(
                stored[-seq.size :], values[first : last + 1], err_msg=name
            )
        run = run_store.get_run(db, summary["run_id"])
        assert (
            run.status == "recorded" and run.malformed_count <= 1
        )  # at most the line cut by the port's open
    finally:
        db.dispose()


@pytest.mark.slow
def test_unplug_and_replug_through_pty(mock_rig_process, tmp_path):
    path = mock_rig_process("disconnect?at=1.0&gap=1.0", rate=500, seed=3)
    db = open_database(str(tmp_path / "replug.sqlite3"))
    try:
        dut = inventory_store.add_dut(db, "chip", "CHP-REPLUG")
        before = {t.name for t in threading.enumerate()}
        summary = record(db, device=path, dut=dut, duration_s=3.5, profile=load_profile("default"))
        leftover = {t.name for t in threading.enumerate()} - before
        assert not any(name.startswith("labbench-") for name in leftover), leftover

        assert summary.status == "recorded"
        assert summary.disconnects == 1 and summary.reconnects == 1
        events = event_store.run_events(db, summary.run_id)
        kinds = [e.kind for e in events]
        assert kinds.index("disconnect") < kinds.index("reconnect")
        disconnect = next(e for e in events if e.kind == "disconnect")
        reconnect = next(e for e in events if e.kind == "reconnect")
        gap_s = (reconnect.at_ns - disconnect.at_ns) / 1e9
        assert 0.8 <= gap_s <= 2.5, gap_s
        assert "gap" in reconnect.detail

        _, seq = read_channel(db, summary.run_id, "seq")
        jumps = np.flatnonzero(np.diff(seq) != 1)
        assert jumps.size == 1  # one hole: the lines sent while unplugged
        hole_from, hole_to = seq[jumps[0]], seq[jumps[0] + 1]
        assert hole_from < 1.0 * 500 + 50 and hole_to >= 2.0 * 500  # the rig's own gap, in seq
    finally:
        db.dispose()


def test_port_in_use_and_missing_port_are_clear_errors(mock_rig_process, tmp_path):
    path = mock_rig_process("nominal", rate=10)
    holder = serial.Serial(path, exclusive=True, timeout=0.1)
    try:
        result = _cli(
            "record",
            "--device",
            path,
            "--dut",
            "X",
            "--new-dut",
            "chip",
            "--duration",
            "1",
            "--db",
            str(tmp_path / "busy.sqlite3"),
        )
        assert result.returncode == 2
        assert (
            result.stderr.strip()
            == f"labbench: The serial port {path} is in use by another program."
        )
    finally:
        holder.close()
    missing = str(tmp_path / "ttyUSB404")
    result = _cli(
        "record",
        "--device",
        missing,
        "--dut",
        "X",
        "--new-dut",
        "chip",
        "--duration",
        "1",
        "--db",
        str(tmp_path / "busy.sqlite3"),
    )
    assert result.returncode == 2 and missing in result.stderr and "Traceback" not in result.stderr
    # A refused device leaves no run behind.
    db = open_database(str(tmp_path / "busy.sqlite3"))
    assert run_store.list_runs(db) == []
    db.dispose()
