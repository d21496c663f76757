"""From raw rig bytes to per-channel sample arrays, console lines, results and notes.

:class:`TelemetryParser` is fed chunks as they arrive (``feed``) and hands out what it
collected (``take``).  It never raises on input and its memory is bounded by the line cap,
the channel cap and how often ``take`` is called.

Hot path: a rig streams one key=value shape at a time.  When every line of a read has the
shape of the previous key=value line, the whole block is parsed column-wise with a few
C-level passes (``_parse_kv_block``) instead of line by line; anything else (or any doubt)
goes through the line-by-line parser, which is the reference both must agree with
(``tests/protocols/test_parser.py`` checks it).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from labbench.protocols.formats import LineResult, parse_line
from labbench.protocols.framing import FramedBlock, LineFramer
from labbench.protocols.profile import Profile

log = logging.getLogger(__name__)

# How many distinct dropped channel names are named in events; the rest are only counted.
_MAX_NAMED_DROPS = 10
_KV_TRANSLATE = bytes.maketrans(b",;\t\n", b"    ")


@dataclass
class ConsoleLine:
    received_ns: int
    kind: str  # "console", "malformed" or "result"
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


_PLAIN_CHARS = b"0123456789.-+eE \n"


def _plain_specials(numbers: bytes) -> bool:
    """True if the only letters in ``numbers`` belong to the words nan / inf / infinity."""
    for token in numbers.split():
        if token.translate(None, _PLAIN_CHARS):
            if token.lstrip(b"+-").lower() not in (b"nan", b"inf", b"infinity"):
                return False
    return True


class _Accumulator:
    """One channel's samples since the last take(): single samples and whole arrays, in order."""

    __slots__ = ("t_list", "v_list", "t_parts", "v_parts")

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

    def take(self) -> Optional[tuple[np.ndarray, np.ndarray]]:
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
    def __init__(self, profile: Optional[Profile] = None):
        self.profile = profile or Profile()
        self.framer = LineFramer(self.profile.max_line_bytes)
        self._map = self.profile.channel_map()
        self._acc: dict[str, _Accumulator] = {}
        self._units: dict[str, str] = {}
        self._new_units: dict[str, str] = {}
        self._dropped_names: set[str] = set()
        self._csv_header: Optional[list[str]] = None
        self._kv_keys: Optional[list[bytes]] = None  # shape of the last key=value line
        self._device_anchor: Optional[tuple[float, int]] = None  # (device s, host ns)
        self._last_device_s: Optional[float] = None
        self._batch = ParsedBatch()
        # Totals since the parser was made.
        self.lines = 0
        self.malformed = 0
        self.console_lines = 0
        self.dropped_samples = 0
        self.device_time_resets = 0

    # --- public ---------------------------------------------------------------------------

    def feed(self, chunk: bytes, received_ns: int) -> None:
        """Take bytes as they came from the rig."""
        capped_before = self.framer.capped_lines
        block = self.framer.feed(chunk, received_ns)
        if block.count:
            self._parse_block(block)
        if self.framer.capped_lines != capped_before:
            self._note(received_ns, "line_capped", f"line longer than {self.framer.max_line_bytes} bytes cut at the cap")

    def end_of_stream(self, received_ns: int) -> None:
        """The rig went away: an unfinished line is kept in the console log as malformed."""
        line, capped = self.framer.flush()
        if line:
            self.lines += 1
            self._batch.lines += 1
            self._console(received_ns, "malformed", self._decode(line) + (" [cut at the line cap]" if capped else "") + " [truncated: rig disconnected]")

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

    def _parse_block(self, block: FramedBlock) -> None:
        self.lines += block.count
        self._batch.lines += block.count
        if self._kv_keys is not None and self._parse_kv_block(block):
            return
        for raw in block.lines():
            self._parse_one(raw, block.received_ns)

    def _parse_one(self, raw: bytes, received_ns: int) -> None:
        text = self._decode(raw)
        result = parse_line(text, self.profile.format, self._csv_header)
        kind = result.kind
        if kind == "telemetry":
            self._kv_keys = self._kv_shape(text, result) if self.profile.format in ("auto", "kv") else None
            self._add_line(result, received_ns)
        elif kind == "header":
            self._csv_header = result.header
            self._console(received_ns, "console", text)
        elif kind == "malformed":
            self._console(received_ns, "malformed", f"{text}  [{result.reason}]")
        else:
            self._console_line(text, received_ns)

    @staticmethod
    def _kv_shape(text: str, result: LineResult) -> Optional[list[bytes]]:
        if "=" not in text or not result.values:
            return None
        names = [name for name, _ in result.values]
        if len(set(names)) != len(names):
            return None
        try:
            return [name.encode("ascii") for name in names]
        except UnicodeEncodeError:
            return None

    def _console_line(self, text: str, received_ns: int) -> None:
        profile = self.profile
        if profile.result_pattern is not None:
            match = profile.result_pattern.search(text)
            if match:
                self._batch.results.append((received_ns, match.group("name"), match.group("value")))
                self._console(received_ns, "result", text)
                return
        for console_value in profile.console_values:
            match = console_value.pattern.search(text)
            if match:
                try:
                    value = float(match.group("value"))
                    name = console_value.channel.format(**match.groupdict())
                except (ValueError, KeyError, IndexError):
                    break
                if console_value.unit and name not in self._units:
                    self._set_unit(name, console_value.unit)
                self._add_sample(name, received_ns, value)
                break
        self._console(received_ns, "console", text)

    def _set_unit(self, name: str, unit: str) -> None:
        if self._units.get(name) != unit:
            self._units[name] = unit
            self._new_units[name] = unit

    def _line_time(self, result: LineResult, received_ns: int) -> int:
        device_s = result.device_time
        if self.profile.device_time:
            for name, value in result.values:
                if name == self.profile.device_time:
                    device_s = value * self.profile.device_time_scale
                    break
        if device_s is None or device_s != device_s:
            return received_ns
        if self._device_anchor is None or (self._last_device_s is not None and device_s < self._last_device_s):
            if self._device_anchor is not None:
                self.device_time_resets += 1
                self._note(received_ns, "device_time_reset", f"rig clock went back from {self._last_device_s!r} s to {device_s!r} s; re-anchored on the host clock")
            self._device_anchor = (device_s, received_ns)
        self._last_device_s = device_s
        anchor_s, anchor_ns = self._device_anchor
        return anchor_ns + int(round((device_s - anchor_s) * 1e9))

    def _add_line(self, result: LineResult, received_ns: int) -> None:
        t_ns = self._line_time(result, received_ns)
        for name, unit in result.units.items():
            self._set_unit(self._target(name), unit)
        for name, value in result.values:
            if name == self.profile.device_time:
                continue
            mapping = self._map.get(name)
            if mapping is not None:
                value = value * mapping.scale + mapping.offset
                name = mapping.name
            self._add_sample(name, t_ns, value)

    def _target(self, source: str) -> str:
        mapping = self._map.get(source)
        return mapping.name if mapping else source

    def _accumulator(self, name: str, received_ns: int) -> Optional[_Accumulator]:
        acc = self._acc.get(name)
        if acc is not None:
            return acc
        if len(self._acc) >= self.profile.max_channels:
            if name not in self._dropped_names:
                self._dropped_names.add(name)
                if len(self._dropped_names) <= _MAX_NAMED_DROPS:
                    self._note(received_ns, "channel_cap", f"channel cap of {self.profile.max_channels} reached: samples of {name[:64]!r} are dropped")
            return None
        acc = self._acc[name] = _Accumulator()
        source = next((c for c in self.profile.channels if c.name == name), None)
        if source is not None and source.unit:
            self._set_unit(name, source.unit)
        return acc

    def _add_sample(self, name: str, t_ns: int, value: float) -> None:
        acc = self._accumulator(name, t_ns)
        if acc is None:
            self.dropped_samples += 1
            return
        acc.t_list.append(t_ns)
        acc.v_list.append(value)

    def _parse_kv_block(self, block: FramedBlock) -> bool:
        """Parse a block whose lines all have the last key=value shape; False if not so.

        Proof of shape, all in C-level passes: every line starts with the first key, the
        block splits into exactly keys x lines tokens, and column j's tokens all start with
        "key_j=" (keys are distinct and '='-free, so a token starts with at most one of
        them: key 1 tokens sit only in column 0, hence every line has exactly K tokens).
        Values must then parse as numbers with nothing left over.
        """
        keys = self._kv_keys
        assert keys is not None
        n, k = block.count, len(keys)
        data = block.data
        if data[: len(keys[0]) + 1] != keys[0] + b"=" or data.count(b"\n" + keys[0] + b"=") != n - 1:
            return False
        device = self.profile.device_time.encode() if self.profile.device_time else None
        if device is not None and device in keys:
            return False  # device-timed rigs take the reference path (re-anchoring is per line)
        tokens = data.translate(_KV_TRANSLATE).split()
        if len(tokens) != n * k:
            return False
        columns = []
        for j, key in enumerate(keys):
            prefix = b"\n" + key + b"="
            column = b"\n" + b"\n".join(tokens[j::k])
            if column.count(prefix) != n:
                return False
            numbers = column.replace(prefix, b" ")
            # Anything beyond plain decimals, nan and inf (hex, "nan(..)", "1_0") is a spelling
            # float() and strtod() may disagree on: let the reference parser decide.
            if numbers.translate(None, _PLAIN_CHARS) and not _plain_specials(numbers):
                return False
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # older numpy warns and stops early instead
                    values = np.fromstring(numbers, dtype=np.float64, sep=" ")
            except ValueError:  # unmatched data: not all numbers
                return False
            if values.size != n:
                return False
            columns.append(values)
        t = np.full(n, block.received_ns, dtype=np.int64)
        for key, values in zip(keys, columns):
            name = key.decode("ascii")
            mapping = self._map.get(name)
            if mapping is not None:
                if mapping.scale != 1.0 or mapping.offset != 0.0:
                    values = values * mapping.scale + mapping.offset
                name = mapping.name
            acc = self._accumulator(name, block.received_ns)
            if acc is None:
                self.dropped_samples += n
                continue
            acc.add_many(t, values)
        return True
