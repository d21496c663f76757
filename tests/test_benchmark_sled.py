"""The sled benchmark's own code path, short: a plan run on a 4-chip sled and on a plain chip
rig at 1 kHz through a real pty, the run session, storage and the offscreen main window.
Only its accounting is asserted (every line the rig sent stored once, samples = lines x
channels, every batch judged and timed); the timing targets are the benchmark's business."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "sled.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_sled", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_sled"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("bench_sled", None)


@pytest.mark.alone
@pytest.mark.timeout(120)
def test_a_short_sled_run_accounts_for_every_line(bench, qapp):
    sled, base = bench.measure(seconds=6.5, slots=4, rate=1000.0)
    for case, channels in ((sled, 1 + 2 + 4 * 8), (base, 1 + 10)):
        assert case.accounting == [], (case.label, case.accounting)
        assert case.channels == channels, case.label
        assert case.sent > 2000, (case.label, case.sent)  # 3.5 s of the rig at 1 kHz
        assert case.stored_lines in (case.sent, case.sent - 1)  # the first may be flushed
        assert case.samples == case.stored_lines * case.channels
        assert case.judge_s and len(case.lag_s) == len(case.judge_s)
        assert case.frame_s and case.text_s and case.backlog
        assert case.status.startswith(("passed", "marginal", "failed", "error")), case.status
    figures = bench.figures(sled)
    assert set(figures) == set(bench.figures(base))
    assert figures["judge p99 ms"] >= figures["judge p50 ms"] > 0
