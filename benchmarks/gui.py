"""Live plots under load: 16 channels at 1 kHz streaming into the product's real ring buffers.

    python benchmarks/gui.py [--channels 16] [--rate 1000] [--frames 150]

Offscreen, 1400 x 900.  The rings are the acquisition pipeline's own size
(``DEFAULT_RING_CAPACITY``, 262,144 samples per channel) and start full; a thread appends
1 kHz data in 20 ms batches, as the reader thread does, while the live view's own frame code
draws.  Figures, from one run:

* frame time (the view's frame: envelope update + setData, then a synchronous paint), p50 /
  p95, in the 10 s window and the whole-run window;
* baseline, same run, same layout (a PlotStack with the same plots and curves): the best a
  user gets from pyqtgraph itself, each curve a PlotDataItem with
  ``setDownsampling(auto=True, method="peak")``, ``setClipToView(True)`` and
  ``skipFiniteCheck``, given the whole ring each frame (setData + paint), same windows;
* GUI event-loop latency p99 while ingesting: a 10 ms probe timer's lateness with the view's
  own 30 Hz timer running;
* RSS as the run grows while streaming.
Targets: product frame p95 <= 16 ms, event-loop latency p99 <= 50 ms, memory flat.
"""

from __future__ import annotations

import argparse
import os
import resource
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from PySide6.QtCore import QElapsedTimer, QTimer
from PySide6.QtWidgets import QApplication

from labbench.acquisition.pipeline import DEFAULT_RING_CAPACITY
from labbench.acquisition.ring import ChannelRing
from labbench.runs.plan import parse_plan
from labbench.ui.live_view import WINDOWS, LiveRunView
from labbench.ui.plots import PlotStack
from labbench.ui.results_model import ResultsModel
from labbench.ui.run_controller import RunController
from labbench.ui.theme import LIGHT, apply_theme


