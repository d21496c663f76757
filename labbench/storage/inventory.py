"""Inventory: the DUTs (sleds and chips) with their descriptive fields and audited edits,
which chip sat in which sled slot when, and the stations that drive rigs.

Every function opens its own short session and returns records of :mod:`labbench.records`;
writes take the write lock when they begin (:func:`~labbench.storage.session.write_session`).
A placement is never edited away: a chip moved to another slot ends its old placement.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Mapping, Sequence

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
WHOLE_NUMBER_FIELDS = ("wafer_x", "wafer_y", "slot_count")


def add_dut(
    db: Database, kind: str, serial: str, *, user: str = "", reason: str = "", **fields
) -> DutInfo:
    """Register a sled or chip; with ``user`` the registration goes into the audit trail."""
    serial = _checked_dut(kind, serial, fields)
    with write_session(db) as session:
        dut = m.Dut(kind=kind, serial=serial, created_at=utcnow(), **_dut_defaults(fields))
        session.add(dut)
        try:
            session.flush()
            if user.strip():
                _audit(session, user, dut.id, "add", new_value=f"{kind} {serial}", reason=reason)
            session.commit()
        except IntegrityError:
            session.rollback()
            raise RecordError(f"A DUT with serial {serial!r} is already registered.") from None
        return to_record(DutInfo, dut)


def _checked_dut(kind: str, serial: str, fields: dict) -> str:
    """The stripped serial of a DUT that may be registered; RecordError names what is wrong."""
    if kind not in DUT_KINDS:
        raise RecordError(f"DUT kind {kind!r} is not one of {', '.join(DUT_KINDS)}.")
    serial = serial.strip()
    if not serial:
        raise RecordError("A DUT needs a serial number.")
    unknown = set(fields) - set(DUT_FIELDS)
    if unknown:
        raise RecordError(f"Unknown DUT field(s): {', '.join(sorted(unknown))}.")
    for name in WHOLE_NUMBER_FIELDS:
        value = fields.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise RecordError(f"{name} must be a whole number, not {value!r}.")
    if fields.get("slot_count") is not None:
        if kind != "sled":
            raise RecordError(f"{serial} is a chip: only a sled has slots.")
        if fields["slot_count"] < 1:
            raise RecordError(f"Sled {serial} needs at least one slot.")
    return serial


def whole_number(name: str, text: str) -> int | None:
    """A whole-number field typed as text ('' is unknown); RecordError for anything else."""
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise RecordError(f"{name} must be a whole number, not {text!r}.") from None


def _audit(
    session: Session,
    user: str,
    dut_id: int,
    action: str,
    *,
    field: str = "",
    old_value: str = "",
    new_value: str = "",
    reason: str = "",
) -> None:
    session.add(
        m.AuditEntry(
            at=utcnow(),
            user=user,
            entity="dut",
            entity_id=dut_id,
            action=action,
            field=field,
            old_value=old_value,
            new_value=new_value,
            reason=reason,
        )
    )


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
    for name in WHOLE_NUMBER_FIELDS:
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
    db: Database,
    chip_id: int,
    sled_id: int,
    slot: int,
    *,
    at: dt.datetime | None = None,
    user: str = "",
    reason: str = "",
) -> PlacementInfo:
    """Put a chip in a sled slot, ending its previous placement (history is kept); with
    ``user`` the move goes into the audit trail."""
    if chip_id is None or sled_id is None:
        raise RecordError("Choose both a chip and a sled.")
    with write_session(db) as session, session.begin():
        chip, sled = session.get(m.Dut, chip_id), session.get(m.Dut, sled_id)
        if chip is None:
            raise RecordError(f"DUT {chip_id} is not a registered chip.")
        if sled is None:
            raise RecordError(f"DUT {sled_id} is not a registered sled.")
        placement = _place(session, chip, sled, slot, at or utcnow(), user, reason)
        return to_record(PlacementInfo, placement)


def _place(
    session: Session,
    chip: m.Dut,
    sled: m.Dut,
    slot: int,
    at: dt.datetime,
    user: str,
    reason: str,
) -> m.Placement:
    """The checks and writes of one placement, inside the caller's transaction."""
    if chip.kind != "chip":
        raise RecordError(f"{chip.serial} is a sled, not a chip: only chips go into slots.")
    if sled.kind != "sled":
        raise RecordError(f"{sled.serial} is a chip, not a sled: a chip cannot hold chips.")
    if isinstance(slot, bool) or not isinstance(slot, int):
        raise RecordError(f"The slot must be a whole number, not {slot!r}.")
    if slot < 0 or (sled.slot_count is not None and slot >= sled.slot_count):
        count = "" if sled.slot_count is None else f" (its slots are 0 to {sled.slot_count - 1})"
        raise RecordError(f"Sled {sled.serial} has no slot {slot}{count}.")
    occupied = session.scalar(
        select(m.Placement).where(
            m.Placement.sled_id == sled.id,
            m.Placement.slot == slot,
            m.Placement.removed_at.is_(None),
        )
    )
    if occupied is not None and occupied.chip_id != chip.id:
        holder = session.get(m.Dut, occupied.chip_id)
        raise RecordError(
            f"Slot {slot} of sled {sled.serial} already holds chip {holder.serial}; "
            "remove it first."
        )
    old = ""
    for current in session.scalars(
        select(m.Placement).where(m.Placement.chip_id == chip.id, m.Placement.removed_at.is_(None))
    ):
        current.removed_at = at
        old = _where(session, current)
    placement = m.Placement(chip_id=chip.id, sled_id=sled.id, slot=slot, placed_at=at)
    session.add(placement)
    session.flush()
    if user.strip():
        new = f"{sled.serial} slot {slot}"
        _audit(session, user, chip.id, "place", field="placement", old_value=old,
               new_value=new, reason=reason)  # fmt: skip
    return placement


