"""``[[step.timing]]`` tables of a plan: power-sequencing items (docs/architecture.md §4).

```toml
[[step.timing]]
kind = "rise"                        # 10 % -> 90 % of nominal
channel = "vdd_core"
nominal = 0.75
high_ms = 5

[[step.timing]]
kind = "delay"                       # from crossing from_fraction to crossing to_fraction
from = "vdd_io"
to = "vdd_core"
from_fraction = 0.9                  # both default to 0.9
to_fraction = 0.1
nominal = { vdd_io = 1.8, vdd_core = 0.75 }
low_ms = 1

[[step.timing]]
kind = "order"                       # each reaches 90 % after the one before
channels = ["vdd_io", "vdd_aux", "vdd_core"]
nominal = { vdd_io = 1.8, vdd_aux = 1.2, vdd_core = 0.75 }
```

A rise item's ``nominal`` is a number (or a table naming its one rail); a delay or order
item's is a table naming each of its rails.  ``low_ms`` and ``high_ms`` are each optional.
Every mistake is one sentence with the file, line, step and key.
"""

from __future__ import annotations

from labbench.criteria.band import CriterionError
from labbench.criteria.timing import TIMING_KINDS
from labbench.protocols.slots import SlotNameError, split_slot
from labbench.runs.plan_items import TimingSpec
from labbench.runs.plan_text import Check

__all__ = ["DEFAULT_FRACTION", "parse_timing"]

# A delay is measured from one rail reaching 90 % of its nominal to the next reaching 90 % of
# its own unless the plan says otherwise: the same point the order items look at.
DEFAULT_FRACTION = 0.9

_COMMON = {"kind", "name", "nominal", "low_ms", "high_ms"}
_KEYS = {
    "rise": _COMMON | {"channel"},
    "delay": _COMMON | {"from", "to", "from_fraction", "to_fraction"},
    "order": _COMMON | {"channels"},
}


def parse_timing(
    check: Check,
    table: dict,
    path: tuple,
    what: str,
    units: dict[str, str],
    per_slot: set[str],
    duration_s: float,
) -> TimingSpec:
    """One ``[[step.timing]]`` table; ``what`` names its step and position."""
    kind = check.get(table, "kind", (str,), path, what, required=True)
    if kind not in TIMING_KINDS:
        raise check.fail(
            path + ("kind",), what, f"unknown timing kind {kind!r} (known: rise delay order)"
        )
    check.unknown(table, _KEYS[kind], path, what)
    if kind == "rise":
        rails = [_rail(check, table, "channel", path, what, units, per_slot)]
        default = f"{rails[0]}_rise"
    elif kind == "delay":
        rails = [_rail(check, table, key, path, what, units, per_slot) for key in ("from", "to")]
        if rails[0] == rails[1]:
            raise check.fail(path + ("to",), what, f"from and to name the same rail {rails[0]!r}")
        default = f"{rails[0]}_to_{rails[1]}_delay"
    else:
        rails = _order_rails(check, table, path, what, units, per_slot)
        default = "order_" + "_".join(rails)
    name = check.get(table, "name", (str,), path, what, default).strip()
    if not name:
        raise check.fail(path + ("name",), what, "name must not be empty")
    what = f"{what} ({name})"
    nominals = _nominals(check, table, path, what, kind, rails)
    fractions = []
    if kind == "delay":
        for key in ("from_fraction", "to_fraction"):
            value = check.get(table, key, (float,), path, what, DEFAULT_FRACTION)
            if not 0 < value <= 1:
                raise check.fail(
                    path + (key,), what, f"{key} must lie in (0, 1] (a fraction), not {value:g}"
                )
            fractions.append(value)
    low_ms = check.get(table, "low_ms", (float,), path, what)
    high_ms = check.get(table, "high_ms", (float,), path, what)
    if low_ms is not None and high_ms is not None and low_ms > high_ms:
        raise check.fail(
            path + ("low_ms",), what, f"low_ms {low_ms:g} is above high_ms {high_ms:g}"
        )
    if kind in ("rise", "order") and high_ms is not None and high_ms <= 0:
        raise check.fail(
            path + ("high_ms",),
            what,
            f"high_ms {high_ms:g} could never pass: a {kind} time is longer than 0 ms",
        )
    if low_ms is not None and low_ms > duration_s * 1e3:
        raise check.fail(
            path + ("low_ms",),
            what,
            f"low_ms {low_ms:g} is longer than the {duration_s:g} s step, so it could never pass",
        )
    try:
        return TimingSpec(
            name, kind, tuple(rails), tuple(nominals), low_ms, high_ms, tuple(fractions)
        )
    except CriterionError as exc:  # what the checks above missed, in the item's own words
        raise check.fail(path + (exc.key,), what, exc.message) from None


