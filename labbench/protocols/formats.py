"""Recognising one telemetry line by its shape (the line formats of ``docs/architecture.md``).

``parse_line`` never raises.  It returns a :class:`LineResult` whose ``kind`` is
``"telemetry"``, ``"header"`` (a CSV header, which names the columns of the lines after it),
``"console"`` (any other text) or ``"malformed"`` (a line that looks like telemetry but is
broken: bad number, truncated, bad JSON).

Each format follows its own tool's definition:

* key=value; CSV with a header; Arduino Serial Plotter: ``label:value`` parts, bare
  values, and label-only lines (``a:,b:``) that name the bare values after them;
* Teleplot ``>A:B:C§D|E``: several ``;``-separated points per line, each with its own time
  in ms; ``|xy`` points become the channels ``name.x`` and ``name.y``; ``|t`` values are
  text; ``|clr`` asks to clear the plot; other flags (``np``, ``g``) are accepted;
  ``>:text`` and ``>1627551892437:text`` are Teleplot's text log (console text);
* JSON lines: nested objects flatten with ``.``, arrays by index, booleans are 0/1,
  strings are text values, ``null`` is no sample;
* Serial Studio frames ``/*…*/`` of comma-separated fields, named by the profile's
  ``frame_fields`` (else ``value1``, ``value2``, … by position, as Serial Studio's ``%1``,
  ``%2``, …); a named field that is not a number is a text value, an unnamed first one
  is the frame's title.

A number is only ever one that is written on the line: a literal beyond float64's range
(``1e400``, 400 digits) is malformed, never inf.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

FORMATS = ("auto", "kv", "plotter", "teleplot", "json", "csv", "serial-studio")

_IDENT = r"[A-Za-z_][A-Za-z0-9_.\-/\[\]]*"
_KV_HEAD = re.compile(rf"^{_IDENT}=")
_PLOTTER_HEAD = re.compile(rf"^{_IDENT}:[-+.0-9nNiI]")
_IDENT_RE = re.compile(rf"^{_IDENT}$")
_SEPARATORS = re.compile(r"[,; \t]+")
_PLOTTER_SEPARATORS = re.compile(r"[, \t]+")
# Characters a number can be written with; a token made only of them that float() refuses
# is a broken number (malformed), not prose.
_NUMBERISH = re.compile(r"^[-+0-9.eE]+$|^[-+]?(nan|inf|infinity)$", re.IGNORECASE)
_TELEPLOT_FLAGS = re.compile(r"^[A-Za-z0-9_,]*$")
# JSON nesting deeper than this is not a rig's telemetry (and would cost recursion).
MAX_JSON_DEPTH = 32


@dataclass
class LineResult:
    kind: str
    # Samples timed by the line (its arrival, or the profile's device time field).
    values: list[tuple[str, float]] = field(default_factory=list)
    # Samples carrying their own device time in ms (Teleplot): (name, device ms, value).
    points: list[tuple[str, float, float]] = field(default_factory=list)
    # Text values: (name, device ms or None, text).
    texts: list[tuple[str, float | None, str]] = field(default_factory=list)
    # Requests worth an event: (kind, detail), e.g. ("plot_clear", "pos").
    requests: list[tuple[str, str]] = field(default_factory=list)
    units: dict[str, str] = field(default_factory=dict)
    header: list[str] = field(default_factory=list)
    reason: str = ""


CONSOLE = LineResult("console")


def _malformed(reason: str) -> LineResult:
    return LineResult("malformed", reason=reason)


def to_float(text: str) -> float:
    """float() for telemetry: refuses Python-only spellings a rig would not send, and
    literals beyond float64's range (which float() would turn into inf)."""
    if "_" in text:
        raise ValueError(text)
    value = float(text)
    if math.isinf(value) and "inf" not in text.lower():
        raise ValueError(f"{text[:40]!r} is beyond the range of a float64")
    return value


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


def parse_kv(line: str) -> LineResult | None:
    if not _KV_HEAD.match(line):
        return None
    return _pairs(_SEPARATORS.split(line.strip()), "=", "key=value")


