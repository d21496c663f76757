"""Recognising one telemetry line by its shape (DESIGN.md §3).

``parse_line`` never raises.  It returns a :class:`LineResult` whose ``kind`` is
``"telemetry"`` (with ``values`` as (name, float) pairs), ``"header"`` (a CSV header, which
names the columns of the lines after it), ``"console"`` (any other text) or ``"malformed"``
(a line that looks like telemetry but is broken: bad number, truncated, bad JSON).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Optional

FORMATS = ("auto", "kv", "plotter", "teleplot", "json", "csv")

_IDENT = r"[A-Za-z_][A-Za-z0-9_.\-/\[\]]*"
_KV_HEAD = re.compile(rf"^{_IDENT}=")
_PLOTTER_HEAD = re.compile(rf"^{_IDENT}:[-+.0-9nNiI]")
_IDENT_RE = re.compile(rf"^{_IDENT}$")
_SEPARATORS = re.compile(r"[,; \t]+")
_PLOTTER_SEPARATORS = re.compile(r"[, \t]+")
# Characters a number can be written with; a token made only of them that float() refuses
# is a broken number (malformed), not prose.
_NUMBERISH = re.compile(r"^[-+0-9.eE]+$|^[-+]?(nan|inf|infinity)$", re.IGNORECASE)
_TELEPLOT = re.compile(rf"^>({_IDENT}):(?:(-?[0-9]+(?:\.[0-9]*)?):)?([^|§]*)(?:§([^|]*))?(?:\|(.*))?$")


@dataclass
class LineResult:
    kind: str
    values: list[tuple[str, float]] = field(default_factory=list)
    device_time: Optional[float] = None
    units: dict[str, str] = field(default_factory=dict)
    header: list[str] = field(default_factory=list)
    reason: str = ""


CONSOLE = LineResult("console")


def _malformed(reason: str) -> LineResult:
    return LineResult("malformed", reason=reason)


def to_float(text: str) -> float:
    """float() for telemetry: refuses Python-only spellings a rig would not send."""
    if "_" in text:
        raise ValueError(text)
    return float(text)


def _pairs(tokens: list[str], mark: str, shape: str) -> LineResult:
    """name<mark>number tokens; the first broken one makes the line malformed."""
    values = []
    for token in tokens:
        name, found, text = token.partition(mark)
        if not found or not _IDENT_RE.match(name):
            return _malformed(f"not a {shape} pair: {token[:40]!r}")
        try:
            values.append((name, to_float(text)))
        except ValueError:
            return _malformed(f"bad number for {name}: {text[:40]!r}")
    return LineResult("telemetry", values)


def parse_kv(line: str) -> Optional[LineResult]:
    if not _KV_HEAD.match(line):
        return None
    return _pairs(_SEPARATORS.split(line.strip()), "=", "key=value")


def parse_plotter(line: str) -> Optional[LineResult]:
    stripped = line.strip()
    if _PLOTTER_HEAD.match(stripped):
        return _pairs(_PLOTTER_SEPARATORS.split(stripped), ":", "label:value")
    tokens = _PLOTTER_SEPARATORS.split(stripped)
    if not tokens or not all(_NUMBERISH.match(t) for t in tokens):
        return None
    try:
        return LineResult("telemetry", [(f"value{i}", to_float(t)) for i, t in enumerate(tokens, 1)])
    except ValueError:
        return _malformed("bad number in a line of bare values")


def parse_teleplot(line: str) -> Optional[LineResult]:
    if not line.startswith(">"):
        return None
    match = _TELEPLOT.match(line.strip())
    if not match:
        return _malformed("not a Teleplot line (>name:value)")
    name, device_ms, text, unit, _flags = match.groups()
    try:
        value = to_float(text.strip())
    except ValueError:
        return _malformed(f"bad number for {name}: {text[:40]!r}")
    result = LineResult("telemetry", [(name, value)])
    if device_ms is not None:
        result.device_time = float(device_ms) / 1000.0
    if unit:
        result.units[name] = unit.strip()
    return result


def parse_json(line: str) -> Optional[LineResult]:
    stripped = line.strip()
    if not stripped.startswith("{"):
        return None
    try:
        obj = json.loads(stripped)
    except (ValueError, RecursionError):
        return _malformed("bad JSON")
    if not isinstance(obj, dict):
        return _malformed("JSON line is not an object")
    values = [
        (str(k), float(v))
        for k, v in obj.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and _IDENT_RE.match(str(k))
    ]
    if not values:
        return CONSOLE
    return LineResult("telemetry", values)


def parse_csv(line: str, header: Optional[list[str]]) -> Optional[LineResult]:
    if "," not in line:
        return None
    fields = [f.strip() for f in line.strip().split(",")]
    if len(fields) >= 2 and all(_IDENT_RE.match(f) for f in fields):
        return LineResult("header", header=fields)
    if header is None or len(fields) != len(header):
        return None
    if not all(_NUMBERISH.match(f) or f == "" for f in fields):
        return None
    values = []
    for name, text in zip(header, fields):
        if text == "":
            continue  # an empty cell: no sample of that channel on this row
        try:
            values.append((name, to_float(text)))
        except ValueError:
            return _malformed(f"bad number for {name}: {text[:40]!r}")
    return LineResult("telemetry", values)


def parse_line(line: str, fmt: str = "auto", csv_header: Optional[list[str]] = None) -> LineResult:
    """Classify and parse one decoded line (without its line ending)."""
    try:
        if not line.strip():
            return CONSOLE
        if fmt == "auto":
            head = line.lstrip()[:1]
            if head == "{":
                return parse_json(line) or CONSOLE
            if head == ">":
                return parse_teleplot(line) or CONSOLE
            if "=" in line:
                result = parse_kv(line)
                if result is not None:
                    return result
            if csv_header is not None or "," in line:
                result = parse_csv(line, csv_header)
                if result is not None:
                    return result
            return parse_plotter(line) or CONSOLE
        parser = {
            "kv": parse_kv,
            "plotter": parse_plotter,
            "teleplot": parse_teleplot,
            "json": parse_json,
        }.get(fmt)
        if parser is not None:
            return parser(line) or CONSOLE
        if fmt == "csv":
            return parse_csv(line, csv_header) or CONSOLE
        return CONSOLE
    except Exception as exc:  # never let a hostile line raise into the pipeline
        return _malformed(f"parser error: {type(exc).__name__}")


