"""Limit bands that check themselves when built and say what they accept.

A :class:`Band` cannot exist in an inconsistent state: its constructor refuses NaN or infinite
bounds, ``low > high``, a guard band outside the limits or overlapping guard bands, with a
:class:`CriterionError` that names the key at fault.  :meth:`Band.describe` gives the text the
GUI, the command line and the reports print for a limit, so all three say it the same way
(docs/architecture.md §4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


class CriterionError(ValueError):
    """A limit, measurement or expected value that cannot be judged; ``key`` is the culprit."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key
        self.message = message


def g(x: float) -> str:
    """A limit as people write it: six significant digits, no trailing zeros."""
    return f"{x:.6g}"


def _finite(key: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CriterionError(key, f"{key} must be a number, not {value!r}")
    try:
        number = float(value)
    except OverflowError:
        raise CriterionError(key, f"{key} is too large to be a limit") from None
    if not math.isfinite(number):
        raise CriterionError(key, f"{key} must be a finite number, not {value!r}")
    return number


@dataclass(frozen=True)
class Band:
    """Inclusive limits, optional guard bands, and (for ``nominal ± tolerance`` plans) the
    nominal the limits were derived from, kept for :meth:`describe`."""

    low: float | None = None
    high: float | None = None
    marginal_low: float | None = None
    marginal_high: float | None = None
    nominal: float | None = None
    tolerance_pct: float | None = None

    def __post_init__(self) -> None:
        for key in ("low", "high", "marginal_low", "marginal_high", "nominal", "tolerance_pct"):
            object.__setattr__(self, key, _finite(key, getattr(self, key)))
        low, high, ml, mh = self.low, self.high, self.marginal_low, self.marginal_high
        if low is None and high is None:
            raise CriterionError("low", "needs low and/or high")
        if low is not None and high is not None and low > high:
            raise CriterionError("low", f"low {g(low)} is above high {g(high)}")
        if ml is not None:
            if low is None:
                raise CriterionError("marginal_low", "marginal_low needs a low limit")
            if ml < low or (high is not None and ml > high):
                raise CriterionError(
                    "marginal_low",
                    f"marginal_low {g(ml)} is outside the limits {_range(low, high)}",
                )
        if mh is not None:
            if high is None:
                raise CriterionError("marginal_high", "marginal_high needs a high limit")
            if mh > high or (low is not None and mh < low):
                raise CriterionError(
                    "marginal_high",
                    f"marginal_high {g(mh)} is outside the limits {_range(low, high)}",
                )
        if ml is not None and mh is not None and ml > mh:
            raise CriterionError(
                "marginal_low",
                f"the guard bands overlap (marginal_low {g(ml)} > marginal_high {g(mh)})",
            )
        if self.nominal is not None and not (
            low is not None and high is not None and low <= self.nominal <= high
        ):
            raise CriterionError(
                "nominal", f"nominal {g(self.nominal)} is outside the limits {_range(low, high)}"
            )
        if self.tolerance_pct is not None and self.nominal is None:
            raise CriterionError("tolerance_pct", "tolerance_pct needs a nominal")

    @classmethod
    def around(
        cls,
        nominal: float,
        *,
        tolerance: float | None = None,
        tolerance_pct: float | None = None,
        marginal_low: float | None = None,
        marginal_high: float | None = None,
    ) -> Band:
        """``nominal ± tolerance`` (absolute) or ``nominal ± tolerance_pct`` percent of it."""
        nominal = _finite("nominal", nominal)
        if (tolerance is None) == (tolerance_pct is None):
            raise CriterionError(
                "nominal", "nominal needs exactly one of tolerance or tolerance_pct"
            )
        key = "tolerance" if tolerance is not None else "tolerance_pct"
        amount = _finite(key, tolerance if tolerance is not None else tolerance_pct)
        if amount < 0:
            raise CriterionError(key, f"{key} must not be negative, not {g(amount)}")
        spread = amount if tolerance is not None else abs(nominal) * (amount / 100.0)
        low, high = nominal - spread, nominal + spread
        if not (math.isfinite(low) and math.isfinite(high)):
            raise CriterionError(
                key, f"nominal {g(nominal)} ± {g(spread)} is beyond the range of numbers"
            )
        return cls(
            low, high, marginal_low, marginal_high, nominal=nominal, tolerance_pct=tolerance_pct
        )

    def describe(self, unit: str = "") -> str:
        """The band in words: ``0.72 … 0.78 V (guard 0.73 / 0.77)``, ``≤ 85 °C``,
        ``0.75 ± 0.03 V``, ``12 V ± 5 %``."""
        u = f" {unit}" if unit else ""
        if self.nominal is not None and self.tolerance_pct is not None:
            text = f"{g(self.nominal)}{u} ± {g(self.tolerance_pct)} %"
        elif self.nominal is not None:
            text = f"{g(self.nominal)} ± {g(self.high - self.nominal)}{u}"
        else:
            text = _bounds(self.low, self.high) + u
        return text + _guards(self.marginal_low, self.marginal_high)

    def out_mask(self, v: np.ndarray) -> np.ndarray:
        out = np.isnan(v)
        if self.low is not None:
            out |= v < self.low
        if self.high is not None:
            out |= v > self.high
        return out

    def guard_mask(self, v: np.ndarray) -> np.ndarray:
        guard = np.zeros(v.shape, bool)
        if self.marginal_low is not None:
            guard |= (v >= self.low) & (v <= self.marginal_low)
        if self.marginal_high is not None:
            guard |= (v >= self.marginal_high) & (v <= self.high)
        return guard

    def judge_value(self, value: float) -> str:
        """A single value (a measurement, a result, a manual entry)."""
        v = np.array([value], dtype=np.float64)
        if self.out_mask(v)[0]:
            return "failed"
        return "marginal" if self.guard_mask(v)[0] else "passed"

    def distance_out(self, v: np.ndarray) -> np.ndarray:
        """How far each value lies outside the limits (0 inside; inf for NaN)."""
        d = np.zeros(v.shape)
        if self.low is not None:
            d = np.maximum(d, self.low - v)
        if self.high is not None:
            d = np.maximum(d, v - self.high)
        return np.where(np.isnan(v), np.inf, d)


def _range(low: float | None, high: float | None) -> str:
    return f"{'' if low is None else g(low)}..{'' if high is None else g(high)}"


def _bounds(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{g(low)} … {g(high)}"
    if low is not None:
        return f"≥ {g(low)}"
    return f"≤ {g(high)}"


def _guards(marginal_low: float | None, marginal_high: float | None) -> str:
    if marginal_low is not None and marginal_high is not None:
        return f" (guard {g(marginal_low)} / {g(marginal_high)})"
    if marginal_low is not None:
        return f" (guard ≤ {g(marginal_low)})"
    if marginal_high is not None:
        return f" (guard ≥ {g(marginal_high)})"
    return ""


def describe_limits(
    low: float | None = None,
    high: float | None = None,
    marginal_low: float | None = None,
    marginal_high: float | None = None,
    *,
    equals: str | None = None,
    unit: str = "",
) -> str:
    """The same words as :meth:`Band.describe` for stored limits (which keep no nominal), and
    ``= PASS`` for an expected text; '' when there is nothing to judge against."""
    if equals is not None:
        return f"= {equals}"
    if low is None and high is None:
        return ""
    return _bounds(low, high) + (f" {unit}" if unit else "") + _guards(marginal_low, marginal_high)
