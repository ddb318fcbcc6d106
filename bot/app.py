"""The composition root: builds the database, the channels (each registration in
CHANNELS that the settings turn on), the inbox, the outbox sender and the web app, and
owns their lifetimes. Nothing connects at import time.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.agency import (
    HealthOptions,
    load_health_options,
    load_office,
    load_whatsapp_options,
    require_whatsapp_for_staff,
)
from bot.channels import telegram, whatsapp
from bot.channels.registration import ChannelContext, ChannelParts, ChannelRegistration, FetchFile
from bot.clock import SystemClock
from bot.core import mirror
from bot.core.model import Channel
from bot.core.office import Office
from bot.core.ports import Clock
from bot.core.texts import Texts, load_texts
from bot.inbox.intake import Intake
from bot.inbox.processor import InboundProcessor
from bot.logs import hide, tag_records
from bot.metrics import Metrics, health
from bot.outbox import OutboxSender
from bot.reports import ReportWorker
from bot.scheduler import DeadlineScheduler
from bot.settings import Settings
from storage.database import Database

if TYPE_CHECKING:
    from bot.playground import Playground

# Every channel the service can speak; each is on when its registration says the
# settings turn it on. A new channel is one more line here.
CHANNELS: tuple[ChannelRegistration, ...] = (
    telegram.REGISTRATION,
    whatsapp.REGISTRATION,
)


@dataclass
class Service:
    """Everything the running bot is made of."""

    settings: Settings
    office: Office
    texts: Texts
    clock: Clock = field(default_factory=SystemClock)
    health: HealthOptions = field(default_factory=HealthOptions)
    registrations: Sequence[ChannelRegistration] = CHANNELS
    db: Database = field(init=False)
    processor: InboundProcessor = field(init=False)
    sender: OutboxSender = field(init=False)
    intake: Intake = field(init=False)
    scheduler: DeadlineScheduler = field(init=False)
    reports: ReportWorker = field(init=False)
    metrics: Metrics = field(init=False)
    channels: list[ChannelParts] = field(init=False)
    ready: bool = False
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.db = Database(self.settings.database_url, clock=self.clock)
        office = self.office
        if office.staff_on_whatsapp:
            self.db.router = functools.partial(mirror.copies, office)
        self.sender = OutboxSender(self.db, {}, self.clock, self.texts, self.office)
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
        self.metrics = Metrics(self.db, self.clock, self.health.stuck_after_seconds)
        self.sender.metrics = self.metrics
        self.intake = Intake(
            self.db,
            self.clock,
            on_recorded=self.processor.wake,
            counted=lambda source: self.metrics.updates.labels(source).inc(),
        )
        self.processor.give_way = self.intake.give_way
        if self.db.dialect == "sqlite":  # one writer at a time: webhooks ride along
            self.processor.rider = self.intake
        self.scheduler = DeadlineScheduler(
            self.db,
            self.office,
            self.texts,
            self.clock,
            after_commit=self.sender.wake,
            media=self.settings.media_dir,
        )
        held_elsewhere: dict[Channel, FetchFile] = {}
        context = ChannelContext(
            self.settings,
            self.office,
            self.texts,
            self.clock,
            self.db,
            self.intake,
            self.sender,
            self._spawn,
            held_elsewhere,
        )
        self.channels = [
            registration.build(context)
            for registration in self.registrations
            if registration.enabled(self.settings)
        ]
        for channel in self.channels:
            self.sender.channels[channel.channel] = (channel.sender, channel.limits)
            for source in channel.sources:
                self.processor.add(source)
            if channel.fetch_file is not None:
                held_elsewhere[channel.channel] = channel.fetch_file

    async def start(self) -> None:
        """Migrates the database, starts the channels (meeting the Bot API), and starts
        the loops."""
        await self.db.upgrade()
        for channel in self.channels:
            await channel.start()
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
        for channel in self.channels:
            await channel.stop()
        await self.db.dispose()

    def _spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(coroutine, name=name))


SERVICE = web.AppKey("service", Service)


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    playground: Playground | None = None,
    channels: Sequence[ChannelRegistration] = CHANNELS,
) -> web.Application:
    """Builds the aiohttp application; the service starts and stops with it.

    With a `playground` (its stand-ins already running) the app also serves its page.
    `channels`: the registrations it speaks through (CHANNELS, but in a test).
    """
    tag_records()  # log lines about a case name it, whoever handles them
    hide(settings.telegram_bot_token, settings.twilio_auth_token, settings.telegram_webhook_secret)
    office = load_office(settings.config_path)
    reachable = frozenset(r.channel for r in channels if r.enabled(settings))
    require_whatsapp_for_staff(office, Channel.WHATSAPP in reachable)
    office = replace(office, reachable=reachable)
    texts = load_texts(office.language)
    health_options = load_health_options(settings.config_path)
    service = Service(settings, office, texts, clock or SystemClock(), health_options, channels)
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
    for channel in service.channels:
        app.router.add_routes(channel.routes)
    if playground is not None:
        assert settings.public_base_url is not None
        templates = load_whatsapp_options(settings.config_path).templates
        playground.attach(app, office, settings.public_base_url, templates, texts)
    return app