class FakeAcquisition:
    """Just what the live view reads from a run session: its rings (through the session's
    read methods), units, t0; no plan."""

    plan = None

    def __init__(self, channels: int, capacity: int, t0_ns: int):
        self.rings = {f"ch{i:02d}": ChannelRing(capacity) for i in range(channels)}
        self.units = {name: ("V" if i % 2 else "A") for i, name in enumerate(self.rings)}
        self.t0_ns = t0_ns
        self.ring_capacity = capacity

    def channels(self):
        return [(name, self.units[name], ring.total) for name, ring in self.rings.items()]

    def samples_since(self, name: str, since_total: int):
        return self.rings[name].snapshot(since_total)

    def samples_between(self, name: str, t0: float, t1: float):
        return self.rings[name].between(t0, t1)  # as RunSession.samples_between

    def step_start_s(self, position: int):
        return None


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def percentile(values, q) -> float:
    return float(np.percentile(np.array(values) * 1e3, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ring",
        type=int,
        default=DEFAULT_RING_CAPACITY,
        help="samples per channel ring (the pipeline's)",
    )
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--frames", type=int, default=150)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    apply_theme(app, LIGHT)
    held = args.ring
    seconds_held = held / args.rate
    t0_ns = time.time_ns() - int(seconds_held * 1e9)
    acquisition = FakeAcquisition(args.channels, args.ring, t0_ns)
    rng = np.random.default_rng(0)
    t_hist = np.arange(held) / args.rate
    for i, ring in enumerate(acquisition.rings.values()):
        ring.extend(t_hist, 0.75 + 0.1 * i + 0.01 * rng.standard_normal(held))
    rss_filled = rss_mb()

    controller = RunController(db=None)
    controller.session = acquisition
    plan = parse_plan(
        '[plan]\nname="bench"\nversion="1"\ndut_kind="chip"\n[[step]]\nname="s"\nduration_s=1.0\n'
    )
    view = LiveRunView(controller, ResultsModel(LIGHT), LIGHT)
    view.resize(1400, 900)
    view.show()
    view.plan = plan
    view.t0_ns = t0_ns
    app.processEvents()
    first = time.perf_counter()
    view._on_frame()  # the first frame folds the held hour into the envelopes
    first_frame = time.perf_counter() - first

    stop = threading.Event()

    def stream() -> None:  # the reader thread's part: 20 ms batches at the rate
        sent = held
        next_t = time.monotonic()
        while not stop.is_set():
            next_t += 0.02
            now_s = (time.time_ns() - t0_ns) / 1e9
            n = max(int(now_s * args.rate) - sent, 0)
            if n:
                t = (sent + np.arange(n)) / args.rate
                for i, ring in enumerate(acquisition.rings.values()):
                    ring.extend(t, 0.75 + 0.1 * i + 0.01 * rng.standard_normal(n))
                sent += n
            stop.wait(max(next_t - time.monotonic(), 0))

    streamer = threading.Thread(target=stream, daemon=True)
    streamer.start()
    viewport = view.plots.layout_widget.viewport()

    def measure(window_index: int, frames: int) -> list[float]:
        view.window_combo.setCurrentIndex(window_index)
        times = []
        for _ in range(frames):
            begin = time.perf_counter()
            view._on_frame()
            viewport.repaint()
            times.append(time.perf_counter() - begin)
            app.processEvents()
        return times

    ten_s = measure(0, args.frames)
    whole = measure(len(WINDOWS) - 1, args.frames)

    # Event-loop latency: the view's own 30 Hz timer runs; a 10 ms probe measures lateness.
    view.window_combo.setCurrentIndex(0)
    view.frame_timer.start()
    lateness: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    expected = [10]

    def probe() -> None:
        lateness.append(max(clock.elapsed() - expected[0], 0) / 1e3)
        expected[0] = clock.elapsed() + 10

    probe_timer = QTimer()
    probe_timer.setInterval(10)
    probe_timer.timeout.connect(probe)
    probe_timer.start()
    rss_before_stream = rss_mb()
    end = time.monotonic() + 10.0
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.001)
    probe_timer.stop()
    view.frame_timer.stop()
    rss_after_stream = rss_mb()
    stop.set()
    streamer.join()

    # Baseline: pyqtgraph's own peak downsampling and clipToView, the whole ring each frame.
    baseline = PlotStack(LIGHT, grid=False)
    baseline.resize(view.plots.layout_widget.size())
    baseline.show()
    base_curves = {}  # pyqtgraph's own curve items, in the product's plots
    for name in acquisition.rings:
        pen = baseline.ensure_channel(name, acquisition.units[name]).opts["pen"]
        curve = base_curves[name] = baseline.plot_of(name).plot([], [], pen=pen)
        curve.setDownsampling(auto=True, method="peak")
        curve.setClipToView(True)
        curve.setSkipFiniteCheck(True)
    app.processEvents()
    baseline_viewport = baseline.layout_widget.viewport()

    def measure_baseline(span: float, frames: int) -> list[float]:
        times = []
        for _ in range(frames):
            begin = time.perf_counter()
            now_s = (time.time_ns() - t0_ns) / 1e9
            for name, curve in base_curves.items():
                t, v, _ = acquisition.rings[name].snapshot()
                curve.setData(t, v)
            baseline.set_x_range(max(now_s - span, 0.0) if span else 0.0, now_s, settle_y=False)
            baseline_viewport.repaint()
            times.append(time.perf_counter() - begin)
            app.processEvents()
        return times

    stop.clear()
    streamer = threading.Thread(target=stream, daemon=True)
    streamer.start()
    base_ten_s = measure_baseline(10.0, max(args.frames // 3, 10))
    base_whole = measure_baseline(0.0, max(args.frames // 3, 10))
    stop.set()
    streamer.join()
    baseline.close()

    print(
        f"live view, {args.channels} channels at {args.rate:g} Hz, rings of {held:,} samples per "
        f"channel "
        f"({seconds_held:.0f} s, {held * args.channels / 1e6:.1f} M samples held), offscreen 1400 "
        f"x 900:"
    )
    rows = (("10 s window", ten_s, base_ten_s), ("whole run", whole, base_whole))
    for label, ours, base in rows:
        print(
            f"  frame {label:12s}: product p50 {percentile(ours, 50):6.1f} ms  p95 "
            f"{percentile(ours, 95):6.1f} ms | "
            f"pyqtgraph peak+clipToView p50 {percentile(base, 50):6.1f} ms  p95 "
            f"{percentile(base, 95):6.1f} ms | "
            f"ratio baseline/product p95 {np.percentile(base, 95) / np.percentile(ours, 95):5.1f}x"
        )
    print("  (target: product p95 <= 16 ms)")
    print(
        f"  event-loop latency  : p99 {percentile(lateness, 99):6.1f} ms over {len(lateness)} "
        f"probes while ingesting  (target <= 50 ms)"
    )
    print(f"  first frame (folding the full rings into envelopes): {first_frame * 1e3:.0f} ms")
    print(
        f"  RSS: rings filled {rss_filled:.0f} MB; streaming 10 s more: {rss_before_stream:.0f} "
        f"-> {rss_after_stream:.0f} MB; "
        f"peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB"
    )
    view.close()


if __name__ == "__main__":
    main()
