"""A 16-chip sled at 1 kHz through the whole product, next to a plain chip rig in the same run.

    python benchmarks/sled.py [--seconds 30] [--slots 16] [--no-fail] [--profile]

Both go through the product's own path: the simulated rig served on a pty by
``labbench.devices.pty_rig`` in its own process, read with pyserial by a real plan run
(``RunController`` -> ``RunSession`` -> ``Acquisition`` at the pipeline's ring capacity and batch
interval, the storage link committing every 150 ms into SQLite, the ``LiveEvaluator``), shown
by the real ``MainWindow`` (offscreen, 1400 x 900: live view, plots, rail tiles, results).

* sled: ``mock://nominal?slots=16&rate=1000`` (16 chips x 8 per-slot channels, the sled's inlet
  temperature and fan, ``seq``: 131 channels), a sled with 16 chips placed, a plan whose rails
  and temperatures are ``per_slot = true`` with 8 limits and measurements a step on them
  (judged once per occupied slot where per-chip judgement is in, else on the bare name).
* baseline: ``mock://nominal?rate=1000`` (a plain chip rig: 10 channels and ``seq``), a chip,
  the same plan on plain channels.

Measured for each, side by side with the sled / baseline ratio: (a) ``LiveEvaluator.on_batch``
time per batch and the lag from a batch's emission to judged (targets: p99 below the 30 ms
batch, lag p99 below two); (b) the rig's own counts: writes that found the pty full, the
longest such wait, and the waits that sent the rig's next line out 1 ms (a USB frame) or more
after it fell due (target 0: each is labbench not keeping up); of both, those writing a
backlog (lines that fell due while the simulated rig's own process was not running: hardware
is never late, the machine serving a simulation may be).  A pty's flip buffer holds 8 KiB
until the kernel's tty worker moves it to the reader's side (a tty's default is 640 KiB), so
at 2.6 MB/s a write can find it full for the tens of microseconds until that worker runs,
labbench's side empty: counted and shown, but no line is late for it.
Then the storage backlog sampled every 100 ms (no growth: last third vs first) and stalls;
(c) the live view's frame (its tick: envelopes + setData, and the paint Qt does for it; target
p95 < 16 ms) and text tick (results table, rail tiles, sled map, their paint) while the rig
streams.

Accounting (exit 3 if wrong): the stored ``seq`` is first..sent-1 once each (``first`` <= 1:
pyserial flushes the port on opening), samples = lines x channels.  Exit 1 when a target is
missed (``--no-fail``: report only).  ``--profile``: top costs of the reader and GUI threads.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BATCH_S = 0.03  # labbench.acquisition.pipeline.BATCH_INTERVAL_S, checked in main()
FRAME_TARGET_MS = 16.0
TAIL_S = 3.0  # the plan's last stretch after the rig stops: every line read and judged


PER_SLOT = (("vdd_core", "V"), ("vdd_hbm", "V"), ("vdd_io", "V"), ("temp_die", "°C"),
            ("temp_hbm", "°C"))  # fmt: skip
ITEMS = (  # 8 items a step: 256 per-chip rows for 16 chips over the plan's two judged steps
    ("limit", 'channel = "vdd_core", low = 0.72, high = 0.78, marginal_low = 0.73, '
              'marginal_high = 0.77, settle_s = {settle}, hold_s = 0.05'),
    ("limit", 'channel = "vdd_hbm", nominal = 1.1, tolerance_pct = 5, settle_s = {settle}'),
    ("limit", 'channel = "vdd_io", nominal = 1.8, tolerance = 0.09, settle_s = {settle}'),
    ("limit", 'channel = "temp_die", high = 85.0'),
    ("limit", 'channel = "temp_hbm", high = 95.0'),
    ("measure", 'name = "vdd_core_{stat}", channel = "vdd_core", stat = "{stat}", '
                'high = {high}, settle_s = {settle}'),
    ("measure", 'name = "vdd_io_mean", channel = "vdd_io", stat = "mean", low = 1.75, '
                'high = 1.85, settle_s = {settle}'),
    ("measure", 'name = "temp_die_max", channel = "temp_die", stat = "max", high = 85.0'),
)  # fmt: skip


def plan_text(kind: str, seconds: float) -> str:
    """A plan of ``seconds``: power-on and load-50 judge 8 items on the rails and temperatures
    (per slot on a sled) and load-50 the sled's fan; a quiet last step while the rig stops."""
    per_slot = "per_slot = true\n" if kind == "sled" else ""
    text = (
        f'[plan]\nname = "bench-{kind}"\nversion = "1"\ndut_kind = "{kind}"\n'
        'stop_on_fail = false\n[[channel]]\nname = "fan_rpm"\nunit = "rpm"\n'
    )
    text += "".join(
        f'[[channel]]\nname = "{name}"\nunit = "{unit}"\n{per_slot}' for name, unit in PER_SLOT
    )
    steps = (
        ("power-on", 2.0, '"PWR ON"', {"settle": 0.5, "stat": "max", "high": 0.8}),
        ("load-50", max(seconds - 2.0 - TAIL_S, 1.0), '"LOAD 50", "BIST"',
         {"settle": 0.2, "stat": "p2p", "high": 0.04}),
        ("idle", TAIL_S, '"LOAD 0"', None),
    )  # fmt: skip
    for name, duration, send, values in steps:
        text += f'[[step]]\nname = "{name}"\nduration_s = {duration}\nsend = [{send}]\n'
        for kind_, item in ITEMS if values else ():
            text += f"[[step.{kind_}]]\n{item.format(**values).replace(', ', chr(10))}\n"
        if name == "load-50":
            text += '[[step.limit]]\nchannel = "fan_rpm"\nlow = 1000\n'
    return text


