"""Rebuilding a run's telemetry from its raw bytes (recording itself is a run session:
``labbench.runs.recording``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from labbench.acquisition.pipeline import AcquisitionStats
from labbench.acquisition.storable import StorableRows
from labbench.protocols.parser import TelemetryParser
from labbench.protocols.profile import Profile
from labbench.storage import Database, RecordError
from labbench.storage import events as event_store
from labbench.storage import runs as run_store
from labbench.storage.telemetry import PARSED_EVENT_KINDS, TelemetryWriter
from labbench.storage.telemetry_read import read_raw

log = logging.getLogger(__name__)


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
    # The same escaping and channel refusals as the live run (labbench/acquisition/storable.py).
    storable = StorableRows(AcquisitionStats())
    malformed = console = 0
    last_ns = run.t0_ns

    def drain() -> None:
        nonlocal malformed, console
        batch = parser.take()
        batch.units = {**parser.channel_units, **batch.units}
        for row in storable.rows(batch):
            if row[0] == "samples":
                _, name, unit, t_ns, v = row
                writer.append(name, (t_ns - run.t0_ns) / 1e9, v, unit=unit)
            else:
                _, received_ns, kind, text = row
                writer.append_event(received_ns, kind, text)
        for line in batch.console:
            malformed += line.kind == "malformed"
            console += line.kind != "malformed"
        writer.flush()

    # The commands written to the rig, as live: a result is never timed before the command
    # it answers.
    commands = [
        e.at_ns
        for e in event_store.run_events(db, run_id, except_kinds=PARSED_EVENT_KINDS)
        if e.kind == "command"
    ]
    try:
        writer.delete_telemetry()
        pending = 0
        previous_ns = None
        next_command = 0
        for received_ns, data in read_raw(db, run_id):
            while next_command < len(commands) and commands[next_command] < received_ns:
                parser.replies_after_ns = commands[next_command]
                next_command += 1
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
