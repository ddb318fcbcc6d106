"""The sender's side of the outbox: what is due, how each send went, and the delivery
statuses the providers report."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Select, any_, bindparam, func, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY

from storage.models import CaseRecord, OutboxRecord, SentMessageRecord
from storage.repositories.base import FAILED, FRESH, PENDING, SENT, Part, table
from storage.repositories.outbox import OutboxRow, first_waiting_of_its_chat, outbox_row

# The order delivery statuses move in; failures are final.
_STATUS_RANK = {"queued": 1, "sending": 2, "sent": 3, "delivered": 4, "read": 5}
_STATUS_RANK.update(failed=9, undelivered=9)


_OUTBOX = table(OutboxRecord)


def _due_messages(*, unless_busy: bool) -> Select[Any]:
    """The sender's query (see `OutboxDelivery.due`), with bound parameters `now`, `limit`
    and, `unless_busy`, `busy`: it is asked many times a second under load, so it is
    built once (over the table's columns: rows, not mapped records), and SQLAlchemy
    compiles it once."""
    statement = (
        select(*_OUTBOX.c)
        .where(OutboxRecord.next_attempt_at <= bindparam("now"), first_waiting_of_its_chat())
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


# A message as stored now if it still waits to be sent (`OutboxDelivery.still_pending`).
STILL_PENDING = select(*_OUTBOX.c).where(
    _OUTBOX.c.id == bindparam("p_id"), _OUTBOX.c.status == PENDING
)
# The same of several messages (`p_ids`; PostgreSQL): the sender asks it on its chat
# locks' connection once it holds their chats' locks.
STILL_PENDING_AMONG = select(*_OUTBOX.c).where(
    _OUTBOX.c.id == any_(bindparam("p_ids", type_=ARRAY(Integer))),
    _OUTBOX.c.status == PENDING,
)
# What the sender records of the parts that went out: each message updated (the SET
# clause from the parameters' keys), the ids of what it became, the acknowledgements.
_SET_OUTBOX = update(_OUTBOX).where(_OUTBOX.c.id == bindparam("p_id"))
_NEW_SENT_MESSAGE = insert(table(SentMessageRecord))
_CASES = table(CaseRecord)
_ACKNOWLEDGED = (
    update(_CASES)
    .where(_CASES.c.id == bindparam("p_case"), _CASES.c.acknowledged_at.is_(None))
    .values(acknowledged_at=bindparam("p_at", type_=_CASES.c.acknowledged_at.type))
)


@dataclass(frozen=True)
class PartSent:
    """The next part of a message went out `at`: `row` as it was before (its
    `parts_done` and `provider_ids`), `ids` what the part became at the provider.
    `last`: the message went out whole; `keyboard`: the part carries the message's
    buttons; `acknowledges`: it is a case's acknowledgement, which reached the reporter."""

    row: OutboxRow
    ids: Sequence[str]
    at: datetime
    last: bool = False
    keyboard: bool = False
    acknowledges: bool = False

    @property
    def after(self) -> OutboxRow:
        """The row as recorded with this part."""
        return replace(
            self.row,
            parts_done=self.row.parts_done + 1,
            provider_ids=(*self.row.provider_ids, *self.ids),
        )


class OutboxDelivery(Part):
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
        rows = await self._core(statement, parameters)
        return [outbox_row(row) for row in rows.all()]

    async def still_pending(self, outbox_id: int) -> OutboxRow | None:
        """The message as stored now, if it still waits to be sent (another instance
        may have sent it since it was read)."""
        row = (await self._core(STILL_PENDING, {"p_id": outbox_id})).first()
        return outbox_row(row) if row is not None else None

    async def parts_sent(self, parts: Sequence[PartSent]) -> None:
        """Records parts that went out, of any messages (at most one part of each): each
        message's parts done and provider ids, the sent messages' rows, a message sent
        whole as sent, and when a case's acknowledgement reached the reporter (the first
        time). At most three statements however many parts: the sender stores all that
        went out since its last round at once. The rows are as the sender holds them
        (under its chat's lock): nothing is read back."""
        if not parts:
            return
        values = [
            {
                "p_id": part.row.id,
                "parts_done": part.row.parts_done + 1,
                "provider_ids": [*part.row.provider_ids, *part.ids],
                "status": SENT if part.last else PENDING,
                "sent_at": part.at if part.last else None,
            }
            for part in parts
        ]
        count = (await self._core(_SET_OUTBOX, _one_or_many(values))).rowcount
        if len(values) == 1 and count == 0:
            raise LookupError(f"outbox message {parts[0].row.id} not found")
        sent = [
            {
                "outbox_id": part.row.id,
                "channel": part.row.recipient.channel.value,
                "address": part.row.recipient.address,
                "message_id": message_id,
                "case_id": part.row.message.case_id,
                "purpose": part.row.message.purpose,
                "keyboard": part.keyboard,
            }
            for part in parts
            for message_id in part.ids
        ]
        if sent:
            await self._session.execute(_NEW_SENT_MESSAGE, sent)
        acknowledged = [
            {"p_case": part.row.message.case_id, "p_at": part.at}
            for part in parts
            if part.acknowledges and part.row.message.case_id is not None
        ]
        if acknowledged:
            await self._core(_ACKNOWLEDGED, _one_or_many(acknowledged))

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
            execution_options=FRESH,
        )
        return list(ids.all())

    async def mark_acknowledged(self, case_id: int, at: datetime) -> None:
        """Records when the case's acknowledgement reached the provider (the first time)."""
        await self._core(_ACKNOWLEDGED, {"p_case": case_id, "p_at": at})

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
        return outbox_row(outbox) if outbox else None

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
        return [outbox_row(record) for record in records]


def _one_or_many(values: list[dict[str, Any]]) -> dict[str, Any] | list[dict[str, Any]]:
    """One statement's parameters, or a list of them (one `executemany`)."""
    return values[0] if len(values) == 1 else values
