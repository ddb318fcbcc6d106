"""WhatsApp through Twilio, as one channel package: the connection to Twilio
(`connection`), the sender (`sender`), the webhooks for messages and delivery statuses
(`webhook`), the media keeper and signed media links (`media`, `links`) and the inbox
sources (`sources`). `REGISTRATION` is what the composition root loops over; WhatsApp is
on when TWILIO_WHATSAPP_FROM is set.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from aiohttp import web

from bot.agency import load_whatsapp_options
from bot.channels.registration import ChannelContext, ChannelParts, ChannelRegistration
from bot.channels.whatsapp.connection import TwilioConnection
from bot.channels.whatsapp.links import media_files
from bot.channels.whatsapp.media import MediaKeeper, MediaStore
from bot.channels.whatsapp.sender import WhatsAppChannel
from bot.channels.whatsapp.sources import (
    status_preparer,
    whatsapp_source,
    whatsapp_status_source,
)
from bot.channels.whatsapp.webhook import twilio_webhook
from bot.core.model import Channel
from bot.inbox.envelope import InboxSource, turned_away
from bot.ratelimit import Limit, RateLimiter
from bot.settings import Settings

MESSAGES = Channel.WHATSAPP.value  # what reporters' messages are recorded under
STATUSES = "whatsapp_status"  # and Twilio's delivery statuses


def build(context: ChannelContext) -> ChannelParts:
    """Twilio's client, the media store and keeper, the sender, the webhooks and sources."""
    s, db, office, clock = context.settings, context.db, context.office, context.clock
    assert s.twilio_account_sid and s.twilio_auth_token and s.twilio_whatsapp_from
    assert s.public_base_url is not None
    options = load_whatsapp_options(s.config_path)
    secret = hashlib.sha256(b"aduanbot media links:" + s.twilio_auth_token.encode()).digest()
    media = MediaStore(s.media_dir, secret, s.public_base_url, clock)
    keeper = MediaKeeper(
        media,
        s.twilio_account_sid,
        s.twilio_auth_token,
        office.accepted_files,
        turned_away(db, office, clock),
    )
    twilio = TwilioConnection(s.twilio_account_sid, s.twilio_auth_token, s.twilio_api_base_url)

    async def last_inbound(address: str) -> datetime | None:
        async with db.transaction(readonly=True) as uow:
            reporter = await uow.reporters.find(Channel.WHATSAPP, address)
        return reporter.last_inbound_at if reporter else None

    async def on_record(file_ref: str) -> bool:
        """Whether a case still holds this file (links to it answer until then)."""
        async with db.transaction(readonly=True) as uow:
            return await uow.privacy.on_record(file_ref)

    async def start() -> None:
        await keeper.start()
        await twilio.open()

    async def stop() -> None:
        await keeper.stop()
        await twilio.close()

    rate = Limit(max(1, int(options.messages_per_second)), 1.0)
    webhooks = [
        web.post(path, twilio_webhook(context.intake, s.twilio_auth_token, s.public_base_url, name))
        for path, name in (("/webhook/whatsapp", MESSAGES), ("/webhook/whatsapp/status", STATUSES))
    ]
    return ChannelParts(
        channel=Channel.WHATSAPP,
        sender=WhatsAppChannel(
            twilio,
            s.twilio_whatsapp_from,
            s.public_base_url + "/webhook/whatsapp/status",
            options.templates,
            context.texts,
            media,
            last_inbound,
            clock,
            lambda address: office.role_of_number(address) is not None,
        ),
        limits=RateLimiter(overall=rate, group=rate, private=rate),
        routes=[
            *webhooks,
            web.get("/media/{token}", media_files(media, context.held_elsewhere, on_record)),
        ],
        sources=[
            InboxSource(MESSAGES, whatsapp_source(), keeper.prepare),
            InboxSource(
                STATUSES,
                whatsapp_status_source(dict(options.templates)),
                status_preparer(context.outbox.stored_or_idle),
            ),
        ],
        start=start,
        stop=stop,
    )


def _configured(settings: Settings) -> bool:
    return settings.whatsapp_enabled


REGISTRATION = ChannelRegistration(
    "WhatsApp", enabled=_configured, build=build, channel=Channel.WHATSAPP
)
