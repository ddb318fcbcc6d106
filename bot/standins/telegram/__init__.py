"""A local stand-in of the Telegram Bot API, for the end-to-end tests and the playground.

`TelegramStandIn` is a real aiohttp server that answers the Bot API methods aduanbot calls
closely enough that python-telegram-bot works against it unchanged::

    async with TelegramStandIn(token=TOKEN, bot_username="aduan_bot") as tg:
        bot = telegram.Bot(
            TOKEN, base_url=f"{tg.base_url}/bot", base_file_url=f"{tg.base_url}/file/bot"
        )
        citizen = User(42, "Ani")
        await tg.user_says(citizen, "/start")  # queued for getUpdates, or POSTed to the webhook
        await tg.wait_for(1, chat_id=citizen.id)  # the bot answered
        assert "Selamat datang" in tg.texts(citizen.id)[0]

Everything lives in memory and belongs to one instance: what the bot sent (`messages`,
`texts`, `wait_for`), what the simulated people sent (`transcript`, `subscribe`), the files,
the update queue, the webhook. Nothing leaves the machine: files "sent by URL" are refused as
unreachable and webhooks are only POSTed to loopback addresses unless allowed.

The stand-in is one class built in layers, one module each:

* `state`: the people, chats, messages and files it holds, and reading what was recorded;
* `updates`: the builders of what simulated people do, and delivering it to the bot;
* `faults`: the failures tests inject (error answers, slow calls, blocked and lost chats);
* `methods`: the Bot API methods the service calls (`api.SUPPORTED_METHODS`, any other
  answers 404 Not Found), with `api` reading their parameters, `formatting` the parse modes
  and `limits` the sizes and rates Telegram enforces;
* `server`: `TelegramStandIn` itself, serving it all over HTTP.
"""

from bot.standins.telegram.api import SUPPORTED_METHODS
from bot.standins.telegram.limits import (
    GLOBAL_MESSAGES_PER_SECOND,
    GROUP_MESSAGES_PER_MINUTE,
    PRIVATE_BURST,
    PRIVATE_MESSAGES_PER_SECOND,
)
from bot.standins.telegram.server import TelegramStandIn
from bot.standins.telegram.state import (
    ApiCall,
    CallbackAnswer,
    Chat,
    SentMessage,
    TranscriptEntry,
    User,
    WebhookDelivery,
    WebhookSettings,
)

__all__ = [
    "GLOBAL_MESSAGES_PER_SECOND",
    "GROUP_MESSAGES_PER_MINUTE",
    "PRIVATE_BURST",
    "PRIVATE_MESSAGES_PER_SECOND",
    "SUPPORTED_METHODS",
    "ApiCall",
    "CallbackAnswer",
    "Chat",
    "SentMessage",
    "TelegramStandIn",
    "TranscriptEntry",
    "User",
    "WebhookDelivery",
    "WebhookSettings",
]
