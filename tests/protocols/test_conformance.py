"""Conformance: each format's own documentation, line for line, as labbench must store it.

The lines are the examples of each tool's documentation (Teleplot's README, the Arduino
Serial Plotter protocol, jsonlines.org, Serial Studio's wiki and help) plus the examples
of labbench's own format table.  Every stream is fed whole and split at every byte offset
into two reads; the exact channels, values, units, times and events are expected each time.

Times: a read that returns at ``end`` after the read before it returned at ``start``
spreads the n lines it finished over (start, end]: line j (0-based) at
``start + (j + 1) * (end - start) // n``.  A Teleplot point with its own time is placed at
its channel's anchor (the arrival of that channel's first point) plus the device time since.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pytest

from labbench.protocols.parser import TelemetryParser
from labbench.protocols.profile import Profile, parse_profile

READ_1 = (0, 1_000_000)
READ_2 = (1_000_000, 2_000_000)


@dataclass
class Line:
    """One line on the wire and what it means."""

    text: str
    samples: list = field(default_factory=list)  # (channel, value): timed by arrival
    points: list = field(default_factory=list)  # (channel, device ms, value)
    texts: list = field(default_factory=list)  # ("name=text", device ms or None)
    units: dict = field(default_factory=dict)
    console: str = ""  # "console" / "malformed" / "result" when the line is kept as text
    notes: list = field(default_factory=list)  # event kinds


TELEPLOT = {  # github.com/nesnes/teleplot README (serial lines start with ">")
    "plain": [Line(">myValue:1234", [("myValue", 1234.0)])],
    "empty flags": [Line(">myValue:1234|", [("myValue", 1234.0)])],
    "exponent": [Line(">myValue:12.34e+2", [("myValue", 1234.0)])],
    "timestamp": [Line(">myValue:1627551892437:1234", points=[("myValue", 1627551892437, 1234.0)])],
    "text": [Line(">myValue:hello|t", texts=[("myValue=hello", None)])],
    "unit": [Line(">myValue:1234§km²", [("myValue", 1234.0)], units={"myValue": "km²"})],
    "xy": [Line(">trajectory:12.3:45.67|xy", [("trajectory.x", 12.3), ("trajectory.y", 45.67)])],
    "xy timestamped": [
        Line(
            ">trajectoryTimestamped:1:1:1627551892437;2:2:1627551892448;3:3:1627551892459|xy",
            points=[
                ("trajectoryTimestamped.x", 1627551892437, 1.0),
                ("trajectoryTimestamped.y", 1627551892437, 1.0),
                ("trajectoryTimestamped.x", 1627551892448, 2.0),
                ("trajectoryTimestamped.y", 1627551892448, 2.0),
                ("trajectoryTimestamped.x", 1627551892459, 3.0),
                ("trajectoryTimestamped.y", 1627551892459, 3.0),
            ],
        )
    ],
    "text with spaces": [
        Line(">motor_4_state:Turned On|t", texts=[("motor_4_state=Turned On", None)])
    ],
    "text timestamped": [
        Line(">motor_4_state:1627551892437:Off|t", texts=[("motor_4_state=Off", 1627551892437)])
    ],
    "xy several points": [
        Line(
            ">trajectory:1:1;2:2;3:3;4:4|xy",
            [
                ("trajectory.x", 1.0),
                ("trajectory.y", 1.0),
                ("trajectory.x", 2.0),
                ("trajectory.y", 2.0),
                ("trajectory.x", 3.0),
                ("trajectory.y", 3.0),
                ("trajectory.x", 4.0),
                ("trajectory.y", 4.0),
            ],
        )
    ],
    "several points": [
        Line(
            ">myValue:1627551892444:1;1627551892555:2;1627551892666:3",
            points=[
                ("myValue", 1627551892444, 1.0),
                ("myValue", 1627551892555, 2.0),
                ("myValue", 1627551892666, 3.0),
            ],
        )
    ],
    "several points with unit": [
        Line(
            ">myValue:1627551892444:1;1627551892555:2;1627551892666:3§rad",
            points=[
                ("myValue", 1627551892444, 1.0),
                ("myValue", 1627551892555, 2.0),
                ("myValue", 1627551892666, 3.0),
            ],
            units={"myValue": "rad"},
        )
    ],
    "several texts": [
        Line(
            ">state:1627551892444:state_a;1627551892555:state_b|t",
            texts=[("state=state_a", 1627551892444), ("state=state_b", 1627551892555)],
        )
    ],
    "no-plot flag": [
        Line(">myValue:1627551892437:1234|np", points=[("myValue", 1627551892437, 1234.0)])
    ],
    "xy no-plot": [
        Line(">trajectory:12.3:45.67|xy,np", [("trajectory.x", 12.3), ("trajectory.y", 45.67)])
    ],
    "text log": [Line(">:Hello world", console="console")],
    "text log timestamped": [Line(">1627551892437:Hello world", console="console")],
    "3D shape": [
        Line(">3D|mySimpleCube:S:cube:P:1:1:1:R:0:0:0:W:2:H:2:D:2:C:#2ecc71", console="console")
    ],
    "one packet, several telemetries": [
        Line(">myValue:1234", [("myValue", 1234.0)]),
        Line(">myThirdValue:1627551892437:1234", points=[("myThirdValue", 1627551892437, 1234.0)]),
        Line(">state:state_a|t", texts=[("state=state_a", None)]),
        Line(
            ">trajectory:1:1;2:2|xy",
            [
                ("trajectory.x", 1.0),
                ("trajectory.y", 1.0),
                ("trajectory.x", 2.0),
                ("trajectory.y", 2.0),
            ],
        ),
    ],
    # labbench's format table
    "unit after §": [Line(">temp_die:45.1§C", [("temp_die", 45.1)], units={"temp_die": "C"})],
    "device time": [
        Line(">temp_die:1732550400123:45.1", points=[("temp_die", 1732550400123, 45.1)])
    ],
    "multi-point": [
        Line(
            ">accel:1627551892437:1.5;1627551892447:1.75",
            points=[("accel", 1627551892437, 1.5), ("accel", 1627551892447, 1.75)],
        )
    ],
    "xy point": [Line(">pos:10.5:20.3|xy", [("pos.x", 10.5), ("pos.y", 20.3)])],
    "status text": [Line(">status:Running|t", texts=[("status=Running", None)])],
    "clear": [
        Line(">pos:10.5:20.3|xy,clr", [("pos.x", 10.5), ("pos.y", 20.3)], notes=["plot_clear"])
    ],
    "clock per channel": [
        Line(">a:1000:1", points=[("a", 1000, 1.0)]),
        Line(">b:5", [("b", 5.0)]),
        Line(">pos:10.5:20.3|xy", [("pos.x", 10.5), ("pos.y", 20.3)]),
        Line(">a:1010:2", points=[("a", 1010, 2.0)]),
    ],
    "bad number": [Line(">temp_die:4x5", console="malformed")],
    "points without times": [Line(">accel:1.5;1.75", console="malformed")],
}

PLOTTER = {  # Arduino's SerialPlotter protocol and the IDE 2 Serial Plotter tutorial
    "value only": [Line("10", [("value1", 10.0)]), Line("11", [("value1", 11.0)])],
    "labels and values": [
        Line("Variable_1:512,Variable_2:500", [("Variable_1", 512.0), ("Variable_2", 500.0)])
    ],
    "tab separated": [Line("a:0.5\tb:-0.25", [("a", 0.5), ("b", -0.25)])],
    "space separated": [Line("a:1 b:2", [("a", 1.0), ("b", 2.0)])],
    "values only, several": [Line("1\t2\t3", [("value1", 1.0), ("value2", 2.0), ("value3", 3.0)])],
    "label-only line names the values after it": [
        Line("label0:\tlabel1:\tlabel2:", console="console"),
        Line("0\t1\t2", [("label0", 0.0), ("label1", 1.0), ("label2", 2.0)]),
    ],
    "labbench table": [
        Line("vdd_core:0.751 idd_core:12.3", [("vdd_core", 0.751), ("idd_core", 12.3)]),
        Line("0.751 12.3", [("value1", 0.751), ("value2", 12.3)]),
    ],
}

JSON_LINES = {  # jsonlines.org examples and labbench's format table
    "members": [
        Line('{"vdd_core": 0.751, "temp_die": 45.1}', [("vdd_core", 0.751), ("temp_die", 45.1)])
    ],
    "nested": [Line('{"rail": {"core": 0.75}}', [("rail.core", 0.75)])],
    "booleans": [Line('{"pg": true, "fault": false}', [("pg", 1.0), ("fault", 0.0)])],
    "strings are text": [
        Line(
            '{"name": "Gilbert", "session": "2013", "score": 24, "completed": true}',
            [("score", 24.0), ("completed", 1.0)],
            texts=[("name=Gilbert", None), ("session=2013", None)],
        )
    ],
    "arrays by index": [
        Line(
            '{"name": "May", "wins": [1, 2]}',
            [("wins.0", 1.0), ("wins.1", 2.0)],
            texts=[("name=May", None)],
        )
    ],
    "null is no sample": [Line('{"a": null, "b": 2}', [("b", 2.0)])],
    "broken": [Line('{"vdd": 0.75', console="malformed")],
    "beyond float64": [Line('{"vdd": 1e400}', console="malformed")],
}

KV = {
    "labbench table": [
        Line(
            "vdd_core=0.751,idd_core=12.3 temp_die=45.1",
            [("vdd_core", 0.751), ("idd_core", 12.3), ("temp_die", 45.1)],
        )
    ],
    "separators": [Line("a=1;b=2\tc=3", [("a", 1.0), ("b", 2.0), ("c", 3.0)])],
    "steady stream": [Line(f"a={i},b={i / 2}", [("a", float(i)), ("b", i / 2)]) for i in range(4)],
    "broken": [Line("vdd_core=0.75,temp_die=4x.1", console="malformed")],
    "console text": [Line("Booting firmware v1.2.3", console="console")],
}

CSV = {
    "labbench table": [
        Line("t,vdd_core,temp_die", console="console"),
        Line("0.01,0.751,45.1", [("t", 0.01), ("vdd_core", 0.751), ("temp_die", 45.1)]),
    ],
    "Serial Studio quick plot": [  # Serial Studio help, Operation Modes: Quick Plot
        Line("Temperature,Pressure,Humidity", console="console"),
        Line("23.5,1013.2,45.0", [("Temperature", 23.5), ("Pressure", 1013.2), ("Humidity", 45.0)]),
        Line("23.6,1013.1,45.1", [("Temperature", 23.6), ("Pressure", 1013.1), ("Humidity", 45.1)]),
    ],
}

KAANSAT = (
    "/*KAANSATQRO,2051,2,5,26,10,101.26,27,32,1001,21.1619,86.8515,10,4,1.23,9.81,0.23,0,0,0*/"
)
KAANSAT_VALUES = [
    2051,
    2,
    5,
    26,
    10,
    101.26,
    27,
    32,
    1001,
    21.1619,
    86.8515,
    10,
    4,
    1.23,
    9.81,
    0.23,
    0,
    0,
    0,
]
SERIAL_STUDIO = {  # Serial Studio wiki: the frame a KAANSATQRO project file maps as %1..%20
    "unnamed fields": [
        Line(KAANSAT, [(f"value{i}", float(v)) for i, v in enumerate(KAANSAT_VALUES, 2)])
    ],
    "issue example": [Line("/*title,0.80,45.6*/", [("value2", 0.80), ("value3", 45.6)])],
    "broken number": [Line("/*title,0.8,4x.5*/", console="malformed")],
}
FRAME_PROFILE = parse_profile('[line]\nframe_fields = ["", "vdd_core", "temp_die", "state"]\n')
SERIAL_STUDIO_NAMED = {
    "named fields": [
        Line(
            "/*rig7,0.80,45.6,idle*/",
            [("vdd_core", 0.80), ("temp_die", 45.6)],
            texts=[("state=idle", None)],
        )
    ],
    "fields past the names": [
        Line(
            "/*rig7,0.80,45.6,idle,12*/",
            [("vdd_core", 0.80), ("temp_die", 45.6), ("value5", 12.0)],
            texts=[("state=idle", None)],
        )
    ],
}

CASES = [
    (f"{group}: {name}", lines, profile)
    for group, table, profile in [
        ("teleplot", TELEPLOT, None),
        ("plotter", PLOTTER, None),
        ("json", JSON_LINES, None),
        ("kv", KV, None),
        ("csv", CSV, None),
        ("serial-studio", SERIAL_STUDIO, None),
        ("serial-studio named", SERIAL_STUDIO_NAMED, FRAME_PROFILE),
    ]
    for name, lines in table.items()
]


def _arrival(ends: list[int], split: int | None) -> list[int]:
    """Each line's arrival time, from where its line end falls (``ends``: byte offsets)."""
    if split is None:
        groups = [(READ_1, list(range(len(ends))))]
    else:
        groups = [
            (READ_1, [i for i, e in enumerate(ends) if e < split]),
            (READ_2, [i for i, e in enumerate(ends) if e >= split]),
        ]
    times = [0] * len(ends)
    for (start, end), members in groups:
        for j, i in enumerate(members):
            times[i] = start + (j + 1) * (end - start) // len(members)
    return times


