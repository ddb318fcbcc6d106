"""The unit of work over SQLAlchemy: the core's repositories and the service's queues.

Everything here runs inside one `Database.transaction()`. The core's ports
(`bot.core.ports`) get and give core dataclasses only; ORM records never leave this
module. Selects refresh records already in the session (`populate_existing`) and bulk
updates skip session synchronisation, so a record read after an UPDATE statement in
the same transaction is never stale.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import (
    CursorResult,
    Integer,
    Row,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy import (
    case as sql_case,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.dml import Update
from sqlalchemy.sql.elements import ColumnElement

from bot.core.lifecycle import Holder, staff_steps, statuses_held_by
from bot.core.model import (
    Actor,
    Attachment,
    AttachmentKind,
    Case,
    CaseEvent,
    CaseStatus,
    Channel,
    EventKind,
    Milestones,
    OutgoingMessage,
    Privacy,
    Recipient,
    Relays,
    Reporter,
    Step,
    Watch,
)
from bot.core.ports import (
    CaseRepository,
    Clock,
    DeliveryTrouble,
    DialogueRepository,
    DialogueState,
    DigestCounts,
    FailedSend,
    Marks,
    Outbox,
    ReporterRepository,
    SentRef,
    StuckChat,
    UnitOfWork,
)
from storage.models import (
    CaseAttachmentRecord,
    CaseEventRecord,
    CaseRecord,
    ChatMigrationRecord,
    DialogueRecord,
    InboundUpdateRecord,
    MarkRecord,
    OutboxRecord,
    ReporterRecord,
    SentMessageRecord,
)
from storage.privacy import PersonalData
from storage.recaps import ReportJobs, SqlRecaps, pin

PENDING = "pending"
DONE = "done"
SENT = "sent"
FAILED = "failed"
# Outbox priorities (lower goes first within a chat): a new case's relay, the rest.
URGENT = 0
ORDINARY = 1
# How long album messages wait for the album's other items to join them.
ALBUM_HOLD = timedelta(seconds=2)

OPEN_STATUSES = tuple(status.value for status in CaseStatus if status.is_open)
# The statuses as literals, so the query can use the partial index of open cases
# (ix_cases_open_created_at: both databases match its predicate only against literals).
_IS_OPEN = CaseRecord.status.in_(
    bindparam("open_statuses", OPEN_STATUSES, expanding=True, literal_execute=True)
)
WAITING_STATUSES = tuple(status.value for status in statuses_held_by(Holder.OFFICERS))
STAFF_STEPS = tuple(step.value for step in staff_steps())
FINISHED_STATUSES = (CaseStatus.CLOSED.value, CaseStatus.REFUSED.value)
_FRESH = {"populate_existing": True}
_NO_SYNC = {"synchronize_session": False}
# Guards the walks along chat migrations against a cycle in bad data.
_MAX_MIGRATION_HOPS = 32
# The order delivery statuses move in; failures are final.
_STATUS_RANK = {"queued": 1, "sending": 2, "sent": 3, "delivered": 4, "read": 5}
_STATUS_RANK.update(failed=9, undelivered=9)

_T = TypeVar("_T")
_S = TypeVar("_S")


@dataclass(frozen=True)
class InboundDelivery:
    """A webhook delivery to record: its source, its id there, its chat, what it said."""

    source: str
    external_id: str
    chat_key: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class InboundRow:
    """A recorded webhook delivery waiting to be handled."""

    id: int
    source: str
    external_id: str
    chat_key: str
    payload: dict[str, Any]
    received_at: datetime


@dataclass(frozen=True)
class OutboxRow:
    """A queued message as the sender sees it."""

    id: int
    recipient: Recipient
    message: OutgoingMessage
    parts_done: int
    attempts: int
    created_at: datetime


class _Part:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    @property
    def _dialect(self) -> str:
        return self._session.get_bind().dialect.name

    async def _core(self, statement: Executable, parameters: dict[str, Any]) -> Any:
        """Runs a Core statement built once (over tables, not mapped classes) with these
        bound parameters: no ORM unit of work and no per-call statement building, and
        SQLAlchemy reuses its compiled form. The hot paths of handling an update use it.

        Core statements skip autoflush, so ORM changes not yet flushed are flushed
        first (as an ORM statement would), and nothing here reads a stale row.
        """
        session = self._session
        if session.new or session.dirty or session.deleted:
            await session.flush()
        return await session.execute(statement, parameters)

    def _built(self, statements: dict[str, _S]) -> _S:
        """The dialect's version of a statement built once per dialect."""
        return statements["postgresql" if self._dialect == "postgresql" else "sqlite"]

    async def _all(self, statement: Select[_T]) -> Sequence[_T]:
        return (await self._session.scalars(statement, execution_options=_FRESH)).all()

    async def _first(self, statement: Select[_T]) -> _T | None:
        return (await self._session.scalars(statement, execution_options=_FRESH)).first()

    async def _update(self, statement: Update) -> int:
        result = await self._session.execute(statement, execution_options=_NO_SYNC)
        assert isinstance(result, CursorResult)
        return result.rowcount

    async def _update_one(
        self, statement: Update, what: str, parameters: dict[str, Any] | None = None
    ) -> None:
        """An UPDATE that must find its row; a Core statement built once takes its
        `parameters` (see `_core`)."""
        if parameters is None:
            count = await self._update(statement)
        else:
            count = (await self._core(statement, parameters)).rowcount
        if count == 0:
            raise LookupError(f"{what} not found")

    def _upsert_module(self) -> Any:
        """The dialect's `insert` that knows ON CONFLICT (sqlite and postgresql spell it alike)."""
        return postgresql if self._dialect == "postgresql" else sqlite


# --- mapping between records and the core's dataclasses --------------------------------


def _attachment(record: CaseAttachmentRecord) -> Attachment:
    return Attachment(
        kind=AttachmentKind(record.kind),
        ref=record.ref,
        source=Channel(record.source),
        file_name=record.file_name,
        mime_type=record.mime_type,
        size=record.size,
        caption=record.caption,
    )


def _attachment_records(
    case_id: int, event_id: int | None, attachments: Iterable[Attachment]
) -> list[CaseAttachmentRecord]:
    return [
        CaseAttachmentRecord(
            case_id=case_id,
            event_id=event_id,
            position=position,
            kind=attachment.kind.value,
            ref=attachment.ref,
            source=attachment.source.value,
            file_name=attachment.file_name,
            mime_type=attachment.mime_type,
            size=attachment.size,
            caption=attachment.caption,
        )
        for position, attachment in enumerate(attachments)
    ]


