"""Each line format of docs/architecture.md (line formats), console text and malformed lines."""

from __future__ import annotations

import math

import pytest

from labbench.protocols.formats import parse_line


@pytest.mark.parametrize(
    "line, values",
    [
        (
            "vdd_core=0.751,idd_core=12.3 temp_die=45.1",
            [("vdd_core", 0.751), ("idd_core", 12.3), ("temp_die", 45.1)],
        ),
        ("a=1;b=2\tc=-3e-3", [("a", 1.0), ("b", 2.0), ("c", -3e-3)]),
        ("vdd_core:0.751 idd_core:12.3", [("vdd_core", 0.751), ("idd_core", 12.3)]),
        ("0.751 12.3", [("value1", 0.751), ("value2", 12.3)]),
        ("0.751,12.3\t7", [("value1", 0.751), ("value2", 12.3), ("value3", 7.0)]),
        (
            '{"vdd_core": 0.751, "temp_die": 45.1, "ok": true, "tag": "x"}',
            [("vdd_core", 0.751), ("temp_die", 45.1), ("ok", 1.0)],
        ),
        (">temp_die:45.1", [("temp_die", 45.1)]),
    ],
)
def test_telemetry_lines(line, values):
    result = parse_line(line)
    assert result.kind == "telemetry"
    assert result.values == values


def test_teleplot_unit_and_device_time():
    result = parse_line(">temp_die:1732550400123:45.1§°C")
    assert result.values == [] and result.points == [("temp_die", 1732550400123.0, 45.1)]
    assert result.units == {"temp_die": "°C"}
    assert parse_line(">temp_die:45.1§C|np").units == {"temp_die": "C"}


def test_csv_header_then_rows():
    header = parse_line("t,vdd_core,temp_die")
    assert header.kind == "header" and header.header == ["t", "vdd_core", "temp_die"]
    row = parse_line("0.01,0.751,45.1", csv_header=header.header)
    assert row.values == [("t", 0.01), ("vdd_core", 0.751), ("temp_die", 45.1)]
    # An empty cell is no sample; a row of another width is the bare plotter format.
    assert parse_line("0.02,,45.2", csv_header=header.header).values == [
        ("t", 0.02),
        ("temp_die", 45.2),
    ]
    assert parse_line("1,2", csv_header=header.header).values == [("value1", 1.0), ("value2", 2.0)]


def test_nan_and_inf_are_values():
    result = parse_line("a=nan,b=inf,c=-inf")
    assert (
        math.isnan(result.values[0][1])
        and result.values[1][1] == math.inf
        and result.values[2][1] == -math.inf
    )


@pytest.mark.parametrize(
    "line",
    [
        "Booting firmware v1.2.3",
        "TEMP0 = 45.2 C",
        "Error: something failed",
        "3 errors found",
        "OK PWR ON",
        "Booting, please wait",
        '{"note": null}',
        ">:Hello world",
        ">1627551892437:Hello world",
        "",
        "   ",
    ],
)
def test_console_lines(line):
    assert parse_line(line).kind == "console"


@pytest.mark.parametrize(
    "line",
    [
        "vdd_core=0.7x1",
        "vdd_core=",
        "vdd_core=0.75,temp_d",
        "vdd_core=0.75,temp_die=4x.1",
        "vdd:0.7x",
        "0.75 0.7.5",
        '{"vdd": 0.75',
        '{"vdd": 0.75,}',
        ">temp_die:4x5",
        ">no colon",
        "vdd_core=1_000",
        "vdd_core=0x1A",
        "vdd_core=1e400",
        "vdd_core=" + "9" * 400,
        '{"vdd_core": 1e400}',
        '{"vdd_core": ' + "9" * 400 + "}",
        ">accel:1.5;1.75",
        ">pos:1:2:3:4|xy",
        "/*title,0.8,4x.5*/",
    ],
)
def test_malformed_lines(line):
    result = parse_line(line)
    assert result.kind == "malformed", (line, result)
    assert result.reason


def test_fixed_format_ignores_other_shapes():
    assert parse_line("a=1", fmt="json").kind == "console"
    assert parse_line('{"a": 1}', fmt="kv").kind == "console"
    assert parse_line("a:1", fmt="plotter").values == [("a", 1.0)]


def test_parser_never_raises_on_strange_text():
    for line in [
        "\x00\x01\x02",
        "=" * 1000,
        "{" * 10_000,
        ">" + ":" * 50,
        "a=" + "9" * 5000,
        "\ufffd=1",
    ]:
        assert parse_line(line).kind in ("console", "malformed", "telemetry")
