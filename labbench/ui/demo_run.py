"""The demo's sled run: ``resources/plans/sled-chips.toml`` on the first demo sled (4 chips),
on a simulated 4-chip rig whose vdd_core droops on slot 2 alone, so chip 2 fails and its
siblings pass.

It goes through the real run path (``labbench.runs.sequencer.run_plan`` and its
``RunSession``, the simulated rig's transport, the storage link), so the demo's History holds
a sled run recorded as any other.  ``labbench --demo`` starts it in the main window shortly
after the window first painted (launch stays fast) and shows it live; :func:`record_demo_run`
records it without a window (tests, scripts).  No Qt here: the window does the showing.

Before it, the demo records a finished power-sequencing run (``power-sequencing.toml`` on the
demo chip that sits in no sled, on a simulated chip at 2 kHz timed by its own clock: every rail
rises in 5 ms, in order), in the background, so History has one to open at once.
"""

from __future__ import annotations

from labbench import paths
from labbench.demo import DEMO_SLEDS
from labbench.protocols.profile import load_profile, parse_profile
from labbench.runs.plan import load_plan
from labbench.runs.sequencer import RunOutcome, RunRequest, run_plan
from labbench.storage import Database
from labbench.storage import inventory as inventory_store

DEMO_PLAN = "sled-chips.toml"
# The rail-droop fault aimed at slot 2 of a 4-chip sled: vdd_core[2] droops to 0.68 V for
# 0.3 s, 3 s after power-on (inside the plan's load-50 step).
DEMO_SLED_DEVICE = "mock://rail-droop?slots=4&slot=2&rate=200&seed=7"
DEMO_FAILING_SLOT = 2
# After the window's first paint: the run starts once the window is up, never before.
DEMO_RUN_DELAY_MS = 400
# The finished power-sequencing run: the demo chip in no sled, rails timed by the rig's clock.
DEMO_SEQUENCING_PLAN = "power-sequencing.toml"
DEMO_SEQUENCING_CHIP = "CHP-B0-W01-0220"
DEMO_SEQUENCING_DEVICE = "mock://nominal?rate=2000&device_time=ms"
_DEVICE_CLOCK = '[line]\ndevice_time = "t_ms"\ndevice_time_unit = "ms"\n'


def demo_request(db: Database) -> RunRequest:
    """The demo sled run's request: the sled-chips plan on the first demo sled."""
    sled = inventory_store.find_dut(db, DEMO_SLEDS[0][0])
    plan = load_plan(paths.resources_dir() / "plans" / DEMO_PLAN)
    return RunRequest(plan, sled, DEMO_SLED_DEVICE, load_profile("default"), operator="demo")


def record_demo_run(db: Database) -> RunOutcome:
    """Record the demo sled run in ``db`` (a few seconds, in this thread)."""
    return run_plan(db, demo_request(db))


def sequencing_request(db: Database) -> RunRequest:
    """The demo's power-sequencing run: the shipped plan on the demo chip in no sled."""
    chip = inventory_store.find_dut(db, DEMO_SEQUENCING_CHIP)
    plan = load_plan(paths.resources_dir() / "plans" / DEMO_SEQUENCING_PLAN)
    profile = parse_profile(_DEVICE_CLOCK, "demo-rig-clock")
    return RunRequest(plan, chip, DEMO_SEQUENCING_DEVICE, profile, operator="demo")


def record_sequencing_run(db: Database) -> RunOutcome:
    """Record the demo power-sequencing run in ``db`` (about 2 s, in this thread)."""
    return run_plan(db, sequencing_request(db))


def start_demo_run(window) -> None:
    """Record the power-sequencing run in the background (on History's worker, which then
    shows it), then start the demo sled run in ``window`` (a MainWindow): shown live, then in
    History with the other."""

    def sled_run(_outcome) -> None:
        window.history.apply_filters()  # the sequencing run is in History from now on
        if window.isVisible() and not window.controller.running:
            window.start_request(demo_request(window.db))

    if window.isVisible() and not window.controller.running:
        window.history.loader.submit(lambda: record_sequencing_run(window.db), sled_run)