def parse_plotter(line: str, header: list[str] | None = None) -> LineResult | None:
    """Arduino Serial Plotter: ``label:value`` parts, bare values, or a label-only line
    (``a:,b:,c:``) naming the bare values of the lines after it."""
    stripped = line.strip()
    if _PLOTTER_HEAD.match(stripped):
        return _pairs(_PLOTTER_SEPARATORS.split(stripped), ":", "label:value")
    tokens = _PLOTTER_SEPARATORS.split(stripped)
    if tokens and all(t.endswith(":") and _IDENT_RE.match(t[:-1]) for t in tokens):
        return LineResult("header", header=[t[:-1] for t in tokens])
    if not tokens or not all(_NUMBERISH.match(t) for t in tokens):
        return None
    names = (
        header
        if header is not None and len(header) == len(tokens)
        else [f"value{i}" for i in range(1, len(tokens) + 1)]
    )
    try:
        return LineResult(
            "telemetry", [(name, to_float(t)) for name, t in zip(names, tokens, strict=True)]
        )
    except ValueError:
        return _malformed("bad number in a line of bare values")


# --- Teleplot -----------------------------------------------------------------------------


def _device_ms(text: str) -> float:
    """A Teleplot time stamp (ms); ValueError if it is not one.  Kept in ms: differences of
    epoch milliseconds are exact in a float64, their seconds are not."""
    ms = to_float(text)
    if not math.isfinite(ms):
        raise ValueError(text)
    return ms


def parse_teleplot(line: str) -> LineResult | None:
    stripped = line.strip()
    if not stripped.startswith(">"):
        return None
    body = stripped[1:]
    if body.startswith("3D|"):
        return CONSOLE  # a 3-D shape: drawn by Teleplot, nothing labbench records
    name, found, rest = body.partition(":")
    name = name.strip()
    if not found:
        return _malformed("not a Teleplot line (>name:value)")
    if not name or name.isdigit():
        return CONSOLE  # Teleplot's text log: ">:text" or ">1627551892437:text"
    flags: set[str] = set()
    bar = rest.rfind("|")
    if bar >= 0 and _TELEPLOT_FLAGS.match(rest[bar + 1 :]):
        flags = {f for f in rest[bar + 1 :].split(",") if f}
        rest = rest[:bar]
    unit = ""
    if "§" in rest:
        rest, _, unit = rest.rpartition("§")
        unit = unit.strip()
    result = LineResult("telemetry")
    if "clr" in flags:
        result.requests.append(("plot_clear", name))
        if not rest.strip():
            return result
    points = rest.split(";")
    try:
        if "t" in flags:
            _teleplot_texts(name, points, result)
        elif "xy" in flags:
            _teleplot_xy(name, points, result)
            if unit:
                result.units[f"{name}.x"] = result.units[f"{name}.y"] = unit
        else:
            problem = _teleplot_numbers(name, points, result)
            if problem:
                return _malformed(problem)
            if unit:
                result.units[name] = unit
    except ValueError:
        return _malformed(f"bad Teleplot value for {name}: {rest[:40]!r}")
    return result


def _teleplot_texts(name: str, points: list[str], result: LineResult) -> None:
    for point in points:
        head, found, text = point.partition(":")
        if found:
            result.texts.append((name, _device_ms(head), text))
        else:
            result.texts.append((name, None, point))


def _teleplot_xy(name: str, points: list[str], result: LineResult) -> None:
    for point in points:
        parts = point.split(":")
        if len(parts) == 2:
            x, y = to_float(parts[0]), to_float(parts[1])
            result.values += [(f"{name}.x", x), (f"{name}.y", y)]
        elif len(parts) == 3:
            x, y, device_ms = to_float(parts[0]), to_float(parts[1]), _device_ms(parts[2])
            result.points += [(f"{name}.x", device_ms, x), (f"{name}.y", device_ms, y)]
        else:
            raise ValueError(point)


def _teleplot_numbers(name: str, points: list[str], result: LineResult) -> str:
    for point in points:
        parts = point.split(":")
        if len(parts) == 1:
            if len(points) > 1:
                return f"several points of {name} in one line need their own times (Teleplot)"
            result.values.append((name, to_float(parts[0])))
        elif len(parts) == 2:
            result.points.append((name, _device_ms(parts[0]), to_float(parts[1])))
        else:
            return f"not a Teleplot point of {name}: {point[:40]!r}"
    return ""


# --- JSON lines ---------------------------------------------------------------------------


def _json_number(text: str) -> float:
    return to_float(text)


def _json_constant(text: str) -> float:
    return float(text)  # NaN, Infinity, -Infinity: spelled on the line, so values


