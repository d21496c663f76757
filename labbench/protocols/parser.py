"""From raw rig bytes to per-channel sample arrays, console lines, results and notes.

:class:`TelemetryParser` is fed chunks as they arrive (``feed``) and hands out what it
collected (``take``).  It never raises on input and its memory is bounded by the line cap,
the channel cap and how often ``take`` is called.

Hot path: a rig streams one key=value shape at a time.  When every line of a read has the
shape of the previous key=value line, the whole block is parsed column-wise with a few
C-level passes (``_parse_kv_block``) instead of line by line; anything else (or any doubt)
goes through the line-by-line parser, which is the reference both must agree with
(``tests/protocols/test_parser.py`` checks it).

Sample times: lines that arrive in one read did not arrive at one instant.  ``feed`` is
given the time of this read and of the previous one, and the lines the read finished get
times spread evenly over that interval (the last one at the read itself), so every
channel's times strictly increase and a hold time means the same at 10 lines/s and at
20 k lines/s.  ``reparse`` replays the stored reads with the same two times and so gets
the same times.  A line carrying the rig's own time (the profile's ``device_time`` field,
or Teleplot's per-point time, anchored per channel) is timed by it instead.  A rig result
(a command's reply) is never timed before ``replies_after_ns``, the last command's write.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from labbench.protocols.formats import LineResult, parse_line
from labbench.protocols.framing import FramedBlock, LineFramer
from labbench.protocols.kv_block import KvShape, parse_block
from labbench.protocols.profile import Profile
from labbench.protocols.slots import ChannelNames

log = logging.getLogger(__name__)

# How many distinct dropped channel names are named in events; the rest are only counted.
_MAX_NAMED_DROPS = 10


@dataclass
class ConsoleLine:
    received_ns: int
    # "console", "malformed", "result" or "text" (a rig's text value, "status=Running",
    # drawn as a state mark on the plots)
    kind: str
    text: str


@dataclass
class Note:
    """Something about the stream worth recording as a run event."""

    received_ns: int
    kind: str
    detail: str


@dataclass
class ParsedBatch:
    # channel name -> (epoch ns as int64, values as float64)
    samples: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    console: list[ConsoleLine] = field(default_factory=list)
    results: list[tuple[int, str, str]] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    lines: int = 0
    malformed: int = 0

    @property
    def sample_count(self) -> int:
        return sum(t.size for t, _ in self.samples.values())


class _Accumulator:
    """One channel's samples since the last take(): single samples and whole arrays, in order."""

    __slots__ = ("t_list", "t_parts", "v_list", "v_parts")

    def __init__(self):
        self.t_list: list[int] = []
        self.v_list: list[float] = []
        self.t_parts: list[np.ndarray] = []
        self.v_parts: list[np.ndarray] = []

    def _flush_lists(self) -> None:
        if self.t_list:
            self.t_parts.append(np.array(self.t_list, dtype=np.int64))
            self.v_parts.append(np.array(self.v_list, dtype=np.float64))
            self.t_list, self.v_list = [], []

    def add_many(self, t: np.ndarray, v: np.ndarray) -> None:
        self._flush_lists()
        self.t_parts.append(t)
        self.v_parts.append(v)

    def take(self) -> tuple[np.ndarray, np.ndarray] | None:
        self._flush_lists()
        if not self.t_parts:
            return None
        if len(self.t_parts) == 1:
            out = (self.t_parts[0], self.v_parts[0])
        else:
            out = (np.concatenate(self.t_parts), np.concatenate(self.v_parts))
        self.t_parts, self.v_parts = [], []
        return out


