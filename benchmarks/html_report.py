"""The HTML run report of a long run: time and memory next to reading the run's samples.

    python benchmarks/html_report.py [--samples 57600000] [--channels 16] [--cache DIR]
                                     [--regenerate] [--out FILE]

The run is ``benchmarks/stored_runs.py``'s: N samples at 1 kHz per channel written by the
app's own TelemetryWriter at the pipeline's cadence (250-sample chunks, an overview row per
32 chunks), cached under ``~/.cache/labbench-bench``; the default is 1 h of 16 channels. That
builder writes a recording without results, so the first time this script meets the run it
stores a plan's results on it (4 steps of 15 min, a limit item per channel and step, and 30
violations spread over the run and the channels): the report then has what a real failing
run's has, a plot per judged channel and a zoom per violation (the first 20).

Timed: ``labbench export RUN --html`` as the command line does it (Qt offscreen, the app's
plot renderer), in this process after Qt has started (Qt's start is timed apart). Baseline:
reading every sample of every channel, one chunk at a time (what a report drawn from the
samples would have to do before drawing anything). Memory: peak traced Python allocations
(numpy arrays included) while writing the report, and the process's peak RSS before and after.
Target (issue 15): the report in under 3 s, memory flat (from stored envelopes, not samples).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stored_runs import CACHE_DIR, cached_big_run

from labbench.export.html_report import write_html_report
from labbench.records import CriterionRecord, StepRecord, ViolationRecord
from labbench.storage import open_database
from labbench.storage import results as result_store
from labbench.storage import runs as run_store
from labbench.storage.telemetry_read import iter_channel_chunks, overview_summary

STEPS = 4
VIOLATIONS = 30


def add_results(db, run_id: int) -> None:
    """A plan's results on the recorded run, once: limit items on every channel, violations."""
    if result_store.run_results(db, run_id):
        return
    run = run_store.get_run(db, run_id)
    channels = [c.name for c in run_store.run_channels(db, run_id)]
    # The span of the samples (the run's own start and end are when the builder wrote it).
    duration = float(overview_summary(db, run_id, channels[0]).t_last[-1])
    span = duration / STEPS
    violations: dict[tuple[int, str], list[ViolationRecord]] = {}
    for k in range(VIOLATIONS):
        at = (k + 0.5) * duration / VIOLATIONS
        channel = channels[k % len(channels)]
        record = ViolationRecord(channel, at, at + 0.2, 0.712, "low")
        violations.setdefault((int(at // span), channel), []).append(record)
    steps = []
    for s in range(STEPS):
        items = []
        for channel in channels:
            found = tuple(violations.get((s, channel), ()))
            items.append(
                CriterionRecord(
                    kind="limit",
                    name=channel,
                    channel=channel,
                    unit="V",
                    stat="",
                    value=0.712 if found else 0.76,
                    text_value="",
                    low=0.72,
                    high=0.78,
                    marginal_low=0.725,
                    marginal_high=0.775,
                    equals=None,
                    settle_s=1.0,
                    hold_s=0.0,
                    sample_count=int(span * 1000),
                    verdict="failed" if found else "passed",
                    violations=found,
                )
            )
        start = run.t0_ns + int(s * span * 1e9)
        steps.append(
            StepRecord(s, f"soak {s + 1}", start, start + int(span * 1e9), "failed", tuple(items))
        )
    result_store.store_results(db, run_id, steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=57_600_000, help="1 h x 16 ch x 1 kHz")
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--cache", type=Path, default=CACHE_DIR)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--out", type=Path, help="keep the report here")
    args = parser.parse_args()
    path, run_id = cached_big_run(args.cache, args.samples, args.channels, args.regenerate)
    db = open_database(str(path))
    add_results(db, run_id)
    channels = [c.name for c in run_store.run_channels(db, run_id)]

    begin = time.perf_counter()
    from labbench.ui.report_plots import ensure_app, render_plots

    ensure_app()
    qt_start = time.perf_counter() - begin

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with tempfile.TemporaryDirectory(prefix="labbench-bench-") as tmp:
        out = args.out or Path(tmp) / "report.html"
        begin = time.perf_counter()
        plots = write_html_report(db, run_id, out, render_plots)
        elapsed = time.perf_counter() - begin
        size = out.stat().st_size
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # Again under tracemalloc (which slows Python code several times) for the peak.
        tracemalloc.start()
        write_html_report(db, run_id, Path(tmp) / "again.html", render_plots)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    begin = time.perf_counter()
    samples = 0
    for name in channels:
        for t, _ in iter_channel_chunks(db, run_id, name):
            samples += t.size
    baseline = time.perf_counter() - begin
    db.dispose()

    print(f"HTML report of run {run_id}: {samples:,} samples, {len(channels)} channels")
    print(f"  Qt started (QApplication, offscreen) in {qt_start * 1e3:.0f} ms")
    print(
        f"  report written in {elapsed:.2f} s ({plots} plots, {size / 1e6:.1f} MB)  (target < 3 s)"
    )
    print(f"  baseline: reading every sample of every channel: {baseline:.2f} s")
    print(f"  ratio report / baseline: {elapsed / baseline:.3f}")
    print(
        f"  memory: peak traced allocations while writing {peak / 1e6:.1f} MB "
        f"(the samples are {samples * 16 / 1e6:,.0f} MB as float64 t and v); peak RSS "
        f"{rss_before / 1e3:.0f} MB before the report, {rss_after / 1e3:.0f} MB after it"
    )


if __name__ == "__main__":
    main()
