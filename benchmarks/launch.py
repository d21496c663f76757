"""Launch to first painted main window, next to a bare PySide6 + pyqtgraph window.

    python benchmarks/launch.py [--repeat 7] [--demo]

Both are started as fresh processes (offscreen unless DISPLAY is set) and timed from spawn
to the line they print when their window has painted once; medians of several runs.
Target (docs/architecture.md §7): <= 1 s.  ``--demo`` also times ``labbench --demo`` (the demo
database is seeded before the window is shown; its sled run starts after the first paint).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

BARE = """
import sys
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow, QWidget
import pyqtgraph as pg
app = QApplication(sys.argv[:1])
window = QMainWindow()
window.setCentralWidget(pg.PlotWidget())
class First(QObject):
    def eventFilter(self, obj, event):
        painted = event.type() == QEvent.Type.Paint and isinstance(obj, QWidget)
        if painted and obj.window() is window:
            print("first-paint", flush=True)
            app.removeEventFilter(self)
            QTimer.singleShot(0, app.quit)
        return False
f = First()
app.installEventFilter(f)
window.resize(1280, 800)
window.show()
app.exec()
"""


def time_to_paint(command: list[str], env: dict) -> float:
    begin = time.perf_counter()
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    for line in proc.stdout:
        if line.strip() == "first-paint":
            elapsed = time.perf_counter() - begin
            break
    else:
        raise RuntimeError(f"{command[:3]} exited without painting")
    proc.wait(timeout=30)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--bundle", help="also time this PyInstaller bundle (packaging/dist/labbench/labbench)"
    )
    parser.add_argument("--demo", action="store_true", help="also time labbench --demo")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="labbench-launch-") as tmp:
        env = dict(
            os.environ,
            LABBENCH_EXIT_AFTER_FIRST_PAINT="1",
            XDG_DATA_HOME=f"{tmp}/data",
            XDG_CONFIG_HOME=f"{tmp}/config",
        )
        if not env.get("DISPLAY"):
            env["QT_QPA_PLATFORM"] = "offscreen"
        ours, bare, bundle, demo = [], [], [], []
        for _ in range(args.repeat):  # interleaved: machine noise hits all alike
            bare.append(time_to_paint([sys.executable, "-c", BARE], env))
            ours.append(
                time_to_paint(
                    [sys.executable, "-m", "labbench", "--db", f"{tmp}/launch.sqlite3"], env
                )
            )
            if args.demo:
                demo.append(time_to_paint([sys.executable, "-m", "labbench", "--demo"], env))
            if args.bundle:
                bundle.append(time_to_paint([args.bundle, "--db", f"{tmp}/launch.sqlite3"], env))
    platform = env.get("QT_QPA_PLATFORM", "xcb (DISPLAY set)")
    print(f"launch to first painted window, median of {args.repeat} ({platform}):")
    print(
        f"  labbench main window            : {statistics.median(ours):.3f} s  (target <= 1 s; "
        f"first run creates the database)"
    )
    print(f"  bare PySide6 + pyqtgraph window : {statistics.median(bare):.3f} s")
    print(
        f"  ratio                           : "
        f"{statistics.median(ours) / statistics.median(bare):.2f}"
    )
    if demo:
        print(
            f"  labbench --demo                 : {statistics.median(demo):.3f} s  "
            f"(ratio to bare {statistics.median(demo) / statistics.median(bare):.2f})"
        )
    if bundle:
        print(f"  labbench bundle ({args.bundle}): {statistics.median(bundle):.3f} s")


if __name__ == "__main__":
    main()
