"""Slot names (labbench.protocols.slots), slot_pattern in profiles, and what the parser pays."""

from __future__ import annotations

import re

import pytest

from labbench.protocols import slots
from labbench.protocols.parser import TelemetryParser
from labbench.protocols.profile import ProfileError, parse_profile
from labbench.protocols.slots import (
    ChannelNames,
    SlotNameError,
    apply_slot_pattern,
    canonical_name,
    join_slot,
    slot_of,
    split_slot,
)


@pytest.mark.parametrize(
    "name, base, slot",
    [
        ("vdd_core", "vdd_core", None),
        ("vdd_core[2]", "vdd_core", 2),
        ("vdd_core[0]", "vdd_core", 0),
        ("vdd_core[007]", "vdd_core", 7),
        ("rail.core[3]", "rail.core", 3),
        ("rail[3].core", "rail.core", 3),
        ("pos[1].x", "pos.x", 1),
    ],
)
def test_split_and_join(name, base, slot):
    assert split_slot(name) == (base, slot)
    assert slot_of(name) == slot
    assert split_slot(join_slot(base, slot)) == (base, slot)


@pytest.mark.parametrize(
    "name, words",
    [
        ("vdd[x]", "bad slot 'x' in channel name 'vdd[x]'"),
        ("vdd[-1]", "bad slot '-1' in channel name 'vdd[-1]'"),
        ("vdd[2", "bad slot brackets in channel name 'vdd[2'"),
        ("vdd2]", "bad slot brackets in channel name 'vdd2]'"),
        ("vdd[]", "bad slot brackets"),
        ("[2]", "bad slot brackets"),
        ("vdd[1][2]", "bad slot brackets"),
        ("vdd[2]x", "bad slot brackets"),
        ("vdd[²]", "bad slot '²'"),
        ("vdd[4096]", "slot 4096 in channel name 'vdd[4096]' is beyond the largest, 4095"),
    ],
)
def test_bad_brackets_are_refused_with_the_reason(name, words):
    with pytest.raises(SlotNameError, match=re.escape(words)):
        canonical_name(name)


def test_a_slot_pattern_maps_onto_brackets():
    chip = re.compile(r"^chip(?P<slot>\d+)_(?P<name>.+)$")
    assert apply_slot_pattern(chip, "chip2_vdd_core") == "vdd_core[2]"
    assert apply_slot_pattern(chip, "vdd_core[2]") == "vdd_core[2]"  # brackets still work
    assert apply_slot_pattern(chip, "temp_board") == "temp_board"
    assert apply_slot_pattern(chip, "xchip2_vdd") == "xchip2_vdd"  # the whole name must match
    optional = re.compile(r"^(?:chip(?P<slot>\d+)_)?(?P<name>.+)$")
    assert apply_slot_pattern(optional, "temp_board") == "temp_board"
    with pytest.raises(SlotNameError, match="carries two slots"):
        apply_slot_pattern(chip, "chip2_vdd[3]")
    letters = re.compile(r"^chip(?P<slot>[a-z]+)_(?P<name>.+)$")
    with pytest.raises(SlotNameError, match="bad slot 'b'"):
        apply_slot_pattern(letters, "chipb_vdd")


def test_channel_rules_cover_every_slot_of_a_channel():
    profile = parse_profile(
        '[[channel]]\nmatch = "vdd"\nname = "vdd_core"\nunit = "V"\nscale = 0.001\n'
        '[[channel]]\nmatch = "t[1]"\nname = "temp_hot"\nunit = "C"\n'
        '[[channel]]\nmatch = "t[legacy]"\nname = "temp_old"\n'
    )
    parser = TelemetryParser(profile)
    parser.feed(b"vdd[0]=750,vdd[3]=740,t[1]=80,t[2]=40,vdd=1000,t[legacy]=5\n", 1_000_000, 0)
    batch = parser.take()
    values = {name: v.tolist() for name, (_, v) in batch.samples.items()}
    assert values == {
        "vdd_core[0]": [0.75],
        "vdd_core[3]": [0.74],
        "temp_hot": [80.0],
        "t[2]": [40.0],
        "vdd_core": [1.0],
        "temp_old": [5.0],  # a spelling the profile renames is the profile's word
    }
    assert parser.channel_units == {
        "vdd_core[0]": "V",
        "vdd_core[3]": "V",
        "temp_hot": "C",
        "vdd_core": "V",
    }


def test_malformed_slot_lines_are_counted_with_the_reason():
    parser = TelemetryParser()
    parser.feed(b"vdd[0]=1\nvdd[x]=2\n>t[-1]:3\n", 1_000_000, 0)
    batch = parser.take()
    assert parser.malformed == 2 and batch.malformed == 2
    assert [c.text for c in batch.console] == [
        "vdd[x]=2  [bad slot 'x' in channel name 'vdd[x]': a slot is a whole number "
        "(0, 1, 2, …) in brackets after the name, as in vdd_core[2]]",
        ">t[-1]:3  [bad slot '-1' in channel name 't[-1]': a slot is a whole number "
        "(0, 1, 2, …) in brackets after the name, as in vdd_core[2]]",
    ]
    assert list(batch.samples) == ["vdd[0]"]


