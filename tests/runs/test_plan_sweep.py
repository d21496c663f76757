"""Sweep steps: ``[step.sweep]`` expands into point steps in execution order, and every mistake
names the file, line, step and key (docs/architecture.md §4, Sweeps)."""

from __future__ import annotations

import pytest

from labbench.cli import main
from labbench.records import SweepCoordinates
from labbench.runs.plan import PlanError, parse_plan
from labbench.runs.plan_sweep import MAX_SWEEP_POINTS

SWEEP = """\
[plan]
name = "shmoo"
version = "1"
dut_kind = "chip"

[[step]]
name = "power-on"
duration_s = 1.0
send = ["PWR ON"]

[[step]]
name = "shmoo"
dwell_s = 0.5
send = ["VSET {vdd_mv}", "FSET {freq_mhz}", "BIST"]
  [step.sweep]
  x = { name = "vdd_mv", start = 650, stop = 700, step = 25 }
  y = { name = "freq_mhz", values = [1000, 1200] }
  order = "x-fastest"
  [[step.result]]
  name = "bist"
  equals = "PASS"
  [[step.limit]]
  channel = "vdd_hbm"
  low = 1.0
  high = 1.2
  settle_s = 0.1
"""


def test_a_sweep_expands_into_point_steps_in_x_fastest_order():
    plan = parse_plan(SWEEP, "s.toml")
    assert [s.name for s in plan.steps] == [
        "power-on",
        "shmoo vdd_mv=650 freq_mhz=1000",
        "shmoo vdd_mv=675 freq_mhz=1000",
        "shmoo vdd_mv=700 freq_mhz=1000",
        "shmoo vdd_mv=650 freq_mhz=1200",
        "shmoo vdd_mv=675 freq_mhz=1200",
        "shmoo vdd_mv=700 freq_mhz=1200",
    ]
    first, last = plan.steps[1], plan.steps[-1]
    assert first.send == ("VSET 650", "FSET 1000", "BIST")
    assert last.send == ("VSET 700", "FSET 1200", "BIST")
    assert first.duration_s == 0.5 and plan.duration_s == 1.0 + 6 * 0.5
    assert first.point == SweepCoordinates("shmoo", "vdd_mv", 650.0, "freq_mhz", 1000.0, 0)
    assert [s.point.order for s in plan.steps[1:]] == list(range(6))
    assert first.results[0].name == "bist" and first.limits[0].channel == "vdd_hbm"
    assert plan.steps[0].point is None
    (spec,) = plan.sweeps
    assert (spec.name, spec.x.values, spec.y.values, spec.order, spec.size) == (
        "shmoo",
        (650.0, 675.0, 700.0),
        (1000.0, 1200.0),
        "x-fastest",
        6,
    )


def test_y_fastest_order_and_one_axis():
    plan = parse_plan(SWEEP.replace('order = "x-fastest"', 'order = "y-fastest"'))
    assert [(s.point.x, s.point.y) for s in plan.steps[1:]] == [
        (650, 1000), (650, 1200), (675, 1000), (675, 1200), (700, 1000), (700, 1200),
    ]  # fmt: skip
    one = parse_plan(
        SWEEP.replace('  y = { name = "freq_mhz", values = [1000, 1200] }\n', "").replace(
            '"FSET {freq_mhz}", ', ""
        )
    )
    assert [s.name for s in one.steps[1:]] == [
        "shmoo vdd_mv=650",
        "shmoo vdd_mv=675",
        "shmoo vdd_mv=700",
    ]
    assert one.steps[1].point.y is None and one.steps[1].point.y_name is None


def test_ranges_going_down_and_fractional_steps_hit_their_values():
    plan = parse_plan(
        SWEEP.replace("start = 650, stop = 700, step = 25", "start = 0.9, stop = 0.6, step = -0.1")
    )
    assert sorted({s.point.x for s in plan.steps[1:]}, reverse=True) == [0.9, 0.8, 0.7, 0.6]
    assert plan.steps[1].name == "shmoo vdd_mv=0.9 freq_mhz=1000"
    assert plan.steps[1].send[0] == "VSET 0.9"


