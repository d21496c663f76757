"""Screenshots of the Analytics panel for the README, made offscreen:

    python docs/make_analytics_screenshots.py [--out docs] [--theme light|dark] [--size 1280x720]

Fills a scratch database through the repository functions with three weeks of a lab's
history: a chip plan run on three stations (its core rail drifting up on bench-3, retries
after failures, a few runs the station lost), a burn-in plan, and a sled plan whose slot 1
socket reads its chip's rail low and fails it.  Grabs the main window with the Analytics
panel on top, its capability tab showing the worst item's histogram and control chart, as
analytics-<width>.png; at 1600x1000 also the yield, Pareto and sled heatmap tabs
(analytics-<tab>-1600.png).  Without --size it makes 1280x720 and 1600x1000, each in a fresh
process.  Settings go to a temporary folder: the developer's own are never read or written.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QSettings, QTimer
from shot_args import parse_shot_args  # docs/, beside this script

from labbench.records import CriterionRecord, StepRecord, ViolationRecord
from labbench.storage import inventory, open_database, plans, results
from labbench.storage import runs as run_store
from labbench.ui.app import make_application
from labbench.ui.main_window import MainWindow

SIZES = ("1280x720", "1600x1000")
DAYS = 21
STATIONS = ("bench-1", "bench-2", "bench-3")
OPERATORS = ("ana", "ben", "chen")


def _item(name, channel, unit, value, low, high, *, slot=None, chip="", stat="mean"):
    failed = (low is not None and value < low) or (high is not None and value > high)
    violations = (ViolationRecord(channel, 2.0, 2.4, value, "low"),) if failed else ()
    return CriterionRecord(
        "measure", name, channel, unit, stat, value, "", low, high, None, None, None,
        0.5, 0.0, 200, "failed" if failed else "passed", violations, slot, chip,
    )  # fmt: skip


def _store(db, dut, plan, when, steps, *, station, operator, status=None, chip_verdicts=None):
    run = run_store.start_run(
        db, dut.id, plan_id=plan.id, station_id=station, operator=operator, started_at=when
    )
    records = [
        StepRecord(
            position,
            name,
            run.t0_ns,
            run.t0_ns + 1,
            "failed" if any(c.verdict == "failed" for c in items) else "passed",
            tuple(items),
        )
        for position, (name, items) in enumerate(steps)
    ]
    if steps:
        results.store_results(db, run.id, records, chip_verdicts)
    if status is None:
        failed = any(r.verdict == "failed" for r in records)
        status = "failed" if failed else "passed"
    run_store.finish_run(db, run.id, status, ended_at=when + dt.timedelta(minutes=4))
    return status


def fill_history(db) -> None:
    """Three weeks of runs ending now (the panel's "Last 7 days" shows the newest)."""
    rng = random.Random(13)
    stations = {name: inventory.ensure_station(db, name).id for name in STATIONS}
    start = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0) - dt.timedelta(
        days=DAYS
    )
    power_on = [plans.store_plan_version(db, "power-on", v, "chip", f"power-on v{v}") for v in "12"]
    burn_in = plans.store_plan_version(db, "burn-in", "1", "chip", "burn-in v1")
    for n in range(220):
        when = start + dt.timedelta(hours=n * DAYS * 24 / 220 + rng.random())
        station = STATIONS[n % 3]
        chip = inventory.add_dut(db, "chip", f"CHP-B2-W{n % 9:02d}-{n:04d}", lot="B2")
        plan = power_on[0] if n < 90 else power_on[1]
        for attempt in range(3):
            # bench-3's core rail reading creeps up over the weeks (a drifting reference).
            drift = 0.0012 * (when - start).total_seconds() / 86400 if station == "bench-3" else 0
            steps = [
                ("rails", [
                    _item("vdd_core_mean", "vdd_core", "V", rng.gauss(0.748 + drift, 0.008),
                          0.72, 0.78),
                    _item("vdd_io_mean", "vdd_io", "V", rng.gauss(1.800, 0.006), 1.71, 1.89),
                    _item("idd_idle", "idd_core", "A", rng.gauss(1.20, 0.045), 1.0, 1.35),
                ]),
                ("clocks", [
                    _item("pll_lock_ms", "pll_lock", "ms", abs(rng.gauss(2.1, 0.35)), None, 3.0,
                          stat="max"),
                    _item("ref_clk_mhz", "ref_clk", "MHz", rng.gauss(100.0, 0.004), 99.98,
                          100.02),
                ]),
                ("thermal", [
                    _item("t_die_max", "t_die", "°C", rng.gauss(61, 2.2), None, 75, stat="max"),
                ]),
            ]  # fmt: skip
            lost = rng.random() < 0.03
            status = _store(
                db, chip, plan, when, [] if lost else steps,
                station=stations[station], operator=OPERATORS[n % 3],
                status="error" if lost else None,
            )  # fmt: skip
            if status == "passed" or attempt == 2:
                break
            when += dt.timedelta(hours=2)
        if n % 4 == 0:
            steps = [("soak", [_item("idd_hot", "idd_core", "A", rng.gauss(1.5, 0.03), 1.3, 1.7)])]
            _store(
                db, chip, burn_in, when + dt.timedelta(hours=3), steps,
                station=stations["bench-2"], operator="ben",
            )  # fmt: skip
    sled_plan = plans.store_plan_version(db, "sled-power-on", "1", "sled", "sled-power-on v1")
    for s in range(8):
        sled = inventory.add_dut(db, "sled", f"SLD-B2-{s:04d}", slot_count=4)
        for slot in range(4):
            chip = inventory.add_dut(db, "chip", f"CHP-S{s}-{slot}", lot="B2")
            inventory.place_chip(db, chip.id, sled.id, slot)
        for r in range(5):
            when = start + dt.timedelta(days=2.5 * r + 0.3 * s)
            items = []
            for slot in range(4):
                # Slot 1's socket drops a little of the rail: its chips read low and fail.
                mean = 0.727 if slot == 1 else 0.750
                items.append(
                    _item(f"vdd_core_mean[{slot}]", f"vdd_core[{slot}]", "V",
                          rng.gauss(mean, 0.008), 0.72, 0.78, slot=slot, chip=f"CHP-S{s}-{slot}")
                )  # fmt: skip
                items.append(
                    _item(f"idd_idle[{slot}]", f"idd_core[{slot}]", "A", rng.gauss(1.2, 0.04),
                          1.0, 1.35, slot=slot, chip=f"CHP-S{s}-{slot}")
                )  # fmt: skip
            verdicts = {
                slot: "failed"
                if any(i.verdict == "failed" for i in items if i.slot == slot)
                else "passed"
                for slot in range(4)
            }
            _store(
                db, sled, sled_plan, when, [("rails", items)],
                station=stations["bench-1"], operator="ana", chip_verdicts=verdicts,
            )  # fmt: skip


