"""Telegram, as one channel package: the sender (`sender`), the webhook (`webhook`) or
long polling (`polling`) that record updates in the inbox (`intake`), the check of a
citizen's files (`files`) and the source handler (`source`). `REGISTRATION` is what the
composition root loops over; Telegram is always on (the staff's groups live there).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from typing import Any

from aiohttp import web
from telegram.error import TelegramError

from bot.agency import load_telegram_options
from bot.channels.registration import ChannelContext, ChannelParts, ChannelRegistration
from bot.channels.telegram.files import TelegramFileCheck, TelegramFiles
from bot.channels.telegram.intake import SOURCE
from bot.channels.telegram.members import OfficerCheck
from bot.channels.telegram.polling import ALLOWED_UPDATES, poll
from bot.channels.telegram.sender import TelegramChannel, make_bot, telegram_limits
from bot.channels.telegram.source import telegram_source
from bot.channels.telegram.webhook import telegram_webhook
from bot.core.model import Channel
from bot.inbox.envelope import Envelope, InboxSource, turned_away
from bot.settings import Settings
from handlers.telegram import BotIdentity

log = logging.getLogger(__name__)

STARTUP_ATTEMPTS = 8


class Telegram:
    """The bot's side of Telegram while the service runs: the PTB Bot, who it is (getMe
    at start-up), and whether Telegram posts to the webhook or is polled."""

    def __init__(self, context: ChannelContext) -> None:
        self.context = context
        settings = context.settings
        self.bot = make_bot(settings.telegram_bot_token, settings.telegram_api_base_url)
        self._me: BotIdentity | None = None

    def me(self) -> BotIdentity:
        assert self._me is not None, "the bot meets Telegram at start-up"
        return self._me

    async def start(self) -> None:
        """Meets the Bot API, then sets the webhook, or starts polling without one."""
        settings = self.context.settings
        self._me = await self._meet()
        if settings.webhook_mode:
            await self.bot.set_webhook(
                settings.telegram_webhook_url,
                secret_token=settings.telegram_webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
            )
            log.info("webhook mode: Telegram posts to %s", settings.telegram_webhook_url)
        else:
            await self.bot.delete_webhook()
            log.info("long-polling mode (set PUBLIC_BASE_URL for webhooks)")
            self.context.spawn(poll(self.bot, self.context.intake), "poller")

    async def stop(self) -> None:
        with contextlib.suppress(TelegramError, RuntimeError):
            await self.bot.shutdown()

    async def _meet(self) -> BotIdentity:
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


def build(context: ChannelContext) -> ChannelParts:
    """Telegram's sender, webhook route, file check and source handler."""
    office, texts = context.office, context.texts
    telegram = Telegram(context)
    check = TelegramFileCheck(
        telegram.bot,
        office.accepted_files,
        turned_away(context.db, office, context.clock),
    )
    officers = OfficerCheck(telegram.bot, office)

    async def prepare(payload: dict[str, Any]) -> Envelope:
        """The citizen's files checked; the sender of a private staff command known."""
        envelope = await check.prepare(payload)
        standing = await officers.standing_of(envelope.update)
        return envelope if standing is None else replace(envelope, standing=standing)

    return ChannelParts(
        channel=Channel.TELEGRAM,
        sender=TelegramChannel(
            telegram.bot,
            originals_to=frozenset({office.officers_chat_id}),
            withheld=lambda name: texts("file_withheld", name=name),
        ),
        limits=telegram_limits(load_telegram_options(context.settings.config_path)),
        routes=[
            web.post(
                "/webhook/telegram",
                telegram_webhook(context.intake, context.settings.telegram_webhook_secret),
            )
        ],
        sources=[InboxSource(SOURCE, telegram_source(telegram.me), prepare)],
        start=telegram.start,
        stop=telegram.stop,
        fetch_file=TelegramFiles(telegram.bot).download,
    )


def _always(settings: Settings) -> bool:
    return True


REGISTRATION = ChannelRegistration(
    "Telegram", enabled=_always, build=build, channel=Channel.TELEGRAM
)