def _case_values(case: Case) -> dict[str, Any]:
    return {
        "code": case.code,
        "reporter_id": case.reporter_id,
        "channel": case.channel.value,
        "status": case.status.value,
        "privacy": case.privacy.value,
        "description": case.description,
        "location_text": case.location_text,
        "latitude": case.location.latitude if case.location else None,
        "longitude": case.location.longitude if case.location else None,
        "location_label": case.location.label if case.location else None,
        "occurred_text": case.occurred_text,
        "reporter_name": case.reporter_name,
        "reporter_contact": case.reporter_contact,
        "unit_code": case.unit_code,
        "status_before_info_request": (
            case.status_before_info_request.value if case.status_before_info_request else None
        ),
        "created_at": case.created_at,
        "updated_at": case.updated_at,
        "disposed_at": case.disposed_at,
        "answered_at": case.answered_at,
        "closed_at": case.closed_at,
        "rating": case.rating,
        "rating_requested": case.rating_requested,
        **_watch_values(case.watch),
        "next_check_at": case.next_check_at,
        "long_escalated_at": case.long_escalated_at,
        "category": case.category,
        "first_disposed_at": case.first_disposed_at,
        "filed_stamp": case.milestones.filed,
        "disposed_stamp": case.milestones.disposed,
        "answered_stamp": case.milestones.answered,
        "closed_stamp": case.milestones.closed,
        "relay_window_at": case.relays.window_at,
        "relayed_count": case.relays.relayed,
        "held_count": case.relays.held,
        "digest_at": case.relays.digest_at,
        # acknowledged_at is the sender's to write (`mark_acknowledged`), never overwritten
    }


def _watch_values(watch: Watch | None) -> dict[str, Any]:
    if watch is None:
        return dict.fromkeys(
            ("step", "step_started_at", "due_at", "nudged_at", "escalated_at", "reminded_at")
        ) | {"nudge_count": 0}
    return {
        "step": watch.step.value,
        "step_started_at": watch.started_at,
        "due_at": watch.due_at,
        "nudged_at": watch.nudged_at,
        "nudge_count": watch.nudges,
        "escalated_at": watch.escalated_at,
        "reminded_at": watch.reminded_at,
    }


def _watch(record: CaseRecord) -> Watch | None:
    if record.step is None or record.step_started_at is None or record.due_at is None:
        return None
    return Watch(
        step=Step(record.step),
        started_at=record.step_started_at,
        due_at=record.due_at,
        nudged_at=record.nudged_at,
        nudges=record.nudge_count,
        escalated_at=record.escalated_at,
        reminded_at=record.reminded_at,
    )


def _case(record: CaseRecord, attachments: list[Attachment]) -> Case:
    location = pin(record.latitude, record.longitude, record.location_label)
    before = record.status_before_info_request
    return Case(
        id=record.id,
        code=record.code,
        reporter_id=record.reporter_id,
        channel=Channel(record.channel),
        description=record.description,
        created_at=record.created_at,
        privacy=Privacy(record.privacy),
        status=CaseStatus(record.status),
        location_text=record.location_text,
        location=location,
        occurred_text=record.occurred_text,
        reporter_name=record.reporter_name,
        reporter_contact=record.reporter_contact,
        unit_code=record.unit_code,
        status_before_info_request=CaseStatus(before) if before else None,
        updated_at=record.updated_at,
        disposed_at=record.disposed_at,
        answered_at=record.answered_at,
        closed_at=record.closed_at,
        rating=record.rating,
        rating_requested=record.rating_requested,
        attachments=attachments,
        watch=_watch(record),
        next_check_at=record.next_check_at,
        long_escalated_at=record.long_escalated_at,
        category=record.category,
        acknowledged_at=record.acknowledged_at,
        first_disposed_at=record.first_disposed_at,
        milestones=Milestones(
            record.filed_stamp, record.disposed_stamp, record.answered_stamp, record.closed_stamp
        ),
        relays=Relays(
            record.relay_window_at, record.relayed_count, record.held_count, record.digest_at
        ),
    )


def _reporter(record: ReporterRecord | Row[Any]) -> Reporter:
    """A reporter from its mapped record or from a row of the same columns."""
    return Reporter(
        id=record.id,
        channel=Channel(record.channel),
        address=record.address,
        display_name=record.display_name,
        last_inbound_at=record.last_inbound_at,
        blocked_at=record.blocked_at,
    )


def _first_waiting_of_its_chat() -> ColumnElement[bool]:
    """An outbox row that waits to be sent with no waiting row of its chat ahead of it.

    Ahead is a row partly sent (its other parts follow it at once), else one of a lower
    priority (a new case's relay goes before the follow-ups waiting in the officers'
    group), else one queued earlier. Messages about one case keep their order: the
    only urgent message about a case is its first.
    """
    earlier = aliased(OutboxRecord)
    ahead = or_(
        earlier.parts_done > 0,
        earlier.priority < OutboxRecord.priority,
        and_(earlier.priority == OutboxRecord.priority, earlier.id < OutboxRecord.id),
    )
    return and_(
        OutboxRecord.status == PENDING,
        or_(
            OutboxRecord.parts_done > 0,
            ~select(earlier.id)
            .where(
                earlier.channel == OutboxRecord.channel,
                earlier.address == OutboxRecord.address,
                earlier.status == PENDING,
                earlier.id != OutboxRecord.id,
                ahead,
            )
            .exists(),
        ),
    )


def _due_messages(*, unless_busy: bool) -> Select[OutboxRecord]:
    """The sender's query (see `OutboxDelivery.due`), with bound parameters `now`, `limit`
    and, `unless_busy`, `busy`: it is asked many times a second under load, so it is
    built once, and SQLAlchemy compiles it once."""
    statement = (
        select(OutboxRecord)
        .where(OutboxRecord.next_attempt_at <= bindparam("now"), _first_waiting_of_its_chat())
        # Longest due first; fresh messages are due when queued, so that is oldest
        # first. (By due time, not id: the index then also serves the ordering, and
        # the query reads only due rows however long the sent history grows.)
        .order_by(OutboxRecord.next_attempt_at, OutboxRecord.id)
        .limit(bindparam("limit", type_=Integer))
    )
    if unless_busy:
        statement = statement.where(
            tuple_(OutboxRecord.channel, OutboxRecord.address).not_in(
                bindparam("busy", expanding=True)
            )
        )
    return statement


_DUE = _due_messages(unless_busy=False)
_DUE_UNLESS_BUSY = _due_messages(unless_busy=True)


# --- statements of the hot path, built once --------------------------------------------
# Handling one update runs a dozen statements; building each anew (and running it through
# the ORM's unit of work) cost more CPU than the database did. These are Core statements
# over the tables, with bound parameters, compiled once by SQLAlchemy.


def _table(record: type[Any]) -> Table:
    table = record.__table__
    assert isinstance(table, Table)
    return table


def _per_dialect(build: Any) -> dict[str, Any]:
    """A statement built with each dialect's `insert` (both spell ON CONFLICT alike)."""
    return {"sqlite": build(sqlite), "postgresql": build(postgresql)}


