"""Per-slot channels in plans: ``per_slot = true`` parses, validates, and the plan says which
channels are judged per chip; mistakes are one sentence naming the file, line and key."""

from __future__ import annotations

import pytest

from labbench import paths
from labbench.cli import main
from labbench.runs.plan import PlanError, load_plan, parse_plan

SLED = """\
[plan]
name = "sled"
version = "1"
dut_kind = "sled"

[[channel]]
name = "vdd_core"
unit = "V"
per_slot = true

[[channel]]
name = "fan_rpm"
unit = "rpm"
per_slot = false

[[channel]]
name = "temp_die"
unit = "°C"

[[step]]
name = "power-on"
duration_s = 1.0

  [[step.limit]]
  channel = "vdd_core"
  low = 0.72
  high = 0.78

  [[step.limit]]
  channel = "temp_die[3]"
  high = 85

  [[step.measure]]
  name = "vdd_core_mean"
  channel = "vdd_core"
  stat = "mean"
  low = 0.745
  high = 0.755
"""

# The shipped 4-chip sled plan with per-slot limits, judged per chip.
SLED_CHIPS_PLAN = paths.resources_dir() / "plans" / "sled-chips.toml"


def test_per_slot_channels_are_exposed():
    plan = parse_plan(SLED, "sled.toml")
    assert plan.per_slot_channels == frozenset({"vdd_core"})
    assert plan.is_per_slot("vdd_core") and not plan.is_per_slot("fan_rpm")
    assert not plan.is_per_slot("temp_die") and not plan.is_per_slot("vdd_core[2]")
    assert plan.judged_slot_channels("vdd_core", [3, 0, 2, 0]) == [
        "vdd_core[0]",
        "vdd_core[2]",
        "vdd_core[3]",
    ]
    assert plan.judged_slot_channels("fan_rpm", [0, 1]) == ["fan_rpm"]
    # A limit on one slot of a channel is a channel of its own, as the rig names it.
    assert plan.steps[0].limits[1].channel == "temp_die[3]"
    # One slot of a channel has the channel's unit.
    assert plan.unit("vdd_core[2]") == "V" and plan.unit("temp_die[3]") == "°C"
    assert plan.unit("vdd_core") == "V" and plan.unit("clk[1]") == "" and plan.unit("x[") == ""


def test_plans_without_per_slot_have_none():
    plan = load_plan(paths.resources_dir() / "plans" / "sled-power-on.toml")
    assert plan.per_slot_channels == frozenset()


def test_the_example_sled_plan_loads():
    plan = load_plan(SLED_CHIPS_PLAN)
    assert plan.dut_kind == "sled"
    assert plan.per_slot_channels == frozenset({"vdd_core", "idd_core", "temp_die"})
    judged = {spec.channel for step in plan.steps for spec in (*step.limits, *step.measures)}
    assert judged == {"vdd_core", "idd_core", "temp_die", "fan_rpm"}
    assert not plan.is_per_slot("fan_rpm")  # the sled's own fan, judged once


def test_plan_check_accepts_the_example(capsys):
    assert main(["plan", "check", str(SLED_CHIPS_PLAN)]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith(
        "3 steps, 9 judged items, 8 s; judged per chip: idd_core, temp_die, vdd_core"
    )


@pytest.mark.parametrize(
    "old, new, message",
    [
        (
            "per_slot = true",
            'per_slot = "yes"',
            "sled.toml, line 9: channel 1: per_slot must be true/false, not 'yes'",
        ),
        (
            "per_slot = true",
            "per_slot = 1",
            "sled.toml, line 9: channel 1: per_slot must be true/false, not 1",
        ),
        (
            'dut_kind = "sled"',
            'dut_kind = "chip"',
            'sled.toml, line 9: channel 1: per_slot = true needs dut_kind = "sled" '
            "(a chip has no slots to judge)",
        ),
        (
            'name = "vdd_core"\nunit = "V"',
            'name = "vdd_core[2]"\nunit = "V"',
            "sled.toml, line 7: channel 1: a per-slot channel is named without its slot "
            "(vdd_core, not vdd_core[2]): it is judged in every occupied slot",
        ),
        (
            'name = "temp_die"',
            'name = "temp_die[x]"',
            "sled.toml, line 17: channel 3: bad slot 'x' in channel name 'temp_die[x]': "
            "a slot is a whole number (0, 1, 2, …) in brackets after the name",
        ),
        (
            'channel = "temp_die[3]"',
            'channel = "temp_die[3"',
            "sled.toml, line 30: step 1 'power-on', limit 2: bad slot brackets in channel "
            "name 'temp_die[3'",
        ),
        (
            'channel = "temp_die[3]"',
            'channel = "vdd_core[3]"',
            "sled.toml, line 30: step 1 'power-on', limit 2: the limit on 'vdd_core[3]' is judged "
            "twice: the limit on per-slot channel 'vdd_core' already judges every slot",
        ),
        (
            'channel = "vdd_core"\n  stat',
            'channel = "vdd_core[-1]"\n  stat',
            "sled.toml, line 35: step 1 'power-on', measure 1: bad slot '-1' in channel "
            "name 'vdd_core[-1]'",
        ),
    ],
)
def test_per_slot_mistakes_name_file_line_and_key(old, new, message):
    assert SLED.count(old) >= 1
    with pytest.raises(PlanError) as info:
        parse_plan(SLED.replace(old, new, 1), "sled.toml")
    text = str(info.value)
    assert text.startswith(message), text
    assert "\n" not in text


def test_plan_check_refuses_per_slot_in_a_chip_plan(tmp_path, capsys):
    path = tmp_path / "chip.toml"
    path.write_text(SLED.replace('dut_kind = "sled"', 'dut_kind = "chip"'))
    assert main(["plan", "check", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith('per_slot = true needs dut_kind = "sled" (a chip has no slots to judge)')
    assert str(path) in err and "Traceback" not in err and "\n" not in err
