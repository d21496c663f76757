"""What a bring-up plan holds once loaded: steps and the items judged in them.

Each item checks itself when built (docs/architecture.md §4) and describes its limits in the
same words everywhere (``describe()``); :mod:`labbench.runs.plan` builds them from TOML.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from labbench.criteria.band import CriterionError, describe_limits
from labbench.criteria.limits import STATS, Band
from labbench.criteria.timing import (
    ORDER_FRACTION,
    RISE_FROM,
    RISE_TO,
    TIMING_KINDS,
    TimingTracker,
    describe_ms,
)
from labbench.protocols.slots import SlotNameError, join_slot, split_slot
from labbench.records import SweepCoordinates


def _check_times(**times: float) -> None:
    for key, value in times.items():
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise CriterionError(
                key, f"{key} must be a finite number of seconds, at least 0, not {value!r}"
            )


def _check_expectation(band: Band | None, equals: str | None) -> None:
    if (band is None) == (equals is None):
        raise CriterionError("equals", "needs equals, or low and/or high (not both)")


@dataclass(frozen=True)
class LimitSpec:
    channel: str
    band: Band
    settle_s: float = 0.0
    hold_s: float = 0.0

    def __post_init__(self) -> None:
        _check_times(settle_s=self.settle_s, hold_s=self.hold_s)

    @property
    def name(self) -> str:
        return self.channel

    def describe(self, unit: str = "") -> str:
        return self.band.describe(unit)


@dataclass(frozen=True)
class MeasureSpec:
    name: str
    channel: str
    stat: str
    band: Band
    settle_s: float = 0.0

    def __post_init__(self) -> None:
        if self.stat not in STATS:
            raise CriterionError("stat", f"unknown stat {self.stat!r} (known: {' '.join(STATS)})")
        _check_times(settle_s=self.settle_s)

    def describe(self, unit: str = "") -> str:
        return self.band.describe(unit)


@dataclass(frozen=True)
class ResultSpec:
    """A value the rig reports itself (``RESULT name value`` with the default profile)."""

    name: str
    band: Band | None = None
    equals: str | None = None

    def __post_init__(self) -> None:
        _check_expectation(self.band, self.equals)

    def describe(self) -> str:
        return self.band.describe() if self.band else describe_limits(equals=self.equals)


@dataclass(frozen=True)
class ManualSpec:
    """A value the operator types at this step."""

    name: str
    prompt: str = ""
    unit: str = ""
    band: Band | None = None
    equals: str | None = None

    def __post_init__(self) -> None:
        _check_expectation(self.band, self.equals)

    def describe(self) -> str:
        return self.band.describe(self.unit) if self.band else describe_limits(equals=self.equals)


@dataclass(frozen=True)
class TimingSpec:
    """A power-sequencing item (``[[step.timing]]``): the rise time of one rail, the delay
    from one rail to another, or the order in which rails come up, in milliseconds.

    ``rails`` are the judged channels in the item's order (rise: one; delay: from, to;
    order: as listed), ``nominals`` their nominal values in the same order, ``fractions``
    the fraction of its nominal each crossing is taken at (delay only; rise uses 10 % and
    90 %, order 90 %)."""

    name: str
    kind: str
    rails: tuple[str, ...]
    nominals: tuple[float, ...]
    low_ms: float | None = None
    high_ms: float | None = None
    fractions: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in TIMING_KINDS:
            raise CriterionError(
                "kind", f"unknown timing kind {self.kind!r} (known: rise delay order)"
            )
        wanted = {"rise": 1, "delay": 2}.get(self.kind)
        if wanted is not None and len(self.rails) != wanted:
            raise CriterionError("rails", f"a {self.kind} item judges {wanted} rail(s)")
        if self.kind == "order" and len(self.rails) < 2:
            raise CriterionError("channels", "an order item needs at least two rails")
        if len(self.nominals) != len(self.rails):
            raise CriterionError("nominal", "give one nominal per rail")
        if self.kind == "delay" and len(self.fractions) != 2:
            raise CriterionError("from_fraction", "a delay item needs its two fractions")
        self.tracker()  # checks the fractions, nominals and limits

    @property
    def channel(self) -> str:
        """The judged rails as one text (``vdd_io,vdd_core``), for the results' channel."""
        return ",".join(self.rails)

    def thresholds(self) -> list[tuple[str, float, float]]:
        """(rail, fraction, nominal) of each crossing the item measures, in order."""
        if self.kind == "rise":
            rail, nominal = self.rails[0], self.nominals[0]
            return [(rail, RISE_FROM, nominal), (rail, RISE_TO, nominal)]
        if self.kind == "delay":
            return list(zip(self.rails, self.fractions, self.nominals, strict=True))
        return [
            (rail, ORDER_FRACTION, n) for rail, n in zip(self.rails, self.nominals, strict=True)
        ]

    def tracker(self) -> TimingTracker:
        return TimingTracker(self.kind, self.thresholds(), self.low_ms, self.high_ms)

    def describe(self, unit: str = "") -> str:
        return describe_ms(self.low_ms, self.high_ms)


