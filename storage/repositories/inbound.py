"""The inbox: webhook deliveries recorded once each, then handled in the order they
arrived, one chat at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, bindparam, exists, func, or_, select, update

from storage.models import InboundUpdateRecord
from storage.repositories.base import DONE, FAILED, PENDING, Part, per_dialect, table


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


_INBOUND = table(InboundUpdateRecord)


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


def _take(*, lock: bool) -> Any:
    """`_claim`, and the update marked done at once (`p_at`), in one statement:
    the claimed id if it was pending and no earlier update of its chat waits."""
    I = _INBOUND  # noqa: E741
    earlier = _INBOUND.alias("earlier")
    its_turn = or_(
        I.c.chat_key.is_(None),
        I.c.chat_key == "",  # an update of no chat: nothing to keep in order with
        ~exists().where(
            earlier.c.chat_key == I.c.chat_key,
            earlier.c.status == PENDING,
            earlier.c.id < I.c.id,
        ),
    )
    which = I.c.id == bindparam("p_id")
    if lock:
        # Skips an update another instance is handling (as `_claim` does).
        mine = _INBOUND.alias("mine")
        which = I.c.id == (
            select(mine.c.id)
            .where(mine.c.id == bindparam("p_id"), mine.c.status == PENDING)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
    return (
        update(I)
        .where(which, I.c.status == PENDING, its_turn)
        .values(status=DONE, processed_at=bindparam("p_at", type_=I.c.processed_at.type))
        .returning(I.c.id)
    )


_TAKE = {"sqlite": _take(lock=False), "postgresql": _take(lock=True)}
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
# Deliveries recorded, once each: run with a list of rows, SQLAlchemy's "insertmanyvalues"
# sends them as one INSERT of many VALUES, compiled once (an ORM insert of `.values(rows)`
# was compiled anew for every call). RETURNING names the rows that were new.
_RECORD = per_dialect(
    lambda module: (
        module.insert(_INBOUND)
        .on_conflict_do_nothing(index_elements=["source", "external_id"])
        .returning(_INBOUND.c.source, _INBOUND.c.external_id)
    )
)
# The SET clause comes from the parameters' keys.
_SET_INBOUND = update(_INBOUND).where(_INBOUND.c.id == bindparam("p_id"))


class InboundLog(Part):
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
        inserted = await self._core(self._built(_RECORD), rows)
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

    async def take(self, id: int, at: datetime) -> bool:
        """`claim`s a delivery and marks it done (`at`) in this transaction, which handles
        it: should the handling fail, the rollback leaves it pending. One statement."""
        row = (await self._core(self._built(_TAKE), {"p_id": id, "p_at": at})).first()
        return row is not None

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