_REPORTERS = _table(ReporterRecord)
_DIALOGUES = _table(DialogueRecord)
_OUTBOX = _table(OutboxRecord)
_INBOUND = _table(InboundUpdateRecord)

_REPORTER_COLUMNS = (
    _REPORTERS.c.id,
    _REPORTERS.c.channel,
    _REPORTERS.c.address,
    _REPORTERS.c.display_name,
    _REPORTERS.c.last_inbound_at,
    _REPORTERS.c.blocked_at,
)
_REPORTER_BY_CHAT = select(*_REPORTER_COLUMNS).where(
    _REPORTERS.c.channel == bindparam("p_channel"),
    _REPORTERS.c.address == bindparam("p_address"),
)
_NEW_REPORTER: dict[str, Any] = _per_dialect(
    lambda module: module.insert(_REPORTERS).on_conflict_do_nothing(
        index_elements=["channel", "address"]
    )
)
# The SET clause comes from the parameters' keys (last_inbound_at, display_name).
_TOUCH_REPORTER = update(_REPORTERS).where(_REPORTERS.c.id == bindparam("p_id"))
# A message arrived: the reporter found and touched in one statement.
_REPORTER_ARRIVED = (
    update(_REPORTERS)
    .where(
        _REPORTERS.c.channel == bindparam("p_channel"),
        _REPORTERS.c.address == bindparam("p_address"),
    )
    .values(last_inbound_at=bindparam("p_at", type_=_REPORTERS.c.last_inbound_at.type))
    .returning(*_REPORTER_COLUMNS)
)


def _count_message() -> Any:
    """Counts a message in the reporter's rate window, starting a new window when the
    last began `window` or longer ago; returns the count. One UPDATE, which locks the
    row (as the SELECT … FOR UPDATE before it did)."""
    R = _REPORTERS
    at = bindparam("p_at", type_=R.c.window_started_at.type)
    fresh = or_(
        R.c.window_started_at.is_(None),
        R.c.window_started_at <= bindparam("p_cutoff", type_=R.c.window_started_at.type),
    )
    return (
        update(R)
        .where(R.c.id == bindparam("p_id"))
        .values(
            # (both expressions read the row as it was before the update)
            window_started_at=sql_case((fresh, at), else_=R.c.window_started_at),
            window_count=sql_case((fresh, 1), else_=R.c.window_count + 1),
        )
        .returning(R.c.window_count)
    )


_COUNT_MESSAGE = _count_message()
_LOAD_DIALOGUE = select(_DIALOGUES.c.step, _DIALOGUES.c.data).where(
    _DIALOGUES.c.reporter_id == bindparam("p_reporter")
)


def _save_dialogue(module: Any) -> Any:
    statement = module.insert(_DIALOGUES)
    return statement.on_conflict_do_update(
        index_elements=["reporter_id"],
        set_={
            "step": statement.excluded.step,
            "data": statement.excluded.data,
            "updated_at": statement.excluded.updated_at,
        },
    )


_SAVE_DIALOGUE: dict[str, Any] = _per_dialect(_save_dialogue)
_ENQUEUE = insert(_OUTBOX)


def _claim(*, lock: bool) -> Any:
    """An update's chat if it is still pending, and whether an earlier update of that
    chat still waits (one statement: the claim used to take two round trips)."""
    I = _INBOUND  # noqa: E741
    earlier = _INBOUND.alias("earlier")
    statement = select(
        I.c.chat_key,
        exists()
        .where(
            earlier.c.chat_key == I.c.chat_key,
            earlier.c.status == PENDING,
            earlier.c.id < I.c.id,
        )
        .label("earlier"),
    ).where(I.c.id == bindparam("p_id"), I.c.status == PENDING)
    if lock:
        # Skips an update another instance is handling; the earlier-check reads the
        # statement's snapshot, so at worst an update waits one more round.
        statement = statement.with_for_update(skip_locked=True, of=I)
    return statement


_CLAIM = {"sqlite": _claim(lock=False), "postgresql": _claim(lock=True)}
_IS_PENDING = select(_INBOUND.c.id).where(
    _INBOUND.c.id == bindparam("p_id"), _INBOUND.c.status == PENDING
)
_PENDING_UPDATES = (
    select(
        _INBOUND.c.id,
        _INBOUND.c.source,
        _INBOUND.c.external_id,
        _INBOUND.c.chat_key,
        _INBOUND.c.payload,
        _INBOUND.c.received_at,
    )
    .where(_INBOUND.c.status == PENDING)
    .order_by(_INBOUND.c.id)
    .limit(bindparam("p_limit", type_=Integer))
)
# The SET clause comes from the parameters' keys.
_SET_INBOUND = update(_INBOUND).where(_INBOUND.c.id == bindparam("p_id"))
# What the sender records of a part that went out: the message locked and read, updated
# (the SET clause from the parameters' keys), and the ids of what it became.
_OUTBOX_FOR_PART = (
    select(
        _OUTBOX.c.channel,
        _OUTBOX.c.address,
        _OUTBOX.c.case_id,
        _OUTBOX.c.purpose,
        _OUTBOX.c.provider_ids,
    )
    .where(_OUTBOX.c.id == bindparam("p_id"))
    .with_for_update()
)
_SET_OUTBOX = update(_OUTBOX).where(_OUTBOX.c.id == bindparam("p_id"))
_NEW_SENT_MESSAGE = insert(_table(SentMessageRecord))


def _outbox_row(record: OutboxRecord) -> OutboxRow:
    recipient = Recipient(Channel(record.channel), record.address)
    message = OutgoingMessage.from_dict(
        recipient,
        record.payload,
        case_id=record.case_id,
        purpose=record.purpose,
        album_key=record.album_key,
    )
    return OutboxRow(
        id=record.id,
        recipient=recipient,
        message=message,
        parts_done=record.parts_done,
        attempts=record.attempts,
        created_at=record.created_at,
    )


def merge_album_payload(waiting: dict[str, Any], joining: dict[str, Any]) -> dict[str, Any]:
    """The payload of a waiting album message after another album item joins it.

    The attachments are appended; a caption that arrives on a later item fills the
    text only if the waiting message has none.
    """
    merged = dict(waiting)
    merged["attachments"] = [*waiting.get("attachments", []), *joining.get("attachments", [])]
    if not merged.get("text") and joining.get("text"):
        merged["text"] = joining["text"]
    return merged


# --- the core's ports ------------------------------------------------------------------