@pytest.mark.parametrize(
    "change, words",
    [
        (
            ("start = 650, stop = 700, step = 25", "start = 700, stop = 650, step = 25"),
            ["line 16", "step 2 'shmoo', sweep, axis x (vdd_mv)", "the range is empty"],
        ),
        (
            ("start = 650, stop = 700, step = 25", "start = 650, stop = 700, step = -25"),
            ["line 16", "the range is empty: a step of -25 goes down, from 650 never to 700"],
        ),
        (
            ("step = 25", "step = 0"),
            ["line 16", "axis x (vdd_mv)", "step must not be 0"],
        ),
        (("step = 25", "step = nan"), ["line 16", "step must be a finite number, not nan"]),
        (("stop = 700", "stop = inf"), ["line 16", "stop must be a finite number, not inf"]),
        (
            ("values = [1000, 1200]", "values = [1000, nan]"),
            ["line 17", "axis y (freq_mhz)", "values must be finite numbers, not nan"],
        ),
        (
            ("values = [1000, 1200]", 'values = [1000, "fast"]'),
            ["line 17", "values must be numbers, not 'fast'"],
        ),
        (
            ("values = [1000, 1200]", "values = [1000, 1200, 1000.0]"),
            ["line 17", "the value 1000 is listed twice"],
        ),
        (("values = [1000, 1200]", "values = []"), ["line 17", "values is empty"]),
        (
            ('"FSET {freq_mhz}"', '"FSET {freq}"'),
            [
                "line 14",
                "step 2 'shmoo'",
                "send line 2 'FSET {freq}' names {freq}, which is not an axis of this "
                "step's sweep (axes: vdd_mv, freq_mhz)",
            ],
        ),
        (
            ('"VSET {vdd_mv}"', '"VSET {vdd_mv:.0f}"'),
            [
                "line 14",
                "send line 1 'VSET {vdd_mv:.0f}' has '{vdd_mv', which is not filled in: "
                "write {vdd_mv} for the point's vdd_mv",
            ],
        ),
        (
            ('"FSET {freq_mhz}"', '"FSET { freq_mhz }"'),
            ["line 14", "has '{ freq_mhz', which is not filled in: write {freq_mhz}"],
        ),
        (
            ('"VSET {vdd_mv}"', '"VSET {vdd_mv"'),
            ["line 14", "has '{vdd_mv', which is not filled in"],
        ),
        (
            ('  x = { name = "vdd_mv", start = 650, stop = 700, step = 25 }\n', ""),
            ["line 16", "sweep", "y without x"],
        ),
        (
            ("stop = 700, step = 25", "stop = 10000, step = 1"),
            ["line 17", "9,351 x 2 = 18,702 points; a sweep may have at most 10,000"],
        ),
        (
            ("stop = 700, step = 25", "stop = 100000, step = 1"),
            ["line 16", "99,351 points; a sweep may have at most 10,000"],
        ),
        (
            ('name = "freq_mhz"', 'name = "vdd_mv"'),
            ["line 17", "x and y both sweep 'vdd_mv'"],
        ),
        (("dwell_s = 0.5\n", ""), ["line 11", "step 2 'shmoo'", "dwell_s is required"]),
        (("dwell_s = 0.5", "dwell_s = 0"), ["line 13", "dwell_s must be positive, not 0"]),
        (("dwell_s = 0.5", "dwell_s = -1"), ["line 13", "dwell_s must be positive"]),
        (
            ("dwell_s = 0.5", "dwell_s = 0.5\nduration_s = 3"),
            ["line 14", "a sweep step lasts dwell_s per point, not duration_s"],
        ),
        (
            ("duration_s = 1.0", "dwell_s = 1.0"),
            ["line 8", "step 1 'power-on'", "dwell_s is the time per point of a sweep step"],
        ),
        (
            ('order = "x-fastest"', 'order = "diagonal"'),
            ["line 18", "order must be x-fastest or y-fastest, not 'diagonal'"],
        ),
        (
            ('order = "x-fastest"', 'order = "x-fastest"\n  z = 1'),
            ["line 19", "unknown key 'z'"],
        ),
        (
            ("start = 650, stop = 700, step = 25", "start = 650, values = [1]"),
            ["line 16", "give either values or start/stop/step, not both"],
        ),
        (("stop = 700, ", ""), ["line 16", "stop is required"]),
        (('name = "vdd_mv"', 'name = "vdd mv"'), ["line 16", "axis name 'vdd mv' must be a word"]),
        (("settle_s = 0.1", "settle_s = 0.5"), ["leaves nothing of the 0.5 s step"]),
        (
            ('name = "power-on"', 'name = "shmoo vdd_mv=650 freq_mhz=1000"'),
            ["step 2 'shmoo'", "point 'shmoo vdd_mv=650 freq_mhz=1000' has the name of another"],
        ),
        (
            (
                "  [[step.result]]\n",
                '  [[step.manual]]\n  name = "ok"\n  equals = "y"\n  [[step.result]]\n',
            ),
            ["step 2 'shmoo'", "a sweep step cannot ask for manual entries"],
        ),
    ],
)
def test_bad_sweeps_name_file_line_step_and_key(change, words):
    old, new = change
    assert old in SWEEP, old
    with pytest.raises(PlanError) as info:
        parse_plan(SWEEP.replace(old, new, 1), "bad.toml")
    message = str(info.value)
    assert message.startswith("bad.toml"), message
    for word in words:
        assert word in message, message


def test_the_point_limit_is_exact():
    parse_plan(SWEEP.replace("stop = 700, step = 25", f"stop = {650 + 4999}, step = 1"))
    with pytest.raises(PlanError, match="10,002 points"):
        parse_plan(SWEEP.replace("stop = 700, step = 25", f"stop = {650 + 5000}, step = 1"))
    assert MAX_SWEEP_POINTS == 10_000


def test_plan_check_names_the_sweep_mistake(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(SWEEP.replace("step = 25", "step = 0"))
    assert main(["plan", "check", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "line 16" in err and "step must not be 0" in err
    assert err.count("\n") == 1
    path.write_text(SWEEP)
    assert main(["plan", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "7 steps" in out and "sweep 'shmoo': 6 points (vdd_mv x freq_mhz, x-fastest)" in out
