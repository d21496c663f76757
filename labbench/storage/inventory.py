"""Inventory: the DUTs (sleds and chips) with their descriptive fields and audited edits,
which chip sat in which sled slot when, and the stations that drive rigs.

Every function opens its own short session and returns records of :mod:`labbench.records`;
writes take the write lock when they begin (:func:`~labbench.storage.session.write_session`).
A placement is never edited away: a chip moved to another slot ends its old placement.
"""

from __future__ import annotations

import datetime as dt
import socket

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from labbench.records import DUT_KINDS, DutInfo, PlacementInfo, StationInfo
from labbench.storage import models as m
from labbench.storage.engine import Database
from labbench.storage.session import RecordError, to_record, utcnow, write_session

# --- DUTs ---------------------------------------------------------------------------------


DUT_FIELDS = (
    "part",
    "generation",
    "silicon_rev",
    "lot",
    "wafer",
    "wafer_x",
    "wafer_y",
    "slot_count",
    "notes",
)


def add_dut(db: Database, kind: str, serial: str, **fields) -> DutInfo:
    if kind not in DUT_KINDS:
        raise RecordError(f"DUT kind {kind!r} is not one of {', '.join(DUT_KINDS)}.")
    serial = serial.strip()
    if not serial:
        raise RecordError("A DUT needs a serial number.")
    unknown = set(fields) - set(DUT_FIELDS)
    if unknown:
        raise RecordError(f"Unknown DUT field(s): {', '.join(sorted(unknown))}.")
    with write_session(db) as session:
        dut = m.Dut(kind=kind, serial=serial, created_at=utcnow(), **_dut_defaults(fields))
        session.add(dut)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise RecordError(f"A DUT with serial {serial!r} is already registered.") from None
        return to_record(DutInfo, dut)


def _dut_defaults(fields: dict) -> dict:
    out = dict.fromkeys(("part", "generation", "silicon_rev", "lot", "wafer", "notes"), "")
    out.update(fields)
    return out


def find_dut(db: Database, serial: str) -> DutInfo | None:
    with Session(db.engine) as session:
        dut = session.scalar(select(m.Dut).where(m.Dut.serial == serial.strip()))
        return to_record(DutInfo, dut) if dut else None


def get_dut(db: Database, dut_id: int) -> DutInfo:
    with Session(db.engine) as session:
        dut = session.get(m.Dut, dut_id)
        if dut is None:
            raise RecordError(f"There is no DUT with id {dut_id}.")
        return to_record(DutInfo, dut)


def list_duts(db: Database, kind: str | None = None) -> list[DutInfo]:
    with Session(db.engine) as session:
        query = select(m.Dut).order_by(m.Dut.serial)
        if kind:
            query = query.where(m.Dut.kind == kind)
        return [to_record(DutInfo, d) for d in session.scalars(query)]


def update_dut(db: Database, dut_id: int, *, user: str, reason: str = "", **changes) -> DutInfo:
    """Edit a DUT's descriptive fields; every changed field is recorded in the audit trail."""
    unknown = set(changes) - set(DUT_FIELDS)
    if unknown:
        raise RecordError(f"Unknown DUT field(s): {', '.join(sorted(unknown))}.")
    if not user.strip():
        raise RecordError("An edit needs the name of who made it.")
    for name in ("wafer_x", "wafer_y", "slot_count"):
        value = changes.get(name)
        if value is not None and not isinstance(value, int):
            raise RecordError(f"{name} must be a whole number, not {value!r}.")
    if changes.get("slot_count") is not None and changes["slot_count"] < 1:
        raise RecordError("A sled needs at least one slot.")
    with write_session(db) as session, session.begin():
        dut = session.get(m.Dut, dut_id)
        if dut is None:
            raise RecordError(f"There is no DUT with id {dut_id}.")
        if changes.get("slot_count") is not None and dut.kind == "sled":
            highest = session.scalar(
                select(func.max(m.Placement.slot)).where(
                    m.Placement.sled_id == dut_id, m.Placement.removed_at.is_(None)
                )
            )
            if highest is not None and highest >= changes["slot_count"]:
                raise RecordError(
                    f"Sled {dut.serial} has a chip in slot {highest}; "
                    f"it needs more than {changes['slot_count']} slots."
                )
        now = utcnow()
        for name, value in changes.items():
            old = getattr(dut, name)
            if old == value:
                continue
            setattr(dut, name, value)
            session.add(
                m.AuditEntry(
                    at=now,
                    user=user,
                    entity="dut",
                    entity_id=dut_id,
                    action="edit",
                    field=name,
                    old_value="" if old is None else str(old),
                    new_value="" if value is None else str(value),
                    reason=reason,
                )
            )
        session.flush()
        return to_record(DutInfo, dut)


