"""The plan file as text: where a key sits (for messages) and what no plan may be.

Limits on hostile files (docs/architecture.md §4): a plan over :data:`MAX_PLAN_BYTES`, arrays or
tables nested deeper than :data:`MAX_NESTING`, and ``{field}`` templates in ``send`` lines that
nothing fills in (only a sweep step's axes are filled in) are each refused in one sentence
naming the file and line.
"""

from __future__ import annotations

import math
import re
from typing import Any


class PlanError(Exception):
    """A plan that cannot be run; the message names the file, line, step and key."""


DUT_KINDS = ("sled", "chip")
# A real plan is a few kilobytes; a megabyte is thousands of steps.  Anything bigger is the
# wrong file (a log, a data dump), and parsing it would take minutes and gigabytes.
MAX_PLAN_BYTES = 1 << 20
# Plans nest tables two deep and arrays one deep; TOML's parser recurses per level.
MAX_NESTING = 32
# A week: the longest soak a bring-up lab runs in one step; 1e300 s is a typo.
MAX_STEP_S = 7 * 24 * 3600.0
# Fields every send line may name as {field}: none.  A sweep step's send lines may name its
# axes (labbench.runs.plan_sweep); any other {field} would go to the rig with the braces
# still in it, so it is refused.
SEND_FIELDS: frozenset[str] = frozenset()


# --- locating keys in the text, for messages ----------------------------------------------

_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z_.]+)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=")


class KeyLines:
    """Line numbers of keys: (section path, index within it, key) -> line."""

    def __init__(self, text: str):
        self.where: dict[tuple, int] = {}
        counters: dict[str, int] = {}
        current: tuple = ("",)
        step = -1
        for number, line in enumerate(text.splitlines(), 1):
            header = _HEADER.match(line)
            if header:
                name = header.group(1)
                if name == "step":
                    step += 1
                    counters = {}
                    current = ("step", step)
                elif name.startswith("step."):
                    kind = name[5:]
                    counters[kind] = counters.get(kind, -1) + 1
                    current = ("step", step, kind, counters[kind])
                elif name == "channel":
                    counters["channel"] = counters.get("channel", -1) + 1
                    current = ("channel", counters["channel"])
                else:
                    current = (name,)
                self.where.setdefault(current, number)
                continue
            key = _KEY.match(line)
            if key:
                self.where.setdefault(current + (key.group(1),), number)

    def line(self, *path) -> int | None:
        while path:
            if path in self.where:
                return self.where[path]
            path = path[:-1]
        return None


class Check:
    def __init__(self, source: str, lines: KeyLines):
        self.source = source
        self.lines = lines

    def fail(self, path: tuple, what: str, message: str) -> PlanError:
        line = self.lines.line(*path)
        at = f"{self.source}" + (f", line {line}" if line else "")
        return PlanError(f"{at}: {what}: {message}")

    def get(
        self,
        table: dict,
        key: str,
        kinds,
        path: tuple,
        what: str,
        default: Any = None,
        required: bool = False,
    ):
        if key not in table:
            if required:
                raise self.fail(path, what, f"{key} is required")
            return default
        value = table[key]
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            try:
                value = float(value)
            except OverflowError:
                raise self.fail(
                    path + (key,),
                    what,
                    f"{key} is a {len(str(abs(value)))}-digit number, too large to use",
                ) from None
        if not isinstance(value, kinds) or (bool not in kinds and isinstance(value, bool)):
            names = " or ".join(
                "number"
                if k is float
                else {str: "text", bool: "true/false", list: "a list"}.get(k, k.__name__)
                for k in kinds
            )
            raise self.fail(path + (key,), what, f"{key} must be {names}, not {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(path + (key,), what, f"{key} must be a finite number, not {value!r}")
        return value

    def unknown(self, table: dict, allowed: set, path: tuple, what: str) -> None:
        extra = sorted(set(table) - allowed)
        if extra:
            raise self.fail(
                path + (extra[0],),
                what,
                f"unknown key {extra[0]!r} (known: {', '.join(sorted(allowed))})",
            )


def too_big(source: str, size: int) -> PlanError:
    return PlanError(
        f"{source}: the plan is {size:,} bytes; a plan may be at most {MAX_PLAN_BYTES:,} bytes "
        "(is this the right file?)"
    )


def nesting_problem(text: str, source: str) -> PlanError | None:
    """The first line whose arrays or inline tables nest deeper than MAX_NESTING, if any.

    A cheap scan that skips strings and comments: tomllib recurses once per level and would
    otherwise end in a RecursionError."""
    depth = 0
    quote = ""
    for number, line in enumerate(text.splitlines(), 1):
        i = 0
        while i < len(line):
            c = line[i]
            if quote:
                if c == "\\" and quote == '"':
                    i += 1
                elif c == quote:
                    quote = ""
            elif c in "\"'":
                quote = c
            elif c == "#":
                break
            elif c in "[{":
                depth += 1
                if depth > MAX_NESTING:
                    key = _KEY.match(line)
                    named = f" (key {key.group(1)})" if key else ""
                    return PlanError(
                        f"{source}, line {number}{named}: "
                        f"arrays or tables nest more than {MAX_NESTING} deep"
                    )
            elif c in "]}":
                depth = max(0, depth - 1)
            i += 1
        quote = ""  # single-line strings end with their line; multi-line ones are rare in plans
    return None


_TEMPLATE_FIELD = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")


def template_fields(line: str) -> list[str]:
    """The ``{field}`` names in a send line.  Doubled braces (``{{x}}``) and braces around
    anything but a name (JSON such as ``{"pwr": 1}``) are text for the rig."""
    return _TEMPLATE_FIELD.findall(line)
