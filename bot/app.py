"""The composition root: builds the database, bot, processor, sender and web app, and
owns their lifetimes. Nothing connects at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web
from telegram import Bot
from telegram.error import TelegramError

from bot.channels.base import MessageChannel
from bot.channels.telegram import TelegramChannel, make_bot
from bot.channels.whatsapp import TwilioConnection, WhatsAppChannel
from bot.clock import SystemClock
from bot.config import (
    HealthOptions,
    Settings,
    WhatsAppOptions,
    load_health_options,
    load_office,
    load_whatsapp_options,
)
from bot.core.model import Channel
from bot.core.office import Office
from bot.core.ports import Clock
from bot.core.texts import Texts, load_texts
from bot.inbound import InboundProcessor, telegram_source, turned_away
from bot.logs import hide, tag_records
from bot.media import MediaStore, TelegramFileCheck
from bot.metrics import Metrics, health
from bot.outbox import OutboxSender
from bot.polling import ALLOWED_UPDATES, poll
from bot.ratelimit import Limit, RateLimiter, telegram_limits
from bot.reports import ReportWorker
from bot.scheduler import DeadlineScheduler
from bot.web import Intake, media_files, telegram_webhook, twilio_webhook
from bot.whatsapp import MediaKeeper, status_preparer, whatsapp_source, whatsapp_status_source
from handlers.telegram import BotIdentity
from storage.database import Database

if TYPE_CHECKING:
    from bot.playground import Playground

log = logging.getLogger(__name__)

STARTUP_ATTEMPTS = 8


@dataclass
class Service:
    """Everything the running bot is made of."""

    settings: Settings
    office: Office
    texts: Texts
    clock: Clock = field(default_factory=SystemClock)
    whatsapp: WhatsAppOptions = field(default_factory=WhatsAppOptions)
    health: HealthOptions = field(default_factory=HealthOptions)
    db: Database = field(init=False)
    bot: Bot = field(init=False)
    processor: InboundProcessor = field(init=False)
    sender: OutboxSender = field(init=False)
    intake: Intake = field(init=False)
    scheduler: DeadlineScheduler = field(init=False)
    reports: ReportWorker = field(init=False)
    metrics: Metrics = field(init=False)
    media: MediaStore | None = None
    media_keeper: MediaKeeper | None = None
    twilio: TwilioConnection | None = None
    ready: bool = False
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.db = Database(self.settings.database_url, clock=self.clock)
        self.bot = make_bot(self.settings.telegram_bot_token, self.settings.telegram_api_base_url)
        channels: dict[Channel, tuple[MessageChannel, RateLimiter]] = {
            Channel.TELEGRAM: (
                TelegramChannel(
                    self.bot,
                    originals_to=frozenset({self.office.officers_chat_id}),
                    withheld=lambda name: self.texts("file_withheld", name=name),
                ),
                telegram_limits(),
            ),
        }
        if self.settings.whatsapp_enabled:
            channels[Channel.WHATSAPP] = self._whatsapp_channel()
        self.sender = OutboxSender(self.db, channels, self.clock, self.texts, self.office)
        self.reports = ReportWorker(
            self.db,
            self.office,
            self.texts,
            self.clock,
            self.settings.media_dir / "reports",
            after_commit=self.sender.wake,
        )
        self.db.on_report_queued = self.reports.wake
        self.processor = InboundProcessor(
            self.db, self.office, self.texts, self.clock, {}, after_commit=self.sender.wake
        )
        if self.media_keeper is not None:
            self.processor.preparers["whatsapp"] = self.media_keeper.prepare
            self.processor.sources["whatsapp"] = whatsapp_source()
            self.processor.sources["whatsapp_status"] = whatsapp_status_source(
                dict(self.whatsapp.templates)
            )
            self.processor.preparers["whatsapp_status"] = status_preparer(
                self.sender.stored_or_idle
            )
        self.metrics = Metrics(self.db, self.clock, self.health.stuck_after_seconds)
        self.sender.metrics = self.metrics
        self.intake = Intake(
            self.db,
            self.clock,
            on_recorded=self.processor.wake,
            counted=lambda source: self.metrics.updates.labels(source).inc(),
        )
        self.processor.give_way = self.intake.give_way
        self.scheduler = DeadlineScheduler(
            self.db,
            self.office,
            self.texts,
            self.clock,
            after_commit=self.sender.wake,
            media=self.settings.media_dir,
        )

    def _whatsapp_channel(self) -> tuple[MessageChannel, RateLimiter]:
        """Twilio's client, the media store and the WhatsApp adapter (WhatsApp is on)."""
        s = self.settings
        assert s.twilio_account_sid and s.twilio_auth_token and s.twilio_whatsapp_from
        assert s.public_base_url is not None
        secret = hashlib.sha256(b"aduanbot media links:" + s.twilio_auth_token.encode()).digest()
        self.media = MediaStore(s.media_dir, secret, s.public_base_url, self.clock)
        self.media_keeper = MediaKeeper(
            self.media,
            s.twilio_account_sid,
            s.twilio_auth_token,
            self.office.accepted_files,
            turned_away(self.db, self.office, self.clock),
        )
        self.twilio = TwilioConnection(
            s.twilio_account_sid, s.twilio_auth_token, s.twilio_api_base_url
        )

        async def last_inbound(address: str) -> datetime | None:
            async with self.db.transaction(readonly=True) as uow:
                reporter = await uow.reporters.find(Channel.WHATSAPP, address)
            return reporter.last_inbound_at if reporter else None

        channel = WhatsAppChannel(
            self.twilio,
            s.twilio_whatsapp_from,
            s.public_base_url + "/webhook/whatsapp/status",
            self.whatsapp.templates,
            self.texts,
            self.media,
            last_inbound,
            self.clock,
        )
        rate = Limit(max(1, int(self.whatsapp.messages_per_second)), 1.0)
        return channel, RateLimiter(overall=rate, group=rate, private=rate)

    async def start(self) -> None:
        """Migrates the database, meets the Bot API, and starts the loops."""
        await self.db.upgrade()
        if self.media_keeper is not None:
            await self.media_keeper.start()
        if self.twilio is not None:
            await self.twilio.open()
        me = await self._meet_telegram()
        self.processor.sources["telegram"] = telegram_source(me)
        check = TelegramFileCheck(
            self.bot, self.office.accepted_files, turned_away(self.db, self.office, self.clock)
        )
        self.processor.preparers["telegram"] = check.prepare
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
        self.reports.folder.mkdir(parents=True, exist_ok=True)
        self._spawn(self.reports.run(), "reports")
        self.scheduler.start()
        self.ready = True

    async def stop(self) -> None:
        self.ready = False
        await self.scheduler.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(TelegramError, RuntimeError):
            await self.bot.shutdown()
        if self.media_keeper is not None:
            await self.media_keeper.stop()
        if self.twilio is not None:
            await self.twilio.close()
        await self.db.dispose()

    async def on_record(self, file_ref: str) -> bool:
        """Whether a case still holds this Telegram file (links to it answer until then)."""
        async with self.db.transaction(readonly=True) as uow:
            return await uow.privacy.on_record(file_ref)

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


