"""A 40 x 20 shmoo (800 points) through the product's run path, next to the same plan written as
800 plain steps in the same process.

    python benchmarks/shmoo.py [--x 40] [--y 20] [--dwell-ms 20] [--rate 1000] [--no-fail]

Both runs go through ``labbench.runs.sequencer.run_plan`` (``RunSession`` -> ``Acquisition``
-> the storage link committing into a SQLite file, the ``LiveEvaluator``, the final evaluation
from stored data and the results written at the end) against the simulated chip
``mock://nominal?rate=RATE`` in-process: at every point the rig is sent ``VSET``, ``FSET`` and
``BIST`` and answers ``RESULT bist PASS|FAIL``; each point judges the BIST result and a rail
limit over its dwell.

* sweep: one ``[[step]]`` with ``dwell_s`` and ``[step.sweep]`` (x = vdd_mv, y = freq_mhz,
  x-fastest), expanded into 800 point steps when the plan loads;
* baseline: the same 800 points written out as 800 plain ``[[step]]`` tables with
  ``duration_s`` and the values already in their send lines.

Printed for each: the wall time of ``run_plan``, the time spent stepping (first step start
to last step end, from the stored step results), the per-point overhead beyond the dwell
(stepping time / points - dwell; split into a point's window beyond its dwell and the gap to
the next point's start, medians and p95), and the sweep / baseline ratio.  Target: the sweep's
per-point overhead beyond the dwell below 5 ms.  Exit 1 when missed (``--no-fail``: report
only); exit 3 when the runs do not judge every point.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path

from labbench.protocols.profile import load_profile
from labbench.runs.plan import parse_plan
from labbench.runs.sequencer import RunRequest, run_plan
from labbench.storage import inventory as inventory_store
from labbench.storage import open_database
from labbench.storage import results as result_store

TARGET_OVERHEAD_MS = 5.0

HEAD = """\
[plan]
name = "{name}"
version = "1"
dut_kind = "chip"

[[channel]]
name = "vdd_hbm"
unit = "V"
"""

ITEMS = """\
  [[step.result]]
  name = "bist"
  equals = "PASS"
  [[step.limit]]
  channel = "vdd_hbm"
  low = 1.0
  high = 1.2
"""


def axes(nx: int, ny: int) -> tuple[list[int], list[int]]:
    return [550 + 10 * i for i in range(nx)], [1000 + 50 * j for j in range(ny)]


def sweep_plan(nx: int, ny: int, dwell_s: float) -> str:
    xs, ys = axes(nx, ny)
    return (
        HEAD.format(name="bench-shmoo-sweep")
        + f"""
[[step]]
name = "shmoo"
dwell_s = {dwell_s}
send = ["VSET {{vdd_mv}}", "FSET {{freq_mhz}}", "BIST"]
  [step.sweep]
  x = {{ name = "vdd_mv", start = {xs[0]}, stop = {xs[-1]}, step = 10 }}
  y = {{ name = "freq_mhz", start = {ys[0]}, stop = {ys[-1]}, step = 50 }}
