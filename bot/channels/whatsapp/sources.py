"""WhatsApp's inbox sources: a reporter's message (its media kept by the `MediaKeeper`)
handed to the citizens' handler, and Twilio's delivery statuses."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from bot.agency import ContentTemplate
from bot.channels.whatsapp.sender import OUTSIDE_WINDOW
from bot.core import mirror
from bot.core.cases import CaseDesk
from bot.core.model import Channel, OutgoingMessage
from bot.inbox.envelope import Envelope, Preparer, SourceHandler
from handlers import citizens, staff_whatsapp
from handlers.whatsapp import citizen_message, number_of
from storage.uow import SqlUnitOfWork

log = logging.getLogger(__name__)

FAILED_STATUSES = ("failed", "undelivered")


STATUS_WAIT = 10.0


def status_preparer(stored_or_idle: Callable[[Channel, str, str], Awaitable[None]]) -> Preparer:
    """Waits (outside any transaction) while a send to that number may not be stored yet.

    Twilio may post a status before its answer to the send reached us and was stored;
    the status would then find no message. Nothing is waited for when no send to that
    number is under way, and never longer than STATUS_WAIT.
    """

    async def prepare(payload: dict[str, Any]) -> Envelope:
        sid = str(payload.get("MessageSid") or "")
        number = number_of(str(payload.get("To") or ""))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STATUS_WAIT):
                await stored_or_idle(Channel.WHATSAPP, number, sid)
        return Envelope(payload)

    return prepare


def whatsapp_source() -> SourceHandler:
    """Handles an inbound WhatsApp message (its media already kept by MediaKeeper)."""

    async def handle(uow: SqlUnitOfWork, desk: CaseDesk, envelope: Envelope) -> None:
        form = await staff_whatsapp.on_message(
            desk, envelope.update, envelope.attachments, envelope.refused
        )
        if form is None:
            return  # a staff member's, acting in their role
        message = citizen_message(form, envelope.attachments, envelope.refused)
        await citizens.on_message(desk, message)

    return handle


def whatsapp_status_source(templates: dict[str, ContentTemplate]) -> SourceHandler:
    """Records a delivery status; a failed message is retried as a template, or reported."""

    async def handle(uow: SqlUnitOfWork, desk: CaseDesk, envelope: Envelope) -> None:
        payload = envelope.update
        sid = str(payload.get("MessageSid") or payload.get("SmsSid") or "")
        status = str(payload.get("MessageStatus") or payload.get("SmsStatus") or "").lower()
        code = str(payload.get("ErrorCode") or "") or None
        row = await uow.sending.record_status("whatsapp", sid, status, code, desk.now)
        if row is None or status not in FAILED_STATUSES:
            return
        message = row.message
        if code == OUTSIDE_WINDOW and not message.as_template and message.template in templates:
            log.info("whatsapp %s: outside the 24-hour window, resent as a template", sid)
            await uow.outbox.enqueue(replace(message, as_template=True, album_key=None))
            return
        number = number_of(str(payload.get("To") or message.recipient.address))
        error = desk.t("whatsapp_failure", code=code or status, number=number)
        if await mirror.report_failure(
            uow, desk.office, desk.t, message.recipient, error, desk.now
        ):
            return  # a staff number's
        if message.case_id is None:
            return
        case = await uow.cases.get(message.case_id)
        if case is None:
            return
        await uow.outbox.enqueue(
            OutgoingMessage(
                recipient=desk.officers,
                text=desk.t("officers_delivery_failed", code=case.code, error=error),
                case_id=case.id,
            )
        )

    return handle