class SqlCaseRepository(_Part):
    async def add(self, case: Case) -> Case:
        """Stores a new case and its intake attachments; sets `case.id` and returns the case.

        A code already taken raises ValueError (the transaction stays usable).
        """
        if case.id is not None:
            raise ValueError(f"case {case.code} is already stored (id {case.id})")
        record = CaseRecord(**_case_values(case))
        try:
            # In a savepoint, so that a taken code leaves the transaction usable.
            async with self._session.begin_nested():
                self._session.add(record)
        except IntegrityError as error:
            if await self.code_exists(case.code):
                raise ValueError(f"case code {case.code} is taken") from error
            raise
        self._session.add_all(_attachment_records(record.id, None, case.attachments))
        await self._session.flush()
        case.id = record.id
        return case

    async def code_exists(self, code: str) -> bool:
        found = await self._session.scalar(select(exists().where(CaseRecord.code == code)))
        return bool(found)

    async def get(self, case_id: int) -> Case | None:
        cases = await self._cases(select(CaseRecord).where(CaseRecord.id == case_id))
        return cases[0] if cases else None

    async def get_by_code(self, code: str) -> Case | None:
        cases = await self._with_files(select(CaseRecord).where(CaseRecord.code == code))
        return cases[0] if cases else None

    async def update(self, case: Case) -> None:
        """Saves the case's fields (not its intake attachments, which never change)."""
        if case.id is None:
            raise ValueError(f"case {case.code} was never added")
        record = await self._session.get(CaseRecord, case.id, populate_existing=True)
        if record is None:
            raise LookupError(f"case {case.id} not found")
        for name, value in _case_values(case).items():
            setattr(record, name, value)
        await self._session.flush()

    async def open_cases_of_reporter(self, reporter_id: int) -> list[Case]:
        return await self._cases(
            select(CaseRecord)
            .where(CaseRecord.reporter_id == reporter_id, CaseRecord.status.in_(OPEN_STATUSES))
            .order_by(CaseRecord.created_at.desc(), CaseRecord.id.desc())
        )

    async def recent_cases_of_reporter(self, reporter_id: int, limit: int) -> list[Case]:
        newest_first = (CaseRecord.created_at.desc(), CaseRecord.id.desc())
        return await self._with_files(
            select(CaseRecord)
            .where(CaseRecord.reporter_id == reporter_id)
            .order_by(*newest_first)
            .limit(limit),
            *newest_first,
        )

    async def open_cases(self, limit: int) -> list[Case]:
        return await self._cases(
            select(CaseRecord)
            .where(_IS_OPEN)
            .order_by(CaseRecord.created_at, CaseRecord.id)
            .limit(limit)
        )

    async def awaiting_rating(self, reporter_id: int) -> Case | None:
        """The reporter's most recently closed case whose rating was asked for and not given."""
        cases = await self._cases(
            select(CaseRecord)
            .where(
                CaseRecord.reporter_id == reporter_id,
                CaseRecord.status == CaseStatus.CLOSED.value,
                CaseRecord.rating_requested.is_(True),
                CaseRecord.rating.is_(None),
            )
            .order_by(CaseRecord.closed_at.desc().nulls_last(), CaseRecord.id.desc())
            .limit(1)
        )
        return cases[0] if cases else None

    async def count_filed_since(self, reporter_id: int, since: datetime) -> int:
        count = await self._session.scalar(
            select(func.count())
            .select_from(CaseRecord)
            .where(CaseRecord.reporter_id == reporter_id, CaseRecord.created_at >= since)
        )
        return int(count or 0)

    async def due_for_check(self, now: datetime, limit: int) -> list[Case]:
        return await self._cases(
            select(CaseRecord)
            .where(CaseRecord.next_check_at <= now, CaseRecord.status.in_(OPEN_STATUSES))
            .order_by(CaseRecord.next_check_at, CaseRecord.id)
            .limit(limit)
        )

    async def digests_due(self, now: datetime, limit: int) -> list[Case]:
        return await self._cases(
            select(CaseRecord)
            .where(CaseRecord.digest_at <= now)
            .order_by(CaseRecord.digest_at, CaseRecord.id)
            .limit(limit)
        )

    async def overdue(self, step: Step, unit_code: str | None, now: datetime) -> list[Case]:
        statement = select(CaseRecord).where(
            CaseRecord.step == step.value,
            CaseRecord.due_at <= now,
            CaseRecord.status.in_(OPEN_STATUSES),
        )
        if unit_code is not None:
            statement = statement.where(CaseRecord.unit_code == unit_code)
        return await self._cases(statement.order_by(CaseRecord.due_at, CaseRecord.id))

    async def count_open(self) -> int:
        # The same condition as `open_cases`, so that the partial index of open cases serves.
        count = await self._session.scalar(
            select(func.count()).select_from(CaseRecord).where(_IS_OPEN)
        )
        return int(count or 0)

    async def digest_counts(self, since: datetime, now: datetime) -> DigestCounts:
        def count(*conditions: Any) -> Any:
            return select(func.count()).select_from(CaseRecord).where(*conditions).scalar_subquery()

        row = (
            await self._session.execute(
                select(
                    count(CaseRecord.created_at >= since, CaseRecord.created_at <= now),
                    count(CaseRecord.status.in_(WAITING_STATUSES)),
                    count(
                        CaseRecord.step.in_(STAFF_STEPS),
                        CaseRecord.due_at <= now,
                        CaseRecord.status.in_(OPEN_STATUSES),
                    ),
                    count(CaseRecord.status == CaseStatus.ANSWERED.value),
                    count(
                        CaseRecord.closed_at >= since,
                        CaseRecord.closed_at <= now,
                        CaseRecord.status.in_(FINISHED_STATUSES),
                    ),
                )
            )
        ).one()
        return DigestCounts(*(int(value or 0) for value in row))

    async def add_event(self, case_id: int, event: CaseEvent) -> None:
        record = CaseEventRecord(
            case_id=case_id,
            at=event.at,
            kind=event.kind.value,
            actor_role=event.actor.role,
            actor_user_id=event.actor.user_id,
            actor_name=event.actor.name,
            actor_chat_id=event.actor.chat_id,
            note=event.note,
            status_after=event.status_after.value if event.status_after else None,
            unit_code=event.unit_code,
        )
        self._session.add(record)
        await self._session.flush()
        if event.attachments:
            self._session.add_all(_attachment_records(case_id, record.id, event.attachments))
            await self._session.flush()

    async def events(self, case_id: int) -> list[CaseEvent]:
        """The case's audit trail, oldest first."""
        records = await self._all(
            select(CaseEventRecord)
            .where(CaseEventRecord.case_id == case_id)
            .order_by(CaseEventRecord.id)
        )
        files: dict[int, list[Attachment]] = {}
        if records:
            for file in await self._all(
                select(CaseAttachmentRecord)
                .where(
                    CaseAttachmentRecord.case_id == case_id,
                    CaseAttachmentRecord.event_id.is_not(None),
                )
                .order_by(CaseAttachmentRecord.event_id, CaseAttachmentRecord.position)
            ):
                assert file.event_id is not None
                files.setdefault(file.event_id, []).append(_attachment(file))
        return [
            CaseEvent(
                kind=EventKind(record.kind),
                at=record.at,
                actor=Actor(
                    role=record.actor_role,
                    user_id=record.actor_user_id,
                    name=record.actor_name,
                    chat_id=record.actor_chat_id,
                ),
                note=record.note,
                status_after=CaseStatus(record.status_after) if record.status_after else None,
                unit_code=record.unit_code,
                attachments=tuple(files.get(record.id, ())),
            )
            for record in records
        ]

    async def _with_files(self, cases: Select[CaseRecord], *order: Any) -> list[Case]:
        """The cases `cases` selects, each with its intake attachments, in `order`: one
        query, where `_cases` takes two (a round trip fewer for `/status`)."""
        chosen = cases.with_only_columns(CaseRecord.id).subquery()
        rows = (
            await self._session.execute(
                select(CaseRecord, CaseAttachmentRecord)
                .join(chosen, chosen.c.id == CaseRecord.id)
                .outerjoin(
                    CaseAttachmentRecord,
                    and_(
                        CaseAttachmentRecord.case_id == CaseRecord.id,
                        CaseAttachmentRecord.event_id.is_(None),
                    ),
                )
                .order_by(*order, CaseAttachmentRecord.position),
                execution_options=_FRESH,
            )
        ).all()
        found: dict[int, tuple[CaseRecord, list[Attachment]]] = {}
        for record, file in rows:
            _, files = found.setdefault(record.id, (record, []))
            if file is not None:
                files.append(_attachment(file))
        return [_case(record, files) for record, files in found.values()]

    async def _cases(self, statement: Select[CaseRecord]) -> list[Case]:
        records = await self._all(statement)
        if not records:
            return []
        files: dict[int, list[Attachment]] = {record.id: [] for record in records}
        for file in await self._all(
            select(CaseAttachmentRecord)
            .where(
                CaseAttachmentRecord.case_id.in_(list(files)),
                CaseAttachmentRecord.event_id.is_(None),
            )
            .order_by(CaseAttachmentRecord.case_id, CaseAttachmentRecord.position)
        ):
            files[file.case_id].append(_attachment(file))
        return [_case(record, files[record.id]) for record in records]