"""
        + ITEMS
    )


def plain_plan(nx: int, ny: int, dwell_s: float) -> str:
    xs, ys = axes(nx, ny)
    steps = [
        f'[[step]]\nname = "shmoo vdd_mv={x} freq_mhz={y}"\nduration_s = {dwell_s}\n'
        f'send = ["VSET {x}", "FSET {y}", "BIST"]\n' + ITEMS
        for y in ys
        for x in xs
    ]
    return HEAD.format(name="bench-shmoo-plain") + "".join(steps)


def run_once(db, text: str, rate: float) -> dict:
    plan = parse_plan(text, "bench.toml")
    dut = inventory_store.find_dut(db, "CHP-BENCH") or inventory_store.add_dut(
        db, "chip", "CHP-BENCH"
    )
    request = RunRequest(plan, dut, f"mock://nominal?rate={rate:g}", load_profile("default"))
    began = time.perf_counter()
    outcome = run_plan(db, request)
    wall = time.perf_counter() - began
    steps = result_store.run_results(db, outcome.run_id)
    judged = sum(1 for s in steps if s.verdict in ("passed", "marginal", "failed"))
    bist = sum(1 for s in steps for c in s.criteria if c.name == "bist" and c.verdict != "error")
    stepping = (steps[-1].ended_ns - steps[0].started_ns) / 1e9
    # Where a point's overhead goes: its window beyond the dwell (the wait's overshoot), and
    # the gap from its end to the next point's start (proof of judgement, events, begin).
    over = [(s.ended_ns - s.started_ns) / 1e6 - plan.steps[0].duration_s * 1e3 for s in steps]
    gaps = [(b.started_ns - a.ended_ns) / 1e6 for a, b in itertools.pairwise(steps)]
    return {
        "window_over_ms": statistics.median(over),
        "gap_ms": statistics.median(gaps),
        "gap_p95_ms": sorted(gaps)[int(0.95 * (len(gaps) - 1))],
        "points": len(steps),
        "judged": judged,
        "bist_answered": bist,
        "wall_s": wall,
        "stepping_s": stepping,
        "live_agrees": outcome.live_agrees,
        "verdict": outcome.verdict,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--x", type=int, default=40)
    parser.add_argument("--y", type=int, default=20)
    parser.add_argument("--dwell-ms", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--no-fail", action="store_true")
    args = parser.parse_args(argv)
    dwell = args.dwell_ms / 1e3
    points = args.x * args.y
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        db = open_database(str(Path(folder) / "shmoo.sqlite3"))
        try:
            # Baseline first, then the sweep: a warm process for neither more than the other.
            results["baseline"] = run_once(db, plain_plan(args.x, args.y, dwell), args.rate)
            results["sweep"] = run_once(db, sweep_plan(args.x, args.y, dwell), args.rate)
        finally:
            db.dispose()
    print(
        f"shmoo {args.x} x {args.y} = {points} points, dwell {args.dwell_ms:g} ms, "
        f"mock rig at {args.rate:g} Hz"
    )
    print(f"  {'':28}{'baseline':>12}{'sweep':>12}{'sweep/base':>12}")
    rows = {}
    for key in ("baseline", "sweep"):
        r = results[key]
        r["overhead_ms"] = (r["stepping_s"] / points - dwell) * 1e3
        rows[key] = r
    for label, key, fmt in (
        ("run_plan wall (s)", "wall_s", "{:12.2f}"),
        ("stepping (s)", "stepping_s", "{:12.2f}"),
        ("overhead per point (ms)", "overhead_ms", "{:12.2f}"),
        ("  window beyond dwell p50", "window_over_ms", "{:12.2f}"),
        ("  gap to next point p50", "gap_ms", "{:12.2f}"),
        ("  gap to next point p95", "gap_p95_ms", "{:12.2f}"),
        ("points judged", "judged", "{:12d}"),
        ("BIST answered", "bist_answered", "{:12d}"),
    ):
        base, sweep = rows["baseline"][key], rows["sweep"][key]
        ratio = sweep / base if base else float("nan")
        print(f"  {label:28}" + fmt.format(base) + fmt.format(sweep) + f"{ratio:11.2f}x")
    print(
        f"  live and final agree: baseline {rows['baseline']['live_agrees']}, "
        f"sweep {rows['sweep']['live_agrees']}"
    )
    for r in rows.values():
        if r["points"] != points or r["judged"] != points or r["bist_answered"] != points:
            print("FAILED: not every point was judged with its BIST answer", file=sys.stderr)
            return 3
    overhead = rows["sweep"]["overhead_ms"]
    ok = overhead < TARGET_OVERHEAD_MS
    print(
        f"sweep overhead per point {overhead:.2f} ms beyond the dwell "
        f"(target < {TARGET_OVERHEAD_MS:g} ms): {'met' if ok else 'MISSED'}"
    )
    return 0 if ok or args.no_fail else 1


if __name__ == "__main__":
    sys.exit(main())
