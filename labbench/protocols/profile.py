"""Rig profiles (TOML): serial settings, line format, channel mapping, console regexes.

Built-in profiles live in ``resources/profiles/``; a user's own in
``<config dir>/profiles/`` (same name: the user's wins).  A profile is validated when it is
loaded; mistakes are reported with the file and the key at fault.
"""

from __future__ import annotations

import math
import re
import string
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labbench import paths
from labbench.protocols.formats import FORMATS
from labbench.protocols.framing import DEFAULT_MAX_LINE_BYTES
from labbench.protocols.slots import (
    SlotNameError,
    apply_slot_pattern,
    canonical_name,
    slot_pattern_problem,
)


class ProfileError(Exception):
    """A profile that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class ChannelMap:
    source: str
    name: str
    unit: str = ""
    scale: float = 1.0
    offset: float = 0.0


@dataclass(frozen=True)
class ConsoleValue:
    """A regex with named groups that pulls a value out of a console line."""

    pattern: re.Pattern
    channel: str  # a name, or a template using the regex's other groups: "temp{idx}"
    unit: str = ""


@dataclass(frozen=True)
class SerialSettings:
    baudrate: int = 115200
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    rtscts: bool = False
    xonxoff: bool = False


@dataclass(frozen=True)
class Profile:
    name: str = "default"
    description: str = ""
    serial: SerialSettings = SerialSettings()
    encoding: str = "utf-8"
    command_ending: str = "\r\n"
    format: str = "auto"
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    max_channels: int = 256
    device_time: str = ""  # the field carrying the rig's own time, if any
    device_time_unit: str = "s"
    reconnect_window_s: float = 10.0
    frame_fields: tuple[str, ...] = ()  # names of a Serial Studio frame's fields, in order
    # Maps another per-slot naming convention onto name[slot] (labbench.protocols.slots).
    slot_pattern: re.Pattern | None = None
    channels: tuple[ChannelMap, ...] = ()
    console_values: tuple[ConsoleValue, ...] = ()
    result_pattern: re.Pattern | None = None
    path: str = ""

    def channel_map(self) -> dict[str, ChannelMap]:
        return {c.source: c for c in self.channels}

    @property
    def device_time_scale(self) -> float:
        return {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}[self.device_time_unit]


# Every key a profile may hold, per table; anything else is a mistake (a misspelt
# ``fromat`` silently ignored would parse the rig's lines with the wrong rules).
_KEYS = {
    "profile": {"name", "description"},
    "serial": {"baudrate", "bytesize", "parity", "stopbits", "rtscts", "xonxoff"},
    "line": {
        "encoding",
        "command_ending",
        "format",
        "max_line_bytes",
        "max_channels",
        "device_time",
        "device_time_unit",
        "reconnect_window_s",
        "frame_fields",
        "slot_pattern",
    },
    "channel": {"match", "name", "unit", "scale", "offset"},
    "console_value": {"pattern", "channel", "unit"},
    "result": {"pattern"},
}
_ARRAY_TABLES = {"channel", "console_value"}
# A profile is a page of settings; anything this large is the wrong file.
MAX_PROFILE_BYTES = 1 << 20
_NAME_LIMIT = 128


class _Where:
    """Names a profile key as ``file, line N, [table] key`` (tomllib gives no positions, so
    the line is found in the text: the key's line inside the right table)."""

    def __init__(self, text: str, source: str):
        self.source = source
        self._tables: list[tuple[str, int, int]] = []  # (table, occurrence, first line)
        counts: dict[str, int] = {}
        self._lines = text.splitlines()
        for number, line in enumerate(self._lines, 1):
            stripped = line.strip()
            if stripped.startswith("["):
                name = stripped.strip("[]").split("]")[0].strip()
                occurrence = counts.get(name, 0)
                counts[name] = occurrence + 1
                self._tables.append((name, occurrence, number))

    def line_of(self, table: str, key: str, index: int = 0) -> int:
        first, last = 1, len(self._lines)
        if table:
            spans = [
                (n, i)
                for i, (name, occ, n) in enumerate(self._tables)
                if name == table and occ == index
            ]
            if not spans:
                return 0
            start, i = spans[0]
            first = start
            last = self._tables[i + 1][2] - 1 if i + 1 < len(self._tables) else len(self._lines)
        elif self._tables:
            last = self._tables[0][2] - 1
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for number in range(first, last + 1):
            if pattern.match(self._lines[number - 1]):
                return number
        if not table:  # a top-level name may be a table of its own: [key] or [[key]]
            return next((n for name, _, n in self._tables if name == key), 0)
        return first

    def __call__(self, table: str, key: str = "", index: int = 0) -> str:
        label = (
            f"[[{table}]] #{index + 1}"
            if table in _ARRAY_TABLES
            else (f"[{table}]" if table else "")
        )
        number = (
            self.line_of(table, key or "", index)
            if key
            else self.line_of(table, "", index)
            if table
            else 0
        )
        at = f"{self.source}, line {number}" if number else self.source
        return f"{at}: {label + ' ' if label else ''}{key}".rstrip()


def _check_keys(table: dict, name: str, where: _Where, index: int = 0) -> None:
    for key in table:
        if key not in _KEYS[name]:
            known = ", ".join(sorted(_KEYS[name]))
            raise ProfileError(f"{where(name, key, index)}: unknown key (known keys: {known}).")


def _get(
    table: dict, key: str, kind, where: _Where, section: str, default: Any = None, index: int = 0
):
    if key not in table:
        return default
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        try:
            value = float(value)
        except OverflowError:
            raise ProfileError(
                f"{where(section, key, index)}: {str(table[key])[:20]}… is too large."
            ) from None
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:60] + "…"
        raise ProfileError(
            f"{where(section, key, index)} must be {getattr(kind, '__name__', kind)}, not {shown}."
        )
    if kind is float and not math.isfinite(value):
        raise ProfileError(f"{where(section, key, index)} must be a finite number, not {value!r}.")
    return value


