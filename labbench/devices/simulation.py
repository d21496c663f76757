"""Simulated bring-up rigs: a sled or chip on a rig, as the rig's firmware reports it.

Rails ramp at power-on, currents follow load, temperatures lag with thermal time constants,
the fan follows the die temperature, and every telemetry line carries a monotonically
increasing ``seq``.  Commands: ``PWR ON``, ``PWR OFF``, ``LOAD <percent>``, ``STATUS?`` and
``BIST`` (answers ``RESULT bist PASS`` while the rails are up).

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
=============  ===========================================================================

Line formats (``format=``): ``kv`` (default; ``device_time=ms`` adds the rig's clock as
``t_ms=``), ``plotter``, ``teleplot``, ``json``, ``csv``, and two that use each tool's full
definition: ``teleplot-full`` (device times, units, ``|np``, an ``|xy`` point ``iv_core``,
``|t`` power states, temperatures as multi-point lines, a ``|clr`` at the start) and
``json-nested`` (``rails.vdd_core``, ``load.idd_core``, ``thermal.temp_die``, …, the
boolean ``powered`` and the text ``state`` when it changes).  ``rail_tau=0`` makes rail
steps (a droop) instantaneous; ``channels=vdd_core`` reports only the rails named (cheap
enough for the top rate on a busy machine).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from urllib.parse import parse_qsl, urlsplit

import numpy as np

SCENARIOS = ("nominal", "rail-droop", "overtemp", "noisy", "disconnect", "garbage")
LINE_FORMATS = ("kv", "plotter", "teleplot", "json", "csv", "teleplot-full", "json-nested")
DEVICE_TIME_UNITS = ("", "ms")
# Teleplot-full batches the temperatures into one multi-point line per this many samples.
TELEPLOT_BATCH = 4
MAX_RATE_HZ = 20_000.0

RAIL_NOMINAL = {"vdd_core": 0.75, "vdd_hbm": 1.1, "vdd_io": 1.8}
RAIL_TAU_S = 0.05
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
    channels: str = ""  # only these rails ("vdd_core vdd_io"; empty: every channel)

    @classmethod
    def from_device(cls, device: str) -> RigParams:
        """Parse ``mock://SCENARIO?param=value&...`` (or just ``SCENARIO?...``)."""
        text = device[len("mock://") :] if device.startswith("mock://") else device
        parts = urlsplit("mock://" + text)
        scenario = (parts.netloc + parts.path).strip("/") or "nominal"
        params = cls(scenario=scenario)
        if scenario not in SCENARIOS:
            raise ScenarioError(
                f"Unknown mock rig scenario {scenario!r} in {device!r} (known: {', '.join(SCENARIOS)})."
            )
        types = {f.name: f.type for f in fields(cls)}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key not in types or key == "scenario":
                raise ScenarioError(f"Unknown mock rig parameter {key!r} in {device!r}.")
            try:
                converted = {"float": float, "int": int, "str": str}[types[key]](value)
            except ValueError:
                raise ScenarioError(
                    f"Mock rig parameter {key}={value!r} in {device!r} is not a {types[key]}."
                ) from None
            if isinstance(converted, float) and not math.isfinite(converted):
                raise ScenarioError(
                    f"Mock rig parameter {key}={value!r} in {device!r} must be finite."
                )
            setattr(params, key, converted)
        if not 0.1 <= params.rate <= MAX_RATE_HZ:
            raise ScenarioError(
                f"Mock rig rate {params.rate} Hz in {device!r} must be between 0.1 and {MAX_RATE_HZ:.0f}."
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
                f"Mock rig parameter channels may list rails only ({', '.join(RAIL_NOMINAL)}), not {', '.join(sorted(unknown))}."
            )
        if params.channels and params.format in ("teleplot-full", "json-nested"):
            raise ScenarioError(
                f"Mock rig format {params.format} reports every channel; drop channels={params.channels!r}."
            )
        if params.rail_tau < 0:
            raise ScenarioError(
                f"Mock rig parameter rail_tau must not be negative, not {params.rail_tau}."
            )
        return params


