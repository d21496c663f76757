"""Simulated bring-up rigs: a sled or chip on a rig, as the rig's firmware reports it.

Rails ramp at power-on, currents follow load, temperatures lag with thermal time constants,
the fan follows the die temperature, and every telemetry line carries a monotonically
increasing ``seq``.  Commands: ``PWR ON``, ``PWR OFF``, ``LOAD <percent>``, ``STATUS?`` and
``VSET <mV>`` (the core rail steps to that level), ``FSET <MHz>`` (the core clock) and ``BIST``
(answers ``RESULT bist PASS`` while the rails are up and every chip passes its self test at the
set voltage and clock: :mod:`labbench.devices.chip_model`, Vmin rising with frequency, a seeded
spread per chip and an occasional hole; ``hole_rate=0`` for none).

Deterministic: the same seed, rate and commands at the same line numbers give the same bytes.
Simulation time is ``seq / rate``; transports pace lines against the wall clock.

Scenarios and their signatures:

=============  ===========================================================================
nominal        everything inside the example plans' limits
rail-droop     vdd_core droops to ``droop_v`` (0.68 V) for ``droop_s`` (0.3 s) at ``droop_at``
               (3 s after power-on), again every ``droop_every`` s if set
overtemp       the fan fails at ``fail_at`` (2 s after power-on): fan_rpm 0, temp_die climbs
               towards 110 °C
noisy          rails with ``noise_v`` (15 mV) noise and occasional 60 mV spikes
disconnect     the link drops at ``at`` (3 s) for ``gap`` (2 s); lines of the gap are lost
garbage        hostile lines between the telemetry: random bytes, bad UTF-8, broken
               numbers, NaN/inf, a line far beyond the line cap, many channel names
slow-rail      vdd_core rises in ``slow_ms`` (20 ms) instead of ``rise_ms`` at power-on
=============  ===========================================================================

Power-on (``PWR ON``, or the first line with ``power=on``): the rails come up in the order
vdd_io, vdd_hbm, vdd_core, each ramping linearly to its level and starting ``delay_ms``
(10 ms) after the one before, its 10 % → 90 % rise taking ``rise_ms`` (5 ms), so that
sequencing plans have a known truth to judge (:meth:`RigSimulation.ramp_window`).

Line formats (``format=``): ``kv`` (default; ``device_time=ms`` adds the rig's clock as
``t_ms=``), ``plotter``, ``teleplot``, ``json``, ``csv``, and two that use each tool's full
definition: ``teleplot-full`` (device times, units, ``|np``, an ``|xy`` point ``iv_core``,
``|t`` power states, temperatures as multi-point lines, a ``|clr`` at the start) and
``json-nested`` (``rails.vdd_core``, ``load.idd_core``, ``thermal.temp_die``, …, the
boolean ``powered`` and the text ``state`` when it changes).  ``rail_tau=0`` makes rail
steps (a droop) and the power-on instantaneous; ``channels=vdd_core`` reports only the rails
named (cheap enough for the top rate on a busy machine).

Sleds (``slots=N``, 1 to 64): N chips, each reporting its rails, currents, temperatures and
clock as ``name[slot]`` with its own seeded spread (:mod:`labbench.devices.sled`); the inlet
temperature and the fan belong to the sled.  ``slot=K`` aims the scenario's fault at chip K
alone: ``mock://rail-droop?slots=4&slot=2`` droops only ``vdd_core[2]``, ``overtemp`` heats
only chip K (its thermal contact fails; the sled's fan keeps spinning), ``noisy`` makes only
its rails noisy.  A sled's readings go out in lines of 16 chips (8 in JSON); more than 31 chips of
eight channels need a profile with a larger ``max_channels`` than the default 256.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from urllib.parse import parse_qsl, urlsplit

import numpy as np

from labbench.devices.chip_model import (
    HOLE_RATE,
    NOMINAL_FREQ_MHZ,
    NOMINAL_VDD_MV,
    bist_passes,
)
from labbench.devices.rig_lines import LINE_FORMATS, RigLines
from labbench.devices.sled import CSV_MAX_SLOTS, MAX_SLOTS, Chip, chips_of, sled_channels

SCENARIOS = ("nominal", "rail-droop", "overtemp", "noisy", "disconnect", "garbage", "slow-rail")
DEVICE_TIME_UNITS = ("", "ms")
MAX_RATE_HZ = 20_000.0

RAIL_NOMINAL = {"vdd_core": 0.75, "vdd_hbm": 1.1, "vdd_io": 1.8}
RAIL_TAU_S = 0.05
# Power-on sequence: each rail ramps linearly from where it was to its level, starting
# delay_ms after the one before it; its 10 % → 90 % rise takes rise_ms (the ramp 1.25 times
# that).  A real board's sequencer brings up I/O first and the core last.
POWER_SEQUENCE = ("vdd_io", "vdd_hbm", "vdd_core")
RISE_MS = 5.0
DELAY_MS = 10.0
SLOW_MS = 20.0
THERMAL_TAU_S = 3.0
CHANNELS = (
    "vdd_core", "vdd_hbm", "vdd_io", "idd_core", "idd_hbm",
    "temp_die", "temp_hbm", "temp_inlet", "fan_rpm", "clk_core_mhz",
)  # fmt: skip


class ScenarioError(ValueError):
    """A bad mock:// device string; the message names the parameter."""


