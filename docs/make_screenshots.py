"""Screenshots of the real app for the README, made offscreen:

    python docs/make_screenshots.py [--out docs] [--theme light|dark] [--size 1280x720]

Runs the example sled plan on simulated rigs (a few seconds each) in a scratch database and
grabs the live view mid-run, the finished failed run, the history with a failed run open and
the inventory.  Without --size it makes two sets, each in a fresh process: 1600x1000 (the
README's images) and a 1280x720 laptop screen (the same names ending in -1280x720).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer
from shot_args import parse_shot_args  # docs/, beside this script

from labbench import paths
from labbench.demo import open_demo_database
from labbench.protocols.profile import load_profile
from labbench.runs.plan import load_plan
from labbench.runs.sequencer import RunRequest, run_plan
from labbench.storage import inventory as inventory_store
from labbench.ui.app import make_application
from labbench.ui.main_window import MainWindow

SIZES = ("1600x1000", "1280x720")
README_SIZE = "1600x1000"


def main() -> int:
    args, width, height, out = parse_shot_args(__doc__, __file__, SIZES)
    size = (width, height)
    suffix = "" if args.size == README_SIZE else f"-{args.size}"
    app = make_application()
    scratch = Path(tempfile.mkdtemp(prefix="labbench-shots-"))
    db = open_demo_database(scratch)
    plan = load_plan(paths.resources_dir() / "plans" / "sled-power-on.toml")
    sled = inventory_store.find_dut(db, "SLD-A1-0012")
    profile = load_profile("bringup-rig")
    # Some history first: a passed and a noisy run of the second demo sled.
    for scenario in ("nominal", "noisy"):
        run_plan(
            db,
            RunRequest(
                plan,
                sled,
                f"mock://{scenario}?rate=200&power=off&seed=3",
                profile,
                "ana",
                "bench-1",
            ),
        )

    window = MainWindow(db, demo=True)
    window.set_theme(args.theme)
    window.resize(*size)
    window.show()
    dut = inventory_store.find_dut(db, "SLD-A1-0007")
    window.start_request(
        RunRequest(
            plan, dut, "mock://rail-droop?rate=200&power=off&seed=7", profile, "ana", "bench-1"
        )
    )

    def save(widget, name: str) -> None:
        path = out / name.replace(".png", f"{suffix}.png")
        widget.grab().save(str(path))
        print(path)

    def history_shot() -> None:
        window.history_dock.setFloating(True)
        window.history_dock.resize(*size)
        history = window.history
        history.apply_filters()

        def open_failed() -> None:
            failed = next((r for r in history.model.rows if r.status == "failed"), None)
            if failed is None:
                QTimer.singleShot(200, open_failed)
                return
            history.detail.open_run(failed.id, on_loaded=lambda: QTimer.singleShot(300, finish))

        def finish() -> None:
            detail = history.detail
            if detail.violations.count():
                detail.violations.itemClicked.emit(detail.violations.item(0))
            save(window.history_dock, "history.png")
            window.history_dock.setFloating(False)
            inventory_shot()

        def inventory_shot() -> None:
            window.inventory_dock.setFloating(True)
            window.inventory_dock.resize(min(1300, width), min(800, height))
            inventory = window.inventory

            def select_chip() -> None:
                chip = inventory_store.find_dut(db, "CHP-A1-W03-0412")
                inventory.open_dut(chip.id, on_loaded=lambda: QTimer.singleShot(300, done))

            def done() -> None:
                item = inventory.find_item("CHP-A1-W03-0412")
                if item is not None:
                    inventory.tree.setCurrentItem(item)
                save(window.inventory_dock, "inventory.png")
                window.inventory_dock.setFloating(False)
                app.quit()

            inventory.refresh(on_loaded=select_chip)

        QTimer.singleShot(500, open_failed)

    QTimer.singleShot(4200, lambda: save(window, "live-run.png"))
    window.controller.run_finished.connect(
        lambda _: QTimer.singleShot(700, lambda: (save(window, "failed-run.png"), history_shot()))
    )
    app.exec()
    window.close()
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