def test_console_values_take_slots_too():
    profile = parse_profile(
        "[line]\nslot_pattern = '^chip(?P<slot>\\d+)_(?P<name>.+)$'\n"
        "[[console_value]]\npattern = 'CHIP(?P<idx>\\d+) TEMP = (?P<value>[-0-9.]+)'\n"
        'channel = "chip{idx}_temp"\n'
        "[[console_value]]\npattern = 'SLOT(?P<idx>\\S+) VDD = (?P<value>[-0-9.]+)'\n"
        'channel = "vdd[{idx}]"\n'
    )
    parser = TelemetryParser(profile)
    parser.feed(b"CHIP2 TEMP = 45.5\nSLOT1 VDD = 0.75\nSLOTx VDD = 0.8\n", 1_000_000, 0)
    batch = parser.take()
    assert {n: v.tolist() for n, (_, v) in batch.samples.items()} == {
        "temp[2]": [45.5],
        "vdd[1]": [0.75],
    }
    # a console line is never malformed: the one with a bad slot stays text, without a sample
    assert [c.kind for c in batch.console] == ["console"] * 3


def test_the_pattern_runs_once_per_distinct_name(monkeypatch):
    calls = []
    real = slots.apply_slot_pattern

    def counting(pattern, name):
        calls.append(name)
        return real(pattern, name)

    monkeypatch.setattr(slots, "apply_slot_pattern", counting)
    profile = parse_profile("[line]\nslot_pattern = '^chip(?P<slot>\\d+)_(?P<name>.+)$'\n")
    parser = TelemetryParser(profile)
    kv = b"".join(b"chip0_vdd=%d,chip1_vdd=%d\n" % (i, i) for i in range(500))
    teleplot = b"".join(b">chip2_temp:%d\n" % i for i in range(500))
    parser.feed(kv, 1_000_000, 0)
    parser.feed(teleplot, 2_000_000, 1_000_000)
    batch = parser.take()
    assert sorted(calls) == ["chip0_vdd", "chip1_vdd", "chip2_temp"]
    assert {n: v.size for n, (_, v) in batch.samples.items()} == {
        "vdd[0]": 500,
        "vdd[1]": 500,
        "temp[2]": 500,
    }


def test_the_name_cache_stays_bounded(monkeypatch):
    monkeypatch.setattr(slots, "MAX_CACHED_NAMES", 64)
    names = ChannelNames()
    for i in range(1000):
        assert names.target(f"junk_{i}[{i % 7}]").name == f"junk_{i}[{i % 7}]"
        assert names.target(f"bad_{i}[x]") is None
    assert len(names._targets) <= 64 and len(names._slot_names) <= 64


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "[line]\nslot_pattern = '^chip(?P<slot>\\d+'\n",
            "p.toml, line 2: [line] slot_pattern: invalid regular expression",
        ),
        (
            "[line]\nformat = 'kv'\nslot_pattern = '^chip(?P<slot>\\d+)_(.+)$'\n",
            "p.toml, line 3: [line] slot_pattern: the pattern needs the named group (?P<name>...)",
        ),
        (
            "[line]\nslot_pattern = '^chip\\d+_.+$'\n",
            "p.toml, line 2: [line] slot_pattern: the pattern needs the named groups "
            "(?P<name>...) and (?P<slot>...)",
        ),
        ("[line]\nslot_pattern = 3\n", "p.toml, line 2: [line] slot_pattern must be str, not 3"),
        (
            '[line]\nframe_fields = ["", "vdd[x]"]\n',
            "p.toml, line 2: [line] frame_fields: bad slot 'x' in channel name 'vdd[x]'",
        ),
        (
            '[[channel]]\nmatch = "a"\nname = "vdd[2"\n',
            "p.toml, line 3: [[channel]] #1 name: bad slot brackets in channel name 'vdd[2'",
        ),
        (
            '[[channel]]\nmatch = "vdd[-2]"\n',
            "p.toml, line 2: [[channel]] #1 match: bad slot '-2' in channel name 'vdd[-2]'",
        ),
    ],
)
def test_bad_slot_settings_name_file_line_and_key(text, message):
    with pytest.raises(ProfileError) as info:
        parse_profile(text, "p.toml")
    assert str(info.value).startswith(message)
    assert "\n" not in str(info.value)


def test_frame_fields_may_use_the_slot_pattern():
    profile = parse_profile(
        "[line]\nslot_pattern = '^chip(?P<slot>\\d+)_(?P<name>.+)$'\n"
        'frame_fields = ["", "chip0_vdd", "chip1_vdd"]\n'
    )
    parser = TelemetryParser(profile)
    parser.feed(b"/*sled,0.75,0.76*/\n", 1_000_000, 0)
    assert {n: v.tolist() for n, (_, v) in parser.take().samples.items()} == {
        "vdd[0]": [0.75],
        "vdd[1]": [0.76],
    }
