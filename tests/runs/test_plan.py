"""Plans load and validate; a bad plan names its file, line, step and key."""

from __future__ import annotations

import math

import pytest

from labbench import paths
from labbench.cli import main
from labbench.criteria.band import Band, CriterionError
from labbench.runs.plan import (
    LimitSpec,
    ManualSpec,
    MeasureSpec,
    PlanError,
    ResultSpec,
    load_plan,
    parse_plan,
)

GOOD = """\
[plan]
name = "p"
version = "1"
dut_kind = "chip"

[[step]]
name = "power-on"
duration_s = 1.0
send = ["PWR ON"]

  [[step.limit]]
  channel = "vdd_core"
  low = 0.72
  high = 0.78
  marginal_low = 0.73
  marginal_high = 0.77
  settle_s = 0.5
  hold_s = 0.05

  [[step.measure]]
  name = "vdd_mean"
  channel = "vdd_core"
  stat = "mean"
  nominal = 0.75
  tolerance_pct = 2
"""


def test_good_plan_and_tolerances():
    plan = parse_plan(GOOD, "good.toml")
    step = plan.steps[0]
    assert step.send == ("PWR ON",)
    assert (step.limits[0].band.low, step.limits[0].band.marginal_high) == (0.72, 0.77)
    assert step.measures[0].band.low == pytest.approx(0.735) and step.measures[
        0
    ].band.high == pytest.approx(0.765)
    absolute = parse_plan(GOOD.replace("tolerance_pct = 2", "tolerance = 0.01"))
    assert absolute.steps[0].measures[0].band.low == pytest.approx(0.74)


@pytest.mark.parametrize(
    "change, words",
    [
        (
            ("low = 0.72", "low = 0.79"),
            [
                "bad.toml, line 13",
                "step 1 'power-on', limit 1 (vdd_core)",
                "low 0.79 is above high 0.78",
            ],
        ),
        (
            ("marginal_low = 0.73", "marginal_low = 0.70"),
            ["line 15", "limit 1 (vdd_core)", "marginal_low 0.7 is outside the limits"],
        ),
        (
            ("marginal_high = 0.77", "marginal_high = 0.79"),
            ["line 16", "marginal_high 0.79 is outside"],
        ),
        (
            ('stat = "mean"', 'stat = "median"'),
            ["line 23", "measure 'vdd_mean'", "unknown stat 'median'"],
        ),
        (
            ("duration_s = 1.0", "duration_s = -1.0"),
            ["line 8", "step 1 'power-on'", "duration_s must be positive"],
        ),
        (("hold_s = 0.05", "hold_s = -0.05"), ["line 18", "hold_s must not be negative"]),
        (("settle_s = 0.5", "settle_s = 2.0"), ["line 17", "leaves nothing of the 1 s step"]),
        (('dut_kind = "chip"', 'dut_kind = "wafer"'), ["line 4", "dut_kind must be sled or chip"]),
        (("  hold_s = 0.05", "  hold_s = 0.05\n  holds = 1"), ["line 19", "unknown key 'holds'"]),
        (
            ("tolerance_pct = 2", "tolerance_pct = 2\n  tolerance = 0.1"),
            ["nominal needs exactly one of tolerance or tolerance_pct"],
        ),
        (('channel = "vdd_core"\n  low', "low"), ["limit 1", "channel is required"]),
        (("low = 0.72", 'low = "0.72"'), ["line 13", "low must be number"]),
    ],
)
def test_bad_plans_name_file_line_step_and_key(change, words):
    old, new = change
    assert old in GOOD
    with pytest.raises(PlanError) as info:
        parse_plan(GOOD.replace(old, new, 1), "bad.toml")
    message = str(info.value)
    for word in words:
        assert word in message, message


def test_toml_syntax_error_names_its_line():
    with pytest.raises(PlanError, match=r"bad.toml: TOML syntax error: .*line 8"):
        parse_plan(GOOD.replace("duration_s = 1.0", "duration_s = 1.0.0"), "bad.toml")