def _expected(lines: list[Line], arrivals: list[int]):
    samples: dict[str, list[tuple[int, float]]] = {}
    units: dict[str, str] = {}
    console, notes = [], []
    anchors: dict[str, tuple[int, int]] = {}

    def device_time(channel: str, ms: int, arrival: int) -> int:
        anchor_ms, anchor_ns = anchors.setdefault(channel, (ms, arrival))
        return anchor_ns + (ms - anchor_ms) * 1_000_000

    for line, arrival in zip(lines, arrivals, strict=True):
        for channel, value in line.samples:
            series = samples.setdefault(channel, [])
            t = arrival if not series or series[-1][0] < arrival else series[-1][0] + 1
            series.append((t, value))
        for channel, ms, value in line.points:
            samples.setdefault(channel, []).append((device_time(channel, ms, arrival), value))
        for text, ms in line.texts:
            channel = text.split("=", 1)[0]
            console.append(
                ("text", text, arrival if ms is None else device_time(channel, ms, arrival))
            )
        if line.console:
            console.append((line.console, None, arrival))
        units.update(line.units)
        notes += line.notes
    return samples, units, console, notes


def _parse(data: bytes, split: int | None, profile: Profile | None):
    parser = TelemetryParser(profile)
    if split is None:
        parser.feed(data, READ_1[1], READ_1[0])
    else:
        parser.feed(data[:split], READ_1[1], READ_1[0])
        parser.feed(data[split:], READ_2[1], READ_2[0])
    batch = parser.take()
    samples = {
        name: list(zip(t.tolist(), v.tolist(), strict=True))
        for name, (t, v) in batch.samples.items()
    }
    console = [(c.kind, c.text if c.kind == "text" else None, c.received_ns) for c in batch.console]
    notes = [n.kind for n in batch.notes]
    return samples, parser.channel_units, console, notes


@pytest.mark.parametrize("name, lines, profile", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_documented_lines_at_every_split(name, lines, profile, ending):
    data = b"".join(line.text.encode() + ending.encode() for line in lines)
    ends, pos = [], 0
    for line in lines:
        pos += len(line.text.encode())
        ends.append(pos)  # the first byte of the line's ending: the line is finished there
        pos += len(ending.encode())
    for split in [None, *range(1, len(data))]:
        got = _parse(data, split, profile)
        want = _expected(lines, _arrival(ends, split))
        assert got == want, f"{name}, split at byte {split}"


def test_numbers_compare_exactly():
    """The expected values above are the floats the lines spell (no tolerance anywhere)."""
    samples, *_ = _parse(b">myValue:12.34e+2\n", None, None)
    assert samples["myValue"][0][1] == 1234.0 and not math.isnan(samples["myValue"][0][1])