def _flatten(obj, prefix: str, result: LineResult, depth: int) -> None:
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
    items = obj.items() if isinstance(obj, dict) else enumerate(obj)
    for key, value in items:
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, bool):
            result.values.append((name, 1.0 if value else 0.0))
        elif isinstance(value, float):
            result.values.append((name, value))
        elif isinstance(value, str):
            result.texts.append((name, None, value))
        elif isinstance(value, (dict, list)):
            _flatten(value, name, result, depth + 1)


def parse_json(line: str) -> LineResult | None:
    stripped = line.strip()
    if not stripped.startswith("{"):
        return None
    try:
        obj = json.loads(
            stripped,
            parse_float=_json_number,
            parse_int=_json_number,
            parse_constant=_json_constant,
        )
    except (ValueError, RecursionError):
        return _malformed("bad JSON (or a number beyond the range of a float64)")
    if not isinstance(obj, dict):
        return _malformed("JSON line is not an object")
    result = LineResult("telemetry")
    try:
        _flatten(obj, "", result, 1)
    except ValueError as exc:
        return _malformed(f"JSON {exc}")
    if not result.values and not result.texts:
        return CONSOLE
    return result


# --- CSV with a header --------------------------------------------------------------------


def parse_csv(line: str, header: list[str] | None) -> LineResult | None:
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
    for name, text in zip(header, fields, strict=True):
        if text == "":
            continue  # an empty cell: no sample of that channel on this row
        try:
            values.append((name, to_float(text)))
        except ValueError:
            return _malformed(f"bad number for {name}: {text[:40]!r}")
    return LineResult("telemetry", values)


# --- Serial Studio frames -----------------------------------------------------------------


def parse_frame(line: str, frame_fields: tuple[str, ...] = ()) -> LineResult | None:
    stripped = line.strip()
    if len(stripped) < 4 or not stripped.startswith("/*") or not stripped.endswith("*/"):
        return None
    inner = stripped[2:-2]
    if inner.lstrip().startswith("{"):
        return CONSOLE  # a Serial Studio JSON dashboard frame: layout, not telemetry
    result = LineResult("telemetry")
    for i, cell in enumerate(inner.split(",")):
        cell = cell.strip()
        named = i < len(frame_fields)
        name = frame_fields[i] if named else f"value{i + 1}"
        if not name or not cell:
            continue  # a field the profile skips, or an empty one: no sample
        try:
            result.values.append((name, to_float(cell)))
        except ValueError:
            if named and not _NUMBERISH.match(cell):
                result.texts.append((name, None, cell))
            elif named or i > 0 or _NUMBERISH.match(cell):
                return _malformed(f"bad number for {name}: {cell[:40]!r}")
            # else: an unnamed first text field is the frame's title (Serial Studio's %1)
    if not result.values and not result.texts:
        return CONSOLE
    return result


def parse_line(
    line: str,
    fmt: str = "auto",
    csv_header: list[str] | None = None,
    frame_fields: tuple[str, ...] = (),
) -> LineResult:
    """Classify and parse one decoded line (without its line ending)."""
    try:
        if not line.strip():
            return CONSOLE
        if fmt == "auto":
            head = line.lstrip()[:2]
            if head[:1] == "{":
                return parse_json(line) or CONSOLE
            if head[:1] == ">":
                return parse_teleplot(line) or CONSOLE
            if head == "/*":
                result = parse_frame(line, frame_fields)
                if result is not None:
                    return result
            if "=" in line:
                result = parse_kv(line)
                if result is not None:
                    return result
            if csv_header is not None or "," in line:
                result = parse_csv(line, csv_header)
                if result is not None:
                    return result
            return parse_plotter(line, csv_header) or CONSOLE
        if fmt == "csv":
            return parse_csv(line, csv_header) or CONSOLE
        if fmt == "plotter":
            return parse_plotter(line, csv_header) or CONSOLE
        if fmt == "serial-studio":
            return parse_frame(line, frame_fields) or CONSOLE
        parser = {
            "kv": parse_kv,
            "teleplot": parse_teleplot,
            "json": parse_json,
        }.get(fmt)
        if parser is not None:
            return parser(line) or CONSOLE
        return CONSOLE
    except Exception as exc:  # never let a hostile line raise into the pipeline
        return _malformed(f"parser error: {type(exc).__name__}")
