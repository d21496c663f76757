"""``labbench --smoke-test``: the installed app (or bundle) opens its main window offscreen,
runs a short plan on a simulated rig against a temporary database, and exits 0 if it passed."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

SMOKE_PLAN = """\
[plan]
name = "smoke-test"
version = "1"
dut_kind = "chip"

[[channel]]
name = "vdd_core"
unit = "V"

[[step]]
name = "power-on"
duration_s = 1.0
send = ["PWR ON"]
  [[step.limit]]
  channel = "vdd_core"
  low = 0.72
  high = 0.78
  settle_s = 0.5

[[step]]
name = "hold"
duration_s = 0.5
  [[step.limit]]
  channel = "vdd_core"
  nominal = 0.75
  tolerance_pct = 4
"""

TIMEOUT_S = 60.0


def run_smoke_test() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, QTimer

    from labbench.protocols.profile import load_profile
    from labbench.runs.plan import parse_plan
    from labbench.runs.sequencer import RunRequest
    from labbench.storage import inventory as inventory_store
    from labbench.storage import open_database
    from labbench.storage import runs as run_store
    from labbench.ui.app import make_application
    from labbench.ui.main_window import MainWindow

    began = time.monotonic()
    app = make_application()
    with tempfile.TemporaryDirectory(prefix="labbench-smoke-") as tmp:
        # Settings and data of the smoke test stay in the temporary folder.
        os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")
        db = open_database(str(Path(tmp) / "smoke.sqlite3"))
        window = MainWindow(db)
        window.show()
        app.processEvents()
        plan = parse_plan(SMOKE_PLAN, "smoke-test")
        dut = inventory_store.add_dut(db, "chip", "SMOKE-1")
        outcome = []
        loop = QEventLoop()
        window.controller.run_finished.connect(lambda o: (outcome.append(o), loop.quit()))
        window.controller.run_failed.connect(lambda message: (outcome.append(message), loop.quit()))
        QTimer.singleShot(int(TIMEOUT_S * 1000), loop.quit)
        window.start_request(
            RunRequest(
                plan,
                dut,
                "mock://nominal?rate=200&power=off",
                load_profile("default"),
                "smoke",
                "smoke",
            )
        )
        loop.exec()
        result = outcome[0] if outcome else None
        ok = (
            result is not None
            and not isinstance(result, str)
            and result.status == "passed"
            and window.live.plots.data
        )
        if result is None:
            print(f"smoke test: FAILED, no result within {TIMEOUT_S:.0f} s", file=sys.stderr)
        elif isinstance(result, str):
            print(f"smoke test: FAILED, the run could not go on: {result}", file=sys.stderr)
        else:
            samples = run_store.get_run(db, result.run_id).sample_count
            print(
                f"smoke test: run {result.run_id} {result.status}, {samples} samples, "
                f"window drawn; {time.monotonic() - began:.1f} s"
            )
        window.controller.join(30)
        window.close()
        db.dispose()
    return 0 if ok else 1
