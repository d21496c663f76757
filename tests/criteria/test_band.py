"""Bands refuse to exist invalid and describe themselves the same way everywhere."""

from __future__ import annotations

import math

import pytest

from labbench.criteria.band import Band, CriterionError, describe_limits


@pytest.mark.parametrize(
    ("build", "key", "words"),
    [
        (lambda: Band(0.8, 0.7), "low", "low 0.8 is above high 0.7"),
        (
            lambda: Band(0.7, 0.8, marginal_low=0.69),
            "marginal_low",
            "marginal_low 0.69 is outside the limits 0.7..0.8",
        ),
        (
            lambda: Band(0.7, 0.8, marginal_high=0.81),
            "marginal_high",
            "marginal_high 0.81 is outside the limits 0.7..0.8",
        ),
        (
            lambda: Band(0.7, 0.8, marginal_low=0.78, marginal_high=0.72),
            "marginal_low",
            "the guard bands overlap",
        ),
        (
            lambda: Band(high=0.8, marginal_low=0.1),
            "marginal_low",
            "marginal_low needs a low limit",
        ),
        (
            lambda: Band(low=0.1, marginal_high=0.2),
            "marginal_high",
            "marginal_high needs a high limit",
        ),
        (lambda: Band(), "low", "needs low and/or high"),
        (lambda: Band(math.nan, 1.0), "low", "low must be a finite number, not nan"),
        (lambda: Band(0.0, math.inf), "high", "high must be a finite number, not inf"),
        (lambda: Band(0.0, 10**400), "high", "high is too large to be a limit"),
        (lambda: Band("0.7", 0.8), "low", "low must be a number, not '0.7'"),
        (lambda: Band(True, 0.8), "low", "low must be a number, not True"),
        (
            lambda: Band(0.7, 0.8, nominal=0.9),
            "nominal",
            "nominal 0.9 is outside the limits 0.7..0.8",
        ),
        (lambda: Band.around(0.75), "nominal", "exactly one of tolerance or tolerance_pct"),
        (
            lambda: Band.around(0.75, tolerance=0.1, tolerance_pct=1),
            "nominal",
            "exactly one of tolerance or tolerance_pct",
        ),
        (
            lambda: Band.around(0.75, tolerance=-0.1),
            "tolerance",
            "tolerance must not be negative, not -0.1",
        ),
        (lambda: Band.around(1e308, tolerance=1e308), "tolerance", "beyond the range of numbers"),
        (
            lambda: Band.around(0.75, tolerance=0.03, marginal_low=0.7),
            "marginal_low",
            "outside the limits 0.72..0.78",
        ),
    ],
)
def test_an_invalid_band_cannot_be_built(build, key, words):
    with pytest.raises(CriterionError) as caught:
        build()
    assert caught.value.key == key
    assert words in str(caught.value)


def test_a_valid_band_is_built_with_float_bounds():
    band = Band(1, 2, 1, 2)
    assert band == Band(1.0, 2.0, 1.0, 2.0) and isinstance(band.low, float)
    around = Band.around(12, tolerance_pct=5)
    assert (around.low, around.high, around.nominal) == (11.4, 12.6, 12.0)


@pytest.mark.parametrize(
    ("band", "unit", "text"),
    [
        (Band(0.72, 0.78, 0.73, 0.77), "V", "0.72 … 0.78 V (guard 0.73 / 0.77)"),
        (Band(0.72, 0.78), "V", "0.72 … 0.78 V"),
        (Band(high=85.0), "°C", "≤ 85 °C"),
        (Band(low=1000.0), "", "≥ 1000"),
        (Band(high=85.0, marginal_high=80.0), "°C", "≤ 85 °C (guard ≥ 80)"),
        (Band(low=0.5, high=1.0, marginal_low=0.6), "A", "0.5 … 1 A (guard ≤ 0.6)"),
        (Band.around(0.75, tolerance=0.03), "V", "0.75 ± 0.03 V"),
        (
            Band.around(0.75, tolerance=0.03, marginal_low=0.73, marginal_high=0.77),
            "V",
            "0.75 ± 0.03 V (guard 0.73 / 0.77)",
        ),
        (Band.around(12, tolerance_pct=5), "V", "12 V ± 5 %"),
        (Band(1e-9, 0.123456789), "", "1e-09 … 0.123457"),
    ],
)
def test_describe(band, unit, text):
    assert band.describe(unit) == text


def test_describe_stored_limits_matches_the_band():
    band = Band(0.72, 0.78, 0.73, 0.77)
    assert describe_limits(0.72, 0.78, 0.73, 0.77, unit="V") == band.describe("V")
    assert describe_limits(high=85.0, unit="°C") == Band(high=85.0).describe("°C")
    assert describe_limits(equals="PASS") == "= PASS"
    assert describe_limits() == ""
