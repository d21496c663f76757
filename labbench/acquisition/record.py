"""Headless recording without a plan, and rebuilding a run's telemetry from its raw bytes."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from labbench.acquisition.pipeline import Acquisition, AcquisitionStats
from labbench.acquisition.rigs import make_rig
from labbench.protocols.parser import TelemetryParser
from labbench.protocols.profile import Profile
from labbench.records import DutInfo
from labbench.storage import Database, RecordError
from labbench.storage import inventory as inventory_store
from labbench.storage import runs as run_store
from labbench.storage.telemetry import TelemetryWriter, read_raw

log = logging.getLogger(__name__)


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
    on_storage: Callable[[str, str], None] | None = None,
) -> RecordSummary:
    """Record telemetry from ``device`` into a new run (status ``recorded``) for duration_s.

    ``stop`` ends it early (Ctrl-C): the run is ``aborted``, everything recorded is kept.  A
    rig that stays away longer than the profile's reconnect window ends it as ``error``, and
    so does a storage journal that cannot be written (disk full).  While the database stalls
    the recording goes on (``on_storage`` hears "storage_stall" / "storage_back" /
    "storage_wait"); at the end it waits for the database unless ``give_up`` is set.
    """
    rig = make_rig(device, profile)
    transport = rig.open()  # DeviceError before any run exists
    try:
        station_id = inventory_store.ensure_station(db, station).id if station else None
        run = run_store.start_run(
            db,
            dut.id,
            station_id=station_id,
            operator=operator,
            device=device,
            profile=profile.name,
            pid=os.getpid(),
        )
    except BaseException:
        transport.close()  # the port is not left held when the database refuses
        raise
    acquisition = Acquisition(db, run.id, run.t0_ns, rig, profile)
    if on_storage is not None:
        acquisition.add_storage_listener(on_storage)
    stop = stop or threading.Event()
    give_up = give_up or threading.Event()
    began = time.monotonic()
    status, error = "recorded", ""
    acquisition.start(transport)
    try:
        deadline = began + duration_s
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if acquisition.link_gone.wait(min(left, 0.1)):
                status, error = (
                    "error",
                    "the rig was lost and did not come back within the reconnect window",
                )
                break
        else:
            status = "aborted"
    except KeyboardInterrupt:
        status = "aborted"
    finally:
        stats: AcquisitionStats = acquisition.stop(
            give_up=give_up, on_wait=storage_wait_teller(on_storage)
        )
        if stats.errors and status != "aborted":
            status, error = "error", "; ".join(stats.errors)
        run_store.finish_run_when_possible(db, run.id, status, error_message=error, give_up=give_up)
    final = run_store.get_run(db, run.id)
    return RecordSummary(
        run_id=run.id,
        status=status,
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


def storage_wait_teller(
    on_storage: Callable[[str, str], None] | None,
) -> Callable[[int, str], None] | None:
    """``on_wait`` for Acquisition.stop that tells ``on_storage`` ("storage_wait", sentence)."""
    if on_storage is None:
        return None
    return lambda samples, path: on_storage(
        "storage_wait",
        f"waiting for the database to take {samples} buffered samples (kept in {path} meanwhile)",
    )


@dataclass
class ReparseSummary:
    run_id: int
    samples: int
    channels: int
    malformed: int
    console: int


def reparse(
    db: Database, run_id: int, profile: Profile, *, user: str, reason: str = ""
) -> ReparseSummary:
    """Rebuild a run's telemetry and console log from its raw bytes with ``profile``.

    One transaction holds the deletion, the rebuild, the audit entry and the run's new
    profile: readers see the old run or the new one, and a failure or a kill leaves the old
    one whole.  Verdicts and results are untouched (they are append-only).
    """
    run = run_store.get_run(db, run_id)
    if run.status == "running":
        raise RecordError(f"Run {run_id} is still running; re-parse it after it ends.")
    if not user.strip():
        raise RecordError("A re-parse needs the name of who does it (audit trail).")
    parser = TelemetryParser(profile)
    writer = TelemetryWriter(db, run_id)
    malformed = console = 0
    last_ns = run.t0_ns

    def drain() -> None:
        nonlocal malformed, console
        batch = parser.take()
        units = parser.channel_units
        for name, (t_ns, v) in batch.samples.items():
            writer.append(name, (t_ns - run.t0_ns) / 1e9, v, unit=units.get(name, ""))
        for line in batch.console:
            writer.append_event(line.received_ns, line.kind, line.text)
            malformed += line.kind == "malformed"
            console += line.kind != "malformed"
        writer.flush()

    try:
        writer.delete_telemetry()
        pending = 0
        previous_ns = None
        for received_ns, data in read_raw(db, run_id):
            # An empty row is the time of a read that brought nothing: the next read's lines
            # are spread from there, as they were live.
            if data:
                parser.feed(data, received_ns, received_ns if previous_ns is None else previous_ns)
            previous_ns = last_ns = received_ns
            pending += len(data)
            if pending >= 1 << 20:
                drain()
                pending = 0
        parser.end_of_stream(last_ns)
        drain()
        writer.record_reparse(
            user=user, old_profile=run.profile, new_profile=profile.name, reason=reason
        )
        writer.commit(malformed_count=malformed, console_count=console)
    except BaseException:
        writer.abandon()  # rolls everything back: the old telemetry stays
        raise
    writer.close()
    final = run_store.get_run(db, run_id)
    return ReparseSummary(
        run_id, final.sample_count, len(run_store.run_channels(db, run_id)), malformed, console
    )
