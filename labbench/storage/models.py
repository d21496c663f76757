"""The database schema, as SQLAlchemy 2 typed ORM models.

Only ``labbench.storage`` uses these classes; everything above it gets the plain records of
:mod:`labbench.records` from the storage rooms (inventory, plans, runs, events, results,
history).  Schema changes go through Alembic (``db/versions``);
``tests/storage/test_migrations.py`` fails if the models and the migrations drift apart.

Times: wall-clock moments (run start, audit entries) are timezone-aware UTC datetimes
(:class:`UTCDateTime`); high-rate times (samples, raw bytes, events, violations) are
integer nanoseconds since the Unix epoch, or float seconds since the run's ``t0_ns`` inside
telemetry chunks.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from labbench.records import DUT_KINDS, RUN_STATUSES

# Constraint names must be deterministic so that SQLite batch migrations can find them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

VERDICTS = ("passed", "marginal", "failed", "error", "skipped", "pending")
# A run that ended with one of these judged its DUT: an attempt in lab analytics.
JUDGED_STATUSES = ("passed", "marginal", "failed")
CRITERION_KINDS = ("limit", "measure", "result", "manual", "timing")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every backend.

    SQLite has no time zone type and silently drops offsets, so values are normalised to
    UTC before they are stored and handed back aware.  Naive datetimes are refused: a naive
    time in a lab log is a bug waiting for the next daylight-saving change.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect):  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: labbench stores aware UTC times only")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect):  # type: ignore[override]
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Dut(Base):
    """A device under test: a sled (a tray with chip slots) or a single chip."""

    __tablename__ = "duts"
    __table_args__ = (CheckConstraint(_in("kind", DUT_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    serial: Mapped[str] = mapped_column(String(128), unique=True)
    part: Mapped[str] = mapped_column(String(128), default="")
    generation: Mapped[str] = mapped_column(String(64), default="")
    silicon_rev: Mapped[str] = mapped_column(String(32), default="")
    lot: Mapped[str] = mapped_column(String(64), default="")
    wafer: Mapped[str] = mapped_column(String(32), default="")
    # Die position on the wafer (chips) or slot count (sleds); empty when unknown.
    wafer_x: Mapped[int | None] = mapped_column(Integer)
    wafer_y: Mapped[int | None] = mapped_column(Integer)
    slot_count: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Placement(Base):
    """A chip sitting in a sled slot from ``placed_at`` until ``removed_at`` (open: still there)."""

    __tablename__ = "placements"
    __table_args__ = (
        CheckConstraint("slot >= 0", name="slot_nonneg"),
        Index("ix_placements_sled_slot", "sled_id", "slot"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chip_id: Mapped[int] = mapped_column(ForeignKey("duts.id"), index=True)
    sled_id: Mapped[int] = mapped_column(ForeignKey("duts.id"))
    slot: Mapped[int] = mapped_column(Integer)
    placed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Station(Base):
    """A lab workstation (one per PC that drives rigs)."""

    __tablename__ = "stations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    hostname: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Plan(Base):
    """An immutable version of a test plan: the full TOML text and its SHA-256."""

    __tablename__ = "plans"
    __table_args__ = (
        UniqueConstraint("name", "version", name="uq_plans_name_version"),
        CheckConstraint(_in("dut_kind", DUT_KINDS), name="dut_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    version: Mapped[str] = mapped_column(String(64))
    dut_kind: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class Run(Base):
    """One session of a DUT on a rig, with or without a plan."""

    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(_in("status", RUN_STATUSES), name="status"),
        Index("ix_runs_started_at", "started_at"),
        Index("ix_runs_status", "status"),
        # Lab analytics: one plan's finished runs, often within a period (revision 0005).
        Index("ix_runs_plan_status_started", "plan_id", "status", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dut_id: Mapped[int] = mapped_column(ForeignKey("duts.id"), index=True)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"), index=True)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"))
    operator: Mapped[str] = mapped_column(String(128), default="")
    device: Mapped[str] = mapped_column(String(512), default="")
    profile: Mapped[str] = mapped_column(String(128), default="")
    software_version: Mapped[str] = mapped_column(String(64), default="")
    # Which process owns a running run: lets the next start tell a dead run from a live one.
    host: Mapped[str] = mapped_column(String(255), default="")
    pid: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Epoch nanoseconds of the run's time zero; telemetry chunk times are seconds after it.
    t0_ns: Mapped[int] = mapped_column(BigInteger)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="running")
    sample_count: Mapped[int] = mapped_column(BigInteger, default=0)
    malformed_count: Mapped[int] = mapped_column(BigInteger, default=0)
    console_count: Mapped[int] = mapped_column(BigInteger, default=0)
    violation_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_items: Mapped[int] = mapped_column(Integer, default=0)
    error_message: Mapped[str] = mapped_column(Text, default="")

    channels: Mapped[list[Channel]] = relationship(back_populates="run")


class RunSlot(Base):
    """The placement a sled run ran with: which chip sat in which slot when the run started,
    kept with the run so that moving the chip later never rewrites it.  ``chip_verdict`` is
    the chip's own verdict in the run; empty until the run is judged per chip."""

    __tablename__ = "run_slots"
    __table_args__ = (
        UniqueConstraint("run_id", "slot", name="uq_run_slots_run_slot"),
        UniqueConstraint("run_id", "chip_id", name="uq_run_slots_run_chip"),
        CheckConstraint("slot >= 0", name="slot_nonneg"),
        CheckConstraint(_in("chip_verdict", VERDICTS), name="chip_verdict"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    slot: Mapped[int] = mapped_column(Integer)
    chip_id: Mapped[int] = mapped_column(ForeignKey("duts.id"), index=True)
    chip_serial: Mapped[str] = mapped_column(String(128))
    chip_verdict: Mapped[str | None] = mapped_column(String(16))


class StepResult(Base):
    __tablename__ = "step_results"
    __table_args__ = (
        UniqueConstraint("run_id", "position", name="uq_step_results_run_position"),
        CheckConstraint(_in("verdict", VERDICTS), name="verdict"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(128))
    started_ns: Mapped[int] = mapped_column(BigInteger)
    ended_ns: Mapped[int | None] = mapped_column(BigInteger)
    verdict: Mapped[str] = mapped_column(String(16))
    # A point of a sweep step: the sweep step's name, its axis names and values (y empty
    # with one axis) and its place in the sweep's execution order; all NULL for plain steps.
    sweep: Mapped[str | None] = mapped_column(String(128))
    sweep_x_name: Mapped[str | None] = mapped_column(String(128))
    sweep_x: Mapped[float | None] = mapped_column(Float)
    sweep_y_name: Mapped[str | None] = mapped_column(String(128))
    sweep_y: Mapped[float | None] = mapped_column(Float)
    sweep_order: Mapped[int | None] = mapped_column(Integer)


class CriterionKey(Base):
    """What capability keys an item by (docs/architecture.md §10), as one integer: its plan's
    name, its step's name, its name, channel, unit and spec limits.  A missing limit is
    ``has_low``/``has_high`` false and 0, so the unique constraint sees it (NULLs are all
    distinct to a unique constraint)."""

    __tablename__ = "criterion_keys"
    __table_args__ = (
        # Not led by the plan: capability reads a plan's keys in id order (a scan of this
        # small table), which an index on the plan would have the planner read in name order.
        UniqueConstraint(
            "step", "name", "channel", "unit", "has_low", "low", "has_high", "high", "plan"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan: Mapped[str] = mapped_column(String(128))
    step: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(128))
    unit: Mapped[str] = mapped_column(String(32))
    has_low: Mapped[bool] = mapped_column(Boolean)
    low: Mapped[float] = mapped_column(Float)
    has_high: Mapped[bool] = mapped_column(Boolean)
    high: Mapped[float] = mapped_column(Float)
    # What capability sums squared deviations around: the middle of the limits, or the one
    # limit; NULL without limits.
    middle: Mapped[float | None] = mapped_column(Float)


class CriterionResult(Base):
    """One judged item of a step, with its limits as columns (never a formatted string)."""

    __tablename__ = "criterion_results"
    __table_args__ = (
        CheckConstraint(_in("kind", CRITERION_KINDS), name="kind"),
        CheckConstraint(_in("verdict", VERDICTS), name="verdict"),
        CheckConstraint("slot >= 0", name="slot_nonneg"),
        # Capability reads an item's values in run start order straight from this index
        # (revision 0008): no sort under its moving-range window.
        Index(
            "ix_criterion_results_item_order",
            "item_key",
            "run_judged",
            "run_t0_ns",
            "run_id",
            "value",
            "step_position",
            "id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    step_result_id: Mapped[int] = mapped_column(ForeignKey("step_results.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(128), default="")
    unit: Mapped[str] = mapped_column(String(32), default="")
    stat: Mapped[str] = mapped_column(String(16), default="")
    value: Mapped[float | None] = mapped_column(Float)
    text_value: Mapped[str] = mapped_column(Text, default="")
    low: Mapped[float | None] = mapped_column(Float)
    high: Mapped[float | None] = mapped_column(Float)
    marginal_low: Mapped[float | None] = mapped_column(Float)
    marginal_high: Mapped[float | None] = mapped_column(Float)
    equals: Mapped[str | None] = mapped_column(Text)
    settle_s: Mapped[float] = mapped_column(Float, default=0.0)
    hold_s: Mapped[float] = mapped_column(Float, default=0.0)
    sample_count: Mapped[int] = mapped_column(BigInteger, default=0)
    verdict: Mapped[str] = mapped_column(String(16))
    violation_count: Mapped[int] = mapped_column(Integer, default=0)
    first_violation_s: Mapped[float | None] = mapped_column(Float)
    # A per-chip item of a sled run: the slot it judged and the chip placed there when the
    # run started.  NULL for sled-level items, chip runs and runs stored before 0004.
    slot: Mapped[int | None] = mapped_column(Integer)
    chip: Mapped[str | None] = mapped_column(String(128))
    # Copies for capability (revision 0008), written with the item: its key (NULL for a run
    # without a plan; no foreign key, see the revision), whether its run ended passed,
    # marginal or failed (written again when the run ends), its run's t0_ns and its step's
    # position.
    item_key: Mapped[int | None] = mapped_column(Integer)  # criterion_keys.id
    run_judged: Mapped[bool | None] = mapped_column(Boolean)
    run_t0_ns: Mapped[int | None] = mapped_column(BigInteger)
    step_position: Mapped[int | None] = mapped_column(Integer)


class Violation(Base):
    """A failed excursion: a run of out-of-limit samples that lasted at least hold_s."""

    __tablename__ = "violations"
    __table_args__ = (CheckConstraint(_in("bound", ("low", "high", "nan")), name="bound"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    criterion_result_id: Mapped[int] = mapped_column(ForeignKey("criterion_results.id"))
    step_position: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(128))
    start_s: Mapped[float] = mapped_column(Float)
    end_s: Mapped[float] = mapped_column(Float)
    extreme: Mapped[float] = mapped_column(Float)
    bound: Mapped[str] = mapped_column(String(8))


class Channel(Base):
    __tablename__ = "channels"
    __table_args__ = (UniqueConstraint("run_id", "name", name="uq_channels_run_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    name: Mapped[str] = mapped_column(String(128))
    unit: Mapped[str] = mapped_column(String(32), default="")
    position: Mapped[int] = mapped_column(Integer)

    run: Mapped[Run] = relationship(back_populates="channels")


class TelemetryChunk(Base):
    """A block of one channel's samples: little-endian float64 times and values.

    ``t`` holds seconds since the run's ``t0_ns``; count, first/last time and min/max are
    kept as columns so overviews and statistics of long runs read no blobs.
    """

    __tablename__ = "telemetry_chunks"
    __table_args__ = (
        UniqueConstraint("channel_id", "seq", name="uq_telemetry_chunks_channel_seq"),
        Index("ix_telemetry_chunks_run_channel_t", "run_id", "channel_id", "t_first"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    seq: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    t_first: Mapped[float] = mapped_column(Float)
    t_last: Mapped[float] = mapped_column(Float)
    # NULL when every value of the chunk is NaN.
    v_min: Mapped[float | None] = mapped_column(Float)
    v_max: Mapped[float | None] = mapped_column(Float)
    t: Mapped[bytes] = mapped_column(LargeBinary)
    v: Mapped[bytes] = mapped_column(LargeBinary)


class TelemetryOverview(Base):
    """Count, first/last time and min/max of consecutive chunks ``seq_first..seq_last`` of one
    channel, written as the run grows: a long run's overview reads a few hundred of these per
    channel instead of hundreds of thousands of chunk rows.  Chunks no overview row covers
    (the newest ones) are read one by one."""

    __tablename__ = "telemetry_overview"
    __table_args__ = (
        UniqueConstraint("channel_id", "seq_first", name="uq_telemetry_overview_channel_seq_first"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id"))
    seq_first: Mapped[int] = mapped_column(Integer)
    seq_last: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(BigInteger)
    t_first: Mapped[float] = mapped_column(Float)
    t_last: Mapped[float] = mapped_column(Float)
    # NULL when every value of the chunks is NaN.
    v_min: Mapped[float | None] = mapped_column(Float)
    v_max: Mapped[float | None] = mapped_column(Float)


class RawChunk(Base):
    """Bytes exactly as the rig sent them, with the host time they arrived."""

    __tablename__ = "raw_chunks"
    __table_args__ = (UniqueConstraint("run_id", "seq", name="uq_raw_chunks_run_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    seq: Mapped[int] = mapped_column(Integer)
    received_ns: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class RunEvent(Base):
    """Something that happened during a run: connect, disconnect, command sent, note, ..."""

    __tablename__ = "run_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    at_ns: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")


class AuditEntry(Base):
    """Append-only trail of corrections and notes: who, when, what, why."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    user: Mapped[str] = mapped_column(String(128))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    field: Mapped[str] = mapped_column(String(64), default="")
    old_value: Mapped[str] = mapped_column(Text, default="")
    new_value: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
