"""Simulated sleds: slots=N chips reported as name[slot], each chip its own seeded spread, and
faults aimed at one slot, in every line format the simulator writes."""

from __future__ import annotations

import numpy as np
import pytest

from labbench.devices.simulation import (
    LINE_FORMATS,
    RigParams,
    RigSimulation,
    ScenarioError,
    channels_sent,
    encode_line,
)
from labbench.devices.sled import MAX_SLOTS, PER_SLOT_CHANNELS, ChipSpread
from labbench.protocols.parser import TelemetryParser
from labbench.protocols.profile import parse_profile

RATE = 100.0
# Power is on from the first line; rail-droop droops from 3.0 s to 3.3 s, overtemp's failure
# starts at 2 s.  600 readings at 100 Hz cover both.
READINGS = 600
DROOP = slice(int(3.12 * RATE), int(3.28 * RATE))  # after the rail has fallen (tau 50 ms)
SETTLED = slice(int(1.0 * RATE), int(2.9 * RATE))


def _stream(device: str, readings: int = READINGS) -> bytes:
    sim = RigSimulation(RigParams.from_device(device))
    return b"".join(encode_line(line) for _ in range(readings) for line in sim.next_lines())


def _parse(data: bytes, profile_text: str = "") -> tuple[TelemetryParser, dict[str, np.ndarray]]:
    parser = TelemetryParser(parse_profile(profile_text) if profile_text else None)
    for i, start in enumerate(range(0, len(data), 4093)):  # reads that cut lines anywhere
        parser.feed(data[start : start + 4093], (i + 1) * 1_000_000, i * 1_000_000)
    batch = parser.take()
    return parser, {name: v for name, (_, v) in batch.samples.items()}


def _per_slot(name: str, slots: int) -> list[str]:
    return [f"{name}[{k}]" for k in range(slots)]


def test_a_sled_reports_every_chip_under_its_slot():
    parser, values = _parse(_stream("mock://nominal?slots=4&rate=100"))
    expected = {"seq", "temp_inlet", "fan_rpm"} | {
        f"{name}[{k}]" for name in PER_SLOT_CHANNELS for k in range(4)
    }
    assert set(values) == expected and parser.malformed == 0
    assert set(channels_sent(RigParams.from_device("mock://nominal?slots=4"))) == expected
    assert values["seq"].tolist() == list(range(READINGS))
    for name in expected - {"seq"}:
        assert values[name].size == READINGS, name


def test_each_chip_has_its_own_seeded_spread_and_the_same_seed_gives_the_same_sled():
    device = "mock://nominal?slots=4&rate=100&seed=7"
    assert _stream(device) == _stream(device)
    assert _stream(device) != _stream("mock://nominal?slots=4&rate=100&seed=8")
    _, values = _parse(_stream(device))
    means = [float(values[f"vdd_core[{k}]"][SETTLED].mean()) for k in range(4)]
    for k, mean in enumerate(means):
        trim = ChipSpread.seeded(7, k).rail_v["vdd_core"]
        assert mean == pytest.approx(0.75 + trim, abs=0.0005), f"slot {k}"
        assert 0.745 < mean < 0.755  # inside the example plans' tightest limit
    assert len({round(m, 4) for m in means}) == 4, "four chips, four trims"
    temps = [float(values[f"temp_die[{k}]"][-50:].mean()) for k in range(4)]
    assert max(temps) - min(temps) > 0.5, "chips sit at their own temperatures"
    # Chip 2 of seed 7 is the same chip in a sled of 4 and of 8.
    assert ChipSpread.seeded(7, 2) == ChipSpread.seeded(7, 2)
    _, eight = _parse(_stream("mock://nominal?slots=8&rate=100&seed=7", 200))
    assert float(eight["vdd_core[2]"][100:].mean()) == pytest.approx(
        0.75 + ChipSpread.seeded(7, 2).rail_v["vdd_core"], abs=0.0005
    )


def test_a_droop_aimed_at_slot_2_moves_only_slot_2():
    _, nominal = _parse(_stream("mock://nominal?slots=4&rate=100&seed=3"))
    _, droop = _parse(_stream("mock://rail-droop?slots=4&slot=2&rate=100&seed=3"))
    assert float(droop["vdd_core[2]"][DROOP].max()) < 0.70
    assert float(nominal["vdd_core[2]"][DROOP].min()) > 0.74
    for k in (0, 1, 3):
        for name in PER_SLOT_CHANNELS:
            channel = f"{name}[{k}]"
            np.testing.assert_array_equal(droop[channel], nominal[channel], err_msg=channel)
    # Without slot=, the fault hits every chip.
    _, all_chips = _parse(_stream("mock://rail-droop?slots=4&rate=100&seed=3"))
    assert all(float(all_chips[f"vdd_core[{k}]"][DROOP].max()) < 0.70 for k in range(4))


def test_overtemp_and_noise_aimed_at_one_chip():
    _, hot = _parse(_stream("mock://overtemp?slots=4&slot=1&rate=100", 1000))
    assert float(hot["temp_die[1]"][-20:].mean()) > 80.0
    assert all(float(hot[f"temp_die[{k}]"][-20:].mean()) < 70.0 for k in (0, 2, 3))
    assert float(hot["fan_rpm"][-20:].min()) > 5000.0, "the sled's fan runs flat out"
    _, noisy = _parse(_stream("mock://noisy?slots=4&slot=3&rate=100"))
    spread = [float(noisy[f"vdd_core[{k}]"][SETTLED].std()) for k in range(4)]
    assert spread[3] > 0.01 and max(spread[:3]) < 0.002


