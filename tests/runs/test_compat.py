"""Which channels a profile gives a plan: the shipped plans and profiles fit together, and a
profile that renames or rescales a judged channel is named before a run starts."""

from __future__ import annotations

import pytest

from labbench import paths
from labbench.protocols.profile import load_profile
from labbench.runs.compat import check, judged_channels, rig_channels_of
from labbench.runs.plan import load_plan

PLANS = sorted((paths.resources_dir() / "plans").glob("*.toml"))


@pytest.mark.parametrize("plan_path", PLANS, ids=lambda p: p.stem)
@pytest.mark.parametrize("profile", ["default", "bringup-rig"])
def test_shipped_plans_and_profiles_fit_on_the_simulated_rig(plan_path, profile):
    plan = load_plan(plan_path)
    assert check(plan, load_profile(profile), rig_channels_of("mock://nominal")) == []


def test_a_renamed_channel_is_named_with_the_items_that_judge_it(tmp_path):
    plan = load_plan(paths.resources_dir() / "plans" / "chip-bringup.toml")
    profile_path = tmp_path / "clk-hz.toml"
    profile_path.write_text(
        '[profile]\nname = "clk-hz"\n[[channel]]\nmatch = "clk_core_mhz"\n'
        'name = "clk_core"\nunit = "Hz"\nscale = 1e6\n'
    )
    (mismatch,) = check(plan, load_profile(str(profile_path)))
    assert mismatch.channel == "clk_core_mhz" and mismatch.items == ("clock-and-bist: clk_core",)
    assert "renames clk_core_mhz to clk_core" in mismatch.sentence()


def test_a_unit_the_limits_do_not_assume_and_a_channel_the_rig_does_not_send(tmp_path):
    plan = load_plan(paths.resources_dir() / "plans" / "chip-bringup.toml")
    profile_path = tmp_path / "fan-rps.toml"
    profile_path.write_text(
        '[profile]\nname = "fan-rps"\n[[channel]]\nmatch = "fan_rpm"\nunit = "rps"\n'
    )
    found = {
        m.channel: m.reason
        for m in check(
            plan, load_profile(str(profile_path)), ["vdd_core", "fan_rpm", "clk_core_mhz"]
        )
    }
    assert "limits are in rpm" in found["fan_rpm"] and "gives rps" in found["fan_rpm"]
    assert "does not send temp_die" in found["temp_die"]
    assert set(judged_channels(plan)) == {"vdd_core", "fan_rpm", "clk_core_mhz", "temp_die"}
    assert rig_channels_of("/dev/ttyUSB0") is None
