"""How a simulated rig's firmware writes one reading in each line format.

A reading is the rig's own channels (``seq``, and a sled's inlet temperature and fan) and each
chip's.  A rig that is not a sled has one chip whose channels carry no slot; a sled's chips
are named ``name[slot]`` and go out in lines of a few chips (``slots_per_line``), except in
CSV, whose one row per reading cannot be split.
"""

from __future__ import annotations

import json

from labbench.devices.sled import line_groups, slot_channel, slots_per_line

LINE_FORMATS = ("kv", "plotter", "teleplot", "json", "csv", "teleplot-full", "json-nested")
# Teleplot-full batches the temperatures into one multi-point line per this many samples.
TELEPLOT_BATCH = 4
# The channel order of a rig that is not a sled (its lines as they always were).
PLAIN_ORDER = (
    "vdd_core", "vdd_hbm", "vdd_io", "idd_core", "idd_hbm",
    "temp_die", "temp_hbm", "temp_inlet", "fan_rpm", "clk_core_mhz",
)  # fmt: skip
_UNITS = {"vdd_core": "V", "vdd_hbm": "V", "vdd_io": "V", "idd_core": "A"}


class RigLines:
    """The rig's line writer: remembers what it has told the host (the CSV header, the
    power state, the temperatures still to batch in Teleplot-full)."""

    def __init__(
        self, fmt: str, rate: float, slots: int, device_time: str = "", only: list[str] = ()
    ):
        self.format, self.rate, self.slots = fmt, rate, slots
        self.device_time = device_time
        self._order = list(only) or PLAIN_ORDER
        self._header_sent = False
        self._reported_state: str | None = None
        self._temps: list[tuple[str, list[dict[str, float]]]] = []  # (ms, per chip) not yet sent

    def reading(
        self, seq: int, sled: dict[str, float], chips: list[dict[str, float]], powered: bool
    ) -> str:
        """The line(s) of one reading, joined by newlines."""
        fmt = self.format
        if fmt == "json-nested":
            return self._json_nested(seq, sled, chips, powered)
        if fmt == "teleplot-full":
            return self._teleplot_full(seq, sled, chips, powered)
        if self.slots:
            groups = line_groups(sled, chips, slots_per_line(fmt))
        else:
            merged = {**chips[0], **sled}
            groups = [{name: merged[name] for name in self._order}]
        if fmt == "csv":
            row = {name: v for group in groups for name, v in group.items()}
            text = ",".join([str(seq)] + [f"{v:.6g}" for v in row.values()])
            if not self._header_sent:
                self._header_sent = True
                return "seq," + ",".join(row) + "\n" + text
            return text
        return "\n".join(self._line(fmt, seq, group, i == 0) for i, group in enumerate(groups))

    def _line(self, fmt: str, seq: int, values: dict[str, float], first: bool) -> str:
        if fmt == "kv":  # every line of a reading carries the rig's clock, the first its seq
            head = [f"t_ms={seq * 1000 / self.rate:.6f}"] if self.device_time == "ms" else []
            head += [f"seq={seq}"] if first else []
            return ",".join(head + [f"{k}={v:.6g}" for k, v in values.items()])
        if fmt == "plotter":
            head = [f"seq:{seq}"] if first else []
            return " ".join(head + [f"{k}:{v:.6g}" for k, v in values.items()])
        if fmt == "json":
            numbers = {name: float(f"{v:.6g}") for name, v in values.items()}
            return json.dumps({"seq": seq, **numbers} if first else numbers)
        # teleplot: one line per channel
        head = [f">seq:{seq}"] if first else []
        return "\n".join(head + [f">{k}:{v:.6g}" for k, v in values.items()])

    def _state_change(self, powered: bool) -> str | None:
        """The rig's power state when it differs from the last one reported."""
        state = "ON" if powered else "OFF"
        if state == self._reported_state:
            return None
        self._reported_state = state
        return state

    def _name(self, name: str, slot: int) -> str:
        return slot_channel(name, slot) if self.slots else name

    def _json_nested(
        self, seq: int, sled: dict[str, float], chips: list[dict[str, float]], powered: bool
    ) -> str:
        """Nested objects; a sled's chips as ``"rails[2]": {"vdd_core": …}`` (stored as
        ``rails.vdd_core[2]``), eight chips a line."""

        def chip_record(n: dict[str, float], slot: int) -> dict:
            return {
                self._name("rails", slot): {k: n[k] for k in ("vdd_core", "vdd_hbm", "vdd_io")},
                self._name("load", slot): {k: n[k] for k in ("idd_core", "idd_hbm")},
                self._name("thermal", slot): {k: n[k] for k in ("temp_die", "temp_hbm")},
                self._name("clk_core_mhz", slot): n["clk_core_mhz"],
            }

        rounded = [{name: float(f"{v:.6g}") for name, v in chip.items()} for chip in chips]
        room = {name: float(f"{v:.6g}") for name, v in sled.items()}
        if not self.slots:
            n = {**rounded[0], **room}
            record = chip_record(n, 0)
            record["thermal"].update(temp_inlet=n["temp_inlet"], fan_rpm=n["fan_rpm"])
            record = {"seq": seq, **record, "powered": powered}
            lines = [record]
        else:
            lines = []
            per_line = slots_per_line(self.format)
            for first in range(0, len(chips), per_line):
                record = {}
                for slot in range(first, min(first + per_line, len(chips))):
                    record.update(chip_record(rounded[slot], slot))
                lines.append(record)
            lines[0] = {"seq": seq, "thermal": room, **lines[0], "powered": powered}
        state = self._state_change(powered)
        if state is not None:
            lines[0]["state"] = state
        return "\n".join(json.dumps(record) for record in lines)

    def _teleplot_full(
        self, seq: int, sled: dict[str, float], chips: list[dict[str, float]], powered: bool
    ) -> str:
        """Every Teleplot construct: device times in ms, units, flags, an x-y point, text
        states, multi-point lines (the temperatures, in batches) and a plot clear."""
        ms = f"{seq * 1000 / self.rate:.3f}"
        lines = []
        if seq == 0:
            lines += [f">{self._name('iv_core', k)}:|clr" for k in range(len(chips))]
        state = self._state_change(powered)
        if state is not None:
            lines.append(f">state:{ms}:{state}|t")
        lines.append(f">seq:{ms}:{seq}|np")
        for k, v in enumerate(chips):
            lines += [
                f">{self._name(name, k)}:{ms}:{v[name]:.6g}§{unit}" for name, unit in _UNITS.items()
            ]
            lines.append(f">{self._name('iv_core', k)}:{v['vdd_core']:.6g}:{v['idd_core']:.6g}|xy")
        lines.append(f">fan_rpm:{sled['fan_rpm']:.6g}§rpm")
        self._temps.append((ms, [{k: v[k] for k in ("temp_die", "temp_hbm")} for v in chips]))
        if len(self._temps) == TELEPLOT_BATCH:
            for k in range(len(chips)):
                for name in ("temp_die", "temp_hbm"):
                    points = ";".join(f"{t}:{temps[k][name]:.6g}" for t, temps in self._temps)
                    lines.append(f">{self._name(name, k)}:{points}§°C")
            self._temps = []
        return "\n".join(lines)
