"""Per-slot channel names: ``vdd_core[2]`` is the channel ``vdd_core`` of the chip in slot 2.

A sled is a tray of chips in numbered slots (0-based, docs/architecture.md §3 "Slots").  A rig
reports a per-slot value with the slot in brackets after the channel name, in any line format,
and that bracketed name is the stored channel name.  This module is the one place that knows
the rules:

* ``split_slot`` / ``join_slot`` take a stored name apart and put it back together;
* ``canonical_name`` turns a name as the rig spelt it into the stored one: ``vdd[02]`` is
  ``vdd[2]``, and a slot in the middle of a dotted name (a nested JSON object ``{"rail[2]":
  {"core": …}}`` or a Teleplot ``|xy`` point ``>pos[2]:…``) moves to the end, ``rail.core[2]``;
  a name whose brackets are not one slot (``vdd[x]``, ``vdd[2``, ``vdd[-1]``, ``vdd[1][2]``)
  is refused with a :class:`SlotNameError`, so its line is malformed, never a wrong slot;
* a profile's ``slot_pattern`` (a regex with the named groups ``name`` and ``slot``, matched
  against the whole name) maps other conventions onto brackets: with
  ``^chip(?P<slot>\\d+)_(?P<name>.+)$``, ``chip2_vdd_core`` is ``vdd_core[2]``;
* :class:`ChannelNames` resolves a name on the wire to the stored channel (slot pattern,
  brackets, then the profile's ``[[channel]]`` renames), once per distinct name: the parser's
  hot path pays one dict lookup per name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labbench.protocols.formats import LineResult
    from labbench.protocols.profile import ChannelMap

# A channel needs a slot index below the largest channel cap a profile may set (4096): a slot
# beyond it could never have a channel of its own in a run, so it is a typo or garbage.
MAX_SLOT = 4095
# Distinct wire names remembered; a stream inventing names without end (garbage, a counter in
# the name) would otherwise grow the cache for ever.  Past this the cache starts again.
MAX_CACHED_NAMES = 16_384

# base[digits] with an optional dotted tail after the bracket (rail[2].core, pos[2].x).
_SLOTTED = re.compile(r"([^\[\]]+)\[([0-9]+)\]((?:\.[^\[\]]+)?)")
_EXAMPLE = "a slot is a whole number (0, 1, 2, …) in brackets after the name, as in vdd_core[2]"


class SlotNameError(ValueError):
    """A channel name whose brackets are not one valid slot; the message says why."""


def _slot_number(text: str, name: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise SlotNameError(f"bad slot {text[:20]!r} in channel name {name[:64]!r}: {_EXAMPLE}")
    slot = int(text)
    if slot > MAX_SLOT:
        raise SlotNameError(
            f"slot {text[:20]} in channel name {name[:64]!r} is beyond the largest, {MAX_SLOT}"
        )
    return slot


def join_slot(base: str, slot: int | None) -> str:
    """The stored name of channel ``base`` of ``slot`` (``base`` itself when slot is None)."""
    return base if slot is None else f"{base}[{slot}]"


def canonical_name(name: str) -> str:
    """The stored name of a channel as the rig spelt it; SlotNameError if its brackets are
    not one slot."""
    if "[" not in name and "]" not in name:
        return name
    match = _SLOTTED.fullmatch(name)
    if match is None:
        inside = name[name.find("[") + 1 : name.find("]")] if "[" in name else ""
        if inside and "]" in name and name.count("[") == 1 and name.count("]") == 1:
            _slot_number(inside, name)  # says what is wrong with the number, if that is it
        raise SlotNameError(f"bad slot brackets in channel name {name[:64]!r}: {_EXAMPLE}")
    base, digits, tail = match.groups()
    return join_slot(base + tail, _slot_number(digits, name))


def split_slot(name: str) -> tuple[str, int | None]:
    """(base name, slot) of a channel name: ``vdd_core[2]`` → ("vdd_core", 2), ``vdd_core``
    → ("vdd_core", None).  SlotNameError if the brackets are not one slot."""
    stored = canonical_name(name)
    if not stored.endswith("]"):
        return stored, None
    base, _, digits = stored[:-1].rpartition("[")
    return base, int(digits)


def slot_of(name: str) -> int | None:
    """The slot of a channel name (None for a sled-level channel)."""
    return split_slot(name)[1]


def slot_pattern_problem(pattern: re.Pattern) -> str:
    """Why a compiled ``slot_pattern`` cannot map names ("" if it can)."""
    missing = [g for g in ("name", "slot") if g not in pattern.groupindex]
    if missing:
        groups = " and ".join(f"(?P<{g}>...)" for g in missing)
        return f"the pattern needs the named group{'s' if len(missing) > 1 else ''} {groups}"
    return ""


def apply_slot_pattern(pattern: re.Pattern | None, name: str) -> str:
    """The stored name of ``name`` through a profile's ``slot_pattern`` (matched against the
    whole name), else through the bracket rules; SlotNameError when neither gives one."""
    match = pattern.fullmatch(name) if pattern is not None else None
    if match is None:
        return canonical_name(name)
    base, slot_text = match.group("name"), match.group("slot")
    if not base:
        raise SlotNameError(f"slot_pattern finds no channel name in {name[:64]!r}")
    if slot_text is None:  # an optional slot group that took no part: a sled-level channel
        return canonical_name(base)
    base_name, base_slot = split_slot(base)
    if base_slot is not None:
        raise SlotNameError(f"channel name {name[:64]!r} carries two slots")
    return join_slot(base_name, _slot_number(slot_text, name))


@dataclass(frozen=True, slots=True)
class ChannelTarget:
    """Where the samples of one wire name go: the stored channel, and the profile's
    ``[[channel]]`` rule that renamed it (None: stored as it came, unscaled)."""

    name: str
    rule: ChannelMap | None = None


class ChannelNames:
    """Wire name → stored channel, for one parser: the profile's ``slot_pattern`` and bracket
    rules, then its ``[[channel]]`` renames, computed once per distinct wire name.

    A ``[[channel]]`` rule applies to the wire name itself, to its stored name, or, when it
    names a channel without a slot, to every slot of it: ``match = "vdd"``, ``name =
    "vdd_core"``, ``unit = "V"`` turns ``vdd[2]`` into ``vdd_core[2]`` in volts."""

    def __init__(self, slot_pattern: re.Pattern | None = None, channels: Iterable[ChannelMap] = ()):
        self._pattern = slot_pattern
        channels = tuple(channels)
        self._rules = {rule.source: rule for rule in channels}  # as Profile.channel_map()
        self._units: dict[str, str] = {}
        for rule in channels:  # the first rule that names a channel gives its unit
            self._units.setdefault(rule.name, rule.unit)
        self._targets: dict[str, ChannelTarget | None] = {}
        self._slot_names: dict[str, str | None] = {}
        self._problems: dict[str, str] = {}

    def target(self, wire_name: str) -> ChannelTarget | None:
        """The stored channel of ``wire_name``; None if its slot is malformed."""
        try:
            return self._targets[wire_name]
        except KeyError:
            return self._resolve(wire_name)

    def problem(self, wire_name: str) -> str:
        """Why ``wire_name`` has no channel ("" if it has one)."""
        if self.target(wire_name) is not None:
            return ""
        return self._problems.get(wire_name) or f"bad channel name {wire_name[:64]!r}"

    def refusal(self, result: LineResult) -> str:
        """Why a telemetry line cannot be stored, naming its first bad channel ("" if every
        name it carries has a channel)."""
        targets = self._targets
        for name, _ in result.values:
            if targets.get(name) is None and self.target(name) is None:
                return self.problem(name)
        for name, _, _ in result.points:
            if targets.get(name) is None and self.target(name) is None:
                return self.problem(name)
        for name, _, _ in result.texts:
            if self.target(name) is None:
                return self.problem(name)
        for _, name in result.requests:
            if self.target(name) is None:
                return self.problem(name)
        return ""

    def slot_name(self, wire_name: str) -> str | None:
        """``wire_name`` through the slot pattern and bracket rules only (no renames); None
        if its slot is malformed."""
        try:
            return self._slot_names[wire_name]
        except KeyError:
            pass
        if len(self._slot_names) >= MAX_CACHED_NAMES:
            self._slot_names.clear()
        try:
            stored: str | None = apply_slot_pattern(self._pattern, wire_name)
        except SlotNameError as exc:
            stored = None
            if len(self._problems) >= MAX_CACHED_NAMES:
                self._problems.clear()
            self._problems[wire_name] = str(exc)
        self._slot_names[wire_name] = stored
        return stored

    def unit(self, channel: str) -> str:
        """The profile's unit for a stored channel (a rule for ``vdd`` covers ``vdd[2]``)."""
        unit = self._units.get(channel)
        if unit is None and channel.endswith("]"):
            try:
                base, _ = split_slot(channel)
            except SlotNameError:
                return ""
            unit = self._units.get(base)
        return unit or ""

    def _resolve(self, wire_name: str) -> ChannelTarget | None:
        if len(self._targets) >= MAX_CACHED_NAMES:
            self._targets.clear()
        rule = self._rules.get(wire_name)  # the profile names this very spelling: its word
        if rule is not None:
            target = ChannelTarget(rule.name, rule)
        else:
            stored = self.slot_name(wire_name)
            target = None
            if stored is not None:
                rule = self._rules.get(stored)
                if rule is not None:
                    target = ChannelTarget(rule.name, rule)
                else:
                    target = self._per_slot_rule(stored) or ChannelTarget(stored)
        self._targets[wire_name] = target
        return target

    def _per_slot_rule(self, stored: str) -> ChannelTarget | None:
        """A rule naming the channel without a slot, applied to one slot of it."""
        if not stored.endswith("]"):
            return None
        base, slot = split_slot(stored)
        rule = self._rules.get(base)
        if rule is None or rule.name.endswith("]"):
            return None
        return ChannelTarget(join_slot(rule.name, slot), rule)
