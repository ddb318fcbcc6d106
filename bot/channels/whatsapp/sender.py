"""The WhatsApp adapter: Twilio's Messaging API, within WhatsApp's 24-hour window.

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
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from bot.channels.base import Part, PermanentFailure, RetryLater, TemporaryFailure
from bot.channels.textsplit import split_text
from bot.config import ContentTemplate
from bot.core.model import OutgoingMessage
from bot.core.ports import Clock
from bot.core.texts import Texts
from bot.media import MediaStore

log = logging.getLogger(__name__)

BODY_LIMIT = 1600
VARIABLE_LIMIT = 1000  # Twilio refuses long template variables; keep them readable
WINDOW = timedelta(hours=24)
WINDOW_MARGIN = timedelta(minutes=5)  # the message may wait in the outbox a little
OUTSIDE_WINDOW = "63016"
SEND_TIMEOUT = 20.0


class TwilioConnection:
    """twilio-python's client with its async HTTP client, pointed at `api_base_url`.

    `AsyncTwilioHttpClient` opens an aiohttp session in its constructor, which needs a
    running event loop: the client is made by `open()` in the service's start-up, never
    where the app is built (the CLI builds it before `web.run_app` starts the loop).
    """

    def __init__(self, account_sid: str, auth_token: str, api_base_url: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.api_base_url = api_base_url
        self._client: Client | None = None
        self._http: AsyncTwilioHttpClient | None = None

    async def open(self) -> None:
        """Makes the client (inside the running loop)."""
        if self._client is None:
            self._http = AsyncTwilioHttpClient()
            self._client = Client(self.account_sid, self.auth_token, http_client=self._http)
            self._client.api.base_url = self.api_base_url

    async def close(self) -> None:
        """Closes the HTTP session (a no-op when never opened)."""
        if self._http is not None:
            await self._http.close()
        self._client = self._http = None

    @property
    def client(self) -> Client:
        if self._client is None:
            raise RuntimeError("the Twilio client is used before the service started")
        return self._client


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
    ) -> None:
        self.twilio = twilio
        self.sender = sender
        self.status_callback_url = status_callback_url
        self.templates = templates
        self.t = texts
        self.media = media
        self.last_inbound = last_inbound
        self.clock = clock

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
            body = f"{body}\n\n{listed}\n{self.t('whatsapp_choices_hint')}".strip()
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