def _rail(
    check: Check,
    table: dict,
    key: str,
    path: tuple,
    what: str,
    units: dict[str, str],
    per_slot: set[str],
) -> str:
    channel = check.get(table, key, (str,), path, what, required=True)
    return _declared(check, channel, path + (key,), what, units, per_slot)


def _declared(
    check: Check, channel: str, where: tuple, what: str, units: dict[str, str], per_slot: set[str]
) -> str:
    """A rail a timing item names: a declared ``[[channel]]``, or one slot of one."""
    try:
        base, slot = split_slot(channel)
    except SlotNameError as exc:
        raise check.fail(where, what, str(exc)) from None
    if channel in per_slot:
        raise check.fail(
            where,
            what,
            f"{channel!r} is judged per slot; a timing item judges one rail: "
            f"name one slot ({channel}[0])",
        )
    if channel not in units and (slot is None or base not in units):
        known = ", ".join(sorted(units)) or "none"
        raise check.fail(
            where,
            what,
            f"channel {channel!r} is not declared in a [[channel]] table (declared: {known})",
        )
    return channel


def _order_rails(
    check: Check, table: dict, path: tuple, what: str, units: dict[str, str], per_slot: set[str]
) -> list[str]:
    where = path + ("channels",)
    rails = check.get(table, "channels", (list,), path, what, required=True)
    if not all(isinstance(x, str) for x in rails):
        raise check.fail(where, what, "channels must be a list of channel names")
    if len(rails) < 2:
        raise check.fail(where, what, f"an order item needs at least two rails, not {len(rails)}")
    seen = set()
    for rail in rails:
        if rail in seen:
            raise check.fail(where, what, f"{rail!r} is listed twice")
        seen.add(rail)
        _declared(check, rail, where, what, units, per_slot)
    return list(rails)


def _nominals(
    check: Check, table: dict, path: tuple, what: str, kind: str, rails: list[str]
) -> list[float]:
    where = path + ("nominal",)
    if "nominal" not in table:
        shape = (
            "nominal = 0.75"
            if kind == "rise"
            else "nominal = { " + ", ".join(f"{r} = …" for r in rails) + " }"
        )
        raise check.fail(where, what, f"nominal is required ({shape})")
    value = table["nominal"]
    if kind == "rise" and not isinstance(value, dict):
        value = {rails[0]: check.get(table, "nominal", (float,), path, what)}
    if not isinstance(value, dict):
        raise check.fail(
            where,
            what,
            f"a {kind} item needs each rail's nominal as a table "
            "(nominal = { " + ", ".join(f"{r} = …" for r in rails) + f" }}), not {value!r}",
        )
    extra = sorted(set(value) - set(rails))
    if extra:
        raise check.fail(where, what, f"nominal names {extra[0]!r}, which this item does not judge")
    out = []
    for rail in rails:
        if rail not in value:
            raise check.fail(where, what, f"nominal gives no value for rail {rail!r}")
        number = check.get(value, rail, (float,), where, what)
        if number <= 0:
            raise check.fail(
                where, what, f"the nominal of {rail!r} must be positive, not {number:g}"
            )
        out.append(number)
    return out