def wait_for(signal, timeout_ms: int = 30_000) -> None:
    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    signal.disconnect(loop.quit)


def settle(ms: int = 400) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main() -> int:
    def tabs(parser) -> None:
        parser.add_argument(
            "--tabs", action="store_true", help="the yield, Pareto and heatmap tabs at any size"
        )

    args, width, height, out = parse_shot_args(__doc__, __file__, SIZES, tabs)
    scratch = Path(tempfile.mkdtemp(prefix="labbench-analytics-shots-"))
    app = make_application()
    app.setOrganizationName("labbench-screenshots")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(scratch))
    db = open_database(str(scratch / "lab.sqlite3"))
    fill_history(db)

    window = MainWindow(db)
    window.set_theme(args.theme)
    window.resize(width, height)
    window.show()
    panel = window.analytics
    window.show_analytics()
    wait_for(panel.loaded)
    if panel.plan.currentData() != "power-on":
        panel.select_plan("power-on")
        wait_for(panel.loaded)
    panel.tabs.setCurrentWidget(panel.capability_split)
    if panel.control.chart is None:
        wait_for(panel.chart_loaded)
    # The drifting core rail (bench-3's reference creeping up), not the worst Cpk: its
    # control chart shows the rule marks a drift leaves.
    drifting = [r.name for r in panel.capability_model.rows].index("vdd_core_mean")
    panel.capability_table.selectRow(drifting)
    wait_for(panel.chart_loaded)
    settle()
    window.grab().save(str(out / f"analytics-{width}.png"))
    if width >= 1600 or args.tabs:
        with_station = panel.per_station
        with_station.setChecked(True)
        wait_for(panel.loaded)
        panel.tabs.setCurrentIndex(0)
        settle()
        window.grab().save(str(out / f"analytics-yield-{width}.png"))
        panel.tabs.setCurrentIndex(2)
        settle()
        window.grab().save(str(out / f"analytics-pareto-{width}.png"))
        panel.select_plan("sled-power-on")
        wait_for(panel.loaded)
        panel.tabs.setCurrentWidget(panel.heat_tab)
        settle()
        window.grab().save(str(out / f"analytics-heatmap-{width}.png"))
    window.close()
    panel.shutdown()
    db.dispose()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
