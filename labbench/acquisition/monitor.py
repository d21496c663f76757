"""Watching a rig from the bench without a plan: everything it sends is recorded into a run
(status ``recorded`` when disconnected), so nothing seen on the bench is ever lost."""

from __future__ import annotations

import os
import threading

from labbench.acquisition.pipeline import Acquisition, AcquisitionStats
from labbench.acquisition.rigs import make_rig
from labbench.protocols.profile import Profile
from labbench.records import DutInfo
from labbench.storage import Database
from labbench.storage import inventory as inventory_store
from labbench.storage import runs as run_store


class RigMonitor:
    def __init__(
        self,
        db: Database,
        device: str,
        dut: DutInfo,
        profile: Profile,
        *,
        operator: str = "",
        station: str | None = None,
    ):
        self.db, self.device, self.dut, self.profile = db, device, dut, profile
        self.operator, self.station = operator, station
        self.run_id: int | None = None
        self.acquisition: Acquisition | None = None
        # Set to stop waiting for a database that is unavailable when the rig is disconnected.
        self.give_up = threading.Event()

    def connect(self) -> int:
        """Open the rig (DeviceError before any run exists) and start recording; the run id."""
        rig = make_rig(self.device, self.profile)
        transport = rig.open()
        station_id = (
            inventory_store.ensure_station(self.db, self.station).id if self.station else None
        )
        run = run_store.start_run(
            self.db,
            self.dut.id,
            station_id=station_id,
            operator=self.operator,
            device=self.device,
            profile=self.profile.name,
            pid=os.getpid(),
        )
        self.run_id = run.id
        self.acquisition = Acquisition(self.db, run.id, run.t0_ns, rig, self.profile)
        self.acquisition.start(transport)
        return run.id

    @property
    def connected(self) -> bool:
        return self.acquisition is not None and self.acquisition.running

    def disconnect(self) -> AcquisitionStats:
        assert self.acquisition is not None and self.run_id is not None
        stats = self.acquisition.stop(give_up=self.give_up)
        status = "error" if stats.errors or self.acquisition.link_gone.is_set() else "recorded"
        run_store.finish_run_when_possible(
            self.db,
            self.run_id,
            status,
            error_message="; ".join(stats.errors),
            give_up=self.give_up,
        )
        self.acquisition = None
        return stats
