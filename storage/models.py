"""The tables: SQLAlchemy 2 typed models, the same on SQLite and PostgreSQL.

The schema is created and changed only by the alembic migrations in
`storage/migrations/`; these models are what those migrations must match (a test
compares them). Enum-like columns are plain strings holding the core enums' values.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Deterministic constraint names on every engine, so migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Short identifiers; free text people type is `Text`.
CHANNEL = 16
STATUS = 32
CHAT = 64
EXTERNAL_ID = 128


class UTCDateTime(TypeDecorator[datetime]):
    """A time-zone aware datetime, stored in UTC and always read back as aware UTC.

    Naive datetimes are refused on write: nothing can tell which zone they meant.
    SQLite keeps no offset, so the value is stored as naive UTC there and UTC is
    re-attached on read; PostgreSQL stores `timestamptz`.
    """

    impl = DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: give it a time zone")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ReporterRecord(Base):
    __tablename__ = "reporters"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(CHANNEL))
    address: Mapped[str] = mapped_column(String(CHAT))
    display_name: Mapped[str | None] = mapped_column(Text)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set while an officer has blocked the reporter (their messages are ignored).
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The per-reporter rate limit: messages counted since the window started.
    window_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    window_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # Set once the reporter's personal data was removed (storage/repositories/privacy.py).
    forgotten_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


RECAP_COLUMNS = (
    "created_at",
    "status",
    "channel",
    "unit_code",
    "category",
    "privacy",
    "rating",
    "rating_requested",
    "acknowledged_at",
    "answered_at",
    "closed_at",
    "filed_stamp",
    "disposed_stamp",
    "answered_stamp",
    "closed_stamp",
    # by source (issue 20): the sumber of a staff-entered case, its LAPOR link, and the
    # duplicates merged into another case (counted once, as their main case)
    "source",
    "lapor_number",
    "merged_into",
    # the chain of command's steps (issue 21): their working-minute stamps
    "proposed_stamp",
    "approved_stamp",
    "submitted_stamp",
    "reviewed_stamp",
)
BACKLOG_COLUMNS = (
    "closed_at",
    "created_at",
    "unit_code",
    "first_disposed_at",
    "answered_at",
    "filed_stamp",
    "disposed_stamp",
)

# The open statuses (bot.core.model.CaseStatus.is_open) as the partial index
# ix_cases_open_created_at names them. A query uses that index only if its WHERE lists
# the same statuses, in this order, as literals (`storage/repositories/cases.py` OPEN_STATUSES).
OPEN_CASE_STATUSES = (
    "baru",
    "perlu_dilengkapi",
    "didisposisi",
    "dikembalikan",
    "dijawab",
    "diusulkan",
    "ditinjau",
)
OPEN_CASE = text(f"status IN ({', '.join(repr(status) for status in OPEN_CASE_STATUSES)})")


class CaseRecord(Base):
    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("code"),
        Index("ix_cases_status", "status"),
        Index("ix_cases_reporter_id_status", "reporter_id", "status"),
        Index("ix_cases_reporter_id_created_at", "reporter_id", "created_at"),
        # The recaps read a period's cases from these two alone (index-only scans), in
        # filing order and by closing time; see storage/repositories/recaps.py.
        Index("ix_cases_recap", *RECAP_COLUMNS),
        Index("ix_cases_next_check_at", "next_check_at"),
        Index("ix_cases_step_unit_code_due_at", "step", "unit_code", "due_at"),
        Index("ix_cases_backlog", *BACKLOG_COLUMNS),
        Index("ix_cases_digest_at", "digest_at"),
        Index("ix_cases_lapor_number", "lapor_number"),
        Index("ix_cases_merged_into", "merged_into"),
        # `/antrian`: the open cases in filing order, and no closed ones.
        Index(
            "ix_cases_open_created_at",
            "created_at",
            "id",
            sqlite_where=OPEN_CASE,
            postgresql_where=OPEN_CASE,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("reporters.id"))
    channel: Mapped[str] = mapped_column(String(CHANNEL))
    status: Mapped[str] = mapped_column(String(STATUS))
    privacy: Mapped[str] = mapped_column(String(STATUS))
    description: Mapped[str] = mapped_column(Text)
    location_text: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Double)
    longitude: Mapped[float | None] = mapped_column(Double)
    location_label: Mapped[str | None] = mapped_column(Text)
    occurred_text: Mapped[str | None] = mapped_column(Text)
    reporter_name: Mapped[str | None] = mapped_column(Text)
    reporter_contact: Mapped[str | None] = mapped_column(Text)
    unit_code: Mapped[str | None] = mapped_column(String(CHAT))
    status_before_info_request: Mapped[str | None] = mapped_column(String(STATUS))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    disposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_requested: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # The deadline of the step under way (bot.core.deadlines); NULL once closed.
    step: Mapped[str | None] = mapped_column(String(STATUS))
    step_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    nudged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    nudge_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    long_escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # For the recaps (bot.core.recap): the category, when the acknowledgement went out,
    # the first disposition, and working-minute stamps of the points the case reached.
    category: Mapped[str | None] = mapped_column(String(CHAT))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    first_disposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    filed_stamp: Mapped[int | None] = mapped_column(BigInteger)
    disposed_stamp: Mapped[int | None] = mapped_column(BigInteger)
    answered_stamp: Mapped[int | None] = mapped_column(BigInteger)
    closed_stamp: Mapped[int | None] = mapped_column(BigInteger)
    # ... and of the chain of command's steps ([workflow]; bot.core.model.Milestones).
    proposed_stamp: Mapped[int | None] = mapped_column(BigInteger)
    approved_stamp: Mapped[int | None] = mapped_column(BigInteger)
    submitted_stamp: Mapped[int | None] = mapped_column(BigInteger)
    reviewed_stamp: Mapped[int | None] = mapped_column(BigInteger)
    # Set once the case's personal data was removed (retention or a reporter forgotten).
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The reporter's follow-ups relayed this minute, and those held for one digest
    # (bot.core.model.Relays).
    relay_window_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    relayed_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    held_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A complaint an officer entered (/catat): its source (sumber), the day the office
    # received it and who entered it (bot.core.model.Intake); NULL: the reporter sent it.
    source: Mapped[str | None] = mapped_column(String(CHAT))
    received_on: Mapped[date | None] = mapped_column(Date)
    entered_by_id: Mapped[str | None] = mapped_column(String(CHAT))
    entered_by_name: Mapped[str | None] = mapped_column(Text)
    # The rest of the reporter's contact details (reporter_contact is the phone).
    reporter_whatsapp: Mapped[str | None] = mapped_column(Text)
    reporter_email: Mapped[str | None] = mapped_column(Text)
    reporter_address: Mapped[str | None] = mapped_column(Text)
    # SP4N-LAPOR!'s tracking number, and the main case a duplicate was merged into.
    lapor_number: Mapped[str | None] = mapped_column(String(CHAT))
    merged_into: Mapped[str | None] = mapped_column(String(64))
    # The chain of command ([workflow]): the follow-up plan (rencana tindak lanjut), the
    # unit an officer proposed to the supervisor (or disposed to before the plan was
    # given), and the agency a case was handed to.
    plan: Mapped[str | None] = mapped_column(Text)
    proposed_unit: Mapped[str | None] = mapped_column(String(CHAT))
    # the unit a disposition waits to go to until its follow-up plan is given
    pending_unit: Mapped[str | None] = mapped_column(String(CHAT))
    forwarded_to: Mapped[str | None] = mapped_column(Text)


class CaseTaskRecord(Base):
    """Work owed to a case besides its step (bot.core.model.Task): inform a reporter
    who is not in the chat, enter the case into SP4N-LAPOR!, watch LAPOR's disposition."""

    __tablename__ = "case_tasks"
    __table_args__ = (
        Index("ix_case_tasks_case_id_kind", "case_id", "kind"),
        Index("ix_case_tasks_next_at", "next_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(CHANNEL))
    message: Mapped[str | None] = mapped_column(Text)  # what the reporter should hear
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # NULL once done
    nudged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    nudge_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by: Mapped[str | None] = mapped_column(Text)
    done_note: Mapped[str | None] = mapped_column(Text)


class CaseEventRecord(Base):
    __tablename__ = "case_events"
    __table_args__ = (
        Index("ix_case_events_case_id_id", "case_id", "id"),
        Index("ix_case_events_kind_at", "kind", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(STATUS))
    actor_role: Mapped[str] = mapped_column(String(CHANNEL))
    actor_user_id: Mapped[str | None] = mapped_column(String(CHAT))
    actor_name: Mapped[str | None] = mapped_column(Text)
    actor_chat_id: Mapped[str | None] = mapped_column(String(CHAT))
    note: Mapped[str | None] = mapped_column(Text)
    status_after: Mapped[str | None] = mapped_column(String(STATUS))
    unit_code: Mapped[str | None] = mapped_column(String(CHAT))


class CaseAttachmentRecord(Base):
    """A file of a case: attached at intake (no event) or to one event of its trail."""

    __tablename__ = "case_attachments"
    __table_args__ = (
        Index("ix_case_attachments_case_id_event_id_position", "case_id", "event_id", "position"),
        Index("ix_case_attachments_event_id", "event_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("case_events.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(CHANNEL))
    ref: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(CHANNEL))
    file_name: Mapped[str | None] = mapped_column(Text)
    mime_type: Mapped[str | None] = mapped_column(String(255))
    size: Mapped[int | None] = mapped_column(BigInteger)
    caption: Mapped[str | None] = mapped_column(Text)


class DialogueRecord(Base):
    __tablename__ = "dialogues"

    reporter_id: Mapped[int] = mapped_column(
        ForeignKey("reporters.id", ondelete="CASCADE"), primary_key=True
    )
    step: Mapped[str] = mapped_column(String(CHAT))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class InboundUpdateRecord(Base):
    """A webhook delivery, recorded before it is acknowledged and handled later."""

    __tablename__ = "inbound_updates"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_inbound_updates_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(CHANNEL))
    external_id: Mapped[str] = mapped_column(String(EXTERNAL_ID))
    chat_key: Mapped[str] = mapped_column(String(EXTERNAL_ID))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(CHANNEL), server_default=text("'pending'"))
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)