@pytest.mark.parametrize("fmt", LINE_FORMATS)
def test_slots_and_an_aimed_fault_in_every_format(fmt):
    parser, values = _parse(_stream(f"mock://rail-droop?slots=12&slot=2&rate=100&format={fmt}"))
    assert parser.malformed == 0
    core = "rails.vdd_core" if fmt == "json-nested" else "vdd_core"
    for k in range(12):
        channel = f"{core}[{k}]"
        if k == 2:
            assert float(values[channel][DROOP].max()) < 0.70, channel
        else:
            assert float(values[channel][DROOP].min()) > 0.73, channel
    temp = "thermal.temp_die" if fmt == "json-nested" else "temp_die"
    assert set(_per_slot(temp, 12)) <= set(values)


@pytest.mark.parametrize("fmt", ["kv", "plotter", "json", "json-nested", "teleplot-full"])
def test_64_chips_stay_below_the_line_cap(fmt):
    data = _stream(f"mock://nominal?slots={MAX_SLOTS}&rate=100&format={fmt}", 8)
    assert max(len(line) for line in data.replace(b"\r\n", b"\n").split(b"\n")) < 3500
    parser, values = _parse(data, "[line]\nmax_channels = 1024\n")
    assert parser.malformed == 0 and parser.dropped_samples == 0
    core = "rails.vdd_core" if fmt == "json-nested" else "vdd_core"
    assert set(_per_slot(core, MAX_SLOTS)) <= set(values)


def test_only_the_named_rails_of_every_chip():
    _, values = _parse(_stream("mock://rail-droop?slots=3&slot=0&channels=vdd_core&rate=100"))
    assert set(values) == {"seq", "vdd_core[0]", "vdd_core[1]", "vdd_core[2]"}
    assert float(values["vdd_core[0]"][DROOP].max()) < 0.70
    assert float(values["vdd_core[1]"][DROOP].min()) > 0.73


def test_the_rig_clock_is_on_every_line_of_a_reading():
    profile = '[line]\ndevice_time = "t_ms"\ndevice_time_unit = "ms"\n'
    sim = RigSimulation(RigParams.from_device("mock://nominal?slots=12&rate=1000&device_time=ms"))
    data = b"".join(encode_line(line) for _ in range(20) for line in sim.next_lines())
    parser = TelemetryParser(parse_profile(profile))
    parser.feed(data, 5_000_000_000, 0)
    batch = parser.take()
    t_first, _ = batch.samples["vdd_core[0]"]
    t_later, _ = batch.samples["vdd_core[11]"]  # on the reading's second line
    assert np.diff(t_first).tolist() == [1_000_000] * 19
    np.testing.assert_array_equal(t_first, t_later)


def test_bist_and_status_speak_for_the_whole_sled():
    sim = RigSimulation(RigParams.from_device("mock://rail-droop?slots=4&slot=2&rate=100"))
    for _ in range(int(1.0 * RATE)):
        sim.next_lines()
    assert sim.command("BIST") == ["RESULT bist PASS"]
    while sim.t < 3.1:
        sim.next_lines()
    assert sim.command("BIST") == ["RESULT bist FAIL"], "chip 2 is drooping"
    assert sim.command("STATUS?")[0].startswith("STATUS PWR ON LOAD 0 DIE ")


@pytest.mark.parametrize(
    "device, words",
    [
        ("mock://nominal?slots=0", "slots=0 in 'mock://nominal?slots=0' must be between 1 and 64"),
        ("mock://nominal?slots=65", "slots=65 in 'mock://nominal?slots=65' must be between 1"),
        ("mock://nominal?slots=abc", "slots='abc' in 'mock://nominal?slots=abc' is not a whole"),
        (
            "mock://rail-droop?slots=4&slot=9",
            "slot=9 in 'mock://rail-droop?slots=4&slot=9' is not a slot of a 4-chip sled (0 to 3)",
        ),
        (
            "mock://rail-droop?slots=4&slot=-1",
            "slot=-1 in 'mock://rail-droop?slots=4&slot=-1' is not a slot of a 4-chip sled",
        ),
        ("mock://rail-droop?slot=2", "slot=2 in 'mock://rail-droop?slot=2' aims a fault at one"),
        (
            "mock://nominal?slots=4&slot=1",
            "slot=1 in 'mock://nominal?slots=4&slot=1' aims a fault at one chip, but scenario "
            "nominal has none to aim",
        ),
        (
            "mock://nominal?slots=33&format=csv",
            "slots=33 in 'mock://nominal?slots=33&format=csv' is too many for format=csv",
        ),
    ],
)
def test_bad_sled_parameters_are_one_sentence_naming_url_and_key(device, words):
    with pytest.raises(ScenarioError) as info:
        RigParams.from_device(device)
    message = str(info.value)
    assert words in message and message.startswith("Mock rig parameter ")
    assert message.endswith(".") and message.count(". ") == 0 and "\n" not in message
