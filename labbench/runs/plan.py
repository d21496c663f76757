"""Bring-up test plans (TOML, docs/architecture.md §4): loading and validation.

A plan validates itself when loaded: a mistake is reported with the file, the line, the
step and the key at fault, before anything touches a rig.  Hostile files get the same
treatment: a plan over :data:`MAX_PLAN_BYTES`, nesting deeper than :data:`MAX_NESTING`,
numbers out of range (huge integers, NaN, inf, a step of 1e300 s) and ``{field}`` templates
in ``send`` lines that nothing fills in are each one sentence, never a traceback.
"""

from __future__ import annotations

import math
import tomllib
from collections import Counter
from pathlib import Path

from labbench.criteria.band import CriterionError
from labbench.criteria.limits import STATS, Band
from labbench.protocols.slots import SlotNameError, split_slot
from labbench.runs.plan_items import (
    LimitSpec,
    ManualSpec,
    MeasureSpec,
    Plan,
    ResultSpec,
    Step,
    SweepSpec,
    TimingSpec,
)
from labbench.runs.plan_sweep import expand_sweep, misnamed_axis, parse_sweep
from labbench.runs.plan_text import (
    DUT_KINDS,
    MAX_NESTING,
    MAX_PLAN_BYTES,
    MAX_STEP_S,
    SEND_FIELDS,
    Check,
    KeyLines,
    PlanError,
    nesting_problem,
    template_fields,
    too_big,
)
from labbench.runs.plan_timing import parse_timing

# Stored step names hold at most this many characters (step_results.name).
MAX_STEP_NAME = 128

__all__ = [
    "DUT_KINDS", "MAX_NESTING", "MAX_PLAN_BYTES", "MAX_STEP_S", "SEND_FIELDS", "LimitSpec",
    "ManualSpec", "MeasureSpec", "Plan", "PlanError", "ResultSpec", "Step", "TimingSpec",
    "load_plan", "parse_plan",
]  # fmt: skip


_BAND_KEYS = {
    "low",
    "high",
    "marginal_low",
    "marginal_high",
    "nominal",
    "tolerance",
    "tolerance_pct",
}


def _band(check: Check, table: dict, path: tuple, what: str, required: bool = True) -> Band | None:
    num = (float,)
    low = check.get(table, "low", num, path, what)
    high = check.get(table, "high", num, path, what)
    nominal = check.get(table, "nominal", num, path, what)
    tolerance = check.get(table, "tolerance", num, path, what)
    tolerance_pct = check.get(table, "tolerance_pct", num, path, what)
    guards = {
        "marginal_low": check.get(table, "marginal_low", num, path, what),
        "marginal_high": check.get(table, "marginal_high", num, path, what),
    }
    if nominal is not None and (low is not None or high is not None):
        raise check.fail(
            path + ("nominal",), what, "give either nominal with a tolerance, or low/high, not both"
        )
    if nominal is None and (tolerance is not None or tolerance_pct is not None):
        raise check.fail(
            path + ("tolerance" if tolerance is not None else "tolerance_pct",),
            what,
            "a tolerance needs a nominal",
        )
    if nominal is None and low is None and high is None:
        if required:
            raise check.fail(path, what, "needs low and/or high (or nominal with a tolerance)")
        return None
    try:
        if nominal is not None:
            return Band.around(nominal, tolerance=tolerance, tolerance_pct=tolerance_pct, **guards)
        return Band(low, high, **guards)
    except CriterionError as exc:
        raise check.fail(path + (exc.key,), what, exc.message) from None


def _non_negative(check: Check, table: dict, key: str, path: tuple, what: str) -> float:
    value = check.get(table, key, (float,), path, what, 0.0)
    if value < 0:
        raise check.fail(path + (key,), what, f"{key} must not be negative, not {value:g}")
    if value > MAX_STEP_S:
        raise check.fail(
            path + (key,),
            what,
            f"{key} {value:g} s is longer than a step may last ({MAX_STEP_S:g} s, a week)",
        )
    return value