class SqlReporterRepository(_Part):
    async def get_or_create(
        self, channel: Channel, address: str, display_name: str | None
    ) -> Reporter:
        """The reporter on that chat; created (with `display_name`) if new.

        Safe against a concurrent creation of the same reporter: the insert ignores
        the conflict and the row is read back.
        """
        where = {"p_channel": channel.value, "p_address": address}
        row = (await self._core(_REPORTER_BY_CHAT, where)).first()
        if row is None:
            await self._core(
                self._built(_NEW_REPORTER),
                {
                    "channel": channel.value,
                    "address": address,
                    "display_name": display_name,
                    "created_at": self._clock.now(),
                },
            )
            row = (await self._core(_REPORTER_BY_CHAT, where)).first()
            assert row is not None
        return _reporter(row)

    async def arrived(
        self, channel: Channel, address: str, display_name: str | None, at: datetime
    ) -> Reporter:
        """The reporter on that chat, who just wrote (`last_inbound_at` is `at`); created
        (with `display_name`) if new. One statement for a known reporter, the hot path."""
        where = {"p_channel": channel.value, "p_address": address, "p_at": at}
        row = (await self._core(_REPORTER_ARRIVED, where)).first()
        if row is None:
            await self.get_or_create(channel, address, display_name)
            row = (await self._core(_REPORTER_ARRIVED, where)).first()
            assert row is not None
        return _reporter(row)

    async def get(self, reporter_id: int) -> Reporter | None:
        record = await self._first(select(ReporterRecord).where(ReporterRecord.id == reporter_id))
        return _reporter(record) if record else None

    async def find(self, channel: Channel, address: str) -> Reporter | None:
        record = await self._first(
            select(ReporterRecord).where(
                ReporterRecord.channel == channel.value, ReporterRecord.address == address
            )
        )
        return _reporter(record) if record else None

    async def touch(self, reporter: Reporter, at: datetime) -> None:
        """Records that the reporter just wrote, and their display name unless it is None.

        Also sets `reporter.last_inbound_at`.
        """
        if reporter.id is None:
            raise ValueError("reporter was never stored")
        values: dict[str, Any] = {"p_id": reporter.id, "last_inbound_at": at}
        if reporter.display_name is not None:
            values["display_name"] = reporter.display_name
        await self._update_one(_TOUCH_REPORTER, f"reporter {reporter.id}", values)
        reporter.last_inbound_at = at

    async def count_message(self, reporter_id: int, at: datetime, window: timedelta) -> int:
        # One UPDATE that reads and writes the window: it holds the row lock, so a
        # reporter writing from a second instance's view is counted right anyway.
        count = (
            await self._core(
                _COUNT_MESSAGE, {"p_id": reporter_id, "p_at": at, "p_cutoff": at - window}
            )
        ).scalar()
        if count is None:
            raise LookupError(f"reporter {reporter_id} not found")
        return int(count)

    async def messages_in_window(self, reporter_id: int, at: datetime, window: timedelta) -> int:
        row = (
            await self._session.execute(
                select(ReporterRecord.window_started_at, ReporterRecord.window_count).where(
                    ReporterRecord.id == reporter_id
                )
            )
        ).first()
        if row is None or row.window_started_at is None or row.window_started_at <= at - window:
            return 0
        return int(row.window_count)

    async def set_blocked(self, reporter_id: int, at: datetime | None) -> None:
        await self._update_one(
            update(ReporterRecord).where(ReporterRecord.id == reporter_id).values(blocked_at=at),
            f"reporter {reporter_id}",
        )


class SqlDialogueRepository(_Part):
    async def load(self, reporter_id: int) -> DialogueState | None:
        row = (await self._core(_LOAD_DIALOGUE, {"p_reporter": reporter_id})).first()
        return DialogueState(step=row.step, data=row.data) if row else None

    async def save(self, reporter_id: int, state: DialogueState) -> None:
        await self._core(
            self._built(_SAVE_DIALOGUE),
            {
                "reporter_id": reporter_id,
                "step": state.step,
                "data": state.data,
                "updated_at": self._clock.now(),
            },
        )

    async def clear(self, reporter_id: int) -> None:
        await self._session.execute(
            delete(DialogueRecord).where(DialogueRecord.reporter_id == reporter_id),
            execution_options=_NO_SYNC,
        )