# --- the rig, in its own process ------------------------------------------------------------


def serve_rig(device: str, seconds: float, link: str) -> None:
    """``--serve-rig``: serve the simulated rig on a pty for ``seconds`` once a client reads,
    then hold the port open and silent (no disconnect mid-run); print the path, then
    ``sent`` and ``RigResult``'s fields once it is done sending; stay until stdin closes."""
    from labbench.devices.pty_rig import RigCounts, serve
    from labbench.devices.simulation import RigParams

    counts, stop = RigCounts(), threading.Event()
    server = threading.Thread(
        target=serve,
        args=(RigParams.from_device(device), Path(link)),
        kwargs={
            "stop": stop,
            "ready": lambda path: print(path, flush=True),
            "duration_s": seconds,
            "counts": counts,
            "hold_open": True,
        },
    )
    server.start()
    while not counts.finished.wait(0.5) and server.is_alive():
        pass
    print(
        f"sent {counts.lines_sent} {counts.full_waits} {counts.backlog_waits} "
        f"{counts.held_waits} {counts.held_backlog_waits} {counts.longest_wait_s}",
        flush=True,
    )
    sys.stdin.read()
    stop.set()
    server.join()


class RigProcess:
    def __init__(self, device: str, seconds: float, link: Path):
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve-rig", device, str(seconds), str(link)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self.path = self.process.stdout.readline().strip()
        if not self.path:
            raise SystemExit(f"the simulated rig {device} did not start")

    def result(self) -> RigResult:
        """What the rig counted (``RigCounts``), once it has stopped."""
        _, sent, waits, backlog, held, held_backlog, longest = (
            self.process.stdout.readline().split()
        )
        return RigResult(
            int(sent), int(waits), int(backlog), int(held), int(held_backlog), float(longest)
        )

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@dataclass
class RigResult:
    sent: int
    full_waits: int  # writes that found the pty full
    backlog_waits: int  # of them, writing a backlog the rig built while it was not running
    held_waits: int  # writes whose wait sent the rig's next line out >= 1 ms late
    held_backlog_waits: int  # of them, writing a backlog
    longest_wait_s: float


# --- one case ---------------------------------------------------------------------------------


