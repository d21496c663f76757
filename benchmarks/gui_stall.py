"""GUI-thread stalls while rigs come and go on the Bench.

Two simulated rigs at 20 k lines/s connect, record and disconnect through the Bench's
buttons while a 10 ms timer records how long the event loop was away each time.  Printed:
the longest gap and the p99, next to the same figures for the idle window measured in the
same run (the machine's own scheduling noise).  Target: longest gap under 50 ms.

    python benchmarks/gui_stall.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

DEVICES = ("mock://nominal?rate=20000&seed=1", "mock://nominal?rate=20000&seed=2")
TARGET_S = 0.050


class Gaps:
    def __init__(self, owner):
        self.timer = QTimer(owner)  # destroyed with the window, on the GUI thread
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

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.stop()

    def figures(self) -> tuple[float, float]:
        g = sorted(self.gaps)
        return g[-1], g[min(int(len(g) * 0.99), len(g) - 1)]


def spin_until(condition, timeout_s: float) -> None:
    end = time.monotonic() + timeout_s
    loop = QEventLoop()
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the bench did not get there in time")
        QTimer.singleShot(5, loop.quit)
        loop.exec()


def one_round(window) -> Gaps:
    bench = window.bench
    with Gaps(window) as gaps:
        bench.dut.setText("CHP-STALL")
        for device in DEVICES:
            QTest.keyClicks(bench.add_edit, device)
            QTest.keyClick(bench.add_edit, Qt.Key.Key_Return)
            bench.connect_button.click()
            spin_until(lambda device=device: device in bench.monitors, 15)
        spin_until(lambda: all(bench.monitors[d].stats.samples > 600_000 for d in DEVICES), 60)
        for device in DEVICES:
            QTest.keyClicks(bench.add_edit, device)
            QTest.keyClick(bench.add_edit, Qt.Key.Key_Return)
            bench.disconnect_button.click()
            spin_until(
                lambda device=device: device not in bench.busy and device not in bench.monitors, 30
            )
    return gaps


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="labbench-gui-stall-")
    # A window laid out afresh, whose layout is not saved over the user's own.
    os.environ["XDG_CONFIG_HOME"] = os.path.join(folder, "config")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from labbench.storage import inventory as inventory_store
    from labbench.storage import open_database
    from labbench.ui.main_window import MainWindow

    db = open_database(os.path.join(folder, "stall.sqlite3"))
    inventory_store.add_dut(db, "chip", "CHP-STALL")
    window = MainWindow(db)
    window.resize(1280, 720)
    window.show()
    window.bench_dock.show()
    with Gaps(window) as idle:
        spin_until(lambda: len(idle.gaps) >= 300, 30)
    idle_max, idle_p99 = idle.figures()
    print(
        f"idle window:  longest gap {idle_max * 1000:6.1f} ms  p99 {idle_p99 * 1000:6.1f} ms  "
        f"(the machine's noise)"
    )
    worst = 0.0
    for n in range(args.rounds):
        longest, p99 = one_round(window).figures()
        worst = max(worst, longest)
        print(
            f"round {n + 1}: 2 rigs x 20 k lines/s connect+record+disconnect: longest gap "
            f"{longest * 1000:6.1f} ms  "
            f"p99 {p99 * 1000:6.1f} ms  ({longest / idle_max:.1f}x idle)"
        )
    print(
        f"longest gap {worst * 1000:.1f} ms (target < {TARGET_S * 1000:.0f} ms): "
        f"{'ok' if worst < TARGET_S else 'OVER'}"
    )
    window.close()
    db.dispose()
    app.quit()
    return 0 if worst < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
