"""Sample times spread over each read, and numbers that were on the line and nothing else."""

from __future__ import annotations

import math
import re

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labbench.protocols.parser import TelemetryParser
from labbench.protocols.profile import Profile, parse_profile

# --- arrival-time spreading ---------------------------------------------------------------


def test_lines_of_one_read_are_spread_over_the_interval_since_the_previous_read():
    parser = TelemetryParser()
    parser.feed(b"a=1\na=2\na=3\na=4\n", 2_000_000, 1_000_000)
    parser.feed(b"a=5\n", 2_500_000, 2_000_000)
    t, v = parser.take().samples["a"]
    assert t.tolist() == [1_250_000, 1_500_000, 1_750_000, 2_000_000, 2_500_000]
    assert v.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_a_line_split_over_reads_is_timed_by_the_read_that_finished_it():
    parser = TelemetryParser()
    parser.feed(b"a=1\na=", 1_000, 0)
    parser.feed(b"2\n", 3_000, 2_000)
    t, _ = parser.take().samples["a"]
    assert t.tolist() == [1_000, 3_000]


def test_fast_path_and_line_path_give_the_same_times():
    block = b"".join(f"a={i},b={-i}\n".encode() for i in range(50))
    fast = TelemetryParser()
    fast.feed(b"a=0,b=0\n", 10, 0)  # teaches the shape: the next block takes the fast path
    fast.feed(block, 1_010, 10)
    reference = TelemetryParser(Profile(format="kv"))
    reference._kv_keys = None
    reference.feed(b"a=0,b=0\n", 10, 0)
    reference._parse_kv_block = lambda *args: False  # line by line only
    reference.feed(block, 1_010, 10)
    got, want = fast.take(), reference.take()
    for name in ("a", "b"):
        assert got.samples[name][0].tolist() == want.samples[name][0].tolist()
        assert np.all(np.diff(got.samples[name][0]) > 0)
    assert got.samples["a"][0].tolist()[1:] == [10 + (j + 1) * 1000 // 50 for j in range(50)]


def test_times_strictly_increase_even_when_the_host_clock_goes_back():
    parser = TelemetryParser()
    parser.feed(b"a=1\na=2\n", 5_000, 4_000)
    parser.feed(b"a=3\na=4\n", 4_500, 4_400)  # clock stepped back
    parser.feed(b"a=5,a=6\n", 9_000, 8_000)  # one channel twice on one line
    t, _ = parser.take().samples["a"]
    assert np.all(np.diff(t) > 0), t.tolist()
    assert t.tolist()[-2:] == [9_000, 9_001]


def test_the_same_excursion_lasts_the_same_at_10_and_20000_lines_per_second():
    """The reads of a rig whose vdd dips for 5 ms: the dip measures 5 ms at either rate."""
    for rate, lines_per_read in [(10, 1), (20_000, 20), (20_000, 200)]:
        parser = TelemetryParser()
        period_ns = 1_000_000_000 // rate
        total = max(rate // 10, 300)  # 0.1 s or 300 lines
        dip = range(total // 2, total // 2 + max(round(0.005 * rate), 1))
        previous = 0
        for first in range(0, total, lines_per_read):
            lines = range(first, min(first + lines_per_read, total))
            data = b"".join(f"vdd={0.6 if i in dip else 0.75}\n".encode() for i in lines)
            read_at = (lines[-1] + 1) * period_ns
            parser.feed(data, read_at, previous)
            previous = read_at
        t, v = parser.take().samples["vdd"]
        out = np.flatnonzero(v < 0.7)
        duration = (t[out[-1] + 1] - t[out[0]]) / 1e9
        assert duration == max(0.005, 1 / rate), (rate, lines_per_read, duration)


# --- numbers on the line ------------------------------------------------------------------

_NUMBER = re.compile(
    r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf(?:inity)?)", re.IGNORECASE
)


def _numbers_on(line: str) -> set:
    found = set()
    for match in _NUMBER.finditer(line):
        try:
            value = float(match.group())
        except ValueError:
            continue
        found.add("nan" if math.isnan(value) else value)
    if "true" in line or "false" in line:
        found |= {1.0, 0.0}
    return found


alphabet = st.sampled_from(
    list('0123456789.eE+-,;:= \t>|§{}[]"/*axyznt_')
    + ["nan", "inf", "true", "false", "xy", "|t", "/*", "*/", "1e400", "9" * 40]
)
hostile_line = st.lists(alphabet, max_size=60).map("".join)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(hostile_line, min_size=1, max_size=20), cap=st.sampled_from([16, 24, 64, 4096])
)
def test_no_input_yields_a_number_that_was_not_on_its_line(lines, cap):
    """Every stored value is a number written on the line it came from (JSON true/false as
    1/0): never a digit-cut number, never inf from an overflowing literal."""
    profile = Profile(max_line_bytes=cap)
    parser = TelemetryParser(profile)
    allowed: set = set()
    for i, line in enumerate(lines):
        raw = line.encode()
        kept = raw if len(raw) <= cap else b""  # a cut line must yield nothing
        allowed |= _numbers_on(kept.decode(errors="replace"))
        parser.feed(raw + b"\n", 1_000 * (i + 1), 1_000 * i)
    batch = parser.take()
    for name, (_, values) in batch.samples.items():
        for value in values.tolist():
            key = "nan" if math.isnan(value) else value
            assert key in allowed, (name, value, lines)


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(hostile_line, min_size=1, max_size=20),
    sizes=st.lists(st.integers(1, 30), min_size=1, max_size=20),
)
def test_times_of_every_channel_strictly_increase(lines, sizes):
    data = b"".join(line.encode() + b"\n" for line in lines)
    parser = TelemetryParser()
    pos, i, now = 0, 0, 0
    while pos < len(data):
        size = sizes[i % len(sizes)]
        parser.feed(data[pos : pos + size], now + 1_000, now)
        pos, i, now = pos + size, i + 1, now + 1_000
    batch = parser.take()
    arrival_timed = [name for name in batch.samples if name not in parser._channel_clocks]
    for name in arrival_timed:
        assert np.all(np.diff(batch.samples[name][0]) > 0), name


def test_device_time_field_in_ms_is_exact():
    profile = parse_profile('[line]\ndevice_time = "t_ms"\ndevice_time_unit = "ms"\n')
    parser = TelemetryParser(profile)
    parser.feed(b"t_ms=1732550400123,a=1\nt_ms=1732550400124,a=2\n", 2_000, 0)
    t, _ = parser.take().samples["a"]
    assert t.tolist() == [1_000, 1_001_000]