@dataclass
class Case:
    label: str
    channels: int = 0
    sent: int = 0
    stored_lines: int = 0
    samples: int = 0
    rig: RigResult | None = None
    storage_stalls: int = 0
    status: str = ""
    judged_items: int = 0
    judge_s: list[float] = field(default_factory=list)
    lag_s: list[float] = field(default_factory=list)
    backlog: list[int] = field(default_factory=list)
    frame_s: list[float] = field(default_factory=list)
    frame_cpu_s: list[float] = field(default_factory=list)  # the GUI thread's own CPU in them
    text_s: list[float] = field(default_factory=list)
    setup_frame_s: list[float] = field(default_factory=list)  # frames that made plots
    accounting: list[str] = field(default_factory=list)  # what did not add up
    profiles: dict[str, pstats.Stats] = field(default_factory=dict)


class _Instruments:
    """Timing hooks on the product's own objects, installed for one case and then removed:
    ``LiveEvaluator.on_batch`` (judging time, emission-to-judged lag) and, with profiling,
    the reader thread's loop under cProfile."""

    def __init__(self, case: Case, profile: bool):
        from labbench.acquisition.pipeline import Acquisition
        from labbench.runs.evaluation import LiveEvaluator

        self.case, self.profile = case, profile
        self.targets = [(LiveEvaluator, "on_batch"), (Acquisition, "_read_loop")]
        self.saved = [getattr(cls, name) for cls, name in self.targets]
        on_batch, read_loop = self.saved

        def timed_on_batch(evaluator, batch):
            begin = time.perf_counter()
            on_batch(evaluator, batch)
            case.judge_s.append(time.perf_counter() - begin)
            case.lag_s.append((time.time_ns() - batch.emitted_ns) / 1e9)

        def profiled_read_loop(acquisition):
            profiler = cProfile.Profile()
            profiler.enable()
            try:
                read_loop(acquisition)
            finally:
                profiler.disable()
                case.profiles["reader thread"] = pstats.Stats(profiler)

        LiveEvaluator.on_batch = timed_on_batch
        if profile:
            Acquisition._read_loop = profiled_read_loop

    def remove(self) -> None:
        for (cls, name), original in zip(self.targets, self.saved, strict=True):
            setattr(cls, name, original)


def _dut(db, kind: str, slots: int):
    from labbench.storage import inventory as inventory_store

    if kind == "chip":
        return inventory_store.add_dut(db, "chip", "BENCH-CHIP")
    sled = inventory_store.add_dut(db, "sled", "BENCH-SLED", slot_count=slots)
    for slot in range(slots):
        chip = inventory_store.add_dut(db, "chip", f"BENCH-CHP-{slot:02d}")
        inventory_store.place_chip(db, chip.id, sled.id, slot)
    return inventory_store.find_dut(db, sled.serial)