class SqlOutbox(_Part):
    def __init__(self, session: AsyncSession, clock: Clock, chats: ChatMigrations) -> None:
        super().__init__(session, clock)
        self._chats = chats

    async def enqueue(self, message: OutgoingMessage) -> None:
        """Queues a message, due now; an album item joins its waiting album message.

        A message with an album key is held for ALBUM_HOLD, so that the album's other
        items (separate updates, no "album done" signal) can join it. It is joined only
        while still on hold: the sender never reads a held row, and the join is a
        conditional UPDATE, so an item that comes too late goes out on its own.
        """
        payload = message.to_dict()
        now = self._clock.now()
        if message.album_key is not None and await self._join_album(message, payload, now):
            return
        await self._core(
            _ENQUEUE,
            {
                "channel": message.recipient.channel.value,
                "address": message.recipient.address,
                "payload": payload,
                "case_id": message.case_id,
                "purpose": message.purpose,
                "album_key": message.album_key,
                "priority": URGENT if message.urgent else ORDINARY,
                "status": PENDING,
                "parts_done": 0,
                "attempts": 0,
                "next_attempt_at": now + ALBUM_HOLD if message.album_key else now,
                "created_at": now,
                "provider_ids": [],
            },
        )

    async def _join_album(
        self, message: OutgoingMessage, payload: dict[str, Any], now: datetime
    ) -> bool:
        not_started = (
            OutboxRecord.status == PENDING,
            OutboxRecord.parts_done == 0,
            OutboxRecord.next_attempt_at > now,
        )
        waiting = await self._first(
            select(OutboxRecord)
            .where(
                OutboxRecord.album_key == message.album_key,
                OutboxRecord.channel == message.recipient.channel.value,
                OutboxRecord.address == message.recipient.address,
                *not_started,
            )
            .order_by(OutboxRecord.id.desc())
            .limit(1)
            .with_for_update()
        )
        if waiting is None:
            return False
        joined = await self._update(
            update(OutboxRecord)
            .where(OutboxRecord.id == waiting.id, *not_started)
            .values(payload=merge_album_payload(waiting.payload, payload))
        )
        return joined == 1

    async def find_sent(self, recipient: Recipient, message_id: str) -> SentRef | None:
        """What our message with this id was about; also found under a chat's former ids."""
        addresses = await self._chats.lineage(recipient.address)
        records = await self._all(
            select(SentMessageRecord).where(
                SentMessageRecord.channel == recipient.channel.value,
                SentMessageRecord.address.in_(addresses),
                SentMessageRecord.message_id == message_id,
            )
        )
        if not records:
            return None
        # The chat's own id first, then its former ids, newest record first.
        best = min(records, key=lambda r: (addresses.index(r.address), -r.id))
        return SentRef(case_id=best.case_id, purpose=best.purpose)

    async def trouble(self, failed_since: datetime, limit: int) -> DeliveryTrouble:
        heads = await self._all(
            select(OutboxRecord)
            .where(OutboxRecord.attempts > 0, _first_waiting_of_its_chat())
            .order_by(OutboxRecord.created_at, OutboxRecord.id)
            .limit(limit)
        )
        failed = await self._all(
            select(OutboxRecord)
            .where(OutboxRecord.status == FAILED, OutboxRecord.failed_at >= failed_since)
            .order_by(OutboxRecord.failed_at.desc(), OutboxRecord.id.desc())
            .limit(limit)
        )
        waiting: dict[tuple[str, str], tuple[int, datetime]] = {}
        if heads:
            chats = [(head.channel, head.address) for head in heads]
            rows = await self._session.execute(
                select(
                    OutboxRecord.channel,
                    OutboxRecord.address,
                    func.count(),
                    func.min(OutboxRecord.created_at),
                )
                .where(
                    OutboxRecord.status == PENDING,
                    tuple_(OutboxRecord.channel, OutboxRecord.address).in_(chats),
                )
                .group_by(OutboxRecord.channel, OutboxRecord.address)
            )
            waiting = {(channel, address): (n, oldest) for channel, address, n, oldest in rows}
        case_ids = {r.case_id for r in (*heads, *failed) if r.case_id is not None}
        codes: dict[int, str] = {}
        if case_ids:
            found = await self._session.execute(
                select(CaseRecord.id, CaseRecord.code).where(CaseRecord.id.in_(case_ids))
            )
            codes = {case_id: code for case_id, code in found}

        def recipient(record: OutboxRecord) -> Recipient:
            return Recipient(Channel(record.channel), record.address)

        def code(record: OutboxRecord) -> str | None:
            return codes.get(record.case_id) if record.case_id is not None else None

        stuck = []
        for head in heads:
            count, oldest = waiting.get((head.channel, head.address), (1, head.created_at))
            stuck.append(
                StuckChat(
                    recipient(head),
                    count,
                    oldest,
                    head.attempts,
                    head.next_attempt_at,
                    head.last_error,
                    code(head),
                )
            )
        return DeliveryTrouble(
            stuck,
            [
                FailedSend(recipient(r), r.failed_at or r.created_at, r.last_error, code(r))
                for r in failed
            ],
        )

    async def resume(self, recipient: Recipient) -> int:
        addresses = await self._chats.lineage(recipient.address)
        mine = (
            OutboxRecord.channel == recipient.channel.value,
            OutboxRecord.address.in_(addresses),
            OutboxRecord.status == PENDING,
        )
        now = self._clock.now()
        await self._update(
            update(OutboxRecord)
            .where(*mine, OutboxRecord.attempts > 0, OutboxRecord.next_attempt_at > now)
            .values(next_attempt_at=now)
        )
        count = await self._session.scalar(
            select(func.count()).select_from(OutboxRecord).where(*mine)
        )
        return int(count or 0)


# --- the service's queues --------------------------------------------------------------


