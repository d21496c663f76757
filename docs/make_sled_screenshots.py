"""Screenshots of the sled map for the README, made offscreen as docs/make_screenshots.py
makes the others:

    python docs/make_sled_screenshots.py [--out docs] [--theme light|dark] [--size 1280x1000]

Runs the 4-chip plan judged per chip (tests/runs/plans/sled-chips.toml) on the demo sled
SLD-A1-0007, whose slot 3 is emptied first, on a simulated sled whose chip in slot 1
(CHP-A1-W03-0413) droops; a passed run of the same sled comes first.  Grabs the main window
mid-run (the map showing the failed chip) as sled-map-<width>.png and the inventory with that
chip's runs, its run opened in History with its slot picked, as chip-history-<width>.png.
Without --size it makes 1280x720 and 1600x1000, each in a fresh process.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer
from shot_args import parse_shot_args  # docs/, beside this script

from labbench.demo import open_demo_database
from labbench.protocols.profile import load_profile
from labbench.runs.plan import load_plan
from labbench.runs.sequencer import RunRequest, run_plan
from labbench.storage import inventory as inventory_store
from labbench.ui.app import make_application
from labbench.ui.main_window import MainWindow

SIZES = ("1280x720", "1600x1000")
PLAN = Path(__file__).resolve().parents[1] / "resources" / "plans" / "sled-chips.toml"
SLED, CHIP, SLOT = "SLD-A1-0007", "CHP-A1-W03-0413", 1


def main() -> int:
    args, width, height, out = parse_shot_args(__doc__, __file__, SIZES)
    app = make_application()
    db = open_demo_database(Path(tempfile.mkdtemp(prefix="labbench-sled-shots-")))
    plan = load_plan(PLAN)
    sled = inventory_store.find_dut(db, SLED)
    # An empty slot on the map: the chip in slot 3 moves to the other sled.
    moved = inventory_store.find_dut(db, "CHP-A1-W07-0101")
    other = inventory_store.find_dut(db, "SLD-A1-0012")
    inventory_store.place_chip(db, moved.id, other.id, 0, user="ana")
    profile = load_profile("default")
    run_plan(
        db,
        RunRequest(
            plan, sled, "mock://nominal?slots=4&rate=100&power=off&seed=7", profile, "ana", "b1"
        ),
    )

    window = MainWindow(db, demo=True)
    window.set_theme(args.theme)
    window.resize(width, height)
    window.show()
    window.console_dock.raise_()  # the console beside the run, as an operator keeps it
    device = f"mock://rail-droop?slots=4&slot={SLOT}&rate=100&power=off&seed=7"
    window.start_request(RunRequest(plan, sled, device, profile, "ana", "bench-1"))

    def save(widget, name: str) -> None:
        path = out / f"{name}-{width}.png"
        widget.grab().save(str(path))
        print(path)

    def chip_history() -> None:
        inventory = window.inventory
        window.inventory_dock.show()
        window.inventory_dock.raise_()
        chip = inventory_store.find_dut(db, CHIP)

        def opened() -> None:
            item = inventory.find_item(CHIP)
            if item is not None:
                inventory.tree.setCurrentItem(item)
            inventory.runs.selectRow(0)
            window.history.detail.open_run(
                int(inventory.runs.item(0, 0).text()),
                on_loaded=lambda: QTimer.singleShot(500, both),
                slot=SLOT,
            )

        def both() -> None:
            # The inventory (the chip's runs) floats beside History (its run, slot picked).
            window.history_dock.show()
            window.history_dock.raise_()
            window.inventory_dock.setFloating(True)
            window.inventory_dock.resize(width // 2, height)
            window.history_dock.setFloating(True)
            window.history_dock.resize(width - width // 2, height)
            # Laid out again at its new size: the chip's plot into sight again.
            QTimer.singleShot(300, lambda: window.history.detail.show_slot(SLOT))
            QTimer.singleShot(700, shoot)

        def shoot() -> None:
            from PySide6.QtGui import QPainter, QPixmap

            left, right = window.inventory_dock.grab(), window.history_dock.grab()
            canvas = QPixmap(left.width() + right.width(), max(left.height(), right.height()))
            canvas.fill(window.palette().window().color())
            painter = QPainter(canvas)
            painter.drawPixmap(0, 0, left)
            painter.drawPixmap(left.width(), 0, right)
            painter.end()
            path = out / f"chip-history-{width}.png"
            canvas.save(str(path))
            print(path)
            app.quit()

        inventory.refresh(on_loaded=lambda: inventory.open_dut(chip.id, on_loaded=opened))

    # Mid-run: the droop (3 s after power-on, in load-50) has failed chip 1; idle-soak runs.
    QTimer.singleShot(6500, lambda: save(window, "sled-map"))
    window.controller.run_finished.connect(lambda _: QTimer.singleShot(700, chip_history))
    app.exec()
    window.close()
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