class TelemetryParser:
    def __init__(self, profile: Profile | None = None):
        self.profile = profile or Profile()
        self.framer = LineFramer(self.profile.max_line_bytes)
        # Wire name -> stored channel (slots, renames), resolved once per distinct name.
        self._names = ChannelNames(self.profile.slot_pattern, self.profile.channels)
        self._acc: dict[str, _Accumulator] = {}
        self._units: dict[str, str] = {}
        self._new_units: dict[str, str] = {}
        self._dropped_names: set[str] = set()
        self._csv_header: list[str] | None = None
        # Shape of the last key=value line, and each key's channel and mapping.
        self._kv_shape_of_last: KvShape | None = None
        self._kv_targets: list[str] = []
        self._kv_mappings: list = []
        self._device_anchor: tuple[float, int] | None = None  # (device value, host ns)
        self._last_device: float | None = None
        # Teleplot times are per channel: name -> (anchor device ms, anchor host ns, last ms).
        self._channel_clocks: dict[str, tuple[float, int, float]] = {}
        self._last_arrival_ns: int | None = None
        self.replies_after_ns = 0  # the last command written (set by the reader): see above
        self._last_t: dict[str, int] = {}  # last arrival time given to each channel
        self._frame_fields = tuple(self.profile.frame_fields)
        self._dropped_reported = 0
        self._batch = ParsedBatch()
        # Totals since the parser was made.
        self.lines = 0
        self.malformed = 0
        self.console_lines = 0
        self.dropped_samples = 0
        self.device_time_resets = 0

    # --- public ---------------------------------------------------------------------------

    def feed(self, chunk: bytes, received_ns: int, previous_ns: int | None = None) -> None:
        """Take the bytes of one read as they came from the rig.

        ``received_ns`` is when this read returned, ``previous_ns`` when the read before it
        returned (None: the previous call's ``received_ns``)."""
        capped_before = self.framer.capped_lines
        block = self.framer.feed(
            chunk, received_ns, crlf_as_sent=self._kv_shape_of_last is not None
        )
        if block.crlf and not self._parse_as_sent(block, received_ns, previous_ns):
            block = self.framer.settle(block)
        if block.count and not block.crlf:
            self._parse_block(block, self._spread(block.count, received_ns, previous_ns))
        if self.framer.capped_lines != capped_before:
            cap = self.framer.max_line_bytes
            self._note(received_ns, "line_capped", f"line longer than {cap} bytes cut at "
                       "the cap (counted as malformed)")  # fmt: skip

    def end_of_stream(self, received_ns: int) -> None:
        """The rig went away: an unfinished line is kept in the console log as malformed."""
        line, capped = self.framer.flush()
        if line:
            self.lines += 1
            self._batch.lines += 1
            self._console(
                received_ns,
                "malformed",
                self._decode(line)
                + (" [cut at the line cap]" if capped else "")
                + " [truncated: rig disconnected]",
            )
        self._report_drops(received_ns)

    def _report_drops(self, at_ns: int) -> None:
        dropped = self.dropped_samples - self._dropped_reported
        if dropped:
            self._dropped_reported = self.dropped_samples
            self._note(
                at_ns,
                "channel_cap",
                f"{dropped} samples of {len(self._dropped_names)} channels beyond the cap of "
                f"{self.profile.max_channels} were dropped",
            )

    def take(self) -> ParsedBatch:
        """Everything parsed since the last call."""
        batch = self._batch
        for name, acc in self._acc.items():
            arrays = acc.take()
            if arrays is not None:
                batch.samples[name] = arrays
        batch.units = self._new_units
        self._new_units = {}
        self._batch = ParsedBatch()
        return batch

    @property
    def channel_units(self) -> dict[str, str]:
        return dict(self._units)

    # --- internals ------------------------------------------------------------------------

    def _decode(self, raw: bytes) -> str:
        return raw.decode(self.profile.encoding, errors="replace")

    def _note(self, received_ns: int, kind: str, detail: str) -> None:
        self._batch.notes.append(Note(received_ns, kind, detail))

    def _console(self, received_ns: int, kind: str, text: str) -> None:
        self._batch.console.append(ConsoleLine(received_ns, kind, text))
        if kind == "malformed":
            self.malformed += 1
            self._batch.malformed += 1
        else:
            self.console_lines += 1

    def _spread(self, n: int, received_ns: int, previous_ns: int | None) -> np.ndarray:
        """Arrival times of the n lines of one read: spread over (previous read, this read]."""
        last = self._last_arrival_ns
        if previous_ns is None:
            previous_ns = last if last is not None else received_ns - n
        start = previous_ns if last is None else max(previous_ns, last)
        span = received_ns - start
        steps = np.arange(1, n + 1, dtype=np.int64)
        if span >= n:
            # start + i * span // n without overflowing int64 when the last read is long past
            q, r = divmod(span, n)
            times = start + steps * q + (steps * r) // n
        else:  # the host clock went back (or more lines than nanoseconds): keep order
            times = start + steps
        self._last_arrival_ns = int(times[-1])
        return times

    def _parse_as_sent(self, block: FramedBlock, received_ns: int, previous_ns: int | None) -> bool:
        """Parse an unsettled CRLF block with the key=value fast path, which proves its lines
        all end in CRLF and none is empty; False (nothing changed) when it cannot."""
        last_arrival_ns = self._last_arrival_ns
        times = self._spread(block.count, received_ns, previous_ns)
        if block.capped_at or not self._parse_kv_block(block, times):
            self._last_arrival_ns = last_arrival_ns
            return False
        self.lines += block.count
        self._batch.lines += block.count
        return True

    def _parse_block(self, block: FramedBlock, times: np.ndarray) -> None:
        self.lines += block.count
        self._batch.lines += block.count
        if (
            self._kv_shape_of_last is not None
            and not block.capped_at
            and self._parse_kv_block(block, times)
        ):
            return
        capped = set(block.capped_at)
        for i, (raw, t_ns) in enumerate(zip(block.lines(), times.tolist(), strict=True)):
            if i in capped:
                text = self._decode(raw)
                self._console(
                    t_ns,
                    "malformed",
                    f"{text}  [cut at the {self.framer.max_line_bytes}-byte line cap]",
                )
            else:
                self._parse_one(raw, t_ns)

    def _parse_one(self, raw: bytes, received_ns: int) -> None:
        text = self._decode(raw)
        result = parse_line(text, self.profile.format, self._csv_header, self._frame_fields)
        kind = result.kind
        if kind == "telemetry":
            refused = self._names.refusal(result)
            if refused:
                self._console(received_ns, "malformed", f"{text}  [{refused}]")
                return
            self._learn_kv_shape(
                self._kv_shape(text, result) if self.profile.format in ("auto", "kv") else None
            )
            self._add_line(result, received_ns)
        elif kind == "header":
            self._csv_header = result.header
            self._console(received_ns, "console", text)
        elif kind == "malformed":
            self._console(received_ns, "malformed", f"{text}  [{result.reason}]")
        else:
            self._console_line(text, received_ns)

    @staticmethod
    def _kv_shape(text: str, result: LineResult) -> list[bytes] | None:
        if "=" not in text or not result.values or result.texts or result.points:
            return None
        names = [name for name, _ in result.values]
        if len(set(names)) != len(names):
            return None
        try:
            return [name.encode("ascii") for name in names]
        except UnicodeEncodeError:
            return None

    def _learn_kv_shape(self, keys: list[bytes] | None) -> None:
        """Remember the keys of the last key=value line for the block fast path."""
        device = self.profile.device_time.encode() if self.profile.device_time else None
        if keys is None or (device is not None and device in keys):
            # device-timed rigs take the reference path (re-anchoring is per line)
            self._kv_shape_of_last = None
            return
        if self._kv_shape_of_last is not None and self._kv_shape_of_last.keys == keys:
            return
        shape = KvShape(keys)
        targets = [self._names.target(name) for name in shape.names]
        if any(target is None for target in targets) or len(
            {target.name for target in targets}
        ) != len(targets):
            # a malformed slot, or two keys naming one channel (vdd[2] and vdd[02]): the
            # reference path counts or merges them line by line
            self._kv_shape_of_last = None
            return
        self._kv_shape_of_last = shape
        self._kv_mappings = [target.rule for target in targets]
        self._kv_targets = [target.name for target in targets]

    def _console_line(self, text: str, received_ns: int) -> None:
        profile = self.profile
        if profile.result_pattern is not None:
            match = profile.result_pattern.search(text)
            if match:
                received_ns = max(received_ns, self.replies_after_ns)
                self._batch.results.append((received_ns, match.group("name"), match.group("value")))
                self._console(received_ns, "result", text)
                return
        for console_value in profile.console_values:
            match = console_value.pattern.search(text)
            if match:
                try:
                    value = float(match.group("value"))
                    name = self._names.slot_name(console_value.channel.format(**match.groupdict()))
                except (ValueError, KeyError, IndexError):
                    break
                if name is None:
                    break  # a malformed slot: no sample, the line stays console text
                if console_value.unit and name not in self._units:
                    self._set_unit(name, console_value.unit)
                self._add_sample(name, self._arrival(name, received_ns), value)
                break
        self._console(received_ns, "console", text)

    def _set_unit(self, name: str, unit: str) -> None:
        if self._units.get(name) != unit:
            self._units[name] = unit
            self._new_units[name] = unit

    def _line_time(self, result: LineResult, received_ns: int) -> int | None:
        """The line's time from the profile's device time field; None if it has none."""
        device = None
        for name, value in result.values:
            if name == self.profile.device_time:
                device = value
                break
        if device is None or not math.isfinite(device):
            return None
        # Differences are taken in the rig's own unit (exact for integer counts) and only
        # then turned into nanoseconds.
        if self._device_anchor is None or (
            self._last_device is not None and device < self._last_device
        ):
            if self._device_anchor is not None:
                self.device_time_resets += 1
                unit = self.profile.device_time_unit
                self._note(
                    received_ns,
                    "device_time_reset",
                    f"rig clock went back from {self._last_device!r} {unit} to {device!r} "
                    f"{unit}; re-anchored on the host clock",
                )
            self._device_anchor = (device, received_ns)
        self._last_device = device
        anchor, anchor_ns = self._device_anchor
        return anchor_ns + round((device - anchor) * self.profile.device_time_scale * 1e9)

    def _channel_time(self, name: str, device_ms: float, received_ns: int) -> int:
        """A Teleplot point's time: its own device time (ms), on that channel's own anchor."""
        clock = self._channel_clocks.get(name)
        if clock is None or device_ms < clock[2]:
            if clock is not None:
                self.device_time_resets += 1
                self._note(
                    received_ns,
                    "device_time_reset",
                    f"rig clock of {name[:64]!r} went back from {clock[2]!r} ms to "
                    f"{device_ms!r} ms; re-anchored on the host clock",
                )
            clock = (device_ms, received_ns, device_ms)
        self._channel_clocks[name] = (clock[0], clock[1], device_ms)
        return clock[1] + round((device_ms - clock[0]) * 1e6)

    def _arrival(self, name: str, t_ns: int) -> int:
        """An arrival time for a sample of ``name``, later than that channel's last one
        (two samples of one channel on one line are a nanosecond apart)."""
        last = self._last_t.get(name)
        if last is not None and t_ns <= last:
            t_ns = last + 1
        self._last_t[name] = t_ns
        return t_ns

    def _add_line(self, result: LineResult, received_ns: int) -> None:
        line_ns = self._line_time(result, received_ns) if self.profile.device_time else None
        for name, unit in result.units.items():
            self._set_unit(self._target(name), unit)
        for name, value in result.values:
            if name == self.profile.device_time:
                continue
            name, value = self._mapped(name, value)
            self._add_sample(
                name, self._arrival(name, received_ns) if line_ns is None else line_ns, value
            )
        for name, device_ms, value in result.points:
            t_ns = self._channel_time(name, device_ms, received_ns)
            name, value = self._mapped(name, value)
            self._add_sample(name, t_ns, value)
        for name, device_ms, text in result.texts:
            t_ns = (
                received_ns
                if device_ms is None
                else self._channel_time(name, device_ms, received_ns)
            )
            self._console(t_ns, "text", f"{self._target(name)}={text}")
        for kind, name in result.requests:
            self._note(
                received_ns, kind, f"the rig asked to clear the plot of {self._target(name)[:64]!r}"
            )

    def _mapped(self, name: str, value: float) -> tuple[str, float]:
        target = self._names.target(name)
        mapping = target.rule
        if mapping is None:
            return target.name, value
        return target.name, value * mapping.scale + mapping.offset

    def _target(self, source: str) -> str:
        target = self._names.target(source)
        return target.name if target is not None else source

    def _accumulator(self, name: str, received_ns: int) -> _Accumulator | None:
        acc = self._acc.get(name)
        if acc is not None:
            return acc
        if len(self._acc) >= self.profile.max_channels:
            if name not in self._dropped_names:
                self._dropped_names.add(name)
                if len(self._dropped_names) <= _MAX_NAMED_DROPS:
                    self._note(
                        received_ns,
                        "channel_cap",
                        f"channel cap of {self.profile.max_channels} reached: samples of "
                        f"{name[:64]!r} are dropped",
                    )
            return None
        acc = self._acc[name] = _Accumulator()
        unit = self._names.unit(name)
        if unit:
            self._set_unit(name, unit)
        return acc

    def _add_sample(self, name: str, t_ns: int, value: float) -> None:
        acc = self._accumulator(name, t_ns)
        if acc is None:
            self.dropped_samples += 1
            return
        acc.t_list.append(t_ns)
        acc.v_list.append(value)

    def _parse_kv_block(self, block: FramedBlock, t: np.ndarray) -> bool:
        """Parse a block whose lines all have the last key=value shape; False if not so."""
        shape = self._kv_shape_of_last
        assert shape is not None
        n = block.count
        first_t, last_t = int(t[0]), int(t[-1])
        targets = self._kv_targets
        last_ts = self._last_t
        for target in targets:
            previous = last_ts.get(target)
            if previous is not None and previous >= first_t:
                return False  # an earlier line gave this channel a later time: line by line
        columns = parse_block(shape, block.data, n, crlf=block.crlf)
        if columns is None:
            return False
        for target, mapping, values in zip(targets, self._kv_mappings, columns, strict=True):
            if mapping is not None and (mapping.scale != 1.0 or mapping.offset != 0.0):
                values = values * mapping.scale + mapping.offset
            acc = self._accumulator(target, block.received_ns)
            if acc is None:
                self.dropped_samples += n
                continue
            acc.add_many(t, values)
            last_ts[target] = last_t
        return True