def run_case(
    window, db, kind: str, device: str, seconds: float, slots: int, profile: bool = False
) -> Case:
    """One plan run of ``seconds`` on the simulated rig ``device`` (served on a pty for all
    but the plan's last TAIL_S), driven by ``window`` (a MainWindow) on this thread."""
    from PySide6.QtWidgets import QApplication

    from labbench.protocols.profile import load_profile
    from labbench.runs.plan import parse_plan
    from labbench.runs.sequencer import RunRequest
    from labbench.storage import runs as run_store
    from labbench.storage.telemetry_read import read_channel

    app = QApplication.instance()
    case = Case(kind)
    plan = parse_plan(plan_text(kind, seconds), f"bench-{kind}.toml")
    dut = _dut(db, kind, slots)
    link = Path(tempfile.mkdtemp(prefix="labbench-sled-bench-")) / "tty"
    rig = RigProcess(device, plan.duration_s - TAIL_S, link)
    instruments = _Instruments(case, profile)
    view, controller = window.live, window.controller
    gui_profiler = cProfile.Profile() if profile else None
    streaming = [True]

    def profiled(call):
        def run(*args):
            if gui_profiler is not None:
                gui_profiler.enable()
            try:
                return call(*args)
            finally:
                if gui_profiler is not None:
                    gui_profiler.disable()

        return run

    # A frame is the view's frame tick and the paint Qt then does for it (the event loop may
    # run other work in between: not the frame's).  A tick no paint followed counts alone.
    pending: list[tuple[float, float, bool]] = []  # (wall, CPU, made plots) of the last tick

    def record(took: float, cpu: float, made_plots: bool) -> None:
        if made_plots:  # a frame that made plots: once per channel
            case.setup_frame_s.append(took)
        elif streaming[0]:
            case.frame_s.append(took)
            case.frame_cpu_s.append(cpu)

    def frame_tick():
        while pending:
            record(*pending.pop())
        curves = len(view.plots.curves)
        begin, begin_cpu = time.perf_counter(), time.thread_time()
        view._on_frame()
        took, cpu = time.perf_counter() - begin, time.thread_time() - begin_cpu
        pending.append((took, cpu, len(view.plots.curves) != curves))

    layout = view.plots.layout_widget
    paint_event = type(layout).paintEvent

    def frame_paint(event):
        begin, begin_cpu = time.perf_counter(), time.thread_time()
        paint_event(layout, event)
        if pending:
            took, cpu, made_plots = pending.pop()
            took += time.perf_counter() - begin
            record(took, cpu + time.thread_time() - begin_cpu, made_plots)

    def text_tick():  # the results table, rail tiles and sled map, painted at once
        begin = time.perf_counter()
        view._on_text_tick()
        for widget in (window.results_view.viewport(), view.tiles, view.sled.map):
            widget.repaint()
        if streaming[0]:
            case.text_s.append(time.perf_counter() - begin)

    layout.paintEvent = profiled(frame_paint)
    view.frame_timer.timeout.disconnect()
    view.frame_timer.timeout.connect(profiled(frame_tick))
    view.text_timer.timeout.disconnect()
    view.text_timer.timeout.connect(profiled(text_tick))
    finished = []
    controller.run_ended.connect(finished.append)
    try:
        request = RunRequest(plan, dut, rig.path, load_profile("default"), operator="bench")
        window.start_request(request)
        next_sample = time.monotonic()
        deadline = time.monotonic() + seconds + 120
        while not finished and time.monotonic() < deadline:
            app.processEvents()
            session = controller.session
            if time.monotonic() >= next_sample and session is not None and session.run_id:
                case.backlog.append(session.stats.backlog)
                next_sample += 0.1
            if rig.process.poll() is None and streaming[0] and _rig_done(rig):
                streaming[0] = False
            time.sleep(0.002)
        controller.join(60)
        app.processEvents()
    finally:
        instruments.remove()
        del layout.paintEvent
        controller.run_ended.disconnect(finished.append)
    if not finished:
        raise SystemExit(f"{kind}: the run did not end within {seconds + 120:g} s")
    case.rig = rig.done if hasattr(rig, "done") else rig.result()
    sent = case.rig.sent
    rig.close()
    if gui_profiler is not None:
        case.profiles["GUI thread (frames and text ticks)"] = pstats.Stats(gui_profiler)
    run_id = finished[0].run_id
    case.status = finished[0].status + (f" ({finished[0].error})" if finished[0].error else "")
    summary = finished[0].summary
    items = [(s.name, c) for s in summary.steps for c in s.criteria] if summary else []
    case.judged_items = len(items)
    bad = [f"{step}/{c.name}[{c.slot}] {c.verdict}" for step, c in items if c.verdict == "error"]
    case.status += f"; {len(bad)} items error ({', '.join(bad[:3])})" if bad else ""
    stats = summary.stats if summary else controller.session.stats
    case.storage_stalls = stats.storage_stalls
    case.channels = len(controller.session.channels())
    _, seq = read_channel(db, run_id, "seq")
    run = run_store.get_run(db, run_id)
    case.sent, case.stored_lines, case.samples = sent, int(seq.size), run.sample_count
    _account(case, seq, stats.lines - stats.console - stats.malformed)
    return case


