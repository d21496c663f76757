"""What a bring-up plan holds once loaded: steps and the items judged in them.

Each item checks itself when built (docs/architecture.md §4) and describes its limits in the
same words everywhere (``describe()``); :mod:`labbench.runs.plan` builds them from TOML.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from labbench.criteria.band import CriterionError, describe_limits
from labbench.criteria.limits import STATS, Band


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

    @property
    def duration_s(self) -> float:
        return sum(step.duration_s for step in self.steps)

    def unit(self, channel: str) -> str:
        return self.channel_units.get(channel, "")