def _where(session: Session, placement: m.Placement) -> str:
    sled = session.get(m.Dut, placement.sled_id)
    return f"{sled.serial} slot {placement.slot}"


def remove_chip(
    db: Database, chip_id: int, *, user: str, reason: str = "", at: dt.datetime | None = None
) -> PlacementInfo:
    """Take a chip out of its sled: its placement ends, the chip and its history stay."""
    if not user.strip():
        raise RecordError("Taking a chip out needs the name of who did it.")
    with write_session(db) as session, session.begin():
        chip = session.get(m.Dut, chip_id)
        if chip is None or chip.kind != "chip":
            raise RecordError(f"DUT {chip_id} is not a registered chip.")
        current = session.scalar(
            select(m.Placement).where(
                m.Placement.chip_id == chip_id, m.Placement.removed_at.is_(None)
            )
        )
        if current is None:
            raise RecordError(f"Chip {chip.serial} is not in a sled.")
        current.removed_at = at or utcnow()
        _audit(session, user, chip_id, "remove", field="placement",
               old_value=_where(session, current), reason=reason)  # fmt: skip
        session.flush()
        return to_record(PlacementInfo, current)


# --- a traveller: many DUTs in one transaction ---------------------------------------------


TRAVELLER_COLUMNS = ("serial", "kind", "part", "lot", "wafer", "wafer_x", "wafer_y", "sled", "slot")


class ImportRejected(RecordError):
    """Rows of a traveller that cannot be registered; nothing of it was written."""

    def __init__(self, problems: list[tuple[int, str]]):
        self.problems = problems
        super().__init__(
            "; ".join(f"line {line}: {text.rstrip('.')}" for line, text in problems) + "."
        )


