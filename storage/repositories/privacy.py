"""Personal data going away: old closed cases anonymised (retention), and one reporter
forgotten on request (UU PDP 27/2022).

What identifies or describes a person goes: the reporter's name, contact, chat address
and display name, the case's story, place and time, every note in its history, its
attachments, the messages sent about it and the raw updates received. What the recaps
count stays: the case's code, status, channel, privacy, unit, category, rating, times
and working-time stamps, and the kinds of its events.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.dialogue import IDLE
from bot.core.model import CaseStatus, Channel
from bot.core.ports import Clock
from storage.models import (
    CaseAttachmentRecord,
    CaseEventRecord,
    CaseRecord,
    CaseTaskRecord,
    DialogueRecord,
    InboundUpdateRecord,
    OutboxRecord,
    ReporterRecord,
)

CLOSED = tuple(status.value for status in CaseStatus if not status.is_open)  # finished cases
PENDING = "pending"
LOOKUP_BATCH = 500  # paths looked up in one query


@dataclass
class Erased:
    """What one pass removed; `files` are stored attachments to delete from disk."""

    cases: list[str] = field(default_factory=list)  # codes of the anonymised cases
    reporters: int = 0
    files: list[str] = field(default_factory=list)
    # Ids of the reporter's raw WhatsApp messages: their media is stored under these
    # names even when no case or dialogue refers to it any more (a cancelled dialogue).
    received: list[str] = field(default_factory=list)


class PersonalData:
    """Removes personal data from the database (files are the caller's, after commit)."""

    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self._session = session
        self._clock = clock

    async def expired(self, before: datetime, limit: int) -> list[int]:
        """Cases closed before `before` and not yet anonymised, oldest first."""
        ids = await self._session.scalars(
            select(CaseRecord.id)
            .where(
                CaseRecord.status.in_(CLOSED),
                CaseRecord.closed_at < before,
                CaseRecord.anonymised_at.is_(None),
            )
            .order_by(CaseRecord.closed_at, CaseRecord.id)
            .limit(limit)
        )
        return list(ids)

    async def anonymise(self, case_ids: list[int], placeholder: str, erased: Erased) -> None:
        """Strips the cases of personal data; their counts and times stay."""
        if not case_ids:
            return
        now = self._clock.now()
        mine = CaseRecord.id.in_(case_ids)
        codes = list(await self._session.scalars(select(CaseRecord.code).where(mine)))
        erased.cases += codes
        await self.mentions(codes)  # staff replies quoting the case, kept as they came
        await self._session.execute(
            update(CaseRecord)
            .where(mine)
            .values(
                description=placeholder,
                location_text=None,
                latitude=None,
                longitude=None,
                location_label=None,
                occurred_text=None,
                reporter_name=None,
                reporter_contact=None,
                reporter_whatsapp=None,
                reporter_email=None,
                reporter_address=None,
                anonymised_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        await self._session.execute(
            update(CaseEventRecord)
            .where(CaseEventRecord.case_id.in_(case_ids))
            .values(note=None)
            .execution_options(synchronize_session=False)
        )
        # What the reporter was to be told by hand, and how they were told.
        await self._session.execute(
            update(CaseTaskRecord)
            .where(CaseTaskRecord.case_id.in_(case_ids))
            .values(message=None, done_note=None)
            .execution_options(synchronize_session=False)
        )
        await self._session.execute(
            update(CaseEventRecord)
            .where(CaseEventRecord.case_id.in_(case_ids), CaseEventRecord.actor_role == "reporter")
            .values(actor_name=None, actor_user_id=None, actor_chat_id=None)
            .execution_options(synchronize_session=False)
        )
        stored = await self._session.scalars(
            select(CaseAttachmentRecord.ref).where(
                CaseAttachmentRecord.case_id.in_(case_ids),
                CaseAttachmentRecord.source != Channel.TELEGRAM.value,
            )
        )
        erased.files += list(stored)
        await self._session.execute(
            delete(CaseAttachmentRecord).where(CaseAttachmentRecord.case_id.in_(case_ids))
        )
        # What was said to and about the case (sent or given up; nothing still waiting).
        await self._session.execute(
            delete(OutboxRecord).where(
                OutboxRecord.case_id.in_(case_ids), OutboxRecord.status != PENDING
            )
        )

    async def old_traffic(self, before: datetime, limit: int) -> int:
        """Deletes raw updates handled and messages sent before `before` (they repeat
        what people wrote); returns how many rows went."""
        inbound = list(
            await self._session.scalars(
                select(InboundUpdateRecord.id)
                .where(
                    InboundUpdateRecord.status != PENDING, InboundUpdateRecord.received_at < before
                )
                .order_by(InboundUpdateRecord.id)
                .limit(limit)
            )
        )
        outbound = list(
            await self._session.scalars(
                select(OutboxRecord.id)
                .where(OutboxRecord.status != PENDING, OutboxRecord.created_at < before)
                .order_by(OutboxRecord.id)
                .limit(limit)
            )
        )
        if inbound:
            await self._session.execute(
                delete(InboundUpdateRecord).where(InboundUpdateRecord.id.in_(inbound))
            )
        if outbound:
            await self._session.execute(delete(OutboxRecord).where(OutboxRecord.id.in_(outbound)))
        return len(inbound) + len(outbound)

    async def idle_reporters(self, before: datetime, limit: int) -> list[int]:
        """Reporters silent since `before` whose every case is anonymised (or who have
        none), not yet forgotten."""
        live = select(CaseRecord.id).where(
            CaseRecord.reporter_id == ReporterRecord.id, CaseRecord.anonymised_at.is_(None)
        )
        ids = await self._session.scalars(
            select(ReporterRecord.id)
            .where(
                ReporterRecord.forgotten_at.is_(None),
                or_(
                    ReporterRecord.last_inbound_at.is_(None),
                    ReporterRecord.last_inbound_at < before,
                ),
                ReporterRecord.created_at < before,
                ~live.exists(),
            )
            .order_by(ReporterRecord.id)
            .limit(limit)
        )
        return list(ids)

    async def reporter_cases(self, reporter_id: int) -> tuple[list[int], list[str]]:
        """The reporter's (anonymised or not) case ids, and the codes of the open ones."""
        rows = (
            await self._session.execute(
                select(CaseRecord.id, CaseRecord.code, CaseRecord.status).where(
                    CaseRecord.reporter_id == reporter_id
                )
            )
        ).all()
        return [r.id for r in rows], [r.code for r in rows if r.status not in CLOSED]

    async def forget_reporter(self, reporter_id: int, erased: Erased) -> None:
        """Removes the reporter's address and name, dialogue, raw updates and waiting
        messages. The row stays (the cases point at it) as "forgotten:<id>"."""
        record = await self._session.get(ReporterRecord, reporter_id)
        if record is None or record.forgotten_at is not None:
            return
        chats = [record.address, f"{record.channel}:{record.address}"]
        await self._session.execute(
            delete(DialogueRecord).where(DialogueRecord.reporter_id == reporter_id)
        )
        erased.received += list(
            await self._session.scalars(
                select(InboundUpdateRecord.external_id).where(
                    InboundUpdateRecord.chat_key.in_(chats),
                    InboundUpdateRecord.source == Channel.WHATSAPP.value,
                )
            )
        )
        await self._session.execute(
            delete(InboundUpdateRecord).where(InboundUpdateRecord.chat_key.in_(chats))
        )
        # Updates about the reporter from elsewhere: a delivery callback names the
        # address as "whatsapp:+62…" (the bare address, short on Telegram, could be
        # any number in anyone's update).
        await self.mentions([chats[1]], waiting_too=True)
        await self._session.execute(
            delete(OutboxRecord).where(
                OutboxRecord.channel == record.channel, OutboxRecord.address == record.address
            )
        )
        record.address = f"forgotten:{reporter_id}"
        record.display_name = None
        record.forgotten_at = self._clock.now()
        await self._session.flush()
        erased.reporters += 1

    async def mentions(self, words: list[str], *, waiting_too: bool = False) -> None:
        """Deletes the handled raw updates whose content contains any of `words` (a
        number, a case code): a delivery callback, or a staff reply quoting the case.
        `waiting_too` deletes those not handled yet as well (a callback about a
        forgotten reporter's message has nothing left to update)."""
        words = [w for w in words if w]
        if not words:
            return
        content = cast(InboundUpdateRecord.payload, Text)
        found = or_(*(content.contains(w, autoescape=True) for w in words))
        if not waiting_too:
            found = found & (InboundUpdateRecord.status != PENDING)
        await self._session.execute(
            delete(InboundUpdateRecord).where(found).execution_options(synchronize_session=False)
        )

    async def on_record(self, ref: str) -> bool:
        """Whether a case still holds an attachment with this reference (a link to a
        file of an anonymised case must stop answering)."""
        found = await self._session.scalar(
            select(CaseAttachmentRecord.id).where(CaseAttachmentRecord.ref == ref).limit(1)
        )
        return found is not None

    async def waiting_payloads(self) -> list[str]:
        """The content of the messages still to be sent (the files they need stay)."""
        rows = await self._session.scalars(
            select(cast(OutboxRecord.payload, Text)).where(OutboxRecord.status == PENDING)
        )
        return list(rows)

    async def find_reporter(self, who: str) -> int | None:
        """A reporter by case code, by "channel:address", or by a WhatsApp number."""
        by_case = await self._session.scalar(
            select(CaseRecord.reporter_id).where(CaseRecord.code == who.upper())
        )
        if by_case is not None:
            return int(by_case)
        channel, _, address = who.partition(":")
        if not address:
            channel, address = Channel.WHATSAPP.value, who
        found = await self._session.scalar(
            select(ReporterRecord.id).where(
                ReporterRecord.channel == channel, ReporterRecord.address == address
            )
        )
        return int(found) if found is not None else None

    async def referenced(self, paths: list[str]) -> set[str]:
        """Those of `paths` (stored files) that something still refers to: a case's
        attachment, an intake or a choice of case under way, or a message waiting to go."""
        found: set[str] = set()
        for start in range(0, len(paths), LOOKUP_BATCH):
            batch = paths[start : start + LOOKUP_BATCH]
            found.update(
                await self._session.scalars(
                    select(CaseAttachmentRecord.ref).where(CaseAttachmentRecord.ref.in_(batch))
                )
            )
        held: set[str] = set()
        for data in (  # few: dialogues under way, messages not yet sent
            *await self._session.scalars(
                select(DialogueRecord.data).where(DialogueRecord.step != IDLE)
            ),
            *await self._session.scalars(
                select(OutboxRecord.payload).where(OutboxRecord.status == PENDING)
            ),
        ):
            held.update(_strings(data))
        return found | held.intersection(paths)


def _strings(data: Any) -> Iterator[str]:
    """Every string a JSON value holds (an attachment's path among them)."""
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for value in data.values():
            yield from _strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from _strings(value)
