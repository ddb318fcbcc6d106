"""The inbound processor: handles each recorded update exactly once, in arrival order.

Webhooks and the poller only record updates (committed before Telegram gets its 2xx).
This loop takes them in order and handles each in one transaction that also marks it
done, so a crash at any moment either keeps the whole effect or none of it. With several
instances on one PostgreSQL database any instance may take any update, but an update
waits while an earlier one of its chat is still pending (`InboundLog.claim`), so each
chat's updates are handled one at a time, in the order they arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError

from bot.core.cases import CaseDesk
from bot.core.dialogue import Rejected
from bot.core.model import Channel
from bot.core.office import Office
from bot.core.ports import Clock
from bot.core.reception import turns_away
from bot.core.texts import Texts
from bot.core.tracing import CURRENT_CASE
from bot.media import REJECTED
from handlers.telegram import BotIdentity, handle_update
from storage.database import Database
from storage.uow import InboundRow, SqlUnitOfWork

log = logging.getLogger(__name__)

SourceHandler = Callable[[SqlUnitOfWork, CaseDesk, dict[str, Any]], Awaitable[None]]
# Work done before the transaction (downloading media), so no lock is held meanwhile.
# It must be idempotent: after a crash the update is prepared again.
Preparer = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
# Asked by a preparer before it fetches a message's files: will the message of this
# (channel, chat, album) be ignored unseen? See `bot.core.reception.turns_away`.
TurnedAway = Callable[[Channel, str, str | None], Awaitable[bool]]
BATCH = 100
IDLE_WAIT = 1.0
DB_RETRY_WAIT = 2.0


class InboundProcessor:
    """Turns recorded updates into case changes and outgoing messages."""

    def __init__(
        self,
        db: Database,
        office: Office,
        texts: Texts,
        clock: Clock,
        sources: dict[str, SourceHandler],
        after_commit: Callable[[], None],
        preparers: dict[str, Preparer] | None = None,
    ) -> None:
        self.db = db
        self.office = office
        self.texts = texts
        self.clock = clock
        self.sources = sources
        self.after_commit = after_commit
        self.preparers = preparers if preparers is not None else {}
        self._wake = asyncio.Event()
        self._recorded = 0  # updates recorded by this process, and handled since start
        self._handled = 0
        self._progress = asyncio.Condition()
        # Awaited before each update is handled: lets the webhooks store theirs first.
        self.give_way: Callable[[], Awaitable[None]] | None = None

    def wake(self) -> None:
        """Tells the processor an update was recorded."""
        self._recorded += 1
        self._wake.set()

    async def caught_up(self) -> None:
        """Waits until every update recorded so far by this process has been handled
        by it (tests of one instance)."""
        target = self._recorded
        async with self._progress:
            await self._progress.wait_for(lambda: self._handled >= target)

    async def run(self) -> None:
        """Processes until cancelled."""
        while True:
            self._wake.clear()
            try:
                handled = await self.process_pending()
            except (OperationalError, DBAPIError, OSError):
                log.warning("inbound: database unavailable, retrying", exc_info=True)
                await asyncio.sleep(DB_RETRY_WAIT)
                continue
            if handled:
                continue
            with contextlib.suppress(TimeoutError):
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a
                # cancellation that arrives as the event is set, and the loop never stops.
                async with asyncio.timeout(IDLE_WAIT):
                    await self._wake.wait()

    async def process_pending(self) -> int:
        """Handles every recorded update it can now; returns how many it took up.

        An update whose chat has an earlier one still under way at another instance
        waits for a later round, so each chat's updates keep their order.
        """
        async with self.db.transaction() as uow:
            rows = await uow.inbound.pending(BATCH)
        taken = 0
        for row in rows:
            if self.give_way is not None:
                await self.give_way()
            taken += await self.process(row)
        return taken

    async def process(self, row: InboundRow) -> bool:
        """Handles one recorded update in one transaction (or records why it failed);
        False if it must wait for an earlier update of its chat."""
        if not await self._process(row):
            return False
        async with self._progress:
            self._handled += 1
            self._progress.notify_all()
        return True

    async def _process(self, row: InboundRow) -> bool:
        CURRENT_CASE.set(None)  # the case desk names the case once it knows it
        handler = self.sources.get(row.source)
        prepare = self.preparers.get(row.source)
        try:
            payload = await prepare(row.payload) if prepare is not None else row.payload
            async with self.db.transaction() as uow:
                if not await uow.inbound.claim(row.id):
                    # handled already or right now elsewhere, or its chat's turn is not yet
                    return not await uow.inbound.is_pending(row.id)
                if handler is not None:
                    desk = CaseDesk(uow, self.office, self.texts, self.clock.now())
                    await handler(uow, desk, payload)
                else:
                    log.error("inbound: no handler for source %s", row.source)
                await uow.inbound.mark_done(row.id, self.clock.now())
        except (OperationalError, DBAPIError, OSError):
            raise  # the database is down: leave the update pending and try again later
        except Exception as exc:
            # A bug must not block every later update: record it and move on.
            log.exception("inbound: %s update %s failed", row.source, row.external_id)
            async with self.db.transaction() as uow:
                await uow.inbound.mark_failed(
                    row.id, f"{type(exc).__name__}: {exc}", self.clock.now()
                )
            return True
        self.after_commit()
        return True


def turned_away(db: Database, office: Office, clock: Clock) -> TurnedAway:
    """The preparers' look at a reporter's block and limits (read-only, outside the
    handling transaction; only asked when there is a file to fetch)."""

    async def check(channel: Channel, address: str, album_id: str | None) -> bool:
        async with db.transaction(readonly=True) as uow:
            return await turns_away(uow, office, channel, address, album_id, clock.now())

    return check


def telegram_source(me: BotIdentity) -> SourceHandler:
    """Handles a Telegram update: records group migrations, then hands it to the handlers."""

    async def handle(uow: SqlUnitOfWork, desk: CaseDesk, payload: dict[str, Any]) -> None:
        message = payload.get("message") or {}
        if "migrate_to_chat_id" in message:
            old, new = str(message["chat"]["id"]), str(message["migrate_to_chat_id"])
            log.info("telegram group %s became supergroup %s", old, new)
            await uow.chats.record_migration(old, new, desk.now)
            return
        if "migrate_from_chat_id" in message:
            return
        update = {k: v for k, v in payload.items() if k != REJECTED}
        rejected = tuple(Rejected(*r) for r in payload.get(REJECTED, []))
        await handle_update(desk, update, me, uow.chats.original, rejected)

    return handle


def telegram_chat_key(update: dict[str, Any]) -> str:
    """The chat an update belongs to (for ordering), or "" when it has none."""
    for key in ("message", "edited_message", "channel_post", "my_chat_member", "chat_member"):
        value = update.get(key)
        if isinstance(value, dict) and isinstance(value.get("chat"), dict):
            return str(value["chat"].get("id", ""))
    query = update.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message")
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            return str(message["chat"].get("id", ""))
        sender = query.get("from")
        if isinstance(sender, dict):
            return str(sender.get("id", ""))
    return ""
