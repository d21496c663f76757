"""Every table round-trips through the storage rooms and the ORM on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from labbench.storage import RecordError
from labbench.storage import events as event_store
from labbench.storage import inventory as inventory_store
from labbench.storage import models as m
from labbench.storage import plans as plan_store
from labbench.storage import runs as run_store
from labbench.storage.telemetry import TelemetryWriter
from labbench.storage.telemetry_read import chunk_summary, read_channel, read_raw

BERLIN_SUMMER = dt.timezone(dt.timedelta(hours=2))


def test_dut_placement_station_plan_round_trip(db):
    sled = inventory_store.add_dut(
        db, "sled", "SLD-1", part="TRAY-4X", generation="A1", slot_count=4
    )
    chip = inventory_store.add_dut(
        db,
        "chip",
        "CHP-1",
        part="ACC-1",
        generation="A",
        silicon_rev="A1",
        lot="L1",
        wafer="W3",
        wafer_x=12,
        wafer_y=-4,
        notes="first silicon",
    )
    assert inventory_store.find_dut(db, " CHP-1 ") == chip
    assert chip.silicon_rev == "A1" and chip.wafer_y == -4 and chip.notes == "first silicon"
    assert chip.created_at.tzinfo is not None and chip.created_at.utcoffset() == dt.timedelta(0)
    assert [d.serial for d in inventory_store.list_duts(db, kind="sled")] == ["SLD-1"]
    with pytest.raises(RecordError, match="already registered"):
        inventory_store.add_dut(db, "chip", "CHP-1")

    other = inventory_store.add_dut(db, "sled", "SLD-2", slot_count=2)
    t1 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=BERLIN_SUMMER)
    t2 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
    inventory_store.place_chip(db, chip.id, sled.id, 3, at=t1)
    inventory_store.place_chip(db, chip.id, other.id, 1, at=t2)
    history = inventory_store.chip_history(db, chip.id)
    assert [(p.sled_id, p.slot) for p in history] == [(sled.id, 3), (other.id, 1)]
    assert (
        history[0].placed_at == t1 and history[0].removed_at == t2 and history[1].removed_at is None
    )
    assert inventory_store.sled_slots(db, other.id) == {1: chip}
    assert inventory_store.sled_slots(db, sled.id) == {}
    with pytest.raises(RecordError, match="no slot 2"):
        inventory_store.place_chip(db, chip.id, other.id, 2)

    station = inventory_store.ensure_station(db, "bench-3", hostname="lab-pc-3")
    assert inventory_store.ensure_station(db, "bench-3") == station

    text = '[plan]\nname = "p"\nversion = "1"\n'
    plan = plan_store.store_plan_version(db, "p", "1", "chip", text)
    assert plan_store.store_plan_version(db, "p", "1", "chip", text) == plan
    assert plan.sha256 == plan_store.plan_hash(text)
    with pytest.raises(RecordError, match="bump the plan's version"):
        plan_store.store_plan_version(db, "p", "1", "chip", text + "# edited\n")


def test_run_results_telemetry_events_audit_round_trip(db):
    chip = inventory_store.add_dut(db, "chip", "CHP-9")
    plan = plan_store.store_plan_version(db, "p", "1", "chip", "x")
    station = inventory_store.ensure_station(db, "bench-1")
    started = dt.datetime(2026, 11, 25, 10, 0, 0, 123456, tzinfo=dt.UTC)
    run = run_store.start_run(
        db,
        chip.id,
        plan_id=plan.id,
        station_id=station.id,
        operator="ana",
        device="mock://nominal",
        profile="default",
        pid=4242,
        started_at=started,
    )
    assert run.status == "running" and run.started_at == started
    assert run.t0_ns == 1795600800_123456000

    writer = TelemetryWriter(db, run.id, max_chunk_samples=4)
    t = np.linspace(0.0, 0.9, 10)
    v = np.array([0.75, 0.751, np.nan, np.inf, -np.inf, 0.749, 1e-300, 5e300, 0.0, -0.0])
    writer.append("vdd_core", t, v, unit="V")
    writer.append_raw(run.t0_ns + 5, b"vdd_core=0.75\r\n\xff\x00")
    writer.commit(malformed_count=3)
    writer.append("vdd_core", t + 1.0, v)
    writer.close()
    got_t, got_v = read_channel(db, run.id, "vdd_core")
    np.testing.assert_array_equal(got_t, np.concatenate([t, t + 1.0]))
    np.testing.assert_array_equal(got_v, np.concatenate([v, v]))  # NaN == NaN here, and -0.0 kept
    assert np.signbit(got_v[9])
    summary = chunk_summary(db, run.id, "vdd_core")
    assert summary.count.tolist() == [4, 4, 2, 4, 4, 2]
    assert (summary.v_min[0], summary.v_max[0]) == (0.75, np.inf)  # NaN ignored
    assert (summary.v_min[1], summary.v_max[1]) == (-np.inf, 5e300)
    assert list(read_raw(db, run.id)) == [(run.t0_ns + 5, b"vdd_core=0.75\r\n\xff\x00")]
    assert [c.name for c in run_store.run_channels(db, run.id)] == ["vdd_core"]
    assert run_store.run_channels(db, run.id)[0].unit == "V"

    event_store.add_run_event(db, run.id, "connect", "mock://nominal", at_ns=run.t0_ns)
    event_store.add_run_event(db, run.id, "command", "PWR ON", at_ns=run.t0_ns + 1)
    assert [e.kind for e in event_store.run_events(db, run.id)] == ["connect", "command"]

    with Session(db.engine) as session, session.begin():
        step = m.StepResult(
            run_id=run.id,
            position=0,
            name="power-on",
            started_ns=run.t0_ns,
            ended_ns=run.t0_ns + 5,
            verdict="failed",
        )
        session.add(step)
        session.flush()
        crit = m.CriterionResult(
            run_id=run.id,
            step_result_id=step.id,
            kind="limit",
            name="vdd_core",
            channel="vdd_core",
            unit="V",
            value=0.69,
            low=0.72,
            high=0.78,
            marginal_low=0.73,
            marginal_high=0.77,
            settle_s=1.0,
            hold_s=0.05,
            sample_count=10,
            verdict="failed",
            violation_count=1,
            first_violation_s=2.5,
        )
        session.add(crit)
        session.flush()
        session.add(
            m.Violation(
                run_id=run.id,
                criterion_result_id=crit.id,
                step_position=0,
                channel="vdd_core",
                start_s=2.5,
                end_s=2.7,
                extreme=0.69,
                bound="low",
            )
        )
    with Session(db.engine) as session:
        crit = session.scalar(select(m.CriterionResult))
        assert (crit.low, crit.high, crit.marginal_low, crit.marginal_high) == (
            0.72,
            0.78,
            0.73,
            0.77,
        )
        violation = session.scalar(select(m.Violation))
        assert (violation.start_s, violation.end_s, violation.extreme, violation.bound) == (
            2.5,
            2.7,
            0.69,
            "low",
        )

    finished = run_store.finish_run(db, run.id, "failed", violation_count=1, failed_items=1)
    assert finished.status == "failed" and finished.ended_at is not None
    assert finished.sample_count == 20 and finished.malformed_count == 3
    with pytest.raises(RecordError, match="already ended as failed"):
        run_store.finish_run(db, run.id, "passed")

    note = event_store.add_audit_entry(
        db,
        user="ana",
        entity="run",
        entity_id=run.id,
        action="note",
        reason="probe slipped at 2.5 s",
    )
    assert event_store.audit_trail(db, "run", run.id) == [note]
    assert note.at.tzinfo is not None


def test_naive_datetimes_are_refused(db):
    chip = inventory_store.add_dut(db, "chip", "CHP-N")
    sled = inventory_store.add_dut(db, "sled", "SLD-N")
    with pytest.raises(Exception, match="naive datetime"):
        inventory_store.place_chip(db, chip.id, sled.id, 0, at=dt.datetime(2026, 1, 1))
    assert inventory_store.chip_history(db, chip.id) == []


def test_check_constraints_hold(db):
    with pytest.raises(RecordError, match="kind"):
        inventory_store.add_dut(db, "wafer", "W-1")
    chip = inventory_store.add_dut(db, "chip", "CHP-C")
    run = run_store.start_run(db, chip.id)
    with pytest.raises(RecordError, match="not a final run status"):
        run_store.finish_run(db, run.id, "running")
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), Session(db.engine) as session, session.begin():
        session.execute(m.Run.__table__.update().values(status="bogus"))
