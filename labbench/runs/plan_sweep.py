"""``[step.sweep]`` of a plan: one or two swept parameters, expanded into point steps
(docs/architecture.md §4, Sweeps).

```toml
[[step]]
name = "shmoo"
dwell_s = 0.5                        # per point (a sweep step has no duration_s)
send = ["VSET {vdd_mv}", "FSET {freq_mhz}", "BIST"]
  [step.sweep]
  x = { name = "vdd_mv", start = 650, stop = 850, step = 25 }
  y = { name = "freq_mhz", values = [1000, 1200, 1400, 1600] }   # optional
  order = "x-fastest"                # default; or "y-fastest"
```

When the plan loads, a sweep step becomes one ordinary :class:`~labbench.runs.plan_items.Step`
per point, in execution order: named ``shmoo vdd_mv=650 freq_mhz=1000``, lasting ``dwell_s``,
its ``send`` lines filled with the point's values, the sweep step's items judged over it, and
carrying its :class:`~labbench.records.SweepCoordinates`.  Every mistake is one sentence with
the file, line, step and key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from labbench.criteria.shmoo import Shmoo, SweepPoint, axis_text, build_shmoo
from labbench.records import SweepCoordinates
from labbench.runs.plan_items import Plan, Step, SweepAxis, SweepSpec
from labbench.runs.plan_text import Check

__all__ = [
    "MAX_SWEEP_POINTS", "ORDERS", "expand_sweep", "fill_template", "parse_sweep", "plan_shmoos",
]  # fmt: skip

# 10 000 points of half a second are more than an hour: beyond that the plan is a typo.
MAX_SWEEP_POINTS = 10_000
ORDERS = ("x-fastest", "y-fastest")


def misnamed_axis(line: str, axes) -> str | None:
    """What is wrong when a send line writes an axis otherwise than ``{name}``
    (``{vdd_mv:.0f}``, ``{ vdd_mv }``, ``{vdd_mv``): sent as typed at every point, never
    filled in; None when it does not."""
    for axis in axes:
        near = re.search(r"\{\s*" + re.escape(axis.name) + r"\b(?!\})", line)
        if near is not None:
            return (
                f"has {near.group(0)!r}, which is not filled in: write {{{axis.name}}} for the "
                f"point's {axis.name}"
            )
    return None


# Axis names are what send lines name as {name}.
_AXIS_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FIELD = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")
# Range values are rounded to this many significant digits, so 0.1 steps give 0.3, not
# 0.30000000000000004, and the stop value is reached exactly.
_DIGITS = 12


def parse_sweep(
    check: Check, table: dict, path: tuple, what: str
) -> tuple[SweepAxis, SweepAxis | None, str]:
    """The axes and order of a step's ``[step.sweep]`` table."""
    sweep = table["sweep"]
    spath = path + ("sweep", 0)
    where = f"{what}, sweep"
    if not isinstance(sweep, dict):
        raise check.fail(path + ("sweep",), what, "sweep must be a table ([step.sweep])")
    check.unknown(sweep, {"x", "y", "order"}, spath, where)
    if "x" not in sweep:
        if "y" in sweep:
            raise check.fail(
                spath + ("y",), where, "y without x: a sweep's first (or only) axis is x"
            )
        raise check.fail(spath, where, "x is required (the swept parameter)")
    x = _axis(check, sweep, "x", spath, where)
    y = _axis(check, sweep, "y", spath, where) if "y" in sweep else None
    if y is not None and y.name == x.name:
        raise check.fail(
            spath + ("y",), where, f"x and y both sweep {x.name!r}; give the axes distinct names"
        )
    order = check.get(sweep, "order", (str,), spath, where, "x-fastest")
    if order not in ORDERS:
        raise check.fail(
            spath + ("order",), where, f"order must be x-fastest or y-fastest, not {order!r}"
        )
    if y is not None and len(x.values) * len(y.values) > MAX_SWEEP_POINTS:
        raise check.fail(
            spath + ("y",),
            where,
            f"{len(x.values):,} x {len(y.values):,} = {len(x.values) * len(y.values):,} points; "
            f"a sweep may have at most {MAX_SWEEP_POINTS:,}",
        )
    return x, y, order


def _axis(check: Check, sweep: dict, key: str, spath: tuple, where: str) -> SweepAxis:
    at = spath + (key,)
    table = sweep[key]
    if not isinstance(table, dict):
        raise check.fail(
            at,
            where,
            f"{key} must be a table: {key} = {{ name = ..., start = ..., stop = ..., step = ... }}"
            f" or {key} = {{ name = ..., values = [...] }}",
        )
    what = f"{where}, axis {key}"
    check.unknown(table, {"name", "start", "stop", "step", "values"}, at, what)
    name = check.get(table, "name", (str,), at, what, required=True)
    if not _AXIS_NAME.match(name):
        raise check.fail(
            at + ("name",),
            what,
            f"axis name {name!r} must be a word (letters, digits, _) that send lines "
            "can name as {" + (name or "name") + "}",
        )
    what = f"{where}, axis {key} ({name})"
    if "values" in table:
        ranged = sorted({"start", "stop", "step"} & set(table))
        if ranged:
            raise check.fail(
                at + (ranged[0],), what, "give either values or start/stop/step, not both"
            )
        values = check.get(table, "values", (list,), at, what)
        if not values:
            raise check.fail(at + ("values",), what, "values is empty: a sweep needs points")
        out = []
        for value in values:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise check.fail(at + ("values",), what, f"values must be numbers, not {value!r}")
            try:
                number = float(value)
            except OverflowError:
                raise check.fail(
                    at + ("values",), what, f"the value {value} is too large to use"
                ) from None
            if not math.isfinite(number):
                raise check.fail(
                    at + ("values",), what, f"values must be finite numbers, not {value!r}"
                )
            out.append(number)
        seen: set[float] = set()
        for number in out:
            if number in seen:
                raise check.fail(
                    at + ("values",), what, f"the value {axis_text(number)} is listed twice"
                )
            seen.add(number)
        if len(out) > MAX_SWEEP_POINTS:
            raise check.fail(
                at + ("values",),
                what,
                f"{len(out):,} values; a sweep may have at most {MAX_SWEEP_POINTS:,} points",
            )
        return SweepAxis(name, tuple(out))
    for needed in ("start", "stop", "step"):
        if needed not in table:
            raise check.fail(
                at, what, f"{needed} is required (or give the points as values = [...])"
            )
    start = check.get(table, "start", (float,), at, what)
    stop = check.get(table, "stop", (float,), at, what)
    step = check.get(table, "step", (float,), at, what)
    if step == 0:
        raise check.fail(at + ("step",), what, "step must not be 0")
    span = (stop - start) / step
    if not math.isfinite(span):
        raise check.fail(at + ("step",), what, "start, stop and step are too large to sweep")
    if span < 0:
        direction = "up" if step > 0 else "down"
        raise check.fail(
            at + ("step",),
            what,
            f"the range is empty: a step of {axis_text(step)} goes {direction}, "
            f"from {axis_text(start)} never to {axis_text(stop)}",
        )
    count = math.floor(span + 1e-9) + 1
    if count > MAX_SWEEP_POINTS:
        raise check.fail(
            at + ("step",),
            what,
            f"{axis_text(start)} to {axis_text(stop)} by {axis_text(step)} is {count:,} points; "
            f"a sweep may have at most {MAX_SWEEP_POINTS:,}",
        )
    values = tuple(float(f"{start + i * step:.{_DIGITS}g}") for i in range(count))
    if len(set(values)) != len(values):
        raise check.fail(
            at + ("step",), what, f"a step of {axis_text(step)} is too small for these values"
        )
    return SweepAxis(name, values)


def fill_template(line: str, values: dict[str, float]) -> str:
    """A send line with each ``{name}`` of an axis replaced by the point's value."""
    return _FIELD.sub(
        lambda m: axis_text(values[m.group(1)]) if m.group(1) in values else m.group(0), line
    )


def point_name(sweep: str, x_name: str, x: float, y_name: str | None, y: float | None) -> str:
    name = f"{sweep} {x_name}={axis_text(x)}"
    return name if y_name is None else f"{name} {y_name}={axis_text(y)}"


def expand_sweep(step: Step, spec: SweepSpec) -> list[Step]:
    """The point steps of a sweep step, in execution order."""
    xs = spec.x.values
    ys: tuple[float | None, ...] = spec.y.values if spec.y else (None,)
    y_name = spec.y.name if spec.y else None
    if spec.order == "x-fastest":
        coordinates = [(x, y) for y in ys for x in xs]
    else:
        coordinates = [(x, y) for x in xs for y in ys]
    points = []
    for order, (x, y) in enumerate(coordinates):
        values = {spec.x.name: x} if y is None else {spec.x.name: x, y_name: y}
        points.append(
            Step(
                point_name(spec.name, spec.x.name, x, y_name, y),
                spec.dwell_s,
                tuple(fill_template(line, values) for line in step.send),
                step.limits,
                step.measures,
                step.results,
                step.manuals,
                step.timings,
                SweepCoordinates(spec.name, spec.x.name, x, y_name, y, order),
            )
        )
    return points


def plan_shmoos(plan: Plan, verdicts: Mapping[int, str | None]) -> dict[str, Shmoo]:
    """Each sweep of ``plan`` as a shmoo with every one of its points, for a live view:
    ``verdicts`` maps a step's position to its verdict so far (``ItemVerdictChanged``'s
    ``step_verdict``, or a step record's); a point without one is not run yet (``-``).
    Keyed by the sweep step's name, in plan order."""
    groups: dict[str, list[SweepPoint]] = {}
    axes: dict[str, tuple[str, str | None]] = {}
    for position, step in enumerate(plan.steps):
        point = step.point
        if point is None:
            continue
        axes.setdefault(point.sweep, (point.x_name, point.y_name))
        verdict = verdicts.get(position)
        if verdict in ("skipped", "pending"):
            verdict = None
        groups.setdefault(point.sweep, []).append(
            SweepPoint(point.x, point.y, None if verdict is None else point.order, verdict)
        )
    return {name: build_shmoo(*axes[name], points) for name, points in groups.items()}
