"""What judging costs per batch: a 16-slot sled with 8 per-slot channels at 1 kHz.

    python benchmarks/judging.py [--slots 16] [--channels 8] [--stats 2] [--limits 1]
                                 [--batch-ms 20] [--batches 500] [--explicit]

A plan judges ``channels`` per-slot channels (``per_slot = true``), each with ``limits``
limits and ``stats`` measurements; the sled has a chip in every one of ``slots`` slots, so
a batch carries slots × channels channels of ``batch_ms`` samples each (1 kHz).  Printed:
the median and p95 cost of one batch through ``Judgement.samples`` (every channel of the
batch) and through ``LiveEvaluator.on_batch`` (the same, plus the verdict checks and the
records the live view hands out), next to the batch interval.  ``--explicit`` writes the
same items on explicit channels (``vdd_core[3]``, no ``per_slot``), which is also what
code from before per-chip judgement can run, for a before/after comparison.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from labbench.acquisition.pipeline import SampleBatch
from labbench.runs.evaluation import LiveEvaluator
from labbench.runs.judgement import Judgement
from labbench.runs.plan import parse_plan

NAMES = ("vdd_core", "vdd_hbm", "vdd_io", "idd_core", "idd_hbm", "temp_die", "temp_hbm", "clk")
STATS = ("mean", "std", "p2p", "max", "min")


def sled_plan_text(slots: int, channels: int, stats: int, limits: int, explicit: bool) -> str:
    """A sled plan judging ``channels`` per-slot channels (or their explicit slots)."""
    lines = ['[plan]\nname = "bench"\nversion = "1"\ndut_kind = "sled"\n']
    names = [f"{NAMES[c % len(NAMES)]}{c // len(NAMES) or ''}" for c in range(channels)]
    judged = [f"{n}[{s}]" for n in names for s in range(slots)] if explicit else names
    for name in names:
        lines.append(f'[[channel]]\nname = "{name}"\nunit = "V"\n')
        if not explicit:
            lines.append("per_slot = true\n")
    lines.append('[[step]]\nname = "soak"\nduration_s = 3600.0\n')
    for channel in judged:
        for _ in range(limits):
            lines.append(f'[[step.limit]]\nchannel = "{channel}"\nlow = -10.0\nhigh = 10.0\n')
        for k in range(stats):
            stat = STATS[k % len(STATS)]
            lines.append(
                f'[[step.measure]]\nname = "{channel.replace("[", "_").replace("]", "")}_{k}"\n'
                f'channel = "{channel}"\nstat = "{stat}"\nlow = -10.0\nhigh = 10.0\n'
            )
    return "".join(lines)


def batches(slots: int, channels: int, batch_ms: int, count: int) -> list[SampleBatch]:
    names = [f"{NAMES[c % len(NAMES)]}{c // len(NAMES) or ''}" for c in range(channels)]
    rng = np.random.default_rng(1)
    out = []
    for b in range(count):
        t = (b * batch_ms + np.arange(batch_ms)) / 1000.0
        samples = {
            f"{n}[{s}]": (t, 0.75 + 1e-3 * rng.standard_normal(batch_ms))
            for n in names
            for s in range(slots)
        }
        out.append(SampleBatch(samples, {}, [], [], batch_ms, 0, b + 1))
    return out


def measure(args: argparse.Namespace, explicit: bool) -> dict[str, list[float]]:
    plan = parse_plan(
        sled_plan_text(args.slots, args.channels, args.stats, args.limits, explicit), "bench.toml"
    )
    slots = {s: f"CHP-{s:04d}" for s in range(args.slots)}
    data = batches(args.slots, args.channels, args.batch_ms, args.batches)
    judgement = Judgement(plan) if explicit else Judgement(plan, slots)
    judgement.begin(0, 0, 0.0)
    evaluator = LiveEvaluator(plan, 0) if explicit else LiveEvaluator(plan, 0, slots=slots)
    evaluator.begin_step(0, 0, 0.0)
    costs: dict[str, list[float]] = {"Judgement.samples": [], "LiveEvaluator.on_batch": []}
    for batch in data:  # interleaved, so both see the same machine load
        start = time.perf_counter()
        for channel, (t, v) in batch.samples.items():
            judgement.samples(channel, t, v)
        costs["Judgement.samples"].append(time.perf_counter() - start)
        start = time.perf_counter()
        evaluator.on_batch(batch)
        costs["LiveEvaluator.on_batch"].append(time.perf_counter() - start)
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, default=16)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--stats", type=int, default=2)
    parser.add_argument("--limits", type=int, default=1)
    parser.add_argument("--batch-ms", type=int, default=20)
    parser.add_argument("--batches", type=int, default=500)
    parser.add_argument("--explicit", action="store_true")
    args = parser.parse_args()
    items = args.slots * args.channels * (args.stats + args.limits)
    print(
        f"{args.slots} slots x {args.channels} channels = {args.slots * args.channels} channels,"
        f" {items} judged items, {args.batch_ms} samples a channel per batch"
        f" ({'explicit channels' if args.explicit else 'per_slot'})"
    )
    for what, seconds in measure(args, args.explicit).items():
        ms = sorted(1e3 * s for s in seconds)
        p95 = ms[int(0.95 * (len(ms) - 1))]
        print(
            f"  {what:24} median {statistics.median(ms):7.2f} ms  p95 {p95:7.2f} ms"
            f"  ({statistics.median(ms) / args.batch_ms:.0%} of the {args.batch_ms} ms interval)"
        )


if __name__ == "__main__":
    main()