class InboundLog(_Part):
    """Webhook deliveries, recorded once each, handled in the order they arrived."""

    async def record(
        self,
        source: str,
        external_id: str,
        chat_key: str,
        payload: dict[str, Any],
        received_at: datetime,
    ) -> bool:
        """Records a delivery; False if this (source, external_id) was recorded before."""
        delivery = InboundDelivery(source, external_id, chat_key, payload)
        return (await self.record_many([delivery], received_at))[0]

    async def record_many(
        self, deliveries: Sequence[InboundDelivery], received_at: datetime
    ) -> list[bool]:
        """Records deliveries in one statement, in their order; for each, False if its
        (source, external_id) was recorded before, or earlier in the same list."""
        first: dict[tuple[str, str], int] = {}
        for n, delivery in enumerate(deliveries):
            first.setdefault((delivery.source, delivery.external_id), n)
        rows = [
            {
                "source": delivery.source,
                "external_id": delivery.external_id,
                "chat_key": delivery.chat_key,
                "payload": delivery.payload,
                "received_at": received_at,
                "status": PENDING,
            }
            for n, delivery in enumerate(deliveries)
            if first[(delivery.source, delivery.external_id)] == n
        ]
        R = InboundUpdateRecord
        inserted = await self._session.execute(
            self._upsert_module()
            .insert(R)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["source", "external_id"])
            .returning(R.source, R.external_id)
        )
        fresh = {(source, external_id) for source, external_id in inserted}
        return [
            first[key] == n and key in fresh
            for n, key in enumerate((d.source, d.external_id) for d in deliveries)
        ]

    async def claim(self, id: int) -> bool:
        """Locks a delivery for handling in this transaction; False if it is already
        handled, if another instance is handling it right now (PostgreSQL), or if an
        earlier delivery of the same chat still waits: each chat's updates are handled in
        the order they arrived, whichever instance takes them."""
        row = (await self._core(self._built(_CLAIM), {"p_id": id})).first()
        if row is None:
            return False
        if not row.chat_key:  # an update of no chat: nothing to keep in order with
            return True
        return not row.earlier

    async def is_pending(self, id: int) -> bool:
        found = (await self._core(_IS_PENDING, {"p_id": id})).first()
        return found is not None

    async def pending(self, limit: int) -> list[InboundRow]:
        """Deliveries not handled yet, oldest first."""
        rows = await self._core(_PENDING_UPDATES, {"p_limit": limit})
        return [InboundRow(*row) for row in rows]

    async def mark_done(self, id: int, at: datetime) -> None:
        values = {"p_id": id, "status": DONE, "processed_at": at}
        await self._update_one(_SET_INBOUND, f"inbound update {id}", values)

    async def mark_failed(self, id: int, error: str, at: datetime) -> None:
        await self._update_one(
            update(InboundUpdateRecord)
            .where(InboundUpdateRecord.id == id)
            .values(status=FAILED, processed_at=at, error=error),
            f"inbound update {id}",
        )

    async def backlog(self) -> int:
        """How many deliveries wait to be handled."""
        count = await self._session.scalar(
            select(func.count())
            .select_from(InboundUpdateRecord)
            .where(InboundUpdateRecord.status == PENDING)
        )
        return int(count or 0)


class OutboxDelivery(_Part):
    """The sender's side of the outbox: what is due, and how sending went."""

    async def due(
        self, now: datetime, limit: int, busy: Collection[tuple[str, str]] = ()
    ) -> list[OutboxRow]:
        """The first pending message of each chat, if it is due and the chat not busy.

        A chat's later messages wait behind its first pending one (even while that
        one waits for a retry), so they never overtake it. The longest due come
        first (for messages never retried: the oldest first). `busy` holds
        (channel, address) pairs the sender is working on.
        """
        parameters: dict[str, Any] = {"now": now, "limit": limit}
        statement = _DUE
        if busy:
            statement = _DUE_UNLESS_BUSY
            parameters["busy"] = [(str(channel), str(address)) for channel, address in busy]
        records = await self._session.scalars(statement, parameters, execution_options=_FRESH)
        return [_outbox_row(record) for record in records.all()]

    async def still_pending(self, outbox_id: int) -> OutboxRow | None:
        """The message as stored now, if it still waits to be sent (another instance
        may have sent it since it was read)."""
        record = await self._first(
            select(OutboxRecord).where(OutboxRecord.id == outbox_id, OutboxRecord.status == PENDING)
        )
        return _outbox_row(record) if record is not None else None

    async def part_sent(
        self,
        outbox_id: int,
        parts_done: int,
        message_ids: list[str],
        sent_at: datetime | None = None,
        *,
        keyboard: bool = False,
    ) -> None:
        """Records that the message's first `parts_done` parts went out with these ids
        (`keyboard`: the last part carries the message's buttons); with `sent_at`, that
        the whole message went out then (as `mark_sent`)."""
        record = (await self._core(_OUTBOX_FOR_PART, {"p_id": outbox_id})).first()
        if record is None:
            raise LookupError(f"outbox message {outbox_id} not found")
        values: dict[str, Any] = {
            "p_id": outbox_id,
            "parts_done": parts_done,
            "provider_ids": [*record.provider_ids, *message_ids],
        }
        if sent_at is not None:
            values.update(status=SENT, sent_at=sent_at)
        await self._core(_SET_OUTBOX, values)
        if message_ids:
            await self._session.execute(
                _NEW_SENT_MESSAGE,
                [
                    {
                        "outbox_id": outbox_id,
                        "channel": record.channel,
                        "address": record.address,
                        "message_id": message_id,
                        "case_id": record.case_id,
                        "purpose": record.purpose,
                        "keyboard": keyboard,
                    }
                    for message_id in message_ids
                ],
            )

    async def keyboards(self, row: OutboxRow) -> list[str]:
        """The ids of the messages with buttons sent before `row` to its chat about its
        case, with its purpose (what an `edits_buttons` message edits), oldest first."""
        message = row.message
        if message.case_id is None:
            return []
        ids = await self._session.scalars(
            select(SentMessageRecord.message_id)
            .where(
                SentMessageRecord.case_id == message.case_id,
                SentMessageRecord.channel == row.recipient.channel.value,
                SentMessageRecord.address == row.recipient.address,
                SentMessageRecord.purpose == message.purpose,
                SentMessageRecord.keyboard.is_(True),
                SentMessageRecord.outbox_id < row.id,
            )
            .order_by(SentMessageRecord.id),
            execution_options=_FRESH,
        )
        return list(ids.all())

    async def mark_acknowledged(self, case_id: int, at: datetime) -> None:
        """Records when the case's acknowledgement reached the provider (the first time)."""
        await self._update(
            update(CaseRecord)
            .where(CaseRecord.id == case_id, CaseRecord.acknowledged_at.is_(None))
            .values(acknowledged_at=at)
        )

    async def mark_sent(self, outbox_id: int, at: datetime) -> None:
        await self._update_one(
            update(OutboxRecord)
            .where(OutboxRecord.id == outbox_id)
            .values(status=SENT, sent_at=at),
            f"outbox message {outbox_id}",
        )

    async def retry_later(self, outbox_id: int, at: datetime, error: str) -> None:
        """Counts a failed attempt; the message (and its chat) waits until `at`."""
        await self._update_one(
            update(OutboxRecord)
            .where(OutboxRecord.id == outbox_id)
            .values(
                attempts=OutboxRecord.attempts + 1,
                next_attempt_at=at,
                last_error=error,
            ),
            f"outbox message {outbox_id}",
        )

    async def mark_failed(self, outbox_id: int, error: str, at: datetime) -> None:
        """Gives up on the message (the chat's next message becomes due)."""
        await self._update_one(
            update(OutboxRecord)
            .where(OutboxRecord.id == outbox_id)
            .values(
                status=FAILED,
                attempts=OutboxRecord.attempts + 1,
                failed_at=at,
                last_error=error,
            ),
            f"outbox message {outbox_id}",
        )

    async def reroute(self, channel: str, old_address: str, new_address: str) -> int:
        """Sends the pending messages of a chat that moved to its new address; how many."""
        return await self._update(
            update(OutboxRecord)
            .where(
                OutboxRecord.channel == str(channel),
                OutboxRecord.address == old_address,
                OutboxRecord.status == PENDING,
            )
            .values(address=new_address)
        )

    async def oldest_pending(self) -> datetime | None:
        """When the oldest message still waiting to be sent was queued."""
        oldest: datetime | None = await self._session.scalar(
            select(func.min(OutboxRecord.created_at)).where(OutboxRecord.status == PENDING)
        )
        return oldest

    async def backlog(self) -> int:
        """How many messages wait to be sent."""
        count = await self._session.scalar(
            select(func.count()).select_from(OutboxRecord).where(OutboxRecord.status == PENDING)
        )
        return int(count or 0)

    async def record_status(
        self, channel: str, message_id: str, status: str, error_code: str | None, at: datetime
    ) -> OutboxRow | None:
        """Stores the provider's delivery status of one message; returns its outbox row.

        A status never goes back (a late "sent" after "delivered" is ignored), so callbacks
        that arrive out of order leave the latest state.
        """
        record = await self._first(
            select(SentMessageRecord).where(
                SentMessageRecord.channel == channel, SentMessageRecord.message_id == message_id
            )
        )
        if record is None:
            return None
        if _STATUS_RANK.get(status, 0) >= _STATUS_RANK.get(record.status or "", 0):
            record.status, record.error_code, record.status_at = status, error_code, at
        outbox = await self._first(select(OutboxRecord).where(OutboxRecord.id == record.outbox_id))
        return _outbox_row(outbox) if outbox else None

    async def delivery_status(self, channel: str, message_id: str) -> tuple[str, str | None] | None:
        """The last recorded (status, error code) of a sent message."""
        record = await self._first(
            select(SentMessageRecord).where(
                SentMessageRecord.channel == channel, SentMessageRecord.message_id == message_id
            )
        )
        return (record.status, record.error_code) if record and record.status else None

    async def failed_since(self, at: datetime) -> list[OutboxRow]:
        """The messages given up on at or after `at`, oldest first."""
        records = await self._all(
            select(OutboxRecord)
            .where(OutboxRecord.status == FAILED, OutboxRecord.failed_at >= at)
            .order_by(OutboxRecord.id)
        )
        return [_outbox_row(record) for record in records]


