"""The sample HTML reports in docs/examples, from a simulated failing sled run and a shmoo:

    python docs/make_sample_report.py [--out docs/examples/sled-run.report.html]
        [--shmoo-out docs/examples/chip-shmoo.report.html] [--png FILE]

The sled run is the same as the sample JUnit XML and JSON record's: the export tests' sled
plan (tests/export/conftest.py) on a simulated 4-slot sled whose chip in slot 2 droops, slot 3
empty, with an operator's note. The shmoo is resources/plans/chip-shmoo.toml on the simulated
chip (``mock://nominal``, seed 0: Vmin 775/675/675/700 mV at 1000/1200/1400/1600 MHz and a hole
at 750 mV / 1000 MHz), some 15 s. ``--png`` also renders the sled page with chromium headless
(when installed), to look at it as a reader would.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labbench import paths  # noqa: E402
from labbench.export.html_report import write_html_report  # noqa: E402
from labbench.protocols.profile import load_profile  # noqa: E402
from labbench.runs.plan import parse_plan  # noqa: E402
from labbench.runs.sequencer import RunRequest, run_plan  # noqa: E402
from labbench.storage import events as event_store  # noqa: E402
from labbench.storage import inventory, open_database  # noqa: E402
from labbench.ui.report_plots import render_plots  # noqa: E402
from labbench.ui.shmoo_view import render_shmoo_png  # noqa: E402
from tests.export.conftest import DROOP, SLED_PLAN  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs/examples/sled-run.report.html")
    parser.add_argument(
        "--shmoo-out", type=Path, default=ROOT / "docs/examples/chip-shmoo.report.html"
    )
    parser.add_argument("--png", type=Path, help="also render the page to this PNG (chromium)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="labbench-sample-") as tmp:
        db = open_database(str(Path(tmp) / "sample.sqlite3"))
        sled = inventory.add_dut(db, "sled", "SLD-0042", part="AX-7", lot="L2611", slot_count=4)
        for slot in range(3):
            chip = inventory.add_dut(db, "chip", f"CHP-L2611-{slot + 11:04d}", part="AX-7")
            inventory.place_chip(db, chip.id, sled.id, slot)
        plan = parse_plan(SLED_PLAN, "sled-export.toml")
        request = RunRequest(plan, sled, DROOP, load_profile("default"), "ana", "bench-7")
        run_id = run_plan(db, request).run_id
        event_store.add_audit_entry(
            db,
            user="ana",
            entity="run",
            entity_id=run_id,
            action="note",
            reason="Slot 2 droop repeats after reseating the chip; sending it to failure analysis.",
        )
        plots = write_html_report(db, run_id, args.out, render_plots, render_shmoo_png)
        print(f"{args.out}: run {run_id}, {plots} plots, {args.out.stat().st_size:,} bytes")
        chip = inventory.add_dut(db, "chip", "CHP-L2611-0031", part="AX-7", lot="L2611")
        text = (paths.resources_dir() / "plans" / "chip-shmoo.toml").read_text(encoding="utf-8")
        plan = parse_plan(text, "chip-shmoo.toml")
        request = RunRequest(
            plan, chip, "mock://nominal", load_profile("default"), "ana", "bench-7"
        )
        run_id = run_plan(db, request).run_id
        out = args.shmoo_out
        plots = write_html_report(db, run_id, out, render_plots, render_shmoo_png)
        print(f"{out}: run {run_id}, {plots} plots and grids, {out.stat().st_size:,} bytes")
        db.dispose()
    if args.png:
        chromium = shutil.which("chromium")
        if chromium is None:
            print("chromium is not installed: no PNG")
            return 1
        with tempfile.TemporaryDirectory(prefix="labbench-chromium-") as profile:
            subprocess.run(
                [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                 f"--user-data-dir={profile}", "--window-size=1280,5200",
                 f"--screenshot={args.png}", args.out.resolve().as_uri()],
                check=True, capture_output=True,
            )  # fmt: skip
        print(f"{args.png}: the page as chromium draws it")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