def parse_plan(text: str, source: str = "<plan>") -> Plan:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_PLAN_BYTES:
        raise too_big(source, size)
    nesting = nesting_problem(text, source)
    if nesting:
        raise nesting
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"{source}: TOML syntax error: {exc}") from None
    except RecursionError:
        raise PlanError(f"{source}: arrays or tables nest too deeply to read") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise PlanError(f"{source}: a value cannot be read: {exc}") from None
    check = Check(source, KeyLines(text))
    check.unknown(data, {"plan", "channel", "step"}, (), "plan file")
    head = data.get("plan")
    if not isinstance(head, dict):
        raise check.fail((), "plan file", "the [plan] table is missing")
    check.unknown(
        head, {"name", "version", "dut_kind", "description", "stop_on_fail"}, ("plan",), "[plan]"
    )
    name = check.get(head, "name", (str,), ("plan",), "[plan]", required=True).strip()
    version = check.get(head, "version", (str, int), ("plan",), "[plan]", required=True)
    version = str(version).strip()
    if not name or not version:
        raise check.fail(("plan",), "[plan]", "name and version must not be empty")
    for key, value, longest in (("name", name, 128), ("version", version, 64)):
        if len(value) > longest:
            raise check.fail(
                ("plan", key),
                "[plan]",
                f"{key} is {len(value)} characters long; at most {longest} fit",
            )
    dut_kind = check.get(head, "dut_kind", (str,), ("plan",), "[plan]", required=True)
    if dut_kind not in DUT_KINDS:
        raise check.fail(
            ("plan", "dut_kind"), "[plan]", f"dut_kind must be sled or chip, not {dut_kind!r}"
        )

    units: dict[str, str] = {}
    per_slot: set[str] = set()
    for i, table in enumerate(_tables(check, data, "channel", (), "plan file")):
        path, what = ("channel", i), f"channel {i + 1}"
        check.unknown(table, {"name", "unit", "per_slot"}, path, what)
        channel = _channel_name(check, table, path, what)
        units[channel] = check.get(table, "unit", (str,), path, what, "")
        if check.get(table, "per_slot", (bool,), path, what, False):
            per_slot.add(_per_slot_channel(check, channel, dut_kind, path, what))

    steps: list[Step] = []
    sweeps: list[SweepSpec] = []
    raw_steps = _tables(check, data, "step", (), "plan file")
    if not raw_steps:
        raise check.fail((), "plan file", "a plan needs at least one [[step]]")
    names = set()
    for i, table in enumerate(raw_steps):
        path = ("step", i)
        step_name = table.get("name") if isinstance(table.get("name"), str) else f"#{i + 1}"
        what = f"step {i + 1} {step_name!r}"
        check.unknown(
            table,
            {
                "name", "duration_s", "dwell_s", "send", "limit", "measure", "result", "manual",
                "timing", "sweep",
            },
            path,
            what,
        )  # fmt: skip
        step_name = check.get(table, "name", (str,), path, what, required=True)
        if step_name in names:
            raise check.fail(path + ("name",), what, "another step has the same name")
        names.add(step_name)
        axes: tuple = ()
        if "sweep" in table:
            x_axis, y_axis, order = parse_sweep(check, table, path, what)
            axes = (x_axis, y_axis) if y_axis else (x_axis,)
            if "duration_s" in table:
                raise check.fail(
                    path + ("duration_s",),
                    what,
                    "a sweep step lasts dwell_s per point, not duration_s",
                )
            duration_key = "dwell_s"
        else:
            if "dwell_s" in table:
                raise check.fail(
                    path + ("dwell_s",),
                    what,
                    "dwell_s is the time per point of a sweep step ([step.sweep]); "
                    "a plain step lasts duration_s",
                )
            duration_key = "duration_s"
        duration = check.get(table, duration_key, (float,), path, what, required=True)
        if duration <= 0:
            raise check.fail(
                path + (duration_key,),
                what,
                f"{duration_key} must be positive, not {duration:g}",
            )
        if duration > MAX_STEP_S:
            raise check.fail(
                path + (duration_key,),
                what,
                f"{duration_key} {duration:g} is longer than a step may last "
                f"({MAX_STEP_S:g} s, a week)",
            )
        send = check.get(table, "send", (list,), path, what, [])
        if not all(isinstance(line, str) for line in send):
            raise check.fail(path + ("send",), what, "send must be a list of text lines")
        fields = SEND_FIELDS | {axis.name for axis in axes}
        for k, line in enumerate(send):
            unknown = [f for f in template_fields(line) if f not in fields]
            if unknown:
                if axes:
                    raise check.fail(
                        path + ("send",),
                        what,
                        f"send line {k + 1} {line!r} names {{{unknown[0]}}}, which is not an "
                        f"axis of this step's sweep (axes: "
                        f"{', '.join(axis.name for axis in axes)})",
                    )
                known = ", ".join(sorted(SEND_FIELDS)) or "only a sweep step's axes"
                raise check.fail(
                    path + ("send",),
                    what,
                    f"send line {k + 1} {line!r} names the field {{{unknown[0]}}}, "
                    f"which nothing fills in (known fields: {known})",
                )
            if (near := misnamed_axis(line, axes)) is not None:
                raise check.fail(path + ("send",), what, f"send line {k + 1} {line!r} {near}")
        if axes and _tables(check, table, "manual", path, what):
            raise check.fail(
                path + ("manual",),
                what,
                "a sweep step cannot ask for manual entries (every point would ask again)",
            )

        limits = []
        for j, lt in enumerate(_tables(check, table, "limit", path, what)):
            p, w = path + ("limit", j), f"{what}, limit {j + 1}"
            check.unknown(lt, _BAND_KEYS | {"channel", "settle_s", "hold_s"}, p, w)
            channel = _channel_name(check, lt, p, w, "channel")
            w = f"{what}, limit {j + 1} ({channel})"
            limits.append(
                LimitSpec(
                    channel,
                    _band(check, lt, p, w),
                    _non_negative(check, lt, "settle_s", p, w),
                    _non_negative(check, lt, "hold_s", p, w),
                )
            )
            settle, hold = limits[-1].settle_s, limits[-1].hold_s
            if settle >= duration:
                raise check.fail(
                    p + ("settle_s",),
                    w,
                    f"settle_s {settle:g} leaves nothing of the {duration:g} s step to judge",
                )
            if hold > duration - settle:
                raise check.fail(
                    p + ("hold_s",),
                    w,
                    f"hold_s {hold:g} is longer than the {duration - settle:g} s judged, "
                    "so this limit could never fail",
                )

        measures = []
        for j, mt in enumerate(_tables(check, table, "measure", path, what)):
            p, w = path + ("measure", j), f"{what}, measure {j + 1}"
            check.unknown(mt, _BAND_KEYS | {"name", "channel", "stat", "settle_s"}, p, w)
            channel = _channel_name(check, mt, p, w, "channel")
            m_name = check.get(mt, "name", (str,), p, w, f"{channel}_{mt.get('stat', '')}")
            w = f"{what}, measure {m_name!r}"
            stat = check.get(mt, "stat", (str,), p, w, required=True)
            if stat not in STATS:
                raise check.fail(
                    p + ("stat",), w, f"unknown stat {stat!r} (known: {' '.join(STATS)})"
                )
            settle = _non_negative(check, mt, "settle_s", p, w)
            if settle >= duration:
                raise check.fail(
                    p + ("settle_s",),
                    w,
                    f"settle_s {settle:g} leaves nothing of the {duration:g} s step to measure",
                )
            measures.append(MeasureSpec(m_name, channel, stat, _band(check, mt, p, w), settle))

        results = []
        for j, rt in enumerate(_tables(check, table, "result", path, what)):
            p, w = path + ("result", j), f"{what}, result {j + 1}"
            check.unknown(rt, _BAND_KEYS | {"name", "equals"}, p, w)
            r_name = check.get(rt, "name", (str,), p, w, required=True)
            band, equals = _band_or_equals(check, rt, p, f"{what}, result {r_name!r}")
            results.append(ResultSpec(r_name, band, equals))

        manuals = []
        for j, ut in enumerate(_tables(check, table, "manual", path, what)):
            p, w = path + ("manual", j), f"{what}, manual entry {j + 1}"
            check.unknown(ut, _BAND_KEYS | {"name", "equals", "prompt", "unit"}, p, w)
            u_name = check.get(ut, "name", (str,), p, w, required=True)
            band, equals = _band_or_equals(check, ut, p, f"{what}, manual entry {u_name!r}")
            manuals.append(
                ManualSpec(
                    u_name,
                    check.get(ut, "prompt", (str,), p, w, ""),
                    check.get(ut, "unit", (str,), p, w, ""),
                    band,
                    equals,
                )
            )

        timings = [
            parse_timing(check, tt, path + ("timing", j), f"{what}, timing {j + 1}", units,
                         per_slot, duration)
            for j, tt in enumerate(_tables(check, table, "timing", path, what))
        ]  # fmt: skip
        item_names = Counter(
            [x.channel for x in limits]
            + [x.name for x in measures]
            + [x.name for x in results]
            + [x.name for x in manuals]
            + [x.name for x in timings]
        )
        duplicates = {n for n, count in item_names.items() if count > 1}
        # A per-slot channel's limit is judged as vdd_core[0] … per chip: a limit on one slot
        # of it in the same step would be a second item of that name.
        for j, x in enumerate(limits):
            base = _slot_base(x.channel)
            if base is not None and base in per_slot and base in item_names:
                raise check.fail(
                    path + ("limit", j, "channel"),
                    f"{what}, limit {j + 1}",
                    f"the limit on {x.channel!r} is judged twice: the limit on per-slot "
                    f"channel {base!r} already judges every slot; drop one of them",
                )
        if duplicates:
            raise check.fail(
                path,
                what,
                f"two items are named {sorted(duplicates)[0]!r}; give them distinct names",
            )
        step = Step(
            step_name,
            duration,
            tuple(send),
            tuple(limits),
            tuple(measures),
            tuple(results),
            tuple(manuals),
            tuple(timings),
        )
        if not axes:
            steps.append(step)
            continue
        spec = SweepSpec(step_name, axes[0], axes[1] if len(axes) > 1 else None, order, duration)
        points = expand_sweep(step, spec)
        for point in points:
            if point.name in names:
                raise check.fail(
                    path + ("name",),
                    what,
                    f"the sweep's point {point.name!r} has the name of another step",
                )
            if len(point.name) > MAX_STEP_NAME:
                raise check.fail(
                    path + ("name",),
                    what,
                    f"the sweep's point names ({point.name!r}) are longer than "
                    f"{MAX_STEP_NAME} characters; shorten the step or axis names",
                )
            names.add(point.name)
        sweeps.append(spec)
        steps.extend(points)

    return Plan(
        name=name,
        version=version,
        dut_kind=dut_kind,
        description=check.get(head, "description", (str,), ("plan",), "[plan]", ""),
        stop_on_fail=check.get(head, "stop_on_fail", (bool,), ("plan",), "[plan]", False),
        channel_units=units,
        steps=tuple(steps),
        per_slot_channels=frozenset(per_slot),
        sweeps=tuple(sweeps),
        text=text,
        source=source,
    )


