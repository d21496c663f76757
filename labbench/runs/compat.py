"""Does a rig profile give a plan the channels it judges?

A plan names the channels its limits and measurements judge; a profile renames and scales
what the rig sends.  A plan that judges ``clk_core_mhz`` on a profile that renames it to
``clk_core`` gets no samples and ends as error after the whole run; this module says so
before the run starts (the start dialog shows it; the command line can print it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from labbench.protocols.profile import Profile
from labbench.protocols.slots import ChannelNames, SlotNameError, split_slot
from labbench.runs.plan import Plan


@dataclass(frozen=True)
class Mismatch:
    channel: str
    items: tuple[str, ...]  # "step: item" that judge the channel
    reason: str

    def sentence(self) -> str:
        return f"{self.channel} ({', '.join(self.items)}): {self.reason}"


def judged_channels(plan: Plan) -> dict[str, list[str]]:
    """Channel -> the items that judge it, as "step: item", in plan order (a sweep's points
    are named once, by their sweep step)."""
    judged: dict[str, list[str]] = {}
    for step in plan.steps:
        name = step.point.sweep if step.point is not None else step.name
        for channel, item in [(s.channel, "limit") for s in step.limits] + [
            (s.channel, s.name) for s in step.measures
        ]:
            items = judged.setdefault(channel, [])
            if f"{name}: {item}" not in items:
                items.append(f"{name}: {item}")
    return judged


def produced_channels(profile: Profile, rig_channels: Iterable[str]) -> dict[str, str]:
    """What a rig that sends ``rig_channels`` yields through ``profile``: name -> unit (the
    profile's slot pattern and renames applied, as the parser applies them)."""
    names = ChannelNames(profile.slot_pattern, profile.channels)
    produced = {}
    for source in rig_channels:
        target = names.target(source)
        if target is not None:
            produced[target.name] = target.rule.unit if target.rule else ""
    return produced


def _sends(produced: dict[str, str], channel: str, per_slot: bool) -> bool:
    if not per_slot:
        return channel in produced
    return any(name.endswith("]") and _base(name) == channel for name in produced)


def _base(name: str) -> str:
    try:
        return split_slot(name)[0]
    except SlotNameError:
        return name


def _listed(names: Iterable[str], most: int = 12) -> str:
    """Channel names for a sentence, a per-slot channel once: ``vdd_core[0…3]``."""
    slots: dict[str, list[int]] = {}
    plain = []
    for name in names:
        try:
            base, slot = split_slot(name)
        except SlotNameError:
            base, slot = name, None
        if slot is None:
            plain.append(name)
        else:
            slots.setdefault(base, []).append(slot)
    shown = sorted(plain + [f"{base}[{min(s)}…{max(s)}]" for base, s in slots.items()])
    if not shown:
        return "nothing known"
    more = f" and {len(shown) - most} more" if len(shown) > most else ""
    return ", ".join(shown[:most]) + more


def check(
    plan: Plan, profile: Profile, rig_channels: Iterable[str] | None = None
) -> list[Mismatch]:
    """Every channel the plan judges that this profile (on this rig, if its channels are
    known) cannot produce, or produces in a different unit than the plan's limits assume."""
    mapping = profile.channel_map()
    renamed_away = {rule.source: rule.name for rule in profile.channels if rule.name != rule.source}
    targets = {rule.name: rule for rule in profile.channels}
    produced = produced_channels(profile, rig_channels) if rig_channels is not None else None
    found = []
    for channel, items in judged_channels(plan).items():
        reason = ""
        if channel in renamed_away and channel not in targets:
            reason = (
                f"profile {profile.name} renames {channel} to {renamed_away[channel]}, "
                f"so the plan gets no {channel} samples"
            )
        elif produced is not None and not _sends(produced, channel, plan.is_per_slot(channel)):
            wanted = f"{channel}[slot]" if plan.is_per_slot(channel) else channel
            reason = f"the rig does not send {wanted} (it sends {_listed(produced)})"
        else:
            rule = targets.get(channel) or mapping.get(channel)
            plan_unit = plan.unit(channel)
            if rule is not None and rule.unit and plan_unit and rule.unit != plan_unit:
                reason = (
                    f"the plan's limits are in {plan_unit}, "
                    f"but profile {profile.name} gives {rule.unit}"
                )
        if reason:
            found.append(Mismatch(channel, tuple(items), reason))
    return found


def rig_channels_of(device: str) -> list[str] | None:
    """The channels a simulated rig sends (its scenario's fixed set, a sled's per slot);
    None for a real rig, whose channels are known only once it talks, and for a device
    string the rig will refuse itself with a better sentence."""
    if not device.startswith("mock://"):
        return None
    from labbench.devices.simulation import RigParams, ScenarioError, channels_sent

    try:
        return channels_sent(RigParams.from_device(device))
    except ScenarioError:
        return None