def create_app(
    settings: Settings, *, clock: Clock | None = None, playground: Playground | None = None
) -> web.Application:
    """Builds the aiohttp application; the service starts and stops with it.

    With a `playground` (its stand-ins already running) the app also serves its page.
    """
    tag_records()  # log lines about a case name it, whoever handles them
    hide(settings.telegram_bot_token, settings.twilio_auth_token, settings.telegram_webhook_secret)
    office = load_office(settings.config_path)
    texts = load_texts(office.language)
    options = load_whatsapp_options(settings.config_path)
    health_options = load_health_options(settings.config_path)
    service = Service(settings, office, texts, clock or SystemClock(), options, health_options)
    app = web.Application(client_max_size=1024 * 1024)
    app[SERVICE] = service

    async def lifetime(_: web.Application) -> AsyncIterator[None]:
        await service.start()
        yield
        await service.stop()

    app.cleanup_ctx.append(lifetime)
    app.router.add_get("/healthz", health(service.metrics, lambda: service.ready))
    app.router.add_get("/readyz", health(service.metrics, lambda: service.ready, handling=False))
    app.router.add_get("/metrics", service.metrics.exposition)
    app.router.add_post(
        "/webhook/telegram", telegram_webhook(service.intake, settings.telegram_webhook_secret)
    )
    if settings.whatsapp_enabled:
        assert settings.twilio_auth_token and settings.public_base_url and service.media
        for path, source in (
            ("/webhook/whatsapp", "whatsapp"),
            ("/webhook/whatsapp/status", "whatsapp_status"),
        ):
            app.router.add_post(
                path,
                twilio_webhook(
                    service.intake, settings.twilio_auth_token, settings.public_base_url, source
                ),
            )
        app.router.add_get(
            "/media/{token}", media_files(service.media, service.bot, service.on_record)
        )
    if playground is not None:
        assert settings.public_base_url is not None
        playground.attach(app, office, settings.public_base_url)
    return app
