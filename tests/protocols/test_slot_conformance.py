"""Per-slot channels in every line format, as labbench must store them.

``vdd_core[2]`` is the channel ``vdd_core`` of slot 2 in key=value, CSV, Teleplot, JSON
(nested too), Serial Studio frames and Arduino plotter labels; a profile's ``slot_pattern``
maps other conventions (``chip2_vdd_core``, ``c2.vdd_core``, JSON arrays) onto it.  A name
whose brackets are not one slot makes its line malformed: counted and kept in the console log,
never stored under a wrong slot.  Each stream is fed whole and split at every byte offset
into two reads, with exact channel names, values, units, times and events (the machinery of
``test_conformance``).
"""

from __future__ import annotations

import pytest

from labbench.protocols.profile import parse_profile
from tests.protocols.test_conformance import Line, _arrival, _expected, _parse

KV = {
    "brackets": [
        Line(
            "vdd_core[0]=0.751,vdd_core[1]=0.748 temp_die[1]=45.1",
            [("vdd_core[0]", 0.751), ("vdd_core[1]", 0.748), ("temp_die[1]", 45.1)],
        )
    ],
    "sled-level next to per-slot": [
        Line("temp_board=30,vdd_core[3]=0.75", [("temp_board", 30.0), ("vdd_core[3]", 0.75)])
    ],
    "steady stream": [
        Line(f"vdd_core[0]={i},vdd_core[2]={i / 2}", [("vdd_core[0]", i), ("vdd_core[2]", i / 2)])
        for i in range(4)
    ],
    "leading zero is the same slot": [Line("vdd[02]=1.5", [("vdd[2]", 1.5)])],
    "the largest slot": [Line("vdd[4095]=1", [("vdd[4095]", 1.0)])],
    "not a number": [Line("vdd[x]=1", console="malformed")],
    "unclosed": [Line("vdd[2=1", console="malformed")],
    "negative": [Line("vdd[-1]=1", console="malformed")],
    "empty": [Line("vdd[]=1", console="malformed")],
    "two slots": [Line("vdd[1][2]=1", console="malformed")],
    "text after the slot": [Line("vdd[2]x=1", console="malformed")],
    "beyond the largest slot": [Line("vdd[4096]=1", console="malformed")],
    "one bad name spoils the line": [Line("vdd[0]=1,vdd[x]=2", console="malformed")],
    "a bad line inside a steady stream": [
        Line("a[0]=1,a[1]=2", [("a[0]", 1.0), ("a[1]", 2.0)]),
        Line("a[0]=3,a[1]=4", [("a[0]", 3.0), ("a[1]", 4.0)]),
        Line("a[0]=5,a[x]=6", console="malformed"),
        Line("a[0]=7,a[1]=8", [("a[0]", 7.0), ("a[1]", 8.0)]),
    ],
    "two spellings of one slot in a stream": [
        Line("v[2]=1,v[02]=2", [("v[2]", 1.0), ("v[2]", 2.0)]),
        Line("v[2]=3,v[02]=4", [("v[2]", 3.0), ("v[2]", 4.0)]),
    ],
}

PLOTTER = {
    "labels": [
        Line(
            "vdd_core[0]:0.751 vdd_core[1]:0.748", [("vdd_core[0]", 0.751), ("vdd_core[1]", 0.748)]
        )
    ],
    "label-only line names the values after it": [
        Line("vdd[0]:\tvdd[1]:", console="console"),
        Line("0.75\t0.76", [("vdd[0]", 0.75), ("vdd[1]", 0.76)]),
    ],
    "bad slot": [Line("vdd[x]:1 vdd[1]:2", console="malformed")],
}

TELEPLOT = {
    "unit": [Line(">vdd_core[2]:0.748§V", [("vdd_core[2]", 0.748)], units={"vdd_core[2]": "V"})],
    "device time": [
        Line(">vdd_core[2]:1732550400123:0.748", points=[("vdd_core[2]", 1732550400123, 0.748)])
    ],
    "multi-point": [
        Line(
            ">temp_die[1]:1000:45;1010:46§°C",
            points=[("temp_die[1]", 1000, 45.0), ("temp_die[1]", 1010, 46.0)],
            units={"temp_die[1]": "°C"},
        )
    ],
    "xy point: the slot stays at the end": [
        Line(">pos[3]:1.5:2.5|xy", [("pos.x[3]", 1.5), ("pos.y[3]", 2.5)])
    ],
    "text": [Line(">state[2]:ON|t", texts=[("state[2]=ON", None)])],
    "clock per slot": [
        Line(">v[0]:1000:1", points=[("v[0]", 1000, 1.0)]),
        Line(">v[1]:5000:2", points=[("v[1]", 5000, 2.0)]),
        Line(">v[0]:1010:3", points=[("v[0]", 1010, 3.0)]),
    ],
    "bad slot": [Line(">vdd[x]:1", console="malformed")],
    "bad slot in a text": [Line(">state[x]:ON|t", console="malformed")],
    "a unit in brackets is not a slot": [Line(">temp [C]:45", console="malformed")],
}

