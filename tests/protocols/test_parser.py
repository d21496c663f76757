"""Framing and parsing survive any chunking; the block fast path equals the line reference."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labbench.protocols.framing import LineFramer
from labbench.protocols.parser import TelemetryParser
from labbench.protocols.profile import Profile, parse_profile


def run(chunks, profile: Profile | None = None, end=False):
    parser = TelemetryParser(profile)
    for i, chunk in enumerate(chunks):
        parser.feed(chunk, 1_000 + i)
    if end:
        parser.end_of_stream(10_000)
    batch = parser.take()
    samples = {name: [repr(float(x)) for x in v] for name, (_, v) in batch.samples.items()}
    console = [(c.kind, c.text) for c in batch.console]
    return samples, console, batch.lines, batch.malformed


def run_line_by_line(chunks):
    """``run`` with the block fast path switched off: every line through the reference."""
    original = TelemetryParser._parse_kv_block
    TelemetryParser._parse_kv_block = lambda self, block, times: False
    try:
        return run(chunks)
    finally:
        TelemetryParser._parse_kv_block = original


STREAMS = {
    "kv": b"vdd_core=0.751,idd_core=12.3 temp_die=45.1\r\n"
    b"vdd_core=0.752;idd_core=12.4\ttemp_die=45.2\r\n",
    "kv-lf": b"a=1,b=2\na=3,b=4\na=5,b=6\n",
    "kv-cr": b"a=1,b=2\ra=3,b=4\ra=5,b=6\r",
    "plotter": b"vdd_core:0.751 idd_core:12.3\r\n0.751 12.3\r\n",
    "teleplot": ">temp_die:45.1§C\r\n>temp_die:1732550400123:45.2\r\n".encode(),
    "json": b'{"vdd_core": 0.751, "temp_die": 45.1}\n{"vdd_core": 0.752, "temp_die": 45.2}\n',
    "csv": b"t,vdd_core,temp_die\r\n0.01,0.751,45.1\r\n0.02,0.752,45.2\r\n",
    "mixed": "boot ok\r\nvdd_core=0.75\r\nvdd_core=0.7x\r\nTEMP0 = 45.2 C\r\n>t:1§°C\r\n".encode(),
    "utf8": "label=1\r\nnote: température élevée ✓\r\nlabel=2\r\n".encode(),
}


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_every_format_split_at_every_byte_offset(name):
    data = STREAMS[name]
    whole = run([data])
    assert whole[2] == data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").count(b"\n")
    for offset in range(1, len(data)):
        assert run([data[:offset], data[offset:]]) == whole, f"split at byte {offset}"
    # and byte by byte
    assert run([data[i : i + 1] for i in range(len(data))]) == whole


def test_crlf_split_between_reads_is_one_line_end():
    samples, console, lines, _ = run([b"a=1\r", b"\na=2\r", b"\n"])
    assert samples == {"a": ["1.0", "2.0"]} and lines == 2 and console == []


def test_mid_utf8_character_split():
    data = "x=1\r\nnote °C\r\n".encode()
    cut = data.index("°".encode()) + 1  # inside the two-byte character
    assert run([data[:cut], data[cut:]])[1] == [("console", "note °C")]


def test_overlong_line_is_capped_and_memory_bounded():
    framer = LineFramer(max_line_bytes=4096)
    for _ in range(10_000):  # 10 MB without a newline, in 1 kB reads
        framer.feed(b"x" * 1000, 0)
        assert len(framer._partial) <= 4096
    block = framer.feed(b"\na=1\n", 1)
    assert block.count == 2 and block.capped == 1
    assert framer.capped_lines == 1 and framer.discarded_bytes == 10_000_000 - 4096
    assert block.lines()[0] == b"x" * 4096 and block.lines()[1] == b"a=1"


def test_capped_line_is_noted_counted_and_never_parsed():
    parser = TelemetryParser(Profile(max_line_bytes=64))
    parser.feed(b"a=" + b"1" * 200 + b"\nb=2\n", 5)
    batch = parser.take()
    assert [n.kind for n in batch.notes] == ["line_capped"]
    assert {name: v.tolist() for name, (_, v) in batch.samples.items()} == {"b": [2.0]}
    assert batch.malformed == 1 and parser.malformed == 1
    assert [(c.kind, c.text) for c in batch.console] == [
        ("malformed", "a=" + "1" * 62 + "  [cut at the 64-byte line cap]")
    ]


@pytest.mark.parametrize(
    "line, kept",
    [
        (b"p=" + b"1" * 4090 + b",y=12345", {}),  # y would be cut to 1
        (b"temp=" + b"0" * 4089 + b"45.5", {}),  # would read as 45.0
        (b"v=" + b"9" * 5000, {}),  # would read as inf
        (b">v:" + b"1" * 5000, {}),
        (b'{"v": ' + b"1" * 5000 + b"}", {}),
    ],
)
@pytest.mark.parametrize("pieces", [1, 7, 4096])
def test_lines_cut_at_the_4096_byte_cap_store_nothing(line, kept, pieces):
    parser = TelemetryParser()
    data = b"ok=1\n" + line + b"\nok=2\n"
    size = max(len(data) // pieces, 1)
    for i, start in enumerate(range(0, len(data), size)):
        parser.feed(data[start : start + size], 1_000 + i, 999 + i)
    batch = parser.take()
    assert {name: v.tolist() for name, (_, v) in batch.samples.items()} == {
        "ok": [1.0, 2.0],
        **kept,
    }
    assert batch.malformed == 1 and parser.framer.capped_lines == 1
    assert batch.console[0].kind == "malformed" and batch.console[0].text.endswith(
        "[cut at the 4096-byte line cap]"
    )


def test_channel_cap_drops_and_records():
    parser = TelemetryParser(Profile(max_channels=8))
    parser.feed(b"".join(f"name_{i}=1\n".encode() for i in range(5000)), 1)
    batch = parser.take()
    assert len(batch.samples) == 8
    assert parser.dropped_samples == 5000 - 8
    assert [n.kind for n in batch.notes] == ["channel_cap"] * 10  # the first ten are named
    parser.end_of_stream(2)
    summary = parser.take().notes
    assert [(n.kind, n.detail) for n in summary] == [
        ("channel_cap", "4992 samples of 4992 channels beyond the cap of 8 were dropped")
    ]


def test_device_time_going_backwards_reanchors():
    profile = parse_profile('[line]\ndevice_time = "t_ms"\ndevice_time_unit = "ms"\n')
    parser = TelemetryParser(profile)
    parser.feed(b"t_ms=1000,a=1\nt_ms=1500,a=2\n", 10_000_000_000, 9_000_000_000)
    parser.feed(b"t_ms=20,a=3\nt_ms=120,a=4\n", 20_000_000_000, 10_000_000_000)  # the rig rebooted
    batch = parser.take()
    t, _v = batch.samples["a"]
    assert "t_ms" not in batch.samples
    # Anchored on the first line's arrival (lines of a read are spread over it), then on
    # the first line after the reboot.
    assert t.tolist() == [9_500_000_000, 10_000_000_000, 15_000_000_000, 15_100_000_000]
    assert parser.device_time_resets == 1 and batch.notes[0].kind == "device_time_reset"


def test_profile_mapping_units_console_values_and_results():
    profile = parse_profile(
        """
