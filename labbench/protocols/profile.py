"""Rig profiles (TOML): serial settings, line format, channel mapping, console regexes.

Built-in profiles live in ``resources/profiles/``; a user's own in
``<config dir>/profiles/`` (same name: the user's wins).  A profile is validated when it is
loaded; mistakes are reported with the file and the key at fault.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from labbench import paths
from labbench.protocols.formats import FORMATS
from labbench.protocols.framing import DEFAULT_MAX_LINE_BYTES


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
    channels: tuple[ChannelMap, ...] = ()
    console_values: tuple[ConsoleValue, ...] = ()
    result_pattern: Optional[re.Pattern] = None
    path: str = ""

    def channel_map(self) -> dict[str, ChannelMap]:
        return {c.source: c for c in self.channels}

    @property
    def device_time_scale(self) -> float:
        return {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}[self.device_time_unit]


_TOP_KEYS = {"profile", "serial", "line", "channel", "console_value", "result"}


def _get(table: dict, key: str, kind, where: str, default: Any = None):
    if key not in table:
        return default
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ProfileError(f"{where}: {key} must be {getattr(kind, '__name__', kind)}, not {value!r}.")
    return value


def _regex(text: str, where: str) -> re.Pattern:
    try:
        return re.compile(text)
    except re.error as exc:
        raise ProfileError(f"{where}: invalid regular expression ({exc}).") from None


def parse_profile(text: str, source: str = "<profile>") -> Profile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{source}: TOML syntax error: {exc}.") from None
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ProfileError(f"{source}: unknown section(s) {', '.join(sorted(unknown))}.")
    head = data.get("profile", {})
    serial_t = data.get("serial", {})
    line_t = data.get("line", {})
    serial = SerialSettings(
        baudrate=_get(serial_t, "baudrate", int, f"{source} [serial]", 115200),
        bytesize=_get(serial_t, "bytesize", int, f"{source} [serial]", 8),
        parity=_get(serial_t, "parity", str, f"{source} [serial]", "N"),
        stopbits=_get(serial_t, "stopbits", float, f"{source} [serial]", 1.0),
        rtscts=_get(serial_t, "rtscts", bool, f"{source} [serial]", False),
        xonxoff=_get(serial_t, "xonxoff", bool, f"{source} [serial]", False),
    )
    if serial.parity not in ("N", "E", "O", "M", "S"):
        raise ProfileError(f"{source} [serial]: parity must be one of N E O M S, not {serial.parity!r}.")
    where = f"{source} [line]"
    fmt = _get(line_t, "format", str, where, "auto")
    if fmt not in FORMATS:
        raise ProfileError(f"{where}: format must be one of {', '.join(FORMATS)}, not {fmt!r}.")
    encoding = _get(line_t, "encoding", str, where, "utf-8")
    try:
        "".encode(encoding)
    except LookupError:
        raise ProfileError(f"{where}: unknown encoding {encoding!r}.") from None
    device_time_unit = _get(line_t, "device_time_unit", str, where, "s")
    if device_time_unit not in ("s", "ms", "us", "ns"):
        raise ProfileError(f"{where}: device_time_unit must be s, ms, us or ns, not {device_time_unit!r}.")
    max_line_bytes = _get(line_t, "max_line_bytes", int, where, DEFAULT_MAX_LINE_BYTES)
    if not 16 <= max_line_bytes <= 1 << 20:
        raise ProfileError(f"{where}: max_line_bytes must be between 16 and 1048576.")
    max_channels = _get(line_t, "max_channels", int, where, 256)
    if not 1 <= max_channels <= 4096:
        raise ProfileError(f"{where}: max_channels must be between 1 and 4096.")
    reconnect = _get(line_t, "reconnect_window_s", float, where, 10.0)
    if reconnect < 0:
        raise ProfileError(f"{where}: reconnect_window_s must not be negative.")

    channels = []
    for i, table in enumerate(data.get("channel", [])):
        w = f"{source} [[channel]] #{i + 1}"
        src = _get(table, "match", str, w)
        if not src:
            raise ProfileError(f"{w}: match (the channel's name on the wire) is required.")
        channels.append(
            ChannelMap(
                source=src,
                name=_get(table, "name", str, w, src),
                unit=_get(table, "unit", str, w, ""),
                scale=_get(table, "scale", float, w, 1.0),
                offset=_get(table, "offset", float, w, 0.0),
            )
        )
    console_values = []
    for i, table in enumerate(data.get("console_value", [])):
        w = f"{source} [[console_value]] #{i + 1}"
        pattern = _regex(_get(table, "pattern", str, w, ""), w)
        if "value" not in pattern.groupindex:
            raise ProfileError(f"{w}: pattern needs a named group (?P<value>...).")
        channel = _get(table, "channel", str, w, "")
        if not channel and "name" not in pattern.groupindex:
            raise ProfileError(f"{w}: give a channel, or a named group (?P<name>...) in the pattern.")
        console_values.append(ConsoleValue(pattern, channel or "{name}", _get(table, "unit", str, w, "")))
    result_pattern = None
    if "result" in data:
        w = f"{source} [result]"
        result_pattern = _regex(_get(data["result"], "pattern", str, w, ""), w)
        if not {"name", "value"} <= set(result_pattern.groupindex):
            raise ProfileError(f"{w}: pattern needs named groups (?P<name>...) and (?P<value>...).")
    return Profile(
        name=_get(head, "name", str, f"{source} [profile]", Path(source).stem),
        description=_get(head, "description", str, f"{source} [profile]", ""),
        serial=serial,
        encoding=encoding,
        command_ending=_get(line_t, "command_ending", str, where, "\r\n"),
        format=fmt,
        max_line_bytes=max_line_bytes,
        max_channels=max_channels,
        device_time=_get(line_t, "device_time", str, where, ""),
        device_time_unit=device_time_unit,
        reconnect_window_s=reconnect,
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


def load_profile(name_or_path: Optional[str] = None) -> Profile:
    """A profile by name (built-in or user) or by path; ``None`` is the default profile."""
    key = name_or_path or "default"
    candidate = Path(key).expanduser()
    if candidate.suffix == ".toml" or candidate.exists():
        path = candidate
    else:
        profiles = available_profiles()
        if key not in profiles:
            raise ProfileError(f"There is no profile named {key!r} (known: {', '.join(sorted(profiles))}).")
        path = profiles[key]
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"Cannot read the profile {path}: {exc}.") from None
    return parse_profile(text, str(path))