@dataclass
class RigParams:
    scenario: str = "nominal"
    rate: float = 100.0
    seed: int = 0
    power: str = "on"  # on: powered from the first line (the ramp is visible at the start)
    load: float = 0.0
    format: str = "kv"
    droop_at: float = 3.0
    droop_s: float = 0.3
    droop_v: float = 0.68
    droop_every: float = 0.0
    fail_at: float = 2.0
    noise_v: float = 0.015
    at: float = 3.0
    gap: float = 2.0
    garbage_every: int = 7
    device_time: str = ""  # "ms": key=value lines carry the rig's clock as t_ms=
    rail_tau: float = RAIL_TAU_S  # rails settle with this time constant (0: at once)
    rise_ms: float = RISE_MS  # each rail's 10 % → 90 % rise at power-on
    delay_ms: float = DELAY_MS  # from one rail's ramp start to the next one's
    slow_ms: float = SLOW_MS  # slow-rail: vdd_core's rise instead of rise_ms
    channels: str = ""  # only these rails ("vdd_core vdd_io"; empty: every channel)
    slots: int = 0  # a sled of this many chips (0: a rig with one chip, unnamed channels)
    slot: int = -1  # the chip the scenario's fault is aimed at (-1: every chip)
    hole_rate: float = HOLE_RATE  # how often a point above Vmin fails BIST anyway (0 … 1)

    @classmethod
    def from_device(cls, device: str) -> RigParams:
        """Parse ``mock://SCENARIO?param=value&...`` (or just ``SCENARIO?...``)."""
        text = device[len("mock://") :] if device.startswith("mock://") else device
        parts = urlsplit("mock://" + text)
        scenario = (parts.netloc + parts.path).strip("/") or "nominal"
        params = cls(scenario=scenario)
        if scenario not in SCENARIOS:
            raise ScenarioError(
                f"Unknown mock rig scenario {scenario!r} in {device!r} "
                f"(known: {', '.join(SCENARIOS)})."
            )
        types = {f.name: f.type for f in fields(cls)}
        given = set()
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key not in types or key == "scenario":
                raise ScenarioError(f"Unknown mock rig parameter {key!r} in {device!r}.")
            given.add(key)
            try:
                converted = {"float": float, "int": int, "str": str}[types[key]](value)
            except ValueError:
                kind = {"float": "a number", "int": "a whole number"}.get(types[key], "text")
                raise ScenarioError(
                    f"Mock rig parameter {key}={value!r} in {device!r} is not {kind}."
                ) from None
            if isinstance(converted, float) and not math.isfinite(converted):
                raise ScenarioError(
                    f"Mock rig parameter {key}={value!r} in {device!r} must be finite."
                )
            setattr(params, key, converted)
        if not 0.1 <= params.rate <= MAX_RATE_HZ:
            raise ScenarioError(
                f"Mock rig rate {params.rate} Hz in {device!r} must be between 0.1 and "
                f"{MAX_RATE_HZ:.0f}."
            )
        if params.power not in ("on", "off"):
            raise ScenarioError(
                f"Mock rig parameter power must be on or off, not {params.power!r}."
            )
        if params.format not in LINE_FORMATS:
            raise ScenarioError(
                f"Mock rig format {params.format!r} is not one of {', '.join(LINE_FORMATS)}."
            )
        if params.device_time not in DEVICE_TIME_UNITS:
            raise ScenarioError(
                f"Mock rig parameter device_time must be empty or ms, not {params.device_time!r}."
            )
        unknown = set(params.channels.split()) - set(RAIL_NOMINAL)
        if unknown:
            raise ScenarioError(
                f"Mock rig parameter channels may list rails only ({', '.join(RAIL_NOMINAL)}), "
                f"not {', '.join(sorted(unknown))}."
            )
        if params.channels and params.format in ("teleplot-full", "json-nested"):
            raise ScenarioError(
                f"Mock rig format {params.format} reports every channel; "
                f"drop channels={params.channels!r}."
            )
        for key in ("rise_ms", "slow_ms"):
            if getattr(params, key) <= 0:
                raise ScenarioError(
                    f"Mock rig parameter {key} must be positive, not {getattr(params, key)}."
                )
        if params.delay_ms < 0:
            raise ScenarioError(
                f"Mock rig parameter delay_ms must not be negative, not {params.delay_ms}."
            )
        if not 0 <= params.hole_rate <= 1:
            raise ScenarioError(
                f"Mock rig parameter hole_rate must lie in 0 … 1, not {params.hole_rate}."
            )
        if params.rail_tau < 0:
            raise ScenarioError(
                f"Mock rig parameter rail_tau must not be negative, not {params.rail_tau}."
            )
        params._check_slots(device, given)
        return params

    def _check_slots(self, device: str, given: set[str]) -> None:
        if "slots" in given and not 1 <= self.slots <= MAX_SLOTS:
            raise ScenarioError(
                f"Mock rig parameter slots={self.slots} in {device!r} must be between 1 and "
                f"{MAX_SLOTS} (the chips of the sled)."
            )
        if self.format == "csv" and self.slots > CSV_MAX_SLOTS:
            raise ScenarioError(
                f"Mock rig parameter slots={self.slots} in {device!r} is too many for "
                f"format=csv, whose rows cannot be split: at most {CSV_MAX_SLOTS}."
            )
        if "slot" not in given:
            return
        if not self.slots:
            raise ScenarioError(
                f"Mock rig parameter slot={self.slot} in {device!r} aims a fault at one chip "
                "of a sled; give the sled's size with slots=N too."
            )
        if not 0 <= self.slot < self.slots:
            raise ScenarioError(
                f"Mock rig parameter slot={self.slot} in {device!r} is not a slot of a "
                f"{self.slots}-chip sled (0 to {self.slots - 1})."
            )
        if self.scenario not in ("rail-droop", "overtemp", "noisy", "slow-rail"):
            raise ScenarioError(
                f"Mock rig parameter slot={self.slot} in {device!r} aims a fault at one chip, "
                f"but scenario {self.scenario} has none to aim (rail-droop, overtemp, noisy "
                "and slow-rail have)."
            )