def _rig_done(rig: RigProcess) -> bool:
    """Whether the rig has printed its result (its duration is over); non-blocking."""
    import select

    if hasattr(rig, "done"):
        return True
    if select.select([rig.process.stdout], [], [], 0)[0]:
        rig.done = rig.result()
        return True
    return False


def _account(case: Case, seq: np.ndarray, lines_read: int) -> None:
    wrong = case.accounting
    if not seq.size:
        wrong.append("no seq stored")
        return
    first = int(seq.min())
    expected = np.arange(first, case.sent, dtype=float)
    if first > 1:
        wrong.append(f"the first stored seq is {first}")
    if seq.size != expected.size or not np.array_equal(np.sort(seq), expected):
        lost = np.setdiff1d(expected, seq).size
        twice = seq.size - np.unique(seq).size
        wrong.append(f"sent {case.sent}, stored {seq.size} ({lost} lost, {twice} twice)")
    if lines_read != seq.size:
        wrong.append(f"the reader counted {lines_read} telemetry lines, {seq.size} stored")
    if case.samples != seq.size * case.channels:
        wrong.append(
            f"{case.samples} samples stored, {seq.size} lines x {case.channels} channels expected"
        )


# --- report ---------------------------------------------------------------------------------


def _ms(values, q) -> float:
    return float(np.percentile(np.asarray(values) * 1e3, q)) if len(values) else float("nan")


def _thirds(values: list[int]) -> tuple[int, int]:
    third = max(len(values) // 3, 1)
    return max(values[:third], default=0), max(values[-third:], default=0)


def figures(case: Case) -> dict[str, float]:
    first, last = _thirds(case.backlog)
    return {
        "judge p50 ms": _ms(case.judge_s, 50),
        "judge p99 ms": _ms(case.judge_s, 99),
        "lag p50 ms": _ms(case.lag_s, 50),
        "lag p99 ms": _ms(case.lag_s, 99),
        "pty full, writes": case.rig.full_waits,
        "  of them, late rig's backlog": case.rig.backlog_waits,
        "  longest wait ms": case.rig.longest_wait_s * 1e3,
        "lines a full pty held >= 1 ms": case.rig.held_waits,
        "  of them, behind a late rig's backlog": case.rig.held_backlog_waits,
        "backlog max": max(case.backlog, default=0),
        "backlog max, 1st third": first,
        "backlog max, last third": last,
        "storage stalls": case.storage_stalls,
        "frame p50 ms": _ms(case.frame_s, 50),
        "frame p95 ms": _ms(case.frame_s, 95),
        "frame CPU p50 ms": _ms(case.frame_cpu_s, 50),
        "frame CPU p95 ms": _ms(case.frame_cpu_s, 95),
        "text tick p95 ms": _ms(case.text_s, 95),
        "frames making plots, ms": sum(case.setup_frame_s) * 1e3,
    }


def misses(case: Case, rate: float) -> list[str]:
    f = figures(case)
    out = []
    if f["judge p99 ms"] >= BATCH_S * 1e3:
        out.append(f"judging p99 {f['judge p99 ms']:.1f} ms >= the {BATCH_S * 1e3:.0f} ms batch")
    if f["lag p99 ms"] >= 2 * BATCH_S * 1e3:
        out.append(f"emission-to-judged lag p99 {f['lag p99 ms']:.1f} ms >= two batches")
    if f["lines a full pty held >= 1 ms"]:
        held = f["lines a full pty held >= 1 ms"]
        out.append(f"a full pty held the rig's next line 1 ms or more {held} times")
    # No growth: the last third's backlog stays within what one second brings.
    if f["backlog max, last third"] > max(f["backlog max, 1st third"], 1) + rate * case.channels:
        out.append("the storage backlog grew")
    if f["storage stalls"]:
        out.append(f"{f['storage stalls']} storage stalls")
    if f["frame p95 ms"] >= FRAME_TARGET_MS:
        out.append(f"frame p95 {f['frame p95 ms']:.1f} ms >= {FRAME_TARGET_MS:g} ms")
    return [f"{case.label}: {m}" for m in out]


def report(sled: Case, base: Case) -> None:
    load = os.getloadavg()
    print(
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} cores); "
        f"offscreen MainWindow 1400 x 900"
    )
    for c in (base, sled):
        print(
            f"  {c.label:5}: {c.channels} channels, {c.sent:,} lines sent, {c.stored_lines:,} "
            f"stored, {c.samples:,} samples; {c.judged_items} items judged; run {c.status}; "
            f"{len(c.judge_s)} batches, {len(c.frame_s)} frames, {len(c.text_s)} text ticks"
        )
    print(f"  {'':26}{'baseline':>12}{'sled':>12}{'sled/base':>11}")
    fb, fs = figures(base), figures(sled)
    for key in fs:
        ratio = fs[key] / fb[key] if fb[key] else float("nan")
        print(f"  {key:26}{fb[key]:12.1f}{fs[key]:12.1f}{ratio:10.2f}x")


