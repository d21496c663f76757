"""Screenshots of the power-sequencing marks in the live view for the README, made offscreen
as docs/make_screenshots.py makes the others:

    python docs/make_sequencing_screenshots.py [--out docs] [--theme light|dark] [--size WxH]

Runs the shipped power-sequencing plan (resources/plans/power-sequencing.toml) on a simulated
chip whose rails ramp slowly (``mock://slow-rail``, 2 kHz, the rig's clock), so some items fail,
pauses the plots and zooms onto the power-on, where each timing item's crossings and measured
time are drawn on the rails: sequencing-<width>.png.  Without --size it makes 1280x720 and
1600x1000, each in a fresh process.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt, QTimer
from shot_args import parse_shot_args  # docs/, beside this script

from labbench import paths
from labbench.demo import open_demo_database
from labbench.protocols.profile import parse_profile
from labbench.runs.plan import load_plan
from labbench.runs.sequencer import RunRequest
from labbench.storage import inventory as inventory_store
from labbench.ui.app import make_application
from labbench.ui.main_window import MainWindow

SIZES = ("1280x720", "1600x1000")
PLAN = paths.resources_dir() / "plans" / "power-sequencing.toml"
DEVICE = "mock://slow-rail?rate=2000&device_time=ms"
CLOCK = '[line]\ndevice_time = "t_ms"\ndevice_time_unit = "ms"\n'


def main() -> int:
    args, width, height, out = parse_shot_args(__doc__, __file__, SIZES)
    app = make_application()
    db = open_demo_database(Path(tempfile.mkdtemp(prefix="labbench-seq-shots-")))
    chip = inventory_store.find_dut(db, "CHP-B0-W01-0220")
    window = MainWindow(db, demo=True)
    window.set_theme(args.theme)
    window.resize(width, height)
    window.show()
    live = window.live
    request = RunRequest(load_plan(PLAN), chip, DEVICE, parse_profile(CLOCK), "ana", "bench-1")
    window.start_request(request)

    def zoom() -> None:
        # As an engineer does: the results pane made smaller, the plots paused, and the
        # power-on looked at from its first crossing, each plot's axis dragged to the ramps.
        window.resizeDocks([window.results_dock], [height // 5], Qt.Orientation.Vertical)
        live.follow_button.setChecked(True)
        marks = live.timing.marks()
        times = [c.t_s for m in marks for c in m.crossings]
        start = min(times) - 0.004 if times else 0.0
        live.plots.set_x_range(start, max(times) + 0.012 if times else start + 0.06)
        for rail in ("vdd_io", "vdd_core"):
            plot = live.plots.plot_of(rail)
            plot.vb.setYRange(-0.05, 1.05 * max(plot.vb.viewRange()[1][1], 0.8), padding=0)
            # What a drag of the axis says: the plot no longer holds its limits in view.
            plot.vb.sigRangeChangedManually.emit(plot.vb.state["mouseEnabled"])
        QTimer.singleShot(300, lambda: live.plots.scroll_to("vdd_core"))
        QTimer.singleShot(800, shoot)

    def shoot() -> None:
        path = out / f"sequencing-{width}{'-dark' if args.theme == 'dark' else ''}.png"
        window.grab().save(str(path))
        print(path)
        app.quit()

    window.controller.run_finished.connect(lambda _: QTimer.singleShot(700, zoom))
    app.exec()
    window.close()
    db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