@dataclass
class _State:
    powered: bool
    load: float
    power_on_t: float | None
    vdd_mv: float = NOMINAL_VDD_MV  # the core rail's set level (VSET)
    freq_mhz: float = NOMINAL_FREQ_MHZ  # the core clock (FSET)


class RigSimulation:
    """Produces the rig's output line by line; ``command`` changes its state."""

    def __init__(self, params: RigParams):
        self.params = params
        self.seq = 0
        self._rng = np.random.default_rng(params.seed)
        self._noise = np.empty(0)
        self._noise_pos = 0
        powered = params.power == "on"
        self._state = _State(powered=powered, load=params.load, power_on_t=0.0 if powered else None)
        self._chips = chips_of(params.seed, params.slots)
        self._begin_ramps()
        self._only = params.channels.split()
        self._lines = RigLines(
            params.format, params.rate, params.slots, params.device_time, self._only
        )
        self._rail_alpha = (
            1.0 - math.exp(-1.0 / (params.rate * params.rail_tau)) if params.rail_tau > 0 else 1.0
        )
        self._thermal_alpha = 1.0 - math.exp(-1.0 / (params.rate * THERMAL_TAU_S))

    @property
    def t(self) -> float:
        return self.seq / self.params.rate

    def _n(self) -> float:
        if self._noise_pos >= self._noise.size:
            self._noise = self._rng.standard_normal(4096)
            self._noise_pos = 0
        value = self._noise[self._noise_pos]
        self._noise_pos += 1
        return float(value)

    def in_gap(self, t: float | None = None) -> bool:
        """Whether the link is down at simulation time t (disconnect scenario)."""
        p = self.params
        t = self.t if t is None else t
        return p.scenario == "disconnect" and p.at <= t < p.at + p.gap

    def command(self, line: str) -> list[str]:
        """Execute one command line; returns the rig's reply lines."""
        words = line.strip().upper().split()
        state = self._state
        if words == ["PWR", "ON"]:
            if not state.powered:
                state.powered, state.power_on_t = True, self.t
                self._begin_ramps()
            return ["OK PWR ON"]
        if words == ["PWR", "OFF"]:
            state.powered, state.power_on_t = False, None
            return ["OK PWR OFF"]
        if len(words) == 2 and words[0] == "LOAD":
            try:
                load = float(words[1].rstrip("%"))
            except ValueError:
                return [f"ERR bad load {words[1]!r}"]
            if not 0 <= load <= 100:
                return ["ERR load must be 0..100"]
            state.load = load
            return [f"OK LOAD {load:g}"]
        if len(words) == 2 and words[0] in ("VSET", "FSET"):
            return self._set(words[0], words[1])
        if words == ["BIST"]:
            # The rig's built-in self test: passes while every chip's core rail is up at its
            # set level and every chip passes at that voltage and clock.
            p = self.params
            set_v = state.vdd_mv / 1e3
            ok = state.powered and all(
                abs(chip.rails["vdd_core"] - set_v) < 0.03
                and bist_passes(p.seed, k, state.vdd_mv, state.freq_mhz, p.hole_rate)
                for k, chip in enumerate(self._chips)
            )
            return [f"RESULT bist {'PASS' if ok else 'FAIL'}"]
        if words == ["STATUS?"]:
            hottest = max(chip.temp_die for chip in self._chips)
            return [
                f"STATUS PWR {'ON' if state.powered else 'OFF'} LOAD {state.load:g} "
                f"DIE {hottest:.1f} C SEQ {self.seq}"
            ]
        return [f"ERR unknown command {line.strip()[:40]!r}"]

    def _set(self, what: str, text: str) -> list[str]:
        """``VSET <mV>``: the core rail steps to that level at once (its regulator is
        reprogrammed); ``FSET <MHz>``: the core clock."""
        try:
            value = float(text)
        except ValueError:
            return [f"ERR bad value {text!r}"]
        state = self._state
        if what == "VSET":
            if not 0 <= value <= 1500:
                return ["ERR VSET must be 0..1500 mV"]
            step = (value - state.vdd_mv) / 1e3
            state.vdd_mv = value
            if state.powered:
                for chip in self._chips:
                    chip.rails["vdd_core"] += step
        else:
            if not 0 < value <= 10_000:
                return ["ERR FSET must be 1..10000 MHz"]
            state.freq_mhz = value
        return [f"OK {what} {value:g}"]

    def _since_power_on(self) -> float | None:
        s = self._state
        return None if not s.powered or s.power_on_t is None else self.t - s.power_on_t

    def _faulty(self, slot: int) -> bool:
        """Whether the scenario's fault hits the chip in ``slot`` (every chip unless aimed)."""
        return self.params.slot < 0 or self.params.slot == slot

    def _begin_ramps(self) -> None:
        """Power on: every rail ramps from where it is now (0, or not yet discharged)."""
        self._ramp_from = [dict(chip.rails) for chip in self._chips]
        self._landed: list[set[str]] = [set() for _ in self._chips]

    def ramp_window(self, name: str, slot: int = 0) -> tuple[float, float]:
        """When rail ``name`` of the chip in ``slot`` ramps, in seconds after power-on:
        (start, end).  Its 10 % → 90 % rise is 0.8 of that (rise_ms, or slow_ms for a
        slow-rail chip's vdd_core)."""
        p = self.params
        rise_ms = p.rise_ms
        if name == "vdd_core" and p.scenario == "slow-rail" and self._faulty(slot):
            rise_ms = p.slow_ms
        start = POWER_SEQUENCE.index(name) * p.delay_ms / 1e3
        return start, start + rise_ms / 0.8 / 1e3

    def _ramp(self, chip: Chip, slot: int, on: float, name: str, target: float) -> bool:
        """Set a rail on its power-on ramp; False once it has landed (the filter takes over)."""
        if name in self._landed[slot] or self.params.rail_tau == 0:
            return False
        start, end = self.ramp_window(name, slot)
        if on >= end:  # lands exactly, whatever sample the ramp's end fell between
            chip.rails[name] = target
            self._landed[slot].add(name)
            return True
        v0 = self._ramp_from[slot][name]
        chip.rails[name] = v0 + (target - v0) * max(on - start, 0.0) / (end - start)
        return True

    def _settle_rails(self, chip: Chip, slot: int, on: float | None, names) -> None:
        p = self.params
        for name in names:
            level = self._state.vdd_mv / 1e3 if name == "vdd_core" else RAIL_NOMINAL[name]
            target = level + chip.spread.rail_v[name] if on is not None else 0.0
            if on is not None and self._ramp(chip, slot, on, name, target):
                continue
            if (
                name == "vdd_core"
                and on is not None
                and p.scenario == "rail-droop"
                and self._faulty(slot)
            ):
                since = on - p.droop_at
                if since >= 0 and (
                    since < p.droop_s or (p.droop_every > 0 and since % p.droop_every < p.droop_s)
                ):
                    target = p.droop_v
            chip.rails[name] += (target - chip.rails[name]) * self._rail_alpha

    def _rails(self) -> tuple[dict[str, float], list[dict[str, float]]]:
        """Only the rails a ``channels=`` rig reports: light enough for 20 k lines/s."""
        on = self._since_power_on()
        readings = []
        for k, chip in enumerate(self._chips):
            self._settle_rails(chip, k, on, self._only)
            readings.append({name: chip.rails[name] + 0.0008 * self._n() for name in self._only})
        return {}, readings

    def _values(self) -> tuple[dict[str, float], list[dict[str, float]]]:
        """One reading: the sled's own channels, and each chip's (one chip for a plain rig)."""
        p, s = self.params, self._state
        on = self._since_power_on()
        readings = []
        for k, chip in enumerate(self._chips):
            self._settle_rails(chip, k, on, RAIL_NOMINAL)
            noisy = p.scenario == "noisy" and self._faulty(k)
            noise_v = p.noise_v if noisy else 0.0008
            rails = {name: value + noise_v * self._n() for name, value in chip.rails.items()}
            if noisy and self._n() > 3.2:
                rails["vdd_core"] += 0.06
            level = chip.rails["vdd_core"] / RAIL_NOMINAL["vdd_core"]
            leakage = chip.spread.leakage
            idd_core = level * (5.0 + 0.35 * s.load) * leakage + 0.05 * self._n()
            idd_hbm = (chip.rails["vdd_hbm"] / RAIL_NOMINAL["vdd_hbm"]) * (
                1.5 + 0.04 * s.load
            ) * leakage + 0.02 * self._n()
            readings.append({**rails, "idd_core": idd_core, "idd_hbm": idd_hbm})
        inlet = 25.0 + 0.2 * self._n()
        fan_failed = p.scenario == "overtemp" and on is not None and on >= p.fail_at
        thermal_alpha = self._thermal_alpha
        for k, (chip, reading) in enumerate(zip(self._chips, readings, strict=True)):
            hot = fan_failed and self._faulty(k)  # aimed at one chip: its thermal contact
            level = chip.rails["vdd_core"] / RAIL_NOMINAL["vdd_core"]
            power = max(reading["vdd_core"] * reading["idd_core"], 0.0)
            die_target = 110.0 if hot else inlet + 15.0 * level + 1.2 * power + chip.spread.die_c
            hbm_target = (
                95.0 if hot else inlet + 10.0 * level + 2.0 * reading["idd_hbm"] + chip.spread.hbm_c
            )
            chip.temp_die += (die_target - chip.temp_die) * thermal_alpha
            chip.temp_hbm += (hbm_target - chip.temp_hbm) * thermal_alpha
        hottest = max(chip.temp_die for chip in self._chips)
        fan_stopped = fan_failed and p.slot < 0  # the sled's fan, unless one chip is aimed at
        fan = 0.0 if fan_stopped else min(max(2000.0 + 80.0 * (hottest - 40.0), 1500.0), 6000.0)
        clock = s.freq_mhz if on is not None and on > 0.1 else 0.0
        for chip, reading in zip(self._chips, readings, strict=True):
            reading["temp_die"] = chip.temp_die + 0.1 * self._n()
            reading["temp_hbm"] = chip.temp_hbm + 0.1 * self._n()
            reading["clk_core_mhz"] = clock
        sled = {"temp_inlet": inlet, "fan_rpm": fan + (20.0 * self._n() if fan else 0.0)}
        return sled, readings

    def next_lines(self) -> list[str]:
        """The output that belongs to the next seq: its telemetry line (a sled's may be
        several lines), maybe garbage first."""
        sled, chips = self._rails() if self._only else self._values()
        out = []
        if self.params.scenario == "garbage" and self.seq % self.params.garbage_every == 3:
            out.append(self._garbage())
        out.append(self._lines.reading(self.seq, sled, chips, self._state.powered))
        self.seq += 1
        return out

    def _garbage(self) -> str:
        kind = (self.seq // self.params.garbage_every) % 7
        if kind == 0:
            return "".join(chr(int(x)) for x in self._rng.integers(33, 127, 40))  # printable noise
        if kind == 1:
            return "vdd_core=0.7\udcff5,temp_die=4x.1"  # bad number (and a lone surrogate byte)
        if kind == 2:
            return "vdd_core=0.75,temp_d"  # truncated
        if kind == 3:
            return "probe_v=nan,probe_i=inf"  # NaN and inf are values, not errors
        if kind == 4:
            return "x" * 10_000  # beyond the 4096-byte line cap
        if kind == 5:
            return f"junk_{self.seq}=1"  # a new channel name each time
        return "\udcc3( bad utf-8 \udca0\udca1"  # bytes C3 28 and A0 A1: invalid UTF-8


def channels_sent(params: RigParams) -> list[str]:
    """The channels a simulated rig reports (as key=value names; ``seq`` first)."""
    rails = tuple(params.channels.split())
    if params.slots:
        return ["seq", *sled_channels(params.slots, rails)]
    return ["seq", *(rails or CHANNELS)]


def encode_line(text: str) -> bytes:
    """The bytes a rig sends for one output line (lone surrogates become raw bad bytes)."""
    return text.encode("utf-8", errors="surrogateescape") + b"\r\n"