def _in_range(value, low, high, where: _Where, section: str, key: str, index: int = 0):
    if not low <= value <= high:
        shown = str(value) if len(str(value)) <= 30 else str(value)[:20] + "…"
        raise ProfileError(
            f"{where(section, key, index)} must be between {low} and {high}, not {shown}."
        )
    return value


def _regex(text: str, where: str) -> re.Pattern:
    try:
        return re.compile(text)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ProfileError(f"{where}: invalid regular expression ({exc}).") from None


def _template_fields(template: str, where: str) -> set[str]:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ProfileError(f"{where}: invalid channel template {template!r} ({exc}).") from None
    fields = set()
    for _, field_name, spec, conversion in parsed:
        if field_name is None:
            continue
        if not field_name.isidentifier() or spec or conversion:
            raise ProfileError(
                f"{where}: channel template {template!r} may only name groups, as in {{idx}}."
            )
        fields.add(field_name)
    return fields


def _tables(data: dict, name: str, where: _Where) -> list[dict]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise ProfileError(
            f"{where('', name)}: {name} must be a list of tables, written [[{name}]]."
        )
    return value


def parse_profile(text: str, source: str = "<profile>") -> Profile:
    if len(text) > MAX_PROFILE_BYTES:
        raise ProfileError(
            f"{source}: a profile of {len(text)} bytes is too large (at most {MAX_PROFILE_BYTES})."
        )
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{source}: TOML syntax error: {exc}.") from None
    except RecursionError:
        raise ProfileError(f"{source}: nested too deeply to be a profile.") from None
    where = _Where(text, source)
    for key, value in data.items():
        if key not in _KEYS:
            raise ProfileError(
                f"{where('', key)}: unknown section {key!r} (known: {', '.join(sorted(_KEYS))})."
            )
        if key not in _ARRAY_TABLES and not isinstance(value, dict):
            raise ProfileError(f"{where('', key)}: {key} must be a table, written [{key}].")
    head = data.get("profile", {})
    serial_t = data.get("serial", {})
    line_t = data.get("line", {})
    for name in ("profile", "serial", "line"):
        _check_keys(data.get(name, {}), name, where)
    serial = SerialSettings(
        baudrate=_in_range(
            _get(serial_t, "baudrate", int, where, "serial", 115200),
            50,
            20_000_000,
            where,
            "serial",
            "baudrate",
        ),
        bytesize=_in_range(
            _get(serial_t, "bytesize", int, where, "serial", 8), 5, 8, where, "serial", "bytesize"
        ),
        parity=_get(serial_t, "parity", str, where, "serial", "N"),
        stopbits=_get(serial_t, "stopbits", float, where, "serial", 1.0),
        rtscts=_get(serial_t, "rtscts", bool, where, "serial", False),
        xonxoff=_get(serial_t, "xonxoff", bool, where, "serial", False),
    )
    if serial.parity not in ("N", "E", "O", "M", "S"):
        raise ProfileError(
            f"{where('serial', 'parity')} must be one of N E O M S, not {serial.parity[:20]!r}."
        )
    if serial.stopbits not in (1.0, 1.5, 2.0):
        raise ProfileError(
            f"{where('serial', 'stopbits')} must be 1, 1.5 or 2, not {serial.stopbits!r}."
        )
    fmt = _get(line_t, "format", str, where, "line", "auto")
    if fmt not in FORMATS:
        raise ProfileError(
            f"{where('line', 'format')} must be one of {', '.join(FORMATS)}, not {fmt[:40]!r}."
        )
    encoding = _get(line_t, "encoding", str, where, "line", "utf-8")
    try:
        "".encode(encoding)
    except LookupError:
        raise ProfileError(
            f"{where('line', 'encoding')}: unknown encoding {encoding[:40]!r}."
        ) from None
    device_time_unit = _get(line_t, "device_time_unit", str, where, "line", "s")
    if device_time_unit not in ("s", "ms", "us", "ns"):
        raise ProfileError(
            f"{where('line', 'device_time_unit')} must be s, ms, us or ns, "
            f"not {device_time_unit[:20]!r}."
        )
    max_line_bytes = _in_range(
        _get(line_t, "max_line_bytes", int, where, "line", DEFAULT_MAX_LINE_BYTES),
        16,
        1 << 20,
        where,
        "line",
        "max_line_bytes",
    )
    max_channels = _in_range(
        _get(line_t, "max_channels", int, where, "line", 256),
        1,
        4096,
        where,
        "line",
        "max_channels",
    )
    reconnect = _in_range(
        _get(line_t, "reconnect_window_s", float, where, "line", 10.0),
        0.0,
        86400.0,
        where,
        "line",
        "reconnect_window_s",
    )
    frame_fields = _get(line_t, "frame_fields", list, where, "line", [])
    for field_name in frame_fields:
        if (
            not isinstance(field_name, str)
            or len(field_name) > _NAME_LIMIT
            or any(c < " " for c in field_name)
        ):
            raise ProfileError(
                f'{where("line", "frame_fields")} must list channel names ("" skips a field), '
                f"not {str(field_name)[:40]!r}."
            )
    slot_pattern = None
    if "slot_pattern" in line_t:
        w = where("line", "slot_pattern")
        slot_pattern = _regex(_get(line_t, "slot_pattern", str, where, "line", ""), w)
        problem = slot_pattern_problem(slot_pattern)
        if problem:
            raise ProfileError(f"{w}: {problem}, as in '^chip(?P<slot>\\d+)_(?P<name>.+)$'.")
    for field_name in frame_fields:
        if field_name:
            try:
                apply_slot_pattern(slot_pattern, field_name)
            except SlotNameError as exc:
                raise ProfileError(f"{where('line', 'frame_fields')}: {exc}.") from None
    device_time = _get(line_t, "device_time", str, where, "line", "")

    channels = []
    for i, table in enumerate(_tables(data, "channel", where)):
        _check_keys(table, "channel", where, i)
        src = _get(table, "match", str, where, "channel", None, i)
        if not src:
            raise ProfileError(
                f"{where('channel', '', i)}: match (the channel's name on the wire) is required."
            )
        target = _get(table, "name", str, where, "channel", src, i)
        try:
            canonical_name(target)
        except SlotNameError as exc:
            key = "name" if "name" in table else "match"
            raise ProfileError(f"{where('channel', key, i)}: {exc}.") from None
        channels.append(
            ChannelMap(
                source=src,
                name=target,
                unit=_get(table, "unit", str, where, "channel", "", i),
                scale=_get(table, "scale", float, where, "channel", 1.0, i),
                offset=_get(table, "offset", float, where, "channel", 0.0, i),
            )
        )
    console_values = []
    for i, table in enumerate(_tables(data, "console_value", where)):
        _check_keys(table, "console_value", where, i)
        w = where("console_value", "pattern", i)
        pattern = _regex(_get(table, "pattern", str, where, "console_value", "", i), w)
        if "value" not in pattern.groupindex:
            raise ProfileError(f"{w}: the pattern needs a named group (?P<value>...).")
        channel = _get(table, "channel", str, where, "console_value", "", i)
        if not channel and "name" not in pattern.groupindex:
            raise ProfileError(
                f"{where('console_value', '', i)}: give a channel, "
                "or a named group (?P<name>...) in the pattern."
            )
        unknown = _template_fields(channel, where("console_value", "channel", i)) - set(
            pattern.groupindex
        )
        if unknown:
            raise ProfileError(
                f"{where('console_value', 'channel', i)}: the template names "
                f"{', '.join(sorted(unknown))}, which the pattern has no group for."
            )
        console_values.append(
            ConsoleValue(
                pattern,
                channel or "{name}",
                _get(table, "unit", str, where, "console_value", "", i),
            )
        )
    result_pattern = None
    if "result" in data:
        _check_keys(data["result"], "result", where)
        w = where("result", "pattern")
        result_pattern = _regex(_get(data["result"], "pattern", str, where, "result", ""), w)
        if not {"name", "value"} <= set(result_pattern.groupindex):
            raise ProfileError(
                f"{w}: the pattern needs named groups (?P<name>...) and (?P<value>...)."
            )
    return Profile(
        name=_get(head, "name", str, where, "profile", Path(source).stem),
        description=_get(head, "description", str, where, "profile", ""),
        serial=serial,
        encoding=encoding,
        command_ending=_get(line_t, "command_ending", str, where, "line", "\r\n"),
        format=fmt,
        max_line_bytes=max_line_bytes,
        max_channels=max_channels,
        device_time=device_time,
        device_time_unit=device_time_unit,
        reconnect_window_s=reconnect,
        frame_fields=tuple(frame_fields),
        slot_pattern=slot_pattern,
        channels=tuple(channels),
        console_values=tuple(console_values),
        result_pattern=result_pattern,
        path=source,
    )


