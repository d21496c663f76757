"""Which channels a profile gives a plan: the shipped plans and profiles fit together, and a
profile that renames or rescales a judged channel is named before a run starts."""

from __future__ import annotations

import pytest

from labbench import paths
from labbench.protocols.profile import load_profile
from labbench.runs.compat import check, judged_channels, rig_channels_of
from labbench.runs.plan import load_plan

PLANS = sorted((paths.resources_dir() / "plans").glob("*.toml"))

# The shipped 4-chip sled plan with per-slot limits, judged per chip.
SLED_CHIPS_PLAN = paths.resources_dir() / "plans" / "sled-chips.toml"


@pytest.mark.parametrize("plan_path", PLANS, ids=lambda p: p.stem)
@pytest.mark.parametrize("profile", ["default", "bringup-rig"])
def test_shipped_plans_and_profiles_fit_on_the_simulated_rig(plan_path, profile):
    plan = load_plan(plan_path)
    rig = "mock://nominal?slots=4" if plan.per_slot_channels else "mock://nominal"
    assert check(plan, load_profile(profile), rig_channels_of(rig)) == []


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


def test_a_per_slot_channel_needs_a_rig_that_sends_it_per_slot(tmp_path):
    plan = load_plan(SLED_CHIPS_PLAN)
    found = {
        m.channel: m.reason for m in check(plan, load_profile(), rig_channels_of("mock://nominal"))
    }
    assert set(found) == {"vdd_core", "idd_core", "temp_die"}
    assert found["vdd_core"].startswith("the rig does not send vdd_core[slot] (it sends ")
    # A rig with its own naming convention, mapped by the profile's slot_pattern.
    profile_path = tmp_path / "chips.toml"
    profile_path.write_text(
        "[line]\nslot_pattern = '^chip(?P<slot>\\d+)_(?P<name>.+)$'\n"
        '[[channel]]\nmatch = "vdd_core"\nunit = "mV"\n'
    )
    rig = ["seq", "fan_rpm"] + [
        f"chip{k}_{n}" for k in range(4) for n in ("vdd_core", "idd_core", "temp_die")
    ]
    (mismatch,) = check(plan, load_profile(str(profile_path)), rig)
    assert (
        mismatch.channel == "vdd_core"
        and "limits are in V, but profile chips gives mV" in mismatch.reason
    )
    big = rig_channels_of("mock://nominal?slots=64")
    assert len(big) == 3 + 64 * 8
    (mismatch, *_) = check(plan, load_profile(), [n for n in big if "vdd" not in n])
    assert mismatch.reason == (
        "the rig does not send vdd_core[slot] (it sends clk_core_mhz[0…63], fan_rpm, "
        "idd_core[0…63], idd_hbm[0…63], seq, temp_die[0…63], temp_hbm[0…63], temp_inlet)"
    )
    assert rig_channels_of("mock://nominal?slots=0") is None  # the rig refuses it itself
