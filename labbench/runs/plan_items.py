"""What a bring-up plan holds once loaded: steps and the items judged in them.

Each item checks itself when built (docs/architecture.md §4) and describes its limits in the
same words everywhere (``describe()``); :mod:`labbench.runs.plan` builds them from TOML.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from labbench.criteria.band import CriterionError, describe_limits
from labbench.criteria.limits import STATS, Band
from labbench.protocols.slots import SlotNameError, join_slot, split_slot


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
class Step:
    name: str
    duration_s: float
    send: tuple[str, ...] = ()
    limits: tuple[LimitSpec, ...] = ()
    measures: tuple[MeasureSpec, ...] = ()
    results: tuple[ResultSpec, ...] = ()
    manuals: tuple[ManualSpec, ...] = ()


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