def builtin_profiles_dir() -> Path:
    return paths.resources_dir() / "profiles"


def user_profiles_dir() -> Path:
    return paths.user_config_dir() / "profiles"


def available_profiles() -> dict[str, Path]:
    found = {p.stem: p for p in sorted(builtin_profiles_dir().glob("*.toml"))}
    user = user_profiles_dir()
    if user.is_dir():
        found.update({p.stem: p for p in sorted(user.glob("*.toml"))})
    return found


def load_profile(name_or_path: str | None = None) -> Profile:
    """A profile by name (built-in or user) or by path; ``None`` is the default profile."""
    key = name_or_path or "default"
    candidate = Path(key).expanduser()
    if candidate.suffix == ".toml" or candidate.exists():
        path = candidate
    else:
        profiles = available_profiles()
        if key not in profiles:
            raise ProfileError(
                f"There is no profile named {key!r} (known: {', '.join(sorted(profiles))})."
            )
        path = profiles[key]
    try:
        if path.stat().st_size > MAX_PROFILE_BYTES:
            raise ProfileError(
                f"{path}: a profile of {path.stat().st_size} bytes is too large "
                f"(at most {MAX_PROFILE_BYTES})."
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"Cannot read the profile {path}: {exc}.") from None
    return parse_profile(text, str(path))