JSON_LINES = {
    "members": [
        Line(
            '{"vdd_core[2]": 0.748, "temp_die[2]": 45.1}',
            [("vdd_core[2]", 0.748), ("temp_die[2]", 45.1)],
        )
    ],
    "nested below a slot": [
        Line(
            '{"rail[2]": {"core": 0.75, "hbm": 1.1}}',
            [("rail.core[2]", 0.75), ("rail.hbm[2]", 1.1)],
        )
    ],
    "slot inside a nested object": [
        Line('{"rails": {"vdd_core[1]": 0.75}}', [("rails.vdd_core[1]", 0.75)])
    ],
    "booleans and texts": [
        Line(
            '{"pg[3]": true, "state[3]": "ON"}',
            [("pg[3]", 1.0)],
            texts=[("state[3]=ON", None)],
        )
    ],
    "bad slot": [Line('{"vdd[x]": 1}', console="malformed")],
    "two slots on one path": [Line('{"a[1]": {"b[2]": 1}}', console="malformed")],
}

CSV = {
    "header": [
        Line("t,vdd_core[0],vdd_core[1]", console="console"),
        Line("0.01,0.751,0.748", [("t", 0.01), ("vdd_core[0]", 0.751), ("vdd_core[1]", 0.748)]),
        Line("0.02,,0.749", [("t", 0.02), ("vdd_core[1]", 0.749)]),
    ],
    "bad slot in the header": [
        Line("t,vdd[x]", console="console"),
        Line("0.01,0.75", console="malformed"),
    ],
}

SERIAL_STUDIO = {
    "named fields": [
        Line(
            "/*rig7,0.75,0.76,idle*/",
            [("vdd_core[0]", 0.75), ("vdd_core[1]", 0.76)],
            texts=[("state[1]=idle", None)],
        )
    ],
}
FRAME_PROFILE = parse_profile(
    '[line]\nframe_fields = ["", "vdd_core[0]", "vdd_core[1]", "state[1]"]\n'
)

CHIP_PATTERN = parse_profile("[line]\nslot_pattern = '^chip(?P<slot>\\d+)_(?P<name>.+)$'\n")
CHIP_NAMES = {
    "key=value": [
        Line(
            "chip2_vdd_core=0.748,chip3_vdd_core=0.75,temp_board=30",
            [("vdd_core[2]", 0.748), ("vdd_core[3]", 0.75), ("temp_board", 30.0)],
        )
    ],
    "steady stream": [
        Line(f"chip0_vdd={i},chip1_vdd={i + 1}", [("vdd[0]", i), ("vdd[1]", i + 1)])
        for i in range(4)
    ],
    "leading zero": [Line("chip02_vdd=1", [("vdd[2]", 1.0)])],
    "brackets still work": [Line("vdd_core[1]=0.7", [("vdd_core[1]", 0.7)])],
    "teleplot": [
        Line(">chip2_vdd_core:0.748§V", [("vdd_core[2]", 0.748)], units={"vdd_core[2]": "V"})
    ],
    "json": [Line('{"chip1_temp_die": 45}', [("temp_die[1]", 45.0)])],
    "plotter": [Line("chip0_vdd:1 chip1_vdd:2", [("vdd[0]", 1.0), ("vdd[1]", 2.0)])],
    "csv": [
        Line("t,chip0_vdd,chip1_vdd", console="console"),
        Line("0.5,1,2", [("t", 0.5), ("vdd[0]", 1.0), ("vdd[1]", 2.0)]),
    ],
    "a slot on both sides": [Line("chip2_vdd[3]=1", console="malformed")],
    "beyond the largest slot": [Line("chip99999_vdd=1", console="malformed")],
}

DOTTED_PATTERN = parse_profile("[line]\nslot_pattern = '^c(?P<slot>\\d+)\\.(?P<name>.+)$'\n")
DOTTED_NAMES = {
    "key=value": [Line("c2.vdd_core=0.748,cx.vdd=1", [("vdd_core[2]", 0.748), ("cx.vdd", 1.0)])],
    "teleplot": [Line(">c0.temp_die:41.5", [("temp_die[0]", 41.5)])],
}

ARRAY_PATTERN = parse_profile("[line]\nslot_pattern = '^(?P<name>.+)\\.(?P<slot>[0-9]+)$'\n")
ARRAY_NAMES = {
    "a JSON array of slots": [
        Line(
            '{"vdd_core": [0.75, 0.76, 0.74], "temp_board": 30}',
            [
                ("vdd_core[0]", 0.75),
                ("vdd_core[1]", 0.76),
                ("vdd_core[2]", 0.74),
                ("temp_board", 30.0),
            ],
        )
    ],
}

CASES = [
    (f"{group}: {name}", lines, profile)
    for group, table, profile in [
        ("kv", KV, None),
        ("plotter", PLOTTER, None),
        ("teleplot", TELEPLOT, None),
        ("json", JSON_LINES, None),
        ("csv", CSV, None),
        ("serial-studio", SERIAL_STUDIO, FRAME_PROFILE),
        ("slot_pattern chip", CHIP_NAMES, CHIP_PATTERN),
        ("slot_pattern dotted", DOTTED_NAMES, DOTTED_PATTERN),
        ("slot_pattern array", ARRAY_NAMES, ARRAY_PATTERN),
    ]
    for name, lines in table.items()
]


@pytest.mark.parametrize("name, lines, profile", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_slot_names_at_every_split(name, lines, profile, ending):
    data = b"".join(line.text.encode() + ending.encode() for line in lines)
    ends, pos = [], 0
    for line in lines:
        pos += len(line.text.encode())
        ends.append(pos)
        pos += len(ending.encode())
    for split in [None, *range(1, len(data))]:
        got = _parse(data, split, profile)
        want = _expected(lines, _arrival(ends, split))
        assert got == want, f"{name}, split at byte {split}"
