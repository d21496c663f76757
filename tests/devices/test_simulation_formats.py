"""The simulated rigs' full Teleplot and nested JSON modes, as labbench parses them."""

from __future__ import annotations

import numpy as np
import pytest

from labbench.devices.simulation import RigParams, RigSimulation, ScenarioError, encode_line
from labbench.protocols.parser import TelemetryParser
from labbench.protocols.profile import parse_profile


def _stream(device: str, samples: int) -> bytes:
    sim = RigSimulation(RigParams.from_device(device))
    out = bytearray()
    for i in range(samples):
        if i == samples // 2:
            sim.command("PWR OFF")
        out += b"".join(encode_line(line) for line in sim.next_lines())
    return bytes(out)


def _parse(data: bytes, profile=None):
    parser = TelemetryParser(profile)
    for i, start in enumerate(range(0, len(data), 997)):  # reads that cut lines anywhere
        parser.feed(data[start : start + 997], (i + 1) * 1_000_000, i * 1_000_000)
    return parser, parser.take()


def test_teleplot_full_mode():
    parser, batch = _parse(_stream("mock://nominal?format=teleplot-full&rate=1000", 40))
    assert sorted(batch.samples) == sorted(
        [
            "seq",
            "vdd_core",
            "vdd_hbm",
            "vdd_io",
            "idd_core",
            "iv_core.x",
            "iv_core.y",
            "fan_rpm",
            "temp_die",
            "temp_hbm",
        ]
    )
    assert batch.malformed == 0 and parser.device_time_resets == 0
    assert batch.samples["seq"][1].tolist() == list(range(40))
    # device times: 1 ms apart exactly, on the channel's own anchor
    assert np.diff(batch.samples["vdd_core"][0]).tolist() == [1_000_000] * 39
    assert batch.samples["temp_die"][1].size == 40  # 10 multi-point lines of 4
    assert batch.samples["iv_core.x"][1].tolist() == batch.samples["vdd_core"][1].tolist()
    assert parser.channel_units == {
        "vdd_core": "V",
        "vdd_hbm": "V",
        "vdd_io": "V",
        "idd_core": "A",
        "fan_rpm": "rpm",
        "temp_die": "°C",
        "temp_hbm": "°C",
    }
    assert [c.text for c in batch.console if c.kind == "text"] == ["state=ON", "state=OFF"]
    assert [n.kind for n in batch.notes] == ["plot_clear"]


def test_json_nested_mode():
    _, batch = _parse(_stream("mock://nominal?format=json-nested&rate=1000", 20))
    assert sorted(batch.samples) == sorted(
        [
            "seq",
            "rails.vdd_core",
            "rails.vdd_hbm",
            "rails.vdd_io",
            "load.idd_core",
            "load.idd_hbm",
            "thermal.temp_die",
            "thermal.temp_hbm",
            "thermal.temp_inlet",
            "thermal.fan_rpm",
            "clk_core_mhz",
            "powered",
        ]
    )
    assert batch.samples["powered"][1].tolist() == [1.0] * 10 + [0.0] * 10
    assert [c.text for c in batch.console if c.kind == "text"] == ["state=ON", "state=OFF"]
    assert batch.malformed == 0


def test_key_value_with_the_rigs_clock():
    profile = parse_profile('[line]\ndevice_time = "t_ms"\ndevice_time_unit = "ms"\n')
    _, batch = _parse(_stream("mock://nominal?rate=20000&device_time=ms", 50), profile)
    t, _ = batch.samples["vdd_core"]
    assert "t_ms" not in batch.samples
    assert np.diff(t).tolist() == [50_000] * 49


@pytest.mark.parametrize(
    "device",
    [
        "mock://nominal?format=teleplot-ful",
        "mock://nominal?device_time=s",
        "mock://nominal?rail_tau=-1",
    ],
)
def test_bad_mode_parameters_are_refused(device):
    with pytest.raises(ScenarioError):
        RigParams.from_device(device)