def import_duts(
    db: Database,
    rows: Sequence[tuple[int, Mapping[str, str]]],
    *,
    user: str,
    reason: str = "",
    rejected: Sequence[tuple[int, str]] = (),
) -> list[DutInfo]:
    """Register the DUTs of a traveller (``(line, cells)`` with the cells of
    :data:`TRAVELLER_COLUMNS`, and optionally ``slots`` for a sled) and place its chips, in one
    transaction: every row is checked first and one bad row writes nothing
    (:class:`ImportRejected` lists them all, with the ``rejected`` lines the reader of the
    file already refused)."""
    if not user.strip():
        raise RecordError("An import needs the name of who made it.")
    with write_session(db) as session, session.begin():
        named = {c.get(k, "").strip() for _, c in rows for k in ("serial", "sled")} - {""}
        stored = {
            d.serial: d for d in session.scalars(select(m.Dut).where(m.Dut.serial.in_(named)))
        }
        listed: dict[str, tuple[int, Mapping[str, str]]] = {}  # serial: its first row
        for line, cells in rows:
            listed.setdefault(cells.get("serial", "").strip(), (line, cells))
        checked, problems, slots_taken = [], list(rejected), {}
        for line, cells in rows:
            try:
                checked.append(_check_row(session, line, cells, stored, listed, slots_taken))
            except RecordError as exc:
                problems.append((line, str(exc)))
        if problems:
            raise ImportRejected(sorted(problems))
        created = {}
        for kind, serial, fields, _, _ in checked:
            dut = m.Dut(kind=kind, serial=serial, created_at=utcnow(), **_dut_defaults(fields))
            session.add(dut)
            session.flush()
            _audit(session, user, dut.id, "add", new_value=f"{kind} {serial}", reason=reason)
            created[serial] = dut
        at = utcnow()
        for _, serial, _, sled, slot in checked:
            if sled:
                sled_row = created.get(sled) or stored[sled]
                _place(session, created[serial], sled_row, slot, at, user, reason)
        return [to_record(DutInfo, created[serial]) for _, serial, _, _, _ in checked]


def _check_row(session, line, cells, stored, listed, slots_taken):
    kind = cells.get("kind", "").strip()
    fields = {name: cells.get(name, "").strip() for name in ("part", "lot", "wafer")}
    for name in ("wafer_x", "wafer_y"):
        fields[name] = whole_number(name, cells.get(name, ""))
    if kind == "sled":
        fields["slot_count"] = whole_number("slots", cells.get("slots", ""))
    serial = _checked_dut(kind, cells.get("serial", ""), fields)
    first = listed[serial][0]
    if first != line:
        raise RecordError(f"serial {serial!r} is listed twice (first on line {first}).")
    if serial in stored:
        raise RecordError(f"a DUT with serial {serial!r} is already registered.")
    sled, slot_text = cells.get("sled", "").strip(), cells.get("slot", "").strip()
    if kind == "sled":
        if sled or slot_text:
            raise RecordError(f"{serial} is a sled: a sled does not sit in another sled's slot.")
        return kind, serial, fields, "", None
    if not sled and not slot_text:
        return kind, serial, fields, "", None
    if not sled or not slot_text:
        raise RecordError(f"chip {serial} needs both a sled and a slot, or neither.")
    slot = whole_number("slot", slot_text)
    if sled in stored:
        sled_kind, count = stored[sled].kind, stored[sled].slot_count
    elif sled in listed:
        sled_cells = listed[sled][1]
        sled_kind = sled_cells.get("kind", "").strip()
        try:
            count = whole_number("slots", sled_cells.get("slots", ""))
        except RecordError:  # that row is named for its own mistake
            count = None
    else:
        raise RecordError(f"sled {sled!r} is neither registered nor listed in the file.")
    if sled_kind != "sled":
        raise RecordError(f"{sled} is a chip, not a sled: a chip cannot hold chips.")
    if slot < 0 or (count is not None and slot >= count):
        raise RecordError(f"sled {sled} has no slot {slot}.")
    if (sled, slot) in slots_taken:
        other, other_line = slots_taken[sled, slot]
        raise RecordError(
            f"slot {slot} of sled {sled} is already given to {other} on line {other_line}."
        )
    if sled in stored:
        holder = session.scalar(
            select(m.Dut.serial)
            .join(m.Placement, m.Placement.chip_id == m.Dut.id)
            .where(
                m.Placement.sled_id == stored[sled].id,
                m.Placement.slot == slot,
                m.Placement.removed_at.is_(None),
            )
        )
        if holder is not None:
            raise RecordError(f"slot {slot} of sled {sled} already holds chip {holder}.")
    slots_taken[sled, slot] = (serial, line)
    return kind, serial, fields, sled, slot


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