class OutboxRecord(Base):
    """A message waiting to be sent (or sent, or given up on), in per-chat order."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_outbox_channel_address_status_id", "channel", "address", "status", "id"),
        Index("ix_outbox_album_key", "album_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(CHANNEL))
    address: Mapped[str] = mapped_column(String(CHAT))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    case_id: Mapped[int | None] = mapped_column(Integer)
    purpose: Mapped[str | None] = mapped_column(String(CHAT))
    album_key: Mapped[str | None] = mapped_column(String(EXTERNAL_ID))
    # Within a chat, a lower priority goes first (a new case's relay: URGENT); the
    # same priority in the order queued (`first_waiting_of_its_chat` in
    # storage/repositories/outbox.py).
    priority: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    status: Mapped[str] = mapped_column(String(CHANNEL), server_default=text("'pending'"))
    parts_done: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_ids: Mapped[list[str]] = mapped_column(JSON)


class SentMessageRecord(Base):
    """An id a channel gave one of our messages, so a reply to it finds its case."""

    __tablename__ = "sent_messages"
    __table_args__ = (
        Index("ix_sent_messages_channel_address_message_id", "channel", "address", "message_id"),
        Index("ix_sent_messages_outbox_id", "outbox_id"),
        Index("ix_sent_messages_case_id", "case_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(CHANNEL))
    address: Mapped[str] = mapped_column(String(CHAT))
    message_id: Mapped[str] = mapped_column(String(EXTERNAL_ID))
    case_id: Mapped[int | None] = mapped_column(Integer)
    purpose: Mapped[str | None] = mapped_column(String(CHAT))
    # It carries buttons (which may have to change once the step they offer is done).
    keyboard: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # The provider's last word on delivery (WhatsApp status callbacks), if any.
    status: Mapped[str | None] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(16))
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ChatMigrationRecord(Base):
    """A Telegram group that became a supergroup under a new id."""

    __tablename__ = "chat_migrations"
    __table_args__ = (Index("ix_chat_migrations_new_chat_id", "new_chat_id"),)

    old_chat_id: Mapped[str] = mapped_column(String(CHAT), primary_key=True)
    new_chat_id: Mapped[str] = mapped_column(String(CHAT))
    migrated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MarkRecord(Base):
    """A small named value kept between runs (the last daily digest's date, …)."""

    __tablename__ = "marks"

    name: Mapped[str] = mapped_column(String(CHAT), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReportJobRecord(Base):
    """A recap or export someone asked for (or the calendar did), made in the background."""

    __tablename__ = "report_jobs"
    __table_args__ = (
        UniqueConstraint("dedup_key"),
        Index("ix_report_jobs_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(CHANNEL))  # "recap" | "case"
    subject: Mapped[str] = mapped_column(String(CHAT))  # a period label, or a case code
    chat_id: Mapped[str] = mapped_column(String(CHAT))  # the Telegram chat to send it to
    requested_by: Mapped[str | None] = mapped_column(Text)
    dedup_key: Mapped[str | None] = mapped_column(String(EXTERNAL_ID))  # automatic recaps
    status: Mapped[str] = mapped_column(String(CHANNEL), server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)