[[channel]]
match = "clk_mhz"
name = "clk"
unit = "Hz"
scale = 1e6
[[console_value]]
pattern = '^TEMP(?P<idx>\\d+)\\s*=\\s*(?P<value>[-+0-9.eE]+)\\s*C$'
channel = "temp{idx}"
unit = "°C"
[result]
pattern = '^RESULT\\s+(?P<name>\\S+)\\s+(?P<value>\\S+)'
"""
    )
    parser = TelemetryParser(profile)
    parser.feed(b"clk_mhz=1500\nclk_mhz=1501\nTEMP3 = 45.5 C\nRESULT bist PASS\n", 7)
    batch = parser.take()
    assert batch.samples["clk"][1].tolist() == [1.5e9, 1.501e9]
    assert batch.samples["temp3"][1].tolist() == [45.5]
    assert batch.units == {"clk": "Hz", "temp3": "°C"}
    assert batch.results == [(7, "bist", "PASS")]
    assert [c.kind for c in batch.console] == ["console", "result"]


def test_disconnect_keeps_the_unfinished_line():
    samples, console, _lines, malformed = run([b"a=1\na=2,b=3"], end=True)
    assert samples == {"a": ["1.0"]} and malformed == 1 and "truncated" in console[-1][1]


# --- property-based -----------------------------------------------------------------------

chunkings = st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=200)


def _chunk(data: bytes, sizes: list[int]) -> list[bytes]:
    out, pos, i = [], 0, 0
    while pos < len(data):
        size = sizes[i % len(sizes)]
        out.append(data[pos : pos + size])
        pos += size
        i += 1
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=3000), sizes=chunkings)
def test_arbitrary_bytes_never_raise_and_chunking_does_not_matter(data, sizes):
    profile = Profile(max_line_bytes=64, max_channels=16)
    assert run(_chunk(data, sizes), profile, end=True) == run([data], profile, end=True)


kv_key = st.sampled_from(["vdd_core", "idd_core", "temp_die", "seq", "a", "fan_rpm"])
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
special = st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0])
kv_line = st.dictionaries(kv_key, st.one_of(finite, special), min_size=1, max_size=6)
line_end = st.sampled_from([b"\n", b"\r\n", b"\r"])


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(
        st.tuples(kv_line, line_end, st.sampled_from([",", ";", " ", "\t"])),
        min_size=1,
        max_size=60,
    ),
    sizes=chunkings,
)
def test_well_formed_lines_survive_any_chunking_intact(lines, sizes):
    data = b"".join(
        sep.join(f"{k}={v!r}" for k, v in values.items()).encode() + end
        for values, end, sep in lines
    )
    expected: dict[str, list[str]] = {}
    for values, _, _ in lines:
        for k, v in values.items():
            expected.setdefault(k, []).append(repr(float(v)))
    samples, console, count, malformed = run(_chunk(data, sizes))
    assert samples == expected
    assert console == [] and malformed == 0 and count == len(lines)


# Mostly undamaged lines, so that many blocks do take the fast path.
mutation = st.sampled_from(
    [""] * 30
    + ["x", "=", ",", "_", "0x1", "nan(1)", "1e", "--1", "inf", " ", "==", ".", "é"]
    + ["-", "+", "1", ";", "\t", ",,", ", ", "\x0b", "\x0c", "e5", "=1", "seq="]
)
# Keys with and without the characters of plain numbers (the fast path treats them apart).
kv_keys = st.sampled_from(
    [["vdd_core", "temp_die", "seq"], ["ch1", "v.2", "t-3"], ["vdd_core[0]", "vdd_io[15]", "seq"]]
)
# Values written as plain decimals (digits, sign, point) or in any float spelling.
kv_value = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=4).map(str),
    finite.map(repr),
)


@settings(max_examples=400, deadline=None)
@given(
    keys=kv_keys,
    rows=st.lists(
        st.tuples(
            st.lists(kv_value, min_size=3, max_size=3),
            st.integers(0, 40),
            mutation,
            st.sampled_from([b"\n"] * 3 + [b"\r\n"] * 6 + [b"\r", b"\r\n\r\n", b"\n\r\n"]),
        ),
        min_size=2,
        max_size=12,
    ),
)
def test_block_fast_path_agrees_with_line_reference(keys, rows):
    """Lines of one shape with random damage and line ends: parsed as one block (fast path)
    or one line at a time (reference), the results are the same."""
    lines = []
    for values, pos, damage, end in rows:
        text = ",".join(f"{k}={v}" for k, v in zip(keys, values, strict=True))
        pos = min(pos, len(text))
        lines.append((text[:pos] + damage + text[pos:]).encode() + end)
    primer = ",".join(f"{k}=0" for k in keys).encode() + b"\n"  # teaches the parser the shape
    fast = run([primer, b"".join(lines)])
    assert fast == run_line_by_line([primer] + lines)


def test_slot_keys_plain_decimals_are_not_read_one_float_at_a_time(monkeypatch):
    """A sled's keys carry digits (``vdd_core[2]``); their plain decimal values are still
    read in one pass, not by float() on each (the cost of a 16-chip sled's reader)."""
    from labbench.protocols import kv_block

    per_value = []
    original = kv_block._numbers
    monkeypatch.setattr(kv_block, "_numbers", lambda *a: per_value.append(a) or original(*a))
    parser = TelemetryParser()
    parser.feed(b"seq=0,vdd_core[0]=0.75,vdd_core[1]=0.7\r\n", 1)
    line_by_line = []  # the reference path never calls _numbers either: it must not be taken
    original_one = parser._parse_one
    parser._parse_one = lambda *a: line_by_line.append(a) or original_one(*a)
    parser.feed(b"seq=1,vdd_core[0]=0.7512,vdd_core[1]=-0.000377773\r\n" * 50, 2)
    samples = parser.take().samples
    assert per_value == [] and line_by_line == []
    assert samples["vdd_core[1]"][1][-1] == -0.000377773 and samples["seq"][1].size == 51
    parser.feed(b"seq=2,vdd_core[0]=1e-3,vdd_core[1]=0.7\r\n" * 3, 3)  # not plain: float()
    assert len(per_value) == 1 and parser.take().samples["vdd_core[0]"][1].tolist() == [1e-3] * 3


def test_fast_path_is_taken_for_a_steady_stream():
    parser = TelemetryParser()
    parser.feed(b"a=1,b=2\n", 1)
    calls = []
    original = parser._parse_one
    parser._parse_one = lambda *a: calls.append(a) or original(*a)
    parser.feed(b"a=3,b=4\na=5,b=6\n" * 100, 2)
    assert calls == []
    assert parser.take().samples["b"][1].size == 201
    assert parser.take().samples == {}
