"""Runs without a plan: ``labbench record`` (a fixed duration) and bench recordings (a rig
watched from the Bench until it is disconnected).  Both are a :class:`RunSession`: the port
is released when the run cannot be created, and the run ends ``recorded`` (or aborted /
error) whatever happens, so nothing seen on the bench is ever lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from labbench.acquisition.pipeline import AcquisitionStats
from labbench.protocols.profile import Profile
from labbench.records import DutInfo
from labbench.runs.events import RunEvent
from labbench.runs.session import LINK_GONE, Conclusion, RunSession
from labbench.storage import Database
from labbench.storage import runs as run_store


@dataclass
class RecordSummary:
    run_id: int
    status: str
    samples: int
    lines: int
    malformed: int
    console: int
    disconnects: int
    reconnects: int
    duration_s: float
    error: str = ""
    storage_stalls: int = 0


def record(
    db: Database,
    *,
    device: str,
    dut: DutInfo,
    duration_s: float,
    profile: Profile,
    operator: str = "",
    station: str | None = None,
    stop: threading.Event | None = None,
    give_up: threading.Event | None = None,
    listener: Callable[[RunEvent], None] | None = None,
) -> RecordSummary:
    """Record telemetry from ``device`` into a new run (status ``recorded``) for duration_s.

    ``stop`` ends it early (Ctrl-C): the run is ``aborted``, everything recorded is kept.  A
    rig that stays away longer than the profile's reconnect window ends it as ``error``, and
    so does a storage journal that cannot be written (disk full).  While the database stalls
    the recording goes on (``listener`` hears the run's events, storage stalls among them);
    at the end it waits for the database unless ``give_up`` is set.
    """
    session = RunSession(
        db,
        device=device,
        dut=dut,
        profile=profile,
        operator=operator,
        station=station,
        stop=stop,
        give_up=give_up,
    )
    if listener is not None:
        session.subscribe(listener)
    began = time.monotonic()

    def body(session: RunSession) -> tuple[str | None, str]:
        if session.wait(duration_s) is None:
            return "recorded", ""
        return session.ended_early()

    def conclude(stats: AcquisitionStats, status: str | None, error: str) -> Conclusion:
        final = run_store.get_run(db, session.run_id)
        summary = RecordSummary(
            run_id=session.run_id,
            status=status or "error",
            samples=final.sample_count,
            lines=stats.lines,
            malformed=final.malformed_count,
            console=final.console_count,
            disconnects=stats.disconnects,
            reconnects=stats.reconnects,
            duration_s=time.monotonic() - began,
            error=error,
            storage_stalls=stats.storage_stalls,
        )
        return Conclusion(summary.status, error, summary=summary)

    return session.execute(body, conclude)


class RigMonitor:
    """A bench recording: ``connect()`` opens the rig and starts the run, ``disconnect()``
    ends it (``recorded``, or ``error`` when the rig was lost or storage failed)."""

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
        self.session = RunSession(
            db, device=device, dut=dut, profile=profile, operator=operator, station=station
        )

    @property
    def run_id(self) -> int | None:
        return self.session.run_id

    @property
    def give_up(self) -> threading.Event:
        """Set to stop waiting for a database that is unavailable when the rig is disconnected."""
        return self.session.give_up

    def connect(self) -> int:
        """Open the rig and start recording; the run id.  DeviceError / a refusing database
        before any run exists, with the port released."""
        return self.session.open()

    @property
    def connected(self) -> bool:
        return self.session.reading

    @property
    def stats(self) -> AcquisitionStats:
        """The recording's live counters (link, rate, backlog, storage state)."""
        return self.session.stats

    def send(self, line: str) -> None:
        """A command line for the rig, recorded with the run."""
        self.session.send(line)

    def disconnect(self) -> AcquisitionStats:
        session = self.session
        stats = None
        try:
            stats = session.stop_acquisition()
        finally:
            if stats is None:
                session.finish(Conclusion("error", "the recording could not be stopped cleanly"))
            else:
                errors = list(stats.errors) + ([LINK_GONE] if session.link_gone else [])
                session.finish(Conclusion("error" if errors else "recorded", "; ".join(errors)))
        return stats
