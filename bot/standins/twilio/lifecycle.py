"""What happens to a message the bot sent: its way through the statuses (queued, sent,
delivered, read, or failed and undelivered with an error code), each posted as a signed status
callback, in order, one task per message.

A free-form message (no ``ContentSid``) to a number that has not written for more than 24
hours, on the stand-in's own clock, is accepted and then fails with error 63016. Templates are
always delivered. Where it differs from Twilio: status callbacks are retried on a non-2xx
answer (Twilio only retries when the URL carries connection overrides such as ``#rc=``); the
63016 failure arrives as a single ``failed`` callback; ``queued`` is recorded but not posted.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence
from typing import Literal

from bot.standins.twilio.api import API_VERSION, ERROR_MESSAGES, new_sid
from bot.standins.twilio.faults import FaultInjection
from bot.standins.twilio.state import (
    CallbackAttempt,
    Lifecycle,
    MediaFetchError,
    MessageStatus,
    SentMessage,
    StatusChange,
    WhatsAppUser,
)
from bot.standins.twilio.webhooks import Refused

__all__ = ["MessageLifecycle"]

_LOG = logging.getLogger(__name__)


class MessageLifecycle(FaultInjection):
    """Accepts the bot's messages and takes each through its statuses and callbacks."""

    async def _accept(
        self,
        *,
        to: str,
        body: str | None,
        media_urls: tuple[str, ...],
        content_sid: str | None,
        variables: dict[str, str],
        status_callback: str | None,
        via: Literal["api", "twiml"],
        params: dict[str, str | list[str]],
    ) -> SentMessage:
        """Records an accepted message and starts its way through the statuses."""
        now = self.now()
        rendered: str | None = None
        missing: list[str] = []
        if content_sid is not None:
            rendered, missing = self._render(self._templates[content_sid], variables)
        sent = SentMessage(
            sid=new_sid("MM" if media_urls else "SM"),
            to=to,
            from_=self.whatsapp_from,
            body=body,
            media_urls=media_urls,
            content_sid=content_sid,
            content_variables=variables,
            status_callback=status_callback,
            rendered=rendered,
            date_created=now,
            via=via,
            params=params,
        )
        queued = StatusChange(sent.sid, sent.number, "queued", now)
        sent.statuses.append(queued)
        self._sent.append(sent)
        self._by_sid[sent.sid] = sent
        lifecycle = Lifecycle()
        self._lifecycles[sent.sid] = lifecycle

        steps: list[tuple[MessageStatus, int | None]]
        fault = self._take_delivery_fault(sent.number)
        if fault is not None:
            steps = [(fault.status, fault.code)]
            if fault.status == "undelivered":
                steps.insert(0, ("sent", None))
        elif content_sid is None and not self.window_open(sent.number):
            steps = [("failed", 63016)]
        elif missing:
            steps = [("failed", 63028)]
        else:
            steps = [("sent", None), ("delivered", None)]
        lifecycle.pending.extend(steps)
        lifecycle.will_deliver = steps[-1][0] == "delivered"
        lifecycle.media_checked = not (self.fetch_outbound_media and media_urls)

        if sent.is_template:
            kind = "template"
        elif media_urls:
            kind = "media"
        else:
            kind = "text"
        shown = sent.text or " ".join(media_urls)
        self._add_entry(sent.number, "bot", kind, shown, sent.sid, message=sent)
        self._emit(queued)
        await self._notify()
        return sent

    def _start_lifecycle(self, sent: SentMessage) -> None:
        """Starts the status changes of a just-accepted message (after its 201 was sent)."""
        self._lifecycles[sent.sid].started = True
        self._schedule(sent, [])

    def _schedule(
        self, sent: SentMessage, steps: Sequence[tuple[MessageStatus, int | None]]
    ) -> None:
        lifecycle = self._lifecycles[sent.sid]
        lifecycle.pending.extend(steps)
        if (
            lifecycle.started
            and lifecycle.task is None
            and lifecycle.pending
            and not self._stopping.is_set()
        ):
            task = asyncio.create_task(self._run_lifecycle(sent), name=f"twilio-status-{sent.sid}")
            lifecycle.task = task
            self._tasks.add(task)

    async def _run_lifecycle(self, sent: SentMessage) -> None:
        lifecycle = self._lifecycles[sent.sid]
        try:
            if not lifecycle.media_checked:
                lifecycle.media_checked = True
                if not await self._download_media(sent):
                    lifecycle.pending.clear()
                    lifecycle.pending.append(("failed", 63019))
                    lifecycle.will_deliver = False
            while lifecycle.pending:
                status, code = lifecycle.pending.popleft()
                change = await self._set_status(sent, status, code)
                url = sent.status_callback or self._status_url
                if url:
                    await self._post_status_callback(sent, change, url)
        finally:
            lifecycle.task = None
            task = asyncio.current_task()
            if task is not None:
                self._tasks.discard(task)
            await self._notify()

    async def _download_media(self, sent: SentMessage) -> bool:
        for url in sent.media_urls:
            try:
                sent.media.append(await self.fetch_media(url))
            except MediaFetchError as err:
                _LOG.info("Twilio stand-in: media of %s failed to download: %s", sent.sid, err)
                return False
        return True

    async def _set_status(
        self, sent: SentMessage, status: MessageStatus, code: int | None
    ) -> StatusChange:
        message = ERROR_MESSAGES.get(code) if code is not None else None
        change = StatusChange(sent.sid, sent.number, status, self.now(), code, message)
        sent.status = status
        if code is not None:
            sent.error_code, sent.error_message = code, message
        sent.statuses.append(change)
        self._emit(change)
        await self._notify()
        return change

    async def _post_status_callback(
        self, sent: SentMessage, change: StatusChange, url: str
    ) -> None:
        form = {
            "ChannelPrefix": "whatsapp",
            "ApiVersion": API_VERSION,
            "MessageStatus": change.status,
            "SmsSid": sent.sid,
            "SmsStatus": change.status,
            "ChannelToAddress": sent.number,
            "To": sent.to,
            "From": sent.from_,
            "MessageSid": sent.sid,
            "AccountSid": self.account_sid,
        }
        if change.error_code is not None:
            form["ErrorCode"] = str(change.error_code)
            form["ErrorMessage"] = change.error_message or ""
        signature = self.sign(url, form)
        token = f"{secrets.token_hex(8)}-{sent.sid}-{change.status}"
        for attempt in range(1, max(1, self.callback_attempts) + 1):
            try:
                status, _, _, error = await self._post_form(url, form, signature, token)
            except Refused as refused:
                status, error = 0, str(refused)
            result = CallbackAttempt(sent.sid, url, change.status, attempt, status, error)
            if error is None and not result.ok:
                result = CallbackAttempt(
                    sent.sid, url, change.status, attempt, status, f"answered {status}"
                )
            self._emit(result)
            await self._notify()
            if result.ok:
                return
            if attempt < self.callback_attempts and self.callback_retry_delay > 0:
                await asyncio.sleep(self.callback_retry_delay)

    def mark_read(self, target: str | SentMessage | WhatsAppUser) -> list[SentMessage]:
        """The person read a message (a `SentMessage` or SID) or all messages to a number.

        Adds ``read`` after ``delivered`` (with its status callback) to each message that is
        or will be delivered and was not read yet; returns those messages.
        """
        if isinstance(target, SentMessage):
            chosen = [target]
        elif isinstance(target, str) and target[:2] in ("SM", "MM") and target in self._by_sid:
            chosen = [self._by_sid[target]]
        else:
            chosen = self.messages(target)
        marked: list[SentMessage] = []
        for sent in chosen:
            lifecycle = self._lifecycles[sent.sid]
            if lifecycle.will_deliver and not lifecycle.read_scheduled:
                lifecycle.read_scheduled = True
                self._schedule(sent, [("read", None)])
                marked.append(sent)
        return marked