@dataclass
class _State:
    powered: bool
    load: float
    power_on_t: float | None
    rails: dict = field(default_factory=lambda: dict.fromkeys(RAIL_NOMINAL, 0.0))
    temp_die: float = 25.0
    temp_hbm: float = 25.0


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
        self._header_sent = False
        self._reported_state: str | None = None
        self._only = params.channels.split()
        self._rail_alpha = (
            1.0 - math.exp(-1.0 / (params.rate * params.rail_tau)) if params.rail_tau > 0 else 1.0
        )
        self._thermal_alpha = 1.0 - math.exp(-1.0 / (params.rate * THERMAL_TAU_S))
        self._temps: list[
            tuple[str, dict[str, float]]
        ] = []  # teleplot-full: (ms, temps) not yet sent

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
        if words == ["BIST"]:
            # The rig's built-in self test: passes while the rails are up.
            ok = state.powered and abs(state.rails["vdd_core"] - RAIL_NOMINAL["vdd_core"]) < 0.03
            return [f"RESULT bist {'PASS' if ok else 'FAIL'}"]
        if words == ["STATUS?"]:
            return [
                f"STATUS PWR {'ON' if state.powered else 'OFF'} LOAD {state.load:g} "
                f"DIE {state.temp_die:.1f} C SEQ {self.seq}"
            ]
        return [f"ERR unknown command {line.strip()[:40]!r}"]

    def _since_power_on(self) -> float | None:
        s = self._state
        return None if not s.powered or s.power_on_t is None else self.t - s.power_on_t

    def _rails(self) -> dict[str, float]:
        """Only the rails a ``channels=`` rig reports: light enough for 20 k lines/s."""
        p, s = self.params, self._state
        on = self._since_power_on()
        for name in self._only:
            target = RAIL_NOMINAL[name] if on is not None else 0.0
            if name == "vdd_core" and on is not None and p.scenario == "rail-droop":
                since = on - p.droop_at
                if since >= 0 and (
                    since < p.droop_s or (p.droop_every > 0 and since % p.droop_every < p.droop_s)
                ):
                    target = p.droop_v
            s.rails[name] += (target - s.rails[name]) * self._rail_alpha
        return {name: s.rails[name] + 0.0008 * self._n() for name in self._only}

    def _values(self) -> dict[str, float]:
        p, s = self.params, self._state
        on = self._since_power_on()
        rail_alpha = self._rail_alpha
        for name, nominal in RAIL_NOMINAL.items():
            target = nominal if on is not None else 0.0
            if name == "vdd_core" and on is not None and p.scenario == "rail-droop":
                since = on - p.droop_at
                if since >= 0 and (
                    since < p.droop_s or (p.droop_every > 0 and since % p.droop_every < p.droop_s)
                ):
                    target = p.droop_v
            s.rails[name] += (target - s.rails[name]) * rail_alpha
        noise_v = p.noise_v if p.scenario == "noisy" else 0.0008
        rails = {name: value + noise_v * self._n() for name, value in s.rails.items()}
        if p.scenario == "noisy" and self._n() > 3.2:
            rails["vdd_core"] += 0.06
        level = s.rails["vdd_core"] / RAIL_NOMINAL["vdd_core"]
        idd_core = level * (5.0 + 0.35 * s.load) + 0.05 * self._n()
        idd_hbm = (s.rails["vdd_hbm"] / RAIL_NOMINAL["vdd_hbm"]) * (
            1.5 + 0.04 * s.load
        ) + 0.02 * self._n()
        inlet = 25.0 + 0.2 * self._n()
        fan_failed = p.scenario == "overtemp" and on is not None and on >= p.fail_at
        power = max(rails["vdd_core"] * idd_core, 0.0)
        die_target = 110.0 if fan_failed else inlet + 15.0 * level + 1.2 * power
        hbm_target = 95.0 if fan_failed else inlet + 10.0 * level + 2.0 * idd_hbm
        thermal_alpha = self._thermal_alpha
        s.temp_die += (die_target - s.temp_die) * thermal_alpha
        s.temp_hbm += (hbm_target - s.temp_hbm) * thermal_alpha
        fan = 0.0 if fan_failed else min(max(2000.0 + 80.0 * (s.temp_die - 40.0), 1500.0), 6000.0)
        return {
            "vdd_core": rails["vdd_core"],
            "vdd_hbm": rails["vdd_hbm"],
            "vdd_io": rails["vdd_io"],
            "idd_core": idd_core,
            "idd_hbm": idd_hbm,
            "temp_die": s.temp_die + 0.1 * self._n(),
            "temp_hbm": s.temp_hbm + 0.1 * self._n(),
            "temp_inlet": inlet,
            "fan_rpm": fan + (20.0 * self._n() if fan else 0.0),
            "clk_core_mhz": 1500.0 if on is not None and on > 0.1 else 0.0,
        }

    def values_line(self, values: dict[str, float]) -> str:
        fmt, seq = self.params.format, self.seq
        if fmt in ("json", "json-nested"):
            numbers = {name: float(f"{v:.6g}") for name, v in values.items()}
        if fmt == "kv":
            clock = (
                f"t_ms={seq * 1000 / self.params.rate:.6f},"
                if self.params.device_time == "ms"
                else ""
            )
            return f"{clock}seq={seq}," + ",".join(f"{k}={v:.6g}" for k, v in values.items())
        if fmt == "plotter":
            return f"seq:{seq} " + " ".join(f"{k}:{v:.6g}" for k, v in values.items())
        if fmt == "json":
            return json.dumps({"seq": seq, **numbers})
        if fmt == "json-nested":
            return self._json_nested(numbers)
        if fmt == "teleplot":
            return "\n".join([f">seq:{seq}"] + [f">{k}:{v:.6g}" for k, v in values.items()])
        if fmt == "teleplot-full":
            return self._teleplot_full(values)
        # csv: the header once, then rows
        row = ",".join([str(seq)] + [f"{v:.6g}" for v in values.values()])
        if not self._header_sent:
            self._header_sent = True
            return "seq," + ",".join(values) + "\n" + row
        return row

    def _state_change(self) -> str | None:
        """The rig's power state when it differs from the last one reported."""
        state = "ON" if self._state.powered else "OFF"
        if state == self._reported_state:
            return None
        self._reported_state = state
        return state

    def _json_nested(self, n: dict[str, float]) -> str:
        record = {
            "seq": self.seq,
            "rails": {"vdd_core": n["vdd_core"], "vdd_hbm": n["vdd_hbm"], "vdd_io": n["vdd_io"]},
            "load": {"idd_core": n["idd_core"], "idd_hbm": n["idd_hbm"]},
            "thermal": {
                "temp_die": n["temp_die"],
                "temp_hbm": n["temp_hbm"],
                "temp_inlet": n["temp_inlet"],
                "fan_rpm": n["fan_rpm"],
            },
            "clk_core_mhz": n["clk_core_mhz"],
            "powered": self._state.powered,
        }
        state = self._state_change()
        if state is not None:
            record["state"] = state
        return json.dumps(record)

    def _teleplot_full(self, v: dict[str, float]) -> str:
        """Every Teleplot construct: device times in ms, units, flags, an x-y point, text
        states, multi-point lines (the temperatures, in batches) and a plot clear."""
        ms = f"{self.seq * 1000 / self.params.rate:.3f}"
        lines = [">iv_core:|clr"] if self.seq == 0 else []
        state = self._state_change()
        if state is not None:
            lines.append(f">state:{ms}:{state}|t")
        lines += [
            f">seq:{ms}:{self.seq}|np",
            f">vdd_core:{ms}:{v['vdd_core']:.6g}§V",
            f">vdd_hbm:{ms}:{v['vdd_hbm']:.6g}§V",
            f">vdd_io:{ms}:{v['vdd_io']:.6g}§V",
            f">idd_core:{ms}:{v['idd_core']:.6g}§A",
            f">iv_core:{v['vdd_core']:.6g}:{v['idd_core']:.6g}|xy",
            f">fan_rpm:{v['fan_rpm']:.6g}§rpm",
        ]
        self._temps.append((ms, {k: v[k] for k in ("temp_die", "temp_hbm")}))
        if len(self._temps) == TELEPLOT_BATCH:
            for name in ("temp_die", "temp_hbm"):
                points = ";".join(f"{t}:{temps[name]:.6g}" for t, temps in self._temps)
                lines.append(f">{name}:{points}§°C")
            self._temps = []
        return "\n".join(lines)

    def next_lines(self) -> list[str]:
        """The output that belongs to the next seq: its telemetry line, maybe garbage first."""
        values = self._rails() if self._only else self._values()
        out = []
        if self.params.scenario == "garbage" and self.seq % self.params.garbage_every == 3:
            out.append(self._garbage())
        out.append(self.values_line(values))
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


def encode_line(text: str) -> bytes:
    """The bytes a rig sends for one output line (lone surrogates become raw bad bytes)."""
    return text.encode("utf-8", errors="surrogateescape") + b"\r\n"
