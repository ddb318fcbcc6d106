"""The cases: each case with its intake attachments and its audit trail (the core's
`CaseRepository`), and the mapping between their records and the core's `Case`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, func, insert, or_, select

from bot.core.lifecycle import Holder, staff_steps, statuses_held_by
from bot.core.model import (
    Actor,
    Attachment,
    AttachmentKind,
    Case,
    CaseEvent,
    CaseStatus,
    Channel,
    ContactDetails,
    EventKind,
    Intake,
    Milestones,
    Privacy,
    Relays,
    Step,
    Watch,
)
from bot.core.ports import PHONE_SEPARATORS, CaseSearch, DigestCounts, SearchTerm
from storage.models import CaseAttachmentRecord, CaseEventRecord, CaseRecord
from storage.repositories.base import FRESH, Part, per_dialect, table
from storage.repositories.recaps import pin

OPEN_STATUSES = tuple(status.value for status in CaseStatus if status.is_open)
# The statuses as literals, so the query can use the partial index of open cases
# (ix_cases_open_created_at: both databases match its predicate only against literals).
_IS_OPEN = CaseRecord.status.in_(
    bindparam("open_statuses", OPEN_STATUSES, expanding=True, literal_execute=True)
)
WAITING_STATUSES = tuple(status.value for status in statuses_held_by(Holder.OFFICERS))
STAFF_STEPS = tuple(step.value for step in staff_steps())
FINISHED_STATUSES = tuple(status.value for status in CaseStatus if not status.is_open)

_CASES = table(CaseRecord)
_EVENTS = table(CaseEventRecord)
# A new case and a new event, as Core statements built once (see `Part._core`): the
# ORM's unit of work cost more than the database for these rows of sixty and ten columns,
# and a case's savepoint (so that a taken code left the transaction usable) two more
# statements, where ON CONFLICT on the code inserts nothing and says so.
_NEW_CASE: dict[str, Any] = per_dialect(
    lambda module: (
        module.insert(_CASES).on_conflict_do_nothing(index_elements=["code"]).returning(_CASES.c.id)
    )
)
_NEW_EVENT = insert(_EVENTS).returning(_EVENTS.c.id)
# The complaints a reporter filed since a moment (a /start asks): built once, as a Core
# statement (see `Part._core`). A case staff entered is not the reporter's doing.
_FILED_SINCE = (
    select(func.count())
    .select_from(_CASES)
    .where(
        _CASES.c.reporter_id == bindparam("p_reporter"),
        _CASES.c.created_at >= bindparam("p_since", type_=_CASES.c.created_at.type),
        _CASES.c.source.is_(None),
    )
)


# --- what /cari compares


def _stored_phone(column: Any) -> Any:
    """A stored phone number as `SearchTerm.phones` spells it: without separators."""
    for separator in PHONE_SEPARATORS:
        column = func.replace(column, separator, "")
    return column


def _matches(term: SearchTerm, identity: bool) -> ColumnElement[bool]:
    """A case the term finds: by its whole code (any case), or, unless it is anonymised,
    inside a field (lower() both sides, LIKE with % and _ escaped: on SQLite and
    PostgreSQL alike), or as the reporter's phone in any stored form."""
    fields = [CaseRecord.description, CaseRecord.location_text, CaseRecord.lapor_number]
    if identity:
        fields.append(CaseRecord.reporter_name)
    inside = [field.icontains(term.text, autoescape=True) for field in fields]
    if identity and term.phones:
        inside += [
            _stored_phone(CaseRecord.reporter_contact).in_(term.phones),
            _stored_phone(CaseRecord.reporter_whatsapp).in_(term.phones),
        ]
    return or_(
        CaseRecord.code == term.text.upper(),
        and_(CaseRecord.anonymised_at.is_(None), or_(*inside)),
    )


# --- mapping between records and the core's dataclasses


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
        "proposed_stamp": case.milestones.proposed,
        "approved_stamp": case.milestones.approved,
        "submitted_stamp": case.milestones.submitted,
        "reviewed_stamp": case.milestones.reviewed,
        "relay_window_at": case.relays.window_at,
        "relayed_count": case.relays.relayed,
        "held_count": case.relays.held,
        "digest_at": case.relays.digest_at,
        **_intake_values(case.intake),
        "reporter_whatsapp": case.contacts.whatsapp,
        "reporter_email": case.contacts.email,
        "reporter_address": case.contacts.address,
        "lapor_number": case.lapor_number,
        "merged_into": case.merged_into,
        "plan": case.plan,
        "proposed_unit": case.proposed_unit,
        "pending_unit": case.pending_unit,
        "forwarded_to": case.forwarded_to,
        # acknowledged_at is the sender's to write (`mark_acknowledged`), never overwritten
    }