def _channel_name(check: Check, table: dict, path: tuple, what: str, key: str = "name") -> str:
    """A channel name as the rig reports it: ``vdd_core``, or ``vdd_core[2]`` for one slot."""
    channel = check.get(table, key, (str,), path, what, required=True)
    try:
        split_slot(channel)
    except SlotNameError as exc:
        raise check.fail(path + (key,), what, str(exc)) from None
    return channel


def _slot_base(channel: str) -> str | None:
    """``vdd_core`` of ``vdd_core[2]``; None for a name without a slot."""
    try:
        base, slot = split_slot(channel)
    except SlotNameError:
        return None
    return base if slot is not None else None


def _per_slot_channel(check: Check, channel: str, dut_kind: str, path: tuple, what: str) -> str:
    """A ``per_slot = true`` channel: named without a slot, in a sled plan."""
    where = path + ("per_slot",)
    if dut_kind != "sled":
        raise check.fail(
            where,
            what,
            f'per_slot = true needs dut_kind = "sled" (a {dut_kind} has no slots to judge)',
        )
    base, slot = split_slot(channel)
    if slot is not None:
        raise check.fail(
            path + ("name",),
            what,
            f"a per-slot channel is named without its slot ({base}, not {channel}): "
            "it is judged in every occupied slot",
        )
    return channel


