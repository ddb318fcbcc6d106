"""WhatsApp's inbound side: keeping media, handling messages and delivery statuses."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import aiohttp

from bot.channels.whatsapp import OUTSIDE_WINDOW
from bot.config import ContentTemplate
from bot.core.cases import CaseDesk
from bot.core.dialogue import Rejected
from bot.core.files import ALL_TYPES
from bot.core.model import Attachment, Channel, OutgoingMessage
from bot.inbound import SourceHandler, TurnedAway
from bot.media import DOWNLOAD_ATTEMPTS, MediaRefused, MediaStore, MediaUnavailable
from handlers import citizens
from handlers.whatsapp import citizen_message, media_of, number_of
from storage.uow import SqlUnitOfWork

log = logging.getLogger(__name__)

FAILED_STATUSES = ("failed", "undelivered")


class MediaKeeper:
    """Downloads the media of an inbound WhatsApp message before it is handled."""

    def __init__(
        self,
        store: MediaStore,
        account_sid: str,
        auth_token: str,
        accepted: frozenset[str] = ALL_TYPES,
        turned_away: TurnedAway | None = None,
    ) -> None:
        self.store = store
        self.accepted = accepted
        self.turned_away = turned_away
        basic = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self.authorization = f"Basic {basic}"
        self.http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.close()

    async def prepare(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Adds the kept files (`_attachments`) and the refused ones (`_refused`).

        Nothing is fetched for a reporter whose message will be ignored (blocked, or
        over the minute's allowance): the files are named as not fetched instead.
        """
        assert self.http is not None, "MediaKeeper.start() first"
        kept: list[dict[str, Any]] = []
        refused: list[list[Any]] = []
        sid = str(payload.get("MessageSid", "message"))
        media = media_of(payload)
        number = number_of(str(payload.get("From") or ""))
        if media and self.turned_away and await self.turned_away(Channel.WHATSAPP, number, None):
            log.info("whatsapp media of %s not fetched: its reporter is turned away", sid)
            not_fetched = MediaRefused("media_download_failed")
            refused = [not_fetched.told(n) for n in range(1, len(media) + 1)]
            return {**payload, "_attachments": [], "_refused": refused}
        for index, (url, content_type) in enumerate(media):
            try:
                attachment = await self._fetch(url, content_type, f"{sid}-{index}")
                # Fresh for the sweep of files nothing refers to, also when an earlier
                # try kept it: it is about to be referred to.
                await asyncio.to_thread(os.utime, attachment.ref)
                kept.append(attachment.to_dict())
            except MediaRefused as refusal:
                log.info("whatsapp media %s-%s refused: %s", sid, index, refusal.reason)
                refused.append(refusal.told(index + 1))
        return {**payload, "_attachments": kept, "_refused": refused}

    async def _fetch(self, url: str, content_type: str, name: str) -> Attachment:
        assert self.http is not None
        for attempt in range(DOWNLOAD_ATTEMPTS):
            try:
                return await self.store.fetch_from_twilio(
                    self.http, url, content_type, self.authorization, name, self.accepted
                )
            except MediaUnavailable as exc:
                log.warning(
                    "whatsapp media %s not fetched (attempt %s): %s", name, attempt + 1, exc
                )
                if attempt + 1 < DOWNLOAD_ATTEMPTS:
                    await asyncio.sleep(0.5 * 2**attempt)  # brief: later messages wait
        raise MediaRefused("media_download_failed")


STATUS_WAIT = 10.0


def status_preparer(
    stored_or_idle: Callable[[Channel, str, str], Awaitable[None]],
) -> Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]:
    """Waits (outside any transaction) while a send to that number may not be stored yet.

    Twilio may post a status before its answer to the send reached us and was stored;
    the status would then find no message. Nothing is waited for when no send to that
    number is under way, and never longer than STATUS_WAIT.
    """

    async def prepare(payload: dict[str, Any]) -> dict[str, Any]:
        sid = str(payload.get("MessageSid") or "")
        number = number_of(str(payload.get("To") or ""))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STATUS_WAIT):
                await stored_or_idle(Channel.WHATSAPP, number, sid)
        return payload

    return prepare


def whatsapp_source() -> SourceHandler:
    """Handles an inbound WhatsApp message (its media already kept by MediaKeeper)."""

    async def handle(uow: SqlUnitOfWork, desk: CaseDesk, payload: dict[str, Any]) -> None:
        attachments = tuple(Attachment.from_dict(a) for a in payload.get("_attachments", []))
        rejected = tuple(Rejected(*refused) for refused in payload.get("_refused", []))
        message = citizen_message(payload, attachments, rejected)
        await citizens.on_message(desk, message)

    return handle


def whatsapp_status_source(templates: dict[str, ContentTemplate]) -> SourceHandler:
    """Records a delivery status; a failed message is retried as a template, or reported."""

    async def handle(uow: SqlUnitOfWork, desk: CaseDesk, payload: dict[str, Any]) -> None:
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
        if message.case_id is None:
            return
        case = await uow.cases.get(message.case_id)
        if case is None:
            return
        number = number_of(str(payload.get("To") or message.recipient.address))
        error = desk.t("whatsapp_failure", code=code or status, number=number)
        await uow.outbox.enqueue(
            OutgoingMessage(
                recipient=desk.officers,
                text=desk.t("officers_delivery_failed", code=case.code, error=error),
                case_id=case.id,
            )
        )

    return handle