@dataclass(frozen=True)
class Step:
    name: str
    duration_s: float
    send: tuple[str, ...] = ()
    limits: tuple[LimitSpec, ...] = ()
    measures: tuple[MeasureSpec, ...] = ()
    results: tuple[ResultSpec, ...] = ()
    manuals: tuple[ManualSpec, ...] = ()
    timings: tuple[TimingSpec, ...] = ()
    # A point of a sweep step (one step per coordinate, expanded when the plan loads): its
    # coordinates and order; None for a plain step.
    point: SweepCoordinates | None = None


@dataclass(frozen=True)
class SweepAxis:
    name: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class SweepSpec:
    """A ``[step.sweep]`` as written: the sweep step's name, its axes (``y`` None with one)
    and its order, ``x-fastest`` or ``y-fastest``.  Its points are the plan's steps whose
    ``point.sweep`` is ``name``, in execution order."""

    name: str
    x: SweepAxis
    y: SweepAxis | None
    order: str
    dwell_s: float

    @property
    def size(self) -> int:
        return len(self.x.values) * (len(self.y.values) if self.y else 1)


@dataclass(frozen=True)
class Plan:
    name: str
    version: str
    dut_kind: str
    description: str
    stop_on_fail: bool
    channel_units: dict[str, str]
    steps: tuple[Step, ...]
    text: str = field(repr=False, default="")
    source: str = ""
    # Channels declared ``per_slot = true``: their limits and measurements are judged once
    # for every occupied slot of the sled (on ``name[slot]``), not on the bare name.
    per_slot_channels: frozenset[str] = frozenset()
    # The plan's sweep steps as written, in plan order; their points are in ``steps``.
    sweeps: tuple[SweepSpec, ...] = ()

    @property
    def duration_s(self) -> float:
        return sum(step.duration_s for step in self.steps)

    def unit(self, channel: str) -> str:
        """The unit of a channel; one slot of a channel (``vdd_core[2]``) has its unit."""
        unit = self.channel_units.get(channel)
        if unit is None:
            try:
                base, slot = split_slot(channel)
            except SlotNameError:
                return ""
            unit = self.channel_units.get(base, "") if slot is not None else ""
        return unit

    def is_per_slot(self, channel: str) -> bool:
        """Whether items on ``channel`` are judged per slot (per chip) in this plan."""
        return channel in self.per_slot_channels

    def judged_slot_channels(self, channel: str, slots) -> list[str]:
        """The stored channels an item on ``channel`` judges for the occupied ``slots``:
        ``vdd_core[s]`` for each, in slot order, if the channel is per slot; else itself."""
        if channel not in self.per_slot_channels:
            return [channel]
        return [join_slot(channel, slot) for slot in sorted(set(slots))]