def test_missing_plan_table_and_steps():
    with pytest.raises(PlanError, match="the \\[plan\\] table is missing"):
        parse_plan("[[step]]\nname='x'\nduration_s=1\n", "x.toml")
    with pytest.raises(PlanError, match="at least one"):
        parse_plan('[plan]\nname="a"\nversion="1"\ndut_kind="chip"\n', "x.toml")


def test_example_plans_are_valid():
    plans = sorted((paths.resources_dir() / "plans").glob("*.toml"))
    assert {p.stem for p in plans} >= {"sled-power-on", "chip-bringup"}
    for path in plans:
        plan = load_plan(path)
        assert plan.steps and plan.duration_s > 0


def test_plan_check_command(tmp_path, capsys):
    good = tmp_path / "good.toml"
    good.write_text(GOOD)
    assert main(["plan", "check", str(good)]) == 0
    assert "1 steps, 2 judged items" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace("low = 0.72", "low = 0.79"))
    assert main(["plan", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{bad}, line 13" in err
    assert main(["plan", "check", str(tmp_path / "missing.toml")]) == 2
    assert "no such plan file" in capsys.readouterr().err


def test_same_version_with_other_content_is_refused(tmp_path, capsys):
    plan = tmp_path / "p.toml"
    plan.write_text(GOOD)
    db = str(tmp_path / "v.sqlite3")
    args = [
        "run",
        "--plan",
        str(plan),
        "--dut",
        "C1",
        "--new-dut",
        "chip",
        "--device",
        "mock://nominal?rate=50",
        "--db",
        db,
        "--json",
    ]
    assert main(args) in (0, 1)
    capsys.readouterr()
    plan.write_text(GOOD.replace("high = 0.78", "high = 0.79"))
    assert main(args) == 2
    assert (
        "already stored with different content; bump the plan's version" in capsys.readouterr().err
    )
    plan.write_text(
        GOOD.replace("high = 0.78", "high = 0.79").replace('version = "1"', 'version = "2"')
    )
    assert main(args) in (0, 1)


# --- hostile plans (issue 9, finding 8): one sentence naming file, line and key, never a traceback


@pytest.mark.parametrize(
    "change, words",
    [
        (
            ("high = 0.78", "high = " + "9" * 400),
            ["bad.toml, line 14", "limit 1 (vdd_core)", "high is a 400-digit number, too large"],
        ),
        (
            ("duration_s = 1.0", "duration_s = " + "1" * 400),
            ["line 8", "duration_s is a 400-digit number"],
        ),
        (
            ("duration_s = 1.0", "duration_s = 1e300"),
            ["line 8", "step 1 'power-on'", "duration_s 1e+300 is longer than a step may last"],
        ),
        (
            ("settle_s = 0.5", "settle_s = 1e300"),
            ["line 17", "settle_s 1e+300 s is longer than a step may last"],
        ),
        (
            ("hold_s = 0.05", "hold_s = 0.6"),
            [
                "line 18",
                "hold_s 0.6 is longer than the 0.5 s judged, so this limit could never fail",
            ],
        ),
        (("low = 0.72", "low = nan"), ["line 13", "low must be a finite number, not nan"]),
        (("high = 0.78", "high = inf"), ["line 14", "high must be a finite number, not inf"]),
        (
            ("marginal_high = 0.77", "marginal_high = -inf"),
            ["line 16", "marginal_high must be a finite number"],
        ),
        (
            ("duration_s = 1.0", "duration_s = nan"),
            ["line 8", "duration_s must be a finite number, not nan"],
        ),
        (
            ("tolerance_pct = 2", "tolerance_pct = inf"),
            ["line 25", "tolerance_pct must be a finite number"],
        ),
        (
            ("nominal = 0.75", "nominal = 1.79e308"),
            [
                "line 25",
                "measure 'vdd_mean'",
                "nominal 1.79e+308 ± 3.58e+306 is beyond the range of numbers",
            ],
        ),
        (
            ('send = ["PWR ON"]', 'send = ["PWR ON", "VSET {vdd_mv}"]'),
            [
                "bad.toml, line 9",
                "step 1 'power-on'",
                "send line 2 'VSET {vdd_mv}' names the field {vdd_mv}, which nothing fills in",
            ],
        ),
        (
            ('name = "p"', 'name = "' + "p" * 200 + '"'),
            ["line 2", "name is 200 characters long; at most 128 fit"],
        ),
    ],
)
def test_hostile_values_name_file_line_and_key(change, words):
    old, new = change
    assert old in GOOD
    with pytest.raises(PlanError) as info:
        parse_plan(GOOD.replace(old, new, 1), "bad.toml")
    message = str(info.value)
    for word in words:
        assert word in message, message


def test_send_lines_with_literal_braces_are_sent_as_written():
    plan = parse_plan(
        GOOD.replace('send = ["PWR ON"]', 'send = [\'{"pwr": 1}\', "SET {{x}}", "A {"]'), "ok.toml"
    )
    assert plan.steps[0].send == ('{"pwr": 1}', "SET {{x}}", "A {")


def test_deeply_nested_arrays_are_refused_with_their_line():
    deep = (
        GOOD + '\n[[step]]\nname = "x"\nduration_s = 1.0\nsend = ' + "[" * 5000 + "]" * 5000 + "\n"
    )
    with pytest.raises(PlanError) as info:
        parse_plan(deep, "deep.toml")
    assert (
        str(info.value) == "deep.toml, line 30 (key send): arrays or tables nest more than 32 deep"
    )


def test_an_integer_beyond_python_s_digit_limit_is_one_sentence():
    with pytest.raises(PlanError, match=r"^huge.toml: a value cannot be read: .*digits"):
        parse_plan(GOOD.replace("duration_s = 1.0", "duration_s = " + "7" * 5000), "huge.toml")


def test_a_plan_over_the_size_limit_is_refused_quickly(tmp_path, capsys):
    big = tmp_path / "big.toml"
    filler = "# " + "x" * 1000 + "\n"
    big.write_text(GOOD + filler * 100_000)  # 100 MB
    with pytest.raises(PlanError) as info:
        load_plan(big)
    size = big.stat().st_size
    assert (
        str(info.value)
        == f"{big}: the plan is {size:,} bytes; a plan may be at most 1,048,576 bytes "
        "(is this the right file?)"
    )
    with pytest.raises(PlanError, match="at most 1,048,576 bytes"):
        parse_plan(GOOD + filler * 1100, "text.toml")
    assert main(["plan", "check", str(big)]) == 2
    assert capsys.readouterr().err.strip().endswith("(is this the right file?)")


def test_a_plan_just_under_the_limit_with_twenty_thousand_limits_loads():
    limit = '  [[step.limit]]\n  channel = "ch{}"\n  high = 1.0\n'
    body = GOOD.replace(
        "  [[step.measure]]", "".join(limit.format(i) for i in range(20_000)) + "  [[step.measure]]"
    )
    assert len(body.encode()) < 1 << 20
    plan = parse_plan(body, "many.toml")
    assert len(plan.steps[0].limits) == 20_001


# --- plan items check themselves when built and describe their limits


def test_plan_items_refuse_to_exist_invalid():
    band = Band(0.72, 0.78)
    with pytest.raises(CriterionError, match="settle_s must be a finite number of seconds") as info:
        LimitSpec("vdd_core", band, settle_s=-1.0)
    assert info.value.key == "settle_s"
    with pytest.raises(CriterionError, match="hold_s must be a finite number of seconds"):
        LimitSpec("vdd_core", band, hold_s=math.nan)
    with pytest.raises(CriterionError, match="unknown stat 'median'"):
        MeasureSpec("m", "vdd_core", "median", band)
    with pytest.raises(CriterionError, match="needs equals, or low and/or high"):
        ResultSpec("bist")
    with pytest.raises(CriterionError, match="needs equals, or low and/or high"):
        ManualSpec("fan_ok", band=band, equals="yes")


def test_plan_items_describe_their_limits():
    plan = parse_plan(GOOD, "good.toml")
    step = plan.steps[0]
    assert step.limits[0].describe("V") == "0.72 … 0.78 V (guard 0.73 / 0.77)"
    assert step.measures[0].describe("V") == "0.75 V ± 2 %"
    assert ResultSpec("bist", equals="PASS").describe() == "= PASS"
    assert ManualSpec("r", unit="Ω", band=Band(high=5.0)).describe() == "≤ 5 Ω"
