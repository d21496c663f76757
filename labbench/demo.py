"""Example inventory for ``labbench --demo``: a scratch database a newcomer can explore."""

from __future__ import annotations

import tempfile
from pathlib import Path

from labbench.storage import Database, open_database
from labbench.storage import inventory as inventory_store

DEMO_SLEDS = (
    # serial, part, generation, slots
    ("SLD-A1-0007", "TRAY-4X", "A1", 4),
    ("SLD-A1-0012", "TRAY-4X", "A1", 4),
)
DEMO_CHIPS = (
    # serial, silicon revision, lot, wafer, wafer x, wafer y
    ("CHP-A1-W03-0412", "A1", "LOT2611", "W03", 12, 4),
    ("CHP-A1-W03-0413", "A1", "LOT2611", "W03", 13, 4),
    ("CHP-A1-W03-0527", "A1", "LOT2611", "W03", 5, 27),
    ("CHP-A1-W07-0101", "A1", "LOT2611", "W07", 1, 1),
    ("CHP-B0-W01-0220", "B0", "LOT2702", "W01", 2, 20),
)


def seed_demo_inventory(db: Database) -> None:
    """Register the demo sleds and chips and seat the first four chips in the first sled."""
    sleds = [
        inventory_store.add_dut(
            db, "sled", serial, part=part, generation=gen, slot_count=slots, notes="demo sled"
        )
        for serial, part, gen, slots in DEMO_SLEDS
    ]
    chips = [
        inventory_store.add_dut(
            db,
            "chip",
            serial,
            part="ACC-1",
            generation=rev[0],
            silicon_rev=rev,
            lot=lot,
            wafer=wafer,
            wafer_x=x,
            wafer_y=y,
            notes="demo chip",
        )
        for serial, rev, lot, wafer, x, y in DEMO_CHIPS
    ]
    for slot, chip in enumerate(chips[:4]):
        inventory_store.place_chip(db, chip.id, sleds[0].id, slot)
    inventory_store.ensure_station(db, "demo-bench")


def open_demo_database(directory: Path | None = None) -> Database:
    """A fresh SQLite database in a scratch folder, seeded with the demo inventory."""
    folder = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="labbench-demo-"))
    db = open_database(folder / "demo.sqlite3")
    seed_demo_inventory(db)
    return db
