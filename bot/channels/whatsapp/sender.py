"""The WhatsApp sender: Twilio's Messaging API, within WhatsApp's 24-hour window.

A free-form message can reach a reporter only within 24 hours of their last message;
after that only a template approved by Meta (Twilio Content API: a content SID and
its variables) is delivered. Choices become numbered lists, since there are no
buttons here; the reporter answers with the number or the words.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioRestException

from bot.agency import ContentTemplate
from bot.channels.base import Part, PermanentFailure, RetryLater, TemporaryFailure
from bot.channels.textsplit import split_text
from bot.channels.whatsapp.connection import TwilioConnection
from bot.channels.whatsapp.media import MediaStore
from bot.core.model import OutgoingMessage
from bot.core.ports import Clock
from bot.core.texts import Texts

log = logging.getLogger(__name__)

BODY_LIMIT = 1600
VARIABLE_LIMIT = 1000  # Twilio refuses long template variables; keep them readable
WINDOW = timedelta(hours=24)
WINDOW_MARGIN = timedelta(minutes=5)  # the message may wait in the outbox a little
OUTSIDE_WINDOW = "63016"
SEND_TIMEOUT = 20.0


class WhatsAppChannel:
    """Delivers messages to WhatsApp numbers through Twilio."""

    def __init__(
        self,
        twilio: TwilioConnection,
        sender: str,
        status_callback_url: str,
        templates: Mapping[str, ContentTemplate],
        texts: Texts,
        media: MediaStore,
        last_inbound: Callable[[str], Awaitable[datetime | None]],
        clock: Clock,
        is_staff: Callable[[str], bool] = lambda address: False,
    ) -> None:
        self.twilio = twilio
        self.sender = sender
        self.status_callback_url = status_callback_url
        self.templates = templates
        self.t = texts
        self.media = media
        self.last_inbound = last_inbound
        self.clock = clock
        self.is_staff = is_staff  # a staff number is told to reply to the message

    def is_group(self, address: str) -> bool:
        return False

    async def window_open(self, address: str) -> bool:
        """Whether a free-form message may still reach this number."""
        last = await self.last_inbound(address)
        return last is not None and self.clock.now() - last < WINDOW - WINDOW_MARGIN

    async def render(
        self, address: str, message: OutgoingMessage, *, resumed: bool = False
    ) -> list[Part]:
        """Free-form parts inside the window; the approved template outside it. Nothing
        for a tap's notice or an edit of buttons (WhatsApp has neither)."""
        if message.answers_tap or message.edits_buttons:
            return []
        if not resumed and (message.as_template or not await self.window_open(address)):
            return [self.template_part(message)]
        body = message.text.strip()
        choices = [button for row in message.buttons for button in row]
        if choices and any(b.label != str(n) for n, b in enumerate(choices, 1)):
            listed = "\n".join(f"{n}. {b.label}" for n, b in enumerate(choices, 1))
            hint = self.t(
                "whatsapp_staff_choices_hint" if self.is_staff(address) else "whatsapp_choices_hint"
            )
            body = f"{body}\n\n{listed}\n{hint}".strip()
        if message.location is not None:
            loc = message.location
            body = f"{body}\nhttps://maps.google.com/?q={loc.latitude},{loc.longitude}".strip()
        parts = (
            [Part("text", {"body": chunk}) for chunk in split_text(body, BODY_LIMIT, utf16=False)]
            if body
            else []
        )
        parts += [Part("media", {"url": self.media.link(a)}) for a in message.attachments]
        return parts

    def template_part(self, message: OutgoingMessage) -> Part:
        spec = self.templates.get(message.template or "")
        if spec is None:
            raise PermanentFailure(
                f"outside WhatsApp's 24-hour window, and no approved template is configured "
                f"for {message.template or 'this message'}"
            )
        values = dict(message.params)
        variables = {
            str(n): " ".join(values.get(name, "").split())[:VARIABLE_LIMIT] or "-"
            for n, name in enumerate(spec.variables, 1)
        }
        return Part("template", {"content_sid": spec.content_sid, "variables": variables})

    async def send(self, address: str, part: Part) -> list[str]:
        kwargs: dict[str, Any] = {
            "to": f"whatsapp:{address}",
            "from_": self.sender,
            "status_callback": self.status_callback_url,
        }
        if part.kind == "template":
            kwargs["content_sid"] = part.params["content_sid"]
            kwargs["content_variables"] = json.dumps(part.params["variables"], ensure_ascii=False)
        elif part.kind == "media":
            kwargs["media_url"] = [part.params["url"]]
        else:
            kwargs["body"] = part.params["body"]
        try:
            # twilio-python ignores its client's timeout: bound the call here. A message
            # that timed out may still have been created: at most one repeat.
            async with asyncio.timeout(SEND_TIMEOUT):
                sent = await self.twilio.client.messages.create_async(**kwargs)
        except TwilioRestException as exc:
            detail = f"twilio {exc.status} ({exc.code}): {exc.msg}"
            if exc.status == 429:
                raise RetryLater(1.0, detail) from exc
            if exc.status >= 500:
                raise TemporaryFailure(detail) from exc
            raise PermanentFailure(detail) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TemporaryFailure(f"network: {exc}") from exc
        return [str(sent.sid)]