def _tables(check: Check, table: dict, key: str, path: tuple, what: str) -> list[dict]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(x, dict) for x in value):
        prefix = "".join(f"{p}." for p in path[::2] if isinstance(p, str))
        raise check.fail(
            path + (key,),
            what,
            f"{key} must be an array of tables ([[{prefix}{key}]])",
        )
    return value


def _band_or_equals(
    check: Check, table: dict, path: tuple, what: str
) -> tuple[Band | None, str | None]:
    equals = table.get("equals")
    if equals is not None:
        if any(k in table for k in _BAND_KEYS):
            raise check.fail(path + ("equals",), what, "give either equals or limits, not both")
        if isinstance(equals, bool) or not isinstance(equals, (str, int, float)):
            raise check.fail(
                path + ("equals",), what, f"equals must be text or a number, not {equals!r}"
            )
        if isinstance(equals, float) and not math.isfinite(equals):
            raise check.fail(
                path + ("equals",), what, f"equals must be a finite number, not {equals!r}"
            )
        if isinstance(equals, int) and len(str(abs(equals))) > 30:
            raise check.fail(
                path + ("equals",),
                what,
                f"equals is a {len(str(abs(equals)))}-digit number, too large to compare",
            )
        return None, str(equals)
    band = _band(check, table, path, what, required=False)
    if band is None:
        raise check.fail(path, what, "needs equals, or low and/or high")
    return band, None


def load_plan(path: str | Path) -> Plan:
    path = Path(path)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_PLAN_BYTES + 1)
            if len(raw) > MAX_PLAN_BYTES:
                raise too_big(str(path), max(path.stat().st_size, len(raw)))
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise PlanError(f"{path}: no such plan file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"{path}: cannot read the plan ({exc})") from None
    return parse_plan(text, str(path))
