"""The outbox: messages queued to be sent, in each chat's order (the core's `Outbox`),
and what the sender and the officers read of a queued message."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, func, insert, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from bot.core.model import Channel, OutgoingMessage, Recipient
from bot.core.ports import Clock, DeliveryTrouble, FailedSend, SentRef, StuckChat
from storage.models import CaseRecord, OutboxRecord, SentMessageRecord
from storage.repositories.base import FAILED, PENDING, SENT, Part, table
from storage.repositories.chats import ChatMigrations

# Outbox priorities (lower goes first within a chat): a new case's relay, the rest.
URGENT = 0
ORDINARY = 1
# How long album messages wait for the album's other items to join them.
ALBUM_HOLD = timedelta(seconds=2)


@dataclass(frozen=True)
class OutboxRow:
    """A queued message as the sender sees it."""

    id: int
    recipient: Recipient
    message: OutgoingMessage
    parts_done: int
    attempts: int
    created_at: datetime
    provider_ids: tuple[str, ...] = ()  # of the parts sent so far


def first_waiting_of_its_chat() -> ColumnElement[bool]:
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


_OUTBOX = table(OutboxRecord)
_ENQUEUE = insert(_OUTBOX)


def outbox_row(record: OutboxRecord | Row[Any]) -> OutboxRow:
    """The sender's view of a queued message, from its mapped record or from a row of the
    outbox table's columns."""
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
        provider_ids=tuple(record.provider_ids or ()),
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


CHOICE_LOOKBACK = 20  # the latest messages to a chat a numbered choice is looked for in
# What one message to queue becomes: itself, and its copies for the staff's WhatsApp
# numbers (`bot.core.mirror.copies`, set by the service for its office).
Router = Callable[[OutgoingMessage], list[OutgoingMessage]]


class SqlOutbox(Part):
    def __init__(
        self,
        session: AsyncSession,
        clock: Clock,
        chats: ChatMigrations,
        router: Router | None = None,
    ) -> None:
        super().__init__(session, clock)
        self._chats = chats
        self._router = router

    async def enqueue(self, message: OutgoingMessage) -> None:
        """Queues a message, and its copies for the staff's WhatsApp numbers when it is
        for a role's chat (`_enqueue` each)."""
        for each in self._router(message) if self._router is not None else [message]:
            await self._enqueue(each)

    async def _enqueue(self, message: OutgoingMessage) -> None:
        """Queues a message, due now; an album item joins its waiting album message.

        A message with an album key is held for ALBUM_HOLD, so that the album's other
        items (separate updates, no "album done" signal) can join it. It is joined only
        while still on hold: the sender never reads a held row, and the join is a
        conditional UPDATE, so an item that comes too late goes out on its own.
        """
        if message.recipient.channel is Channel.MANUAL:
            # No chat reaches a reporter informed by hand: the desk makes the message an
            # INFORM task (`CaseDesk.tell`); a row here would wait for a sender forever.
            raise ValueError(f"no chat reaches {message.recipient}: an officer informs them")
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

    async def choices(
        self, recipient: Recipient, message_id: str | None, since: datetime
    ) -> list[tuple[str, ...]]:
        if message_id is not None:
            payloads = await self._session.scalars(
                select(OutboxRecord.payload)
                .join(SentMessageRecord, SentMessageRecord.outbox_id == OutboxRecord.id)
                .where(
                    SentMessageRecord.channel == recipient.channel.value,
                    SentMessageRecord.address == recipient.address,
                    SentMessageRecord.message_id == message_id,
                )
                .limit(1)
            )
        else:
            payloads = await self._session.scalars(
                select(OutboxRecord.payload)
                .where(
                    OutboxRecord.channel == recipient.channel.value,
                    OutboxRecord.address == recipient.address,
                    OutboxRecord.status == SENT,
                    OutboxRecord.sent_at >= since,
                )
                .order_by(OutboxRecord.id.desc())
                .limit(CHOICE_LOOKBACK)
            )
        found = []
        for payload in payloads.all():
            actions = tuple(action for row in payload.get("buttons") or [] for _, action in row)
            if actions:
                found.append(actions)
        return found

    async def trouble(self, failed_since: datetime, limit: int) -> DeliveryTrouble:
        heads = await self._all(
            select(OutboxRecord)
            .where(OutboxRecord.attempts > 0, first_waiting_of_its_chat())
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
