"""Pigeon's way in: a JSON webhook recorded in the inbox, and the source handler that
translates a recorded message for the citizens' handler."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.core.cases import CaseDesk
from bot.core.dialogue import CitizenInput
from bot.core.model import Channel
from bot.core.reception import CitizenMessage
from bot.inbox.envelope import Envelope, SourceHandler
from bot.inbox.intake import Intake
from handlers import citizens
from storage.uow import SqlUnitOfWork

SOURCE = "pigeon"
CHANNEL = Channel.WHATSAPP  # see the package's docstring


def pigeon_webhook(intake: Intake) -> Callable[[web.Request], Any]:
    """Takes {"id", "from", "text"}; answers once the message is recorded."""

    async def receive(request: web.Request) -> web.Response:
        body = await request.json()
        await intake.record(SOURCE, str(body["id"]), str(body["from"]), body)
        return web.Response(status=200)

    return receive


def pigeon_source() -> SourceHandler:
    """A recorded Pigeon message, handed to the citizens' handler."""

    async def handle(uow: SqlUnitOfWork, desk: CaseDesk, envelope: Envelope) -> None:
        update = envelope.update
        sender = str(update["from"])
        message = CitizenMessage(
            CHANNEL, sender, None, CitizenInput(text=str(update["text"])), channel_contact=sender
        )
        await citizens.on_message(desk, message)

    return handle