class ChatMigrations(_Part):
    """Telegram groups that became supergroups: old id → new id."""

    async def record_migration(self, old: str, new: str, at: datetime) -> None:
        if old == new:
            return
        statement = (
            self._upsert_module()
            .insert(ChatMigrationRecord)
            .values(old_chat_id=old, new_chat_id=new, migrated_at=at)
        )
        statement = statement.on_conflict_do_update(
            index_elements=["old_chat_id"],
            set_={
                "new_chat_id": statement.excluded.new_chat_id,
                "migrated_at": statement.excluded.migrated_at,
            },
        )
        await self._session.execute(statement)

    async def current(self, address: str) -> str:
        """Where the chat is now, following migrations (and chains of them)."""
        seen = {address}
        for _ in range(_MAX_MIGRATION_HOPS):
            new = await self._session.scalar(
                select(ChatMigrationRecord.new_chat_id).where(
                    ChatMigrationRecord.old_chat_id == address
                )
            )
            if new is None or new in seen:
                break
            seen.add(new)
            address = new
        return address

    async def original(self, address: str) -> str:
        """The chat's first id before any migration (itself if it never migrated)."""
        lineage = await self.lineage(address)
        return lineage[-1]

    async def lineage(self, address: str) -> list[str]:
        """The chat's id, then the id it migrated from, and so on back to the first."""
        chain = [address]
        for _ in range(_MAX_MIGRATION_HOPS):
            old = await self._session.scalar(
                select(ChatMigrationRecord.old_chat_id)
                .where(ChatMigrationRecord.new_chat_id == chain[-1])
                .order_by(ChatMigrationRecord.migrated_at, ChatMigrationRecord.old_chat_id)
                .limit(1)
            )
            if old is None or old in chain:
                break
            chain.append(old)
        return chain


class SqlMarks(_Part):
    async def get(self, name: str) -> str | None:
        value: str | None = await self._session.scalar(
            select(MarkRecord.value).where(MarkRecord.name == name)
        )
        return value

    async def put(self, name: str, value: str) -> None:
        now = self._clock.now()
        await self._session.execute(
            self._upsert_module()
            .insert(MarkRecord)
            .values(name=name, value=value, updated_at=now)
            .on_conflict_do_update(
                index_elements=["name"], set_={"value": value, "updated_at": now}
            )
        )


class TransactionLocks(_Part):
    """Locks held until the transaction ends, deciding which instance does a job."""

    async def try_hold(self, key: int) -> bool:
        """Takes lock `key` for this transaction; False if another transaction holds it.

        On PostgreSQL an advisory transaction lock (released at commit, rollback or a
        lost connection). SQLite serialises writing transactions (BEGIN IMMEDIATE), so
        there the transaction itself is the lock and this is always True.
        """
        if self._dialect != "postgresql":
            return True
        held = await self._session.scalar(
            select(func.pg_try_advisory_xact_lock(LOCK_NAMESPACE, key))
        )
        return bool(held)


# The first key of PostgreSQL's two-key advisory locks, naming aduanbot's locks.
LOCK_NAMESPACE = 0x61647561


class SqlUnitOfWork:
    """One transaction's worth of repositories (implements `bot.core.ports.UnitOfWork`).

    The core's five are typed as its Protocols (a Protocol's plain attribute must
    match exactly); the service's others keep their own types.
    """

    cases: CaseRepository
    reporters: ReporterRepository
    dialogues: DialogueRepository
    outbox: Outbox
    marks: Marks
    inbound: InboundLog
    sending: OutboxDelivery
    chats: ChatMigrations
    locks: TransactionLocks
    recaps: SqlRecaps
    privacy: PersonalData
    reports: ReportJobs

    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self.chats = ChatMigrations(session, clock)
        self.cases = SqlCaseRepository(session, clock)
        self.reporters = SqlReporterRepository(session, clock)
        self.dialogues = SqlDialogueRepository(session, clock)
        self.outbox = SqlOutbox(session, clock, self.chats)
        self.inbound = InboundLog(session, clock)
        self.sending = OutboxDelivery(session, clock)
        self.marks = SqlMarks(session, clock)
        self.locks = TransactionLocks(session, clock)
        self.recaps = SqlRecaps(session)
        self.privacy = PersonalData(session, clock)
        self.reports = ReportJobs(session, clock)


if TYPE_CHECKING:

    def _implements_the_core_port(uow: SqlUnitOfWork) -> UnitOfWork:
        return uow
