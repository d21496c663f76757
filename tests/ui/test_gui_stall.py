"""The window never freezes while rigs come and go: two simulated rigs at 20 k lines/s
connect, record and disconnect on the Bench through its buttons while a 10 ms timer records
how long the event loop was away.

The rigs are ``labbench mock-rig`` processes on pseudo-terminals, reached through the real
serial transport, as a lab's rigs are serial devices outside the workstation's process.  An
in-process simulated rig at 20 k lines/s spends most of a core of this process's interpreter
on making its lines (44 us a line for every channel), which no real rig costs the app; the
rigs send their sequence number and one rail, so the two simulators do not saturate a
2-core machine themselves."""

from __future__ import annotations

import gc
import time

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest

from labbench.storage import inventory as inventory_store
from labbench.storage import runs as run_store


class GapRecorder:
    """A 10 ms timer on the GUI thread; the longest time between two of its ticks is how
    long the event loop was blocked."""

    def __init__(self, owner):
        # Owned by the window: destroyed with it on the GUI thread, never by a garbage
        # collection that happens to run on a worker thread.
        self.timer = QTimer(owner)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.last = None
        self.gaps: list[float] = []

    def _tick(self) -> None:
        now = time.perf_counter()
        if self.last is not None:
            self.gaps.append(now - self.last)
        self.last = now

    def start(self) -> None:
        self.last = None
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        return max(self.gaps)


def _select(bench, device: str) -> None:
    QTest.keyClicks(bench.add_edit, device)
    QTest.keyClick(bench.add_edit, Qt.Key.Key_Return)
    assert bench.selected_device() == device


def connect_and_disconnect_two_rigs(
    qtbot, window, devices, samples_each: int = 600_000
) -> GapRecorder:
    """Drive the Bench as a user: add each rig, type the DUT, Connect; let them record;
    select each and Disconnect.  Returns the recorder (stopped)."""
    bench = window.bench
    if not window.bench_dock.isVisible():
        window.bench_dock.toggleViewAction().trigger()
    qtbot.waitUntil(window.bench_dock.isVisible, timeout=5_000)
    # Earlier tests' windows are garbage, and the objects they left make every full garbage
    # collection slow: neither is this scenario's cost (a fresh app has neither).
    gc.collect()
    gc.freeze()
    recorder = GapRecorder(window)
    recorder.start()
    QTest.keyClicks(bench.dut, "CHP-STALL")
    for device in devices:
        _select(bench, device)
        with qtbot.waitSignal(
            bench.connected, timeout=15_000, check_params_cb=lambda d, _, device=device: d == device
        ):
            qtbot.mouseClick(bench.connect_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(
        lambda: all(bench.monitors[d].stats.samples > samples_each for d in devices),
        timeout=60_000,
    )
    for device in devices:
        _select(bench, device)
        with qtbot.waitSignal(
            bench.disconnected, timeout=30_000, check_params_cb=lambda d, device=device: d == device
        ):
            qtbot.mouseClick(bench.disconnect_button, Qt.MouseButton.LeftButton)
    recorder.stop()
    gc.unfreeze()
    return recorder


@pytest.mark.alone
def test_two_fast_rigs_connect_and_disconnect_without_freezing_the_window(
    qtbot, window, mock_rig_process
):
    inventory_store.add_dut(window.db, "chip", "CHP-STALL")
    devices = [
        mock_rig_process("nominal?channels=vdd_core", rate=20_000, seed=seed) for seed in (1, 2)
    ]
    # About 4 s of recording at 2 samples a line.
    recorder = connect_and_disconnect_two_rigs(qtbot, window, devices, samples_each=150_000)
    longest = max(recorder.gaps)
    assert len(recorder.gaps) > 100
    assert longest < 0.050, f"the event loop stalled for {longest * 1000:.0f} ms"
    runs = run_store.list_runs(window.db)
    assert len(runs) == 2 and all(r.status == "recorded" and r.sample_count > 0 for r in runs)