def _intake_values(intake: Intake | None) -> dict[str, Any]:
    if intake is None:
        return dict.fromkeys(("source", "received_on", "entered_by_id", "entered_by_name"))
    return {
        "source": intake.source,
        "received_on": intake.received_on,
        "entered_by_id": intake.entered_by_id,
        "entered_by_name": intake.entered_by_name,
    }


def _intake(record: CaseRecord) -> Intake | None:
    if record.source is None or record.received_on is None:
        return None
    return Intake(
        source=record.source,
        received_on=record.received_on,
        entered_by_id=record.entered_by_id or "",
        entered_by_name=record.entered_by_name or "",
    )


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
            record.filed_stamp,
            record.disposed_stamp,
            record.answered_stamp,
            record.closed_stamp,
            record.proposed_stamp,
            record.approved_stamp,
            record.submitted_stamp,
            record.reviewed_stamp,
        ),
        relays=Relays(
            record.relay_window_at, record.relayed_count, record.held_count, record.digest_at
        ),
        intake=_intake(record),
        contacts=ContactDetails(
            record.reporter_whatsapp, record.reporter_email, record.reporter_address
        ),
        lapor_number=record.lapor_number,
        merged_into=record.merged_into,
        plan=record.plan,
        proposed_unit=record.proposed_unit,
        pending_unit=record.pending_unit,
        forwarded_to=record.forwarded_to,
    )


class SqlCaseRepository(Part):
    async def add(self, case: Case) -> Case:
        """Stores a new case and its intake attachments; sets `case.id` and returns the case.

        A code already taken raises ValueError (the transaction stays usable).
        """
        if case.id is not None:
            raise ValueError(f"case {case.code} is already stored (id {case.id})")
        # A taken code inserts nothing (no error, no savepoint): the transaction stays usable.
        row = (await self._core(self._built(_NEW_CASE), _case_values(case))).first()
        if row is None:
            raise ValueError(f"case code {case.code} is taken")
        case.id = row.id
        if case.attachments:
            self._session.add_all(_attachment_records(row.id, None, case.attachments))
            await self._session.flush()
        return case

    async def code_exists(self, code: str) -> bool:
        found = await self._session.scalar(select(exists().where(CaseRecord.code == code)))
        return bool(found)

    async def code_with_lapor_number(self, number: str) -> str | None:
        code: str | None = await self._session.scalar(
            select(CaseRecord.code)
            .where(CaseRecord.lapor_number == number)
            .order_by(CaseRecord.id)
            .limit(1)
        )
        return code

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
        parameters = {"p_reporter": reporter_id, "p_since": since}
        count = (await self._core(_FILED_SINCE, parameters)).scalar()
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
                    count(CaseRecord.status == CaseStatus.PROPOSED.value),
                    count(CaseRecord.status == CaseStatus.IN_REVIEW.value),
                )
            )
        ).one()
        return DigestCounts(*(int(value or 0) for value in row))

    async def search(self, search: CaseSearch, offset: int, limit: int) -> list[Case]:
        # A scan of the cases (LIKE '%…%' uses no index); an office's few thousand a year
        # take milliseconds. The code alone would use its unique index.
        statement = select(CaseRecord).where(*(_matches(t, search.identity) for t in search.terms))
        if search.unit_code is not None:
            statement = statement.where(CaseRecord.unit_code == search.unit_code)
        return await self._cases(
            statement.order_by(CaseRecord.created_at.desc(), CaseRecord.id.desc())
            .offset(offset)
            .limit(limit)
        )

    async def merged_into(self, code: str) -> list[Case]:
        return await self._cases(
            select(CaseRecord)
            .where(CaseRecord.merged_into == code)
            .order_by(CaseRecord.created_at, CaseRecord.id)
        )

    async def mains_of_reporter(self, reporter_id: int) -> list[Case]:
        mains = (
            select(CaseRecord.merged_into)
            .where(CaseRecord.reporter_id == reporter_id, CaseRecord.merged_into.is_not(None))
            .scalar_subquery()
        )
        # Open ones are picked here: a status condition would have SQLite read every
        # open case (ix_cases_status) instead of these few by their codes.
        found = await self._cases(
            select(CaseRecord)
            .where(CaseRecord.code.in_(mains))
            .order_by(CaseRecord.created_at.desc(), CaseRecord.id.desc())
        )
        return [case for case in found if case.status.is_open]

    async def add_event(self, case_id: int, event: CaseEvent) -> None:
        values = {
            "case_id": case_id,
            "at": event.at,
            "kind": event.kind.value,
            "actor_role": event.actor.role,
            "actor_user_id": event.actor.user_id,
            "actor_name": event.actor.name,
            "actor_chat_id": event.actor.chat_id,
            "note": event.note,
            "status_after": event.status_after.value if event.status_after else None,
            "unit_code": event.unit_code,
        }
        event_id = (await self._core(_NEW_EVENT, values)).scalar_one()
        if event.attachments:
            self._session.add_all(_attachment_records(case_id, event_id, event.attachments))
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
                execution_options=FRESH,
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
