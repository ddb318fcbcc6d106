"""Telegram's source handler: a recorded (and prepared) update handed to the handlers."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.core.cases import CaseDesk
from bot.inbox.envelope import Envelope, SourceHandler
from handlers.telegram import BotIdentity, handle_update
from storage.uow import SqlUnitOfWork

log = logging.getLogger(__name__)


def telegram_source(me: Callable[[], BotIdentity]) -> SourceHandler:
    """Handles a Telegram update: records group migrations, then hands it to the handlers
    (`me`: the bot as getMe told it at start-up)."""

    async def handle(uow: SqlUnitOfWork, desk: CaseDesk, envelope: Envelope) -> None:
        message = envelope.update.get("message") or {}
        if "migrate_to_chat_id" in message:
            old, new = str(message["chat"]["id"]), str(message["migrate_to_chat_id"])
            log.info("telegram group %s became supergroup %s", old, new)
            await uow.chats.record_migration(old, new, desk.now)
            return
        if "migrate_from_chat_id" in message:
            return
        await handle_update(
            desk, envelope.update, me(), uow.chats.original, envelope.refused, envelope.standing
        )

    return handle