# --- placements ---------------------------------------------------------------------------


def place_chip(
    db: Database, chip_id: int, sled_id: int, slot: int, *, at: dt.datetime | None = None
) -> PlacementInfo:
    """Put a chip in a sled slot, ending its previous placement (history is kept)."""
    at = at or utcnow()
    if chip_id is None or sled_id is None:
        raise RecordError("Choose both a chip and a sled.")
    with write_session(db) as session, session.begin():
        chip, sled = session.get(m.Dut, chip_id), session.get(m.Dut, sled_id)
        if chip is None or chip.kind != "chip":
            raise RecordError(f"DUT {chip_id} is not a registered chip.")
        if sled is None or sled.kind != "sled":
            raise RecordError(f"DUT {sled_id} is not a registered sled.")
        if slot < 0 or (sled.slot_count is not None and slot >= sled.slot_count):
            raise RecordError(f"Sled {sled.serial} has no slot {slot}.")
        occupied = session.scalar(
            select(m.Placement).where(
                m.Placement.sled_id == sled_id,
                m.Placement.slot == slot,
                m.Placement.removed_at.is_(None),
            )
        )
        if occupied is not None and occupied.chip_id != chip_id:
            raise RecordError(f"Slot {slot} of sled {sled.serial} already holds another chip.")
        for current in session.scalars(
            select(m.Placement).where(
                m.Placement.chip_id == chip_id, m.Placement.removed_at.is_(None)
            )
        ):
            current.removed_at = at
        placement = m.Placement(chip_id=chip_id, sled_id=sled_id, slot=slot, placed_at=at)
        session.add(placement)
        session.flush()
        return to_record(PlacementInfo, placement)


def chip_history(db: Database, chip_id: int) -> list[PlacementInfo]:
    with Session(db.engine) as session:
        rows = session.scalars(
            select(m.Placement)
            .where(m.Placement.chip_id == chip_id)
            .order_by(m.Placement.placed_at, m.Placement.id)
        )
        return [to_record(PlacementInfo, p) for p in rows]


def sled_slots(db: Database, sled_id: int) -> dict[int, DutInfo]:
    """The chips in a sled now, by slot."""
    with Session(db.engine) as session:
        rows = session.execute(
            select(m.Placement.slot, m.Dut)
            .join(m.Dut, m.Dut.id == m.Placement.chip_id)
            .where(m.Placement.sled_id == sled_id, m.Placement.removed_at.is_(None))
        )
        return {slot: to_record(DutInfo, dut) for slot, dut in rows}


def unplaced_chips(db: Database) -> list[DutInfo]:
    """Chips not sitting in any sled now."""
    with Session(db.engine) as session:
        placed = select(m.Placement.chip_id).where(m.Placement.removed_at.is_(None))
        rows = session.scalars(
            select(m.Dut)
            .where(m.Dut.kind == "chip", m.Dut.id.not_in(placed))
            .order_by(m.Dut.serial)
        )
        return [to_record(DutInfo, d) for d in rows]


# --- stations -----------------------------------------------------------------------------


def ensure_station(db: Database, name: str, hostname: str | None = None) -> StationInfo:
    hostname = socket.gethostname() if hostname is None else hostname
    with write_session(db) as session:
        station = session.scalar(select(m.Station).where(m.Station.name == name))
        if station is None:
            station = m.Station(name=name, hostname=hostname, created_at=utcnow())
            session.add(station)
            try:
                session.commit()
            except IntegrityError:  # another workstation registered it at the same moment
                session.rollback()
                station = session.scalar(select(m.Station).where(m.Station.name == name))
        return to_record(StationInfo, station)


def station_name(db: Database, station_id: int | None) -> str:
    """The station's name; '' for a run recorded without one."""
    if station_id is None:
        return ""
    with db.engine.connect() as conn:
        return conn.execute(select(m.Station.name).where(m.Station.id == station_id)).scalar() or ""
