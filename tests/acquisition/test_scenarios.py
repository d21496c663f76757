"""Each simulated scenario leaves its signature in the stored data; the pipeline never drops."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from labbench.acquisition.record import reparse
from labbench.cli import main
from labbench.devices.simulation import RigParams
from labbench.devices.transport import MockRig
from labbench.protocols.profile import load_profile
from labbench.runs.recording import record
from labbench.storage import events as event_store
from labbench.storage import inventory as inventory_store
from labbench.storage import open_database
from labbench.storage import runs as run_store
from labbench.storage.telemetry_read import read_channel


@pytest.fixture
def db(tmp_path):
    database = open_database(str(tmp_path / "scenarios.sqlite3"))
    yield database
    database.dispose()


# A profile that renames and scales the rig's clock (MHz on the wire, Hz stored).
CLK_IN_HZ = """\
[profile]
name = "clk-hz"
[[channel]]
match = "clk_core_mhz"
name = "clk_core"
unit = "Hz"
scale = 1e6
"""


def _record(db, device: str, seconds: float, profile: str = "bringup-rig"):
    dut = inventory_store.find_dut(db, "CHP-S") or inventory_store.add_dut(db, "chip", "CHP-S")
    return record(db, device=device, dut=dut, duration_s=seconds, profile=load_profile(profile))


def _channel(db, run_id, name):
    return read_channel(db, run_id, name)


def test_nominal_stays_inside_the_example_limits(db):
    summary = _record(db, "mock://nominal?rate=200&seed=1", 2.5)
    t, vdd = _channel(db, summary.run_id, "vdd_core")
    settled = vdd[t > t[0] + 0.5]
    assert settled.min() > 0.74 and settled.max() < 0.76
    assert summary.malformed == 0
    channels = {c.name: c.unit for c in run_store.run_channels(db, summary.run_id)}
    assert (
        channels["vdd_core"] == "V"
        and channels["temp_die"] == "°C"
        and channels["clk_core_mhz"] == "MHz"
    )
    _, clk = _channel(db, summary.run_id, "clk_core_mhz")
    assert clk.max() == 1500.0  # kept as sent: the shipped plans judge it in MHz


def test_profile_renames_and_scales_a_channel(db, tmp_path):
    profile = tmp_path / "clk-hz.toml"
    profile.write_text(CLK_IN_HZ, encoding="utf-8")
    summary = _record(db, "mock://nominal?rate=200&seed=1", 1.0, profile=str(profile))
    channels = {c.name: c.unit for c in run_store.run_channels(db, summary.run_id)}
    assert channels["clk_core"] == "Hz" and "clk_core_mhz" not in channels
    _, clk = _channel(db, summary.run_id, "clk_core")
    assert clk.max() == 1.5e9  # the profile's scale: MHz on the wire, Hz stored


def test_rail_droop_signature(db):
    summary = _record(db, "mock://rail-droop?rate=200&droop_at=1.0&droop_s=0.4", 2.5)
    _t, vdd = _channel(db, summary.run_id, "vdd_core")
    _, seq = _channel(db, summary.run_id, "seq")
    sim_t = seq / 200.0
    low = sim_t[(vdd < 0.70) & (sim_t > 0.5)]  # after the power-on ramp
    assert low.size > 20
    assert 1.0 <= low.min() < 1.15 and 1.3 < low.max() <= 1.45


def test_overtemp_signature(db):
    summary = _record(db, "mock://overtemp?rate=200&fail_at=0.2", 3.0)
    _, fan = _channel(db, summary.run_id, "fan_rpm")
    _, temp = _channel(db, summary.run_id, "temp_die")
    assert fan[-1] == 0.0 and fan[:10].max() > 1000
    assert np.all(np.diff(temp[-200:]) > -1.0) and temp[-1] > temp[100] + 10


def test_noisy_signature(db):
    quiet = _record(db, "mock://nominal?rate=400&seed=2", 1.5)
    noisy = _record(db, "mock://noisy?rate=400&seed=2", 1.5)
    std = {}
    for name, summary in (("quiet", quiet), ("noisy", noisy)):
        t, v = _channel(db, summary.run_id, "vdd_core")
        std[name] = v[t > t[0] + 0.5].std()
    assert std["noisy"] > 0.01 > 0.002 > std["quiet"]


def test_disconnect_signature_in_process(db):
    summary = _record(db, "mock://disconnect?rate=200&at=0.5&gap=0.5", 2.0)
    assert (summary.disconnects, summary.reconnects, summary.status) == (1, 1, "recorded")
    kinds = [e.kind for e in event_store.run_events(db, summary.run_id)]
    assert kinds.count("disconnect") == 1 and kinds.count("reconnect") == 1


def test_garbage_is_counted_kept_and_never_stops_the_stream(db):
    summary = _record(db, "mock://garbage?rate=700&garbage_every=7", 2.0, profile="default")
    run = run_store.get_run(db, summary.run_id)
    _, seq = _channel(db, summary.run_id, "seq")
    np.testing.assert_array_equal(seq, np.arange(seq[0], seq[-1] + 1))  # telemetry unharmed
    assert run.malformed_count > 10 and run.console_count > 10
    events = event_store.run_events(db, summary.run_id)
    kinds = {e.kind for e in events}
    assert {"malformed", "console", "line_capped"} <= kinds
    malformed = [e.detail for e in events if e.kind == "malformed"]
    assert any("4x.1" in d for d in malformed) and any("temp_d" in d for d in malformed)
    _, probe = _channel(db, summary.run_id, "probe_v")
    assert np.isnan(probe).all()  # NaN is stored as a value
    _, probe_i = _channel(db, summary.run_id, "probe_i")
    assert np.isinf(probe_i).all()


def test_rig_gone_longer_than_the_window_ends_as_error(db):
    profile = load_profile("default")
    from dataclasses import replace

    summary = record(
        db,
        device="mock://disconnect?rate=200&at=0.3&gap=30",
        dut=inventory_store.add_dut(db, "chip", "CHP-GONE"),
        duration_s=10,
        profile=replace(profile, reconnect_window_s=0.5),
    )
    assert summary.status == "error" and summary.samples > 0
    run = run_store.get_run(db, summary.run_id)
    assert run.status == "error" and "reconnect window" in run.error_message
    assert "link_lost" in [e.kind for e in event_store.run_events(db, summary.run_id)]


def test_reparse_rebuilds_from_raw_bytes_with_another_profile(db, capsys, tmp_path):
    profile = tmp_path / "clk-hz.toml"
    profile.write_text(CLK_IN_HZ, encoding="utf-8")
    summary = _record(db, "mock://garbage?rate=300", 1.0, profile=str(profile))
    names_before = {c.name for c in run_store.run_channels(db, summary.run_id)}
    assert "clk_core" in names_before and "clk_core_mhz" not in names_before
    _, seq_before = _channel(db, summary.run_id, "seq")
    result = reparse(
        db, summary.run_id, load_profile("default"), user="ana", reason="check scaling"
    )
    names_after = {c.name for c in run_store.run_channels(db, summary.run_id)}
    assert "clk_core_mhz" in names_after and "clk_core" not in names_after
    _, seq_after = _channel(db, summary.run_id, "seq")
    np.testing.assert_array_equal(seq_before, seq_after)
    assert result.malformed == run_store.get_run(db, summary.run_id).malformed_count > 0
    trail = event_store.audit_trail(db, "run", summary.run_id)
    assert [(a.action, a.user, a.new_value) for a in trail] == [("reparse", "ana", "default")]
    # the command line does the same, and refuses a profile that does not exist
    assert (
        main(["reparse", str(summary.run_id), "--profile", "bringup-rig", "--db", db.url.database])
        == 0
    )
    assert "re-parsed with profile bringup-rig" in capsys.readouterr().out
    assert main(["reparse", str(summary.run_id), "--profile", "nope", "--db", db.url.database]) == 2
    assert "no profile named 'nope'" in capsys.readouterr().err


def test_record_cli_unknown_dut_and_bad_duration(tmp_path, capsys):
    target = str(tmp_path / "cli.sqlite3")
    assert (
        main(
            [
                "record",
                "--device",
                "mock://nominal",
                "--dut",
                "NOPE",
                "--duration",
                "1",
                "--db",
                target,
            ]
        )
        == 2
    )
    assert "--new-dut" in capsys.readouterr().err
    assert (
        main(
            [
                "record",
                "--device",
                "mock://nominal",
                "--dut",
                "NOPE",
                "--duration",
                "-1",
                "--db",
                target,
            ]
        )
        == 2
    )
    assert (
        main(
            [
                "record",
                "--device",
                "mock://bogus",
                "--dut",
                "N",
                "--new-dut",
                "chip",
                "--duration",
                "1",
                "--db",
                target,
            ]
        )
        == 2
    )
    assert "Unknown mock rig scenario 'bogus'" in capsys.readouterr().err
    assert (
        main(
            [
                "record",
                "--device",
                "mock://nominal?rate=100",
                "--dut",
                "N",
                "--new-dut",
                "chip",
                "--duration",
                "0.5",
                "--db",
                target,
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("run 1 recorded:") and "malformed" in out


def test_mock_rig_commands_and_determinism():
    rig = MockRig("mock://nominal?rate=100&power=off&seed=5")
    sim = rig.sim
    assert sim.command("STATUS?")[0].startswith("STATUS PWR OFF")
    assert sim.command("PWR ON") == ["OK PWR ON"]
    assert sim.command("LOAD 50") == ["OK LOAD 50"]
    assert sim.command("LOAD 150") == ["ERR load must be 0..100"]
    assert sim.command("FLY") == ["ERR unknown command 'FLY'"]
    a = [RigParams.from_device("mock://noisy?seed=9&rate=1000") for _ in range(2)]
    from labbench.devices.simulation import RigSimulation

    sims = [RigSimulation(p) for p in a]
    assert [sims[0].next_lines() for _ in range(500)] == [sims[1].next_lines() for _ in range(500)]


def test_ports_command_lists_ports(capsys):
    """A serial port on this machine shows up in ``labbench ports``, plain and --json.

    The port is a pseudo-terminal behind a /dev/ttyUSB* name (where pyserial looks for
    USB serial adapters), so the test has a port to find on any Linux machine (as root)."""
    import json

    master, slave = os.openpty()
    device = Path(f"/dev/ttyUSBlabbench{os.getpid()}")
    device.symlink_to(os.ttyname(slave))
    try:
        assert main(["ports", "--json"]) == 0
        ports = json.loads(capsys.readouterr().out)
        assert all(
            set(p) == {"device", "description", "hwid"}
            and all(isinstance(x, str) for x in p.values())
            for p in ports
        )
        assert str(device) in [p["device"] for p in ports]
        assert main(["ports"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert any(line.split("\t")[0] == str(device) for line in lines), lines
    finally:
        device.unlink()
        os.close(master)
        os.close(slave)
    assert main(["ports", "--json"]) == 0
    assert str(device) not in [p["device"] for p in json.loads(capsys.readouterr().out)]
