"""The composition root: builds the database, bot, processor, sender and web app, and
owns their lifetimes. Nothing connects at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from telegram import Bot
from telegram.error import TelegramError

from bot.channels.base import MessageChannel
from bot.channels.telegram import TelegramChannel, make_bot
from bot.clock import SystemClock
from bot.config import Settings, load_office
from bot.core.model import Channel
from bot.core.office import Office
from bot.core.ports import Clock
from bot.core.texts import Texts, load_texts
from bot.inbound import InboundProcessor, telegram_source
from bot.outbox import OutboxSender
from bot.polling import ALLOWED_UPDATES, poll
from bot.ratelimit import RateLimiter, telegram_limits
from bot.web import Intake, health, telegram_webhook
from handlers.telegram import BotIdentity
from storage.database import Database

log = logging.getLogger(__name__)

STARTUP_ATTEMPTS = 8


@dataclass
class Service:
    """Everything the running bot is made of."""

    settings: Settings
    office: Office
    texts: Texts
    clock: Clock = field(default_factory=SystemClock)
    db: Database = field(init=False)
    bot: Bot = field(init=False)
    processor: InboundProcessor = field(init=False)
    sender: OutboxSender = field(init=False)
    intake: Intake = field(init=False)
    ready: bool = False
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.db = Database(self.settings.database_url, clock=self.clock)
        self.bot = make_bot(self.settings.telegram_bot_token, self.settings.telegram_api_base_url)
        channels: dict[Channel, tuple[MessageChannel, RateLimiter]] = {
            Channel.TELEGRAM: (TelegramChannel(self.bot), telegram_limits()),
        }
        self.sender = OutboxSender(
            self.db, channels, self.clock, self.texts, self.office.officers_chat_id
        )
        self.processor = InboundProcessor(
            self.db, self.office, self.texts, self.clock, {}, after_commit=self.sender.wake
        )
        self.intake = Intake(self.db, self.clock, on_recorded=self.processor.wake)

    async def start(self) -> None:
        """Migrates the database, meets the Bot API, and starts the loops."""
        await self.db.upgrade()
        me = await self._meet_telegram()
        self.processor.sources["telegram"] = telegram_source(me)
        if self.settings.webhook_mode:
            await self.bot.set_webhook(
                self.settings.telegram_webhook_url,
                secret_token=self.settings.telegram_webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
            )
            log.info("webhook mode: Telegram posts to %s", self.settings.telegram_webhook_url)
        else:
            await self.bot.delete_webhook()
            log.info("long-polling mode (set PUBLIC_BASE_URL for webhooks)")
            self._spawn(poll(self.bot, self.intake), "poller")
        self._spawn(self.processor.run(), "inbound")
        self._spawn(self.sender.run(), "outbox")
        self.ready = True

    async def stop(self) -> None:
        self.ready = False
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(TelegramError, RuntimeError):
            await self.bot.shutdown()
        await self.db.dispose()

    def _spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(coroutine, name=name))

    async def _meet_telegram(self) -> BotIdentity:
        """Calls getMe (retrying while the Bot API is unreachable) and logs the privacy mode."""
        for attempt in range(1, STARTUP_ATTEMPTS + 1):
            try:
                await self.bot.initialize()
                me = await self.bot.get_me()
                break
            except TelegramError as exc:
                if attempt == STARTUP_ATTEMPTS:
                    raise
                log.warning("Bot API not reachable yet (%s); retrying", exc)
                await asyncio.sleep(min(2.0**attempt, 30.0))
        log.info(
            "bot @%s (id %s); reads all group messages: %s (privacy mode %s: staff answer "
            "with commands or by replying to the bot's case message)",
            me.username,
            me.id,
            me.can_read_all_group_messages,
            "off" if me.can_read_all_group_messages else "on",
        )
        return BotIdentity(me.id, me.username or "")


SERVICE = web.AppKey("service", Service)


def create_app(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    """Builds the aiohttp application; the service starts and stops with it."""
    office = load_office(settings.config_path)
    texts = load_texts(office.language)
    service = Service(settings, office, texts, clock or SystemClock())
    app = web.Application(client_max_size=1024 * 1024)
    app[SERVICE] = service

    async def lifetime(_: web.Application) -> AsyncIterator[None]:
        await service.start()
        yield
        await service.stop()

    app.cleanup_ctx.append(lifetime)
    app.router.add_get("/healthz", health(lambda: service.ready))
    app.router.add_post(
        "/webhook/telegram", telegram_webhook(service.intake, settings.telegram_webhook_secret)
    )
    return app
