"""Pigeon, a made-up third channel: everything a channel needs, in one package.

It proves what adding a channel takes: this package (a webhook that records in the
inbox, a source handler that hands the message to the citizens' handler, a sender) and
one line in the composition root's tuple (`create_app(channels=(*CHANNELS,
registration(...)))`, tests/e2e/test_new_channel.py). A real channel also adds its value
to `bot.core.model.Channel`; a test cannot add a member to that enum without editing
the core, so Pigeon borrows `Channel.WHATSAPP`, which is free while WhatsApp is off
(no Twilio settings), as it is in these tests.
"""

from __future__ import annotations

from aiohttp import web

from bot.channels.registration import ChannelContext, ChannelParts, ChannelRegistration
from bot.inbox.envelope import InboxSource
from bot.ratelimit import Limit, RateLimiter
from bot.settings import Settings
from tests.e2e.pigeon.intake import CHANNEL, SOURCE, pigeon_source, pigeon_webhook
from tests.e2e.pigeon.sender import PigeonSender, Sent


def registration(sent: list[Sent]) -> ChannelRegistration:
    """Pigeon's registration; its sender appends what it delivers to `sent`."""

    def build(context: ChannelContext) -> ChannelParts:
        rate = Limit(100, 1.0)
        return ChannelParts(
            channel=CHANNEL,
            sender=PigeonSender(sent),
            limits=RateLimiter(overall=rate, group=rate, private=rate),
            routes=[web.post("/webhook/pigeon", pigeon_webhook(context.intake))],
            sources=[InboxSource(SOURCE, pigeon_source())],
        )

    def enabled(settings: Settings) -> bool:
        return not settings.whatsapp_enabled  # it borrows WhatsApp's Channel value

    return ChannelRegistration("Pigeon", enabled=enabled, build=build, channel=CHANNEL)
