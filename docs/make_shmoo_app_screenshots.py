"""Screenshots of a shmoo run in the app for the README, made offscreen as
docs/make_screenshots.py makes the others:

    python docs/make_shmoo_app_screenshots.py [--out docs] [--theme light|dark] [--size WxH]

Runs the shipped shmoo plan (resources/plans/chip-shmoo.toml, 10 x 4 points of 0.3 s) on two
simulated chips of the demo database: shmoo-live-<width>.png is the first chip's grid filling
in beside its rails mid-sweep; shmoo-history-<width>.png the second chip's run opened in History
with the first chip's Vmin overlaid and a point clicked (the plots on its dwell).  Without
--size it makes 1280x720 and 1600x1000, each in a fresh process.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, QTimer
from shot_args import parse_shot_args  # docs/, beside this script

from labbench import paths
from labbench.demo import open_demo_database
from labbench.protocols.profile import load_profile
from labbench.runs.plan import load_plan
from labbench.runs.sequencer import RunRequest
from labbench.storage import inventory as inventory_store
from labbench.ui.app import make_application
from labbench.ui.main_window import MainWindow

SIZES = ("1280x720", "1600x1000")
PLAN = paths.resources_dir() / "plans" / "chip-shmoo.toml"
CHIPS = (("CHP-SHMOO-A", 3), ("CHP-SHMOO-B", 7))  # serial, the simulated chip's seed


def main() -> int:
    args, width, height, out = parse_shot_args(__doc__, __file__, SIZES)
    suffix = "-dark" if args.theme == "dark" else ""
    app = make_application()
    scratch = Path(tempfile.mkdtemp(prefix="labbench-shmoo-shots-"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)  # a window laid out afresh
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(scratch))
    db = open_demo_database(scratch)
    window = MainWindow(db, demo=True)
    window.set_theme(args.theme)
    window.resize(width, height)
    window.show()
    plan = load_plan(PLAN)
    runs: list[int] = []

    def start(index: int) -> None:
        serial, seed = CHIPS[index]
        chip = inventory_store.add_dut(db, "chip", serial)
        device = f"mock://nominal?rate=1000&seed={seed}"
        window.start_request(RunRequest(plan, chip, device, load_profile("default"), "ana", "b1"))

    def live_shot() -> None:
        window.grab().save(str(out / f"shmoo-live-{width}{suffix}.png"))

    def finished(outcome) -> None:
        runs.append(outcome.run_id)
        if len(runs) < len(CHIPS):
            QTimer.singleShot(500, lambda: start(len(runs)))
            return
        window.history.detail.loader.done.connect(lambda *_: QTimer.singleShot(800, history))
        window.open_stored_run(runs[-1])

    def history() -> None:
        panel = window.history.detail.shmoo
        panel.overlay_combo.setCurrentIndex(1)
        shmoo = panel.view.shmoo
        x, y = shmoo.xs[len(shmoo.xs) // 2], shmoo.ys[-1]
        panel.point_picked.emit(panel_position(panel, x, y))
        QTimer.singleShot(800, history_shot)

    def history_shot() -> None:
        path = out / f"shmoo-history-{width}{suffix}.png"
        window.grab().save(str(path))
        print(path)
        app.quit()

    window.controller.run_finished.connect(finished)
    start(0)
    QTimer.singleShot(9_000, live_shot)  # power-on (1 s) and about 26 of the 40 points
    app.exec()
    window.close()
    db.dispose()
    return 0


def panel_position(panel, x, y) -> int:
    return next(
        i for i, s in enumerate(panel.plan.steps) if s.point and (s.point.x, s.point.y) == (x, y)
    )


if __name__ == "__main__":
    raise SystemExit(main())