def print_profiles(case: Case, top: int = 18) -> None:
    for name, stats in case.profiles.items():
        out = io.StringIO()
        stats.stream = out
        stats.sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats("labbench/", top)  # the product's calls
        stats.print_callers("acquire|sleep")  # where a thread waits, and for what
        body = out.getvalue()
        start = body.find("   ncalls")
        print(f"\n--- {case.label}: {name}, top {top} by own time ---\n{body[start:]}")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-rig":
        serve_rig(sys.argv[2], float(sys.argv[3]), sys.argv[4])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="each plan run's length")
    parser.add_argument("--slots", type=int, default=16)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--no-fail", action="store_true", help="report a missed target only")
    parser.add_argument("--profile", action="store_true", help="cProfile reader and GUI threads")
    args = parser.parse_args()
    sled, base = measure(args.seconds, args.slots, args.rate, args.profile)
    report(sled, base)
    if args.profile:
        print_profiles(base)
        print_profiles(sled)
    wrong = [f"{c.label}: {w}" for c in (base, sled) for w in c.accounting]
    if wrong:
        print("ACCOUNTING WRONG:\n  " + "\n  ".join(wrong))
        return 3
    missed = misses(sled, args.rate) + misses(base, args.rate)
    print("  every line sent was stored once, samples = lines x channels")
    if missed:
        print("TARGETS MISSED:\n  " + "\n  ".join(missed))
        return 0 if args.no_fail else 1
    print("  all targets met")
    return 0


def measure(seconds: float, slots: int, rate: float, profile: bool = False) -> tuple[Case, Case]:
    """(sled, baseline): both cases in one process, one database, one main window."""
    from labbench.acquisition.pipeline import BATCH_INTERVAL_S
    from labbench.storage import open_database
    from labbench.ui.app import make_application
    from labbench.ui.main_window import MainWindow

    assert BATCH_INTERVAL_S == BATCH_S
    folder = Path(tempfile.mkdtemp(prefix="labbench-sled-bench-"))
    # A window laid out afresh, whose layout is not saved over the user's own.
    os.environ["XDG_CONFIG_HOME"] = str(folder / "config")
    app = make_application([])
    db = open_database(folder / "bench.sqlite3")
    window = MainWindow(db)
    window.resize(1400, 900)
    window.show()
    app.processEvents()
    try:
        base = run_case(window, db, "chip", f"mock://nominal?rate={rate:g}", seconds, 0, profile)
        sled = run_case(
            window, db, "sled", f"mock://nominal?slots={slots}&rate={rate:g}", seconds, slots,
            profile,
        )  # fmt: skip
    finally:
        window.close()
        db.dispose()
    base.label, sled.label = "base", "sled"
    return sled, base


if __name__ == "__main__":
    sys.exit(main())
